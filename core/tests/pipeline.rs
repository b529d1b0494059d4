//! End to end on the real models: index a folder of Markdown, text and PDF,
//! find documents by paraphrase, answer with citations, stay incremental.

mod common;

use std::path::Path;

use common::*;
use trove::{AnswerStrategy, AskOptions, SearchMode, SearchOptions};

const SOURDOUGH: &str = "---
title: Sourdough starter care
tags: [baking, kitchen]
---
# Sourdough starter

## Feeding schedule

I feed the starter every twelve hours with one part starter, five parts flour
and five parts water, kept at 24 °C on the shelf above the oven.

## Troubleshooting

A grey liquid on top (hooch) means the starter is hungry: pour it off and feed
it sooner. A smell of nail-polish remover means the same.
";

const BIKE: &str = "# Road bike maintenance

## Tyres

Pump the front tyre to 85 psi and the rear tyre to 90 psi before every ride;
they lose about 5 psi a week.

## Chain

Clean and lubricate the chain every 300 km, or after any ride in the rain.
";

const TOMATOES: &str = "Tomato seedlings

The seedlings stay on the windowsill until the last frost has passed, usually
in the middle of May here. Harden them off for a week before planting them out.

Water them deeply twice a week rather than a little every day, so the roots go
down looking for moisture.
";

const TELESCOPE_PAGE_1: &str = "Observing log, winter
The Orion nebula was bright and detailed at 100x magnification.
Jupiter showed four moons and two cloud belts.";

const TELESCOPE_PAGE_2: &str = "Collimation notes
On 3 March I aligned the secondary mirror with a Cheshire eyepiece,
then adjusted the primary mirror screws until the reflection was centred.";

fn corpus(dir: &Path) {
    write(dir, "sourdough.md", SOURDOUGH);
    write(dir, "garage/bike.md", BIKE);
    write(dir, "garden/tomatoes.txt", TOMATOES);
    std::fs::write(
        dir.join("telescope.pdf"),
        pdf_bytes(&[TELESCOPE_PAGE_1, TELESCOPE_PAGE_2]),
    )
    .unwrap();
}

#[test]
fn paraphrased_questions_find_the_right_documents_and_answers_cite_them() {
    let notes = tempfile::tempdir().unwrap();
    let store = tempfile::tempdir().unwrap();
    corpus(notes.path());
    let engine = open(store.path());
    let summary = index(&engine, notes.path());
    assert_eq!(summary.files_seen, 4, "{summary:?}");
    assert_eq!(summary.files_indexed, 4, "{summary:?}");
    assert_eq!(summary.files_failed, 0, "{summary:?}");

    let cases = [
        ("how often do I feed my bread yeast culture", "sourdough.md"),
        (
            "what pressure should the bicycle tires be inflated to",
            "bike.md",
        ),
        ("when can young tomato plants go outside", "tomatoes.txt"),
        (
            "how did I line up the mirrors of my telescope",
            "telescope.pdf",
        ),
    ];
    for (query, expected) in cases {
        for mode in [SearchMode::Hybrid, SearchMode::Vector] {
            let top = top_paths(&engine, query, mode, 3);
            assert_eq!(file_name(&top[0]), expected, "{mode:?} {query:?} → {top:?}");
        }
    }

    // The PDF hit carries its page; text hits carry their lines.
    let options = SearchOptions {
        k: 1,
        ..Default::default()
    };
    let hit = &engine
        .search("Cheshire eyepiece secondary mirror", &options)
        .unwrap()[0];
    assert_eq!(hit.page, Some(2), "{hit:?}");
    let hit = &engine.search("lubricate the chain", &options).unwrap()[0];
    // Short sections share a chunk, which sits under their common heading.
    assert_eq!(hit.lines, Some((5, 10).into()), "{hit:?}");
    assert!(hit.text.contains("lubricate the chain"));
    assert_eq!(hit.heading_path, vec!["Road bike maintenance"]);

    let mut streamed = String::new();
    let mut ask = AskOptions {
        k: 3,
        strategy: AnswerStrategy::Generative,
        ..Default::default()
    };
    ask.generation.temperature = 0.0;
    ask.generation.max_tokens = 80;
    let answer = engine
        .ask(
            "How did I align the secondary mirror of the telescope?",
            &ask,
            &mut |piece| {
                streamed.push_str(piece);
                true
            },
        )
        .unwrap();
    // What streamed is the model's draft; the answer is its checked text,
    // or the quotes that replaced an unsupported draft.
    assert_eq!(streamed, answer.draft.as_deref().unwrap_or(&answer.text));
    assert!(!answer.text.trim().is_empty());
    assert!(
        !answer.citations.is_empty(),
        "no citation in {:?}",
        answer.text
    );
    for citation in &answer.citations {
        assert_eq!(answer.passages[citation.n as usize - 1], citation.hit);
    }
    let first = &answer.citations[0].hit;
    assert_eq!(
        file_name(first.path.as_deref().unwrap()),
        "telescope.pdf",
        "{answer:#?}"
    );
    assert_eq!(first.page, Some(2));
    assert!(answer.timings.prompt_tokens > 0 && answer.timings.decode_tokens > 0);
    assert!(answer.timings.decode_tok_s > 0.0 && answer.timings.prefill_ms > 0.0);
}

/// A note with five sections, each long enough to be a chunk of its own.
fn sections(changed: &str) -> String {
    let mut text = String::from("# Journal\n");
    for (i, topic) in ["rowing", "chess", "pottery", "violin", "birding"]
        .iter()
        .enumerate()
    {
        let body = if i == 2 {
            changed.repeat(12)
        } else {
            format!(
                "Week {i}: practised {topic} for three evenings and wrote down what went well. "
            )
            .repeat(12)
        };
        text.push_str(&format!("\n## {topic}\n\n{body}\n"));
    }
    text
}

#[test]
fn edits_reembed_only_changed_chunks_and_deletes_leave_no_trace() {
    let notes = tempfile::tempdir().unwrap();
    let store = tempfile::tempdir().unwrap();
    corpus(notes.path());
    let journal = write(
        notes.path(),
        "journal.md",
        &sections("Threw six bowls on the wheel. "),
    );
    let engine = open(store.path());
    let first = index(&engine, notes.path());
    assert_eq!(first.files_indexed, 5);
    let chunks_before = engine.stats().unwrap().chunks;

    // Unchanged: no work at all.
    let again = index(&engine, notes.path());
    assert_eq!(
        (again.files_unchanged, again.chunks_embedded),
        (5, 0),
        "{again:?}"
    );

    // One section edited: exactly one chunk embedded, the other four reused.
    std::fs::write(
        &journal,
        sections("Glazed the bowls in celadon and fired them at cone 6. "),
    )
    .unwrap();
    let edited = index(&engine, notes.path());
    assert_eq!(edited.files_indexed, 1, "{edited:?}");
    assert_eq!(edited.chunks_embedded, 1, "{edited:?}");
    assert_eq!(edited.chunks_reused, 4, "{edited:?}");
    assert_eq!(engine.stats().unwrap().chunks, chunks_before);
    let top = top_paths(
        &engine,
        "celadon glaze firing temperature",
        SearchMode::Keyword,
        1,
    );
    assert_eq!(file_name(&top[0]), "journal.md");

    // A renamed file reuses its embeddings.
    std::fs::rename(
        notes.path().join("garage/bike.md"),
        notes.path().join("garage/bicycle.md"),
    )
    .unwrap();
    let renamed = index(&engine, notes.path());
    assert_eq!(
        (
            renamed.files_indexed,
            renamed.files_removed,
            renamed.chunks_embedded
        ),
        (1, 1, 0),
        "{renamed:?}"
    );

    // Deleted: gone from SQLite, FTS5 and HNSW.
    std::fs::remove_file(&journal).unwrap();
    let deleted = index(&engine, notes.path());
    assert_eq!(deleted.files_removed, 1, "{deleted:?}");
    let stats = engine.stats().unwrap();
    assert_eq!(stats.chunks, chunks_before - 5);
    assert_eq!(stats.vectors, stats.chunks);
    assert!(top_paths(&engine, "celadon glaze", SearchMode::Keyword, 10).is_empty());
    for mode in [SearchMode::Vector, SearchMode::Hybrid] {
        let all = top_paths(&engine, "glazed pottery bowls at cone 6", mode, 50);
        assert!(all.iter().all(|p| !p.ends_with("journal.md")), "{all:?}");
    }

    // Reopen: same results. Delete the HNSW file: rebuilt, same results.
    let queries = [
        "feeding the starter",
        "tyre pressure",
        "planting out after frost",
    ];
    let before: Vec<_> = queries
        .iter()
        .map(|q| top_paths(&engine, q, SearchMode::Hybrid, 4))
        .collect();
    drop(engine);
    // Dropped while its query model still loads behind it: the loading
    // thread is waited for, nothing is left running.
    drop(open(store.path()));
    let reopened = open(store.path());
    let after: Vec<_> = queries
        .iter()
        .map(|q| top_paths(&reopened, q, SearchMode::Hybrid, 4))
        .collect();
    assert_eq!(before, after);
    drop(reopened);
    for entry in std::fs::read_dir(store.path()).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "usearch") {
            std::fs::remove_file(path).unwrap();
        }
    }
    let rebuilt = open(store.path());
    assert_eq!(rebuilt.stats().unwrap().vectors, stats.chunks);
    let after: Vec<_> = queries
        .iter()
        .map(|q| top_paths(&rebuilt, q, SearchMode::Hybrid, 4))
        .collect();
    assert_eq!(before, after);
}

#[test]
fn host_text_is_indexed_filtered_and_removed() {
    let store = tempfile::tempdir().unwrap();
    let engine = open(store.path());
    let added = engine
        .add_text(
            "note-1",
            "Packing list",
            "# Packing\n\nTent, stove, two litres of water.",
            &trove::metadata_from_json(r#"{"tags": ["trip"]}"#).unwrap(),
        )
        .unwrap();
    assert_eq!(added.chunks_embedded, 1);
    // A host document counts like a file: seen, then indexed or unchanged.
    assert_eq!((added.files_seen, added.files_indexed), (1, 1), "{added:?}");
    engine
        .add_text(
            "note-2",
            "Groceries",
            "Oat milk, lentils, lemons.",
            &trove::Metadata::new(),
        )
        .unwrap();
    let again = engine
        .add_text(
            "note-1",
            "Packing list",
            "# Packing\n\nTent, stove, two litres of water.",
            &trove::metadata_from_json(r#"{"tags": ["trip"]}"#).unwrap(),
        )
        .unwrap();
    assert_eq!((again.files_unchanged, again.chunks_embedded), (1, 0));

    let mut options = SearchOptions::default();
    options.filters.tags = vec!["trip".into()];
    let hits = engine
        .search("what food do I need to buy", &options)
        .unwrap();
    assert_eq!(hits.len(), 1);
    assert_eq!(hits[0].document_id, "note-1");
    assert_eq!(hits[0].path, None);
    assert_eq!(hits[0].tags, vec!["trip"]);

    options.filters = Default::default();
    options.filters.document_ids = vec!["note-2".into()];
    let hits = engine.search("camping gear", &options).unwrap();
    assert!(hits.iter().all(|h| h.document_id == "note-2"));

    let err = trove::metadata_from_json("[1, 2]").unwrap_err();
    assert_eq!(err.kind(), trove::ErrorKind::InvalidInput);
    assert!(engine.remove_document("note-1").unwrap());
    assert!(!engine.remove_document("note-1").unwrap());
    assert_eq!(engine.stats().unwrap().documents, 1);
}

/// Vector-only hits' document ids.
fn vector_ids(engine: &trove::Engine, query: &str) -> Vec<String> {
    let options = SearchOptions {
        k: 5,
        mode: SearchMode::Vector,
        ..Default::default()
    };
    let hits = engine.search(query, &options).unwrap();
    hits.into_iter().map(|h| h.document_id).collect()
}

/// Two engines on one store stand for two processes (each holds its own
/// vector index in memory): each sees the other's new vectors without
/// reopening, and writing in turn loses none of them.
#[test]
fn two_engines_on_one_store_see_each_others_vectors_and_lose_none() {
    let store = tempfile::tempdir().unwrap();
    let first = open(store.path());
    let second = open(store.path());
    let add = |engine: &trove::Engine, id: &str, text: &str| {
        engine.add_text(id, id, text, &Default::default()).unwrap();
    };
    add(
        &first,
        "kayak",
        "Paddling the kayak across the bay at dawn, the water was flat.",
    );
    assert_eq!(
        vector_ids(&second, "a boat trip on calm sea water")[0],
        "kayak"
    );
    add(
        &second,
        "bread",
        "Knead the dough for ten minutes, then let it rise overnight.",
    );
    assert_eq!(vector_ids(&first, "baking a loaf")[0], "bread");
    add(
        &first,
        "violin",
        "Practise the violin scales slowly with a metronome.",
    );
    add(
        &second,
        "garden",
        "Plant the tulip bulbs in autumn, a hand deep in the soil.",
    );
    for engine in [&first, &second] {
        assert_eq!(
            vector_ids(engine, "playing a string instrument")[0],
            "violin"
        );
        assert_eq!(vector_ids(engine, "flowers in the garden bed")[0], "garden");
    }
    drop((first, second));
    let reopened = open(store.path());
    let stats = reopened.stats().unwrap();
    assert_eq!(
        (stats.documents, stats.vectors),
        (4, stats.chunks),
        "{stats:?}"
    );
    for (query, id) in [
        ("a boat trip on calm sea water", "kayak"),
        ("baking a loaf", "bread"),
        ("playing a string instrument", "violin"),
        ("flowers in the garden bed", "garden"),
    ] {
        assert_eq!(vector_ids(&reopened, query)[0], id, "{query}");
    }
}

/// Keyword first, vectors after, on the real models: an indexing call that
/// does not wait commits every document keyword-searchable with no vector;
/// a later process's background thread embeds the queue, and then another
/// engine on the store (a second host) finds the notes by meaning.
#[test]
fn documents_are_keyword_searchable_at_once_and_embedded_in_the_background() {
    let notes = tempfile::tempdir().unwrap();
    let store = tempfile::tempdir().unwrap();
    corpus(notes.path());
    let mut config = config(store.path());
    config.wait_for_embedding = false;
    config.background_embedding = false;
    {
        let engine = trove::Engine::open(config.clone()).unwrap();
        let summary = index(&engine, notes.path());
        assert_eq!(
            (summary.files_indexed, summary.chunks_embedded),
            (4, 0),
            "{summary:?}"
        );
        let stats = engine.stats().unwrap();
        assert_eq!((stats.vectors, stats.chunks_pending), (0, stats.chunks));
        assert_eq!(summary.chunks_pending, stats.chunks);
        let bike = notes.path().join("garage/bike.md").canonicalize().unwrap();
        let status = engine.document_status(bike.to_str().unwrap()).unwrap();
        assert_eq!(status.state, trove::DocumentState::PendingEmbedding);
        let options = SearchOptions {
            k: 1,
            ..Default::default()
        };
        let hit = &engine.search("lubricate the chain", &options).unwrap()[0];
        assert!(hit.path.as_deref().unwrap().ends_with("bike.md"), "{hit:?}");
        assert!(!hit.embedded);
        let why = engine
            .explain("lubricate the chain", bike.to_str().unwrap())
            .unwrap();
        assert!(
            why.reasons
                .iter()
                .any(|r| r.contains("wait for their vector")),
            "{:?}",
            why.reasons
        );
    }
    config.background_embedding = true;
    let host = trove::Engine::open(config).unwrap();
    let other = open(store.path());
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(300);
    while host.embedding_status().unwrap().pending > 0 || host.embedding_status().unwrap().running {
        assert!(
            std::time::Instant::now() < deadline,
            "background embedding stalled"
        );
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    assert_eq!(host.stats().unwrap().vectors, host.stats().unwrap().chunks);
    let top = top_paths(
        &other,
        "how did I line up the mirrors of my telescope",
        SearchMode::Vector,
        1,
    );
    assert_eq!(file_name(&top[0]), "telescope.pdf", "{top:?}");
}
