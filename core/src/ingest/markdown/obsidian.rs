//! Obsidian's additions to Markdown that are found in plain text: `%%
//! comments %%`, inline `#tags`, `==highlights==`, block ids (`^id`),
//! Dataview inline fields (`key:: value`) and wikilink targets. Each scanner
//! works on byte ranges of the source, so what it finds can be cut out of a
//! block's text and still be located exactly.

use std::borrow::Cow;
use std::ops::Range;

use crate::ingest::refs::{heading_or_block, percent_decode, without_md};

/// Byte ranges of `%% comments %%` (markers included) in `text[from..]`,
/// where an opening `%%` is outside `code` (sorted ranges of code). An
/// unclosed comment runs to the end, as in Obsidian.
pub(super) fn comment_ranges(text: &str, from: usize, code: &[Range<usize>]) -> Vec<Range<usize>> {
    let mut out = Vec::new();
    let mut pos = from;
    // `open` only grows, so code ranges ending before it are passed for
    // good (looking through all of them for each `%%` was quadratic).
    let mut code = code.iter().peekable();
    while let Some(found) = text[pos..].find("%%") {
        let open = pos + found;
        while code.next_if(|c| c.end <= open).is_some() {}
        if let Some(c) = code.peek().filter(|c| c.contains(&open)) {
            pos = c.end.max(open + 2);
            continue;
        }
        let end = match text[open + 2..].find("%%") {
            Some(close) => open + 2 + close + 2,
            None => text.len(),
        };
        out.push(open..end);
        pos = end;
    }
    out
}

/// `text` with every byte of `ranges` but line breaks turned into spaces:
/// same length and line structure, so offsets found in it hold in `text`.
pub(super) fn mask<'a>(text: &'a str, ranges: &[Range<usize>]) -> Cow<'a, str> {
    if ranges.is_empty() {
        return Cow::Borrowed(text);
    }
    let mut bytes = text.as_bytes().to_vec();
    for r in ranges {
        for b in &mut bytes[r.clone()] {
            if !matches!(*b, b'\n' | b'\r') {
                *b = b' ';
            }
        }
    }
    // Whole UTF-8 sequences became spaces, so the bytes are still UTF-8.
    Cow::Owned(String::from_utf8(bytes).unwrap_or_else(|_| text.to_string()))
}

/// Characters a tag is made of after its `#`.
fn is_tag_char(c: char) -> bool {
    c.is_alphanumeric() || matches!(c, '_' | '-' | '/')
}

/// Inline tags in `src[range]` (plain text of one event): `#word` after
/// white space or the start of the text, made of letters, digits, `_`, `-`
/// and `/` (nesting), not only digits (`#123` is an issue number), so a
/// URL fragment or `C#` is not a tag.
pub(super) fn scan_tags(src: &str, range: Range<usize>, out: &mut Vec<String>) {
    let slice = &src[range.clone()];
    for (i, _) in slice.match_indices('#') {
        let at = range.start + i;
        let before = src[..at].chars().next_back();
        if before.is_some_and(|c| !c.is_whitespace()) {
            continue;
        }
        let rest = &slice[i + 1..];
        let len = rest.find(|c: char| !is_tag_char(c)).unwrap_or(rest.len());
        let tag = rest[..len].trim_end_matches('/');
        if tag.chars().any(|c| !c.is_ascii_digit()) && !tag.starts_with('/') {
            out.push(tag.to_string());
        }
    }
}

/// Byte ranges of the `==` marks of highlights among the text ranges of a
/// block: marks pair up in order on one line around non-blank text.
pub(super) fn highlight_marks(src: &str, texts: &[Range<usize>]) -> Vec<Range<usize>> {
    let mut marks: Vec<usize> = Vec::new();
    for r in texts {
        let slice = &src[r.clone()];
        let mut i = 0;
        while let Some(found) = slice[i..].find("==") {
            let at = i + found;
            let run = slice[at..].len() - slice[at..].trim_start_matches('=').len();
            if run == 2 {
                marks.push(r.start + at);
            }
            i = at + run;
        }
    }
    let mut out = Vec::new();
    let mut k = 0;
    while k + 1 < marks.len() {
        let (open, close) = (marks[k], marks[k + 1]);
        let inner = &src[open + 2..close];
        if !inner.trim().is_empty()
            && !inner.contains('\n')
            && !inner.starts_with(char::is_whitespace)
            && !inner.ends_with(char::is_whitespace)
        {
            out.push(open..open + 2);
            out.push(close..close + 2);
            k += 2;
        } else {
            k += 1;
        }
    }
    out
}

/// A block id `^id` ending `src[range]` (plain text that ends a line),
/// after white space: the id and the bytes to cut (the space included).
pub(super) fn trailing_block_id(src: &str, range: Range<usize>) -> Option<(String, Range<usize>)> {
    let slice = &src[range.clone()];
    let trimmed = slice.trim_end();
    let caret = trimmed.rfind('^')?;
    let id = &trimmed[caret + 1..];
    let valid = !id.is_empty() && id.chars().all(|c| c.is_ascii_alphanumeric() || c == '-');
    let before = src[..range.start + caret].chars().next_back();
    if !valid || before.is_some_and(|c| !c.is_whitespace()) {
        return None;
    }
    let cut_from = slice[..caret].trim_end().len();
    let line_ends = src[range.end..]
        .chars()
        .next()
        .is_none_or(|c| c == '\n' || c == '\r');
    line_ends.then(|| {
        (
            id.to_string(),
            range.start + cut_from..range.start + trimmed.len(),
        )
    })
}

/// Whether `s` is only a block id (`^id`), as on a line of its own after a
/// table or list.
pub(super) fn lone_block_id(s: &str) -> Option<String> {
    let id = s.trim().strip_prefix('^')?;
    (!id.is_empty() && id.chars().all(|c| c.is_ascii_alphanumeric() || c == '-'))
        .then(|| id.to_string())
}

/// A Dataview key: short, on one line, without brackets or code marks.
fn field_key(raw: &str) -> Option<String> {
    let key = raw.trim().trim_matches(['*', '_']).trim();
    let ok = !key.is_empty()
        && key.chars().count() <= 64
        && !key.contains(['[', ']', '(', ')', '`', '#', '|', '<', '>', ':', '\n'])
        && !key.starts_with(char::is_whitespace);
    ok.then(|| key.to_string())
}

/// Dataview inline fields of one source line: `key:: value` filling the
/// line (after list and quote markers, a space after `::`), and `[key:: value]` or
/// `(key:: value)` anywhere in it.
pub(super) fn inline_fields(line: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let content = strip_line_markers(line);
    // `key:: value` needs the space (or nothing) after `::`, so a path
    // like `std::vec` in prose is no field.
    if let Some((key, value)) = content.split_once("::")
        && (value.is_empty() || value.starts_with(char::is_whitespace))
        && let Some(key) = field_key(key)
    {
        out.push((key, value.trim().to_string()));
        return out;
    }
    let bytes = line.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        let close = match bytes[i] {
            b'[' => b']',
            b'(' => b')',
            _ => {
                i += 1;
                continue;
            }
        };
        let inner_start = i + 1;
        let Some(len) = line[inner_start..].find(close as char) else {
            break;
        };
        let inner = &line[inner_start..inner_start + len];
        if let Some((key, value)) = inner.split_once("::")
            && let Some(key) = field_key(key)
        {
            out.push((key, value.trim().to_string()));
            i = inner_start + len + 1;
        } else {
            i += 1;
        }
    }
    out
}

/// A line without its leading quote markers, list marker and task box.
fn strip_line_markers(line: &str) -> &str {
    let mut s = line.trim_start();
    while let Some(rest) = s.strip_prefix('>') {
        s = rest.trim_start();
    }
    for marker in ["- ", "* ", "+ "] {
        if let Some(rest) = s.strip_prefix(marker) {
            s = rest.trim_start();
            break;
        }
    }
    let digits = s.len() - s.trim_start_matches(|c: char| c.is_ascii_digit()).len();
    if digits > 0
        && let Some(rest) = s[digits..]
            .strip_prefix(". ")
            .or_else(|| s[digits..].strip_prefix(") "))
    {
        s = rest.trim_start();
    }
    if s.starts_with('[') && s.get(2..4) == Some("] ") {
        s = s[4..].trim_start();
    }
    s
}

/// A wikilink's destination split into note, heading and block id:
/// `Note#Heading`, `Note#^id`, `#Heading` (this note), `Folder/Note.md`.
#[derive(Debug, PartialEq)]
pub(super) struct WikiTarget {
    pub note: String,
    pub heading: Option<String>,
    pub block: Option<String>,
}

pub(super) fn split_target(dest: &str) -> WikiTarget {
    // `\|` escapes the pipe inside tables; the backslash stays in the url.
    let dest = dest.trim().trim_end_matches('\\');
    let (note, anchor) = match dest.split_once('#') {
        Some((n, a)) => (n, Some(a.trim())),
        None => (dest, None),
    };
    let note = without_md(note.trim());
    let (heading, block) = heading_or_block(anchor);
    WikiTarget {
        note: note.to_string(),
        heading,
        block,
    }
}

impl WikiTarget {
    /// What a reader sees for an unaliased link: the note, then the
    /// heading (`Note › Heading`, nested headings likewise); a same-note
    /// link shows its heading; a block link the note.
    pub fn display(&self) -> String {
        let heading = self.heading.as_ref().map(|h| {
            h.split('#')
                .map(str::trim)
                .filter(|p| !p.is_empty())
                .collect::<Vec<_>>()
                .join(" › ")
        });
        match (self.note.is_empty(), heading) {
            (true, Some(h)) => h,
            (false, Some(h)) => format!("{} › {h}", self.note),
            (true, None) => self.block.clone().unwrap_or_default(),
            (false, None) => self.note.clone(),
        }
    }
}

/// A Markdown link destination that names a local file (not a URL or an
/// e-mail address), percent-decoded.
pub(super) fn local_destination(dest: &str) -> Option<String> {
    let dest = dest.trim();
    let scheme = dest.split_once(':').is_some_and(|(s, _)| {
        !s.is_empty()
            && s.chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'))
    });
    if dest.is_empty() || scheme || dest.starts_with("//") {
        return None;
    }
    Some(percent_decode(dest))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tags(s: &str) -> Vec<String> {
        let mut out = Vec::new();
        scan_tags(s, 0..s.len(), &mut out);
        out
    }

    #[test]
    fn tags_follow_obsidian_rules() {
        assert_eq!(
            tags("#one and #two/sub, #drei_3 #über-tag."),
            ["one", "two/sub", "drei_3", "über-tag"]
        );
        assert!(tags("C# and x#y and #123 and # alone and ##").is_empty());
        assert_eq!(tags("#2024-plan #a/b/"), ["2024-plan", "a/b"]);
        // A fragment in a bare URL follows a slash, not a space.
        assert!(tags("see https://example.org/page#section").is_empty());
        // The character before the text range counts.
        let src = "x#tag";
        let mut out = Vec::new();
        scan_tags(src, 1..5, &mut out);
        assert!(out.is_empty());
    }

    #[test]
    fn comments_skip_code_and_may_stay_open() {
        let src = "a %%one%% b `%%` c %%two\nlines%% d %%open";
        let tick = src.find('`').unwrap();
        let code = tick..tick + 4;
        let code = std::slice::from_ref(&code);
        let found: Vec<&str> = comment_ranges(src, 0, code)
            .into_iter()
            .map(|r| &src[r])
            .collect();
        assert_eq!(found, ["%%one%%", "%%two\nlines%%", "%%open"]);
        let masked = mask(src, &comment_ranges(src, 0, code));
        assert_eq!(masked.len(), src.len());
        assert!(!masked.contains("one") && masked.contains("`%%`"));
        assert_eq!(masked.matches('\n').count(), 1);
    }

    #[test]
    fn highlights_pair_on_a_line() {
        let src = "a ==marked== b === c ==x== == y==";
        let whole = 0..src.len();
        let marks = highlight_marks(src, std::slice::from_ref(&whole));
        let cut: String = src
            .char_indices()
            .filter(|(i, _)| !marks.iter().any(|m| m.contains(i)))
            .map(|(_, c)| c)
            .collect();
        assert_eq!(cut, "a marked b === c x == y==");
    }

    #[test]
    fn block_ids_end_a_line() {
        let src = "Some text ^abc-1\nmore";
        let (id, cut) = trailing_block_id(src, 0..16).unwrap();
        assert_eq!((id.as_str(), &src[cut]), ("abc-1", " ^abc-1"));
        assert_eq!(trailing_block_id("x^abc", 0..5), None);
        assert_eq!(trailing_block_id("a ^b c", 0..6), None);
        assert_eq!(trailing_block_id("a ^b_c", 0..6), None);
        // Not at the end of its line (the text range stops before more text).
        assert_eq!(trailing_block_id("a ^b**c**", 0..4), None);
        assert_eq!(lone_block_id("  ^table-1 "), Some("table-1".into()));
        assert_eq!(lone_block_id("^"), None);
    }

    #[test]
    fn dataview_fields() {
        assert_eq!(inline_fields("rating:: 9"), [("rating".into(), "9".into())]);
        assert_eq!(
            inline_fields("- [ ] **due**:: 2024-05-01"),
            [("due".into(), "2024-05-01".into())]
        );
        assert_eq!(
            inline_fields("I liked it [mood:: happy] and (cost:: 12 €)."),
            [
                ("mood".into(), "happy".into()),
                ("cost".into(), "12 €".into())
            ]
        );
        assert!(inline_fields("std::vec::Vec and a::b").is_empty());
        assert!(inline_fields("see [link](x) and (not a field)").is_empty());
    }

    #[test]
    fn wikilink_targets() {
        let t = split_target("Folder/Note.md#Part#Sub");
        assert_eq!(t.note, "Folder/Note");
        assert_eq!(t.display(), "Folder/Note › Part › Sub");
        let t = split_target("Note#^blk1");
        assert_eq!(
            (t.block.as_deref(), t.display().as_str()),
            (Some("blk1"), "Note")
        );
        assert_eq!(split_target("#Only heading").display(), "Only heading");
        assert_eq!(split_target("N\\").note, "N");
        assert_eq!(
            local_destination("My%20Note.md#x"),
            Some("My Note.md#x".into())
        );
        assert_eq!(local_destination("https://x.org/a"), None);
        assert_eq!(local_destination("mailto:a@b"), None);
        assert_eq!(local_destination("//cdn/x"), None);
    }
}
