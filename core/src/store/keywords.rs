//! The keyword index: chunks analysed for every script ([`crate::analysis`])
//! into two contentless FTS5 tables, words apart from CJK grams, plus each
//! chunk's language and the count of chunks per language, from which a
//! query learns which stemmings to look for.

use std::collections::{HashMap, HashSet};

use rusqlite::{Connection, OptionalExtension, params};

use super::sqlite::sql;
use crate::analysis::{Analyzer, Language, Query, StoreLanguages, Term};
use crate::error::Result;

/// Bumped when the analysis of stored text changes: a store whose
/// `analysis_version` differs re-analyses its chunks on open (keyword rows
/// only; embeddings are untouched).
pub(super) const ANALYSIS_VERSION: &str = "1";

/// The meta key holding the version the keyword rows were analysed with.
pub(super) const ANALYSIS_VERSION_KEY: &str = "analysis_version";

/// The two keyword tables: words of spaced scripts, grams of unspaced runs.
const TABLES: [&str; 2] = ["chunks_words", "chunks_grams"];

/// The language of each of a document's chunks: the chunk's own text's, else
/// (too short to tell) the document's, detected on its text as a whole. The
/// indexer and the re-analysis both go through here, so they agree.
pub(super) fn chunk_languages(analyzer: &Analyzer, texts: &[&str]) -> Vec<Option<Language>> {
    let mut whole = String::new();
    for text in texts {
        // Enough for a confident detection; more only costs time.
        if whole.len() > 8 * 1024 {
            break;
        }
        whole.push_str(text);
        whole.push('\n');
    }
    let document = analyzer.detect_language(&whole);
    texts
        .iter()
        .map(|text| analyzer.detect_language(text).or(document))
        .collect()
}

/// What the `title` column of a document's chunks holds: the title and its
/// aliases, so a note is found by any of its names.
pub(super) fn title_text(title: &str, aliases: &[String]) -> String {
    let mut text = title.to_string();
    for alias in aliases {
        text.push('\n');
        text.push_str(alias);
    }
    text
}

/// Writes the keyword rows of one chunk and counts its language.
pub(super) fn insert(
    conn: &Connection,
    analyzer: &Analyzer,
    chunk_id: i64,
    title: &str,
    headings: &[String],
    text: &str,
    language: Option<Language>,
) -> Result<()> {
    let columns = [
        analyzer.terms(title, language),
        analyzer.terms(&headings.join(" "), language),
        analyzer.terms(text, language),
    ];
    let mut words = conn
        .prepare_cached(
            "INSERT INTO chunks_words(rowid, title, headings, text) VALUES (?1, ?2, ?3, ?4)",
        )
        .map_err(sql)?;
    words
        .execute(params![
            chunk_id,
            columns[0].words,
            columns[1].words,
            columns[2].words
        ])
        .map_err(sql)?;
    if columns.iter().any(|c| !c.grams.is_empty()) {
        let mut grams = conn
            .prepare_cached(
                "INSERT INTO chunks_grams(rowid, title, headings, text) VALUES (?1, ?2, ?3, ?4)",
            )
            .map_err(sql)?;
        grams
            .execute(params![
                chunk_id,
                columns[0].grams,
                columns[1].grams,
                columns[2].grams
            ])
            .map_err(sql)?;
    }
    count_language(conn, language.map(Language::code), 1)
}

/// Removes the keyword rows of one chunk and uncounts its language.
pub(super) fn delete(conn: &Connection, chunk_id: i64, language: Option<&str>) -> Result<()> {
    for table in TABLES {
        conn.prepare_cached(&format!("DELETE FROM {table} WHERE rowid = ?1"))
            .map_err(sql)?
            .execute([chunk_id])
            .map_err(sql)?;
    }
    count_language(conn, language, -1)
}

/// Chunks of unknown language are counted under "".
fn count_language(conn: &Connection, language: Option<&str>, delta: i64) -> Result<()> {
    conn.prepare_cached(
        "INSERT INTO chunk_languages(lang, chunks) VALUES (?1, max(?2, 0))
         ON CONFLICT(lang) DO UPDATE SET chunks = max(chunks + ?2, 0)",
    )
    .map_err(sql)?
    .execute(params![language.unwrap_or(""), delta])
    .map_err(sql)?;
    Ok(())
}

/// The languages of the store's chunks, as query analysis needs them.
pub(super) fn store_languages(conn: &Connection) -> Result<StoreLanguages> {
    let mut stmt = conn
        .prepare_cached("SELECT lang, chunks FROM chunk_languages WHERE chunks > 0")
        .map_err(sql)?;
    let rows = stmt
        .query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?)))
        .map_err(sql)?;
    let mut counts = Vec::new();
    for row in rows {
        let (code, n) = row.map_err(sql)?;
        counts.push((Language::from_code(&code), n as usize));
    }
    Ok(StoreLanguages::from_counts(counts))
}

/// Postings a keyword search scores at most before it narrows the
/// candidates to the chunks holding the query's rarest words (see
/// [`candidate_terms`]): FTS5 scores every chunk holding any query word, so
/// a common word costs a scored row per chunk it is in (about 1 µs each).
const POSTINGS_BUDGET: u64 = 20_000;

/// Postings read (unscored) to estimate how common a term is.
const SAMPLE_POSTINGS: i64 = 2_048;

/// The best BM25 matches of `query`, best first, with higher-is-better
/// scores: a chunk's score is the sum of its scores in both tables.
/// `languages` are the store's (query analysis); `restrict` is an SQL
/// condition on `rowid` (document filters) or empty.
/// Fails with `InvalidInput` when the query has nothing to search for.
///
/// When the query's words are in more chunks than [`POSTINGS_BUDGET`], the
/// candidates are the chunks holding its rarest words, each then scored by
/// the whole query (so common words still order them): exact for those
/// chunks; chunks holding only common words rank below them anyway unless
/// they hold many of them.
pub(super) fn search(
    conn: &Connection,
    analyzer: &Analyzer,
    query: &str,
    languages: &StoreLanguages,
    limit: usize,
    restrict: &str,
) -> Result<Vec<(u64, f32)>> {
    search_within(
        conn,
        analyzer,
        query,
        languages,
        limit,
        restrict,
        POSTINGS_BUDGET,
    )
}

/// [`search`] with a postings budget of `budget`.
fn search_within(
    conn: &Connection,
    analyzer: &Analyzer,
    query: &str,
    languages: &StoreLanguages,
    limit: usize,
    restrict: &str,
    budget: u64,
) -> Result<Vec<(u64, f32)>> {
    let query = analyzer.query_for_store(query, languages)?;
    let (words, grams): (Vec<&Term>, Vec<&Term>) = query.terms().iter().partition(|t| !t.gram);
    let mut scores: HashMap<u64, f32> = HashMap::new();
    for (table, terms) in TABLES.iter().zip([words, grams]) {
        if terms.is_empty() {
            continue;
        }
        let expression = Query::fts5_any_of(terms.iter().copied());
        let counted = if terms.len() > 1 {
            candidate_terms(conn, table, &terms, budget)?
        } else {
            None
        };

        let found = match counted {
            None => best_matches(conn, table, &expression, limit, restrict)?,
            Some(counted) => {
                let rare = Query::fts5_any_of(counted.iter().filter(|c| c.rare).map(|c| c.term));
                let found = best_matches(conn, table, &rare, limit, restrict)?;
                let ids: Vec<u64> = found.into_iter().map(|(id, _)| id).collect();
                rescored(conn, analyzer, table, &counted, &ids)?
            }
        };

        for (id, score) in found {
            *scores.entry(id).or_default() += score;
        }
    }
    let mut ranked: Vec<(u64, f32)> = scores.into_iter().collect();
    ranked.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
    ranked.truncate(limit);
    Ok(ranked)
}

/// The `limit` best BM25 matches of an FTS5 expression in `table`, best
/// first (ties by rowid).
///
/// The best are kept here as the rows stream by: FTS5's `ORDER BY rank`
/// sorts every match first, which took about a quarter of a narrowed
/// search (thousands of matches for 100 kept: 20 -> 15 ms at 117k chunks).
fn best_matches(
    conn: &Connection,
    table: &str,
    expression: &str,
    limit: usize,
    restrict: &str,
) -> Result<Vec<(u64, f32)>> {
    let sql_text =
        format!("SELECT rowid, bm25({table}) FROM {table} WHERE {table} MATCH ?1 {restrict}");
    let mut stmt = conn.prepare_cached(&sql_text).map_err(sql)?;
    let mut rows = stmt.query([expression]).map_err(sql)?;
    let mut best = Vec::with_capacity(2 * limit + 1);
    while let Some(row) = rows.next().map_err(sql)? {
        let id = row.get::<_, i64>(0).map_err(sql)? as u64;
        let score = -(row.get::<_, f64>(1).map_err(sql)? as f32);
        best.push((id, score));
        if best.len() > 2 * limit {
            keep_best(&mut best, limit);
        }
    }
    keep_best(&mut best, limit);
    best.sort_unstable_by(best_first);
    Ok(best)
}

/// Higher score first, then lower id.
fn best_first(a: &(u64, f32), b: &(u64, f32)) -> std::cmp::Ordering {
    b.1.total_cmp(&a.1).then(a.0.cmp(&b.0))
}

/// Keeps the `limit` best of `scored`, in no order.
fn keep_best(scored: &mut Vec<(u64, f32)>, limit: usize) {
    if scored.len() > limit && limit > 0 {
        scored.select_nth_unstable_by(limit - 1, best_first);
    }
    scored.truncate(limit);
}

/// A query term with the number of chunks holding it (exact up to
/// [`SAMPLE_POSTINGS`], estimated above).
struct Counted<'q> {
    term: &'q Term,
    postings: u64,
    /// Among the rarest terms that choose the candidates.
    rare: bool,
}

/// The query's terms counted, the rarest marked as many as fit in
/// [`POSTINGS_BUDGET`] (at least one), when all of them do not (`None`:
/// search with every term). A term's chunk count is exact up to
/// [`SAMPLE_POSTINGS`], and above it estimated from how far into the rowids
/// its first `SAMPLE_POSTINGS` postings reach (chunks are spread over the
/// rowids), so a common word costs a bounded, unscored read.
fn candidate_terms<'q>(
    conn: &Connection,
    table: &str,
    terms: &[&'q Term],
    budget: u64,
) -> Result<Option<Vec<Counted<'q>>>> {
    let sql_text = format!(
        "SELECT count(*), coalesce(max(rowid), 0)
         FROM (SELECT rowid FROM {table} WHERE {table} MATCH ?1 LIMIT ?2)"
    );
    let last_rowid: i64 = conn
        .prepare_cached("SELECT coalesce(max(id), 0) FROM chunks")
        .map_err(sql)?
        .query_row([], |r| r.get(0))
        .map_err(sql)?;
    // No term is in more chunks than the highest chunk id: a store that
    // small fits the budget whatever the words, without counting them.
    if (last_rowid.max(0) as u64).saturating_mul(terms.len() as u64) <= budget {
        return Ok(None);
    }
    let mut stmt = conn.prepare_cached(&sql_text).map_err(sql)?;
    let mut counted = Vec::with_capacity(terms.len());
    for term in terms {
        let (sampled, reach): (i64, i64) = stmt
            .query_row(
                params![Query::fts5_any_of([*term]), SAMPLE_POSTINGS + 1],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .map_err(sql)?;
        let postings = if sampled <= SAMPLE_POSTINGS || reach <= 0 {
            sampled as u64
        } else {
            (sampled as f64 * last_rowid.max(reach) as f64 / reach as f64) as u64
        };
        counted.push(Counted {
            term,
            postings,
            rare: false,
        });
    }
    if counted.iter().map(|c| c.postings).sum::<u64>() <= budget {
        return Ok(None);
    }
    counted.sort_by_key(|c| c.postings);
    let mut total = 0;
    for (i, c) in counted.iter_mut().enumerate() {
        total += c.postings;
        if i > 0 && total > budget {
            break;
        }
        c.rare = true;
    }
    Ok(Some(counted))
}

/// FTS5's `bm25()` constants.
const K1: f64 = 1.2;
const B: f64 = 0.75;

/// The candidates `ids` scored by every term of the query, best first, with
/// FTS5's own BM25 (same formula, row count and average length, so the
/// scores add up with the other table's): computed here from the chunks'
/// text analysed again, because FTS5 counts a common term's chunks anew
/// for each row it scores by id.
fn rescored(
    conn: &Connection,
    analyzer: &Analyzer,
    table: &str,
    counted: &[Counted<'_>],
    ids: &[u64],
) -> Result<Vec<(u64, f32)>> {
    let (rows, average_tokens) = table_averages(conn, table)?;
    let idf: Vec<f64> = counted
        .iter()
        .map(|c| {
            let n = c.postings as f64;
            let idf = ((rows - n + 0.5) / (n + 0.5)).ln();
            if idf > 0.0 { idf } else { 1e-6 }
        })
        .collect();
    let phrases: Vec<(Vec<&str>, bool)> = counted
        .iter()
        .map(|c| (fts5_ascii_tokens(&c.term.text).collect(), c.term.prefix))
        .collect();
    let mut stmt = conn
        .prepare_cached(
            "SELECT d.title, d.aliases, c.heading_path, c.text, c.lang
             FROM chunks c JOIN documents d ON d.id = c.doc_id WHERE c.id = ?1",
        )
        .map_err(sql)?;
    let mut candidates = Vec::with_capacity(ids.len());
    for &id in ids {
        let row = stmt
            .query_row([id as i64], |r| {
                Ok(Candidate {
                    id,
                    title: r.get(0)?,
                    aliases: r.get(1)?,
                    headings: r.get(2)?,
                    text: r.get(3)?,
                    language: r.get(4)?,
                })
            })
            .optional()
            .map_err(sql)?;
        candidates.extend(row);
    }
    let scoring = Scoring {
        analyzer,
        grams: table == TABLES[1],
        phrases,
        idf,
        average_tokens,
    };
    // Analysing the text again is most of the cost: two threads share it.
    let (first, second) = candidates.split_at(candidates.len() / 2);
    let mut scored = std::thread::scope(|scope| {
        let other = scope.spawn(|| scoring.all(second));
        let mut scored = scoring.all(first);
        match other.join() {
            Ok(more) => scored.extend(more),
            Err(panic) => std::panic::resume_unwind(panic),
        }
        scored
    });
    scored.sort_by(best_first);
    Ok(scored)
}

/// A chunk to score again, as stored.
struct Candidate {
    id: u64,
    title: String,
    /// JSON array.
    aliases: String,
    /// JSON array.
    headings: String,
    text: String,
    language: Option<String>,
}

/// What [`rescored`] scores each candidate with.
struct Scoring<'a> {
    analyzer: &'a Analyzer,
    /// The pairs table (else the words table).
    grams: bool,
    /// Each query term's tokens, and whether its last is a prefix.
    phrases: Vec<(Vec<&'a str>, bool)>,
    idf: Vec<f64>,
    average_tokens: f64,
}

impl Scoring<'_> {
    fn all(&self, candidates: &[Candidate]) -> Vec<(u64, f32)> {
        candidates
            .iter()
            .map(|c| (c.id, self.score(c) as f32))
            .collect()
    }

    /// FTS5's BM25 of one chunk, its columns analysed as stored.
    fn score(&self, c: &Candidate) -> f64 {
        let aliases: Vec<String> = serde_json::from_str(&c.aliases).unwrap_or_default();
        let headings: Vec<String> = serde_json::from_str(&c.headings).unwrap_or_default();
        let language = c.language.as_deref().and_then(Language::from_code);
        let (title, headings) = (title_text(&c.title, &aliases), headings.join(" "));
        let columns = [title.as_str(), headings.as_str(), c.text.as_str()].map(|column| {
            let terms = self.analyzer.terms(column, language);
            if self.grams { terms.grams } else { terms.words }
        });
        let tokens: Vec<&str> = columns.iter().flat_map(|c| fts5_ascii_tokens(c)).collect();
        let length_norm = 1.0 - B + B * tokens.len() as f64 / self.average_tokens.max(1.0);
        let mut score = 0.0;
        for ((phrase, prefix), idf) in self.phrases.iter().zip(&self.idf) {
            let tf = phrase_count(&tokens, phrase, *prefix) as f64;
            score += idf * tf * (K1 + 1.0) / (tf + K1 * length_norm);
        }
        score
    }
}

/// Tokens as FTS5's `ascii` tokenizer cuts them: at ASCII characters other
/// than letters and digits (stored terms are lower-case already).
fn fts5_ascii_tokens(text: &str) -> impl Iterator<Item = &str> {
    text.split(|c: char| c.is_ascii() && !c.is_ascii_alphanumeric())
        .filter(|t| !t.is_empty())
}

/// Occurrences of `phrase` in `tokens` (its last token a prefix if `prefix`).
fn phrase_count(tokens: &[&str], phrase: &[&str], prefix: bool) -> usize {
    let Some((last, head)) = phrase.split_last() else {
        return 0;
    };
    tokens
        .windows(phrase.len())
        .filter(|w| {
            w[..head.len()].iter().zip(head).all(|(a, b)| a == b)
                && if prefix {
                    w[head.len()].starts_with(last)
                } else {
                    w[head.len()] == *last
                }
        })
        .count()
}

/// FTS5's row count and average tokens per row of `table`, from its
/// averages record (row 1 of its `_data` table: varints, the row count,
/// then each column's total tokens).
fn table_averages(conn: &Connection, table: &str) -> Result<(f64, f64)> {
    let block: Vec<u8> = conn
        .prepare_cached(&format!("SELECT block FROM {table}_data WHERE id = 1"))
        .map_err(sql)?
        .query_row([], |r| r.get(0))
        .optional()
        .map_err(sql)?
        .unwrap_or_default();
    let mut values = Varints(&block);
    let rows = values.next().unwrap_or(0) as f64;
    let tokens: u64 = values.sum();
    Ok((
        rows,
        if rows > 0.0 {
            tokens as f64 / rows
        } else {
            0.0
        },
    ))
}

/// SQLite's 1–9 byte big-endian varints, as FTS5 writes them.
struct Varints<'b>(&'b [u8]);

impl Iterator for Varints<'_> {
    type Item = u64;

    fn next(&mut self) -> Option<u64> {
        let mut value = 0u64;
        for i in 0..9 {
            let byte = *self.0.get(i)?;
            if i == 8 {
                value = (value << 8) | byte as u64;
                self.0 = &self.0[9..];
                return Some(value);
            }
            value = (value << 7) | (byte & 0x7f) as u64;
            if byte & 0x80 == 0 {
                self.0 = &self.0[i + 1..];
                return Some(value);
            }
        }
        None
    }
}

/// Rebuilds every keyword row from the chunks the store holds, with this
/// build's analysis (after a schema step or an analysis change). Documents
/// are detected one at a time, like the indexer does.
pub(super) fn reanalyze_all(conn: &Connection, analyzer: &Analyzer) -> Result<()> {
    for table in TABLES {
        conn.execute(&format!("DELETE FROM {table}"), [])
            .map_err(sql)?;
    }
    conn.execute("DELETE FROM chunk_languages", [])
        .map_err(sql)?;
    let mut documents = conn
        .prepare("SELECT id, title, aliases FROM documents")
        .map_err(sql)?;
    let documents: Vec<(i64, String)> = documents
        .query_map([], |r| {
            let aliases: String = r.get(2)?;
            let aliases: Vec<String> = serde_json::from_str(&aliases).unwrap_or_default();
            Ok((r.get(0)?, title_text(&r.get::<_, String>(1)?, &aliases)))
        })
        .map_err(sql)?
        .collect::<rusqlite::Result<_>>()
        .map_err(sql)?;
    let mut chunks = conn
        .prepare("SELECT id, heading_path, text FROM chunks WHERE doc_id = ?1 ORDER BY ordinal")
        .map_err(sql)?;
    let mut set_language = conn
        .prepare("UPDATE chunks SET lang = ?2 WHERE id = ?1")
        .map_err(sql)?;
    for (doc_id, title) in documents {
        let rows: Vec<(i64, String, String)> = chunks
            .query_map([doc_id], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
            .map_err(sql)?
            .collect::<rusqlite::Result<_>>()
            .map_err(sql)?;
        let texts: Vec<&str> = rows.iter().map(|r| r.2.as_str()).collect();
        let languages = chunk_languages(analyzer, &texts);
        for ((id, headings, text), language) in rows.iter().zip(languages) {
            let headings: Vec<String> = serde_json::from_str(headings).unwrap_or_default();
            set_language
                .execute(params![id, language.map(Language::code)])
                .map_err(sql)?;
            insert(conn, analyzer, *id, &title, &headings, text, language)?;
        }
    }
    Ok(())
}

/// Chunk ids of documents `docs`, as an SQL condition on `rowid`.
pub(super) fn restrict_to(docs: &HashSet<i64>) -> String {
    format!(
        "AND rowid IN (SELECT id FROM chunks WHERE doc_id IN ({}))",
        docs.iter()
            .map(|d| d.to_string())
            .collect::<Vec<_>>()
            .join(",")
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A bare keyword table: chunks of one document, analysed as stored.
    fn table(texts: &[String]) -> Connection {
        let conn = Connection::open_in_memory().unwrap();
        conn.execute_batch(
            "CREATE TABLE documents(id INTEGER PRIMARY KEY, title TEXT, aliases TEXT);
             CREATE TABLE chunks(id INTEGER PRIMARY KEY, doc_id INTEGER, heading_path TEXT,
                                 text TEXT, lang TEXT);
             CREATE TABLE chunk_languages(lang TEXT PRIMARY KEY, chunks INTEGER);
             CREATE VIRTUAL TABLE chunks_words USING fts5(title, headings, text, content = '',
                 contentless_delete = 1, tokenize = 'ascii');
             CREATE VIRTUAL TABLE chunks_grams USING fts5(title, headings, text, content = '',
                 contentless_delete = 1, tokenize = 'ascii');
             INSERT INTO documents VALUES (1, 'Harbour notes', '[\"Port log\"]');",
        )
        .unwrap();
        let analyzer = Analyzer::default();
        let english = Language::from_code("en");
        let headings = vec!["Ferries".to_string()];
        for (i, text) in texts.iter().enumerate() {
            let id = i as i64 + 1;
            conn.execute(
                "INSERT INTO chunks VALUES (?1, 1, '[\"Ferries\"]', ?2, 'en')",
                params![id, text],
            )
            .unwrap();
            let title = title_text("Harbour notes", &["Port log".to_string()]);
            insert(&conn, &analyzer, id, &title, &headings, text, english).unwrap();
        }
        conn
    }

    #[test]
    fn narrowed_search_scores_its_candidates_exactly_as_fts5() {
        let mut texts: Vec<String> = (0..40)
            .map(|i| {
                format!("The ferry leaves the harbour at {i} and the crew waits. ")
                    .repeat(1 + i % 3)
            })
            .collect();
        for i in [3, 17, 30] {
            texts[i].push_str(" A zebra crossing, zebra stripes, near the pier.");
        }
        texts[25].push_str(" One zebra only.");
        let conn = table(&texts);
        let analyzer = Analyzer::default();
        let languages = store_languages(&conn).unwrap();
        let query = "the zebra crossing at the harbour";
        let exact = search_within(&conn, &analyzer, query, &languages, 10, "", u64::MAX).unwrap();
        let narrowed = search_within(&conn, &analyzer, query, &languages, 10, "", 10).unwrap();
        // The chunks holding the rare words, in the exact order, with the
        // exact scores (every word counted, "the" and "harbour" too).
        assert_eq!(narrowed.len(), 4, "{narrowed:?}");
        for ((id, score), (exact_id, exact_score)) in narrowed.iter().zip(&exact) {
            assert_eq!(id, exact_id, "{narrowed:?} vs {exact:?}");
            assert!(
                (score - exact_score).abs() < 1e-4 * exact_score.abs(),
                "{score} vs {exact_score}"
            );
        }
    }

    #[test]
    fn best_matches_keeps_what_fts5_ranks_first() {
        // Many matches for a few kept, and ties (equal texts) at the cut.
        let texts: Vec<String> = (0..300)
            .map(|i| "the tide turns at the harbour wall ".repeat(1 + i % 7))
            .collect();
        let conn = table(&texts);
        for limit in [1, 10, 100, 299, 500] {
            let kept = best_matches(&conn, "chunks_words", "tide OR wall", limit, "").unwrap();
            let mut ranked: Vec<(u64, f32)> = conn
                .prepare(
                    "SELECT rowid, bm25(chunks_words) FROM chunks_words
                     WHERE chunks_words MATCH 'tide OR wall' ORDER BY rank",
                )
                .unwrap()
                .query_map([], |r| {
                    Ok((r.get::<_, i64>(0)? as u64, -r.get::<_, f64>(1)? as f32))
                })
                .unwrap()
                .map(|r| r.unwrap())
                .collect();
            ranked.sort_by(best_first);
            ranked.truncate(limit);
            assert_eq!(kept, ranked, "limit {limit}");
        }
    }

    #[test]
    fn common_terms_are_counted_from_a_bounded_sample() {
        let texts: Vec<String> = (0..3_000)
            .map(|i| {
                let rare = if i % 1000 == 0 { " zebra" } else { "" };
                let every_third = if i % 3 == 0 { " tide" } else { "" };
                format!("harbour{rare}{every_third}")
            })
            .collect();
        let conn = table(&texts);
        let analyzer = Analyzer::default();
        let query = analyzer
            .query("zebra tide harbour", &[Language::from_code("en")])
            .unwrap();
        let terms: Vec<&Term> = query.terms().iter().collect();
        let counted = candidate_terms(&conn, "chunks_words", &terms, 100)
            .unwrap()
            .unwrap();
        let postings = |text: &str| counted.iter().find(|c| c.term.text == text).unwrap();
        // Exact below the sample, estimated above it from the rowids reached.
        assert_eq!(postings("zebra").postings, 3);
        assert_eq!(postings("tide").postings, 1_000);
        let harbour = postings("harbour").postings;
        assert!((2_900..=3_100).contains(&harbour), "{harbour}");
        assert!(postings("zebra").rare && !postings("tide").rare && !postings("harbour").rare);
        // Within the budget nothing is narrowed.
        assert!(
            candidate_terms(&conn, "chunks_words", &terms, 10_000)
                .unwrap()
                .is_none()
        );
    }

    #[test]
    fn averages_and_varints_read_as_fts5_writes_them() {
        let conn = table(&["one two three".to_string(), "four five".to_string()]);
        let (rows, average) = table_averages(&conn, "chunks_words").unwrap();
        // Title "harbour note port log" (4), heading "ferri" (1), the text.
        assert_eq!(rows, 2.0);
        assert!((average - (5.0 + 2.5)).abs() < 1e-9, "{average}");
        let bytes = [0x05, 0x81, 0x00, 0xff, 0x7f];
        assert_eq!(Varints(&bytes).collect::<Vec<_>>(), vec![5, 128, 0x3fff]);
    }
}
