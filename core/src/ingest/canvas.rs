//! JSON Canvas boards (Obsidian `.canvas`): text nodes are Markdown and are
//! indexed as notes are (tags, wikilinks, callouts…), in reading order (top
//! to bottom, then left to right); the labels of the groups a node lies in
//! head its blocks, outermost first; file nodes are links (shown in place,
//! so embeds); link nodes (web pages) and edges are not text. Each block's
//! locator names its node.

use serde_json::Value;

use super::markdown;
use super::refs::{Link, heading_or_block, without_md};
use super::{Block, Locator, ParsedDocument, SkipReason, SourceKind, dedup_tags};

/// Groups a card's heading path names at most, innermost kept: real boards
/// nest a few deep; a board of thousands of nested groups made a path of
/// thousands of labels for every card (memory the square of the file).
const MAX_GROUP_DEPTH: usize = 6;

/// Groups looked at for heading paths, the largest first; a smaller one
/// beyond them keeps its label as text. Every card is checked against each,
/// so this bounds the time to cards × 1024.
const MAX_PATH_GROUPS: usize = 1024;

/// A node's box on the board.
#[derive(Debug, Clone, Copy)]
struct Rect {
    x: f64,
    y: f64,
    width: f64,
    height: f64,
}

impl Rect {
    fn of(node: &Value) -> Rect {
        let num = |k: &str| node.get(k).and_then(Value::as_f64).unwrap_or(0.0);
        Rect {
            x: num("x"),
            y: num("y"),
            width: num("width").max(0.0),
            height: num("height").max(0.0),
        }
    }

    fn contains(&self, other: &Rect) -> bool {
        other.x >= self.x
            && other.y >= self.y
            && other.x + other.width <= self.x + self.width
            && other.y + other.height <= self.y + self.height
    }

    fn area(&self) -> f64 {
        self.width * self.height
    }
}

pub(super) fn parse(text: &str, stem: &str) -> Result<ParsedDocument, SkipReason> {
    let board: Value = serde_json::from_str(text).map_err(|e| SkipReason::Malformed {
        detail: format!("not JSON Canvas: {e}"),
    })?;
    let nodes = board
        .get("nodes")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let str_of =
        |node: &Value, key: &str| node.get(key).and_then(Value::as_str).map(str::to_string);
    let mut groups: Vec<(Rect, String)> = nodes
        .iter()
        .filter(|n| str_of(n, "type").as_deref() == Some("group"))
        .filter_map(|n| Some((Rect::of(n), str_of(n, "label")?.trim().to_string())))
        .filter(|(_, label)| !label.is_empty())
        .collect();
    // Outermost (largest) first, so containing labels read as a heading path.
    groups.sort_by(|a, b| b.0.area().total_cmp(&a.0.area()));
    let mut readable: Vec<&Value> = nodes
        .iter()
        .filter(|n| matches!(str_of(n, "type").as_deref(), Some("text" | "file")))
        .collect();
    readable.sort_by(|a, b| {
        let (ra, rb) = (Rect::of(a), Rect::of(b));
        ra.y.total_cmp(&rb.y).then(ra.x.total_cmp(&rb.x))
    });

    let mut doc = ParsedDocument {
        kind: SourceKind::Canvas,
        title: stem.to_string(),
        ..ParsedDocument::default()
    };
    let mut used_groups = vec![false; groups.len()];
    let mut chars = 0usize;
    let mut tags = Vec::new();
    for node in readable {
        let rect = Rect::of(node);
        let id = str_of(node, "id").unwrap_or_default();
        let holding: Vec<usize> = (0..groups.len().min(MAX_PATH_GROUPS))
            .filter(|&i| groups[i].0.contains(&rect))
            .collect();
        for &i in &holding {
            used_groups[i] = true;
        }
        let innermost = &holding[holding.len().saturating_sub(MAX_GROUP_DEPTH)..];
        let path: Vec<String> = innermost.iter().map(|&i| groups[i].1.clone()).collect();
        if let Some(file) = str_of(node, "file") {
            doc.links
                .push(file_link(&file, str_of(node, "subpath"), chars));
            continue;
        }
        let Some(text) = str_of(node, "text").filter(|t| !t.trim().is_empty()) else {
            continue;
        };
        let (note, inline) = markdown::parse_parts(&text, "");
        tags.extend(note.tags.iter().cloned());
        tags.extend(inline);
        let base = if chars == 0 { 0 } else { chars + 2 };
        for (i, mut block) in note.blocks.into_iter().enumerate() {
            let mut heading_path = path.clone();
            heading_path.append(&mut block.heading_path);
            let n = i as u32 + 1;
            doc.blocks.push(Block {
                heading_path,
                char_start: base + block.char_start,
                char_end: base + block.char_end,
                lines: None,
                locator: Some(Locator {
                    chapter: None,
                    part: Some(id.clone()),
                    first_paragraph: n,
                    last_paragraph: n,
                }),
                ..block
            });
        }
        doc.links.extend(note.links.into_iter().map(|l| Link {
            char_start: base + l.char_start,
            char_end: base + l.char_end,
            line: None,
            ..l
        }));
        chars = base + text.chars().count();
    }
    // A group with nothing in it keeps its label as text.
    for (i, (_, label)) in groups.iter().enumerate() {
        if !used_groups[i] {
            let start = if chars == 0 { 0 } else { chars + 2 };
            let end = start + label.chars().count();
            doc.blocks.push(Block {
                text: label.clone(),
                heading_path: vec![label.clone()],
                char_start: start,
                char_end: end,
                lines: None,
                page: None,
                locator: None,
            });
            chars = end;
        }
    }
    if doc.blocks.is_empty() && doc.links.is_empty() {
        return Err(SkipReason::NoText {
            detail: "the canvas has no text or file nodes; add cards to it or exclude it"
                .to_string(),
        });
    }
    doc.tags = dedup_tags(tags);
    Ok(doc)
}

/// A file node as a link: the file (a note without `.md`), and the heading
/// or block of its subpath.
fn file_link(file: &str, subpath: Option<String>, at: usize) -> Link {
    let target = without_md(file);
    let anchor = subpath.as_deref().map(|s| s.trim_start_matches('#'));
    let (heading, block) = heading_or_block(anchor);
    Link {
        target: target.to_string(),
        heading,
        block,
        alias: None,
        embed: true,
        char_start: at,
        char_end: at,
        line: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const BOARD: &str = r###"{
  "nodes": [
    {"id": "g1", "type": "group", "x": 0, "y": 0, "width": 1000, "height": 800, "label": "Kitchen"},
    {"id": "g2", "type": "group", "x": 10, "y": 300, "width": 500, "height": 400, "label": "Appliances"},
    {"id": "g3", "type": "group", "x": 2000, "y": 0, "width": 100, "height": 100, "label": "Empty group"},
    {"id": "t2", "type": "text", "x": 20, "y": 320, "width": 200, "height": 100, "text": "## Kettle\nDescale with [[Citric acid|acid]] #cleaning"},
    {"id": "t1", "type": "text", "x": 20, "y": 20, "width": 200, "height": 100, "text": "Buy **bread** %%not this%%"},
    {"id": "f1", "type": "file", "x": 300, "y": 20, "width": 200, "height": 100, "file": "Recipes/Bread.md", "subpath": "#Dough"},
    {"id": "l1", "type": "link", "x": 600, "y": 20, "width": 200, "height": 100, "url": "https://example.org"}
  ],
  "edges": [{"id": "e1", "fromNode": "t1", "toNode": "t2", "label": "then"}]
}"###;

    #[test]
    fn text_nodes_groups_and_file_nodes() {
        let doc = parse(BOARD, "Board").unwrap();
        assert_eq!(doc.kind, SourceKind::Canvas);
        assert_eq!(doc.title, "Board");
        let summary: Vec<(String, String, Option<String>)> = doc
            .blocks
            .iter()
            .map(|b| {
                (
                    b.heading_path.join(" > "),
                    b.text.clone(),
                    b.locator.as_ref().and_then(|l| l.part.clone()),
                )
            })
            .collect();
        assert_eq!(
            summary,
            [
                ("Kitchen".into(), "Buy **bread**".into(), Some("t1".into())),
                (
                    "Kitchen > Appliances > Kettle".into(),
                    "Descale with acid #cleaning".into(),
                    Some("t2".into())
                ),
                ("Empty group".into(), "Empty group".into(), None),
            ]
        );
        assert_eq!(doc.tags, ["cleaning"]);
        let links: Vec<(&str, Option<&str>, bool)> = doc
            .links
            .iter()
            .map(|l| (l.target.as_str(), l.heading.as_deref(), l.embed))
            .collect();
        assert_eq!(
            links,
            [
                ("Recipes/Bread", Some("Dough"), true),
                ("Citric acid", None, false)
            ]
        );
    }

    #[test]
    fn bad_boards_have_reasons() {
        assert_eq!(parse("{not json", "b").unwrap_err().code(), "malformed");
        assert_eq!(parse("{\"nodes\": []}", "b").unwrap_err().code(), "no_text");
        let deep = "[".repeat(10_000) + &"]".repeat(10_000);
        assert_eq!(parse(&deep, "b").unwrap_err().code(), "malformed");
        let only_file = r#"{"nodes": [{"id": "f", "type": "file", "file": "a.png", "x": 0, "y": 0, "width": 1, "height": 1}]}"#;
        let doc = parse(only_file, "b").unwrap();
        assert!(doc.blocks.is_empty());
        assert_eq!(doc.links[0].target, "a.png");
    }

    /// A board of thousands of nested groups took 15 s for 8 000 cards
    /// (and heading paths of 8 000 labels each); now paths stop at
    /// MAX_GROUP_DEPTH and only the MAX_PATH_GROUPS largest groups head them.
    #[test]
    fn many_nested_groups_stay_bounded() {
        let n = 8_000;
        let mut nodes: Vec<String> = (0..n)
            .map(|i| format!(r#"{{"id":"g{i}","type":"group","x":{i},"y":0,"width":{},"height":1e6,"label":"G{i}"}}"#, 1e6 - i as f64))
            .collect();
        nodes.extend((0..n).map(|i| {
            format!(r#"{{"id":"t{i}","type":"text","x":{n},"y":{i},"width":1,"height":1,"text":"card {i}"}}"#)
        }));
        let board = format!(r#"{{"nodes":[{}]}}"#, nodes.join(","));
        let started = std::time::Instant::now();
        let doc = parse(&board, "b").unwrap();
        assert!(
            started.elapsed().as_secs_f64() < 5.0,
            "{:?}",
            started.elapsed()
        );
        let card = doc.blocks.iter().find(|b| b.text == "card 0").unwrap();
        let want: Vec<String> = (MAX_PATH_GROUPS - MAX_GROUP_DEPTH..MAX_PATH_GROUPS)
            .map(|i| format!("G{i}"))
            .collect();
        assert_eq!(card.heading_path, want);
        // The smaller groups beyond the first 1024 keep their labels as text.
        assert_eq!(doc.blocks.len(), n + n - MAX_PATH_GROUPS);
    }
}
