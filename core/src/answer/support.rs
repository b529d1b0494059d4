//! Whether a passage backs a claim: the share of the claim's content terms
//! that one sentence of the passage (or two neighbouring ones) holds, with
//! numbers and identifiers required verbatim.

use std::collections::HashSet;
use std::ops::Range;

use super::text::{self, Term};

/// The least share of a claim's terms a span must hold to support it.
/// Chosen on the audit of generated answers (README, "Answers"): lower lets
/// claims through whose key word the passage lacks.
pub(crate) const MIN_SUPPORT: f32 = 0.6;

/// The best span of one passage for one claim.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct SpanSupport {
    /// Byte range in the passage text.
    pub range: Range<usize>,
    /// Weighted share of the claim's terms the span holds (0..=1).
    pub score: f32,
    /// Whether every number and identifier of the claim occurs in the passage.
    pub exact_ok: bool,
}

impl SpanSupport {
    /// Whether the span is enough to let the claim stand.
    pub(crate) fn supports(&self) -> bool {
        self.exact_ok && self.score >= MIN_SUPPORT
    }
}

/// A passage prepared for support checks: its sentences and their stems.
pub(crate) struct PassageTerms {
    pub sentences: Vec<Range<usize>>,
    sentence_stems: Vec<HashSet<String>>,
    /// Stems of the passage's title and headings: what every sentence is about.
    context: HashSet<String>,
    all: HashSet<String>,
    /// The passage and its context, [`text::flattened`].
    flat: String,
}

impl PassageTerms {
    pub(crate) fn new(passage: &str, context_text: &str) -> Self {
        let sentences = text::sentences(passage);
        let sentence_stems: Vec<HashSet<String>> = sentences
            .iter()
            .map(|r| text::stems(&passage[r.clone()]))
            .collect();
        let context = text::stems(context_text);
        let mut all: HashSet<String> = sentence_stems.iter().flatten().cloned().collect();
        all.extend(context.iter().cloned());
        PassageTerms {
            sentences,
            sentence_stems,
            flat: text::flattened(&format!("{context_text}\n{passage}")),
            context,
            all,
        }
    }

    /// Whether the passage (or its title and headings) holds `stem`.
    pub(crate) fn contains(&self, stem: &str) -> bool {
        self.all.contains(stem)
    }

    /// Weighted share of `terms` that sentence `i` holds (its context not counted).
    pub(crate) fn sentence_share(&self, i: usize, terms: &[Term]) -> f32 {
        let total: f32 = terms.iter().map(Term::weight).sum();
        if total == 0.0 {
            return 0.0;
        }
        terms
            .iter()
            .filter(|t| self.sentence_stems[i].contains(&t.stem))
            .map(Term::weight)
            .sum::<f32>()
            / total
    }

    /// The span that best supports a claim with these terms and these
    /// [`text::compounds`]; `None` when the claim has no content terms or
    /// the passage has no sentence.
    pub(crate) fn best_support(&self, claim: &[Term], compounds: &[String]) -> Option<SpanSupport> {
        let total: f32 = claim.iter().map(Term::weight).sum();
        if total == 0.0 || self.sentences.is_empty() {
            return None;
        }
        let exact_ok = claim
            .iter()
            .filter(|t| t.exact)
            .all(|t| self.all.contains(&t.stem))
            && compounds.iter().all(|c| self.flat.contains(c.as_str()));
        let held = |stems: &[&HashSet<String>]| -> f32 {
            claim
                .iter()
                .filter(|t| {
                    self.context.contains(&t.stem) || stems.iter().any(|s| s.contains(&t.stem))
                })
                .map(Term::weight)
                .sum::<f32>()
                / total
        };
        // The best single sentence, then a neighbouring pair only when it
        // holds more than that sentence alone.
        let mut best = (f32::MIN, 0..0);
        for (i, stems) in self.sentence_stems.iter().enumerate() {
            let one = held(&[stems]);
            if one > best.0 + 1e-6 {
                best = (one, self.sentences[i].clone());
            }
        }
        for i in 1..self.sentences.len() {
            let two = held(&[&self.sentence_stems[i - 1], &self.sentence_stems[i]]);
            if two > best.0 + 1e-6 {
                best = (two, self.sentences[i - 1].start..self.sentences[i].end);
            }
        }
        Some(SpanSupport {
            range: best.1,
            score: best.0,
            exact_ok,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PASSAGE: &str = "The house blend costs 14.50 per bag. Beans taste best between day 7 \
        and day 21 after roasting. I freeze half of every bag.";

    fn support(claim: &str) -> SpanSupport {
        PassageTerms::new(PASSAGE, "Espresso › Beans")
            .best_support(&text::terms(claim), &text::compounds(claim))
            .unwrap()
    }

    #[test]
    fn a_paraphrase_of_one_sentence_is_supported_there() {
        let s = support("Beans are best from day 7 to day 21 after roasting.");
        assert!(s.supports(), "{s:?}");
        assert_eq!(
            &PASSAGE[s.range.clone()],
            "Beans taste best between day 7 \
        and day 21 after roasting."
        );
    }

    #[test]
    fn a_wrong_number_is_not_supported() {
        let s = support("Beans are best from day 7 to day 30 after roasting.");
        assert!(!s.exact_ok && !s.supports(), "{s:?}");
    }

    #[test]
    fn an_unrelated_claim_is_not_supported() {
        assert!(!support("The World Cup 2014 was won by Germany.").supports());
        assert!(
            PassageTerms::new(PASSAGE, "")
                .best_support(&text::terms("I don't know."), &[])
                .is_none()
        );
    }

    #[test]
    fn two_neighbouring_sentences_can_support_together() {
        let s = support("Beans taste best until day 21, and I freeze half of every bag.");
        assert!(s.supports(), "{s:?}");
        assert!(PASSAGE[s.range.clone()].starts_with("Beans taste"));
        assert!(PASSAGE[s.range.clone()].ends_with("every bag."));
    }
}
