//! `trove bench`: trove's speed next to the raw components in the same run —
//! llama.cpp's bare decode loop, a raw ONNX Runtime session on the same
//! embedding model — plus index throughput, query latency and peak memory.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use ort::session::Session;
use ort::value::Tensor;
use trove::{Engine, EngineConfig, IndexOptions, SearchOptions};

#[derive(clap::Args)]
pub struct BenchArgs {
    /// Eval set used for index throughput and query latency.
    #[arg(long, default_value = "../shared/eval/pydocs")]
    corpus: PathBuf,
    /// Passages for the embedding comparison.
    #[arg(long, default_value_t = 256)]
    passages: usize,
}

/// `bench-follow-up`: a first question and its follow-up over a folder.
#[derive(clap::Args)]
pub struct FollowUpArgs {
    #[arg(long, default_value = "examples/notes")]
    notes: PathBuf,
    #[arg(long, default_value = "How much water goes into my sourdough loaf?")]
    first: String,
    #[arg(long, default_value = "And how much salt?")]
    follow: String,
}

type Res<T> = Result<T, Box<dyn std::error::Error>>;

/// Indexes `args.notes` into `store` (a temporary one without it), then
/// [`follow_up`].
pub fn follow_up_alone(
    mut config: EngineConfig,
    store: Option<PathBuf>,
    args: &FollowUpArgs,
    json: bool,
) -> Res<()> {
    let temp = tempfile::tempdir()?;
    config.store_dir = store.unwrap_or_else(|| temp.path().join("store"));
    let engine = Engine::open(config)?;
    engine.index_path(&args.notes, IndexOptions::default())?;
    let report = follow_up(&engine, &args.first, &args.follow)?;
    if json {
        println!("{report}");
    } else {
        println!("{}", serde_json::to_string_pretty(&report)?);
    }
    Ok(())
}

/// Runs the benchmark; `json`: one line instead of indented JSON.
pub fn run(config: EngineConfig, args: &BenchArgs, json: bool) -> Res<()> {
    let threads = config.resolved_threads();
    let temp = tempfile::tempdir()?;
    let mut report = serde_json::Map::new();
    report.insert("threads".into(), threads.into());

    // Embedding: trove's path vs a raw ONNX Runtime session, same texts, same batches.
    let mut engine_config = config.clone();
    engine_config.store_dir = temp.path().join("bench-store");
    let corpus = std::fs::canonicalize(&args.corpus)
        .map_err(|e| format!("cannot open {}: {e}", args.corpus.display()))?;
    // Both sides run in a fresh child process of this binary, alike: ONNX
    // Runtime allows one environment per process, and neither side should
    // inherit the other's warm caches.
    let embedding_rate = |side: &str| -> Res<f64> {
        let out = Command::new(std::env::current_exe()?)
            .arg("--models")
            .arg(models_dir(&config))
            .arg("--threads")
            .arg(threads.to_string())
            .arg("bench-embedding")
            .arg(side)
            .arg("--corpus")
            .arg(&corpus)
            .arg("--passages")
            .arg(args.passages.to_string())
            .arg("--batch-size")
            .arg(config.embed_batch_size.to_string())
            .output()?;
        if !out.status.success() {
            return Err(format!(
                "{side} embedding child failed: {}",
                String::from_utf8_lossy(&out.stderr)
            )
            .into());
        }
        Ok(String::from_utf8(out.stdout)?.trim().parse()?)
    };
    let trove_ps = embedding_rate("trove")?;
    let raw_ps = embedding_rate("raw")?;
    let texts = passages(&corpus.join("corpus"), args.passages)?;
    let engine = Engine::open(engine_config.clone())?;
    report.insert(
        "embedding".into(),
        serde_json::json!({
            "passages": texts.len(),
            "batch_size": config.embed_batch_size,
            "trove_passages_s": round(trove_ps),
            "raw_onnx_passages_s": round(raw_ps),
            "ratio": round(trove_ps / raw_ps),
        }),
    );
    // Index throughput on the corpus, then hybrid query latency.
    let bytes: u64 = walk_bytes(&corpus.join("corpus"));
    let summary = engine.index_path(corpus.join("corpus"), IndexOptions::default())?;
    let s = &summary.stages;
    let embed_s = s.embed_ms / 1000.0;
    report.insert(
        "index".into(),
        serde_json::json!({
            "corpus": corpus.file_name().map(|n| n.to_string_lossy().into_owned()),
            "files": summary.files_seen,
            "mb": round(bytes as f64 / 1e6),
            "chunks": summary.chunks_embedded + summary.chunks_reused,
            "seconds": round(summary.seconds),
            "mb_s": round(bytes as f64 / 1e6 / summary.seconds),
            "chunks_s": round((summary.chunks_embedded + summary.chunks_reused) as f64 / summary.seconds),
            "stage_ms": {"read_parse": round(s.read_parse_ms), "chunk": round(s.chunk_ms), "embed": round(s.embed_ms), "write": round(s.write_ms)},
            "overhead_over_embedding": round(summary.seconds / embed_s - 1.0),
        }),
    );
    let queries = read_queries(&corpus.join("queries.tsv"))?;
    let mut latencies = Vec::new();
    for q in &queries {
        let started = Instant::now();
        engine.search(q, &SearchOptions::default())?;
        latencies.push(started.elapsed().as_secs_f64() * 1000.0);
    }
    latencies.sort_by(f64::total_cmp);
    let pct = |p: f64| latencies[((latencies.len() as f64 - 1.0) * p).round() as usize];
    report.insert(
        "hybrid_query_ms".into(),
        serde_json::json!({"queries": latencies.len(), "p50": round(pct(0.5)), "p95": round(pct(0.95))}),
    );
    report.insert(
        "follow_up".into(),
        follow_up(
            &engine,
            "How do I read a CSV file?",
            "And how do I write one?",
        )?,
    );
    drop(engine);

    // Generation: trove's llama.cpp path vs llama-bench (512-token prompt, 128 tokens).
    report.insert(
        "generation".into(),
        crate::llm_bench::generation(&config, threads)?,
    );

    // Peak memory of a whole `trove ask` process on the indexed store.
    report.insert(
        "ask_peak_rss_mb".into(),
        ask_peak_rss(&config, &engine_config.store_dir)?.into(),
    );

    let report = serde_json::Value::Object(report);
    if json {
        println!("{report}");
    } else {
        println!("{}", serde_json::to_string_pretty(&report)?);
    }
    Ok(())
}

/// Follow-up time to first token next to a first turn's at the same
/// context length: the same follow-up prompt asked in its conversation
/// (the previous turn's model state reused) and in a copy restored from
/// the saved turns (evaluated whole), interleaved over rounds; the ratio
/// is the median of the rounds' ratios.
pub fn follow_up(engine: &Engine, first: &str, follow: &str) -> Res<serde_json::Value> {
    let mut options = trove::AskOptions {
        strategy: trove::AnswerStrategy::Generative,
        min_grounding: 0.0,
        ..Default::default()
    };
    options.generation.max_tokens = 32;
    let (mut warm_ms, mut cold_ms, mut ratios) = (Vec::new(), Vec::new(), Vec::new());
    let mut tokens = (0, 0);
    for _ in 0..3 {
        let mut warm = trove::Conversation::new();
        engine.ask_in(&mut warm, first, &options, &mut |_| true)?;
        let mut cold = trove::Conversation::from_turns(warm.turns().to_vec());
        let c = engine.ask_in(&mut cold, follow, &options, &mut |_| true)?;
        let w = engine.ask_in(&mut warm, follow, &options, &mut |_| true)?;
        if c.timings.prompt_tokens != w.timings.prompt_tokens {
            return Err("the cold and warm follow-ups differ in prompt length".into());
        }
        tokens = (w.timings.prompt_tokens, w.timings.cached_tokens);
        ratios.push(w.timings.ttft_ms / c.timings.ttft_ms);
        warm_ms.push(w.timings.ttft_ms);
        cold_ms.push(c.timings.ttft_ms);
    }
    let median = |v: &mut Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    Ok(serde_json::json!({
        "prompt_tokens": tokens.0,
        "cached_tokens": tokens.1,
        "ttft_ms_follow_up": round(median(&mut warm_ms)),
        "ttft_ms_same_prompt_cold": round(median(&mut cold_ms)),
        "ratio": round(median(&mut ratios)),
    }))
}

/// Runs an `ask` in a child process and returns that process's peak
/// resident memory. The child reads its own high-water mark: a fork's
/// accounting would include this process's memory at the fork.
fn ask_peak_rss(config: &EngineConfig, store: &Path) -> Res<f64> {
    let out = Command::new(std::env::current_exe()?)
        .arg("--store")
        .arg(store)
        .arg("--models")
        .arg(models_dir(config))
        .arg("bench-ask-peak-rss")
        .output()?;
    if !out.status.success() {
        return Err(format!(
            "the ask child failed: {}",
            String::from_utf8_lossy(&out.stderr)
        )
        .into());
    }
    let kb: f64 = String::from_utf8(out.stdout)?.trim().parse()?;
    Ok(round(kb / 1024.0))
}

/// Child side: one `ask` (64 tokens at most), then this process's peak
/// resident memory in kB (`VmHWM`, which starts afresh at exec).
pub fn ask_peak_rss_child(config: EngineConfig) -> Res<()> {
    let engine = Engine::open(config)?;
    let mut options = trove::AskOptions {
        strategy: trove::AnswerStrategy::Generative,
        min_grounding: 0.0,
        ..Default::default()
    };
    options.generation.max_tokens = 64;
    engine.ask("How do I read a CSV file?", &options, &mut |_| true)?;
    let status = std::fs::read_to_string("/proc/self/status")?;
    let kb = status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .ok_or("no VmHWM in /proc/self/status")?;
    println!("{kb}");
    Ok(())
}

/// Arguments of the hidden child command that times one embedding path.
#[derive(clap::Args)]
pub struct EmbeddingArgs {
    /// `trove` (the engine's path) or `raw` (a bare ONNX Runtime session).
    side: String,
    #[arg(long)]
    corpus: PathBuf,
    #[arg(long)]
    passages: usize,
    #[arg(long)]
    batch_size: usize,
}

/// Child side: embeds the corpus passages in fixed batches, after one
/// warm-up batch, and prints passages per second (median of three rounds).
pub fn embedding_child(config: EngineConfig, args: &EmbeddingArgs) -> Res<()> {
    let texts = passages(&args.corpus.join("corpus"), args.passages)?;
    let batches: Vec<Vec<&str>> = texts
        .chunks(args.batch_size)
        .map(|b| b.iter().map(String::as_str).collect())
        .collect();
    let rate = match args.side.as_str() {
        "trove" => {
            let temp = tempfile::tempdir()?;
            let mut config = config;
            config.store_dir = temp.path().join("store");
            let engine = Engine::open(config)?;
            engine.embed(&batches[0])?;
            median_rate(texts.len(), || {
                batches
                    .iter()
                    .try_for_each(|batch| engine.embed(batch).map(|_| ()))
            })?
        }
        "raw" => {
            let environment = ort::init_from(&config.models.onnxruntime_lib)?.build()?;
            let threads = config.resolved_threads();
            let mut raw = RawEmbedder::new(&environment, &config.models.embedding_dir, threads)?;
            raw.embed(&batches[0])?;
            median_rate(texts.len(), || {
                batches
                    .iter()
                    .try_for_each(|batch| raw.embed(batch).map(|_| ()))
            })?
        }
        other => return Err(format!("unknown embedding side {other}").into()),
    };
    println!("{rate}");
    Ok(())
}

/// Items per second of `round`, the median of three rounds.
fn median_rate<E: Into<Box<dyn std::error::Error>>>(
    items: usize,
    mut round: impl FnMut() -> Result<(), E>,
) -> Res<f64> {
    let mut rates = Vec::new();
    for _ in 0..3 {
        let started = Instant::now();
        round().map_err(Into::into)?;
        rates.push(items as f64 / started.elapsed().as_secs_f64());
    }
    rates.sort_by(f64::total_cmp);
    Ok(rates[1])
}

/// The raw component: one ONNX Runtime session, the model's tokenizer, mean pooling.
struct RawEmbedder {
    session: Session,
    tokenizer: tokenizers::Tokenizer,
}

impl RawEmbedder {
    fn new(environment: &ort::environment::Environment, dir: &Path, threads: usize) -> Res<Self> {
        let session = Session::builder(environment)?
            .with_optimization_level(ort::session::builder::GraphOptimizationLevel::Level3)?
            .with_intra_threads(threads)?
            .commit_from_file(dir.join("model.onnx"))?;
        let mut tokenizer = tokenizers::Tokenizer::from_file(dir.join("tokenizer.json"))
            .map_err(|e| e.to_string())?;
        tokenizer.with_padding(Some(tokenizers::PaddingParams::default()));
        tokenizer
            .with_truncation(Some(tokenizers::TruncationParams {
                max_length: 256,
                ..Default::default()
            }))
            .map_err(|e| e.to_string())?;
        Ok(RawEmbedder { session, tokenizer })
    }

    fn embed(&mut self, texts: &[&str]) -> Res<Vec<Vec<f32>>> {
        let encodings = self
            .tokenizer
            .encode_batch(texts.to_vec(), true)
            .map_err(|e| e.to_string())?;
        let (n, len) = (encodings.len(), encodings[0].len());
        let mut ids = Vec::with_capacity(n * len);
        let mut mask = Vec::with_capacity(n * len);
        for e in &encodings {
            ids.extend(e.get_ids().iter().map(|&x| x as i64));
            mask.extend(e.get_attention_mask().iter().map(|&x| x as i64));
        }
        let types = vec![0i64; n * len];
        let outputs = self.session.run(ort::inputs![
            "input_ids" => Tensor::from_array(([n, len], ids))?,
            "attention_mask" => Tensor::from_array(([n, len], mask.clone()))?,
            "token_type_ids" => Tensor::from_array(([n, len], types))?,
        ])?;
        let (shape, hidden) = outputs[0].try_extract_tensor::<f32>()?;
        let dims = shape[2] as usize;
        let mut vectors = Vec::with_capacity(n);
        for i in 0..n {
            let mut v = vec![0f32; dims];
            // Mean pooling then L2 normalisation: the mean's divisor cancels out.
            for t in 0..len {
                if mask[i * len + t] == 1 {
                    let row = &hidden[(i * len + t) * dims..(i * len + t + 1) * dims];
                    v.iter_mut().zip(row).for_each(|(a, b)| *a += b);
                }
            }
            let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt();
            v.iter_mut().for_each(|x| *x /= norm.max(f32::MIN_POSITIVE));
            vectors.push(v);
        }
        Ok(vectors)
    }
}

/// Paragraph groups of about 1000 characters from the corpus, in file order.
fn passages(dir: &Path, wanted: usize) -> Res<Vec<String>> {
    let mut files = Vec::new();
    collect(dir, &mut files);
    files.sort();
    let mut out = Vec::new();
    for file in files {
        let text = std::fs::read_to_string(&file).unwrap_or_default();
        let mut current = String::new();
        for para in text.split("\n\n") {
            current.push_str(para.trim());
            current.push('\n');
            if current.len() > 1000 {
                out.push(std::mem::take(&mut current));
                if out.len() == wanted {
                    return Ok(out);
                }
            }
        }
    }
    if out.is_empty() {
        return Err(format!("no text found under {}", dir.display()).into());
    }
    Ok(out)
}

fn collect(dir: &Path, files: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        if path.is_dir() {
            collect(&path, files);
        } else {
            files.push(path);
        }
    }
}

fn walk_bytes(dir: &Path) -> u64 {
    let mut files = Vec::new();
    collect(dir, &mut files);
    files
        .iter()
        .filter_map(|f| f.metadata().ok())
        .map(|m| m.len())
        .sum()
}

fn read_queries(path: &Path) -> Res<Vec<String>> {
    let text = std::fs::read_to_string(path)?;
    Ok(text
        .lines()
        .skip(1)
        .filter_map(|l| l.split('\t').nth(1).map(str::to_string))
        .collect())
}

pub fn models_dir(config: &EngineConfig) -> PathBuf {
    config
        .models
        .llm
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_default()
}

pub fn round(x: f64) -> f64 {
    (x * 1000.0).round() / 1000.0
}
