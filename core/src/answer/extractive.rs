//! The extractive answer: the sentences of the top passages that best match
//! the question, quoted verbatim under the name of their source. No model
//! writes anything, so it is instant, and every word is in the documents.

use std::ops::Range;

use super::{Analysis, AnswerSentence, Composed, context, support_of};
use crate::engine::Answer;
use crate::search::Hit;

/// Weight of the question terms a sentence holds, next to its embedding
/// similarity (both 0..=1).
const LEXICAL_WEIGHT: f32 = 0.5;
/// A second sentence of the top passage is quoted when it scores at least
/// this share of the first.
const SECOND_SENTENCE: f32 = 0.9;

/// One quoted sentence: passage index and byte range in its text.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Pick {
    pub passage: usize,
    pub range: Range<usize>,
}

/// How well each sentence of an analysed passage answers the question, best first.
pub(crate) fn ranked(analysis: &Analysis, hits: &[Hit]) -> Vec<(Pick, f32)> {
    let mut out = Vec::new();
    for (i, (p, hit)) in analysis.passages.iter().zip(hits).enumerate() {
        for (j, range) in p.terms.sentences.iter().enumerate() {
            // Only quotable sentences were embedded.
            let Some(Some(similarity)) = p.sentence_similarity.get(j).copied() else {
                continue;
            };
            let range = super::text::quotable(&hit.text, range.clone());
            let score = similarity + LEXICAL_WEIGHT * p.terms.sentence_share(j, &analysis.terms);
            out.push((Pick { passage: i, range }, score));
        }
    }
    out.sort_by(|a, b| b.1.total_cmp(&a.1));
    out
}

/// The sentences to quote: the best of the top passage (the search's own
/// first choice, which document-level evidence makes the most reliable),
/// a second one of it when nearly as good, and the best of another
/// document only when it beats them.
pub(crate) fn choose(analysis: &Analysis, hits: &[Hit]) -> Vec<Pick> {
    let ranked = ranked(analysis, hits);
    let Some(first) = ranked
        .iter()
        .find(|(p, _)| p.passage == 0)
        .or_else(|| ranked.first())
        .cloned()
    else {
        return Vec::new();
    };
    let mut picks = vec![first.0.clone()];
    if let Some((second, _)) = ranked.iter().find(|(p, s)| {
        p.passage == first.0.passage && p.range != first.0.range && *s >= SECOND_SENTENCE * first.1
    }) {
        picks.push(second.clone());
        picks.sort_by_key(|p| p.range.start);
    }
    let top_document = &hits[first.0.passage].document_id;
    if let Some((other, _)) = ranked
        .iter()
        .find(|(p, s)| hits[p.passage].document_id != *top_document && *s > first.1)
    {
        picks.push(other.clone());
    }
    picks
}

/// The extractive answer from `hits` (those `analysis` measured).
pub(crate) fn answer(analysis: &Analysis, hits: &[Hit], base: Answer) -> Composed {
    let picks = choose(analysis, hits);
    compose(&picks, hits, base)
}

/// Writes the picks as `Source › Heading: “quote” [n]`, one source a line.
pub(crate) fn compose(picks: &[Pick], hits: &[Hit], base: Answer) -> Composed {
    let mut text = String::new();
    let mut sentences = Vec::new();
    let mut citations: Vec<(usize, bool)> = Vec::new();
    let mut last_passage = None;
    for pick in picks {
        let n = pick.passage + 1;
        let hit = &hits[pick.passage];
        let start = text.chars().count();
        if last_passage == Some(pick.passage) {
            text.push(' ');
        } else {
            if !text.is_empty() {
                text.push_str("\nAlso ");
            }
            text.push_str(&context(hit));
            text.push_str(": ");
        }
        let quote: Vec<&str> = hit.text[pick.range.clone()].split_whitespace().collect();
        text.push_str(&format!("“{}” [{n}]", quote.join(" ")));
        sentences.push(AnswerSentence {
            start: start as u32,
            end: text.chars().count() as u32,
            citations: vec![n as u32],
            dropped: Vec::new(),
            support: Some(support_of(hits, n, &pick.range, 1.0)),
        });
        if !citations.iter().any(|(m, _)| *m == n) {
            citations.push((n, false));
        }
        last_passage = Some(pick.passage);
    }
    // Each sentence's range starts after a separator it does not include.
    for s in &mut sentences {
        let lead = text
            .chars()
            .skip(s.start as usize)
            .take_while(|c| c.is_whitespace())
            .count();
        s.start += lead as u32;
    }
    Composed {
        base,
        text,
        sentences,
        citations,
    }
}
