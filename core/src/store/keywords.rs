//! The keyword index: chunks analysed for every script ([`crate::analysis`])
//! into two contentless FTS5 tables, words apart from CJK grams, plus each
//! chunk's language and the count of chunks per language, from which a
//! query learns which stemmings to look for.

use std::collections::{HashMap, HashSet};

use rusqlite::{Connection, params};

use super::sqlite::sql;
use crate::analysis::{Analyzer, Language, StoreLanguages};
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

/// The best BM25 matches of `query`, best first, with higher-is-better
/// scores: a chunk's score is the sum of its scores in both tables.
/// `languages` are the store's (query analysis); `restrict` is an SQL
/// condition on `rowid` (document filters) or empty.
/// Fails with `InvalidInput` when the query has nothing to search for.
pub(super) fn search(
    conn: &Connection,
    analyzer: &Analyzer,
    query: &str,
    languages: &StoreLanguages,
    limit: usize,
    restrict: &str,
) -> Result<Vec<(u64, f32)>> {
    let query = analyzer.query_for_store(query, languages)?;
    let mut scores: HashMap<u64, f32> = HashMap::new();
    for (table, expression) in TABLES.iter().zip([query.fts5_words(), query.fts5_grams()]) {
        let Some(expression) = expression else {
            continue;
        };
        let sql_text = format!(
            "SELECT rowid, bm25({table}) FROM {table} WHERE {table} MATCH ?1 {restrict}
             ORDER BY rank LIMIT ?2"
        );
        let mut stmt = conn.prepare_cached(&sql_text).map_err(sql)?;
        let rows = stmt
            .query_map(params![expression, limit as i64], |r| {
                Ok((r.get::<_, i64>(0)? as u64, -(r.get::<_, f64>(1)? as f32)))
            })
            .map_err(sql)?;
        for row in rows {
            let (id, score) = row.map_err(sql)?;
            *scores.entry(id).or_default() += score;
        }
    }
    let mut ranked: Vec<(u64, f32)> = scores.into_iter().collect();
    ranked.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
    ranked.truncate(limit);
    Ok(ranked)
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
