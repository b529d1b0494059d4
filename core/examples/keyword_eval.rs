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
//! `uni-all`, `lang-doc` (detect per document, not per chunk),
//! `qlang-detect` (stem the query in its own detected language, not in the
//! store's), `w=T.H.X` (bm25 weights of title, headings, text).
//! Models: `$TROVE_MODELS` (default `models/`).

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::time::Instant;

use rusqlite::{Connection, params};
use trove::analysis::{Analyzer, AnalyzerConfig, FTS5_TOKENIZER, Language, Normalization, Unigrams};
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

struct Query {
    text: String,
    gold: usize,
}

/// One analyser set-up to measure.
struct Variant {
    name: String,
    /// `None`: today's `porter unicode61` over raw text.
    config: Option<AnalyzerConfig>,
    lang_per_document: bool,
    query_detect: bool,
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
        println!("{}", serde_json::json!({"set": set.file_name().map(|n| n.to_string_lossy()), "variant": v.name, "report": report}));
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
        lang_per_document: false,
        query_detect: false,
        weights: [1.0; 3],
    };
    for part in parts {
        let config = v.config.as_mut().ok_or("`today` takes no changes")?;
        match part {
            "nfc" => config.normalization = Normalization::Nfc,
            "no-fold" => config.fold_diacritics = false,
            "no-stem" => config.stemming = false,
            "no-join" => config.join_unspaced_across_space = false,
            "uni-isolated" => config.unigrams = Unigrams::Isolated,
            "uni-all" => config.unigrams = Unigrams::All,
            "lang-doc" => v.lang_per_document = true,
            "qlang-detect" => v.query_detect = true,
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
fn chunk_corpus(corpus: &Path) -> Result<(Vec<PathBuf>, Vec<Chunk>, Vec<String>), Error> {
    let models = std::env::var_os("TROVE_MODELS").map_or_else(|| PathBuf::from("models"), PathBuf::from);
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
        texts.push(parsed.blocks.iter().map(|b| b.text.as_str()).collect::<Vec<_>>().join("\n\n"));
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
    let index: HashMap<&Path, usize> = docs.iter().enumerate().map(|(i, p)| (p.as_path(), i)).collect();
    let set = std::fs::canonicalize(set)?;
    let text = std::fs::read_to_string(set.join(file))?;
    let mut out = Vec::new();
    for line in text.lines().skip(1) {
        let fields: Vec<&str> = line.split('\t').collect();
        let [_, query, gold] = fields[..] else {
            return Err(format!("{file}: bad line {line:?}").into());
        };
        let gold = index
            .get(set.join(gold).as_path())
            .copied()
            .ok_or_else(|| format!("{file}: gold {gold} is not in the corpus"))?;
        out.push(Query {
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
    let mut store_languages = Vec::new();
    match &analyzer {
        None => {
            conn.execute_batch("CREATE VIRTUAL TABLE chunks_fts USING fts5(title, headings, text, tokenize = 'porter unicode61');")?;
            let mut insert = conn.prepare("INSERT INTO chunks_fts(rowid, title, headings, text) VALUES (?1, ?2, ?3, ?4)")?;
            for (id, c) in chunks.iter().enumerate() {
                insert.execute(params![id as i64, c.title, c.headings, c.text])?;
            }
        }
        Some(a) => {
            conn.execute_batch(&format!("CREATE VIRTUAL TABLE chunks_fts USING fts5(title, headings, text, content = '', contentless_delete = 1, tokenize = '{FTS5_TOKENIZER}');"))?;
            let doc_langs: Vec<Option<Language>> = if v.lang_per_document {
                doc_text.iter().map(|t| a.detect_language(t)).collect()
            } else {
                Vec::new()
            };
            let mut insert = conn.prepare("INSERT INTO chunks_fts(rowid, title, headings, text) VALUES (?1, ?2, ?3, ?4)")?;
            let mut counts: HashMap<Language, usize> = HashMap::new();
            for (id, c) in chunks.iter().enumerate() {
                let lang = if v.lang_per_document {
                    doc_langs[c.doc]
                } else {
                    a.detect_language(&c.text)
                };
                *languages.entry(lang.map_or("none", |l| l.code())).or_default() += 1;
                if let Some(l) = lang {
                    *counts.entry(l).or_default() += 1;
                }
                insert.execute(params![
                    id as i64,
                    a.terms(&c.title, lang),
                    a.terms(&c.headings, lang),
                    a.terms(&c.text, lang)
                ])?;
            }
            // Stem queries in every language with a stemmer that holds at least 1 % of the chunks.
            store_languages = counts
                .into_iter()
                .filter(|(l, n)| l.has_stemmer() && *n * 100 >= chunks.len())
                .map(|(l, _)| l)
                .collect();
            store_languages.sort_by_key(|l| l.code());
        }
    }
    let index_s = started.elapsed().as_secs_f64();
    let index_bytes: i64 = conn.query_row("SELECT sum(length(block)) FROM chunks_fts_data", [], |r| r.get(0))?;
    let mut results = serde_json::Map::new();
    let [wt, wh, wx] = v.weights;
    let sql = format!("SELECT rowid, bm25(chunks_fts, {wt}, {wh}, {wx}) AS rank FROM chunks_fts WHERE chunks_fts MATCH ?1 ORDER BY rank LIMIT 100");
    let mut stmt = conn.prepare(&sql)?;
    for (file, queries) in query_sets {
        let started = Instant::now();
        let mut ranks = Vec::new();
        let mut no_terms = 0;
        for q in queries {
            let fts = match &analyzer {
                None => today_fts_query(&q.text),
                Some(a) => {
                    let langs: Vec<Language> = if v.query_detect {
                        a.detect_language(&q.text).into_iter().collect()
                    } else {
                        store_languages.clone()
                    };
                    a.query(&q.text, &langs).ok().map(|q| q.fts5_match())
                }
            };
            let Some(fts) = fts else {
                no_terms += 1;
                ranks.push(None);
                continue;
            };
            let rows = stmt.query_map([&fts], |r| r.get::<_, i64>(0))?;
            let mut seen = HashSet::new();
            let mut rank = None;
            for row in rows {
                let doc = chunks[row? as usize].doc;
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
            ranks.push(rank);
        }
        let n = queries.len() as f64;
        let mrr = ranks.iter().map(|r| r.map_or(0.0, |r| 1.0 / r as f64)).sum::<f64>() / n;
        let r1 = ranks.iter().filter(|r| **r == Some(1)).count() as f64 / n;
        let r10 = ranks.iter().filter(|r| r.is_some()).count() as f64 / n;
        results.insert(
            file.to_string(),
            serde_json::json!({"queries": queries.len(), "MRR@10": round(mrr), "R@1": round(r1), "R@10": round(r10),
                "no_terms": no_terms, "ms_per_query": round(started.elapsed().as_secs_f64() * 1000.0 / n)}),
        );
    }
    Ok(serde_json::json!({
        "chunks": chunks.len(), "index_kb": index_bytes / 1024, "index_s": round(index_s),
        "chunk_languages": languages, "query_languages": store_languages.iter().map(|l| l.code()).collect::<Vec<_>>(),
        "results": results,
    }))
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
