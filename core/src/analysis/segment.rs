//! Splits normalised text into segments by script: words of scripts written
//! with spaces, runs of scripts written without them (CJK, Thai …), and
//! emoji. Works on grapheme clusters, so a letter and its combining marks,
//! or an emoji ZWJ sequence, are never pulled apart.

use unicode_normalization::char::is_combining_mark;
use unicode_segmentation::UnicodeSegmentation;

/// A piece of text that becomes terms.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Segment {
    /// Letters and digits of a script written with spaces (Latin, Cyrillic,
    /// Greek, Arabic, Hebrew, Devanagari …), marks included, not yet folded.
    Word(String),
    /// Grapheme clusters of scripts written without spaces between words
    /// (Han, kana, Hangul, Thai, Lao, Khmer, Myanmar), in order.
    Unspaced(Vec<String>),
    /// One emoji (a whole ZWJ sequence or flag), variation selectors removed.
    Emoji(String),
}

/// What a grapheme cluster is, by its first character.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Class {
    Word,
    Unspaced,
    Emoji,
    Space,
    /// Invisible format characters (bidi marks, soft hyphen, joiners): they
    /// neither belong to a word nor end one.
    Transparent,
    Separator,
}

/// Segments of `text` (already normalised). With `join_unspaced_across_space`,
/// white space (line breaks included) between two unspaced graphemes does not
/// end their run: rendered or wrapped CJK text gets spaces and line breaks
/// where the writer put none.
pub(super) fn segments(text: &str, join_unspaced_across_space: bool) -> Vec<Segment> {
    if text.is_ascii() {
        ascii_segments(text)
    } else {
        grapheme_segments(text, join_unspaced_across_space)
    }
}

/// What [`grapheme_segments`] gives ASCII text (each character its own
/// grapheme, no unspaced runs, emoji or marks), four times faster.
fn ascii_segments(text: &str) -> Vec<Segment> {
    text.split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(|w| Segment::Word(w.to_string()))
        .collect()
}

fn grapheme_segments(text: &str, join_unspaced_across_space: bool) -> Vec<Segment> {
    let mut out = Vec::new();
    let mut word = String::new();
    let mut run: Vec<String> = Vec::new();
    // Inside a run, whether white space was seen since its last grapheme.
    let mut space_in_run = false;
    for g in text.graphemes(true) {
        let class = classify(g);
        if class != Class::Word && class != Class::Transparent && !word.is_empty() {
            out.push(Segment::Word(std::mem::take(&mut word)));
        }
        match class {
            Class::Word => {
                end_run(&mut out, &mut run);
                word.extend(g.chars().filter(|&c| is_word_char(c)));
            }
            Class::Unspaced => {
                if space_in_run && !join_unspaced_across_space {
                    end_run(&mut out, &mut run);
                }
                space_in_run = false;
                run.push(g.chars().filter(|&c| !is_styling(c)).collect());
            }
            Class::Emoji => {
                end_run(&mut out, &mut run);
                let emoji: String = g.chars().filter(|&c| !is_variation_selector(c)).collect();
                out.push(Segment::Emoji(emoji));
            }
            Class::Space => space_in_run = !run.is_empty(),
            Class::Transparent => {}
            Class::Separator => end_run(&mut out, &mut run),
        }
    }
    if !word.is_empty() {
        out.push(Segment::Word(word));
    }
    end_run(&mut out, &mut run);
    out
}

fn end_run(out: &mut Vec<Segment>, run: &mut Vec<String>) {
    if !run.is_empty() {
        out.push(Segment::Unspaced(std::mem::take(run)));
    }
}

fn classify(grapheme: &str) -> Class {
    let Some(c) = grapheme.chars().next() else {
        return Class::Separator;
    };
    if is_unspaced(c) {
        Class::Unspaced
    } else if is_emoji(c) {
        Class::Emoji
    } else if c.is_alphanumeric() {
        Class::Word
    } else if c.is_whitespace() || c == '\u{200B}' {
        // U+200B ZERO WIDTH SPACE separates words in Thai and Khmer text.
        Class::Space
    } else if is_format(c) || is_combining_mark(c) {
        // A lone mark (no base letter before it) has nothing to attach to.
        Class::Transparent
    } else {
        Class::Separator
    }
}

/// Characters kept inside a word: letters, digits and their marks, less
/// variation selectors and enclosing marks (keycaps), which only style.
fn is_word_char(c: char) -> bool {
    (c.is_alphanumeric() || is_combining_mark(c))
        && !is_variation_selector(c)
        && !matches!(c as u32, 0x20DD..=0x20E4)
        && c != '\u{0640}'
}

/// Variation selectors and format characters: inside a grapheme of an
/// unspaced script they change its look, not the character.
fn is_styling(c: char) -> bool {
    is_variation_selector(c) || is_format(c)
}

fn is_variation_selector(c: char) -> bool {
    matches!(c as u32, 0xFE00..=0xFE0F | 0xE0100..=0xE01EF)
}

/// Invisible formatting: soft hyphen, Arabic letter mark, Mongolian vowel
/// separator, zero-width joiners, bidi marks and embeddings, word joiner,
/// invisible operators, byte order mark.
fn is_format(c: char) -> bool {
    matches!(c as u32,
        0x00AD | 0x061C | 0x180E | 0x200C..=0x200F | 0x202A..=0x202E
        | 0x2060..=0x2064 | 0x2066..=0x206F | 0xFEFF)
}

/// Scripts written without spaces between words, whose text is indexed as
/// overlapping pairs of graphemes.
pub(super) fn is_unspaced(c: char) -> bool {
    matches!(c as u32,
        0x0E00..=0x0EFF       // Thai, Lao
        | 0x1000..=0x109F     // Myanmar
        | 0x1780..=0x17FF     // Khmer
        | 0x1100..=0x11FF     // Hangul Jamo
        | 0x2E80..=0x2FDF     // CJK and Kangxi radicals
        | 0x3005..=0x3007     // 々 〆 〇
        | 0x3021..=0x3029     // Hangzhou numerals
        | 0x3031..=0x3035     // vertical kana repeat marks
        | 0x3038..=0x303C     // 〻 〼
        | 0x3041..=0x309F     // Hiragana
        | 0x30A1..=0x30FA     // Katakana (not ゠ U+30A0)
        | 0x30FC..=0x30FF     // ー ヽ ヾ ヿ (not the middle dot U+30FB)
        | 0x3105..=0x312F     // Bopomofo
        | 0x3131..=0x318E     // Hangul compatibility jamo
        | 0x31A0..=0x31BF     // Bopomofo extended
        | 0x31F0..=0x31FF     // Katakana phonetic extensions
        | 0x3400..=0x4DBF     // CJK extension A
        | 0x4E00..=0x9FFF     // CJK unified ideographs
        | 0xA960..=0xA97F     // Hangul Jamo extended-A
        | 0xAC00..=0xD7FF     // Hangul syllables, Jamo extended-B
        | 0xF900..=0xFAFF     // CJK compatibility ideographs
        | 0x1B000..=0x1B16F   // kana supplement and extensions
        | 0x20000..=0x3134F   // CJK extensions B..G, compatibility supplement
    )
}

/// Pictographic emoji and regional-indicator flags (not digits or `#`,
/// which start keycap sequences but are words or punctuation first).
fn is_emoji(c: char) -> bool {
    matches!(c as u32,
        0x1F000..=0x1FAFF     // mahjong .. symbols and pictographs extended-A, flags
        | 0x2600..=0x27BF     // miscellaneous symbols, dingbats
        | 0x2B00..=0x2BFF     // ⭐ ⬆ and other arrows and symbols
        | 0x231A..=0x231B | 0x23E9..=0x23FA // ⌚ ⌛ ⏩ .. ⏺
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(segments: &[Segment]) -> Vec<String> {
        segments
            .iter()
            .map(|s| match s {
                Segment::Word(w) | Segment::Emoji(w) => w.clone(),
                Segment::Unspaced(run) => format!("[{}]", run.concat()),
            })
            .collect()
    }

    #[test]
    fn ascii_text_segments_as_the_grapheme_path_does() {
        let alphabet = b"aZ09 _-.'\t\r\n\0\x7f#@";
        let mut seed = 7u64;
        for _ in 0..2_000 {
            let text: String = (0..40)
                .map(|_| {
                    seed = seed
                        .wrapping_mul(6364136223846793005)
                        .wrapping_add(1442695040888963407);
                    alphabet[(seed >> 33) as usize % alphabet.len()] as char
                })
                .collect();
            assert_eq!(
                ascii_segments(&text),
                grapheme_segments(&text, true),
                "{text:?}"
            );
        }
    }

    #[test]
    fn splits_words_at_non_letters_like_unicode61() {
        let s = segments("git-add os.path __init__ l'homme 8859-2", false);
        assert_eq!(
            words(&s),
            [
                "git", "add", "os", "path", "init", "l", "homme", "8859", "2"
            ]
        );
    }

    #[test]
    fn unspaced_runs_end_at_punctuation_and_other_scripts() {
        let s = segments("日本語のテキスト、Wi-Fi接続。한국어", false);
        assert_eq!(
            words(&s),
            ["[日本語のテキスト]", "Wi", "Fi", "[接続]", "[한국어]"]
        );
    }

    #[test]
    fn joins_unspaced_runs_across_line_breaks_only_when_asked() {
        let text = "ファイルを\n       削除する";
        assert_eq!(words(&segments(text, true)), ["[ファイルを削除する]"]);
        assert_eq!(
            words(&segments(text, false)),
            ["[ファイルを]", "[削除する]"]
        );
        // Latin words in between still end the run.
        assert_eq!(
            words(&segments("設定 git 設定", true)),
            ["[設定]", "git", "[設定]"]
        );
    }

    #[test]
    fn invisible_format_characters_do_not_split_words() {
        let s = segments("co\u{00AD}operate ab\u{200E}c \u{200F}שלום\u{200F}", false);
        assert_eq!(words(&s), ["cooperate", "abc", "שלום"]);
    }

    #[test]
    fn emoji_sequences_stay_whole_and_lose_variation_selectors() {
        let family = "👨\u{200D}👩\u{200D}👧";
        let s = segments(&format!("ok{family}❤\u{FE0F} 🇫🇷 1\u{FE0F}\u{20E3}"), false);
        assert_eq!(words(&s), ["ok", family, "❤", "🇫🇷", "1"]);
    }

    #[test]
    fn combining_marks_stay_with_their_letter_and_lone_marks_vanish() {
        let s = segments("\u{301}e\u{301}te\u{301} हिन्दी", false);
        assert_eq!(words(&s), ["e\u{301}te\u{301}", "हिन्दी"]);
    }

    #[test]
    fn right_to_left_and_mixed_script_words() {
        let s = segments("مرحبا بالعالم Moskва", false);
        assert_eq!(words(&s), ["مرحبا", "بالعالم", "Moskва"]);
    }
}
