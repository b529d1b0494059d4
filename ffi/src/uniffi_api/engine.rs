//! The `Engine` and `CancelToken` objects.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use trove::IndexOptions;

use super::error::TroveError;
use super::listeners::{ProgressListener, TokenListener, WatchListener};
use super::records::{
    Answer, AskOptions, DocumentLink, DocumentStatus, EmbeddingStatus, EngineConfig, Explanation,
    GpuSupport, Hit, IndexSummary, ModelInfo, SearchOptions, Stats, Turn,
};
use super::thread_future::ThreadFuture;

/// The GPU backends the library was built with and the GPUs they find
/// (`EngineConfig.gpu_layers` needs one); no engine needed.
#[uniffi::export]
pub fn gpu_support() -> Result<GpuSupport, TroveError> {
    Ok(trove::gpu_support()?)
}

/// Stops the index or ask calls it is passed to; raise it from any thread.
#[derive(Debug, Default, uniffi::Object)]
pub struct CancelToken(trove::CancelToken);

#[uniffi::export]
impl CancelToken {
    /// A fresh, un-raised token.
    #[uniffi::constructor]
    pub fn new() -> Arc<Self> {
        Arc::new(Self::default())
    }

    /// Stops calls using this token as soon as they can; they fail with
    /// `Cancelled` and keep committed work.
    pub fn cancel(&self) {
        self.0.cancel();
    }

    /// Whether `cancel` was called (and not reset since).
    pub fn is_cancelled(&self) -> bool {
        self.0.is_cancelled()
    }

    /// Lowers the flag so the token can serve the next call.
    pub fn reset(&self) {
        self.0.reset();
    }
}

/// The core token behind an optional host token (a fresh one when none).
fn token(cancel: Option<Arc<CancelToken>>) -> trove::CancelToken {
    cancel.map(|c| c.0.clone()).unwrap_or_default()
}

/// An open knowledge base. Thread-safe: share one per store.
///
/// ```swift
/// let engine = try Engine.open(config: EngineConfig(storeDir: dir, modelsDir: models))
/// _ = try await engine.indexPathAsync(path: notes, listener: nil, cancel: nil)
/// let answer = try await engine.askAsync(question: "What grind size?", options: nil,
///                                        listener: nil, cancel: nil)
/// ```
#[derive(uniffi::Object)]
pub struct Engine {
    inner: Arc<trove::Engine>,
}

#[uniffi::export]
impl Engine {
    /// Opens (or creates) the store and loads the embedding model; the
    /// answer model loads on the first ask.
    #[uniffi::constructor]
    pub fn open(config: EngineConfig) -> Result<Arc<Self>, TroveError> {
        let mut core = trove::EngineConfig::new(&config.store_dir, &config.models_dir);
        core.threads = config.threads as usize;
        if config.context_size > 0 {
            core.context_size = config.context_size;
        }
        core.reembed = config.reembed;
        core.wait_for_embedding = !config.embed_in_background;
        core.embedding_threads = config.embedding_threads as usize;
        core.cache_type_k = config.cache_type_k.unwrap_or_default();
        core.cache_type_v = config.cache_type_v.unwrap_or_default();
        core.lora_adapters = config.lora_adapters;
        core.gpu_layers = config.gpu_layers;
        if let Some(llm) = config.llm_path {
            core.models.llm = llm.into();
        }
        if let Some(model) = config.embedding_path {
            core.models.embedding_dir = model.into();
        }
        Ok(Arc::new(Engine {
            inner: Arc::new(trove::Engine::open(core)?),
        }))
    }

    /// Adds (or replaces) host text under `id`; `text` is read as Markdown,
    /// `metadata_json` is a JSON object whose `tags` become the tags.
    #[uniffi::method(default(metadata_json = None))]
    pub fn add_text(
        &self,
        id: String,
        title: String,
        text: String,
        metadata_json: Option<String>,
    ) -> Result<IndexSummary, TroveError> {
        let metadata = trove::metadata_from_json(metadata_json.as_deref().unwrap_or(""))?;
        Ok(self.inner.add_text(&id, &title, &text, &metadata)?)
    }

    /// Indexes a file or folder; unchanged files cost nothing. Blocks: use
    /// `index_path_async` from UI code. The listener runs on this thread.
    #[uniffi::method(default(listener = None, cancel = None))]
    pub fn index_path(
        &self,
        path: String,
        listener: Option<Arc<dyn ProgressListener>>,
        cancel: Option<Arc<CancelToken>>,
    ) -> Result<IndexSummary, TroveError> {
        index(&self.inner, &path, listener, token(cancel))
    }

    /// `index_path` on a background thread. The listener runs on that
    /// thread. Cancelling the calling task cancels the indexing.
    #[uniffi::method(default(listener = None, cancel = None))]
    pub async fn index_path_async(
        &self,
        path: String,
        listener: Option<Arc<dyn ProgressListener>>,
        cancel: Option<Arc<CancelToken>>,
    ) -> Result<IndexSummary, TroveError> {
        let engine = self.inner.clone();
        let cancel = token(cancel);
        let watched = cancel.clone();
        ThreadFuture::spawn(cancel, move || index(&engine, &path, listener, watched)).await
    }

    /// Removes a document by id (host id or file path); whether one was there.
    pub fn remove_document(&self, id: String) -> Result<bool, TroveError> {
        Ok(self.inner.remove_document(&id)?)
    }

    /// Removes every file document at or under `path`; how many.
    pub fn remove_path(&self, path: String) -> Result<u64, TroveError> {
        Ok(self.inner.remove_path(&path)? as u64)
    }

    /// The links written in document `document_id` (a host id or a file's
    /// absolute path, as hits give it), in document order, each with the
    /// document it resolves to now.
    pub fn outgoing_links(&self, document_id: String) -> Result<Vec<DocumentLink>, TroveError> {
        Ok(self.inner.outgoing_links(&document_id)?)
    }

    /// The links of other documents that resolve to `document_id` ("notes
    /// linking here").
    pub fn backlinks(&self, document_id: String) -> Result<Vec<DocumentLink>, TroveError> {
        Ok(self.inner.backlinks(&document_id)?)
    }

    /// Where document `document_id` (a file's absolute path or a host id)
    /// stands: indexed, changed, missing, failed (and why) or not indexed.
    pub fn document_status(&self, document_id: String) -> Result<DocumentStatus, TroveError> {
        Ok(self.inner.document_status(&document_id)?)
    }

    /// Why `document_id` ranks where it does for `query`: its status, best
    /// passage, rank and score per retriever, and the reasons in sentences.
    pub fn explain(&self, query: String, document_id: String) -> Result<Explanation, TroveError> {
        Ok(self.inner.explain(&query, &document_id)?)
    }

    /// The passages best matching `query`, best first.
    #[uniffi::method(default(options = None))]
    pub fn search(
        &self,
        query: String,
        options: Option<SearchOptions>,
    ) -> Result<Vec<Hit>, TroveError> {
        let options = options.unwrap_or_default().to_core();
        Ok(self.inner.search(&query, &options)?)
    }

    /// Answers from the knowledge base, streaming pieces to `listener` (on
    /// this thread). Blocks: use `ask_async` from UI code.
    #[uniffi::method(default(options = None, listener = None, cancel = None))]
    pub fn ask(
        &self,
        question: String,
        options: Option<AskOptions>,
        listener: Option<Arc<dyn TokenListener>>,
        cancel: Option<Arc<CancelToken>>,
    ) -> Result<Answer, TroveError> {
        ask(
            &self.inner,
            None,
            &question,
            options,
            listener,
            token(cancel),
        )
    }

    /// `ask` on a background thread; `listener` runs on that thread.
    /// Cancelling the calling task stops generation.
    #[uniffi::method(default(options = None, listener = None, cancel = None))]
    pub async fn ask_async(
        &self,
        question: String,
        options: Option<AskOptions>,
        listener: Option<Arc<dyn TokenListener>>,
        cancel: Option<Arc<CancelToken>>,
    ) -> Result<Answer, TroveError> {
        let engine = self.inner.clone();
        let cancel = token(cancel);
        let watched = cancel.clone();
        ThreadFuture::spawn(cancel, move || {
            ask(&engine, None, &question, options, listener, watched)
        })
        .await
    }

    /// Answers `question` as the next turn of `conversation` and adds the
    /// turn to it: a follow-up is searched with the previous question, a
    /// generated answer sees the earlier turns, and the model's state of the
    /// previous turn is reused. Blocks: use `ask_in_async` from UI code.
    #[uniffi::method(default(options = None, listener = None, cancel = None))]
    pub fn ask_in(
        &self,
        conversation: Arc<Conversation>,
        question: String,
        options: Option<AskOptions>,
        listener: Option<Arc<dyn TokenListener>>,
        cancel: Option<Arc<CancelToken>>,
    ) -> Result<Answer, TroveError> {
        let conversation = Some(conversation.as_ref());
        ask(
            &self.inner,
            conversation,
            &question,
            options,
            listener,
            token(cancel),
        )
    }

    /// `ask_in` on a background thread; `listener` runs on that thread.
    #[uniffi::method(default(options = None, listener = None, cancel = None))]
    pub async fn ask_in_async(
        &self,
        conversation: Arc<Conversation>,
        question: String,
        options: Option<AskOptions>,
        listener: Option<Arc<dyn TokenListener>>,
        cancel: Option<Arc<CancelToken>>,
    ) -> Result<Answer, TroveError> {
        let engine = self.inner.clone();
        let cancel = token(cancel);
        let watched = cancel.clone();
        ThreadFuture::spawn(cancel, move || {
            let conversation = Some(conversation.as_ref());
            ask(&engine, conversation, &question, options, listener, watched)
        })
        .await
    }

    /// Counts and facts about the store.
    pub fn stats(&self) -> Result<Stats, TroveError> {
        Ok(self.inner.stats()?)
    }

    /// The engine's models, each hashed and checked against what was
    /// recorded for it; an answer model changed since the store recorded it
    /// is refused until `accept` records it as it is now. Reads every
    /// model file: seconds for large ones.
    #[uniffi::method(default(accept = false))]
    pub fn models(&self, accept: bool) -> Result<Vec<ModelInfo>, TroveError> {
        Ok(self.inner.models(accept)?)
    }

    /// Where embedding stands: chunks embedded of all, pending, paused.
    pub fn embedding_status(&self) -> Result<EmbeddingStatus, TroveError> {
        Ok(self.inner.embedding_status()?)
    }

    /// Embeds every queued chunk on this thread (also while paused), for
    /// full hybrid search after indexing with `embed_in_background`.
    /// Blocks: use `finish_embedding_async` from UI code.
    #[uniffi::method(default(listener = None, cancel = None))]
    pub fn finish_embedding(
        &self,
        listener: Option<Arc<dyn ProgressListener>>,
        cancel: Option<Arc<CancelToken>>,
    ) -> Result<IndexSummary, TroveError> {
        finish_embedding(&self.inner, listener, token(cancel))
    }

    /// `finish_embedding` on a background thread.
    #[uniffi::method(default(listener = None, cancel = None))]
    pub async fn finish_embedding_async(
        &self,
        listener: Option<Arc<dyn ProgressListener>>,
        cancel: Option<Arc<CancelToken>>,
    ) -> Result<IndexSummary, TroveError> {
        let engine = self.inner.clone();
        let cancel = token(cancel);
        let watched = cancel.clone();
        ThreadFuture::spawn(cancel, move || finish_embedding(&engine, listener, watched)).await
    }

    /// Pauses background embedding (a batch in flight finishes).
    pub fn pause_embedding(&self) {
        self.inner.pause_embedding();
    }

    /// Resumes background embedding.
    pub fn resume_embedding(&self) {
        self.inner.resume_embedding();
    }

    /// Threads for embedding passages from the next batch on (at least 1):
    /// lower it on battery.
    pub fn set_embedding_threads(&self, threads: u32) {
        self.inner.set_embedding_threads(threads as usize);
    }

    /// Reconciles `paths` with the store, then follows their changes on a
    /// background thread, reporting each to `listener` (on that thread)
    /// once searchable. `debounce_ms`: how long a file must stay untouched
    /// before it is indexed (0: 300 ms). Keep the returned watcher; `stop`
    /// it (or drop it) to end watching.
    #[uniffi::method(default(debounce_ms = 0))]
    pub fn watch(
        &self,
        paths: Vec<String>,
        listener: Arc<dyn WatchListener>,
        debounce_ms: u32,
    ) -> Result<Arc<Watcher>, TroveError> {
        let roots: Vec<PathBuf> = paths.into_iter().map(PathBuf::from).collect();
        let options = trove::WatchOptions {
            debounce: match debounce_ms {
                0 => trove::WatchOptions::default().debounce,
                ms => Duration::from_millis(ms.into()),
            },
        };
        let watcher = trove::Watcher::start(
            self.inner.clone(),
            &roots,
            options,
            Box::new(move |event| listener.on_event(event)),
        )?;
        Ok(Arc::new(Watcher(Mutex::new(Some(watcher)))))
    }
}

/// A running watch, from `Engine.watch`.
#[derive(uniffi::Object)]
pub struct Watcher(Mutex<Option<trove::Watcher>>);

#[uniffi::export]
impl Watcher {
    /// Stops watching and waits for the background thread; the listener is
    /// not called afterwards. Calling it again does nothing.
    pub fn stop(&self) {
        let watcher = self.0.lock().unwrap_or_else(|p| p.into_inner()).take();
        if let Some(watcher) = watcher {
            watcher.stop();
        }
    }
}

fn index(
    engine: &trove::Engine,
    path: &str,
    listener: Option<Arc<dyn ProgressListener>>,
    cancel: trove::CancelToken,
) -> Result<IndexSummary, TroveError> {
    let mut report = forward(listener);
    Ok(engine.index_path(
        path,
        IndexOptions {
            progress: Some(&mut report),
            cancel: Some(cancel),
        },
    )?)
}

fn finish_embedding(
    engine: &trove::Engine,
    listener: Option<Arc<dyn ProgressListener>>,
    cancel: trove::CancelToken,
) -> Result<IndexSummary, TroveError> {
    let mut report = forward(listener);
    Ok(engine.finish_embedding(IndexOptions {
        progress: Some(&mut report),
        cancel: Some(cancel),
    })?)
}

/// The host's progress listener as the engine's callback.
fn forward(
    listener: Option<Arc<dyn ProgressListener>>,
) -> impl FnMut(&trove::IndexProgress) -> bool {
    move |p| {
        listener
            .as_ref()
            .is_none_or(|listener| listener.on_progress(p.clone()))
    }
}

/// A conversation: its turns (save them with `turns`, go on later with
/// `from_turns`) and the model state that makes a follow-up fast. Calls on
/// one conversation run one at a time.
#[derive(Debug, Default, uniffi::Object)]
pub struct Conversation(Mutex<trove::Conversation>);

#[uniffi::export]
impl Conversation {
    /// A conversation with no turns yet.
    #[uniffi::constructor]
    pub fn new() -> Arc<Self> {
        Arc::new(Self::default())
    }

    /// A conversation that goes on from saved turns.
    #[uniffi::constructor]
    pub fn from_turns(turns: Vec<Turn>) -> Arc<Self> {
        Arc::new(Conversation(Mutex::new(trove::Conversation::from_turns(
            turns,
        ))))
    }

    /// The turns so far, oldest first.
    pub fn turns(&self) -> Vec<Turn> {
        self.lock().turns().to_vec()
    }

    /// Forgets every turn.
    pub fn clear(&self) {
        self.lock().clear();
    }
}

impl Conversation {
    fn lock(&self) -> std::sync::MutexGuard<'_, trove::Conversation> {
        self.0.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// Asks `question` (in `conversation` when given), streaming to `listener`.
fn ask(
    engine: &trove::Engine,
    conversation: Option<&Conversation>,
    question: &str,
    options: Option<AskOptions>,
    listener: Option<Arc<dyn TokenListener>>,
    cancel: trove::CancelToken,
) -> Result<Answer, TroveError> {
    let options = options.unwrap_or_default().to_core(cancel);
    let mut stream = |piece: &str| {
        listener
            .as_ref()
            .is_none_or(|l| l.on_token(piece.to_owned()))
    };
    Ok(match conversation {
        Some(c) => engine.ask_in(&mut c.lock(), question, &options, &mut stream)?,
        None => engine.ask(question, &options, &mut stream)?,
    })
}
