//! Glyph names to Unicode, as the Adobe Glyph List specification says:
//! simple fonts name their glyphs (`/Differences`, Type 1 and CFF programs,
//! TrueType `post` tables), and a name is often the only clue to the text.

use std::collections::HashMap;
use std::sync::OnceLock;

/// Adobe's glyphlist.txt (AGL 2.0, BSD-3-Clause, notice inside the file).
const GLYPH_LIST: &str = include_str!("glyphlist.txt");

fn table() -> &'static HashMap<&'static str, String> {
    static TABLE: OnceLock<HashMap<&'static str, String>> = OnceLock::new();
    TABLE.get_or_init(|| {
        GLYPH_LIST
            .lines()
            .filter(|l| !l.starts_with('#'))
            .filter_map(|l| {
                let (name, hex) = l.split_once(';')?;
                let text: Option<String> = hex
                    .split(' ')
                    .map(|h| u32::from_str_radix(h, 16).ok().and_then(char::from_u32))
                    .collect();
                Some((name, text?))
            })
            .collect()
    })
}

/// The text a glyph name stands for, or `None` for names that carry none
/// (`.notdef`, `g123`, `cid42`).
pub(super) fn to_unicode(name: &str) -> Option<String> {
    // "a.sc", "one.oldstyle": the part before the first period.
    let base = name.split('.').next().unwrap_or("");
    if base.is_empty() {
        return None;
    }
    // "f_f_i": a ligature of components.
    let mut out = String::new();
    for part in base.split('_') {
        out.push_str(&component(part)?);
    }
    Some(out)
}

fn component(part: &str) -> Option<String> {
    if let Some(text) = table().get(part) {
        return Some(text.clone());
    }
    if let Some(hex) = part.strip_prefix("uni")
        && hex.len() >= 4
        && hex.len() % 4 == 0
    {
        let text: Option<String> = hex
            .as_bytes()
            .chunks(4)
            .map(|c| {
                let s = std::str::from_utf8(c).ok()?;
                u32::from_str_radix(s, 16).ok().and_then(scalar)
            })
            .collect();
        return text;
    }
    if let Some(hex) = part.strip_prefix('u')
        && (4..=6).contains(&hex.len())
    {
        return u32::from_str_radix(hex, 16)
            .ok()
            .and_then(scalar)
            .map(String::from);
    }
    None
}

/// A Unicode scalar value that is text (not a surrogate or control).
fn scalar(v: u32) -> Option<char> {
    char::from_u32(v).filter(|c| !c.is_control())
}

#[cfg(test)]
mod tests {
    use super::to_unicode;

    #[test]
    fn names_follow_the_agl_rules() {
        assert_eq!(to_unicode("A").as_deref(), Some("A"));
        assert_eq!(to_unicode("afii10017").as_deref(), Some("А"));
        assert_eq!(to_unicode("Acyrillic").as_deref(), Some("А"));
        assert_eq!(to_unicode("fi").as_deref(), Some("\u{FB01}"));
        assert_eq!(to_unicode("f_f_i").as_deref(), Some("ffi"));
        assert_eq!(to_unicode("a.sc").as_deref(), Some("a"));
        assert_eq!(to_unicode("uni0627").as_deref(), Some("ا"));
        assert_eq!(to_unicode("uni00410042").as_deref(), Some("AB"));
        assert_eq!(to_unicode("u1F600").as_deref(), Some("😀"));
        assert_eq!(to_unicode("uniD800"), None);
        assert_eq!(to_unicode(".notdef"), None);
        assert_eq!(to_unicode("g123"), None);
    }
}
