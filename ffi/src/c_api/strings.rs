//! Strings across the boundary. In: text as a pointer and a byte length
//! (hosts hand over buffers they hold) or NUL-terminated (paths), checked
//! for NULL and UTF-8. Out: NUL-terminated, lent with their length or owned
//! by the caller and freed with trove_string_free.

use std::ffi::{CStr, CString, c_char};
use std::path::PathBuf;

use super::status::{Failure, guard};

/// A text length meaning "read up to the terminating NUL byte".
pub const TROVE_NUL_TERMINATED: usize = usize::MAX;

/// Borrows a text argument given as `ptr` and a byte length (or
/// TROVE_NUL_TERMINATED); NULL gives `None`. `name` is the parameter's name
/// in the header, for the error message.
///
/// # Safety
/// `ptr` is NULL, or points to `len` readable bytes (a NUL-terminated
/// string when `len` is TROVE_NUL_TERMINATED) alive for `'a`.
pub(crate) unsafe fn optional<'a>(
    ptr: *const c_char,
    len: usize,
    name: &str,
) -> Result<Option<&'a str>, Failure> {
    if ptr.is_null() {
        return Ok(None);
    }
    let bytes = if len == TROVE_NUL_TERMINATED {
        // SAFETY: non-NULL and NUL-terminated per the caller.
        unsafe { CStr::from_ptr(ptr) }.to_bytes()
    } else {
        // SAFETY: `len` readable bytes per the caller.
        unsafe { std::slice::from_raw_parts(ptr.cast::<u8>(), len) }
    };
    std::str::from_utf8(bytes).map(Some).map_err(|e| {
        Failure::invalid(format!(
            "{name} is not valid UTF-8 (invalid byte at offset {})",
            e.valid_up_to()
        ))
    })
}

/// Borrows a required text argument, as [`optional`].
///
/// # Safety
/// As [`optional`].
pub(crate) unsafe fn required<'a>(
    ptr: *const c_char,
    len: usize,
    name: &str,
) -> Result<&'a str, Failure> {
    // SAFETY: forwarded to the caller.
    unsafe { optional(ptr, len, name) }?.ok_or_else(|| Failure::invalid(format!("{name} is NULL")))
}

/// A required NUL-terminated path argument (UTF-8, not empty).
///
/// # Safety
/// `ptr` is NULL or a NUL-terminated string.
pub(crate) unsafe fn path(ptr: *const c_char, name: &str) -> Result<PathBuf, Failure> {
    // SAFETY: forwarded to the caller.
    let s = unsafe { required(ptr, TROVE_NUL_TERMINATED, name) }?;
    if s.is_empty() {
        return Err(Failure::invalid(format!("{name} is empty")));
    }
    Ok(PathBuf::from(s))
}

/// An optional NUL-terminated string argument.
///
/// # Safety
/// `ptr` is NULL or a NUL-terminated string.
pub(crate) unsafe fn optional_c<'a>(
    ptr: *const c_char,
    name: &str,
) -> Result<Option<&'a str>, Failure> {
    // SAFETY: forwarded to the caller.
    unsafe { optional(ptr, TROVE_NUL_TERMINATED, name) }
}

/// Reads `count` NUL-terminated UTF-8 strings from a C array (NULL with
/// count 0 is empty).
///
/// # Safety
/// `array` is NULL or points to `count` valid C strings.
pub(crate) unsafe fn list(
    array: *const *const c_char,
    count: usize,
    name: &str,
) -> Result<Vec<String>, Failure> {
    if count == 0 {
        return Ok(Vec::new());
    }
    if array.is_null() {
        return Err(Failure::invalid(format!(
            "{name} is NULL but its count is {count}"
        )));
    }
    // SAFETY: `count` readable pointers per the caller.
    let items = unsafe { std::slice::from_raw_parts(array, count) };
    items
        .iter()
        .enumerate()
        .map(|(i, &p)| {
            // SAFETY: each item is a C string per the caller.
            unsafe { required(p, TROVE_NUL_TERMINATED, &format!("{name}[{i}]")) }.map(str::to_owned)
        })
        .collect()
}

/// A C copy of `s`. Text never holds NUL in practice; one would end the C
/// string early, so it is replaced by U+FFFD instead.
pub(crate) fn to_c(s: &str) -> CString {
    CString::new(s).unwrap_or_else(|_| {
        CString::new(s.replace('\0', "\u{FFFD}")).expect("NUL bytes were replaced")
    })
}

/// Lends `s` to C: its pointer, and its byte length through `len_out` when
/// that is not NULL.
///
/// # Safety
/// `len_out` is NULL or writable.
pub(crate) unsafe fn lend(s: &CStr, len_out: *mut usize) -> *const c_char {
    if !len_out.is_null() {
        // SAFETY: writable per the caller.
        unsafe { *len_out = s.to_bytes().len() };
    }
    s.as_ptr()
}

/// Hands an owned string to C; it must come back through trove_string_free.
pub(crate) fn give(s: &str) -> *mut c_char {
    to_c(s).into_raw()
}

/// Frees a string that trove handed out as caller-owned (JSON renderings).
/// NULL is ignored. Never pass strings that trove only lent (accessor
/// results, trove_last_error, callback arguments).
///
/// Safety: s is NULL or a string returned by trove as caller-owned, freed once.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn trove_string_free(s: *mut c_char) {
    guard(|| {
        if !s.is_null() {
            // SAFETY: it came from CString::into_raw per the caller.
            drop(unsafe { CString::from_raw(s) });
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn invalid_utf8_is_an_error_naming_the_parameter() {
        let bad = b"caf\xe9\0";
        let err =
            unsafe { required(bad.as_ptr().cast(), TROVE_NUL_TERMINATED, "query") }.unwrap_err();
        assert!(
            err.message.contains("query is not valid UTF-8"),
            "{}",
            err.message
        );
        assert!(err.message.contains("offset 3"));
    }

    #[test]
    fn a_length_reads_exactly_that_many_bytes() {
        let buffer = b"hello world";
        let s = unsafe { required(buffer.as_ptr().cast(), 5, "text") }.unwrap();
        assert_eq!(s, "hello");
        let empty = unsafe { required(buffer.as_ptr().cast(), 0, "text") }.unwrap();
        assert_eq!(empty, "");
        // A length may include NUL bytes; they are text like any other.
        let with_nul = b"a\0b";
        let s = unsafe { required(with_nul.as_ptr().cast(), 3, "text") }.unwrap();
        assert_eq!(s, "a\0b");
        // A multi-byte character cut by the length is invalid UTF-8.
        let cut = "é".as_bytes();
        assert!(unsafe { required(cut.as_ptr().cast(), 1, "text") }.is_err());
    }

    #[test]
    fn null_is_none_or_an_error() {
        assert!(
            unsafe { optional(std::ptr::null(), TROVE_NUL_TERMINATED, "x") }
                .unwrap()
                .is_none()
        );
        assert!(unsafe { required(std::ptr::null(), 3, "x") }.is_err());
        assert!(unsafe { list(std::ptr::null(), 2, "tags") }.is_err());
        assert!(
            unsafe { list(std::ptr::null(), 0, "tags") }
                .unwrap()
                .is_empty()
        );
    }

    #[test]
    fn nul_inside_text_does_not_cut_or_fail() {
        assert_eq!(to_c("a\0b").to_str().unwrap(), "a\u{FFFD}b");
    }

    #[test]
    fn lent_strings_report_their_length() {
        let s = to_c("héllo");
        let mut len = 0;
        let ptr = unsafe { lend(&s, &mut len) };
        assert_eq!((ptr, len), (s.as_ptr(), 6));
        assert_eq!(unsafe { lend(&s, std::ptr::null_mut()) }, s.as_ptr());
    }
}
