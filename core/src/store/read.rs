//! Reading a store: one [`Snapshot`] per query, so every read of a search
//! (filters, keyword matches, nearest vectors, chunk text) sees the same
//! committed state of SQLite and of the vector index.

use std::cell::OnceCell;
use std::collections::{HashMap, HashSet};
use std::sync::RwLockReadGuard;

use rusqlite::{Connection, OptionalExtension, params};

use super::filter::{SearchFilters, allowed_documents};
use super::key::DocKey;
use super::keywords;
use super::sqlite::sql;
use super::vectors::VectorIndex;
use super::{Store, blob};
use crate::analysis::StoreLanguages;
use crate::error::Result;
use crate::ingest::Locator;
use crate::report::IndexRun;

/// What the indexer needs to know about a stored document to skip it.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct StoredState {
    pub size: u64,
    pub mtime_ns: i64,
    pub content_hash: Vec<u8>,
}

/// A remembered failure, so an unchanged broken file is not retried each run.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct StoredFailure {
    pub code: String,
    pub reason: String,
    pub size: u64,
    pub mtime_ns: i64,
}

/// A chunk read back for search results.
#[derive(Debug, Clone)]
pub(crate) struct ChunkRecord {
    pub chunk_id: u64,
    pub key: DocKey,
    pub title: String,
    pub text: String,
    pub lines: Option<(u32, u32)>,
    pub page: Option<u32>,
    pub locator: Option<Locator>,
    pub heading_path: Vec<String>,
    pub tags: Vec<String>,
}

/// A document's vectors, see [`Snapshot::document_vectors`].
pub(crate) struct DocumentVectors {
    pub centroid: Vec<f32>,
    pub lead: Vec<f32>,
}

/// A chunk waiting in the embedding queue, with its inputs to the model.
pub(crate) struct QueuedChunk {
    pub chunk_id: u64,
    /// The embedding hash it was committed with.
    pub hash: Vec<u8>,
    pub title: String,
    pub heading_path: Vec<String>,
    pub text: String,
}

/// Row counts of a store.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Counts {
    pub documents: u64,
    pub chunks: u64,
    pub embeddings: u64,
    pub failures: u64,
    /// Chunks waiting for their vector.
    pub queued: u64,
}

/// A consistent view of the store: a SQLite read transaction, begun while
/// holding the vector index for reading. Writers commit and update the vector
/// index under its write lock, so the two never disagree inside a snapshot.
/// Hold it for one query, not longer: writers wait for it before committing.
pub(crate) struct Snapshot<'s> {
    store: &'s Store,
    conn: Option<Connection>,
    vectors: RwLockReadGuard<'s, VectorIndex>,
    /// The store's languages, read once per snapshot when first needed
    /// (keyword analysis and fusion both ask).
    languages: OnceCell<StoreLanguages>,
}

impl<'s> Snapshot<'s> {
    /// Begins a snapshot; when another process changed the store since
    /// the vector index was loaded, it first catches up (see
    /// `Store::catch_up`), so its new vectors are searched too.
    pub(super) fn begin(store: &'s Store) -> Result<Self> {
        let snapshot = Self::begin_as_loaded(store)?;
        if generation(snapshot.conn())? == snapshot.vectors.generation() {
            return Ok(snapshot);
        }
        drop(snapshot);
        {
            let mut vectors = store.vectors.write().unwrap_or_else(|p| p.into_inner());
            let conn = store.sqlite.take_reader()?;
            let caught_up = store.catch_up(&mut vectors, &conn, false);
            store.sqlite.give_back(conn);
            caught_up?;
        }
        Self::begin_as_loaded(store)
    }

    fn begin_as_loaded(store: &'s Store) -> Result<Self> {
        let vectors = store.vectors.read().unwrap_or_else(|p| p.into_inner());
        let conn = store.sqlite.take_reader()?;
        let begun = conn.execute_batch("BEGIN").map_err(sql).and_then(|()| {
            // The first read fixes the snapshot.
            conn.query_row("SELECT count(*) FROM meta", [], |_| Ok(()))
                .map_err(sql)
        });
        if let Err(e) = begun {
            let _ = conn.execute_batch("ROLLBACK");
            store.sqlite.give_back(conn);
            return Err(e);
        }
        Ok(Snapshot {
            store,
            conn: Some(conn),
            vectors,
            languages: OnceCell::new(),
        })
    }

    pub(super) fn conn(&self) -> &Connection {
        self.conn.as_ref().expect("taken only on drop")
    }

    /// A meta value.
    pub(super) fn meta(&self, key: &str) -> Result<Option<String>> {
        get_meta(self.conn(), key)
    }

    pub(crate) fn stored_state(&self, key: &DocKey) -> Result<Option<StoredState>> {
        self.conn()
            .query_row(
                "SELECT size, mtime_ns, content_hash FROM documents WHERE key = ?1",
                [key.stored()],
                |r| {
                    Ok(StoredState {
                        size: r.get::<_, i64>(0)? as u64,
                        mtime_ns: r.get(1)?,
                        content_hash: r.get(2)?,
                    })
                },
            )
            .optional()
            .map_err(sql)
    }

    pub(crate) fn stored_failure(&self, key: &DocKey) -> Result<Option<StoredFailure>> {
        self.conn()
            .query_row(
                "SELECT code, reason, size, mtime_ns FROM failures WHERE key = ?1",
                [key.stored()],
                |r| {
                    Ok(StoredFailure {
                        code: r.get(0)?,
                        reason: r.get(1)?,
                        size: r.get::<_, i64>(2)? as u64,
                        mtime_ns: r.get(3)?,
                    })
                },
            )
            .optional()
            .map_err(sql)
    }

    /// A stored document's title and number of chunks.
    pub(crate) fn document_summary(&self, key: &DocKey) -> Result<Option<(String, u64)>> {
        self.conn()
            .query_row(
                "SELECT d.title, (SELECT count(*) FROM chunks c WHERE c.doc_id = d.id)
                 FROM documents d WHERE d.key = ?1",
                [key.stored()],
                |r| Ok((r.get(0)?, r.get::<_, i64>(1)? as u64)),
            )
            .optional()
            .map_err(sql)
    }

    /// Vectors already stored for these embedding hashes (those not found are absent).
    pub(crate) fn known_vectors(&self, hashes: &[&[u8]]) -> Result<HashMap<Vec<u8>, Vec<f32>>> {
        let mut stmt = self
            .conn()
            .prepare_cached("SELECT vector FROM embeddings WHERE hash = ?1")
            .map_err(sql)?;
        let mut found = HashMap::new();
        for hash in hashes {
            if found.contains_key(*hash) {
                continue;
            }
            let blob: Option<Vec<u8>> = stmt
                .query_row([hash], |r| r.get(0))
                .optional()
                .map_err(sql)?;
            if let Some(blob) = blob {
                found.insert(hash.to_vec(), blob::decode(&blob)?);
            }
        }
        Ok(found)
    }

    /// File documents at `path` or inside it.
    pub(crate) fn documents_under(&self, path: &str) -> Result<Vec<DocKey>> {
        let mut stmt = self
            .conn()
            .prepare_cached(
                "SELECT key FROM documents WHERE path IS NOT NULL \
                 AND (path = ?1 OR substr(path, 1, length(?2)) = ?2)",
            )
            .map_err(sql)?;
        let rows = stmt
            .query_map(params![path, dir_prefix(path)], |r| r.get::<_, String>(0))
            .map_err(sql)?;
        rows.map(|key| key.map(|k| DocKey::parse(&k)).map_err(sql))
            .collect()
    }

    /// Failures recorded for files at `path` or inside it (to forget files
    /// that vanished).
    pub(crate) fn failures_under(&self, path: &str) -> Result<Vec<DocKey>> {
        let mut stmt = self
            .conn()
            .prepare_cached(
                "SELECT key FROM failures WHERE key = ?1 OR substr(key, 1, length(?2)) = ?2",
            )
            .map_err(sql)?;
        let exact = DocKey::File(path.to_string()).stored();
        let inside = DocKey::File(dir_prefix(path)).stored();
        let rows = stmt
            .query_map(params![exact, inside], |r| r.get::<_, String>(0))
            .map_err(sql)?;
        rows.map(|key| key.map(|k| DocKey::parse(&k)).map_err(sql))
            .collect()
    }

    /// Row ids of the documents passing `filters`; `None` when nothing is filtered.
    pub(crate) fn allowed_documents(
        &self,
        filters: &SearchFilters,
    ) -> Result<Option<HashSet<i64>>> {
        if filters.is_empty() {
            return Ok(None);
        }
        allowed_documents(self.conn(), filters).map(Some)
    }

    /// The best BM25 matches of `query` (any of its terms, analysed as the
    /// stored text was), best first, with higher-is-better scores. Fails with
    /// `InvalidInput` when the query has nothing to search for.
    pub(crate) fn keyword(
        &self,
        query: &str,
        limit: usize,
        allowed: Option<&HashSet<i64>>,
    ) -> Result<Vec<(u64, f32)>> {
        let restrict = match allowed {
            Some(docs) if docs.is_empty() => return Ok(Vec::new()),
            Some(docs) => keywords::restrict_to(docs),
            None => String::new(),
        };
        let languages = self.languages()?;
        keywords::search(
            self.conn(),
            &self.store.analyzer,
            query,
            languages,
            limit,
            &restrict,
        )
    }

    /// The `count` chunks nearest to `vector` (cosine similarity, best
    /// first), restricted to the chunks of `allowed` documents.
    pub(crate) fn nearest(
        &self,
        vector: &[f32],
        count: usize,
        allowed: Option<&HashSet<i64>>,
    ) -> Result<Vec<(u64, f32)>> {
        match allowed {
            Some(docs) => {
                let chunks = self.chunks_of(docs)?;
                let allow = |k: u64| chunks.contains(&k);
                self.vectors.search(vector, count, Some(&allow))
            }
            None => self.vectors.search(vector, count, None),
        }
    }

    fn chunks_of(&self, docs: &HashSet<i64>) -> Result<HashSet<u64>> {
        let mut stmt = self
            .conn()
            .prepare_cached("SELECT id FROM chunks WHERE doc_id = ?1")
            .map_err(sql)?;
        let mut ids = HashSet::new();
        for doc in docs {
            let rows = stmt.query_map([doc], |r| r.get::<_, i64>(0)).map_err(sql)?;
            for id in rows {
                ids.insert(id.map_err(sql)? as u64);
            }
        }
        Ok(ids)
    }

    /// The document row id of each chunk (missing chunks are absent).
    pub(crate) fn documents_of(&self, chunk_ids: &[u64]) -> Result<HashMap<u64, i64>> {
        let mut stmt = self
            .conn()
            .prepare_cached("SELECT doc_id FROM chunks WHERE id = ?1")
            .map_err(sql)?;
        let mut out = HashMap::new();
        for id in chunk_ids {
            if out.contains_key(id) {
                continue;
            }
            let doc: Option<i64> = stmt
                .query_row([*id as i64], |r| r.get(0))
                .optional()
                .map_err(sql)?;
            if let Some(doc) = doc {
                out.insert(*id, doc);
            }
        }
        Ok(out)
    }

    /// Each document's vectors for document-level ranking: its centroid (what
    /// it is about as a whole) and its lead passage's vector (its title and
    /// opening, which say what it is). Documents without vectors are absent.
    pub(crate) fn document_vectors(
        &self,
        docs: &HashSet<i64>,
    ) -> Result<HashMap<i64, DocumentVectors>> {
        let mut stmt = self
            .conn()
            .prepare_cached("SELECT centroid, lead FROM document_vectors WHERE doc_id = ?1")
            .map_err(sql)?;
        let mut out = HashMap::new();
        for doc in docs {
            let row: Option<(Vec<u8>, Vec<u8>)> = stmt
                .query_row([doc], |r| Ok((r.get(0)?, r.get(1)?)))
                .optional()
                .map_err(sql)?;
            if let Some((centroid, lead)) = row {
                let vectors = DocumentVectors {
                    centroid: blob::decode(&centroid)?,
                    lead: blob::decode(&lead)?,
                };
                out.insert(*doc, vectors);
            }
        }
        Ok(out)
    }

    /// The languages of the store's chunks (query analysis and fusion).
    pub(crate) fn languages(&self) -> Result<&StoreLanguages> {
        if let Some(languages) = self.languages.get() {
            return Ok(languages);
        }
        let languages = keywords::store_languages(self.conn())?;
        Ok(self.languages.get_or_init(|| languages))
    }

    /// The chunks with these ids, in the order given (missing ids are skipped).
    pub(crate) fn chunks(&self, ids: &[u64]) -> Result<Vec<ChunkRecord>> {
        let mut stmt = self
            .conn()
            .prepare_cached(
                "SELECT c.id, d.key, d.title, c.text, c.line_start, c.line_end, c.page, c.heading_path, d.tags, c.locator
                 FROM chunks c JOIN documents d ON d.id = c.doc_id WHERE c.id = ?1",
            )
            .map_err(sql)?;
        let mut out = Vec::with_capacity(ids.len());
        for id in ids {
            let record = stmt
                .query_row([*id as i64], |r| {
                    let start: Option<u32> = r.get(4)?;
                    let end: Option<u32> = r.get(5)?;
                    let key: String = r.get(1)?;
                    let headings: String = r.get(7)?;
                    let tags: String = r.get(8)?;
                    let locator: Option<String> = r.get(9)?;
                    Ok(ChunkRecord {
                        chunk_id: r.get::<_, i64>(0)? as u64,
                        key: DocKey::parse(&key),
                        title: r.get(2)?,
                        text: r.get(3)?,
                        lines: start.zip(end),
                        page: r.get(6)?,
                        locator: locator.and_then(|l| serde_json::from_str(&l).ok()),
                        heading_path: serde_json::from_str(&headings).unwrap_or_default(),
                        tags: serde_json::from_str(&tags).unwrap_or_default(),
                    })
                })
                .optional()
                .map_err(sql)?;
            out.extend(record);
        }
        Ok(out)
    }

    /// The first `limit` chunks of the embedding queue, in chunk order.
    pub(crate) fn queued_chunks(&self, limit: usize) -> Result<Vec<QueuedChunk>> {
        let mut stmt = self
            .conn()
            .prepare_cached(
                "SELECT c.id, c.embed_hash, d.title, c.heading_path, c.text FROM embed_queue q
                 JOIN chunks c ON c.id = q.chunk_id JOIN documents d ON d.id = c.doc_id
                 ORDER BY q.chunk_id LIMIT ?1",
            )
            .map_err(sql)?;
        let rows = stmt
            .query_map([limit as i64], |r| {
                let headings: String = r.get(3)?;
                Ok(QueuedChunk {
                    chunk_id: r.get::<_, i64>(0)? as u64,
                    hash: r.get(1)?,
                    title: r.get(2)?,
                    heading_path: serde_json::from_str(&headings).unwrap_or_default(),
                    text: r.get(4)?,
                })
            })
            .map_err(sql)?;
        rows.collect::<rusqlite::Result<Vec<_>>>().map_err(sql)
    }

    /// Those of `ids` still waiting for their vector.
    pub(crate) fn queued_among(&self, ids: &[u64]) -> Result<HashSet<u64>> {
        // Cheap when nothing waits, the usual case: no count of a long queue.
        let any: bool = self
            .conn()
            .query_row("SELECT EXISTS (SELECT 1 FROM embed_queue)", [], |r| {
                r.get(0)
            })
            .map_err(sql)?;
        if !any {
            return Ok(HashSet::new());
        }
        let mut stmt = self
            .conn()
            .prepare_cached("SELECT 1 FROM embed_queue WHERE chunk_id = ?1")
            .map_err(sql)?;
        let mut out = HashSet::new();
        for id in ids {
            if stmt.exists([*id as i64]).map_err(sql)? {
                out.insert(*id);
            }
        }
        Ok(out)
    }

    /// Chunks waiting for their vector.
    pub(crate) fn queued(&self) -> Result<u64> {
        queued(self.conn())
    }

    /// Chunks of one document waiting for their vector.
    pub(crate) fn queued_in(&self, key: &DocKey) -> Result<u64> {
        self.conn()
            .query_row(
                "SELECT count(*) FROM embed_queue q JOIN chunks c ON c.id = q.chunk_id
                 JOIN documents d ON d.id = c.doc_id WHERE d.key = ?1",
                [key.stored()],
                |r| r.get::<_, i64>(0),
            )
            .map(|n| n as u64)
            .map_err(sql)
    }

    pub(crate) fn counts(&self) -> Result<Counts> {
        let count = |table: &str| -> Result<u64> {
            self.conn()
                .query_row(&format!("SELECT count(*) FROM {table}"), [], |r| {
                    r.get::<_, i64>(0)
                })
                .map(|n| n as u64)
                .map_err(sql)
        };
        Ok(Counts {
            documents: count("documents")?,
            chunks: count("chunks")?,
            embeddings: count("embeddings")?,
            failures: count("failures")?,
            queued: count("embed_queue")?,
        })
    }

    /// The last indexing run recorded, if any (an unreadable record reads as none).
    pub(crate) fn last_run(&self) -> Result<Option<IndexRun>> {
        Ok(self
            .meta(LAST_RUN)?
            .and_then(|json| serde_json::from_str(&json).ok()))
    }

    /// What the store recorded of the answer model it last answered with
    /// (an unreadable record reads as none).
    pub(crate) fn answer_model(&self) -> Result<Option<crate::models::ModelRecord>> {
        Ok(self
            .meta(ANSWER_MODEL)?
            .and_then(|json| serde_json::from_str(&json).ok()))
    }

    /// Vectors in the vector index.
    pub(crate) fn vector_count(&self) -> usize {
        self.vectors.len()
    }
}

impl Drop for Snapshot<'_> {
    fn drop(&mut self) {
        if let Some(conn) = self.conn.take() {
            // A reader whose transaction cannot end is not reused.
            if conn.execute_batch("ROLLBACK").is_ok() {
                self.store.sqlite.give_back(conn);
            }
        }
    }
}

/// The meta key of the last indexing run.
pub(super) const LAST_RUN: &str = "last_index_run";
/// The meta key of the answer model's record.
pub(super) const ANSWER_MODEL: &str = "answer_model";

pub(super) fn get_meta(conn: &Connection, key: &str) -> Result<Option<String>> {
    conn.query_row("SELECT value FROM meta WHERE key = ?1", [key], |r| r.get(0))
        .optional()
        .map_err(sql)
}

/// Chunks in the store (each has a vector).
/// Chunks with a vector: what a current vector index holds.
pub(super) fn embedded_chunk_count(conn: &Connection) -> Result<usize> {
    conn.query_row(
        "SELECT (SELECT count(*) FROM chunks) - (SELECT count(*) FROM embed_queue)",
        [],
        |r| r.get::<_, i64>(0),
    )
    .map(|n| n as usize)
    .map_err(sql)
}

fn queued(conn: &Connection) -> Result<u64> {
    conn.query_row("SELECT count(*) FROM embed_queue", [], |r| {
        r.get::<_, i64>(0)
    })
    .map(|n| n as u64)
    .map_err(sql)
}

pub(super) fn generation(conn: &Connection) -> Result<i64> {
    Ok(get_meta(conn, "generation")?
        .and_then(|v| v.parse().ok())
        .unwrap_or(0))
}

/// `path` with a trailing separator, so that matching by prefix finds what
/// lies inside a folder and not its siblings (`/notes` must not match `/notes2`).
fn dir_prefix(path: &str) -> String {
    if path.ends_with(std::path::MAIN_SEPARATOR) {
        path.to_string()
    } else {
        format!("{path}{}", std::path::MAIN_SEPARATOR)
    }
}
