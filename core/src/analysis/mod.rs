//! Text analysis for the keyword index, the same for stored text and for
//! queries, so that equal words meet as equal terms in every script.
//!
//! Steps, each measured on the eval sets (README, "Keyword analysis"):
//! 1. Unicode normalisation (NFKC: composed and decomposed "é", full-width
//!    "ＡＢＣ", half-width kana and ligatures become one spelling).
//! 2. Segmentation by script over grapheme clusters ([`segment`]): words of
//!    scripts written with spaces; runs of scripts written without them
//!    (Han, kana, Hangul, Thai …), joined across the spaces and line breaks
//!    that rendering puts between their characters; emoji.
//! 3. Words: case folding, Snowball stemming in the text's language where
//!    a stemmer exists, diacritic folding (Latin, Greek, Cyrillic).
//! 4. Unspaced runs: overlapping pairs of graphemes ("日本語" → "日本 本語"),
//!    plus each run's last grapheme alone, so a one-character query finds
//!    every occurrence as a prefix of a pair or that last grapheme.
//!
//! The output is terms joined by single spaces: FTS5 only has to split on
//! spaces ([`FTS5_TOKENIZER`]). Pure: no I/O, no SQL.

mod language;
mod normalize;
mod query;
mod segment;

pub use language::Language;
pub use normalize::Normalization;
pub use query::{Query, Term};

use normalize::{fold_case, fold_diacritics, normalize};
use segment::{Segment, segments};

/// The FTS5 `tokenize` option for columns holding analysed terms: `ascii`
/// splits on ASCII spaces and punctuation and takes every other character as
/// part of a term, and analysed terms hold no ASCII punctuation.
pub const FTS5_TOKENIZER: &str = "ascii";

/// Which single graphemes of unspaced runs are indexed besides the pairs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unigrams {
    /// Only runs of one grapheme (as Lucene's CJK bigram filter does): a
    /// one-character query finds only those.
    Isolated,
    /// Each run's last grapheme: with the pairs, every grapheme starts some
    /// term, so a one-character query matches everywhere as a prefix.
    RunEnd,
    /// Every grapheme (about twice the terms).
    All,
}

/// How text is analysed; [`Default`] is the measured choice.
#[derive(Debug, Clone, PartialEq)]
pub struct AnalyzerConfig {
    pub normalization: Normalization,
    /// Fold diacritics of Latin, Greek and Cyrillic letters.
    pub fold_diacritics: bool,
    /// Stem words in the language of their text.
    pub stemming: bool,
    pub unigrams: Unigrams,
    /// Join unspaced runs across white space (rendered CJK text has spaces
    /// and line breaks between characters of one word).
    pub join_unspaced_across_space: bool,
}

impl Default for AnalyzerConfig {
    fn default() -> Self {
        AnalyzerConfig {
            normalization: Normalization::Nfkc,
            fold_diacritics: true,
            stemming: true,
            unigrams: Unigrams::RunEnd,
            join_unspaced_across_space: true,
        }
    }
}

/// Turns text into keyword-index terms and queries into FTS5 match expressions.
#[derive(Debug, Clone, Default)]
pub struct Analyzer {
    config: AnalyzerConfig,
}

impl Analyzer {
    pub fn new(config: AnalyzerConfig) -> Self {
        Analyzer { config }
    }

    /// The language to stem `text` in: detected, when the detector is sure.
    pub fn detect_language(&self, text: &str) -> Option<Language> {
        Language::detect(text)
    }

    /// The terms of `text`, joined by single spaces, words stemmed in
    /// `language` (none: not stemmed).
    pub fn terms(&self, text: &str, language: Option<Language>) -> String {
        let mut out = String::with_capacity(text.len() + text.len() / 2);
        let mut push = |term: &str| {
            if term.is_empty() {
                return;
            }
            if !out.is_empty() {
                out.push(' ');
            }
            out.push_str(term);
        };
        let normalized = normalize(text, self.config.normalization);
        for segment in segments(&normalized, self.config.join_unspaced_across_space) {
            match segment {
                Segment::Word(word) => push(&self.word(&word, language)),
                Segment::Emoji(emoji) => push(&emoji),
                Segment::Unspaced(run) => {
                    for pair in run.windows(2) {
                        push(&pair.concat());
                    }
                    let single = match self.config.unigrams {
                        Unigrams::Isolated if run.len() == 1 => &run[..],
                        Unigrams::Isolated => &[],
                        Unigrams::RunEnd => &run[run.len() - 1..],
                        Unigrams::All => &run[..],
                    };
                    single.iter().for_each(|g| push(g));
                }
            }
        }
        out
    }

    /// The query for `text`: each word in its plain form and stemmed in each
    /// of `languages` (those of the stored text), pairs of unspaced runs, a
    /// lone unspaced grapheme as a prefix. Unspaced runs are taken both
    /// joined across spaces (as stored) and split at them (a space the user
    /// typed between two words). An error when nothing searchable is left
    /// (only punctuation, symbols or spaces).
    pub fn query(&self, text: &str, languages: &[Language]) -> crate::Result<Query> {
        let normalized = normalize(text, self.config.normalization);
        let mut all = segments(&normalized, self.config.join_unspaced_across_space);
        if self.config.join_unspaced_across_space {
            all.extend(
                segments(&normalized, false)
                    .into_iter()
                    .filter(|s| matches!(s, Segment::Unspaced(_))),
            );
        }
        let mut terms = Vec::new();
        for segment in all {
            match segment {
                Segment::Word(word) => {
                    terms.push(Term::exact(self.word(&word, None)));
                    if self.config.stemming {
                        for &language in languages {
                            terms.push(Term::exact(self.word(&word, Some(language))));
                        }
                    }
                }
                Segment::Emoji(emoji) => terms.push(Term::exact(emoji)),
                Segment::Unspaced(run) if run.len() == 1 => {
                    let single = run.concat();
                    terms.push(match self.config.unigrams {
                        Unigrams::RunEnd => Term::prefix(single),
                        Unigrams::Isolated | Unigrams::All => Term::exact(single),
                    });
                }
                Segment::Unspaced(run) => {
                    terms.extend(run.windows(2).map(|pair| Term::exact(pair.concat())));
                }
            }
        }
        Query::new(terms).ok_or_else(|| {
            crate::Error::invalid(format!(
                "the query {text:?} has no words to search for (only punctuation, symbols or spaces); type at least one letter, digit or character"
            ))
        })
    }


    /// One word as a term: case-folded, stemmed, diacritics folded.
    fn word(&self, word: &str, language: Option<Language>) -> String {
        let mut term = fold_case(word);
        if let Some(language) = language.filter(|_| self.config.stemming) {
            term = language.stem(&term);
        }
        if self.config.fold_diacritics {
            term = fold_diacritics(&term);
        }
        term
    }
}

#[cfg(test)]
mod tests;
