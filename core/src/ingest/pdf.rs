//! PDF: the text layer of each page via pdf-extract, run isolated because a
//! hostile or broken PDF can make the parser panic or loop.

use std::panic::{self, AssertUnwindSafe};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::thread;
use std::time::Duration;

use serde_json::Map;

use super::{Block, IngestLimits, LineIndex, ParsedDocument, SkipReason, SourceKind};

/// Stack for the extraction thread. Parsing nested PDF objects recurses, and
/// a stack overflow aborts the whole process (it cannot be caught), so give
/// it plenty; it is virtual memory, only touched as far as used.
const EXTRACT_STACK_BYTES: usize = 64 * 1024 * 1024;

/// Parses a PDF; `fallback_title` is used when its metadata has no title.
pub(super) fn parse(
    bytes: &[u8],
    fallback_title: &str,
    limits: &IngestLimits,
) -> Result<ParsedDocument, SkipReason> {
    let owned = bytes.to_vec();
    let (pages, meta_title) =
        run_isolated(limits.pdf_timeout, move || extract(&owned))?.map_err(|e| {
            SkipReason::PdfCorrupt {
                detail: e.to_string(),
            }
        })?;
    if pages.is_empty() {
        return Err(SkipReason::PdfCorrupt {
            detail: "it has no readable pages".to_string(),
        });
    }
    if pages.iter().all(|p| p.trim().is_empty()) {
        return Err(SkipReason::PdfNoText);
    }

    // Offsets are into the pages joined by a blank line, so a page break is
    // also a paragraph break.
    let joined = pages.join("\n\n");
    let index = LineIndex::new(&joined);
    let mut blocks = Vec::new();
    let mut page_start = 0;
    for (number, page) in (1u32..).zip(&pages) {
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

    Ok(ParsedDocument {
        kind: SourceKind::Pdf,
        title: meta_title.unwrap_or_else(|| fallback_title.to_string()),
        tags: Vec::new(),
        metadata: Map::new(),
        blocks,
    })
}

/// Page texts and the metadata title (read from the trailer's Info
/// dictionary only, which is cheap).
fn extract(bytes: &[u8]) -> Result<(Vec<String>, Option<String>), pdf_extract::OutputError> {
    let pages = pdf_extract::extract_text_from_mem_by_pages(bytes)?;
    let title = pdf_extract::Document::load_metadata_mem(bytes)
        .ok()
        .and_then(|meta| meta.title)
        .map(|t| t.trim().to_string())
        .filter(|t| !t.is_empty());
    Ok((pages, title))
}

/// Runs `work` on its own thread, turning a panic into
/// [`SkipReason::PdfPanic`] and a run past `timeout` into
/// [`SkipReason::PdfTimeout`].
///
/// On timeout the thread is left behind, detached: Rust cannot stop a thread
/// from outside and pdf-extract has no cancellation hook, while running it
/// in a child process is not possible on every platform we embed into
/// (iOS). The thread owns its copy of the bytes and ends whenever the parser
/// returns; its result is dropped because nobody receives it any more. A
/// parser that never returns keeps one core busy until the process exits,
/// which beats stalling the whole indexing run.
fn run_isolated<T: Send + 'static>(
    timeout: Duration,
    work: impl FnOnce() -> T + Send + 'static,
) -> Result<T, SkipReason> {
    let (tx, rx) = mpsc::sync_channel(1);
    thread::Builder::new()
        .name("trove-pdf".to_string())
        .stack_size(EXTRACT_STACK_BYTES)
        .spawn(move || {
            // Unwind safety: after a panic nothing looks at `work`'s state again.
            let outcome = panic::catch_unwind(AssertUnwindSafe(work));
            // After a timeout the receiver is gone; the result is not wanted.
            let _ = tx.send(outcome);
        })
        .map_err(|e| SkipReason::Io {
            detail: format!("could not start a thread for PDF extraction: {e}"),
        })?;
    match rx.recv_timeout(timeout) {
        Ok(Ok(value)) => Ok(value),
        Ok(Err(payload)) => Err(SkipReason::PdfPanic {
            detail: panic_message(payload.as_ref()),
        }),
        Err(RecvTimeoutError::Timeout) => Err(SkipReason::PdfTimeout {
            seconds: timeout.as_secs_f64().ceil() as u64,
        }),
        Err(RecvTimeoutError::Disconnected) => Err(SkipReason::PdfPanic {
            detail: "the extraction thread ended without a result".to_string(),
        }),
    }
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

#[cfg(test)]
mod tests {
    use super::*;
    use lopdf::content::{Content, Operation};
    use lopdf::{Document, Object, Stream, dictionary};
    use std::path::Path;
    use std::time::Instant;

    /// Builds a real PDF: one page per entry, each page a list of paragraphs
    /// drawn in Helvetica, or (for `None`) only a filled rectangle.
    fn make_pdf(pages: &[Option<&[&str]>], title: Option<&str>) -> Vec<u8> {
        let mut doc = Document::with_version("1.5");
        let pages_id = doc.new_object_id();
        let font_id = doc.add_object(dictionary! {
            "Type" => "Font",
            "Subtype" => "Type1",
            "BaseFont" => "Helvetica",
        });
        let resources_id = doc.add_object(dictionary! {
            "Font" => dictionary! { "F1" => font_id },
        });
        let mut kids = Vec::new();
        for page in pages {
            let operations = match page {
                Some(paragraphs) => {
                    let mut ops = vec![
                        Operation::new("BT", vec![]),
                        Operation::new("Tf", vec!["F1".into(), 12.into()]),
                        Operation::new("Td", vec![72.into(), 720.into()]),
                    ];
                    for (i, text) in paragraphs.iter().enumerate() {
                        if i > 0 {
                            // A gap of several lines: pdf-extract writes a blank line.
                            ops.push(Operation::new("Td", vec![0.into(), (-48).into()]));
                        }
                        ops.push(Operation::new("Tj", vec![Object::string_literal(*text)]));
                    }
                    ops.push(Operation::new("ET", vec![]));
                    ops
                }
                None => vec![
                    Operation::new("re", vec![100.into(), 100.into(), 200.into(), 150.into()]),
                    Operation::new("f", vec![]),
                ],
            };
            let content = Content { operations };
            let content_id = doc.add_object(Stream::new(dictionary! {}, content.encode().unwrap()));
            kids.push(
                doc.add_object(dictionary! {
                    "Type" => "Page",
                    "Parent" => pages_id,
                    "Contents" => content_id,
                })
                .into(),
            );
        }
        let count = kids.len() as i64;
        doc.objects.insert(
            pages_id,
            Object::Dictionary(dictionary! {
                "Type" => "Pages",
                "Kids" => kids,
                "Count" => count,
                "Resources" => resources_id,
                "MediaBox" => vec![0.into(), 0.into(), 612.into(), 792.into()],
            }),
        );
        let catalog_id = doc.add_object(dictionary! {
            "Type" => "Catalog",
            "Pages" => pages_id,
        });
        doc.trailer.set("Root", catalog_id);
        if let Some(title) = title {
            let info_id = doc.add_object(dictionary! { "Title" => Object::string_literal(title) });
            doc.trailer.set("Info", info_id);
        }
        let mut bytes = Vec::new();
        doc.save_to(&mut bytes).unwrap();
        bytes
    }

    fn parse_pdf(name: &str, bytes: &[u8]) -> Result<ParsedDocument, SkipReason> {
        super::super::parse(Path::new(name), bytes, &IngestLimits::default())
    }

    #[test]
    fn pages_are_numbered_and_offsets_exact() {
        let bytes = make_pdf(
            &[
                Some(&["Alpha first paragraph", "Alpha second paragraph"]),
                Some(&["Beta on page two"]),
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
        let joined: Vec<char> = pdf_extract::extract_text_from_mem_by_pages(&bytes)
            .unwrap()
            .join("\n\n")
            .chars()
            .collect();
        for b in &doc.blocks {
            let at: String = joined[b.char_start..b.char_end].iter().collect();
            assert_eq!(at, b.text);
            assert!(b.heading_path.is_empty() && b.lines.is_none());
        }
    }

    #[test]
    fn title_falls_back_to_file_stem() {
        let bytes = make_pdf(&[Some(&["Only text"])], None);
        assert_eq!(
            parse_pdf("dir/scan 2024.pdf", &bytes).unwrap().title,
            "scan 2024"
        );
    }

    #[test]
    fn pages_without_text() {
        let scanned = make_pdf(&[None, None], None);
        assert_eq!(
            parse_pdf("scan.pdf", &scanned).unwrap_err(),
            SkipReason::PdfNoText
        );
        // One empty page among text pages is fine; numbering stays right.
        let mixed = make_pdf(&[None, Some(&["Text on page two"])], None);
        let doc = parse_pdf("mixed.pdf", &mixed).unwrap();
        assert_eq!(doc.blocks.len(), 1);
        assert_eq!(doc.blocks[0].page, Some(2));
    }

    #[test]
    fn broken_pdfs_are_skipped_not_fatal() {
        let started = Instant::now();
        let garbage =
            parse_pdf("garbage.pdf", b"this is not a PDF at all, just words\n").unwrap_err();
        assert_eq!(garbage.code(), "pdf_corrupt", "{garbage}");

        let valid = make_pdf(&[Some(&["Alpha"]), Some(&["Beta"])], None);
        let truncated = parse_pdf("cut.pdf", &valid[..valid.len() / 2]);
        let code = truncated.as_ref().map_err(SkipReason::code).unwrap_err();
        assert!(
            ["pdf_corrupt", "pdf_no_text", "pdf_panic"].contains(&code),
            "{truncated:?}"
        );
        assert!(started.elapsed() < Duration::from_secs(30));
    }

    #[test]
    fn isolation_turns_panics_and_hangs_into_skip_reasons() {
        let panicked = run_isolated(Duration::from_secs(5), || -> u32 {
            panic!("boom in parser")
        });
        assert_eq!(
            panicked.unwrap_err(),
            SkipReason::PdfPanic {
                detail: "boom in parser".into()
            }
        );
        let started = Instant::now();
        let hung = run_isolated(Duration::from_millis(100), || {
            thread::sleep(Duration::from_secs(3));
        });
        assert_eq!(hung.unwrap_err(), SkipReason::PdfTimeout { seconds: 1 });
        assert!(started.elapsed() < Duration::from_secs(2));
        assert_eq!(run_isolated(Duration::from_secs(5), || 7).unwrap(), 7);
    }
}
