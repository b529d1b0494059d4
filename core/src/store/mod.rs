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
mod keywords;
mod links;
mod private;
mod read;
mod schema;
mod sqlite;
mod vectors;
mod write;

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, RwLock};

use rusqlite::Connection;

pub use filter::SearchFilters;
pub(crate) use key::DocKey;
pub(crate) use links::{LinkEnd, LinkRecord};
pub(crate) use read::{ChunkRecord, Snapshot, StoredFailure};
pub use vectors::VectorQuantization;
pub(crate) use write::{ChunkRow, DocumentRow, QueuedEmbedding, Writes, unix_now};

use crate::analysis::Analyzer;
use crate::embed::ModelFingerprint;
use crate::error::{Error, ErrorKind, Result};
use sqlite::{Connections, sql};
use vectors::VectorIndex;

/// An open store: database plus the in-memory vector index kept in step with it.
pub(crate) struct Store {
    dir: PathBuf,
    sqlite: Connections,
    vectors: RwLock<VectorIndex>,
    /// How text meets the keyword index, written and queried alike.
    analyzer: Analyzer,
    /// The vector index changed since its file was last saved.
    vectors_unsaved: AtomicBool,
    /// One save of the index file at a time (writers and the embedding
    /// thread both save).
    saving: Mutex<()>,
}

/// The embedding lock file (private like the rest: `vectors*`).
const EMBEDDING_LOCK: &str = "vectors.lock";

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
        private::create_store_dir(dir, &dir.join(sqlite::DB_FILE))?;
        let sqlite = Connections::open(dir)?;
        let analyzer = Analyzer::default();
        let matched = {
            let mut writer = sqlite.writer();
            schema::migrate(&writer)?;
            refresh_keywords(&mut writer, &analyzer)?;
            match check_fingerprint(&writer, model) {
                Ok(()) => ModelMatch::Same,
                Err(e) if allow_other_model && e.kind() == ErrorKind::IncompatibleStore => {
                    ModelMatch::Other
                }
                Err(e) => return Err(e),
            }
        };
        // Until loaded, the index is the empty one of this generation (a
        // store of another model is re-embedded into it).
        let mut vectors = VectorIndex::new(model.dimensions as usize, quantization)?;
        vectors.set_generation(read::generation(&sqlite.writer())?);
        let store = Store {
            dir: dir.to_path_buf(),
            sqlite,
            vectors: RwLock::new(vectors),
            analyzer,
            vectors_unsaved: AtomicBool::new(false),
            saving: Mutex::new(()),
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
        let count = read::embedded_chunk_count(&writer)?;
        let loaded =
            VectorIndex::load_if_current(&self.dir, generation, count, dimensions, quantization);
        let index = match loaded {
            Some(index) => index,
            None => {
                let mut index = rebuild(&writer, dimensions, quantization)?;
                index.set_generation(generation);
                index.save(&self.dir, generation)?;
                index
            }
        };
        *self.vectors.write().unwrap_or_else(|p| p.into_inner()) = index;
        Ok(())
    }

    /// Brings `vectors` up to what another process committed (its
    /// generation moved on): to that process's saved index file when it is
    /// current, else — only when `rebuild`, for a writer, which must not
    /// save its index over the other's vectors — by a rebuild from SQLite.
    /// A reader that finds no current file keeps its index and tries again
    /// on its next snapshot (the other process saves when its write ends).
    fn catch_up(&self, vectors: &mut VectorIndex, conn: &Connection, rebuild: bool) -> Result<()> {
        let generation = read::generation(conn)?;
        if generation == vectors.generation()
            || !rebuild && VectorIndex::saved_generation(&self.dir) != Some(generation)
        {
            return Ok(());
        }
        let count = read::embedded_chunk_count(conn)?;
        let (dimensions, quantization) = (vectors.dimensions(), vectors.quantization());
        if let Some(loaded) =
            VectorIndex::load_if_current(&self.dir, generation, count, dimensions, quantization)
        {
            *vectors = loaded;
        } else if rebuild {
            let mut rebuilt = self::rebuild(conn, dimensions, quantization)?;
            rebuilt.set_generation(generation);
            *vectors = rebuilt;
        }
        Ok(())
    }

    fn mark_vectors_unsaved(&self) {
        self.vectors_unsaved.store(true, Ordering::SeqCst);
    }

    /// Saves the vector index file if the index changed since its last
    /// save, labelled with the generation it holds: if another process
    /// committed since, its readers do not take this file for theirs.
    pub(crate) fn save_vectors(&self) -> Result<()> {
        let _saving = self.saving.lock().unwrap_or_else(|p| p.into_inner());
        if !self.vectors_unsaved.swap(false, Ordering::SeqCst) {
            return Ok(());
        }
        // A full save swaps the mapped file: searches wait for it (rare:
        // once the delta passes a tenth of the file).
        let mut vectors = self.vectors.write().unwrap_or_else(|p| p.into_inner());
        let generation = vectors.generation();
        vectors
            .save(&self.dir, generation)
            .inspect_err(|_| self.mark_vectors_unsaved())
    }

    /// The file whose lock one embedding batch at a time holds across
    /// processes, so two hosts on one store do not embed the same backlog.
    pub(crate) fn open_embedding_lock(&self) -> Result<std::fs::File> {
        let path = self.dir.join(EMBEDDING_LOCK);
        private::open_lock_file(&path)
            .map_err(|e| Error::io(format!("cannot open {}", path.display()), e))
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

/// Re-analyses the keyword rows when they were analysed otherwise than this
/// build does (a schema step that changed the analysis, or an older store).
fn refresh_keywords(conn: &mut Connection, analyzer: &Analyzer) -> Result<()> {
    let current = read::get_meta(conn, keywords::ANALYSIS_VERSION_KEY)?;
    if current.as_deref() == Some(keywords::ANALYSIS_VERSION) {
        return Ok(());
    }
    let tx = conn
        .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
        .map_err(sql)?;
    keywords::reanalyze_all(&tx, analyzer)?;
    write::set_meta(
        &tx,
        keywords::ANALYSIS_VERSION_KEY,
        keywords::ANALYSIS_VERSION,
    )?;
    tx.commit().map_err(sql)
}

/// Builds a vector index from the embeddings SQLite holds (a queued chunk
/// gets its vector from its own batch, even if its text has one).
fn rebuild(
    conn: &Connection,
    dimensions: usize,
    quantization: VectorQuantization,
) -> Result<VectorIndex> {
    let mut index = VectorIndex::new(dimensions, quantization)?;
    let mut stmt = conn
        .prepare(
            "SELECT c.id, e.vector FROM chunks c JOIN embeddings e ON e.hash = c.embed_hash
             WHERE NOT EXISTS (SELECT 1 FROM embed_queue q WHERE q.chunk_id = c.id)",
        )
        .map_err(sql)?;
    let mut rows = stmt.query([]).map_err(sql)?;
    while let Some(row) = rows.next().map_err(sql)? {
        let id: i64 = row.get(0).map_err(sql)?;
        let vector: Vec<u8> = row.get(1).map_err(sql)?;
        index.insert(id as u64, &blob::decode(&vector)?)?;
    }
    Ok(index)
}

/// The embedding model the store in `dir` records, read without creating,
/// migrating or writing anything: `None` when there is no store there yet,
/// it records no model, or it cannot be read now ([`Store::open`] then says
/// why). Opening a store whose model is known lets the model load behind it.
pub(crate) fn recorded_model(dir: &Path) -> Option<ModelFingerprint> {
    let path = dir.join(sqlite::DB_FILE);
    if !path.is_file() {
        return None;
    }
    let conn = sqlite::connect(&path, true).ok()?;
    read_fingerprint(&conn).ok()?
}

/// The store's record of its embedding model, if it has one.
fn read_fingerprint(conn: &Connection) -> Result<Option<ModelFingerprint>> {
    let Some(json) = read::get_meta(conn, "embedding_model")? else {
        return Ok(None);
    };
    serde_json::from_str(&json).map(Some).map_err(|e| {
        Error::new(
            ErrorKind::CorruptStore,
            format!("the store's record of its embedding model is damaged: {e}"),
        )
    })
}

/// Checks (or, on a new store, records) the embedding model fingerprint.
fn check_fingerprint(conn: &Connection, model: &ModelFingerprint) -> Result<()> {
    let Some(stored) = read_fingerprint(conn)? else {
        return write::set_fingerprint(conn, model);
    };
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
    use std::collections::HashSet;

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
        let store = open_a(dir.path());
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

    /// The store in `dir`, of model "a", opened or created.
    fn open_a(dir: &Path) -> Store {
        Store::open(dir, &model("a"), VectorQuantization::F32, false)
            .unwrap()
            .0
    }

    fn unit(v: [f32; 3]) -> Vec<f32> {
        let mut v = v.to_vec();
        crate::embed::normalize(&mut v);
        v
    }

    /// Stores one document of two chunks, one of them in Japanese.
    fn store_one_document(store: &Store) {
        let doc = DocumentRow {
            key: DocKey::host("n1"),
            kind: "host".into(),
            title: "Ferry times".into(),
            tags: vec![],
            aliases: vec![],
            metadata: Default::default(),
            links: vec![],
            anchors: vec![],
            content_hash: vec![1],
            size: 1,
            mtime_ns: 0,
        };
        let chunk = |ordinal: usize, text: &str, hash: u8| ChunkRow {
            ordinal,
            text: text.into(),
            embed_hash: vec![hash],
            char_start: 0,
            char_end: text.chars().count(),
            lines: None,
            page: None,
            locator: None,
            heading_path: vec![],
        };
        let chunks = [
            chunk(
                0,
                "The ferries leave the harbour at seven every morning and come back in the evening.",
                1,
            ),
            chunk(1, "フェリーは七時に港を出発します。", 2),
        ];
        let vectors = [
            (vec![1u8], unit([1.0, 0.0, 0.0])),
            (vec![2u8], unit([0.0, 1.0, 0.0])),
        ]
        .into_iter()
        .collect();
        let mut writes = store.begin_writes();
        writes
            .transaction(|tx| tx.replace_document(&doc, &chunks, &vectors))
            .unwrap();
        writes.finish().unwrap();
    }

    fn keyword_ids(store: &Store, query: &str) -> Vec<u64> {
        let found = store.snapshot().unwrap().keyword(query, 10, None).unwrap();
        found.into_iter().map(|(id, _)| id).collect()
    }

    #[test]
    fn keywords_match_in_every_script_and_go_with_their_document() {
        let dir = tempfile::tempdir().unwrap();
        let store = open_a(dir.path());
        store_one_document(&store);
        // Stemmed English (the title is in every chunk, so not "ferry"), CJK
        // pairs, a one-character CJK query.
        assert_eq!(keyword_ids(&store, "harbours").len(), 1);
        assert_eq!(keyword_ids(&store, "港を出発").len(), 1);
        assert_eq!(keyword_ids(&store, "港").len(), 1);
        let err = store
            .snapshot()
            .unwrap()
            .keyword("？！。", 10, None)
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidInput);
        let mut writes = store.begin_writes();
        writes
            .transaction(|tx| tx.delete_document(&DocKey::host("n1")))
            .unwrap();
        writes.finish().unwrap();
        assert!(keyword_ids(&store, "ferry").is_empty());
        assert!(keyword_ids(&store, "港").is_empty());
        let languages = keywords::store_languages(&store.sqlite.take_reader().unwrap()).unwrap();
        assert!(languages.candidates().is_empty(), "{languages:?}");
    }

    /// Writes host document `id` of one chunk with `vector`, in a write
    /// session left open (not saved) for the caller to finish or drop.
    fn write_one<'s>(store: &'s Store, id: &str, vector: Vec<f32>) -> Writes<'s> {
        let doc = DocumentRow {
            key: DocKey::host(id),
            kind: "host".into(),
            title: id.into(),
            tags: vec![],
            aliases: vec![],
            metadata: Default::default(),
            links: vec![],
            anchors: vec![],
            content_hash: id.as_bytes().to_vec(),
            size: 1,
            mtime_ns: 0,
        };
        let chunks = [ChunkRow {
            ordinal: 0,
            text: format!("note {id}"),
            embed_hash: id.as_bytes().to_vec(),
            char_start: 0,
            char_end: 6,
            lines: None,
            page: None,
            locator: None,
            heading_path: vec![],
        }];
        let vectors = [(id.as_bytes().to_vec(), vector)].into_iter().collect();
        let mut writes = store.begin_writes();
        writes
            .transaction(|tx| tx.replace_document(&doc, &chunks, &vectors))
            .unwrap();
        writes
    }

    fn nearest_title(store: &Store, v: [f32; 3]) -> String {
        let snapshot = store.snapshot().unwrap();
        let found = snapshot.nearest(&unit(v), 1, None).unwrap();
        let records = snapshot.chunks(&[found[0].0]).unwrap();
        records[0].title.clone()
    }

    #[test]
    fn two_stores_on_one_directory_see_each_others_vectors_and_lose_none() {
        let dir = tempfile::tempdir().unwrap();
        let open = || open_a(dir.path());
        let (first, second) = (open(), open());
        write_one(&first, "x", unit([1.0, 0.0, 0.0]))
            .finish()
            .unwrap();
        assert_eq!(nearest_title(&second, [1.0, 0.1, 0.0]), "x");
        // A writer that never saves (killed, say): the next writer catches
        // up from SQLite, so the file it saves holds both vectors.
        drop(write_one(&second, "y", unit([0.0, 1.0, 0.0])));
        std::fs::remove_file(dir.path().join("vectors.json")).unwrap();
        write_one(&first, "z", unit([0.0, 0.0, 1.0]))
            .finish()
            .unwrap();
        assert_eq!(nearest_title(&first, [0.1, 1.0, 0.0]), "y");
        assert_eq!(nearest_title(&second, [0.0, 0.1, 1.0]), "z");
        drop((first, second));
        let reopened = open();
        assert_eq!(reopened.snapshot().unwrap().vector_count(), 3);
        assert_eq!(nearest_title(&reopened, [0.1, 1.0, 0.0]), "y");
    }

    #[test]
    fn a_document_has_its_centroid_and_its_first_chunk_as_lead() {
        let dir = tempfile::tempdir().unwrap();
        let store = open_a(dir.path());
        store_one_document(&store);
        let snapshot = store.snapshot().unwrap();
        let ids: Vec<u64> = snapshot
            .nearest(&unit([1.0, 0.0, 0.0]), 10, None)
            .unwrap()
            .into_iter()
            .map(|(id, _)| id)
            .collect();
        let docs: HashSet<i64> = snapshot.documents_of(&ids).unwrap().into_values().collect();
        assert_eq!(docs.len(), 1);
        let vectors = snapshot.document_vectors(&docs).unwrap();
        let v = &vectors[docs.iter().next().unwrap()];
        assert_eq!(v.lead, unit([1.0, 0.0, 0.0]));
        assert_eq!(v.centroid, unit([1.0, 1.0, 0.0]));
    }

    #[test]
    fn a_store_of_the_first_schema_gets_its_keyword_rows_rebuilt_without_reembedding() {
        let dir = tempfile::tempdir().unwrap();
        {
            let store = open_a(dir.path());
            store_one_document(&store);
        }
        // Turn it back into a schema-1 store: the old single FTS table (empty,
        // as the migration finds it after dropping the old rows), no languages.
        {
            let conn = Connection::open(dir.path().join("trove.db")).unwrap();
            conn.execute_batch(SCHEMA_5_UNDONE).unwrap();
            conn.execute_batch(SCHEMA_3_UNDONE).unwrap();
            conn.execute_batch(
                "DROP TABLE chunks_words; DROP TABLE chunks_grams; DROP TABLE chunk_languages;
                 ALTER TABLE chunks DROP COLUMN lang;
                 CREATE VIRTUAL TABLE chunks_fts USING fts5(title, headings, text, tokenize = 'porter unicode61');
                 PRAGMA user_version = 1;",
            )
            .unwrap();
        }
        let (store, matched) =
            Store::open(dir.path(), &model("a"), VectorQuantization::F32, false).unwrap();
        assert_eq!(matched, ModelMatch::Same);
        assert_eq!(keyword_ids(&store, "harbour").len(), 1);
        assert_eq!(keyword_ids(&store, "出発").len(), 1);
        // The embeddings were kept: the vector index still finds both chunks.
        let snapshot = store.snapshot().unwrap();
        assert_eq!(snapshot.vector_count(), 2);
        assert_eq!(snapshot.counts().unwrap().embeddings, 2);
    }

    /// Takes a store of schema 5 back to schema 4: the document vectors
    /// back to a centroid column of the documents.
    const SCHEMA_5_UNDONE: &str = "ALTER TABLE documents ADD COLUMN centroid BLOB;
        UPDATE documents SET centroid = (SELECT centroid FROM document_vectors WHERE doc_id = documents.id);
        DROP TABLE document_vectors;
        PRAGMA user_version = 4;";

    #[test]
    fn a_store_of_schema_4_keeps_each_documents_centroid_and_lead() {
        let dir = tempfile::tempdir().unwrap();
        let before = {
            let store = open_a(dir.path());
            store_one_document(&store);
            let conn = Connection::open(dir.path().join("trove.db")).unwrap();
            conn.execute_batch(SCHEMA_5_UNDONE).unwrap();
            let centroid: Vec<u8> = conn
                .query_row("SELECT centroid FROM documents", [], |r| r.get(0))
                .unwrap();
            blob::decode(&centroid).unwrap()
        };
        assert_eq!(before, unit([1.0, 1.0, 0.0]));
        let store = open_a(dir.path());
        let snapshot = store.snapshot().unwrap();
        let docs: HashSet<i64> = [1].into();
        let vectors = snapshot.document_vectors(&docs).unwrap();
        assert_eq!(vectors[&1].centroid, before);
        assert_eq!(vectors[&1].lead, unit([1.0, 0.0, 0.0]));
    }

    /// Takes a store of schema 4 back to schema 2.
    const SCHEMA_3_UNDONE: &str =
        "DROP TABLE embed_queue; DROP TABLE links; DROP TABLE document_names; DROP TABLE anchors;
        ALTER TABLE chunks DROP COLUMN locator; ALTER TABLE documents DROP COLUMN aliases;
        PRAGMA user_version = 2;";

    #[test]
    fn a_store_of_schema_2_keeps_its_vectors_and_has_its_documents_read_again() {
        let dir = tempfile::tempdir().unwrap();
        {
            let store = open_a(dir.path());
            store_one_document(&store);
            let conn = Connection::open(dir.path().join("trove.db")).unwrap();
            conn.execute_batch(SCHEMA_5_UNDONE).unwrap();
            conn.execute_batch(SCHEMA_3_UNDONE).unwrap();
        }
        let store = open_a(dir.path());
        let snapshot = store.snapshot().unwrap();
        assert_eq!(snapshot.counts().unwrap().embeddings, 2);
        assert_eq!(snapshot.vector_count(), 2);
        assert_eq!(keyword_ids(&store, "harbour").len(), 1);
        // No content hash, no mtime: the next run parses it again and
        // stores its links, aliases and locators.
        let state = snapshot.stored_state(&DocKey::host("n1")).unwrap().unwrap();
        assert!(state.content_hash.is_empty());
        assert_eq!(state.mtime_ns, -1);
        let chunks = snapshot.chunks(&[1, 2]).unwrap();
        assert!(chunks.iter().all(|c| c.locator.is_none()));
    }

    #[test]
    fn the_schema_uses_the_analysers_tokenizer() {
        assert!(schema::creates(&format!(
            "tokenize = '{}'",
            crate::analysis::FTS5_TOKENIZER
        )));
    }

    #[test]
    fn another_model_is_incompatible_unless_allowed() {
        let dir = tempfile::tempdir().unwrap();
        drop(open_a(dir.path()));
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
