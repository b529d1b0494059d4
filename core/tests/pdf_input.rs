//! PDF extraction on damaged and hostile input, each file built here: every
//! case is skipped with its reason code or read as far as it can be, never a
//! panic, a hang or unbounded memory.

use std::io::Write;
use std::path::Path;

use lopdf::content::{Content, Operation};
use lopdf::encryption::{EncryptionState, EncryptionVersion, Permissions};
use lopdf::{Document, Object, Stream, dictionary};
use trove::ingest::{self, IngestLimits, ParsedDocument, SkipReason};

fn parse(bytes: &[u8]) -> Result<ParsedDocument, SkipReason> {
    ingest::parse(Path::new("input.pdf"), bytes, &IngestLimits::default())
}

fn text(doc: &ParsedDocument) -> String {
    doc.blocks
        .iter()
        .map(|b| b.text.as_str())
        .collect::<Vec<_>>()
        .join("\n")
}

/// A document of `pages` pages, each with its lines in Helvetica.
fn document(pages: &[&[&str]]) -> Document {
    let mut doc = Document::with_version("1.5");
    let pages_id = doc.new_object_id();
    let font = doc.add_object(dictionary! {
        "Type" => "Font", "Subtype" => "Type1", "BaseFont" => "Helvetica",
        "Encoding" => "WinAnsiEncoding",
    });
    let resources = doc.add_object(dictionary! { "Font" => dictionary! { "F1" => font } });
    let mut kids = Vec::new();
    for lines in pages {
        let mut ops = vec![
            Operation::new("BT", vec![]),
            Operation::new("Tf", vec!["F1".into(), 11.into()]),
            Operation::new("TL", vec![14.into()]),
            Operation::new("Td", vec![50.into(), 760.into()]),
        ];
        for line in *lines {
            ops.push(Operation::new("Tj", vec![Object::string_literal(*line)]));
            ops.push(Operation::new("T*", vec![]));
        }
        ops.push(Operation::new("ET", vec![]));
        let content = Content { operations: ops }.encode().unwrap();
        let content_id = doc.add_object(Stream::new(dictionary! {}, content));
        kids.push(Object::from(doc.add_object(dictionary! {
            "Type" => "Page", "Parent" => pages_id, "Contents" => content_id,
            "Resources" => resources,
            "MediaBox" => vec![0.into(), 0.into(), 612.into(), 792.into()],
        })));
    }
    let count = kids.len() as i64;
    doc.objects.insert(
        pages_id,
        Object::Dictionary(dictionary! { "Type" => "Pages", "Kids" => kids, "Count" => count }),
    );
    let catalog = doc.add_object(dictionary! { "Type" => "Catalog", "Pages" => pages_id });
    doc.trailer.set("Root", catalog);
    doc
}

fn save(mut doc: Document) -> Vec<u8> {
    let mut bytes = Vec::new();
    doc.save_to(&mut bytes).unwrap();
    bytes
}

/// A PDF written by hand: `objects[i]` is object `i + 1`, object 1 the
/// catalog; the xref table is computed.
fn raw_pdf(objects: &[&[u8]]) -> Vec<u8> {
    let mut out = b"%PDF-1.4\n".to_vec();
    let mut offsets = Vec::new();
    for (i, body) in objects.iter().enumerate() {
        offsets.push(out.len());
        writeln!(out, "{} 0 obj", i + 1).unwrap();
        out.extend_from_slice(body);
        out.extend_from_slice(b"\nendobj\n");
    }
    let xref = out.len();
    write!(out, "xref\n0 {}\n0000000000 65535 f \n", objects.len() + 1).unwrap();
    for o in offsets {
        writeln!(out, "{o:010} 00000 n ").unwrap();
    }
    write!(
        out,
        "trailer\n<< /Size {} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n",
        objects.len() + 1
    )
    .unwrap();
    out
}

const FONT: &[u8] = b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>";

fn stream(content: &[u8]) -> Vec<u8> {
    let mut s = format!("<< /Length {} >>\nstream\n", content.len()).into_bytes();
    s.extend_from_slice(content);
    s.extend_from_slice(b"\nendstream");
    s
}

#[test]
fn truncated_file_is_reported_as_truncated() {
    let lines: Vec<String> = (0..40)
        .map(|i| format!("Line {i} of a long page"))
        .collect();
    let page: Vec<&str> = lines.iter().map(String::as_str).collect();
    let bytes = save(document(&[&page, &page, &page]));
    // Cut where the cross-reference table and trailer are gone.
    let cut = bytes.len() * 3 / 10;
    let err = parse(&bytes[..cut]).unwrap_err();
    assert_eq!(err, SkipReason::PdfTruncated { size: cut as u64 });
    assert!(err.to_string().contains("download it again"), "{err}");
    // Only the end-of-file marker and a few bytes missing: still readable.
    let doc = parse(&bytes[..bytes.len() - 8]).unwrap();
    assert!(text(&doc).contains("Line 39 of a long page"));
}

/// Encryption keys derive from the file identifier.
fn with_file_id(mut doc: Document) -> Document {
    let id = Object::string_literal(b"trove-test-file-id".to_vec());
    doc.trailer.set("ID", vec![id.clone(), id]);
    doc
}

#[test]
fn encrypted_with_a_user_password_is_refused_and_says_so() {
    let mut doc = with_file_id(document(&[&["Secret minutes of the board"]]));
    let version = EncryptionVersion::V2 {
        document: &doc,
        owner_password: "owner",
        user_password: "opensesame",
        key_length: 128,
        permissions: Permissions::all(),
    };
    let state = EncryptionState::try_from(version).unwrap();
    doc.encrypt(&state).unwrap();
    let err = parse(&save(doc)).unwrap_err();
    assert_eq!(err.code(), "pdf_encrypted", "{err:?}");
    assert!(err.to_string().contains("needs a password"), "{err}");
    assert!(err.to_string().contains("qpdf --decrypt"), "{err}");
}

#[test]
fn encrypted_without_a_user_password_is_read() {
    let mut doc = with_file_id(document(&[&["Printing restricted, reading allowed"]]));
    let version = EncryptionVersion::V2 {
        document: &doc,
        owner_password: "owner",
        user_password: "",
        key_length: 128,
        permissions: Permissions::PRINTABLE,
    };
    let state = EncryptionState::try_from(version).unwrap();
    doc.encrypt(&state).unwrap();
    let parsed = parse(&save(doc)).unwrap();
    assert_eq!(text(&parsed), "Printing restricted, reading allowed");
}

#[test]
fn bit_flips_never_panic() {
    let lines: Vec<String> = (0..30).map(|i| format!("Sentence number {i}.")).collect();
    let page: Vec<&str> = lines.iter().map(String::as_str).collect();
    let mut doc = document(&[&page, &page]);
    doc.compress();
    let clean = save(doc);
    // A fixed pseudo-random walk over the file, flipping a byte each step.
    let mut state = 0x2545_F491_u32;
    for round in 0..40 {
        let mut bytes = clean.clone();
        for _ in 0..(1 + round % 8) {
            state ^= state << 13;
            state ^= state >> 17;
            state ^= state << 5;
            let at = state as usize % bytes.len();
            bytes[at] ^= 0xFF;
        }
        match parse(&bytes) {
            Ok(doc) => assert!(!doc.blocks.is_empty()),
            Err(e) => assert!(
                e.code().starts_with("pdf_") && e.code() != "pdf_panic",
                "round {round}: {e:?}"
            ),
        }
    }
}

#[test]
fn other_files_named_pdf_say_what_they_are() {
    let html = parse(b"<!DOCTYPE html>\n<html><head><title>x</title></head></html>").unwrap_err();
    assert_eq!(html.code(), "not_pdf");
    assert!(html.to_string().contains("HTML"), "{html}");
    let png = parse(b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR").unwrap_err();
    assert_eq!(png.code(), "not_pdf");
    assert!(png.to_string().contains("PNG"), "{png}");
    let gz = parse(b"\x1f\x8b\x08\0\0\0\0\0\0\x03").unwrap_err();
    assert!(gz.to_string().contains("gunzip"), "{gz}");
}

#[test]
fn inflate_bomb_stream_is_refused_and_the_rest_read() {
    let mut doc = document(&[&["Text beside the bomb"]]);
    // 100 MiB of spaces, about 100 KB compressed: over the 48 MiB bound.
    let mut encoder = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::best());
    let chunk = vec![b' '; 1 << 20];
    for _ in 0..100 {
        encoder.write_all(&chunk).unwrap();
    }
    let bomb = encoder.finish().unwrap();
    assert!(bomb.len() < 1 << 20);
    let bomb_id = doc.add_object(Stream::new(dictionary! { "Filter" => "FlateDecode" }, bomb));
    let page_id = doc.page_iter().next().unwrap();
    let page = doc.get_dictionary_mut(page_id).unwrap();
    let first = page.get(b"Contents").unwrap().clone();
    page.set("Contents", vec![first, bomb_id.into()]);
    let parsed = parse(&save(doc)).unwrap();
    assert_eq!(text(&parsed), "Text beside the bomb");
    assert_eq!(parsed.metadata["pdf_damaged_pages"], 1);
}

#[test]
fn deeply_nested_objects_are_cut_off_not_recursed() {
    let deep = format!("{}1{}", "[".repeat(100_000), "]".repeat(100_000));
    let content = stream(b"BT /F1 12 Tf 72 700 Td (Survives nesting) Tj ET");
    let nested_page = format!(
        "<< /Type /Page /Parent 2 0 R /Contents 4 0 R /Resources << /Font << /F1 3 0 R >> >> /Annots {deep} >>"
    );
    let inline = stream(format!("BT /F1 12 Tf 72 700 Td {deep} TJ (Second page) Tj ET").as_bytes());
    let bytes = raw_pdf(&[
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [5 0 R 6 0 R] /Count 2 >>",
        FONT,
        &content,
        nested_page.as_bytes(),
        b"<< /Type /Page /Parent 2 0 R /Contents 7 0 R /Resources << /Font << /F1 3 0 R >> >> >>",
        &inline,
    ]);
    match parse(&bytes) {
        Ok(doc) => assert!(text(&doc).contains("Second page"), "{doc:?}"),
        Err(e) => assert!(
            e.code().starts_with("pdf_") && e.code() != "pdf_panic",
            "{e:?}"
        ),
    }
}

#[test]
fn page_tree_cycles_and_count_lies_end() {
    let content = stream(b"BT /F1 12 Tf 72 700 Td (Only page) Tj ET");
    // The root lists itself as a kid and claims two billion pages.
    let bytes = raw_pdf(&[
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [2 0 R 4 0 R 2 0 R] /Count 2147483647 >>",
        FONT,
        b"<< /Type /Page /Parent 2 0 R /Contents 5 0 R /Resources << /Font << /F1 3 0 R >> >> >>",
        &content,
    ]);
    let doc = parse(&bytes).unwrap();
    assert_eq!(text(&doc), "Only page");
    assert_eq!(doc.metadata["pdf_pages"], 1);
}

#[test]
fn a_form_that_draws_itself_is_drawn_once() {
    let content = stream(b"/X0 Do");
    let form = {
        let body = b"BT /F1 12 Tf 72 700 Td (Inside the form) Tj ET /X0 Do";
        let mut s = format!(
            "<< /Type /XObject /Subtype /Form /BBox [0 0 612 792] /Resources << /Font << /F1 3 0 R >> /XObject << /X0 6 0 R >> >> /Length {} >>\nstream\n",
            body.len()
        )
        .into_bytes();
        s.extend_from_slice(body);
        s.extend_from_slice(b"\nendstream");
        s
    };
    let bytes = raw_pdf(&[
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [4 0 R] /Count 1 >>",
        FONT,
        b"<< /Type /Page /Parent 2 0 R /Contents 5 0 R /Resources << /XObject << /X0 6 0 R >> >> >>",
        &content,
        &form,
    ]);
    let doc = parse(&bytes).unwrap();
    assert_eq!(text(&doc), "Inside the form");
}

#[test]
fn garbage_content_streams_never_panic() {
    let mut state = 7u32;
    for _ in 0..20 {
        let junk: Vec<u8> = (0..4000)
            .map(|_| {
                state = state.wrapping_mul(1_103_515_245).wrapping_add(12_345);
                b"()<>[]{}/%\\ \n0123456789.-+BTETTjTJTfTdTm'\"qQcmDo#abcxyz\x00\xff"
                    [(state >> 16) as usize % 57]
            })
            .collect();
        let content = stream(&junk);
        let bytes = raw_pdf(&[
            b"<< /Type /Catalog /Pages 2 0 R >>",
            b"<< /Type /Pages /Kids [4 0 R] /Count 1 >>",
            FONT,
            b"<< /Type /Page /Parent 2 0 R /Contents 5 0 R /Resources << /Font << /F1 3 0 R >> >> >>",
            &content,
        ]);
        if let Err(e) = parse(&bytes) {
            assert!(
                e.code().starts_with("pdf_") && e.code() != "pdf_panic",
                "{e:?}"
            );
        }
    }
}

#[test]
fn missing_objects_leave_their_page_empty_not_the_document() {
    // Page 1's contents point to an object that does not exist.
    let content = stream(b"BT /F1 12 Tf 72 700 Td (Page two text) Tj ET");
    let bytes = raw_pdf(&[
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [4 0 R 5 0 R] /Count 2 >>",
        FONT,
        b"<< /Type /Page /Parent 2 0 R /Contents 99 0 R /Resources << /Font << /F1 3 0 R >> >> >>",
        b"<< /Type /Page /Parent 2 0 R /Contents 6 0 R /Resources << /Font << /F1 3 0 R >> >> >>",
        &content,
    ]);
    let doc = parse(&bytes).unwrap();
    assert_eq!(doc.blocks.len(), 1);
    assert_eq!(doc.blocks[0].page, Some(2));
    assert_eq!(doc.metadata["pdf_pages_without_text"], "1");
}
