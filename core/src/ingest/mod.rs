//! Turns the bytes of a file (or text handed over by the host app) into a
//! [`ParsedDocument`]: title, tags, metadata and structural blocks with exact
//! positions, so that later stages can chunk, embed and cite without going
//! back to the source.
//!
//! Nothing here chunks, embeds or stores. Files that cannot be used are not
//! errors but a [`SkipReason`]: an indexing run reports them and goes on.

#[cfg(test)]
mod bad_input;
mod bounded;
mod builder;
mod canvas;
mod container;
mod docx;
mod epub;
#[doc(hidden)]
pub mod fuzzing;
mod html;
mod markdown;
mod odt;
mod pdf;
mod refs;
#[cfg(test)]
mod testdata;
mod text;
mod xml;
mod zip;

pub use refs::{Anchor, Link, Locator};

use std::fmt;
use std::io::Read;
use std::path::Path;
use std::time::Duration;

use serde_json::{Map, Value};

use crate::{Error, Result};

/// Where a document came from; stored with every document so results can say
/// how to open the source.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SourceKind {
    Markdown,
    #[default]
    Text,
    Pdf,
    /// Text handed over by the host app (a note), parsed as Markdown.
    Host,
    /// A web page (saved or clipped HTML).
    Html,
    /// A Word document (Office Open XML).
    Docx,
    /// An OpenDocument text (LibreOffice).
    Odt,
    /// An e-book.
    Epub,
    /// A JSON Canvas board (Obsidian `.canvas`).
    Canvas,
}

impl SourceKind {
    /// Stable lower-case name, used in the store and in JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            SourceKind::Markdown => "markdown",
            SourceKind::Text => "text",
            SourceKind::Pdf => "pdf",
            SourceKind::Host => "host",
            SourceKind::Html => "html",
            SourceKind::Docx => "docx",
            SourceKind::Odt => "odt",
            SourceKind::Epub => "epub",
            SourceKind::Canvas => "canvas",
        }
    }

    /// Inverse of [`as_str`](Self::as_str), for reading the name back from the store.
    // An `Option` is all callers need; a `FromStr` impl would add an error type for nothing.
    #[allow(clippy::should_implement_trait)]
    pub fn from_str(s: &str) -> Option<Self> {
        match s {
            "markdown" => Some(SourceKind::Markdown),
            "text" => Some(SourceKind::Text),
            "pdf" => Some(SourceKind::Pdf),
            "host" => Some(SourceKind::Host),
            "html" => Some(SourceKind::Html),
            "docx" => Some(SourceKind::Docx),
            "odt" => Some(SourceKind::Odt),
            "epub" => Some(SourceKind::Epub),
            "canvas" => Some(SourceKind::Canvas),
            _ => None,
        }
    }
}

/// One structural block: a paragraph, list, code block, table, block quote;
/// for PDF a paragraph of one page. The unit the chunker packs into chunks and
/// the unit a citation points at.
#[derive(Debug, Clone, PartialEq)]
pub struct Block {
    /// Text as in the source (Markdown: the raw markdown slice, trimmed),
    /// except where the source's syntax is not text: Obsidian comments, block
    /// ids and callout markers are left out and wikilinks read as their
    /// alias or note name (line breaks are kept, so line numbers inside the
    /// block stay exact). HTML, DOCX, ODT, EPUB and canvas: the readable
    /// text (table rows as `cell | cell` lines, list items as `- item`).
    pub text: String,
    /// Enclosing headings, outermost first, as plain text (also callout
    /// titles and canvas group labels).
    pub heading_path: Vec<String>,
    /// Char offset (not bytes) of `text` in the document's decoded text
    /// (UTF-8 without BOM; PDF: the pages joined by `"\n\n"`; HTML, DOCX,
    /// ODT, EPUB, canvas: the headings and blocks joined by `"\n\n"`). For a
    /// Markdown block whose text was rewritten, the range is the source
    /// block's.
    pub char_start: usize,
    /// Char offset one past the end of `text`.
    pub char_end: usize,
    /// 1-based inclusive line range (Markdown, text, host); `None` otherwise.
    pub lines: Option<(u32, u32)>,
    /// 1-based page number for PDF; `None` otherwise.
    pub page: Option<u32>,
    /// Chapter and paragraph numbers for formats without lines or pages
    /// (HTML, DOCX, ODT, EPUB, canvas); `None` otherwise.
    pub locator: Option<Locator>,
}

/// A parsed document, ready for chunking.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ParsedDocument {
    pub kind: SourceKind,
    /// Front matter `title`, else the first H1, else the first heading, else
    /// the file stem (host text: the given title). HTML: `og:title`, else
    /// `<title>`, else the first heading; DOCX, ODT, EPUB: the document's
    /// own title property, else the first heading.
    pub title: String,
    /// Front matter `tags` (host text: metadata `"tags"`), then inline
    /// `#tags` in order of appearance, deduplicated ignoring case (as
    /// Obsidian does), order kept. A nested tag stays whole (`a/b`).
    pub tags: Vec<String>,
    /// Other names of the document (front matter `aliases`): title evidence
    /// for search and names that links resolve to.
    pub aliases: Vec<String>,
    /// Front matter as JSON (host text: the given metadata object), with
    /// Dataview inline fields (`key:: value`) and callout types added.
    pub metadata: Map<String, Value>,
    /// Blocks in document order. Headings live in `heading_path`; a heading
    /// with nothing below it becomes a block of its own so its text is kept.
    pub blocks: Vec<Block>,
    /// Links to other notes and attachments, in document order.
    pub links: Vec<Link>,
    /// Obsidian block ids (`^id`) and the source range each names.
    pub anchors: Vec<Anchor>,
}

/// Bounds that keep one bad file from stalling or exhausting an indexing run.
#[derive(Debug, Clone)]
pub struct IngestLimits {
    /// Files larger than this are skipped before being read.
    pub max_file_bytes: u64,
    /// PDF text extraction taking longer than this stops (inside the work, so
    /// nothing keeps running) and the file is skipped.
    pub pdf_timeout: Duration,
    /// Most bytes inflated out of one archive (DOCX, ODT, EPUB), all entries
    /// read together; entries are streamed, so this bounds time, not memory.
    pub max_unpacked_bytes: u64,
    /// Most entries (files) in one archive.
    pub max_archive_entries: usize,
    /// An archive entry inflating to more than this many times its
    /// compressed size (once past 1 MiB) is taken for a zip bomb.
    pub max_compression_ratio: u64,
}

impl Default for IngestLimits {
    /// 64 MiB and 60 s: far above real documents, low enough to stop
    /// runaways. Archives: 256 MiB unpacked, 10 000 entries, ratio 100 (real
    /// document XML compresses 5–20 times; zip bombs a thousand times).
    fn default() -> Self {
        IngestLimits {
            max_file_bytes: 64 * 1024 * 1024,
            pdf_timeout: Duration::from_secs(60),
            max_unpacked_bytes: 256 * 1024 * 1024,
            max_archive_entries: 10_000,
            max_compression_ratio: 100,
        }
    }
}

/// Why a file was skipped: a stable [`code`](Self::code) for hosts and a
/// message (via `Display`) that names the fix for users.
#[derive(Debug, Clone, PartialEq)]
pub enum SkipReason {
    TooLarge {
        size: u64,
        limit: u64,
    },
    /// Zero bytes or only whitespace.
    Empty,
    /// NUL bytes or mostly control bytes: not a text file.
    Binary,
    /// Not valid UTF-8; `detail` says where and what it probably is.
    NotUtf8 {
        detail: String,
    },
    PdfCorrupt {
        detail: String,
    },
    /// Cut off: it ends without an end-of-file marker and cannot be read.
    PdfTruncated {
        size: u64,
    },
    /// Named .pdf but something else; `detail` says what.
    NotPdf {
        detail: String,
    },
    /// Encrypted with a user password (or a handler trove cannot open).
    PdfEncrypted {
        detail: String,
    },
    /// The PDF parsed but none of its `pages` has a text layer (scanned).
    PdfNoText {
        pages: u32,
    },
    PdfTimeout {
        seconds: u64,
    },
    PdfPanic {
        detail: String,
    },
    /// The caller's [`CancelToken`](crate::CancelToken) was raised during the
    /// parse. Not a property of the file: never store it as a failure.
    Cancelled,
    Unsupported {
        detail: String,
    },
    Io {
        detail: String,
    },
    /// The file exists but this process may not read it.
    PermissionDenied {
        detail: String,
    },
    /// A DOCX, ODT or EPUB whose zip container is damaged (truncated,
    /// bit-flipped, a required part missing).
    ArchiveCorrupt {
        detail: String,
    },
    /// An archive that expands beyond [`IngestLimits`] (ratio, total size,
    /// entry count) or nests another archive where a document part belongs.
    ArchiveBomb {
        detail: String,
    },
    /// XML that declares entities in a DTD: refused, never expanded.
    XmlEntities,
    /// The document's XML or JSON does not parse.
    Malformed {
        detail: String,
    },
    /// The document parsed but holds no readable text; `detail` says what
    /// it holds instead and what to do.
    NoText {
        detail: String,
    },
    /// The content is another format than the extension says; `detail` says
    /// which and how to rename it.
    Misnamed {
        detail: String,
    },
    /// A password-protected document (or an old binary Office file).
    Encrypted {
        detail: String,
    },
}

impl SkipReason {
    /// Stable snake_case code, for hosts to branch on and for logs.
    pub fn code(&self) -> &'static str {
        match self {
            SkipReason::TooLarge { .. } => "too_large",
            SkipReason::Empty => "empty",
            SkipReason::Binary => "binary",
            SkipReason::NotUtf8 { .. } => "not_utf8",
            SkipReason::PdfCorrupt { .. } => "pdf_corrupt",
            SkipReason::PdfTruncated { .. } => "pdf_truncated",
            SkipReason::NotPdf { .. } => "not_pdf",
            SkipReason::PdfEncrypted { .. } => "pdf_encrypted",
            SkipReason::PdfNoText { .. } => "pdf_no_text",
            SkipReason::PdfTimeout { .. } => "pdf_timeout",
            SkipReason::PdfPanic { .. } => "pdf_panic",
            SkipReason::Cancelled => "cancelled",
            SkipReason::Unsupported { .. } => "unsupported",
            SkipReason::Io { .. } => "io",
            SkipReason::PermissionDenied { .. } => "permission_denied",
            SkipReason::ArchiveCorrupt { .. } => "archive_corrupt",
            SkipReason::ArchiveBomb { .. } => "archive_bomb",
            SkipReason::XmlEntities => "xml_entities",
            SkipReason::Malformed { .. } => "malformed",
            SkipReason::NoText { .. } => "no_text",
            SkipReason::Misnamed { .. } => "misnamed",
            SkipReason::Encrypted { .. } => "encrypted",
        }
    }
}

impl fmt::Display for SkipReason {
    /// One line whatever the details hold (a zip entry's name or a parser's
    /// message may hold line breaks): reasons are printed and logged one
    /// per line.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut message = String::new();
        self.write_message(&mut message)?;
        f.write_str(&message.replace(char::is_control, " "))
    }
}

impl SkipReason {
    fn write_message(&self, f: &mut String) -> fmt::Result {
        use fmt::Write;
        match self {
            SkipReason::TooLarge { size, limit } => write!(
                f,
                "file is {size} bytes, over the {limit}-byte limit; split it into smaller files or raise max_file_bytes"
            ),
            SkipReason::Empty => {
                f.write_str("file is empty or only whitespace; add text to it or remove it")
            }
            SkipReason::Binary => f.write_str(
                "file looks binary (NUL or control bytes); only text, Markdown, PDF, HTML, DOCX, ODT, EPUB and canvas files can be indexed, so exclude it",
            ),
            SkipReason::NotUtf8 { detail } => write!(f, "file is not UTF-8 text: {detail}"),
            SkipReason::PdfCorrupt { detail } => write!(
                f,
                "PDF could not be read ({detail}); open it in a PDF viewer and re-save or print it to a new PDF"
            ),
            SkipReason::PdfTruncated { size } => write!(
                f,
                "PDF is truncated (it ends after {size} bytes, without its end-of-file marker); copy or download it again"
            ),
            SkipReason::NotPdf { detail } => {
                write!(f, "file is named .pdf but is {detail}")
            }
            SkipReason::PdfEncrypted { detail } => write!(
                f,
                "PDF is encrypted and {detail}; remove the password (e.g. `qpdf --decrypt --password=PASSWORD in.pdf out.pdf`) and index the result"
            ),
            SkipReason::PdfNoText { pages } => write!(
                f,
                "PDF has no text layer on any of its {pages} pages (probably scanned); run OCR on it (e.g. ocrmypdf) and index the result"
            ),
            SkipReason::PdfTimeout { seconds } => write!(
                f,
                "PDF text extraction took longer than {seconds} s and was stopped; re-save or print it to a new PDF, or raise pdf_timeout"
            ),
            SkipReason::PdfPanic { detail } => write!(
                f,
                "PDF parser crashed on this file ({detail}); re-save or print it to a new PDF"
            ),
            SkipReason::Cancelled => {
                f.write_str("parsing was cancelled; index the file again to read it")
            }
            SkipReason::Unsupported { detail } => write!(f, "unsupported file: {detail}"),
            SkipReason::Io { detail } => {
                write!(f, "could not read file: {detail}; check that it exists and is readable")
            }
            SkipReason::PermissionDenied { detail } => write!(
                f,
                "permission denied: {detail}; make the file readable (chmod a+r) or list it in .troveignore"
            ),
            SkipReason::ArchiveCorrupt { detail } => write!(
                f,
                "document container is damaged ({detail}); open it in its application and save it again"
            ),
            SkipReason::ArchiveBomb { detail } => write!(
                f,
                "archive expands beyond the limits, as a zip bomb does ({detail}); if it is a real document, save it again without embedded files, or raise max_unpacked_bytes or max_compression_ratio"
            ),
            SkipReason::XmlEntities => f.write_str(
                "document XML declares entities (a DTD), which are refused so they cannot expand; save it again from its application",
            ),
            SkipReason::Malformed { detail } => write!(
                f,
                "document is malformed ({detail}); open it in its application and save it again"
            ),
            SkipReason::NoText { detail } => write!(f, "no readable text: {detail}"),
            SkipReason::Misnamed { detail } => write!(f, "wrong file extension: {detail}"),
            SkipReason::Encrypted { detail } => write!(
                f,
                "document is password-protected or in an old binary format ({detail}); remove the password, or save it as .docx or .odt"
            ),
        }
    }
}

impl std::error::Error for SkipReason {}

/// Reads a file, refusing it before reading when its size exceeds the limit,
/// so a huge file never lands in memory.
pub fn read_limited(path: &Path, limits: &IngestLimits) -> Result<Vec<u8>, SkipReason> {
    let io = |e: std::io::Error| {
        let detail = format!("{}: {e}", path.display());
        if e.kind() == std::io::ErrorKind::PermissionDenied {
            SkipReason::PermissionDenied { detail }
        } else {
            SkipReason::Io { detail }
        }
    };
    let meta = std::fs::metadata(path).map_err(io)?;
    if !meta.is_file() {
        return Err(SkipReason::Unsupported {
            detail: format!("{} is not a regular file", path.display()),
        });
    }
    let limit = limits.max_file_bytes;
    if meta.len() > limit {
        return Err(SkipReason::TooLarge {
            size: meta.len(),
            limit,
        });
    }
    // The file may grow between the size check and the read: read at most one
    // byte past the limit to notice without reading the rest.
    let file = std::fs::File::open(path).map_err(io)?;
    let mut bytes = Vec::with_capacity(meta.len() as usize);
    file.take(limit.saturating_add(1))
        .read_to_end(&mut bytes)
        .map_err(io)?;
    if bytes.len() as u64 > limit {
        return Err(SkipReason::TooLarge {
            size: bytes.len() as u64,
            limit,
        });
    }
    Ok(bytes)
}

/// Detects the format (extension first: .md/.markdown/.mdown/.mkd → Markdown,
/// .html/.htm/.xhtml → HTML, .docx, .odt, .epub, .canvas; .pdf or a `%PDF-`
/// header → PDF; anything else → text after sniffing) and parses it. Blocks
/// longer than [`bounded::MAX_BLOCK_CHARS`] are cut, so no later stage ever
/// holds one huge block.
pub fn parse(
    path: &Path,
    bytes: &[u8],
    limits: &IngestLimits,
) -> Result<ParsedDocument, SkipReason> {
    parse_cancellable(path, bytes, limits, None)
}

/// [`parse`], stopping early with [`SkipReason::Cancelled`] once `cancel` is
/// raised (checked inside PDF extraction, between operators and pages).
pub fn parse_cancellable(
    path: &Path,
    bytes: &[u8],
    limits: &IngestLimits,
    cancel: Option<&crate::CancelToken>,
) -> Result<ParsedDocument, SkipReason> {
    if bytes.len() as u64 > limits.max_file_bytes {
        return Err(SkipReason::TooLarge {
            size: bytes.len() as u64,
            limit: limits.max_file_bytes,
        });
    }
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(SkipReason::Empty);
    }
    let ext = extension(path);
    let stem = file_stem(path);
    let mut doc = if ext == "pdf" || bytes.starts_with(b"%PDF-") {
        pdf::parse(bytes, &stem, limits, cancel)?
    } else {
        match ext.as_str() {
            "html" | "htm" | "xhtml" => html::parse_page(bytes, &stem)?,
            "docx" => docx::parse(bytes, &stem, limits)?,
            "odt" => odt::parse(bytes, &stem, limits)?,
            "epub" => epub::parse(bytes, &stem, limits)?,
            "canvas" => canvas::parse(decode_text(bytes)?, &stem)?,
            "md" | "markdown" | "mdown" | "mkd" => markdown::parse(decode_text(bytes)?, &stem),
            _ => text::parse(decode_text(bytes)?, &stem),
        }
    };
    bounded::split_long_blocks(&mut doc.blocks);
    Ok(doc)
}

/// Metadata of a document: a JSON object (front matter, or what the host
/// app hands over with a note).
pub type Metadata = Map<String, Value>;

/// Reads host metadata given as JSON: an object, or an empty string for none.
///
/// ```
/// let metadata = trove::metadata_from_json(r#"{"tags": ["home"]}"#).unwrap();
/// assert_eq!(metadata["tags"][0], "home");
/// assert!(trove::metadata_from_json("").unwrap().is_empty());
/// assert!(trove::metadata_from_json("[1]").is_err());
/// ```
pub fn metadata_from_json(json: &str) -> Result<Metadata> {
    if json.trim().is_empty() {
        return Ok(Map::new());
    }
    match serde_json::from_str::<Value>(json) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(_) => Err(Error::invalid(
            "metadata must be a JSON object like {\"tags\": [\"a\"]} or an empty string",
        )),
        Err(e) => Err(Error::invalid(format!(
            "metadata is not valid JSON ({e}); pass a JSON object or an empty string"
        ))),
    }
}

/// Text handed over by the host app (a note), parsed as Markdown.
///
/// `metadata` is laid over the note's own front matter (the host's values
/// win); its `"tags"` become the document's tags and its `"aliases"` the
/// document's aliases. An empty `title` falls back to the note's own title.
pub fn parse_host_text(title: &str, text: &str, metadata: &Metadata) -> Result<ParsedDocument> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    if text.trim().is_empty() {
        return Err(Error::invalid("the text is empty; pass the note's text"));
    }
    let (mut doc, inline_tags) = markdown::parse_parts(text, "Untitled");
    doc.kind = SourceKind::Host;
    if !title.trim().is_empty() {
        doc.title = title.trim().to_string();
    }
    doc.metadata.extend(metadata.clone());
    let mut tags = doc
        .metadata
        .get("tags")
        .map(tags_from_json)
        .unwrap_or_default();
    tags.extend(inline_tags);
    doc.tags = dedup_tags(tags);
    doc.aliases = markdown::aliases_of(&doc.metadata);
    bounded::split_long_blocks(&mut doc.blocks);
    Ok(doc)
}

/// Whether a folder walk should consider this file: the extensions of the
/// formats above plus common plain-text markups, or no extension (README,
/// LICENSE). Hidden files are the caller's concern.
pub fn is_supported_path(path: &Path) -> bool {
    path.extension().is_none()
        || matches!(
            extension(path).as_str(),
            "md" | "markdown"
                | "mdown"
                | "mkd"
                | "html"
                | "htm"
                | "xhtml"
                | "docx"
                | "odt"
                | "epub"
                | "canvas"
                | "txt"
                | "text"
                | "rst"
                | "org"
                | "adoc"
                | "asciidoc"
                | "pdf"
        )
}

fn extension(path: &Path) -> String {
    path.extension()
        .map(|e| e.to_string_lossy().to_ascii_lowercase())
        .unwrap_or_default()
}

fn file_stem(path: &Path) -> String {
    path.file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .filter(|s| !s.trim().is_empty())
        .unwrap_or_else(|| "Untitled".to_string())
}

/// Longest detail a parser's error message may add to a skip reason.
const MAX_DETAIL_CHARS: usize = 200;

/// A parser's error message made fit for a skip reason: one line (reasons
/// are printed and logged one per line) and short (some messages quote the
/// document, which may be megabytes on one line).
fn one_line(message: &str) -> String {
    let mut out = String::new();
    for (i, word) in message.split_whitespace().enumerate() {
        if i > 0 {
            out.push(' ');
        }
        out.push_str(word);
        if out.chars().count() > MAX_DETAIL_CHARS {
            let cut: String = out.chars().take(MAX_DETAIL_CHARS).collect();
            return cut + "…";
        }
    }
    out
}

/// How far into a file binary sniffing looks.
const SNIFF_BYTES: usize = 8 * 1024;

/// Checks that `bytes` are UTF-8 text and returns it without a UTF-8 BOM.
fn decode_text(bytes: &[u8]) -> Result<&str, SkipReason> {
    if bytes.starts_with(&[0xFF, 0xFE]) || bytes.starts_with(&[0xFE, 0xFF]) {
        let order = if bytes[0] == 0xFF { "LE" } else { "BE" };
        return Err(SkipReason::NotUtf8 {
            detail: format!(
                "it is UTF-16 {order} (it starts with a UTF-16 byte-order mark); convert it to UTF-8, e.g. `iconv -f UTF-16 -t UTF-8`"
            ),
        });
    }
    let (bom, body) = match bytes.strip_prefix(&[0xEF, 0xBB, 0xBF]) {
        Some(rest) => (3, rest),
        None => (0, bytes),
    };
    let head = &body[..body.len().min(SNIFF_BYTES)];
    if head.contains(&0) {
        return Err(if looks_like_utf16(head) {
            SkipReason::NotUtf8 {
                detail: "it looks like UTF-16 without a byte-order mark; convert it to UTF-8, e.g. `iconv -f UTF-16LE -t UTF-8`".to_string(),
            }
        } else {
            SkipReason::Binary
        });
    }
    match std::str::from_utf8(body) {
        Ok(text) if text.trim().is_empty() => Err(SkipReason::Empty),
        Ok(text) => Ok(text),
        Err(_) if control_share_is_high(head) => Err(SkipReason::Binary),
        Err(e) => Err(SkipReason::NotUtf8 {
            detail: format!(
                "invalid UTF-8 at byte {} (maybe Latin-1, Windows-1252 or UTF-16); convert it to UTF-8, e.g. `iconv -f LATIN1 -t UTF-8`",
                bom + e.valid_up_to()
            ),
        }),
    }
}

/// UTF-16 text without a BOM has NUL in (nearly) every other byte.
fn looks_like_utf16(head: &[u8]) -> bool {
    let nul_at = |parity: usize| {
        head.iter()
            .skip(parity)
            .step_by(2)
            .filter(|&&b| b == 0)
            .count()
    };
    let pairs = head.len() / 2;
    pairs > 0 && (nul_at(0) * 10 >= pairs * 9 || nul_at(1) * 10 >= pairs * 9)
}

/// More than 10% control bytes (other than tab, newlines, form feed and
/// escape) means binary rather than text in a legacy encoding.
fn control_share_is_high(head: &[u8]) -> bool {
    let controls = head
        .iter()
        .filter(|&&b| (b < 0x20 && !matches!(b, b'\t' | b'\n' | b'\r' | 0x0C | 0x1B)) || b == 0x7F)
        .count();
    controls * 10 > head.len()
}

/// Tags from a JSON value: a list of names, or a string of names separated by
/// commas or whitespace. A leading `#` (as note apps write tags) is dropped.
fn tags_from_json(value: &Value) -> Vec<String> {
    let mut raw = Vec::new();
    match value {
        Value::Array(items) => {
            for item in items {
                match item {
                    Value::String(s) => raw.push(s.clone()),
                    Value::Number(n) => raw.push(n.to_string()),
                    Value::Bool(b) => raw.push(b.to_string()),
                    _ => {}
                }
            }
        }
        Value::String(s) => raw.extend(
            s.split(|c: char| c == ',' || c.is_whitespace())
                .map(str::to_string),
        ),
        _ => {}
    }
    dedup_tags(
        raw.iter()
            .map(|tag| {
                let tag = tag.trim();
                tag.strip_prefix('#').unwrap_or(tag).trim().to_string()
            })
            .collect(),
    )
}

/// Drops empty tags and repeats, ignoring case as Obsidian does (`#Rust` and
/// `#rust` are one tag); the first spelling and the order are kept.
fn dedup_tags(raw: Vec<String>) -> Vec<String> {
    let mut tags: Vec<String> = Vec::new();
    for tag in raw {
        let lower = tag.to_lowercase();
        if !tag.is_empty() && !tags.iter().any(|t| t.to_lowercase() == lower) {
            tags.push(tag);
        }
    }
    tags
}

/// Maps byte offsets of a text to char offsets and 1-based line numbers.
struct LineIndex<'a> {
    text: &'a str,
    /// Byte offset where each line starts.
    line_starts: Vec<usize>,
    /// Char offset where each line starts.
    line_char_starts: Vec<usize>,
    /// The last byte offset `char_of` mapped, and its char offset: callers
    /// go forward through the text, so counting from there keeps a line of
    /// many links or ids linear, where counting from the line start was
    /// quadratic.
    last: std::cell::Cell<(usize, usize)>,
}

impl<'a> LineIndex<'a> {
    fn new(text: &'a str) -> Self {
        let mut line_starts = vec![0];
        let mut line_char_starts = vec![0];
        let mut chars = 0;
        for (i, c) in text.char_indices() {
            chars += 1;
            if c == '\n' {
                line_starts.push(i + 1);
                line_char_starts.push(chars);
            }
        }
        LineIndex {
            text,
            line_starts,
            line_char_starts,
            last: Default::default(),
        }
    }

    fn line_count(&self) -> usize {
        self.line_starts.len()
    }

    /// Byte range of line `i` (0-based) without its `\n` or `\r\n`.
    fn line_range(&self, i: usize) -> (usize, usize) {
        let start = self.line_starts[i];
        let end = match self.line_starts.get(i + 1) {
            Some(&next) => next - 1,
            None => self.text.len(),
        };
        let end = if self.text[start..end].ends_with('\r') {
            end - 1
        } else {
            end
        };
        (start, end)
    }

    fn line(&self, i: usize) -> &'a str {
        let (start, end) = self.line_range(i);
        &self.text[start..end]
    }

    /// 0-based index of the line holding byte `byte`.
    fn line_of(&self, byte: usize) -> usize {
        self.line_starts.partition_point(|&s| s <= byte) - 1
    }

    fn char_of(&self, byte: usize) -> usize {
        let line = self.line_of(byte);
        let (mut from, mut chars) = (self.line_starts[line], self.line_char_starts[line]);
        let (last_byte, last_chars) = self.last.get();
        if (from..=byte).contains(&last_byte) {
            (from, chars) = (last_byte, last_chars);
        }
        let chars = chars + self.text[from..byte].chars().count();
        self.last.set((byte, chars));
        chars
    }

    /// A block for the bytes `start..end`, trimmed of surrounding whitespace;
    /// `None` when nothing but whitespace is left.
    fn block(&self, start: usize, end: usize) -> Option<Block> {
        let slice = &self.text[start..end];
        self.block_trim_end(start + (slice.len() - slice.trim_start().len()), end)
    }

    /// A block for the bytes `start..end` with only trailing whitespace
    /// trimmed; `None` when nothing but whitespace is left.
    fn block_trim_end(&self, start: usize, end: usize) -> Option<Block> {
        let text = self.text[start..end].trim_end();
        if text.trim_start().is_empty() {
            return None;
        }
        let end = start + text.len();
        Some(Block {
            text: text.to_string(),
            heading_path: Vec::new(),
            char_start: self.char_of(start),
            char_end: self.char_of(end),
            lines: Some((
                self.line_of(start) as u32 + 1,
                self.line_of(end - 1) as u32 + 1,
            )),
            page: None,
            locator: None,
        })
    }
}

/// Tracks the open headings while walking a document, and turns headings that
/// end up with nothing below them into blocks so their text is not lost.
#[derive(Default)]
struct HeadingTracker {
    stack: Vec<OpenHeading>,
    blocks: Vec<Block>,
}

struct OpenHeading {
    level: u32,
    text: String,
    /// The heading's own source, emitted if nothing ends up below it.
    own_block: Block,
    has_content: bool,
}

impl HeadingTracker {
    /// Opens a heading of `level` (1 = outermost), closing those at the same
    /// or a deeper level.
    fn open(&mut self, level: u32, text: String, own_block: Block) {
        while self.stack.last().is_some_and(|h| h.level >= level) {
            self.close_innermost();
        }
        self.stack.push(OpenHeading {
            level,
            text,
            own_block,
            has_content: false,
        });
    }

    fn path(&self) -> Vec<String> {
        self.stack.iter().map(|h| h.text.clone()).collect()
    }

    /// Adds a content block under the current headings.
    fn push(&mut self, block: Block) {
        self.push_labelled(block, None);
    }

    /// Adds a content block under the current headings and, when given, a
    /// label of its own (a callout title, a canvas group) below them.
    fn push_labelled(&mut self, mut block: Block, label: Option<String>) {
        block.heading_path = self.path();
        block.heading_path.extend(label);
        self.blocks.push(block);
        for h in &mut self.stack {
            h.has_content = true;
        }
    }

    fn close_innermost(&mut self) {
        if self.stack.last().is_some_and(|h| !h.has_content) {
            let own = self.stack.last().map(|h| h.own_block.clone());
            if let Some(own) = own {
                self.push(own);
            }
        }
        self.stack.pop();
    }

    /// Closes all open headings (a new chapter starts).
    fn close_all(&mut self) {
        while !self.stack.is_empty() {
            self.close_innermost();
        }
    }

    /// Closes all headings and returns the blocks in document order.
    fn finish(mut self) -> Vec<Block> {
        self.close_all();
        self.blocks
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    fn limits() -> IngestLimits {
        IngestLimits::default()
    }

    fn parse_as(name: &str, bytes: &[u8]) -> Result<ParsedDocument, SkipReason> {
        parse(Path::new(name), bytes, &limits())
    }

    #[test]
    fn source_kind_names_round_trip() {
        for kind in [
            SourceKind::Markdown,
            SourceKind::Text,
            SourceKind::Pdf,
            SourceKind::Host,
            SourceKind::Html,
            SourceKind::Docx,
            SourceKind::Odt,
            SourceKind::Epub,
            SourceKind::Canvas,
        ] {
            assert_eq!(SourceKind::from_str(kind.as_str()), Some(kind));
        }
        assert_eq!(SourceKind::Markdown.as_str(), "markdown");
        assert_eq!(SourceKind::from_str("xlsx"), None);
    }

    #[test]
    fn detects_format_by_extension_and_header() {
        assert_eq!(
            parse_as("a.md", b"# A\n\nx").unwrap().kind,
            SourceKind::Markdown
        );
        assert_eq!(
            parse_as("a.MKD", b"# A\n\nx").unwrap().kind,
            SourceKind::Markdown
        );
        assert_eq!(
            parse_as("a.txt", b"# A\n\nx").unwrap().kind,
            SourceKind::Text
        );
        assert_eq!(parse_as("README", b"hello").unwrap().kind, SourceKind::Text);
        // A PDF header wins over a text extension (and this one is cut off).
        let err = parse_as("a.txt", b"%PDF-1.7\ngarbage").unwrap_err();
        assert_eq!(err.code(), "pdf_truncated");
        let err = parse_as("a.txt", b"%PDF-1.7\ngarbage\n%%EOF\n").unwrap_err();
        assert_eq!(err.code(), "pdf_corrupt");
    }

    #[test]
    fn utf8_bom_is_stripped() {
        let doc = parse_as("a.txt", "\u{feff}héllo\nworld\n".as_bytes()).unwrap();
        assert_eq!(doc.blocks.len(), 1);
        assert_eq!(doc.blocks[0].text, "héllo\nworld");
        assert_eq!((doc.blocks[0].char_start, doc.blocks[0].char_end), (0, 11));
        let doc = parse_as("a.md", "\u{feff}# T\n\nbody".as_bytes()).unwrap();
        assert_eq!(doc.title, "T");
        assert_eq!(doc.blocks[0].char_start, 5);
    }

    #[test]
    fn latin1_is_not_utf8_with_position() {
        // "café crème" in Latin-1: é is the lone byte 0xE9.
        let err = parse_as("a.txt", b"caf\xe9 cr\xe8me\n").unwrap_err();
        assert_eq!(err.code(), "not_utf8");
        let SkipReason::NotUtf8 { detail } = &err else {
            unreachable!()
        };
        assert!(detail.contains("byte 3"), "{detail}");
        assert!(err.to_string().contains("convert it to UTF-8"), "{err}");
    }

    #[test]
    fn utf16_is_named() {
        let mut le = vec![0xFF, 0xFE];
        le.extend("hello".encode_utf16().flat_map(u16::to_le_bytes));
        let err = parse_as("a.txt", &le).unwrap_err();
        assert_eq!(err.code(), "not_utf8");
        assert!(err.to_string().contains("UTF-16"), "{err}");

        let mut be = vec![0xFE, 0xFF];
        be.extend("hello".encode_utf16().flat_map(u16::to_be_bytes));
        assert!(
            parse_as("a.md", &be)
                .unwrap_err()
                .to_string()
                .contains("UTF-16 BE")
        );

        let no_bom: Vec<u8> = "hello world"
            .encode_utf16()
            .flat_map(u16::to_le_bytes)
            .collect();
        let err = parse_as("a.txt", &no_bom).unwrap_err();
        assert_eq!(err.code(), "not_utf8");
        assert!(err.to_string().contains("UTF-16"), "{err}");
    }

    #[test]
    fn binary_is_detected() {
        assert_eq!(
            parse_as("a.txt", b"ELF\x02\x01\x01\x00\x00\x00text").unwrap_err(),
            SkipReason::Binary
        );
        assert_eq!(
            parse_as("notes", b"abc\x00def").unwrap_err(),
            SkipReason::Binary
        );
        // Invalid UTF-8 full of control bytes is binary, not a legacy encoding.
        let junk: Vec<u8> = (0..400u32)
            .map(|i| [0x01, 0x02, 0xFF, 0x03][i as usize % 4])
            .collect();
        assert_eq!(parse_as("a.bin", &junk).unwrap_err(), SkipReason::Binary);
    }

    #[test]
    fn empty_and_whitespace_are_empty() {
        for bytes in [
            &b""[..],
            b"   \n\t\r\n",
            "\u{feff}".as_bytes(),
            "\u{feff}\u{3000}\n".as_bytes(),
        ] {
            assert_eq!(parse_as("a.md", bytes).unwrap_err(), SkipReason::Empty);
            assert_eq!(parse_as("a.txt", bytes).unwrap_err(), SkipReason::Empty);
        }
        assert_eq!(parse_as("a.pdf", b"").unwrap_err(), SkipReason::Empty);
    }

    #[test]
    fn size_limit_is_enforced() {
        let dir = std::env::temp_dir().join(format!("trove-ingest-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file: PathBuf = dir.join("big.txt");
        std::fs::write(&file, vec![b'a'; 100]).unwrap();
        let small = IngestLimits {
            max_file_bytes: 99,
            ..IngestLimits::default()
        };
        let err = read_limited(&file, &small).unwrap_err();
        assert_eq!(
            err,
            SkipReason::TooLarge {
                size: 100,
                limit: 99
            }
        );
        assert_eq!(err.code(), "too_large");
        assert!(err.to_string().contains("max_file_bytes"));
        assert_eq!(read_limited(&file, &limits()).unwrap().len(), 100);
        assert_eq!(
            parse(&file, &[b'a'; 100], &small).unwrap_err().code(),
            "too_large"
        );

        let missing = read_limited(&dir.join("missing.txt"), &limits()).unwrap_err();
        assert_eq!(missing.code(), "io");
        assert_eq!(
            read_limited(&dir, &limits()).unwrap_err().code(),
            "unsupported"
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn supported_paths() {
        for p in [
            "a.md",
            "b.MarkDown",
            "c.txt",
            "d.rst",
            "e.org",
            "f.adoc",
            "g.PDF",
            "README",
            "x/y.mkd",
            "h.html",
            "i.HTM",
            "j.xhtml",
            "k.docx",
            "l.odt",
            "m.epub",
            "n.canvas",
        ] {
            assert!(is_supported_path(Path::new(p)), "{p}");
        }
        for p in ["a.png", "b.doc", "c.xlsx", "d.rs"] {
            assert!(!is_supported_path(Path::new(p)), "{p}");
        }
    }

    #[test]
    fn skip_reasons_have_codes_and_fixes() {
        let all = [
            SkipReason::TooLarge { size: 2, limit: 1 },
            SkipReason::Empty,
            SkipReason::Binary,
            SkipReason::NotUtf8 { detail: "x".into() },
            SkipReason::PdfCorrupt { detail: "x".into() },
            SkipReason::PdfTruncated { size: 9 },
            SkipReason::NotPdf { detail: "x".into() },
            SkipReason::PdfEncrypted { detail: "x".into() },
            SkipReason::PdfNoText { pages: 2 },
            SkipReason::PdfTimeout { seconds: 60 },
            SkipReason::PdfPanic { detail: "x".into() },
            SkipReason::Cancelled,
            SkipReason::Unsupported { detail: "x".into() },
            SkipReason::Io { detail: "x".into() },
            SkipReason::PermissionDenied { detail: "x".into() },
            SkipReason::ArchiveCorrupt { detail: "x".into() },
            SkipReason::ArchiveBomb { detail: "x".into() },
            SkipReason::XmlEntities,
            SkipReason::Malformed { detail: "x".into() },
            SkipReason::NoText { detail: "x".into() },
            SkipReason::Misnamed { detail: "x".into() },
            SkipReason::Encrypted { detail: "x".into() },
        ];
        let codes: Vec<&str> = all.iter().map(SkipReason::code).collect();
        assert_eq!(
            codes,
            [
                "too_large",
                "empty",
                "binary",
                "not_utf8",
                "pdf_corrupt",
                "pdf_truncated",
                "not_pdf",
                "pdf_encrypted",
                "pdf_no_text",
                "pdf_timeout",
                "pdf_panic",
                "cancelled",
                "unsupported",
                "io",
                "permission_denied",
                "archive_corrupt",
                "archive_bomb",
                "xml_entities",
                "malformed",
                "no_text",
                "misnamed",
                "encrypted"
            ]
        );
        assert!(
            SkipReason::PdfNoText { pages: 2 }
                .to_string()
                .contains("OCR")
        );
        for r in &all {
            assert!(!r.to_string().contains('\n'));
        }
        // Details from the file (zip entry names, parser messages) too.
        let named = SkipReason::ArchiveCorrupt {
            detail: "word/doc\nument.xml\r fails its CRC check".into(),
        };
        assert_eq!(
            named.to_string(),
            "document container is damaged (word/doc ument.xml  fails its CRC check); open it in its application and save it again"
        );
    }

    #[test]
    fn host_text_is_markdown_with_given_metadata() {
        let doc = parse_host_text(
            "My note",
            "---\ntags: [old]\nauthor: me\n---\n# Heading\n\nBody text.",
            &metadata_from_json(r#"{"tags": ["a", "b", "a"], "source": "notes-app"}"#).unwrap(),
        )
        .unwrap();
        assert_eq!(doc.kind, SourceKind::Host);
        assert_eq!(doc.title, "My note");
        assert_eq!(doc.tags, ["a", "b"]);
        assert_eq!(doc.metadata["source"], "notes-app");
        assert_eq!(doc.metadata["author"], "me");
        assert_eq!(doc.blocks.len(), 1);
        assert_eq!(doc.blocks[0].heading_path, ["Heading"]);
        assert_eq!(doc.blocks[0].lines, Some((7, 7)));

        let doc = parse_host_text("", "# From text\n\nx", &Metadata::new()).unwrap();
        assert_eq!(doc.title, "From text");
        assert!(doc.tags.is_empty() && doc.metadata.is_empty());
        let tags = metadata_from_json(r##"{"tags": "#one, two three"}"##).unwrap();
        let doc = parse_host_text("t", "x", &tags).unwrap();
        assert_eq!(doc.tags, ["one", "two", "three"]);

        let text = "---\naliases: [Old name]\n---\nx";
        let doc = parse_host_text("t", text, &Metadata::new()).unwrap();
        assert_eq!(doc.aliases, ["Old name"]);
        let given = metadata_from_json(r#"{"aliases": "Kettle, Pot"}"#).unwrap();
        let doc = parse_host_text("t", text, &given).unwrap();
        assert_eq!(doc.aliases, ["Kettle", "Pot"]);
    }

    #[test]
    fn host_text_rejects_bad_input() {
        for meta in ["{not json", "[1, 2]", "\"tags\"", "42"] {
            let err = metadata_from_json(meta).unwrap_err();
            assert_eq!(err.kind(), crate::ErrorKind::InvalidInput, "{meta}");
        }
        let err = parse_host_text("t", " \n\t", &Metadata::new()).unwrap_err();
        assert_eq!(err.kind(), crate::ErrorKind::InvalidInput);
    }

    #[test]
    fn parser_messages_become_one_short_line() {
        assert_eq!(
            one_line("expected `</a>`,\n but\t`</b\r\n>` found"),
            "expected `</a>`, but `</b >` found"
        );
        let long = one_line(&"é x\n".repeat(1000));
        assert_eq!(long.chars().count(), MAX_DETAIL_CHARS + 1);
        assert!(long.ends_with('…') && !long.contains('\n'));
    }

    #[test]
    fn line_index_maps_bytes_to_chars_and_lines() {
        let text = "aé\r\nb\n\nçd";
        let idx = LineIndex::new(text);
        assert_eq!(idx.line_count(), 4);
        assert_eq!(idx.line(0), "aé");
        assert_eq!(idx.line(2), "");
        assert_eq!(idx.line(3), "çd");
        let d = text.find('d').unwrap();
        assert_eq!(idx.line_of(d), 3);
        assert_eq!(idx.char_of(d), text.chars().count() - 1);
        // Backwards and forwards again, within and across lines.
        for (byte, _) in text.char_indices().rev().chain(text.char_indices()) {
            assert_eq!(idx.char_of(byte), text[..byte].chars().count());
        }
    }
}
