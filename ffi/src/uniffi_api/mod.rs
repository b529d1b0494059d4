//! The UniFFI surface: Swift, Kotlin and Python see an `Engine` object,
//! records, listener interfaces and one error enum. Generated bindings live
//! in `bindings/`.

mod engine;
mod error;
mod listeners;
mod records;
mod thread_future;

pub use engine::{CancelToken, Engine, Watcher, gpu_support};
pub use error::TroveError;
pub use listeners::{ProgressListener, TokenListener, WatchListener};
pub use records::*;
