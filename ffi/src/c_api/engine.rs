//! The engine handle: open/close, adding and removing documents, indexing,
//! statistics.

use std::ffi::{c_char, c_void};
use std::sync::Arc;

use trove::{Engine, IndexOptions, IndexProgress};

use super::cancel::{token_of, trove_cancel_token};
use super::options::{self, trove_engine_options, trove_note};
use super::status::{Failure, call, guard, trove_status};
use super::strings;

/// An open knowledge base: a store directory and its models.
///
/// One engine may be used from several threads at once: searches run in
/// parallel, writes (indexing, adding, removing) wait for each other.
#[allow(non_camel_case_types)]
pub struct trove_engine {
    pub(crate) engine: Arc<Engine>,
}

/// Progress of trove_index_path, lent to the progress callback for the
/// duration of the call.
#[allow(non_camel_case_types)]
#[repr(C)]
pub struct trove_progress {
    /// Files finished (indexed, unchanged or failed).
    pub files_done: u64,
    /// Files found.
    pub files_total: u64,
    /// Chunks given their vector so far (after the files are committed).
    pub chunks_embedded: u64,
    /// Chunks that reused a stored embedding so far.
    pub chunks_reused: u64,
    /// Bytes of the files finished.
    pub bytes_done: u64,
    /// Bytes of all files found.
    pub bytes_total: u64,
    /// Chunks of new text committed so far: keyword-searchable, and queued
    /// for their vector ("embedded chunks_embedded of chunks_queued").
    pub chunks_queued: u64,
}

impl trove_progress {
    fn new(p: &IndexProgress) -> Self {
        trove_progress {
            files_done: p.files_done,
            files_total: p.files_total,
            chunks_embedded: p.chunks_embedded,
            chunks_reused: p.chunks_reused,
            bytes_done: p.bytes_done,
            bytes_total: p.bytes_total,
            chunks_queued: p.chunks_queued,
        }
    }
}

/// The C progress callback as the engine's (None when not given).
pub(crate) fn forward_progress(
    on_progress: trove_progress_fn,
    user_data: *mut c_void,
) -> impl FnMut(&IndexProgress) -> bool {
    move |p: &IndexProgress| match on_progress {
        // SAFETY: the caller's callback and user_data, as documented.
        Some(callback) => unsafe { callback(&trove_progress::new(p), user_data) != 0 },
        None => true,
    }
}

/// Progress callback of trove_index_path and trove_embedding_finish: runs
/// on the thread that called it, after each file and each embedding batch. Return nonzero to go on, 0
/// to stop (the call then returns TROVE_STATUS_CANCELLED; committed work is
/// kept). It runs while the engine's writes are locked: it must not wait
/// for another thread that adds, indexes or removes on the same engine
/// (searching is fine).
#[allow(non_camel_case_types)]
pub type trove_progress_fn =
    Option<unsafe extern "C" fn(progress: *const trove_progress, user_data: *mut c_void) -> i32>;

/// Borrows the engine behind a handle.
///
/// # Safety
/// `engine` is NULL or a live handle.
pub(crate) unsafe fn engine_ref<'a>(engine: *const trove_engine) -> Result<&'a Engine, Failure> {
    // SAFETY: NULL or live per the caller.
    unsafe { engine.as_ref() }
        .map(|e| e.engine.as_ref())
        .ok_or_else(|| Failure::invalid("engine is NULL"))
}

/// Writes `value` through an out-pointer that must not be NULL.
///
/// # Safety
/// `out` is NULL or writable.
pub(crate) unsafe fn put<T>(out: *mut T, name: &str, value: T) -> Result<(), Failure> {
    if out.is_null() {
        return Err(Failure::invalid(format!("{name} is NULL")));
    }
    // SAFETY: non-NULL and writable per the caller.
    unsafe { out.write(value) };
    Ok(())
}

/// Writes `value` through an out-pointer the caller may leave NULL.
///
/// # Safety
/// `out` is NULL or writable.
pub(crate) unsafe fn put_optional<T>(out: *mut T, value: T) {
    if !out.is_null() {
        // SAFETY: writable per the caller.
        unsafe { out.write(value) };
    }
}

/// Hands `value` to the caller as owned JSON (freed with trove_string_free)
/// through an optional out-pointer.
///
/// # Safety
/// `out` is NULL or writable.
pub(crate) unsafe fn put_json(out: *mut *mut c_char, value: &impl serde::Serialize) {
    if !out.is_null() {
        let json = serde_json::to_string(value).expect("reports serialize");
        // SAFETY: writable per the caller.
        unsafe { *out = strings::give(&json) };
    }
}

/// Opens (or creates) the store in store_dir with the models laid out by
/// make setup in models_dir (both NUL-terminated paths), and loads the
/// embedding model (the answer model loads on the first trove_ask). options
/// may be NULL.
///
/// On success *engine_out receives a handle the caller owns: close it with
/// trove_engine_close. On failure *engine_out is set to NULL.
///
/// Errors: TROVE_STATUS_NOT_FOUND or TROVE_STATUS_MODEL for missing or
/// wrong model files, TROVE_STATUS_INCOMPATIBLE_STORE for a store built with
/// another embedding model, TROVE_STATUS_CORRUPT_STORE, TROVE_STATUS_IO.
///
/// Thread-safe.
///
/// Safety: the paths are NUL-terminated; options is NULL or a
/// trove_engine_options with struct_size set; engine_out is writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn trove_engine_open(
    store_dir: *const c_char,
    models_dir: *const c_char,
    options: *const trove_engine_options,
    engine_out: *mut *mut trove_engine,
) -> trove_status {
    call(|| {
        // SAFETY: the caller's pointers, as documented.
        unsafe {
            put(engine_out, "engine_out", std::ptr::null_mut())?;
            let options = options::read(options)?;
            let config = options::engine_config(store_dir, models_dir, &options)?;
            let engine = Engine::open(config)?;
            let handle = Box::new(trove_engine {
                engine: Arc::new(engine),
            });
            *engine_out = Box::into_raw(handle);
            Ok(())
        }
    })
}

/// Closes an engine and frees its handle. NULL is ignored. No other call
/// may be using the engine; watchers started on it keep their own reference
/// and stay valid until trove_watch_stop.
///
/// Safety: engine is NULL or a handle from trove_engine_open, closed once.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn trove_engine_close(engine: *mut trove_engine) {
    guard(|| {
        if !engine.is_null() {
            // SAFETY: from Box::into_raw per the caller.
            drop(unsafe { Box::from_raw(engine) });
        }
    })
}

/// Adds (or replaces) a note handed over by the host app (see trove_note).
/// summary_json_out (may be NULL) receives what the call did as an index
/// summary JSON object, caller-owned: free it with trove_string_free.
///
/// Thread-safe (writes wait for each other).
///
/// Safety: engine is live; note is a trove_note with struct_size set whose
/// texts are as documented there; summary_json_out is NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn trove_add_text(
    engine: *const trove_engine,
    note: *const trove_note,
    summary_json_out: *mut *mut c_char,
) -> trove_status {
    call(|| {
        // SAFETY: the caller's pointers, as documented.
        unsafe {
            put_optional(summary_json_out, std::ptr::null_mut());
            let engine = engine_ref(engine)?;
            if note.is_null() {
                return Err(Failure::invalid("note is NULL"));
            }
            let n = options::read(note)?;
            let id = strings::required(n.id, n.id_len, "note.id")?;
            let title = strings::optional(n.title, n.title_len, "note.title")?.unwrap_or("");
            let text = strings::required(n.text, n.text_len, "note.text")?;
            let metadata =
                strings::optional(n.metadata_json, n.metadata_json_len, "note.metadata_json")?
                    .unwrap_or("");
            let metadata = trove::metadata_from_json(metadata)?;
            let summary = engine.add_text(id, title, text, &metadata)?;
            put_json(summary_json_out, &summary);
            Ok(())
        }
    })
}

/// Indexes a file or a folder (recursively; path NUL-terminated): unchanged
/// files cost nothing, documents of files gone from the folder are removed,
/// files that cannot be read are reported in the summary, not fatal.
///
/// The call commits files in batches (keyword-searchable at once), then
/// embeds their new chunks, unless the engine was opened with
/// embed_in_background.
///
/// cancel (may be NULL) stops the call from another thread; so does
/// on_progress (may be NULL) returning 0. Either way the call returns
/// TROVE_STATUS_CANCELLED and keeps what it committed: the next call
/// resumes without re-embedding it, and the chunks it did not embed wait
/// for the background thread.
///
/// summary_json_out (may be NULL) receives an index summary JSON object
/// (files_seen, files_indexed, files_unchanged, files_removed, files_failed,
/// failures [{path, code, reason}], chunks_queued, chunks_embedded,
/// chunks_pending, chunks_reused, ...),
/// caller-owned: free it with trove_string_free. NULL on failure.
///
/// Thread-safe; on_progress runs on the calling thread.
///
/// Safety: engine is live; path is NUL-terminated; cancel is NULL or live;
/// summary_json_out is NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn trove_index_path(
    engine: *const trove_engine,
    path: *const c_char,
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
            let path = strings::path(path, "path")?;
            let mut report = forward_progress(on_progress, user_data);
            let summary = engine.index_path(
                path,
                IndexOptions {
                    progress: Some(&mut report),
                    cancel: Some(token_of(cancel)),
                },
            )?;
            put_json(summary_json_out, &summary);
            Ok(())
        }
    })
}

/// Removes a document by id (id_len bytes, or TROVE_NUL_TERMINATED): a
/// host id given to trove_add_text, or a file's absolute path. *removed_out
/// (may be NULL) tells whether one was there.
///
/// Thread-safe.
///
/// Safety: engine is live; id holds id_len bytes (or is NUL-terminated);
/// removed_out is NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn trove_remove_document(
    engine: *const trove_engine,
    id: *const c_char,
    id_len: usize,
    removed_out: *mut bool,
) -> trove_status {
    call(|| {
        // SAFETY: the caller's pointers, as documented.
        unsafe {
            let engine = engine_ref(engine)?;
            let id = strings::required(id, id_len, "id")?;
            let removed = engine.remove_document(id)?;
            put_optional(removed_out, removed);
            Ok(())
        }
    })
}

/// The body of the entry points that hand out one JSON value about a
/// document named by (id, id_len).
///
/// # Safety
/// As those entry points: engine is live; id holds id_len bytes (or is
/// NUL-terminated); json_out is writable.
unsafe fn document_json<T: serde::Serialize>(
    engine: *const trove_engine,
    id: *const c_char,
    id_len: usize,
    json_out: *mut *mut c_char,
    value: impl FnOnce(&Engine, &str) -> trove::Result<T>,
) -> trove_status {
    call(|| {
        // SAFETY: the caller's pointers, as documented.
        unsafe {
            put(json_out, "json_out", std::ptr::null_mut())?;
            let engine = engine_ref(engine)?;
            let id = strings::required(id, id_len, "id")?;
            put_json(json_out, &value(engine, id)?);
            Ok(())
        }
    })
}

/// The links written in a document (id_len bytes, or TROVE_NUL_TERMINATED:
/// a host id or a file's absolute path, as trove_hit_document_id gives it),
/// in document order, as a JSON array of links (the document_link shape in README.md,
/// "JSON shapes": source, target, heading, block, alias, embed, line,
/// resolved, block_lines). *json_out is caller-owned: free it with
/// trove_string_free; NULL on failure. An unknown id is TROVE_STATUS_NOT_FOUND.
///
/// Thread-safe.
///
/// Safety: engine is live; id holds id_len bytes (or is NUL-terminated);
/// json_out is writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn trove_outgoing_links_json(
    engine: *const trove_engine,
    id: *const c_char,
    id_len: usize,
    json_out: *mut *mut c_char,
) -> trove_status {
    // SAFETY: the caller's pointers, as documented.
    unsafe { document_json(engine, id, id_len, json_out, |e, id| e.outgoing_links(id)) }
}

/// The links of other documents that resolve to a document ("notes linking
/// here"), as trove_outgoing_links_json gives them.
///
/// Thread-safe.
///
/// Safety: as trove_outgoing_links_json.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn trove_backlinks_json(
    engine: *const trove_engine,
    id: *const c_char,
    id_len: usize,
    json_out: *mut *mut c_char,
) -> trove_status {
    // SAFETY: the caller's pointers, as documented.
    unsafe { document_json(engine, id, id_len, json_out, |e, id| e.backlinks(id)) }
}

/// Where a document stands (id_len bytes, or TROVE_NUL_TERMINATED: a file's
/// absolute path or a host id), as a JSON object (the document_status shape
/// in README.md, "JSON shapes": state is "indexed", "changed", "missing",
/// "failed" or "not_indexed"; a failure's code and reason). A document the
/// store does not know is state "not_indexed", not an error. *json_out is
/// caller-owned: free it with trove_string_free; NULL on failure.
///
/// Thread-safe.
///
/// Safety: engine is live; id holds id_len bytes (or is NUL-terminated);
/// json_out is writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn trove_document_status_json(
    engine: *const trove_engine,
    id: *const c_char,
    id_len: usize,
    json_out: *mut *mut c_char,
) -> trove_status {
    // SAFETY: the caller's pointers, as documented.
    unsafe { document_json(engine, id, id_len, json_out, |e, id| e.document_status(id)) }
}

/// Why a document (id, id_len as for trove_document_status_json) ranks
/// where it does for a query (query_len bytes, or TROVE_NUL_TERMINATED):
/// a JSON object (the explanation shape: its status, best passage, rank and
/// score in hybrid, keyword and vector search, the document ranked first,
/// and the reasons as sentences). *json_out is caller-owned: free it with
/// trove_string_free; NULL on failure.
///
/// Thread-safe.
///
/// Safety: engine is live; query and id hold their lengths in bytes (or
/// are NUL-terminated); json_out is writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn trove_explain_json(
    engine: *const trove_engine,
    query: *const c_char,
    query_len: usize,
    id: *const c_char,
    id_len: usize,
    json_out: *mut *mut c_char,
) -> trove_status {
    call(|| {
        // SAFETY: the caller's pointers, as documented.
        unsafe {
            put(json_out, "json_out", std::ptr::null_mut())?;
            let engine = engine_ref(engine)?;
            let query = strings::required(query, query_len, "query")?;
            let id = strings::required(id, id_len, "id")?;
            put_json(json_out, &engine.explain(query, id)?);
            Ok(())
        }
    })
}

/// Removes every file document at or under path (a file or a folder,
/// NUL-terminated; it need not exist any more). *count_out (may be NULL)
/// receives how many documents were removed.
///
/// Thread-safe.
///
/// Safety: engine is live; path is NUL-terminated; count_out is NULL or
/// writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn trove_remove_path(
    engine: *const trove_engine,
    path: *const c_char,
    count_out: *mut u64,
) -> trove_status {
    call(|| {
        // SAFETY: the caller's pointers, as documented.
        unsafe {
            let engine = engine_ref(engine)?;
            let path = strings::path(path, "path")?;
            let count = engine.remove_path(path)?;
            put_optional(count_out, count as u64);
            Ok(())
        }
    })
}

/// Statistics of the store as a JSON object (the stats shape in README.md,
/// "JSON shapes": documents, chunks, embeddings, vectors, failures,
/// store_bytes, store_dir, embedding_model, llm_path, last_index_run).
/// *json_out is caller-owned: free it with trove_string_free. Set to NULL
/// on failure.
///
/// Thread-safe.
///
/// Safety: engine is live; json_out is writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn trove_stats_json(
    engine: *const trove_engine,
    json_out: *mut *mut c_char,
) -> trove_status {
    call(|| {
        // SAFETY: the caller's pointers, as documented.
        unsafe {
            put(json_out, "json_out", std::ptr::null_mut())?;
            let stats = engine_ref(engine)?.stats()?;
            put_json(json_out, &stats);
            Ok(())
        }
    })
}

/// The engine's models (embedding model, answer model, LoRA adapters) as a
/// JSON array (the model_info shape in README.md, "JSON shapes": role,
/// path, format, name, architecture, size_bytes, quantization,
/// context_length, chat_template, sha256, recorded_sha256, recorded_by,
/// changed), each hashed and checked against what was recorded for it. An
/// answer model changed since the store recorded it is refused
/// (TROVE_STATUS_MODEL) until accept is nonzero, which records it as it is
/// now. *json_out is caller-owned: free it with trove_string_free. Set to
/// NULL on failure.
///
/// Thread-safe; reads every model file (seconds for large ones).
///
/// Safety: engine is live; json_out is writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn trove_models_json(
    engine: *const trove_engine,
    accept: u8,
    json_out: *mut *mut c_char,
) -> trove_status {
    call(|| {
        // SAFETY: the caller's pointers, as documented.
        unsafe {
            put(json_out, "json_out", std::ptr::null_mut())?;
            let models = engine_ref(engine)?.models(options::flag(accept))?;
            put_json(json_out, &models);
            Ok(())
        }
    })
}
