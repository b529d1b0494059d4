//! A knowledge base on disk: one directory holding the SQLite database (the
//! source of truth) and the derived HNSW vector index.

pub(crate) mod db;
mod vectors;

use std::path::{Path, PathBuf};
use std::sync::RwLock;

pub use vectors::VectorQuantization;

use crate::embed::ModelFingerprint;
use crate::error::{Error, Result};
use db::{Database, VectorDelta};
use vectors::VectorIndex;

/// An open store: database plus in-memory vector index kept in step with it.
pub(crate) struct Store {
    dir: PathBuf,
    pub(crate) db: Database,
    vectors: RwLock<VectorIndex>,
}

/// Whether opening found the vector index usable or rebuilt it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum VectorIndexState {
    Loaded,
    Rebuilt,
}

impl Store {
    /// Opens or creates the store in `dir`. The model fingerprint is checked
    /// unless `allow_other_model` is set (the caller then re-embeds).
    pub(crate) fn open(
        dir: &Path,
        model: &ModelFingerprint,
        quantization: VectorQuantization,
        allow_other_model: bool,
    ) -> Result<(Store, VectorIndexState, bool)> {
        std::fs::create_dir_all(dir).map_err(|e| {
            Error::io(
                format!("cannot create store directory {}", dir.display()),
                e,
            )
        })?;
        let db = Database::open(dir)?;
        let mismatch = match db::check_fingerprint(&db, model) {
            Ok(()) => false,
            Err(e) if allow_other_model && e.kind() == crate::ErrorKind::IncompatibleStore => true,
            Err(e) => return Err(e),
        };
        let (generation, count) = db.read(|c| Ok((db::generation(c)?, db::chunk_count(c)?)))?;
        let loaded =
            VectorIndex::load_if_current(dir, generation, count, model.dimensions, quantization);
        let (index, state) = match loaded {
            Some(index) => (index, VectorIndexState::Loaded),
            None if mismatch => (
                VectorIndex::new(model.dimensions, quantization)?,
                VectorIndexState::Rebuilt,
            ),
            None => (
                rebuild(&db, model.dimensions, quantization)?,
                VectorIndexState::Rebuilt,
            ),
        };
        let store = Store {
            dir: dir.to_path_buf(),
            db,
            vectors: RwLock::new(index),
        };
        if state == VectorIndexState::Rebuilt && !mismatch {
            store.save_vectors()?;
        }
        Ok((store, state, mismatch))
    }

    pub(crate) fn dir(&self) -> &Path {
        &self.dir
    }

    /// Applies committed database changes to the in-memory vector index.
    pub(crate) fn apply(&self, delta: &VectorDelta) -> Result<()> {
        let index = self.vectors.write().unwrap_or_else(|p| p.into_inner());
        for id in &delta.removed {
            index.remove(*id)?;
        }
        for (id, vector) in &delta.added {
            index.insert(*id, vector)?;
        }
        Ok(())
    }

    /// Writes the vector index to disk, stamped with the current generation.
    pub(crate) fn save_vectors(&self) -> Result<()> {
        let index = self.vectors.read().unwrap_or_else(|p| p.into_inner());
        let generation = self.db.read(db::generation)?;
        index.save(&self.dir, generation)
    }

    /// Replaces the vector index with an empty one of `dimensions` (re-embedding).
    pub(crate) fn reset_vectors(
        &self,
        dimensions: usize,
        quantization: VectorQuantization,
    ) -> Result<()> {
        *self.vectors.write().unwrap_or_else(|p| p.into_inner()) =
            VectorIndex::new(dimensions, quantization)?;
        Ok(())
    }

    /// Nearest chunks to `query`, optionally restricted to `allowed` ids.
    pub(crate) fn nearest(
        &self,
        query: &[f32],
        count: usize,
        allowed: Option<&std::collections::HashSet<u64>>,
    ) -> Result<Vec<(u64, f32)>> {
        let index = self.vectors.read().unwrap_or_else(|p| p.into_inner());
        match allowed {
            Some(set) => {
                let allow = |k: u64| set.contains(&k);
                index.search(query, count, Some(&allow))
            }
            None => index.search(query, count, None),
        }
    }

    pub(crate) fn vector_count(&self) -> usize {
        self.vectors.read().unwrap_or_else(|p| p.into_inner()).len()
    }
}

/// Builds the vector index from the embeddings in SQLite.
fn rebuild(
    db: &Database,
    dimensions: usize,
    quantization: VectorQuantization,
) -> Result<VectorIndex> {
    let index = VectorIndex::new(dimensions, quantization)?;
    db.read(|c| db::all_vectors(c, |id, v| index.insert(id, &v)))?;
    Ok(index)
}
