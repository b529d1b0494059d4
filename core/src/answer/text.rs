//! The units answer checks work on: sentences with their exact byte ranges
//! (so a host can highlight a quote), and the content terms by which a
//! question, a claim and a passage are compared.

use std::collections::HashSet;
use std::ops::Range;

/// Sentences longer than this are cut at line ends (man-page synopses,
/// tables and code have no full stops).
const MAX_SENTENCE_BYTES: usize = 400;

/// Function words, and the words questions are framed with ("which … should
/// I use to …"): they say nothing about what a passage must contain.
const STOPWORDS: &[&str] = &[
    "a", "about", "above", "after", "again", "all", "also", "am", "an", "and", "any", "are", "as",
    "at", "be", "because", "been", "before", "being", "between", "both", "but", "by", "can",
    "could", "did", "do", "does", "doing", "done", "down", "during", "each", "either", "etc",
    "every", "few", "for", "from", "further", "get", "gets", "give", "given", "go", "had", "has",
    "have", "having", "he", "her", "here", "hers", "him", "his", "how", "i", "if", "in", "into",
    "is", "it", "its", "itself", "just", "know", "let", "like", "may", "me", "might", "more",
    "most", "much", "must", "my", "need", "no", "nor", "not", "now", "of", "off", "on", "once",
    "one", "only", "or", "other", "our", "ours", "out", "over", "own", "please", "same", "she",
    "should", "so", "some", "such", "tell", "than", "that", "the", "their", "theirs", "them",
    "then", "there", "these", "they", "thing", "this", "those", "through", "to", "too", "under",
    "until", "up", "us", "use", "used", "uses", "using", "very", "want", "was", "way", "we",
    "were", "what", "when", "where", "whether", "which", "while", "who", "whom", "whose", "why",
    "will", "with", "would", "yes", "you", "your", "yours",
    // What is left of contractions once split at the apostrophe.
    "aren", "couldn", "didn", "doesn", "don", "hadn", "hasn", "haven", "isn", "ll", "re", "shouldn",
    "ve", "wasn", "weren", "wouldn",
];

/// Byte ranges of the sentences of `text`, trimmed, in order.
///
/// Paragraphs (blank-line separated) and list items are never joined; inside
/// them a sentence ends at `.`, `!` or `?` followed by white space and a word
/// that does not start in lower case (so "e.g. this" stays one sentence).
pub(crate) fn sentences(text: &str) -> Vec<Range<usize>> {
    let mut out = Vec::new();
    for unit in units(text) {
        let mut start = unit.start;
        let bytes = text.as_bytes();
        let mut i = unit.start;
        while i < unit.end {
            let c = bytes[i];
            // CJK full stops end a sentence with no space after them.
            if let Some(stop) = ["。", "！", "？"]
                .iter()
                .find(|s| bytes[i..unit.end].starts_with(s.as_bytes()))
            {
                let end = i + stop.len();
                push_trimmed(text, start..end, &mut out);
                start = end;
                i = end;
                continue;
            }
            if matches!(c, b'.' | b'!' | b'?') {
                // Closing quotes, brackets and emphasis belong to the sentence.
                let mut end = i + 1;
                while end < unit.end
                    && matches!(bytes[end], b'"' | b'\'' | b')' | b']' | b'*' | b'`')
                {
                    end += 1;
                }
                if end < unit.end
                    && bytes[end].is_ascii_whitespace()
                    && next_word_opens_sentence(&text[end..unit.end])
                    && !ends_with_abbreviation(&text[start..i])
                {
                    push_trimmed(text, start..end, &mut out);
                    start = end;
                    i = end;
                    continue;
                }
            }
            i += 1;
        }
        push_trimmed(text, start..unit.end, &mut out);
    }
    out
}

/// Paragraphs and list items: the ranges sentences never cross.
fn units(text: &str) -> Vec<Range<usize>> {
    let mut units = Vec::new();
    let mut start: Option<usize> = None;
    let mut offset = 0;
    for line in text.split_inclusive('\n') {
        let line_start = offset;
        offset += line.len();
        let trimmed = line.trim();
        if trimmed.is_empty() {
            if let Some(s) = start.take() {
                units.push(s..line_start);
            }
            continue;
        }
        if (is_item_start(trimmed) || is_heading(trimmed))
            && let Some(s) = start.take()
        {
            units.push(s..line_start);
        }
        start.get_or_insert(line_start);
        if is_heading(trimmed) {
            units.push(line_start..offset);
            start = None;
        }
    }
    if let Some(s) = start {
        units.push(s..text.len());
    }
    units
}

fn is_item_start(line: &str) -> bool {
    let marker = line.split_whitespace().next().unwrap_or("");
    matches!(marker, "-" | "*" | "+" | ">" | "|" | "•")
        || (marker.len() <= 4
            && marker.ends_with(['.', ')'])
            && marker[..marker.len() - 1]
                .bytes()
                .all(|b| b.is_ascii_digit())
            && marker.len() > 1)
        || line.starts_with('|')
}

fn is_heading(line: &str) -> bool {
    line.starts_with('#')
}

fn next_word_opens_sentence(rest: &str) -> bool {
    rest.trim_start()
        .chars()
        .next()
        .is_none_or(|c| !c.is_lowercase())
}

fn ends_with_abbreviation(before: &str) -> bool {
    let word = before
        .rsplit(|c: char| c.is_whitespace() || c == '(')
        .next()
        .unwrap_or("")
        .to_ascii_lowercase();
    matches!(
        word.as_str(),
        "e.g" | "i.e" | "etc" | "vs" | "cf" | "dr" | "mr" | "mrs" | "ms" | "no" | "approx" | "fig"
    ) || (word.len() == 1 && word.chars().all(|c| c.is_alphabetic()))
}

/// Pushes `range` trimmed of white space, cut into pieces at line ends when
/// it is too long to quote as one sentence.
fn push_trimmed(text: &str, range: Range<usize>, out: &mut Vec<Range<usize>>) {
    let Some(range) = trim(text, range) else {
        return;
    };
    if range.len() <= MAX_SENTENCE_BYTES {
        out.push(range);
        return;
    }
    let mut start = range.start;
    let mut last_break = None;
    for (i, c) in text[range.clone()].char_indices() {
        let at = range.start + i;
        if c == '\n' {
            last_break = Some(at);
        }
        if at - start >= MAX_SENTENCE_BYTES {
            let cut = match last_break {
                Some(b) if b > start => b,
                _ => at,
            };
            if let Some(piece) = trim(text, start..cut) {
                out.push(piece);
            }
            start = cut;
            last_break = None;
        }
    }
    if let Some(piece) = trim(text, start..range.end) {
        out.push(piece);
    }
}

fn trim(text: &str, range: Range<usize>) -> Option<Range<usize>> {
    let slice = &text[range.clone()];
    let start = range.start + (slice.len() - slice.trim_start().len());
    let end = range.end - (slice.len() - slice.trim_end().len());
    (start < end).then_some(start..end)
}

/// The part of a sentence worth quoting: without a leading list, heading or
/// quote marker, so the quote reads as text and its range is still exact.
pub(crate) fn quotable(text: &str, range: Range<usize>) -> Range<usize> {
    let slice = &text[range.clone()];
    let mut rest = slice.trim_start();
    for _ in 0..2 {
        let marker = rest.split_whitespace().next().unwrap_or("");
        let is_marker = matches!(marker, "-" | "*" | "+" | ">" | "•" | "|")
            || marker.chars().all(|c| c == '#')
            || (marker.len() > 1
                && marker.len() <= 4
                && marker.ends_with(['.', ')'])
                && marker[..marker.len() - 1]
                    .bytes()
                    .all(|b| b.is_ascii_digit()));
        if is_marker && !marker.is_empty() && rest.len() > marker.len() {
            rest = rest[marker.len()..].trim_start();
        } else {
            break;
        }
    }
    let start = range.end - rest.len();
    let end = start + rest.trim_end().len();
    if start < end { start..end } else { range }
}

/// A content word: its stem, to compare, and the word itself (lower case),
/// to look up in the knowledge base.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Term {
    pub stem: String,
    pub word: String,
    /// Numbers and identifiers (digits, `snake_case`, `dotted.names`, `--flags`)
    /// weigh more: a claim that gets one wrong is wrong.
    pub exact: bool,
}

impl Term {
    pub(crate) fn weight(&self) -> f32 {
        if self.exact { 2.0 } else { 1.0 }
    }
}

/// The distinct content terms of `text`, in order of first appearance.
pub(crate) fn terms(text: &str) -> Vec<Term> {
    let mut seen = HashSet::new();
    let mut out = Vec::new();
    for raw in text.split(|c: char| c.is_whitespace() || "()[]{}<>\"',;:!?`*|=/\\".contains(c)) {
        let flag = raw.starts_with('-') && raw.len() > 1;
        let raw = raw.trim_matches(|c: char| !c.is_alphanumeric() && c != '_');
        if raw.is_empty() {
            continue;
        }
        let identifier = flag
            || raw.chars().any(|c| c.is_ascii_digit())
            || raw.contains('_')
            || (raw.contains('.') && raw.chars().any(char::is_alphabetic))
            || raw.chars().skip(1).any(char::is_uppercase) && raw.chars().any(char::is_lowercase);
        for word in raw.split(|c: char| !c.is_alphanumeric()) {
            let word = word.to_lowercase();
            if word.is_empty() || STOPWORDS.contains(&word.as_str()) {
                continue;
            }
            let number = word.chars().all(|c| c.is_ascii_digit());
            if word.chars().count() < 2 && !number {
                continue;
            }
            let stem = stem(&word);
            if seen.insert(stem.clone()) {
                out.push(Term {
                    stem,
                    word,
                    exact: identifier || number,
                });
            }
        }
    }
    out
}

/// The hyphenated names of `text` (`git-diff-tree`, `utf-8`), lower case
/// with their parts joined by one space: a claim naming one is supported
/// only by a passage that names it whole (written with hyphens or spaces),
/// not by one holding its parts apart (`git diff-index … <tree-ish>`).
pub(crate) fn compounds(text: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for raw in text.split(|c: char| !(c.is_alphanumeric() || c == '-')) {
        let raw = raw.trim_matches('-');
        let parts: Vec<&str> = raw.split('-').collect();
        if parts.len() > 1 && parts.iter().all(|p| !p.is_empty()) {
            let joined = parts.join(" ").to_lowercase();
            if !out.contains(&joined) {
                out.push(joined);
            }
        }
    }
    out
}

/// `text` lower case with hyphens and runs of white space as one space,
/// where [`compounds`] are looked for.
pub(crate) fn flattened(text: &str) -> String {
    text.to_lowercase()
        .replace('-', " ")
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

/// The stems of `text`'s content terms.
pub(crate) fn stems(text: &str) -> HashSet<String> {
    terms(text).into_iter().map(|t| t.stem).collect()
}

/// A light English suffix stripper: enough that "adds", "added" and
/// "adding" meet "add", and the same on both sides of every comparison.
pub(crate) fn stem(word: &str) -> String {
    let w = word;
    let n = w.chars().count();
    if n <= 3 || !w.is_ascii() {
        return w.to_string();
    }
    let strip = |suffix: &str| w[..w.len() - suffix.len()].to_string();
    let mut s = if w.ends_with("ies") && n > 4 {
        format!("{}y", &w[..w.len() - 3])
    } else if w.ends_with("sses") {
        strip("es")
    } else if w.ends_with("ing") && n > 5 {
        strip("ing")
    } else if w.ends_with("ed") && n > 4 {
        strip("ed")
    } else if w.ends_with("ly") && n > 5 {
        strip("ly")
    } else if w.ends_with("es")
        && (w.ends_with("ches") || w.ends_with("shes") || w.ends_with("xes"))
    {
        strip("es")
    } else if w.ends_with('s') && !w.ends_with("ss") && !w.ends_with("us") && !w.ends_with("is") {
        strip("s")
    } else {
        w.to_string()
    };
    // "running" → "runn" → "run"; "stopped" → "stopp" → "stop"; "added" → "add".
    let b = s.as_bytes();
    if s.len() > 3 && b[b.len() - 1] == b[b.len() - 2] && !b"lsz".contains(&b[b.len() - 1]) {
        s.pop();
    }
    // "files"/"filed" → "file" → "fil"…: drop a final e so both meet.
    if s.len() > 3 && s.ends_with('e') {
        s.pop();
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn split(text: &str) -> Vec<&str> {
        sentences(text).into_iter().map(|r| &text[r]).collect()
    }

    #[test]
    fn sentences_end_at_stops_before_a_capital() {
        assert_eq!(
            split("Brew at 93 °C. Grind finer, e.g. 2.0 on the dial. Done!\n\nNext one?"),
            [
                "Brew at 93 °C.",
                "Grind finer, e.g. 2.0 on the dial.",
                "Done!",
                "Next one?"
            ]
        );
    }

    #[test]
    fn hyphenated_names_are_compounds_found_whole() {
        assert_eq!(
            compounds("Use git-diff-tree, not -x or utf-8 --cached."),
            ["git diff tree", "utf 8"]
        );
        let passage = flattened("git diff-index [--cached] <tree-ish>");
        assert!(!passage.contains("git diff tree"));
        assert!(flattened("See git diff-tree(1).").contains("git diff tree"));
    }

    #[test]
    fn cjk_sentences_end_at_their_full_stops() {
        assert_eq!(
            split("フェリーは七時に出ます。切符は港で買います！本当？"),
            ["フェリーは七時に出ます。", "切符は港で買います！", "本当？"]
        );
    }

    #[test]
    fn list_items_and_headings_are_their_own_sentences() {
        let text = "# Recipe\n- **Dose:** 18 g.\n- Yield: 36 g\n  in the cup.\nAfter.";
        assert_eq!(
            split(text),
            [
                "# Recipe",
                "- **Dose:** 18 g.",
                "- Yield: 36 g\n  in the cup.",
                "After."
            ]
        );
        let r = sentences(text)[1].clone();
        assert_eq!(&text[quotable(text, r)], "**Dose:** 18 g.");
    }

    #[test]
    fn long_runs_without_stops_are_cut_at_line_ends() {
        let line = "git add [--verbose | -v] [--dry-run | -n] [--force | -f]\n";
        let text = line.repeat(20);
        let parts = sentences(&text);
        assert!(parts.len() > 1);
        for r in &parts {
            assert!(r.len() <= MAX_SENTENCE_BYTES, "{}", r.len());
            assert!(text[r.clone()].starts_with("git add"));
        }
    }

    #[test]
    fn terms_drop_framing_and_meet_across_inflections() {
        let t: Vec<String> = terms("Which git command should I use to add files?")
            .into_iter()
            .map(|t| t.stem)
            .collect();
        assert_eq!(t, ["git", "command", "add", "fil"]);
        assert_eq!(stem("adding"), stem("added"));
        assert_eq!(stem("files"), stem("file"));
        assert_eq!(stem("running"), "run");
        let exact: Vec<bool> = terms("os.path 93 °C plain")
            .iter()
            .map(|t| t.exact)
            .collect();
        assert_eq!(exact, [true, true, true, false]);
    }

    #[test]
    fn unicode_text_never_splits_inside_a_character() {
        for text in ["Café. Ünïcode… ok? Ja。", "…", "。。。", "a.\u{00A0}B"] {
            for r in sentences(text) {
                assert!(text.is_char_boundary(r.start) && text.is_char_boundary(r.end));
            }
        }
    }
}
