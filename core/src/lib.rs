//! trove: an embedded, on-device RAG knowledge-base engine.

mod cancel;
mod error;

pub use cancel::CancelToken;
pub use error::{Error, ErrorKind, Result};
