//! Checks a generated draft sentence by sentence: each `[n]` must name a
//! passage that supports its sentence (else it is dropped from the text),
//! each sentence gets the span that supports it best, and a sentence no
//! passage supports is left marked as unsupported.

use std::ops::Range;

use super::{AnswerSentence, Composed, PassageAnalysis, Support, support_of, text};
use crate::engine::Answer;
use crate::llm::citation_brackets;
use crate::search::Hit;

/// A checked draft.
pub(crate) struct Checked {
    text: String,
    sentences: Vec<AnswerSentence>,
    citations: Vec<(usize, bool)>,
    /// Share of the draft (by characters of its sentences) that some
    /// passage supports.
    pub supported_share: f32,
}

impl Checked {
    pub(crate) fn into_answer(self, base: Answer) -> Answer {
        Composed {
            base,
            text: self.text,
            sentences: self.sentences,
            citations: self.citations,
        }
        .into_answer()
    }
}

/// Checks `draft` against `passages` (those the model was given, in
/// order; `hits` holds them at the same indices).
pub(crate) fn check(draft: &str, passages: &[PassageAnalysis], hits: &[Hit]) -> Checked {
    let brackets = citation_brackets(draft, passages.len());
    let mut text = String::new();
    let mut sentences = Vec::new();
    let mut citations: Vec<(usize, bool)> = Vec::new();
    let (mut supported_chars, mut total_chars) = (0usize, 0usize);
    let mut copied = 0;
    for range in claim_sentences(draft, &brackets) {
        let inside: Vec<&(Range<usize>, Vec<usize>)> = brackets
            .iter()
            .filter(|(r, _)| r.start >= range.start && r.end <= range.end)
            .collect();
        let mut claim = String::new();
        let mut at = range.start;
        for (r, _) in &inside {
            claim.push_str(&draft[at..r.start]);
            at = r.end;
        }
        claim.push_str(&draft[at..range.end]);
        let terms = text::terms(&claim);

        let mut cited: Vec<usize> = Vec::new();
        for (_, numbers) in &inside {
            for &n in numbers {
                if !cited.contains(&n) {
                    cited.push(n);
                }
            }
        }
        let compounds = text::compounds(&claim);
        // A list marker ("2.") or a bare number says nothing a passage could
        // back: it is cited nowhere and counts for nothing.
        let says_something = terms
            .iter()
            .any(|t| !t.word.bytes().all(|b| b.is_ascii_digit()));
        let check = |n: usize| {
            passages[n - 1]
                .terms
                .best_support(&terms, &compounds)
                .filter(|_| says_something)
        };
        let kept: Vec<usize> = cited
            .iter()
            .copied()
            .filter(|&n| check(n).is_some_and(|s| s.supports()))
            .collect();
        let dropped: Vec<usize> = cited
            .iter()
            .copied()
            .filter(|n| !kept.contains(n))
            .collect();
        // The best supporting span: among the kept citations, else anywhere.
        let candidates: Vec<usize> = if kept.is_empty() {
            (1..=passages.len()).collect()
        } else {
            kept.clone()
        };
        let best = candidates
            .into_iter()
            .filter_map(|n| Some((n, check(n)?)))
            .filter(|(_, s)| s.supports())
            .max_by(|a, b| a.1.score.total_cmp(&b.1.score));
        let support: Option<Support> = best.map(|(n, s)| support_of(hits, n, &s.range, s.score));

        // Copy the sentence, rewriting its brackets to the kept numbers.
        text.push_str(&draft[copied..range.start]);
        let start = text.chars().count();
        let mut at = range.start;
        for (r, numbers) in &inside {
            let mut before = &draft[at..r.start];
            let keep: Vec<String> = numbers
                .iter()
                .filter(|n| kept.contains(n))
                .map(usize::to_string)
                .collect();
            if keep.is_empty() {
                // "text [9]." loses the space too, "text [9][1]" keeps it.
                if !draft[r.end..].starts_with('[') {
                    before = before.strip_suffix(' ').unwrap_or(before);
                }
                text.push_str(before);
            } else {
                text.push_str(before);
                text.push_str(&format!("[{}]", keep.join(", ")));
            }
            at = r.end;
        }
        text.push_str(&draft[at..range.end]);
        copied = range.end;
        let end = text.chars().count();

        let length = match says_something {
            true => claim.trim().chars().count(),
            false => 0,
        };
        total_chars += length;
        if support.is_some() {
            supported_chars += length;
        }
        for &n in &kept {
            upsert(&mut citations, n, false);
        }
        if kept.is_empty()
            && let Some(s) = &support
        {
            upsert(&mut citations, s.n as usize, true);
        }
        sentences.push(AnswerSentence {
            start: start as u32,
            end: end as u32,
            citations: kept.iter().map(|&n| n as u32).collect(),
            dropped: dropped.iter().map(|&n| n as u32).collect(),
            support,
        });
    }
    text.push_str(&draft[copied..]);
    Checked {
        text,
        sentences,
        citations,
        supported_share: if total_chars == 0 {
            0.0
        } else {
            supported_chars as f32 / total_chars as f32
        },
    }
}

/// Adds `n` once; a citation the model wrote wins over an inferred one.
fn upsert(citations: &mut Vec<(usize, bool)>, n: usize, inferred: bool) {
    match citations.iter_mut().find(|(m, _)| *m == n) {
        Some(entry) => entry.1 &= inferred,
        None => citations.push((n, inferred)),
    }
}

/// The draft's sentences. Citations opening a sentence close the one
/// before it ("… 90 °C. [2] The …"), and a sentence of citations only is
/// joined to the one before it.
fn claim_sentences(draft: &str, brackets: &[(Range<usize>, Vec<usize>)]) -> Vec<Range<usize>> {
    let mut out: Vec<Range<usize>> = Vec::new();
    for range in text::sentences(draft) {
        let mut start = range.start;
        if let Some(last) = out.last_mut() {
            loop {
                let rest = &draft[start..range.end];
                let at = start + rest.len() - rest.trim_start().len();
                match brackets.iter().find(|(r, _)| r.start == at) {
                    Some((r, _)) if r.end <= range.end => {
                        last.end = r.end;
                        start = r.end;
                    }
                    _ => break,
                }
            }
        }
        let rest = &draft[start..range.end];
        let start = start + rest.len() - rest.trim_start().len();
        if start >= range.end {
            continue;
        }
        let mut words = draft[start..range.end].to_string();
        for (r, _) in brackets.iter().rev() {
            if r.start >= start && r.end <= range.end {
                words.replace_range(r.start - start..r.end - start, "");
            }
        }
        match out.last_mut() {
            Some(last) if !words.chars().any(char::is_alphanumeric) => last.end = range.end,
            _ => out.push(start..range.end),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::answer::support::PassageTerms;

    fn hit(text: &str) -> Hit {
        Hit {
            chunk_id: 1,
            document_id: "d".into(),
            path: None,
            title: "Espresso".into(),
            text: text.into(),
            score: 1.0,
            page: None,
            lines: Some((10, 12).into()),
            locator: None,
            heading_path: Vec::new(),
            tags: Vec::new(),
            embedded: true,
        }
    }

    fn passages(hits: &[Hit]) -> Vec<PassageAnalysis> {
        hits.iter()
            .map(|h| PassageAnalysis {
                terms: PassageTerms::new(&h.text, &h.title),
                sentence_similarity: Vec::new(),
            })
            .collect()
    }

    #[test]
    fn a_list_marker_is_cited_nowhere() {
        let hits = [hit("1. Brew at 93 °C.\n2. Grind finer.")];
        let checked = check("1. Brew at 93 °C [1].\n2.", &passages(&hits), &hits);
        let s = &checked.sentences;
        assert_eq!(s.len(), 3, "{s:?}");
        assert!(s[1].support.is_some() && s[1].citations == [1]);
        for marker in [&s[0], &s[2]] {
            assert!(marker.support.is_none() && marker.citations.is_empty());
        }
        assert_eq!(checked.supported_share, 1.0);
    }

    #[test]
    fn unsupported_citations_are_dropped_and_supported_ones_kept() {
        let hits = [
            hit("Milk: stop steaming at about 60 °C."),
            hit("Brew temperature: 93 °C on the PID.\n90 °C for dark roasts."),
        ];
        let draft = "Brew at 93 °C [1][2]. Dark roasts get 90 °C. [2] The moon is cheese [1].";
        let checked = check(draft, &passages(&hits), &hits);
        assert_eq!(
            checked.text,
            "Brew at 93 °C [2]. Dark roasts get 90 °C. [2] The moon is cheese."
        );
        let s = &checked.sentences;
        assert_eq!(s.len(), 3);
        assert_eq!(
            (s[0].citations.clone(), s[0].dropped.clone()),
            (vec![2], vec![1])
        );
        let support = s[0].support.as_ref().unwrap();
        assert_eq!(support.n, 2);
        let quoted: String = hits[1].text.chars().take(support.end as usize).collect();
        assert_eq!(
            (support.start, quoted.as_str()),
            (0, "Brew temperature: 93 °C on the PID.")
        );
        assert_eq!(support.lines, Some((10, 10).into()));
        assert_eq!(s[1].support.as_ref().unwrap().lines, Some((11, 11).into()));
        assert!(s[2].support.is_none() && s[2].dropped == [1]);
        let sentence: String = checked
            .text
            .chars()
            .skip(s[2].start as usize)
            .take((s[2].end - s[2].start) as usize)
            .collect();
        assert_eq!(sentence, "The moon is cheese.");
        assert!(checked.supported_share > 0.5 && checked.supported_share < 0.9);
        assert_eq!(checked.citations, [(2, false)]);
    }

    #[test]
    fn an_uncited_but_supported_sentence_gets_an_inferred_citation() {
        let hits = [hit("The grinder setting is 2.5 for the house blend.")];
        let checked = check(
            "Set the grinder to 2.5 for the house blend.",
            &passages(&hits),
            &hits,
        );
        assert_eq!(checked.citations, [(1, true)]);
        assert_eq!(checked.supported_share, 1.0);
        let refusal = check("I don't know.", &passages(&hits), &hits);
        assert_eq!(refusal.supported_share, 0.0);
        assert!(refusal.sentences[0].support.is_none());
    }
}
