//! The one error convention of the C API: every fallible call returns a
//! `trove_status` and leaves a message for the calling thread in
//! `trove_last_error()`. Panics are caught here and never unwind into C.

use std::cell::RefCell;
use std::ffi::{CString, c_char};
use std::panic::{AssertUnwindSafe, catch_unwind};

use trove::ErrorKind;

/// Result of every fallible `trove_*` call. `TROVE_STATUS_OK` is 0; any
/// other value means the call failed and `trove_last_error()` says why.
#[allow(non_camel_case_types)]
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum trove_status {
    /// Success.
    Ok = 0,
    /// A NULL or invalid argument: bad UTF-8, an empty id, an unknown
    /// mode, options of the wrong size.
    InvalidArgument = 1,
    /// A file, folder, model or document that does not exist.
    NotFound = 2,
    /// Reading or writing a file failed.
    Io = 3,
    /// The store's files are damaged.
    CorruptStore = 4,
    /// The store was built with another embedding model (open it with
    /// `reembed` set to convert it).
    IncompatibleStore = 5,
    /// A model file is missing, of the wrong kind, or failed to run.
    Model = 6,
    /// The call was cancelled through its `trove_cancel_token`, or its
    /// progress callback returned false.
    Cancelled = 7,
    /// The store is in use by another process.
    Busy = 8,
    /// A bug inside trove (a caught panic). Please report the message.
    Internal = 9,
}

/// A failure on its way to C: a status and a message.
#[derive(Debug)]
pub(crate) struct Failure {
    pub status: trove_status,
    pub message: String,
}

impl Failure {
    pub fn invalid(message: impl Into<String>) -> Self {
        Failure {
            status: trove_status::InvalidArgument,
            message: message.into(),
        }
    }
}

impl From<trove::Error> for Failure {
    fn from(e: trove::Error) -> Self {
        let status = match e.kind() {
            ErrorKind::InvalidInput => trove_status::InvalidArgument,
            ErrorKind::NotFound => trove_status::NotFound,
            ErrorKind::Io => trove_status::Io,
            ErrorKind::CorruptStore => trove_status::CorruptStore,
            ErrorKind::IncompatibleStore => trove_status::IncompatibleStore,
            ErrorKind::Model => trove_status::Model,
            ErrorKind::Cancelled => trove_status::Cancelled,
            ErrorKind::Busy => trove_status::Busy,
        };
        Failure {
            status,
            message: e.to_string(),
        }
    }
}

thread_local! {
    static LAST_ERROR: RefCell<CString> = RefCell::new(CString::default());
}

fn set_last_error(message: &str) {
    let message = CString::new(message.replace('\0', "\u{FFFD}")).unwrap_or_default();
    LAST_ERROR.with(|slot| *slot.borrow_mut() = message);
}

/// Runs the body of a status-returning entry point: records the outcome
/// for `trove_last_error` and turns a panic into `TROVE_STATUS_INTERNAL`.
pub(crate) fn run(body: impl FnOnce() -> Result<(), Failure>) -> trove_status {
    match catch_unwind(AssertUnwindSafe(body)) {
        Ok(Ok(())) => {
            set_last_error("");
            trove_status::Ok
        }
        Ok(Err(failure)) => {
            set_last_error(&failure.message);
            failure.status
        }
        Err(panic) => {
            set_last_error(&format!("internal error: {}", panic_message(&*panic)));
            trove_status::Internal
        }
    }
}

/// Runs the body of an entry point that cannot report errors (accessors,
/// frees): a panic yields `fallback` instead of unwinding into C.
pub(crate) fn run_infallible<T>(fallback: T, body: impl FnOnce() -> T) -> T {
    catch_unwind(AssertUnwindSafe(body)).unwrap_or(fallback)
}

fn panic_message(panic: &(dyn std::any::Any + Send)) -> &str {
    if let Some(s) = panic.downcast_ref::<&str>() {
        s
    } else if let Some(s) = panic.downcast_ref::<String>() {
        s
    } else {
        "panic"
    }
}

/// The message of the last failed call made by this thread ("" after a
/// call that succeeded). Never NULL. The string belongs to trove and stays
/// valid until the next `trove_*` call on this thread; copy it to keep it.
///
/// Thread-safe: each thread has its own message.
#[unsafe(no_mangle)]
pub extern "C" fn trove_last_error() -> *const c_char {
    LAST_ERROR.with(|slot| slot.borrow().as_ptr())
}

/// A constant name for a status, e.g. "TROVE_STATUS_NOT_FOUND". Never NULL;
/// static storage.
#[unsafe(no_mangle)]
pub extern "C" fn trove_status_name(status: trove_status) -> *const c_char {
    let name: &'static [u8] = match status {
        trove_status::Ok => b"TROVE_STATUS_OK\0",
        trove_status::InvalidArgument => b"TROVE_STATUS_INVALID_ARGUMENT\0",
        trove_status::NotFound => b"TROVE_STATUS_NOT_FOUND\0",
        trove_status::Io => b"TROVE_STATUS_IO\0",
        trove_status::CorruptStore => b"TROVE_STATUS_CORRUPT_STORE\0",
        trove_status::IncompatibleStore => b"TROVE_STATUS_INCOMPATIBLE_STORE\0",
        trove_status::Model => b"TROVE_STATUS_MODEL\0",
        trove_status::Cancelled => b"TROVE_STATUS_CANCELLED\0",
        trove_status::Busy => b"TROVE_STATUS_BUSY\0",
        trove_status::Internal => b"TROVE_STATUS_INTERNAL\0",
    };
    name.as_ptr().cast()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::ffi::CStr;

    fn last_error() -> String {
        unsafe { CStr::from_ptr(trove_last_error()) }
            .to_string_lossy()
            .into_owned()
    }

    #[test]
    fn a_panic_becomes_internal_with_its_message() {
        let status = run(|| panic!("boom"));
        assert_eq!(status, trove_status::Internal);
        assert_eq!(last_error(), "internal error: boom");
    }

    #[test]
    fn success_clears_the_message_and_failures_keep_theirs() {
        assert_eq!(
            run(|| Err(Failure::invalid("bad"))),
            trove_status::InvalidArgument
        );
        assert_eq!(last_error(), "bad");
        assert_eq!(run(|| Ok(())), trove_status::Ok);
        assert_eq!(last_error(), "");
    }

    #[test]
    fn messages_are_per_thread() {
        run(|| Err(Failure::invalid("main thread")));
        std::thread::spawn(|| {
            assert_eq!(last_error(), "");
            run(|| Err(Failure::invalid("other thread")));
        })
        .join()
        .unwrap();
        assert_eq!(last_error(), "main thread");
    }
}
