//! Web pages, Word, LibreOffice and e-book files through the real engine,
//! next to damaged and hostile ones: the good ones are found with their
//! titles, each bad one is skipped with its reason code. (Heading paths
//! and locators are checked on the parsers; these notes are so short the
//! chunker packs each into one chunk.)

mod common;

use common::*;
use trove::{Engine, IndexOptions, SearchMode};

const PAGE: &str = r#"<!DOCTYPE html><html><head><meta charset="windows-1252">
<title>Sourdough | Crumb Blog</title></head><body>
<nav><a href="/">Home</a> <a href="/about">About the baker</a></nav>
<article><h1>Sourdough starter</h1>
<h2>Feeding</h2><p>Feed the starter with equal weights of rye flour and water every twelve hours; it doubles in about six hours at 24 &deg;C.</p>
<table><tr><th>Day</th><th>Flour</th></tr><tr><td>1</td><td>50 g rye</td></tr></table>
</article><footer>Copyright the crumb blog, all rights reserved</footer>
<script>trackVisitor("sourdough")</script></body></html>"#;

fn write_bytes(dir: &std::path::Path, name: &str, bytes: &[u8]) {
    std::fs::write(dir.join(name), bytes).unwrap();
}

#[test]
fn documents_are_indexed_and_bad_ones_skipped_with_reasons() {
    let docs = tempfile::tempdir().unwrap();
    let store = tempfile::tempdir().unwrap();
    let dir = docs.path();
    write_bytes(dir, "sourdough.html", PAGE.as_bytes());
    let report = docx_bytes(&[
        ("Title", "Heat pump report"),
        ("Heading1", "Findings"),
        (
            "",
            "The heat pump defrost cycle runs every forty minutes when the outdoor air is below two degrees.",
        ),
    ]);
    write_bytes(dir, "report.docx", &report);
    write_bytes(
        dir,
        "bees.odt",
        &odt_bytes(
            "<text:h text:outline-level=\"1\">Beekeeping</text:h><text:p>Swarm cells along the frame bottom mean the colony will swarm within a week; split the hive.</text:p>",
        ),
    );
    write_bytes(
        dir,
        "lighthouse.epub",
        &epub_bytes(
            "The Lighthouse Keeper",
            &[
                "<h1>Arrival</h1><p>The keeper arrived on the island with three crates of paraffin.</p>",
                "<h1>Storm</h1><p>During the storm the lens turned by clockwork all night long.</p>",
            ],
        ),
    );
    // Bad ones.
    write_bytes(dir, "page-saved-as.docx", PAGE.as_bytes());
    write_bytes(dir, "truncated.docx", &report[..report.len() * 2 / 3]);
    let spaces = vec![b' '; 16 * 1024 * 1024];
    write_bytes(
        dir,
        "bomb.docx",
        &zip_bytes(&[
            ("[Content_Types].xml", b"<Types/>"),
            ("word/document.xml", &spaces),
        ]),
    );
    let lol = "<!DOCTYPE x [<!ENTITY a \"lol\"><!ENTITY b \"&a;&a;&a;&a;&a;&a;\">]><office:document-content><office:body><office:text><text:p>&b;</text:p></office:text></office:body></office:document-content>";
    write_bytes(
        dir,
        "lol.odt",
        &zip_bytes(&[
            ("mimetype", b"application/vnd.oasis.opendocument.text"),
            ("content.xml", lol.as_bytes()),
        ]),
    );
    write_bytes(
        dir,
        "images-only.epub",
        &epub_bytes("Comic", &["<img src=\"p1.png\"/>"]),
    );
    write_bytes(dir, "broken.canvas", b"{\"nodes\": [");
    // A 200 MB single line: refused before it is read.
    std::fs::write(dir.join("one-line.txt"), "word ".repeat(40 * 1024 * 1024)).unwrap();

    let engine = open(store.path());
    let summary = index(&engine, dir);
    let code = |name: &str| {
        summary
            .failures
            .iter()
            .find(|f| f.path.ends_with(name))
            .map(|f| f.code.clone())
            .unwrap_or_else(|| panic!("{name} not reported: {summary:#?}"))
    };
    assert_eq!(code("page-saved-as.docx"), "misnamed");
    assert_eq!(code("truncated.docx"), "archive_corrupt");
    assert_eq!(code("bomb.docx"), "archive_bomb");
    assert_eq!(code("lol.odt"), "xml_entities");
    assert_eq!(code("images-only.epub"), "no_text");
    assert_eq!(code("broken.canvas"), "malformed");
    assert_eq!(code("one-line.txt"), "too_large");
    assert_eq!(
        (summary.files_indexed, summary.files_failed),
        (4, 7),
        "{summary:#?}"
    );
    assert!(summary.failures.iter().all(|f| !f.reason.is_empty()));

    let top = |query: &str| {
        let hits = engine
            .search(
                query,
                &trove::SearchOptions {
                    k: 1,
                    mode: SearchMode::Hybrid,
                    ..Default::default()
                },
            )
            .unwrap();
        let hit = hits.into_iter().next().expect("a hit");
        (file_name(hit.path.as_deref().unwrap()).to_string(), hit)
    };
    let (name, hit) = top("how often do I feed the rye starter");
    assert_eq!(name, "sourdough.html");
    assert_eq!(hit.title, "Sourdough | Crumb Blog");
    assert!(hit.text.contains("24 °C"), "{}", hit.text);
    assert!(!hit.text.contains("About the baker") && !hit.text.contains("Copyright"));
    let (name, hit) = top("heat pump defrost interval");
    assert_eq!(name, "report.docx");
    assert_eq!(hit.title, "Heat pump report");
    assert!(hit.text.contains("defrost cycle runs every forty minutes"));
    // Citations name paragraphs where there are no lines or pages.
    let place = |hit: &trove::Hit| hit.locator.as_ref().map(|l| l.to_string());
    assert_eq!(place(&hit).as_deref(), Some("¶ 1–3"), "{hit:?}");
    assert_eq!(hit.lines, None);
    let (name, _) = top("swarm cells on the frame");
    assert_eq!(name, "bees.odt");
    let (name, hit) = top("what turned the lens during the storm");
    assert_eq!(name, "lighthouse.epub");
    assert_eq!(hit.title, "The Lighthouse Keeper");
    assert!(hit.text.contains("the lens turned by clockwork"));
    assert!(!hit.text.contains("paraffin"), "one chunk per chapter");
    assert_eq!(place(&hit).as_deref(), Some("chapter 2, ¶ 2"), "{hit:?}");

    // Unchanged files are skipped next time, broken ones not retried.
    let again = index(&engine, dir);
    assert_eq!(
        (
            again.files_unchanged,
            again.files_failed,
            again.chunks_embedded
        ),
        (4, 7, 0)
    );
}

#[test]
fn a_long_single_line_is_indexed_in_bounded_pieces() {
    let docs = tempfile::tempdir().unwrap();
    let store = tempfile::tempdir().unwrap();
    // 40 KB without a line break: cut into blocks before chunking.
    let line: String = (0..8_000)
        .map(|i| format!("w{} ", i % 977))
        .collect::<String>()
        + "zebracrossing";
    write(docs.path(), "log.txt", &line);
    let engine: Engine = open(store.path());
    let summary = engine
        .index_path(docs.path(), IndexOptions::default())
        .unwrap();
    assert_eq!(summary.files_indexed, 1, "{summary:#?}");
    assert!(summary.chunks_embedded > 10, "{summary:#?}");
    let hits = top_paths(&engine, "zebracrossing", SearchMode::Keyword, 1);
    assert_eq!(hits.len(), 1);
}
