//! Answering, and the answer handle with its accessors.

use std::ffi::{CString, c_char, c_void};

use trove::{AskOptions, GenerationOptions, StopReason};

use super::cancel::token_of;
use super::engine::{engine_ref, put, trove_engine};
use super::options::{self, trove_ask_options};
use super::search::{CHit, Field, field, lines, page};
use super::status::{run, run_infallible, trove_status};
use super::strings::{self, to_c};

/// Token callback of `trove_ask`: receives each piece of the answer as it
/// is generated (UTF-8, NUL-terminated, lent for the duration of the
/// callback), on the thread that called `trove_ask`. Return true to go on,
/// false to stop: the answer so far is kept and the call succeeds with
/// stop reason TROVE_STOP_REASON_CALLBACK.
#[allow(non_camel_case_types)]
pub type trove_token_fn =
    Option<unsafe extern "C" fn(piece: *const c_char, user_data: *mut c_void) -> bool>;

/// Why generation ended (`trove_answer_stop_reason`).
#[allow(non_camel_case_types)]
#[repr(C)]
pub enum trove_stop_reason {
    /// The model finished its answer.
    EndOfText = 0,
    /// `max_tokens` were generated; the answer may be cut short.
    MaxTokens = 1,
    /// A stop string was generated.
    StopString = 2,
    /// The token callback returned false.
    Callback = 3,
}

/// The measurements `trove_answer_timing` reports.
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
}

struct CCitation {
    n: u32,
    inferred: bool,
    hit: CHit,
}

/// A finished (or stopped) answer. Immutable: may be read from several
/// threads; free once with `trove_answer_free`.
#[allow(non_camel_case_types)]
pub struct trove_answer {
    text: CString,
    citations: Vec<CCitation>,
    stop_reason: StopReason,
    timings: [f64; 7],
    json: CString,
}

/// Answers `question` from the knowledge base with the bundled model,
/// streaming pieces to `on_token` (may be NULL). `options` may be NULL (3
/// passages, hybrid retrieval, greedy, 256 tokens at most).
///
/// On success `*answer_out` receives a handle the caller owns (free with
/// `trove_answer_free`); NULL on failure. `options->cancel`, raised from
/// another thread, makes the call return TROVE_STATUS_CANCELLED.
///
/// Thread-safe: several answers may be generated at once (each gets its own
/// model context). The first call loads the model.
///
/// # Safety
/// `engine` is live; `question` is NUL-terminated; `options` is NULL or has
/// `struct_size` set; `answer_out` is writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn trove_ask(
    engine: *const trove_engine,
    question: *const c_char,
    options: *const trove_ask_options,
    on_token: trove_token_fn,
    user_data: *mut c_void,
    answer_out: *mut *mut trove_answer,
) -> trove_status {
    run(|| {
        // SAFETY: the caller's pointers, as documented.
        unsafe {
            put(answer_out, "answer_out", std::ptr::null_mut())?;
            let engine = engine_ref(engine)?;
            let question = strings::required(question, "question")?;
            let o = options::read(options)?;
            let defaults = GenerationOptions::default();
            let ask_options = AskOptions {
                k: match o.k {
                    0 => AskOptions::default().k,
                    k => k as usize,
                },
                mode: options::mode(o.mode)?,
                filters: options::filters(
                    o.path_prefix,
                    o.tags,
                    o.tag_count,
                    o.document_ids,
                    o.document_id_count,
                )?,
                generation: GenerationOptions {
                    temperature: o.temperature,
                    seed: options::or_default(o.seed, defaults.seed),
                    max_tokens: options::or_default(o.max_tokens, defaults.max_tokens),
                    ..defaults
                },
                cancel: Some(token_of(o.cancel)),
            };
            let mut stream = |piece: &str| match on_token {
                Some(callback) => callback(to_c(piece).as_ptr(), user_data),
                None => true,
            };
            let answer = engine.ask(question, &ask_options, &mut stream)?;
            let t = &answer.timings;
            let handle = trove_answer {
                text: to_c(&answer.text),
                citations: answer
                    .citations
                    .iter()
                    .map(|c| CCitation {
                        n: c.n as u32,
                        inferred: c.inferred,
                        hit: CHit::new(&c.hit),
                    })
                    .collect(),
                stop_reason: answer.stop_reason,
                timings: [
                    t.retrieval_ms,
                    t.prompt_tokens.into(),
                    t.prefill_ms,
                    t.ttft_ms,
                    t.decode_tokens.into(),
                    t.decode_tok_s,
                    t.total_ms,
                ],
                json: to_c(&super::json::answer(&answer).to_string()),
            };
            *answer_out = Box::into_raw(Box::new(handle));
            Ok(())
        }
    })
}

/// Borrows an answer (None for NULL).
///
/// # Safety
/// `answer` is NULL or live.
unsafe fn get<'a>(answer: *const trove_answer) -> Option<&'a trove_answer> {
    // SAFETY: NULL or live per the caller.
    unsafe { answer.as_ref() }
}

/// Borrows citation `index` (None: NULL or out of range).
///
/// # Safety
/// `answer` is NULL or live.
unsafe fn citation<'a>(answer: *const trove_answer, index: usize) -> Option<&'a CCitation> {
    // SAFETY: NULL or live per the caller.
    unsafe { get(answer) }.and_then(|a| a.citations.get(index))
}

/// The answer text, with `[n]` citation marks as the model wrote them.
/// Lent: valid until `trove_answer_free`. NULL for NULL.
///
/// # Safety
/// `answer` is NULL or live.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn trove_answer_text(answer: *const trove_answer) -> *const c_char {
    // SAFETY: NULL or live per the caller.
    run_infallible(std::ptr::null(), || {
        unsafe { get(answer) }.map_or(std::ptr::null(), |a| a.text.as_ptr())
    })
}

/// A `trove_stop_reason` value; TROVE_STOP_REASON_END_OF_TEXT for NULL.
///
/// # Safety
/// `answer` is NULL or live.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn trove_answer_stop_reason(answer: *const trove_answer) -> u32 {
    run_infallible(0, || {
        // SAFETY: NULL or live per the caller.
        unsafe { get(answer) }.map_or(0, |a| match a.stop_reason {
            StopReason::EndOfText => trove_stop_reason::EndOfText as u32,
            StopReason::MaxTokens => trove_stop_reason::MaxTokens as u32,
            StopReason::StopString => trove_stop_reason::StopString as u32,
            StopReason::Callback => trove_stop_reason::Callback as u32,
        })
    })
}

/// One measurement of the call (`which` is a `trove_timing`); 0 for NULL or
/// an unknown `which`.
///
/// # Safety
/// `answer` is NULL or live.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn trove_answer_timing(answer: *const trove_answer, which: u32) -> f64 {
    run_infallible(0.0, || {
        // SAFETY: NULL or live per the caller.
        unsafe { get(answer) }
            .and_then(|a| a.timings.get(which as usize).copied())
            .unwrap_or(0.0)
    })
}

/// Number of sources the answer cites (0 for NULL).
///
/// # Safety
/// `answer` is NULL or live.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn trove_answer_citation_count(answer: *const trove_answer) -> usize {
    // SAFETY: NULL or live per the caller.
    run_infallible(0, || {
        unsafe { get(answer) }.map_or(0, |a| a.citations.len())
    })
}

/// The number `n` of citation `index` (`[n]` in the answer); 0 when out of
/// range.
///
/// # Safety
/// `answer` is NULL or live.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn trove_answer_citation_n(answer: *const trove_answer, index: usize) -> u32 {
    // SAFETY: NULL or live per the caller.
    run_infallible(0, || unsafe { citation(answer, index) }.map_or(0, |c| c.n))
}

/// false: the model wrote `[n]`. true: the model cited nothing and trove
/// found this passage holds the answer's distinctive words and numbers.
///
/// # Safety
/// `answer` is NULL or live.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn trove_answer_citation_inferred(
    answer: *const trove_answer,
    index: usize,
) -> bool {
    // SAFETY: NULL or live per the caller.
    run_infallible(false, || {
        unsafe { citation(answer, index) }.is_some_and(|c| c.inferred)
    })
}

/// The file path of citation `index`; NULL for host text or out of range.
/// Lent: valid until `trove_answer_free`.
///
/// # Safety
/// `answer` is NULL or live.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn trove_answer_citation_path(
    answer: *const trove_answer,
    index: usize,
) -> *const c_char {
    run_infallible(std::ptr::null(), || {
        // SAFETY: NULL or live per the caller.
        field(
            unsafe { citation(answer, index) }.map(|c| &c.hit),
            Field::Path,
        )
    })
}

/// The document id of citation `index` (host id or file path). Lent, as
/// `trove_answer_citation_path`.
///
/// # Safety
/// `answer` is NULL or live.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn trove_answer_citation_document_id(
    answer: *const trove_answer,
    index: usize,
) -> *const c_char {
    run_infallible(std::ptr::null(), || {
        // SAFETY: NULL or live per the caller.
        field(
            unsafe { citation(answer, index) }.map(|c| &c.hit),
            Field::DocumentId,
        )
    })
}

/// The title of citation `index`. Lent, as `trove_answer_citation_path`.
///
/// # Safety
/// `answer` is NULL or live.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn trove_answer_citation_title(
    answer: *const trove_answer,
    index: usize,
) -> *const c_char {
    run_infallible(std::ptr::null(), || {
        // SAFETY: NULL or live per the caller.
        field(
            unsafe { citation(answer, index) }.map(|c| &c.hit),
            Field::Title,
        )
    })
}

/// The cited passage's text. Lent, as `trove_answer_citation_path`.
///
/// # Safety
/// `answer` is NULL or live.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn trove_answer_citation_text(
    answer: *const trove_answer,
    index: usize,
) -> *const c_char {
    run_infallible(std::ptr::null(), || {
        // SAFETY: NULL or live per the caller.
        field(
            unsafe { citation(answer, index) }.map(|c| &c.hit),
            Field::Text,
        )
    })
}

/// The 1-based PDF page of citation `index`; 0 when none or out of range.
///
/// # Safety
/// `answer` is NULL or live.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn trove_answer_citation_page(
    answer: *const trove_answer,
    index: usize,
) -> u32 {
    // SAFETY: NULL or live per the caller.
    run_infallible(0, || {
        page(unsafe { citation(answer, index) }.map(|c| &c.hit))
    })
}

/// The line range of citation `index`, as `trove_results_lines`.
///
/// # Safety
/// `answer` is NULL or live; `first`, `last` NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn trove_answer_citation_lines(
    answer: *const trove_answer,
    index: usize,
    first: *mut u32,
    last: *mut u32,
) -> bool {
    run_infallible(false, || {
        // SAFETY: the caller's pointers, as documented.
        unsafe { lines(citation(answer, index).map(|c| &c.hit), first, last) }
    })
}

/// The whole answer as JSON: {answer, citations [{n, inferred, document_id,
/// path, title, page, lines}], passages [...], stop_reason, timings
/// {retrieval_ms, prompt_tokens, prefill_ms, ttft_ms, decode_tokens,
/// decode_tok_s, total_ms}}. Lent: valid until `trove_answer_free`; NULL
/// for NULL.
///
/// # Safety
/// `answer` is NULL or live.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn trove_answer_json(answer: *const trove_answer) -> *const c_char {
    // SAFETY: NULL or live per the caller.
    run_infallible(std::ptr::null(), || {
        unsafe { get(answer) }.map_or(std::ptr::null(), |a| a.json.as_ptr())
    })
}

/// Frees an answer and every string lent from it. NULL is ignored.
///
/// # Safety
/// `answer` is NULL or from `trove_ask`, freed once.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn trove_answer_free(answer: *mut trove_answer) {
    run_infallible((), || {
        if !answer.is_null() {
            // SAFETY: from Box::into_raw per the caller.
            drop(unsafe { Box::from_raw(answer) });
        }
    })
}
