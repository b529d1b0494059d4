//! `trove-dev scale-build` / `scale-measure`: trove at 100k and 1M chunks.
//!
//! The store is built through the real engine (the real chunker, SQLite,
//! keyword rows, HNSW index, the model's fingerprint and token counts) from
//! copies of a real corpus, each copy after the first with a share of its
//! words replaced by other words of the corpus. Only the passage vectors are
//! not computed by the model (a million passages would take it 12 hours
//! here): a passage's vector is the unit mean of its words' real vectors
//! (each word embedded once by the model), so copies that share words lie
//! near each other, as real notes on one topic do, and a real query embedding
//! finds them. Each measurement then runs in a fresh child process with the
//! real model, next to the raw components on the same files: usearch on
//! the saved index file, FTS5 on the same match expression.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use trove::analysis::{Analyzer, Language};
use trove::{Engine, EngineConfig, IndexOptions, SearchMode, SearchOptions};

type Res<T> = Result<T, Box<dyn std::error::Error>>;

#[derive(clap::Args)]
pub struct BuildArgs {
    /// Eval set whose `corpus/` is copied (e.g. ../shared/eval/pydocs).
    set: PathBuf,
    /// Folder for the copies (`notes/`) and the store (`store/`).
    #[arg(long)]
    out: PathBuf,
    /// Copies of the corpus, the first unchanged (pydocs: 8,873 chunks each).
    #[arg(long)]
    copies: usize,
    /// Share of the words replaced in each later copy.
    #[arg(long, default_value_t = 0.2)]
    perturb: f64,
}

#[derive(clap::Args)]
pub struct MeasureArgs {
    /// The eval set whose queries are searched.
    set: PathBuf,
    /// The folder `scale-build` wrote.
    #[arg(long)]
    out: PathBuf,
    /// Queries timed per mode.
    #[arg(long, default_value_t = 200)]
    queries: usize,
    /// Also time rebuilding the HNSW index from SQLite (deletes its file).
    #[arg(long)]
    rebuild: bool,
}

#[derive(clap::Args)]
pub struct ChildArgs {
    /// `open`, `search`, `model`, `rebuild` or `add`.
    part: String,
    set: PathBuf,
    #[arg(long)]
    out: PathBuf,
    #[arg(long, default_value_t = 200)]
    queries: usize,
}

/// A word: a run of letters, lower-cased (what the vectors are made of).
fn words(text: &str) -> impl Iterator<Item = &str> {
    text.split(|c: char| !c.is_alphabetic())
        .filter(|w| !w.is_empty())
}

/// splitmix64: a deterministic stream for the perturbation.
fn mix(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
    x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^ (x >> 31)
}

fn corpus_files(dir: &Path) -> Res<Vec<PathBuf>> {
    let mut files = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir)? {
            let path = entry?.path();
            if path.is_dir() {
                stack.push(path);
            } else {
                files.push(path);
            }
        }
    }
    files.sort();
    Ok(files)
}

/// Copy `copy` of `text`: each word replaced with probability `share` by a
/// word of `vocabulary`, chosen by position (the same build twice writes the
/// same files).
fn perturbed(text: &str, copy: usize, file: usize, share: f64, vocabulary: &[String]) -> String {
    if copy == 0 {
        return text.to_string();
    }
    let threshold = (share * u64::MAX as f64) as u64;
    let mut out = String::with_capacity(text.len());
    let mut word_start = None;
    let mut position = 0u64;
    let seed = mix(copy as u64) ^ mix((file as u64 + 1) << 20);
    let flush = |out: &mut String, word: &str, position: u64| {
        let r = mix(seed ^ position);
        if r < threshold {
            out.push_str(&vocabulary[(mix(r) % vocabulary.len() as u64) as usize]);
        } else {
            out.push_str(word);
        }
    };
    for (i, c) in text.char_indices() {
        if c.is_alphabetic() {
            word_start.get_or_insert(i);
        } else {
            if let Some(start) = word_start.take() {
                flush(&mut out, &text[start..i], position);
                position += 1;
            }
            out.push(c);
        }
    }
    if let Some(start) = word_start {
        flush(&mut out, &text[start..], position);
    }
    out
}

/// Every word's real vector, embedded by the model in batches.
fn word_vectors(config: &EngineConfig, vocabulary: &[String]) -> Res<HashMap<String, Vec<f32>>> {
    let temp = tempfile::tempdir()?;
    let mut config = config.clone();
    config.store_dir = temp.path().join("store");
    let engine = Engine::open(config)?;
    let mut table = HashMap::with_capacity(vocabulary.len());
    for batch in vocabulary.chunks(256) {
        let texts: Vec<&str> = batch.iter().map(String::as_str).collect();
        for (word, vector) in batch.iter().zip(engine.embed(&texts)?) {
            table.insert(word.clone(), vector);
        }
    }
    Ok(table)
}

/// The unit mean of the passage's words' vectors.
fn passage_vector(table: &HashMap<String, Vec<f32>>, dimensions: usize, text: &str) -> Vec<f32> {
    let mut sum = vec![0.0f32; dimensions];
    for word in words(text) {
        if let Some(v) = table.get(&word.to_lowercase()) {
            sum.iter_mut().zip(v).for_each(|(s, x)| *s += x);
        }
    }
    let norm = sum.iter().map(|x| x * x).sum::<f32>().sqrt();
    if norm == 0.0 {
        sum[0] = 1.0;
    } else {
        sum.iter_mut().for_each(|x| *x /= norm);
    }
    sum
}

fn store_config(config: &EngineConfig, out: &Path) -> EngineConfig {
    let mut config = config.clone();
    config.store_dir = out.join("store");
    config.background_embedding = false;
    config.wait_for_embedding = true;
    config
}

/// Writes the copies and indexes them into `out/store`.
pub fn build(config: EngineConfig, args: &BuildArgs, json: bool) -> Res<()> {
    let corpus = args.set.join("corpus");
    let files = corpus_files(&corpus)?;
    let texts: Vec<String> = files
        .iter()
        .map(std::fs::read_to_string)
        .collect::<Result<_, _>>()?;
    let mut vocabulary: Vec<String> = texts
        .iter()
        .flat_map(|t| words(t).map(str::to_lowercase))
        .collect();
    vocabulary.sort();
    vocabulary.dedup();
    let started = Instant::now();
    let table = Arc::new(word_vectors(&config, &vocabulary)?);
    let dimensions = table.values().next().map_or(0, Vec::len);
    let vocabulary_s = started.elapsed().as_secs_f64();
    eprintln!("{} words embedded in {vocabulary_s:.1} s", vocabulary.len());

    let notes = args.out.join("notes");
    let started = Instant::now();
    for copy in 0..args.copies {
        for (i, (path, text)) in files.iter().zip(&texts).enumerate() {
            let relative = path.strip_prefix(&corpus)?;
            let target = notes.join(format!("copy{copy:04}")).join(relative);
            if target.exists() {
                continue;
            }
            std::fs::create_dir_all(target.parent().expect("a file has a folder"))?;
            std::fs::write(&target, perturbed(text, copy, i, args.perturb, &vocabulary))?;
        }
    }
    let write_s = started.elapsed().as_secs_f64();

    let passages: trove::PassageVectors = {
        let table = table.clone();
        Box::new(move |texts: &[&str]| {
            texts
                .iter()
                .map(|t| passage_vector(&table, dimensions, t))
                .collect()
        })
    };
    let engine = Engine::open_with_passage_vectors(store_config(&config, &args.out), passages)?;
    let started = Instant::now();
    let mut last = Instant::now();
    let progress = &mut |p: &trove::IndexProgress| {
        if last.elapsed() > Duration::from_secs(30) {
            last = Instant::now();
            eprintln!(
                "{:.0} s: {} of {} files, {} chunks queued",
                started.elapsed().as_secs_f64(),
                p.files_done,
                p.files_total,
                p.chunks_queued
            );
        }
        true
    };
    let summary = engine.index_path(
        &notes,
        IndexOptions {
            progress: Some(progress),
            cancel: None,
        },
    )?;
    let index_s = started.elapsed().as_secs_f64();
    let stats = engine.stats()?;
    let report = json!({
        "copies": args.copies,
        "files": stats.documents,
        "chunks": stats.chunks,
        "vectors": stats.vectors,
        "failed": summary.files_failed,
        "vocabulary_words": vocabulary.len(),
        "vocabulary_embed_s": vocabulary_s,
        "write_notes_s": write_s,
        "index_s": index_s,
        "store_bytes": stats.store_bytes,
    });
    print(&report, json);
    Ok(())
}

/// Runs each part in a child process of its own and prints one report.
pub fn measure(args: &MeasureArgs, json: bool) -> Res<()> {
    let mut report = serde_json::Map::new();
    let mut parts = vec!["model", "open", "search", "add"];
    if args.rebuild {
        parts.push("rebuild");
    }
    for part in parts {
        let output = Command::new(std::env::current_exe()?)
            .args(
                std::env::args()
                    .skip(1)
                    .take_while(|a| a != "scale-measure"),
            )
            .arg("scale-child")
            .arg(part)
            .arg(&args.set)
            .arg("--out")
            .arg(&args.out)
            .arg("--queries")
            .arg(args.queries.to_string())
            .output()?;
        if !output.status.success() {
            return Err(format!(
                "scale-child {part} failed: {}",
                String::from_utf8_lossy(&output.stderr)
            )
            .into());
        }
        let value: Value = serde_json::from_slice(&output.stdout)?;
        eprintln!("{part}: {value}");
        report.insert(part.to_string(), value);
    }
    print(&Value::Object(report), json);
    Ok(())
}

/// One part, in this process: prints its JSON.
pub fn child(config: EngineConfig, args: &ChildArgs) -> Res<()> {
    let config = store_config(&config, &args.out);
    let value = match args.part.as_str() {
        "model" => {
            // The model's share of opening: an engine on an empty store.
            let temp = tempfile::tempdir()?;
            let mut empty = config.clone();
            empty.store_dir = temp.path().join("store");
            let started = Instant::now();
            let _engine = Engine::open(empty)?;
            json!({ "open_ms": ms(started.elapsed()), "rss_mb": rss_mb("VmRSS") })
        }
        "open" => {
            let queries = read_queries(&args.set, 1)?;
            let (query, _) = queries.first().ok_or("the eval set has no queries")?;
            let started = Instant::now();
            let engine = Engine::open(config)?;
            let open_ms = ms(started.elapsed());
            let rss_open = rss_mb("VmRSS");
            // What a host waits for its first answer to a search box.
            engine.search(query, &SearchOptions::default())?;
            let first_hybrid_ms = ms(started.elapsed());
            let stats = engine.stats()?;
            json!({
                "open_ms": open_ms,
                "open_to_first_hybrid_search_ms": first_hybrid_ms,
                "rss_mb": rss_open,
                "chunks": stats.chunks,
                "store_bytes": stats.store_bytes,
                "bytes_per_chunk": stats.store_bytes as f64 / stats.chunks.max(1) as f64,
            })
        }
        "search" => search(config, args)?,
        "add" => add(config)?,
        "rebuild" => {
            for entry in std::fs::read_dir(&config.store_dir)? {
                let path = entry?.path();
                let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
                if name.starts_with("vectors") && name != "vectors.lock" {
                    std::fs::remove_file(&path)?;
                }
            }
            let started = Instant::now();
            let engine = Engine::open(config)?;
            json!({
                "open_with_rebuild_ms": ms(started.elapsed()),
                "vectors": engine.stats()?.vectors,
                "peak_rss_mb": rss_mb("VmHWM"),
            })
        }
        other => return Err(format!("unknown part {other}").into()),
    };
    println!("{value}");
    Ok(())
}

fn search(config: EngineConfig, args: &ChildArgs) -> Res<Value> {
    let store_dir = config.store_dir.clone();
    let engine = Engine::open(config)?;
    let rss_open = rss_mb("VmRSS");
    let queries = read_queries(&args.set, args.queries)?;
    let mut modes = serde_json::Map::new();
    for mode in [SearchMode::Hybrid, SearchMode::Keyword, SearchMode::Vector] {
        let options = SearchOptions {
            k: 10,
            mode,
            ..Default::default()
        };
        for (q, _) in queries.iter().take(10) {
            engine.search(q, &options)?;
        }
        let mut times = Vec::with_capacity(queries.len());
        let mut reciprocal_ranks = 0.0;
        for (q, gold) in &queries {
            let started = Instant::now();
            let hits = engine.search(q, &options)?;
            times.push(ms(started.elapsed()));
            // Any copy of the gold page counts: they are the same page.
            let rank = hits.iter().position(|h| {
                h.path
                    .as_deref()
                    .is_some_and(|p| p.ends_with(gold.as_str()))
            });
            reciprocal_ranks += rank.map_or(0.0, |r| 1.0 / (r + 1) as f64);
        }
        let mut timing = percentiles(&mut times);
        timing["mrr_at_10_any_copy"] = json!(reciprocal_ranks / queries.len().max(1) as f64);
        modes.insert(mode.as_str().to_string(), timing);
    }

    // The query embedding alone (the engine's path: MiniLM embeds queries
    // and passages alike).
    let mut vectors = Vec::with_capacity(queries.len());
    let mut embed_times = Vec::with_capacity(queries.len());
    for (q, _) in &queries {
        let started = Instant::now();
        vectors.push(engine.embed(&[q.as_str()])?.remove(0));
        embed_times.push(ms(started.elapsed()));
    }
    let rss_searching = rss_mb("VmRSS");
    let (rss_file, rss_anon) = (rss_mb("RssFile"), rss_mb("RssAnon"));
    drop(engine);

    Ok(json!({
        "queries": queries.len(),
        "rss_after_open_mb": rss_open,
        "rss_after_searching_mb": rss_searching,
        // Of which mapped file pages (the vector file, shared with the page
        // cache and given back under pressure) and the process's own memory.
        "rss_file_after_searching_mb": rss_file,
        "rss_anon_after_searching_mb": rss_anon,
        "peak_rss_mb": rss_mb("VmHWM"),
        "modes": modes,
        "query_embedding": percentiles(&mut embed_times),
        "raw_usearch": raw_usearch(&store_dir, &vectors)?,
        "raw_fts5": raw_fts5(&store_dir, &queries)?,
    }))
}

/// usearch on the saved index file, memory-mapped, 100 neighbours.
fn raw_usearch(store: &Path, vectors: &[Vec<f32>]) -> Res<Value> {
    let sidecar: Value = serde_json::from_slice(&std::fs::read(store.join("vectors.json"))?)?;
    let file = sidecar["file"].as_str().ok_or("sidecar without a file")?;
    let quantization = match sidecar["quantization"].as_str() {
        Some("f32") => usearch::ScalarKind::F32,
        Some("i8") => usearch::ScalarKind::I8,
        _ => usearch::ScalarKind::F16,
    };
    let options = usearch::IndexOptions {
        dimensions: vectors.first().map_or(0, Vec::len),
        metric: usearch::MetricKind::Cos,
        quantization,
        connectivity: 16,
        expansion_add: 128,
        expansion_search: 256,
        multi: false,
    };
    let index = usearch::Index::new(&options)?;
    index.view(store.join(file).to_str().ok_or("path not UTF-8")?)?;
    index.change_expansion_search(256);
    let mut times = Vec::with_capacity(vectors.len());
    for v in vectors {
        let started = Instant::now();
        index.search(v, 100)?;
        times.push(ms(started.elapsed()));
    }
    Ok(percentiles(&mut times))
}

/// FTS5 alone, on the match expression trove builds (English stemming),
/// top 100 of the words table, as trove asks it.
fn raw_fts5(store: &Path, queries: &[(String, String)]) -> Res<Value> {
    let conn = rusqlite::Connection::open_with_flags(
        store.join("trove.db"),
        rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY,
    )?;
    let analyzer = Analyzer::default();
    let stemming = [None, Language::from_code("en")];
    let mut stmt = conn.prepare(
        "SELECT rowid, bm25(chunks_words) FROM chunks_words WHERE chunks_words MATCH ?1
         ORDER BY rank LIMIT 100",
    )?;
    let mut times = Vec::with_capacity(queries.len());
    for (q, _) in queries {
        let Some(expression) = analyzer.query(q, &stemming)?.fts5_words() else {
            continue;
        };
        let started = Instant::now();
        let rows: Vec<i64> = stmt
            .query_map([&expression], |r| r.get(0))?
            .collect::<Result<_, _>>()?;
        times.push(ms(started.elapsed()));
        drop(rows);
    }
    Ok(percentiles(&mut times))
}

/// Adding one note to the big store, and removing it.
fn add(config: EngineConfig) -> Res<Value> {
    let engine = Engine::open(config)?;
    let text = "# Scale probe\n\nA note added to a big store: the quokka rests \
                under the eucalyptus while the kettle boils.\n";
    let started = Instant::now();
    engine.add_text("scale-probe", "Scale probe", text, &Default::default())?;
    let add_ms = ms(started.elapsed());
    let found = engine
        .search("quokka eucalyptus", &SearchOptions::default())?
        .first()
        .is_some_and(|h| h.document_id == "scale-probe");
    let started = Instant::now();
    engine.remove_document("scale-probe")?;
    let remove_ms = ms(started.elapsed());
    Ok(json!({ "add_note_ms": add_ms, "found": found, "remove_note_ms": remove_ms }))
}

/// Each query with the end of its gold page's path (`/library/x.rst.txt`).
fn read_queries(set: &Path, limit: usize) -> Res<Vec<(String, String)>> {
    let text = std::fs::read_to_string(set.join("queries.tsv"))?;
    Ok(text
        .lines()
        .skip(1)
        .filter_map(|l| {
            let mut fields = l.split('\t').skip(1);
            let query = fields.next()?;
            let gold = fields.next()?.strip_prefix("corpus")?;
            Some((query.to_string(), gold.to_string()))
        })
        .take(limit)
        .collect())
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn percentiles(times: &mut [f64]) -> Value {
    times.sort_by(f64::total_cmp);
    let at = |q: f64| {
        if times.is_empty() {
            0.0
        } else {
            times[((times.len() - 1) as f64 * q).round() as usize]
        }
    };
    json!({ "p50_ms": at(0.5), "p95_ms": at(0.95) })
}

/// A line of /proc/self/status, in MB.
fn rss_mb(field: &str) -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with(field))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kb| kb.parse::<f64>().ok())
        })
        .map_or(0.0, |kb| kb / 1024.0)
}

fn print(value: &Value, json: bool) {
    if json {
        println!("{value}");
    } else {
        println!(
            "{}",
            serde_json::to_string_pretty(value).expect("JSON prints")
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn perturbation_replaces_about_the_share_and_keeps_the_rest() {
        let vocabulary = vec!["alpha".to_string(), "beta".to_string()];
        let text = "one two three four five six seven eight nine ten. ".repeat(50);
        assert_eq!(perturbed(&text, 0, 0, 0.2, &vocabulary), text);
        let copy = perturbed(&text, 1, 0, 0.2, &vocabulary);
        let replaced = words(&copy)
            .filter(|w| *w == "alpha" || *w == "beta")
            .count();
        assert!((70..=130).contains(&replaced), "{replaced} of 500");
        assert_eq!(copy.matches('.').count(), 50);
        assert_eq!(copy, perturbed(&text, 1, 0, 0.2, &vocabulary));
        assert_ne!(copy, perturbed(&text, 2, 0, 0.2, &vocabulary));
    }

    #[test]
    fn passage_vectors_are_unit_means_of_known_words() {
        let table: HashMap<String, Vec<f32>> = [
            ("garden".to_string(), vec![1.0, 0.0]),
            ("tomato".to_string(), vec![0.0, 1.0]),
        ]
        .into();
        let v = passage_vector(&table, 2, "Garden, tomato and zzz");
        assert!((v[0] - v[1]).abs() < 1e-6 && (v[0] * v[0] + v[1] * v[1] - 1.0).abs() < 1e-6);
        assert_eq!(passage_vector(&table, 2, "nothing known"), vec![1.0, 0.0]);
    }
}
