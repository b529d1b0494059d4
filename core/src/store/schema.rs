//! The schema of `trove.db` and the steps that bring an older store up to
//! date. A store newer than this build is refused, never downgraded.

use rusqlite::Connection;

use super::sqlite::sql;
use crate::error::{Error, ErrorKind, Result};

/// Version of the schema below; bump and add a step to [`MIGRATIONS`] on change.
pub(super) const SCHEMA_VERSION: i64 = 1;

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

pub(super) fn migrate(conn: &Connection) -> Result<()> {
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
