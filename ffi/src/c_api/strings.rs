//! Strings across the boundary: C strings in (checked for NULL and UTF-8),
//! owned C strings out (freed with `trove_string_free`).

use std::ffi::{CStr, CString, c_char};
use std::path::PathBuf;

use super::status::{Failure, run_infallible};

/// Borrows a required UTF-8 argument; `name` is the parameter's name in
/// the header, for the error message.
///
/// # Safety
/// `ptr` is NULL or a NUL-terminated string alive for `'a`.
pub(crate) unsafe fn required<'a>(ptr: *const c_char, name: &str) -> Result<&'a str, Failure> {
    // SAFETY: forwarded to the caller.
    unsafe { optional(ptr, name) }?.ok_or_else(|| Failure::invalid(format!("`{name}` is NULL")))
}

/// Borrows an optional UTF-8 argument: NULL gives `None`.
///
/// # Safety
/// `ptr` is NULL or a NUL-terminated string alive for `'a`.
pub(crate) unsafe fn optional<'a>(
    ptr: *const c_char,
    name: &str,
) -> Result<Option<&'a str>, Failure> {
    if ptr.is_null() {
        return Ok(None);
    }
    // SAFETY: non-NULL and NUL-terminated per the caller.
    let bytes = unsafe { CStr::from_ptr(ptr) };
    bytes.to_str().map(Some).map_err(|e| {
        Failure::invalid(format!(
            "`{name}` is not valid UTF-8 (invalid byte at offset {})",
            e.valid_up_to()
        ))
    })
}

/// A required path argument (UTF-8, not empty).
///
/// # Safety
/// As [`required`].
pub(crate) unsafe fn path(ptr: *const c_char, name: &str) -> Result<PathBuf, Failure> {
    // SAFETY: forwarded to the caller.
    let s = unsafe { required(ptr, name) }?;
    if s.is_empty() {
        return Err(Failure::invalid(format!("`{name}` is empty")));
    }
    Ok(PathBuf::from(s))
}

/// Reads `count` UTF-8 strings from a C array (NULL with count 0 is empty).
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
            "`{name}` is NULL but its count is {count}"
        )));
    }
    // SAFETY: `count` readable pointers per the caller.
    let items = unsafe { std::slice::from_raw_parts(array, count) };
    items
        .iter()
        .enumerate()
        // SAFETY: each item is a C string per the caller.
        .map(|(i, &p)| unsafe { required(p, &format!("{name}[{i}]")) }.map(str::to_owned))
        .collect()
}

/// A C copy of `s`. Text never holds NUL in practice; one would end the C
/// string early, so it is replaced by U+FFFD instead.
pub(crate) fn to_c(s: &str) -> CString {
    CString::new(s).unwrap_or_else(|_| {
        CString::new(s.replace('\0', "\u{FFFD}")).expect("NUL bytes were replaced")
    })
}

/// Hands an owned string to C; it must come back through `trove_string_free`.
pub(crate) fn give(s: &str) -> *mut c_char {
    to_c(s).into_raw()
}

/// Frees a string that trove handed out (JSON renderings and the like).
/// NULL is ignored. Never pass strings that trove only lent (accessor
/// results, `trove_last_error`, callback arguments).
///
/// # Safety
/// `s` is NULL or a string returned by trove as caller-owned, freed once.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn trove_string_free(s: *mut c_char) {
    run_infallible((), || {
        if !s.is_null() {
            // SAFETY: it came from `CString::into_raw` per the caller.
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
        let err = unsafe { required(bad.as_ptr().cast(), "query") }.unwrap_err();
        assert!(
            err.message.contains("`query` is not valid UTF-8"),
            "{}",
            err.message
        );
        assert!(err.message.contains("offset 3"));
    }

    #[test]
    fn null_is_none_or_an_error() {
        assert!(
            unsafe { optional(std::ptr::null(), "x") }
                .unwrap()
                .is_none()
        );
        assert!(unsafe { required(std::ptr::null(), "x") }.is_err());
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
}
