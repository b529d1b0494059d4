//! Web pages and chapters read as readable text with structure.

use super::*;
use crate::ingest::Block;

fn page(html: &str) -> ParsedDocument {
    parse_page(html.as_bytes(), "stem").unwrap()
}

fn summary(blocks: &[Block]) -> Vec<(String, String)> {
    blocks
        .iter()
        .map(|b| (b.heading_path.join(" > "), b.text.clone()))
        .collect()
}

const SAVED_PAGE: &str = r#"<!DOCTYPE html>
<html lang="en"><head>
<meta charset="utf-8">
<title>Descaling a kettle | Home Wiki</title>
<meta property="og:title" content="Descaling a kettle">
<meta name="description" content="How to remove limescale.">
<link rel="canonical" href="https://wiki.example/kettle">
<style>body { color: red }</style>
<script>var tracking = "descale";</script>
</head><body>
<header><a href="/">Home Wiki</a> <form><input name=q><button>Search</button></form></header>
<nav><ul><li><a href="/a">All pages</a><li><a href="/b">Random</a></ul></nav>
<div class="cookie-banner">We use cookies. <button>OK</button></div>
<main>
<article>
<header><h1>Descaling a kettle</h1><p class="byline">By Ada</p></header>
<p>Limescale builds up in hard-water areas.
It slows heating.</p>
<h2>What you need</h2>
<ul><li>Citric acid<li>Water<ul><li>about 500&nbsp;ml</li></ul></li></ul>
<h2>Steps</h2>
<ol><li>Boil the water.</li><li>Add the acid.</li></ol>
<h3>Timing</h3>
<table><tr><th>Hardness</th><th>Every</th></tr>
<tr><td>Soft<td>3 months
<tr><td><p>Hard</p></td><td>1 month</td></tr></table>
<pre>line one
  line two</pre>
<div class="share-buttons">Share on social</div>
<aside>Related: toasters</aside>
</article>
</main>
<footer>© 2024 Home Wiki</footer>
</body></html>"#;

#[test]
fn saved_page_keeps_content_and_drops_boilerplate() {
    let doc = page(SAVED_PAGE);
    assert_eq!(doc.kind, SourceKind::Html);
    assert_eq!(doc.title, "Descaling a kettle");
    assert_eq!(doc.metadata["description"], "How to remove limescale.");
    assert_eq!(doc.metadata["url"], "https://wiki.example/kettle");
    assert_eq!(doc.metadata["lang"], "en");
    assert_eq!(
        summary(&doc.blocks),
        [
            ("Descaling a kettle".into(), "By Ada".into()),
            (
                "Descaling a kettle".into(),
                "Limescale builds up in hard-water areas. It slows heating.".into()
            ),
            (
                "Descaling a kettle > What you need".into(),
                "- Citric acid\n- Water\n  - about 500 ml".into()
            ),
            (
                "Descaling a kettle > Steps".into(),
                "1. Boil the water.\n2. Add the acid.".into()
            ),
            (
                "Descaling a kettle > Steps > Timing".into(),
                "Hardness | Every\nSoft | 3 months\nHard | 1 month".into()
            ),
            (
                "Descaling a kettle > Steps > Timing".into(),
                "line one\n  line two".into()
            ),
        ]
    );
    let all: String = doc.blocks.iter().map(|b| b.text.as_str()).collect();
    for gone in [
        "tracking",
        "Search",
        "All pages",
        "cookies",
        "Share",
        "toasters",
        "2024",
        "color",
    ] {
        assert!(!all.contains(gone), "{gone} leaked: {all}");
    }
    let locators: Vec<String> = doc
        .blocks
        .iter()
        .map(|b| b.locator.as_ref().unwrap().to_string())
        .collect();
    assert_eq!(
        locators,
        ["¶ 2", "¶ 3", "¶ 5–7", "¶ 9–10", "¶ 12–14", "¶ 15"]
    );
    assert!(
        doc.blocks
            .iter()
            .all(|b| b.lines.is_none() && b.page.is_none())
    );
}

#[test]
fn pages_without_main_drop_boilerplate_by_name() {
    let doc = page(
        "<title>T</title><div id=sidebar>Menu items</div><div class=content><p>Real text one.</p><p>Real&amp;text <b>two</b><br>after break</p></div><div class=\"site-footer\">Imprint</div>",
    );
    assert_eq!(doc.title, "T");
    assert_eq!(
        summary(&doc.blocks),
        [
            (String::new(), "Real text one.".into()),
            (String::new(), "Real&text two\nafter break".into())
        ]
    );
}

#[test]
fn title_falls_back_to_heading_then_stem() {
    assert_eq!(page("<h2>Only heading</h2><p>x</p>").title, "Only heading");
    assert_eq!(page("<p>just text</p>").title, "stem");
}

#[test]
fn pages_without_text_are_no_text() {
    let err = parse_page(
        b"<html><script>render()</script><nav>Home</nav></html>",
        "s",
    )
    .unwrap_err();
    assert_eq!(err.code(), "no_text");
    assert!(err.to_string().contains("save the rendered page"), "{err}");
}

#[test]
fn legacy_charsets_are_decoded() {
    let doc = parse_page(
        b"<meta http-equiv=Content-Type content='text/html; charset=iso-8859-1'><p>Cr\xe8me br\xfbl\xe9e</p>",
        "s",
    )
    .unwrap();
    assert_eq!(doc.blocks[0].text, "Crème brûlée");
    // Invalid UTF-8 in a UTF-8 page: the page survives with a replacement character.
    let doc = parse_page(b"<meta charset=utf-8><p>ok \xff\xfe done</p>", "s").unwrap();
    assert_eq!(doc.blocks[0].text, "ok \u{fffd}\u{fffd} done");
}

#[test]
fn deep_and_broken_nesting_is_linear() {
    let deep = "<div>".repeat(200_000) + "deep text" + &"</div>".repeat(200_000);
    assert_eq!(page(&deep).blocks[0].text, "deep text");
    let unclosed = "<b><i>".repeat(100_000) + "soup" + &"</u>".repeat(100_000) + "<p>after";
    let doc = page(&unclosed);
    assert_eq!(
        summary(&doc.blocks),
        [
            (String::new(), "soup".into()),
            (String::new(), "after".into())
        ]
    );
    let lists = "<ul><li>".repeat(50_000) + "item";
    assert!(page(&lists).blocks[0].text.ends_with("- item"));
}

#[test]
fn chapters_keep_nav_out_without_page_heuristics() {
    let mut builder = DocBuilder::default();
    let info = extract(
        "<html><body><nav epub:type=\"toc\"><ol><li>Ch 1</li></ol></nav><div class=\"footer\"><h1>One</h1><p>Text of one.</p></div></body></html>",
        &mut builder,
        false,
    );
    assert!(info.title.is_none());
    assert_eq!(
        summary(&builder.finish()),
        [("One".into(), "Text of one.".into())]
    );
}
