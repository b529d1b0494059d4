//! Retrieval: dense (HNSW), keyword (FTS5 BM25) and their fusion.

use std::collections::{HashMap, HashSet};

use rusqlite::Connection;

use crate::embed::Embedder;
use crate::error::{Error, Result};
use crate::store::Store;
use crate::store::db::{self, ChunkRecord, sql};

/// Which retriever ranks the passages.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SearchMode {
    /// Dense and keyword results fused (the default: best on both eval sets).
    #[default]
    Hybrid,
    /// Embedding similarity only.
    Vector,
    /// BM25 over the words only.
    Keyword,
}

impl SearchMode {
    /// Parses `hybrid`, `vector` or `keyword`.
    pub fn parse(s: &str) -> Option<Self> {
        match s.to_ascii_lowercase().as_str() {
            "hybrid" => Some(SearchMode::Hybrid),
            "vector" | "dense" => Some(SearchMode::Vector),
            "keyword" | "bm25" => Some(SearchMode::Keyword),
            _ => None,
        }
    }

    /// The name [`parse`](Self::parse) accepts.
    pub fn as_str(self) -> &'static str {
        match self {
            SearchMode::Hybrid => "hybrid",
            SearchMode::Vector => "vector",
            SearchMode::Keyword => "keyword",
        }
    }
}

/// Restricts results; empty fields restrict nothing. All given filters must hold.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SearchFilters {
    /// Only documents whose path starts with this prefix.
    pub path_prefix: Option<String>,
    /// Only these documents (paths or host ids).
    pub document_ids: Vec<String>,
    /// Only documents carrying at least one of these tags.
    pub tags: Vec<String>,
}

impl SearchFilters {
    fn is_empty(&self) -> bool {
        self.path_prefix.is_none() && self.document_ids.is_empty() && self.tags.is_empty()
    }
}

/// Options of a search.
#[derive(Debug, Clone, PartialEq)]
pub struct SearchOptions {
    /// Number of hits wanted.
    pub k: usize,
    /// Retriever.
    pub mode: SearchMode,
    /// Restrictions.
    pub filters: SearchFilters,
    /// Return at most one hit (the best passage) per document.
    pub one_per_document: bool,
}

impl Default for SearchOptions {
    fn default() -> Self {
        SearchOptions {
            k: 8,
            mode: SearchMode::Hybrid,
            filters: SearchFilters::default(),
            one_per_document: false,
        }
    }
}

/// One retrieved passage.
#[derive(Debug, Clone, PartialEq)]
pub struct Hit {
    /// Stable id of the chunk in this store.
    pub chunk_id: u64,
    /// The document: its absolute path, or the host's id for added text.
    pub document_id: String,
    /// Absolute path for files; `None` for text added by the host.
    pub path: Option<String>,
    /// Document title.
    pub title: String,
    /// The passage text.
    pub text: String,
    /// Higher is better; comparable within one result list only.
    pub score: f32,
    /// 1-based page (PDF).
    pub page: Option<u32>,
    /// 1-based inclusive line range (text, Markdown).
    pub lines: Option<(u32, u32)>,
    /// Enclosing headings, outermost first.
    pub heading_path: Vec<String>,
    /// Document tags.
    pub tags: Vec<String>,
}

/// Candidates taken from each retriever before fusion.
const CANDIDATES: usize = 100;
/// Reciprocal-rank-fusion constant (the usual 60; measured in the README).
const RRF_K: f32 = 60.0;

/// Runs a search against `store`.
pub(crate) fn search(
    store: &Store,
    embedder: &dyn Embedder,
    query: &str,
    options: &SearchOptions,
) -> Result<Vec<Hit>> {
    let query = query.trim();
    if query.is_empty() {
        return Err(Error::invalid("the search query is empty"));
    }
    if options.k == 0 {
        return Ok(Vec::new());
    }
    let allowed_docs = if options.filters.is_empty() {
        None
    } else {
        Some(store.db.read(|c| allowed_documents(c, &options.filters))?)
    };
    // With one hit per document, look deeper so k documents survive collapsing.
    let depth = (exp("cand", CANDIDATES as f32) as usize)
        .max(options.k * if options.one_per_document { 10 } else { 2 });
    let dense = |store: &Store| -> Result<Vec<(u64, f32)>> {
        let vector = embedder.embed_query(query)?;
        let allowed_chunks = match &allowed_docs {
            Some(docs) => Some(store.db.read(|c| chunks_of(c, docs))?),
            None => None,
        };
        store.nearest(&vector, depth, allowed_chunks.as_ref())
    };
    let keyword = |store: &Store| -> Result<Vec<(u64, f32)>> {
        store
            .db
            .read(|c| keyword_search(c, query, depth, allowed_docs.as_ref()))
    };
    let ranked = match options.mode {
        SearchMode::Vector => dense(store)?,
        SearchMode::Keyword => keyword(store)?,
        SearchMode::Hybrid => {
            let lists = [dense(store)?, keyword(store)?];
            let ids: Vec<u64> = lists.iter().flatten().map(|(id, _)| *id).collect();
            let docs = store.db.read(|c| doc_of_chunks(c, &ids))?;
            fuse(&lists, exp("k", RRF_K), &docs, exp("doc", 0.0))
        }
    };
    let records = store.db.read(|c| {
        let ids: Vec<u64> = ranked.iter().map(|(id, _)| *id).collect();
        db::chunk_records(c, &ids)
    })?;
    let scores: HashMap<u64, f32> = ranked.into_iter().collect();
    let mut seen_docs = HashSet::new();
    let mut hits = Vec::with_capacity(options.k);
    for record in records {
        if options.one_per_document && !seen_docs.insert(record.doc_key.clone()) {
            continue;
        }
        let score = scores[&record.chunk_id];
        hits.push(hit(record, score));
        if hits.len() == options.k {
            break;
        }
    }
    Ok(hits)
}

fn hit(r: ChunkRecord, score: f32) -> Hit {
    Hit {
        chunk_id: r.chunk_id,
        document_id: document_id(&r.doc_key).to_string(),
        path: r.path,
        title: r.title,
        text: r.text,
        score,
        page: r.page,
        lines: r.lines,
        heading_path: r.heading_path,
        tags: r.tags,
    }
}

/// The user-facing id inside a document key (`file:/a/b.md` → `/a/b.md`).
pub(crate) fn document_id(key: &str) -> &str {
    key.split_once(':').map(|(_, id)| id).unwrap_or(key)
}

fn exp(name: &str, default: f32) -> f32 {
    std::env::var(format!("TROVE_EXP_{name}"))
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn doc_of_chunks(conn: &Connection, ids: &[u64]) -> Result<HashMap<u64, i64>> {
    let mut stmt = conn
        .prepare_cached("SELECT doc_id FROM chunks WHERE id = ?1")
        .map_err(sql)?;
    let mut out = HashMap::new();
    for id in ids {
        if !out.contains_key(id)
            && let Ok(doc) = stmt.query_row([*id as i64], |r| r.get::<_, i64>(0))
        {
            out.insert(*id, doc);
        }
    }
    Ok(out)
}

/// Reciprocal rank fusion: each list adds 1 / (k + rank) to a chunk's score.
fn fuse(
    lists: &[Vec<(u64, f32)>],
    k: f32,
    docs: &HashMap<u64, i64>,
    doc_weight: f32,
) -> Vec<(u64, f32)> {
    let mut scores: HashMap<u64, f32> = HashMap::new();
    let mut doc_scores: HashMap<i64, f32> = HashMap::new();
    for list in lists {
        let mut doc_rank: HashMap<i64, usize> = HashMap::new();
        for (rank, (id, _)) in list.iter().enumerate() {
            *scores.entry(*id).or_default() += 1.0 / (k + rank as f32 + 1.0);
            if let Some(doc) = docs.get(id) {
                let next = doc_rank.len();
                doc_rank.entry(*doc).or_insert(next);
            }
        }
        for (doc, rank) in doc_rank {
            *doc_scores.entry(doc).or_default() += 1.0 / (k + rank as f32 + 1.0);
        }
    }
    for (id, score) in scores.iter_mut() {
        if let Some(doc) = docs.get(id) {
            *score += doc_weight * doc_scores[doc];
        }
    }
    let mut fused: Vec<(u64, f32)> = scores.into_iter().collect();
    fused.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
    fused
}

/// An FTS5 query matching any of the query's words (each quoted, so no
/// user text is read as FTS5 syntax). `None` when it has no words.
pub(crate) fn fts_query(query: &str) -> Option<String> {
    let mut seen = HashSet::new();
    let terms: Vec<String> = query
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(|w| w.to_lowercase())
        .filter(|w| seen.insert(w.clone()))
        .map(|w| format!("\"{w}\""))
        .collect();
    (!terms.is_empty()).then(|| terms.join(" OR "))
}

fn keyword_search(
    conn: &Connection,
    query: &str,
    limit: usize,
    allowed_docs: Option<&HashSet<i64>>,
) -> Result<Vec<(u64, f32)>> {
    let Some(fts) = fts_query(query) else {
        return Ok(Vec::new());
    };
    let restrict = match allowed_docs {
        Some(docs) if docs.is_empty() => return Ok(Vec::new()),
        Some(docs) => format!(
            "AND rowid IN (SELECT id FROM chunks WHERE doc_id IN ({}))",
            docs.iter()
                .map(|d| d.to_string())
                .collect::<Vec<_>>()
                .join(",")
        ),
        None => String::new(),
    };
    let sql_text = format!(
        "SELECT rowid, bm25(chunks_fts, {}, {}, {}) AS rank FROM chunks_fts
         WHERE chunks_fts MATCH ?1 {restrict} ORDER BY rank LIMIT ?2",
        exp("wt", 1.0),
        exp("wh", 1.0),
        exp("wx", 1.0)
    );
    let mut stmt = conn.prepare_cached(&sql_text).map_err(sql)?;
    let rows = stmt
        .query_map(rusqlite::params![fts, limit as i64], |r| {
            Ok((r.get::<_, i64>(0)? as u64, -(r.get::<_, f64>(1)? as f32)))
        })
        .map_err(sql)?;
    rows.collect::<rusqlite::Result<Vec<_>>>().map_err(sql)
}

/// Row ids of the documents that pass `filters`.
fn allowed_documents(conn: &Connection, filters: &SearchFilters) -> Result<HashSet<i64>> {
    let mut stmt = conn
        .prepare("SELECT id, key, path, tags FROM documents")
        .map_err(sql)?;
    let rows = stmt
        .query_map([], |r| {
            Ok((
                r.get::<_, i64>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, Option<String>>(2)?,
                r.get::<_, String>(3)?,
            ))
        })
        .map_err(sql)?;
    let mut allowed = HashSet::new();
    for row in rows {
        let (id, key, path, tags) = row.map_err(sql)?;
        let prefix_ok = filters.path_prefix.as_ref().is_none_or(|p| {
            path.as_deref()
                .is_some_and(|path| path.starts_with(p.as_str()))
        });
        let id_ok = filters.document_ids.is_empty()
            || filters
                .document_ids
                .iter()
                .any(|d| d == document_id(&key) || *d == key);
        let tags_ok = filters.tags.is_empty() || {
            let tags: Vec<String> = serde_json::from_str(&tags).unwrap_or_default();
            filters.tags.iter().any(|t| tags.contains(t))
        };
        if prefix_ok && id_ok && tags_ok {
            allowed.insert(id);
        }
    }
    Ok(allowed)
}

fn chunks_of(conn: &Connection, docs: &HashSet<i64>) -> Result<HashSet<u64>> {
    let mut stmt = conn
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fts_query_quotes_words_and_drops_syntax() {
        assert_eq!(
            fts_query("Where's the \"NEAR\" AND-part? café").unwrap(),
            "\"where\" OR \"s\" OR \"the\" OR \"near\" OR \"and\" OR \"part\" OR \"café\""
        );
        assert_eq!(fts_query("?? !!"), None);
    }

    #[test]
    fn rrf_rewards_agreement() {
        let dense = vec![(2, 0.9), (1, 0.8), (3, 0.7)];
        let keyword = vec![(3, 9.0), (2, 8.0), (4, 1.0)];
        let fused = fuse(&[dense, keyword], 60.0, &HashMap::new(), 0.0);
        assert_eq!(fused[0].0, 2);
        assert_eq!(fused.len(), 4);
        assert!(fused.iter().any(|(id, _)| *id == 4));
    }

    #[test]
    fn modes_parse_back() {
        for mode in [SearchMode::Hybrid, SearchMode::Vector, SearchMode::Keyword] {
            assert_eq!(SearchMode::parse(mode.as_str()), Some(mode));
        }
        assert_eq!(SearchMode::parse("fuzzy"), None);
    }
}
