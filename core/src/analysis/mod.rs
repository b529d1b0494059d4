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

pub use language::{Language, MIN_SHARE_PERCENT, StoreLanguages};
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

    /// The query for `text` against a store holding `store`'s languages
    /// (see [`StoreLanguages`]); errors as [`query`](Self::query).
    pub fn query_for_store(&self, text: &str, store: &StoreLanguages) -> crate::Result<Query> {
        self.query(text, &store.stemmings_for(text))
    }

    /// The terms of `text`, words stemmed in `language` (none: not stemmed).
    pub fn terms(&self, text: &str, language: Option<Language>) -> Terms {
        let mut terms = Terms::default();
        let normalized = normalize(text, self.config.normalization);
        for segment in segments(&normalized, self.config.join_unspaced_across_space) {
            match segment {
                Segment::Word(word) => push(&mut terms.words, &self.word(&word, language)),
                Segment::Emoji(emoji) => push(&mut terms.words, &emoji),
                Segment::Unspaced(run) => {
                    for pair in run.windows(2) {
                        push(&mut terms.grams, &pair.concat());
                    }
                    let single = match self.config.unigrams {
                        Unigrams::Isolated if run.len() == 1 => &run[..],
                        Unigrams::Isolated => &[],
                        Unigrams::RunEnd => &run[run.len() - 1..],
                        Unigrams::All => &run[..],
                    };
                    single.iter().for_each(|g| push(&mut terms.grams, g));
                }
            }
        }
        terms
    }

    /// The query for `text`: each word as stored text would hold it under
    /// each of `stemmed_as` (the stemming languages present in the store;
    /// `None`: text stored unstemmed), pairs of unspaced runs, a
    /// lone unspaced grapheme as a prefix. Unspaced runs are taken both
    /// joined across spaces (as stored) and split at them (a space the user
    /// typed between two words). An error when nothing searchable is left
    /// (only punctuation, symbols or spaces).
    pub fn query(&self, text: &str, stemmed_as: &[Option<Language>]) -> crate::Result<Query> {
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
                Segment::Word(word) if stemmed_as.is_empty() => {
                    terms.push(Term::word(self.word(&word, None)));
                }
                Segment::Word(word) => {
                    for &language in stemmed_as {
                        terms.push(Term::word(self.word(&word, language)));
                    }
                }
                Segment::Emoji(emoji) => terms.push(Term::word(emoji)),
                Segment::Unspaced(run) if run.len() == 1 => {
                    let prefix = self.config.unigrams == Unigrams::RunEnd;
                    terms.push(Term::gram(run.concat(), prefix));
                }
                Segment::Unspaced(run) => {
                    terms.extend(run.windows(2).map(|pair| Term::gram(pair.concat(), false)));
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

/// Appends `term` to space-separated `terms`.
fn push(terms: &mut String, term: &str) {
    if term.is_empty() {
        return;
    }
    if !terms.is_empty() {
        terms.push(' ');
    }
    terms.push_str(term);
}

/// The terms of a text by kind, each joined by single spaces: they go to
/// separate FTS5 tables, because BM25's length normalisation would
/// otherwise let the many pairs of CJK text drown its Latin words (README).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Terms {
    /// Words of spaced scripts, and emoji.
    pub words: String,
    /// Grapheme pairs (and single graphemes) of unspaced runs.
    pub grams: String,
}

impl Terms {
    /// All terms in one string (words first).
    pub fn joined(&self) -> String {
        let mut all = self.words.clone();
        push(&mut all, &self.grams);
        all
    }
}

#[cfg(test)]
mod tests;
