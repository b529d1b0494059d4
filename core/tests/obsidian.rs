//! An Obsidian vault (core/tests/fixtures/obsidian-vault, notes written for
//! these tests) through the real engine: inline tags filter, comments are
//! not found, block ids, callout markers and wikilink syntax are not in the
//! text, embeds of images are not text, canvas cards are searchable.

mod common;

use std::path::PathBuf;

use common::*;
use trove::{DocumentLink, Engine, Hit, SearchFilters, SearchMode, SearchOptions};

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

fn note(name: &str) -> String {
    vault().join(name).to_string_lossy().into_owned()
}

/// Each link as `source file › target (resolved file or -)`.
fn edges(links: &[DocumentLink]) -> Vec<String> {
    links
        .iter()
        .map(|l| {
            let to = l
                .resolved
                .as_ref()
                .map_or("-", |d| file_name(d.path.as_deref().unwrap()));
            format!(
                "{} › {} ({to})",
                file_name(l.source.path.as_deref().unwrap()),
                l.target
            )
        })
        .collect()
}

#[test]
fn backlinks_and_outgoing_links_resolve_as_obsidian_does() {
    let (_store, engine) = indexed();
    let out = engine.outgoing_links(&note("Home Brewing.md")).unwrap();
    assert_eq!(
        edges(&out),
        [
            "Home Brewing.md › Hop Varieties (Hop Varieties.md)",
            "Home Brewing.md › Water Chemistry (Water Chemistry.md)",
            "Home Brewing.md › Hop Varieties (Hop Varieties.md)",
            "Home Brewing.md › mash-tun.jpg (-)",
        ]
    );
    assert_eq!(out[0].alias.as_deref(), Some("the hops"));
    assert_eq!(out[1].heading.as_deref(), Some("Mash pH"));
    assert!(out[2].embed && out[3].embed && !out[0].embed);
    assert_eq!(out[0].line, Some(7));

    // Notes linking here: a wikilink, an embed and a canvas file card.
    let back = engine.backlinks(&note("Hop Varieties.md")).unwrap();
    assert_eq!(
        edges(&back),
        [
            "Brewery.canvas › Hop Varieties (Hop Varieties.md)",
            "Home Brewing.md › Hop Varieties (Hop Varieties.md)",
            "Home Brewing.md › Hop Varieties (Hop Varieties.md)",
        ]
    );
    // A link to a block of a note in a subfolder, by its file name.
    let back = engine.backlinks(&note("Garden/Tomato Plan.md")).unwrap();
    assert_eq!(
        edges(&back),
        ["2024-05-02.md › Tomato Plan (Tomato Plan.md)"]
    );
    assert_eq!(back[0].block.as_deref(), Some("staking"));
    // The block id's list item, on line 11 of the note.
    assert_eq!(back[0].block_lines, Some((11, 11).into()));
    assert!(
        engine
            .backlinks(&note("Daily/2024-05-02.md"))
            .unwrap()
            .is_empty()
    );

    let err = engine.backlinks(&note("Nowhere.md")).unwrap_err();
    assert_eq!(err.kind(), trove::ErrorKind::NotFound);
}

#[test]
fn links_follow_renames_removals_titles_and_aliases() {
    let vault_copy = tempfile::tempdir().unwrap();
    for name in ["Home Brewing.md", "Hop Varieties.md", "Water Chemistry.md"] {
        std::fs::copy(vault().join(name), vault_copy.path().join(name)).unwrap();
    }
    let store = tempfile::tempdir().unwrap();
    let engine = open(store.path());
    let dir = vault_copy.path();
    let path = |name: &str| dir.join(name).to_string_lossy().into_owned();
    index(&engine, dir);
    let brewing = path("Home Brewing.md");
    let resolved = |engine: &Engine| -> Vec<String> {
        edges(&engine.outgoing_links(&brewing).unwrap())
            .into_iter()
            .filter(|e| e.contains("Water"))
            .collect()
    };
    assert_eq!(
        resolved(&engine),
        ["Home Brewing.md › Water Chemistry (Water Chemistry.md)"]
    );

    // Renamed, the note is still found by its title; retitled too, the
    // link no longer resolves, and the renamed note still links back.
    std::fs::rename(path("Water Chemistry.md"), path("Water Profile.md")).unwrap();
    index(&engine, dir);
    assert_eq!(
        resolved(&engine),
        ["Home Brewing.md › Water Chemistry (Water Profile.md)"]
    );
    write(
        dir,
        "Water Profile.md",
        "# Water profile\n\nBack to [[Home Brewing]].\n",
    );
    index(&engine, dir);
    assert_eq!(resolved(&engine), ["Home Brewing.md › Water Chemistry (-)"]);
    assert_eq!(
        edges(&engine.backlinks(&brewing).unwrap()),
        ["Water Profile.md › Home Brewing (Home Brewing.md)"]
    );

    // A note titled so (its first heading), in a folder, takes the link;
    // a file of that name would win over the title.
    write(
        dir,
        "chem/Salts.md",
        "# water chemistry\n\nGypsum sharpens the bitterness.\n",
    );
    index(&engine, dir);
    assert_eq!(
        resolved(&engine),
        ["Home Brewing.md › Water Chemistry (Salts.md)"]
    );
    write(dir, "Water Chemistry.md", "Calcium helps the yeast.\n");
    index(&engine, dir);
    assert_eq!(
        resolved(&engine),
        ["Home Brewing.md › Water Chemistry (Water Chemistry.md)"]
    );

    // By alias, ignoring case; removal of the target leaves the link
    // unresolved. A note's link to itself is no backlink.
    write(
        dir,
        "Kettle.md",
        "Boil in the [[project copperkettle]] pot (see [[kettle]]).\n",
    );
    index(&engine, dir);
    let back = engine.backlinks(&brewing).unwrap();
    assert!(
        edges(&back).contains(&"Kettle.md › project copperkettle (Home Brewing.md)".to_string()),
        "{:?}",
        edges(&back)
    );
    std::fs::remove_file(&brewing).unwrap();
    index(&engine, dir);
    let out = engine.outgoing_links(&path("Kettle.md")).unwrap();
    assert_eq!(
        edges(&out),
        [
            "Kettle.md › project copperkettle (-)",
            "Kettle.md › kettle (Kettle.md)"
        ]
    );
    assert!(engine.backlinks(&path("Kettle.md")).unwrap().is_empty());
    assert!(engine.backlinks(&brewing).is_err());
}

#[test]
fn aliases_are_found_by_keyword() {
    let (_store, engine) = indexed();
    let hits = search(&engine, "copperkettle", SearchMode::Keyword, &[]);
    assert_eq!(names(&hits), ["Home Brewing.md"]);
    let hits = search(&engine, "garden diary", SearchMode::Keyword, &[]);
    assert_eq!(names(&hits)[0], "2024-05-02.md");
}

#[test]
fn a_tag_filter_matches_nested_tags_ignoring_case() {
    let (_store, engine) = indexed();
    let hits = search(&engine, "when to plant", SearchMode::Hybrid, &["garden"]);
    assert_eq!(names(&hits), ["Tomato Plan.md"]);
    let hits = search(&engine, "bucket", SearchMode::Hybrid, &["Fermentation"]);
    assert_eq!(names(&hits), ["Home Brewing.md"]);
    assert!(search(&engine, "bucket", SearchMode::Hybrid, &["ferment"]).is_empty());
    assert!(
        search(
            &engine,
            "plant",
            SearchMode::Hybrid,
            &["garden/vegetables/x"]
        )
        .is_empty()
    );
}
