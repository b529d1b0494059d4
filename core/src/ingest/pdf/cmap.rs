//! CMaps: how the bytes of a string split into character codes, and what a
//! code means, either text (ToUnicode maps) or a CID (embedded encodings).

use super::lexer::{Lexer, Token};

/// One parsed CMap. Ranges are kept as ranges: a single line of a CMap can
/// cover 65,536 codes.
#[derive(Debug, Default, Clone)]
pub(super) struct CMap {
    /// (byte length, low, high) of each codespace range.
    codespace: Vec<(u8, u32, u32)>,
    /// Code → text, sorted by low code after [`finish`](Self::finish).
    text: Vec<TextRange>,
    /// Code → CID, sorted by low code.
    cid: Vec<(u32, u32, u32)>,
    /// Name of a CMap this one builds on (`usecmap`).
    pub(super) uses: Option<Vec<u8>>,
    /// WMode 1: vertical writing.
    pub(super) vertical: bool,
}

#[derive(Debug, Clone)]
struct TextRange {
    lo: u32,
    hi: u32,
    dest: Dest,
}

#[derive(Debug, Clone)]
enum Dest {
    /// UTF-16 units for `lo`; later codes add to the last unit.
    Base(Vec<u16>),
    /// One entry per code.
    List(Vec<Vec<u16>>),
}

/// Codes a CMap may map, bounded so a hostile range cannot make lookups
/// walk forever.
const MAX_ENTRIES: usize = 200_000;

impl CMap {
    /// Parses CMap source; unknown operators are ignored, so a damaged map
    /// yields whatever entries it holds.
    pub(super) fn parse(data: &[u8]) -> CMap {
        let mut map = CMap::default();
        let mut lx = Lexer::new(data);
        let mut operands: Vec<Token<'_>> = Vec::new();
        let mut mode = Mode::None;
        let mut last_name: Option<Vec<u8>> = None;
        while let Some(tok) = lx.next_token() {
            match tok {
                Token::Word(w) => {
                    match w {
                        b"begincodespacerange" => mode = Mode::Codespace,
                        b"beginbfchar" => mode = Mode::BfChar,
                        b"beginbfrange" => mode = Mode::BfRange,
                        b"begincidchar" => mode = Mode::CidChar,
                        b"begincidrange" => mode = Mode::CidRange,
                        b"endcodespacerange" | b"endbfchar" | b"endbfrange" | b"endcidchar"
                        | b"endcidrange" => {
                            map.take(mode, &operands);
                            mode = Mode::None;
                        }
                        b"usecmap" => map.uses = last_name.take(),
                        b"def" => {
                            if let [Token::Name(key), Token::Number(v)] = operands.as_slice()
                                && key == b"WMode"
                            {
                                map.vertical = *v == 1.0;
                            }
                        }
                        _ => {}
                    }
                    operands.clear();
                }
                Token::Name(n) => {
                    last_name = Some(n.clone());
                    operands.push(Token::Name(n));
                }
                other => {
                    if operands.len() < 3 * MAX_ENTRIES {
                        operands.push(other);
                    }
                }
            }
        }
        map.finish();
        map
    }

    fn take(&mut self, mode: Mode, ops: &[Token<'_>]) {
        let entries = self.text.len() + self.cid.len();
        if entries > MAX_ENTRIES {
            return;
        }
        match mode {
            Mode::Codespace => {
                for pair in ops.chunks_exact(2) {
                    if let [Token::String(lo), Token::String(hi)] = pair
                        && (1..=4).contains(&lo.len())
                    {
                        self.codespace.push((lo.len() as u8, be(lo), be(hi)));
                    }
                }
            }
            Mode::BfChar => {
                for pair in ops.chunks_exact(2) {
                    if let [Token::String(src), dst] = pair {
                        let code = be(src);
                        let dest = match dst {
                            Token::String(d) => utf16_units(d),
                            // A few producers write a glyph name here.
                            Token::Name(n) => {
                                super::glyphs::to_unicode(&String::from_utf8_lossy(n))
                                    .map(|s| s.encode_utf16().collect())
                                    .unwrap_or_default()
                            }
                            _ => continue,
                        };
                        self.text.push(TextRange {
                            lo: code,
                            hi: code,
                            dest: Dest::Base(dest),
                        });
                    }
                }
            }
            Mode::BfRange => {
                let mut i = 0;
                while i + 3 <= ops.len() {
                    let (Token::String(lo), Token::String(hi)) = (&ops[i], &ops[i + 1]) else {
                        i += 1;
                        continue;
                    };
                    let (lo, hi) = (be(lo), be(hi));
                    match &ops[i + 2] {
                        Token::String(d) if hi >= lo => self.text.push(TextRange {
                            lo,
                            hi,
                            dest: Dest::Base(utf16_units(d)),
                        }),
                        Token::ArrayOpen => {
                            let mut list = Vec::new();
                            let mut j = i + 3;
                            while j < ops.len() && ops[j] != Token::ArrayClose {
                                if let Token::String(d) = &ops[j] {
                                    list.push(utf16_units(d));
                                }
                                j += 1;
                            }
                            if hi >= lo {
                                self.text.push(TextRange {
                                    lo,
                                    hi: hi.min(lo + list.len().saturating_sub(1) as u32),
                                    dest: Dest::List(list),
                                });
                            }
                            i = j + 1;
                            continue;
                        }
                        _ => {}
                    }
                    i += 3;
                }
            }
            Mode::CidChar => {
                for pair in ops.chunks_exact(2) {
                    if let [Token::String(src), Token::Number(cid)] = pair {
                        let code = be(src);
                        self.cid.push((code, code, *cid as u32));
                    }
                }
            }
            Mode::CidRange => {
                for triple in ops.chunks_exact(3) {
                    if let [Token::String(lo), Token::String(hi), Token::Number(cid)] = triple {
                        let (lo, hi) = (be(lo), be(hi));
                        if hi >= lo {
                            self.cid.push((lo, hi, *cid as u32));
                        }
                    }
                }
            }
            Mode::None => {}
        }
    }

    /// Sorts the ranges for lookup. Where ranges overlap the later entry of
    /// the source wins, as a stable sort keeps source order among equals and
    /// lookups scan backwards.
    fn finish(&mut self) {
        self.text.sort_by_key(|r| r.lo);
        self.cid.sort_by_key(|r| r.0);
    }

    /// Adds the entries of the CMap this one uses; its own entries win.
    pub(super) fn inherit(&mut self, base: &CMap) {
        if self.codespace.is_empty() {
            self.codespace = base.codespace.clone();
        }
        let mut cid = base.cid.clone();
        cid.append(&mut self.cid);
        self.cid = cid;
        let mut text = base.text.clone();
        text.append(&mut self.text);
        self.text = text;
        self.finish();
    }

    pub(super) fn has_codespace(&self) -> bool {
        !self.codespace.is_empty()
    }

    pub(super) fn has_cids(&self) -> bool {
        !self.cid.is_empty()
    }

    pub(super) fn is_empty(&self) -> bool {
        self.text.is_empty() && self.cid.is_empty()
    }

    /// Splits off the next code of `bytes`: its value and byte length. Without
    /// codespace ranges codes are `default_len` bytes long.
    pub(super) fn next_code(&self, bytes: &[u8], default_len: usize) -> (u32, usize) {
        if !self.codespace.is_empty() {
            for n in 1..=4usize.min(bytes.len()) {
                let v = be(&bytes[..n]);
                if self
                    .codespace
                    .iter()
                    .any(|&(len, lo, hi)| len as usize == n && within(v, lo, hi, n))
                {
                    return (v, n);
                }
            }
            // No range matches: take as many bytes as the shortest range.
            let n = self
                .codespace
                .iter()
                .map(|&(len, _, _)| len as usize)
                .min()
                .unwrap_or(1)
                .min(bytes.len())
                .max(1);
            return (be(&bytes[..n]), n);
        }
        let n = default_len.min(bytes.len()).max(1);
        (be(&bytes[..n]), n)
    }

    /// The text of `code`, if mapped.
    pub(super) fn text(&self, code: u32) -> Option<String> {
        let end = self.text.partition_point(|r| r.lo <= code);
        let r = self.text[..end]
            .iter()
            .rev()
            .take(16)
            .find(|r| code <= r.hi)?;
        let offset = code - r.lo;
        let units = match &r.dest {
            Dest::Base(base) => {
                let mut units = base.clone();
                if let Some(last) = units.last_mut() {
                    *last = last.wrapping_add(offset as u16);
                }
                units
            }
            Dest::List(list) => list.get(offset as usize)?.clone(),
        };
        let text: String = char::decode_utf16(units)
            .map(|c| c.unwrap_or('\u{FFFD}'))
            .collect();
        Some(text)
    }

    /// The CID of `code`, if mapped.
    pub(super) fn cid(&self, code: u32) -> Option<u32> {
        let end = self.cid.partition_point(|r| r.0 <= code);
        self.cid[..end]
            .iter()
            .rev()
            .take(16)
            .find(|r| code <= r.1)
            .map(|r| r.2 + (code - r.0))
    }
}

#[derive(Debug, Clone, Copy)]
enum Mode {
    None,
    Codespace,
    BfChar,
    BfRange,
    CidChar,
    CidRange,
}

/// Big-endian value of up to four bytes.
fn be(bytes: &[u8]) -> u32 {
    bytes
        .iter()
        .take(4)
        .fold(0u32, |v, &b| v << 8 | u32::from(b))
}

/// Whether `v` lies in a codespace range, byte by byte (ranges are
/// rectangles: each byte must be within its own bounds).
fn within(v: u32, lo: u32, hi: u32, n: usize) -> bool {
    (0..n).all(|i| {
        let shift = 8 * (n - 1 - i);
        let (b, l, h) = (
            (v >> shift) & 0xFF,
            (lo >> shift) & 0xFF,
            (hi >> shift) & 0xFF,
        );
        l <= b && b <= h
    })
}

fn utf16_units(bytes: &[u8]) -> Vec<u16> {
    if bytes.len() == 1 {
        return vec![u16::from(bytes[0])];
    }
    bytes
        .chunks(2)
        .map(|c| u16::from(c[0]) << 8 | u16::from(*c.get(1).unwrap_or(&0)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::CMap;

    const TO_UNICODE: &[u8] = b"/CIDInit /ProcSet findresource begin 12 dict begin begincmap
        1 begincodespacerange <0000> <FFFF> endcodespacerange
        2 beginbfchar <0003> <0020> <0010> <D835DC00> endbfchar
        2 beginbfrange <0020> <0022> <0041> <0030> <0031> [<0066006C> <00E9>] endbfrange
        endcmap CMapName currentdict /CMap defineresource pop end end";

    #[test]
    fn to_unicode_chars_and_ranges() {
        let map = CMap::parse(TO_UNICODE);
        assert_eq!(map.text(3).as_deref(), Some(" "));
        assert_eq!(map.text(0x10).as_deref(), Some("𝐀"));
        assert_eq!(map.text(0x21).as_deref(), Some("B"));
        assert_eq!(map.text(0x22).as_deref(), Some("C"));
        assert_eq!(map.text(0x23), None);
        assert_eq!(map.text(0x30).as_deref(), Some("fl"));
        assert_eq!(map.text(0x31).as_deref(), Some("é"));
        assert_eq!(map.next_code(&[0, 0x21, 7], 1), (0x21, 2));
    }

    #[test]
    fn mixed_codespace_and_cids() {
        let map = CMap::parse(
            b"/WMode 1 def 2 begincodespacerange <00> <80> <8140> <9FFC> endcodespacerange
              1 begincidrange <8140> <817E> 633 endcidrange 1 begincidchar <41> 34 endcidchar
              /Base usecmap",
        );
        assert!(map.vertical);
        assert_eq!(map.uses.as_deref(), Some(&b"Base"[..]));
        assert_eq!(map.next_code(&[0x41, 0x81], 2), (0x41, 1));
        assert_eq!(map.next_code(&[0x81, 0x41], 1), (0x8141, 2));
        assert_eq!(map.cid(0x8141), Some(634));
        assert_eq!(map.cid(0x41), Some(34));
        assert_eq!(map.cid(0x42), None);
    }
}
