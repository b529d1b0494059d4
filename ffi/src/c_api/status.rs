//! The one error convention of the C API: every fallible call returns a
//! `trove_status` and leaves a message for the calling thread in
//! `trove_last_error()`. [`guard`] is the single wrapper every entry point
//! runs its body in: no panic ever unwinds into C.

use std::cell::RefCell;
use std::ffi::{CString, c_char};
use std::panic::{AssertUnwindSafe, catch_unwind};

use trove::ErrorKind;

/// Result of every fallible trove_ call. TROVE_STATUS_OK is 0; any other
/// value means the call failed and trove_last_error() says why.
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
    /// reembed set to convert it).
    IncompatibleStore = 5,
    /// A model file is missing, of the wrong kind, or failed to run.
    Model = 6,
    /// The call was cancelled through its trove_cancel_token, or its
    /// callback asked to stop.
    Cancelled = 7,
    /// The store is in use by another process.
    Busy = 8,
    /// A bug inside trove (a caught panic). Please report the message.
    Internal = 9,
}

impl trove_status {
    const ALL: [(trove_status, &'static str); 10] = [
        (trove_status::Ok, "TROVE_STATUS_OK\0"),
        (
            trove_status::InvalidArgument,
            "TROVE_STATUS_INVALID_ARGUMENT\0",
        ),
        (trove_status::NotFound, "TROVE_STATUS_NOT_FOUND\0"),
        (trove_status::Io, "TROVE_STATUS_IO\0"),
        (trove_status::CorruptStore, "TROVE_STATUS_CORRUPT_STORE\0"),
        (
            trove_status::IncompatibleStore,
            "TROVE_STATUS_INCOMPATIBLE_STORE\0",
        ),
        (trove_status::Model, "TROVE_STATUS_MODEL\0"),
        (trove_status::Cancelled, "TROVE_STATUS_CANCELLED\0"),
        (trove_status::Busy, "TROVE_STATUS_BUSY\0"),
        (trove_status::Internal, "TROVE_STATUS_INTERNAL\0"),
    ];
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

/// What an entry point returns when its body panicked: its "nothing" value.
pub(crate) trait OnPanic {
    fn on_panic() -> Self;
}

impl OnPanic for trove_status {
    fn on_panic() -> Self {
        trove_status::Internal
    }
}

impl<T> OnPanic for *const T {
    fn on_panic() -> Self {
        std::ptr::null()
    }
}

impl<T> OnPanic for *mut T {
    fn on_panic() -> Self {
        std::ptr::null_mut()
    }
}

macro_rules! on_panic_default {
    ($($t:ty),*) => {$(
        impl OnPanic for $t {
            fn on_panic() -> Self {
                <$t>::default()
            }
        }
    )*};
}
on_panic_default!((), bool, u32, u64, usize, f32, f64);

/// Runs an entry point's body; a panic becomes the return type's "nothing"
/// value (TROVE_STATUS_INTERNAL for status-returning calls) and leaves its
/// message for trove_last_error().
pub(crate) fn guard<T: OnPanic>(body: impl FnOnce() -> T) -> T {
    catch_unwind(AssertUnwindSafe(body)).unwrap_or_else(|panic| {
        set_last_error(&format!("internal error: {}", panic_message(&*panic)));
        T::on_panic()
    })
}

/// Runs the body of a fallible entry point inside [`guard`] and records its
/// outcome for trove_last_error() ("" after success).
pub(crate) fn call(body: impl FnOnce() -> Result<(), Failure>) -> trove_status {
    guard(|| match body() {
        Ok(()) => {
            set_last_error("");
            trove_status::Ok
        }
        Err(failure) => {
            set_last_error(&failure.message);
            failure.status
        }
    })
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
/// valid until the next trove call on this thread; copy it to keep it.
///
/// Thread-safe: each thread has its own message.
#[unsafe(no_mangle)]
pub extern "C" fn trove_last_error() -> *const c_char {
    guard(|| LAST_ERROR.with(|slot| slot.borrow().as_ptr()))
}

/// A constant name for a status value, e.g. "TROVE_STATUS_NOT_FOUND", or
/// "TROVE_STATUS_UNKNOWN" for a value that is not a trove_status. Never
/// NULL; static storage.
#[unsafe(no_mangle)]
pub extern "C" fn trove_status_name(status: i32) -> *const c_char {
    guard(|| {
        let name = trove_status::ALL
            .iter()
            .find(|(s, _)| *s as i32 == status)
            .map_or("TROVE_STATUS_UNKNOWN\0", |(_, name)| name);
        name.as_ptr().cast()
    })
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

    fn name(status: i32) -> String {
        unsafe { CStr::from_ptr(trove_status_name(status)) }
            .to_string_lossy()
            .into_owned()
    }

    #[test]
    fn a_panic_becomes_internal_with_its_message() {
        let status = call(|| panic!("boom"));
        assert_eq!(status, trove_status::Internal);
        assert_eq!(last_error(), "internal error: boom");
        let ptr: *const u8 = guard(|| panic!("in an accessor"));
        assert!(ptr.is_null());
        assert_eq!(last_error(), "internal error: in an accessor");
    }

    #[test]
    fn success_clears_the_message_and_failures_keep_theirs() {
        assert_eq!(
            call(|| Err(Failure::invalid("bad"))),
            trove_status::InvalidArgument
        );
        assert_eq!(last_error(), "bad");
        assert_eq!(call(|| Ok(())), trove_status::Ok);
        assert_eq!(last_error(), "");
    }

    #[test]
    fn messages_are_per_thread() {
        call(|| Err(Failure::invalid("main thread")));
        std::thread::spawn(|| {
            assert_eq!(last_error(), "");
            call(|| Err(Failure::invalid("other thread")));
        })
        .join()
        .unwrap();
        assert_eq!(last_error(), "main thread");
    }

    #[test]
    fn every_status_has_its_name_and_any_other_integer_is_unknown() {
        for (status, expected) in trove_status::ALL {
            assert_eq!(name(status as i32), expected.trim_end_matches('\0'));
        }
        for other in [-1, 10, i32::MAX, i32::MIN] {
            assert_eq!(name(other), "TROVE_STATUS_UNKNOWN");
        }
    }
}
