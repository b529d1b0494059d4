//! Answering, and the answer handle.

use std::ffi::{CString, c_char, c_void};

use trove::{
    Answer, AskOptions, Conversation, DEFAULT_MIN_DRAFT_SUPPORT, DEFAULT_MIN_GROUNDING,
    GenerationOptions, StopReason,
};

use super::cancel::token_of;
use super::engine::{engine_ref, put, trove_engine};
use super::hit::trove_hit;
use super::options::{self, trove_ask_options};
use super::status::{Failure, call, guard, trove_status};
use super::strings::{self, lend, to_c};

/// Token callback of trove_ask: receives each piece of the answer as it is
/// generated (piece_len bytes of UTF-8, NUL-terminated, lent for the
/// duration of the callback), on the thread that called trove_ask. Return
/// nonzero to go on, 0 to stop: the answer so far is kept and the call
/// succeeds with stop reason TROVE_STOP_REASON_CALLBACK.
#[allow(non_camel_case_types)]
pub type trove_token_fn = Option<
    unsafe extern "C" fn(piece: *const c_char, piece_len: usize, user_data: *mut c_void) -> i32,
>;

/// Why generation ended (trove_answer_stop_reason).
#[allow(non_camel_case_types)]
#[repr(C)]
pub enum trove_stop_reason {
    /// The model finished its answer.
    EndOfText = 0,
    /// max_tokens were generated; the answer may be cut short.
    MaxTokens = 1,
    /// A stop string was generated.
    StopString = 2,
    /// The token callback asked to stop.
    Callback = 3,
}

/// The measurements trove_answer_timing reports.
#[allow(non_camel_case_types)]
#[repr(C)]
pub enum trove_timing {
    /// Embedding the question and searching, in milliseconds.
    RetrievalMs = 0,
    /// Tokens in the prompt.
    PromptTokens = 1,
    /// Prompt evaluation, in milliseconds.
    PrefillMs = 2,
    /// From the call to the first streamed piece, in milliseconds.
    TtftMs = 3,
    /// Tokens generated.
    DecodeTokens = 4,
    /// Generation speed, tokens per second.
    DecodeTokS = 5,
    /// The whole call, in milliseconds.
    TotalMs = 6,
    /// Prompt tokens a conversation's previous turn had evaluated, reused
    /// instead of evaluated again (trove_ask_in).
    CachedTokens = 7,
}

struct CCitation {
    n: u32,
    inferred: bool,
    hit: trove_hit,
}

/// A finished (or stopped) answer. Immutable: may be read from several
/// threads; free once with trove_answer_free.
#[allow(non_camel_case_types)]
pub struct trove_answer {
    text: CString,
    citations: Vec<CCitation>,
    passages: Vec<trove_hit>,
    stop_reason: StopReason,
    timings: [f64; 8],
    declined: bool,
    fallback: bool,
    grounding: f32,
    json: CString,
}

/// Answers a question (question_len bytes of UTF-8, or NUL-terminated with
/// TROVE_NUL_TERMINATED) from the knowledge base with the answer model,
/// streaming pieces to on_token (may be NULL). options may be NULL (3
/// passages, hybrid retrieval, greedy, 256 tokens at most).
///
/// On success *answer_out receives a handle the caller owns (free with
/// trove_answer_free); NULL on failure. options->cancel, raised from
/// another thread, makes the call return TROVE_STATUS_CANCELLED.
///
/// Thread-safe: several answers may be generated at once (each gets its own
/// model context). The first call loads the model.
///
/// Safety: engine is live; question holds question_len bytes (or is
/// NUL-terminated); options is NULL or has struct_size set; answer_out is
/// writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn trove_ask(
    engine: *const trove_engine,
    question: *const c_char,
    question_len: usize,
    options: *const trove_ask_options,
    on_token: trove_token_fn,
    user_data: *mut c_void,
    answer_out: *mut *mut trove_answer,
) -> trove_status {
    call(|| {
        // SAFETY: the caller's pointers, as documented.
        unsafe {
            respond(
                engine,
                None,
                Question {
                    text: question,
                    len: question_len,
                    options,
                    on_token,
                    user_data,
                },
                answer_out,
            )
        }
    })
}

/// A question as C hands it over, with its options and token callback.
pub(crate) struct Question {
    pub text: *const c_char,
    pub len: usize,
    pub options: *const trove_ask_options,
    pub on_token: trove_token_fn,
    pub user_data: *mut c_void,
}

/// Answers `question` (in `conversation` if given) into `*answer_out`.
///
/// # Safety
/// The pointers are valid as trove_ask documents.
pub(crate) unsafe fn respond(
    engine: *const trove_engine,
    conversation: Option<&mut Conversation>,
    question: Question,
    answer_out: *mut *mut trove_answer,
) -> Result<(), Failure> {
    // SAFETY: the caller's pointers, as documented.
    unsafe {
        put(answer_out, "answer_out", std::ptr::null_mut())?;
        let engine = engine_ref(engine)?;
        let text = strings::required(question.text, question.len, "question")?;
        let ask_options = ask_options(&options::read(question.options)?)?;
        let (on_token, user_data) = (question.on_token, question.user_data);
        let mut stream = |piece: &str| match on_token {
            Some(callback) => {
                let c = to_c(piece);
                callback(c.as_ptr(), c.as_bytes().len(), user_data) != 0
            }
            None => true,
        };
        let answer = match conversation {
            Some(conversation) => engine.ask_in(conversation, text, &ask_options, &mut stream)?,
            None => engine.ask(text, &ask_options, &mut stream)?,
        };
        *answer_out = Box::into_raw(Box::new(trove_answer::new(&answer)));
        Ok(())
    }
}

/// The engine's options from C's.
///
/// # Safety
/// The pointers in `o` are valid as trove_ask_options documents.
unsafe fn ask_options(o: &trove_ask_options) -> Result<AskOptions, Failure> {
    // SAFETY: forwarded to the caller.
    let (retrieval, cancel) =
        unsafe { (o.retrieval(AskOptions::default().k)?, token_of(o.cancel)) };
    let defaults = GenerationOptions::default();
    Ok(AskOptions {
        k: retrieval.k,
        mode: retrieval.mode,
        filters: retrieval.filters,
        generation: GenerationOptions {
            temperature: o.temperature,
            seed: options::or_default(o.seed, defaults.seed),
            max_tokens: options::or_default(o.max_tokens, defaults.max_tokens),
            ..defaults
        },
        cancel: Some(cancel),
        strategy: options::strategy(o.strategy)?,
        min_grounding: if options::flag(o.never_decline) {
            0.0
        } else {
            options::share_or(o.min_grounding, DEFAULT_MIN_GROUNDING, "min_grounding")?
        },
        min_draft_support: options::share_or(
            o.min_draft_support,
            DEFAULT_MIN_DRAFT_SUPPORT,
            "min_draft_support",
        )?,
    })
}

impl trove_answer {
    fn new(answer: &Answer) -> Self {
        let t = &answer.timings;
        trove_answer {
            text: to_c(&answer.text),
            citations: answer
                .citations
                .iter()
                .map(|c| CCitation {
                    n: c.n,
                    inferred: c.inferred,
                    hit: trove_hit::new(&c.hit),
                })
                .collect(),
            passages: answer.passages.iter().map(trove_hit::new).collect(),
            stop_reason: answer.stop_reason,
            timings: [
                t.retrieval_ms,
                t.prompt_tokens.into(),
                t.prefill_ms,
                t.ttft_ms,
                t.decode_tokens.into(),
                t.decode_tok_s,
                t.total_ms,
                t.cached_tokens.into(),
            ],
            declined: answer.declined,
            fallback: answer.fallback,
            grounding: answer.grounding.score,
            json: to_c(&serde_json::to_string(answer).expect("an answer serializes")),
        }
    }
}

/// Reads an answer (NULL answer: the fallback value).
///
/// # Safety
/// `answer` is NULL or live.
unsafe fn with<T: super::status::OnPanic>(
    answer: *const trove_answer,
    fallback: T,
    read: impl FnOnce(&trove_answer) -> T,
) -> T {
    // SAFETY: NULL or live per the caller.
    guard(|| unsafe { answer.as_ref() }.map_or(fallback, read))
}

/// The answer text, with [n] citation marks each checked against passage n
/// (the sentences, their citations and supporting spans are in
/// trove_answer_json, "sentences"). Lent:
/// valid until trove_answer_free; *len_out (may be NULL) receives its
/// length. NULL for NULL.
///
/// Safety: answer is NULL or live; len_out is NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn trove_answer_text(
    answer: *const trove_answer,
    len_out: *mut usize,
) -> *const c_char {
    // SAFETY: the caller's pointers, as documented.
    unsafe { with(answer, std::ptr::null(), |a| lend(&a.text, len_out)) }
}

/// A trove_stop_reason value; TROVE_STOP_REASON_END_OF_TEXT for NULL.
///
/// Safety: answer is NULL or live.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn trove_answer_stop_reason(answer: *const trove_answer) -> u32 {
    let reason = |a: &trove_answer| match a.stop_reason {
        StopReason::EndOfText => trove_stop_reason::EndOfText as u32,
        StopReason::MaxTokens => trove_stop_reason::MaxTokens as u32,
        StopReason::StopString => trove_stop_reason::StopString as u32,
        StopReason::Callback => trove_stop_reason::Callback as u32,
    };
    // SAFETY: NULL or live per the caller.
    unsafe { with(answer, 0, reason) }
}

/// One measurement of the call (which is a trove_timing); 0 for NULL or an
/// unknown which.
///
/// Safety: answer is NULL or live.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn trove_answer_timing(answer: *const trove_answer, which: u32) -> f64 {
    // SAFETY: NULL or live per the caller.
    unsafe {
        with(answer, 0.0, |a| {
            a.timings.get(which as usize).copied().unwrap_or(0.0)
        })
    }
}

/// true: the passages do not bear on the question, and the answer text is
/// the fixed "not in your documents" answer (in the question's language)
/// naming the closest documents; it cites nothing. false for NULL.
///
/// Safety: answer is NULL or live.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn trove_answer_declined(answer: *const trove_answer) -> bool {
    // SAFETY: NULL or live per the caller.
    unsafe { with(answer, false, |a| a.declined) }
}

/// How strongly the passages bear on the question, from 0 to 1: the
/// question is declined below trove_ask_options.min_grounding. 0 for NULL.
/// The measurements behind it are in trove_answer_json ("grounding").
///
/// Safety: answer is NULL or live.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn trove_answer_grounding(answer: *const trove_answer) -> f32 {
    // SAFETY: NULL or live per the caller.
    unsafe { with(answer, 0.0, |a| a.grounding) }
}

/// true: the generated draft was not supported by the passages and the
/// extractive answer replaced it (the streamed text was the draft). false
/// for NULL.
///
/// Safety: answer is NULL or live.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn trove_answer_fallback(answer: *const trove_answer) -> bool {
    // SAFETY: NULL or live per the caller.
    unsafe { with(answer, false, |a| a.fallback) }
}

/// Number of passages given to the model (0 for NULL); [n] in the answer
/// is passage n - 1.
///
/// Safety: answer is NULL or live.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn trove_answer_passage_count(answer: *const trove_answer) -> usize {
    // SAFETY: NULL or live per the caller.
    unsafe { with(answer, 0, |a| a.passages.len()) }
}

/// Passage index given to the model. Lent: valid until trove_answer_free;
/// read it with the trove_hit_ accessors. NULL when out of range.
///
/// Safety: answer is NULL or live.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn trove_answer_passage(
    answer: *const trove_answer,
    index: usize,
) -> *const trove_hit {
    // SAFETY: NULL or live per the caller.
    unsafe {
        with(answer, std::ptr::null(), |a| {
            a.passages
                .get(index)
                .map_or(std::ptr::null(), |h| h as *const trove_hit)
        })
    }
}

/// Number of sources the answer cites (0 for NULL).
///
/// Safety: answer is NULL or live.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn trove_answer_citation_count(answer: *const trove_answer) -> usize {
    // SAFETY: NULL or live per the caller.
    unsafe { with(answer, 0, |a| a.citations.len()) }
}

/// The number n of citation index ([n] in the answer); 0 when out of range.
///
/// Safety: answer is NULL or live.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn trove_answer_citation_n(answer: *const trove_answer, index: usize) -> u32 {
    // SAFETY: NULL or live per the caller.
    unsafe { with(answer, 0, |a| a.citations.get(index).map_or(0, |c| c.n)) }
}

/// false: [n] is in the answer text and passage n supports its sentence.
/// true: the sentence had no supported [n], and trove found that this
/// passage supports it.
///
/// Safety: answer is NULL or live.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn trove_answer_citation_inferred(
    answer: *const trove_answer,
    index: usize,
) -> bool {
    // SAFETY: NULL or live per the caller.
    unsafe {
        with(answer, false, |a| {
            a.citations.get(index).is_some_and(|c| c.inferred)
        })
    }
}

/// The passage citation index points at. Lent: valid until
/// trove_answer_free; read it with the trove_hit_ accessors. NULL when out
/// of range.
///
/// Safety: answer is NULL or live.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn trove_answer_citation_hit(
    answer: *const trove_answer,
    index: usize,
) -> *const trove_hit {
    // SAFETY: NULL or live per the caller.
    unsafe {
        with(answer, std::ptr::null(), |a| {
            a.citations
                .get(index)
                .map_or(std::ptr::null(), |c| &c.hit as *const trove_hit)
        })
    }
}

/// The whole answer as JSON (the shape in README.md, "JSON shapes"). Lent:
/// valid until trove_answer_free; *len_out (may be NULL) receives its
/// length. NULL for NULL.
///
/// Safety: answer is NULL or live; len_out is NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn trove_answer_json(
    answer: *const trove_answer,
    len_out: *mut usize,
) -> *const c_char {
    // SAFETY: the caller's pointers, as documented.
    unsafe { with(answer, std::ptr::null(), |a| lend(&a.json, len_out)) }
}

/// Frees an answer, its passages and every string lent from it. NULL is
/// ignored.
///
/// Safety: answer is NULL or from trove_ask, freed once.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn trove_answer_free(answer: *mut trove_answer) {
    guard(|| {
        if !answer.is_null() {
            // SAFETY: from Box::into_raw per the caller.
            drop(unsafe { Box::from_raw(answer) });
        }
    })
}
