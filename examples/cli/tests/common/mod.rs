//! Shared set-up for the CLI tests: the built `trove` binary on the real models.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The models directory (`TROVE_MODELS`, else the repository's `models/`).
pub fn models_dir() -> PathBuf {
    let dir = std::env::var_os("TROVE_MODELS")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../models"));
    assert!(
        dir.join("SmolLM2-135M-Instruct.Q4_1.gguf").is_file(),
        "models not found in {}: run `make setup` (or set TROVE_MODELS)",
        dir.display()
    );
    dir
}

/// `trove --store STORE --models … --threads 1 ARGS…`, not yet run.
pub fn trove(store: &Path, args: &[&str]) -> Command {
    trove_threads(store, 1, args)
}

pub fn trove_threads(store: &Path, threads: usize, args: &[&str]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_trove"));
    command
        .arg("--store")
        .arg(store)
        .arg("--models")
        .arg(models_dir())
        .arg("--threads")
        .arg(threads.to_string())
        .args(args);
    command
}

/// Runs to the end; panics with both streams unless it exits with `code`.
pub fn expect(command: &mut Command, code: i32) -> Output {
    let out = command.output().expect("trove runs");
    assert_eq!(
        out.status.code(),
        Some(code),
        "{command:?}\nstdout: {}\nstderr: {}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// Runs with `--json`, expecting success and one JSON object on stdout.
pub fn json(store: &Path, args: &[&str]) -> serde_json::Value {
    let mut all = vec!["--json"];
    all.extend_from_slice(args);
    let out = expect(&mut trove(store, &all), 0);
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "not one JSON object ({e}): {}",
            String::from_utf8_lossy(&out.stdout)
        )
    })
}

/// File names of the `search --json` results for `query` in `mode`.
pub fn search_names(store: &Path, query: &str, mode: &str) -> Vec<String> {
    let result = json(store, &["search", query, "--mode", mode, "-k", "10"]);
    let mut names: Vec<String> = result["results"]
        .as_array()
        .expect("results")
        .iter()
        .map(|r| {
            Path::new(r["path"].as_str().expect("a path"))
                .file_name()
                .unwrap()
                .to_string_lossy()
                .into_owned()
        })
        .collect();
    names.dedup();
    names
}

pub fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(&path, text).unwrap();
    path
}

pub fn note(topic: &str, word: &str) -> String {
    format!("# {topic}\n\nThis note is about {topic}. The marker word is {word}.\n")
}

/// The command prefix that runs a program as root without the capabilities
/// that let root read any file (CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH), so
/// `chmod 000` denies reading as it does for any other user. Running as
/// another user would need the binary, models and store readable by it.
pub fn without_read_override() -> Command {
    let mut command = Command::new("setpriv");
    command.args([
        "--inh-caps=-dac_override,-dac_read_search",
        "--bounding-set=-dac_override,-dac_read_search",
    ]);
    command
}
