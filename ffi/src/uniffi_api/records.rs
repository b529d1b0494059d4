//! Plain data crossing into Swift, Kotlin and Python.
//!
//! What the engine returns crosses as the engine's own types: each is
//! declared here with `#[uniffi::remote]`, which generates only the FFI
//! conversion for the core type of that name (the compiler checks every
//! field against it), never a copy to convert into. Derives inside
//! trove-core (behind a feature, as matrix-sdk does) would need a second
//! UniFFI namespace: both crates are named `trove`, so their scaffolding
//! symbols would collide.
//!
//! What callers pass in (configuration and options) are records of this
//! crate: every field has a default ("0: the engine's default"), so hosts
//! set only what differs.

use std::path::PathBuf;
use std::time::Duration;

pub use trove::{
    Answer, AnswerSentence, AnswerStrategy, AskTimings, CacheType, Citation, DocumentLink,
    DocumentState, DocumentStatus, EmbeddingStatus, Explanation, GpuDevice, GpuSupport, Grounding,
    GroundingSignals, HistoryUse, Hit, IndexFailure, IndexProgress, IndexRun, IndexSummary,
    LineRange, LinkedDocument, Locator, LoraAdapter, ModelFingerprint, ModelInfo, ModelRole,
    RankEvidence, SearchFilters, SearchMode, StageTimings, Stats, StopReason, Support, Turn,
    WatchEvent,
};

uniffi::custom_type!(PathBuf, String, {
    remote,
    lower: |path| path.to_string_lossy().into_owned(),
    try_lift: |text| Ok(PathBuf::from(text)),
});

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
    /// The store's embedding model: an ONNX model directory or a `.gguf`
    /// file, e.g. `multilingual-e5-small/multilingual-e5-small-q4_0.gguf` in
    /// `models_dir` for notes in any language; none: the English MiniLM.
    #[uniffi(default)]
    pub embedding_path: Option<String>,
    /// Index calls return once their documents are committed and
    /// keyword-searchable (at parse speed); the background thread embeds
    /// them (`embedding_status`, `finish_embedding`). False: once embedded.
    #[uniffi(default)]
    pub embed_in_background: bool,
    /// Threads for embedding passages; 0: `threads`.
    #[uniffi(default)]
    pub embedding_threads: u32,
    /// How the answer model's KV cache stores keys; none: f16.
    #[uniffi(default)]
    pub cache_type_k: Option<CacheType>,
    /// How it stores values; none: f16.
    #[uniffi(default)]
    pub cache_type_v: Option<CacheType>,
    /// LoRA adapters on the answer model (at most one for now).
    #[uniffi(default)]
    pub lora_adapters: Vec<LoraAdapter>,
    /// Layers of the answer model offloaded to a GPU; 0: none (the CPU),
    /// 999: all. Needs a library built with a GPU backend and a device it
    /// finds (`gpu_support`).
    #[uniffi(default)]
    pub gpu_layers: u32,
}

/// How the KV cache stores keys or values: the quantized types fit a long
/// context in less memory.
#[uniffi::remote(Enum)]
pub enum CacheType {
    /// 16-bit floats, the default.
    F16,
    /// 8-bit blocks, about half of f16.
    Q8_0,
    /// 4-bit blocks, about a quarter of f16.
    Q4_0,
}

/// A GGUF LoRA adapter on the answer model, and its strength.
#[uniffi::remote(Record)]
pub struct LoraAdapter {
    pub path: PathBuf,
    /// 1.0 as trained, 0.0 off.
    pub scale: f32,
}

/// What a model does for the engine.
#[uniffi::remote(Enum)]
pub enum ModelRole {
    Embedding,
    Answer,
    LoraAdapter,
    Found,
}

/// A model file: what it is and whether it is the file recorded for it.
#[uniffi::remote(Record)]
pub struct ModelInfo {
    pub role: ModelRole,
    pub path: PathBuf,
    /// `gguf` or `onnx`.
    pub format: String,
    pub name: Option<String>,
    pub architecture: Option<String>,
    pub size_bytes: u64,
    /// `Q4_1`, `Q4_K_M` …, `int8` or `f32`.
    pub quantization: Option<String>,
    pub context_length: Option<u64>,
    /// The chat format of its template (`chatml`, `gemma` …).
    pub chat_template: Option<String>,
    pub sha256: String,
    /// The sha256 recorded for it, and by whom (`setup` or `store`).
    pub recorded_sha256: Option<String>,
    pub recorded_by: Option<String>,
    /// Not the recorded file: an answer model is refused until accepted.
    pub changed: bool,
}

/// What GPU offload the library was built with and finds.
#[uniffi::remote(Record)]
pub struct GpuSupport {
    /// GPU backends built in (`Vulkan`, `Metal`, `CUDA`); empty: CPU only.
    pub backends: Vec<String>,
    /// The GPUs they find.
    pub devices: Vec<GpuDevice>,
}

/// A GPU the answer model can be offloaded to.
#[uniffi::remote(Record)]
pub struct GpuDevice {
    /// llama.cpp's name for it, e.g. `Vulkan0`.
    pub name: String,
    /// The driver's name for it.
    pub description: String,
    pub backend: String,
    pub memory_total_bytes: u64,
    pub memory_free_bytes: u64,
}

/// Retrievers.
#[uniffi::remote(Enum)]
pub enum SearchMode {
    /// Keyword (BM25) and vector search fused.
    Hybrid,
    /// Embedding similarity only.
    Vector,
    /// SQLite FTS5 keyword search only.
    Keyword,
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
    /// Only documents with at least one of these tags (ignoring case; a tag
    /// matches its nested tags: `garden` matches `garden/vegetables`).
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
            mode: self.mode.unwrap_or_default(),
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
    /// Only documents with at least one of these tags (ignoring case; a tag
    /// matches its nested tags: `garden` matches `garden/vegetables`).
    #[uniffi(default)]
    pub tags: Vec<String>,
    /// Only these documents (paths or host ids).
    #[uniffi(default)]
    pub document_ids: Vec<String>,
    /// How the answer is written; none: extractive.
    #[uniffi(default)]
    pub strategy: Option<AnswerStrategy>,
    /// Grounding score below which the question is declined; none: the
    /// calibrated default; 0 never declines.
    #[uniffi(default)]
    pub min_grounding: Option<f32>,
    /// Supported share below which a generated draft is replaced by the
    /// extractive answer; none: the default.
    #[uniffi(default)]
    pub min_draft_support: Option<f32>,
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
            mode: self.mode.unwrap_or_default(),
            filters: filters(&self.path_prefix, &self.tags, &self.document_ids),
            generation: trove::GenerationOptions {
                temperature: self.temperature,
                seed: or(self.seed, defaults.seed),
                max_tokens: or(self.max_tokens, defaults.max_tokens),
                ..defaults
            },
            cancel: Some(cancel),
            strategy: self.strategy.unwrap_or_default(),
            min_grounding: self.min_grounding.unwrap_or(trove::DEFAULT_MIN_GROUNDING),
            min_draft_support: self
                .min_draft_support
                .unwrap_or(trove::DEFAULT_MIN_DRAFT_SUPPORT),
        }
    }
}

/// A 1-based inclusive line range.
#[uniffi::remote(Record)]
pub struct LineRange {
    pub first: u32,
    pub last: u32,
}

/// Where a passage is in a document without lines or pages (HTML, DOCX,
/// ODT, EPUB, canvas).
#[uniffi::remote(Record)]
pub struct Locator {
    /// 1-based chapter (EPUB); none for documents of one part.
    pub chapter: Option<u32>,
    /// The EPUB chapter file or canvas card id.
    pub part: Option<String>,
    pub first_paragraph: u32,
    pub last_paragraph: u32,
}

/// One retrieved passage.
/// Where a document stands in the store.
#[uniffi::remote(Enum)]
pub enum DocumentState {
    /// Stored, and the file is as it was when read.
    Indexed,
    /// Stored and keyword-searchable, but some chunks wait for their vector.
    PendingEmbedding,
    /// Stored, but the file changed since: the next index run reads it.
    Changed,
    /// Stored, but the file is gone.
    Missing,
    /// The last run could not read it.
    Failed,
    /// Not in the store.
    NotIndexed,
}

#[uniffi::remote(Record)]
pub struct DocumentStatus {
    pub document_id: String,
    pub state: DocumentState,
    pub title: Option<String>,
    /// Its chunks (passages) in the store.
    pub chunks: u64,
    /// Of those, chunks waiting for their vector.
    pub chunks_pending: u64,
    /// The skip reason's code, when it failed.
    pub failure_code: Option<String>,
    /// Why it failed, with the fix.
    pub failure_reason: Option<String>,
}

/// Where a document ranks in one retriever's list of documents.
#[uniffi::remote(Record)]
pub struct RankEvidence {
    /// 1-based rank; none when not among the first `depth`.
    pub rank: Option<u32>,
    /// Its best passage's score in this retriever; none when nothing matches.
    pub score: Option<f32>,
    pub top_score: Option<f32>,
    pub depth: u32,
}

/// Why a document ranks where it does for a query.
#[uniffi::remote(Record)]
pub struct Explanation {
    pub query: String,
    pub status: DocumentStatus,
    pub best_passage: Option<Hit>,
    pub hybrid: RankEvidence,
    pub keyword: RankEvidence,
    pub vector: RankEvidence,
    /// The document ranked first, when another one.
    pub first: Option<Hit>,
    /// The evidence in sentences.
    pub reasons: Vec<String>,
}

#[uniffi::remote(Record)]
pub struct LinkedDocument {
    /// Its absolute path, or the host's id for added text.
    pub document_id: String,
    pub path: Option<String>,
    pub title: String,
}

/// A link written in a document: `[[Note#Heading|shown]]`, `![[embed]]`, a
/// Markdown link to a local file, a canvas file card.
#[uniffi::remote(Record)]
pub struct DocumentLink {
    /// The document the link is written in.
    pub source: LinkedDocument,
    /// The note or file as written, without `.md`.
    pub target: String,
    pub heading: Option<String>,
    /// The block id linked to, without `^`.
    pub block: Option<String>,
    /// The text shown for the link.
    pub alias: Option<String>,
    /// `![[…]]`: shown in place rather than linked.
    pub embed: bool,
    /// 1-based line of the link in the source (Markdown).
    pub line: Option<u32>,
    /// The stored document the target names now.
    pub resolved: Option<LinkedDocument>,
    /// A linked block's lines in the resolved document.
    pub block_lines: Option<LineRange>,
}

#[uniffi::remote(Record)]
pub struct Hit {
    /// Stable id of the chunk in this store.
    pub chunk_id: u64,
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
    /// Chapter and paragraphs (HTML, DOCX, ODT, EPUB, canvas).
    pub locator: Option<Locator>,
    /// Enclosing headings, outermost first.
    pub heading_path: Vec<String>,
    pub tags: Vec<String>,
    /// False while it waits for background embedding (found by keywords only).
    pub embedded: bool,
}

/// A source the answer cites.
#[uniffi::remote(Record)]
pub struct Citation {
    /// `[n]` in the answer.
    pub n: u32,
    pub hit: Hit,
    /// true: the model wrote no `[n]` and trove found this passage holds
    /// the answer's distinctive words and numbers.
    pub inferred: bool,
}

/// Why generation ended.
#[uniffi::remote(Enum)]
pub enum StopReason {
    EndOfText,
    MaxTokens,
    StopString,
    /// The token listener returned false.
    Callback,
}

/// Where the time of an answer went.
#[uniffi::remote(Record)]
pub struct AskTimings {
    pub retrieval_ms: f64,
    pub prompt_tokens: u32,
    /// Prompt tokens a conversation's previous turn had evaluated, reused.
    pub cached_tokens: u32,
    pub prefill_ms: f64,
    pub ttft_ms: f64,
    pub decode_tokens: u32,
    pub decode_tok_s: f64,
    pub total_ms: f64,
}

/// How an answer is written.
#[uniffi::remote(Enum)]
pub enum AnswerStrategy {
    /// The best sentences of the top passages, quoted; no model.
    Extractive,
    /// The model writes it; unsupported drafts fall back to quotes.
    Generative,
    /// The model picks a sentence to quote, under a grammar.
    Quote,
}

/// The measurements behind a grounding score.
#[uniffi::remote(Record)]
pub struct GroundingSignals {
    pub passage_similarity: f32,
    pub sentence_similarity: f32,
    pub coverage: f32,
    pub unknown: f32,
}

/// Whether the passages bear on the question, and why.
#[uniffi::remote(Record)]
pub struct Grounding {
    /// 0..1; the question is declined below `threshold`.
    pub score: f32,
    pub threshold: f32,
    pub signals: GroundingSignals,
}

/// The span of a passage that supports a sentence of the answer.
#[uniffi::remote(Record)]
pub struct Support {
    /// The passage: `passages[n - 1]`.
    pub n: u32,
    /// Char range in the passage text.
    pub start: u32,
    pub end: u32,
    pub lines: Option<LineRange>,
    pub page: Option<u32>,
    pub locator: Option<Locator>,
    pub score: f32,
}

/// One sentence of an answer, its checked citations and its support.
#[uniffi::remote(Record)]
pub struct AnswerSentence {
    /// Char range in the answer text.
    pub start: u32,
    pub end: u32,
    /// Citations the passage supports (kept in the text).
    pub citations: Vec<u32>,
    /// Citations the passage does not support (removed from the text).
    pub dropped: Vec<u32>,
    /// None: no passage supports the sentence.
    pub support: Option<Support>,
}

/// An answer with its sources.
#[uniffi::remote(Record)]
pub struct Answer {
    /// The answer, with checked `[n]` marks.
    pub text: String,
    pub citations: Vec<Citation>,
    /// The passages the answer was written from; `[n]` is `passages[n - 1]`.
    pub passages: Vec<Hit>,
    /// Retrieved passages left out because the context window was full.
    pub dropped: Vec<Hit>,
    pub stop_reason: StopReason,
    pub timings: AskTimings,
    /// The documents do not answer this: `text` is the fixed
    /// "not in your documents" answer.
    pub declined: bool,
    pub strategy: AnswerStrategy,
    /// The generated draft was unsupported and quotes replaced it.
    pub fallback: bool,
    /// What the model generated, when `text` differs from it.
    pub draft: Option<String>,
    pub grounding: Grounding,
    pub sentences: Vec<AnswerSentence>,
    /// In a conversation: the query searched and the earlier turns used.
    pub history: Option<HistoryUse>,
}

/// How a conversation shaped an answer.
#[uniffi::remote(Record)]
pub struct HistoryUse {
    /// What retrieval searched for.
    pub query: String,
    /// Earlier turns the answer model saw.
    pub turns: u32,
    /// Of those, the oldest shown without their sources.
    pub condensed: u32,
    /// Older turns left out to fit the context.
    pub dropped: u32,
}

/// One exchange of a conversation.
#[uniffi::remote(Record)]
pub struct Turn {
    pub question: String,
    pub query: String,
    pub answer: String,
    pub declined: bool,
    pub passages: Vec<Hit>,
}

/// Progress of an indexing call.
#[uniffi::remote(Record)]
pub struct IndexProgress {
    pub files_done: u64,
    pub files_total: u64,
    /// Chunks of new text committed so far (keyword-searchable, queued).
    pub chunks_queued: u64,
    /// Chunks given their vector so far.
    pub chunks_embedded: u64,
    pub chunks_reused: u64,
    pub bytes_done: u64,
    pub bytes_total: u64,
}

/// A file that could not be indexed.
#[uniffi::remote(Record)]
pub struct IndexFailure {
    pub path: String,
    /// Stable reason code (`binary`, `not_utf8`, `pdf_no_text`, …).
    pub code: String,
    /// A sentence naming the fix.
    pub reason: String,
}

/// Time spent per stage of an indexing call, in milliseconds.
#[uniffi::remote(Record)]
pub struct StageTimings {
    pub read_parse_ms: f64,
    pub chunk_ms: f64,
    pub embed_ms: f64,
    pub write_ms: f64,
}

/// What an indexing call did.
#[uniffi::remote(Record)]
pub struct IndexSummary {
    pub files_seen: u64,
    pub files_indexed: u64,
    pub files_unchanged: u64,
    pub files_removed: u64,
    pub files_failed: u64,
    pub failures: Vec<IndexFailure>,
    /// Chunks of new text the call committed and queued for embedding.
    pub chunks_queued: u64,
    /// Chunks the call gave their vector.
    pub chunks_embedded: u64,
    /// Chunks still waiting for their vector when the call returned.
    pub chunks_pending: u64,
    pub chunks_reused: u64,
    pub bytes_indexed: u64,
    pub seconds: f64,
    pub stages: StageTimings,
}

/// The last indexing run a store remembers.
#[uniffi::remote(Record)]
pub struct IndexRun {
    pub summary: IndexSummary,
    /// When it finished, in seconds since the Unix epoch.
    pub finished_at_unix: u64,
}

/// Identifies the embedding model a store was built with.
#[uniffi::remote(Record)]
pub struct ModelFingerprint {
    pub name: String,
    pub dimensions: u32,
    pub sha256: String,
}

/// Counts and facts about an open store.
#[uniffi::remote(Record)]
pub struct Stats {
    pub documents: u64,
    pub chunks: u64,
    /// Chunks waiting for their vector.
    pub chunks_pending: u64,
    pub embeddings: u64,
    pub vectors: u64,
    pub failures: u64,
    pub store_bytes: u64,
    pub store_dir: PathBuf,
    pub embedding_model: ModelFingerprint,
    pub llm_path: PathBuf,
    /// The last indexing call; none before the first.
    pub last_index_run: Option<IndexRun>,
}

/// Where embedding stands: "embedded n of m".
#[uniffi::remote(Record)]
pub struct EmbeddingStatus {
    pub chunks: u64,
    pub embedded: u64,
    pub pending: u64,
    /// Background embedding paused by the host.
    pub paused: bool,
    /// A batch is being embedded in this process now.
    pub running: bool,
    /// Threads the model uses for passages.
    pub threads: u32,
    /// Why the last background batch failed; its chunks are retried.
    pub last_error: Option<String>,
}

/// What a watcher reports.
#[uniffi::remote(Enum)]
pub enum WatchEvent {
    /// The first pass over the folders finished.
    Ready { summary: IndexSummary },
    /// A file was (re)indexed and is searchable.
    Indexed {
        path: PathBuf,
        chunks_embedded: u64,
        chunks_reused: u64,
        /// From the first file-system event to searchable.
        latency: Duration,
    },
    /// A file's document was removed.
    Removed { path: PathBuf, latency: Duration },
    /// A file could not be indexed; watching goes on.
    Failed {
        path: PathBuf,
        code: String,
        reason: String,
    },
    /// Trouble with watching itself; not fatal.
    Error { message: String },
}
