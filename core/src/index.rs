//! Incremental indexing: files and host text → chunks → embeddings → store.
//!
//! A document is skipped without reading when its size and mtime match the
//! store, and without parsing when its content hash does. A changed document
//! is re-chunked and only chunks whose text is new are embedded; the rest
//! reuse their stored vectors. Each batch of documents is one SQLite
//! transaction, so a killed process loses at most the batch in flight.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::time::{Instant, UNIX_EPOCH};

use sha2::{Digest, Sha256};

use crate::cancel::CancelToken;
use crate::chunk::{Chunk, ChunkingOptions, chunk_document};
use crate::embed::Embedder;
use crate::error::{Error, Result};
use crate::ingest::{self, IngestLimits, ParsedDocument};
use crate::store::Store;
use crate::store::db::{self, ChunkRow, DocumentRow, StoredFailure};
use crate::walk::{self, Walked};

/// Progress of an indexing run, reported after each file and each batch.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct IndexProgress {
    /// Files finished (indexed, unchanged or failed).
    pub files_done: usize,
    /// Files found.
    pub files_total: usize,
    /// Chunks embedded so far.
    pub chunks_embedded: usize,
    /// Chunks whose stored embedding was reused so far.
    pub chunks_reused: usize,
    /// Bytes of the files finished.
    pub bytes_done: u64,
    /// Bytes of all files found.
    pub bytes_total: u64,
}

/// A file that could not be indexed, and why.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct IndexFailure {
    /// The file (or host id).
    pub path: String,
    /// Stable reason code (`binary`, `not_utf8`, `pdf_no_text`, …).
    pub code: String,
    /// A sentence for people, naming the fix.
    pub reason: String,
}

/// Time spent per stage, in milliseconds.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize)]
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
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize)]
pub struct IndexSummary {
    /// Files considered.
    pub files_seen: usize,
    /// Files (re)indexed.
    pub files_indexed: usize,
    /// Files unchanged since the last run.
    pub files_unchanged: usize,
    /// Documents removed because their file is gone.
    pub files_removed: usize,
    /// Files that could not be indexed.
    pub files_failed: usize,
    /// Why each failed file failed.
    pub failures: Vec<IndexFailure>,
    /// Chunks run through the embedding model.
    pub chunks_embedded: usize,
    /// Chunks that reused a stored embedding of identical text.
    pub chunks_reused: usize,
    /// Bytes of the files (re)indexed.
    pub bytes_indexed: u64,
    /// Wall time of the call.
    pub seconds: f64,
    /// Where the time went.
    pub stages: StageTimings,
}

/// What an indexing call did to one file's document.
#[derive(Debug, Clone, PartialEq)]
pub enum FileChange {
    /// The file was (re)indexed and is searchable.
    Indexed {
        /// The file.
        path: PathBuf,
        /// Its chunks run through the embedding model.
        chunks_embedded: usize,
        /// Its chunks that reused a stored embedding of identical text.
        chunks_reused: usize,
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

/// Callback receiving progress; runs on the indexing thread.
pub type ProgressFn<'a> = &'a mut dyn FnMut(&IndexProgress);

/// A parsed document waiting for its embeddings.
struct Pending {
    row: DocumentRow,
    chunks: Vec<Chunk>,
    hashes: Vec<Vec<u8>>,
}

/// Documents gathered per transaction; bounds the work lost to a crash.
const BATCH_CHUNKS: usize = 128;

/// Shared state of one indexing call.
pub(crate) struct Indexer<'a, 'p> {
    pub store: &'a Store,
    pub embedder: &'a dyn Embedder,
    pub chunking: &'a ChunkingOptions,
    pub limits: &'a IngestLimits,
    pub batch_size: usize,
    pub cancel: Option<CancelToken>,
    pub progress: Option<ProgressFn<'p>>,
    pub summary: IndexSummary,
    state: IndexProgress,
    pending: Vec<Pending>,
    pending_chunks: usize,
    started: Instant,
    /// Per-file outcomes, for [`UpdateReport::changes`].
    changes: Vec<FileChange>,
    /// Whether the vector index changed since the last save.
    dirty: bool,
}

impl<'a, 'p> Indexer<'a, 'p> {
    pub(crate) fn new(
        store: &'a Store,
        embedder: &'a dyn Embedder,
        chunking: &'a ChunkingOptions,
        limits: &'a IngestLimits,
        batch_size: usize,
    ) -> Self {
        Indexer {
            store,
            embedder,
            chunking,
            limits,
            batch_size: batch_size.max(1),
            cancel: None,
            progress: None,
            summary: IndexSummary::default(),
            state: IndexProgress::default(),
            pending: Vec::new(),
            pending_chunks: 0,
            started: Instant::now(),
            changes: Vec::new(),
            dirty: false,
        }
    }

    fn check_cancel(&self) -> Result<()> {
        self.cancel.as_ref().map_or(Ok(()), |c| c.check())
    }

    fn report(&mut self) {
        self.state.chunks_embedded = self.summary.chunks_embedded;
        self.state.chunks_reused = self.summary.chunks_reused;
        if let Some(progress) = self.progress.as_mut() {
            progress(&self.state);
        }
    }

    /// Indexes files and folders, then removes documents of files that
    /// vanished from the given folders (or are now excluded by its rules).
    pub(crate) fn index_paths(mut self, roots: &[PathBuf]) -> Result<IndexSummary> {
        let walk_started = Instant::now();
        let mut walked = Walked::default();
        let mut swept = Vec::new();
        for root in roots {
            let root = std::fs::canonicalize(root).map_err(|e| {
                Error::io(
                    format!(
                        "cannot index {} (check the path exists and is readable)",
                        root.display()
                    ),
                    e,
                )
            })?;
            let found = walk::walk(&root)?;
            walked.files.extend(found.files);
            walked.failures.extend(found.failures);
            swept.push(root);
        }
        self.summary.stages.read_parse_ms += ms(walk_started);
        self.run(walked, &swept, &[])?;
        Ok(self.summary)
    }

    /// Brings exactly `paths` up to date: a file is (re)indexed, a folder is
    /// walked and swept like a root of `index_paths`, a path that no longer
    /// exists (or is not an indexable file) has its documents at or under it
    /// removed; so are the documents at or under `forget`. Paths are used as
    /// given (made absolute, links not resolved), as a folder walk reports them.
    pub(crate) fn update_paths(
        mut self,
        paths: &[PathBuf],
        forget: &[PathBuf],
    ) -> Result<UpdateReport> {
        let walk_started = Instant::now();
        let mut walked = Walked::default();
        let mut swept = Vec::new();
        let mut gone: Vec<PathBuf> = forget.iter().map(|p| absolute(p)).collect();
        for path in paths {
            let path = absolute(path);
            match std::fs::metadata(&path) {
                Ok(meta) if meta.is_dir() => {
                    if let Some(failure) = walk::loops_back(&path) {
                        walked.failures.push(failure);
                        gone.push(path);
                        continue;
                    }
                    match walk::walk(&path) {
                        Ok(found) => {
                            walked.files.extend(found.files);
                            walked.failures.extend(found.failures);
                            swept.push(path);
                        }
                        // Vanished between the two calls.
                        Err(_) => gone.push(path),
                    }
                }
                Ok(meta) if meta.is_file() && ingest::is_supported_path(&path) => {
                    walked.files.push((path, meta));
                }
                Ok(_) => gone.push(path),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => gone.push(path),
                Err(e) => walked.failures.push(walk::io_failure(&path, &e)),
            }
        }
        self.summary.stages.read_parse_ms += ms(walk_started);
        self.run(walked, &swept, &gone)?;
        Ok(UpdateReport {
            summary: self.summary,
            changes: self.changes,
        })
    }

    /// Indexes `walked`, sweeps the folders `swept` of documents whose files
    /// were not found in them, removes the documents under `gone`, and saves
    /// the vector index once if anything changed.
    fn run(&mut self, mut walked: Walked, swept: &[PathBuf], gone: &[PathBuf]) -> Result<()> {
        let files = &mut walked.files;
        files.sort_by(|a, b| a.0.cmp(&b.0));
        files.dedup_by(|a, b| a.0 == b.0);
        for failure in walked.failures {
            self.fail_with(failure);
        }
        self.summary.files_seen = files.len() + self.summary.failures.len();
        self.state.files_total = self.summary.files_seen;
        self.state.files_done = self.summary.failures.len();
        self.state.bytes_total = files.iter().map(|(_, m)| m.len()).sum();
        self.report();

        // Failed entries count as seen: their documents stay until fixed.
        let mut seen: HashSet<String> = files.iter().map(|(p, _)| file_key(p)).collect();
        seen.extend(
            self.summary
                .failures
                .iter()
                .map(|f| format!("file:{}", f.path)),
        );
        let result = self.index_files(files);
        // Whatever happened, keep what was committed and make it searchable.
        let flushed = result.and_then(|_| self.flush());
        let removed = flushed.and_then(|_| {
            self.check_cancel()?;
            self.remove_vanished(swept, &seen)?;
            self.remove_vanished(gone, &HashSet::new())
        });
        let saved = if self.dirty {
            self.store.save_vectors()
        } else {
            Ok(())
        };
        removed?;
        saved?;
        self.summary.seconds = self.started.elapsed().as_secs_f64();
        Ok(())
    }

    fn index_files(&mut self, files: &[(PathBuf, std::fs::Metadata)]) -> Result<()> {
        for (path, meta) in files {
            self.check_cancel()?;
            self.index_file(path, meta)?;
            self.state.files_done += 1;
            self.state.bytes_done += meta.len();
            if self.pending_chunks >= BATCH_CHUNKS {
                self.flush()?;
            }
            self.report();
        }
        Ok(())
    }

    fn index_file(&mut self, path: &Path, meta: &std::fs::Metadata) -> Result<()> {
        let started = Instant::now();
        let key = file_key(path);
        let size = meta.len();
        let mtime_ns = mtime_ns(meta);
        let (stored, failure) = self
            .store
            .db
            .read(|c| Ok((db::stored_state(c, &key)?, db::stored_failure(c, &key)?)))?;
        if stored
            .as_ref()
            .is_some_and(|s| s.size == size && s.mtime_ns == mtime_ns)
        {
            self.summary.files_unchanged += 1;
            return Ok(());
        }
        // Unreadable files are retried: making a file readable changes no
        // size or mtime.
        if let Some(f) = failure.filter(|f| {
            f.size == size
                && f.mtime_ns == mtime_ns
                && !matches!(f.code.as_str(), "io" | "permission_denied")
        }) {
            self.fail(path, &f.code, &f.reason);
            return Ok(());
        }
        let parsed = ingest::read_limited(path, self.limits).and_then(|bytes| {
            let hash = Sha256::digest(&bytes).to_vec();
            if stored.as_ref().is_some_and(|s| s.content_hash == hash) {
                return Ok(None);
            }
            ingest::parse(path, &bytes, self.limits).map(|doc| Some((doc, hash)))
        });
        self.summary.stages.read_parse_ms += ms(started);
        match parsed {
            Ok(None) => {
                self.store
                    .db
                    .write(|tx| db::touch_document(tx, &key, size, mtime_ns))?;
                self.summary.files_unchanged += 1;
            }
            Ok(Some((doc, hash))) => {
                let row = DocumentRow {
                    key,
                    path: Some(path.to_string_lossy().into_owned()),
                    kind: doc.kind.as_str().to_string(),
                    title: doc.title.clone(),
                    tags: doc.tags.clone(),
                    metadata: serde_json::Value::Object(doc.metadata.clone()).to_string(),
                    content_hash: hash,
                    size,
                    mtime_ns,
                };
                self.summary.bytes_indexed += size;
                self.enqueue(row, &doc);
            }
            Err(reason) => {
                let failure = StoredFailure {
                    code: reason.code().to_string(),
                    reason: reason.to_string(),
                    size,
                    mtime_ns,
                };
                self.store
                    .db
                    .write(|tx| db::record_failure(tx, &key, &failure))?;
                self.fail(path, &failure.code, &failure.reason);
            }
        }
        Ok(())
    }

    fn fail(&mut self, path: &Path, code: &str, reason: &str) {
        self.fail_with(IndexFailure {
            path: path.to_string_lossy().into_owned(),
            code: code.to_string(),
            reason: reason.to_string(),
        });
    }

    fn fail_with(&mut self, failure: IndexFailure) {
        self.summary.files_failed += 1;
        self.changes.push(FileChange::Failed(failure.clone()));
        self.summary.failures.push(failure);
    }

    /// Adds text handed over by the host app (an id, not a file).
    pub(crate) fn index_text(
        mut self,
        id: &str,
        doc: ParsedDocument,
        fingerprint: &str,
    ) -> Result<IndexSummary> {
        let key = format!("host:{id}");
        let hash = Sha256::digest(fingerprint.as_bytes()).to_vec();
        self.summary.files_seen = 1;
        let stored = self.store.db.read(|c| db::stored_state(c, &key))?;
        if stored.is_some_and(|s| s.content_hash == hash) {
            self.summary.files_unchanged = 1;
        } else {
            let row = DocumentRow {
                key,
                path: None,
                kind: doc.kind.as_str().to_string(),
                title: doc.title.clone(),
                tags: doc.tags.clone(),
                metadata: serde_json::Value::Object(doc.metadata.clone()).to_string(),
                content_hash: hash,
                size: fingerprint.len() as u64,
                mtime_ns: 0,
            };
            self.summary.bytes_indexed = row.size;
            self.enqueue(row, &doc);
            self.flush()?;
            self.store.save_vectors()?;
        }
        self.summary.seconds = self.started.elapsed().as_secs_f64();
        Ok(self.summary)
    }

    fn enqueue(&mut self, row: DocumentRow, doc: &ParsedDocument) {
        let started = Instant::now();
        let embedder = self.embedder;
        let chunks = chunk_document(doc, self.chunking, embedder.max_tokens(), &|t| {
            embedder.count_tokens(t)
        });
        let hashes = chunks
            .iter()
            .map(|c| Sha256::digest(c.embed_text.as_bytes()).to_vec())
            .collect();
        self.pending_chunks += chunks.len();
        self.pending.push(Pending {
            row,
            chunks,
            hashes,
        });
        self.summary.stages.chunk_ms += ms(started);
    }

    /// Embeds what the pending documents need and commits them in one transaction.
    fn flush(&mut self) -> Result<()> {
        if self.pending.is_empty() {
            return Ok(());
        }
        let all_hashes: Vec<&[u8]> = self
            .pending
            .iter()
            .flat_map(|p| p.hashes.iter().map(|h| h.as_slice()))
            .collect();
        let mut vectors = self.store.db.read(|c| db::known_vectors(c, &all_hashes))?;
        // Unique new texts, shortest first so each batch pads little.
        let mut todo: Vec<(&[u8], &str)> = Vec::new();
        let mut queued: HashSet<&[u8]> = HashSet::new();
        for p in &self.pending {
            for (chunk, hash) in p.chunks.iter().zip(&p.hashes) {
                if !vectors.contains_key(hash) && queued.insert(hash) {
                    todo.push((hash, &chunk.embed_text));
                }
            }
        }
        todo.sort_by_key(|(_, text)| text.len());
        let started = Instant::now();
        let mut fresh: HashMap<Vec<u8>, Vec<f32>> = HashMap::new();
        for batch in todo.chunks(self.batch_size) {
            self.check_cancel()?;
            let texts: Vec<&str> = batch.iter().map(|(_, t)| *t).collect();
            let embedded = self.embedder.embed_passages(&texts)?;
            for ((hash, _), vector) in batch.iter().zip(embedded) {
                fresh.insert(hash.to_vec(), vector);
            }
        }
        self.summary.stages.embed_ms += ms(started);
        let total: usize = self.pending.iter().map(|p| p.chunks.len()).sum();
        self.summary.chunks_embedded += todo.len();
        self.summary.chunks_reused += total - todo.len();
        // A new text counts as embedded for the first document holding it.
        let mut claimed: HashSet<&[u8]> = HashSet::new();
        for p in &self.pending {
            let Some(path) = &p.row.path else { continue };
            let embedded = p
                .hashes
                .iter()
                .filter(|h| fresh.contains_key(*h) && claimed.insert(h.as_slice()))
                .count();
            self.changes.push(FileChange::Indexed {
                path: PathBuf::from(path),
                chunks_embedded: embedded,
                chunks_reused: p.chunks.len() - embedded,
            });
        }
        vectors.extend(fresh);

        let started = Instant::now();
        let pending = std::mem::take(&mut self.pending);
        self.pending_chunks = 0;
        let deltas = self.store.db.write(|tx| {
            pending
                .iter()
                .map(|p| {
                    let rows: Vec<ChunkRow> = p
                        .chunks
                        .iter()
                        .zip(&p.hashes)
                        .map(|(c, h)| chunk_row(c, h))
                        .collect();
                    db::replace_document(tx, &p.row, &rows, &vectors)
                })
                .collect::<Result<Vec<_>>>()
        })?;
        for delta in &deltas {
            self.store.apply(delta)?;
        }
        self.dirty = true;
        self.summary.files_indexed += pending.iter().filter(|p| p.row.path.is_some()).count();
        self.summary.stages.write_ms += ms(started);
        Ok(())
    }

    fn remove_vanished(&mut self, roots: &[PathBuf], seen: &HashSet<String>) -> Result<()> {
        for root in roots {
            let prefix = root.to_string_lossy().into_owned();
            let (docs, failures) = self.store.db.read(|c| {
                Ok((
                    db::document_keys_under(c, &prefix)?,
                    db::failure_keys_under(c, &prefix)?,
                ))
            })?;
            let gone: Vec<String> = docs.into_iter().filter(|key| !seen.contains(key)).collect();
            let deltas = self.store.db.write(|tx| {
                for key in failures.iter().filter(|k| !seen.contains(*k)) {
                    db::forget_failure(tx, key)?;
                }
                gone.iter()
                    .map(|key| db::delete_document(tx, key))
                    .collect::<Result<Vec<_>>>()
            })?;
            for delta in &deltas {
                self.store.apply(delta)?;
            }
            self.dirty |= !gone.is_empty();
            self.summary.files_removed += gone.len();
            for key in gone {
                let path = key.strip_prefix("file:").unwrap_or(&key);
                self.changes.push(FileChange::Removed {
                    path: PathBuf::from(path),
                });
            }
        }
        Ok(())
    }
}

fn chunk_row(c: &Chunk, hash: &[u8]) -> ChunkRow {
    ChunkRow {
        ordinal: c.ordinal,
        text: c.text.clone(),
        embed_hash: hash.to_vec(),
        char_start: c.char_start,
        char_end: c.char_end,
        lines: c.lines,
        page: c.page,
        heading_path: c.heading_path.clone(),
    }
}

/// The store key of a file document.
pub(crate) fn file_key(path: &Path) -> String {
    format!("file:{}", path.to_string_lossy())
}

fn mtime_ns(meta: &std::fs::Metadata) -> i64 {
    meta.modified()
        .ok()
        .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
        .map(|d| d.as_nanos() as i64)
        .unwrap_or(0)
}

fn ms(since: Instant) -> f64 {
    since.elapsed().as_secs_f64() * 1000.0
}

fn absolute(path: &Path) -> PathBuf {
    std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf())
}
