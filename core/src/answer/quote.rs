//! The quote strategy: the language model chooses, under a grammar that
//! admits nothing else, which of the best-matching sentences to quote. The
//! quote is verbatim by construction; the model only adds its judgement of
//! which sentence answers the question.

use super::extractive::{self, Pick};
use super::{Analysis, context, generated_timings};
use crate::engine::{Answer, AskOptions};
use crate::error::Result;
use crate::llm::{Llm, Passage};
use crate::search::Hit;

/// Sentences offered to the model, best-ranked first.
const CANDIDATES: usize = 6;

/// Instructions when the caller gives none.
const QUOTE_PROMPT: &str = "Copy, word for word, the one sentence from the sources that best \
answers the question.";

/// Answers by letting `llm` pick one of the top sentences of `hits`.
pub(crate) fn answer(
    llm: &Llm,
    question: &str,
    analysis: &Analysis,
    hits: &[Hit],
    options: &AskOptions,
    base: Answer,
    on_token: &mut dyn FnMut(&str) -> bool,
) -> Result<Answer> {
    let mut candidates: Vec<(Pick, String)> = Vec::new();
    for (pick, _) in extractive::ranked(analysis, hits) {
        let quote = flatten(&hits[pick.passage].text[pick.range.clone()]);
        if !candidates.iter().any(|(_, q)| *q == quote) {
            candidates.push((pick, quote));
        }
        if candidates.len() == CANDIDATES {
            break;
        }
    }
    if candidates.len() < 2 {
        // Nothing to choose between.
        let answer = extractive::answer(analysis, hits, base).into_answer();
        on_token(&answer.text);
        return Ok(answer);
    }
    let sources: Vec<Passage> = candidates
        .iter()
        .map(|(pick, quote)| Passage {
            header: context(&hits[pick.passage]),
            text: quote.clone(),
        })
        .collect();
    let alternatives: Vec<String> = candidates.iter().map(|(_, q)| literal(q)).collect();
    let mut generation = options.generation.clone();
    generation.grammar = Some(format!("root ::= {}\n", alternatives.join(" | ")));
    generation
        .system_prompt
        .get_or_insert_with(|| QUOTE_PROMPT.to_string());
    // Quoting repeats the sources by design.
    generation.repeat_penalty = 1.0;
    let cancel = options.cancel.clone().unwrap_or_default();
    let output = llm.generate(question, &sources, &generation, &cancel, on_token)?;
    let base = Answer {
        timings: generated_timings(base.timings.retrieval_ms, &output.timings),
        stop_reason: output.stop_reason,
        draft: Some(output.text.clone()),
        ..base
    };
    let chosen = candidates
        .iter()
        .find(|(_, q)| q.as_str() == output.text.trim())
        .map(|(pick, _)| pick.clone());
    Ok(match chosen {
        Some(pick) => extractive::compose(&[pick], hits, base).into_answer(),
        // Stopped before the quote was complete: quote without the model.
        None => {
            let mut answer = extractive::answer(analysis, hits, base).into_answer();
            answer.fallback = true;
            answer
        }
    })
}

/// The sentence as one line of printable text, as it is offered and quoted.
fn flatten(sentence: &str) -> String {
    sentence
        .split_whitespace()
        .map(|w| w.chars().filter(|c| !c.is_control()).collect::<String>())
        .filter(|w| !w.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

/// A GBNF string literal of `text`.
fn literal(text: &str) -> String {
    let mut out = String::from("\"");
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn literals_escape_quotes_and_backslashes() {
        assert_eq!(literal(r#"say "hi" \ bye"#), r#""say \"hi\" \\ bye""#);
        assert_eq!(flatten("a\n  b\u{7}c\t d"), "a bc d");
    }
}
