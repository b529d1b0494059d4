//! One error enum mirroring the engine's error kinds: Swift sees a thrown
//! `TroveError`, Kotlin a `TroveException` subclass, Python an exception.

use std::fmt;

/// Why a call failed. Every case carries a message naming the fix.
///
/// Flat: the bindings see each case with one message (Kotlin's
/// `Throwable.message`, Swift's associated `message`, Python's `str(e)`),
/// taken from `Display`.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Error)]
#[uniffi(flat_error)]
pub enum TroveError {
    /// A bad argument: empty question, unknown option, invalid metadata.
    InvalidInput { message: String },
    /// A file, folder, model or document that does not exist.
    NotFound { message: String },
    /// Reading or writing a file failed.
    Io { message: String },
    /// The store's files are damaged.
    CorruptStore { message: String },
    /// The store was built with another embedding model; open it with
    /// `reembed = true` to convert it.
    IncompatibleStore { message: String },
    /// A model file is missing, of the wrong kind, or failed to run.
    Model { message: String },
    /// Cancelled through a `CancelToken`, a listener returning false, or
    /// the caller's task being cancelled.
    Cancelled { message: String },
    /// The store is in use by another process.
    Busy { message: String },
    /// A bug inside trove (a caught panic). Please report the message.
    Internal { message: String },
}

impl TroveError {
    fn message(&self) -> &str {
        match self {
            TroveError::InvalidInput { message }
            | TroveError::NotFound { message }
            | TroveError::Io { message }
            | TroveError::CorruptStore { message }
            | TroveError::IncompatibleStore { message }
            | TroveError::Model { message }
            | TroveError::Cancelled { message }
            | TroveError::Busy { message }
            | TroveError::Internal { message } => message,
        }
    }
}

impl fmt::Display for TroveError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.message())
    }
}

impl std::error::Error for TroveError {}

impl From<trove::Error> for TroveError {
    fn from(e: trove::Error) -> Self {
        use trove::ErrorKind as K;
        let message = e.message().to_owned();
        match e.kind() {
            K::InvalidInput => TroveError::InvalidInput { message },
            K::NotFound => TroveError::NotFound { message },
            K::Io => TroveError::Io { message },
            K::CorruptStore => TroveError::CorruptStore { message },
            K::IncompatibleStore => TroveError::IncompatibleStore { message },
            K::Model => TroveError::Model { message },
            K::Cancelled => TroveError::Cancelled { message },
            K::Busy => TroveError::Busy { message },
        }
    }
}
