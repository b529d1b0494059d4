//! The JSON every surface prints is the engine's own serialization: real
//! values from a real engine (index, search, ask, stats, watch events) must
//! match tests/json/shapes.json, where the shapes are written down once.

mod common;

#[path = "../../tests/json/shape_check.rs"]
mod shape_check;

use std::path::PathBuf;
use std::time::Duration;

use common::*;
use shape_check::check_shape;
use trove::{IndexFailure, WatchEvent};

fn assert_shape(name: &str, value: &impl serde::Serialize) {
    let json = serde_json::to_value(value).unwrap();
    if let Err(e) = check_shape(name, &json) {
        panic!("{e}\n{json:#}");
    }
}

#[test]
fn every_result_type_serializes_to_its_documented_shape() {
    let notes = tempfile::tempdir().unwrap();
    let store = tempfile::tempdir().unwrap();
    std::fs::write(
        notes.path().join("espresso.md"),
        "---\ntags: [coffee]\n---\n# Espresso\n\n## Brewing\n\nBrew at 93 °C for 28 seconds.\n",
    )
    .unwrap();
    std::fs::write(notes.path().join("broken.txt"), b"caf\xe9\n").unwrap();
    let engine = open(store.path());

    let summary = index(&engine, notes.path());
    assert_eq!(summary.failures.len(), 1, "{summary:?}");
    assert_shape("index_summary", &summary);

    let hits = engine
        .search("brew temperature", &Default::default())
        .unwrap();
    assert!(!hits.is_empty());
    assert_shape("hit", &hits[0]);
    assert_shape(
        "search_result",
        &serde_json::json!({"query": "brew temperature", "results": hits}),
    );

    let mut options = trove::AskOptions::default();
    options.generation.max_tokens = 24;
    let answer = engine
        .ask("What temperature do I brew at?", &options, &mut |_| true)
        .unwrap();
    assert!(!answer.citations.is_empty(), "{answer:?}");
    assert_shape("answer", &answer);

    let stats = engine.stats().unwrap();
    assert!(stats.last_index_run.is_some());
    assert_shape("stats", &stats);
    assert_shape("embedding_status", &engine.embedding_status().unwrap());
    let models = engine.models(false).unwrap();
    assert_eq!(models.len(), 2, "{models:?}");
    for model in &models {
        assert_shape("model_info", model);
    }
    assert_shape("gpu_support", &trove::gpu_support().unwrap());

    let espresso = std::fs::canonicalize(notes.path().join("espresso.md")).unwrap();
    let why = engine
        .explain("brew temperature", &espresso.to_string_lossy())
        .unwrap();
    assert_shape("explanation", &why);
    let broken = std::fs::canonicalize(notes.path().join("broken.txt")).unwrap();
    let status = engine.document_status(&broken.to_string_lossy()).unwrap();
    assert!(status.failure_code.is_some());
    assert_shape("document_status", &status);

    let path = PathBuf::from("/notes/a.md");
    let latency = Duration::from_millis(340);
    for (name, event) in [
        ("watch_ready", WatchEvent::Ready { summary }),
        (
            "watch_indexed",
            WatchEvent::Indexed {
                path: path.clone(),
                chunks_embedded: 1,
                chunks_reused: 2,
                latency,
            },
        ),
        (
            "watch_removed",
            WatchEvent::Removed {
                path: path.clone(),
                latency,
            },
        ),
        (
            "watch_failed",
            WatchEvent::Failed {
                path,
                code: "binary".into(),
                reason: "file looks binary".into(),
            },
        ),
        (
            "watch_error",
            WatchEvent::Error {
                message: "inotify limit".into(),
            },
        ),
    ] {
        assert_shape(name, &event);
        let json = serde_json::to_value(&event).unwrap();
        assert_eq!(json["event"], name.trim_start_matches("watch_"), "{json}");
    }
    assert_shape(
        "index_failure",
        &IndexFailure {
            path: "x".into(),
            code: "binary".into(),
            reason: "r".into(),
        },
    );
}

#[test]
fn locators_and_links_serialize_to_their_documented_shapes() {
    let notes = tempfile::tempdir().unwrap();
    let store = tempfile::tempdir().unwrap();
    let docx = docx_bytes(&[("", "The kiln fires stoneware at 1280 degrees.")]);
    std::fs::write(notes.path().join("kiln.docx"), docx).unwrap();
    write(
        notes.path(),
        "glaze.md",
        "Glazes go on before the [[kiln]] firing.\n",
    );
    let engine = open(store.path());
    index(&engine, notes.path());

    let options = trove::SearchOptions {
        mode: trove::SearchMode::Keyword,
        ..Default::default()
    };
    let hits = engine.search("stoneware", &options).unwrap();
    assert!(hits[0].locator.is_some(), "{:?}", hits[0]);
    assert_shape("hit", &hits[0]);
    assert_shape("locator", &hits[0].locator);

    let links = engine.backlinks(&hits[0].document_id).unwrap();
    assert_eq!(links.len(), 1, "{links:?}");
    assert!(links[0].resolved.is_some());
    assert_shape("document_link", &links[0]);
}

#[test]
fn the_checker_refuses_what_the_shapes_do_not_say() {
    let hit = serde_json::json!({"chunk_id": 1});
    assert!(check_shape("hit", &hit).unwrap_err().contains("missing"));
    let stats = serde_json::json!({"documents": "many"});
    assert!(check_shape("model_fingerprint", &stats).is_err());
}
