//! HTML: saved and clipped web pages, and the XHTML chapters of e-books.
//!
//! One pass over the tokens with a stack of open elements (on the heap, so
//! nesting depth is only memory): headings `h1`–`h6` open sections, block
//! elements end paragraphs, lists and tables become blocks of lines
//! (`- item`, `cell | cell`). Scripts, styles, forms' controls and hidden
//! elements are never text. On web pages navigation, headers, footers,
//! sidebars and elements whose class or id name such boilerplate (menu,
//! cookie banner, share buttons…) are left out too, and when the page marks
//! its content (`<main>`, `<article>`, `role=main`) only that content is
//! kept. Title: `og:title`, else `<title>`, else the first heading.

mod charset;
mod tokenizer;

use serde_json::{Map, Value};

use super::builder::DocBuilder;
use super::{ParsedDocument, SkipReason, SourceKind};
use tokenizer::{Token, Tokenizer};

pub(super) use charset::decode;

/// How far back an end tag looks for its start tag; further away it is a
/// stray end tag (keeps tag soup linear).
const END_TAG_REACH: usize = 256;
/// Content marked as main must have at least this much text to be kept
/// alone (a `<main>` holding only a search box does not count).
const MIN_MAIN_CHARS: usize = 200;
/// Deepest list indentation written (deeper items line up with it).
const MAX_INDENT: usize = 8;

/// Class and id words of page boilerplate (matched as whole words of the
/// attribute, split at `-`, `_` and spaces).
const BOILERPLATE: &[&str] = &[
    "nav",
    "navbar",
    "navigation",
    "menu",
    "breadcrumb",
    "breadcrumbs",
    "sidebar",
    "footer",
    "cookie",
    "cookies",
    "consent",
    "banner",
    "advert",
    "ads",
    "sponsored",
    "share",
    "sharing",
    "social",
    "newsletter",
    "subscribe",
    "popup",
    "modal",
    "related",
    "pagination",
    "pager",
    "skiplink",
    "toc",
    "editsection",
    "noprint",
    "printfooter",
    "catlinks",
    "jump",
];
/// ARIA roles of boilerplate.
const BOILERPLATE_ROLES: &[&str] = &[
    "navigation",
    "banner",
    "contentinfo",
    "complementary",
    "search",
    "menu",
    "menubar",
    "toolbar",
    "dialog",
    "alertdialog",
];

/// Parses a web page.
pub(super) fn parse_page(bytes: &[u8], stem: &str) -> Result<ParsedDocument, SkipReason> {
    let text = decode(bytes);
    let mut builder = DocBuilder::default();
    let page = extract(&text, &mut builder, true);
    if builder.text_chars() == 0 {
        return Err(SkipReason::NoText {
            detail: "the page has no text outside scripts and navigation; if a script builds it, save the rendered page (a browser's reader view or a web clipper)".to_string(),
        });
    }
    let title = page
        .og_title
        .or(page.title)
        .or_else(|| builder.first_heading().map(str::to_string))
        .unwrap_or_else(|| stem.to_string());
    Ok(ParsedDocument {
        kind: SourceKind::Html,
        title,
        metadata: page.metadata,
        blocks: builder.finish(),
        ..ParsedDocument::default()
    })
}

/// What a page says about itself.
#[derive(Default)]
pub(super) struct PageInfo {
    pub title: Option<String>,
    pub og_title: Option<String>,
    /// `description`, `author`, `url` (canonical), `site_name`, `lang`.
    pub metadata: Map<String, Value>,
}

/// Reads `html` into `builder`; `page` turns on the web page heuristics
/// (boilerplate, main content).
pub(super) fn extract(html: &str, builder: &mut DocBuilder, page: bool) -> PageInfo {
    let mut x = Extractor {
        page,
        ..Extractor::default()
    };
    for token in Tokenizer::new(html) {
        match token {
            Token::Start { name, attrs } => x.start(name, &attrs),
            Token::End { name } => x.end(&name),
            Token::Text(t) => x.text(&t),
        }
    }
    while let Some(open) = x.stack.pop() {
        x.close(open);
    }
    x.break_line();
    x.replay(builder);
    x.info.title = x
        .title
        .as_deref()
        .map(|t| super::builder::clean(t, false))
        .filter(|t| !t.is_empty());
    x.info
}

#[derive(Debug, PartialEq)]
enum Unit {
    Heading(u32, String),
    Paragraph(String),
    Preformatted(String),
    Line(String),
    EndGroup,
}

struct Open {
    name: String,
    /// This element starts a skipped subtree.
    skip: bool,
    /// This element is main content.
    main: bool,
}

#[derive(Default)]
struct Extractor {
    page: bool,
    stack: Vec<Open>,
    skip: usize,
    main: usize,
    units: Vec<(Unit, bool)>,
    line: String,
    /// Level of the open heading, whose text gathers in `line`.
    heading: Option<u32>,
    pre: usize,
    /// Open lists: ordered, and the next item number.
    lists: Vec<(bool, u32)>,
    tables: usize,
    cells: usize,
    row_cells: usize,
    prefix: String,
    title: Option<String>,
    in_title: bool,
    info: PageInfo,
}

fn is_void(name: &str) -> bool {
    matches!(
        name,
        "area"
            | "base"
            | "br"
            | "col"
            | "embed"
            | "hr"
            | "img"
            | "input"
            | "link"
            | "meta"
            | "param"
            | "source"
            | "track"
            | "wbr"
    )
}

fn is_block(name: &str) -> bool {
    matches!(
        name,
        "p" | "div"
            | "section"
            | "article"
            | "main"
            | "header"
            | "footer"
            | "aside"
            | "nav"
            | "blockquote"
            | "pre"
            | "figure"
            | "figcaption"
            | "address"
            | "dl"
            | "dt"
            | "dd"
            | "details"
            | "summary"
            | "form"
            | "fieldset"
            | "legend"
            | "center"
            | "li"
            | "ul"
            | "ol"
            | "table"
            | "tr"
            | "td"
            | "th"
            | "caption"
            | "thead"
            | "tbody"
            | "tfoot"
            | "hr"
            | "body"
            | "html"
            | "h1"
            | "h2"
            | "h3"
            | "h4"
            | "h5"
            | "h6"
            | "hgroup"
            | "menu"
            | "dialog"
            | "search"
    )
}

fn heading_level(name: &str) -> Option<u32> {
    match name.as_bytes() {
        [b'h', d @ b'1'..=b'6'] => Some(u32::from(d - b'0')),
        _ => None,
    }
}

fn attr<'a>(attrs: &'a [(String, String)], key: &str) -> Option<&'a str> {
    attrs
        .iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.as_str())
}

impl Extractor {
    fn start(&mut self, name: String, attrs: &[(String, String)]) {
        self.close_implied(&name);
        if name == "meta" || name == "link" || name == "html" {
            self.head_info(&name, attrs);
        }
        if name == "title" && self.title.is_none() {
            self.in_title = true;
        }
        if is_void(&name) {
            if self.skip == 0 {
                match name.as_str() {
                    "br" => self.line_break(),
                    "hr" => self.break_line(),
                    _ => {}
                }
            }
            return;
        }
        let skip = self.skip == 0 && self.skips(&name, attrs);
        let main = name == "main" || name == "article" || attr(attrs, "role") == Some("main");
        if skip {
            self.skip += 1;
        }
        if main {
            self.main += 1;
        }
        let skipped = self.skip > 0;
        self.stack.push(Open {
            name: name.clone(),
            skip,
            main,
        });
        if skipped {
            return;
        }
        if self.cells > 0 {
            // Inside a table cell everything is one line of the row.
            match name.as_str() {
                "td" | "th" => self.line.push_str(" | "),
                _ if is_block(&name) => self.space(),
                _ => {}
            }
            if matches!(name.as_str(), "td" | "th") {
                self.cells += 1;
            }
            return;
        }
        if is_block(&name) && !matches!(name.as_str(), "td" | "th") {
            self.break_line();
        }
        match name.as_str() {
            "pre" => self.pre += 1,
            "ul" | "ol" | "menu" => self.lists.push((name == "ol", 1)),
            "li" => {
                let depth = self.lists.len().clamp(1, MAX_INDENT);
                let marker = match self.lists.last_mut() {
                    Some((true, n)) => {
                        *n += 1;
                        format!("{}. ", *n - 1)
                    }
                    _ => "- ".to_string(),
                };
                self.prefix = format!("{}{marker}", "  ".repeat(depth - 1));
            }
            "table" => self.tables += 1,
            "tr" => self.row_cells = 0,
            "td" | "th" => {
                if self.row_cells > 0 {
                    self.line.push_str(" | ");
                }
                self.row_cells += 1;
                self.cells += 1;
            }
            _ => {
                if let Some(level) = heading_level(&name)
                    && self.lists.is_empty()
                    && self.tables == 0
                {
                    self.heading = Some(level);
                }
            }
        }
    }

    fn end(&mut self, name: &str) {
        let reach = self.stack.len().saturating_sub(END_TAG_REACH);
        let Some(at) = self.stack[reach..].iter().rposition(|o| o.name == name) else {
            return;
        };
        while self.stack.len() > reach + at {
            if let Some(open) = self.stack.pop() {
                self.close(open);
            }
        }
    }

    /// HTML's implied end tags: a new item, row or cell closes the one
    /// still open (up to its list or table), a block closes an open `p`.
    fn close_implied(&mut self, name: &str) {
        let (closes, barrier): (&[&str], &[&str]) = match name {
            "li" => (&["li"], &["ul", "ol", "menu"]),
            "td" | "th" => (&["td", "th"], &["tr", "table"]),
            "tr" => (&["tr"], &["table"]),
            "dt" | "dd" => (&["dt", "dd"], &["dl"]),
            "option" => (&["option"], &["select", "datalist"]),
            _ if is_block(name) => (&["p"], &[]),
            _ => return,
        };
        let reach = self.stack.len().saturating_sub(END_TAG_REACH);
        let mut found = None;
        for (i, open) in self.stack.iter().enumerate().skip(reach).rev() {
            if closes.contains(&open.name.as_str()) {
                found = Some(i);
                break;
            }
            // `p` is only closed when it is the innermost element.
            if barrier.contains(&open.name.as_str()) || closes == ["p"] {
                break;
            }
        }
        if let Some(i) = found {
            while self.stack.len() > i {
                if let Some(open) = self.stack.pop() {
                    self.close(open);
                }
            }
        }
    }

    fn close(&mut self, open: Open) {
        if open.main {
            self.main -= 1;
        }
        if open.skip {
            self.skip -= 1;
            return;
        }
        if self.skip > 0 {
            return;
        }
        let name = open.name.as_str();
        if name == "title" {
            self.in_title = false;
        }
        if matches!(name, "td" | "th") {
            self.cells = self.cells.saturating_sub(1);
            return;
        }
        if self.cells > 0 {
            return;
        }
        if let Some(level) = heading_level(name)
            && self.heading == Some(level)
        {
            self.heading = None;
            let text = std::mem::take(&mut self.line);
            self.push(Unit::Heading(level, text));
            return;
        }
        if is_block(name) {
            self.break_line();
        }
        match name {
            "pre" => self.pre = self.pre.saturating_sub(1),
            "ul" | "ol" | "menu" => {
                self.lists.pop();
                self.end_group_if_done();
            }
            "table" => {
                self.tables = self.tables.saturating_sub(1);
                self.end_group_if_done();
            }
            _ => {}
        }
    }

    fn end_group_if_done(&mut self) {
        if self.lists.is_empty() && self.tables == 0 {
            self.push(Unit::EndGroup);
        }
    }

    /// Whether an element starts a subtree that is not text.
    fn skips(&self, name: &str, attrs: &[(String, String)]) -> bool {
        let never_text = matches!(
            name,
            "script"
                | "style"
                | "noscript"
                | "template"
                | "svg"
                | "iframe"
                | "object"
                | "canvas"
                | "audio"
                | "video"
                | "map"
                | "button"
                | "select"
                | "datalist"
                | "textarea"
                | "dialog"
                | "nav"
        );
        let hidden = attrs.iter().any(|(k, _)| k == "hidden")
            || attr(attrs, "aria-hidden") == Some("true")
            || attr(attrs, "style").is_some_and(|s| {
                let s: String = s.chars().filter(|c| !c.is_whitespace()).collect();
                s.contains("display:none") || s.contains("visibility:hidden")
            });
        if never_text || hidden {
            return true;
        }
        if !self.page {
            return false;
        }
        let outside_content = self.main == 0;
        if matches!(name, "aside" | "footer") || (name == "header" && outside_content) {
            return true;
        }
        if attr(attrs, "role").is_some_and(|r| BOILERPLATE_ROLES.contains(&r)) {
            return true;
        }
        ["class", "id"].iter().any(|key| {
            attr(attrs, key).is_some_and(|v| {
                v.split(|c: char| !c.is_ascii_alphanumeric())
                    .any(|word| BOILERPLATE.contains(&word.to_ascii_lowercase().as_str()))
            })
        })
    }

    fn head_info(&mut self, name: &str, attrs: &[(String, String)]) {
        let meta = &mut self.info.metadata;
        let mut set = |key: &str, value: Option<&str>| {
            if let Some(v) = value.map(str::trim).filter(|v| !v.is_empty()) {
                meta.entry(key)
                    .or_insert_with(|| Value::String(v.to_string()));
            }
        };
        match name {
            "html" => set("lang", attr(attrs, "lang")),
            "link" if attr(attrs, "rel").is_some_and(|r| r.eq_ignore_ascii_case("canonical")) => {
                set("url", attr(attrs, "href"))
            }
            _ => {
                let key = attr(attrs, "property")
                    .or_else(|| attr(attrs, "name"))
                    .unwrap_or("");
                let content = attr(attrs, "content");
                match key.to_ascii_lowercase().as_str() {
                    "og:title" if self.info.og_title.is_none() => {
                        self.info.og_title = content
                            .map(|c| super::builder::clean(c, false))
                            .filter(|c| !c.is_empty());
                    }
                    "description" | "og:description" => set("description", content),
                    "author" => set("author", content),
                    "og:url" => set("url", content),
                    "og:site_name" => set("site_name", content),
                    _ => {}
                }
            }
        }
    }

    fn text(&mut self, t: &str) {
        if self.in_title {
            self.title.get_or_insert_with(String::new).push_str(t);
            return;
        }
        if self.skip > 0 {
            return;
        }
        if self.pre > 0 {
            self.line.push_str(t);
            return;
        }
        let mut words = t.split_whitespace().peekable();
        if t.starts_with(char::is_whitespace) && words.peek().is_some() {
            self.space();
        }
        while let Some(word) = words.next() {
            self.line.push_str(word);
            if words.peek().is_some() {
                self.line.push(' ');
            }
        }
        if t.ends_with(char::is_whitespace) && !t.trim().is_empty() {
            self.space();
        }
    }

    fn space(&mut self) {
        if !self.line.is_empty() && !self.line.ends_with([' ', '\n']) {
            self.line.push(' ');
        }
    }

    fn line_break(&mut self) {
        if self.cells > 0 || self.heading.is_some() {
            self.space();
        } else if self.lists.is_empty() && self.tables == 0 {
            self.line.push('\n');
        } else {
            self.break_line();
        }
    }

    /// Ends the text being gathered: a paragraph, or a line of the open list or table.
    fn break_line(&mut self) {
        if self.heading.is_some() || self.cells > 0 {
            return;
        }
        let text = std::mem::take(&mut self.line);
        let prefix = std::mem::take(&mut self.prefix);
        if text.trim().is_empty() {
            self.prefix = prefix;
            return;
        }
        if self.pre > 0 && self.lists.is_empty() && self.tables == 0 {
            self.push(Unit::Preformatted(text));
        } else if self.lists.is_empty() && self.tables == 0 {
            self.push(Unit::Paragraph(text));
        } else {
            self.push(Unit::Line(format!("{prefix}{}", text.trim())));
        }
    }

    fn push(&mut self, unit: Unit) {
        let main = self.main > 0;
        self.units.push((unit, main));
    }

    /// Feeds the units to the builder: only main content when the page
    /// marks enough of it.
    fn replay(&mut self, builder: &mut DocBuilder) {
        let chars = |main_only: bool| -> usize {
            self.units
                .iter()
                .filter(|(_, m)| *m || !main_only)
                .map(|(u, _)| match u {
                    Unit::Heading(_, t)
                    | Unit::Paragraph(t)
                    | Unit::Preformatted(t)
                    | Unit::Line(t) => t.len(),
                    Unit::EndGroup => 0,
                })
                .sum()
        };
        let main_only = self.page && chars(true) >= MIN_MAIN_CHARS.min(chars(false).max(1));
        for (unit, main) in self.units.drain(..) {
            if main_only && !main && unit != Unit::EndGroup {
                continue;
            }
            match unit {
                Unit::Heading(level, text) => builder.heading(level, &text),
                Unit::Paragraph(text) => builder.paragraph(&text),
                Unit::Preformatted(text) => builder.preformatted(&text),
                Unit::Line(text) => builder.line(&text, 1),
                Unit::EndGroup => builder.end_group(),
            }
        }
        builder.end_group();
    }
}

#[cfg(test)]
mod tests;
