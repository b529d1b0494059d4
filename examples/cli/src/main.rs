//! `trove`: index a folder, search it, and ask it questions, on the bundled models.

mod bench;
mod eval;

use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use trove::{AskOptions, Engine, EngineConfig, IndexOptions, SearchMode, SearchOptions};

/// Private question answering over your own documents, on-device.
///
/// Exit codes: 0 ok, 1 failure, 2 usage error.
#[derive(Parser)]
#[command(name = "trove", version)]
struct Cli {
    /// Knowledge base directory.
    #[arg(long, global = true, default_value = ".trove")]
    store: PathBuf,
    /// Models directory (default: $TROVE_MODELS, else ./models).
    #[arg(long, global = true)]
    models: Option<PathBuf>,
    /// Threads for embedding and generation (0 = all cores).
    #[arg(long, global = true, default_value_t = 0)]
    threads: usize,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Index files and folders (only changed files are re-embedded).
    Index {
        paths: Vec<PathBuf>,
        /// Print the summary as one JSON object.
        #[arg(long)]
        json: bool,
    },
    /// Search the knowledge base.
    Search {
        query: String,
        #[arg(short, default_value_t = 5)]
        k: usize,
        #[arg(long, default_value = "hybrid")]
        mode: String,
        #[arg(long)]
        json: bool,
    },
    /// Answer a question from the knowledge base, citing sources.
    Ask {
        question: String,
        #[arg(short, default_value_t = 3)]
        k: usize,
        #[arg(long, default_value_t = 256)]
        max_tokens: u32,
        #[arg(long, default_value_t = 0.0)]
        temperature: f32,
        #[arg(long, default_value_t = 42)]
        seed: u32,
        #[arg(long)]
        json: bool,
    },
    /// Show what the store holds.
    Status {
        #[arg(long)]
        json: bool,
    },
    /// Remove a document, or everything under a folder.
    Forget { path: PathBuf },
    /// Retrieval metrics (MRR@10, R@1, R@10) per mode on an eval set.
    Eval(eval::EvalArgs),
    /// Speed next to the raw components (ONNX Runtime, llama.cpp), as JSON.
    Bench(bench::BenchArgs),
    /// Child process of `bench`: times one embedding path.
    #[command(hide = true)]
    BenchEmbedding(bench::EmbeddingArgs),
    /// Child process of `bench`: one ask, then its peak memory.
    #[command(hide = true)]
    BenchAskPeakRss,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("trove: {e}");
            ExitCode::from(1)
        }
    }
}

fn models_dir(cli: &Cli) -> PathBuf {
    cli.models
        .clone()
        .or_else(|| std::env::var_os("TROVE_MODELS").map(PathBuf::from))
        .unwrap_or_else(|| PathBuf::from("models"))
}

fn config(cli: &Cli) -> EngineConfig {
    let mut config = EngineConfig::new(&cli.store, models_dir(cli));
    config.threads = cli.threads;
    config
}

fn run(cli: Cli) -> Result<(), Box<dyn std::error::Error>> {
    match &cli.command {
        Command::Eval(args) => eval::run(config(&cli), args),
        Command::Bench(args) => bench::run(config(&cli), args),
        Command::BenchEmbedding(args) => bench::embedding_child(config(&cli), args),
        Command::BenchAskPeakRss => bench::ask_peak_rss_child(config(&cli)),
        Command::Index { paths, json } => {
            if paths.is_empty() {
                return Err("give at least one file or folder to index".into());
            }
            let engine = Engine::open(config(&cli))?;
            let tty = std::io::stderr().is_terminal() && !json;
            let mut progress = |p: &trove::IndexProgress| {
                if tty {
                    eprint!(
                        "\r{}/{} files, {} chunks embedded, {} reused",
                        p.files_done, p.files_total, p.chunks_embedded, p.chunks_reused
                    );
                }
            };
            let summary = engine.index_paths(
                paths,
                IndexOptions {
                    progress: Some(&mut progress),
                    cancel: None,
                },
            )?;
            if tty {
                eprintln!();
            }
            if *json {
                println!("{}", serde_json::to_string(&summary)?);
            } else {
                println!(
                    "{} files: {} indexed, {} unchanged, {} removed, {} failed; {} chunks embedded, {} reused; {:.1} s",
                    summary.files_seen,
                    summary.files_indexed,
                    summary.files_unchanged,
                    summary.files_removed,
                    summary.files_failed,
                    summary.chunks_embedded,
                    summary.chunks_reused,
                    summary.seconds
                );
                for f in &summary.failures {
                    println!("  skipped {}: {}", f.path, f.reason);
                }
            }
            Ok(())
        }
        Command::Search {
            query,
            k,
            mode,
            json,
        } => {
            let mode = SearchMode::parse(mode).ok_or("--mode must be hybrid, vector or keyword")?;
            let engine = Engine::open(config(&cli))?;
            let options = SearchOptions {
                k: *k,
                mode,
                ..Default::default()
            };
            let hits = engine.search(query, &options)?;
            if *json {
                let results: Vec<_> = hits.iter().map(hit_json).collect();
                println!(
                    "{}",
                    serde_json::json!({"query": query, "results": results})
                );
            } else {
                for (i, hit) in hits.iter().enumerate() {
                    println!("{}. {} ({:.4})", i + 1, location(hit), hit.score);
                    println!("   {}", snippet(&hit.text, 160));
                }
            }
            Ok(())
        }
        Command::Ask {
            question,
            k,
            max_tokens,
            temperature,
            seed,
            json,
        } => {
            let engine = Engine::open(config(&cli))?;
            let mut options = AskOptions {
                k: *k,
                ..Default::default()
            };
            options.generation.max_tokens = *max_tokens;
            options.generation.temperature = *temperature;
            options.generation.seed = *seed;
            let stream = !json;
            let answer = engine.ask(question, &options, &mut |piece| {
                if stream {
                    print!("{piece}");
                    let _ = std::io::stdout().flush();
                }
                true
            })?;
            if *json {
                let citations: Vec<_> = answer
                    .citations
                    .iter()
                    .map(|c| {
                        serde_json::json!({
                            "n": c.n,
                            "path": c.hit.path.clone().unwrap_or(c.hit.document_id.clone()),
                            "page": c.hit.page,
                            "lines": c.hit.lines.map(|(a, b)| vec![a, b]),
                            "inferred": c.inferred,
                        })
                    })
                    .collect();
                let t = &answer.timings;
                println!(
                    "{}",
                    serde_json::json!({
                        "answer": answer.text,
                        "citations": citations,
                        "timings": {
                            "retrieval_ms": t.retrieval_ms,
                            "prompt_tokens": t.prompt_tokens,
                            "prefill_ms": t.prefill_ms,
                            "ttft_ms": t.ttft_ms,
                            "decode_tokens": t.decode_tokens,
                            "decode_tok_s": t.decode_tok_s,
                        }
                    })
                );
            } else {
                println!("\n\nSources:");
                for (i, hit) in answer.passages.iter().enumerate() {
                    let mark = match answer.citations.iter().find(|c| c.n == i + 1) {
                        Some(c) if c.inferred => "~",
                        Some(_) => "*",
                        None => " ",
                    };
                    println!("  [{}]{mark} {}", i + 1, location(hit));
                }
                if answer.citations.iter().any(|c| c.inferred) {
                    println!(
                        "  ~ the model cited nothing; trove matched its answer to this source"
                    );
                }
                if !answer.dropped.is_empty() {
                    println!(
                        "  ({} more passages did not fit the context window)",
                        answer.dropped.len()
                    );
                }
            }
            Ok(())
        }
        Command::Status { json } => {
            let engine = Engine::open(config(&cli))?;
            let s = engine.stats()?;
            if *json {
                println!(
                    "{}",
                    serde_json::json!({
                        "documents": s.documents,
                        "chunks": s.chunks,
                        "embeddings": s.embeddings,
                        "vectors": s.vectors,
                        "failures": s.failures,
                        "store_bytes": s.store_bytes,
                        "store": s.store_dir,
                        "embedding_model": {"name": s.embedding_model.name, "dimensions": s.embedding_model.dimensions, "sha256": s.embedding_model.sha256},
                        "llm": s.llm_path,
                        "last_index_run": serde_json::from_str::<serde_json::Value>(&s.last_index_run).unwrap_or(serde_json::Value::Null),
                    })
                );
            } else {
                println!("store       {}", s.store_dir.display());
                println!("documents   {}", s.documents);
                println!(
                    "chunks      {} ({} distinct embeddings, {} vectors)",
                    s.chunks, s.embeddings, s.vectors
                );
                println!("failures    {}", s.failures);
                println!("size        {:.1} MB", s.store_bytes as f64 / 1e6);
                println!(
                    "embedding   {} ({} dims, sha256 {})",
                    s.embedding_model.name,
                    s.embedding_model.dimensions,
                    &s.embedding_model.sha256[..16]
                );
                println!("llm         {}", s.llm_path.display());
                println!("last run    {}", s.last_index_run);
            }
            Ok(())
        }
        Command::Forget { path } => {
            let engine = Engine::open(config(&cli))?;
            let removed = engine.remove_path(path)?;
            println!("removed {removed} documents");
            Ok(())
        }
    }
}

fn location(hit: &trove::Hit) -> String {
    let mut s = hit.path.clone().unwrap_or_else(|| hit.document_id.clone());
    if let Some(page) = hit.page {
        s.push_str(&format!(" page {page}"));
    } else if let Some((a, b)) = hit.lines {
        s.push_str(&format!(":{a}-{b}"));
    }
    s
}

fn snippet(text: &str, max: usize) -> String {
    let flat: String = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if flat.chars().count() <= max {
        flat
    } else {
        format!("{}…", flat.chars().take(max).collect::<String>())
    }
}

fn hit_json(hit: &trove::Hit) -> serde_json::Value {
    serde_json::json!({
        "path": hit.path.clone().unwrap_or(hit.document_id.clone()),
        "score": hit.score,
        "title": hit.title,
        "page": hit.page,
        "lines": hit.lines.map(|(a, b)| vec![a, b]),
        "text": hit.text,
    })
}
