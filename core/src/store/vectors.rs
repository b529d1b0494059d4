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

/// What the sidecar records about the saved index, including the name of
/// the data file it vouches for. Each save writes a data file of its own
/// name, so processes saving the same store at once (a watcher and a
/// search rebuilding a stale index) never replace each other's file or
/// pair one's data with the other's sidecar: the sidecar, renamed into
/// place last, always names a complete file of its generation.
#[derive(Debug, Serialize, Deserialize, PartialEq)]
struct Sidecar {
    generation: i64,
    count: usize,
    dimensions: usize,
    quantization: VectorQuantization,
    file: String,
}

/// Candidates HNSW keeps while searching. Hybrid search asks for 100
/// neighbours; at 96 only about 85 of the true 100 were found (measured on
/// manpages-ja), and fusion ranks worse for the missing ones (README).
const EXPANSION_SEARCH: usize = 256;

/// An in-memory HNSW index over chunk ids.
pub(crate) struct VectorIndex {
    index: Index,
    dimensions: usize,
    quantization: VectorQuantization,
    /// The store generation whose vectors it holds: a store whose
    /// generation moved on was changed by another process.
    generation: i64,
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
            expansion_search: EXPANSION_SEARCH,
            multi: false,
        };
        let index =
            Index::new(&options).map_err(|e| corrupt(format!("cannot create index: {e}")))?;
        Ok(VectorIndex {
            index,
            dimensions,
            quantization,
            generation: 0,
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
            file: sidecar.file.clone(),
        };
        if sidecar != wanted || !is_data_file_name(&sidecar.file) {
            return None;
        }
        let mut this = VectorIndex::new(dimensions, quantization).ok()?;
        this.generation = generation;
        this.index.load(dir.join(&sidecar.file).to_str()?).ok()?;
        this.index.change_expansion_search(EXPANSION_SEARCH);
        (this.index.size() == expected_count && this.index.dimensions() == dimensions)
            .then_some(this)
    }

    /// The generation of the saved index file (a small read: its sidecar).
    pub(crate) fn saved_generation(dir: &Path) -> Option<i64> {
        let sidecar: Sidecar =
            serde_json::from_slice(&std::fs::read(sidecar_path(dir)).ok()?).ok()?;
        Some(sidecar.generation)
    }

    pub(crate) fn dimensions(&self) -> usize {
        self.dimensions
    }

    /// The store generation it holds the vectors of.
    pub(crate) fn generation(&self) -> i64 {
        self.generation
    }

    pub(crate) fn set_generation(&mut self, generation: i64) {
        self.generation = generation;
    }

    pub(crate) fn quantization(&self) -> VectorQuantization {
        self.quantization
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

    /// Saves atomically: a data file of a new name first, then the sidecar
    /// naming it (renamed into place); older data files are then removed.
    pub(crate) fn save(&self, dir: &Path, generation: i64) -> Result<()> {
        let file = format!("vectors-{generation}-{}.usearch", unique_suffix());
        let path = dir.join(&file);
        let path_str = path
            .to_str()
            .ok_or_else(|| Error::invalid("store path is not valid UTF-8"))?;
        let saved = self
            .index
            .save(path_str)
            .map_err(|e| Error::new(ErrorKind::Io, format!("cannot save vector index: {e}")))
            .and_then(|()| super::private::restrict(&path))
            .and_then(|()| sync_file(&path));
        let sidecar = Sidecar {
            generation,
            count: self.index.size(),
            dimensions: self.dimensions,
            quantization: self.quantization,
            file: file.clone(),
        };
        let bytes = serde_json::to_vec(&sidecar).expect("sidecar serializes");
        if let Err(e) = saved.and_then(|()| write_atomic(&sidecar_path(dir), &bytes)) {
            let _ = std::fs::remove_file(&path);
            return Err(e);
        }
        remove_other_data_files(dir, &file);
        Ok(())
    }
}

/// `<pid>-<nanoseconds>`: distinct across processes and saves.
fn unique_suffix() -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    format!("{}-{nanos}", std::process::id())
}

/// A data file name this module writes (never a path).
fn is_data_file_name(name: &str) -> bool {
    name.starts_with("vectors") && name.ends_with(".usearch") && !name.contains(['/', '\\'])
}

/// Removes data files other than `keep` (older saves, files of a save that
/// lost the race). A concurrent reader that loses its file to this falls
/// back to rebuilding from SQLite.
fn remove_other_data_files(dir: &Path, keep: &str) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        if name != keep && is_data_file_name(&name) {
            let _ = std::fs::remove_file(entry.path());
        }
    }
}

fn corrupt(message: String) -> Error {
    Error::new(ErrorKind::CorruptStore, message)
}

fn sidecar_path(dir: &Path) -> PathBuf {
    dir.join("vectors.json")
}

fn sync_file(path: &Path) -> Result<()> {
    std::fs::File::open(path)
        .and_then(|f| f.sync_all())
        .map_err(|e| Error::io(format!("cannot sync {}", path.display()), e))
}

/// Writes `bytes` to `path` through a synced temporary file (of a name no
/// other process uses) and a rename.
fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let tmp = path.with_extension(format!("{}.tmp", unique_suffix()));
    super::private::create_file(&tmp)
        .and_then(|mut file| std::io::Write::write_all(&mut file, bytes))
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
        let data = data_files(dir.path());
        assert_eq!(data.len(), 1, "{data:?}");
        std::fs::write(dir.path().join(&data[0]), b"garbage").unwrap();
        assert!(
            VectorIndex::load_if_current(dir.path(), 7, 2, 3, VectorQuantization::F32).is_none()
        );
    }

    fn data_files(dir: &Path) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n.ends_with(".usearch"))
            .collect();
        names.sort();
        names
    }

    #[test]
    fn each_save_writes_its_own_file_and_the_sidecar_names_the_last() {
        let dir = tempfile::tempdir().unwrap();
        let first = VectorIndex::new(3, VectorQuantization::F32).unwrap();
        first.insert(1, &unit(&[1.0, 0.0, 0.0])).unwrap();
        let second = VectorIndex::new(3, VectorQuantization::F32).unwrap();
        second.insert(1, &unit(&[1.0, 0.0, 0.0])).unwrap();
        second.insert(2, &unit(&[0.0, 1.0, 0.0])).unwrap();
        // As two processes would: both save, the later sidecar wins and
        // vouches for its own data file only.
        first.save(dir.path(), 4).unwrap();
        second.save(dir.path(), 5).unwrap();
        assert_eq!(data_files(dir.path()).len(), 1);
        assert!(
            VectorIndex::load_if_current(dir.path(), 4, 1, 3, VectorQuantization::F32).is_none()
        );
        let loaded =
            VectorIndex::load_if_current(dir.path(), 5, 2, 3, VectorQuantization::F32).unwrap();
        assert_eq!(loaded.len(), 2);
        let leftovers: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n.ends_with(".tmp"))
            .collect();
        assert!(leftovers.is_empty(), "{leftovers:?}");
    }
}
