//! What embedded font programs say about their glyphs when the PDF itself
//! does not: the built-in encoding of Type 1 and CFF fonts, the `cmap` and
//! `post` tables of TrueType fonts. Only read for fonts without a ToUnicode
//! map; the program is dropped once these tables are taken out of it.

use std::collections::HashMap;

use ttf_parser::GlyphId;

use super::glyphs;

/// Built-in encoding of a Type 1 program: the `dup <code> /<name> put`
/// entries of its clear-text part; `None` when it uses StandardEncoding.
pub(super) fn type1_encoding(program: &[u8]) -> Option<Vec<(u8, String)>> {
    let clear = match find(program, b"eexec") {
        Some(end) => &program[..end],
        None => program,
    };
    let start = find(clear, b"/Encoding")?;
    let rest = &clear[start + b"/Encoding".len()..];
    let head = &rest[..rest.len().min(64)];
    if find(head, b"StandardEncoding").is_some() {
        return None;
    }
    let mut out = Vec::new();
    let mut words = rest
        .split(|b| b.is_ascii_whitespace())
        .filter(|w| !w.is_empty())
        .peekable();
    while let Some(w) = words.next() {
        if w == b"readonly" || w == b"def" && !out.is_empty() {
            break;
        }
        if w != b"dup" {
            continue;
        }
        let (Some(code), Some(name)) = (words.next(), words.next()) else {
            break;
        };
        let code = std::str::from_utf8(code)
            .ok()
            .and_then(|c| c.parse::<u8>().ok());
        if let (Some(code), Some(name)) = (code, name.strip_prefix(b"/")) {
            out.push((code, String::from_utf8_lossy(name).into_owned()));
        }
    }
    Some(out)
}

/// Text per one-byte code from a bare CFF program (Type1C): its encoding,
/// charset and glyph names.
pub(super) fn cff_codes(program: &[u8]) -> Option<Vec<(u8, String)>> {
    let table = ttf_parser::cff::Table::parse(program)?;
    let mut out = Vec::new();
    for code in 0..=255u8 {
        if let Some(name) = table
            .glyph_index(code)
            .filter(|g| g.0 != 0)
            .and_then(|g| table.glyph_name(g))
        {
            out.push((code, name.to_string()));
        }
    }
    Some(out)
}

/// Glyph names of a name-keyed CFF program by glyph id (a CIDFont whose CFF
/// is not CID-keyed: there CID = glyph id).
pub(super) fn cff_names_by_gid(program: &[u8]) -> Option<HashMap<u16, String>> {
    let table = ttf_parser::cff::Table::parse(program)?;
    let mut out = HashMap::new();
    for gid in 1..table.number_of_glyphs() {
        if let Some(text) = table.glyph_name(GlyphId(gid)).and_then(glyphs::to_unicode) {
            out.insert(gid, text);
        }
    }
    (!out.is_empty()).then_some(out)
}

/// A TrueType program's view of its glyphs.
pub(super) struct TrueType {
    /// Text per glyph id, from the Unicode `cmap` subtables, then `post` names.
    by_gid: HashMap<u16, String>,
    /// One-byte code → glyph id, from the (3,0) symbol or (1,0) Mac subtable.
    by_code: HashMap<u8, u16>,
}

impl TrueType {
    pub(super) fn parse(program: &[u8]) -> Option<TrueType> {
        let face = ttf_parser::Face::parse(program, 0).ok()?;
        let mut by_gid: HashMap<u16, String> = HashMap::new();
        let mut by_code = HashMap::new();
        if let Some(cmap) = face.tables().cmap {
            for sub in cmap.subtables {
                if sub.is_unicode() {
                    sub.codepoints(|cp| {
                        if let (Some(g), Some(c)) = (sub.glyph_index(cp), char::from_u32(cp))
                            && g.0 != 0
                            && !is_private_use(c)
                        {
                            by_gid.entry(g.0).or_insert_with(|| c.to_string());
                        }
                    });
                }
                let symbolic =
                    sub.platform_id == ttf_parser::PlatformId::Windows && sub.encoding_id == 0;
                let mac =
                    sub.platform_id == ttf_parser::PlatformId::Macintosh && sub.encoding_id == 0;
                if symbolic || mac {
                    for code in 0..=255u8 {
                        let g = sub
                            .glyph_index(0xF000 | u32::from(code))
                            .or_else(|| sub.glyph_index(u32::from(code)));
                        if let Some(g) = g.filter(|g| g.0 != 0) {
                            by_code.entry(code).or_insert(g.0);
                        }
                    }
                }
            }
        }
        for gid in 1..face.number_of_glyphs() {
            if by_gid.contains_key(&gid) {
                continue;
            }
            if let Some(text) = face.glyph_name(GlyphId(gid)).and_then(glyphs::to_unicode) {
                by_gid.insert(gid, text);
            }
        }
        Some(TrueType { by_gid, by_code })
    }

    pub(super) fn text_of_gid(&self, gid: u16) -> Option<&str> {
        self.by_gid.get(&gid).map(String::as_str)
    }

    pub(super) fn gid_of_code(&self, code: u8) -> Option<u16> {
        self.by_code.get(&code).copied()
    }

    /// Drops what later lookups by glyph id do not need.
    pub(super) fn into_gid_map(self) -> HashMap<u16, String> {
        self.by_gid
    }
}

fn is_private_use(c: char) -> bool {
    matches!(c as u32, 0xE000..=0xF8FF | 0xF0000..=0x10FFFF)
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

#[cfg(test)]
mod tests {
    use super::type1_encoding;

    #[test]
    fn type1_builtin_encoding() {
        let program = b"%!PS-AdobeFont-1.0: CMR10\n/Encoding 256 array\n0 1 255 {1 index exch /.notdef put} for\ndup 11 /ff put\ndup 65 /A put\nreadonly def\ncurrentfile eexec \x80\x81";
        assert_eq!(
            type1_encoding(program),
            Some(vec![(11, "ff".to_string()), (65, "A".to_string())])
        );
        assert_eq!(type1_encoding(b"/Encoding StandardEncoding def"), None);
    }
}
