//! Word documents (Office Open XML): the main part named by the package
//! relationships (`word/document.xml`), streamed. Paragraph styles (from
//! `styles.xml`, following `basedOn`) or direct outline levels make
//! headings; numbered paragraphs are list items; tables become `cell | cell`
//! rows. Deleted revisions, field codes, fallback copies of drawings and
//! tables of contents are not text. Title: the document's properties, else
//! a Title-styled paragraph, else the first heading.

use std::collections::HashMap;

use super::builder::DocBuilder;
use super::container::{self, Kind, Properties};
use super::xml::{self, XmlEvent, attr, name};
use super::zip::Archive;
use super::{IngestLimits, ParsedDocument, SkipReason, SourceKind};

/// `basedOn` hops followed before giving up (styles may loop).
const MAX_STYLE_HOPS: usize = 16;

pub(super) fn parse(
    bytes: &[u8],
    stem: &str,
    limits: &IngestLimits,
) -> Result<ParsedDocument, SkipReason> {
    let archive = container::open(bytes, Kind::Docx, limits)?;
    let main = main_part(&archive)?;
    let dir = main.rsplit_once('/').map_or("", |(d, _)| d);
    let styles = Styles::read(&archive, &format!("{dir}/styles.xml"))?;
    let mut body = Body {
        styles: &styles,
        builder: DocBuilder::default(),
        paragraphs: Vec::new(),
        tables: Vec::new(),
        skip: 0,
        in_text: false,
        in_props: 0,
        sdt_toc: Vec::new(),
        title: None,
    };
    xml::walk(&archive, &main, "the document body", &mut |e| {
        body.event(e);
        Ok(())
    })?;
    let properties = Properties {
        part: "docProps/core.xml",
        keywords: "cp:keywords",
    };
    let title = body.title.take();
    container::office_document(
        &archive,
        SourceKind::Docx,
        properties,
        body.builder,
        title,
        stem,
    )
}

/// The main document part, as the package relationships name it.
fn main_part(archive: &Archive<'_>) -> Result<String, SkipReason> {
    let mut target = None;
    if archive.contains("_rels/.rels") {
        xml::walk(
            archive,
            "_rels/.rels",
            "the package relationships",
            &mut |e| {
                if let XmlEvent::Start { element, .. } = e
                    && name(element) == "Relationship"
                    && attr(element, "Type").is_some_and(|t| t.ends_with("/officeDocument"))
                    && target.is_none()
                {
                    target = attr(element, "Target");
                }
                Ok(())
            },
        )?;
    }
    let part = target.map_or_else(
        || "word/document.xml".to_string(),
        |t| t.trim_start_matches('/').to_string(),
    );
    if !archive.contains(&part) {
        return Err(SkipReason::ArchiveCorrupt {
            detail: format!("the document body ({part}) is missing"),
        });
    }
    Ok(part)
}

/// What a paragraph style means for structure.
#[derive(Default, Clone)]
struct Style {
    name: String,
    outline: Option<u32>,
    based_on: Option<String>,
}

/// Paragraph styles by id.
struct Styles(HashMap<String, Style>);

impl Styles {
    fn read(archive: &Archive<'_>, part: &str) -> Result<Self, SkipReason> {
        let mut styles = HashMap::new();
        if !archive.contains(part) {
            return Ok(Styles(styles));
        }
        let mut current: Option<(String, Style)> = None;
        xml::walk(archive, part, "the styles", &mut |e| {
            match e {
                XmlEvent::Start { element, empty } => match name(element) {
                    "w:style" if !empty => {
                        current = attr(element, "w:styleId").map(|id| (id, Style::default()))
                    }
                    "w:name" => {
                        if let Some((_, s)) = current.as_mut() {
                            s.name = attr(element, "w:val").unwrap_or_default().to_lowercase();
                        }
                    }
                    "w:basedOn" => {
                        if let Some((_, s)) = current.as_mut() {
                            s.based_on = attr(element, "w:val");
                        }
                    }
                    "w:outlineLvl" => {
                        if let Some((_, s)) = current.as_mut() {
                            s.outline = attr(element, "w:val").and_then(|v| v.parse().ok());
                        }
                    }
                    _ => {}
                },
                XmlEvent::End("w:style") => {
                    if let Some((id, s)) = current.take() {
                        styles.insert(id, s);
                    }
                }
                _ => {}
            }
            Ok(())
        })?;
        Ok(Styles(styles))
    }

    /// What a paragraph of style `id` (and direct outline level) is.
    fn role(&self, id: Option<&str>, outline: Option<u32>) -> Role {
        if let Some(level) = outline.filter(|&l| l < 9) {
            return Role::Heading(level + 1);
        }
        let mut id = id;
        for _ in 0..MAX_STYLE_HOPS {
            let Some(current) = id else { break };
            let style = self.0.get(current);
            let name = style.map_or_else(|| current.to_lowercase(), |s| s.name.clone());
            if let Some(role) = role_of_name(&name) {
                return role;
            }
            if let Some(level) = style.and_then(|s| s.outline).filter(|&l| l < 9) {
                return Role::Heading(level + 1);
            }
            id = style.and_then(|s| s.based_on.as_deref());
        }
        Role::Body
    }
}

#[derive(Debug, PartialEq)]
enum Role {
    Title,
    Heading(u32),
    Contents,
    Body,
}

/// Built-in style names (`heading 2`, `Title`, `TOC 1`; ids without
/// styles.xml read the same: `Heading2`).
fn role_of_name(name: &str) -> Option<Role> {
    let compact: String = name
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect::<String>()
        .to_lowercase();
    if compact == "title" {
        return Some(Role::Title);
    }
    if compact.starts_with("toc") && compact[3..].chars().all(|c| c.is_ascii_digit()) {
        return Some(Role::Contents);
    }
    let level = compact.strip_prefix("heading")?.parse::<u32>().ok()?;
    (1..=9).contains(&level).then_some(Role::Heading(level))
}

/// A paragraph being read.
#[derive(Default)]
struct Paragraph {
    text: String,
    style: Option<String>,
    outline: Option<u32>,
    list_level: Option<usize>,
}

/// A table being read: finished rows (cells, paragraphs in the row) and the open row and cell.
#[derive(Default)]
struct Table {
    rows: Vec<(Vec<String>, u32)>,
    row: Vec<String>,
    row_paragraphs: u32,
    cell: Option<String>,
}

struct Body<'s> {
    styles: &'s Styles,
    builder: DocBuilder,
    /// Open paragraphs: text boxes put paragraphs inside paragraphs.
    paragraphs: Vec<Paragraph>,
    tables: Vec<Table>,
    /// Depth inside a subtree that is not text.
    skip: usize,
    in_text: bool,
    /// Depth inside paragraph properties.
    in_props: usize,
    /// Open content controls: whether each is a table of contents.
    sdt_toc: Vec<bool>,
    title: Option<String>,
}

impl Body<'_> {
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
                        "w:del" | "w:moveFrom" | "mc:Fallback" | "w:instrText" | "w:delText"
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
                    && self.in_text
                    && let Some(p) = self.paragraphs.last_mut()
                {
                    p.text.push_str(t);
                }
            }
        }
    }

    fn start(&mut self, qname: &str, element: &quick_xml::events::BytesStart<'_>, empty: bool) {
        let in_props = self.in_props > 0;
        match qname {
            "w:p" if !empty => self.paragraphs.push(Paragraph::default()),
            "w:pPr" if !empty => self.in_props += 1,
            "w:pStyle" if in_props => {
                if let Some(p) = self.paragraphs.last_mut() {
                    p.style = attr(element, "w:val");
                }
            }
            "w:outlineLvl" if in_props => {
                if let Some(p) = self.paragraphs.last_mut() {
                    p.outline = attr(element, "w:val").and_then(|v| v.parse().ok());
                }
            }
            "w:ilvl" if in_props => {
                if let Some(p) = self.paragraphs.last_mut() {
                    p.list_level = attr(element, "w:val")
                        .and_then(|v| v.parse().ok())
                        .or(Some(0));
                }
            }
            "w:numPr" if in_props => {
                if let Some(p) = self.paragraphs.last_mut() {
                    p.list_level.get_or_insert(0);
                }
            }
            "w:t" if !empty => self.in_text = true,
            "w:tab" if !in_props => self.push_text("\t"),
            "w:br" | "w:cr" => self.push_text("\n"),
            "w:noBreakHyphen" => self.push_text("-"),
            "w:tbl" if !empty => {
                self.builder.end_group();
                self.tables.push(Table::default());
            }
            "w:tc" if !empty => {
                if let Some(t) = self.tables.last_mut() {
                    t.cell = Some(String::new());
                }
            }
            "w:sdt" if !empty => self.sdt_toc.push(false),
            "w:docPartGallery" => {
                if attr(element, "w:val").is_some_and(|v| v.contains("Table of Contents"))
                    && let Some(toc) = self.sdt_toc.last_mut()
                {
                    *toc = true;
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
            "w:t" => self.in_text = false,
            "w:pPr" => self.in_props = self.in_props.saturating_sub(1),
            "w:p" => {
                if let Some(p) = self.paragraphs.pop() {
                    self.paragraph(p);
                }
            }
            "w:tc" => {
                if let Some(t) = self.tables.last_mut()
                    && let Some(cell) = t.cell.take()
                {
                    t.row.push(super::builder::clean(&cell, false));
                }
            }
            "w:tr" => {
                if let Some(t) = self.tables.last_mut() {
                    let row = std::mem::take(&mut t.row);
                    let paragraphs = std::mem::take(&mut t.row_paragraphs);
                    t.rows.push((row, paragraphs));
                }
            }
            "w:tbl" => {
                if let Some(t) = self.tables.pop() {
                    self.table(t);
                }
            }
            "w:sdt" => {
                self.sdt_toc.pop();
            }
            _ => {}
        }
    }

    fn paragraph(&mut self, p: Paragraph) {
        let text = p.text.trim();
        if text.is_empty() || self.sdt_toc.iter().any(|&toc| toc) {
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
        match self.styles.role(p.style.as_deref(), p.outline) {
            Role::Contents => {}
            Role::Title => {
                self.title
                    .get_or_insert_with(|| super::builder::clean(text, false));
                self.builder.heading(1, text);
            }
            Role::Heading(level) => self.builder.heading(level, text),
            Role::Body => match p.list_level {
                Some(level) => self
                    .builder
                    .line(&format!("{}- {text}", "  ".repeat(level.min(8))), 1),
                None => self.builder.paragraph(text),
            },
        }
    }

    /// A finished table: its rows, or inside another table's cell, one run of text.
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
            self.builder.line(&cells.join(" | "), *paragraphs);
        }
        self.builder.end_group();
    }
}

#[cfg(test)]
mod tests;
