//! Retrieval: dense (HNSW), keyword (FTS5 BM25) and their fusion.

use std::collections::{HashMap, HashSet};

use serde::{Deserialize, Serialize};

use crate::embed::Embedder;
use crate::error::{Error, Result};
use crate::ingest::Locator;
use crate::store::{ChunkRecord, SearchFilters, Snapshot, Store};

/// Which retriever ranks the passages.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
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

/// A 1-based inclusive line range; in JSON `[first, last]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(from = "(u32, u32)", into = "(u32, u32)")]
pub struct LineRange {
    /// First line.
    pub first: u32,
    /// Last line (inclusive).
    pub last: u32,
}

impl From<(u32, u32)> for LineRange {
    fn from((first, last): (u32, u32)) -> Self {
        LineRange { first, last }
    }
}

impl From<LineRange> for (u32, u32) {
    fn from(r: LineRange) -> Self {
        (r.first, r.last)
    }
}

/// One retrieved passage.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
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
    /// Line range (text, Markdown).
    pub lines: Option<LineRange>,
    /// Chapter and paragraphs (HTML, DOCX, ODT, EPUB, canvas), for
    /// citations such as "chapter 3, ¶ 12–14".
    pub locator: Option<Locator>,
    /// Enclosing headings, outermost first.
    pub heading_path: Vec<String>,
    /// Document tags.
    pub tags: Vec<String>,
    /// Whether the passage has its vector yet. `false`: it was committed
    /// without waiting for embedding and is found by its keywords only
    /// (hybrid search lets its keyword evidence stand in) until the
    /// background thread embeds it.
    pub embedded: bool,
}

/// Candidates taken from each retriever before fusion.
const CANDIDATES: usize = 100;

/// How much each piece of evidence counts in hybrid fusion. Chosen by
/// measurement on the eval sets (README): min-max-normalised scores combined
/// linearly beat reciprocal rank fusion, and document-level evidence (a
/// document's best passage in each list, its centroid's and its lead
/// passage's similarity to the query) lifts whole-document matches.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Weights {
    /// The dense list; the keyword list gets `1 - dense`.
    dense: f32,
    /// The document's best passage in each list.
    document: f32,
    /// The document centroid's similarity.
    centroid: f32,
    /// The similarity of the document's first passage (title and opening).
    lead: f32,
}

impl Weights {
    /// When the embedding model knows the query's language.
    const FULL: Weights = Weights {
        dense: 0.5,
        document: 1.0,
        centroid: 1.0,
        lead: 1.0,
    };

    /// When it does not (an English-only model, a French or Japanese
    /// query): its vectors are near noise there (MiniLM: vector MRR@10
    /// 0.445 on French, 0.098 on Japanese pages), so every dense piece of
    /// evidence counts a quarter as much and keywords lead (README).
    const KEYWORD_LED: Weights = Weights {
        dense: 0.2,
        document: 1.0,
        centroid: 0.25,
        lead: 0.25,
    };
}

/// Runs a search against `store`.
pub(crate) fn search(
    store: &Store,
    embedder: &dyn Embedder,
    query: &str,
    options: &SearchOptions,
) -> Result<Vec<Hit>> {
    let query = checked(query)?;
    if options.k == 0 || options.mode == SearchMode::Keyword {
        return ranked_search(store, embedder, query, || Ok(None), options);
    }
    // The query's embedding runs on a second thread while this one takes
    // the snapshot and searches the keywords: a hybrid search waits for the
    // longer of the two, not their sum.
    std::thread::scope(|scope| {
        let embedding = scope.spawn(|| embedder.embed_query(query));
        let vector = || match embedding.join() {
            Ok(vector) => vector.map(Some),
            Err(panic) => std::panic::resume_unwind(panic),
        };
        ranked_search(store, embedder, query, vector, options)
    })
}

/// [`search`] with the query already embedded (`vector`: `embed_query` of
/// `query`; ignored by keyword search), for callers that search the same
/// query more than once.
pub(crate) fn search_embedded(
    store: &Store,
    embedder: &dyn Embedder,
    query: &str,
    vector: Option<&[f32]>,
    options: &SearchOptions,
) -> Result<Vec<Hit>> {
    let query = checked(query)?;
    ranked_search(
        store,
        embedder,
        query,
        || Ok(vector.map(<[f32]>::to_vec)),
        options,
    )
}

/// The search itself; `vector` gives the query's embedding, and is asked
/// for after the keyword search (never in keyword mode).
fn ranked_search(
    store: &Store,
    embedder: &dyn Embedder,
    query: &str,
    vector: impl FnOnce() -> Result<Option<Vec<f32>>>,
    options: &SearchOptions,
) -> Result<Vec<Hit>> {
    if options.k == 0 {
        return Ok(Vec::new());
    }
    let snapshot = store.snapshot()?;
    let allowed = snapshot.allowed_documents(&options.filters)?;
    let allowed = allowed.as_ref();
    // With one hit per document, look deeper so k documents survive collapsing.
    let depth = CANDIDATES.max(options.k * if options.one_per_document { 10 } else { 2 });
    let ranked = match options.mode {
        SearchMode::Keyword => snapshot.keyword(query, depth, allowed)?,
        SearchMode::Vector => match vector()? {
            Some(vector) => snapshot.nearest(&vector, depth, allowed)?,
            None => snapshot.keyword(query, depth, allowed)?,
        },
        SearchMode::Hybrid => {
            let keyword = snapshot.keyword(query, depth, allowed);
            let Some(vector) = vector()? else {
                return finish(snapshot, keyword?, options);
            };
            // A query without keyword terms (only symbols, say) is still a
            // fine vector query.
            let keyword = match keyword {
                Err(e) if e.kind() == crate::ErrorKind::InvalidInput => Vec::new(),
                other => other?,
            };
            let vector = vector.as_slice();
            let lists = [snapshot.nearest(vector, depth, allowed)?, keyword];
            let ids: Vec<u64> = lists.iter().flatten().map(|(id, _)| *id).collect();
            let docs = snapshot.documents_of(&ids)?;
            let unique: HashSet<i64> = docs.values().copied().collect();
            let similarity: HashMap<i64, DocumentSimilarity> = snapshot
                .document_vectors(&unique)?
                .into_iter()
                .map(|(doc, v)| {
                    let s = DocumentSimilarity {
                        centroid: dot(&v.centroid, vector),
                        lead: dot(&v.lead, vector),
                    };
                    (doc, s)
                })
                .collect();
            let weights =
                if embedder.english_only() && !snapshot.languages()?.is_english_query(query) {
                    Weights::KEYWORD_LED
                } else {
                    Weights::FULL
                };
            let keyword_ids: Vec<u64> = lists[1].iter().map(|(id, _)| *id).collect();
            let unembedded = snapshot.queued_among(&keyword_ids)?;
            fuse(&lists, &docs, &similarity, &unembedded, weights)
        }
    };
    finish(snapshot, ranked, options)
}

/// The hits of the passages `ranked` (best first), as `options` asks.
fn finish(
    snapshot: Snapshot<'_>,
    ranked: Vec<(u64, f32)>,
    options: &SearchOptions,
) -> Result<Vec<Hit>> {
    // Only the k passages returned are read whole (text, headings, tags):
    // reading every candidate cost more than ranking them in big stores.
    let ids: Vec<u64> = ranked.iter().map(|(id, _)| *id).collect();
    let ids = if options.one_per_document {
        let docs = snapshot.documents_of(&ids)?;
        let mut seen = HashSet::new();
        ids.into_iter()
            .filter(|id| docs.get(id).is_some_and(|doc| seen.insert(*doc)))
            .take(options.k)
            .collect()
    } else {
        ids.into_iter().take(options.k).collect::<Vec<u64>>()
    };
    let records = snapshot.chunks(&ids)?;
    let unembedded = snapshot.queued_among(&ids)?;
    drop(snapshot);
    let scores: HashMap<u64, f32> = ranked.into_iter().collect();
    Ok(records
        .into_iter()
        .map(|record| {
            let score = scores[&record.chunk_id];
            let embedded = !unembedded.contains(&record.chunk_id);
            hit(record, score, embedded)
        })
        .collect())
}

/// The query without surrounding white space, or why it cannot be searched.
pub(crate) fn checked(query: &str) -> Result<&str> {
    let query = query.trim();
    if query.is_empty() {
        return Err(Error::invalid("the search query is empty"));
    }
    Ok(query)
}

fn hit(r: ChunkRecord, score: f32, embedded: bool) -> Hit {
    Hit {
        chunk_id: r.chunk_id,
        document_id: r.key.document_id().to_string(),
        path: r.key.path().map(str::to_string),
        title: r.title,
        text: r.text,
        score,
        page: r.page,
        lines: r.lines.map(LineRange::from),
        locator: r.locator,
        heading_path: r.heading_path,
        tags: r.tags,
        embedded,
    }
}

fn dot(a: &[f32], b: &[f32]) -> f32 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

/// Scales scores to 0..=1 over one candidate list (best = 1).
fn min_max<K: Copy + Eq + std::hash::Hash>(
    scores: impl IntoIterator<Item = (K, f32)>,
) -> HashMap<K, f32> {
    let scores: Vec<(K, f32)> = scores.into_iter().collect();
    let max = scores.iter().map(|s| s.1).fold(f32::MIN, f32::max);
    let min = scores.iter().map(|s| s.1).fold(f32::MAX, f32::min);
    scores
        .into_iter()
        .map(|(k, s)| {
            (
                k,
                if max > min {
                    (s - min) / (max - min)
                } else {
                    1.0
                },
            )
        })
        .collect()
}

/// A document's similarity to the query as a whole.
#[derive(Debug, Clone, Copy, PartialEq)]
struct DocumentSimilarity {
    centroid: f32,
    lead: f32,
}

/// Hybrid score of each candidate chunk: the weighted, normalised dense and
/// keyword scores of the chunk, plus the same for its document's best chunk
/// in each list, plus its document's normalised centroid and lead-passage
/// similarities. `lists` is `[dense, keyword]`; `docs` maps chunks to
/// documents. A chunk in `unembedded` has no vector yet: its keyword score
/// stands in for its dense one, and for its document's similarities when
/// the document has no vector at all, so a note committed a moment ago
/// competes as if its vectors agreed with its keywords.
fn fuse(
    lists: &[Vec<(u64, f32)>; 2],
    docs: &HashMap<u64, i64>,
    similarity: &HashMap<i64, DocumentSimilarity>,
    unembedded: &HashSet<u64>,
    weights: Weights,
) -> Vec<(u64, f32)> {
    let keyword = min_max(lists[1].iter().copied());
    let mut dense = min_max(lists[0].iter().copied());
    for id in unembedded {
        if let Some(score) = keyword.get(id) {
            dense.entry(*id).or_insert(*score);
        }
    }
    let mut scores: HashMap<u64, f32> = HashMap::new();
    let mut doc_scores: HashMap<i64, f32> = HashMap::new();
    // Each document's best normalised score in each list.
    let mut best_of_list: Vec<HashMap<i64, f32>> = Vec::with_capacity(2);
    for (normalized, weight) in [(&dense, weights.dense), (&keyword, 1.0 - weights.dense)] {
        let mut best: HashMap<i64, f32> = HashMap::new();
        for (&id, &score) in normalized {
            *scores.entry(id).or_default() += weight * score;
            if let Some(doc) = docs.get(&id) {
                let b = best.entry(*doc).or_default();
                *b = b.max(score);
            }
        }
        for (&doc, &score) in &best {
            *doc_scores.entry(doc).or_default() += weight * score;
        }
        best_of_list.push(best);
    }
    let keyword_best = &best_of_list[1];
    let mut centroids = min_max(similarity.iter().map(|(d, s)| (*d, s.centroid)));
    let mut leads = min_max(similarity.iter().map(|(d, s)| (*d, s.lead)));
    for doc in unembedded.iter().filter_map(|id| docs.get(id)) {
        if !similarity.contains_key(doc)
            && let Some(score) = keyword_best.get(doc)
        {
            centroids.insert(*doc, *score);
            leads.insert(*doc, *score);
        }
    }
    for (id, score) in scores.iter_mut() {
        if let Some(doc) = docs.get(id) {
            *score += weights.document * doc_scores[doc];
            *score += weights.centroid * centroids.get(doc).copied().unwrap_or(0.0);
            *score += weights.lead * leads.get(doc).copied().unwrap_or(0.0);
        }
    }
    let mut fused: Vec<(u64, f32)> = scores.into_iter().collect();
    fused.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
    fused
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Document similarities with the lead as close as the centroid.
    fn alike(pairs: &[(i64, f32)]) -> HashMap<i64, DocumentSimilarity> {
        let both = |s| DocumentSimilarity {
            centroid: s,
            lead: s,
        };
        pairs.iter().map(|&(d, s)| (d, both(s))).collect()
    }

    #[test]
    fn fusion_rewards_agreement_and_whole_document_evidence() {
        let dense = vec![(1, 0.9), (2, 0.8), (3, 0.1)];
        let keyword = vec![(3, 9.0), (2, 8.0), (4, 1.0)];
        let docs: HashMap<u64, i64> = [(1, 10), (2, 20), (3, 30), (4, 20)].into();
        let similarity = alike(&[(10, 0.2), (20, 0.6), (30, 0.4)]);
        let fused = fuse(
            &[dense, keyword],
            &docs,
            &similarity,
            &HashSet::new(),
            Weights::FULL,
        );
        let order: Vec<u64> = fused.iter().map(|(id, _)| *id).collect();
        // 2 is near the top of both lists and its document is closest overall;
        // 4 is weak itself but borrows from its document (that of 2).
        assert_eq!(order[0], 2);
        assert!(order.iter().position(|&i| i == 4) < order.iter().position(|&i| i == 1));
        assert_eq!(fused.len(), 4);
    }

    #[test]
    fn keyword_led_fusion_follows_keywords_where_vectors_disagree() {
        let dense = vec![(1, 0.9), (2, 0.5), (3, 0.1)];
        let keyword = vec![(3, 9.0), (2, 5.0), (1, 1.0)];
        let docs: HashMap<u64, i64> = [(1, 10), (2, 20), (3, 30)].into();
        let similarity = alike(&[(10, 0.9), (20, 0.5), (30, 0.1)]);
        let lists = [dense, keyword];
        let top = |w| fuse(&lists, &docs, &similarity, &HashSet::new(), w)[0].0;
        assert_eq!(top(Weights::FULL), 1);
        assert_eq!(top(Weights::KEYWORD_LED), 3);
    }

    #[test]
    fn keyword_evidence_stands_in_for_a_missing_vector() {
        // Chunk 3 (document 30) is not embedded yet: it is only in the
        // keyword list, where it leads.
        let dense = vec![(1, 0.9), (2, 0.5)];
        let keyword = vec![(3, 9.0), (2, 5.0), (1, 1.0)];
        let docs: HashMap<u64, i64> = [(1, 10), (2, 20), (3, 30)].into();
        let similarity = alike(&[(10, 0.9), (20, 0.5)]);
        let lists = [dense, keyword];
        let without = fuse(&lists, &docs, &similarity, &HashSet::new(), Weights::FULL);
        assert_eq!(without[0].0, 1, "no vector, no dense evidence: it trails");
        let with = fuse(
            &lists,
            &docs,
            &similarity,
            &HashSet::from([3]),
            Weights::FULL,
        );
        assert_eq!(with[0].0, 3);
        assert_eq!(with.len(), 3);
    }

    #[test]
    fn modes_parse_back() {
        for mode in [SearchMode::Hybrid, SearchMode::Vector, SearchMode::Keyword] {
            assert_eq!(SearchMode::parse(mode.as_str()), Some(mode));
        }
        assert_eq!(SearchMode::parse("fuzzy"), None);
    }
}
