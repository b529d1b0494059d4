//! An Obsidian vault (core/tests/fixtures/obsidian-vault, notes written for
//! these tests) through the real engine: inline tags filter, comments are
//! not found, block ids, callout markers and wikilink syntax are not in the
//! text, embeds of images are not text, canvas cards are searchable.

mod common;

use std::path::PathBuf;

use common::*;
use trove::{Engine, Hit, SearchFilters, SearchMode, SearchOptions};

fn vault() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/obsidian-vault")
}

fn indexed() -> (tempfile::TempDir, Engine) {
    let store = tempfile::tempdir().unwrap();
    let engine = open(store.path());
    let summary = index(&engine, &vault());
    assert_eq!(
        (summary.files_indexed, summary.files_failed),
        (6, 0),
        "{summary:#?}"
    );
    (store, engine)
}

fn search(engine: &Engine, query: &str, mode: SearchMode, tags: &[&str]) -> Vec<Hit> {
    let options = SearchOptions {
        k: 20,
        mode,
        filters: SearchFilters {
            tags: tags.iter().map(|t| t.to_string()).collect(),
            ..Default::default()
        },
        ..Default::default()
    };
    engine.search(query, &options).expect("search succeeds")
}

fn names(hits: &[Hit]) -> Vec<String> {
    let mut names: Vec<String> = hits
        .iter()
        .map(|h| file_name(h.path.as_deref().unwrap()).to_string())
        .collect();
    names.dedup();
    names
}

#[test]
fn inline_and_front_matter_tags_filter() {
    let (_store, engine) = indexed();
    // Tagged only inline, in a note of a subfolder.
    let hits = search(
        &engine,
        "when to plant",
        SearchMode::Hybrid,
        &["garden/vegetables"],
    );
    assert_eq!(names(&hits), ["Tomato Plan.md"]);
    assert!(hits[0].tags.contains(&"garden/vegetables".to_string()));
    // Front matter and inline tags together on one note.
    let hits = search(&engine, "bucket", SearchMode::Hybrid, &["hobby"]);
    assert_eq!(names(&hits), ["Home Brewing.md"]);
    assert_eq!(hits[0].tags, ["hobby", "fermentation/ale"]);
    // A tag in a canvas card.
    let hits = search(&engine, "strike water", SearchMode::Hybrid, &["brewday"]);
    assert_eq!(names(&hits), ["Brewery.canvas"]);
    // The `#` of a heading or a URL fragment is no tag: nothing carries "Tomato".
    assert!(search(&engine, "tomato", SearchMode::Hybrid, &["Tomato"]).is_empty());
}

#[test]
fn comments_are_not_found_and_syntax_is_not_text() {
    let (_store, engine) = indexed();
    for query in [
        "neighbour complained smell",
        "nettle comfrey fertiliser",
        "cat dug basil",
    ] {
        let hits = search(&engine, query, SearchMode::Keyword, &[]);
        assert!(hits.is_empty(), "{query}: {:?}", names(&hits));
        for hit in search(&engine, query, SearchMode::Hybrid, &[]) {
            for word in ["neighbour", "nettle", "basil", "%%"] {
                assert!(!hit.text.contains(word), "{query}: {}", hit.text);
            }
        }
    }
    let all = search(
        &engine,
        "brewing hops garden water canvas",
        SearchMode::Hybrid,
        &[],
    );
    // Every chunk of the vault (small notes are one chunk each).
    assert!(all.len() >= 6, "{}", all.len());
    for hit in &all {
        for syntax in [
            "[[",
            "]]",
            "^og-reading",
            "^staking",
            "^hop-table",
            "[!warning]",
            "[!tip]",
            "==",
            "mash-tun.jpg",
        ] {
            assert!(!hit.text.contains(syntax), "{syntax} in {:?}", hit.text);
        }
    }
}

#[test]
fn links_callouts_block_ids_and_highlights_read_as_text() {
    let (_store, engine) = indexed();
    let hits = search(
        &engine,
        "original gravity last batch",
        SearchMode::Keyword,
        &[],
    );
    let gravity = hits
        .iter()
        .find(|h| {
            h.text
                .contains("The original gravity was 1.048 on the last batch.")
        })
        .expect("the block-id paragraph is found");
    assert!(!gravity.text.contains('^'));

    let hits = search(&engine, "hops mash", SearchMode::Keyword, &[]);
    assert!(
        hits.iter().any(|h| h
            .text
            .contains("See the hops and Water Chemistry › Mash pH.")),
        "{:?}",
        hits.iter().map(|h| &h.text).collect::<Vec<_>>()
    );

    // The callout keeps its title as text, without the `[!warning]` marker
    // (its label heads the block; here the chunk holds the whole note).
    let hits = search(&engine, "wild yeast sanitiser", SearchMode::Keyword, &[]);
    assert!(
        hits[0]
            .text
            .contains("> Sanitise everything\n> Wild yeast spoils"),
        "{:?}",
        hits[0]
    );

    let hits = search(&engine, "pitch yeast clean taste", SearchMode::Keyword, &[]);
    assert!(
        hits[0]
            .text
            .contains("Pitch the yeast below 20 °C for a clean taste.")
    );

    let hits = search(&engine, "staking", SearchMode::Keyword, &[]);
    assert!(hits.iter().any(|h| h.text.contains("the staking helped")));

    // Canvas cards under their group label.
    let hits = search(&engine, "stuck sparge rice hulls", SearchMode::Keyword, &[]);
    assert_eq!(names(&hits), ["Brewery.canvas"]);
    assert_eq!(hits[0].heading_path, ["Brew day timeline"]);
}
