//! Builds the blocks of documents read from markup rather than lines (HTML,
//! DOCX, ODT, EPUB): headings open sections, paragraphs become blocks, and
//! consecutive list items or table rows are gathered into one block of
//! lines, as a Markdown list or table is. Each block gets its paragraph
//! numbers (and chapter) as a [`Locator`], and a char range in the
//! document's text: all headings and blocks joined by a blank line.

use super::{Block, HeadingTracker, Locator};

/// An open list or table: its lines so far and their paragraph numbers.
struct Group {
    lines: Vec<String>,
    paragraphs: (u32, u32),
}

#[derive(Default)]
pub(super) struct DocBuilder {
    tracker: HeadingTracker,
    /// Chars of the document text so far (units and their separators).
    chars: usize,
    any: bool,
    chapter: Option<u32>,
    part: Option<String>,
    paragraph: u32,
    group: Option<Group>,
    first_heading: Option<String>,
    chars_of_text: usize,
}

impl DocBuilder {
    /// Starts chapter `chapter` (1-based) read from `part`: open headings
    /// close and paragraphs count from 1 again.
    pub fn start_chapter(&mut self, chapter: u32, part: &str) {
        self.end_group();
        self.tracker.close_all();
        self.chapter = Some(chapter);
        self.part = Some(part.to_string());
        self.paragraph = 0;
    }

    /// A heading of `level` (1 = outermost).
    pub fn heading(&mut self, level: u32, text: &str) {
        let text = clean(text, false);
        if text.is_empty() {
            return;
        }
        self.end_group();
        let n = self.next_paragraph();
        let block = self.unit(&text, (n, n));
        self.first_heading.get_or_insert_with(|| text.clone());
        self.tracker.open(level.max(1), text, block);
    }

    /// A paragraph (line breaks in it kept).
    pub fn paragraph(&mut self, text: &str) {
        self.add_paragraph(clean(text, true));
    }

    /// Preformatted text: kept as it is but for blank lines around it.
    pub fn preformatted(&mut self, text: &str) {
        let text = text.trim_end().trim_start_matches(['\n', '\r']);
        self.add_paragraph(text.to_string());
    }

    fn add_paragraph(&mut self, text: String) {
        if text.trim().is_empty() {
            return;
        }
        self.end_group();
        let n = self.next_paragraph();
        let block = self.unit(&text, (n, n));
        self.tracker.push(block);
    }

    /// A line of a list or table (already prefixed, `- item`, `a | b`);
    /// consecutive lines form one block until [`end_group`](Self::end_group)
    /// or the next heading or paragraph. `paragraphs` is how many of the
    /// source's paragraphs the line holds.
    pub fn line(&mut self, text: &str, paragraphs: u32) {
        let indent = text.len() - text.trim_start_matches(' ').len();
        let text = format!("{}{}", &text[..indent], clean(text, false));
        if text.trim_start_matches(['-', '|', ' ']).is_empty() {
            return;
        }
        let first = self.paragraph + 1;
        self.paragraph += paragraphs.max(1);
        let last = self.paragraph;
        match self.group.as_mut() {
            Some(g) => {
                g.lines.push(text);
                g.paragraphs.1 = last;
            }
            None => {
                self.group = Some(Group {
                    lines: vec![text],
                    paragraphs: (first, last),
                })
            }
        }
    }

    /// Closes the open list or table, if any, into a block.
    pub fn end_group(&mut self) {
        if let Some(g) = self.group.take() {
            let text = g.lines.join("\n");
            let block = self.unit(&text, g.paragraphs);
            self.tracker.push(block);
        }
    }

    /// Chars of readable text gathered (headings and blocks), to tell a
    /// document with text from one without.
    pub fn text_chars(&self) -> usize {
        self.chars_of_text
    }

    /// The first heading's text, a title when the document has none.
    pub fn first_heading(&self) -> Option<&str> {
        self.first_heading.as_deref()
    }

    /// The blocks in document order.
    pub fn finish(mut self) -> Vec<Block> {
        self.end_group();
        self.tracker.finish()
    }

    fn next_paragraph(&mut self) -> u32 {
        self.paragraph += 1;
        self.paragraph
    }

    /// A block for the next unit of the document text.
    fn unit(&mut self, text: &str, paragraphs: (u32, u32)) -> Block {
        if self.any {
            self.chars += 2;
        }
        self.any = true;
        let len = text.chars().count();
        let start = self.chars;
        self.chars += len;
        self.chars_of_text += len;
        Block {
            text: text.to_string(),
            heading_path: Vec::new(),
            char_start: start,
            char_end: start + len,
            lines: None,
            page: None,
            locator: Some(Locator {
                chapter: self.chapter,
                part: self.part.clone(),
                first_paragraph: paragraphs.0,
                last_paragraph: paragraphs.1,
            }),
        }
    }
}

/// Collapses runs of white space to one space and trims each line; with
/// `keep_breaks` line breaks stay (empty lines go), else they are spaces too.
pub(super) fn clean(text: &str, keep_breaks: bool) -> String {
    if !keep_breaks {
        return text.split_whitespace().collect::<Vec<_>>().join(" ");
    }
    text.lines()
        .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" "))
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ingest::testdata::located;

    #[test]
    fn headings_paragraphs_and_groups() {
        let mut b = DocBuilder::default();
        b.heading(1, "  Title ");
        b.paragraph("first\u{a0} para\n\n second   line");
        b.line("- one", 1);
        b.line("- two", 1);
        b.heading(2, "Data");
        b.line("a | b", 2);
        b.line("1 | 2", 2);
        b.end_group();
        b.line("- after table", 1);
        b.paragraph("   ");
        let blocks = b.finish();
        assert_eq!(
            located(&blocks),
            [
                (
                    "Title".into(),
                    "first para\nsecond line".into(),
                    "¶ 2".into()
                ),
                ("Title".into(), "- one\n- two".into(), "¶ 3–4".into()),
                ("Title > Data".into(), "a | b\n1 | 2".into(), "¶ 6–9".into()),
                ("Title > Data".into(), "- after table".into(), "¶ 10".into()),
            ]
        );
        // Char ranges follow the units joined by blank lines (headings included).
        let text = "Title\n\nfirst para\nsecond line\n\n- one\n- two\n\nData\n\na | b\n1 | 2\n\n- after table";
        let chars: Vec<char> = text.chars().collect();
        for b in &blocks {
            assert_eq!(
                chars[b.char_start..b.char_end].iter().collect::<String>(),
                b.text
            );
        }
    }

    #[test]
    fn chapters_restart_headings_and_paragraphs() {
        let mut b = DocBuilder::default();
        b.start_chapter(1, "ch1.xhtml");
        b.heading(1, "One");
        b.paragraph("a");
        b.start_chapter(2, "ch2.xhtml");
        b.paragraph("b");
        b.heading(2, "Empty section");
        let blocks = b.finish();
        assert_eq!(
            located(&blocks),
            [
                ("One".into(), "a".into(), "chapter 1, ¶ 2".into()),
                (String::new(), "b".into(), "chapter 2, ¶ 1".into()),
                (
                    "Empty section".into(),
                    "Empty section".into(),
                    "chapter 2, ¶ 2".into()
                ),
            ]
        );
        assert_eq!(
            blocks[1].locator.as_ref().unwrap().part.as_deref(),
            Some("ch2.xhtml")
        );
    }
}
