//! OpenDocument text (LibreOffice, `.odt`): `content.xml`, streamed.
//! `text:h` is a heading of its `text:outline-level`, `text:p` a paragraph,
//! `text:list` items become `- item` lines (nested lists indented) and
//! `table:table` rows `cell | cell` lines. Tracked deletions, annotations,
//! notes and generated indexes (tables of contents) are not text. Title:
//! `meta.xml`'s `dc:title`, else the first heading.

use super::builder::{DocBuilder, clean};
use super::container::{self, Kind, Properties};
use super::xml::{self, XmlEvent, attr, name};
use super::{IngestLimits, ParsedDocument, SkipReason, SourceKind};

/// Longest run of spaces one `text:s` may stand for.
const MAX_SPACES: usize = 64;

pub(super) fn parse(
    bytes: &[u8],
    stem: &str,
    limits: &IngestLimits,
) -> Result<ParsedDocument, SkipReason> {
    let archive = container::open(bytes, Kind::Odt, limits)?;
    let mut body = Body::default();
    xml::walk(&archive, "content.xml", "the document content", &mut |e| {
        body.event(e);
        Ok(())
    })?;
    let properties = Properties {
        part: "meta.xml",
        keywords: "meta:keyword",
    };
    container::office_document(
        &archive,
        SourceKind::Odt,
        properties,
        body.builder,
        None,
        stem,
    )
}

/// A paragraph or heading being read.
struct Paragraph {
    text: String,
    heading: Option<u32>,
}

#[derive(Default)]
struct Table {
    rows: Vec<(Vec<String>, u32)>,
    row: Vec<String>,
    row_paragraphs: u32,
    cell: Option<String>,
}

#[derive(Default)]
struct Body {
    builder: DocBuilder,
    paragraphs: Vec<Paragraph>,
    tables: Vec<Table>,
    /// Open lists.
    lists: usize,
    skip: usize,
    in_body: bool,
}

impl Body {
    fn event(&mut self, event: XmlEvent<'_>) {
        match event {
            XmlEvent::Start { element, empty } => {
                let qname = name(element);
                if self.skip > 0 {
                    self.skip += usize::from(!empty);
                    return;
                }
                if !empty
                    && matches!(
                        qname,
                        "text:tracked-changes"
                            | "office:annotation"
                            | "text:note"
                            | "text:table-of-content"
                            | "text:alphabetical-index"
                            | "text:illustration-index"
                            | "text:bibliography"
                            | "text:sequence-decls"
                            | "office:forms"
                    )
                {
                    self.skip = 1;
                    return;
                }
                self.start(qname, element, empty);
            }
            XmlEvent::End(qname) => {
                if self.skip > 0 {
                    self.skip -= 1;
                    return;
                }
                self.end(qname);
            }
            XmlEvent::Text(t) => {
                if self.skip == 0
                    && let Some(p) = self.paragraphs.last_mut()
                {
                    p.text.push_str(t);
                }
            }
        }
    }

    fn start(&mut self, qname: &str, element: &quick_xml::events::BytesStart<'_>, empty: bool) {
        match qname {
            "office:text" => self.in_body = true,
            "text:p" | "text:h" if !empty && self.in_body => {
                let heading = (qname == "text:h").then(|| {
                    attr(element, "text:outline-level")
                        .and_then(|l| l.parse().ok())
                        .unwrap_or(1)
                });
                self.paragraphs.push(Paragraph {
                    text: String::new(),
                    heading,
                });
            }
            "text:s" => {
                let n = attr(element, "text:c")
                    .and_then(|c| c.parse().ok())
                    .unwrap_or(1usize);
                self.push_text(&" ".repeat(n.clamp(1, MAX_SPACES)));
            }
            "text:tab" => self.push_text("\t"),
            "text:line-break" => self.push_text("\n"),
            "text:list" if !empty => {
                if self.lists == 0 {
                    self.builder.end_group();
                }
                self.lists += 1;
            }
            "table:table" if !empty => {
                self.builder.end_group();
                self.tables.push(Table::default());
            }
            "table:table-cell" if !empty => {
                if let Some(t) = self.tables.last_mut() {
                    t.cell = Some(String::new());
                }
            }
            _ => {}
        }
    }

    fn push_text(&mut self, s: &str) {
        if let Some(p) = self.paragraphs.last_mut() {
            p.text.push_str(s);
        }
    }

    fn end(&mut self, qname: &str) {
        match qname {
            "office:text" => self.in_body = false,
            "text:p" | "text:h" => {
                if let Some(p) = self.paragraphs.pop() {
                    self.paragraph(p);
                }
            }
            "text:list" => {
                self.lists = self.lists.saturating_sub(1);
                if self.lists == 0 {
                    self.builder.end_group();
                }
            }
            "table:table-cell" => {
                if let Some(t) = self.tables.last_mut()
                    && let Some(cell) = t.cell.take()
                {
                    t.row.push(clean(&cell, false));
                }
            }
            "table:table-row" => {
                if let Some(t) = self.tables.last_mut() {
                    let row = std::mem::take(&mut t.row);
                    let paragraphs = std::mem::take(&mut t.row_paragraphs);
                    t.rows.push((row, paragraphs));
                }
            }
            "table:table" => {
                if let Some(t) = self.tables.pop() {
                    self.table(t);
                }
            }
            _ => {}
        }
    }

    fn paragraph(&mut self, p: Paragraph) {
        let text = p.text.trim();
        if text.is_empty() {
            return;
        }
        if let Some(t) = self.tables.last_mut()
            && let Some(cell) = t.cell.as_mut()
        {
            if !cell.is_empty() {
                cell.push(' ');
            }
            cell.push_str(text);
            t.row_paragraphs += 1;
            return;
        }
        if self.lists > 0 {
            let indent = "  ".repeat(self.lists.saturating_sub(1).min(8));
            self.builder.line(&format!("{indent}- {text}"), 1);
            return;
        }
        match p.heading {
            Some(level) => self.builder.heading(level.clamp(1, 10), text),
            None => self.builder.paragraph(text),
        }
    }

    fn table(&mut self, t: Table) {
        if let Some(outer) = self.tables.last_mut() {
            let flat: Vec<String> = t.rows.iter().map(|(cells, _)| cells.join(" | ")).collect();
            if let Some(cell) = outer.cell.as_mut() {
                cell.push(' ');
                cell.push_str(&flat.join("; "));
            }
            outer.row_paragraphs += t.rows.iter().map(|(_, n)| n).sum::<u32>();
            return;
        }
        self.builder.end_group();
        for (cells, paragraphs) in &t.rows {
            let cells: Vec<&str> = cells
                .iter()
                .map(String::as_str)
                .filter(|c| !c.is_empty())
                .collect();
            self.builder.line(&cells.join(" | "), *paragraphs);
        }
        self.builder.end_group();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ingest::testdata::odt;

    #[test]
    fn headings_lists_tables() {
        let body = "<text:sequence-decls><text:sequence-decl text:name=\"Table\"/></text:sequence-decls>\
<text:table-of-content><text:index-body><text:p>Contents 1</text:p></text:index-body></text:table-of-content>\
<text:h text:outline-level=\"1\">Garden</text:h>\
<text:p>Plant<text:s text:c=\"3\"/>tomatoes<text:tab/>in May<text:note><text:note-body><text:p>a footnote</text:p></text:note-body></text:note>.<office:annotation><text:p>my comment</text:p></office:annotation></text:p>\
<text:list><text:list-item><text:p>stakes</text:p><text:list><text:list-item><text:p>1.5 m</text:p></text:list-item></text:list></text:list-item><text:list-item><text:p>string</text:p></text:list-item></text:list>\
<text:h text:outline-level=\"2\">Yield</text:h>\
<table:table><table:table-row><table:table-cell><text:p>Year</text:p></table:table-cell><table:table-cell><text:p>kg</text:p></table:table-cell></table:table-row><table:table-row><table:table-cell><text:p>2023</text:p></table:table-cell><table:table-cell><text:p>4</text:p></table:table-cell><table:covered-table-cell/></table:table-row></table:table>\
<text:tracked-changes><text:changed-region><text:deletion><text:p>deleted words</text:p></text:deletion></text:changed-region></text:tracked-changes>\
<text:p>Tom &amp; Jerry<text:line-break/>second line</text:p>";
        let doc = parse(
            &odt(body, Some("Garden notes")),
            "stem",
            &IngestLimits::default(),
        )
        .unwrap();
        assert_eq!(doc.kind, SourceKind::Odt);
        assert_eq!(doc.title, "Garden notes");
        let summary: Vec<(String, String, String)> = doc
            .blocks
            .iter()
            .map(|b| {
                (
                    b.heading_path.join(" > "),
                    b.text.clone(),
                    b.locator.as_ref().unwrap().to_string(),
                )
            })
            .collect();
        assert_eq!(
            summary,
            [
                (
                    "Garden".into(),
                    "Plant tomatoes in May.".into(),
                    "¶ 2".into()
                ),
                (
                    "Garden".into(),
                    "- stakes\n  - 1.5 m\n- string".into(),
                    "¶ 3–5".into()
                ),
                (
                    "Garden > Yield".into(),
                    "Year | kg\n2023 | 4".into(),
                    "¶ 7–10".into()
                ),
                (
                    "Garden > Yield".into(),
                    "Tom & Jerry\nsecond line".into(),
                    "¶ 11".into()
                ),
            ]
        );
    }

    #[test]
    fn title_falls_back_and_empty_documents_are_no_text() {
        let doc = parse(
            &odt("<text:h>First</text:h><text:p>x</text:p>", None),
            "stem",
            &IngestLimits::default(),
        )
        .unwrap();
        assert_eq!(doc.title, "First");
        let err = parse(
            &odt("<text:p/><text:p> </text:p>", None),
            "stem",
            &IngestLimits::default(),
        )
        .unwrap_err();
        assert_eq!(err.code(), "no_text");
    }
}
