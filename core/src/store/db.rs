//! The SQLite side of a store: documents, chunks, embeddings (the source of
//! truth), the FTS5 keyword index, schema version and model fingerprint.

use std::path::Path;
use std::sync::Mutex;

use rusqlite::{Connection, OpenFlags, OptionalExtension, Transaction, params};

use crate::embed::ModelFingerprint;
use crate::error::{Error, ErrorKind, Result};

/// Version of the schema below; bump and add a step to [`MIGRATIONS`] on change.
pub(crate) const SCHEMA_VERSION: i64 = 1;

/// Schema steps: `MIGRATIONS[n]` takes a store from version n to n + 1.
const MIGRATIONS: [&str; 1] = [r#"
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE documents (
    id INTEGER PRIMARY KEY,
    key TEXT NOT NULL UNIQUE,
    path TEXT,
    kind TEXT NOT NULL,
    title TEXT NOT NULL,
    tags TEXT NOT NULL DEFAULT '[]',
    metadata TEXT NOT NULL DEFAULT '{}',
    content_hash BLOB NOT NULL,
    size INTEGER NOT NULL,
    mtime_ns INTEGER NOT NULL,
    indexed_at INTEGER NOT NULL,
    centroid BLOB
);
CREATE INDEX documents_path ON documents(path);
CREATE TABLE embeddings (hash BLOB PRIMARY KEY, vector BLOB NOT NULL);
CREATE TABLE chunks (
    id INTEGER PRIMARY KEY,
    doc_id INTEGER NOT NULL REFERENCES documents(id) ON DELETE CASCADE,
    ordinal INTEGER NOT NULL,
    text TEXT NOT NULL,
    embed_hash BLOB NOT NULL,
    char_start INTEGER NOT NULL,
    char_end INTEGER NOT NULL,
    line_start INTEGER,
    line_end INTEGER,
    page INTEGER,
    heading_path TEXT NOT NULL DEFAULT '[]'
);
CREATE INDEX chunks_doc ON chunks(doc_id, ordinal);
CREATE INDEX chunks_hash ON chunks(embed_hash);
CREATE VIRTUAL TABLE chunks_fts USING fts5(title, headings, text, tokenize = 'porter unicode61');
CREATE TABLE failures (
    key TEXT PRIMARY KEY,
    code TEXT NOT NULL,
    reason TEXT NOT NULL,
    size INTEGER NOT NULL,
    mtime_ns INTEGER NOT NULL
);
"#];

/// A document row as the indexer writes it.
#[derive(Debug, Clone)]
pub(crate) struct DocumentRow {
    pub key: String,
    pub path: Option<String>,
    pub kind: String,
    pub title: String,
    pub tags: Vec<String>,
    pub metadata: String,
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
    pub heading_path: Vec<String>,
}

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

/// Changes to apply to the vector index after a committed write.
#[derive(Debug, Default)]
pub(crate) struct VectorDelta {
    pub removed: Vec<u64>,
    pub added: Vec<(u64, Vec<f32>)>,
}

/// A chunk read back for search results.
#[derive(Debug, Clone)]
pub(crate) struct ChunkRecord {
    pub chunk_id: u64,
    pub doc_key: String,
    pub path: Option<String>,
    pub title: String,
    pub text: String,
    pub lines: Option<(u32, u32)>,
    pub page: Option<u32>,
    pub heading_path: Vec<String>,
    pub tags: Vec<String>,
}

/// The SQLite database: one writer connection, a pool of readers (WAL lets
/// readers run while a write is in progress).
pub(crate) struct Database {
    writer: Mutex<Connection>,
    readers: Mutex<Vec<Connection>>,
    path: std::path::PathBuf,
}

impl Database {
    /// Opens (creating if needed) `dir/trove.db`, migrating the schema.
    pub(crate) fn open(dir: &Path) -> Result<Self> {
        let path = dir.join("trove.db");
        let writer = connect(&path, false)?;
        migrate(&writer)?;
        Ok(Database {
            writer: Mutex::new(writer),
            readers: Mutex::new(Vec::new()),
            path,
        })
    }

    /// Runs `f` on a reader connection from the pool.
    pub(crate) fn read<T>(&self, f: impl FnOnce(&Connection) -> Result<T>) -> Result<T> {
        let conn = self.readers.lock().unwrap_or_else(|p| p.into_inner()).pop();
        let conn = match conn {
            Some(c) => c,
            None => connect(&self.path, true)?,
        };
        let result = f(&conn);
        self.readers
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(conn);
        result
    }

    /// Runs `f` inside one write transaction (committed only if `f` succeeds).
    pub(crate) fn write<T>(&self, f: impl FnOnce(&Transaction<'_>) -> Result<T>) -> Result<T> {
        let mut conn = self.writer.lock().unwrap_or_else(|p| p.into_inner());
        let tx = conn
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
            .map_err(sql)?;
        let value = f(&tx)?;
        tx.commit().map_err(sql)?;
        Ok(value)
    }

    pub(crate) fn meta(&self, key: &str) -> Result<Option<String>> {
        self.read(|c| get_meta(c, key))
    }
}

fn connect(path: &Path, read_only: bool) -> Result<Connection> {
    let flags = if read_only {
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX
    } else {
        OpenFlags::SQLITE_OPEN_READ_WRITE
            | OpenFlags::SQLITE_OPEN_CREATE
            | OpenFlags::SQLITE_OPEN_NO_MUTEX
    };
    let conn = Connection::open_with_flags(path, flags).map_err(|e| {
        Error::new(
            ErrorKind::CorruptStore,
            format!("cannot open {}: {e}", path.display()),
        )
    })?;
    conn.busy_timeout(std::time::Duration::from_secs(10))
        .map_err(sql)?;
    if !read_only {
        let mode: String = conn
            .query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0))
            .map_err(|e| classify(e, path))?;
        if !mode.eq_ignore_ascii_case("wal") {
            return Err(Error::new(
                ErrorKind::Io,
                format!("{} cannot use WAL journaling (mode {mode})", path.display()),
            ));
        }
        conn.execute_batch("PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON;")
            .map_err(sql)?;
    }
    Ok(conn)
}

/// Maps "file is not a database" to a clear corrupt-store error.
fn classify(e: rusqlite::Error, path: &Path) -> Error {
    match e.sqlite_error_code() {
        Some(rusqlite::ErrorCode::NotADatabase) | Some(rusqlite::ErrorCode::DatabaseCorrupt) => {
            Error::new(
                ErrorKind::CorruptStore,
                format!(
                    "{} is damaged or not a trove store ({e}); move it away and index again",
                    path.display()
                ),
            )
        }
        Some(rusqlite::ErrorCode::DatabaseBusy) | Some(rusqlite::ErrorCode::DatabaseLocked) => {
            Error::new(
                ErrorKind::Busy,
                format!("{} is busy in another process; try again", path.display()),
            )
        }
        _ => sql(e),
    }
}

pub(crate) fn sql(e: rusqlite::Error) -> Error {
    match e.sqlite_error_code() {
        Some(rusqlite::ErrorCode::DatabaseBusy) | Some(rusqlite::ErrorCode::DatabaseLocked) => {
            Error::new(
                ErrorKind::Busy,
                format!("the store is busy in another process; try again ({e})"),
            )
        }
        Some(rusqlite::ErrorCode::DatabaseCorrupt) | Some(rusqlite::ErrorCode::NotADatabase) => {
            Error::new(
                ErrorKind::CorruptStore,
                format!("the store is damaged: {e}"),
            )
        }
        _ => Error::new(ErrorKind::Io, format!("store error: {e}")),
    }
}

fn migrate(conn: &Connection) -> Result<()> {
    let version: i64 = conn
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .map_err(sql)?;
    if version > SCHEMA_VERSION {
        return Err(Error::new(
            ErrorKind::IncompatibleStore,
            format!(
                "the store has schema version {version}, newer than this trove ({SCHEMA_VERSION}); upgrade trove"
            ),
        ));
    }
    for (step, script) in MIGRATIONS.iter().enumerate().skip(version as usize) {
        conn.execute_batch(&format!(
            "BEGIN; {script}; PRAGMA user_version = {}; COMMIT;",
            step + 1
        ))
        .map_err(sql)?;
    }
    Ok(())
}

pub(crate) fn get_meta(conn: &Connection, key: &str) -> Result<Option<String>> {
    conn.query_row("SELECT value FROM meta WHERE key = ?1", [key], |r| r.get(0))
        .optional()
        .map_err(sql)
}

pub(crate) fn set_meta(tx: &Transaction<'_>, key: &str, value: &str) -> Result<()> {
    tx.execute(
        "INSERT INTO meta(key, value) VALUES (?1, ?2) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
        params![key, value],
    )
    .map_err(sql)?;
    Ok(())
}

/// The store generation: bumped by every write that changes chunks, and
/// recorded beside the saved vector index to detect a stale one.
pub(crate) fn generation(conn: &Connection) -> Result<i64> {
    Ok(get_meta(conn, "generation")?
        .and_then(|v| v.parse().ok())
        .unwrap_or(0))
}

pub(crate) fn bump_generation(tx: &Transaction<'_>) -> Result<()> {
    let next = generation(tx)? + 1;
    set_meta(tx, "generation", &next.to_string())
}

/// Checks (or, on a new store, records) the embedding model fingerprint.
pub(crate) fn check_fingerprint(db: &Database, model: &ModelFingerprint) -> Result<()> {
    let stored = db.meta("embedding_model")?;
    match stored {
        None => db.write(|tx| {
            let value = serde_json::json!({
                "name": model.name, "dimensions": model.dimensions, "sha256": model.sha256,
            });
            set_meta(tx, "embedding_model", &value.to_string())
        }),
        Some(value) => {
            let stored: serde_json::Value = serde_json::from_str(&value).map_err(|e| {
                Error::new(
                    ErrorKind::CorruptStore,
                    format!("bad model fingerprint: {e}"),
                )
            })?;
            let same = stored["sha256"] == model.sha256.as_str()
                && stored["dimensions"] == model.dimensions;
            if same {
                Ok(())
            } else {
                Err(Error::new(
                    ErrorKind::IncompatibleStore,
                    format!(
                        "this store was built with embedding model {} ({} dimensions, sha256 {}), but {} ({} dimensions, sha256 {}) is loaded; open it with `reembed` set to re-embed every chunk with the loaded model, or use the original model",
                        stored["name"].as_str().unwrap_or("?"),
                        stored["dimensions"],
                        short(stored["sha256"].as_str().unwrap_or("?")),
                        model.name,
                        model.dimensions,
                        short(&model.sha256),
                    ),
                ))
            }
        }
    }
}

fn short(sha: &str) -> &str {
    &sha[..sha.len().min(12)]
}

pub(crate) fn stored_state(conn: &Connection, key: &str) -> Result<Option<StoredState>> {
    conn.query_row(
        "SELECT size, mtime_ns, content_hash FROM documents WHERE key = ?1",
        [key],
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

pub(crate) fn stored_failure(conn: &Connection, key: &str) -> Result<Option<StoredFailure>> {
    conn.query_row(
        "SELECT code, reason, size, mtime_ns FROM failures WHERE key = ?1",
        [key],
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

pub(crate) fn record_failure(
    tx: &Transaction<'_>,
    key: &str,
    failure: &StoredFailure,
) -> Result<()> {
    tx.execute(
        "INSERT OR REPLACE INTO failures(key, code, reason, size, mtime_ns) VALUES (?1, ?2, ?3, ?4, ?5)",
        params![key, failure.code, failure.reason, failure.size as i64, failure.mtime_ns],
    )
    .map_err(sql)?;
    Ok(())
}

/// Notes that an unchanged file got a new mtime, so the next run skips it
/// without reading it.
pub(crate) fn touch_document(
    tx: &Transaction<'_>,
    key: &str,
    size: u64,
    mtime_ns: i64,
) -> Result<()> {
    tx.execute(
        "UPDATE documents SET size = ?2, mtime_ns = ?3 WHERE key = ?1",
        params![key, size as i64, mtime_ns],
    )
    .map_err(sql)?;
    Ok(())
}

/// Vectors already stored for these embedding hashes (those not found are absent).
pub(crate) fn known_vectors(
    conn: &Connection,
    hashes: &[&[u8]],
) -> Result<std::collections::HashMap<Vec<u8>, Vec<f32>>> {
    let mut stmt = conn
        .prepare_cached("SELECT vector FROM embeddings WHERE hash = ?1")
        .map_err(sql)?;
    let mut found = std::collections::HashMap::new();
    for hash in hashes {
        if found.contains_key(*hash) {
            continue;
        }
        let blob: Option<Vec<u8>> = stmt
            .query_row([hash], |r| r.get(0))
            .optional()
            .map_err(sql)?;
        if let Some(blob) = blob {
            found.insert(hash.to_vec(), decode_vector(&blob)?);
        }
    }
    Ok(found)
}

/// Replaces a document and all its chunks; returns the vector changes.
/// `vectors` must hold a vector for every chunk's `embed_hash`.
pub(crate) fn replace_document(
    tx: &Transaction<'_>,
    doc: &DocumentRow,
    chunks: &[ChunkRow],
    vectors: &std::collections::HashMap<Vec<u8>, Vec<f32>>,
) -> Result<VectorDelta> {
    let mut delta = delete_document(tx, &doc.key)?;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0);
    tx.execute(
        "INSERT INTO documents(key, path, kind, title, tags, metadata, content_hash, size, mtime_ns, indexed_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
        params![
            doc.key,
            doc.path,
            doc.kind,
            doc.title,
            serde_json::to_string(&doc.tags).expect("tags serialize"),
            doc.metadata,
            doc.content_hash,
            doc.size as i64,
            doc.mtime_ns,
            now
        ],
    )
    .map_err(sql)?;
    let doc_id = tx.last_insert_rowid();
    let chunk_vectors = chunks.iter().filter_map(|c| vectors.get(&c.embed_hash));
    set_centroid(tx, doc_id, centroid(chunk_vectors))?;
    tx.execute("DELETE FROM failures WHERE key = ?1", [&doc.key])
        .map_err(sql)?;
    let mut insert_chunk = tx
        .prepare_cached(
            "INSERT INTO chunks(doc_id, ordinal, text, embed_hash, char_start, char_end, line_start, line_end, page, heading_path)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
        )
        .map_err(sql)?;
    let mut insert_fts = tx
        .prepare_cached(
            "INSERT INTO chunks_fts(rowid, title, headings, text) VALUES (?1, ?2, ?3, ?4)",
        )
        .map_err(sql)?;
    let mut insert_vector = tx
        .prepare_cached("INSERT OR IGNORE INTO embeddings(hash, vector) VALUES (?1, ?2)")
        .map_err(sql)?;
    for chunk in chunks {
        let vector = vectors
            .get(&chunk.embed_hash)
            .ok_or_else(|| Error::new(ErrorKind::Model, "internal: a chunk has no embedding"))?;
        insert_vector
            .execute(params![chunk.embed_hash, encode_vector(vector)])
            .map_err(sql)?;
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
                serde_json::to_string(&chunk.heading_path).expect("headings serialize"),
            ])
            .map_err(sql)?;
        let chunk_id = tx.last_insert_rowid();
        insert_fts
            .execute(params![
                chunk_id,
                doc.title,
                chunk.heading_path.join(" "),
                chunk.text
            ])
            .map_err(sql)?;
        delta.added.push((chunk_id as u64, vector.clone()));
    }
    bump_generation(tx)?;
    Ok(delta)
}

/// The unit-length mean of a document's chunk vectors: what the document is
/// about as a whole, for document-level ranking.
fn centroid<'v>(vectors: impl Iterator<Item = &'v Vec<f32>>) -> Option<Vec<f32>> {
    let mut sum: Option<Vec<f32>> = None;
    for v in vectors {
        let sum = sum.get_or_insert_with(|| vec![0.0; v.len()]);
        sum.iter_mut().zip(v).for_each(|(a, b)| *a += b);
    }
    sum.map(|mut sum| {
        crate::embed::normalize(&mut sum);
        sum
    })
}

fn set_centroid(tx: &Transaction<'_>, doc_id: i64, centroid: Option<Vec<f32>>) -> Result<()> {
    tx.execute(
        "UPDATE documents SET centroid = ?2 WHERE id = ?1",
        params![doc_id, centroid.map(|c| encode_vector(&c))],
    )
    .map_err(sql)?;
    Ok(())
}

/// Recomputes every document's centroid from its chunks' stored vectors
/// (after re-embedding).
pub(crate) fn recompute_centroids(tx: &Transaction<'_>) -> Result<()> {
    let ids: Vec<i64> = {
        let mut stmt = tx.prepare("SELECT id FROM documents").map_err(sql)?;
        let rows = stmt.query_map([], |r| r.get(0)).map_err(sql)?;
        rows.collect::<rusqlite::Result<_>>().map_err(sql)?
    };
    let mut stmt = tx
        .prepare(
            "SELECT e.vector FROM chunks c JOIN embeddings e ON e.hash = c.embed_hash WHERE c.doc_id = ?1",
        )
        .map_err(sql)?;
    for id in ids {
        let rows = stmt
            .query_map([id], |r| r.get::<_, Vec<u8>>(0))
            .map_err(sql)?;
        let mut vectors = Vec::new();
        for blob in rows {
            vectors.push(decode_vector(&blob.map_err(sql)?)?);
        }
        set_centroid(tx, id, centroid(vectors.iter()))?;
    }
    Ok(())
}

/// Centroids of these documents (those without one are absent).
pub(crate) fn centroids(
    conn: &Connection,
    docs: &std::collections::HashSet<i64>,
) -> Result<std::collections::HashMap<i64, Vec<f32>>> {
    let mut stmt = conn
        .prepare_cached("SELECT centroid FROM documents WHERE id = ?1 AND centroid IS NOT NULL")
        .map_err(sql)?;
    let mut out = std::collections::HashMap::new();
    for doc in docs {
        let blob: Option<Vec<u8>> = stmt
            .query_row([doc], |r| r.get(0))
            .optional()
            .map_err(sql)?;
        if let Some(blob) = blob {
            out.insert(*doc, decode_vector(&blob)?);
        }
    }
    Ok(out)
}

/// Deletes a document, its chunks, their keyword entries and any embedding no
/// other chunk uses. Returns the vector changes (removals only).
pub(crate) fn delete_document(tx: &Transaction<'_>, key: &str) -> Result<VectorDelta> {
    let mut delta = VectorDelta::default();
    let doc_id: Option<i64> = tx
        .query_row("SELECT id FROM documents WHERE key = ?1", [key], |r| {
            r.get(0)
        })
        .optional()
        .map_err(sql)?;
    tx.execute("DELETE FROM failures WHERE key = ?1", [key])
        .map_err(sql)?;
    let Some(doc_id) = doc_id else {
        return Ok(delta);
    };
    let mut hashes: Vec<Vec<u8>> = Vec::new();
    {
        let mut stmt = tx
            .prepare_cached("SELECT id, embed_hash FROM chunks WHERE doc_id = ?1")
            .map_err(sql)?;
        let rows = stmt
            .query_map([doc_id], |r| {
                Ok((r.get::<_, i64>(0)?, r.get::<_, Vec<u8>>(1)?))
            })
            .map_err(sql)?;
        for row in rows {
            let (id, hash) = row.map_err(sql)?;
            delta.removed.push(id as u64);
            hashes.push(hash);
        }
    }
    for id in &delta.removed {
        tx.execute("DELETE FROM chunks_fts WHERE rowid = ?1", [*id as i64])
            .map_err(sql)?;
    }
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
    bump_generation(tx)?;
    Ok(delta)
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

/// Keys of file documents at `path` or inside it.
pub(crate) fn document_keys_under(conn: &Connection, path: &str) -> Result<Vec<String>> {
    let mut stmt = conn
        .prepare("SELECT key FROM documents WHERE path IS NOT NULL AND (path = ?1 OR substr(path, 1, length(?2)) = ?2)")
        .map_err(sql)?;
    let rows = stmt
        .query_map(params![path, dir_prefix(path)], |r| r.get(0))
        .map_err(sql)?;
    rows.collect::<rusqlite::Result<Vec<_>>>().map_err(sql)
}

/// Keys of failures recorded for files at `path` or inside it (to forget
/// files that vanished).
pub(crate) fn failure_keys_under(conn: &Connection, path: &str) -> Result<Vec<String>> {
    let mut stmt = conn
        .prepare("SELECT key FROM failures WHERE key = ?1 OR substr(key, 1, length(?2)) = ?2")
        .map_err(sql)?;
    let rows = stmt
        .query_map(
            params![format!("file:{path}"), format!("file:{}", dir_prefix(path))],
            |r| r.get(0),
        )
        .map_err(sql)?;
    rows.collect::<rusqlite::Result<Vec<_>>>().map_err(sql)
}

pub(crate) fn forget_failure(tx: &Transaction<'_>, key: &str) -> Result<()> {
    tx.execute("DELETE FROM failures WHERE key = ?1", [key])
        .map_err(sql)?;
    Ok(())
}

/// Every (chunk id, vector) pair, for rebuilding the vector index.
pub(crate) fn all_vectors(
    conn: &Connection,
    mut each: impl FnMut(u64, Vec<f32>) -> Result<()>,
) -> Result<()> {
    let mut stmt = conn
        .prepare("SELECT c.id, e.vector FROM chunks c JOIN embeddings e ON e.hash = c.embed_hash")
        .map_err(sql)?;
    let mut rows = stmt.query([]).map_err(sql)?;
    while let Some(row) = rows.next().map_err(sql)? {
        let id: i64 = row.get(0).map_err(sql)?;
        let blob: Vec<u8> = row.get(1).map_err(sql)?;
        each(id as u64, decode_vector(&blob)?)?;
    }
    Ok(())
}

pub(crate) fn chunk_count(conn: &Connection) -> Result<usize> {
    conn.query_row("SELECT count(*) FROM chunks", [], |r| r.get::<_, i64>(0))
        .map(|n| n as usize)
        .map_err(sql)
}

/// Reads the chunks with these ids (missing ids are skipped).
pub(crate) fn chunk_records(conn: &Connection, ids: &[u64]) -> Result<Vec<ChunkRecord>> {
    let mut stmt = conn
        .prepare_cached(
            "SELECT c.id, d.key, d.path, d.title, c.text, c.line_start, c.line_end, c.page, c.heading_path, d.tags
             FROM chunks c JOIN documents d ON d.id = c.doc_id WHERE c.id = ?1",
        )
        .map_err(sql)?;
    let mut out = Vec::with_capacity(ids.len());
    for id in ids {
        let record = stmt
            .query_row([*id as i64], |r| {
                let start: Option<u32> = r.get(5)?;
                let end: Option<u32> = r.get(6)?;
                let headings: String = r.get(8)?;
                let tags: String = r.get(9)?;
                Ok(ChunkRecord {
                    chunk_id: r.get::<_, i64>(0)? as u64,
                    doc_key: r.get(1)?,
                    path: r.get(2)?,
                    title: r.get(3)?,
                    text: r.get(4)?,
                    lines: start.zip(end),
                    page: r.get(7)?,
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

/// Vectors are stored as little-endian f32, the model's own precision.
pub(crate) fn encode_vector(v: &[f32]) -> Vec<u8> {
    v.iter().flat_map(|x| x.to_le_bytes()).collect()
}

pub(crate) fn decode_vector(blob: &[u8]) -> Result<Vec<f32>> {
    if !blob.len().is_multiple_of(4) {
        return Err(Error::new(
            ErrorKind::CorruptStore,
            "an embedding in the store has a bad length",
        ));
    }
    Ok(blob
        .chunks_exact(4)
        .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folder_matching_stops_at_the_folder_boundary() {
        let dir = tempfile::tempdir().unwrap();
        let db = Database::open(dir.path()).unwrap();
        let failure = StoredFailure {
            code: "binary".into(),
            reason: "binary file".into(),
            size: 1,
            mtime_ns: 1,
        };
        db.write(|tx| {
            for key in ["file:/notes/a.txt", "file:/notes2/b.txt", "file:/notes"] {
                record_failure(tx, key, &failure)?;
            }
            Ok(())
        })
        .unwrap();
        let mut keys = db.read(|c| failure_keys_under(c, "/notes")).unwrap();
        keys.sort();
        assert_eq!(keys, vec!["file:/notes", "file:/notes/a.txt"]);
    }
}
