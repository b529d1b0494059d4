//! `trove-dev`: measuring trove, kept out of the `trove` binary users run
//! (it links a bare ONNX Runtime session and tokenizer for comparison).
//!
//! - `eval DIR`: retrieval metrics on an eval set (`../shared/eval`).
//! - `bench`: speed next to the raw components, as JSON.
//! - `watch-latency`: save-to-searchable latency of the folder watcher.

mod bench;
#[path = "../../cli/src/dirs.rs"]
mod dirs;
mod eval;
mod latency;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use trove::EngineConfig;

/// Developer tools: evaluation and benchmarks of trove.
#[derive(Parser)]
#[command(name = "trove-dev", version)]
struct Cli {
    /// Knowledge base directory (eval: index into it instead of a temporary store)
    #[arg(long, global = true, value_name = "DIR")]
    store: Option<PathBuf>,
    /// Models directory [default: $TROVE_MODELS, else the repository's models/]
    #[arg(long, global = true, value_name = "DIR")]
    models: Option<PathBuf>,
    /// Threads for embedding and generation (0 = all cores)
    #[arg(long, global = true, default_value_t = 0, value_name = "N")]
    threads: usize,
    /// One JSON object on one line
    #[arg(long, global = true)]
    json: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Retrieval metrics (MRR@10, R@1, R@10) per mode on an eval set
    /// (corpus/ + queries.tsv); indexes into a temporary store unless --store is given.
    Eval(eval::EvalArgs),
    /// Speed next to the raw components (ONNX Runtime, llama.cpp), as JSON.
    Bench(bench::BenchArgs),
    /// Child process of `bench`: times one embedding path.
    #[command(hide = true)]
    BenchEmbedding(bench::EmbeddingArgs),
    /// Child process of `bench`: one ask, then its peak memory.
    #[command(hide = true)]
    BenchAskPeakRss,
    /// Save-to-searchable latency of the watcher in a folder of generated notes.
    WatchLatency(latency::LatencyArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let mut config = EngineConfig::new(
        dirs::store_dir(cli.store.as_deref()),
        dirs::models_dir(cli.models.as_deref()),
    );
    config.threads = cli.threads;
    let json = cli.json;
    let result = match &cli.command {
        Command::Eval(args) => eval::run(config, cli.store.clone(), args, json),
        Command::Bench(args) => bench::run(config, args, json),
        Command::BenchEmbedding(args) => bench::embedding_child(config, args),
        Command::BenchAskPeakRss => bench::ask_peak_rss_child(config),
        Command::WatchLatency(args) => latency::run(config, args, json),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("trove-dev: error: {e}");
            ExitCode::from(1)
        }
    }
}
