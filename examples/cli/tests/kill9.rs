//! `trove index` killed with SIGKILL at random moments, 20 times, on a real
//! corpus (the gitdocs eval set): after each kill the store opens and its
//! status is consistent; a rerun then embeds only what was never committed
//! and ends with the same search results as an uninterrupted run.

mod common;

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use common::*;

const KILLS: usize = 20;

/// `TROVE_EVAL_DIR`, else `<repo>/../shared/eval`.
fn eval_dir() -> PathBuf {
    let dir = std::env::var_os("TROVE_EVAL_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/eval"));
    assert!(
        dir.join("gitdocs/corpus").is_dir() && dir.join("gitdocs/queries.tsv").is_file(),
        "the eval sets are missing: no gitdocs/corpus and gitdocs/queries.tsv in {}; \
         set TROVE_EVAL_DIR to the folder holding gitdocs/",
        dir.display()
    );
    dir
}

/// A small deterministic generator; the seed is printed so a failing run can
/// be repeated with `TROVE_KILL_SEED`.
struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> f64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (self.0 >> 11) as f64 / (1u64 << 53) as f64
    }
}

fn count(value: &serde_json::Value, key: &str) -> u64 {
    value[key]
        .as_u64()
        .unwrap_or_else(|| panic!("no {key} in {value}"))
}

/// `search --batch --json` results as (path, score) lists, one per query.
fn batch_results(store: &Path, queries: &Path, mode: &str) -> Vec<Vec<(String, f64)>> {
    let out = expect(
        &mut trove_threads(
            store,
            2,
            &[
                "--json",
                "search",
                "--batch",
                queries.to_str().unwrap(),
                "--mode",
                mode,
                "-k",
                "10",
            ],
        ),
        0,
    );
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|line| {
            let value: serde_json::Value = serde_json::from_str(line).unwrap();
            value["results"]
                .as_array()
                .unwrap()
                .iter()
                .map(|r| {
                    (
                        r["path"].as_str().unwrap().to_string(),
                        r["score"].as_f64().unwrap(),
                    )
                })
                .collect()
        })
        .collect()
}

#[test]
fn indexing_killed_twenty_times_resumes_without_reembedding_and_matches_an_uninterrupted_run() {
    let eval = eval_dir().join("gitdocs");
    let corpus = eval.join("corpus").canonicalize().unwrap();
    let corpus_arg = corpus.to_str().unwrap();
    let stores = tempfile::tempdir().unwrap();
    let reference = stores.path().join("reference");
    let killed = stores.path().join("killed");

    let started = std::time::Instant::now();
    let full = json_threads(&reference, &["index", corpus_arg]);
    let uninterrupted = started.elapsed();
    let expected = json_threads(&reference, &["status"]);
    assert_eq!(count(&full, "files_failed"), 0, "{full}");
    assert_eq!(
        count(&full, "chunks_embedded"),
        count(&expected, "embeddings")
    );

    let seed = std::env::var("TROVE_KILL_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .subsec_nanos() as u64
        });
    println!(
        "uninterrupted run {:.1} s; kill moments from TROVE_KILL_SEED={seed}",
        uninterrupted.as_secs_f64()
    );
    let mut random = Lcg(seed);
    // Kill moments scale with this machine's speed: on average a thirtieth of
    // the uninterrupted run, so the 20 runs together stay well short of
    // finishing (each also loses its start-up and the batch in flight) while
    // many of them die after committing batches.
    let longest = uninterrupted.as_secs_f64() / 15.0;
    let mut documents = 0;
    let mut killed_while_running = 0;
    for round in 0..KILLS {
        // From before the models are loaded to well into the embedding.
        let delay = Duration::from_secs_f64(0.2 + (longest - 0.2).max(0.0) * random.next());
        let mut child = trove_threads(&killed, 2, &["index", corpus_arg])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(delay);
        if child.try_wait().unwrap().is_none() {
            killed_while_running += 1;
        }
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();

        let status = json_threads(&killed, &["status"]);
        let now = count(&status, "documents");
        println!(
            "kill {round}: after {:.2} s, {now} documents, {} chunks",
            delay.as_secs_f64(),
            count(&status, "chunks")
        );
        assert!(now >= documents, "committed documents were lost: {status}");
        assert!(now <= count(&expected, "documents"), "{status}");
        assert_eq!(
            count(&status, "vectors"),
            count(&status, "chunks"),
            "{status}"
        );
        assert!(
            count(&status, "embeddings") <= count(&status, "chunks"),
            "{status}"
        );
        documents = now;
    }
    assert_eq!(
        killed_while_running, KILLS,
        "a run finished before its kill"
    );

    // The rerun embeds exactly what was never committed, nothing twice.
    let before = json_threads(&killed, &["status"]);
    let rerun = json_threads(&killed, &["index", corpus_arg]);
    assert_eq!(
        count(&rerun, "chunks_embedded"),
        count(&expected, "embeddings") - count(&before, "embeddings"),
        "re-embedded committed chunks: before {before}, rerun {rerun}"
    );
    assert_eq!(
        count(&rerun, "files_unchanged"),
        count(&before, "documents"),
        "{rerun}"
    );
    let after = json_threads(&killed, &["status"]);
    for key in ["documents", "chunks", "embeddings", "vectors"] {
        assert_eq!(
            count(&after, key),
            count(&expected, key),
            "{key}: {after} vs {expected}"
        );
    }

    // Same search results as the uninterrupted run, in every mode.
    let queries: Vec<String> = std::fs::read_to_string(eval.join("queries.tsv"))
        .unwrap()
        .lines()
        .skip(1)
        .take(40)
        .map(|line| line.split('\t').nth(1).unwrap().to_string())
        .collect();
    let batch = stores.path().join("queries.txt");
    std::fs::write(&batch, queries.join("\n")).unwrap();
    for mode in ["keyword", "vector", "hybrid"] {
        let want = batch_results(&reference, &batch, mode);
        let got = batch_results(&killed, &batch, mode);
        assert_eq!(want.len(), queries.len());
        for ((query, want), got) in queries.iter().zip(&want).zip(&got) {
            let paths = |r: &[(String, f64)]| r.iter().map(|(p, _)| p.clone()).collect::<Vec<_>>();
            assert_eq!(paths(got), paths(want), "{mode} results for {query:?}");
            for ((_, a), (_, b)) in got.iter().zip(want) {
                assert!(
                    (a - b).abs() < 1e-4,
                    "{mode} scores for {query:?}: {got:?} vs {want:?}"
                );
            }
        }
    }
}

/// `json` with two threads, as the indexing runs use.
fn json_threads(store: &Path, args: &[&str]) -> serde_json::Value {
    let mut all = vec!["--json"];
    all.extend_from_slice(args);
    let out = expect(&mut trove_threads(store, 2, &all), 0);
    serde_json::from_slice(&out.stdout).unwrap()
}
