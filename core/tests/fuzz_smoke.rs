//! The fuzz smoke test: every parser fuzz target over its seed corpus
//! (`fuzz/corpus/TARGET`), every input a campaign found
//! (`fuzz/regressions/TARGET`), and a fixed set of mutations of the seeds.
//! Each input must parse or be refused with a reason, within the target's
//! time bound, without a panic (the bodies in `trove::ingest::fuzzing`
//! check that; `fuzz/README.md` runs the same bodies under AFL++).

use std::path::{Path, PathBuf};
use std::time::Instant;

use trove::ingest::fuzzing::{self, Mutator};

/// Mutations per target: together well under a minute on two cores.
const ROUNDS: usize = 5000;

fn fuzz_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz")
}

/// What `dir` holds, sorted; nothing when it does not exist.
fn paths(dir: &Path) -> Vec<PathBuf> {
    let mut paths: Vec<PathBuf> = match std::fs::read_dir(dir) {
        Ok(entries) => entries
            .map(|e| e.expect("a directory entry").path())
            .collect(),
        Err(_) => Vec::new(),
    };
    paths.sort();
    paths
}

fn files(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    paths(dir)
        .into_iter()
        .map(|p| {
            let bytes = std::fs::read(&p).expect("a corpus file");
            (p, bytes)
        })
        .collect()
}

/// Runs `name`'s body on `input`; a failure names the input, saved under
/// the target dir when it is a mutation, to replay and to commit.
fn run(name: &str, what: &str, input: &[u8]) {
    let body = fuzzing::target(name).expect("a target");
    if std::panic::catch_unwind(|| body(input)).is_err() {
        let dir = std::env::temp_dir().join("trove-fuzz-smoke");
        std::fs::create_dir_all(&dir).unwrap();
        let saved = dir.join(format!("{name}-{}", what.replace('/', "_")));
        std::fs::write(&saved, input).unwrap();
        panic!(
            "{name} failed on {what}; the input is in {}: replay it with fuzz/README.md, fix, and commit it to fuzz/regressions/{name}/",
            saved.display()
        );
    }
}

fn smoke(name: &str) {
    let started = Instant::now();
    let seeds = files(&fuzz_dir().join("corpus").join(name));
    assert!(seeds.len() >= 2, "fuzz/corpus/{name} is missing its seeds");
    let regressions = files(&fuzz_dir().join("regressions").join(name));
    for (path, bytes) in seeds.iter().chain(&regressions) {
        run(name, &path.display().to_string(), bytes);
    }
    let mut mutator = Mutator::new(name.len() as u64);
    for round in 0..ROUNDS {
        let seed = &seeds[round % seeds.len()].1;
        let other = &seeds[(round / seeds.len() + 1) % seeds.len()].1;
        let input = mutator.mutate(seed, other);
        run(name, &format!("mutation-{round}"), &input);
    }
    eprintln!(
        "{name}: {} seeds, {} regressions, {ROUNDS} mutations in {:?}",
        seeds.len(),
        regressions.len(),
        started.elapsed()
    );
}

macro_rules! smoke_tests {
    ($($name:ident),*) => {
        $(
            #[test]
            fn $name() {
                smoke(stringify!($name));
            }
        )*

        #[test]
        fn every_target_and_corpus_folder_is_tested() {
            let tested = [$(stringify!($name)),*];
            let targets: Vec<&str> = fuzzing::TARGETS.iter().map(|t| t.0).collect();
            assert_eq!(tested.as_slice(), targets.as_slice());
            for folder in ["corpus", "regressions"] {
                for path in paths(&fuzz_dir().join(folder)) {
                    let name = path.file_name().unwrap().to_str().unwrap();
                    // c_abi's smoke is in the ffi crate (ffi/src/c_api/fuzzing.rs).
                    assert!(
                        name == "c_abi" || targets.contains(&name),
                        "fuzz/{folder}/{name} is no target's"
                    );
                }
            }
        }
    };
}

smoke_tests!(
    text, markdown, host, pdf, html, docx, odt, epub, canvas, zip
);
