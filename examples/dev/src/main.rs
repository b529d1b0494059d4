//! `trove-dev`: measuring trove, kept out of the `trove` binary users run
//! (it links a bare ONNX Runtime session and tokenizer for comparison).
//!
//! - `eval DIR`: retrieval metrics on an eval set (`../shared/eval`).
//! - `eval-answers DIR`: whether answers name, cite or decline rightly.
//! - `eval-dialogues FILE`: whether follow-up questions find the right note.
//! - `fit-grounding`: fits the decline decision on `eval-answers --details`.
//! - `bench`: speed next to the raw components, as JSON.
//! - `bench-llm`: the answer model next to llama.cpp's bare loop, and the
//!   KV cache types' memory and speed at long contexts.
//! - `watch-latency`: save-to-searchable latency of the folder watcher.
//! - `scale-build`, `scale-measure`: a store of 100k or 1M chunks, and its
//!   open time, memory, latency and size next to raw usearch and FTS5.

mod bench;
mod eval;
mod eval_answers;
mod eval_dialogues;
mod fit_grounding;
#[path = "../../cli/src/global.rs"]
mod global;
mod latency;
mod llm_bench;
mod scale;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// Developer tools: evaluation and benchmarks of trove.
#[derive(Parser)]
#[command(name = "trove-dev", version)]
struct Cli {
    /// `eval` indexes into --store when it is given, else into a temporary store.
    #[command(flatten)]
    global: global::GlobalArgs,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Retrieval metrics (MRR@10, R@1, R@10) per mode on an eval set
    /// (corpus/ + queries.tsv); indexes into a temporary store unless --store is given.
    Eval(eval::EvalArgs),
    /// Answer metrics on an eval set: names and cites the gold document,
    /// declines off-set questions (--off-set FILE).
    EvalAnswers(eval_answers::EvalAnswersArgs),
    /// Follow-up retrieval over a notes folder: dialogues, one turn a line.
    EvalDialogues(eval_dialogues::EvalDialoguesArgs),
    /// Fits the grounding weights on `eval-answers --details` files.
    FitGrounding(fit_grounding::FitArgs),
    /// Speed next to the raw components (ONNX Runtime, llama.cpp), as JSON.
    Bench(bench::BenchArgs),
    /// The answer model next to llama.cpp's bare loop (interleaved rounds,
    /// median of ratios), and each KV cache type's memory and decode speed.
    BenchLlm(llm_bench::LlmBenchArgs),
    /// Child process of `bench-llm`: one context size and cache type.
    #[command(hide = true)]
    BenchKvChild(llm_bench::KvChildArgs),
    /// The follow-up part of `bench` alone, over a notes folder.
    BenchFollowUp(bench::FollowUpArgs),
    /// Child process of `bench`: times one embedding path.
    #[command(hide = true)]
    BenchEmbedding(bench::EmbeddingArgs),
    /// Child process of `bench`: one ask, then its peak memory.
    #[command(hide = true)]
    BenchAskPeakRss,
    /// Save-to-searchable latency of the watcher in a folder of generated notes.
    WatchLatency(latency::LatencyArgs),
    /// Builds a big store from perturbed copies of an eval set's corpus
    /// (passage vectors from the words' real vectors, not the model).
    ScaleBuild(scale::BuildArgs),
    /// Open time, memory, search latency, size, adding a note, rebuilding,
    /// each in a child process, next to raw usearch and FTS5.
    ScaleMeasure(scale::MeasureArgs),
    /// Child process of `scale-measure`: one part.
    #[command(hide = true)]
    ScaleChild(scale::ChildArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let config = cli.global.config();
    let json = cli.global.json;
    let result = match &cli.command {
        Command::Eval(args) => eval::run(config, cli.global.store.clone(), args, json),
        Command::EvalAnswers(args) => {
            eval_answers::run(config, cli.global.store.clone(), args, json)
        }
        Command::EvalDialogues(args) => eval_dialogues::run(config, cli.global.store.clone(), args),
        Command::FitGrounding(args) => fit_grounding::run(args, json),
        Command::Bench(args) => bench::run(config, args, json),
        Command::BenchFollowUp(args) => {
            bench::follow_up_alone(config, cli.global.store.clone(), args, json)
        }
        Command::BenchEmbedding(args) => bench::embedding_child(config, args),
        Command::BenchLlm(args) => llm_bench::run(config, args, json),
        Command::BenchKvChild(args) => llm_bench::kv_child(config, args),
        Command::BenchAskPeakRss => bench::ask_peak_rss_child(config),
        Command::WatchLatency(args) => latency::run(config, args, json),
        Command::ScaleBuild(args) => scale::build(config, args, json),
        Command::ScaleMeasure(args) => scale::measure(args, json),
        Command::ScaleChild(args) => scale::child(config, args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("trove-dev: error: {e}");
            ExitCode::from(1)
        }
    }
}
