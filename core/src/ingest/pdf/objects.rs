//! Small, total accessors over lopdf's object graph: a broken reference or a
//! wrong type reads as "absent", never as an error that loses the page.

use lopdf::{Dictionary, Document, Object, Stream};

/// How many references in a row are followed before giving up (a chain of
/// references to references, or a cycle).
const MAX_DEREF: usize = 32;

/// Largest decoded size of one stream (a page's content, a font program, a
/// CMap). Real ones stay far below; the rest is a decompression bomb.
pub(super) const MAX_STREAM_BYTES: usize = 48 * 1024 * 1024;

pub(super) fn deref<'a>(doc: &'a Document, mut obj: &'a Object) -> Option<&'a Object> {
    for _ in 0..MAX_DEREF {
        match obj {
            Object::Reference(id) => obj = doc.objects.get(id)?,
            other => return Some(other),
        }
    }
    None
}

pub(super) fn get<'a>(doc: &'a Document, dict: &'a Dictionary, key: &[u8]) -> Option<&'a Object> {
    deref(doc, dict.get(key).ok()?)
}

pub(super) fn dict<'a>(
    doc: &'a Document,
    dict: &'a Dictionary,
    key: &[u8],
) -> Option<&'a Dictionary> {
    match get(doc, dict, key)? {
        Object::Dictionary(d) => Some(d),
        Object::Stream(s) => Some(&s.dict),
        _ => None,
    }
}

pub(super) fn stream<'a>(
    doc: &'a Document,
    dict: &'a Dictionary,
    key: &[u8],
) -> Option<&'a Stream> {
    match get(doc, dict, key)? {
        Object::Stream(s) => Some(s),
        _ => None,
    }
}

pub(super) fn name<'a>(doc: &'a Document, dict: &'a Dictionary, key: &[u8]) -> Option<&'a [u8]> {
    match get(doc, dict, key)? {
        Object::Name(n) => Some(n),
        _ => None,
    }
}

pub(super) fn number(obj: &Object) -> Option<f32> {
    match obj {
        Object::Integer(i) => Some(*i as f32),
        Object::Real(r) => Some(*r),
        _ => None,
    }
}

pub(super) fn num(doc: &Document, dict: &Dictionary, key: &[u8]) -> Option<f32> {
    number(get(doc, dict, key)?)
}

pub(super) fn array<'a>(
    doc: &'a Document,
    dict: &'a Dictionary,
    key: &[u8],
) -> Option<&'a [Object]> {
    match get(doc, dict, key)? {
        Object::Array(a) => Some(a),
        _ => None,
    }
}

/// A stream's decoded bytes, `None` when it cannot be decoded within
/// [`MAX_STREAM_BYTES`]. A stream whose filter fails is taken raw only when
/// it has no filter we know, as lopdf does for content.
pub(super) fn decoded(stream: &Stream) -> Option<Vec<u8>> {
    match stream.decompressed_content_with_limit(MAX_STREAM_BYTES) {
        Ok(data) => Some(data),
        Err(lopdf::Error::Decompress(lopdf::DecompressError::MemoryLimitExceeded { .. })) => None,
        Err(_) if stream.filters().map(|f| f.is_empty()).unwrap_or(true) => {
            (stream.content.len() <= MAX_STREAM_BYTES).then(|| stream.content.clone())
        }
        Err(_) => None,
    }
}

/// A text string (PDFDocEncoding or UTF-16 with BOM), trimmed; `None` when empty.
pub(super) fn text_string(obj: &Object) -> Option<String> {
    let text = raw_text_string(obj)?;
    let text = text.trim().to_string();
    (!text.is_empty()).then_some(text)
}

/// A text string as written, white space and emptiness kept.
pub(super) fn raw_text_string(obj: &Object) -> Option<String> {
    let Object::String(bytes, _) = obj else {
        return None;
    };
    let text = if bytes.starts_with(&[0xFE, 0xFF]) {
        let units: Vec<u16> = bytes[2..]
            .chunks(2)
            .map(|c| u16::from(c[0]) << 8 | u16::from(*c.get(1).unwrap_or(&0)))
            .collect();
        String::from_utf16_lossy(&units)
    } else if bytes.starts_with(&[0xEF, 0xBB, 0xBF]) {
        String::from_utf8_lossy(&bytes[3..]).into_owned()
    } else {
        // PDFDocEncoding agrees with Latin-1 for the letters titles use.
        bytes.iter().map(|&b| b as char).collect()
    };
    Some(text)
}
