//! Writing a store: the one path by which anything changes. A [`Writes`]
//! session holds the store's single writer; each [`Writes::transaction`]
//! commits to SQLite and then brings the in-memory vector index in step,
//! both under the vector index's write lock, so no reader ever sees one
//! without the other. The vector index file is saved once when the session
//! finishes, not after every transaction.

use std::collections::HashMap;
use std::sync::MutexGuard;

use rusqlite::{Connection, OptionalExtension, Transaction, TransactionBehavior, params};

use super::key::DocKey;
use super::read::{LAST_RUN, Snapshot, StoredFailure, generation};
use super::sqlite::sql;
use super::vectors::{VectorIndex, VectorQuantization};
use super::{Store, blob};
use super::{keywords, links};
use crate::embed::ModelFingerprint;
use crate::error::Result;
use crate::ingest::{Anchor, Link, Locator};
use crate::report::IndexRun;

/// A document row as the indexer writes it.
#[derive(Debug, Clone)]
pub(crate) struct DocumentRow {
    pub key: DocKey,
    pub kind: String,
    pub title: String,
    pub tags: Vec<String>,
    /// Other names of the document: searchable as its title is, and names
    /// that links resolve to.
    pub aliases: Vec<String>,
    pub metadata: serde_json::Map<String, serde_json::Value>,
    /// The links the document writes, in document order.
    pub links: Vec<Link>,
    /// Its block ids (`^id`) and the blocks they name.
    pub anchors: Vec<Anchor>,
    pub content_hash: Vec<u8>,
    pub size: u64,
    pub mtime_ns: i64,
}

/// A chunk row as the indexer writes it.
#[derive(Debug, Clone)]
pub(crate) struct ChunkRow {
    pub ordinal: usize,
    pub text: String,
    pub embed_hash: Vec<u8>,
    pub char_start: usize,
    pub char_end: usize,
    pub lines: Option<(u32, u32)>,
    pub page: Option<u32>,
    pub locator: Option<Locator>,
    pub heading_path: Vec<String>,
}

/// Vector index changes a transaction makes, applied once it has committed.
#[derive(Debug, Default)]
struct VectorDelta {
    /// Start from an empty index of these dimensions (re-embedding).
    reset: Option<(usize, VectorQuantization)>,
    removed: Vec<u64>,
    added: Vec<(u64, Vec<f32>)>,
}

impl VectorDelta {
    fn is_empty(&self) -> bool {
        self.reset.is_none() && self.removed.is_empty() && self.added.is_empty()
    }

    fn apply(self, index: &mut VectorIndex) -> Result<()> {
        if let Some((dimensions, quantization)) = self.reset {
            *index = VectorIndex::new(dimensions, quantization)?;
        }
        for id in &self.removed {
            index.remove(*id)?;
        }
        for (id, vector) in &self.added {
            index.insert(*id, vector)?;
        }
        Ok(())
    }
}

/// The store's writer, held for a run of transactions (an indexing call,
/// an add, a removal). Writers wait for each other; readers do not wait
/// for writers except for the moment of a commit.
pub(crate) struct Writes<'s> {
    store: &'s Store,
    conn: MutexGuard<'s, Connection>,
    /// Save the vector index file when the session ends (unless
    /// [`finish_unsaved`](Self::finish_unsaved)).
    save_at_end: bool,
}

impl<'s> Writes<'s> {
    pub(super) fn begin(store: &'s Store) -> Self {
        Writes {
            store,
            conn: store.sqlite.writer(),
            save_at_end: true,
        }
    }

    /// Runs `f` in one SQLite transaction, committed only if it succeeds,
    /// then applies its vector changes.
    pub(crate) fn transaction<T>(
        &mut self,
        f: impl FnOnce(&mut WriteTx<'_>) -> Result<T>,
    ) -> Result<T> {
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(sql)?;
        // Holding SQLite's write lock, no other process can commit: catch up
        // with what one did before, so this session's index (which it
        // saves) holds their vectors too.
        let stale = {
            let vectors = self.store.vectors.read().unwrap_or_else(|p| p.into_inner());
            generation(&tx)? != vectors.generation()
        };
        if stale {
            let mut vectors = self
                .store
                .vectors
                .write()
                .unwrap_or_else(|p| p.into_inner());
            self.store.catch_up(&mut vectors, &tx, true)?;
        }
        let mut write = WriteTx {
            tx,
            analyzer: &self.store.analyzer,
            delta: VectorDelta::default(),
            chunks_changed: false,
        };
        let value = f(&mut write)?;
        let WriteTx {
            tx,
            delta,
            chunks_changed,
            ..
        } = write;
        let next = if chunks_changed {
            Some(bump_generation(&tx)?)
        } else {
            None
        };
        if delta.is_empty() && next.is_none() {
            tx.commit().map_err(sql)?;
            return Ok(value);
        }
        let mut vectors = self
            .store
            .vectors
            .write()
            .unwrap_or_else(|p| p.into_inner());
        tx.commit().map_err(sql)?;
        let generation = next.unwrap_or(vectors.generation());
        if !delta.is_empty() {
            self.store.mark_vectors_unsaved();
            if let Err(e) = delta.apply(&mut vectors) {
                // SQLite committed; rather than serve an index out of step,
                // rebuild it from the embeddings SQLite holds.
                let reader = self.store.sqlite.take_reader().map_err(|_| e.clone())?;
                let rebuilt = super::rebuild(&reader, vectors.dimensions(), vectors.quantization());
                self.store.sqlite.give_back(reader);
                *vectors = rebuilt.map_err(|_| e)?;
            }
        }
        vectors.set_generation(generation);
        Ok(value)
    }

    /// A snapshot of what is committed (not what an open transaction wrote).
    pub(crate) fn snapshot(&self) -> Result<Snapshot<'s>> {
        Snapshot::begin(self.store)
    }

    /// Saves the vector index if it changed since it was last saved.
    /// Dropping the session saves too, but cannot report a failure.
    pub(crate) fn finish(mut self) -> Result<()> {
        self.save_at_end = false;
        self.store.save_vectors()
    }

    /// Ends the session leaving the index file to a later
    /// `Store::save_vectors`: an embedding batch adds a few vectors, and
    /// rewriting a large index file after each would cost more than the
    /// batch. Committed vectors are searchable in this process meanwhile;
    /// other processes and a reopen see them once saved (or rebuild).
    pub(crate) fn finish_unsaved(mut self) {
        self.save_at_end = false;
    }
}

impl Drop for Writes<'_> {
    fn drop(&mut self) {
        // Committed work stays searchable in memory either way; an unsaved
        // index file is only stale, and rebuilt from SQLite on the next open.
        if self.save_at_end {
            let _ = self.store.save_vectors();
        }
    }
}

/// One open write transaction.
pub(crate) struct WriteTx<'c> {
    tx: Transaction<'c>,
    analyzer: &'c crate::analysis::Analyzer,
    delta: VectorDelta,
    chunks_changed: bool,
}

impl WriteTx<'_> {
    /// Replaces a document and all its chunks. A chunk whose `embed_hash`
    /// has a vector in `vectors` is embedded at once; any other waits in the
    /// embedding queue (keyword-searchable meanwhile).
    pub(crate) fn replace_document(
        &mut self,
        doc: &DocumentRow,
        chunks: &[ChunkRow],
        vectors: &HashMap<Vec<u8>, Vec<f32>>,
    ) -> Result<()> {
        self.delete_document(&doc.key)?;
        let tx = &self.tx;
        let key = doc.key.stored();
        tx.execute(
            "INSERT INTO documents(key, path, kind, title, tags, aliases, metadata, content_hash, size, mtime_ns, indexed_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
            params![
                key,
                doc.key.path(),
                doc.kind,
                doc.title,
                serde_json::to_string(&doc.tags).expect("tags serialize"),
                serde_json::to_string(&doc.aliases).expect("aliases serialize"),
                serde_json::Value::Object(doc.metadata.clone()).to_string(),
                doc.content_hash,
                doc.size as i64,
                doc.mtime_ns,
                unix_now() as i64
            ],
        )
        .map_err(sql)?;
        let doc_id = tx.last_insert_rowid();
        links::insert(tx, doc_id, doc)?;
        let keyword_title = keywords::title_text(&doc.title, &doc.aliases);
        let chunk_vectors: Vec<&Vec<f32>> = chunks
            .iter()
            .filter_map(|c| vectors.get(&c.embed_hash))
            .collect();
        set_document_vectors(tx, doc_id, &chunk_vectors)?;
        let mut insert_chunk = tx
            .prepare_cached(
                "INSERT INTO chunks(doc_id, ordinal, text, embed_hash, char_start, char_end, line_start, line_end, page, locator, heading_path, lang)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
            )
            .map_err(sql)?;
        let mut insert_vector = tx
            .prepare_cached("INSERT OR IGNORE INTO embeddings(hash, vector) VALUES (?1, ?2)")
            .map_err(sql)?;
        let analyzer = self.analyzer;
        let texts: Vec<&str> = chunks.iter().map(|c| c.text.as_str()).collect();
        let languages = keywords::chunk_languages(analyzer, &texts);
        let mut enqueue = tx
            .prepare_cached("INSERT INTO embed_queue(chunk_id) VALUES (?1)")
            .map_err(sql)?;
        for (chunk, language) in chunks.iter().zip(languages) {
            let vector = vectors.get(&chunk.embed_hash);
            if let Some(vector) = vector {
                insert_vector
                    .execute(params![chunk.embed_hash, blob::encode(vector)])
                    .map_err(sql)?;
            }
            insert_chunk
                .execute(params![
                    doc_id,
                    chunk.ordinal as i64,
                    chunk.text,
                    chunk.embed_hash,
                    chunk.char_start as i64,
                    chunk.char_end as i64,
                    chunk.lines.map(|l| l.0),
                    chunk.lines.map(|l| l.1),
                    chunk.page,
                    chunk
                        .locator
                        .as_ref()
                        .map(|l| serde_json::to_string(l).expect("locators serialize")),
                    serde_json::to_string(&chunk.heading_path).expect("headings serialize"),
                    language.map(|l| l.code()),
                ])
                .map_err(sql)?;
            let chunk_id = tx.last_insert_rowid();
            keywords::insert(
                tx,
                analyzer,
                chunk_id,
                &keyword_title,
                &chunk.heading_path,
                &chunk.text,
                language,
            )?;
            match vector {
                Some(vector) => self.delta.added.push((chunk_id as u64, vector.clone())),
                None => {
                    enqueue.execute([chunk_id]).map_err(sql)?;
                }
            }
        }
        self.chunks_changed = true;
        Ok(())
    }

    /// Gives queued chunks their vectors, each entry `(chunk, the hash it
    /// was queued with, the hash of the text embedded, vector)`. A chunk
    /// no longer queued with that hash (its document changed or went while
    /// the batch was embedded) is skipped; the stored vector of a hash wins
    /// over the entry's (another process may have embedded it first).
    pub(crate) fn embed_queued(&mut self, entries: &[QueuedEmbedding<'_>]) -> Result<()> {
        let tx = &self.tx;
        let mut dequeue = tx
            .prepare_cached(
                "DELETE FROM embed_queue WHERE chunk_id = ?1
                 AND EXISTS (SELECT 1 FROM chunks WHERE id = ?1 AND embed_hash = ?2)",
            )
            .map_err(sql)?;
        let mut insert_vector = tx
            .prepare_cached("INSERT OR IGNORE INTO embeddings(hash, vector) VALUES (?1, ?2)")
            .map_err(sql)?;
        let mut stored_vector = tx
            .prepare_cached("SELECT vector FROM embeddings WHERE hash = ?1")
            .map_err(sql)?;
        let mut rehash = tx
            .prepare_cached("UPDATE chunks SET embed_hash = ?2 WHERE id = ?1 RETURNING doc_id")
            .map_err(sql)?;
        let mut docs = Vec::new();
        for entry in entries {
            if dequeue
                .execute(params![entry.chunk_id as i64, entry.queued_hash])
                .map_err(sql)?
                == 0
            {
                continue;
            }
            insert_vector
                .execute(params![entry.hash, blob::encode(entry.vector)])
                .map_err(sql)?;
            let stored: Vec<u8> = stored_vector
                .query_row([entry.hash], |r| r.get(0))
                .map_err(sql)?;
            let doc: i64 = rehash
                .query_row(params![entry.chunk_id as i64, entry.hash], |r| r.get(0))
                .map_err(sql)?;
            docs.push(doc);
            self.delta
                .added
                .push((entry.chunk_id, blob::decode(&stored)?));
        }
        docs.sort_unstable();
        docs.dedup();
        for doc in &docs {
            recompute_document_vectors(tx, *doc)?;
        }
        self.chunks_changed = true;
        Ok(())
    }

    /// Deletes a document, its chunks, their keyword entries, any embedding
    /// no other chunk uses, and its remembered failure; its names and links
    /// go with its row (`ON DELETE CASCADE`). Returns whether a document was
    /// there.
    pub(crate) fn delete_document(&mut self, key: &DocKey) -> Result<bool> {
        let tx = &self.tx;
        let key = key.stored();
        tx.execute("DELETE FROM failures WHERE key = ?1", [&key])
            .map_err(sql)?;
        let doc_id: Option<i64> = tx
            .query_row("SELECT id FROM documents WHERE key = ?1", [&key], |r| {
                r.get(0)
            })
            .optional()
            .map_err(sql)?;
        let Some(doc_id) = doc_id else {
            return Ok(false);
        };
        let mut removed = Vec::new();
        let mut hashes: Vec<Vec<u8>> = Vec::new();
        {
            let mut stmt = tx
                .prepare_cached("SELECT id, embed_hash, lang FROM chunks WHERE doc_id = ?1")
                .map_err(sql)?;
            let rows = stmt
                .query_map([doc_id], |r| {
                    Ok((
                        r.get::<_, i64>(0)? as u64,
                        r.get::<_, Vec<u8>>(1)?,
                        r.get::<_, Option<String>>(2)?,
                    ))
                })
                .map_err(sql)?;
            for row in rows {
                let (id, hash, language) = row.map_err(sql)?;
                keywords::delete(tx, id as i64, language.as_deref())?;
                removed.push(id);
                hashes.push(hash);
            }
        }
        tx.execute(
            "DELETE FROM embed_queue WHERE chunk_id IN (SELECT id FROM chunks WHERE doc_id = ?1)",
            [doc_id],
        )
        .map_err(sql)?;
        tx.execute("DELETE FROM chunks WHERE doc_id = ?1", [doc_id])
            .map_err(sql)?;
        tx.execute("DELETE FROM documents WHERE id = ?1", [doc_id])
            .map_err(sql)?;
        hashes.sort();
        hashes.dedup();
        for hash in hashes {
            tx.execute(
                "DELETE FROM embeddings WHERE hash = ?1 AND NOT EXISTS (SELECT 1 FROM chunks WHERE embed_hash = ?1)",
                [hash],
            )
            .map_err(sql)?;
        }
        self.delta.removed.extend(removed);
        self.chunks_changed = true;
        Ok(true)
    }

    /// Remembers that a file failed, so an unchanged broken file is not
    /// read again on every run.
    pub(crate) fn record_failure(&mut self, key: &DocKey, failure: &StoredFailure) -> Result<()> {
        self.tx
            .execute(
                "INSERT OR REPLACE INTO failures(key, code, reason, size, mtime_ns) VALUES (?1, ?2, ?3, ?4, ?5)",
                params![key.stored(), failure.code, failure.reason, failure.size as i64, failure.mtime_ns],
            )
            .map_err(sql)?;
        Ok(())
    }

    pub(crate) fn forget_failure(&mut self, key: &DocKey) -> Result<()> {
        self.tx
            .execute("DELETE FROM failures WHERE key = ?1", [key.stored()])
            .map_err(sql)?;
        Ok(())
    }

    /// Notes that an unchanged file got a new mtime, so the next run skips
    /// it without reading it.
    pub(crate) fn touch_document(&mut self, key: &DocKey, size: u64, mtime_ns: i64) -> Result<()> {
        self.tx
            .execute(
                "UPDATE documents SET size = ?2, mtime_ns = ?3 WHERE key = ?1",
                params![key.stored(), size as i64, mtime_ns],
            )
            .map_err(sql)?;
        Ok(())
    }

    /// Records the answer model's file as the one this store answers with.
    pub(crate) fn record_answer_model(
        &mut self,
        record: &crate::models::ModelRecord,
    ) -> Result<()> {
        let json = serde_json::to_string(record).expect("a model record serializes");
        set_meta(&self.tx, super::read::ANSWER_MODEL, &json)
    }

    /// Records the last indexing run.
    pub(crate) fn record_run(&mut self, run: &IndexRun) -> Result<()> {
        let json = serde_json::to_string(run).expect("a run serializes");
        set_meta(&self.tx, LAST_RUN, &json)
    }

    /// Drops every embedding and vector, records `model` as the store's
    /// embedding model and queues every chunk for embedding (re-embedding
    /// with another model; the chunks and their keyword rows stay).
    pub(crate) fn reset_embeddings(
        &mut self,
        model: &ModelFingerprint,
        quantization: VectorQuantization,
    ) -> Result<()> {
        self.tx
            .execute_batch(
                "DELETE FROM embeddings; DELETE FROM document_vectors;
                 INSERT OR IGNORE INTO embed_queue(chunk_id) SELECT id FROM chunks;",
            )
            .map_err(sql)?;
        set_fingerprint(&self.tx, model)?;
        self.delta = VectorDelta {
            reset: Some((model.dimensions as usize, quantization)),
            ..VectorDelta::default()
        };
        self.chunks_changed = true;
        Ok(())
    }
}

/// One chunk's new vector, see [`WriteTx::embed_queued`].
pub(crate) struct QueuedEmbedding<'v> {
    pub chunk_id: u64,
    pub queued_hash: &'v [u8],
    pub hash: &'v [u8],
    pub vector: &'v [f32],
}

/// Sets a document's vectors (`Snapshot::document_vectors`) from the
/// vectors its chunks have now.
fn recompute_document_vectors(tx: &Transaction<'_>, doc_id: i64) -> Result<()> {
    let mut stmt = tx
        .prepare_cached(
            "SELECT e.vector FROM chunks c JOIN embeddings e ON e.hash = c.embed_hash
             WHERE c.doc_id = ?1 ORDER BY c.ordinal",
        )
        .map_err(sql)?;
    let rows = stmt
        .query_map([doc_id], |r| r.get::<_, Vec<u8>>(0))
        .map_err(sql)?;
    let mut vectors = Vec::new();
    for row in rows {
        vectors.push(blob::decode(&row.map_err(sql)?)?);
    }
    set_document_vectors(tx, doc_id, &vectors.iter().collect::<Vec<_>>())
}

/// Stores a document's centroid and lead vector from its chunks' vectors,
/// in chunk order (the first is the lead); none removes them.
fn set_document_vectors(tx: &Transaction<'_>, doc_id: i64, vectors: &[&Vec<f32>]) -> Result<()> {
    match (blob::centroid(vectors.iter().copied()), vectors.first()) {
        (Some(centroid), Some(lead)) => tx.execute(
            "INSERT OR REPLACE INTO document_vectors(doc_id, centroid, lead) VALUES (?1, ?2, ?3)",
            params![doc_id, blob::encode(&centroid), blob::encode(lead)],
        ),
        _ => tx.execute("DELETE FROM document_vectors WHERE doc_id = ?1", [doc_id]),
    }
    .map_err(sql)?;
    Ok(())
}

pub(super) fn set_meta(conn: &Connection, key: &str, value: &str) -> Result<()> {
    conn.execute(
        "INSERT INTO meta(key, value) VALUES (?1, ?2) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
        params![key, value],
    )
    .map_err(sql)?;
    Ok(())
}

/// Records the embedding model whose vectors the store holds.
pub(super) fn set_fingerprint(conn: &Connection, model: &ModelFingerprint) -> Result<()> {
    let json = serde_json::to_string(model).expect("a fingerprint serializes");
    set_meta(conn, "embedding_model", &json)
}

/// Moves the store's generation on; returns the new one.
fn bump_generation(tx: &Transaction<'_>) -> Result<i64> {
    let next = generation(tx)? + 1;
    set_meta(tx, "generation", &next.to_string())?;
    Ok(next)
}

pub(crate) fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}
