//! Background embedding: where it stands, waiting for it, pausing it and
//! its thread budget.

use std::ffi::{c_char, c_void};

use trove::IndexOptions;

use super::cancel::{token_of, trove_cancel_token};
use super::engine::{
    engine_ref, forward_progress, put, put_json, put_optional, trove_engine, trove_progress_fn,
};
use super::status::{call, trove_status};

/// Where embedding stands, as a JSON object (the embedding_status shape in
/// README.md, "JSON shapes": chunks, embedded, pending, paused, running,
/// threads, last_error): "embedded n of m". *json_out is caller-owned:
/// free it with trove_string_free. Set to NULL on failure.
///
/// Thread-safe.
///
/// Safety: engine is live; json_out is writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn trove_embedding_status_json(
    engine: *const trove_engine,
    json_out: *mut *mut c_char,
) -> trove_status {
    call(|| {
        // SAFETY: the caller's pointers, as documented.
        unsafe {
            put(json_out, "json_out", std::ptr::null_mut())?;
            let status = engine_ref(engine)?.embedding_status()?;
            put_json(json_out, &status);
            Ok(())
        }
    })
}

/// Embeds every queued chunk on the calling thread (also while background
/// embedding is paused): for a host that indexed with embed_in_background
/// and now wants full hybrid search. cancel and on_progress (both may be
/// NULL) stop it as they stop trove_index_path; embedded batches are kept.
/// summary_json_out (may be NULL) receives an index summary JSON object
/// (chunks_embedded, chunks_pending, ...), caller-owned: free it with
/// trove_string_free.
///
/// Thread-safe; on_progress runs on the calling thread.
///
/// Safety: engine is live; cancel is NULL or live; summary_json_out is
/// NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn trove_embedding_finish(
    engine: *const trove_engine,
    cancel: *const trove_cancel_token,
    on_progress: trove_progress_fn,
    user_data: *mut c_void,
    summary_json_out: *mut *mut c_char,
) -> trove_status {
    call(|| {
        // SAFETY: the caller's pointers, as documented.
        unsafe {
            put_optional(summary_json_out, std::ptr::null_mut());
            let engine = engine_ref(engine)?;
            let mut report = forward_progress(on_progress, user_data);
            let summary = engine.finish_embedding(IndexOptions {
                progress: Some(&mut report),
                cancel: Some(token_of(cancel)),
            })?;
            put_json(summary_json_out, &summary);
            Ok(())
        }
    })
}

/// Pauses background embedding (a batch in flight finishes); calls that
/// wait for embedding still embed on their own thread.
///
/// Thread-safe.
///
/// Safety: engine is live.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn trove_embedding_pause(engine: *const trove_engine) -> trove_status {
    call(|| {
        // SAFETY: live per the caller.
        unsafe { engine_ref(engine) }?.pause_embedding();
        Ok(())
    })
}

/// Resumes background embedding.
///
/// Thread-safe.
///
/// Safety: engine is live.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn trove_embedding_resume(engine: *const trove_engine) -> trove_status {
    call(|| {
        // SAFETY: live per the caller.
        unsafe { engine_ref(engine) }?.resume_embedding();
        Ok(())
    })
}

/// Threads the embedding model uses for passages from its next batch on (0
/// counts as 1): a mobile host lowers it on battery. Searches keep theirs.
///
/// Thread-safe.
///
/// Safety: engine is live.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn trove_embedding_set_threads(
    engine: *const trove_engine,
    threads: u32,
) -> trove_status {
    call(|| {
        // SAFETY: live per the caller.
        unsafe { engine_ref(engine) }?.set_embedding_threads(threads as usize);
        Ok(())
    })
}
