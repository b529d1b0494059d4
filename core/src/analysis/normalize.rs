//! Unicode normalisation of whole texts and folding of single words, so that
//! text typed, pasted or extracted differently meets as the same term.

use unicode_normalization::UnicodeNormalization;
use unicode_normalization::char::is_combining_mark;

/// Which Unicode normal form texts are brought to before tokenising.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Normalization {
    /// Canonical composition: "e" + U+0301 and "é" become one.
    Nfc,
    /// Compatibility composition: also full-width "ＡＢＣ" → "ABC", half-width
    /// katakana → full-width, ligatures "ﬁ" → "fi" (PDF text), "①" → "1".
    Nfkc,
}

/// `text` in the normal form `form`.
pub(super) fn normalize(text: &str, form: Normalization) -> String {
    if text.is_ascii() {
        // ASCII is its own NFC and NFKC.
        return text.to_string();
    }
    match form {
        Normalization::Nfc => text.nfc().collect(),
        Normalization::Nfkc => text.nfkc().collect(),
    }
}

/// Lower-cases `word` (full Unicode mapping, plus `ß` → `ss` and final
/// `ς` → `σ`, which lower-casing alone leaves apart from their other spelling).
pub(super) fn fold_case(word: &str) -> String {
    let mut out = String::with_capacity(word.len());
    for c in word.chars() {
        match c {
            'ß' | 'ẞ' => out.push_str("ss"),
            'ς' => out.push('σ'),
            _ => out.extend(c.to_lowercase()),
        }
    }
    out
}

/// `word` without diacritics on Latin, Greek and Cyrillic letters ("é" → "e",
/// "ё" → "е", "ά" → "α"), without Arabic and Hebrew vowel points, and with
/// the few Latin letters that have no decomposition spelled plainly
/// ("œ" → "oe", "ø" → "o", "ł" → "l"). Marks of other scripts (Devanagari
/// vowel signs, kana voicing) are part of their letters and stay.
pub(super) fn fold_diacritics(word: &str) -> String {
    if word.is_ascii() {
        return word.to_string();
    }
    let mut out = String::with_capacity(word.len());
    let mut base_folds = false;
    for c in word.nfd() {
        if is_combining_mark(c) {
            if !(base_folds || is_vowel_point(c)) {
                out.push(c);
            }
            continue;
        }
        base_folds = is_latin_greek_cyrillic(c);
        match c {
            'œ' => out.push_str("oe"),
            'æ' => out.push_str("ae"),
            'ø' => out.push('o'),
            'đ' | 'ð' => out.push('d'),
            'ł' => out.push('l'),
            'ı' => out.push('i'),
            'ħ' => out.push('h'),
            'þ' => out.push_str("th"),
            '\u{0640}' => {} // Arabic tatweel: stretches a word, says nothing
            _ => out.push(c),
        }
    }
    out.nfc().collect()
}

/// Letters whose diacritics are folded away.
fn is_latin_greek_cyrillic(c: char) -> bool {
    matches!(c as u32,
        0x0041..=0x024F      // Basic Latin letters .. Latin Extended-B
        | 0x1E00..=0x1EFF    // Latin Extended Additional
        | 0x0370..=0x03FF    // Greek
        | 0x1F00..=0x1FFF    // Greek Extended
        | 0x0400..=0x052F    // Cyrillic (+ Supplement)
    )
}

/// Arabic harakat and Hebrew niqqud: optional vowel marks, mostly left out
/// in writing, so a pointed and an unpointed spelling must match.
fn is_vowel_point(c: char) -> bool {
    matches!(c as u32, 0x064B..=0x065F | 0x0670 | 0x0591..=0x05BD | 0x05BF | 0x05C1..=0x05C2 | 0x05C4..=0x05C5 | 0x05C7)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn composed_and_decomposed_forms_meet() {
        let composed = "caf\u{e9}";
        let decomposed = "cafe\u{301}";
        assert_ne!(composed, decomposed);
        for form in [Normalization::Nfc, Normalization::Nfkc] {
            assert_eq!(normalize(composed, form), normalize(decomposed, form));
        }
    }

    #[test]
    fn nfkc_folds_width_and_ligatures_nfc_does_not() {
        assert_eq!(normalize("ＡＢＣ１２３", Normalization::Nfkc), "ABC123");
        assert_eq!(normalize("ＡＢＣ", Normalization::Nfc), "ＡＢＣ");
        assert_eq!(normalize("ﬁle", Normalization::Nfkc), "file");
        assert_eq!(normalize("ｶﾀｶﾅ", Normalization::Nfkc), "カタカナ");
    }

    #[test]
    fn case_folding_covers_sharp_s_and_final_sigma() {
        assert_eq!(fold_case("STRASSE"), fold_case("Straße"));
        assert_eq!(fold_case("ΟΔΟΣ"), "οδοσ");
        assert_eq!(fold_case("οδος"), "οδοσ");
        assert_eq!(fold_case("ÉCOLE"), "école");
    }

    #[test]
    fn diacritics_fold_in_latin_greek_cyrillic_only() {
        assert_eq!(fold_diacritics("élève"), "eleve");
        assert_eq!(fold_diacritics("cœur"), "coeur");
        assert_eq!(fold_diacritics("ёлка"), "елка");
        assert_eq!(fold_diacritics("άλφα"), "αλφα");
        assert_eq!(fold_diacritics("łódź"), "lodz");
        // Kana voicing and Devanagari vowel signs are letters, not accents.
        assert_eq!(fold_diacritics("がぎ"), "がぎ");
        assert_eq!(fold_diacritics("हिन्दी"), "हिन्दी");
        // Arabic vowel points go, the letters stay.
        assert_eq!(fold_diacritics("كَتَبَ"), "كتب");
    }
}
