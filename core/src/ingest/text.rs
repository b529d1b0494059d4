//! Plain text (also reStructuredText, man pages and similar): blocks are runs
//! of non-blank lines; headings are found by two general layouts that cover
//! most plain-text documentation:
//!
//! * a line with an underline (and optionally an overline) made of one
//!   repeated punctuation character, as reStructuredText and setext use;
//!   levels follow the order in which each adornment style first appears,
//!   as in reStructuredText;
//! * man-page style: a short, non-indented, all upper-case line standing
//!   alone (blank line before, blank or indented line after).

use super::{HeadingTracker, LineIndex, ParsedDocument, SourceKind};

/// Characters that may form a heading underline or overline.
const ADORNMENT_CHARS: &str = "=-~^*#+`";
/// Longest line taken for a man-page style heading.
const MAX_MAN_HEADING_CHARS: usize = 60;

/// A heading layout; the level of a heading is the position of its style in
/// the order of first appearance.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Style {
    Underline(char),
    OverAndUnder(char),
    ManPage,
}

/// Parses plain `text` (already decoded, without BOM); `fallback_title` is
/// used when the text has no underlined heading.
pub(super) fn parse(text: &str, fallback_title: &str) -> ParsedDocument {
    let index = LineIndex::new(text);
    let lines: Vec<&str> = (0..index.line_count()).map(|i| index.line(i)).collect();
    let blank = |i: usize| lines.get(i).is_none_or(|l| l.trim().is_empty());

    let mut styles: Vec<Style> = Vec::new();
    let mut tracker = HeadingTracker::default();
    let mut title = None;
    // First line of the paragraph being collected.
    let mut para_start: Option<usize> = None;
    let flush = |tracker: &mut HeadingTracker, from: &mut Option<usize>, to: usize| {
        if let Some(first) = from.take() {
            let (start, _) = index.line_range(first);
            let (_, end) = index.line_range(to);
            if let Some(block) = index.block_trim_end(start, end) {
                tracker.push(block);
            }
        }
    };

    let mut i = 0;
    while i < lines.len() {
        if blank(i) {
            if i > 0 {
                flush(&mut tracker, &mut para_start, i - 1);
            }
            i += 1;
            continue;
        }
        let at_start = i == 0 || blank(i - 1);
        // Headings only start after a blank line, so no paragraph is open here.
        if let Some((style, text_line, span)) = heading_at(&lines, i, at_start) {
            let heading = plain_heading(lines[text_line]);
            let (start, _) = index.line_range(i);
            let (_, end) = index.line_range(i + span - 1);
            if let Some(own) = index.block_trim_end(start, end) {
                if heading.is_empty() {
                    // Only markup, no words: nothing for a path, keep it as text.
                    tracker.push(own);
                    i += span;
                    continue;
                }
                let level = match styles.iter().position(|&s| s == style) {
                    Some(p) => p + 1,
                    None => {
                        styles.push(style);
                        styles.len()
                    }
                };
                if style != Style::ManPage && title.is_none() {
                    title = Some(heading.clone());
                }
                tracker.open(level as u32, heading, own);
            }
            i += span;
            continue;
        }
        para_start.get_or_insert(i);
        i += 1;
    }
    flush(&mut tracker, &mut para_start, lines.len() - 1);

    ParsedDocument {
        kind: SourceKind::Text,
        title: title.unwrap_or_else(|| fallback_title.to_string()),
        tags: Vec::new(),
        metadata: Default::default(),
        blocks: tracker.finish(),
        ..ParsedDocument::default()
    }
}

/// Whether a heading starts at line `i` (non-blank; `at_start` when preceded
/// by a blank line or the start of the text): its style, the line holding its
/// text, and how many lines it spans.
fn heading_at(lines: &[&str], i: usize, at_start: bool) -> Option<(Style, usize, usize)> {
    if !at_start {
        return None;
    }
    let line = lines[i];
    let next = lines.get(i + 1).copied();
    if let Some(c) = adornment(line) {
        // Overline, title, underline of the same character.
        let title = next?;
        let under = lines.get(i + 2).copied()?;
        return (!title.trim().is_empty()
            && adornment(title).is_none()
            && adornment(under) == Some(c))
        .then_some((Style::OverAndUnder(c), i + 1, 3));
    }
    if line.starts_with(char::is_whitespace) {
        return None;
    }
    if let Some(c) = next.and_then(adornment) {
        return Some((Style::Underline(c), i, 2));
    }
    let next_ok = next.is_none_or(|n| n.trim().is_empty() || n.starts_with(char::is_whitespace));
    let letters = line.chars().filter(|c| c.is_alphabetic()).count();
    let man = next_ok
        && line.chars().count() <= MAX_MAN_HEADING_CHARS
        && letters >= 2
        && line
            .chars()
            .filter(|c| c.is_alphabetic())
            .all(char::is_uppercase);
    man.then_some((Style::ManPage, i, 1))
}

/// The character of an adornment line (at least 3 of one punctuation
/// character, not indented), if `line` is one.
fn adornment(line: &str) -> Option<char> {
    let line = line.trim_end();
    let c = line.chars().next()?;
    (ADORNMENT_CHARS.contains(c) && line.chars().count() >= 3 && line.chars().all(|x| x == c))
        .then_some(c)
}

/// Heading text without reStructuredText inline markup: roles
/// (`` :mod:`!uuid` `` → `uuid`), link targets, backquotes and emphasis stars
/// around words.
fn plain_heading(line: &str) -> String {
    let mut out = String::new();
    let mut rest = line.trim();
    while let Some(tick) = rest.find('`') {
        let (before, after) = rest.split_at(tick);
        out.push_str(strip_role(before));
        let after = after.trim_start_matches('`');
        let (inner, tail) = match after.find('`') {
            Some(end) => (&after[..end], after[end..].trim_start_matches('`')),
            None => (after, ""),
        };
        let inner = inner.trim_start_matches(['!', '~']);
        // `text <target>`_ → text
        let inner = match (inner.rfind(" <"), inner.ends_with('>')) {
            (Some(lt), true) => &inner[..lt],
            _ => inner,
        };
        out.push_str(inner);
        rest = tail.trim_start_matches('_');
    }
    out.push_str(rest);
    out.split_whitespace()
        .map(|word| match word.trim_matches('*') {
            "" => word,
            bare => bare,
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// Drops a trailing `:role:` (just before a backquote) from `s`.
fn strip_role(s: &str) -> &str {
    let Some(body) = s.strip_suffix(':') else {
        return s;
    };
    let name_start = body
        .trim_end_matches(|c: char| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | ':'))
        .len();
    // The role starts at the first colon of the trailing `name:name` run.
    match body[name_start..].find(':') {
        Some(colon) if name_start + colon + 1 < body.len() => &s[..name_start + colon],
        _ => s,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ingest::Block;

    /// Checks that every block's text is exactly the source at its char range
    /// and exactly the source lines it claims (trailing whitespace aside).
    fn assert_exact(source: &str, blocks: &[Block]) {
        let chars: Vec<char> = source.chars().collect();
        let lines: Vec<&str> = source.split('\n').collect();
        for b in blocks {
            let at: String = chars[b.char_start..b.char_end].iter().collect();
            assert_eq!(at, b.text, "char range of {b:?}");
            let (first, last) = b.lines.unwrap();
            let claimed = lines[first as usize - 1..last as usize].join("\n");
            assert_eq!(claimed.trim_end(), b.text, "lines of {b:?}");
        }
    }

    fn paths(blocks: &[Block]) -> Vec<(String, String)> {
        blocks
            .iter()
            .map(|b| (b.heading_path.join(" > "), b.text.clone()))
            .collect()
    }

    #[test]
    fn paragraphs_are_runs_of_lines_with_exact_ranges() {
        let src = "\n\nFirst para línea one\n  indented second line   \n\n\n\tSecond ✓ para\n\nthird\r\nline\r\n";
        let doc = parse(src, "notes");
        assert_eq!(doc.kind, SourceKind::Text);
        assert_eq!(doc.title, "notes");
        assert_eq!(
            paths(&doc.blocks),
            [
                (
                    String::new(),
                    "First para línea one\n  indented second line".into()
                ),
                (String::new(), "\tSecond ✓ para".into()),
                (String::new(), "third\r\nline".into()),
            ]
        );
        assert_eq!(doc.blocks[0].lines, Some((3, 4)));
        assert_eq!(doc.blocks[1].lines, Some((7, 7)));
        assert_eq!(doc.blocks[2].lines, Some((9, 10)));
        assert_exact(src, &doc.blocks);
    }

    #[test]
    fn long_paragraph_stays_one_block() {
        let src = "word ".repeat(5000) + "\nmore\n" + &"x\n".repeat(500);
        let doc = parse(&src, "s");
        assert_eq!(doc.blocks.len(), 1);
        assert_eq!(doc.blocks[0].lines, Some((1, 502)));
        assert_exact(&src, &doc.blocks);
    }

    #[test]
    fn rest_headings_with_levels_by_first_appearance() {
        let src = "\
=================
 :mod:`!uuid` Tool
=================

.. module:: uuid

**Source code:** :source:`Lib/uuid.py`

--------------

Intro text.

Usage
-----

Use it.

Details *here*
~~~~~~~~~~~~~~

Deep.

`Links <https://example.org>`_
------------------------------

Links text.

Example::

    Not a heading
    -------------

Not a heading either
because it is a second line
--------
";
        let doc = parse(src, "uuid.rst");
        assert_eq!(doc.title, "uuid Tool");
        assert_eq!(
            paths(&doc.blocks),
            [
                ("uuid Tool".into(), ".. module:: uuid".into()),
                (
                    "uuid Tool".into(),
                    "**Source code:** :source:`Lib/uuid.py`".into()
                ),
                ("uuid Tool".into(), "--------------".into()),
                ("uuid Tool".into(), "Intro text.".into()),
                ("uuid Tool > Usage".into(), "Use it.".into()),
                ("uuid Tool > Usage > Details here".into(), "Deep.".into()),
                ("uuid Tool > Links".into(), "Links text.".into()),
                ("uuid Tool > Links".into(), "Example::".into()),
                (
                    "uuid Tool > Links".into(),
                    "    Not a heading\n    -------------".into()
                ),
                (
                    "uuid Tool > Links".into(),
                    "Not a heading either\nbecause it is a second line\n--------".into()
                ),
            ]
        );
        assert_exact(src, &doc.blocks);
    }

    #[test]
    fn man_page_headings() {
        let src = "\
GIT-ADD(1)            Git Manual            GIT-ADD(1)

NAME
       git-add - Add file contents to the index

SYNOPSIS
       git add [--verbose | -v]

OPTIONS
       -n, --dry-run
           Don't actually add the file(s).

       NOT A HEADING (indented)

EXAMPLES

Adding files is easy.
SEE ALSO
";
        let doc = parse(src, "git-add.1");
        assert_eq!(doc.title, "git-add.1");
        assert_eq!(
            paths(&doc.blocks),
            [
                (
                    String::new(),
                    "GIT-ADD(1)            Git Manual            GIT-ADD(1)".into()
                ),
                (
                    "NAME".into(),
                    "       git-add - Add file contents to the index".into()
                ),
                ("SYNOPSIS".into(), "       git add [--verbose | -v]".into()),
                (
                    "OPTIONS".into(),
                    "       -n, --dry-run\n           Don't actually add the file(s).".into()
                ),
                ("OPTIONS".into(), "       NOT A HEADING (indented)".into()),
                ("EXAMPLES".into(), "Adding files is easy.\nSEE ALSO".into()),
            ]
        );
        assert_exact(src, &doc.blocks);
    }

    #[test]
    fn heading_only_text_keeps_heading_text() {
        let src = "Title\n=====\n\nSection\n-------\n";
        let doc = parse(src, "s");
        assert_eq!(doc.title, "Title");
        assert_eq!(
            paths(&doc.blocks),
            [("Title > Section".into(), "Section\n-------".into())]
        );
        assert_exact(src, &doc.blocks);
    }

    #[test]
    fn plain_heading_strips_rest_markup() {
        assert_eq!(
            plain_heading(":mod:`!uuid` --- UUID objects"),
            "uuid --- UUID objects"
        );
        assert_eq!(
            plain_heading("The ``with`` **statement**"),
            "The with statement"
        );
        assert_eq!(plain_heading(":py:class:`~a.B` class"), "a.B class");
        assert_eq!(plain_heading("`Text <http://x>`_ here"), "Text here");
        assert_eq!(plain_heading("time: 10:30"), "time: 10:30");
        assert_eq!(plain_heading("*args and 2 * 3"), "args and 2 * 3");
    }
}
