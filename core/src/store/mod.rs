//! A knowledge base on disk: one directory holding the SQLite database (the
//! source of truth: documents, chunks, embeddings, the FTS5 keyword index)
//! and the derived HNSW vector index.
//!
//! The store is the only owner of SQL and of the SQLite/vector-index
//! consistency: everything changes through one write path ([`Writes`]) and
//! every query reads one [`Snapshot`].

mod blob;
mod filter;
mod key;
mod read;
mod schema;
mod sqlite;
mod vectors;
mod write;

use std::path::{Path, PathBuf};
use std::sync::RwLock;

use rusqlite::Connection;

pub use filter::SearchFilters;
pub(crate) use key::DocKey;
pub(crate) use read::{ChunkRecord, Snapshot, StoredFailure};
pub use vectors::VectorQuantization;
pub(crate) use write::{ChunkRow, DocumentRow, Writes, unix_now};

use crate::embed::ModelFingerprint;
use crate::error::{Error, ErrorKind, Result};
use sqlite::{Connections, sql};
use vectors::VectorIndex;

/// An open store: database plus the in-memory vector index kept in step with it.
pub(crate) struct Store {
    dir: PathBuf,
    sqlite: Connections,
    vectors: RwLock<VectorIndex>,
}

/// How the store's embeddings relate to the model the engine loaded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ModelMatch {
    /// Same model (or a new store): vectors are comparable.
    Same,
    /// Another model built the store; the caller re-embeds every chunk.
    Other,
}

impl Store {
    /// Opens or creates the store in `dir`. A store built with another
    /// embedding model fails with `IncompatibleStore`, unless
    /// `allow_other_model` is set: it then opens with an empty vector index
    /// and [`ModelMatch::Other`], and the caller re-embeds.
    pub(crate) fn open(
        dir: &Path,
        model: &ModelFingerprint,
        quantization: VectorQuantization,
        allow_other_model: bool,
    ) -> Result<(Store, ModelMatch)> {
        std::fs::create_dir_all(dir).map_err(|e| {
            Error::io(
                format!("cannot create store directory {}", dir.display()),
                e,
            )
        })?;
        let sqlite = Connections::open(dir)?;
        let matched = {
            let writer = sqlite.writer();
            schema::migrate(&writer)?;
            match check_fingerprint(&writer, model) {
                Ok(()) => ModelMatch::Same,
                Err(e) if allow_other_model && e.kind() == ErrorKind::IncompatibleStore => {
                    ModelMatch::Other
                }
                Err(e) => return Err(e),
            }
        };
        let store = Store {
            dir: dir.to_path_buf(),
            sqlite,
            vectors: RwLock::new(VectorIndex::new(model.dimensions as usize, quantization)?),
        };
        if matched == ModelMatch::Same {
            store.load_vectors(model.dimensions as usize, quantization)?;
        }
        Ok((store, matched))
    }

    /// Loads the saved vector index, or rebuilds it from SQLite (and saves
    /// it) when it is missing, damaged or stale.
    fn load_vectors(&self, dimensions: usize, quantization: VectorQuantization) -> Result<()> {
        let writer = self.sqlite.writer();
        let generation = read::generation(&writer)?;
        let count = writer
            .query_row("SELECT count(*) FROM chunks", [], |r| r.get::<_, i64>(0))
            .map_err(sql)? as usize;
        let loaded =
            VectorIndex::load_if_current(&self.dir, generation, count, dimensions, quantization);
        let index = match loaded {
            Some(index) => index,
            None => {
                let index = rebuild(&writer, dimensions, quantization)?;
                index.save(&self.dir, generation)?;
                index
            }
        };
        *self.vectors.write().unwrap_or_else(|p| p.into_inner()) = index;
        Ok(())
    }

    pub(crate) fn dir(&self) -> &Path {
        &self.dir
    }

    /// Takes the store's writer (waiting for another writer to finish).
    pub(crate) fn begin_writes(&self) -> Writes<'_> {
        Writes::begin(self)
    }

    /// A consistent view of what is committed, for one query.
    pub(crate) fn snapshot(&self) -> Result<Snapshot<'_>> {
        Snapshot::begin(self)
    }

    /// Bytes of the store directory's files.
    pub(crate) fn size_on_disk(&self) -> u64 {
        std::fs::read_dir(&self.dir)
            .map(|entries| {
                entries
                    .flatten()
                    .filter_map(|e| e.metadata().ok())
                    .filter(|m| m.is_file())
                    .map(|m| m.len())
                    .sum()
            })
            .unwrap_or(0)
    }
}

/// Builds a vector index from the embeddings SQLite holds.
fn rebuild(
    conn: &Connection,
    dimensions: usize,
    quantization: VectorQuantization,
) -> Result<VectorIndex> {
    let index = VectorIndex::new(dimensions, quantization)?;
    let mut stmt = conn
        .prepare("SELECT c.id, e.vector FROM chunks c JOIN embeddings e ON e.hash = c.embed_hash")
        .map_err(sql)?;
    let mut rows = stmt.query([]).map_err(sql)?;
    while let Some(row) = rows.next().map_err(sql)? {
        let id: i64 = row.get(0).map_err(sql)?;
        let vector: Vec<u8> = row.get(1).map_err(sql)?;
        index.insert(id as u64, &blob::decode(&vector)?)?;
    }
    Ok(index)
}

/// Checks (or, on a new store, records) the embedding model fingerprint.
fn check_fingerprint(conn: &Connection, model: &ModelFingerprint) -> Result<()> {
    let Some(json) = read::get_meta(conn, "embedding_model")? else {
        return write::set_fingerprint(conn, model);
    };
    let stored: ModelFingerprint = serde_json::from_str(&json).map_err(|e| {
        Error::new(
            ErrorKind::CorruptStore,
            format!("the store's record of its embedding model is damaged: {e}"),
        )
    })?;
    if stored.sha256 == model.sha256 && stored.dimensions == model.dimensions {
        return Ok(());
    }
    let short = |sha: &str| sha.chars().take(12).collect::<String>();
    Err(Error::new(
        ErrorKind::IncompatibleStore,
        format!(
            "this store was built with embedding model {} ({} dimensions, sha256 {}), but {} ({} dimensions, sha256 {}) is loaded; open it with `reembed` set to re-embed every chunk with the loaded model, or use the original model",
            stored.name,
            stored.dimensions,
            short(&stored.sha256),
            model.name,
            model.dimensions,
            short(&model.sha256),
        ),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn model(name: &str) -> ModelFingerprint {
        ModelFingerprint {
            name: name.into(),
            dimensions: 3,
            sha256: format!("{name:0>64}"),
        }
    }

    #[test]
    fn folder_matching_stops_at_the_folder_boundary() {
        let dir = tempfile::tempdir().unwrap();
        let (store, _) =
            Store::open(dir.path(), &model("a"), VectorQuantization::F32, false).unwrap();
        let failure = StoredFailure {
            code: "binary".into(),
            reason: "binary file".into(),
            size: 1,
            mtime_ns: 1,
        };
        let mut writes = store.begin_writes();
        writes
            .transaction(|tx| {
                for path in ["/notes/a.txt", "/notes2/b.txt", "/notes"] {
                    tx.record_failure(&DocKey::file(Path::new(path)), &failure)?;
                }
                Ok(())
            })
            .unwrap();
        writes.finish().unwrap();
        let mut keys = store.snapshot().unwrap().failures_under("/notes").unwrap();
        keys.sort();
        assert_eq!(
            keys,
            vec![
                DocKey::file(Path::new("/notes")),
                DocKey::file(Path::new("/notes/a.txt"))
            ]
        );
    }

    #[test]
    fn another_model_is_incompatible_unless_allowed() {
        let dir = tempfile::tempdir().unwrap();
        drop(Store::open(dir.path(), &model("a"), VectorQuantization::F32, false).unwrap());
        let err = Store::open(dir.path(), &model("b"), VectorQuantization::F32, false)
            .err()
            .unwrap();
        assert_eq!(err.kind(), ErrorKind::IncompatibleStore);
        assert!(err.message().contains("reembed"), "{err}");
        let (_, matched) =
            Store::open(dir.path(), &model("b"), VectorQuantization::F32, true).unwrap();
        assert_eq!(matched, ModelMatch::Other);
    }
}
