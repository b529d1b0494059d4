//! Bad input through [`parse`], as a folder walk hands it over: each file
//! gets a document or a skip reason with a stable code, never a panic.

use super::testdata::{chapter, docx, epub, odt, zip_of};
use super::*;

fn parse_as(name: &str, bytes: &[u8]) -> Result<ParsedDocument, SkipReason> {
    parse(Path::new(name), bytes, &IngestLimits::default())
}

fn code(name: &str, bytes: &[u8]) -> String {
    match parse_as(name, bytes) {
        Ok(_) => "ok".to_string(),
        Err(e) => {
            assert!(!e.to_string().is_empty() && !e.to_string().contains('\n'));
            e.code().to_string()
        }
    }
}

fn samples() -> Vec<(&'static str, Vec<u8>)> {
    let p =
        "<w:p><w:r><w:t>Boiler service every spring, by the engineer.</w:t></w:r></w:p>".repeat(20);
    vec![
        ("a.docx", docx(&p, None, Some("Service"))),
        (
            "a.odt",
            odt(
                &"<text:p>Tomatoes in May, beans in June.</text:p>".repeat(20),
                None,
            ),
        ),
        (
            "a.epub",
            epub(
                &[(
                    "c1.xhtml",
                    &chapter(&"<p>Chapter one has words.</p>".repeat(20)),
                )],
                "Book",
            ),
        ),
    ]
}

#[test]
fn html_and_others_named_as_archives() {
    let html = b"<!DOCTYPE html><html><head><title>x</title></head><body><p>page</p></body></html>";
    for name in ["page.docx", "page.odt", "page.epub"] {
        let err = parse_as(name, html).unwrap_err();
        assert_eq!(err.code(), "misnamed", "{name}");
        assert!(err.to_string().contains(".html"), "{err}");
    }
    let (_, book) = &samples()[2];
    let err = parse_as("book.docx", book).unwrap_err();
    assert!(err.to_string().contains("rename it to .epub"), "{err}");
}

#[test]
fn truncated_archives_are_corrupt_at_every_cut() {
    for (name, bytes) in samples() {
        assert_eq!(code(name, &bytes), "ok", "{name} whole");
        for cut in (1..bytes.len()).step_by(7) {
            let got = code(name, &bytes[..cut]);
            assert!(
                matches!(got.as_str(), "archive_corrupt" | "misnamed"),
                "{name} cut at {cut}: {got}"
            );
        }
    }
}

#[test]
fn bit_flips_never_panic() {
    for (name, bytes) in samples() {
        for at in 0..bytes.len() {
            let mut flipped = bytes.clone();
            flipped[at] ^= 1 << (at % 8);
            let got = code(name, &flipped);
            assert!(
                matches!(
                    got.as_str(),
                    "ok" | "archive_corrupt"
                        | "archive_bomb"
                        | "malformed"
                        | "misnamed"
                        | "no_text"
                        | "encrypted"
                ),
                "{name} flip at {at}: {got}"
            );
        }
    }
}

#[test]
fn bombs_through_parse() {
    let zeros = vec![b' '; 32 * 1024 * 1024];
    let bomb = zip_of(&[
        ("[Content_Types].xml", b"<Types/>"),
        ("word/document.xml", &zeros),
    ]);
    assert_eq!(code("bomb.docx", &bomb), "archive_bomb");
    let lol = "<!DOCTYPE d [<!ENTITY a \"ha\"><!ENTITY b \"&a;&a;&a;&a;&a;&a;&a;&a;\">]><office:document-content><office:body><office:text><text:p>&b;</text:p></office:text></office:body></office:document-content>";
    let bytes = zip_of(&[
        ("mimetype", b"application/vnd.oasis.opendocument.text"),
        ("content.xml", lol.as_bytes()),
    ]);
    assert_eq!(code("lol.odt", &bytes), "xml_entities");
}

#[test]
fn a_200_mb_single_line_is_refused_or_cut() {
    let line = "word ".repeat(40 * 1024 * 1024);
    assert_eq!(line.len(), 200 * 1024 * 1024);
    // Default limits: refused before anything is parsed.
    assert_eq!(code("log.txt", line.as_bytes()), "too_large");
    // A raised limit: parsed, in blocks no later stage has to hold whole.
    let raised = IngestLimits {
        max_file_bytes: 256 * 1024 * 1024,
        ..IngestLimits::default()
    };
    for name in ["log.txt", "log.md"] {
        let doc = parse(Path::new(name), line.as_bytes(), &raised).unwrap();
        assert!(doc.blocks.len() > 12_000, "{name}: {}", doc.blocks.len());
        assert!(
            doc.blocks
                .iter()
                .all(|b| b.text.chars().count() <= bounded::MAX_BLOCK_CHARS)
        );
        assert_eq!(doc.blocks.last().unwrap().char_end, line.trim_end().len());
        assert!(doc.blocks.iter().all(|b| b.lines == Some((1, 1))));
    }
}

#[test]
fn invalid_utf8_and_empty_documents() {
    assert_eq!(code("a.md", b"# Caf\xe9\n"), "not_utf8");
    assert_eq!(code("a.canvas", b"{\"nodes\": [\xff]}"), "not_utf8");
    assert_eq!(code("a.html", b"<p>Caf\xe9</p>"), "ok");
    for (name, bytes) in [
        ("empty.md", Vec::new()),
        ("empty.html", b"  \n".to_vec()),
        ("empty.docx", Vec::new()),
        ("empty.epub", b"\n".to_vec()),
    ] {
        assert_eq!(code(name, &bytes), "empty", "{name}");
    }
    assert_eq!(
        code("blank.html", b"<html><body>  </body></html>"),
        "no_text"
    );
    assert_eq!(code("blank.docx", &docx("<w:p/>", None, None)), "no_text");
    assert_eq!(code("blank.odt", &odt("", None)), "no_text");
    assert_eq!(
        code("blank.epub", &epub(&[("c.xhtml", &chapter(""))], "T")),
        "no_text"
    );
    assert_eq!(code("blank.canvas", b"{}"), "no_text");
    let empty_zip = zip_of(&[]);
    assert_eq!(code("empty.odt", &empty_zip), "archive_corrupt");
}

#[test]
fn deep_nesting_in_xml_and_json() {
    let open = "<w:sdt><w:sdtContent>".repeat(100_000);
    let close = "</w:sdtContent></w:sdt>".repeat(100_000);
    let body = format!("{open}<w:p><w:r><w:t>deep</w:t></w:r></w:p>{close}");
    let bytes = docx(&body, None, None);
    // So regular an XML deflates a thousand times: a bomb by default.
    assert_eq!(code("deep.docx", &bytes), "archive_bomb");
    let lenient = IngestLimits {
        max_compression_ratio: 10_000,
        ..IngestLimits::default()
    };
    let doc = parse(Path::new("deep.docx"), &bytes, &lenient).unwrap();
    assert_eq!(doc.blocks[0].text, "deep");
    let lists = "<text:list><text:list-item>".repeat(50_000)
        + "<text:p>leaf</text:p>"
        + &"</text:list-item></text:list>".repeat(50_000);
    let doc = parse(Path::new("deep.odt"), &odt(&lists, None), &lenient).unwrap();
    assert!(doc.blocks[0].text.ends_with("- leaf"));
    let json = "{\"nodes\": ".to_string() + &"[".repeat(100_000) + &"]".repeat(100_000) + "}";
    assert_eq!(code("deep.canvas", json.as_bytes()), "malformed");
}
