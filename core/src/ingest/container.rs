//! Opening a zip-based document (DOCX, ODT, EPUB) after checking that the
//! file is what its extension says: HTML, text or an image saved as
//! `.docx`, an encrypted Office file (an OLE compound file, not a zip), or
//! an EPUB named `.odt` each get a reason that says what the file really is.

use serde_json::{Map, Value};

use super::builder::DocBuilder;
use super::xml;
use super::zip::Archive;
use super::{IngestLimits, ParsedDocument, SkipReason, SourceKind};

/// The zip-based formats trove reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Kind {
    Docx,
    Odt,
    Epub,
}

impl Kind {
    fn extension(self) -> &'static str {
        match self {
            Kind::Docx => "docx",
            Kind::Odt => "odt",
            Kind::Epub => "epub",
        }
    }
}

/// Where an office document keeps its properties: the part (DOCX
/// `docProps/core.xml`, ODT `meta.xml`) and its keywords element (the rest
/// are Dublin Core in both).
pub(super) struct Properties {
    pub(super) part: &'static str,
    pub(super) keywords: &'static str,
}

/// The document an office body built: refused when it holds no text;
/// author, subject and keywords from its properties; the title from them,
/// else `body_title` (a Title-styled paragraph), else the first heading,
/// else the file's stem.
pub(super) fn office_document(
    archive: &Archive<'_>,
    kind: SourceKind,
    properties: Properties,
    builder: DocBuilder,
    body_title: Option<String>,
    stem: &str,
) -> Result<ParsedDocument, SkipReason> {
    if builder.text_chars() == 0 {
        return Err(SkipReason::NoText {
            detail: "the document holds no text (only images or empty pages?); if it holds scans, run OCR on them".to_string(),
        });
    }
    let mut metadata = Map::new();
    for (key, qname) in [
        ("author", "dc:creator"),
        ("subject", "dc:subject"),
        ("keywords", properties.keywords),
    ] {
        if let Some(v) = xml::first_text(archive, properties.part, qname)? {
            metadata.insert(key.to_string(), Value::String(v));
        }
    }
    let title = xml::first_text(archive, properties.part, "dc:title")?
        .or(body_title)
        .or_else(|| builder.first_heading().map(str::to_string))
        .unwrap_or_else(|| stem.to_string());
    Ok(ParsedDocument {
        kind,
        title,
        metadata,
        blocks: builder.finish(),
        ..ParsedDocument::default()
    })
}

/// Opens `bytes` as an archive of `kind`.
pub(super) fn open<'a>(
    bytes: &'a [u8],
    kind: Kind,
    limits: &IngestLimits,
) -> Result<Archive<'a>, SkipReason> {
    if !bytes.starts_with(b"PK\x03\x04") && !bytes.starts_with(b"PK\x05\x06") {
        return Err(not_a_zip(bytes, kind));
    }
    let archive = Archive::open(bytes, limits)?;
    let found = identify(&archive);
    match found {
        Some((ext, _)) if ext == kind.extension() => Ok(archive),
        Some((ext, what)) => Err(SkipReason::Misnamed {
            detail: format!(
                "the file is named .{} but is {what}; {}",
                kind.extension(),
                match ext {
                    "docx" | "odt" | "epub" => format!("rename it to .{ext}"),
                    _ => "only .docx, .odt and .epub archives are read".to_string(),
                }
            ),
        }),
        None => Err(SkipReason::ArchiveCorrupt {
            detail: format!(
                "the zip holds no {} parts ({})",
                kind.extension().to_uppercase(),
                match kind {
                    Kind::Docx => "[Content_Types].xml is missing",
                    Kind::Odt | Kind::Epub => "the mimetype entry is missing",
                }
            ),
        }),
    }
}

/// The format of an archive by its marker parts: extension and a phrase.
fn identify(archive: &Archive<'_>) -> Option<(&'static str, &'static str)> {
    if archive.contains("[Content_Types].xml") {
        return Some(if archive.contains("xl/workbook.xml") {
            ("xlsx", "an Excel workbook")
        } else if archive.contains("ppt/presentation.xml") {
            ("pptx", "a PowerPoint presentation")
        } else {
            ("docx", "a Word document")
        });
    }
    let mimetype = archive
        .read_all("mimetype", "the mimetype entry", 256)
        .ok()?;
    let mimetype = String::from_utf8_lossy(&mimetype);
    Some(match mimetype.trim() {
        "application/epub+zip" => ("epub", "an EPUB e-book"),
        "application/vnd.oasis.opendocument.text"
        | "application/vnd.oasis.opendocument.text-template" => ("odt", "an OpenDocument text"),
        m if m.starts_with("application/vnd.oasis.opendocument.") => (
            "ods",
            "another OpenDocument file (a spreadsheet, slides or drawing)",
        ),
        _ => return None,
    })
}

/// Why bytes that should be a zip are not one: what they hold instead.
fn not_a_zip(bytes: &[u8], kind: Kind) -> SkipReason {
    let ext = kind.extension();
    let misnamed = |what: &str, fix: &str| SkipReason::Misnamed {
        detail: format!("the file is named .{ext} but holds {what}; {fix}"),
    };
    if bytes.starts_with(&[0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1]) {
        return SkipReason::Encrypted {
            detail:
                "it is an OLE compound file: a password-protected Office document or an old .doc"
                    .to_string(),
        };
    }
    let head = &bytes[..bytes.len().min(1024)];
    if head.starts_with(b"\x89PNG")
        || head.starts_with(&[0xFF, 0xD8, 0xFF])
        || head.starts_with(b"GIF8")
    {
        return misnamed("an image", "images have no text to index, so exclude it");
    }
    let text = String::from_utf8_lossy(head).to_ascii_lowercase();
    if text.contains("<html") || text.contains("<!doctype html") {
        return misnamed("HTML", "rename it to .html");
    }
    if !head.contains(&0) && std::str::from_utf8(head).is_ok() {
        return misnamed("plain text", "rename it to .txt or .md");
    }
    SkipReason::ArchiveCorrupt {
        detail: "it is not a zip archive".to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ingest::testdata::zip_of;

    fn open_as(bytes: &[u8], kind: Kind) -> SkipReason {
        open(bytes, kind, &IngestLimits::default()).err().unwrap()
    }

    #[test]
    fn wrong_contents_are_named() {
        let err = open_as(b"<!DOCTYPE html><html><body>Hi</body></html>", Kind::Docx);
        assert_eq!(err.code(), "misnamed");
        assert!(err.to_string().contains("rename it to .html"), "{err}");
        assert_eq!(open_as(b"just some notes", Kind::Odt).code(), "misnamed");
        assert_eq!(
            open_as(b"\x89PNG\r\n\x1a\n\0\0", Kind::Epub).code(),
            "misnamed"
        );
        let ole = [0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1, 0, 0];
        assert_eq!(open_as(&ole, Kind::Docx).code(), "encrypted");
        assert_eq!(
            open_as(&[0x00, 0x01, 0xFF, 0xFE], Kind::Docx).code(),
            "archive_corrupt"
        );
    }

    #[test]
    fn archives_of_another_format_are_named() {
        let epub = zip_of(&[("mimetype", b"application/epub+zip")]);
        let err = open_as(&epub, Kind::Odt);
        assert_eq!(err.code(), "misnamed");
        assert!(err.to_string().contains("rename it to .epub"), "{err}");
        let xlsx = zip_of(&[
            ("[Content_Types].xml", b"<Types/>"),
            ("xl/workbook.xml", b"<w/>"),
        ]);
        assert!(open_as(&xlsx, Kind::Docx).to_string().contains("Excel"));
        let bare = zip_of(&[("readme.txt", b"hello")]);
        assert_eq!(open_as(&bare, Kind::Docx).code(), "archive_corrupt");
        assert!(open(&epub, Kind::Epub, &IngestLimits::default()).is_ok());
    }
}
