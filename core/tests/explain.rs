//! "Why is my note not found?": a document's status and where it ranks for
//! a query, on a real store with the real embedding model.

mod common;

use std::fs;

use common::*;
use trove::DocumentState;

#[test]
fn status_tells_indexed_changed_missing_failed_and_unknown_apart() {
    let dir = tempfile::tempdir().unwrap();
    let notes = dir.path().join("notes");
    fs::create_dir(&notes).unwrap();
    let kept = write(
        &notes,
        "kept.md",
        "# Kept\n\nThe boiler pressure should read 1.5 bar.\n",
    );
    let edited = write(
        &notes,
        "edited.md",
        "# Edited\n\nThe bike chain wants oil monthly.\n",
    );
    let gone = write(
        &notes,
        "gone.md",
        "# Gone\n\nThe router password is on the fridge.\n",
    );
    let broken = write(&notes, "broken.pdf", "this is no PDF at all");
    let engine = open(&dir.path().join("store"));
    index(&engine, &notes);
    let id = |p: &std::path::Path| fs::canonicalize(p).unwrap().to_string_lossy().into_owned();
    let (kept_id, edited_id, gone_id, broken_id) = (id(&kept), id(&edited), id(&gone), id(&broken));
    fs::write(
        &edited,
        "# Edited\n\nThe bike chain wants oil every two weeks.\n",
    )
    .unwrap();
    fs::remove_file(&gone).unwrap();

    let kept = engine.document_status(&kept_id).unwrap();
    assert_eq!(kept.state, DocumentState::Indexed);
    assert_eq!(kept.title.as_deref(), Some("Kept"));
    assert!(kept.chunks >= 1);
    assert_eq!(
        engine.document_status(&edited_id).unwrap().state,
        DocumentState::Changed
    );
    assert_eq!(
        engine.document_status(&gone_id).unwrap().state,
        DocumentState::Missing
    );
    let broken = engine.document_status(&broken_id).unwrap();
    assert_eq!(broken.state, DocumentState::Failed);
    assert_eq!(broken.failure_code.as_deref(), Some("not_pdf"));
    assert!(broken.failure_reason.unwrap().contains("named .pdf"));
    let unknown = engine.document_status("/nowhere/else.md").unwrap();
    assert_eq!(unknown.state, DocumentState::NotIndexed);
    assert_eq!(unknown.chunks, 0);
}

#[test]
fn explain_gives_ranks_scores_and_reasons_in_every_retriever() {
    let dir = tempfile::tempdir().unwrap();
    let engine = open(&dir.path().join("store"));
    let notes = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/notes");
    index(&engine, &notes);
    let espresso = fs::canonicalize(notes.join("espresso.md")).unwrap();
    let espresso = espresso.to_string_lossy();

    // The right note: first everywhere, with its best passage.
    let why = engine
        .explain("espresso brew temperature", &espresso)
        .unwrap();
    assert_eq!(why.status.state, DocumentState::Indexed);
    assert_eq!(why.hybrid.rank, Some(1), "{why:#?}");
    assert_eq!(why.keyword.rank, Some(1), "{why:#?}");
    assert!(why.vector.rank.is_some_and(|r| r <= 3), "{why:#?}");
    assert!(why.keyword.score.is_some() && why.vector.score.is_some());
    assert_eq!(why.best_passage.as_ref().unwrap().document_id, espresso);
    assert!(why.first.is_none());
    assert!(
        why.reasons[0].contains("ranks it first"),
        "{:?}",
        why.reasons
    );

    // A query none of its words match: keyword search cannot find it, the
    // vector score is still there, and another note ranks first.
    let why = engine
        .explain("sourdough starter rye flour", &espresso)
        .unwrap();
    assert_eq!(why.keyword.rank, None, "{why:#?}");
    assert_eq!(why.keyword.score, None, "{why:#?}");
    assert!(why.vector.score.is_some());
    assert!(why.hybrid.rank.is_none_or(|r| r > 1), "{why:#?}");
    assert!(
        why.first
            .as_ref()
            .unwrap()
            .path
            .as_deref()
            .unwrap()
            .ends_with("sourdough.md")
    );
    assert!(
        why.reasons
            .iter()
            .any(|r| r.contains("no word of the query occurs")),
        "{:?}",
        why.reasons
    );
    assert!(
        why.reasons.iter().any(|r| r.contains("sourdough.md")),
        "{:?}",
        why.reasons
    );

    // A document the store does not hold says so, and nothing else.
    let why = engine.explain("espresso", "/nowhere/else.md").unwrap();
    assert_eq!(why.status.state, DocumentState::NotIndexed);
    assert!(why.best_passage.is_none());
    assert_eq!(why.reasons.len(), 1);
    assert!(why.reasons[0].contains("not in the store"));
}
