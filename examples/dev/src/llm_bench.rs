//! `trove-dev bench-llm`: the answer model's speed next to llama.cpp's bare
//! loop (the speed anchor), and what each KV cache type costs and saves at
//! long contexts (memory planned and measured, decode speed).

use std::process::Command;

use trove::EngineConfig;
use trove::llm::{CacheType, GenerationOptions, Llm, LlmConfig, Passage};

use crate::bench::{models_dir, round};

type Res<T> = Result<T, Box<dyn std::error::Error>>;

/// Arguments of `bench-llm`.
#[derive(clap::Args)]
pub struct LlmBenchArgs {
    /// Context sizes for the KV cache comparison.
    #[arg(long, value_delimiter = ',', default_value = "2048,8192")]
    contexts: Vec<u32>,
    /// Leave out the KV cache comparison (the speed anchor alone).
    #[arg(long)]
    no_kv: bool,
}

/// Arguments of the hidden child that measures one context and cache type.
#[derive(clap::Args)]
pub struct KvChildArgs {
    #[arg(long)]
    context: u32,
    #[arg(long)]
    cache: String,
}

/// Runs the speed anchor and, unless `--no-kv`, the KV cache comparison
/// (each context size and cache type in a fresh child process, so each
/// peak resident memory is its own).
pub fn run(config: EngineConfig, args: &LlmBenchArgs, json: bool) -> Res<()> {
    let threads = config.resolved_threads();
    let mut report = serde_json::json!({
        "threads": threads,
        "generation": generation(&config, threads)?,
    });
    if !args.no_kv {
        let mut rows = Vec::new();
        for &context in &args.contexts {
            for cache in [CacheType::F16, CacheType::Q8_0, CacheType::Q4_0] {
                let out = Command::new(std::env::current_exe()?)
                    .arg("--models")
                    .arg(models_dir(&config))
                    .arg("--threads")
                    .arg(threads.to_string())
                    .arg("bench-kv-child")
                    .arg("--context")
                    .arg(context.to_string())
                    .arg("--cache")
                    .arg(cache.name())
                    .output()?;
                if !out.status.success() {
                    return Err(format!(
                        "the KV cache child ({context}, {}) failed: {}",
                        cache.name(),
                        String::from_utf8_lossy(&out.stderr)
                    )
                    .into());
                }
                rows.push(serde_json::from_slice::<serde_json::Value>(&out.stdout)?);
            }
        }
        report["kv_cache"] = rows.into();
    }
    if json {
        println!("{report}");
    } else {
        println!("{}", serde_json::to_string_pretty(&report)?);
    }
    Ok(())
}

/// Child side: loads the answer model with a `context`-token context and
/// both K and V cached as `cache`, fills the context to within 128 tokens
/// and decodes 64 more (llama.cpp's bare loop, so the cache type is all
/// that differs), then prints the plan, peak memory and speeds as JSON.
pub fn kv_child(config: EngineConfig, args: &KvChildArgs) -> Res<()> {
    let cache = CacheType::from_name(&args.cache).ok_or("unknown cache type")?;
    let llm_config = LlmConfig {
        threads: config.resolved_threads(),
        context_size: args.context,
        cache_type_k: cache,
        cache_type_v: cache,
        ..LlmConfig::new(&config.models.llm)
    };
    let plan = llm_config.memory_plan()?;
    let before = status_kb("VmRSS:")?;
    let llm = Llm::load(&llm_config)?;
    let (prefill, decode) = llm.raw_speed(args.context - 128, 64)?;
    let peak = status_kb("VmHWM:")?;
    let mib = |bytes: u64| round(bytes as f64 / 1048576.0);
    println!(
        "{}",
        serde_json::json!({
            "context": args.context,
            "cache": cache.name(),
            "planned_mib": mib(plan.total()),
            "planned_kv_mib": mib(plan.kv_cache),
            "planned_compute_mib": mib(plan.compute),
            "peak_rss_mib": round(peak as f64 / 1024.0),
            "rss_before_load_mib": round(before as f64 / 1024.0),
            "prefill_tok_s": round(prefill),
            "decode_tok_s": round(decode),
        })
    );
    Ok(())
}

/// A `/proc/self/status` field in kB (`VmHWM` starts afresh at exec).
fn status_kb(field: &str) -> Res<u64> {
    let status = std::fs::read_to_string("/proc/self/status")?;
    status
        .lines()
        .find_map(|l| l.strip_prefix(field))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .ok_or_else(|| format!("no {field} in /proc/self/status").into())
}

/// trove's generation next to llama.cpp's bare loop, rounds interleaved.
pub fn generation(config: &EngineConfig, threads: usize) -> Res<serde_json::Value> {
    let llm = Llm::load(&LlmConfig {
        threads,
        context_size: 2048,
        ..LlmConfig::new(&config.models.llm)
    })?;
    // Passages that bring the prompt to about 512 tokens.
    let sentence = "The harbour ferry leaves at seven and the market opens at eight on weekdays. ";
    let mut body = String::new();
    while llm.count_tokens(&body) < 440 {
        body.push_str(sentence);
    }
    let passages = [Passage {
        header: "Town notes".into(),
        text: body,
    }];
    let options = GenerationOptions {
        temperature: 0.0,
        max_tokens: 128,
        ..Default::default()
    };
    // trove's generation and llama.cpp's bare loop take turns, round after
    // round, and each round gives a ratio: on a shared machine single runs
    // swing ±25 %, the median of paired ratios far less. The bare loop is
    // llama.cpp's decode on the same model, threads and prompt length,
    // measured the way llama-bench does (the prompt in batches, then 128
    // single-token decodes at that depth, no sampling); the published crate
    // ships llama.cpp without llama-bench, so it runs in-process.
    const ROUNDS: usize = 7;
    let (mut rounds, mut tokens) = (Vec::new(), (0, 0));
    for _ in 0..ROUNDS {
        let cancel = trove::CancelToken::new();
        let g = llm.generate(
            "Summarise the notes in detail.",
            &passages,
            &options,
            &cancel,
            &mut |_| true,
        )?;
        let (pp, tg) = llm.raw_speed(g.timings.prompt_tokens, 128)?;
        tokens = (g.timings.prompt_tokens, g.timings.decode_tokens);
        rounds.push([g.timings.prefill_tok_s, g.timings.decode_tok_s, pp, tg]);
    }
    let median = |f: &dyn Fn(&[f64; 4]) -> f64| {
        let mut v: Vec<f64> = rounds.iter().map(f).collect();
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    Ok(serde_json::json!({
        "model": config.models.llm.file_name().map(|n| n.to_string_lossy().into_owned()),
        "rounds": ROUNDS,
        "prompt_tokens": tokens.0,
        "decode_tokens": tokens.1,
        "trove_prefill_tok_s": round(median(&|r| r[0])),
        "trove_decode_tok_s": round(median(&|r| r[1])),
        "llama_cpp_prefill_tok_s": round(median(&|r| r[2])),
        "llama_cpp_decode_tok_s": round(median(&|r| r[3])),
        "prefill_ratio": round(median(&|r| r[0] / r[2])),
        "decode_ratio": round(median(&|r| r[1] / r[3])),
    }))
}
