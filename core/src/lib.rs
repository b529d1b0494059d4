//! trove: an embedded, on-device RAG knowledge-base engine.
//!
//! Index local documents (Markdown as Obsidian writes it, plain text, PDF,
//! web pages, DOCX, ODT, EPUB, canvas boards, text handed over by the host
//! app), retrieve the passages that match a question (hybrid keyword +
//! vector search), and answer with a bundled GGUF model that cites its
//! sources — all in-process, with no network access.
//!
//! ```no_run
//! use trove::{Engine, EngineConfig, IndexOptions};
//!
//! # fn main() -> trove::Result<()> {
//! let engine = Engine::open(EngineConfig::new("notes.trove", "models"))?;
//! let summary = engine.index_path("examples/notes", IndexOptions::default())?;
//! println!("{} files indexed, {} failed", summary.files_indexed, summary.files_failed);
//!
//! let answer = engine.ask("What brew temperature do I use?", &Default::default(), &mut |t| {
//!     print!("{t}");
//!     true
//! })?;
//! for citation in &answer.citations {
//!     println!("[{}] {:?} lines {:?}", citation.n, citation.hit.path, citation.hit.lines);
//! }
//! // Every result type serializes to the JSON the CLI and the C ABI print.
//! println!("{}", serde_json::to_string(&answer).unwrap());
//! # Ok(()) }
//! ```

pub mod analysis;
mod answer;
mod cancel;
mod chunk;
mod config;
mod conversation;
mod embed;
mod embedding;
mod engine;
mod error;
mod explain;
mod index;
pub mod ingest;
mod links;
mod llama_backend;
pub mod llm;
mod models;
mod report;
mod search;
mod serde_path;
mod store;
mod walk;
mod watch;

pub use answer::{
    AnswerSentence, AnswerStrategy, DEFAULT_MIN_DRAFT_SUPPORT, DEFAULT_MIN_GROUNDING, Grounding,
    GroundingSignals, Support,
};
pub use cancel::CancelToken;
pub use chunk::ChunkingOptions;
/// Chunking as the indexer does it, for the keyword eval harness
/// (`core/examples/keyword_eval.rs`); not a stable API.
#[doc(hidden)]
pub use chunk::{Chunk, chunk_document};
pub use config::{EngineConfig, ModelPaths};
pub use conversation::{Conversation, HistoryUse, Turn};
pub use embed::ModelFingerprint;
#[doc(hidden)]
pub use embed::PassageVectors;
pub use embedding::EmbeddingStatus;
pub use engine::{Answer, AskOptions, AskTimings, Citation, Engine, IndexOptions, Stats};
pub use error::{Error, ErrorKind, Result};
pub use explain::{DocumentState, DocumentStatus, EXPLAIN_DEPTH, Explanation, RankEvidence};
pub use index::ProgressFn;
pub use ingest::{Locator, Metadata, metadata_from_json};
pub use links::{DocumentLink, LinkedDocument};
pub use llm::{
    CacheType, GenerationOptions, GpuDevice, GpuSupport, LoraAdapter, MemoryPlan, StopReason,
    gpu_support,
};
pub use models::{ModelInfo, ModelRole, find_models, inspect_model};
pub use report::{
    FileChange, IndexFailure, IndexProgress, IndexRun, IndexSummary, StageTimings, UpdateReport,
};
pub use search::{Hit, LineRange, SearchMode, SearchOptions};
pub use store::{SearchFilters, VectorQuantization};
pub use watch::{WatchEvent, WatchOptions, Watcher};
