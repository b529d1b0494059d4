//! The base encodings of simple fonts (ISO 32000-1, annex D): what a one-byte
//! code means when a font has no ToUnicode map.

/// A named base encoding.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Base {
    Standard,
    WinAnsi,
    MacRoman,
    /// The built-in encoding of the standard Symbol font.
    Symbol,
}

impl Base {
    pub(super) fn from_name(name: &[u8]) -> Option<Self> {
        match name {
            b"StandardEncoding" => Some(Base::Standard),
            b"WinAnsiEncoding" => Some(Base::WinAnsi),
            // MacExpert holds small caps and old-style figures: their
            // letters are the closest text, and Mac Roman has them.
            b"MacRomanEncoding" | b"MacExpertEncoding" => Some(Base::MacRoman),
            _ => None,
        }
    }

    /// The character for `code`, `None` where the encoding has none.
    pub(super) fn char(self, code: u8) -> Option<char> {
        match self {
            Base::Standard => standard(code),
            Base::WinAnsi => {
                let bytes = [code];
                let (text, _) = encoding_rs::WINDOWS_1252.decode_without_bom_handling(&bytes);
                text.chars().next().filter(|c| !c.is_control())
            }
            Base::MacRoman => {
                let bytes = [code];
                let (text, _) = encoding_rs::MACINTOSH.decode_without_bom_handling(&bytes);
                text.chars().next().filter(|c| !c.is_control())
            }
            Base::Symbol => symbol(code),
        }
    }
}

/// Adobe StandardEncoding: ASCII with curly quotes, plus its upper half.
fn standard(code: u8) -> Option<char> {
    let c = match code {
        0x27 => '\u{2019}',
        0x60 => '\u{2018}',
        0x20..=0x7E => code as char,
        0xA1 => '¡',
        0xA2 => '¢',
        0xA3 => '£',
        0xA4 => '\u{2044}',
        0xA5 => '¥',
        0xA6 => 'ƒ',
        0xA7 => '§',
        0xA8 => '¤',
        0xA9 => '\'',
        0xAA => '\u{201C}',
        0xAB => '«',
        0xAC => '\u{2039}',
        0xAD => '\u{203A}',
        0xAE => '\u{FB01}',
        0xAF => '\u{FB02}',
        0xB1 => '\u{2013}',
        0xB2 => '†',
        0xB3 => '‡',
        0xB4 => '·',
        0xB6 => '¶',
        0xB7 => '\u{2022}',
        0xB8 => '\u{201A}',
        0xB9 => '\u{201E}',
        0xBA => '\u{201D}',
        0xBB => '»',
        0xBC => '\u{2026}',
        0xBD => '\u{2030}',
        0xBF => '¿',
        0xC1 => '`',
        0xC2 => '´',
        0xC3 => 'ˆ',
        0xC4 => '˜',
        0xC5 => '¯',
        0xC6 => '˘',
        0xC7 => '˙',
        0xC8 => '¨',
        0xCA => '˚',
        0xCB => '¸',
        0xCD => '˝',
        0xCE => '˛',
        0xCF => 'ˇ',
        0xD0 => '\u{2014}',
        0xE1 => 'Æ',
        0xE3 => 'ª',
        0xE8 => 'Ł',
        0xE9 => 'Ø',
        0xEA => 'Œ',
        0xEB => 'º',
        0xF1 => 'æ',
        0xF5 => 'ı',
        0xF8 => 'ł',
        0xF9 => 'ø',
        0xFA => 'œ',
        0xFB => 'ß',
        _ => return None,
    };
    Some(c)
}

/// The Symbol font: Greek letters on the Latin keys, ASCII punctuation and
/// digits where they are.
fn symbol(code: u8) -> Option<char> {
    const UPPER: &str = "ΑΒΧΔΕΦΓΗΙϑΚΛΜΝΟΠΘΡΣΤΥςΩΞΨΖ";
    const LOWER: &str = "αβχδεφγηιϕκλμνοπθρστυϖωξψζ";
    match code {
        b'A'..=b'Z' => UPPER.chars().nth((code - b'A') as usize),
        b'a'..=b'z' => LOWER.chars().nth((code - b'a') as usize),
        0x22 => Some('∀'),
        0x24 => Some('∃'),
        0x27 => Some('∋'),
        0x2A => Some('∗'),
        0x2D => Some('−'),
        0x40 => Some('≅'),
        0x5E => Some('⊥'),
        0x20..=0x7E => Some(code as char),
        0xA3 => Some('≤'),
        0xA5 => Some('∞'),
        0xAE => Some('→'),
        0xB1 => Some('±'),
        0xB3 => Some('≥'),
        0xB4 => Some('×'),
        0xB7 => Some('•'),
        0xB9 => Some('≠'),
        0xBA => Some('≡'),
        0xBB => Some('≈'),
        0xBC => Some('…'),
        0xC5 => Some('⊕'),
        0xC6 => Some('∅'),
        0xC7 => Some('∩'),
        0xC8 => Some('∪'),
        0xCE => Some('∈'),
        0xD1 => Some('∇'),
        0xD5 => Some('∏'),
        0xD6 => Some('√'),
        0xD7 => Some('⋅'),
        0xD9 => Some('∧'),
        0xDA => Some('∨'),
        0xDB => Some('⇔'),
        0xDE => Some('⇒'),
        0xE5 => Some('∑'),
        0xF2 => Some('∫'),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::Base;

    #[test]
    fn base_encodings() {
        assert_eq!(Base::Standard.char(b'A'), Some('A'));
        assert_eq!(Base::Standard.char(0x27), Some('\u{2019}'));
        assert_eq!(Base::Standard.char(0xAE), Some('\u{FB01}'));
        assert_eq!(Base::WinAnsi.char(0xE9), Some('é'));
        assert_eq!(Base::WinAnsi.char(0x93), Some('\u{201C}'));
        assert_eq!(Base::MacRoman.char(0x8E), Some('é'));
        assert_eq!(Base::Symbol.char(b'a'), Some('α'));
        assert_eq!(Base::Standard.char(0x01), None);
    }
}
