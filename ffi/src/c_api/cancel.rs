//! Cancellation tokens: made by the host, passed to long calls, raised from
//! any thread.

use trove::CancelToken;

use super::status::guard;

/// A flag that stops the trove_index_path or trove_ask calls it is passed
/// to. Create with trove_cancel_token_new, free with trove_cancel_token_free
/// once no call uses it any more.
#[allow(non_camel_case_types)]
pub struct trove_cancel_token(pub(crate) CancelToken);

/// A new, un-raised token; NULL only if memory ran out. The caller owns
/// it: free it with trove_cancel_token_free.
#[unsafe(no_mangle)]
pub extern "C" fn trove_cancel_token_new() -> *mut trove_cancel_token {
    guard(|| Box::into_raw(Box::new(trove_cancel_token(CancelToken::new()))))
}

/// Raises the token: calls using it stop as soon as they can (after the
/// current file or embedding batch, or the current generated token) and
/// return TROVE_STATUS_CANCELLED. Work already committed is kept. NULL is
/// ignored.
///
/// Thread-safe: meant to be called from another thread than the one
/// running the call.
///
/// Safety: token is NULL or a live token.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn trove_cancel_token_cancel(token: *const trove_cancel_token) {
    guard(|| {
        // SAFETY: NULL or live per the caller.
        if let Some(token) = unsafe { token.as_ref() } {
            token.0.cancel();
        }
    })
}

/// Lowers a raised token so it can be passed to the next call. NULL is
/// ignored.
///
/// Safety: token is NULL or a live token.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn trove_cancel_token_reset(token: *const trove_cancel_token) {
    guard(|| {
        // SAFETY: NULL or live per the caller.
        if let Some(token) = unsafe { token.as_ref() } {
            token.0.reset();
        }
    })
}

/// Frees a token. NULL is ignored. No call may be using it.
///
/// Safety: token is NULL or a token from trove_cancel_token_new, freed once.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn trove_cancel_token_free(token: *mut trove_cancel_token) {
    guard(|| {
        if !token.is_null() {
            // SAFETY: from Box::into_raw per the caller.
            drop(unsafe { Box::from_raw(token) });
        }
    })
}

/// The core token behind an optional C token (a fresh one when NULL).
///
/// # Safety
/// `token` is NULL or a live token.
pub(crate) unsafe fn token_of(token: *const trove_cancel_token) -> CancelToken {
    // SAFETY: NULL or live per the caller.
    unsafe { token.as_ref() }
        .map(|t| t.0.clone())
        .unwrap_or_default()
}
