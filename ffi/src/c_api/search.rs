//! Searching, and the results handle with its accessors.

use std::ffi::{CString, c_char};

use trove::{Hit, SearchOptions};

use super::engine::{engine_ref, put, trove_engine};
use super::options::{self, trove_search_options};
use super::status::{run, run_infallible, trove_status};
use super::strings::{self, to_c};

/// A hit converted once to C strings, lent by the accessors.
pub(crate) struct CHit {
    document_id: CString,
    path: Option<CString>,
    title: CString,
    text: CString,
    score: f32,
    page: u32,
    lines: Option<(u32, u32)>,
}

impl CHit {
    pub(crate) fn new(h: &Hit) -> Self {
        CHit {
            document_id: to_c(&h.document_id),
            path: h.path.as_deref().map(to_c),
            title: to_c(&h.title),
            text: to_c(&h.text),
            score: h.score,
            page: h.page.unwrap_or(0),
            lines: h.lines,
        }
    }
}

/// Which string of a hit an accessor lends.
#[derive(Clone, Copy)]
pub(crate) enum Field {
    DocumentId,
    Path,
    Title,
    Text,
}

pub(crate) fn field(hit: Option<&CHit>, field: Field) -> *const c_char {
    let Some(hit) = hit else {
        return std::ptr::null();
    };
    match field {
        Field::DocumentId => hit.document_id.as_ptr(),
        Field::Path => hit.path.as_ref().map_or(std::ptr::null(), |p| p.as_ptr()),
        Field::Title => hit.title.as_ptr(),
        Field::Text => hit.text.as_ptr(),
    }
}

pub(crate) fn page(hit: Option<&CHit>) -> u32 {
    hit.map_or(0, |h| h.page)
}

/// Writes a hit's line range; false (outputs untouched) when it has none.
///
/// # Safety
/// `first` and `last` are NULL or writable.
pub(crate) unsafe fn lines(hit: Option<&CHit>, first: *mut u32, last: *mut u32) -> bool {
    let Some((a, b)) = hit.and_then(|h| h.lines) else {
        return false;
    };
    // SAFETY: NULL or writable per the caller.
    unsafe {
        if !first.is_null() {
            *first = a;
        }
        if !last.is_null() {
            *last = b;
        }
    }
    true
}

/// Ranked passages from `trove_search`, best first. Immutable: may be read
/// from several threads; free once with `trove_results_free`.
#[allow(non_camel_case_types)]
pub struct trove_results {
    hits: Vec<CHit>,
    json: CString,
}

/// Borrows hit `index` of a results handle (None: NULL or out of range).
///
/// # Safety
/// `results` is NULL or live.
unsafe fn hit<'a>(results: *const trove_results, index: usize) -> Option<&'a CHit> {
    // SAFETY: NULL or live per the caller.
    unsafe { results.as_ref() }.and_then(|r| r.hits.get(index))
}

/// Retrieves the passages best matching `query`. `options` may be NULL
/// (8 hits, hybrid, no filters). On success `*results_out` receives a handle
/// the caller owns (free with `trove_results_free`); NULL on failure.
///
/// Thread-safe: searches run in parallel, also while indexing.
///
/// # Safety
/// `engine` is live; `query` is NUL-terminated; `options` is NULL or has
/// `struct_size` set; `results_out` is writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn trove_search(
    engine: *const trove_engine,
    query: *const c_char,
    options: *const trove_search_options,
    results_out: *mut *mut trove_results,
) -> trove_status {
    run(|| {
        // SAFETY: the caller's pointers, as documented.
        unsafe {
            put(results_out, "results_out", std::ptr::null_mut())?;
            let engine = engine_ref(engine)?;
            let query = strings::required(query, "query")?;
            let o = options::read(options)?;
            let search_options = SearchOptions {
                k: match o.k {
                    0 => SearchOptions::default().k,
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
                one_per_document: o.one_per_document,
            };
            let hits = engine.search(query, &search_options)?;
            let results = trove_results {
                json: to_c(&super::json::hits(&hits).to_string()),
                hits: hits.iter().map(CHit::new).collect(),
            };
            *results_out = Box::into_raw(Box::new(results));
            Ok(())
        }
    })
}

/// Number of hits (0 for NULL).
///
/// # Safety
/// `results` is NULL or live.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn trove_results_count(results: *const trove_results) -> usize {
    // SAFETY: NULL or live per the caller.
    run_infallible(0, || {
        unsafe { results.as_ref() }.map_or(0, |r| r.hits.len())
    })
}

/// The passage text of hit `index`. Lent: valid until `trove_results_free`.
/// NULL when `results` is NULL or `index` is out of range.
///
/// # Safety
/// `results` is NULL or live.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn trove_results_text(
    results: *const trove_results,
    index: usize,
) -> *const c_char {
    // SAFETY: NULL or live per the caller.
    run_infallible(std::ptr::null(), || {
        field(unsafe { hit(results, index) }, Field::Text)
    })
}

/// The document title of hit `index`. Lent, as `trove_results_text`.
///
/// # Safety
/// `results` is NULL or live.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn trove_results_title(
    results: *const trove_results,
    index: usize,
) -> *const c_char {
    // SAFETY: NULL or live per the caller.
    run_infallible(std::ptr::null(), || {
        field(unsafe { hit(results, index) }, Field::Title)
    })
}

/// The absolute file path of hit `index`; NULL for text added by the host
/// (see `trove_results_document_id`). Lent, as `trove_results_text`.
///
/// # Safety
/// `results` is NULL or live.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn trove_results_path(
    results: *const trove_results,
    index: usize,
) -> *const c_char {
    // SAFETY: NULL or live per the caller.
    run_infallible(std::ptr::null(), || {
        field(unsafe { hit(results, index) }, Field::Path)
    })
}

/// The document id of hit `index`: the host's id, or the file's path. Lent,
/// as `trove_results_text`.
///
/// # Safety
/// `results` is NULL or live.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn trove_results_document_id(
    results: *const trove_results,
    index: usize,
) -> *const c_char {
    run_infallible(std::ptr::null(), || {
        // SAFETY: NULL or live per the caller.
        field(unsafe { hit(results, index) }, Field::DocumentId)
    })
}

/// The score of hit `index` (higher is better; comparable within one result
/// list only); 0 when out of range.
///
/// # Safety
/// `results` is NULL or live.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn trove_results_score(results: *const trove_results, index: usize) -> f32 {
    // SAFETY: NULL or live per the caller.
    run_infallible(0.0, || {
        unsafe { hit(results, index) }.map_or(0.0, |h| h.score)
    })
}

/// The 1-based PDF page of hit `index`; 0 when it has none or is out of range.
///
/// # Safety
/// `results` is NULL or live.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn trove_results_page(results: *const trove_results, index: usize) -> u32 {
    // SAFETY: NULL or live per the caller.
    run_infallible(0, || page(unsafe { hit(results, index) }))
}

/// The 1-based inclusive line range of hit `index` (text and Markdown):
/// writes it to `first`/`last` (either may be NULL) and returns true; false
/// when it has none or is out of range.
///
/// # Safety
/// `results` is NULL or live; `first`, `last` NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn trove_results_lines(
    results: *const trove_results,
    index: usize,
    first: *mut u32,
    last: *mut u32,
) -> bool {
    // SAFETY: the caller's pointers, as documented.
    run_infallible(false, || unsafe { lines(hit(results, index), first, last) })
}

/// All hits as a JSON array of {document_id, path, title, text, score,
/// page, lines, heading_path, tags}. Lent: valid until `trove_results_free`;
/// NULL for NULL.
///
/// # Safety
/// `results` is NULL or live.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn trove_results_json(results: *const trove_results) -> *const c_char {
    run_infallible(std::ptr::null(), || {
        // SAFETY: NULL or live per the caller.
        unsafe { results.as_ref() }.map_or(std::ptr::null(), |r| r.json.as_ptr())
    })
}

/// Frees results and every string lent from them. NULL is ignored.
///
/// # Safety
/// `results` is NULL or from `trove_search`, freed once.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn trove_results_free(results: *mut trove_results) {
    run_infallible((), || {
        if !results.is_null() {
            // SAFETY: from Box::into_raw per the caller.
            drop(unsafe { Box::from_raw(results) });
        }
    })
}
