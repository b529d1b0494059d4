//! Objects lopdf could not parse, read again leniently from their xref
//! offset. Some producers write a stream's `endstream` after a space rather
//! than an end of line (VTeX does, for every page), and lopdf drops such an
//! object whole: the page then loses all its text.

use lopdf::xref::XrefEntry;
use lopdf::{Dictionary, Document, Object, Stream, StringFormat};

use super::lexer::{Lexer, Token};

/// How many dropped objects are looked at, at most.
const MAX_REPAIRS: usize = 10_000;
/// Nesting of arrays and dictionaries in a repaired object.
const MAX_DEPTH: usize = 32;

/// Re-reads every object the xref lists at an offset that is missing from
/// `doc`; returns how many came back.
pub(super) fn missing_objects(doc: &mut Document, bytes: &[u8]) -> usize {
    let base = bytes
        .windows(5)
        .take(1024)
        .position(|w| w == b"%PDF-")
        .unwrap_or(0);
    let data = &bytes[base..];
    let missing: Vec<(u32, u16, usize)> = doc
        .reference_table
        .entries
        .iter()
        .filter_map(|(&id, e)| match *e {
            XrefEntry::Normal { offset, generation }
                if !doc.objects.contains_key(&(id, generation)) =>
            {
                Some((id, generation, offset as usize))
            }
            _ => None,
        })
        .take(MAX_REPAIRS)
        .collect();
    let mut repaired = 0;
    for (id, generation, offset) in missing {
        if let Some(obj) = data.get(offset..).and_then(|d| indirect(doc, d, id)) {
            doc.objects.insert((id, generation), obj);
            repaired += 1;
        }
    }
    repaired
}

/// `id gen obj <object> [stream ... endstream]` at the start of `data`.
fn indirect(doc: &Document, data: &[u8], id: u32) -> Option<Object> {
    let mut lx = Lexer::new(data);
    match (lx.next_token()?, lx.next_token()?, lx.next_token()?) {
        (Token::Number(n), Token::Number(_), Token::Word(b"obj")) if n as u32 == id => {}
        _ => return None,
    }
    let first = lx.next_token()?;
    let obj = object(&mut lx, first, 0)?;
    let Object::Dictionary(dict) = obj else {
        return Some(obj);
    };
    if lx.next_token() != Some(Token::Word(b"stream")) {
        return Some(Object::Dictionary(dict));
    }
    let mut start = lx.position();
    if data.get(start) == Some(&b'\r') {
        start += 1;
    }
    if data.get(start) == Some(&b'\n') {
        start += 1;
    }
    let content = stream_data(doc, &dict, &data[start..])?;
    Some(Object::Stream(Stream::new(dict, content.to_vec())))
}

/// The stream's bytes: `/Length` of them when `endstream` follows after any
/// white space, else everything up to the first `endstream`.
fn stream_data<'a>(doc: &Document, dict: &Dictionary, data: &'a [u8]) -> Option<&'a [u8]> {
    let length = match dict.get(b"Length").ok()? {
        Object::Integer(n) => Some(*n),
        Object::Reference(r) => doc.objects.get(r).and_then(|o| o.as_i64().ok()),
        _ => None,
    };
    if let Some(n) = length.and_then(|n| usize::try_from(n).ok())
        && n <= data.len()
    {
        let rest = &data[n..];
        let white = rest.iter().take_while(|b| b.is_ascii_whitespace()).count();
        if rest[white..].starts_with(b"endstream") {
            return Some(&data[..n]);
        }
    }
    let end = data.windows(9).position(|w| w == b"endstream")?;
    let trimmed = data[..end].len()
        - data[..end]
            .iter()
            .rev()
            .take(2)
            .take_while(|b| matches!(b, b'\r' | b'\n'))
            .count();
    Some(&data[..trimmed])
}

/// One direct object whose first token is `first`.
fn object(lx: &mut Lexer<'_>, first: Token<'_>, depth: usize) -> Option<Object> {
    if depth > MAX_DEPTH {
        return None;
    }
    Some(match first {
        Token::Number(n) => number(n),
        Token::String(s) => Object::String(s, StringFormat::Literal),
        Token::Name(n) => Object::Name(n),
        Token::Word(b"true") => Object::Boolean(true),
        Token::Word(b"false") => Object::Boolean(false),
        Token::Word(b"null") => Object::Null,
        Token::ArrayOpen => Object::Array(items(lx, &Token::ArrayClose, depth)?),
        Token::DictOpen => {
            let mut dict = Dictionary::new();
            let mut it = items(lx, &Token::DictClose, depth)?.into_iter();
            while let (Some(k), Some(v)) = (it.next(), it.next()) {
                if let Object::Name(k) = k {
                    dict.set(k, v);
                }
            }
            Object::Dictionary(dict)
        }
        _ => return None,
    })
}

/// The objects up to `close`, with `a b R` already read as references.
fn items(lx: &mut Lexer<'_>, close: &Token<'_>, depth: usize) -> Option<Vec<Object>> {
    let mut out = Vec::new();
    loop {
        let tok = lx.next_token()?;
        if &tok == close {
            return Some(out);
        }
        if tok == Token::Word(b"R") {
            reference(&mut out)?;
        } else {
            out.push(object(lx, tok, depth + 1)?);
        }
    }
}

/// `a b R` → a reference in place of the two numbers.
fn reference(items: &mut Vec<Object>) -> Option<()> {
    let generation = items.pop()?.as_i64().ok()?;
    let id = items.pop()?.as_i64().ok()?;
    items.push(Object::Reference((
        u32::try_from(id).ok()?,
        u16::try_from(generation).ok()?,
    )));
    Some(())
}

fn number(n: f32) -> Object {
    if n.fract() == 0.0 && n.abs() < 16_777_216.0 {
        Object::Integer(n as i64)
    } else {
        Object::Real(n)
    }
}
