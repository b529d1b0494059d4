//! What indexing reports: progress while it runs, a summary when it ends,
//! per-file changes and failures. Plain data that serializes itself, so the
//! CLI, the C ABI's JSON and the bindings all show one shape.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

/// Progress of an indexing run, reported after each file and each batch.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct IndexProgress {
    /// Files finished (indexed, unchanged or failed).
    pub files_done: u64,
    /// Files found.
    pub files_total: u64,
    /// Chunks with new text committed so far: keyword-searchable, and
    /// queued for their vector.
    pub chunks_queued: u64,
    /// Of those, embedded so far (once the files are committed).
    pub chunks_embedded: u64,
    /// Chunks whose stored embedding was reused so far.
    pub chunks_reused: u64,
    /// Bytes of the files finished.
    pub bytes_done: u64,
    /// Bytes of all files found.
    pub bytes_total: u64,
}

/// A file that could not be indexed, and why.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IndexFailure {
    /// The file (or host id).
    pub path: String,
    /// Stable reason code (`binary`, `not_utf8`, `pdf_no_text`, …).
    pub code: String,
    /// A sentence for people, naming the fix.
    pub reason: String,
}

/// Time spent per stage, in milliseconds.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct StageTimings {
    /// Walking folders, reading and parsing files.
    pub read_parse_ms: f64,
    /// Cutting documents into chunks (tokenizer counting included).
    pub chunk_ms: f64,
    /// Running the embedding model.
    pub embed_ms: f64,
    /// SQLite transactions and vector index updates.
    pub write_ms: f64,
}

/// What an indexing call did.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct IndexSummary {
    /// Files (or host documents) considered.
    pub files_seen: u64,
    /// Files (or host documents) (re)indexed.
    pub files_indexed: u64,
    /// Files unchanged since the last run.
    pub files_unchanged: u64,
    /// Documents removed because their file is gone.
    pub files_removed: u64,
    /// Files that could not be indexed.
    pub files_failed: u64,
    /// Why each failed file failed.
    pub failures: Vec<IndexFailure>,
    /// Chunks with new text the call committed and queued for embedding
    /// (a text two chunks share counts once).
    pub chunks_queued: u64,
    /// Texts the call ran through the embedding model: its own, and any an
    /// earlier call left queued.
    pub chunks_embedded: u64,
    /// Chunks of the store still waiting for their vector when the call
    /// returned (0 when it waited; else the background thread embeds
    /// them, and keyword search finds them meanwhile).
    pub chunks_pending: u64,
    /// Chunks that reused a stored embedding of identical text.
    pub chunks_reused: u64,
    /// Bytes of the files (re)indexed.
    pub bytes_indexed: u64,
    /// Wall time of the call.
    pub seconds: f64,
    /// Where the time went.
    pub stages: StageTimings,
}

/// The last indexing run a store remembers: its summary and when it ended.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct IndexRun {
    /// What the run did.
    #[serde(flatten)]
    pub summary: IndexSummary,
    /// When it finished, in seconds since the Unix epoch.
    pub finished_at_unix: u64,
}

/// What an indexing call did to one file's document.
#[derive(Debug, Clone, PartialEq)]
pub enum FileChange {
    /// The file was (re)indexed and is searchable.
    Indexed {
        /// The file.
        path: PathBuf,
        /// Its chunks of new text, which need the embedding model.
        chunks_embedded: u64,
        /// Its chunks that reused a stored embedding of identical text.
        chunks_reused: u64,
    },
    /// The file's document was removed (file gone, or now excluded).
    Removed {
        /// The file the document was indexed from.
        path: PathBuf,
    },
    /// The file could not be indexed.
    Failed(IndexFailure),
}

/// The result of [`Engine::update_paths`](crate::Engine::update_paths): the
/// totals, and each file whose document changed (unchanged files are left out).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct UpdateReport {
    /// Totals, as for an `index_paths` run.
    pub summary: IndexSummary,
    /// Per file, in the order they happened.
    pub changes: Vec<FileChange>,
}
