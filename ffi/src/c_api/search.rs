//! Searching, and the results handle.

use std::ffi::{CString, c_char};

use trove::SearchOptions;

use super::engine::{engine_ref, put, trove_engine};
use super::hit::trove_hit;
use super::options::{self, trove_search_options};
use super::status::{call, guard, trove_status};
use super::strings::{self, lend, to_c};

/// Ranked passages from trove_search, best first. Immutable: may be read
/// from several threads; free once with trove_results_free.
#[allow(non_camel_case_types)]
pub struct trove_results {
    hits: Vec<trove_hit>,
    json: CString,
}

/// Retrieves the passages best matching a query: query_len bytes of UTF-8
/// at query, or a NUL-terminated query with TROVE_NUL_TERMINATED. options
/// may be NULL (8 hits, hybrid, no filters). On success *results_out
/// receives a handle the caller owns (free with trove_results_free); NULL
/// on failure.
///
/// Thread-safe: searches run in parallel, also while indexing.
///
/// Safety: engine is live; query holds query_len bytes (or is
/// NUL-terminated); options is NULL or has struct_size set; results_out is
/// writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn trove_search(
    engine: *const trove_engine,
    query: *const c_char,
    query_len: usize,
    options: *const trove_search_options,
    results_out: *mut *mut trove_results,
) -> trove_status {
    call(|| {
        // SAFETY: the caller's pointers, as documented.
        unsafe {
            put(results_out, "results_out", std::ptr::null_mut())?;
            let engine = engine_ref(engine)?;
            let query = strings::required(query, query_len, "query")?;
            let o = options::read(options)?;
            let retrieval = o.retrieval(SearchOptions::default().k)?;
            let search_options = SearchOptions {
                k: retrieval.k,
                mode: retrieval.mode,
                filters: retrieval.filters,
                one_per_document: options::flag(o.one_per_document),
            };
            let hits = engine.search(query, &search_options)?;
            let results = trove_results {
                json: to_c(&serde_json::to_string(&hits).expect("hits serialize")),
                hits: hits.iter().map(trove_hit::new).collect(),
            };
            *results_out = Box::into_raw(Box::new(results));
            Ok(())
        }
    })
}

/// Number of hits (0 for NULL).
///
/// Safety: results is NULL or live.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn trove_results_count(results: *const trove_results) -> usize {
    // SAFETY: NULL or live per the caller.
    guard(|| unsafe { results.as_ref() }.map_or(0, |r| r.hits.len()))
}

/// Hit index (0 is the best). Lent: valid until trove_results_free; read it
/// with the trove_hit_ accessors. NULL when results is NULL or index is out
/// of range.
///
/// Safety: results is NULL or live.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn trove_results_hit(
    results: *const trove_results,
    index: usize,
) -> *const trove_hit {
    guard(|| {
        // SAFETY: NULL or live per the caller.
        unsafe { results.as_ref() }
            .and_then(|r| r.hits.get(index))
            .map_or(std::ptr::null(), |h| h as *const trove_hit)
    })
}

/// All hits as a JSON array of hit objects (the shape in README.md, "JSON
/// shapes"). Lent: valid until trove_results_free; *len_out (may be NULL)
/// receives its length. NULL for NULL.
///
/// Safety: results is NULL or live; len_out is NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn trove_results_json(
    results: *const trove_results,
    len_out: *mut usize,
) -> *const c_char {
    guard(|| {
        // SAFETY: the caller's pointers, as documented.
        unsafe { results.as_ref() }.map_or(std::ptr::null(), |r| unsafe { lend(&r.json, len_out) })
    })
}

/// Frees results, their hits and every string lent from them. NULL is
/// ignored.
///
/// Safety: results is NULL or from trove_search, freed once.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn trove_results_free(results: *mut trove_results) {
    guard(|| {
        if !results.is_null() {
            // SAFETY: from Box::into_raw per the caller.
            drop(unsafe { Box::from_raw(results) });
        }
    })
}
