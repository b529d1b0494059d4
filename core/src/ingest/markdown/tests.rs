//! Markdown structure and Obsidian syntax, on small literal notes.

use super::*;
use crate::ingest::Block;

/// Checks that every block's text is exactly the source at its char range
/// and, trimmed, the source lines it claims.
fn assert_exact(source: &str, blocks: &[Block]) {
    let chars: Vec<char> = source.chars().collect();
    let lines: Vec<&str> = source.split('\n').collect();
    for b in blocks {
        let at: String = chars[b.char_start..b.char_end].iter().collect();
        assert_eq!(at, b.text, "char range of {b:?}");
        let (first, last) = b.lines.unwrap();
        let claimed = lines[first as usize - 1..last as usize].join("\n");
        assert_eq!(claimed.trim(), b.text, "lines of {b:?}");
        assert_eq!(b.page, None);
    }
}

fn paths(blocks: &[Block]) -> Vec<(String, String)> {
    blocks
        .iter()
        .map(|b| (b.heading_path.join(" > "), b.text.clone()))
        .collect()
}

#[test]
fn front_matter_gives_title_tags_metadata() {
    let src = "---\ntitle: \"Trip notes\"\ntags: [travel, japan, travel]\nrating: 4.5\ncount: 3\ndraft: false\nnested: {a: [1, two]}\n---\n# Heading\n\nBody.\n";
    let doc = parse(src, "stem");
    assert_eq!(doc.kind, SourceKind::Markdown);
    assert_eq!(doc.title, "Trip notes");
    assert_eq!(doc.tags, ["travel", "japan"]);
    assert_eq!(doc.metadata["rating"], 4.5);
    assert_eq!(doc.metadata["count"], 3);
    assert_eq!(doc.metadata["draft"], false);
    assert_eq!(doc.metadata["nested"], serde_json::json!({"a": [1, "two"]}));
    assert_eq!(paths(&doc.blocks), [("Heading".into(), "Body.".into())]);
    assert_eq!(doc.blocks[0].lines, Some((11, 11)));
    assert_exact(src, &doc.blocks);

    let doc = parse("---\ntags: rust, cli  notes\n...\ntext", "stem");
    assert_eq!(doc.tags, ["rust", "cli", "notes"]);
    assert_eq!(doc.title, "stem");
}

#[test]
fn invalid_front_matter_keeps_the_text() {
    let src = "---\ntitle: [unclosed\n---\n## Sub\n\nBody.";
    let doc = parse(src, "stem");
    assert!(
        doc.metadata["front_matter_error"]
            .as_str()
            .unwrap()
            .contains("invalid YAML")
    );
    assert_eq!(doc.title, "Sub");
    assert_eq!(
        paths(&doc.blocks),
        [
            (String::new(), "title: [unclosed".into()),
            ("Sub".into(), "Body.".into())
        ]
    );
    assert_exact(src, &doc.blocks);

    let doc = parse("---\njust a sentence\n---\ntext", "stem");
    assert!(doc.metadata.contains_key("front_matter_error"));
    // No closing fence: the `---` is a thematic break, not front matter.
    let doc = parse("---\n\nHello\n", "stem");
    assert!(doc.metadata.is_empty());
    assert_eq!(paths(&doc.blocks), [(String::new(), "Hello".into())]);
}

#[test]
fn heading_paths_follow_levels_fences_and_setext() {
    let src = "\
Intro before any heading.

Guide
=====

Setup *text*
------------

```sh
# not a heading
echo hi
```

### Deep `code` heading

Deep text.

## Usage

    # indented code, not a heading

> # quoted heading is content

- item one
- item two

# Second H1

| a | b |
|---|---|
| 1 | 2 |
";
    let doc = parse(src, "stem");
    assert_eq!(doc.title, "Guide");
    assert_eq!(
        paths(&doc.blocks),
        [
            (String::new(), "Intro before any heading.".into()),
            (
                "Guide > Setup text".into(),
                "```sh\n# not a heading\necho hi\n```".into()
            ),
            (
                "Guide > Setup text > Deep code heading".into(),
                "Deep text.".into()
            ),
            (
                "Guide > Usage".into(),
                "# indented code, not a heading".into()
            ),
            (
                "Guide > Usage".into(),
                "> # quoted heading is content".into()
            ),
            ("Guide > Usage".into(), "- item one\n- item two".into()),
            ("Second H1".into(), "| a | b |\n|---|---|\n| 1 | 2 |".into()),
        ]
    );
    assert_exact(src, &doc.blocks);
}

#[test]
fn headings_without_content_become_blocks() {
    let src = "# Top\n\n## Empty one\n\n## Full\n\ntext\n\n### Trailing *empty*\n";
    let doc = parse(src, "stem");
    assert_eq!(
        paths(&doc.blocks),
        [
            ("Top > Empty one".into(), "## Empty one".into()),
            ("Top > Full".into(), "text".into()),
            (
                "Top > Full > Trailing empty".into(),
                "### Trailing *empty*".into()
            ),
        ]
    );
    assert_exact(src, &doc.blocks);
    let only = parse("Title\n===\n", "stem");
    assert_eq!(paths(&only.blocks), [("Title".into(), "Title\n===".into())]);
}

#[test]
fn offsets_are_chars_and_lines_are_exact() {
    let src = "---\ntitle: ünïcode\n---\n\n# Ça va 🎉\n\nPremière ligne 🎉\nseconde ligne.\n\n  * liste\n  * deux\n\nFin.  \n";
    let doc = parse(src, "stem");
    assert_eq!(doc.title, "ünïcode");
    assert_eq!(doc.blocks.len(), 3);
    assert_eq!(doc.blocks[0].lines, Some((7, 8)));
    assert_eq!(doc.blocks[1].lines, Some((10, 11)));
    assert_eq!(doc.blocks[2].text, "Fin.");
    assert_exact(src, &doc.blocks);
    let crlf = "# A\r\n\r\nline one\r\nline two\r\n";
    let doc = parse(crlf, "stem");
    assert_eq!(doc.blocks[0].lines, Some((3, 4)));
    assert_eq!(doc.blocks[0].text, "line one\r\nline two");
}

#[test]
fn title_falls_back_to_first_heading_then_stem() {
    assert_eq!(parse("## Sub\n\n# Main\n", "stem").title, "Main");
    assert_eq!(parse("## Sub\n\n### Deeper\n", "stem").title, "Sub");
    assert_eq!(parse("just text", "my-file").title, "my-file");
    assert_eq!(
        parse("# **Bold** [link](http://x) &amp; more\n", "s").title,
        "Bold link & more"
    );
}

/// Text of the blocks in order.
fn texts(doc: &ParsedDocument) -> Vec<&str> {
    doc.blocks.iter().map(|b| b.text.as_str()).collect()
}

#[test]
fn inline_tags_join_front_matter_tags() {
    let src = "---\ntags: [Project]\n---\n# Plan #heading-tag\n\nWork on #project and #area/home, see https://x.org/p#frag and C# code.\n\n`#not-code` and\n\n```\n#not-fence\n```\n\n#123 is an issue, #y2024 is a tag\n";
    let doc = parse(src, "s");
    assert_eq!(doc.tags, ["Project", "heading-tag", "area/home", "y2024"]);
    // The text keeps the tags as written: they are words of the note.
    assert!(doc.blocks[0].text.contains("#area/home"));
}

#[test]
fn wikilinks_read_as_text_and_become_links() {
    let src = "# Links\n\nSee [[Alpha]], [[Beta|the beta note]], [[Gamma#Setup#Linux]] and [[Delta#^quote-1]].\nSame note: [[#Links]]. Local [file](Sub%20Dir/Epsilon.md#Part) and [web](https://x.org).\n";
    let doc = parse(src, "s");
    assert_eq!(
        texts(&doc),
        [
            "See Alpha, the beta note, Gamma › Setup › Linux and Delta.\nSame note: Links. Local [file](Sub%20Dir/Epsilon.md#Part) and [web](https://x.org)."
        ]
    );
    type Summary<'a> = (
        &'a str,
        Option<&'a str>,
        Option<&'a str>,
        Option<&'a str>,
        Option<u32>,
    );
    let summary: Vec<Summary> = doc
        .links
        .iter()
        .map(|l| {
            (
                l.target.as_str(),
                l.heading.as_deref(),
                l.block.as_deref(),
                l.alias.as_deref(),
                l.line,
            )
        })
        .collect();
    assert_eq!(
        summary,
        [
            ("Alpha", None, None, None, Some(3)),
            ("Beta", None, None, Some("the beta note"), Some(3)),
            ("Gamma", Some("Setup#Linux"), None, None, Some(3)),
            ("Delta", None, Some("quote-1"), None, Some(3)),
            ("", Some("Links"), None, None, Some(4)),
            ("Sub Dir/Epsilon", Some("Part"), None, Some("file"), Some(4)),
        ]
    );
    let chars: Vec<char> = src.chars().collect();
    let at = |l: &Link| chars[l.char_start..l.char_end].iter().collect::<String>();
    assert_eq!(at(&doc.links[1]), "[[Beta|the beta note]]");
    assert!(doc.links.iter().all(|l| !l.embed));
    // The block still spans its source lines.
    assert_eq!(doc.blocks[0].lines, Some((3, 4)));
}

#[test]
fn embeds_are_links_and_attachments_are_not_text() {
    let src = "Intro ![[Other note]] then ![[diagram.png|300]] and ![[paper.pdf#page=3]].\n\n![[photo.jpg]]\n\n![local](img/cat.png)\n";
    let doc = parse(src, "s");
    assert_eq!(
        texts(&doc),
        ["Intro Other note then  and .", "![local](img/cat.png)"]
    );
    let embeds: Vec<(&str, bool, bool)> = doc
        .links
        .iter()
        .map(|l| (l.target.as_str(), l.embed, l.is_attachment()))
        .collect();
    assert_eq!(
        embeds,
        [
            ("Other note", true, false),
            ("diagram.png", true, true),
            ("paper.pdf", true, true),
            ("photo.jpg", true, true),
            ("img/cat.png", true, true),
        ]
    );
}

#[test]
fn callouts_label_their_block() {
    let src = "# Guide\n\n> [!warning]- Hot surface\n> Let the kettle cool.\n\n> [!tip]\n> Descale monthly.\n\n> A plain quote.\n";
    let doc = parse(src, "s");
    assert_eq!(
        paths(&doc.blocks),
        [
            (
                "Guide > Hot surface".into(),
                "> Hot surface\n> Let the kettle cool.".into()
            ),
            ("Guide > Tip".into(), "> \n> Descale monthly.".into()),
            ("Guide".into(), "> A plain quote.".into()),
        ]
    );
    assert_eq!(
        doc.metadata["callouts"],
        serde_json::json!([
            {"type": "warning", "title": "Hot surface", "line": 3},
            {"type": "tip", "title": "Tip", "line": 6},
        ])
    );
    assert!(doc.blocks.iter().all(|b| !b.text.contains("[!")));
}

#[test]
fn block_ids_are_cut_from_text_and_kept_as_anchors() {
    let src = "The boiler needs a yearly service. ^svc\n\n- first item\n- second item ^item-2\n\n| a | b |\n|---|---|\n| 1 | 2 |\n\n^tbl\n\nLast.";
    let doc = parse(src, "s");
    assert_eq!(
        texts(&doc),
        [
            "The boiler needs a yearly service.",
            "- first item\n- second item",
            "| a | b |\n|---|---|\n| 1 | 2 |",
            "Last."
        ]
    );
    let chars: Vec<char> = src.chars().collect();
    type Named<'a> = (&'a str, String, Option<(u32, u32)>);
    let named: Vec<Named> = doc
        .anchors
        .iter()
        .map(|a| {
            (
                a.id.as_str(),
                chars[a.char_start..a.char_end].iter().collect(),
                a.lines,
            )
        })
        .collect();
    assert_eq!(
        named,
        [
            (
                "svc",
                "The boiler needs a yearly service. ^svc".into(),
                Some((1, 1))
            ),
            ("item-2", "- second item ^item-2".into(), Some((4, 4))),
            (
                "tbl",
                "| a | b |\n|---|---|\n| 1 | 2 |".into(),
                Some((6, 8))
            ),
        ]
    );
}

#[test]
fn comments_are_not_indexed() {
    let src = "Visible %%hidden inline%% text.\n\n%%\n# Not a heading\nsecret plan\n\nstill secret\n%%\n\nAfter the comment.\n\n`%%code%%` stays, and %%open to the end\n\n# Gone heading\n";
    let doc = parse(src, "s");
    assert_eq!(
        paths(&doc.blocks),
        [
            (String::new(), "Visible  text.".into()),
            (String::new(), "After the comment.".into()),
            (String::new(), "`%%code%%` stays, and".into()),
        ]
    );
    assert_eq!(doc.blocks[1].lines, Some((10, 10)));
    assert_eq!(doc.title, "s");
    assert!(parse("%% only a comment %%", "s").blocks.is_empty());
}

#[test]
fn multi_line_comments_keep_line_numbers() {
    let src = "line one %%a\nb%% line two\nline three";
    let doc = parse(src, "s");
    assert_eq!(texts(&doc), ["line one \n line two\nline three"]);
    assert_eq!(doc.blocks[0].lines, Some((1, 3)));
}

#[test]
fn aliases_and_tag_key_from_front_matter() {
    let doc = parse(
        "---\naliases: [Kettle guide, KG]\ntag: appliance\n---\ntext",
        "s",
    );
    assert_eq!(doc.aliases, ["Kettle guide", "KG"]);
    assert_eq!(doc.tags, ["appliance"]);
    let doc = parse("---\nalias: One, Two words\n---\ntext", "s");
    assert_eq!(doc.aliases, ["One", "Two words"]);
}

#[test]
fn dataview_fields_become_metadata() {
    let src = "---\nrating: 3\n---\nrating:: 5\nauthor:: Ada Lovelace\n\n- [ ] call plumber [due:: 2024-06-01]\n- mood:: calm\n\n```\nnot:: a field\n```\n\nInline (cost:: 40 €) here, but `code:: no`.\n";
    let doc = parse(src, "s");
    assert_eq!(doc.metadata["rating"], serde_json::json!([3, "5"]));
    assert_eq!(doc.metadata["author"], "Ada Lovelace");
    assert_eq!(doc.metadata["due"], "2024-06-01");
    assert_eq!(doc.metadata["mood"], "calm");
    assert_eq!(doc.metadata["cost"], "40 €");
    assert!(!doc.metadata.contains_key("not") && !doc.metadata.contains_key("code"));
}

#[test]
fn highlights_read_without_marks() {
    let doc = parse(
        "## A ==key== idea\n\nThis is ==very important== and a == b.\n",
        "s",
    );
    assert_eq!(doc.title, "A key idea");
    assert_eq!(texts(&doc), ["This is very important and a == b."]);
    assert_eq!(doc.blocks[0].heading_path, ["A key idea"]);
}

#[test]
fn deep_nesting_is_parsed_without_recursion() {
    for src in [
        ">".repeat(100_000) + " deep quote",
        "- a\n".to_string()
            + &(1..5_000)
                .map(|i| format!("{}- level {i}\n", "  ".repeat(i)))
                .collect::<String>(),
        "[".repeat(100_000) + "x" + &"]".repeat(100_000),
        "*".repeat(100_000) + "x" + &"*".repeat(100_000),
    ] {
        let doc = parse(&src, "s");
        assert!(!doc.blocks.is_empty());
    }
}

/// Notes that took minutes when something was looked up in a list for
/// every field, id, link or comment (found by probing the parser with
/// growing repetitions; fuzz/README.md): a megabyte of each now parses in
/// well under a second, so a limit of 2 s leaves room for a loaded machine.
#[test]
fn repeated_syntax_parses_in_linear_time() {
    for unit in [
        "key:: value\n", // 1 MB: 13 s
        "x ^id\n",       // 1.6 MB: 56 s
        "- x ^id\n",     // 1.6 MB: 77 s
        "[[a]] ",        // one line, 1.6 MB: 31 s
        "[a](b) ",       // one line, 1.6 MB: 27 s
        "`a` %%b%% ",
        "%%a%%\n\nb\n\n",
    ] {
        let src = unit.repeat(1_000_000 / unit.len());
        let started = std::time::Instant::now();
        let doc = parse(&src, "s");
        let took = started.elapsed();
        assert!(took.as_secs_f64() < 2.0, "{unit:?}: {took:?}");
        assert!(!doc.blocks.is_empty(), "{unit:?}");
    }
    let doc = parse(&"x ^id\n".repeat(1000), "s");
    assert_eq!(doc.anchors.len(), 1000);
    assert_eq!(doc.anchors[999].lines, Some((1, 1000)));
    let doc = parse(&"[[a]] ".repeat(1000), "s");
    assert_eq!(
        (doc.links[999].char_start, doc.links[999].char_end),
        (5994, 5999)
    );
}
