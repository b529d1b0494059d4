//! The HNSW vector index (usearch): a derived, disposable file.
//!
//! SQLite holds every embedding; this index only makes nearest-neighbour
//! search fast. It is saved atomically (temporary file, then rename) with a
//! small sidecar naming the store generation it reflects. When the file is
//! missing, damaged, or from another generation, it is rebuilt from SQLite.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use usearch::{Index, IndexOptions, MetricKind, ScalarKind};

use crate::error::{Error, ErrorKind, Result};

/// How vectors are stored inside the HNSW index (SQLite always keeps f32).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum VectorQuantization {
    /// Full precision.
    F32,
    /// Half precision: half the memory, recall unchanged on our eval sets.
    F16,
    /// 8-bit: a quarter of the memory, small recall loss.
    I8,
}

impl VectorQuantization {
    fn scalar(self) -> ScalarKind {
        match self {
            VectorQuantization::F32 => ScalarKind::F32,
            VectorQuantization::F16 => ScalarKind::F16,
            VectorQuantization::I8 => ScalarKind::I8,
        }
    }
}

/// What the sidecar records about the saved index.
#[derive(Debug, Serialize, Deserialize, PartialEq)]
struct Sidecar {
    generation: i64,
    count: usize,
    dimensions: usize,
    quantization: VectorQuantization,
}

/// An in-memory HNSW index over chunk ids.
pub(crate) struct VectorIndex {
    index: Index,
    dimensions: usize,
    quantization: VectorQuantization,
}

impl VectorIndex {
    /// An empty index for vectors of `dimensions`.
    pub(crate) fn new(dimensions: usize, quantization: VectorQuantization) -> Result<Self> {
        let options = IndexOptions {
            dimensions,
            metric: MetricKind::Cos,
            quantization: quantization.scalar(),
            connectivity: 16,
            expansion_add: 128,
            expansion_search: 96,
            multi: false,
        };
        let index =
            Index::new(&options).map_err(|e| corrupt(format!("cannot create index: {e}")))?;
        Ok(VectorIndex {
            index,
            dimensions,
            quantization,
        })
    }

    /// Loads the saved index if it matches `generation` and `expected_count`;
    /// `None` means it must be rebuilt.
    pub(crate) fn load_if_current(
        dir: &Path,
        generation: i64,
        expected_count: usize,
        dimensions: usize,
        quantization: VectorQuantization,
    ) -> Option<Self> {
        let sidecar: Sidecar =
            serde_json::from_slice(&std::fs::read(sidecar_path(dir)).ok()?).ok()?;
        let wanted = Sidecar {
            generation,
            count: expected_count,
            dimensions,
            quantization,
        };
        if sidecar != wanted {
            return None;
        }
        let this = VectorIndex::new(dimensions, quantization).ok()?;
        this.index.load(index_path(dir).to_str()?).ok()?;
        (this.index.size() == expected_count && this.index.dimensions() == dimensions)
            .then_some(this)
    }

    /// Number of vectors held.
    pub(crate) fn len(&self) -> usize {
        self.index.size()
    }

    /// Adds or replaces the vector of chunk `key`.
    pub(crate) fn insert(&self, key: u64, vector: &[f32]) -> Result<()> {
        if vector.len() != self.dimensions {
            return Err(Error::invalid(format!(
                "vector has {} dimensions, the index {}",
                vector.len(),
                self.dimensions
            )));
        }
        if self.index.contains(key) {
            self.index.remove(key).map_err(|e| corrupt(e.to_string()))?;
        }
        if self.index.size() + 1 > self.index.capacity() {
            let grown = (self.index.capacity() * 2).max(1024);
            self.index
                .reserve(grown)
                .map_err(|e| corrupt(format!("cannot grow vector index: {e}")))?;
        }
        self.index
            .add(key, vector)
            .map_err(|e| corrupt(format!("cannot add to vector index: {e}")))
    }

    /// Removes chunk `key` if present.
    pub(crate) fn remove(&self, key: u64) -> Result<()> {
        if self.index.contains(key) {
            self.index.remove(key).map_err(|e| corrupt(e.to_string()))?;
        }
        Ok(())
    }

    /// The `count` nearest chunks to `query` (cosine similarity, best first),
    /// keeping only keys for which `allow` holds.
    pub(crate) fn search(
        &self,
        query: &[f32],
        count: usize,
        allow: Option<&dyn Fn(u64) -> bool>,
    ) -> Result<Vec<(u64, f32)>> {
        if self.index.size() == 0 || count == 0 {
            return Ok(Vec::new());
        }
        let count = count.min(self.index.size());
        let matches = match allow {
            Some(allow) => self.index.filtered_search(query, count, allow),
            None => self.index.search(query, count),
        }
        .map_err(|e| corrupt(format!("vector search failed: {e}")))?;
        Ok(matches
            .keys
            .into_iter()
            .zip(matches.distances)
            .map(|(k, d)| (k, 1.0 - d))
            .collect())
    }

    /// Saves atomically: data file first, then the sidecar that vouches for it.
    pub(crate) fn save(&self, dir: &Path, generation: i64) -> Result<()> {
        let path = index_path(dir);
        let tmp = path.with_extension("usearch.tmp");
        let tmp_str = tmp
            .to_str()
            .ok_or_else(|| Error::invalid("store path is not valid UTF-8"))?;
        self.index
            .save(tmp_str)
            .map_err(|e| Error::new(ErrorKind::Io, format!("cannot save vector index: {e}")))?;
        sync_file(&tmp)?;
        std::fs::rename(&tmp, &path).map_err(|e| Error::io("cannot replace vector index", e))?;
        let sidecar = Sidecar {
            generation,
            count: self.index.size(),
            dimensions: self.dimensions,
            quantization: self.quantization,
        };
        let bytes = serde_json::to_vec(&sidecar).expect("sidecar serializes");
        write_atomic(&sidecar_path(dir), &bytes)
    }
}

fn corrupt(message: String) -> Error {
    Error::new(ErrorKind::CorruptStore, message)
}

fn index_path(dir: &Path) -> PathBuf {
    dir.join("vectors.usearch")
}

fn sidecar_path(dir: &Path) -> PathBuf {
    dir.join("vectors.json")
}

fn sync_file(path: &Path) -> Result<()> {
    std::fs::File::open(path)
        .and_then(|f| f.sync_all())
        .map_err(|e| Error::io(format!("cannot sync {}", path.display()), e))
}

/// Writes `bytes` to `path` through a synced temporary file and a rename.
pub(crate) fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, bytes)
        .map_err(|e| Error::io(format!("cannot write {}", tmp.display()), e))?;
    sync_file(&tmp)?;
    std::fs::rename(&tmp, path)
        .map_err(|e| Error::io(format!("cannot replace {}", path.display()), e))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn unit(v: &[f32]) -> Vec<f32> {
        let mut v = v.to_vec();
        crate::embed::normalize(&mut v);
        v
    }

    #[test]
    fn saves_loads_and_detects_stale_generations() {
        let dir = tempfile::tempdir().unwrap();
        let index = VectorIndex::new(3, VectorQuantization::F32).unwrap();
        index.insert(1, &unit(&[1.0, 0.0, 0.0])).unwrap();
        index.insert(2, &unit(&[0.0, 1.0, 0.0])).unwrap();
        index.insert(2, &unit(&[0.0, 1.0, 0.1])).unwrap();
        assert_eq!(index.len(), 2);
        index.save(dir.path(), 7).unwrap();

        let loaded =
            VectorIndex::load_if_current(dir.path(), 7, 2, 3, VectorQuantization::F32).unwrap();
        let hits = loaded.search(&unit(&[0.9, 0.1, 0.0]), 2, None).unwrap();
        assert_eq!(hits[0].0, 1);
        let only_two = |k: u64| k == 2;
        let hits = loaded
            .search(&unit(&[0.9, 0.1, 0.0]), 2, Some(&only_two))
            .unwrap();
        assert_eq!(hits.iter().map(|h| h.0).collect::<Vec<_>>(), vec![2]);

        assert!(
            VectorIndex::load_if_current(dir.path(), 8, 2, 3, VectorQuantization::F32).is_none()
        );
        assert!(
            VectorIndex::load_if_current(dir.path(), 7, 3, 3, VectorQuantization::F32).is_none()
        );
        std::fs::write(dir.path().join("vectors.usearch"), b"garbage").unwrap();
        assert!(
            VectorIndex::load_if_current(dir.path(), 7, 2, 3, VectorQuantization::F32).is_none()
        );
    }
}
