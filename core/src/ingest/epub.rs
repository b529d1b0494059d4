//! E-books (EPUB 2 and 3): the package document named by
//! `META-INF/container.xml` gives the title and the spine, the reading
//! order of the XHTML chapters; each chapter is read as HTML (headings,
//! lists, tables; navigation left out), one at a time, and its blocks carry
//! the chapter's position and file as their locator.

use std::collections::HashMap;

use serde_json::{Map, Value};

use super::builder::DocBuilder;
use super::container::{self, Kind};
use super::html;
use super::refs::percent_decode;
use super::xml::{self, XmlEvent, attr, name};
use super::zip::Archive;
use super::{IngestLimits, ParsedDocument, SkipReason, SourceKind};

pub(super) fn parse(
    bytes: &[u8],
    stem: &str,
    limits: &IngestLimits,
) -> Result<ParsedDocument, SkipReason> {
    let archive = container::open(bytes, Kind::Epub, limits)?;
    let opf = rootfile(&archive)?;
    let package = Package::read(&archive, &opf, limits.max_archive_entries)?;
    let dir = opf.rsplit_once('/').map_or("", |(d, _)| d);
    let mut builder = DocBuilder::default();
    let mut missing = Vec::new();
    for (i, href) in package.spine.iter().enumerate() {
        let path = resolve(dir, href);
        if !archive.contains(&path) {
            missing.push(Value::String(path));
            continue;
        }
        let raw = archive.read_all(&path, "a chapter", limits.max_file_bytes)?;
        let text = html::decode(&raw);
        let prolog = &text[..text.find("<html").unwrap_or(text.len())];
        if xml::declares_entities(prolog) {
            return Err(SkipReason::XmlEntities);
        }
        builder.start_chapter(i as u32 + 1, &path);
        html::extract(&text, &mut builder, false);
    }
    if builder.text_chars() == 0 {
        return Err(SkipReason::NoText {
            detail: "the e-book's chapters hold no text (a comic or scanned book?); if it holds scans, run OCR on them".to_string(),
        });
    }
    let mut metadata = package.metadata;
    if !missing.is_empty() {
        metadata.insert("missing_chapters".to_string(), Value::Array(missing));
    }
    let title = package
        .title
        .or_else(|| builder.first_heading().map(str::to_string))
        .unwrap_or_else(|| stem.to_string());
    Ok(ParsedDocument {
        kind: SourceKind::Epub,
        title,
        metadata,
        blocks: builder.finish(),
        ..ParsedDocument::default()
    })
}

/// The package document's path, from the container file.
fn rootfile(archive: &Archive<'_>) -> Result<String, SkipReason> {
    let mut path = None;
    xml::walk(
        archive,
        "META-INF/container.xml",
        "the e-book's container file",
        &mut |e| {
            if let XmlEvent::Start { element, .. } = e
                && local(name(element)) == "rootfile"
                && path.is_none()
            {
                path = attr(element, "full-path");
            }
            Ok(())
        },
    )?;
    path.ok_or_else(|| SkipReason::ArchiveCorrupt {
        detail: "the container file names no package document".to_string(),
    })
}

fn local(qname: &str) -> &str {
    qname.rsplit(':').next().unwrap_or(qname)
}

/// What the package document says: title, other metadata, and the
/// chapters in reading order (hrefs relative to it).
struct Package {
    title: Option<String>,
    metadata: Map<String, Value>,
    spine: Vec<String>,
}

impl Package {
    /// Reads the package at `path`; no more than `max_items` manifest and
    /// spine entries are kept (the archive has no more files than that).
    fn read(archive: &Archive<'_>, path: &str, max_items: usize) -> Result<Self, SkipReason> {
        let mut title: Option<String> = None;
        let mut fields: Vec<(String, String)> = Vec::new();
        let mut manifest: Vec<(String, String, String)> = Vec::new();
        let mut spine_ids: Vec<String> = Vec::new();
        let mut open: Option<(String, String)> = None;
        xml::walk(archive, path, "the package document", &mut |e| {
            match e {
                XmlEvent::Start { element, empty } => match local(name(element)) {
                    "item" if manifest.len() < max_items => manifest.push((
                        attr(element, "id").unwrap_or_default(),
                        attr(element, "href").unwrap_or_default(),
                        attr(element, "media-type").unwrap_or_default(),
                    )),
                    "itemref" if spine_ids.len() < max_items => {
                        spine_ids.extend(attr(element, "idref"))
                    }
                    field @ ("title" | "creator" | "language" | "subject" | "publisher")
                        if !empty =>
                    {
                        open = Some((field.to_string(), String::new()));
                    }
                    _ => {}
                },
                XmlEvent::Text(t) => {
                    if let Some((_, text)) = open.as_mut() {
                        text.push_str(t);
                    }
                }
                XmlEvent::End(_) => {
                    if let Some((field, text)) = open.take() {
                        let text = text.split_whitespace().collect::<Vec<_>>().join(" ");
                        if field == "title" && title.is_none() && !text.is_empty() {
                            title = Some(text);
                        } else if !text.is_empty() {
                            fields.push((field, text));
                        }
                    }
                }
            }
            Ok(())
        })?;
        let mut metadata = Map::new();
        for (field, text) in fields {
            let key = match field.as_str() {
                "creator" => "author",
                other => other,
            };
            match metadata.get_mut(key) {
                Some(Value::Array(items)) => items.push(Value::String(text)),
                Some(other) => {
                    let first = other.take();
                    *other = Value::Array(vec![first, Value::String(text)]);
                }
                None => {
                    metadata.insert(key.to_string(), Value::String(text));
                }
            }
        }
        let by_id: HashMap<&str, (&str, &str)> = manifest
            .iter()
            .map(|(id, href, media)| (id.as_str(), (href.as_str(), media.as_str())))
            .collect();
        let spine = spine_ids
            .iter()
            .filter_map(|id| by_id.get(id.as_str()))
            .filter(|(_, media)| media.contains("html") || media.is_empty())
            .map(|(href, _)| href.to_string())
            .collect();
        Ok(Package {
            title,
            metadata,
            spine,
        })
    }
}

/// The archive path of `href` (percent-encoded, relative to `dir`, maybe
/// with a fragment), with `.` and `..` resolved.
fn resolve(dir: &str, href: &str) -> String {
    let href = href.split('#').next().unwrap_or(href);
    let href = percent_decode(href);
    let mut parts: Vec<&str> = if href.starts_with('/') {
        Vec::new()
    } else {
        dir.split('/').filter(|p| !p.is_empty()).collect()
    };
    for part in href.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            p => parts.push(p),
        }
    }
    parts.join("/")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ingest::testdata::{chapter, epub, zip_of};

    #[test]
    fn spine_order_chapters_and_locators() {
        // The spine lists the chapters in reverse of the manifest.
        let two = chapter(
            "<h1>Two</h1><p>Second chapter&#8217;s text.</p><h2>Part</h2><ul><li>a</li><li>b</li></ul>",
        );
        let one = chapter(
            "<nav epub:type=\"toc\"><ol><li>One</li><li>Two</li></ol></nav><h1>One</h1><p>First.</p>",
        );
        let bytes = epub(
            &[("text/ch 2.xhtml", &two), ("text/ch1.xhtml", &one)],
            "A &amp; B",
        );
        let doc = parse(&bytes, "stem", &IngestLimits::default()).unwrap();
        assert_eq!(doc.kind, SourceKind::Epub);
        assert_eq!(doc.title, "A & B");
        assert_eq!(doc.metadata["author"], serde_json::json!(["Ann", "Bo"]));
        assert_eq!(doc.metadata["language"], "en");
        let summary: Vec<(String, String, String, String)> = doc
            .blocks
            .iter()
            .map(|b| {
                let l = b.locator.as_ref().unwrap();
                (
                    b.heading_path.join(" > "),
                    b.text.clone(),
                    l.to_string(),
                    l.part.clone().unwrap(),
                )
            })
            .collect();
        assert_eq!(
            summary,
            [
                (
                    "One".into(),
                    "First.".into(),
                    "chapter 1, ¶ 2".into(),
                    "OEBPS/text/ch1.xhtml".into()
                ),
                (
                    "Two".into(),
                    "Second chapter\u{2019}s text.".into(),
                    "chapter 2, ¶ 2".into(),
                    "OEBPS/text/ch 2.xhtml".into()
                ),
                (
                    "Two > Part".into(),
                    "- a\n- b".into(),
                    "chapter 2, ¶ 4–5".into(),
                    "OEBPS/text/ch 2.xhtml".into()
                ),
            ]
        );
    }

    #[test]
    fn entity_declarations_in_chapters_are_refused() {
        let bomb = "<?xml version=\"1.0\"?><!DOCTYPE html [<!ENTITY a \"aaaa\"><!ENTITY b \"&a;&a;&a;&a;\">]><html><body><p>&b;</p></body></html>";
        let err = parse(
            &epub(&[("c.xhtml", bomb)], "T"),
            "stem",
            &IngestLimits::default(),
        )
        .unwrap_err();
        assert_eq!(err, SkipReason::XmlEntities);
    }

    #[test]
    fn missing_parts_and_empty_books() {
        let no_container = zip_of(&[("mimetype", b"application/epub+zip")]);
        let err = parse(&no_container, "s", &IngestLimits::default()).unwrap_err();
        assert_eq!(err.code(), "archive_corrupt");
        assert!(err.to_string().contains("container"), "{err}");
        let images_only = epub(&[("c.xhtml", &chapter("<img src=\"p1.jpg\"/>"))], "Comic");
        assert_eq!(
            parse(&images_only, "s", &IngestLimits::default())
                .unwrap_err()
                .code(),
            "no_text"
        );
    }

    #[test]
    fn hrefs_resolve_against_the_package() {
        assert_eq!(
            resolve("OEBPS", "text/ch%201.xhtml#p3"),
            "OEBPS/text/ch 1.xhtml"
        );
        assert_eq!(
            resolve("OEBPS/pkg", "../text/./c.xhtml"),
            "OEBPS/text/c.xhtml"
        );
        assert_eq!(resolve("", "c.xhtml"), "c.xhtml");
    }
}
