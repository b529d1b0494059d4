//! Keyword-only retrieval eval, without the embedding model: parses and
//! chunks a set's corpus exactly as trove does (sizes counted with MiniLM's
//! tokenizer.json), indexes the chunks into an in-memory FTS5 table per
//! analyser variant, and prints MRR@10 / R@1 / R@10 over documents (a
//! document ranks by its best chunk) for `queries.tsv` and `queries_en.tsv`.
//!
//! ```sh
//! cargo run --release --example keyword_eval -- ../shared/eval/manpages-ja \
//!     today default default+no-stem default+nfc
//! ```
//!
//! Variants: `today` (FTS5 `porter unicode61` over the raw text, today's
//! query) or `default` (the analyser's defaults) followed by `+`-joined
//! changes: `nfc`, `no-fold`, `no-stem`, `no-join`, `uni-isolated`,
//! `uni-all`, `lang-doc` / `lang-chunk` (detect the language per document /
//! per chunk only; default: the chunk's, else its document's),
//! `qlang-all` (stem the query as every stemming in the store, not as its
//! own language detected among the store's plus the store's main one),
//! `qlang-detect` (in its own language, detected among all),
//! `one-table` (words and CJK grams in one FTS5 table, not in two whose
//! BM25 scores are summed), `w=T.H.X` (bm25 weights of title, headings, text).
//! Models: `$TROVE_MODELS` (default `models/`). With `KEYWORD_EVAL_RANKS`
//! set, each query's rank (0: not in the top 10) and match expression go to
//! standard error.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::time::Instant;

use rusqlite::{Connection, params};
use trove::analysis::{
    Analyzer, AnalyzerConfig, FTS5_TOKENIZER, Language, Normalization, StoreLanguages, Unigrams,
};
use trove::ingest::{IngestLimits, parse};
use trove::{ChunkingOptions, chunk_document};

type Error = Box<dyn std::error::Error>;

/// Chunks as the FTS5 table receives them.
struct Chunk {
    doc: usize,
    title: String,
    headings: String,
    text: String,
}

/// Document paths, chunks, and each document's whole text.
type Corpus = (Vec<PathBuf>, Vec<Chunk>, Vec<String>);

struct Query {
    qid: String,
    text: String,
    gold: usize,
}

/// Which text a chunk's language is detected on.
#[derive(Clone, Copy)]
enum Languages {
    Chunk,
    Document,
    /// The chunk's, or its document's where the chunk's is unsure.
    ChunkElseDocument,
}

/// How a query's words are stemmed.
#[derive(Clone, Copy)]
enum QueryStemming {
    /// As the library does it: `Analyzer::query_for_store`.
    Store,
    /// As every stemming the store holds.
    All,
    /// In the query's own language, detected among all languages.
    Detect,
}

/// One analyser set-up to measure.
struct Variant {
    name: String,
    /// `None`: today's `porter unicode61` over raw text.
    config: Option<AnalyzerConfig>,
    languages: Languages,
    query: QueryStemming,
    /// Words and grams in separate FTS5 tables, scores summed (else one table).
    split: bool,
    weights: [f64; 3],
}

fn main() -> Result<(), Error> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some((set, names)) = args.split_first() else {
        return Err("usage: keyword_eval SET_DIR [VARIANT...]".into());
    };
    let set = Path::new(set);
    let names: Vec<String> = if names.is_empty() {
        vec!["today".into(), "default".into()]
    } else {
        names.to_vec()
    };
    let variants = names
        .iter()
        .map(|n| variant(n))
        .collect::<Result<Vec<_>, _>>()?;

    let started = Instant::now();
    let (docs, chunks, doc_text) = chunk_corpus(&set.join("corpus"))?;
    eprintln!(
        "{}: {} documents, {} chunks, chunked in {:.1} s",
        set.display(),
        docs.len(),
        chunks.len(),
        started.elapsed().as_secs_f64()
    );
    let mut query_sets = Vec::new();
    for file in ["queries.tsv", "queries_en.tsv"] {
        if set.join(file).exists() {
            query_sets.push((file, read_queries(set, file, &docs)?));
        }
    }
    for v in &variants {
        let report = run_variant(v, &chunks, &doc_text, &query_sets)?;
        println!(
            "{}",
            serde_json::json!({"set": set.file_name().map(|n| n.to_string_lossy()), "variant": v.name, "report": report})
        );
    }
    Ok(())
}

fn variant(name: &str) -> Result<Variant, Error> {
    let mut parts = name.split('+');
    let base = parts.next().unwrap_or_default();
    let mut v = Variant {
        name: name.to_string(),
        config: match base {
            "today" => None,
            "default" => Some(AnalyzerConfig::default()),
            other => return Err(format!("unknown variant base {other:?}").into()),
        },
        languages: Languages::ChunkElseDocument,
        query: QueryStemming::Store,
        split: true,
        weights: [1.0; 3],
    };
    v.split = v.config.is_some();
    for part in parts {
        let config = v.config.as_mut().ok_or("`today` takes no changes")?;
        match part {
            "nfc" => config.normalization = Normalization::Nfc,
            "no-fold" => config.fold_diacritics = false,
            "no-stem" => config.stemming = false,
            "no-join" => config.join_unspaced_across_space = false,
            "uni-isolated" => config.unigrams = Unigrams::Isolated,
            "uni-all" => config.unigrams = Unigrams::All,
            "lang-doc" => v.languages = Languages::Document,
            "lang-chunk" => v.languages = Languages::Chunk,
            "qlang-detect" => v.query = QueryStemming::Detect,
            "qlang-all" => v.query = QueryStemming::All,
            "one-table" => v.split = false,
            w if w.starts_with("w=") => {
                let ws: Vec<f64> = w[2..]
                    .split('.')
                    .map(|x| x.parse::<f64>())
                    .collect::<Result<_, _>>()?;
                v.weights = ws.try_into().map_err(|_| "w= takes three weights")?;
            }
            other => return Err(format!("unknown change {other:?}").into()),
        }
    }
    Ok(v)
}

/// Parses and chunks every file under `corpus` in path order (as trove
/// indexes them); returns the document paths, the chunks, and each
/// document's whole text (for per-document language detection).
fn chunk_corpus(corpus: &Path) -> Result<Corpus, Error> {
    let models =
        std::env::var_os("TROVE_MODELS").map_or_else(|| PathBuf::from("models"), PathBuf::from);
    let tokenizer_path = models.join("all-MiniLM-L6-v2-int8/tokenizer.json");
    let mut tokenizer = tokenizers::Tokenizer::from_file(&tokenizer_path)
        .map_err(|e| format!("cannot load {}: {e}", tokenizer_path.display()))?;
    tokenizer.with_padding(None);
    tokenizer.with_truncation(None).map_err(|e| e.to_string())?;
    let count = |t: &str| {
        tokenizer
            .encode_fast(t, true)
            .map(|e| e.len())
            .unwrap_or(usize::MAX / 4)
    };
    let mut files = Vec::new();
    walk(&std::fs::canonicalize(corpus)?, &mut files)?;
    files.sort();
    let options = ChunkingOptions::default();
    let (mut docs, mut chunks, mut texts) = (Vec::new(), Vec::new(), Vec::new());
    for path in files {
        let bytes = std::fs::read(&path)?;
        let Ok(parsed) = parse(&path, &bytes, &IngestLimits::default()) else {
            eprintln!("skipped {}", path.display());
            continue;
        };
        let doc = docs.len();
        for c in chunk_document(&parsed, &options, 256, &count) {
            chunks.push(Chunk {
                doc,
                title: parsed.title.clone(),
                headings: c.heading_path.join(" "),
                text: c.text,
            });
        }
        texts.push(
            parsed
                .blocks
                .iter()
                .map(|b| b.text.as_str())
                .collect::<Vec<_>>()
                .join("\n\n"),
        );
        docs.push(path);
    }
    Ok((docs, chunks, texts))
}

fn walk(dir: &Path, out: &mut Vec<PathBuf>) -> Result<(), Error> {
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        if path.is_dir() {
            walk(&path, out)?;
        } else {
            out.push(path);
        }
    }
    Ok(())
}

fn read_queries(set: &Path, file: &str, docs: &[PathBuf]) -> Result<Vec<Query>, Error> {
    let index: HashMap<&Path, usize> = docs
        .iter()
        .enumerate()
        .map(|(i, p)| (p.as_path(), i))
        .collect();
    let set = std::fs::canonicalize(set)?;
    let text = std::fs::read_to_string(set.join(file))?;
    let mut out = Vec::new();
    for line in text.lines().skip(1) {
        let fields: Vec<&str> = line.split('\t').collect();
        let [qid, query, gold] = fields[..] else {
            return Err(format!("{file}: bad line {line:?}").into());
        };
        let gold = index
            .get(set.join(gold).as_path())
            .copied()
            .ok_or_else(|| format!("{file}: gold {gold} is not in the corpus"))?;
        out.push(Query {
            qid: qid.to_string(),
            text: query.to_string(),
            gold,
        });
    }
    Ok(out)
}

fn run_variant(
    v: &Variant,
    chunks: &[Chunk],
    doc_text: &[String],
    query_sets: &[(&str, Vec<Query>)],
) -> Result<serde_json::Value, Error> {
    let conn = Connection::open_in_memory()?;
    let started = Instant::now();
    let analyzer = v.config.clone().map(Analyzer::new);
    let mut languages: BTreeMap<&'static str, usize> = BTreeMap::new();
    let mut store = StoreLanguages::default();
    match &analyzer {
        None => {
            conn.execute_batch("CREATE VIRTUAL TABLE chunks_fts USING fts5(title, headings, text, tokenize = 'porter unicode61');")?;
            let mut insert = conn.prepare(
                "INSERT INTO chunks_fts(rowid, title, headings, text) VALUES (?1, ?2, ?3, ?4)",
            )?;
            for (id, c) in chunks.iter().enumerate() {
                insert.execute(params![id as i64, c.title, c.headings, c.text])?;
            }
        }
        Some(a) => {
            for table in if v.split {
                &["chunks_words", "chunks_grams"][..]
            } else {
                &["chunks_fts"][..]
            } {
                conn.execute_batch(&format!("CREATE VIRTUAL TABLE {table} USING fts5(title, headings, text, content = '', contentless_delete = 1, tokenize = '{FTS5_TOKENIZER}');"))?;
            }
            let doc_langs: Vec<Option<Language>> =
                doc_text.iter().map(|t| a.detect_language(t)).collect();
            let insert_sql = |t: &str| {
                format!("INSERT INTO {t}(rowid, title, headings, text) VALUES (?1, ?2, ?3, ?4)")
            };
            let mut insert = conn.prepare(&insert_sql(if v.split {
                "chunks_words"
            } else {
                "chunks_fts"
            }))?;
            let mut insert_grams = conn.prepare(&insert_sql("chunks_grams")).ok();
            let mut counts: HashMap<Option<Language>, usize> = HashMap::new();
            for (id, c) in chunks.iter().enumerate() {
                let lang = match v.languages {
                    Languages::Chunk => a.detect_language(&c.text),
                    Languages::Document => doc_langs[c.doc],
                    Languages::ChunkElseDocument => a.detect_language(&c.text).or(doc_langs[c.doc]),
                };
                *languages
                    .entry(lang.map_or("none", |l| l.code()))
                    .or_default() += 1;
                *counts.entry(lang).or_default() += 1;
                let [title, headings, text] =
                    [&c.title, &c.headings, &c.text].map(|t| a.terms(t, lang));
                if v.split {
                    insert.execute(params![id as i64, title.words, headings.words, text.words])?;
                    if !(title.grams.is_empty()
                        && headings.grams.is_empty()
                        && text.grams.is_empty())
                    {
                        insert_grams
                            .as_mut()
                            .ok_or("no grams table")?
                            .execute(params![id as i64, title.grams, headings.grams, text.grams])?;
                    }
                } else {
                    insert.execute(params![
                        id as i64,
                        title.joined(),
                        headings.joined(),
                        text.joined()
                    ])?;
                }
            }
            store = StoreLanguages::from_counts(counts);
        }
    }
    let index_s = started.elapsed().as_secs_f64();
    let tables: &[&str] = if v.split {
        &["chunks_words", "chunks_grams"]
    } else {
        &["chunks_fts"]
    };
    let mut index_bytes = 0i64;
    for t in tables {
        index_bytes += conn.query_row(
            &format!("SELECT coalesce(sum(length(block)), 0) FROM {t}_data"),
            [],
            |r| r.get::<_, i64>(0),
        )?;
    }
    let one_char = match &analyzer {
        Some(a) if v.split => one_char_recall(&conn, a, chunks)?,
        _ => serde_json::Value::Null,
    };
    let mut results = serde_json::Map::new();
    let [wt, wh, wx] = v.weights;
    let mut stmts = tables
        .iter()
        .map(|t| conn.prepare(&format!("SELECT rowid, bm25({t}, {wt}, {wh}, {wx}) AS rank FROM {t} WHERE {t} MATCH ?1 ORDER BY rank LIMIT 100")))
        .collect::<Result<Vec<_>, _>>()?;
    for (file, queries) in query_sets {
        let started = Instant::now();
        let mut ranks = Vec::new();
        let mut no_terms = 0;
        for q in queries {
            // One match expression per table (`None`: nothing to ask it).
            let fts: Option<Vec<Option<String>>> = match &analyzer {
                None => today_fts_query(&q.text).map(|f| vec![Some(f)]),
                Some(a) => {
                    let query = match v.query {
                        QueryStemming::Store => a.query_for_store(&q.text, &store),
                        QueryStemming::All => a.query(&q.text, store.stemmings()),
                        QueryStemming::Detect => a.query(
                            &q.text,
                            &[a.detect_language(&q.text).filter(|l| l.has_stemmer())],
                        ),
                    };
                    query.ok().map(|q| {
                        if v.split {
                            vec![q.fts5_words(), q.fts5_grams()]
                        } else {
                            vec![Some(q.fts5_match())]
                        }
                    })
                }
            };
            let Some(fts) = fts else {
                no_terms += 1;
                ranks.push(None);
                continue;
            };
            // Chunk scores summed over the tables, best first (SQL order kept on ties).
            let mut order: Vec<i64> = Vec::new();
            let mut scores: HashMap<i64, f64> = HashMap::new();
            for (stmt, expr) in stmts.iter_mut().zip(&fts) {
                let Some(expr) = expr else { continue };
                for row in
                    stmt.query_map([expr], |r| Ok((r.get::<_, i64>(0)?, -r.get::<_, f64>(1)?)))?
                {
                    let (id, score) = row?;
                    if !scores.contains_key(&id) {
                        order.push(id);
                    }
                    *scores.entry(id).or_default() += score;
                }
            }
            order.sort_by(|a, b| scores[b].total_cmp(&scores[a]));
            order.truncate(100);
            let fts = fts
                .iter()
                .flatten()
                .cloned()
                .collect::<Vec<_>>()
                .join(" | ");
            let mut seen = HashSet::new();
            let mut rank = None;
            for id in order {
                let doc = chunks[id as usize].doc;
                if seen.insert(doc) {
                    if doc == q.gold {
                        rank = Some(seen.len());
                        break;
                    }
                    if seen.len() == 10 {
                        break;
                    }
                }
            }
            if std::env::var_os("KEYWORD_EVAL_RANKS").is_some() {
                eprintln!(
                    "{}\t{file}\t{}\t{}\t{fts}",
                    v.name,
                    q.qid,
                    rank.unwrap_or(0)
                );
            }
            ranks.push(rank);
        }
        let n = queries.len() as f64;
        let mrr = ranks
            .iter()
            .map(|r| r.map_or(0.0, |r| 1.0 / r as f64))
            .sum::<f64>()
            / n;
        let r1 = ranks.iter().filter(|r| **r == Some(1)).count() as f64 / n;
        let r10 = ranks.iter().filter(|r| r.is_some()).count() as f64 / n;
        results.insert(
            file.to_string(),
            serde_json::json!({"queries": queries.len(), "MRR@10": round(mrr), "R@1": round(r1), "R@10": round(r10),
                "no_terms": no_terms, "ms_per_query": round(started.elapsed().as_secs_f64() * 1000.0 / n)}),
        );
    }
    Ok(serde_json::json!({
        "one_char_queries": one_char,
        "chunks": chunks.len(), "index_kb": index_bytes / 1024, "index_s": round(index_s),
        "chunk_languages": languages, "candidates": store.candidates().iter().map(|l| l.code()).collect::<Vec<_>>(),
        "query_stemming": store.stemmings().iter().map(|l| l.map_or("none", |l| l.code())).collect::<Vec<_>>(),
        "results": results,
    }))
}

/// One-character queries: for 200 CJK characters spread over the corpus's
/// distinct ones, the share of chunks holding the character that the
/// query matches (no limit), and the time per query.
fn one_char_recall(
    conn: &Connection,
    a: &Analyzer,
    chunks: &[Chunk],
) -> Result<serde_json::Value, Error> {
    use unicode_normalization::UnicodeNormalization;
    let texts: Vec<String> = chunks
        .iter()
        .map(|c| {
            format!("{} {} {}", c.title, c.headings, c.text)
                .nfkc()
                .collect()
        })
        .collect();
    let mut distinct: Vec<char> = texts
        .iter()
        .flat_map(|t| t.chars())
        .filter(|c| matches!(*c as u32, 0x3041..=0x309F | 0x30A1..=0x30FA | 0x4E00..=0x9FFF | 0xAC00..=0xD7A3))
        .collect::<HashSet<_>>()
        .into_iter()
        .collect();
    if distinct.is_empty() {
        return Ok(serde_json::Value::Null);
    }
    distinct.sort();
    let step = distinct.len().div_ceil(200);
    let mut stmt = conn.prepare("SELECT rowid FROM chunks_grams WHERE chunks_grams MATCH ?1")?;
    let (mut relevant, mut found, mut queries) = (0usize, 0usize, 0usize);
    let mut query_time = std::time::Duration::ZERO;
    for c in distinct.iter().step_by(step) {
        let started = Instant::now();
        let expr = a.query(&c.to_string(), &[])?.fts5_match();
        let hits: HashSet<i64> = stmt
            .query_map([expr], |r| r.get(0))?
            .collect::<Result<_, _>>()?;
        query_time += started.elapsed();
        let holding: Vec<usize> = (0..texts.len())
            .filter(|&i| texts[i].contains(*c))
            .collect();
        relevant += holding.len();
        found += holding
            .iter()
            .filter(|&&i| hits.contains(&(i as i64)))
            .count();
        queries += 1;
    }
    let ms = query_time.as_secs_f64() * 1000.0 / queries as f64;
    Ok(
        serde_json::json!({"queries": queries, "recall": round(found as f64 / relevant as f64), "ms_per_query": round(ms)}),
    )
}

/// Today's keyword query, as `core/src/search.rs` builds it: the query's
/// alphanumeric runs, lower-cased, quoted and OR-ed.
fn today_fts_query(query: &str) -> Option<String> {
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

fn round(x: f64) -> f64 {
    (x * 1000.0).round() / 1000.0
}
