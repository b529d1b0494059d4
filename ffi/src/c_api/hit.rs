//! A retrieved passage, lent by a results or answer handle: one accessor
//! family serves search results, an answer's passages and its citations.

use std::ffi::{CString, c_char};

use trove::Hit;

use super::status::guard;
use super::strings::{lend, to_c};

/// One retrieved passage. Lent by trove_results_hit, trove_answer_passage
/// and trove_answer_citation_hit: valid until the handle it came from is
/// freed; never freed by itself. Immutable: may be read from any thread.
#[allow(non_camel_case_types)]
pub struct trove_hit {
    chunk_id: u64,
    document_id: CString,
    path: Option<CString>,
    title: CString,
    text: CString,
    score: f32,
    page: u32,
    lines: Option<(u32, u32)>,
    locator: Option<CString>,
    heading_path: Vec<CString>,
    tags: Vec<CString>,
    embedded: bool,
}

impl trove_hit {
    pub(crate) fn new(h: &Hit) -> Self {
        trove_hit {
            chunk_id: h.chunk_id,
            document_id: to_c(&h.document_id),
            path: h.path.as_deref().map(to_c),
            title: to_c(&h.title),
            text: to_c(&h.text),
            score: h.score,
            page: h.page.unwrap_or(0),
            lines: h.lines.map(|l| (l.first, l.last)),
            locator: h.locator.as_ref().map(|l| to_c(&l.to_string())),
            embedded: h.embedded,
            heading_path: h.heading_path.iter().map(|s| to_c(s)).collect(),
            tags: h.tags.iter().map(|s| to_c(s)).collect(),
        }
    }
}

/// Reads a field of a hit, lending a string with its length; NULL hit, or
/// a missing field, gives NULL (and a length of 0).
///
/// # Safety
/// `hit` is NULL or live; `len_out` is NULL or writable.
unsafe fn string(
    hit: *const trove_hit,
    len_out: *mut usize,
    field: impl FnOnce(&trove_hit) -> Option<&CString>,
) -> *const c_char {
    guard(|| {
        if !len_out.is_null() {
            // SAFETY: writable per the caller.
            unsafe { *len_out = 0 };
        }
        // SAFETY: NULL or live per the caller.
        match unsafe { hit.as_ref() }.and_then(field) {
            // SAFETY: len_out as above.
            Some(s) => unsafe { lend(s, len_out) },
            None => std::ptr::null(),
        }
    })
}

/// The passage text (UTF-8, NUL-terminated). Lent; *len_out (may be NULL)
/// receives its length in bytes. NULL for a NULL hit.
///
/// Safety: hit is NULL or lent by a live handle; len_out is NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn trove_hit_text(
    hit: *const trove_hit,
    len_out: *mut usize,
) -> *const c_char {
    // SAFETY: the caller's pointers, as documented.
    unsafe { string(hit, len_out, |h| Some(&h.text)) }
}

/// The document title. Lent, as trove_hit_text.
///
/// Safety: as trove_hit_text.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn trove_hit_title(
    hit: *const trove_hit,
    len_out: *mut usize,
) -> *const c_char {
    // SAFETY: the caller's pointers, as documented.
    unsafe { string(hit, len_out, |h| Some(&h.title)) }
}

/// The document id: the host's id for added text, the file's absolute path
/// otherwise. Lent, as trove_hit_text.
///
/// Safety: as trove_hit_text.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn trove_hit_document_id(
    hit: *const trove_hit,
    len_out: *mut usize,
) -> *const c_char {
    // SAFETY: the caller's pointers, as documented.
    unsafe { string(hit, len_out, |h| Some(&h.document_id)) }
}

/// The absolute file path; NULL for text added by the host. Lent, as
/// trove_hit_text.
///
/// Safety: as trove_hit_text.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn trove_hit_path(
    hit: *const trove_hit,
    len_out: *mut usize,
) -> *const c_char {
    // SAFETY: the caller's pointers, as documented.
    unsafe { string(hit, len_out, |h| h.path.as_ref()) }
}

/// Number of enclosing headings (0 for NULL).
///
/// Safety: hit is NULL or lent by a live handle.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn trove_hit_heading_count(hit: *const trove_hit) -> usize {
    // SAFETY: NULL or live per the caller.
    guard(|| unsafe { hit.as_ref() }.map_or(0, |h| h.heading_path.len()))
}

/// Enclosing heading index, outermost first; NULL when out of range. Lent,
/// as trove_hit_text.
///
/// Safety: as trove_hit_text.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn trove_hit_heading(
    hit: *const trove_hit,
    index: usize,
    len_out: *mut usize,
) -> *const c_char {
    // SAFETY: the caller's pointers, as documented.
    unsafe { string(hit, len_out, |h| h.heading_path.get(index)) }
}

/// Number of the document's tags (0 for NULL).
///
/// Safety: hit is NULL or lent by a live handle.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn trove_hit_tag_count(hit: *const trove_hit) -> usize {
    // SAFETY: NULL or live per the caller.
    guard(|| unsafe { hit.as_ref() }.map_or(0, |h| h.tags.len()))
}

/// The document's tag index; NULL when out of range. Lent, as trove_hit_text.
///
/// Safety: as trove_hit_text.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn trove_hit_tag(
    hit: *const trove_hit,
    index: usize,
    len_out: *mut usize,
) -> *const c_char {
    // SAFETY: the caller's pointers, as documented.
    unsafe { string(hit, len_out, |h| h.tags.get(index)) }
}

/// The score: higher is better, comparable within one result list only; 0
/// for NULL.
///
/// Safety: hit is NULL or lent by a live handle.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn trove_hit_score(hit: *const trove_hit) -> f32 {
    // SAFETY: NULL or live per the caller.
    guard(|| unsafe { hit.as_ref() }.map_or(0.0, |h| h.score))
}

/// The chunk's id in this store (stable until its document changes); 0 for
/// NULL.
///
/// Safety: hit is NULL or lent by a live handle.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn trove_hit_chunk_id(hit: *const trove_hit) -> u64 {
    // SAFETY: NULL or live per the caller.
    guard(|| unsafe { hit.as_ref() }.map_or(0, |h| h.chunk_id))
}

/// Where the passage is in a document without lines or pages (HTML, DOCX,
/// ODT, EPUB, canvas), as a viewer would say it: "chapter 3, ¶ 12–14" or
/// "¶ 4" (UTF-8). Lent, as trove_hit_text; NULL when it has none (the
/// results' JSON gives the parts: chapter, part, first/last paragraph).
///
/// Safety: as trove_hit_text.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn trove_hit_locator(
    hit: *const trove_hit,
    len_out: *mut usize,
) -> *const c_char {
    // SAFETY: the caller's pointers, as documented.
    unsafe { string(hit, len_out, |h| h.locator.as_ref()) }
}

/// Whether the passage has its vector yet; false while it waits for
/// background embedding (found by its keywords only; see
/// trove_engine_options.embed_in_background) and for NULL.
///
/// Safety: hit is NULL or lent by a live handle.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn trove_hit_embedded(hit: *const trove_hit) -> bool {
    // SAFETY: NULL or live per the caller.
    guard(|| unsafe { hit.as_ref() }.is_some_and(|h| h.embedded))
}

/// The 1-based PDF page; 0 when it has none or for NULL.
///
/// Safety: hit is NULL or lent by a live handle.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn trove_hit_page(hit: *const trove_hit) -> u32 {
    // SAFETY: NULL or live per the caller.
    guard(|| unsafe { hit.as_ref() }.map_or(0, |h| h.page))
}

/// The 1-based inclusive line range (text and Markdown): writes it to
/// *first and *last (either may be NULL) and returns true; false (outputs
/// untouched) when it has none or for NULL.
///
/// Safety: hit is NULL or lent by a live handle; first, last NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn trove_hit_lines(
    hit: *const trove_hit,
    first: *mut u32,
    last: *mut u32,
) -> bool {
    guard(|| {
        // SAFETY: NULL or live per the caller.
        let Some((a, b)) = unsafe { hit.as_ref() }.and_then(|h| h.lines) else {
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
    })
}
