//! The HNSW vector index (usearch): a derived, disposable file.
//!
//! SQLite holds every embedding; this index only makes nearest-neighbour
//! search fast. It is saved atomically (temporary file, then rename) with a
//! small sidecar naming the store generation it reflects. When the file is
//! missing, damaged, or from another generation, it is rebuilt from SQLite.
//!
//! A saved file is searched memory-mapped, never read whole: opening a
//! store of a million chunks costs no read of its gigabyte of vectors, and
//! memory holds only the pages searches touch. Changes since the file was
//! written live in a small in-memory delta (added vectors, hidden keys of
//! the file), saved as a delta file beside it; once the delta passes a tenth
//! of the file, the next save writes a new full file.

use std::collections::HashSet;
use std::fs::File;
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

/// What the sidecar records about the saved index, including the names of
/// the files it vouches for. Each save writes files of their own names, so
/// processes saving the same store at once (a watcher and a search
/// rebuilding a stale index) never replace each other's file or pair one's
/// data with the other's sidecar: the sidecar, renamed into place last,
/// always names complete files of its generation.
#[derive(Debug, Serialize, Deserialize, PartialEq)]
struct Sidecar {
    generation: i64,
    count: usize,
    dimensions: usize,
    quantization: VectorQuantization,
    /// The full index file.
    file: String,
    /// The delta file: vectors added or replaced since `file`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    delta: Option<String>,
    /// The keys the delta file holds.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    delta_keys: Vec<u64>,
    /// Keys of `file` removed or replaced since.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    hidden: Vec<u64>,
}

/// Candidates HNSW keeps while searching. Hybrid search asks for 100
/// neighbours; at 96 only about 85 of the true 100 were found (measured on
/// manpages-ja), and fusion ranks worse for the missing ones (README).
const EXPANSION_SEARCH: usize = 256;

/// Below this many vectors in the file every save writes a full file: it
/// takes milliseconds, and keeps small stores to one file.
const DELTA_MIN_FILE: usize = 20_000;

/// A delta of more than `1 / DELTA_SHARE` of the file's vectors is folded
/// into a new full file at the next save.
const DELTA_SHARE: usize = 10;

/// An HNSW index over chunk ids: the saved file, mapped, plus the changes
/// made since.
pub(crate) struct VectorIndex {
    /// The last full file, memory-mapped read-only; `None` before the first save.
    file: Option<MappedFile>,
    /// Vectors added or replaced since `file` was written.
    delta: Index,
    /// The keys `delta` holds (usearch cannot list them).
    delta_keys: HashSet<u64>,
    /// Keys of `file` removed or replaced since it was written.
    hidden: HashSet<u64>,
    /// A shared lock on the delta file this process saved last, so another
    /// process's save does not remove it while the sidecar names it.
    delta_lock: Option<File>,
    dimensions: usize,
    quantization: VectorQuantization,
    /// The store generation whose vectors it holds: a store whose
    /// generation moved on was changed by another process.
    generation: i64,
    /// See [`DELTA_MIN_FILE`]; lowered by tests.
    delta_min_file: usize,
}

/// A saved full index, mapped with a shared lock on its file: a save in
/// any process removes old files only when no one holds that lock.
struct MappedFile {
    index: Index,
    name: String,
    /// Dropped after `index` (fields drop in order): unmapped, then unlocked.
    _lock: File,
}

impl MappedFile {
    /// Maps a file another save wrote (it may be removed meanwhile: then an error).
    fn open(dir: &Path, name: &str, options: &IndexOptions) -> Result<Self> {
        let path = dir.join(name);
        let lock = File::open(&path)
            .map_err(|e| Error::io(format!("cannot open {}", path.display()), e))?;
        lock.try_lock_shared()
            .map_err(|e| corrupt(format!("{} is being removed: {e}", path.display())))?;
        Self::with_lock(dir, name, options, lock)
    }

    /// Maps a file this process claimed (see [`claim`]) and wrote.
    fn with_lock(dir: &Path, name: &str, options: &IndexOptions, lock: File) -> Result<Self> {
        let path = dir.join(name);
        let index = empty_index(options)?;
        index
            .view(path_str(&path)?)
            .map_err(|e| corrupt(format!("cannot map {}: {e}", path.display())))?;
        index.change_expansion_search(EXPANSION_SEARCH);
        Ok(MappedFile {
            index,
            name: name.to_string(),
            _lock: lock,
        })
    }
}

fn index_options(dimensions: usize, quantization: VectorQuantization) -> IndexOptions {
    IndexOptions {
        dimensions,
        metric: MetricKind::Cos,
        quantization: quantization.scalar(),
        connectivity: 16,
        expansion_add: 128,
        expansion_search: EXPANSION_SEARCH,
        multi: false,
    }
}

fn empty_index(options: &IndexOptions) -> Result<Index> {
    Index::new(options).map_err(|e| corrupt(format!("cannot create index: {e}")))
}

fn path_str(path: &Path) -> Result<&str> {
    path.to_str()
        .ok_or_else(|| Error::invalid("store path is not valid UTF-8"))
}

impl VectorIndex {
    /// An empty index for vectors of `dimensions`.
    pub(crate) fn new(dimensions: usize, quantization: VectorQuantization) -> Result<Self> {
        Ok(VectorIndex {
            file: None,
            delta: empty_index(&index_options(dimensions, quantization))?,
            delta_keys: HashSet::new(),
            hidden: HashSet::new(),
            delta_lock: None,
            dimensions,
            quantization,
            generation: 0,
            delta_min_file: DELTA_MIN_FILE,
        })
    }

    fn options(&self) -> IndexOptions {
        index_options(self.dimensions, self.quantization)
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
        let current = sidecar.generation == generation
            && sidecar.count == expected_count
            && sidecar.dimensions == dimensions
            && sidecar.quantization == quantization
            && is_data_file_name(&sidecar.file)
            && sidecar.delta.as_deref().is_none_or(is_data_file_name);
        if !current {
            return None;
        }
        let mut this = VectorIndex::new(dimensions, quantization).ok()?;
        this.generation = generation;
        let file = MappedFile::open(dir, &sidecar.file, &this.options()).ok()?;
        if file.index.dimensions() != dimensions {
            return None;
        }
        this.file = Some(file);
        if let Some(delta) = &sidecar.delta {
            this.delta.load(dir.join(delta).to_str()?).ok()?;
            this.delta.change_expansion_search(EXPANSION_SEARCH);
            this.delta_keys = sidecar.delta_keys.into_iter().collect();
            if this.delta_keys.len() != this.delta.size() {
                return None;
            }
        }
        this.hidden = sidecar.hidden.into_iter().collect();
        let consistent = this.hidden.iter().all(|&key| this.in_file(key));
        (consistent && this.len() == expected_count).then_some(this)
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
        let in_file = self.file.as_ref().map_or(0, |f| f.index.size());
        in_file.saturating_sub(self.hidden.len()) + self.delta.size()
    }

    fn in_file(&self, key: u64) -> bool {
        self.file.as_ref().is_some_and(|f| f.index.contains(key))
    }

    /// Adds or replaces the vector of chunk `key`.
    pub(crate) fn insert(&mut self, key: u64, vector: &[f32]) -> Result<()> {
        if vector.len() != self.dimensions {
            return Err(Error::invalid(format!(
                "vector has {} dimensions, the index {}",
                vector.len(),
                self.dimensions
            )));
        }
        add(&self.delta, key, vector)?;
        self.delta_keys.insert(key);
        if self.in_file(key) {
            self.hidden.insert(key);
        }
        Ok(())
    }

    /// Removes chunk `key` if present.
    pub(crate) fn remove(&mut self, key: u64) -> Result<()> {
        if self.delta_keys.remove(&key) {
            self.delta.remove(key).map_err(|e| corrupt(e.to_string()))?;
        }
        if self.in_file(key) {
            self.hidden.insert(key);
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
        let mut found: Vec<(u64, f32)> = Vec::new();
        if let Some(file) = &self.file {
            let hidden = &self.hidden;
            let visible = |k: u64| !hidden.contains(&k) && allow.is_none_or(|allow| allow(k));
            let filtered = allow.is_some() || !hidden.is_empty();
            found.extend(search_one(
                &file.index,
                query,
                count,
                filtered.then_some(&visible),
            )?);
        }
        found.extend(search_one(&self.delta, query, count, allow)?);
        found.sort_by(|a, b| a.1.total_cmp(&b.1).then(a.0.cmp(&b.0)));
        found.truncate(count);
        Ok(found.into_iter().map(|(k, d)| (k, 1.0 - d)).collect())
    }

    /// Saves atomically: the index file(s) under new names first, then the
    /// sidecar naming them (renamed into place); files no longer named and
    /// not mapped by any process are then removed. Writes only the delta
    /// while it is small next to the file, else a new full file (which
    /// means reading the old one into memory once).
    pub(crate) fn save(&mut self, dir: &Path, generation: i64) -> Result<()> {
        let delta_only = self.file.as_ref().is_some_and(|f| {
            let size = f.index.size();
            size >= self.delta_min_file
                && (self.delta.size() + self.hidden.len()) * DELTA_SHARE <= size
        });
        if delta_only {
            self.save_delta(dir, generation)
        } else {
            self.save_full(dir, generation)
        }
    }

    fn save_delta(&mut self, dir: &Path, generation: i64) -> Result<()> {
        let file = self.file.as_ref().expect("a delta has its file");
        let delta = format!("vectors-{generation}-{}.delta.usearch", unique_suffix());
        let lock = claim(dir, &delta)?;
        write_index(&self.delta, &dir.join(&delta))?;
        let mut delta_keys: Vec<u64> = self.delta_keys.iter().copied().collect();
        let mut hidden: Vec<u64> = self.hidden.iter().copied().collect();
        delta_keys.sort_unstable();
        hidden.sort_unstable();
        let sidecar = Sidecar {
            generation,
            count: self.len(),
            dimensions: self.dimensions,
            quantization: self.quantization,
            file: file.name.clone(),
            delta: Some(delta.clone()),
            delta_keys,
            hidden,
        };
        if let Err(e) = write_sidecar(dir, &sidecar) {
            let _ = std::fs::remove_file(dir.join(&delta));
            return Err(e);
        }
        // The previous delta's lock goes first, so the cleanup removes it.
        self.delta_lock = Some(lock);
        remove_unused_data_files(dir, &[&file.name, &delta]);
        Ok(())
    }

    fn save_full(&mut self, dir: &Path, generation: i64) -> Result<()> {
        let name = format!("vectors-{generation}-{}.usearch", unique_suffix());
        let path = dir.join(&name);
        let lock = claim(dir, &name)?;
        let visible_in_file =
            (self.file.as_ref().map_or(0, |f| f.index.size())).saturating_sub(self.hidden.len());
        if visible_in_file <= self.delta.size() {
            // The delta is the bigger part (a first run, a rebuild): fold
            // the file into it rather than re-insert the delta into a copy
            // of the file.
            self.absorb_file()?;
            write_index(&self.delta, &path)?;
        } else if let Some(file) = &self.file {
            write_index(&self.merged(dir, file)?, &path)?;
        }
        let sidecar = Sidecar {
            generation,
            count: self.len(),
            dimensions: self.dimensions,
            quantization: self.quantization,
            file: name.clone(),
            delta: None,
            delta_keys: Vec::new(),
            hidden: Vec::new(),
        };
        if let Err(e) = write_sidecar(dir, &sidecar) {
            let _ = std::fs::remove_file(&path);
            return Err(e);
        }
        // From now on search the new file; until it maps, the old file and
        // delta still hold the same vectors.
        let mapped = MappedFile::with_lock(dir, &name, &self.options(), lock)?;
        self.file = Some(mapped);
        self.delta = empty_index(&self.options())?;
        self.delta_keys.clear();
        self.hidden.clear();
        self.delta_lock = None;
        remove_unused_data_files(dir, &[&name]);
        Ok(())
    }

    /// Moves the file's visible vectors into the delta (hiding them in the
    /// file as it goes, so the index holds the same vectors at every step).
    /// usearch cannot list its keys: an exact search for all of them does.
    fn absorb_file(&mut self) -> Result<()> {
        let Some(file) = &self.file else {
            return Ok(());
        };
        let size = file.index.size();
        if size == 0 {
            return Ok(());
        }
        let mut probe = vec![0.0f32; self.dimensions];
        probe[0] = 1.0;
        let all = file
            .index
            .exact_search(&probe, size)
            .map_err(|e| corrupt(format!("cannot list the vector file: {e}")))?;
        let mut vector = vec![0.0f32; self.dimensions];
        for key in all.keys {
            if self.hidden.contains(&key) || !file.index.contains(key) {
                continue;
            }
            file.index
                .get(key, &mut vector[..])
                .map_err(|e| corrupt(e.to_string()))?;
            add(&self.delta, key, &vector)?;
            self.delta_keys.insert(key);
            self.hidden.insert(key);
        }
        Ok(())
    }

    /// The file's vectors, read into memory, with the delta applied.
    fn merged(&self, dir: &Path, file: &MappedFile) -> Result<Index> {
        let merged = empty_index(&self.options())?;
        let path = dir.join(&file.name);
        merged
            .load(path_str(&path)?)
            .map_err(|e| corrupt(format!("cannot read {}: {e}", path.display())))?;
        for key in &self.hidden {
            merged.remove(*key).map_err(|e| corrupt(e.to_string()))?;
        }
        let mut vector = vec![0.0f32; self.dimensions];
        for key in &self.delta_keys {
            self.delta
                .get(*key, &mut vector[..])
                .map_err(|e| corrupt(e.to_string()))?;
            add(&merged, *key, &vector)?;
        }
        Ok(merged)
    }
}

/// Creates `dir/name` (empty, private) holding a shared lock on it before
/// anything is written, so no other process's save removes the file while
/// this one writes it, names it in the sidecar and maps it (usearch writes
/// into the same file). A file removed before the lock was taken is an
/// error (the save is retried later).
fn claim(dir: &Path, name: &str) -> Result<File> {
    let path = dir.join(name);
    let file = super::private::create_file(&path)
        .map_err(|e| Error::io(format!("cannot create {}", path.display()), e))?;
    file.lock_shared()
        .map_err(|e| Error::io(format!("cannot lock {}", path.display()), e))?;
    if !path.exists() {
        return Err(Error::new(
            ErrorKind::Io,
            format!("{} was removed by another process's save", path.display()),
        ));
    }
    Ok(file)
}

/// Adds or replaces `key` in an in-memory index, growing it as needed.
fn add(index: &Index, key: u64, vector: &[f32]) -> Result<()> {
    if index.contains(key) {
        index.remove(key).map_err(|e| corrupt(e.to_string()))?;
    }
    if index.size() + 1 > index.capacity() {
        let grown = (index.capacity() * 2).max(1024);
        index
            .reserve(grown)
            .map_err(|e| corrupt(format!("cannot grow vector index: {e}")))?;
    }
    index
        .add(key, vector)
        .map_err(|e| corrupt(format!("cannot add to vector index: {e}")))
}

/// The `count` nearest keys in one index, with distances.
fn search_one(
    index: &Index,
    query: &[f32],
    count: usize,
    allow: Option<&dyn Fn(u64) -> bool>,
) -> Result<Vec<(u64, f32)>> {
    if index.size() == 0 || count == 0 {
        return Ok(Vec::new());
    }
    let count = count.min(index.size());
    let matches = match allow {
        Some(allow) => index.filtered_search(query, count, allow),
        None => index.search(query, count),
    }
    .map_err(|e| corrupt(format!("vector search failed: {e}")))?;
    Ok(matches.keys.into_iter().zip(matches.distances).collect())
}

/// Writes `index` to `path`, private and synced.
fn write_index(index: &Index, path: &Path) -> Result<()> {
    let written = index
        .save(path_str(path)?)
        .map_err(|e| Error::new(ErrorKind::Io, format!("cannot save vector index: {e}")))
        .and_then(|()| super::private::restrict(path))
        .and_then(|()| sync_file(path));
    if written.is_err() {
        let _ = std::fs::remove_file(path);
    }
    written
}

fn write_sidecar(dir: &Path, sidecar: &Sidecar) -> Result<()> {
    let bytes = serde_json::to_vec(sidecar).expect("sidecar serializes");
    write_atomic(&sidecar_path(dir), &bytes)
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
/// lost the race) unless a process has one mapped (it holds a shared lock on
/// it: see [`MappedFile`]); a later save removes it once released. A
/// concurrent reader that loses a file it was about to load to this falls
/// back to rebuilding from SQLite.
fn remove_unused_data_files(dir: &Path, keep: &[&str]) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        if keep.contains(&name.as_str()) || !is_data_file_name(&name) {
            continue;
        }
        let Ok(file) = File::open(entry.path()) else {
            continue;
        };
        if file.try_lock().is_ok() {
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

    fn f32_index() -> VectorIndex {
        VectorIndex::new(3, VectorQuantization::F32).unwrap()
    }

    fn load(dir: &Path, generation: i64, count: usize) -> Option<VectorIndex> {
        VectorIndex::load_if_current(dir, generation, count, 3, VectorQuantization::F32)
    }

    fn keys(hits: &[(u64, f32)]) -> Vec<u64> {
        hits.iter().map(|h| h.0).collect()
    }

    #[test]
    fn saves_loads_and_detects_stale_generations() {
        let dir = tempfile::tempdir().unwrap();
        let mut index = f32_index();
        index.insert(1, &unit(&[1.0, 0.0, 0.0])).unwrap();
        index.insert(2, &unit(&[0.0, 1.0, 0.0])).unwrap();
        index.insert(2, &unit(&[0.0, 1.0, 0.1])).unwrap();
        assert_eq!(index.len(), 2);
        index.save(dir.path(), 7).unwrap();
        // The saver now searches the file it wrote, mapped.
        assert_eq!(index.len(), 2);
        assert_eq!(
            keys(&index.search(&unit(&[0.1, 1.0, 0.0]), 1, None).unwrap()),
            [2]
        );

        let loaded = load(dir.path(), 7, 2).unwrap();
        let hits = loaded.search(&unit(&[0.9, 0.1, 0.0]), 2, None).unwrap();
        assert_eq!(hits[0].0, 1);
        let only_two = |k: u64| k == 2;
        let hits = loaded
            .search(&unit(&[0.9, 0.1, 0.0]), 2, Some(&only_two))
            .unwrap();
        assert_eq!(keys(&hits), [2]);

        assert!(load(dir.path(), 8, 2).is_none());
        assert!(load(dir.path(), 7, 3).is_none());
        let data = data_files(dir.path());
        assert_eq!(data.len(), 1, "{data:?}");
        // Never rewritten in place while mapped: write another file's bytes
        // under the name only once no one maps it.
        drop((index, loaded));
        std::fs::write(dir.path().join(&data[0]), b"garbage").unwrap();
        assert!(load(dir.path(), 7, 2).is_none());
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
        let mut first = f32_index();
        first.insert(1, &unit(&[1.0, 0.0, 0.0])).unwrap();
        let mut second = f32_index();
        second.insert(1, &unit(&[1.0, 0.0, 0.0])).unwrap();
        second.insert(2, &unit(&[0.0, 1.0, 0.0])).unwrap();
        // As two processes would: both save, the later sidecar wins and
        // vouches for its own data file only; the first's file stays while
        // the first maps it.
        first.save(dir.path(), 4).unwrap();
        second.save(dir.path(), 5).unwrap();
        assert_eq!(data_files(dir.path()).len(), 2);
        assert_eq!(
            keys(&first.search(&unit(&[1.0, 0.0, 0.0]), 1, None).unwrap()),
            [1]
        );
        assert!(load(dir.path(), 4, 1).is_none());
        let loaded = load(dir.path(), 5, 2).unwrap();
        assert_eq!(loaded.len(), 2);
        let leftovers: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n.ends_with(".tmp"))
            .collect();
        assert!(leftovers.is_empty(), "{leftovers:?}");
        // Once released, the next save removes it.
        drop(first);
        second.insert(3, &unit(&[0.0, 0.0, 1.0])).unwrap();
        second.save(dir.path(), 6).unwrap();
        drop(loaded);
        second.insert(4, &unit(&[0.5, 0.5, 0.0])).unwrap();
        second.save(dir.path(), 7).unwrap();
        assert_eq!(
            data_files(dir.path()).len(),
            1,
            "{:?}",
            data_files(dir.path())
        );
    }

    #[test]
    fn a_file_being_saved_is_never_removed_by_another_save() {
        let dir = tempfile::tempdir().unwrap();
        // Claimed before it is written: another process's cleanup, run
        // before the sidecar names it, leaves it alone.
        let lock = claim(dir.path(), "vectors-1-a.usearch").unwrap();
        remove_unused_data_files(dir.path(), &[]);
        assert_eq!(data_files(dir.path()), ["vectors-1-a.usearch"]);
        drop(lock);
        remove_unused_data_files(dir.path(), &[]);
        assert!(data_files(dir.path()).is_empty());
    }

    /// Points along a curve, each distinct.
    fn curve(i: u64) -> Vec<f32> {
        let t = i as f32 / 10.0;
        unit(&[t.cos(), t.sin(), 0.3])
    }

    #[test]
    fn small_changes_are_saved_as_a_delta_beside_the_mapped_file() {
        let dir = tempfile::tempdir().unwrap();
        let mut index = f32_index();
        index.delta_min_file = 0;
        for i in 0..40 {
            index.insert(i, &curve(i)).unwrap();
        }
        index.save(dir.path(), 1).unwrap();
        // Three changes of forty: a delta. Key 5 moves, key 7 goes, 100 comes.
        index.insert(5, &unit(&[0.0, 0.0, 1.0])).unwrap();
        index.remove(7).unwrap();
        assert_eq!(index.len(), 39);
        index.save(dir.path(), 2).unwrap();
        let sidecar: Sidecar =
            serde_json::from_slice(&std::fs::read(sidecar_path(dir.path())).unwrap()).unwrap();
        assert!(sidecar.delta.is_some(), "{sidecar:?}");
        assert_eq!(
            (sidecar.delta_keys.clone(), sidecar.hidden.clone()),
            (vec![5], vec![5, 7])
        );

        for index in [&index, &load(dir.path(), 2, 39).unwrap()] {
            assert_eq!(index.len(), 39);
            let top = index.search(&unit(&[0.0, 0.0, 1.0]), 1, None).unwrap();
            assert_eq!(keys(&top), [5]);
            assert!((top[0].1 - 1.0).abs() < 1e-4, "{top:?}");
            let all = keys(&index.search(&curve(7), 40, None).unwrap());
            assert_eq!(all.len(), 39);
            assert!(!all.contains(&7));
            let odd = |k: u64| k % 2 == 1;
            let some = keys(&index.search(&curve(5), 3, Some(&odd)).unwrap());
            assert_eq!(some.len(), 3);
            assert!(some.iter().all(|k| k % 2 == 1 && *k != 7), "{some:?}");
        }

        // More than a tenth changed: a new full file, no delta, same answers.
        index.insert(100, &curve(100)).unwrap();
        index.remove(8).unwrap();
        index.save(dir.path(), 3).unwrap();
        let sidecar: Sidecar =
            serde_json::from_slice(&std::fs::read(sidecar_path(dir.path())).unwrap()).unwrap();
        assert!(
            sidecar.delta.is_none() && sidecar.hidden.is_empty(),
            "{sidecar:?}"
        );
        let reloaded = load(dir.path(), 3, 39).unwrap();
        let all = keys(&reloaded.search(&curve(0), 40, None).unwrap());
        assert_eq!(all.len(), 39);
        assert!(all.contains(&100) && all.contains(&5) && !all.contains(&7) && !all.contains(&8));
        let top = reloaded.search(&unit(&[0.0, 0.0, 1.0]), 1, None).unwrap();
        assert_eq!(keys(&top), [5]);
    }

    #[test]
    fn a_delta_bigger_than_its_file_takes_the_file_in() {
        let dir = tempfile::tempdir().unwrap();
        let mut index = f32_index();
        for i in 0..3 {
            index.insert(i, &curve(i)).unwrap();
        }
        index.save(dir.path(), 1).unwrap();
        // A first run: a few vectors in the file, many more after it.
        for i in 3..40 {
            index.insert(i, &curve(i)).unwrap();
        }
        index.insert(1, &unit(&[0.0, 0.0, 1.0])).unwrap();
        index.remove(2).unwrap();
        index.save(dir.path(), 2).unwrap();
        for index in [&index, &load(dir.path(), 2, 39).unwrap()] {
            assert_eq!(index.len(), 39);
            let all = keys(&index.search(&curve(20), 40, None).unwrap());
            assert_eq!(all.len(), 39, "{all:?}");
            assert!(all.contains(&0) && !all.contains(&2));
            assert_eq!(
                keys(&index.search(&unit(&[0.0, 0.0, 1.0]), 1, None).unwrap()),
                [1]
            );
        }
        assert_eq!(data_files(dir.path()).len(), 1);
    }
}
