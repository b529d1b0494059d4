//! Conversations from C: a handle holding the turns, trove_ask_in to ask
//! the next question in it, and its history as JSON to save and restore.

use std::ffi::{c_char, c_void};
use std::sync::{Mutex, MutexGuard};

use trove::{Conversation, Turn};

use super::ask::{Question, respond, trove_answer, trove_token_fn};
use super::engine::{put, put_json, trove_engine};
use super::options::trove_ask_options;
use super::status::{Failure, call, guard, trove_status};
use super::strings;

/// A conversation: its turns and the model state that makes a follow-up
/// fast. Calls on one conversation run one at a time (a second waits);
/// free it once with trove_conversation_free.
#[allow(non_camel_case_types)]
pub struct trove_conversation(Mutex<Conversation>);

impl trove_conversation {
    fn lock(&self) -> MutexGuard<'_, Conversation> {
        self.0.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// A new conversation with no turns; NULL only when memory runs out.
/// Free it with trove_conversation_free.
#[unsafe(no_mangle)]
pub extern "C" fn trove_conversation_new() -> *mut trove_conversation {
    guard(|| Box::into_raw(Box::new(trove_conversation(Mutex::default()))))
}

/// A conversation that goes on from saved turns: json (json_len bytes, or
/// NUL-terminated with TROVE_NUL_TERMINATED) as trove_conversation_json
/// wrote it. *conversation_out receives a handle the caller owns; NULL on
/// failure (TROVE_STATUS_INVALID_ARGUMENT names what is wrong with the JSON).
///
/// Safety: json holds json_len bytes (or is NUL-terminated);
/// conversation_out is writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn trove_conversation_from_json(
    json: *const c_char,
    json_len: usize,
    conversation_out: *mut *mut trove_conversation,
) -> trove_status {
    call(|| {
        // SAFETY: the caller's pointers, as documented.
        unsafe {
            put(conversation_out, "conversation_out", std::ptr::null_mut())?;
            let text = strings::required(json, json_len, "json")?;
            let turns: Vec<Turn> = serde_json::from_str(text).map_err(|e| {
                Failure::invalid(format!(
                    "json is not a conversation as trove_conversation_json writes it: {e}"
                ))
            })?;
            let conversation = trove_conversation(Mutex::new(Conversation::from_turns(turns)));
            *conversation_out = Box::into_raw(Box::new(conversation));
            Ok(())
        }
    })
}

/// The turns so far as a JSON array (the "turn" shape of README.md, "JSON
/// shapes"), oldest first: what a host saves. *json_out receives a string
/// the caller owns (free with trove_string_free).
///
/// Safety: conversation is live; json_out is writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn trove_conversation_json(
    conversation: *const trove_conversation,
    json_out: *mut *mut c_char,
) -> trove_status {
    call(|| {
        // SAFETY: the caller's pointers, as documented.
        unsafe {
            put(json_out, "json_out", std::ptr::null_mut())?;
            let conversation = conversation_ref(conversation)?;
            put_json(json_out, &conversation.lock().turns());
            Ok(())
        }
    })
}

/// Number of turns so far (0 for NULL).
///
/// Safety: conversation is NULL or live.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn trove_conversation_turn_count(
    conversation: *const trove_conversation,
) -> usize {
    // SAFETY: NULL or live per the caller.
    guard(|| unsafe { conversation.as_ref() }.map_or(0, |c| c.lock().turns().len()))
}

/// Frees a conversation. NULL is ignored.
///
/// Safety: conversation is NULL or from trove_conversation_new or
/// trove_conversation_from_json, not in use by a call, freed once.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn trove_conversation_free(conversation: *mut trove_conversation) {
    guard(|| {
        if !conversation.is_null() {
            // SAFETY: from Box::into_raw per the caller.
            drop(unsafe { Box::from_raw(conversation) });
        }
    })
}

/// Answers a question as the next turn of conversation, as trove_ask does
/// (same arguments and ownership), then adds the turn to it: a follow-up is
/// searched together with the previous question, a generated answer sees
/// the earlier turns (the oldest condensed or dropped to fit the context;
/// "history" in trove_answer_json), and the part of the prompt the previous
/// turn evaluated is reused (TROVE_TIMING_CACHED_TOKENS). A failed call
/// leaves the conversation as it was.
///
/// Safety: as trove_ask; conversation is live.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn trove_ask_in(
    engine: *const trove_engine,
    conversation: *mut trove_conversation,
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
            put(answer_out, "answer_out", std::ptr::null_mut())?;
            let conversation = conversation_ref(conversation)?;
            let mut held = conversation.lock();
            respond(
                engine,
                Some(&mut held),
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

/// # Safety
/// `conversation` is NULL or live.
unsafe fn conversation_ref<'a>(
    conversation: *const trove_conversation,
) -> Result<&'a trove_conversation, Failure> {
    // SAFETY: NULL or live per the caller.
    unsafe { conversation.as_ref() }.ok_or_else(|| Failure::invalid("conversation is NULL"))
}
