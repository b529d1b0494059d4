//! Interfaces the host implements to receive progress, answer text and
//! watch events. They may be called from engine threads (not the caller's
//! thread), so implementations must be thread-safe.

use super::records::{IndexProgress, WatchEvent};

/// Receives indexing progress after each file and each embedding batch.
#[uniffi::export(with_foreign)]
pub trait ProgressListener: Send + Sync {
    /// Return true to go on, false to stop indexing (the call then fails
    /// with `Cancelled`; committed work is kept).
    fn on_progress(&self, progress: IndexProgress) -> bool;
}

/// Receives the answer as it is generated.
#[uniffi::export(with_foreign)]
pub trait TokenListener: Send + Sync {
    /// One piece of the answer. Return true to go on, false to stop: the
    /// answer so far is returned with stop reason `Callback`.
    fn on_token(&self, piece: String) -> bool;
}

/// Receives the changes a watcher indexed, on the watcher's own thread.
#[uniffi::export(with_foreign)]
pub trait WatchListener: Send + Sync {
    /// One change, once searchable. Return true to go on, false to stop
    /// watching.
    fn on_event(&self, event: WatchEvent) -> bool;
}
