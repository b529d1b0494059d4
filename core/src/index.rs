//! Incremental indexing: files and host text → chunks → store, at parse
//! speed; embedding follows (embedding.rs).
//!
//! A document is skipped without reading when its size and mtime match the
//! store, and without parsing when its content hash does. A changed document
//! is re-chunked; chunks whose text is stored already reuse its vector, the
//! others wait in the store's embedding queue (keyword-searchable at once).
//! Each batch of documents is one SQLite transaction, so a killed process
//! loses at most the batch in flight.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::time::{Instant, UNIX_EPOCH};

use sha2::{Digest, Sha256};

use crate::cancel::CancelToken;
use crate::chunk::{Chunk, ChunkingOptions, chunk_document};
use crate::embed::Embedder;
use crate::error::{Error, Result};
use crate::ingest::{self, IngestLimits, ParsedDocument, SkipReason};
use crate::report::{FileChange, IndexFailure, IndexProgress, IndexSummary, UpdateReport};
use crate::store::{ChunkRow, DocKey, DocumentRow, StoredFailure, Writes};
use crate::walk::{self, Walked};

/// Callback receiving progress, on the indexing thread; `false` stops the
/// run (it then fails with `Cancelled`, keeping what it committed).
pub type ProgressFn<'a> = &'a mut dyn FnMut(&IndexProgress) -> bool;

/// A parsed and chunked document waiting for its transaction.
struct Pending {
    row: DocumentRow,
    chunks: Vec<Chunk>,
    hashes: Vec<Vec<u8>>,
}

/// Documents gathered per transaction; bounds the work lost to a crash.
const BATCH_CHUNKS: usize = 128;

/// Shared state of one indexing call: it holds the store's writer for the
/// whole run.
pub(crate) struct Indexer<'a, 'p> {
    writes: Writes<'a>,
    embedder: &'a dyn Embedder,
    chunking: &'a ChunkingOptions,
    limits: &'a IngestLimits,
    cancel: Option<CancelToken>,
    progress: Option<ProgressFn<'p>>,
    summary: IndexSummary,
    state: IndexProgress,
    pending: Vec<Pending>,
    pending_chunks: usize,
    /// New texts this run queued, so a text in many files counts once.
    queued_texts: HashSet<Vec<u8>>,
    started: Instant,
    /// Per-file outcomes, for [`UpdateReport::changes`].
    changes: Vec<FileChange>,
}

impl<'a, 'p> Indexer<'a, 'p> {
    pub(crate) fn new(
        writes: Writes<'a>,
        embedder: &'a dyn Embedder,
        chunking: &'a ChunkingOptions,
        limits: &'a IngestLimits,
    ) -> Self {
        Indexer {
            writes,
            embedder,
            chunking,
            limits,
            cancel: None,
            progress: None,
            summary: IndexSummary::default(),
            state: IndexProgress::default(),
            pending: Vec::new(),
            pending_chunks: 0,
            queued_texts: HashSet::new(),
            started: Instant::now(),
            changes: Vec::new(),
        }
    }

    /// Stop the run when `cancel` is raised or `progress` returns false.
    pub(crate) fn with_control(
        mut self,
        cancel: Option<CancelToken>,
        progress: Option<ProgressFn<'p>>,
    ) -> Self {
        self.cancel = cancel;
        self.progress = progress;
        self
    }

    fn check_cancel(&self) -> Result<()> {
        self.cancel.as_ref().map_or(Ok(()), |c| c.check())
    }

    fn report(&mut self) -> Result<()> {
        self.state.chunks_queued = self.summary.chunks_queued;
        self.state.chunks_reused = self.summary.chunks_reused;
        if let Some(progress) = self.progress.as_mut()
            && !progress(&self.state)
        {
            return Err(Error::cancelled());
        }
        Ok(())
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
        self.writes.finish()?;
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
        self.writes.finish()?;
        Ok(UpdateReport {
            summary: self.summary,
            changes: self.changes,
        })
    }

    /// Indexes `walked`, sweeps the folders `swept` of documents whose files
    /// were not found in them, and removes the documents under `gone`.
    fn run(&mut self, mut walked: Walked, swept: &[PathBuf], gone: &[PathBuf]) -> Result<()> {
        let files = &mut walked.files;
        files.sort_by(|a, b| a.0.cmp(&b.0));
        files.dedup_by(|a, b| a.0 == b.0);
        for failure in walked.failures {
            self.fail_with(failure);
        }
        self.summary.files_seen = (files.len() + self.summary.failures.len()) as u64;
        self.state.files_total = self.summary.files_seen;
        self.state.files_done = self.summary.failures.len() as u64;
        self.state.bytes_total = files.iter().map(|(_, m)| m.len()).sum();

        // Failed entries count as seen: their documents stay until fixed.
        let mut seen: HashSet<DocKey> = files.iter().map(|(p, _)| DocKey::file(p)).collect();
        seen.extend(
            self.summary
                .failures
                .iter()
                .map(|f| DocKey::file(Path::new(&f.path))),
        );
        let result = self.report().and_then(|()| self.index_files(files));
        // Whatever happened, keep what was committed and make it searchable.
        let flushed = result.and_then(|_| self.flush());
        flushed.and_then(|_| {
            self.check_cancel()?;
            self.remove_vanished(swept, &seen)?;
            self.remove_vanished(gone, &HashSet::new())
        })?;
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
            self.report()?;
        }
        Ok(())
    }

    fn index_file(&mut self, path: &Path, meta: &std::fs::Metadata) -> Result<()> {
        let started = Instant::now();
        let key = DocKey::file(path);
        let size = meta.len();
        let mtime_ns = mtime_ns(meta);
        let (stored, failure) = {
            let snapshot = self.writes.snapshot()?;
            (snapshot.stored_state(&key)?, snapshot.stored_failure(&key)?)
        };
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
            ingest::parse_cancellable(path, &bytes, self.limits, self.cancel.as_ref())
                .map(|doc| Some((doc, hash)))
        });
        self.summary.stages.read_parse_ms += ms(started);
        match parsed {
            Ok(None) => {
                self.writes
                    .transaction(|tx| tx.touch_document(&key, size, mtime_ns))?;
                self.summary.files_unchanged += 1;
            }
            Ok(Some((doc, hash))) => self.enqueue(key, &doc, hash, size, mtime_ns),
            // Stopped by the caller, not a property of the file: nothing stored.
            Err(SkipReason::Cancelled) => return Err(Error::cancelled()),
            Err(reason) => {
                let failure = StoredFailure {
                    code: reason.code().to_string(),
                    reason: reason.to_string(),
                    size,
                    mtime_ns,
                };
                self.writes
                    .transaction(|tx| tx.record_failure(&key, &failure))?;
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
        let key = DocKey::host(id);
        let hash = Sha256::digest(fingerprint.as_bytes()).to_vec();
        self.summary.files_seen = 1;
        let stored = self.writes.snapshot()?.stored_state(&key)?;
        if stored.is_some_and(|s| s.content_hash == hash) {
            self.summary.files_unchanged = 1;
        } else {
            self.enqueue(key, &doc, hash, fingerprint.len() as u64, 0);
            self.flush()?;
        }
        self.summary.seconds = self.started.elapsed().as_secs_f64();
        self.writes.finish()?;
        Ok(self.summary)
    }

    /// Chunks a parsed document and queues it for the next flush.
    fn enqueue(
        &mut self,
        key: DocKey,
        doc: &ParsedDocument,
        content_hash: Vec<u8>,
        size: u64,
        mtime_ns: i64,
    ) {
        let started = Instant::now();
        let row = DocumentRow {
            key,
            kind: doc.kind.as_str().to_string(),
            title: doc.title.clone(),
            tags: doc.tags.clone(),
            aliases: doc.aliases.clone(),
            metadata: doc.metadata.clone(),
            links: doc.links.clone(),
            anchors: doc.anchors.clone(),
            content_hash,
            size,
            mtime_ns,
        };
        self.summary.bytes_indexed += size;
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

    /// Commits the pending documents in one transaction: chunks whose text
    /// has a stored vector reuse it, the others are queued for embedding.
    fn flush(&mut self) -> Result<()> {
        if self.pending.is_empty() {
            return Ok(());
        }
        let started = Instant::now();
        let all_hashes: Vec<&[u8]> = self
            .pending
            .iter()
            .flat_map(|p| p.hashes.iter().map(|h| h.as_slice()))
            .collect();
        let vectors = self.writes.snapshot()?.known_vectors(&all_hashes)?;
        // A new text counts as new for the first document holding it.
        for p in &self.pending {
            let new = p
                .hashes
                .iter()
                .filter(|h| !vectors.contains_key(*h) && self.queued_texts.insert(h.to_vec()))
                .count() as u64;
            let reused = p.chunks.len() as u64 - new;
            self.summary.chunks_queued += new;
            self.summary.chunks_reused += reused;
            if let Some(path) = p.row.key.path() {
                self.changes.push(FileChange::Indexed {
                    path: PathBuf::from(path),
                    chunks_embedded: new,
                    chunks_reused: reused,
                });
            }
        }
        let pending = std::mem::take(&mut self.pending);
        self.pending_chunks = 0;
        self.writes.transaction(|tx| {
            for p in &pending {
                let rows: Vec<ChunkRow> = p
                    .chunks
                    .iter()
                    .zip(&p.hashes)
                    .map(|(c, h)| chunk_row(c, h))
                    .collect();
                tx.replace_document(&p.row, &rows, &vectors)?;
            }
            Ok(())
        })?;
        self.summary.files_indexed += pending.len() as u64;
        self.summary.stages.write_ms += ms(started);
        Ok(())
    }

    fn remove_vanished(&mut self, roots: &[PathBuf], seen: &HashSet<DocKey>) -> Result<()> {
        for root in roots {
            let prefix = root.to_string_lossy();
            let (docs, failures) = {
                let snapshot = self.writes.snapshot()?;
                (
                    snapshot.documents_under(&prefix)?,
                    snapshot.failures_under(&prefix)?,
                )
            };
            let gone: Vec<DocKey> = docs.into_iter().filter(|key| !seen.contains(key)).collect();
            self.writes.transaction(|tx| {
                for key in failures.iter().filter(|k| !seen.contains(*k)) {
                    tx.forget_failure(key)?;
                }
                for key in &gone {
                    tx.delete_document(key)?;
                }
                Ok(())
            })?;
            self.summary.files_removed += gone.len() as u64;
            for key in gone {
                if let Some(path) = key.path() {
                    self.changes.push(FileChange::Removed {
                        path: PathBuf::from(path),
                    });
                }
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
        locator: c.locator.clone(),
        heading_path: c.heading_path.clone(),
    }
}

/// A file's modification time as the store records it.
pub(crate) fn mtime_ns(meta: &std::fs::Metadata) -> i64 {
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
