//! The engine: one open knowledge base with its models, safe to share
//! between threads (`Engine` is `Send + Sync`).
//!
//! Searches run concurrently on pooled SQLite readers and a shared vector
//! index; writes (indexing, adding, removing) are serialized by one lock and
//! commit in batches, so searches keep running during a long indexing call.
//! Indexing commits at parse speed and embeds afterwards (embedding.rs):
//! the call waits for it, or the engine's background thread does it.
//! The answer model is loaded on first `ask` and each answer gets its own
//! llama.cpp context.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use serde::{Deserialize, Serialize};

use crate::answer::{self, AnswerSentence, AnswerStrategy, Grounding};
use crate::cancel::CancelToken;
use crate::config::EngineConfig;
use crate::conversation::{Conversation, HistoryUse};
use crate::embed::{self, Embedder, ModelFingerprint};
use crate::embedding::{Embedding, EmbeddingStatus};
use crate::error::{Error, Result};
use crate::explain::{self, DocumentStatus, Explanation};
use crate::index::{Indexer, ProgressFn};
use crate::ingest::{self, Metadata};
use crate::links::{self, DocumentLink};
use crate::llm::{GenerationOptions, Llm, LlmConfig, StopReason};
use crate::report::{IndexProgress, IndexRun, IndexSummary, UpdateReport};
use crate::search::{self, Hit, SearchMode, SearchOptions};
use crate::store::{self, DocKey, ModelMatch, SearchFilters, Store};

/// Options of an [`Engine::index_path`] call.
#[derive(Default)]
pub struct IndexOptions<'a> {
    /// Called after each file and batch, on the indexing thread; returning
    /// `false` stops the run like `cancel` does.
    pub progress: Option<ProgressFn<'a>>,
    /// Raise it from any thread to stop; committed work is kept.
    pub cancel: Option<CancelToken>,
}

/// Options of an [`Engine::ask`] call.
#[derive(Debug, Clone)]
pub struct AskOptions {
    /// Passages retrieved and offered to the model. Default 3: small models
    /// answer best from a few long passages.
    pub k: usize,
    /// Retriever.
    pub mode: SearchMode,
    /// Restrict the passages.
    pub filters: SearchFilters,
    /// Sampling and length.
    pub generation: GenerationOptions,
    /// Raise it from any thread to stop generation (the call then fails with
    /// [`ErrorKind::Cancelled`](crate::ErrorKind::Cancelled)).
    pub cancel: Option<CancelToken>,
    /// How the answer is written (see [`AnswerStrategy`]).
    pub strategy: AnswerStrategy,
    /// Below this [`Grounding::score`] the question is declined: the answer
    /// is a fixed "not in your documents" text naming the closest
    /// documents. 0 never declines; default
    /// [`DEFAULT_MIN_GROUNDING`](crate::DEFAULT_MIN_GROUNDING).
    pub min_grounding: f32,
    /// A generated draft of which less than this share (by characters) is
    /// supported by the passages is replaced by the extractive answer;
    /// default [`DEFAULT_MIN_DRAFT_SUPPORT`](crate::DEFAULT_MIN_DRAFT_SUPPORT). A draft
    /// stopped by `on_token` is kept (checked): it is what the user saw.
    pub min_draft_support: f32,
}

impl Default for AskOptions {
    fn default() -> Self {
        AskOptions {
            k: 3,
            mode: SearchMode::Hybrid,
            filters: SearchFilters::default(),
            generation: GenerationOptions::default(),
            cancel: None,
            strategy: AnswerStrategy::default(),
            min_grounding: answer::DEFAULT_MIN_GROUNDING,
            min_draft_support: answer::DEFAULT_MIN_DRAFT_SUPPORT,
        }
    }
}

/// A source the answer cites. In JSON the passage's fields sit beside `n`
/// and `inferred`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Citation {
    /// The source's number among the passages given (`[n]` in the answer).
    pub n: u32,
    /// The passage behind it.
    #[serde(flatten)]
    pub hit: Hit,
    /// `false`: `[n]` is in the answer text and passage n supports its
    /// sentence. `true`: the sentence has no (supported) `[n]`, and the
    /// engine found that this passage supports it.
    pub inferred: bool,
}

/// Time spent answering.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct AskTimings {
    /// Retrieval (embedding the question, searching).
    pub retrieval_ms: f64,
    /// Tokens in the prompt.
    pub prompt_tokens: u32,
    /// Of those, tokens a conversation's previous turn had already
    /// evaluated, reused from its cache.
    pub cached_tokens: u32,
    /// Prompt evaluation.
    pub prefill_ms: f64,
    /// From the start of the call to the first streamed text.
    pub ttft_ms: f64,
    /// Tokens generated.
    pub decode_tokens: u32,
    /// Generation speed.
    pub decode_tok_s: f64,
    /// Whole call.
    pub total_ms: f64,
}

/// The result of [`Engine::ask`]. In JSON the text is `answer`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Answer {
    /// The answer, with `[n]` citations each checked against passage n
    /// (see [`sentences`](Self::sentences)).
    #[serde(rename = "answer")]
    pub text: String,
    /// The sources the answer cites, in first-use order (see [`Citation::inferred`]).
    pub citations: Vec<Citation>,
    /// The passages the answer was written from; `[n]` is `passages[n - 1]`.
    /// When declined: the closest passages found.
    pub passages: Vec<Hit>,
    /// Retrieved passages left out because the context window was full.
    pub dropped: Vec<Hit>,
    /// Whether generation ended by itself, hit the token limit, or was stopped.
    pub stop_reason: StopReason,
    /// Where the time went.
    pub timings: AskTimings,
    /// The passages do not bear on the question: `text` is the fixed
    /// "not in your documents" answer and cites nothing.
    pub declined: bool,
    /// The strategy asked for.
    pub strategy: AnswerStrategy,
    /// The generated draft was not supported enough and the extractive
    /// answer replaced it (or the model's quote could not be matched).
    pub fallback: bool,
    /// What the model generated (and streamed), when the checked `text`
    /// differs from it.
    pub draft: Option<String>,
    /// The grounding decision and its evidence.
    pub grounding: Grounding,
    /// Each sentence of `text` with its checked citations and supporting span.
    pub sentences: Vec<AnswerSentence>,
    /// For an answer in a conversation ([`Engine::ask_in`]): the query
    /// searched and the earlier turns the model saw; `None` otherwise.
    pub history: Option<HistoryUse>,
}

/// Counts and facts about an open store.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Stats {
    /// Documents held.
    pub documents: u64,
    /// Chunks held.
    pub chunks: u64,
    /// Chunks waiting for their vector (keyword-searchable meanwhile).
    pub chunks_pending: u64,
    /// Distinct embeddings stored (identical texts share one).
    pub embeddings: u64,
    /// Vectors in the HNSW index.
    pub vectors: u64,
    /// Files that failed and are remembered as such.
    pub failures: u64,
    /// Bytes of the store directory.
    pub store_bytes: u64,
    /// The store directory.
    #[serde(with = "crate::serde_path")]
    pub store_dir: PathBuf,
    /// The embedding model.
    pub embedding_model: ModelFingerprint,
    /// The answer model file.
    #[serde(with = "crate::serde_path")]
    pub llm_path: PathBuf,
    /// The last indexing call, if there was one.
    pub last_index_run: Option<IndexRun>,
}

/// An open knowledge base. See the crate documentation for an example.
pub struct Engine {
    config: EngineConfig,
    /// Declared before the store it uses: its thread stops first.
    embedding: Embedding,
    store: Arc<Store>,
    embedder: Arc<dyn Embedder>,
    llm: Mutex<Option<Arc<Llm>>>,
}

/// The configured embedding model, told what the store records of it (a
/// reopened store's ONNX model then finishes loading behind `open`).
fn load_embedder(config: &EngineConfig) -> Result<Box<dyn Embedder>> {
    embed::load(
        &config.models.embedding_dir,
        &config.models.onnxruntime_lib,
        config.resolved_threads(),
        store::recorded_model(&config.store_dir).as_ref(),
    )
}

impl Engine {
    /// Opens (or creates) the store in `config.store_dir` and loads the
    /// embedding model. The answer model loads on the first [`ask`](Self::ask).
    /// Reopening a store, the ONNX model's query session finishes loading on
    /// a thread of its own (the store's record vouches for the same files),
    /// so `open` returns sooner and the first search that embeds a query
    /// waits for the rest.
    ///
    /// Fails with [`ErrorKind::IncompatibleStore`](crate::ErrorKind::IncompatibleStore) when the store was built
    /// with another embedding model, unless `config.reembed` is set.
    pub fn open(config: EngineConfig) -> Result<Engine> {
        let embedder = load_embedder(&config)?;
        if config.embedding_threads > 0 {
            embedder.set_passage_threads(config.embedding_threads);
        }
        Engine::with_embedder(config, embedder)
    }

    /// Benchmarks only: [`open`](Self::open), with passage vectors from
    /// `passages` instead of the model (queries and token counts stay the
    /// model's), so a store of a million chunks can be built in minutes.
    #[doc(hidden)]
    pub fn open_with_passage_vectors(
        config: EngineConfig,
        passages: embed::PassageVectors,
    ) -> Result<Engine> {
        let model = load_embedder(&config)?;
        Engine::with_embedder(
            config,
            Box::new(embed::SuppliedPassages::new(model, passages)),
        )
    }

    pub(crate) fn with_embedder(
        config: EngineConfig,
        embedder: Box<dyn Embedder>,
    ) -> Result<Engine> {
        if config.chunking.target_tokens < 16 {
            return Err(Error::invalid("chunking.target_tokens must be at least 16"));
        }
        let (store, matched) = Store::open(
            &config.store_dir,
            embedder.fingerprint(),
            config.quantization,
            config.reembed,
        )?;
        let store = Arc::new(store);
        let embedder: Arc<dyn Embedder> = Arc::from(embedder);
        if matched == ModelMatch::Other {
            let mut writes = store.begin_writes();
            writes.transaction(|tx| {
                tx.reset_embeddings(embedder.fingerprint(), config.quantization)
            })?;
            writes.finish()?;
        }
        let embedding = Embedding::new(
            store.clone(),
            embedder.clone(),
            config.chunking.clone(),
            config.embed_batch_size,
            config.resolved_embedding_threads(),
            config.background_embedding,
        )?;
        if matched == ModelMatch::Other {
            // Opening re-embeds in full, as asked (killed meanwhile, the
            // next open resumes the queue).
            embedding.embed_all(None, &mut |_, _| true)?;
        }
        Ok(Engine {
            config,
            embedding,
            store,
            embedder,
            llm: Mutex::new(None),
        })
    }

    /// The configuration the engine was opened with.
    pub fn config(&self) -> &EngineConfig {
        &self.config
    }

    /// An indexing run, holding the store's writer until it ends.
    fn indexer<'p>(&self) -> Indexer<'_, 'p> {
        Indexer::new(
            self.store.begin_writes(),
            self.embedder.as_ref(),
            &self.config.chunking,
            &self.config.limits,
        )
    }

    /// For a call that embeds what it queues: the background thread stands
    /// aside until it ends (else the thread takes its batches, and the
    /// call's summary miscounts).
    fn foreground(&self) -> Option<crate::embedding::Foreground<'_>> {
        self.config
            .wait_for_embedding
            .then(|| self.embedding.foreground())
    }

    /// Remembers an indexing call's summary as the store's last run.
    fn record_run(&self, summary: &IndexSummary) -> Result<()> {
        let run = IndexRun {
            summary: summary.clone(),
            finished_at_unix: crate::store::unix_now(),
        };
        let mut writes = self.store.begin_writes();
        writes.transaction(|tx| tx.record_run(&run))?;
        writes.finish()
    }

    /// After an indexing call committed: embeds what is queued when the
    /// configuration waits for it (reporting progress), else wakes the
    /// background thread; records both in `summary`.
    fn embed_after(
        &self,
        summary: &mut IndexSummary,
        options: &mut IndexOptions<'_>,
    ) -> Result<()> {
        if self.config.wait_for_embedding {
            let mut state = IndexProgress {
                files_done: summary.files_seen,
                files_total: summary.files_seen,
                chunks_queued: summary.chunks_queued,
                chunks_reused: summary.chunks_reused,
                bytes_done: summary.bytes_indexed,
                bytes_total: summary.bytes_indexed,
                ..IndexProgress::default()
            };
            let progress = &mut options.progress;
            let embedded =
                self.embedding
                    .embed_all(options.cancel.as_ref(), &mut |chunks, _left| {
                        state.chunks_embedded = chunks;
                        progress.as_mut().is_none_or(|p| p(&state))
                    })?;
            summary.chunks_embedded = embedded.texts;
            summary.stages.embed_ms += embedded.model_ms;
        } else {
            self.embedding.wake();
        }
        summary.chunks_pending = self.store.snapshot()?.queued()?;
        Ok(())
    }

    /// Indexes a file or a folder (recursively). Unchanged files cost
    /// nothing; documents of files that vanished from the folder are removed.
    pub fn index_path(
        &self,
        path: impl AsRef<Path>,
        options: IndexOptions<'_>,
    ) -> Result<IndexSummary> {
        self.index_paths(&[path.as_ref().to_path_buf()], options)
    }

    /// Like [`index_path`](Self::index_path) for several roots in one run.
    pub fn index_paths(
        &self,
        paths: &[PathBuf],
        mut options: IndexOptions<'_>,
    ) -> Result<IndexSummary> {
        let started = std::time::Instant::now();
        let _foreground = self.foreground();
        let mut summary = {
            let mut forward = forward_progress(&mut options.progress);
            self.indexer()
                .with_control(options.cancel.clone(), Some(&mut forward))
                .index_paths(paths)?
        };
        self.embed_after(&mut summary, &mut options)?;
        summary.seconds = started.elapsed().as_secs_f64();
        self.record_run(&summary)?;
        Ok(summary)
    }

    /// Brings exactly these paths up to date in one run, leaving every other
    /// document alone; what a folder watcher calls after a burst of changes,
    /// so a thousand files cost one run and one save of the vector index.
    ///
    /// Per path: a file is (re)indexed if its size or mtime changed; a folder
    /// is walked like [`index_path`](Self::index_path) (same ignore rules)
    /// and its documents whose files are gone or now ignored are removed; a
    /// path that no longer exists, or is not an indexable file, has its
    /// documents at or under it removed. Documents at or under `forget` are
    /// removed even though the paths exist (e.g. now excluded by rules the
    /// caller applies). Paths are made absolute but links are not resolved,
    /// matching the paths a folder walk reports.
    ///
    /// ```no_run
    /// # fn main() -> trove::Result<()> {
    /// let engine = trove::Engine::open(trove::EngineConfig::new("notes.trove", "models"))?;
    /// let report = engine.update_paths(
    ///     &["notes/new.md".into(), "notes/deleted.md".into()],
    ///     &[],
    ///     Default::default(),
    /// )?;
    /// for change in &report.changes {
    ///     println!("{change:?}");
    /// }
    /// # Ok(()) }
    /// ```
    pub fn update_paths(
        &self,
        paths: &[PathBuf],
        forget: &[PathBuf],
        mut options: IndexOptions<'_>,
    ) -> Result<UpdateReport> {
        let started = std::time::Instant::now();
        let _foreground = self.foreground();
        let mut report = {
            let mut forward = forward_progress(&mut options.progress);
            self.indexer()
                .with_control(options.cancel.clone(), Some(&mut forward))
                .update_paths(paths, forget)?
        };
        self.embed_after(&mut report.summary, &mut options)?;
        report.summary.seconds = started.elapsed().as_secs_f64();
        if !report.changes.is_empty() {
            self.record_run(&report.summary)?;
        }
        Ok(report)
    }

    /// Adds (or replaces) text handed over by the host app under `id`.
    /// `text` is read as Markdown; `metadata` is laid over the note's own
    /// front matter, and its `tags` become the document's tags.
    ///
    /// ```no_run
    /// # fn main() -> trove::Result<()> {
    /// let engine = trove::Engine::open(trove::EngineConfig::new("notes.trove", "models"))?;
    /// let mut metadata = trove::Metadata::new();
    /// metadata.insert("tags".into(), serde_json::json!(["home"]));
    /// engine.add_text("note-42", "Groceries", "Oat milk, lentils.", &metadata)?;
    /// # Ok(()) }
    /// ```
    pub fn add_text(
        &self,
        id: &str,
        title: &str,
        text: &str,
        metadata: &Metadata,
    ) -> Result<IndexSummary> {
        if id.trim().is_empty() {
            return Err(Error::invalid("a document id must not be empty"));
        }
        let doc = ingest::parse_host_text(title, text, metadata)?;
        let metadata_json = serde_json::Value::Object(metadata.clone()).to_string();
        let fingerprint = format!("{title}\u{0}{text}\u{0}{metadata_json}");
        let started = std::time::Instant::now();
        let _foreground = self.foreground();
        let mut summary = self.indexer().index_text(id, doc, &fingerprint)?;
        self.embed_after(&mut summary, &mut IndexOptions::default())?;
        summary.seconds = started.elapsed().as_secs_f64();
        Ok(summary)
    }

    /// Removes a document by id (a host id, or a file's absolute path).
    /// Returns whether something was removed.
    pub fn remove_document(&self, id: &str) -> Result<bool> {
        let mut writes = self.store.begin_writes();
        let removed = writes.transaction(|tx| {
            let host = tx.delete_document(&DocKey::host(id))?;
            let file = tx.delete_document(&DocKey::File(id.to_string()))?;
            Ok(host || file)
        })?;
        writes.finish()?;
        Ok(removed)
    }

    /// Removes every file document at or under `path` (it need not exist any
    /// more). Returns how many documents were removed.
    pub fn remove_path(&self, path: impl AsRef<Path>) -> Result<usize> {
        let path = path.as_ref();
        let path = std::fs::canonicalize(path).unwrap_or_else(|_| absolute(path));
        let mut writes = self.store.begin_writes();
        let keys = writes
            .snapshot()?
            .documents_under(&path.to_string_lossy())?;
        writes.transaction(|tx| {
            for key in &keys {
                tx.delete_document(key)?;
            }
            Ok(())
        })?;
        writes.finish()?;
        Ok(keys.len())
    }

    /// The links written in document `document_id` (a host id or a file's
    /// absolute path, as [`Hit::document_id`]), in document order, each with
    /// the stored document it resolves to now. An unknown id is `NotFound`.
    pub fn outgoing_links(&self, document_id: &str) -> Result<Vec<DocumentLink>> {
        links::outgoing(&self.store, document_id)
    }

    /// The links of other documents that resolve to document `document_id`
    /// ("notes linking here"), by source document. An unknown id is
    /// `NotFound`.
    pub fn backlinks(&self, document_id: &str) -> Result<Vec<DocumentLink>> {
        links::backlinks(&self.store, document_id)
    }

    /// Where document `document_id` (a file's absolute path or a host id)
    /// stands: indexed, changed on disk since, missing, failed (with the
    /// reason) or not in the store. Never `NotFound`: that is an answer.
    ///
    /// ```no_run
    /// # fn main() -> trove::Result<()> {
    /// let engine = trove::Engine::open(trove::EngineConfig::new("notes.trove", "models"))?;
    /// let status = engine.document_status("/home/me/notes/espresso.md")?;
    /// println!("{:?}, {} chunks", status.state, status.chunks);
    /// # Ok(())
    /// # }
    /// ```
    pub fn document_status(&self, document_id: &str) -> Result<DocumentStatus> {
        explain::status(&self.store, document_id)
    }

    /// Why document `document_id` ranks where it does for `query` ("why is
    /// my note not found?"): its status, its best passage, its rank and
    /// score in hybrid, keyword and vector search (among the first
    /// [`EXPLAIN_DEPTH`](crate::EXPLAIN_DEPTH) documents of each), the
    /// document ranked first, and the evidence in sentences.
    ///
    /// ```no_run
    /// # fn main() -> trove::Result<()> {
    /// let engine = trove::Engine::open(trove::EngineConfig::new("notes.trove", "models"))?;
    /// let why = engine.explain("espresso temperature", "/home/me/notes/espresso.md")?;
    /// for reason in &why.reasons {
    ///     println!("{reason}");
    /// }
    /// # Ok(())
    /// # }
    /// ```
    pub fn explain(&self, query: &str, document_id: &str) -> Result<Explanation> {
        explain::explain(&self.store, self.embedder.as_ref(), query, document_id)
    }

    /// Retrieves the passages best matching `query`.
    ///
    /// ```no_run
    /// # fn main() -> trove::Result<()> {
    /// let engine = trove::Engine::open(trove::EngineConfig::new("notes.trove", "models"))?;
    /// let options = trove::SearchOptions { k: 3, ..Default::default() };
    /// for hit in engine.search("espresso grind size", &options)? {
    ///     println!("{:.3} {} {:?}", hit.score, hit.title, hit.lines);
    /// }
    /// # Ok(()) }
    /// ```
    pub fn search(&self, query: &str, options: &SearchOptions) -> Result<Vec<Hit>> {
        search::search(&self.store, self.embedder.as_ref(), query, options)
    }

    /// [`search`](Self::search) with `query` already embedded (its
    /// `embed_query` vector), for the answer path, which searches one
    /// question twice.
    pub(crate) fn search_embedded(
        &self,
        query: &str,
        vector: &[f32],
        options: &SearchOptions,
    ) -> Result<Vec<Hit>> {
        search::search_embedded(
            &self.store,
            self.embedder.as_ref(),
            query,
            Some(vector),
            options,
        )
    }

    /// Embeds `texts` as passages with the store's embedding model: unit
    /// vectors, one per text, comparable with each other by dot product.
    pub fn embed(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>> {
        self.embedder.embed_passages(texts)
    }

    /// The embedding model, for the answer checks.
    pub(crate) fn embedder(&self) -> &dyn Embedder {
        self.embedder.as_ref()
    }

    /// The store, for the answer's language.
    pub(crate) fn store(&self) -> &Store {
        &self.store
    }

    /// The answer model, loaded on first use and shared afterwards.
    pub(crate) fn llm(&self) -> Result<Arc<Llm>> {
        let mut slot = self.llm.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(llm) = slot.as_ref() {
            return Ok(llm.clone());
        }
        let llm = Arc::new(Llm::load(&LlmConfig {
            model_path: self.config.models.llm.clone(),
            threads: self.config.resolved_threads(),
            context_size: self.config.context_size,
            memory_limit_bytes: None,
            cache_type_k: self.config.cache_type_k,
            cache_type_v: self.config.cache_type_v,
            lora_adapters: self.config.lora_adapters.clone(),
            gpu_layers: self.config.gpu_layers,
        })?);
        self.check_answer_model(&self.config.models.llm)?;
        *slot = Some(llm.clone());
        Ok(llm)
    }

    /// Answers `question` from the knowledge base, streaming text to
    /// `on_token` (return `false` from it to stop early; the answer so far is
    /// kept). Citations `[n]` in the answer map to [`Answer::passages`].
    ///
    /// The engine first measures whether the retrieved passages bear on the
    /// question ([`Answer::grounding`]); when they do not, the answer is
    /// declined with a fixed text, whatever the documents or the model say.
    /// Otherwise it is written by [`AskOptions::strategy`], and every
    /// citation is checked against its passage ([`Answer::sentences`]).
    ///
    /// Fails with `InvalidInput` for an empty question, one without any word
    /// (only punctuation), or one longer than the context window.
    ///
    /// ```no_run
    /// # fn main() -> trove::Result<()> {
    /// let engine = trove::Engine::open(trove::EngineConfig::new("notes.trove", "models"))?;
    /// let answer = engine.ask("What grind size do I use?", &Default::default(), &mut |piece| {
    ///     print!("{piece}");
    ///     true
    /// })?;
    /// if !answer.declined {
    ///     for c in &answer.citations {
    ///         println!("[{}] {}", c.n, c.hit.title);
    ///     }
    /// }
    /// # Ok(()) }
    /// ```
    pub fn ask(
        &self,
        question: &str,
        options: &AskOptions,
        on_token: &mut dyn FnMut(&str) -> bool,
    ) -> Result<Answer> {
        answer::respond(self, question, options, None, on_token)
    }

    /// Answers `question` as the next turn of `conversation`, as
    /// [`ask`](Self::ask) does, then adds the turn to it: a follow-up is
    /// searched together with the previous question, a generated answer
    /// sees the earlier turns (the oldest condensed or dropped to fit the
    /// context, reported in [`Answer::history`]), and the part of the prompt
    /// the previous turn already evaluated is not evaluated again
    /// ([`AskTimings::cached_tokens`]). A failed or cancelled call leaves
    /// the conversation as it was.
    pub fn ask_in(
        &self,
        conversation: &mut Conversation,
        question: &str,
        options: &AskOptions,
        on_token: &mut dyn FnMut(&str) -> bool,
    ) -> Result<Answer> {
        answer::respond(self, question, options, Some(conversation), on_token)
    }

    /// Where embedding stands: chunks embedded of all, pending, whether
    /// background embedding is paused or running, its threads, its last
    /// failure.
    pub fn embedding_status(&self) -> Result<EmbeddingStatus> {
        self.embedding.status()
    }

    /// Embeds every queued chunk on the calling thread (also while
    /// background embedding is paused), for a host that indexed without
    /// waiting and now wants full hybrid search. `options.progress` is
    /// called after each batch; it and `options.cancel` stop the call like
    /// an indexing call (embedded batches are kept).
    ///
    /// ```no_run
    /// # fn main() -> trove::Result<()> {
    /// let mut config = trove::EngineConfig::new("notes.trove", "models");
    /// config.wait_for_embedding = false;
    /// let engine = trove::Engine::open(config)?;
    /// engine.index_path("notes", Default::default())?; // keyword-searchable now
    /// let done = engine.finish_embedding(Default::default())?;
    /// assert_eq!(done.chunks_pending, 0);
    /// # Ok(()) }
    /// ```
    pub fn finish_embedding(&self, mut options: IndexOptions<'_>) -> Result<IndexSummary> {
        let started = std::time::Instant::now();
        let _foreground = self.embedding.foreground();
        let mut summary = IndexSummary::default();
        let mut state = IndexProgress::default();
        let progress = &mut options.progress;
        let embedded = self
            .embedding
            .embed_all(options.cancel.as_ref(), &mut |chunks, left| {
                state.chunks_embedded = chunks;
                state.chunks_queued = chunks + left;
                progress.as_mut().is_none_or(|p| p(&state))
            })?;
        summary.chunks_embedded = embedded.texts;
        summary.stages.embed_ms = embedded.model_ms;
        summary.chunks_pending = self.store.snapshot()?.queued()?;
        summary.seconds = started.elapsed().as_secs_f64();
        Ok(summary)
    }

    /// Pauses background embedding (a batch in flight finishes); calls that
    /// wait for embedding still embed, on their own thread.
    pub fn pause_embedding(&self) {
        self.embedding.pause();
    }

    /// Resumes background embedding.
    pub fn resume_embedding(&self) {
        self.embedding.resume();
    }

    /// Threads the embedding model uses for passages from its next batch
    /// on (at least 1): a mobile host lowers it on battery. Searches keep
    /// their threads.
    pub fn set_embedding_threads(&self, threads: usize) {
        self.embedding.set_threads(threads);
    }

    /// Counts and facts about the store.
    pub fn stats(&self) -> Result<Stats> {
        let (counts, vectors, last_index_run) = {
            let snapshot = self.store.snapshot()?;
            (
                snapshot.counts()?,
                snapshot.vector_count(),
                snapshot.last_run()?,
            )
        };
        Ok(Stats {
            documents: counts.documents,
            chunks: counts.chunks,
            chunks_pending: counts.queued,
            embeddings: counts.embeddings,
            vectors: vectors as u64,
            failures: counts.failures,
            store_bytes: self.store.size_on_disk(),
            store_dir: self.store.dir().to_path_buf(),
            embedding_model: self.embedder.fingerprint().clone(),
            llm_path: self.config.models.llm.clone(),
            last_index_run,
        })
    }
}

/// A progress callback calling the caller's, if any, for a part of a call.
fn forward_progress<'f>(
    progress: &'f mut Option<ProgressFn<'_>>,
) -> impl FnMut(&IndexProgress) -> bool + 'f {
    move |state| progress.as_mut().is_none_or(|p| p(state))
}

fn absolute(path: &Path) -> PathBuf {
    std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf())
}

// The engine is shared across threads by hosts; keep that a compile-time fact.
const _: fn() = || {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<Engine>();
};

#[cfg(test)]
mod tests {
    //! Store bookkeeping with a deterministic stand-in embedder (no models).

    use std::sync::atomic::Ordering;

    use super::*;
    use crate::embed::stand_in::HashEmbedder;

    fn engine(dir: &Path, model: &str, reembed: bool) -> Result<(Engine, Arc<HashEmbedder>)> {
        let mut config = EngineConfig::new(dir, "unused-models");
        config.reembed = reembed;
        let embedder = Arc::new(HashEmbedder::new(model));
        let engine = Engine::with_embedder(config, Box::new(embedder.clone()))?;
        Ok((engine, embedder))
    }

    #[test]
    fn identical_text_is_embedded_once() {
        let dir = tempfile::tempdir().unwrap();
        let (engine, embedder) = engine(dir.path(), "a", false).unwrap();
        engine
            .add_text("one", "Same", "Shared paragraph of text.", &Metadata::new())
            .unwrap();
        let second = engine
            .add_text("two", "Same", "Shared paragraph of text.", &Metadata::new())
            .unwrap();
        assert_eq!((second.chunks_embedded, second.chunks_reused), (0, 1));
        assert_eq!(embedder.embedded.load(Ordering::SeqCst), 1);
        let stats = engine.stats().unwrap();
        assert_eq!((stats.chunks, stats.embeddings, stats.vectors), (2, 1, 2));
        // Removing one keeps the shared embedding for the other.
        assert!(engine.remove_document("one").unwrap());
        let stats = engine.stats().unwrap();
        assert_eq!((stats.chunks, stats.embeddings, stats.vectors), (1, 1, 1));
    }

    #[test]
    fn another_model_is_refused_unless_reembedding_is_asked_for() {
        let dir = tempfile::tempdir().unwrap();
        {
            let (engine, _) = engine(dir.path(), "a", false).unwrap();
            engine
                .add_text(
                    "x",
                    "X",
                    "First note.\n\nSecond paragraph here.",
                    &Metadata::new(),
                )
                .unwrap();
        }
        let err = engine(dir.path(), "b", false).err().unwrap();
        assert_eq!(err.kind(), crate::ErrorKind::IncompatibleStore);
        let (engine, embedder) = engine(dir.path(), "b", true).unwrap();
        let chunks = engine.stats().unwrap().chunks;
        assert_eq!(embedder.embedded.load(Ordering::SeqCst) as u64, chunks);
        assert_eq!(engine.stats().unwrap().vectors, chunks);
        drop(engine);
        assert!(self::engine(dir.path(), "b", false).is_ok());
    }
}
