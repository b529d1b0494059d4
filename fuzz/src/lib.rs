//! The parts of trove-core the harnesses fuzz, compiled from core/src
//! itself (see Cargo.toml for why), under the paths core/src uses.

// Only part of each is reached from the parsers.
#[allow(dead_code)]
#[path = "../../core/src/cancel.rs"]
mod cancel;
#[allow(dead_code)]
#[path = "../../core/src/error.rs"]
mod error;
#[path = "../../core/src/ingest/mod.rs"]
pub mod ingest;

pub use cancel::CancelToken;
pub use error::{Error, ErrorKind, Result};
pub use ingest::{Metadata, metadata_from_json};

/// Stand-ins, with the same variants and fields, for the three engine
/// types the C ABI's options are turned into (the real ones live beside
/// the search and answer code, which the parsers do not need), so that
/// the c_abi harness compiles ffi/src/c_api's own option code.
#[derive(Debug, Clone, Copy)]
pub enum SearchMode {
    Hybrid,
    Vector,
    Keyword,
}

#[derive(Debug, Clone, Copy)]
pub enum AnswerStrategy {
    Extractive,
    Generative,
    Quote,
}

#[derive(Debug, Clone, Default)]
pub struct SearchFilters {
    pub path_prefix: Option<String>,
    pub document_ids: Vec<String>,
    pub tags: Vec<String>,
}
