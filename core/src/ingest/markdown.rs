//! Markdown: YAML front matter for title, tags and metadata; CommonMark
//! structure (via pulldown-cmark's offset iterator) for headings and blocks,
//! so a `#` inside a code fence is never taken for a heading.

use pulldown_cmark::{Event, HeadingLevel, Options, Parser, Tag, TagEnd};
use serde_json::{Map, Number, Value};
use yaml_rust2::{Yaml, YamlLoader};

use super::{HeadingTracker, LineIndex, ParsedDocument, SourceKind, tags_from_json};

/// Parses Markdown `text` (already decoded, without BOM); `fallback_title` is
/// used when neither front matter nor a heading gives a title.
pub(super) fn parse(text: &str, fallback_title: &str) -> ParsedDocument {
    let index = LineIndex::new(text);
    let mut tracker = HeadingTracker::default();
    let mut metadata = Map::new();
    let mut body_start = 0;

    if let Some(fm) = split_front_matter(text) {
        body_start = fm.body_start;
        match yaml_to_map(&text[fm.yaml.0..fm.yaml.1]) {
            Ok(map) => metadata = map,
            Err(why) => {
                // Keep the file and its text; only the front matter's meaning is lost.
                metadata.insert(
                    "front_matter_error".to_string(),
                    Value::String(format!("{why}; the front matter was indexed as plain text")),
                );
                if let Some(block) = index.block(fm.yaml.0, fm.yaml.1) {
                    tracker.push(block);
                }
            }
        }
    }

    let mut first_h1 = None;
    let mut first_heading = None;
    let options = Options::ENABLE_TABLES
        | Options::ENABLE_FOOTNOTES
        | Options::ENABLE_STRIKETHROUGH
        | Options::ENABLE_TASKLISTS
        | Options::ENABLE_GFM;
    let body = &text[body_start..];
    // Nesting depth of start/end tags: only depth-0 elements become blocks, so
    // a list or block quote is one block and a heading inside it is content.
    let mut depth = 0usize;
    let mut heading: Option<(u32, std::ops::Range<usize>, String)> = None;
    for (event, range) in Parser::new_ext(body, options).into_offset_iter() {
        let range = range.start + body_start..range.end + body_start;
        match event {
            Event::Start(tag) => {
                if depth == 0 {
                    if let Tag::Heading { level, .. } = tag {
                        heading = Some((level_number(level), range, String::new()));
                    } else if let Some(block) = index.block(range.start, range.end) {
                        tracker.push(block);
                    }
                }
                depth += 1;
            }
            Event::End(tag) => {
                depth = depth.saturating_sub(1);
                if depth == 0
                    && matches!(tag, TagEnd::Heading(_))
                    && let Some((level, range, raw)) = heading.take()
                {
                    let title = collapse_whitespace(&raw);
                    let Some(own_block) = index.block(range.start, range.end) else {
                        continue;
                    };
                    if title.is_empty() {
                        // `#` alone: nothing to put in a path, keep it as text.
                        tracker.push(own_block);
                        continue;
                    }
                    if level == 1 && first_h1.is_none() {
                        first_h1 = Some(title.clone());
                    }
                    first_heading.get_or_insert_with(|| title.clone());
                    tracker.open(level, title, own_block);
                }
            }
            Event::Text(s) | Event::Code(s) | Event::InlineMath(s) | Event::DisplayMath(s) => {
                if let Some((_, _, raw)) = heading.as_mut() {
                    raw.push_str(&s);
                }
            }
            Event::SoftBreak | Event::HardBreak => {
                if let Some((_, _, raw)) = heading.as_mut() {
                    raw.push(' ');
                }
            }
            _ => {}
        }
    }

    let front_title = match metadata.get("title") {
        Some(Value::String(s)) => Some(s.trim().to_string()),
        Some(Value::Number(n)) => Some(n.to_string()),
        _ => None,
    }
    .filter(|t| !t.is_empty());
    let title = front_title
        .or(first_h1)
        .or(first_heading)
        .unwrap_or_else(|| fallback_title.to_string());
    let tags = metadata.get("tags").map(tags_from_json).unwrap_or_default();
    ParsedDocument {
        kind: SourceKind::Markdown,
        title,
        tags,
        metadata,
        blocks: tracker.finish(),
    }
}

fn level_number(level: HeadingLevel) -> u32 {
    match level {
        HeadingLevel::H1 => 1,
        HeadingLevel::H2 => 2,
        HeadingLevel::H3 => 3,
        HeadingLevel::H4 => 4,
        HeadingLevel::H5 => 5,
        HeadingLevel::H6 => 6,
    }
}

fn collapse_whitespace(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Byte ranges of a front matter block: the YAML between the fences, and
/// where the Markdown body starts.
struct FrontMatter {
    yaml: (usize, usize),
    body_start: usize,
}

/// Finds `---` … `---` (or `...`) at the very start of the text. Without a
/// closing fence the leading `---` is just a thematic break.
fn split_front_matter(text: &str) -> Option<FrontMatter> {
    let mut lines = text.split_inclusive('\n');
    let first = lines.next()?;
    if first.trim_end() != "---" {
        return None;
    }
    let yaml_start = first.len();
    let mut pos = yaml_start;
    for line in lines {
        let fence = line.trim_end();
        if fence == "---" || fence == "..." {
            return Some(FrontMatter {
                yaml: (yaml_start, pos),
                body_start: pos + line.len(),
            });
        }
        pos += line.len();
    }
    None
}

/// Converts YAML front matter to a JSON object; an empty block is an empty object.
fn yaml_to_map(yaml: &str) -> Result<Map<String, Value>, String> {
    let docs =
        YamlLoader::load_from_str(yaml).map_err(|e| format!("invalid YAML front matter: {e}"))?;
    match docs.into_iter().next() {
        None | Some(Yaml::Null) => Ok(Map::new()),
        Some(Yaml::Hash(hash)) => Ok(hash
            .into_iter()
            .map(|(k, v)| (yaml_key(k), yaml_to_json(v)))
            .collect()),
        Some(_) => Err("front matter is not a list of `key: value` pairs".to_string()),
    }
}

fn yaml_key(key: Yaml) -> String {
    match yaml_to_json(key) {
        Value::String(s) => s,
        other => other.to_string(),
    }
}

fn yaml_to_json(yaml: Yaml) -> Value {
    match yaml {
        Yaml::String(s) => Value::String(s),
        Yaml::Integer(i) => Value::Number(i.into()),
        Yaml::Real(s) => s
            .parse::<f64>()
            .ok()
            .and_then(Number::from_f64)
            .map_or(Value::String(s), Value::Number),
        Yaml::Boolean(b) => Value::Bool(b),
        Yaml::Array(items) => Value::Array(items.into_iter().map(yaml_to_json).collect()),
        Yaml::Hash(hash) => Value::Object(
            hash.into_iter()
                .map(|(k, v)| (yaml_key(k), yaml_to_json(v)))
                .collect(),
        ),
        Yaml::Alias(_) | Yaml::Null | Yaml::BadValue => Value::Null,
    }
}

#[cfg(test)]
mod tests {
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
}
