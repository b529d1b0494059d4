//! Answers "why is my note not found?": a document's state in the store
//! ([`DocumentStatus`]) and, for a query, where the document ranks in each
//! retriever and why ([`Explanation`]).

use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::embed::Embedder;
use crate::error::Result;
use crate::search::{self, Hit, SearchMode, SearchOptions};
use crate::store::{DocKey, SearchFilters, Store};

/// How deep each ranked list is read: the candidates one retriever hands
/// to fusion. A document beyond it cannot reach a hybrid result.
pub const EXPLAIN_DEPTH: usize = 100;

/// Where a document stands in the store.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DocumentState {
    /// Stored, and the file is as it was when read.
    Indexed,
    /// Stored and keyword-searchable, the file as it was read, but some
    /// chunks (`chunks_pending`) wait for their vector.
    PendingEmbedding,
    /// Stored, but the file changed since: the next index run reads it again.
    Changed,
    /// Stored, but the file is gone: the next index run of its folder removes it.
    Missing,
    /// The last run could not read it; `failure` says why.
    Failed,
    /// Not in the store (never indexed, or left out by the ignore rules).
    NotIndexed,
}

/// A document's state, and what the store holds of it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DocumentStatus {
    /// The id asked about: a file's absolute path or a host id.
    pub document_id: String,
    pub state: DocumentState,
    /// Its title, when stored.
    pub title: Option<String>,
    /// Its chunks (passages) in the store.
    pub chunks: u64,
    /// Of those, chunks waiting for their vector.
    pub chunks_pending: u64,
    /// Why it failed: the skip reason's code.
    pub failure_code: Option<String>,
    /// Why it failed, with the fix.
    pub failure_reason: Option<String>,
}

/// Where a document ranks in one retriever's list of documents.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RankEvidence {
    /// 1-based rank among documents (their best passage each); `None` when
    /// it is not among the first `depth`.
    pub rank: Option<u32>,
    /// The score of its best passage in this retriever (keyword: BM25-based;
    /// vector: cosine similarity; hybrid: fused, only when ranked); `None`
    /// when no passage of it matches at all.
    pub score: Option<f32>,
    /// The score of the document ranked first.
    pub top_score: Option<f32>,
    /// How many documents the list held (at most [`EXPLAIN_DEPTH`]).
    pub depth: u32,
}

/// Why a document ranks where it does for a query.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Explanation {
    pub query: String,
    pub status: DocumentStatus,
    /// The document's best passage for the query (hybrid, within it).
    pub best_passage: Option<Hit>,
    pub hybrid: RankEvidence,
    pub keyword: RankEvidence,
    pub vector: RankEvidence,
    /// The document ranked first by hybrid search, when another one.
    pub first: Option<Hit>,
    /// The evidence in sentences, most telling first.
    pub reasons: Vec<String>,
}

/// The state of `document_id` (a host id or a file's path).
pub(crate) fn status(store: &Store, document_id: &str) -> Result<DocumentStatus> {
    let snapshot = store.snapshot()?;
    let file = DocKey::File(document_id.into());
    let host = DocKey::host(document_id);
    let mut status = DocumentStatus {
        document_id: document_id.to_string(),
        state: DocumentState::NotIndexed,
        title: None,
        chunks: 0,
        chunks_pending: 0,
        failure_code: None,
        failure_reason: None,
    };
    for key in [&file, &host] {
        if let Some((title, chunks)) = snapshot.document_summary(key)? {
            status.title = Some(title);
            status.chunks = chunks;
            status.chunks_pending = snapshot.queued_in(key)?;
            status.state = match (key, snapshot.stored_state(key)?) {
                (DocKey::File(path), Some(stored)) => {
                    file_state(Path::new(path), stored.size, stored.mtime_ns)
                }
                _ => DocumentState::Indexed,
            };
            if status.state == DocumentState::Indexed && status.chunks_pending > 0 {
                status.state = DocumentState::PendingEmbedding;
            }
            return Ok(status);
        }
        if let Some(failure) = snapshot.stored_failure(key)? {
            status.state = DocumentState::Failed;
            status.failure_code = Some(failure.code);
            status.failure_reason = Some(failure.reason);
            return Ok(status);
        }
    }
    Ok(status)
}

/// Whether a stored file is still as it was read.
fn file_state(path: &Path, size: u64, mtime_ns: i64) -> DocumentState {
    match std::fs::metadata(path) {
        Err(_) => DocumentState::Missing,
        Ok(m) if m.len() == size && crate::index::mtime_ns(&m) == mtime_ns => {
            DocumentState::Indexed
        }
        Ok(_) => DocumentState::Changed,
    }
}

/// Explains where `document_id` ranks for `query`.
pub(crate) fn explain(
    store: &Store,
    embedder: &dyn Embedder,
    query: &str,
    document_id: &str,
) -> Result<Explanation> {
    let query = search::checked(query)?;
    let status = status(store, document_id)?;
    let vector = embedder.embed_query(query)?;
    let ranked = |mode: SearchMode, filters: SearchFilters, k: usize| {
        let options = SearchOptions {
            k,
            mode,
            filters,
            one_per_document: true,
        };
        match search::search_embedded(store, embedder, query, Some(&vector), &options) {
            // A query without keyword terms has no keyword list.
            Err(e) if mode == SearchMode::Keyword && e.kind() == crate::ErrorKind::InvalidInput => {
                Ok(Vec::new())
            }
            other => other,
        }
    };
    let own = SearchFilters {
        document_ids: vec![document_id.to_string()],
        ..SearchFilters::default()
    };
    let stored = !matches!(
        status.state,
        DocumentState::NotIndexed | DocumentState::Failed
    );
    let evidence = |mode: SearchMode| -> Result<(RankEvidence, Vec<Hit>)> {
        let list = ranked(mode, SearchFilters::default(), EXPLAIN_DEPTH)?;
        let rank = list.iter().position(|h| h.document_id == document_id);
        let score = match (rank, mode) {
            (Some(i), _) => Some(list[i].score),
            // Fused scores are only comparable within one list.
            (None, SearchMode::Hybrid) => None,
            (None, _) if stored => ranked(mode, own.clone(), 1)?.first().map(|h| h.score),
            (None, _) => None,
        };
        let evidence = RankEvidence {
            rank: rank.map(|i| i as u32 + 1),
            score,
            top_score: list.first().map(|h| h.score),
            depth: list.len() as u32,
        };
        Ok((evidence, list))
    };
    let (hybrid, hybrid_list) = evidence(SearchMode::Hybrid)?;
    let (keyword, _) = evidence(SearchMode::Keyword)?;
    let (vector_evidence, _) = evidence(SearchMode::Vector)?;
    let best_passage = if stored {
        ranked(SearchMode::Hybrid, own.clone(), 1)?
            .into_iter()
            .next()
    } else {
        None
    };
    let first = hybrid_list
        .into_iter()
        .next()
        .filter(|h| h.document_id != document_id);
    let reasons = reasons(&status, &hybrid, &keyword, &vector_evidence, first.as_ref());
    Ok(Explanation {
        query: query.to_string(),
        status,
        best_passage,
        hybrid,
        keyword,
        vector: vector_evidence,
        first,
        reasons,
    })
}

/// The evidence in sentences.
fn reasons(
    status: &DocumentStatus,
    hybrid: &RankEvidence,
    keyword: &RankEvidence,
    vector: &RankEvidence,
    first: Option<&Hit>,
) -> Vec<String> {
    let mut out = Vec::new();
    match status.state {
        DocumentState::NotIndexed => {
            out.push("it is not in the store: index its folder (hidden files, .gitignore and .troveignore rules leave files out)".into());
            return out;
        }
        DocumentState::Failed => {
            out.push(format!(
                "it could not be indexed: {}",
                status.failure_reason.as_deref().unwrap_or("unknown reason")
            ));
            return out;
        }
        DocumentState::Changed => out.push(
            "the file changed since it was indexed: search sees the old text until the next index run".into(),
        ),
        DocumentState::Missing => out.push("the file is gone; search still has its old text".into()),
        DocumentState::PendingEmbedding => out.push(format!(
            "{} of its {} passages wait for their vector: until embedded they are found by keywords only",
            status.chunks_pending, status.chunks
        )),
        DocumentState::Indexed => {}
    }
    match hybrid.rank {
        Some(1) => out.push("hybrid search ranks it first".into()),
        Some(r) => out.push(format!(
            "hybrid search ranks it {r}: a search for fewer than {r} results leaves it out"
        )),
        None => out.push(format!(
            "hybrid search does not rank it among the first {} documents",
            hybrid.depth
        )),
    }
    match (keyword.rank, keyword.score) {
        (_, None) => out.push("no word of the query occurs in it (after stemming), so keyword search cannot find it".into()),
        (Some(r), Some(s)) => out.push(format!("keyword search ranks it {r} (score {s:.3}; first {:.3})", keyword.top_score.unwrap_or(s))),
        (None, Some(s)) => out.push(format!(
            "its words match, but weakly: keyword score {s:.3}, below the first {} documents (first {:.3})",
            keyword.depth,
            keyword.top_score.unwrap_or(s)
        )),
    }
    match (vector.rank, vector.score) {
        (Some(r), Some(s)) => out.push(format!(
            "by meaning it ranks {r} (similarity {s:.3}; first {:.3})",
            vector.top_score.unwrap_or(s)
        )),
        (None, Some(s)) => out.push(format!(
            "by meaning it is far: similarity {s:.3}, below the first {} documents (first {:.3})",
            vector.depth,
            vector.top_score.unwrap_or(s)
        )),
        (_, None) => {}
    }
    if let Some(first) = first {
        out.push(format!(
            "ranked first instead: {}",
            first.path.as_deref().unwrap_or(&first.document_id)
        ));
    }
    out
}
