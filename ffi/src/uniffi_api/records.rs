//! Plain data crossing into Swift, Kotlin and Python, converted from the
//! engine's own types. Fields with `#[uniffi(default)]` may be omitted by
//! callers.

use trove::{SearchFilters, StopReason as CoreStopReason};

/// Where the store and models are, and the engine's knobs.
#[derive(Debug, Clone, uniffi::Record)]
pub struct EngineConfig {
    /// Directory of the knowledge base (created if missing).
    pub store_dir: String,
    /// Models laid out by `make setup`.
    pub models_dir: String,
    /// Threads for embedding and generation; 0: all cores.
    #[uniffi(default)]
    pub threads: u32,
    /// Context window of the answer model in tokens; 0: 2048.
    #[uniffi(default)]
    pub context_size: u32,
    /// Re-embed a store built with another embedding model instead of
    /// failing with `IncompatibleStore`.
    #[uniffi(default)]
    pub reembed: bool,
    /// A GGUF answer model to use instead of the one in `models_dir`.
    #[uniffi(default)]
    pub llm_path: Option<String>,
}

/// Retrievers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum SearchMode {
    /// Keyword (BM25) and vector search fused.
    Hybrid,
    /// Embedding similarity only.
    Vector,
    /// SQLite FTS5 keyword search only.
    Keyword,
}

/// The engine's mode for an optional binding mode (none: hybrid).
fn core_mode(mode: Option<SearchMode>) -> trove::SearchMode {
    match mode {
        None | Some(SearchMode::Hybrid) => trove::SearchMode::Hybrid,
        Some(SearchMode::Vector) => trove::SearchMode::Vector,
        Some(SearchMode::Keyword) => trove::SearchMode::Keyword,
    }
}

/// Options of `Engine.search`. Filters that are set must all hold.
#[derive(Debug, Clone, Default, uniffi::Record)]
pub struct SearchOptions {
    /// Hits wanted; 0: 8.
    #[uniffi(default)]
    pub k: u32,
    /// Retriever; none: hybrid.
    #[uniffi(default)]
    pub mode: Option<SearchMode>,
    /// At most one hit (the best passage) per document.
    #[uniffi(default)]
    pub one_per_document: bool,
    /// Only documents whose path starts with this.
    #[uniffi(default)]
    pub path_prefix: Option<String>,
    /// Only documents with at least one of these tags.
    #[uniffi(default)]
    pub tags: Vec<String>,
    /// Only these documents (paths or host ids).
    #[uniffi(default)]
    pub document_ids: Vec<String>,
}

impl SearchOptions {
    pub(crate) fn to_core(&self) -> trove::SearchOptions {
        trove::SearchOptions {
            k: match self.k {
                0 => trove::SearchOptions::default().k,
                k => k as usize,
            },
            mode: core_mode(self.mode),
            filters: filters(&self.path_prefix, &self.tags, &self.document_ids),
            one_per_document: self.one_per_document,
        }
    }
}

fn filters(path_prefix: &Option<String>, tags: &[String], ids: &[String]) -> SearchFilters {
    SearchFilters {
        path_prefix: path_prefix.clone(),
        tags: tags.to_vec(),
        document_ids: ids.to_vec(),
    }
}

/// Options of `Engine.ask`.
#[derive(Debug, Clone, Default, uniffi::Record)]
pub struct AskOptions {
    /// Passages given to the model; 0: 3.
    #[uniffi(default)]
    pub k: u32,
    /// Retriever; none: hybrid.
    #[uniffi(default)]
    pub mode: Option<SearchMode>,
    /// Most tokens to generate; 0: 256.
    #[uniffi(default)]
    pub max_tokens: u32,
    /// Sampling temperature; 0: greedy.
    #[uniffi(default)]
    pub temperature: f32,
    /// Sampling seed; 0: 42.
    #[uniffi(default)]
    pub seed: u32,
    /// Only documents whose path starts with this.
    #[uniffi(default)]
    pub path_prefix: Option<String>,
    /// Only documents with at least one of these tags.
    #[uniffi(default)]
    pub tags: Vec<String>,
    /// Only these documents (paths or host ids).
    #[uniffi(default)]
    pub document_ids: Vec<String>,
}

impl AskOptions {
    pub(crate) fn to_core(&self, cancel: trove::CancelToken) -> trove::AskOptions {
        let defaults = trove::GenerationOptions::default();
        let or = |v: u32, d: u32| if v == 0 { d } else { v };
        trove::AskOptions {
            k: match self.k {
                0 => trove::AskOptions::default().k,
                k => k as usize,
            },
            mode: core_mode(self.mode),
            filters: filters(&self.path_prefix, &self.tags, &self.document_ids),
            generation: trove::GenerationOptions {
                temperature: self.temperature,
                seed: or(self.seed, defaults.seed),
                max_tokens: or(self.max_tokens, defaults.max_tokens),
                ..defaults
            },
            cancel: Some(cancel),
        }
    }
}

/// A 1-based inclusive line range.
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Record)]
pub struct LineRange {
    pub first: u32,
    pub last: u32,
}

/// One retrieved passage.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct Hit {
    /// The host's id, or the file's absolute path.
    pub document_id: String,
    /// Absolute path for files; none for text added by the host.
    pub path: Option<String>,
    pub title: String,
    pub text: String,
    /// Higher is better; comparable within one result list only.
    pub score: f32,
    /// 1-based PDF page.
    pub page: Option<u32>,
    /// Lines of a text or Markdown file.
    pub lines: Option<LineRange>,
    /// Enclosing headings, outermost first.
    pub heading_path: Vec<String>,
    pub tags: Vec<String>,
}

impl From<&trove::Hit> for Hit {
    fn from(h: &trove::Hit) -> Self {
        Hit {
            document_id: h.document_id.clone(),
            path: h.path.clone(),
            title: h.title.clone(),
            text: h.text.clone(),
            score: h.score,
            page: h.page,
            lines: h.lines.map(|(first, last)| LineRange { first, last }),
            heading_path: h.heading_path.clone(),
            tags: h.tags.clone(),
        }
    }
}

/// A source the answer cites.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct Citation {
    /// `[n]` in the answer.
    pub n: u32,
    /// true: the model wrote no `[n]` and trove found this passage holds
    /// the answer's distinctive words and numbers.
    pub inferred: bool,
    pub hit: Hit,
}

/// Why generation ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum StopReason {
    EndOfText,
    MaxTokens,
    StopString,
    /// The token listener returned false.
    Callback,
}

impl From<CoreStopReason> for StopReason {
    fn from(r: CoreStopReason) -> Self {
        match r {
            CoreStopReason::EndOfText => StopReason::EndOfText,
            CoreStopReason::MaxTokens => StopReason::MaxTokens,
            CoreStopReason::StopString => StopReason::StopString,
            CoreStopReason::Callback => StopReason::Callback,
        }
    }
}

/// Where the time of an answer went.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct AskTimings {
    pub retrieval_ms: f64,
    pub prompt_tokens: u32,
    pub prefill_ms: f64,
    pub ttft_ms: f64,
    pub decode_tokens: u32,
    pub decode_tok_s: f64,
    pub total_ms: f64,
}

/// An answer with its sources.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct Answer {
    /// The answer, with `[n]` marks as the model wrote them.
    pub text: String,
    pub citations: Vec<Citation>,
    /// The passages given to the model; `[n]` is `passages[n - 1]`.
    pub passages: Vec<Hit>,
    pub stop_reason: StopReason,
    pub timings: AskTimings,
}

impl From<&trove::Answer> for Answer {
    fn from(a: &trove::Answer) -> Self {
        let t = &a.timings;
        Answer {
            text: a.text.clone(),
            citations: a
                .citations
                .iter()
                .map(|c| Citation {
                    n: c.n as u32,
                    inferred: c.inferred,
                    hit: (&c.hit).into(),
                })
                .collect(),
            passages: a.passages.iter().map(Hit::from).collect(),
            stop_reason: a.stop_reason.into(),
            timings: AskTimings {
                retrieval_ms: t.retrieval_ms,
                prompt_tokens: t.prompt_tokens,
                prefill_ms: t.prefill_ms,
                ttft_ms: t.ttft_ms,
                decode_tokens: t.decode_tokens,
                decode_tok_s: t.decode_tok_s,
                total_ms: t.total_ms,
            },
        }
    }
}

/// Progress of an indexing call.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct IndexProgress {
    pub files_done: u64,
    pub files_total: u64,
    pub chunks_embedded: u64,
    pub chunks_reused: u64,
    pub bytes_done: u64,
    pub bytes_total: u64,
}

impl From<&trove::IndexProgress> for IndexProgress {
    fn from(p: &trove::IndexProgress) -> Self {
        IndexProgress {
            files_done: p.files_done as u64,
            files_total: p.files_total as u64,
            chunks_embedded: p.chunks_embedded as u64,
            chunks_reused: p.chunks_reused as u64,
            bytes_done: p.bytes_done,
            bytes_total: p.bytes_total,
        }
    }
}

/// A file that could not be indexed.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct IndexFailure {
    pub path: String,
    /// Stable reason code (`binary`, `not_utf8`, `pdf_no_text`, …).
    pub code: String,
    /// A sentence naming the fix.
    pub reason: String,
}

/// What an indexing call did.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct IndexSummary {
    pub files_seen: u64,
    pub files_indexed: u64,
    pub files_unchanged: u64,
    pub files_removed: u64,
    pub files_failed: u64,
    pub failures: Vec<IndexFailure>,
    pub chunks_embedded: u64,
    pub chunks_reused: u64,
    pub seconds: f64,
}

impl From<&trove::IndexSummary> for IndexSummary {
    fn from(s: &trove::IndexSummary) -> Self {
        IndexSummary {
            files_seen: s.files_seen as u64,
            files_indexed: s.files_indexed as u64,
            files_unchanged: s.files_unchanged as u64,
            files_removed: s.files_removed as u64,
            files_failed: s.files_failed as u64,
            failures: s
                .failures
                .iter()
                .map(|f| IndexFailure {
                    path: f.path.clone(),
                    code: f.code.clone(),
                    reason: f.reason.clone(),
                })
                .collect(),
            chunks_embedded: s.chunks_embedded as u64,
            chunks_reused: s.chunks_reused as u64,
            seconds: s.seconds,
        }
    }
}

/// Counts and facts about an open store.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct Stats {
    pub documents: u64,
    pub chunks: u64,
    pub embeddings: u64,
    pub vectors: u64,
    pub failures: u64,
    pub store_bytes: u64,
    pub store_dir: String,
    pub embedding_model: String,
    pub embedding_model_sha256: String,
    pub llm_path: String,
    /// The last indexing call's summary as JSON ("" before the first).
    pub last_index_run_json: String,
}

impl From<&trove::Stats> for Stats {
    fn from(s: &trove::Stats) -> Self {
        Stats {
            documents: s.documents as u64,
            chunks: s.chunks as u64,
            embeddings: s.embeddings as u64,
            vectors: s.vectors as u64,
            failures: s.failures as u64,
            store_bytes: s.store_bytes,
            store_dir: s.store_dir.to_string_lossy().into_owned(),
            embedding_model: s.embedding_model.name.clone(),
            embedding_model_sha256: s.embedding_model.sha256.clone(),
            llm_path: s.llm_path.to_string_lossy().into_owned(),
            last_index_run_json: s.last_index_run.clone(),
        }
    }
}

/// What a watcher reports.
#[derive(Debug, Clone, PartialEq, uniffi::Enum)]
pub enum WatchEvent {
    /// The first pass over the folders finished.
    Ready { summary: IndexSummary },
    /// A file was (re)indexed and is searchable.
    Indexed {
        path: String,
        chunks_embedded: u64,
        chunks_reused: u64,
        /// From the first file-system event to searchable.
        latency_ms: f64,
    },
    /// A file's document was removed.
    Removed { path: String, latency_ms: f64 },
    /// A file could not be indexed; watching goes on.
    Failed {
        path: String,
        code: String,
        reason: String,
    },
    /// Trouble with watching itself; not fatal.
    Error { message: String },
}

impl From<&trove::WatchEvent> for WatchEvent {
    fn from(e: &trove::WatchEvent) -> Self {
        let path = |p: &std::path::Path| p.to_string_lossy().into_owned();
        let ms = |d: &std::time::Duration| d.as_secs_f64() * 1000.0;
        match e {
            trove::WatchEvent::Ready { summary } => WatchEvent::Ready {
                summary: summary.into(),
            },
            trove::WatchEvent::Indexed {
                path: p,
                chunks_embedded,
                chunks_reused,
                latency,
            } => WatchEvent::Indexed {
                path: path(p),
                chunks_embedded: *chunks_embedded as u64,
                chunks_reused: *chunks_reused as u64,
                latency_ms: ms(latency),
            },
            trove::WatchEvent::Removed { path: p, latency } => WatchEvent::Removed {
                path: path(p),
                latency_ms: ms(latency),
            },
            trove::WatchEvent::Failed {
                path: p,
                code,
                reason,
            } => WatchEvent::Failed {
                path: path(p),
                code: code.clone(),
                reason: reason.clone(),
            },
            trove::WatchEvent::Error { message } => WatchEvent::Error {
                message: message.clone(),
            },
        }
    }
}
