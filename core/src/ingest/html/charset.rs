//! The text of an HTML or XHTML file in whatever encoding it was saved:
//! a byte-order mark, else the `<meta charset>` (or `http-equiv`) or XML
//! declaration in the first bytes, else UTF-8 when valid, else Windows-1252
//! (what browsers assume). Decoding is permissive: a bad byte becomes U+FFFD
//! instead of losing the page.

use std::borrow::Cow;

use encoding_rs::{Encoding, UTF_8, WINDOWS_1252};

/// How far the declaration is looked for, as browsers do.
const PRESCAN_BYTES: usize = 4096;

/// Decodes `bytes` to text.
pub(in crate::ingest) fn decode(bytes: &[u8]) -> Cow<'_, str> {
    if let Some((encoding, bom)) = Encoding::for_bom(bytes) {
        return encoding.decode_without_bom_handling(&bytes[bom..]).0;
    }
    let encoding = declared(&bytes[..bytes.len().min(PRESCAN_BYTES)]).unwrap_or_else(|| {
        if std::str::from_utf8(bytes).is_ok() {
            UTF_8
        } else {
            WINDOWS_1252
        }
    });
    encoding.decode_without_bom_handling(bytes).0
}

/// The encoding a page declares in its first bytes; a UTF-16 label there
/// means UTF-8 (the bytes read as ASCII, so they are not UTF-16).
fn declared(head: &[u8]) -> Option<&'static Encoding> {
    let text = String::from_utf8_lossy(head).to_ascii_lowercase();
    let label = charset_after(&text, "charset=").or_else(|| {
        let decl = text.find("<?xml")?;
        let end = text[decl..].find("?>")? + decl;
        charset_after(&text[decl..end], "encoding=")
    })?;
    let encoding = Encoding::for_label(label.as_bytes())?;
    Some(if encoding.name().starts_with("UTF-16") {
        UTF_8
    } else {
        encoding
    })
}

/// The value after `key` (quoted or not) in a lower-cased head.
fn charset_after(text: &str, key: &str) -> Option<String> {
    let at = text.find(key)? + key.len();
    let value = text[at..].trim_start_matches(['"', '\'', ' ']);
    let end = value
        .find(|c: char| !(c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | ':' | '.')))
        .unwrap_or(value.len());
    Some(value[..end].to_string()).filter(|v| !v.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn declared_encodings_are_used() {
        let latin1 = b"<html><head><meta charset=\"ISO-8859-1\"></head><body>caf\xe9</body></html>";
        assert!(decode(latin1).contains("café"));
        let http = b"<meta http-equiv=\"Content-Type\" content=\"text/html; charset=windows-1251\">\xcf\xf0\xe8\xe2\xe5\xf2";
        assert!(decode(http).ends_with("Привет"));
        let xml = b"<?xml version='1.0' encoding='Shift_JIS'?><p>\x93\xfa\x96\x7b</p>";
        assert!(decode(xml).contains("日本"));
        let sjis_html = "<meta charset=\"shift_jis\">".as_bytes();
        assert_eq!(decode(sjis_html), "<meta charset=\"shift_jis\">");
    }

    #[test]
    fn boms_and_fallbacks() {
        let mut utf16 = vec![0xFF, 0xFE];
        utf16.extend("<p>ünï</p>".encode_utf16().flat_map(u16::to_le_bytes));
        assert_eq!(decode(&utf16), "<p>ünï</p>");
        assert_eq!(decode("\u{feff}<p>x</p>".as_bytes()), "<p>x</p>");
        assert_eq!(decode("<p>déjà</p>".as_bytes()), "<p>déjà</p>");
        // Undeclared and not UTF-8: Windows-1252, as browsers read it.
        assert_eq!(
            decode(b"<p>\x93quoted\x94</p>"),
            "<p>\u{201c}quoted\u{201d}</p>"
        );
        // Declared UTF-8 with a bad byte: the rest of the page survives.
        assert_eq!(
            decode(b"<meta charset=utf-8><p>a\xffb</p>"),
            "<meta charset=utf-8><p>a\u{fffd}b</p>"
        );
        // A UTF-16 label in an ASCII page is wrong: read as UTF-8.
        assert_eq!(
            decode(b"<meta charset=utf-16><p>x</p>"),
            "<meta charset=utf-16><p>x</p>"
        );
    }
}
