//! One error type for the whole engine, with stable kinds that bindings map
//! one-to-one (C status codes, UniFFI error variants).

use std::fmt;

/// What went wrong, stable across releases: hosts branch on this, not on text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorKind {
    /// The caller passed something unusable (empty query, bad option, bad JSON).
    InvalidInput,
    /// A document, file or model file does not exist.
    NotFound,
    /// Reading or writing a file failed.
    Io,
    /// The store's files are damaged beyond automatic repair.
    CorruptStore,
    /// The store was built with another embedding model (or a newer schema).
    IncompatibleStore,
    /// A model could not be loaded or run (wrong file, too large, runtime failure).
    Model,
    /// The operation was cancelled by the caller.
    Cancelled,
    /// Another writer holds the store; try again later.
    Busy,
}

impl ErrorKind {
    /// A short, stable, lower-case name (used in JSON and logs).
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorKind::InvalidInput => "invalid_input",
            ErrorKind::NotFound => "not_found",
            ErrorKind::Io => "io",
            ErrorKind::CorruptStore => "corrupt_store",
            ErrorKind::IncompatibleStore => "incompatible_store",
            ErrorKind::Model => "model",
            ErrorKind::Cancelled => "cancelled",
            ErrorKind::Busy => "busy",
        }
    }
}

/// An engine error: a stable [`ErrorKind`] and a message that tells the user what to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error {
    kind: ErrorKind,
    message: String,
}

impl Error {
    /// Builds an error of `kind` with a human-readable `message`.
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        Error {
            kind,
            message: message.into(),
        }
    }

    /// The stable kind of this error.
    pub fn kind(&self) -> ErrorKind {
        self.kind
    }

    /// The human-readable message (without the kind prefix).
    pub fn message(&self) -> &str {
        &self.message
    }

    pub(crate) fn invalid(message: impl Into<String>) -> Self {
        Error::new(ErrorKind::InvalidInput, message)
    }

    pub(crate) fn model(message: impl Into<String>) -> Self {
        Error::new(ErrorKind::Model, message)
    }

    pub(crate) fn cancelled() -> Self {
        Error::new(ErrorKind::Cancelled, "cancelled by the caller")
    }

    pub(crate) fn io(context: impl fmt::Display, err: std::io::Error) -> Self {
        let kind = if err.kind() == std::io::ErrorKind::NotFound {
            ErrorKind::NotFound
        } else {
            ErrorKind::Io
        };
        Error::new(kind, format!("{context}: {err}"))
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Error {}

/// Result alias used throughout the engine.
pub type Result<T, E = Error> = std::result::Result<T, E>;
