//! What a file named .pdf really is, from its first bytes, so the skip
//! reason can name the fix (unzip it, rename it) instead of "corrupt".

/// How far into the file the `%PDF-` header may start (some producers put
/// junk before it; readers accept 1024 bytes).
const HEADER_WINDOW: usize = 1024;

/// `None` for a PDF; otherwise what the bytes look like, as a phrase.
pub(super) fn not_pdf(bytes: &[u8]) -> Option<&'static str> {
    let head = &bytes[..bytes.len().min(HEADER_WINDOW)];
    if head.windows(5).any(|w| w == b"%PDF-") {
        return None;
    }
    let trimmed = trim_start(head);
    let lower: Vec<u8> = trimmed
        .iter()
        .take(64)
        .map(u8::to_ascii_lowercase)
        .collect();
    Some(if bytes.starts_with(&[0x1F, 0x8B]) {
        "gzip-compressed data (decompress it, e.g. `gunzip -S .pdf`, then index the result)"
    } else if bytes.starts_with(b"PK\x03\x04") {
        "a ZIP archive (unpack it and index what it holds)"
    } else if bytes.starts_with(b"\x89PNG") {
        "a PNG image (rename it to .png; images need OCR to be searchable)"
    } else if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
        "a JPEG image (rename it to .jpg; images need OCR to be searchable)"
    } else if bytes.starts_with(b"GIF8") {
        "a GIF image (rename it to .gif; images need OCR to be searchable)"
    } else if lower.starts_with(b"<!doctype html")
        || lower.starts_with(b"<html")
        || lower.starts_with(b"<?xml") && lower.windows(5).any(|w| w == b"<html")
    {
        "an HTML page (rename it to .html, or save the page as PDF again)"
    } else if bytes.starts_with(b"%!PS") {
        "a PostScript file (convert it with `ps2pdf`)"
    } else {
        "not a PDF: no %PDF- header in its first 1024 bytes (check where it came from and download it again)"
    })
}

fn trim_start(b: &[u8]) -> &[u8] {
    let b = b.strip_prefix(&[0xEF, 0xBB, 0xBF]).unwrap_or(b);
    let n = b.iter().take_while(|c| c.is_ascii_whitespace()).count();
    &b[n..]
}

#[cfg(test)]
mod tests {
    use super::not_pdf;

    #[test]
    fn recognises_what_is_not_a_pdf() {
        assert_eq!(not_pdf(b"junk\n%PDF-1.4\n"), None);
        assert!(not_pdf(b"\x1f\x8b\x08\x00").unwrap().contains("gzip"));
        assert!(not_pdf(b"\x89PNG\r\n\x1a\n").unwrap().contains("PNG"));
        assert!(
            not_pdf(b"  <!DOCTYPE HTML PUBLIC")
                .unwrap()
                .contains("HTML")
        );
        assert!(not_pdf(b"hello").unwrap().contains("no %PDF- header"));
    }
}
