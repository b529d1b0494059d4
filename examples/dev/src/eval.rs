//! `trove-dev eval DIR`: known-item retrieval metrics on a set in the
//! `../shared/eval` format (`corpus/` + `queries.tsv` with qid, query, gold),
//! for every query file of the set (`queries_en.tsv`: English questions over
//! translated pages) after indexing it once.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::Instant;

use trove::{Engine, EngineConfig, IndexOptions, SearchMode, SearchOptions};

#[derive(clap::Args)]
pub struct EvalArgs {
    /// The eval set directory.
    dir: PathBuf,
    /// Target chunk size in model tokens (default: the engine's).
    #[arg(long)]
    chunk_tokens: Option<usize>,
    /// Embed chunk text without the title/heading prefix.
    #[arg(long)]
    no_prefix: bool,
    /// Index keyword-first and score without embedding what is queued (a
    /// store partly embedded: keyword evidence stands in for the rest).
    #[arg(long)]
    no_embed: bool,
}

struct Query {
    qid: String,
    text: String,
    gold: PathBuf,
}

/// Indexes the set's corpus into `store` (a temporary store when `None`),
/// then prints the metrics per mode; `json`: one object.
pub fn run(
    mut config: EngineConfig,
    store: Option<PathBuf>,
    args: &EvalArgs,
    json: bool,
) -> Result<(), Box<dyn std::error::Error>> {
    let dir = std::fs::canonicalize(&args.dir)
        .map_err(|e| format!("cannot open eval set {}: {e}", args.dir.display()))?;
    let query_files = query_files(&dir)?;
    let temp = tempfile::tempdir()?;
    config.store_dir = store.unwrap_or_else(|| temp.path().join("store"));
    if let Some(tokens) = args.chunk_tokens {
        config.chunking.target_tokens = tokens;
    }
    config.chunking.contextual_prefix = !args.no_prefix;
    if args.no_embed {
        config.wait_for_embedding = false;
        config.background_embedding = false;
    }
    let chunking = config.chunking.clone();
    let engine = Engine::open(config)?;
    let started = Instant::now();
    let summary = engine.index_path(dir.join("corpus"), IndexOptions::default())?;
    let index_s = started.elapsed().as_secs_f64();
    let stats = engine.stats()?;

    let mut sets = serde_json::Map::new();
    for (name, queries) in &query_files {
        if !json {
            println!("{name} ({} queries):", queries.len());
        }
        let modes = score(&engine, queries, json)?;
        sets.insert(
            name.clone(),
            serde_json::json!({"queries": queries.len(), "modes": modes}),
        );
    }
    let first = &query_files[0];
    let report = serde_json::json!({
        "set": dir.file_name().map(|n| n.to_string_lossy().into_owned()),
        "queries": first.1.len(),
        "documents": stats.documents,
        "chunks": stats.chunks,
        "chunk_target_tokens": chunking.target_tokens,
        "contextual_prefix": chunking.contextual_prefix,
        "index_seconds": round(index_s),
        "files_failed": summary.files_failed,
        "modes": sets[&first.0]["modes"],
        "query_files": sets,
    });
    if json {
        println!("{report}");
    } else {
        println!(
            "{} documents, {} chunks (target {} tokens), indexed in {:.1} s",
            stats.documents, stats.chunks, chunking.target_tokens, index_s
        );
    }
    Ok(())
}

/// MRR@10, R@1 and R@10 of `queries` in each mode.
fn score(
    engine: &Engine,
    queries: &[Query],
    json: bool,
) -> Result<serde_json::Map<String, serde_json::Value>, Box<dyn std::error::Error>> {
    let mut modes = serde_json::Map::new();
    for mode in [SearchMode::Keyword, SearchMode::Vector, SearchMode::Hybrid] {
        let options = SearchOptions {
            k: 10,
            mode,
            one_per_document: true,
            ..Default::default()
        };
        let started = Instant::now();
        let mut ranks: HashMap<String, Option<usize>> = HashMap::new();
        for q in queries {
            // A query the engine refuses (nothing to search for) finds nothing.
            let hits = match engine.search(&q.text, &options) {
                Err(e) if e.kind() == trove::ErrorKind::InvalidInput => Vec::new(),
                other => other?,
            };
            let rank = hits
                .iter()
                .position(|h| h.path.as_deref().map(Path::new) == Some(q.gold.as_path()))
                .map(|r| r + 1);
            ranks.insert(q.qid.clone(), rank);
        }
        let n = queries.len() as f64;
        let mrr = ranks
            .values()
            .map(|r| r.map_or(0.0, |r| 1.0 / r as f64))
            .sum::<f64>()
            / n;
        let r1 = ranks.values().filter(|r| **r == Some(1)).count() as f64 / n;
        let r10 = ranks.values().filter(|r| r.is_some()).count() as f64 / n;
        let ms_per_query = started.elapsed().as_secs_f64() * 1000.0 / n;
        modes.insert(
            mode.as_str().into(),
            serde_json::json!({"MRR@10": round(mrr), "R@1": round(r1), "R@10": round(r10), "ms_per_query": round(ms_per_query)}),
        );
        if !json {
            println!(
                "  {:<8} MRR@10 {:.3}  R@1 {:.3}  R@10 {:.3}  ({:.1} ms/query)",
                mode.as_str(),
                mrr,
                r1,
                r10,
                ms_per_query
            );
        }
    }
    Ok(modes)
}

fn round(x: f64) -> f64 {
    (x * 1000.0).round() / 1000.0
}

/// A query file's name without `.tsv`, and its queries.
type QueryFile = (String, Vec<Query>);

/// `queries.tsv` first, then the set's other query files (`queries_*.tsv`,
/// not the `*_meta.tsv` descriptions), each with its queries.
fn query_files(dir: &Path) -> Result<Vec<QueryFile>, Box<dyn std::error::Error>> {
    let mut names: Vec<String> = std::fs::read_dir(dir)?
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with("queries") && n.ends_with(".tsv") && !n.ends_with("_meta.tsv"))
        .collect();
    names.sort_by_key(|n| (n != "queries.tsv", n.clone()));
    if names.first().map(String::as_str) != Some("queries.tsv") {
        return Err(format!("no queries.tsv in {}", dir.display()).into());
    }
    names
        .into_iter()
        .map(|name| {
            let queries = read_queries(dir, &name)?;
            Ok((name.trim_end_matches(".tsv").to_string(), queries))
        })
        .collect()
}

fn read_queries(dir: &Path, name: &str) -> Result<Vec<Query>, Box<dyn std::error::Error>> {
    let path = dir.join(name);
    let text = std::fs::read_to_string(&path)
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let mut queries = Vec::new();
    for (i, line) in text.lines().enumerate().skip(1) {
        let fields: Vec<&str> = line.split('\t').collect();
        let [qid, query, gold] = fields[..] else {
            return Err(format!("{}:{}: expected qid, query, gold", path.display(), i + 1).into());
        };
        queries.push(Query {
            qid: qid.to_string(),
            text: query.to_string(),
            gold: dir.join(gold),
        });
    }
    Ok(queries)
}
