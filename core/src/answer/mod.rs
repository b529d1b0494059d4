//! Answers you can trust: grounded in the retrieved passages or declined,
//! with every citation checked against the passage it names.
//!
//! The order of work is the point: retrieve, measure how well the passages
//! bear on the question (the engine's decision, see [`grounding`]), decline
//! with a fixed text when they do not, and only then answer — by quoting
//! the best supporting sentences ([`extractive`]), or with the language
//! model, whose draft is checked sentence by sentence ([`verify`]) and
//! replaced by the quotes when the passages do not support it.

mod extractive;
mod grounding;
mod locate;
mod quote;
mod support;
mod text;
mod verify;

use std::time::Instant;

use serde::{Deserialize, Serialize};

pub use grounding::{DEFAULT_MIN_GROUNDING, Grounding, GroundingSignals};

use crate::analysis::Language;
use crate::cancel::CancelToken;
use crate::conversation::{Conversation, HistoryUse, Turn};
use crate::engine::{Answer, AskOptions, AskTimings, Citation, Engine};
use crate::error::{Error, Result};
use crate::ingest::Locator;
use crate::llm::instructions;
use crate::llm::{GenerationTimings, Passage, StopReason};
use crate::search::{Hit, LineRange, SearchMode, SearchOptions};
use support::PassageTerms;
use text::Term;

/// How the answer is written once the passages are found to bear on the
/// question. In JSON: `"extractive"`, `"generative"` or `"quote"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AnswerStrategy {
    /// The best supporting sentences of the top passages, quoted with their
    /// source; no language model, so instant and exact.
    #[default]
    Extractive,
    /// The language model writes the answer from the passages; its
    /// citations are checked and, when too little of it is supported, the
    /// extractive answer replaces it.
    Generative,
    /// The language model picks, under a grammar, which of the best
    /// sentences to quote; the quote is verbatim by construction.
    Quote,
}

impl AnswerStrategy {
    /// Parses `extractive`, `generative` or `quote`.
    pub fn parse(s: &str) -> Option<Self> {
        match s.to_ascii_lowercase().as_str() {
            "extractive" => Some(AnswerStrategy::Extractive),
            "generative" => Some(AnswerStrategy::Generative),
            "quote" => Some(AnswerStrategy::Quote),
            _ => None,
        }
    }

    /// The name [`parse`](Self::parse) accepts.
    pub fn as_str(self) -> &'static str {
        match self {
            AnswerStrategy::Extractive => "extractive",
            AnswerStrategy::Generative => "generative",
            AnswerStrategy::Quote => "quote",
        }
    }
}

/// The default [`AskOptions::min_draft_support`].
pub const DEFAULT_MIN_DRAFT_SUPPORT: f32 = 0.5;

/// One sentence of an answer and what backs it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AnswerSentence {
    /// Char range of the sentence in [`Answer::text`](crate::Answer::text),
    /// counted in Unicode scalar values (Rust `char`s, not bytes; UTF-16
    /// hosts convert).
    pub start: u32,
    /// One past the last char.
    pub end: u32,
    /// The `[n]` of this sentence that passage n supports (kept in the text).
    pub citations: Vec<u32>,
    /// The `[n]` the model wrote here that passage n does not support
    /// (removed from the text).
    pub dropped: Vec<u32>,
    /// The span that supports the sentence best; `None`: no passage does,
    /// and the sentence should be shown as unsupported.
    pub support: Option<Support>,
}

/// Where in a passage a sentence's support lies, for highlighting.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Support {
    /// The passage: `[n]`, i.e. [`Answer::passages`](crate::Answer::passages)`[n - 1]`.
    pub n: u32,
    /// Char range in that passage's text (Unicode scalar values, as
    /// [`AnswerSentence::start`]).
    pub start: u32,
    /// One past the last char.
    pub end: u32,
    /// Lines of the span in the document (text, Markdown, notes).
    pub lines: Option<LineRange>,
    /// 1-based page (PDF).
    pub page: Option<u32>,
    /// The passage's chapter and paragraphs (HTML, DOCX, ODT, EPUB, canvas).
    pub locator: Option<Locator>,
    /// Share of the sentence's content terms the span holds; 1 for a quote.
    pub score: f32,
}

/// Passages analysed in depth (embedded sentence by sentence): the best
/// ranked few, where answers come from.
const ANALYSED: usize = 3;

/// The question and the retrieved passages, measured once for the
/// grounding decision, the extractive answer and the draft checks.
pub(crate) struct Analysis {
    pub terms: Vec<Term>,
    /// One per hit; only the first [`ANALYSED`] have similarities.
    pub passages: Vec<PassageAnalysis>,
}

pub(crate) struct PassageAnalysis {
    /// Sentences and stems (title and headings included).
    pub terms: PassageTerms,
    /// Cosine similarity of the question to each of `terms.sentences`, for
    /// the sentences worth quoting that were embedded.
    pub sentence_similarity: Vec<Option<f32>>,
}

/// Sentences per passage embedded: those holding the most question terms.
/// Embedding is most of an extractive answer's time.
const EMBEDDED_SENTENCES: usize = 8;

/// Sentences with fewer words are headings or fragments, not answers.
const MIN_WORDS: usize = 3;

/// Answers `question`, as the next turn of `conversation` if there is one:
/// see [`Engine::ask`] and [`Engine::ask_in`].
pub(crate) fn respond(
    engine: &Engine,
    question: &str,
    options: &AskOptions,
    mut conversation: Option<&mut Conversation>,
    on_token: &mut dyn FnMut(&str) -> bool,
) -> Result<Answer> {
    let started = Instant::now();
    let question = checked_question(engine, question)?;
    let query = conversation
        .as_deref()
        .map_or_else(|| question.to_string(), |c| c.query_for(question));
    // The model loads first, so a broken model file fails every question
    // alike, not only those the documents can answer.
    let llm = match options.strategy {
        AnswerStrategy::Extractive => None,
        _ => Some(engine.llm()?),
    };
    // Embedded once: the passages' search and the grounding's both use it.
    let vector = engine.embedder().embed_query(&query)?;
    let mut hits = engine.search_embedded(
        &query,
        &vector,
        &SearchOptions {
            k: options.k,
            mode: options.mode,
            filters: options.filters.clone(),
            one_per_document: false,
        },
    )?;
    if options.strategy == AnswerStrategy::Generative
        && let Some(previous) = conversation.as_deref().and_then(|c| c.turns().last())
    {
        keep_numbering(&mut hits, &previous.passages);
    }
    let cancelled = || options.cancel.as_ref().map_or(Ok(()), CancelToken::check);
    cancelled()?;
    let analysis = analyse(engine, &query, &hits)?;
    let grounding = assess(engine, &query, &vector, options, &analysis)?;
    cancelled()?;
    let mut options = options.clone();
    if options.generation.language.is_none() {
        options.generation.language = engine
            .store()
            .snapshot()?
            .languages()?
            .answer_language(question);
    }
    let options = &options;
    let retrieval_ms = started.elapsed().as_secs_f64() * 1000.0;
    let base = Answer {
        text: String::new(),
        citations: Vec::new(),
        passages: hits.clone(),
        dropped: Vec::new(),
        stop_reason: StopReason::EndOfText,
        timings: AskTimings {
            retrieval_ms,
            ..Default::default()
        },
        declined: false,
        strategy: options.strategy,
        fallback: false,
        draft: None,
        grounding: grounding.clone(),
        sentences: Vec::new(),
        history: conversation.as_ref().map(|_| HistoryUse {
            query: query.clone(),
            ..Default::default()
        }),
    };
    if !grounding.grounded() {
        let text = declined_text(&hits, options.generation.language);
        on_token(&text);
        let answer = finish(
            Answer {
                text,
                declined: true,
                ..base
            },
            started,
        );
        remember(conversation, question, &query, &answer);
        return Ok(answer);
    }
    let answer = match (options.strategy, llm) {
        (AnswerStrategy::Generative, Some(llm)) => {
            let passages: Vec<Passage> = hits.iter().map(passage).collect();
            let cancel = options.cancel.clone().unwrap_or_default();
            let history = conversation
                .as_deref()
                .map(|c| c.prior_turns(passage))
                .unwrap_or_default();
            let generation = llm.converse(
                &history,
                question,
                &passages,
                &options.generation,
                &cancel,
                conversation.as_deref_mut().map(Conversation::cache),
                on_token,
            )?;
            let given = generation.given.len();
            if given == 0 {
                return Err(Error::invalid(
                    "the question leaves no room for any source in the context window; \
                     shorten it or raise context_size",
                ));
            }
            let checked = verify::check(&generation.text, &analysis.passages[..given], &hits);
            let timings = generated_timings(retrieval_ms, &generation.timings);
            let fit = generation.history;
            let generated = Answer {
                passages: hits[..given].to_vec(),
                dropped: hits[given..].to_vec(),
                stop_reason: generation.stop_reason,
                timings,
                draft: Some(generation.text.clone()),
                history: base.history.clone().map(|h| HistoryUse {
                    turns: fit.kept as u32,
                    condensed: fit.condensed as u32,
                    dropped: fit.dropped as u32,
                    ..h
                }),
                ..base
            };
            // A draft the host stopped is what its user saw: checked, kept.
            let stopped = generation.stop_reason == StopReason::Callback;
            if stopped || checked.supported_share >= options.min_draft_support {
                checked.into_answer(generated)
            } else {
                let mut answer =
                    extractive::answer(&analysis, &hits[..given], generated).into_answer();
                answer.fallback = true;
                answer
            }
        }
        (AnswerStrategy::Quote, Some(llm)) => {
            quote::answer(&llm, question, &analysis, &hits, options, base, on_token)?
        }
        _ => {
            let answer = extractive::answer(&analysis, &hits, base).into_answer();
            on_token(&answer.text);
            answer
        }
    };
    let answer = finish(answer, started);
    remember(conversation, question, &query, &answer);
    Ok(answer)
}

/// Gives the hits the previous turn also gave the numbers they had there
/// (the other hits fill the remaining numbers in rank order), so a
/// follow-up's `[n]` means what it meant before and its prompt can refer
/// to those sources instead of repeating them.
fn keep_numbering(hits: &mut Vec<Hit>, previous: &[Hit]) {
    let n = hits.len();
    let mut slots: Vec<Option<Hit>> = vec![None; n];
    let mut rest = Vec::new();
    for hit in hits.drain(..) {
        match previous.iter().position(|p| p.chunk_id == hit.chunk_id) {
            Some(i) if i < n => slots[i] = Some(hit),
            _ => rest.push(hit),
        }
    }
    let mut rest = rest.into_iter();
    hits.extend(
        slots
            .into_iter()
            .filter_map(|slot| slot.or_else(|| rest.next())),
    );
}

/// Adds the answered turn to its conversation.
fn remember(conversation: Option<&mut Conversation>, question: &str, query: &str, answer: &Answer) {
    if let Some(conversation) = conversation {
        conversation.push(Turn {
            question: question.to_string(),
            query: query.to_string(),
            answer: answer.text.clone(),
            declined: answer.declined,
            // A declined turn showed no sources to anyone.
            passages: match answer.declined {
                true => Vec::new(),
                false => answer.passages.clone(),
            },
        });
    }
}

/// An answer's timings once the model has generated.
fn generated_timings(retrieval_ms: f64, t: &GenerationTimings) -> AskTimings {
    AskTimings {
        retrieval_ms,
        prompt_tokens: t.prompt_tokens,
        cached_tokens: t.cached_tokens,
        prefill_ms: t.prefill_ms,
        ttft_ms: t.ttft_ms,
        decode_tokens: t.decode_tokens,
        decode_tok_s: t.decode_tok_s,
        total_ms: 0.0,
    }
}

/// Stamps the total time and the time to the first text when nothing
/// earlier measured it (answers without a model are emitted at once).
fn finish(mut answer: Answer, started: Instant) -> Answer {
    let total = started.elapsed().as_secs_f64() * 1000.0;
    if answer.timings.ttft_ms == 0.0 {
        answer.timings.ttft_ms = total;
    } else {
        answer.timings.ttft_ms += answer.timings.retrieval_ms;
    }
    answer.timings.total_ms = total;
    if answer.draft.as_deref() == Some(answer.text.as_str()) {
        answer.draft = None;
    }
    answer
}

/// The question, trimmed, or why it cannot be answered.
fn checked_question<'q>(engine: &Engine, question: &'q str) -> Result<&'q str> {
    let question = question.trim();
    if question.is_empty() {
        return Err(Error::invalid("the question is empty"));
    }
    if !question.chars().any(char::is_alphanumeric) {
        return Err(Error::invalid(
            "the question has no words, only punctuation or symbols",
        ));
    }
    let tokens = engine.embedder().count_tokens(question);
    let window = engine.config().context_size as usize;
    if tokens > window {
        return Err(Error::invalid(format!(
            "the question is {tokens} tokens long, more than the answer model's context window \
             of {window} tokens; shorten it"
        )));
    }
    Ok(question)
}

/// Measures the question against the sentences of the top passages.
fn analyse(engine: &Engine, question: &str, hits: &[Hit]) -> Result<Analysis> {
    let terms = text::terms(question);
    let mut passages: Vec<PassageAnalysis> = hits
        .iter()
        .map(|hit| {
            let terms = PassageTerms::new(&hit.text, &context(hit));
            let n = terms.sentences.len();
            PassageAnalysis {
                terms,
                sentence_similarity: vec![None; n],
            }
        })
        .collect();
    // (passage, sentence) pairs to embed: per analysed passage, the
    // quotable sentences holding the most question terms.
    let mut chosen: Vec<(usize, usize)> = Vec::new();
    for (i, (p, hit)) in passages.iter().zip(hits).enumerate().take(ANALYSED) {
        let mut quotable: Vec<(usize, f32)> = p
            .terms
            .sentences
            .iter()
            .enumerate()
            .filter(|(_, r)| worth_quoting(&hit.text[text::quotable(&hit.text, (*r).clone())]))
            .map(|(j, _)| (j, p.terms.sentence_share(j, &terms)))
            .collect();
        // Stable: among equals, the earlier sentence.
        quotable.sort_by(|a, b| b.1.total_cmp(&a.1));
        chosen.extend(
            quotable
                .iter()
                .take(EMBEDDED_SENTENCES)
                .map(|(j, _)| (i, *j)),
        );
    }
    let mut texts = vec![question.to_string()];
    texts.extend(
        chosen
            .iter()
            .map(|&(i, j)| hits[i].text[passages[i].terms.sentences[j].clone()].to_string()),
    );
    let vectors = embed_by_length(engine, &texts)?;
    for (&(i, j), v) in chosen.iter().zip(&vectors[1..]) {
        passages[i].sentence_similarity[j] = Some(dot(&vectors[0], v));
    }
    Ok(Analysis { terms, passages })
}

/// Whether a sentence can answer anything: enough words, and not a page
/// header such as a man page's `GIT-ADD(1)  Git Manual  GIT-ADD(1)` (the
/// same token opening and closing a short line).
fn worth_quoting(sentence: &str) -> bool {
    let tokens: Vec<&str> = sentence.split_whitespace().collect();
    let words = tokens
        .iter()
        .filter(|w| w.chars().any(char::is_alphabetic))
        .count();
    let header = tokens.len() <= 8 && tokens.len() > 1 && tokens.first() == tokens.last();
    words >= MIN_WORDS && !header
}

/// Texts embedded per batch: a batch is padded to its longest text.
const EMBED_BATCH: usize = 16;

/// Embeds `texts` in batches of similar lengths, so short sentences are
/// not padded to the length of whole passages (that cost most of the time).
fn embed_by_length(engine: &Engine, texts: &[String]) -> Result<Vec<Vec<f32>>> {
    let mut order: Vec<usize> = (0..texts.len()).collect();
    order.sort_by_key(|&i| texts[i].len());
    let mut vectors = vec![Vec::new(); texts.len()];
    for batch in order.chunks(EMBED_BATCH) {
        let refs: Vec<&str> = batch.iter().map(|&i| texts[i].as_str()).collect();
        for (&i, v) in batch.iter().zip(engine.embedder().embed_queries(&refs)?) {
            vectors[i] = v;
        }
    }
    Ok(vectors)
}

/// The grounding decision's retrieval signals: the vector retriever's best
/// similarity, and which question terms the knowledge base uses at all.
fn assess(
    engine: &Engine,
    question: &str,
    vector: &[f32],
    options: &AskOptions,
    analysis: &Analysis,
) -> Result<Grounding> {
    let nearest = engine.search_embedded(
        question,
        vector,
        &SearchOptions {
            k: 1,
            mode: SearchMode::Vector,
            filters: options.filters.clone(),
            one_per_document: false,
        },
    )?;
    // The vector retriever scores by cosine similarity.
    let similarity = nearest.first().map_or(0.0, |h| h.score);
    let known = analysis
        .terms
        .iter()
        .map(|t| {
            let options = SearchOptions {
                k: 1,
                mode: SearchMode::Keyword,
                ..Default::default()
            };
            Ok(!engine.search(&t.word, &options)?.is_empty())
        })
        .collect::<Result<Vec<bool>>>()?;
    Ok(grounding::assess(
        analysis,
        similarity,
        &known,
        options.min_grounding,
    ))
}

/// The fixed answer when the documents do not hold one, in the answer's
/// language, naming the closest documents so the user can look for
/// themselves.
fn declined_text(hits: &[Hit], language: Option<Language>) -> String {
    let texts = instructions::for_language(language);
    let mut names: Vec<&str> = Vec::new();
    for hit in hits {
        let name = hit.path.as_deref().unwrap_or(&hit.document_id);
        if !names.contains(&name) {
            names.push(name);
        }
    }
    if names.is_empty() {
        return texts.not_in_documents.to_string();
    }
    format!(
        "{} {} {}.",
        texts.not_in_documents,
        texts.closest,
        names.join("; ")
    )
}

/// A passage's title and heading path, as it is introduced to the model.
fn context(hit: &Hit) -> String {
    let mut header = hit.title.clone();
    for heading in &hit.heading_path {
        if *heading != hit.title {
            header.push_str(" › ");
            header.push_str(heading);
        }
    }
    header
}

/// How a passage is introduced to the answer model: its title and headings.
/// Paths and line numbers stay out: small models copy them into the answer,
/// and the engine maps `[n]` back to the exact location itself.
fn passage(hit: &Hit) -> Passage {
    Passage {
        header: context(hit),
        text: hit.text.clone(),
    }
}

fn dot(a: &[f32], b: &[f32]) -> f32 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

/// An answer's text with its checked sentences and citations, before it is
/// merged into an [`Answer`].
pub(crate) struct Composed {
    pub base: Answer,
    pub text: String,
    pub sentences: Vec<AnswerSentence>,
    /// `(n, inferred)` in first-use order.
    pub citations: Vec<(usize, bool)>,
}

impl Composed {
    pub(crate) fn into_answer(self) -> Answer {
        let Composed {
            base,
            text,
            sentences,
            citations,
        } = self;
        let citations = citations
            .into_iter()
            .filter_map(|(n, inferred)| {
                Some(Citation {
                    n: n as u32,
                    hit: base.passages.get(n.checked_sub(1)?)?.clone(),
                    inferred,
                })
            })
            .collect();
        Answer {
            text,
            sentences,
            citations,
            ..base
        }
    }
}

/// The [`Support`] of a byte range of `hits[n - 1].text`.
fn support_of(hits: &[Hit], n: usize, range: &std::ops::Range<usize>, score: f32) -> Support {
    let hit = &hits[n - 1];
    let (start, end) = locate::char_range(&hit.text, range);
    Support {
        n: n as u32,
        start: start as u32,
        end: end as u32,
        lines: locate::lines(hit, range).map(LineRange::from),
        page: hit.page,
        locator: hit.locator.clone(),
        score,
    }
}

#[cfg(test)]
mod tests {
    //! The answer flow without language model, on the deterministic
    //! stand-in embedder: declining, quoting, bad questions.

    use super::*;
    use crate::ErrorKind;
    use crate::config::EngineConfig;
    use crate::embed::stand_in::HashEmbedder;

    fn engine(dir: &std::path::Path) -> Engine {
        let config = EngineConfig::new(dir, "unused-models");
        let engine = Engine::with_embedder(config, Box::new(HashEmbedder::new("a"))).unwrap();
        engine
            .add_text(
                "espresso",
                "Espresso",
                "# Espresso\n\nBrew temperature: 93 °C on the PID. Dark roasts get 90 °C.\n\n\
                 Grind finer by half a step when the shot runs fast.",
                &Default::default(),
            )
            .unwrap();
        engine
            .add_text(
                "bike",
                "Bike",
                "Tyre pressure is 4.5 bar at the front.",
                &Default::default(),
            )
            .unwrap();
        engine
    }

    fn ask(engine: &Engine, question: &str, min_grounding: f32) -> Result<(Answer, String)> {
        let options = AskOptions {
            min_grounding,
            ..Default::default()
        };
        let mut streamed = String::new();
        let answer = engine.ask(question, &options, &mut |piece| {
            streamed.push_str(piece);
            true
        })?;
        Ok((answer, streamed))
    }

    #[test]
    fn a_question_below_the_threshold_is_declined_with_the_closest_documents() {
        let dir = tempfile::tempdir().unwrap();
        let engine = engine(dir.path());
        let (answer, streamed) = ask(&engine, "brew temperature", 1.01).unwrap();
        assert!(answer.declined);
        assert!(
            answer.text.starts_with("Not in your documents"),
            "{}",
            answer.text
        );
        assert!(answer.text.contains("espresso"), "{}", answer.text);
        assert!(answer.citations.is_empty() && answer.sentences.is_empty());
        assert_eq!(streamed, answer.text);
        assert!(answer.grounding.score < answer.grounding.threshold);
    }

    #[test]
    fn a_grounded_question_is_answered_by_a_verbatim_quote_of_its_source() {
        let dir = tempfile::tempdir().unwrap();
        let engine = engine(dir.path());
        let (answer, streamed) = ask(&engine, "What brew temperature on the PID?", 0.0).unwrap();
        assert!(!answer.declined);
        assert_eq!(streamed, answer.text);
        assert!(
            answer
                .text
                .contains("“Brew temperature: 93 °C on the PID.” [1]"),
            "{}",
            answer.text
        );
        let s = &answer.sentences[0];
        let support = s.support.as_ref().unwrap();
        let passage = &answer.passages[support.n as usize - 1];
        let quoted: String = passage
            .text
            .chars()
            .skip(support.start as usize)
            .take((support.end - support.start) as usize)
            .collect();
        assert_eq!(quoted, "Brew temperature: 93 °C on the PID.");
        assert_eq!(support.lines, Some((3, 3).into()));
        assert_eq!(answer.citations[0].hit.document_id, "espresso");
        assert!(!answer.citations[0].inferred);
    }

    #[test]
    fn an_empty_knowledge_base_declines_without_documents() {
        let dir = tempfile::tempdir().unwrap();
        let config = EngineConfig::new(dir.path(), "unused-models");
        let engine = Engine::with_embedder(config, Box::new(HashEmbedder::new("a"))).unwrap();
        let (answer, _) = ask(&engine, "What brew temperature?", 0.5).unwrap();
        assert!(answer.declined);
        assert_eq!(answer.text, instructions::ENGLISH.not_in_documents);
        assert_eq!(answer.grounding.score, 0.0);
    }

    #[test]
    fn a_follow_up_keeps_the_numbers_of_the_sources_it_shares() {
        let hit = |id| Hit {
            chunk_id: id,
            document_id: format!("d{id}"),
            path: None,
            title: String::new(),
            text: String::new(),
            score: 0.0,
            page: None,
            lines: None,
            locator: None,
            heading_path: Vec::new(),
            tags: Vec::new(),
            embedded: true,
        };
        let previous = [hit(1), hit(2), hit(3)];
        let mut hits = vec![hit(7), hit(3), hit(8)];
        keep_numbering(&mut hits, &previous);
        let ids: Vec<u64> = hits.iter().map(|h| h.chunk_id).collect();
        assert_eq!(ids, [7, 8, 3], "3 stays [3]; the new ones fill [1] and [2]");
        let mut hits = vec![hit(2), hit(1), hit(3)];
        keep_numbering(&mut hits, &previous);
        assert_eq!(
            hits.iter().map(|h| h.chunk_id).collect::<Vec<_>>(),
            [1, 2, 3]
        );
    }

    #[test]
    fn bad_questions_are_refused_with_a_clear_error() {
        let dir = tempfile::tempdir().unwrap();
        let engine = engine(dir.path());
        for (question, says) in [
            ("", "empty"),
            ("  \n\t ", "empty"),
            ("?!… --- ???", "no words"),
            (&"espresso ".repeat(3000), "context window"),
        ] {
            let err = ask(&engine, question, 0.5).unwrap_err();
            assert_eq!(err.kind(), ErrorKind::InvalidInput, "{question:?}");
            assert!(err.to_string().contains(says), "{err}");
        }
    }
}
