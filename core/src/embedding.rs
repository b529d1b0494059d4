//! Vectors after keywords: indexing commits documents, chunks and keyword
//! rows at parse speed and leaves every new text in the store's embedding
//! queue; this module gives the queued chunks their vectors, one batch per
//! transaction, for a caller who waits ([`Embedding::embed_all`]) or on the
//! engine's background thread. The queue lives in SQLite, so a killed
//! process resumes where it stopped and nothing embedded is lost.
//!
//! One batch runs at a time per store: in-process by a mutex, across
//! processes by a lock on the store's `vectors.lock`, so two hosts on one
//! store do not both grind through the same backlog.

use std::collections::{HashMap, HashSet};
use std::fs::{File, TryLockError};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::cancel::CancelToken;
use crate::chunk::{ChunkingOptions, embed_text};
use crate::embed::Embedder;
use crate::error::{Error, ErrorKind, Result};
use crate::store::{QueuedEmbedding, Store};

/// Where embedding stands: "embedded n of m".
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EmbeddingStatus {
    /// Chunks in the store.
    pub chunks: u64,
    /// Chunks with their vector.
    pub embedded: u64,
    /// Chunks waiting for their vector (found by keyword search meanwhile).
    pub pending: u64,
    /// Whether the host paused background embedding.
    pub paused: bool,
    /// Whether this process is embedding a batch right now.
    pub running: bool,
    /// Threads the embedding model uses for passages.
    pub threads: u32,
    /// Why the last background batch failed, if it did; its chunks stay
    /// queued and are tried again.
    pub last_error: Option<String>,
}

/// What [`Embedding::embed_all`] did.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub(crate) struct Embedded {
    /// Distinct texts run through the model.
    pub texts: u64,
    /// Time in the model.
    pub model_ms: f64,
}

/// A quiet background thread looks this often for work queued by another
/// process (work this process queues wakes it at once).
const POLL: Duration = Duration::from_secs(5);

/// After a failed batch the background thread waits this long.
const RETRY: Duration = Duration::from_secs(10);

/// The background thread saves the vector index file at least this often
/// while it works through a backlog (and whenever the queue runs dry).
const SAVE_EVERY: Duration = Duration::from_secs(30);

/// Chunks read from the queue per batch, per text embedded: room for
/// chunks that share a text.
const READ_AHEAD: usize = 4;

/// The embedding work of one engine, and its background thread.
pub(crate) struct Embedding {
    shared: Arc<Shared>,
    thread: Option<JoinHandle<()>>,
}

struct Shared {
    store: Arc<Store>,
    embedder: Arc<dyn Embedder>,
    chunking: ChunkingOptions,
    batch_size: usize,
    /// One batch at a time in this process; holds the lock file once opened.
    batch: Mutex<Option<File>>,
    control: Mutex<Control>,
    wake: Condvar,
    /// Raised when the engine closes.
    stop: CancelToken,
}

#[derive(Default)]
struct Control {
    paused: bool,
    running: bool,
    /// Indexing calls that embed their own chunks: the background thread
    /// stands aside meanwhile, so each call's summary counts its own work.
    foreground: usize,
    /// Work may be waiting (set when this process queues, or on each poll).
    work: bool,
    threads: usize,
    last_error: Option<String>,
}

/// Whether a batch found its lock taken by another process.
enum Batch {
    Done { queued: usize, embedded: Embedded },
    Busy,
}

impl Embedding {
    /// Embedding for `store`; with `background`, a thread that embeds what
    /// is queued (starting with what an earlier process left).
    pub(crate) fn new(
        store: Arc<Store>,
        embedder: Arc<dyn Embedder>,
        chunking: ChunkingOptions,
        batch_size: usize,
        threads: usize,
        background: bool,
    ) -> Result<Self> {
        let shared = Arc::new(Shared {
            store,
            embedder,
            chunking,
            batch_size: batch_size.max(1),
            batch: Mutex::new(None),
            control: Mutex::new(Control {
                work: true,
                threads,
                ..Control::default()
            }),
            wake: Condvar::new(),
            stop: CancelToken::new(),
        });
        let thread = if background {
            let worker = Arc::clone(&shared);
            let spawned = std::thread::Builder::new()
                .name("trove-embedding".into())
                .spawn(move || worker.background());
            Some(spawned.map_err(|e| Error::io("cannot start the embedding thread", e))?)
        } else {
            None
        };
        Ok(Embedding { shared, thread })
    }

    /// Embeds everything queued, on the calling thread, also while
    /// background embedding is paused. `progress` gets (chunks embedded so
    /// far, chunks still queued) after each batch; `false` stops like
    /// `cancel` (the call fails with `Cancelled`; embedded batches stay).
    pub(crate) fn embed_all(
        &self,
        cancel: Option<&CancelToken>,
        progress: &mut dyn FnMut(u64, u64) -> bool,
    ) -> Result<Embedded> {
        let mut total = Embedded::default();
        let result = loop {
            if let Some(cancel) = cancel
                && let Err(e) = cancel.check()
            {
                break Err(e);
            }
            match self.shared.batch(true) {
                Ok(Batch::Done { queued: 0, .. }) => break Ok(()),
                Ok(Batch::Done { embedded, .. }) => {
                    total.texts += embedded.texts;
                    total.model_ms += embedded.model_ms;
                    let left = self.shared.store.snapshot()?.queued()?;
                    if !progress(total.texts, left) {
                        break Err(Error::cancelled());
                    }
                }
                Ok(Batch::Busy) => unreachable!("a waiting batch takes the lock"),
                Err(e) => break Err(e),
            }
        };
        // Batches leave the file to a later save; a caller who waited
        // expects to find its vectors there (another process, a reopen).
        self.shared.store.save_vectors()?;
        result.map(|()| total)
    }

    /// Keeps the background thread aside until the guard drops: for an
    /// indexing call that embeds what it queues.
    pub(crate) fn foreground(&self) -> Foreground<'_> {
        self.shared.control().foreground += 1;
        Foreground(self)
    }

    /// Tells the background thread that new work is queued.
    pub(crate) fn wake(&self) {
        let mut control = self.shared.control();
        control.work = true;
        self.shared.wake.notify_all();
    }

    /// Pauses background embedding (a batch in flight finishes).
    pub(crate) fn pause(&self) {
        self.shared.control().paused = true;
    }

    /// Resumes background embedding.
    pub(crate) fn resume(&self) {
        self.shared.control().paused = false;
        self.wake();
    }

    /// Threads the model uses for passages, from the next batch on.
    pub(crate) fn set_threads(&self, threads: usize) {
        let threads = threads.max(1);
        self.shared.control().threads = threads;
        self.shared.embedder.set_passage_threads(threads);
    }

    pub(crate) fn status(&self) -> Result<EmbeddingStatus> {
        let counts = self.shared.store.snapshot()?.counts()?;
        let control = self.shared.control();
        Ok(EmbeddingStatus {
            chunks: counts.chunks,
            embedded: counts.chunks - counts.queued.min(counts.chunks),
            pending: counts.queued,
            paused: control.paused,
            running: control.running,
            threads: u32::try_from(control.threads).unwrap_or(u32::MAX),
            last_error: control.last_error.clone(),
        })
    }
}

/// See [`Embedding::foreground`].
pub(crate) struct Foreground<'e>(&'e Embedding);

impl Drop for Foreground<'_> {
    fn drop(&mut self) {
        self.0.shared.control().foreground -= 1;
        self.0.wake();
    }
}

impl Drop for Embedding {
    fn drop(&mut self) {
        self.shared.stop.cancel();
        self.shared.wake.notify_all();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

impl Shared {
    fn control(&self) -> MutexGuard<'_, Control> {
        self.control.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The background thread: embeds while work is queued and it is not
    /// paused, sleeps otherwise; saves the index file when the queue runs
    /// dry, every [`SAVE_EVERY`] meanwhile, and when the engine closes.
    fn background(&self) {
        let mut saved = Instant::now();
        loop {
            {
                let mut control = self.control();
                loop {
                    if self.stop.is_cancelled() {
                        drop(control);
                        let _ = self.store.save_vectors();
                        return;
                    }
                    if control.work && !control.paused && control.foreground == 0 {
                        break;
                    }
                    let (next, waited) = self
                        .wake
                        .wait_timeout(control, POLL)
                        .unwrap_or_else(|p| p.into_inner());
                    control = next;
                    if waited.timed_out() {
                        control.work = true;
                    }
                }
                control.running = true;
            }
            let outcome = self.batch(false);
            // Dry: nothing left to embed here; the batch that emptied the
            // queue saves the index file at once, so other processes see
            // its vectors.
            let dry = match &outcome {
                Ok(Batch::Done { queued: 0, .. }) | Ok(Batch::Busy) => true,
                Ok(Batch::Done { .. }) => self
                    .store
                    .snapshot()
                    .and_then(|s| s.queued())
                    .is_ok_and(|n| n == 0),
                Err(e) => e.kind() == ErrorKind::Cancelled,
            };
            if dry || saved.elapsed() >= SAVE_EVERY {
                let _ = self.store.save_vectors();
                saved = Instant::now();
            }
            // `running` drops only after the save: a host that sees nothing
            // pending and nothing running finds the file saved too.
            let mut control = self.control();
            control.running = false;
            match outcome {
                Err(e) if e.kind() != ErrorKind::Cancelled => {
                    control.last_error = Some(e.to_string());
                    // Woken early by new work or by the engine closing.
                    let _ = self.wake.wait_timeout(control, RETRY);
                    continue;
                }
                Ok(Batch::Done { .. }) => control.last_error = None,
                _ => {}
            }
            if dry {
                control.work = false;
            }
        }
    }

    /// Embeds the next batch of the queue and commits it. `wait`: wait for
    /// another process's batch to end; else report [`Batch::Busy`].
    fn batch(&self, wait: bool) -> Result<Batch> {
        let mut slot = self.batch.lock().unwrap_or_else(|p| p.into_inner());
        if slot.is_none() {
            *slot = Some(self.store.open_embedding_lock()?);
        }
        let lock = slot.as_ref().expect("opened above");
        if wait {
            lock.lock()
                .map_err(|e| Error::io("cannot lock the store for embedding", e))?;
        } else {
            match lock.try_lock() {
                Ok(()) => {}
                Err(TryLockError::WouldBlock) => return Ok(Batch::Busy),
                Err(TryLockError::Error(e)) => {
                    return Err(Error::io("cannot lock the store for embedding", e));
                }
            }
        }
        let done = self.embed_batch();
        let _ = lock.unlock();
        done
    }

    /// The next `batch_size` distinct texts of the queue, with every queued
    /// chunk among those read that shares one: embedded (or found already
    /// stored) and committed in one transaction.
    fn embed_batch(&self) -> Result<Batch> {
        let snapshot = self.store.snapshot()?;
        let queued = snapshot.queued_chunks(self.batch_size * READ_AHEAD)?;
        if queued.is_empty() {
            return Ok(Batch::Done {
                queued: 0,
                embedded: Embedded::default(),
            });
        }
        // The text as chunked now: a chunking change since the chunk was
        // committed re-hashes it.
        let texts: Vec<(String, Vec<u8>)> = queued
            .iter()
            .map(|c| {
                let text = embed_text(&c.title, &c.heading_path, &c.text, &self.chunking);
                let hash = Sha256::digest(text.as_bytes()).to_vec();
                (text, hash)
            })
            .collect();
        let hashes: Vec<&[u8]> = texts.iter().map(|(_, h)| h.as_slice()).collect();
        let mut known = snapshot.known_vectors(&hashes)?;
        drop(snapshot);
        let mut chosen: HashSet<&[u8]> = HashSet::new();
        let mut todo: Vec<(&[u8], &str)> = Vec::new();
        for (text, hash) in &texts {
            if chosen.len() == self.batch_size && !chosen.contains(hash.as_slice()) {
                continue;
            }
            if chosen.insert(hash) && !known.contains_key(hash) {
                todo.push((hash, text));
            }
        }
        self.stop.check()?;
        let started = Instant::now();
        let inputs: Vec<&str> = todo.iter().map(|(_, t)| *t).collect();
        let vectors = self.embedder.embed_passages(&inputs)?;
        let model_ms = started.elapsed().as_secs_f64() * 1000.0;
        let fresh: HashMap<Vec<u8>, Vec<f32>> =
            todo.iter().map(|(h, _)| h.to_vec()).zip(vectors).collect();
        known.extend(fresh);
        let entries: Vec<QueuedEmbedding<'_>> = queued
            .iter()
            .zip(&texts)
            .filter(|(_, (_, hash))| chosen.contains(hash.as_slice()))
            .map(|(chunk, (_, hash))| QueuedEmbedding {
                chunk_id: chunk.chunk_id,
                queued_hash: &chunk.hash,
                hash,
                vector: &known[hash],
            })
            .collect();
        let mut writes = self.store.begin_writes();
        writes.transaction(|tx| tx.embed_queued(&entries))?;
        writes.finish_unsaved();
        Ok(Batch::Done {
            queued: queued.len(),
            embedded: Embedded {
                texts: todo.len() as u64,
                model_ms,
            },
        })
    }
}

#[cfg(test)]
mod tests {
    //! The queue and the background thread, with a stand-in embedder.

    use std::path::Path;
    use std::sync::atomic::Ordering;

    use super::*;
    use crate::embed::stand_in::HashEmbedder;
    use crate::{DocumentState, Engine, EngineConfig, Metadata, SearchMode, SearchOptions};

    fn open(dir: &Path, background: bool) -> (Engine, Arc<HashEmbedder>) {
        let mut config = EngineConfig::new(dir, "unused-models");
        config.wait_for_embedding = false;
        config.background_embedding = background;
        let embedder = Arc::new(HashEmbedder::new("a"));
        let engine = Engine::with_embedder(config, Box::new(embedder.clone())).unwrap();
        (engine, embedder)
    }

    fn add(engine: &Engine, id: &str, text: &str) {
        engine.add_text(id, id, text, &Metadata::new()).unwrap();
    }

    /// Waits (up to 20 s) until nothing is pending.
    fn until_embedded(engine: &Engine) -> EmbeddingStatus {
        for _ in 0..400 {
            let status = engine.embedding_status().unwrap();
            if status.pending == 0 && !status.running {
                return status;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!("still pending: {:?}", engine.embedding_status().unwrap());
    }

    fn search(engine: &Engine, query: &str, mode: SearchMode) -> Vec<crate::Hit> {
        let options = SearchOptions {
            mode,
            ..SearchOptions::default()
        };
        engine.search(query, &options).unwrap()
    }

    #[test]
    fn a_note_is_keyword_searchable_before_its_vector_exists() {
        let dir = tempfile::tempdir().unwrap();
        let (engine, embedder) = open(dir.path(), false);
        add(&engine, "tea", "Green tea steeps at eighty degrees.");
        let summary = engine.finish_embedding(Default::default()).unwrap();
        assert_eq!((summary.chunks_embedded, summary.chunks_pending), (1, 0));
        let queued = engine
            .add_text(
                "coffee",
                "Coffee",
                "Espresso extracts at ninety-three degrees.",
                &Metadata::new(),
            )
            .unwrap();
        assert_eq!((queued.chunks_queued, queued.chunks_embedded), (1, 0));
        assert_eq!(queued.chunks_pending, 1);
        assert_eq!(embedder.embedded.load(Ordering::SeqCst), 1);

        let status = engine.document_status("coffee").unwrap();
        assert_eq!(status.state, DocumentState::PendingEmbedding);
        assert_eq!(status.chunks_pending, 1);
        let keyword = search(&engine, "espresso", SearchMode::Keyword);
        assert_eq!(keyword[0].document_id, "coffee");
        assert!(!keyword[0].embedded);
        // Hybrid lets its keyword evidence stand in for the missing vector.
        let hybrid = search(&engine, "espresso degrees", SearchMode::Hybrid);
        assert_eq!(hybrid[0].document_id, "coffee");
        assert!(
            search(&engine, "espresso", SearchMode::Vector)
                .iter()
                .all(|h| h.document_id != "coffee")
        );
        let stats = engine.stats().unwrap();
        assert_eq!(
            (stats.chunks, stats.vectors, stats.chunks_pending),
            (2, 1, 1)
        );

        let mut seen = Vec::new();
        let summary = engine
            .finish_embedding(crate::IndexOptions {
                progress: Some(&mut |p| {
                    seen.push((p.chunks_embedded, p.chunks_queued));
                    true
                }),
                cancel: None,
            })
            .unwrap();
        assert_eq!((summary.chunks_embedded, summary.chunks_pending), (1, 0));
        assert_eq!(seen, vec![(1, 1)]);
        assert_eq!(
            engine.document_status("coffee").unwrap().state,
            DocumentState::Indexed
        );
        let vector = search(&engine, "espresso", SearchMode::Vector);
        assert_eq!(vector[0].document_id, "coffee");
        assert!(vector[0].embedded);
        assert_eq!(engine.stats().unwrap().vectors, 2);
    }

    #[test]
    fn the_background_thread_embeds_pauses_resumes_and_takes_a_thread_budget() {
        let dir = tempfile::tempdir().unwrap();
        let (engine, embedder) = open(dir.path(), true);
        engine.pause_embedding();
        for i in 0..5 {
            add(
                &engine,
                &format!("n{i}"),
                &format!("Note number {i} about rivers."),
            );
        }
        std::thread::sleep(Duration::from_millis(300));
        let paused = engine.embedding_status().unwrap();
        assert!(paused.paused);
        assert_eq!((paused.chunks, paused.pending), (5, 5));
        assert_eq!(embedder.embedded.load(Ordering::SeqCst), 0);
        engine.set_embedding_threads(1);
        engine.resume_embedding();
        let done = until_embedded(&engine);
        assert_eq!((done.embedded, done.threads, done.paused), (5, 1, false));
        assert_eq!(done.last_error, None);
        assert_eq!(engine.stats().unwrap().vectors, 5);
    }

    #[test]
    fn a_reopened_store_resumes_the_queue_and_removed_notes_leave_it() {
        let dir = tempfile::tempdir().unwrap();
        {
            let (engine, _) = open(dir.path(), false);
            add(&engine, "a", "Alpha paragraph about mountains.");
            add(&engine, "b", "Beta paragraph about valleys.");
            add(&engine, "c", "Gamma paragraph about plains.");
            assert!(engine.remove_document("b").unwrap());
            assert_eq!(engine.embedding_status().unwrap().pending, 2);
        }
        let (engine, embedder) = open(dir.path(), true);
        let done = until_embedded(&engine);
        assert_eq!((done.chunks, done.embedded), (2, 2));
        assert_eq!(embedder.embedded.load(Ordering::SeqCst), 2);
        drop(engine);
        // The background thread saved the index file: a reopen loads it.
        let (engine, _) = open(dir.path(), false);
        assert_eq!(engine.stats().unwrap().vectors, 2);
    }

    #[test]
    fn a_changed_note_replaces_its_queued_chunks() {
        let dir = tempfile::tempdir().unwrap();
        let (engine, embedder) = open(dir.path(), false);
        add(&engine, "a", "First draft about lakes.");
        add(&engine, "a", "Second draft about oceans.");
        assert_eq!(engine.embedding_status().unwrap().pending, 1);
        engine.finish_embedding(Default::default()).unwrap();
        // Only the text that is still there was embedded.
        assert_eq!(embedder.embedded.load(Ordering::SeqCst), 1);
        let hits = search(&engine, "oceans", SearchMode::Vector);
        assert_eq!(hits[0].document_id, "a");
    }
}
