//! Bad input, foreign stores, full context windows and concurrent use, on
//! the real models.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use common::*;
use trove::{AnswerStrategy, AskOptions, Engine, ErrorKind, IndexOptions, SearchMode};

#[test]
fn bad_files_are_skipped_with_reasons_and_the_rest_is_indexed() {
    let notes = tempfile::tempdir().unwrap();
    let store = tempfile::tempdir().unwrap();
    write(
        notes.path(),
        "good.md",
        "# Good\n\nThe kettle descaling uses citric acid.",
    );
    write(
        notes.path(),
        "also-good.txt",
        "Plain notes about the boiler service in April.",
    );
    std::fs::write(
        notes.path().join("garbage.pdf"),
        b"this is not a pdf at all",
    )
    .unwrap();
    let pdf = pdf_bytes(&["A page of text that will be cut off."]);
    std::fs::write(notes.path().join("truncated.pdf"), &pdf[..pdf.len() / 2]).unwrap();
    std::fs::write(
        notes.path().join("binary.txt"),
        [0u8, 159, 146, 150, 0, 1, 2, 3],
    )
    .unwrap();
    std::fs::write(
        notes.path().join("latin1.txt"),
        b"caf\xe9 cr\xe8me br\xfbl\xe9e recipe",
    )
    .unwrap();
    std::fs::write(notes.path().join("empty.md"), b"").unwrap();
    std::fs::write(notes.path().join("huge.txt"), "word ".repeat(300_000)).unwrap();

    let mut config = config(store.path());
    config.limits.max_file_bytes = 1_000_000;
    let engine = Engine::open(config).unwrap();
    let summary = index(&engine, notes.path());
    assert_eq!(summary.files_seen, 8, "{summary:#?}");
    assert_eq!(summary.files_indexed, 2, "{summary:#?}");
    assert_eq!(summary.files_failed, 6, "{summary:#?}");
    let code = |name: &str| {
        summary
            .failures
            .iter()
            .find(|f| f.path.ends_with(name))
            .map(|f| (f.code.as_str(), f.reason.as_str()))
            .unwrap_or_else(|| panic!("{name} not reported: {summary:#?}"))
    };
    assert_eq!(code("garbage.pdf").0, "not_pdf");
    assert!(code("truncated.pdf").0.starts_with("pdf_"));
    assert_eq!(code("binary.txt").0, "binary");
    assert_eq!(code("latin1.txt").0, "not_utf8");
    assert_eq!(code("empty.md").0, "empty");
    assert_eq!(code("huge.txt").0, "too_large");
    assert!(summary.failures.iter().all(|f| !f.reason.is_empty()));

    // A second run does not retry unchanged broken files, and reports them again.
    let again = index(&engine, notes.path());
    assert_eq!(
        (
            again.files_unchanged,
            again.files_failed,
            again.chunks_embedded
        ),
        (2, 6, 0)
    );
    let top = top_paths(
        &engine,
        "removing limescale from the kettle",
        SearchMode::Hybrid,
        1,
    );
    assert_eq!(file_name(&top[0]), "good.md");
}

#[test]
fn a_store_of_another_embedding_model_is_refused_then_reembedded_on_request() {
    let store = tempfile::tempdir().unwrap();
    {
        let engine = open(store.path());
        engine
            .add_text(
                "a",
                "Ferry times",
                "The ferry leaves the harbour at 7:40 and 16:10.",
                &trove::Metadata::new(),
            )
            .unwrap();
    }
    // Pretend another model built it: change the recorded fingerprint.
    let db = rusqlite::Connection::open(store.path().join("trove.db")).unwrap();
    db.execute(
        "UPDATE meta SET value = ?1 WHERE key = 'embedding_model'",
        [r#"{"name":"other-model","dimensions":768,"sha256":"0000"}"#],
    )
    .unwrap();
    drop(db);

    let err = Engine::open(config(store.path())).err().expect("refused");
    assert_eq!(err.kind(), ErrorKind::IncompatibleStore);
    assert!(err.message().contains("other-model"), "{err}");
    assert!(err.message().contains("reembed"), "{err}");

    let mut reembed = config(store.path());
    reembed.reembed = true;
    let engine = Engine::open(reembed).unwrap();
    let top = top_paths(&engine, "when does the boat depart", SearchMode::Vector, 1);
    assert_eq!(top, vec!["a".to_string()]);
    drop(engine);
    // Now recorded with the loaded model: opens normally.
    open(store.path());
}

#[test]
fn missing_and_wrong_model_files_are_clear_errors() {
    let store = tempfile::tempdir().unwrap();
    let mut config = config(store.path());
    config.models.embedding_dir = store.path().join("no-such-model");
    let err = Engine::open(config).err().unwrap();
    assert_eq!(err.kind(), ErrorKind::NotFound);
    assert!(err.message().contains("make setup"), "{err}");

    let fake = tempfile::tempdir().unwrap();
    let real = trove::ModelPaths::in_dir(models_dir()).embedding_dir;
    for name in [
        "tokenizer.json",
        "config.json",
        "special_tokens_map.json",
        "tokenizer_config.json",
    ] {
        std::fs::copy(real.join(name), fake.path().join(name)).unwrap();
    }
    std::fs::write(fake.path().join("model.onnx"), b"not an onnx graph").unwrap();
    let mut config = common::config(store.path());
    config.models.embedding_dir = fake.path().to_path_buf();
    let err = Engine::open(config).err().unwrap();
    assert_eq!(err.kind(), ErrorKind::Model, "{err}");

    let engine = open(store.path());
    drop(engine);
    let mut config = common::config(store.path());
    config.models.llm = fake.path().join("model.onnx");
    let engine = Engine::open(config).unwrap();
    engine
        .add_text("x", "X", "Some text to retrieve.", &trove::Metadata::new())
        .unwrap();
    let generative = AskOptions {
        strategy: AnswerStrategy::Generative,
        ..Default::default()
    };
    let err = engine.ask("what?", &generative, &mut |_| true).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Model, "{err}");
    // Quoting needs no answer model, so it still answers.
    let answer = engine
        .ask(
            "What text is there to retrieve?",
            &AskOptions::default(),
            &mut |_| true,
        )
        .unwrap();
    assert!(answer.text.contains("Some text to retrieve."), "{answer:?}");
}

/// Reopening a store, the query model loads behind `open` on the store's
/// word that these files load and give its vector length: a record that is
/// wrong about it fails the first search that needs the model, clearly,
/// while keyword search goes on. (An empty store: one with vectors would
/// already refuse them at `open`, their length not the recorded one.)
#[test]
fn a_query_model_that_breaks_its_stores_record_fails_the_search_that_needs_it() {
    let store = tempfile::tempdir().unwrap();
    drop(open(store.path()));
    let db = rusqlite::Connection::open(store.path().join("trove.db")).unwrap();
    let json: String = db
        .query_row(
            "SELECT value FROM meta WHERE key = 'embedding_model'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    let mut record: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(record["dimensions"], 384);
    record["dimensions"] = 8.into();
    db.execute(
        "UPDATE meta SET value = ?1 WHERE key = 'embedding_model'",
        [record.to_string()],
    )
    .unwrap();
    drop(db);

    let engine = Engine::open(config(store.path())).unwrap();
    assert!(top_paths(&engine, "sourdough", SearchMode::Keyword, 4).is_empty());
    let options = trove::SearchOptions {
        mode: SearchMode::Vector,
        ..Default::default()
    };
    let err = engine.search("sourdough", &options).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Model, "{err}");
    assert!(err.message().contains("the store records 8"), "{err}");
    // The failure is kept, not retried on every search.
    let again = engine.search("starter", &options).unwrap_err();
    assert_eq!(again.message(), err.message());
}

#[test]
fn fifty_long_passages_fit_a_512_token_window_and_the_rest_is_reported() {
    let store = tempfile::tempdir().unwrap();
    let mut config = config(store.path());
    config.context_size = 512;
    let engine = Engine::open(config).unwrap();
    for i in 0..50 {
        let text = format!(
            "Harbour log entry {i}. The ferry schedule changed again this week: boats now leave \
             at dawn and return at dusk, the fare is unchanged, and the captain reports calm \
             water with a light westerly wind, gulls following the stern, and the lighthouse \
             keeper waving from the pier as the morning mist lifts over the bay. {}",
            "Cargo was mostly timber and crates of apples. ".repeat(4)
        );
        engine
            .add_text(
                &format!("log-{i}"),
                &format!("Log {i}"),
                &text,
                &trove::Metadata::new(),
            )
            .unwrap();
    }
    let mut options = AskOptions {
        k: 50,
        strategy: AnswerStrategy::Generative,
        min_grounding: 0.0,
        ..Default::default()
    };
    options.generation.max_tokens = 32;
    let answer = engine
        .ask("When do the ferries leave?", &options, &mut |_| true)
        .unwrap();
    assert!(!answer.passages.is_empty());
    assert!(!answer.dropped.is_empty());
    assert_eq!(answer.passages.len() + answer.dropped.len(), 50);
    assert!(
        answer.timings.prompt_tokens + 32 <= 512,
        "{:?}",
        answer.timings
    );
    // Passages are whole: each given one is a stored chunk, uncut.
    for hit in &answer.passages {
        assert!(hit.text.ends_with("apples."), "{:?}", hit.text);
    }
}

#[test]
fn eight_threads_search_while_another_indexes() {
    let notes = tempfile::tempdir().unwrap();
    let store = tempfile::tempdir().unwrap();
    for i in 0..40 {
        write(
            notes.path(),
            &format!("note-{i:02}.md"),
            &format!(
                "# Note {i}\n\nMeeting {i} discussed the budget for project number {i}, the venue and the catering."
            ),
        );
    }
    let engine = Arc::new(open(store.path()));
    engine
        .add_text(
            "seed",
            "Seed",
            "The spare key is under the blue flower pot.",
            &trove::Metadata::new(),
        )
        .unwrap();
    let indexing_done = Arc::new(AtomicBool::new(false));
    let indexer = {
        let engine = engine.clone();
        let done = indexing_done.clone();
        let path = notes.path().to_path_buf();
        std::thread::spawn(move || {
            let summary = engine.index_path(&path, IndexOptions::default()).unwrap();
            done.store(true, Ordering::SeqCst);
            summary
        })
    };
    let searchers: Vec<_> = (0..8)
        .map(|t| {
            let engine = engine.clone();
            let done = indexing_done.clone();
            std::thread::spawn(move || {
                let mut searches = 0;
                let mut during = 0;
                while searches < 5 || !done.load(Ordering::SeqCst) {
                    let mode = [SearchMode::Hybrid, SearchMode::Vector, SearchMode::Keyword][t % 3];
                    let top = top_paths(&engine, "where is the spare key", mode, 3);
                    assert!(top.contains(&"seed".to_string()), "{top:?}");
                    searches += 1;
                    if !done.load(Ordering::SeqCst) {
                        during += 1;
                    }
                }
                during
            })
        })
        .collect();
    let summary = indexer.join().unwrap();
    assert_eq!(summary.files_indexed, 40);
    let during: usize = searchers.into_iter().map(|s| s.join().unwrap()).sum();
    assert!(during > 0, "no search ran while indexing");
    assert_eq!(engine.stats().unwrap().documents, 41);
}

#[test]
fn indexing_can_be_cancelled_and_resumes_without_reembedding() {
    let notes = tempfile::tempdir().unwrap();
    let store = tempfile::tempdir().unwrap();
    for i in 0..300 {
        write(
            notes.path(),
            &format!("n{i:03}.txt"),
            &format!("Entry {i}: bought {i} stamps at the post office."),
        );
    }
    // No background thread: it would embed the queue between the two calls.
    let mut config = config(store.path());
    config.background_embedding = false;
    let engine = trove::Engine::open(config).unwrap();
    let cancel = trove::CancelToken::new();
    let trigger = cancel.clone();
    let mut progress = |p: &trove::IndexProgress| {
        if p.files_done >= 150 {
            trigger.cancel();
        }
        true
    };
    let err = engine
        .index_path(
            notes.path(),
            IndexOptions {
                progress: Some(&mut progress),
                cancel: Some(cancel),
            },
        )
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Cancelled);
    let kept = engine.stats().unwrap().documents;
    assert!((128..300).contains(&kept), "{kept}");
    // Cancelled before embedding: the kept documents wait in the queue.
    assert_eq!(engine.stats().unwrap().chunks_pending, kept);
    let resumed = index(&engine, notes.path());
    assert_eq!(resumed.files_unchanged, kept);
    assert_eq!(resumed.files_indexed, 300 - kept);
    // Each text is embedded once: the queued ones and the new ones.
    assert_eq!(resumed.chunks_embedded, 300);
    let stats = engine.stats().unwrap();
    assert_eq!((stats.embeddings, stats.chunks_pending), (300, 0));
}
