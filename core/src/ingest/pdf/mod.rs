//! PDF: the text layer of each page, read by our own content-stream
//! interpreter on top of lopdf's object parser.
//!
//! The work runs on a scoped thread with a large stack (nested objects
//! recurse) that is always joined: a deadline or a [`CancelToken`] is checked
//! between operators and pages, so the extraction itself stops and no thread
//! outlives the call. Panics are caught and become a skip reason.

mod budget;
mod cmap;
mod collections;
mod content;
mod encoding;
mod font;
mod glyphs;
mod layout;
mod lexer;
mod objects;
mod pages;
mod program;
mod repair;
mod sniff;
mod std14;
#[cfg(test)]
mod testpdf;

use std::panic::{self, AssertUnwindSafe};
use std::thread;
use std::time::Instant;

use lopdf::{Document, LoadOptions, Object, ObjectId};
use serde_json::{Map, Value};

use super::{Block, IngestLimits, LineIndex, ParsedDocument, SkipReason, SourceKind};
use crate::CancelToken;
use budget::{Budget, Stop};

/// Stack for the extraction thread: lopdf's parser recurses into nested
/// objects, and a stack overflow aborts the process (it cannot be caught).
/// Virtual memory, only touched as far as used.
const EXTRACT_STACK_BYTES: usize = 64 * 1024 * 1024;

/// Largest stream lopdf may inflate while loading (object and xref streams).
const MAX_LOAD_STREAM_BYTES: usize = 64 * 1024 * 1024;

/// Text kept from one document; pages past it are not read (a 3,338-page
/// manual has 7 MB). Keeps a crafted file from filling memory with text.
const MAX_TEXT_BYTES: usize = 64 * 1024 * 1024;

/// The text of a document: one string per page, plus what the pages say.
struct Extracted {
    pages: Vec<String>,
    title: Option<String>,
    /// 1-based numbers of pages with no readable text (they need OCR).
    ocr_pages: Vec<u32>,
    /// Pages with a content stream that could not be decoded.
    damaged_pages: usize,
    /// Pages not read because the document's text passed [`MAX_TEXT_BYTES`].
    unread_pages: Vec<u32>,
}

/// Parses a PDF; `fallback_title` is used when its metadata has no title.
pub(super) fn parse(
    bytes: &[u8],
    fallback_title: &str,
    limits: &IngestLimits,
    cancel: Option<&CancelToken>,
) -> Result<ParsedDocument, SkipReason> {
    if let Some(what) = sniff::not_pdf(bytes) {
        return Err(SkipReason::NotPdf {
            detail: what.to_string(),
        });
    }
    let mut budget = Budget::new(Instant::now() + limits.pdf_timeout, cancel.cloned());
    let seconds = limits.pdf_timeout.as_secs_f64().ceil() as u64;
    let extracted = isolated(|| extract(bytes, &mut budget))?.map_err(|e| match e {
        Failure::Stop(Stop::Timeout) => SkipReason::PdfTimeout { seconds },
        Failure::Stop(Stop::Cancelled) => SkipReason::Cancelled,
        Failure::Skip(reason) => reason,
    })?;
    if extracted.pages.iter().all(|p| p.trim().is_empty()) {
        return Err(SkipReason::PdfNoText {
            pages: extracted.pages.len() as u32,
        });
    }
    let mut metadata = Map::new();
    metadata.insert("pdf_pages".into(), Value::from(extracted.pages.len()));
    if !extracted.ocr_pages.is_empty() {
        metadata.insert(
            "pdf_pages_without_text".into(),
            Value::from(page_ranges(&extracted.ocr_pages)),
        );
    }
    if !extracted.unread_pages.is_empty() {
        metadata.insert(
            "pdf_pages_not_read".into(),
            Value::from(page_ranges(&extracted.unread_pages)),
        );
    }
    if extracted.damaged_pages > 0 {
        metadata.insert(
            "pdf_damaged_pages".into(),
            Value::from(extracted.damaged_pages),
        );
    }
    Ok(ParsedDocument {
        kind: SourceKind::Pdf,
        title: extracted
            .title
            .unwrap_or_else(|| fallback_title.to_string()),
        tags: Vec::new(),
        metadata,
        blocks: blocks(&extracted.pages),
        ..ParsedDocument::default()
    })
}

enum Failure {
    Stop(Stop),
    Skip(SkipReason),
}

impl From<Stop> for Failure {
    fn from(s: Stop) -> Self {
        Failure::Stop(s)
    }
}

fn corrupt(detail: impl Into<String>) -> Failure {
    Failure::Skip(SkipReason::PdfCorrupt {
        detail: detail.into(),
    })
}

fn extract(bytes: &[u8], budget: &mut Budget) -> Result<Extracted, Failure> {
    let options = LoadOptions {
        max_decompressed_size: Some(MAX_LOAD_STREAM_BYTES),
        filter: Some(keep_for_text),
        ..LoadOptions::default()
    };
    let mut doc = Document::load_mem_with_options(bytes, options).map_err(|e| {
        if truncated(bytes) {
            Failure::Skip(SkipReason::PdfTruncated {
                size: bytes.len() as u64,
            })
        } else {
            load_error(e)
        }
    })?;
    budget.check_now()?;
    repair::missing_objects(&mut doc, bytes);
    budget.check_now()?;
    if doc.trailer.get(b"Encrypt").is_ok() {
        return Err(Failure::Skip(SkipReason::PdfEncrypted {
            detail: "it needs a password to open".to_string(),
        }));
    }
    let pages = pages::pages(&doc);
    if pages.is_empty() {
        return Err(corrupt("it has no readable pages"));
    }
    let mut fonts = content::FontCache::default();
    let mut texts = Vec::with_capacity(pages.len());
    let mut ocr_pages = Vec::new();
    let mut damaged_pages = 0;
    let mut text_bytes = 0;
    let mut unread_pages = Vec::new();
    for (number, page) in (1u32..).zip(&pages) {
        budget.check_now()?;
        if text_bytes > MAX_TEXT_BYTES {
            unread_pages.push(number);
            texts.push(String::new());
            continue;
        }
        let text = match page.dict {
            Some(dict) => {
                let glyphs = content::run_page(&doc, dict, page.resources, &mut fonts, budget)?;
                let text = layout::page_text(&glyphs.glyphs, &glyphs.text);
                // Mostly unknown glyphs: the text layer is unreadable there.
                if glyphs.unknown > glyphs.glyphs.len() {
                    ocr_pages.push(number);
                }
                if glyphs.dropped_streams > 0 {
                    damaged_pages += 1;
                }
                text
            }
            None => String::new(),
        };
        if text.trim().is_empty() && ocr_pages.last() != Some(&number) {
            ocr_pages.push(number);
        }
        text_bytes += text.len();
        texts.push(text);
    }
    let title = doc
        .trailer
        .get(b"Info")
        .ok()
        .and_then(|i| objects::deref(&doc, i))
        .and_then(|i| i.as_dict().ok())
        .and_then(|info| objects::get(&doc, info, b"Title"))
        .and_then(objects::text_string);
    if damaged_pages > 0 && texts.iter().all(|t| t.trim().is_empty()) {
        return Err(corrupt(format!(
            "its compressed data is damaged: no page has readable text, and the content of {damaged_pages} of its {} pages does not inflate",
            texts.len()
        )));
    }
    Ok(Extracted {
        pages: texts,
        title,
        ocr_pages,
        damaged_pages,
        unread_pages,
    })
}

/// Which objects loading keeps: none of those that never carry page text
/// (annotations, structure elements, image and metadata data), which are
/// most objects of a large linked manual and half its memory.
///
/// lopdf keeps using the object it passed for streams and objects outside
/// object streams, and the returned copy for objects inside them (which are
/// never streams); so a stream is changed in place and others are copied.
fn keep_for_text(id: ObjectId, obj: &mut Object) -> Option<(ObjectId, Object)> {
    let type_of = |d: &lopdf::Dictionary, key: &[u8]| {
        d.get(key)
            .ok()
            .and_then(|t| t.as_name().ok())
            .map(<[u8]>::to_vec)
    };
    match obj {
        Object::Stream(s) => {
            let drop_data = matches!(type_of(&s.dict, b"Subtype").as_deref(), Some(b"Image"))
                || matches!(
                    type_of(&s.dict, b"Type").as_deref(),
                    Some(b"Metadata" | b"EmbeddedFile")
                );
            if drop_data {
                s.content = Vec::new();
            }
            Some((id, Object::Null))
        }
        Object::Dictionary(d)
            if matches!(
                type_of(d, b"Type").as_deref(),
                Some(b"Annot" | b"StructElem" | b"OBJR" | b"MCR")
            ) =>
        {
            None
        }
        other => Some((id, other.clone())),
    }
}

/// No `%%EOF` near the end: the file was cut off (a partial download or
/// copy), which is why it does not load.
fn truncated(bytes: &[u8]) -> bool {
    let tail = &bytes[bytes.len().saturating_sub(1024)..];
    !tail.windows(5).any(|w| w == b"%%EOF")
}

fn load_error(e: lopdf::Error) -> Failure {
    match e {
        lopdf::Error::InvalidPassword => Failure::Skip(SkipReason::PdfEncrypted {
            detail: "the password given does not open it".to_string(),
        }),
        lopdf::Error::UnsupportedSecurityHandler(h) => Failure::Skip(SkipReason::PdfEncrypted {
            detail: format!(
                "it uses the {} security handler, which trove cannot open",
                String::from_utf8_lossy(&h)
            ),
        }),
        lopdf::Error::Decryption(d) => Failure::Skip(SkipReason::PdfEncrypted {
            detail: format!("it cannot be decrypted ({d})"),
        }),
        other => corrupt(other.to_string()),
    }
}

/// Runs `work` on a scoped thread with a large stack, joined before
/// returning; a panic becomes [`SkipReason::PdfPanic`].
fn isolated<T: Send>(work: impl FnOnce() -> T + Send) -> Result<T, SkipReason> {
    thread::scope(|scope| {
        let handle = thread::Builder::new()
            .name("trove-pdf".to_string())
            .stack_size(EXTRACT_STACK_BYTES)
            .spawn_scoped(scope, || panic::catch_unwind(AssertUnwindSafe(work)))
            .map_err(|e| SkipReason::Io {
                detail: format!("could not start a thread for PDF extraction: {e}"),
            })?;
        match handle.join() {
            Ok(Ok(value)) => Ok(value),
            Ok(Err(payload)) => Err(SkipReason::PdfPanic {
                detail: panic_message(payload.as_ref()),
            }),
            Err(payload) => Err(SkipReason::PdfPanic {
                detail: panic_message(payload.as_ref()),
            }),
        }
    })
}

fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_string()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "panic without a message".to_string()
    }
}

/// "1-3, 7": page numbers as ranges, for the metadata and messages.
fn page_ranges(pages: &[u32]) -> String {
    let mut out: Vec<String> = Vec::new();
    let mut i = 0;
    while i < pages.len() {
        let mut j = i;
        while j + 1 < pages.len() && pages[j + 1] == pages[j] + 1 {
            j += 1;
        }
        out.push(if i == j {
            pages[i].to_string()
        } else {
            format!("{}-{}", pages[i], pages[j])
        });
        i = j + 1;
    }
    out.join(", ")
}

/// Paragraph blocks of each page. Offsets are into the pages joined by a
/// blank line, so a page break is also a paragraph break.
fn blocks(pages: &[String]) -> Vec<Block> {
    let joined = pages.join("\n\n");
    let index = LineIndex::new(&joined);
    let mut blocks = Vec::new();
    let mut page_start = 0;
    for (number, page) in (1u32..).zip(pages) {
        let mut push = |start: usize, end: usize| {
            if let Some(block) = index.block(start, end) {
                blocks.push(Block {
                    lines: None,
                    page: Some(number),
                    ..block
                });
            }
        };
        let mut para_start = None;
        let mut pos = page_start;
        for line in page.split_inclusive('\n') {
            if line.trim().is_empty() {
                if let Some(start) = para_start.take() {
                    push(start, pos);
                }
            } else {
                para_start.get_or_insert(pos);
            }
            pos += line.len();
        }
        if let Some(start) = para_start {
            push(start, pos);
        }
        page_start += page.len() + "\n\n".len();
    }
    blocks
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;
    use crate::ingest::pdf::testpdf::{Page, make_pdf};

    fn parse_pdf(name: &str, bytes: &[u8]) -> Result<ParsedDocument, SkipReason> {
        super::super::parse(Path::new(name), bytes, &IngestLimits::default())
    }

    #[test]
    fn pages_are_numbered_and_offsets_exact() {
        let bytes = make_pdf(
            &[
                Page::Text(&["Alpha first paragraph", "Alpha second paragraph"]),
                Page::Text(&["Beta on page two"]),
            ],
            Some("Quarterly Report"),
        );
        let doc = parse_pdf("report.pdf", &bytes).unwrap();
        assert_eq!(doc.kind, SourceKind::Pdf);
        assert_eq!(doc.title, "Quarterly Report");
        let got: Vec<(Option<u32>, &str)> = doc
            .blocks
            .iter()
            .map(|b| (b.page, b.text.as_str()))
            .collect();
        assert_eq!(
            got,
            [
                (Some(1), "Alpha first paragraph"),
                (Some(1), "Alpha second paragraph"),
                (Some(2), "Beta on page two"),
            ]
        );
        let joined: Vec<char> =
            "Alpha first paragraph\n\nAlpha second paragraph\n\nBeta on page two"
                .chars()
                .collect();
        for b in &doc.blocks {
            let at: String = joined[b.char_start..b.char_end].iter().collect();
            assert_eq!(at, b.text);
            assert!(b.heading_path.is_empty() && b.lines.is_none());
        }
        assert_eq!(doc.metadata["pdf_pages"], 2);
    }

    #[test]
    fn title_falls_back_to_file_stem() {
        let bytes = make_pdf(&[Page::Text(&["Only text"])], None);
        assert_eq!(
            parse_pdf("dir/scan 2024.pdf", &bytes).unwrap().title,
            "scan 2024"
        );
    }

    #[test]
    fn pages_without_text_are_reported_for_ocr() {
        let scanned = make_pdf(&[Page::Drawing, Page::Drawing], None);
        let err = parse_pdf("scan.pdf", &scanned).unwrap_err();
        assert_eq!(err, SkipReason::PdfNoText { pages: 2 });
        assert!(err.to_string().contains("OCR"), "{err}");
        // Pages without text among text pages: numbering stays right and
        // the metadata names the pages that need OCR.
        let mixed = make_pdf(
            &[
                Page::Drawing,
                Page::Text(&["Text on page two"]),
                Page::Drawing,
                Page::Drawing,
            ],
            None,
        );
        let doc = parse_pdf("mixed.pdf", &mixed).unwrap();
        assert_eq!(doc.blocks.len(), 1);
        assert_eq!(doc.blocks[0].page, Some(2));
        assert_eq!(doc.metadata["pdf_pages_without_text"], "1, 3-4");
    }

    #[test]
    fn panics_become_a_skip_reason() {
        let panicked = isolated(|| -> u32 { panic!("boom in parser") });
        assert_eq!(
            panicked.unwrap_err(),
            SkipReason::PdfPanic {
                detail: "boom in parser".into()
            }
        );
        assert_eq!(isolated(|| 7).unwrap(), 7);
    }

    #[test]
    fn page_ranges_are_compact() {
        assert_eq!(page_ranges(&[1, 2, 3, 5, 7, 8]), "1-3, 5, 7-8");
        assert_eq!(page_ranges(&[]), "");
    }
}
