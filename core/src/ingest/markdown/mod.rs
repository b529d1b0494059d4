//! Markdown, as Obsidian writes it: YAML front matter for title, tags,
//! aliases and metadata; CommonMark structure (via pulldown-cmark's offset
//! iterator, wikilinks on) for headings and blocks, so a `#` inside a code
//! fence is never taken for a heading or a tag. On top of that, in text
//! only (never in code): `%% comments %%` are not indexed, inline `#tags`
//! join the front matter's, `[[wikilinks]]` read as their alias or note name
//! and become [`Link`]s, `![[embeds]]` are links too (an attachment's name is
//! not text), callouts label their block, block ids (`^id`) become
//! [`Anchor`]s, `==highlights==` lose their marks, and Dataview fields
//! (`key:: value`) become metadata.
//!
//! Embedded notes are linked, not transcluded: the embedded note is indexed
//! on its own, so copying its text here would return the same passage twice
//! and go stale when only that note changes.

mod callout;
mod front_matter;
mod obsidian;

use std::ops::Range;

use pulldown_cmark::{CowStr, Event, HeadingLevel, LinkType, Options, Parser, Tag, TagEnd};
use serde_json::{Map, Value, json};

use super::refs::attachment_extension;
use super::{
    Anchor, Block, HeadingTracker, LineIndex, Link, ParsedDocument, SourceKind, dedup_tags,
    tags_from_json,
};
use front_matter::{split_front_matter, yaml_to_map};

/// Parses Markdown `text` (already decoded, without BOM); `fallback_title` is
/// used when neither front matter nor a heading gives a title.
pub(super) fn parse(text: &str, fallback_title: &str) -> ParsedDocument {
    parse_parts(text, fallback_title).0
}

/// [`parse`], also returning the inline tags alone (host text lays its own
/// tags over the front matter's but keeps these).
pub(super) fn parse_parts(text: &str, fallback_title: &str) -> (ParsedDocument, Vec<String>) {
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

    let comments = if text[body_start..].contains("%%") {
        obsidian::comment_ranges(text, body_start, &code_ranges(text, body_start))
    } else {
        Vec::new()
    };
    let masked = obsidian::mask(text, &comments);
    let mut walker = Walker {
        src: text,
        masked: &masked,
        index: &index,
        comments: &comments,
        tracker,
        top: None,
        code_depth: 0,
        wiki: None,
        md_link: None,
        last_block: None,
        first_h1: None,
        first_heading: None,
        links: Vec::new(),
        anchors: Vec::new(),
        tags: Vec::new(),
        fields: Vec::new(),
        callouts: Vec::new(),
    };
    walker.run(body_start);
    let Walker {
        tracker,
        first_h1,
        first_heading,
        links,
        anchors,
        tags: inline_tags,
        fields,
        callouts,
        ..
    } = walker;

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
    let mut tags = metadata
        .get("tags")
        .or_else(|| metadata.get("tag"))
        .map(tags_from_json)
        .unwrap_or_default();
    tags.extend(inline_tags.iter().cloned());
    let aliases = aliases_of(&metadata);
    for (key, value) in fields {
        add_field(&mut metadata, key, value);
    }
    if !callouts.is_empty() {
        metadata.entry("callouts").or_insert(Value::Array(callouts));
    }
    let doc = ParsedDocument {
        kind: SourceKind::Markdown,
        title,
        tags: dedup_tags(tags),
        aliases,
        metadata,
        blocks: tracker.finish(),
        links,
        anchors,
    };
    (doc, inline_tags)
}

fn options() -> Options {
    Options::ENABLE_TABLES
        | Options::ENABLE_FOOTNOTES
        | Options::ENABLE_STRIKETHROUGH
        | Options::ENABLE_TASKLISTS
        | Options::ENABLE_GFM
        | Options::ENABLE_WIKILINKS
}

/// Byte ranges of code (fenced and indented blocks, inline spans) in
/// `text[from..]`, in order: where `%%` opens no comment.
fn code_ranges(text: &str, from: usize) -> Vec<Range<usize>> {
    let mut out = Vec::new();
    for (event, r) in Parser::new_ext(&text[from..], options()).into_offset_iter() {
        if matches!(event, Event::Code(_) | Event::Start(Tag::CodeBlock(_))) {
            out.push(r.start + from..r.end + from);
        }
    }
    out
}

/// The `aliases` (or `alias`) of front matter or host metadata.
pub(super) fn aliases_of(metadata: &Map<String, Value>) -> Vec<String> {
    metadata
        .get("aliases")
        .or_else(|| metadata.get("alias"))
        .map(aliases_from_json)
        .unwrap_or_default()
}

/// Aliases from front matter: a list of names, or one string of names
/// separated by commas (names may hold spaces).
fn aliases_from_json(value: &Value) -> Vec<String> {
    let raw: Vec<String> = match value {
        Value::Array(items) => items
            .iter()
            .filter_map(|v| match v {
                Value::String(s) => Some(s.clone()),
                Value::Number(n) => Some(n.to_string()),
                _ => None,
            })
            .collect(),
        Value::String(s) => s.split(',').map(str::to_string).collect(),
        _ => Vec::new(),
    };
    let mut out: Vec<String> = Vec::new();
    for alias in raw {
        let alias = alias.trim();
        if !alias.is_empty() && !out.iter().any(|a| a == alias) {
            out.push(alias.to_string());
        }
    }
    out
}

/// Adds a Dataview field to the metadata; a key seen before (in front
/// matter or an earlier field) collects its values in a list.
fn add_field(metadata: &mut Map<String, Value>, key: String, value: String) {
    let value = Value::String(value);
    match metadata.get_mut(&key) {
        None => {
            metadata.insert(key, value);
        }
        Some(Value::Array(items)) => items.push(value),
        Some(other) => {
            let first = other.take();
            *other = Value::Array(vec![first, value]);
        }
    }
}

/// A replacement of source bytes in a block's text.
#[derive(Debug, Clone)]
struct Edit {
    range: Range<usize>,
    with: String,
}

/// The top-level element being read: a heading, paragraph, list, quote,
/// table or code block, with what was found inside it.
struct Top {
    range: Range<usize>,
    heading: Option<u32>,
    quote: bool,
    /// A code or HTML block: not scanned for Obsidian syntax.
    verbatim: bool,
    paragraph: bool,
    edits: Vec<Edit>,
    /// Ranges of plain text events: where tags, highlights, block ids and
    /// fields may be.
    texts: Vec<Range<usize>>,
    /// Paragraphs and list items: what a block id names.
    units: Vec<Range<usize>>,
    /// The heading's readable text.
    title: String,
}

/// A wikilink or Markdown link being read.
struct OpenLink {
    range: Range<usize>,
    dest: String,
    wiki: bool,
    pothole: bool,
    embed: bool,
    text: String,
}

/// Walks the events of the (comment-masked) body and builds blocks, links
/// and anchors.
struct Walker<'a> {
    src: &'a str,
    masked: &'a str,
    index: &'a LineIndex<'a>,
    comments: &'a [Range<usize>],
    tracker: HeadingTracker,
    top: Option<Top>,
    code_depth: usize,
    wiki: Option<OpenLink>,
    md_link: Option<OpenLink>,
    /// Byte range of the last block, which a block id on a line of its own names.
    last_block: Option<Range<usize>>,
    first_h1: Option<String>,
    first_heading: Option<String>,
    links: Vec<Link>,
    anchors: Vec<Anchor>,
    tags: Vec<String>,
    fields: Vec<(String, String)>,
    callouts: Vec<Value>,
}

impl Walker<'_> {
    fn run(&mut self, body_start: usize) {
        let masked = self.masked;
        let body = &masked[body_start..];
        // Nesting depth of start/end tags: only depth-0 elements become blocks, so
        // a list or block quote is one block and a heading inside it is content.
        let mut depth = 0usize;
        for (event, range) in Parser::new_ext(body, options()).into_offset_iter() {
            let range = range.start + body_start..range.end + body_start;
            match event {
                Event::Start(tag) => {
                    if depth == 0 {
                        self.top = Some(Top {
                            range: range.clone(),
                            heading: match tag {
                                Tag::Heading { level, .. } => Some(level_number(level)),
                                _ => None,
                            },
                            quote: matches!(tag, Tag::BlockQuote(_)),
                            verbatim: matches!(tag, Tag::CodeBlock(_) | Tag::HtmlBlock),
                            paragraph: matches!(tag, Tag::Paragraph),
                            edits: Vec::new(),
                            texts: Vec::new(),
                            units: Vec::new(),
                            title: String::new(),
                        });
                    }
                    depth += 1;
                    self.start(tag, range);
                }
                Event::End(tag) => {
                    self.end(tag);
                    depth = depth.saturating_sub(1);
                    if depth == 0 {
                        self.finish_top();
                    }
                }
                Event::Text(s) => self.text(&s, range),
                Event::Code(s) | Event::InlineMath(s) | Event::DisplayMath(s) => {
                    self.heading_text(&s)
                }
                Event::SoftBreak | Event::HardBreak => self.heading_text(" "),
                _ => {}
            }
        }
    }

    fn start(&mut self, tag: Tag<'_>, range: Range<usize>) {
        match tag {
            Tag::CodeBlock(_) | Tag::HtmlBlock => self.code_depth += 1,
            Tag::Paragraph | Tag::Item => {
                if let Some(top) = self.top.as_mut() {
                    top.units.push(range);
                }
            }
            Tag::Link {
                link_type,
                dest_url,
                ..
            } => self.open_link(range, link_type, dest_url, false),
            Tag::Image {
                link_type,
                dest_url,
                ..
            } => self.open_link(range, link_type, dest_url, true),
            _ => {}
        }
    }

    fn open_link(
        &mut self,
        range: Range<usize>,
        link_type: LinkType,
        dest: CowStr<'_>,
        embed: bool,
    ) {
        let wiki = matches!(link_type, LinkType::WikiLink { .. });
        let link = OpenLink {
            range,
            dest: dest.to_string(),
            wiki,
            pothole: matches!(link_type, LinkType::WikiLink { has_pothole: true }),
            embed,
            text: String::new(),
        };
        if wiki {
            self.wiki = Some(link);
        } else {
            self.md_link = Some(link);
        }
    }

    fn end(&mut self, tag: TagEnd) {
        match tag {
            TagEnd::CodeBlock | TagEnd::HtmlBlock => {
                self.code_depth = self.code_depth.saturating_sub(1)
            }
            TagEnd::Link | TagEnd::Image => {
                if let Some(link) = self.wiki.take().or_else(|| self.md_link.take()) {
                    self.close_link(link);
                }
            }
            _ => {}
        }
    }

    fn text(&mut self, s: &str, range: Range<usize>) {
        if self.code_depth > 0 {
            return;
        }
        if let Some(wiki) = self.wiki.as_mut() {
            wiki.text.push_str(s);
            return;
        }
        if let Some(link) = self.md_link.as_mut() {
            link.text.push_str(s);
        }
        self.heading_text(s);
        if let Some(top) = self.top.as_mut() {
            top.texts.push(range);
        }
    }

    fn heading_text(&mut self, s: &str) {
        if self.wiki.is_some() {
            return;
        }
        if let Some(top) = self.top.as_mut().filter(|t| t.heading.is_some()) {
            top.title.push_str(s);
        }
    }

    /// Records a finished link; a wikilink's source is replaced by what a
    /// reader sees (an attachment embed by nothing).
    fn close_link(&mut self, link: OpenLink) {
        let (target, alias) = if link.wiki {
            let target = obsidian::split_target(&link.dest);
            let alias = link
                .pothole
                .then(|| link.text.trim().to_string())
                .filter(|a| !a.is_empty());
            let shown = if link.embed && attachment_extension(&target.note) {
                String::new()
            } else {
                alias.clone().unwrap_or_else(|| target.display())
            };
            if let Some(top) = self.top.as_mut() {
                if top.heading.is_some() {
                    top.title.push_str(&shown);
                }
                top.edits.push(Edit {
                    range: link.range.clone(),
                    with: shown,
                });
            }
            (target, alias)
        } else {
            let Some(dest) = obsidian::local_destination(&link.dest) else {
                return;
            };
            let alias = Some(link.text.trim().to_string()).filter(|a| !a.is_empty());
            (obsidian::split_target(&dest), alias)
        };
        let start = link.range.start;
        self.links.push(Link {
            target: target.note,
            heading: target.heading,
            block: target.block,
            alias,
            embed: link.embed,
            char_start: self.index.char_of(start),
            char_end: self.index.char_of(link.range.end),
            line: Some(self.index.line_of(start) as u32 + 1),
        });
    }

    /// Turns the finished top-level element into a heading or a block.
    fn finish_top(&mut self) {
        let Some(mut top) = self.top.take() else {
            return;
        };
        let masked = self.masked;
        for r in &top.texts {
            obsidian::scan_tags(masked, r.clone(), &mut self.tags);
        }
        if let Some(level) = top.heading {
            self.finish_heading(level, top);
            return;
        }
        if top.verbatim {
            self.push_block(top.range, top.edits, None);
            return;
        }
        if top.paragraph
            && let Some(id) = obsidian::lone_block_id(&masked[top.range.clone()])
        {
            // `^id` on a line of its own names the block before it.
            if let Some(before) = self.last_block.clone() {
                self.add_anchor(id, before);
            }
            return;
        }
        for mark in obsidian::highlight_marks(masked, &top.texts) {
            top.edits.push(Edit {
                range: mark,
                with: String::new(),
            });
        }
        for r in &top.texts {
            if let Some((id, cut)) = obsidian::trailing_block_id(masked, r.clone()) {
                // Units start in source order and nest, so the innermost
                // one holding the id is the last to start before it that
                // holds it (looking through all units for each id was
                // quadratic in a long list).
                let before = top.units.partition_point(|u| u.start <= cut.start);
                let unit = top.units[..before]
                    .iter()
                    .rev()
                    .find(|u| u.contains(&cut.start))
                    .cloned()
                    .unwrap_or_else(|| top.range.clone());
                top.edits.push(Edit {
                    range: cut,
                    with: String::new(),
                });
                self.add_anchor(id, unit);
            }
        }
        self.scan_fields(&top);
        let mut label = None;
        if top.quote
            && let Some(c) = callout::detect(masked, top.range.start)
        {
            self.callouts.push(json!({
                "type": c.kind,
                "title": c.label,
                "line": self.index.line_of(top.range.start) + 1,
            }));
            top.edits.push(Edit {
                range: c.marker,
                with: String::new(),
            });
            label = Some(c.label);
        }
        self.push_block(top.range, top.edits, label);
    }

    fn finish_heading(&mut self, level: u32, mut top: Top) {
        for mark in obsidian::highlight_marks(self.masked, &top.texts) {
            top.edits.push(Edit {
                range: mark,
                with: String::new(),
            });
        }
        let title = collapse_whitespace(&strip_highlights(&top.title));
        let Some((own_block, _)) = self.readable_block(top.range, top.edits) else {
            return;
        };
        if title.is_empty() {
            // `#` alone: nothing to put in a path, keep it as text.
            self.tracker.push(own_block);
            return;
        }
        if level == 1 && self.first_h1.is_none() {
            self.first_h1 = Some(title.clone());
        }
        self.first_heading.get_or_insert_with(|| title.clone());
        self.tracker.open(level, title, own_block);
    }

    fn push_block(&mut self, range: Range<usize>, edits: Vec<Edit>, label: Option<String>) {
        if let Some((block, trimmed)) = self.readable_block(range, edits) {
            self.tracker.push_labelled(block, label);
            self.last_block = Some(trimmed);
        }
    }

    /// Dataview fields on the lines of `top` whose `::` is in plain text.
    fn scan_fields(&mut self, top: &Top) {
        let src = &self.masked[top.range.clone()];
        if !src.contains("::") {
            return;
        }
        // Text ranges come in source order and never overlap, so the one
        // that may hold `at` is found by binary search (looking through all
        // of them for each line was quadratic: 100 000 `key:: value` lines
        // took minutes).
        let in_texts = |at: usize| {
            let after = top.texts.partition_point(|t| t.start <= at);
            after > 0 && top.texts[after - 1].contains(&at)
        };
        let mut offset = top.range.start;
        for line in src.split_inclusive('\n') {
            let in_text = line.match_indices("::").any(|(i, _)| in_texts(offset + i));
            if in_text {
                self.fields.extend(obsidian::inline_fields(line.trim_end()));
            }
            offset += line.len();
        }
    }

    /// Names the source range `range` (trimmed) `id`. Only its position is
    /// worked out: copying its text for each id was quadratic in a
    /// paragraph of many `^id` lines.
    fn add_anchor(&mut self, id: String, range: Range<usize>) {
        let slice = &self.src[range.clone()];
        let start = range.start + (slice.len() - slice.trim_start().len());
        let end = range.start + slice.trim_end().len();
        if start >= end {
            return;
        }
        self.anchors.push(Anchor {
            id,
            char_start: self.index.char_of(start),
            char_end: self.index.char_of(end),
            lines: Some((
                self.index.line_of(start) as u32 + 1,
                self.index.line_of(end - 1) as u32 + 1,
            )),
        });
    }

    /// The block for source bytes `range` (trimmed) with `edits` and the
    /// comments in it applied to its text; `None` when no text is left.
    /// Also returns the trimmed byte range.
    fn readable_block(
        &self,
        range: Range<usize>,
        mut edits: Vec<Edit>,
    ) -> Option<(Block, Range<usize>)> {
        let m = &self.masked[range.clone()];
        let start = range.start + (m.len() - m.trim_start().len());
        let end = range.start + m.trim_end().len();
        if start >= end {
            return None;
        }
        let mut block = self.index.block_trim_end(start, end)?;
        // Comments are in source order and apart: only those from the
        // first ending after `start` can overlap (looking at all of them
        // for each block was quadratic).
        let first = self.comments.partition_point(|c| c.end <= start);
        for c in self.comments[first..].iter().take_while(|c| c.start < end) {
            let (a, b) = (c.start.max(start), c.end.min(end));
            if a < b {
                edits.push(Edit {
                    range: a..b,
                    with: "\n".repeat(self.src[a..b].matches('\n').count()),
                });
            }
        }
        if !edits.is_empty() {
            edits.sort_by_key(|e| e.range.start);
            let mut text = String::with_capacity(end - start);
            let mut pos = start;
            for e in edits {
                if e.range.start < pos || e.range.end > end {
                    continue;
                }
                text.push_str(&self.src[pos..e.range.start]);
                text.push_str(&e.with);
                pos = e.range.end;
            }
            text.push_str(&self.src[pos..end]);
            let text = text.trim();
            if text.is_empty() {
                return None;
            }
            block.text = text.to_string();
        }
        Some((block, start..end))
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

/// `s` without its highlight marks.
fn strip_highlights(s: &str) -> String {
    let whole = 0..s.len();
    let marks = obsidian::highlight_marks(s, std::slice::from_ref(&whole));
    let mut out = String::with_capacity(s.len());
    let mut pos = 0;
    for m in marks {
        out.push_str(&s[pos..m.start]);
        pos = m.end;
    }
    out.push_str(&s[pos..]);
    out
}

#[cfg(test)]
mod tests;
