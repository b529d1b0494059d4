//! What a document says about places: where a block sits in formats without
//! lines or pages ([`Locator`]), which notes it links to ([`Link`]) and which
//! of its blocks carry an Obsidian block id ([`Anchor`]).

use std::fmt;

use serde::{Deserialize, Serialize};

/// Where a block is in a document without source lines or pages, so a
/// citation can say "chapter 3, ¶ 12–14".
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Locator {
    /// 1-based chapter (EPUB: position in the reading order); `None` for
    /// documents of one part.
    pub chapter: Option<u32>,
    /// The part of the file a viewer opens: the EPUB chapter file
    /// (`OEBPS/ch03.xhtml`), the canvas node id; `None` otherwise.
    pub part: Option<String>,
    /// 1-based first paragraph, counted in the chapter or canvas node, else
    /// in the document (headings and table cells' paragraphs count, as the
    /// application numbers them).
    pub first_paragraph: u32,
    /// Last paragraph (inclusive).
    pub last_paragraph: u32,
}

impl fmt::Display for Locator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(chapter) = self.chapter {
            write!(f, "chapter {chapter}, ")?;
        }
        match (self.first_paragraph, self.last_paragraph) {
            (a, b) if a == b => write!(f, "¶ {a}"),
            (a, b) => write!(f, "¶ {a}–{b}"),
        }
    }
}

/// A link from this document to a note, a heading or block of a note, or an
/// attachment: `[[Note]]`, `[[Note|alias]]`, `[[Note#Heading]]`,
/// `[[Note#^id]]`, `![[embed]]`, a Markdown link to a local file, a canvas
/// file node.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Link {
    /// The note or file as written, without a `.md` extension
    /// (`Folder/Note`, `image.png`); empty for a link inside the same note
    /// (`[[#Heading]]`).
    pub target: String,
    /// The heading linked to (`[[Note#Heading]]`).
    pub heading: Option<String>,
    /// The block id linked to, without `^` (`[[Note#^id]]`).
    pub block: Option<String>,
    /// The text shown instead of the target (`[[Note|alias]]`, a Markdown
    /// link's text).
    pub alias: Option<String>,
    /// `![[…]]`: the target is shown in place (transcluded), not linked.
    pub embed: bool,
    /// Char range of the link in the document's decoded text.
    pub char_start: usize,
    pub char_end: usize,
    /// 1-based line of the link (Markdown); `None` for canvas nodes.
    pub line: Option<u32>,
}

impl Link {
    /// Whether the target is an attachment (an image, PDF, audio…) rather
    /// than a note: it has an extension other than `.md`.
    pub fn is_attachment(&self) -> bool {
        attachment_extension(&self.target)
    }
}

/// A link target without its `.md` extension (`Note.md` → `Note`), as
/// Obsidian names notes.
pub(super) fn without_md(target: &str) -> &str {
    match target.len().checked_sub(3) {
        Some(cut) if target.is_char_boundary(cut) && target[cut..].eq_ignore_ascii_case(".md") => {
            &target[..cut]
        }
        _ => target,
    }
}

/// What the part of a link after `#` points at: a block (`^id`, returned
/// without the `^`) or a heading; an empty one points at neither.
pub(super) fn heading_or_block(anchor: Option<&str>) -> (Option<String>, Option<String>) {
    match anchor.filter(|a| !a.is_empty()) {
        Some(a) => match a.strip_prefix('^') {
            Some(id) => (None, Some(id.to_string())),
            None => (Some(a.to_string()), None),
        },
        None => (None, None),
    }
}

/// `%XX` escapes of a URL or link destination decoded; the text as it is
/// when the bytes decoded are not UTF-8.
pub(super) fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| (b as char).to_digit(16);
        match (
            bytes[i],
            bytes.get(i + 1).copied().and_then(hex),
            bytes.get(i + 2).copied().and_then(hex),
        ) {
            (b'%', Some(h), Some(l)) => {
                out.push((h * 16 + l) as u8);
                i += 3;
            }
            (b, _, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8(out).unwrap_or_else(|_| s.to_string())
}

/// A target names an attachment when its last path segment has an
/// extension that is not Markdown (`photo.png`, `paper.pdf`).
pub(crate) fn attachment_extension(target: &str) -> bool {
    let name = target.rsplit('/').next().unwrap_or(target);
    match name.rsplit_once('.') {
        Some((stem, ext)) => {
            !stem.is_empty()
                && !ext.is_empty()
                && ext.len() <= 5
                && ext.chars().all(|c| c.is_ascii_alphanumeric())
                && !ext.eq_ignore_ascii_case("md")
        }
        None => false,
    }
}

/// An Obsidian block id (`^id`): the block it names, so a link
/// `[[Note#^id]]` or a citation can point at it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Anchor {
    /// The id, without `^`.
    pub id: String,
    /// Char range of the named block in the document's decoded text.
    pub char_start: usize,
    pub char_end: usize,
    /// 1-based inclusive line range of the named block.
    pub lines: Option<(u32, u32)>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locators_read_as_citations() {
        let one = Locator {
            chapter: None,
            part: None,
            first_paragraph: 4,
            last_paragraph: 4,
        };
        assert_eq!(one.to_string(), "¶ 4");
        let range = Locator {
            chapter: Some(3),
            part: Some("OEBPS/ch03.xhtml".into()),
            first_paragraph: 12,
            last_paragraph: 14,
        };
        assert_eq!(range.to_string(), "chapter 3, ¶ 12–14");
    }

    #[test]
    fn attachments_have_non_markdown_extensions() {
        for t in ["image.png", "a/b/paper.PDF", "song.mp3"] {
            assert!(attachment_extension(t), "{t}");
        }
        for t in [
            "Note",
            "Note.md",
            "v1.2 release notes",
            "folder.d/Note",
            ".hidden",
        ] {
            assert!(!attachment_extension(t), "{t}");
        }
    }
}
