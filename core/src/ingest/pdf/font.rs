//! Fonts: how the bytes of a shown string become characters with widths.
//!
//! Text comes from the first source that knows a code: the ToUnicode map;
//! for simple fonts the encoding's glyph names (`/Differences`, the base
//! encoding, the font program's built-in encoding); for composite fonts a
//! Unicode-based or legacy CJK CMap, then the embedded TrueType `cmap` or
//! CFF glyph names reached through the CID.

use std::collections::HashMap;

use lopdf::{Dictionary, Document, Object};

use super::cmap::CMap;
use super::encoding::Base;
use super::objects::{self, array, name, num, stream};
use super::{collections, glyphs, program, std14};

/// One decoded character code.
pub(super) struct Glyph<'f> {
    /// Its text; `None` when no source knows the code.
    pub(super) text: Option<&'f str>,
    /// Advance in text space (unscaled by font size), horizontal or vertical.
    pub(super) width: f32,
    /// The one-byte code 32, to which word spacing applies.
    pub(super) word_space: bool,
}

pub(super) struct Font {
    kind: Kind,
    /// Glyph space → text space (0.001 except for Type 3 fonts).
    scale: f32,
    /// Writing mode 1: glyphs advance downwards.
    pub(super) vertical: bool,
}

enum Kind {
    Simple {
        text: Vec<Option<Box<str>>>,
        widths: Vec<f32>,
    },
    Composite(Box<Composite>),
}

struct Composite {
    codes: Codes,
    to_unicode: Option<CMap>,
    /// Text by CID from the font program (TrueType via CIDToGIDMap, or
    /// glyph names of a name-keyed CFF).
    by_cid: HashMap<u32, String>,
    /// The Adobe CJK collection the CIDs belong to, for the last resort.
    collection: Option<usize>,
    default_width: f32,
    /// (first CID, last CID, width) from /W.
    widths: Vec<(u32, u32, f32)>,
    /// Codes already looked up: (code, length) → text and width.
    cache: HashMap<(u32, usize), Decoded>,
}

/// A composite font's code, looked up: its text and width.
type Decoded = (Option<Box<str>>, f32);

/// How a composite font's bytes become codes and CIDs.
enum Codes {
    /// Two-byte codes, CID = code.
    Identity,
    /// An embedded CMap stream.
    Embedded(CMap),
    /// A predefined CMap over Unicode or a legacy CJK charset: the code
    /// itself says which character it is.
    Charset(Charset),
}

#[derive(Clone, Copy)]
enum Charset {
    Ucs2,
    Utf16,
    /// 7-bit JIS X 0208 (the `H` and `V` CMaps): EUC-JP without the high bits.
    Jis,
    Legacy(&'static encoding_rs::Encoding),
}

impl Font {
    /// Loads the font under `dict`; anything missing or broken degrades to
    /// fewer known codes, never to an error.
    pub(super) fn load(doc: &Document, dict: &Dictionary) -> Font {
        let to_unicode = stream(doc, dict, b"ToUnicode")
            .and_then(objects::decoded)
            .map(|data| CMap::parse(&data))
            .filter(|m| !m.is_empty());
        match name(doc, dict, b"Subtype") {
            Some(b"Type0") => load_composite(doc, dict, to_unicode),
            subtype => load_simple(doc, dict, to_unicode, subtype == Some(b"Type3")),
        }
    }

    /// Splits `bytes` into codes and calls `f` with each decoded glyph.
    pub(super) fn decode(&mut self, bytes: &[u8], mut f: impl FnMut(Glyph<'_>)) {
        let scale = self.scale;
        match &mut self.kind {
            Kind::Simple { text, widths } => {
                for &b in bytes {
                    f(Glyph {
                        text: text[b as usize].as_deref(),
                        width: widths[b as usize] * scale,
                        word_space: b == 32,
                    });
                }
            }
            Kind::Composite(c) => {
                let mut rest = bytes;
                while !rest.is_empty() {
                    let (code, len) = c.split(rest);
                    rest = &rest[len..];
                    if !c.cache.contains_key(&(code, len)) {
                        let (text, width) = c.lookup(code, len);
                        c.cache
                            .insert((code, len), (text.map(String::into_boxed_str), width));
                    }
                    let (text, width) = &c.cache[&(code, len)];
                    f(Glyph {
                        text: text.as_deref(),
                        width: width * scale,
                        word_space: len == 1 && code == 32,
                    });
                }
            }
        }
    }
}

fn load_simple(doc: &Document, dict: &Dictionary, to_unicode: Option<CMap>, type3: bool) -> Font {
    let descriptor = objects::dict(doc, dict, b"FontDescriptor");
    let base_font = name(doc, dict, b"BaseFont").unwrap_or(b"");
    let standard_name = strip_subset(base_font);
    let symbolic_std =
        standard_name.starts_with(b"Symbol") || standard_name.starts_with(b"ZapfDingbats");

    // The encoding: a base plus differences.
    let mut base: Option<Base> = None;
    let mut differences: Vec<(u8, &[u8])> = Vec::new();
    let mut has_base_name = false;
    match objects::get(doc, dict, b"Encoding") {
        Some(Object::Name(n)) => {
            base = Base::from_name(n);
            has_base_name = base.is_some();
        }
        Some(Object::Dictionary(enc)) => {
            if let Some(b) = name(doc, enc, b"BaseEncoding").and_then(Base::from_name) {
                base = Some(b);
                has_base_name = true;
            }
            if let Some(diffs) = array(doc, enc, b"Differences") {
                let mut code: i64 = 0;
                for item in diffs {
                    match objects::deref(doc, item) {
                        Some(Object::Integer(i)) => code = *i,
                        Some(Object::Name(n)) => {
                            if (0..256).contains(&code) {
                                differences.push((code as u8, n.as_slice()));
                            }
                            code += 1;
                        }
                        _ => {}
                    }
                }
            }
        }
        _ => {}
    }

    let mut text: Vec<Option<Box<str>>> = vec![None; 256];
    // The font program's own encoding counts where the PDF names no base.
    let needs_program = to_unicode.is_none() && !has_base_name;
    let (program_names, truetype) = if needs_program {
        builtin(doc, descriptor)
    } else {
        (None, None)
    };
    let fallback_base = if symbolic_std {
        Base::Symbol
    } else {
        Base::Standard
    };
    for code in 0..=255u8 {
        let mut t: Option<String> = None;
        if base.is_none() {
            if let Some(names) = &program_names
                && let Some((_, n)) = names.iter().rev().find(|(c, _)| *c == code)
            {
                t = glyphs::to_unicode(n);
            }
            if t.is_none()
                && let Some(tt) = &truetype
            {
                t = tt
                    .gid_of_code(code)
                    .and_then(|g| tt.text_of_gid(g))
                    .map(String::from);
            }
        }
        if t.is_none() {
            t = base.unwrap_or(fallback_base).char(code).map(String::from);
        }
        text[code as usize] = t.map(String::into_boxed_str);
    }
    for (code, n) in differences {
        let n = String::from_utf8_lossy(n);
        if let Some(t) = glyphs::to_unicode(&n).or_else(|| numbered(&n, code)) {
            text[code as usize] = Some(t.into_boxed_str());
        } else if text[code as usize].is_none() {
            // A name no list knows: read the code as Latin-1, as other
            // readers do (right for fonts that keep ASCII codes).
            text[code as usize] = Base::WinAnsi
                .char(code)
                .map(|c| c.to_string().into_boxed_str());
        }
    }
    if let Some(map) = &to_unicode {
        for code in 0..=255u32 {
            if let Some(t) = map.text(code).filter(|t| usable(t)) {
                text[code as usize] = Some(t.into_boxed_str());
            }
        }
    }

    // Widths in glyph space.
    let missing = descriptor
        .and_then(|d| num(doc, d, b"MissingWidth"))
        .filter(|w| *w > 0.0);
    let mut widths = vec![missing.unwrap_or(0.0); 256];
    let first = num(doc, dict, b"FirstChar").unwrap_or(0.0).max(0.0) as usize;
    let declared = array(doc, dict, b"Widths");
    if let Some(ws) = declared {
        for (i, w) in ws.iter().enumerate() {
            if let (Some(slot), Some(w)) = (
                widths.get_mut(first + i),
                objects::deref(doc, w).and_then(objects::number),
            ) {
                *slot = w;
            }
        }
    }
    if declared.is_none() && !type3 {
        // A standard font without widths: the standard metrics, else
        // typical advances.
        let metrics = std14::metrics(standard_name);
        for (code, w) in widths.iter_mut().enumerate() {
            let c = text[code].as_deref().and_then(|t| t.chars().next());
            *w = match (&metrics, c) {
                (Some(std14::Metrics::Mono), _) => 600.0,
                (Some(std14::Metrics::Proportional(m)), Some(c)) if m.contains_key(&c) => {
                    f32::from(m[&c])
                }
                _ if code == 32 => 250.0,
                _ => 500.0,
            };
        }
    }
    let scale = if type3 {
        array(doc, dict, b"FontMatrix")
            .and_then(|m| m.first())
            .and_then(|v| objects::deref(doc, v).and_then(objects::number))
            .map(f32::abs)
            .filter(|s| *s > 0.0)
            .unwrap_or(0.001)
    } else {
        0.001
    };
    Font {
        kind: Kind::Simple { text, widths },
        scale,
        vertical: false,
    }
}

/// The built-in encoding of the embedded program: glyph names by code
/// (Type 1, CFF) or a TrueType view.
fn builtin(
    doc: &Document,
    descriptor: Option<&Dictionary>,
) -> (Option<Vec<(u8, String)>>, Option<program::TrueType>) {
    let Some(d) = descriptor else {
        return (None, None);
    };
    if let Some(data) = stream(doc, d, b"FontFile").and_then(objects::decoded) {
        return (program::type1_encoding(&data), None);
    }
    if let Some(data) = stream(doc, d, b"FontFile3").and_then(objects::decoded) {
        return (program::cff_codes(&data), None);
    }
    if let Some(data) = stream(doc, d, b"FontFile2").and_then(objects::decoded) {
        return (None, program::TrueType::parse(&data));
    }
    (None, None)
}

fn load_composite(doc: &Document, dict: &Dictionary, to_unicode: Option<CMap>) -> Font {
    let descendant = array(doc, dict, b"DescendantFonts")
        .and_then(|a| a.first())
        .and_then(|d| objects::deref(doc, d))
        .and_then(|d| d.as_dict().ok());
    let (codes, vertical) = match objects::get(doc, dict, b"Encoding") {
        Some(Object::Name(n)) => predefined(n),
        Some(Object::Stream(s)) => {
            let mut map = objects::decoded(s)
                .map(|d| CMap::parse(&d))
                .unwrap_or_default();
            if let Some(base) = map.uses.clone() {
                let (base_codes, _) = predefined(&base);
                if let Codes::Embedded(b) = base_codes {
                    map.inherit(&b);
                }
            }
            let vertical =
                map.vertical || name(doc, &s.dict, b"CMapName").is_some_and(|n| n.ends_with(b"-V"));
            if map.has_cids() {
                (Codes::Embedded(map), vertical)
            } else {
                (Codes::Identity, vertical)
            }
        }
        _ => (Codes::Identity, false),
    };

    let mut default_width = 1000.0;
    let mut widths = Vec::new();
    let mut by_cid = HashMap::new();
    let mut collection = None;
    if let Some(cid_font) = descendant {
        if let Some(info) = objects::dict(doc, cid_font, b"CIDSystemInfo") {
            let string = |key: &[u8]| match objects::get(doc, info, key) {
                Some(Object::String(s, _)) => s.clone(),
                _ => Vec::new(),
            };
            collection = collections::collection(&string(b"Registry"), &string(b"Ordering"));
        }
        if let Some(dw) = num(doc, cid_font, b"DW") {
            default_width = dw;
        }
        if let Some(w) = array(doc, cid_font, b"W") {
            widths = parse_w(doc, w);
        }
        if to_unicode.is_none() && !matches!(codes, Codes::Charset(_)) {
            by_cid = cid_texts(doc, cid_font);
        }
    }
    Font {
        kind: Kind::Composite(Box::new(Composite {
            codes,
            to_unicode,
            by_cid,
            collection,
            default_width,
            widths,
            cache: HashMap::new(),
        })),
        scale: 0.001,
        vertical,
    }
}

/// Text by CID from the CIDFont's embedded program.
fn cid_texts(doc: &Document, cid_font: &Dictionary) -> HashMap<u32, String> {
    let Some(descriptor) = objects::dict(doc, cid_font, b"FontDescriptor") else {
        return HashMap::new();
    };
    if let Some(data) = stream(doc, descriptor, b"FontFile2").and_then(objects::decoded) {
        let Some(tt) = program::TrueType::parse(&data) else {
            return HashMap::new();
        };
        let by_gid = tt.into_gid_map();
        // CIDToGIDMap: a stream of two-byte glyph ids, or Identity.
        return match stream(doc, cid_font, b"CIDToGIDMap").and_then(objects::decoded) {
            Some(map) => map
                .chunks_exact(2)
                .enumerate()
                .filter_map(|(cid, g)| {
                    let gid = u16::from(g[0]) << 8 | u16::from(g[1]);
                    by_gid.get(&gid).map(|t| (cid as u32, t.clone()))
                })
                .collect(),
            None => by_gid.into_iter().map(|(g, t)| (u32::from(g), t)).collect(),
        };
    }
    if let Some(data) = stream(doc, descriptor, b"FontFile3").and_then(objects::decoded)
        && let Some(names) = program::cff_names_by_gid(&data)
    {
        return names.into_iter().map(|(g, t)| (u32::from(g), t)).collect();
    }
    HashMap::new()
}

/// A predefined CMap by name: its code splitting and whether it is vertical.
fn predefined(name: &[u8]) -> (Codes, bool) {
    let vertical = name.ends_with(b"-V");
    let n = String::from_utf8_lossy(name);
    let codes = if n.starts_with("Identity") {
        Codes::Identity
    } else if n.contains("UCS2") {
        Codes::Charset(Charset::Ucs2)
    } else if n.contains("UTF16") {
        Codes::Charset(Charset::Utf16)
    } else if n.contains("RKSJ") {
        Codes::Charset(Charset::Legacy(encoding_rs::SHIFT_JIS))
    } else if n.starts_with("GB") {
        Codes::Charset(Charset::Legacy(encoding_rs::GBK))
    } else if n.starts_with("B5") || n.starts_with("ETen") || n.starts_with("HKscs") {
        Codes::Charset(Charset::Legacy(encoding_rs::BIG5))
    } else if n.starts_with("KSC") {
        Codes::Charset(Charset::Legacy(encoding_rs::EUC_KR))
    } else if n == "H" || n == "V" {
        Codes::Charset(Charset::Jis)
    } else if n.starts_with("EUC") {
        Codes::Charset(Charset::Legacy(encoding_rs::EUC_JP))
    } else {
        Codes::Identity
    };
    (codes, vertical)
}

/// `/W [c [w1 w2 ...] c_first c_last w ...]`.
fn parse_w(doc: &Document, w: &[Object]) -> Vec<(u32, u32, f32)> {
    let mut out = Vec::new();
    let items: Vec<&Object> = w.iter().filter_map(|o| objects::deref(doc, o)).collect();
    let mut i = 0;
    while i < items.len() && out.len() < 1_000_000 {
        let Some(first) = objects::number(items[i]) else {
            i += 1;
            continue;
        };
        let first = first.max(0.0) as u32;
        match items.get(i + 1) {
            Some(Object::Array(list)) => {
                for (k, v) in list.iter().enumerate() {
                    if let Some(v) = objects::deref(doc, v).and_then(objects::number) {
                        let cid = first + k as u32;
                        out.push((cid, cid, v));
                    }
                }
                i += 2;
            }
            Some(last) => {
                if let (Some(last), Some(v)) = (
                    objects::number(last),
                    items.get(i + 2).and_then(|o| objects::number(o)),
                ) {
                    out.push((first, last.max(0.0) as u32, v));
                }
                i += 3;
            }
            None => break,
        }
    }
    out.sort_by_key(|r| r.0);
    out
}

impl Composite {
    fn split(&self, bytes: &[u8]) -> (u32, usize) {
        match &self.codes {
            Codes::Identity => self
                .to_unicode
                .as_ref()
                .filter(|m| m.has_codespace())
                .map(|m| m.next_code(bytes, 2))
                .unwrap_or_else(|| {
                    let n = 2.min(bytes.len());
                    (be(&bytes[..n]), n)
                }),
            Codes::Embedded(map) => map.next_code(bytes, 2),
            Codes::Charset(cs) => {
                let n = match cs {
                    Charset::Ucs2 | Charset::Jis => 2,
                    Charset::Utf16 => {
                        if (0xD8..=0xDB).contains(&bytes[0]) {
                            4
                        } else {
                            2
                        }
                    }
                    Charset::Legacy(enc) => {
                        let lead = bytes[0];
                        let two = if *enc == encoding_rs::SHIFT_JIS {
                            matches!(lead, 0x81..=0x9F | 0xE0..=0xFC)
                        } else {
                            lead >= 0x81
                        };
                        if two { 2 } else { 1 }
                    }
                };
                let n = n.min(bytes.len());
                (be(&bytes[..n]), n)
            }
        }
    }

    fn lookup(&self, code: u32, len: usize) -> (Option<String>, f32) {
        let cid = match &self.codes {
            Codes::Identity => Some(code),
            Codes::Embedded(map) => map.cid(code),
            Codes::Charset(_) => None,
        };
        let width = match cid {
            Some(cid) => self.width(cid),
            None if len == 1 => self.default_width / 2.0,
            None => self.default_width,
        };
        let mut text = self
            .to_unicode
            .as_ref()
            .and_then(|m| m.text(code))
            .filter(|t| usable(t));
        if text.is_none() {
            text = match &self.codes {
                Codes::Charset(cs) => charset_text(*cs, code, len),
                _ => None,
            };
        }
        if text.is_none()
            && let Some(cid) = cid
        {
            text = self.by_cid.get(&cid).cloned().or_else(|| {
                self.collection
                    .and_then(|c| collections::char_of(c, cid))
                    .map(String::from)
            });
        }
        (text, width)
    }

    fn width(&self, cid: u32) -> f32 {
        let end = self.widths.partition_point(|r| r.0 <= cid);
        self.widths[..end]
            .iter()
            .rev()
            .take(8)
            .find(|r| cid <= r.1)
            .map_or(self.default_width, |r| r.2)
    }
}

fn charset_text(cs: Charset, code: u32, len: usize) -> Option<String> {
    let bytes = &code.to_be_bytes()[4 - len..];
    let text = match cs {
        Charset::Ucs2 | Charset::Utf16 => {
            let units: Vec<u16> = bytes
                .chunks(2)
                .map(|c| u16::from(c[0]) << 8 | u16::from(*c.get(1).unwrap_or(&0)))
                .collect();
            String::from_utf16(&units).ok()?
        }
        Charset::Jis => {
            let high: Vec<u8> = bytes.iter().map(|b| b | 0x80).collect();
            let (t, _, bad) = encoding_rs::EUC_JP.decode(&high);
            if bad {
                return None;
            }
            t.into_owned()
        }
        Charset::Legacy(enc) => {
            let (t, _, bad) = enc.decode(bytes);
            if bad {
                return None;
            }
            t.into_owned()
        }
    };
    usable(&text).then_some(text)
}

/// A glyph named after its own code (`/a65`, `/g65`, `/c65`, as dvips
/// writes for bitmap fonts): the code read as Latin-1, as other readers do
/// (the font's real encoding is nowhere in the file).
fn numbered(name: &str, code: u8) -> Option<String> {
    let digits = name.trim_start_matches(|c: char| c.is_ascii_alphabetic());
    let prefix = name.len() - digits.len();
    if !(1..=8).contains(&prefix)
        || digits.is_empty()
        || digits.parse::<u32>().ok()? != u32::from(code)
    {
        return None;
    }
    let c = char::from(code);
    (c.is_ascii_graphic() || (c >= '\u{A0}' && c != '\u{AD}')).then(|| c.to_string())
}

/// Text a map may give: not empty, no NUL, not only replacement characters.
fn usable(text: &str) -> bool {
    !text.is_empty() && !text.chars().any(char::is_control) && text.chars().any(|c| c != '\u{FFFD}')
}

/// "ABCDEF+Times-Roman" → "Times-Roman".
fn strip_subset(name: &[u8]) -> &[u8] {
    if name.len() > 7 && name[6] == b'+' && name[..6].iter().all(u8::is_ascii_uppercase) {
        &name[7..]
    } else {
        name
    }
}

fn be(bytes: &[u8]) -> u32 {
    bytes.iter().fold(0u32, |v, &b| v << 8 | u32::from(b))
}
