//! The schema of `trove.db` and the steps that bring an older store up to
//! date. A store newer than this build is refused, never downgraded.

use rusqlite::Connection;

use super::sqlite::sql;
use crate::error::{Error, ErrorKind, Result};

/// Version of the schema below; bump and add a step to [`MIGRATIONS`] on change.
pub(super) const SCHEMA_VERSION: i64 = 5;

/// Schema steps: `MIGRATIONS[n]` takes a store from version n to n + 1.
/// A step that changes how text is analysed leaves the keyword tables empty;
/// the store refills them from the chunks it holds (never re-embedding) when
/// it sees an `analysis_version` other than its own (`Store::open`).
const MIGRATIONS: [&str; 5] = [
    r#"
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
"#,
    // Keyword analysis for every script (analysis/): analysed terms in two
    // contentless FTS5 tables, words apart from CJK grams (BM25's length
    // normalisation would let a text's many grams drown its words), each
    // chunk's detected language, and chunk counts per language (which
    // stemmings a query is analysed for).
    r#"
DROP TABLE chunks_fts;
CREATE VIRTUAL TABLE chunks_words USING fts5(title, headings, text, content = '', contentless_delete = 1, tokenize = 'ascii');
CREATE VIRTUAL TABLE chunks_grams USING fts5(title, headings, text, content = '', contentless_delete = 1, tokenize = 'ascii');
ALTER TABLE chunks ADD COLUMN lang TEXT;
CREATE TABLE chunk_languages (lang TEXT PRIMARY KEY, chunks INTEGER NOT NULL);
DELETE FROM meta WHERE key = 'analysis_version';
"#,
    // What the document parsers give besides text: each chunk's locator
    // (chapter and paragraphs, JSON), aliases (keyword-searchable with the
    // title), the names a document is linked by, the links it writes
    // (resolved when read: links.rs) and its block ids (`^id`, where a link
    // to a block points). Documents are marked for a re-read
    // (no content hash), so the next run fills these in; chunks whose text
    // is unchanged keep their vectors, and the keyword rows follow the
    // re-read documents.
    r#"
ALTER TABLE chunks ADD COLUMN locator TEXT;
ALTER TABLE documents ADD COLUMN aliases TEXT NOT NULL DEFAULT '[]';
CREATE TABLE document_names (
    doc_id INTEGER NOT NULL REFERENCES documents(id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    rank INTEGER NOT NULL
);
CREATE INDEX document_names_name ON document_names(name);
CREATE INDEX document_names_doc ON document_names(doc_id);
CREATE TABLE links (
    doc_id INTEGER NOT NULL REFERENCES documents(id) ON DELETE CASCADE,
    ordinal INTEGER NOT NULL,
    target TEXT NOT NULL,
    name TEXT NOT NULL,
    heading TEXT,
    block TEXT,
    alias TEXT,
    embed INTEGER NOT NULL,
    char_start INTEGER NOT NULL,
    char_end INTEGER NOT NULL,
    line INTEGER,
    PRIMARY KEY (doc_id, ordinal)
);
CREATE INDEX links_name ON links(name);
CREATE TABLE anchors (
    doc_id INTEGER NOT NULL REFERENCES documents(id) ON DELETE CASCADE,
    id TEXT NOT NULL,
    char_start INTEGER NOT NULL,
    char_end INTEGER NOT NULL,
    line_start INTEGER,
    line_end INTEGER,
    PRIMARY KEY (doc_id, id)
);
UPDATE documents SET content_hash = x'', mtime_ns = -1;
"#,
    // Keyword first, vectors after: a chunk committed before its text was
    // embedded waits here (in chunk order) for the embedding thread; it is
    // keyword-searchable meanwhile. A killed process resumes from here.
    r#"
CREATE TABLE embed_queue (chunk_id INTEGER PRIMARY KEY);
"#,
    // Document-level ranking reads each candidate document's centroid and
    // lead-passage vector (its first embedded chunk) on every hybrid
    // search: kept together in one small table, they are two page reads
    // away instead of a document row, a chunk index, a chunk row and an
    // embedding (8 ms of a 24 ms search at 117k chunks, 30-40 ms at 1M).
    r#"
CREATE TABLE document_vectors (
    doc_id INTEGER PRIMARY KEY REFERENCES documents(id) ON DELETE CASCADE,
    centroid BLOB NOT NULL,
    lead BLOB NOT NULL
);
INSERT INTO document_vectors(doc_id, centroid, lead)
SELECT d.id, d.centroid,
       COALESCE((SELECT e.vector FROM chunks c JOIN embeddings e ON e.hash = c.embed_hash
                 WHERE c.doc_id = d.id ORDER BY c.ordinal LIMIT 1), d.centroid)
FROM documents d WHERE d.centroid IS NOT NULL;
ALTER TABLE documents DROP COLUMN centroid;
"#,
];

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

/// Whether some schema step contains `sql` (a test of the schema's text).
#[cfg(test)]
pub(super) fn creates(sql: &str) -> bool {
    MIGRATIONS.iter().any(|step| step.contains(sql))
}
