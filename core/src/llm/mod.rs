//! The answer generator: a question and ranked passages in, a cited answer
//! streamed out, on a local GGUF model run by llama.cpp.
//!
//! It knows nothing about stores or retrieval; callers hand it passages in
//! rank order and it decides how many fit the model's context window.

mod adapters;
mod cache;
mod cache_type;
mod citations;
mod gpu;
pub(crate) mod instructions;
pub(crate) mod model_file;
mod prompt;
mod raw;
mod stream;

use std::num::NonZeroU32;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use llama_cpp_2::context::LlamaContext;
use llama_cpp_2::context::params::LlamaContextParams;
use llama_cpp_2::llama_backend::LlamaBackend;
use llama_cpp_2::llama_batch::LlamaBatch;
use llama_cpp_2::model::LlamaModel;
use llama_cpp_2::model::params::LlamaModelParams;
use llama_cpp_2::sampling::LlamaSampler;
use llama_cpp_2::token::LlamaToken;

pub use adapters::LoraAdapter;
pub use cache::PromptCache;
pub use cache_type::CacheType;
pub(crate) use citations::citation_brackets;
pub use citations::parse_citations;
pub use gpu::{GpuDevice, GpuSupport, gpu_support};
pub use model_file::MemoryPlan;

use crate::analysis::Language;
use crate::{CancelToken, Error, Result};
use prompt::ChatFormat;
use stream::TextStream;

/// How to load a model. Build it with [`LlmConfig::new`] and adjust fields.
#[derive(Debug, Clone, PartialEq)]
pub struct LlmConfig {
    /// The GGUF model file.
    pub model_path: PathBuf,
    /// CPU threads per generation; 0 uses every core. llama.cpp's workers
    /// spin-wait for each other, so on a CPU busy with other work, fewer
    /// threads than cores can decode many times faster.
    pub threads: usize,
    /// Context window in tokens (prompt and answer together); default 2048.
    pub context_size: u32,
    /// Memory the model may use; `None` reads `MemAvailable` from
    /// `/proc/meminfo` (no check where that is missing). Models whose weights,
    /// KV cache and compute buffers would not fit
    /// ([`memory_plan`](Self::memory_plan)) are refused instead of thrashing
    /// the device.
    pub memory_limit_bytes: Option<u64>,
    /// How the KV cache stores keys; default f16. The quantized types shrink
    /// a long context's cache 2–4× (README, "Models").
    pub cache_type_k: CacheType,
    /// How the KV cache stores values; default f16.
    pub cache_type_v: CacheType,
    /// LoRA adapters applied on top of the model (at most one for now).
    pub lora_adapters: Vec<LoraAdapter>,
    /// Layers of the model offloaded to a GPU; 0 (the default) runs it on
    /// the CPU, and any number above the model's layer count (e.g. 999)
    /// offloads all of it. Needs a build with a GPU backend (the `vulkan`,
    /// `metal` or `cuda` feature) and a device it finds ([`gpu_support`]);
    /// otherwise loading is refused with the reason.
    pub gpu_layers: u32,
}

impl LlmConfig {
    /// Defaults for `model_path`: all cores, a 2048-token context, and the
    /// memory limit read from the system.
    pub fn new(model_path: impl Into<PathBuf>) -> Self {
        LlmConfig {
            model_path: model_path.into(),
            ..LlmConfig::default()
        }
    }

    /// The memory loading this model with these options will take, from
    /// the file's metadata alone (nothing is loaded): what [`Llm::load`]
    /// checks against the memory available, for a host to choose a context
    /// size or cache type before it tries.
    ///
    /// ```no_run
    /// use trove::llm::{CacheType, LlmConfig};
    /// let mut config = LlmConfig::new("models/SmolLM2-135M-Instruct.Q4_1.gguf");
    /// config.context_size = 8192;
    /// config.cache_type_k = CacheType::Q8_0;
    /// config.cache_type_v = CacheType::Q8_0;
    /// let plan = config.memory_plan()?;
    /// println!("{} MiB", plan.total() >> 20);
    /// # Ok::<(), trove::Error>(())
    /// ```
    pub fn memory_plan(&self) -> Result<MemoryPlan> {
        let file = model_file::inspect(&self.model_path)?;
        let adapter_bytes = self
            .lora_adapters
            .iter()
            .filter_map(|a| std::fs::metadata(&a.path).ok())
            .map(|m| m.len())
            .sum();
        Ok(file.memory_plan(
            self.context_size,
            PREFILL_CHUNK,
            (self.cache_type_k, self.cache_type_v),
            adapter_bytes,
        ))
    }
}

impl Default for LlmConfig {
    fn default() -> Self {
        LlmConfig {
            model_path: PathBuf::new(),
            threads: 0,
            context_size: 2048,
            memory_limit_bytes: None,
            cache_type_k: CacheType::F16,
            cache_type_v: CacheType::F16,
            lora_adapters: Vec::new(),
            gpu_layers: 0,
        }
    }
}

/// One retrieved passage, as the model will see it.
#[derive(Debug, Clone, PartialEq)]
pub struct Passage {
    /// Where it comes from, e.g. "notes/espresso.md — Brewing (lines 12–20)";
    /// lets the model (and reader) tell sources apart.
    pub header: String,
    /// The passage text, never truncated: it fits whole or is dropped.
    pub text: String,
}

/// An earlier exchange of a conversation, as the model saw it: its
/// question, the sources it was given (none: condensed away) and its answer.
#[derive(Debug, Clone)]
pub struct PriorTurn {
    pub question: String,
    pub passages: Vec<Passage>,
    pub answer: String,
}

/// Sampling and stopping settings for one answer.
#[derive(Debug, Clone)]
pub struct GenerationOptions {
    /// Randomness; 0 picks the most likely token every time (greedy). Default 0:
    /// small models stray from their sources when sampled.
    pub temperature: f32,
    /// Nucleus sampling mass; default 0.95.
    pub top_p: f32,
    /// Candidates kept before sampling; default 40 (≤ 0 keeps all).
    pub top_k: i32,
    /// Drops tokens less likely than this fraction of the best; default 0.05.
    pub min_p: f32,
    /// Random seed, so answers are reproducible; default 42.
    pub seed: u32,
    /// Penalty for repeating recent tokens (1.0 = off); default 1.1.
    pub repeat_penalty: f32,
    /// How many recent tokens the penalty looks at (negative = the whole
    /// context, 0 = off); default 64.
    pub repeat_last_n: i32,
    /// Most tokens to generate; reserved out of the context window. Default 256.
    pub max_tokens: u32,
    /// Strings that end the answer when generated; they are not included.
    pub stop: Vec<String>,
    /// Replaces the built-in instructions (answer only from the numbered
    /// sources, cite them as `[n]`, admit when they lack the answer).
    pub system_prompt: Option<String>,
    /// The language of the prompt's instructions and labels (and so of the
    /// answer, for models that follow them). `None`: the question's, when
    /// it can be told; [`Engine::ask`](crate::Engine::ask) tells it among
    /// the languages of the store.
    pub language: Option<Language>,
    /// A GBNF grammar (root rule `root`) the answer must follow: llama.cpp
    /// then samples only tokens the grammar allows, e.g. to make the model
    /// quote one of a given set of sentences.
    pub grammar: Option<String>,
}

impl Default for GenerationOptions {
    fn default() -> Self {
        GenerationOptions {
            temperature: 0.0,
            top_p: 0.95,
            top_k: 40,
            min_p: 0.05,
            seed: 42,
            repeat_penalty: 1.1,
            repeat_last_n: 64,
            max_tokens: 256,
            stop: Vec::new(),
            system_prompt: None,
            language: None,
            grammar: None,
        }
    }
}

/// Why generation ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StopReason {
    /// The model finished its answer (end-of-generation token).
    EndOfText,
    /// `max_tokens` were generated; the answer may be cut short.
    MaxTokens,
    /// A stop string was generated (and left out of the text).
    StopString,
    /// The token callback returned `false`.
    Callback,
}

/// Where the time went, for progress UIs and performance tracking.
///
/// Model times come from llama.cpp's own counters when they agree with the
/// wall clock, otherwise from the wall clock.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct GenerationTimings {
    /// Tokens in the prompt (template, instructions, earlier turns,
    /// sources, question).
    pub prompt_tokens: u32,
    /// Of those, tokens reused from the conversation's cache, not evaluated.
    pub cached_tokens: u32,
    /// Time to evaluate the prompt.
    pub prefill_ms: f64,
    /// From the call to the first emitted text (0 if none was emitted).
    pub ttft_ms: f64,
    /// Tokens generated, including a final end-of-generation token.
    pub decode_tokens: u32,
    /// Time spent evaluating generated tokens. The last token is never fed
    /// back, so this covers `decode_tokens - 1` evaluations.
    pub decode_ms: f64,
    /// Generated tokens evaluated per second (0 if none were).
    pub decode_tok_s: f64,
    /// Prompt tokens evaluated per second.
    pub prefill_tok_s: f64,
}

/// A finished (or stopped) answer.
#[derive(Debug, Clone)]
pub struct Generation {
    /// The answer, exactly the concatenation of the streamed pieces.
    pub text: String,
    /// Indices into `passages` that went into the prompt, numbered `[1]..[n]`
    /// in this order (always a prefix: the best-ranked passages).
    pub given: Vec<usize>,
    /// Indices into `passages` that did not fit the context window.
    pub dropped: Vec<usize>,
    /// Indices into `passages` that the answer cites, in first-use order.
    pub cited: Vec<usize>,
    /// How the earlier turns went into the prompt.
    pub history: HistoryFit,
    /// Why generation ended.
    pub stop_reason: StopReason,
    /// Token counts and speeds.
    pub timings: GenerationTimings,
}

/// How much of a conversation's history the prompt holds: the newest
/// `kept` turns, of which the oldest `condensed` without their sources;
/// `dropped` older turns did not fit the context window.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct HistoryFit {
    pub kept: usize,
    pub condensed: usize,
    pub dropped: usize,
}

/// A loaded GGUF model, shared by all generations.
///
/// Loading maps the weights once; each [`generate`](Llm::generate) call makes
/// its own llama.cpp context, so calls from several threads run side by side.
pub struct Llm {
    backend: &'static LlamaBackend,
    model: LlamaModel,
    adapters: adapters::LoadedAdapters,
    format: ChatFormat,
    name: String,
    threads: i32,
    context_size: u32,
    cache_types: (CacheType, CacheType),
}

// Hosts keep one model behind an `Arc` and answer from many threads.
const _: fn() = || {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<Llm>();
};

/// Tokens evaluated per `llama_decode` call during prefill: llama.cpp's
/// default micro-batch, and how often cancellation is checked.
const PREFILL_CHUNK: u32 = 512;

impl Llm {
    /// Loads a GGUF chat model after checking that it exists, is GGUF, and
    /// fits in memory with `config.context_size` tokens of context.
    pub fn load(config: &LlmConfig) -> Result<Llm> {
        if config.context_size == 0 {
            return Err(Error::invalid("context_size must be at least 1 token"));
        }
        let backend = crate::llama_backend::backend()?;
        let path = &config.model_path;
        let cache_types = (config.cache_type_k, config.cache_type_v);
        let plan = config.memory_plan()?;
        let available = config.memory_limit_bytes.or_else(model_file::mem_available);
        if let Some(available) = available
            && plan.total() > available
        {
            return Err(Error::model(format!(
                "{} needs about {} of memory ({}), but only {} is available; use a smaller \
                 model, a smaller context_size or a quantized KV cache (q8_0, q4_0)",
                path.display(),
                model_file::format_bytes(plan.total()),
                plan.describe(config.context_size, cache_types),
                model_file::format_bytes(available),
            )));
        }
        gpu::check_offload(config.gpu_layers)?;
        // llama.cpp's default offloads every layer to any GPU it finds:
        // the number is always set, so 0 means the CPU.
        let params = LlamaModelParams::default().with_n_gpu_layers(config.gpu_layers);
        let mut model = LlamaModel::load_from_file(backend, path, &params).map_err(|err| {
            Error::model(format!(
                "llama.cpp could not load {} ({err}); the file may be damaged or its \
                     architecture unsupported",
                path.display()
            ))
        })?;
        let adapters = adapters::LoadedAdapters::load(&mut model, &config.lora_adapters)?;
        let name = model
            .meta_val_str("general.name")
            .ok()
            .filter(|name| !name.trim().is_empty())
            .or_else(|| Some(path.file_stem()?.to_string_lossy().into_owned()))
            .unwrap_or_else(|| path.display().to_string());
        let format = ChatFormat::for_model(&model, &name)?;
        let threads = match config.threads {
            0 => std::thread::available_parallelism().map_or(1, |n| n.get()),
            n => n,
        };
        Ok(Llm {
            backend,
            model,
            adapters,
            format,
            name,
            threads: i32::try_from(threads).unwrap_or(i32::MAX),
            context_size: config.context_size,
            cache_types,
        })
    }

    /// The model's `general.name` metadata, or its file name: for display.
    pub fn model_name(&self) -> String {
        self.name.clone()
    }

    /// The context window in tokens that prompt and answer share.
    pub fn context_size(&self) -> u32 {
        self.context_size
    }

    /// Tokens `text` takes with this model's tokenizer, to size passages.
    pub fn count_tokens(&self, text: &str) -> usize {
        self.model
            .vocab()
            .tokenize(text.as_bytes(), false, false)
            .len()
    }

    /// Answers `question` from `passages` (best first), streaming the text.
    ///
    /// Passages are numbered `[1]..[n]`; the lowest-ranked are dropped whole
    /// until the prompt plus `max_tokens` fits the context. `on_token`
    /// receives each new piece of complete UTF-8 text; returning `false`
    /// stops generation with [`StopReason::Callback`]. Raising `cancel` from
    /// any thread makes the call return a `Cancelled` error.
    pub fn generate(
        &self,
        question: &str,
        passages: &[Passage],
        options: &GenerationOptions,
        cancel: &CancelToken,
        on_token: &mut dyn FnMut(&str) -> bool,
    ) -> Result<Generation> {
        self.converse(&[], question, passages, options, cancel, None, on_token)
    }

    /// Answers `question` as the next turn of a conversation whose earlier
    /// turns are `history` (oldest first), as [`generate`](Self::generate)
    /// does. The current sources come first in the context budget: when
    /// everything does not fit, the oldest turns lose their sources, then
    /// drop out ([`Generation::history`]). With a `cache`, the part of the
    /// prompt the previous turn already evaluated is reused, not evaluated
    /// again, and the cache then holds this turn.
    #[allow(clippy::too_many_arguments)]
    pub fn converse(
        &self,
        history: &[PriorTurn],
        question: &str,
        passages: &[Passage],
        options: &GenerationOptions,
        cancel: &CancelToken,
        cache: Option<&mut PromptCache>,
        on_token: &mut dyn FnMut(&str) -> bool,
    ) -> Result<Generation> {
        let start = Instant::now();
        self.validate(question, options)?;
        cancel.check()?;

        let language = options.language.or_else(|| Language::detect(question));
        let labels = instructions::for_language(language);
        let system = options.system_prompt.as_deref().unwrap_or(labels.system);
        let budget = (self.context_size - options.max_tokens) as usize;
        let vocab = self.model.vocab();
        let tokens = |history: &[PriorTurn], passages: &[Passage]| -> Result<Vec<LlamaToken>> {
            let text =
                self.format
                    .render(&self.model, system, labels, history, question, passages)?;
            Ok(vocab.tokenize(text.as_bytes(), true, true))
        };
        let mut fit = None;
        for (fitted, turns) in history_variants(history) {
            let prompt = tokens(&turns, passages)?;
            if prompt.len() <= budget {
                fit = Some((fitted, passages.len(), prompt));
                break;
            }
        }
        if fit.is_none() {
            let dropped = HistoryFit {
                dropped: history.len(),
                ..Default::default()
            };
            fit = prompt::fit_prefix(passages.len(), budget, |k| tokens(&[], &passages[..k]))?
                .map(|(k, prompt)| (dropped, k, prompt));
        }
        let Some((history_fit, n_given, prompt)) = fit else {
            return Err(Error::invalid(format!(
                "question too long for the context window: even without sources the prompt \
                 exceeds the {budget} tokens left by context_size {} minus max_tokens {}",
                self.context_size, options.max_tokens
            )));
        };

        let mut ctx = self.new_context()?;
        let prefill_start = Instant::now();
        let cached = cache.as_deref().map_or(0, |c| {
            c.restore(&mut ctx, &self.name, self.context_size, &prompt)
        });
        // llama.cpp may adjust n_batch; size the batch by what it settled on.
        let chunk_len = ctx.n_batch().max(1) as usize;
        let mut batch = LlamaBatch::new(chunk_len, 1);
        let mut pos = cached as i32;
        for chunk in prompt[cached..].chunks(chunk_len) {
            cancel.check()?;
            batch.clear();
            for &token in chunk {
                let last = pos + 1 == prompt.len() as i32;
                add_token(&mut batch, token, pos, last)?;
                pos += 1;
            }
            ctx.decode(&mut batch)
                .map_err(|err| Error::model(format!("evaluating the prompt failed: {err}")))?;
        }
        ctx.synchronize();
        let prefill_wall = prefill_start.elapsed();
        let prefill_counters = ctx.timings();
        let prefill_ms = cross_checked(
            prefill_counters.t_p_eval_ms() + prefill_counters.t_eval_ms(),
            prefill_wall,
        );
        ctx.reset_timings();

        let mut sampler = self.sampler(options)?;
        let mut stream = TextStream::new(&options.stop);
        let mut first_text = None;
        let mut emit = |piece: &str| {
            first_text.get_or_insert_with(|| start.elapsed());
            on_token(piece)
        };
        let mut logits_index = batch.n_tokens() - 1;
        let mut generated = 0u32;
        let mut evaluated = 0u32;
        // What the context holds once generation ends, for the cache.
        let mut fed: Vec<LlamaToken> = Vec::new();
        let mut decode_wall = Duration::ZERO;
        let mut piece = Vec::new();
        let stop_reason = loop {
            cancel.check()?;
            let token = sampler.sample(&ctx, logits_index);
            generated += 1;
            if vocab.is_eog(token) {
                stream.finish(&mut emit);
                break StopReason::EndOfText;
            }
            piece.clear();
            if !vocab.is_control(token) {
                vocab.token_to_piece_into(token, &mut piece, false, None);
            }
            if let Some(reason) = stream.push(&piece, &mut emit) {
                break reason;
            }
            if generated >= options.max_tokens {
                stream.finish(&mut emit);
                break StopReason::MaxTokens;
            }
            batch.clear();
            add_token(&mut batch, token, pos, true)?;
            pos += 1;
            fed.push(token);
            let decode_start = Instant::now();
            ctx.decode(&mut batch)
                .map_err(|err| Error::model(format!("generating a token failed: {err}")))?;
            decode_wall += decode_start.elapsed();
            evaluated += 1;
            logits_index = 0;
        };

        let decode_ms = if evaluated == 0 {
            0.0
        } else {
            cross_checked(ctx.timings().t_eval_ms(), decode_wall)
        };
        let prompt_tokens = prompt.len() as u32;
        let evaluated_prompt = (prompt.len() - cached) as u32;
        if let Some(cache) = cache {
            let mut held = prompt.clone();
            held.extend(fed);
            cache.keep(&ctx, &self.name, self.context_size, held);
        }
        let timings = GenerationTimings {
            prompt_tokens,
            cached_tokens: cached as u32,
            prefill_ms,
            ttft_ms: first_text.map_or(0.0, millis),
            decode_tokens: generated,
            decode_ms,
            decode_tok_s: per_second(evaluated, decode_ms),
            prefill_tok_s: per_second(evaluated_prompt, prefill_ms),
        };
        let text = stream.text().to_string();
        let given: Vec<usize> = (0..n_given).collect();
        let cited = parse_citations(&text, given.len())
            .into_iter()
            .map(|n| given[n - 1])
            .collect();
        Ok(Generation {
            text,
            given,
            dropped: (n_given..passages.len()).collect(),
            cited,
            history: history_fit,
            stop_reason,
            timings,
        })
    }

    fn validate(&self, question: &str, options: &GenerationOptions) -> Result<()> {
        if question.trim().is_empty() {
            return Err(Error::invalid("the question is empty"));
        }
        if options.max_tokens == 0 {
            return Err(Error::invalid("max_tokens must be at least 1"));
        }
        if options.max_tokens >= self.context_size {
            return Err(Error::invalid(format!(
                "max_tokens ({}) must be smaller than the context window ({} tokens), \
                 which also holds the prompt",
                options.max_tokens, self.context_size
            )));
        }
        if options.stop.iter().any(String::is_empty) {
            return Err(Error::invalid("stop strings must not be empty"));
        }
        let valid = options.temperature.is_finite()
            && options.temperature >= 0.0
            && (0.0..=1.0).contains(&options.top_p)
            && (0.0..=1.0).contains(&options.min_p)
            && options.repeat_penalty.is_finite()
            && options.repeat_penalty > 0.0;
        if !valid {
            return Err(Error::invalid(
                "sampling options out of range: temperature ≥ 0, top_p and min_p in [0, 1], \
                 repeat_penalty > 0",
            ));
        }
        Ok(())
    }

    /// A fresh context for one generation.
    fn new_context(&self) -> Result<LlamaContext<'_>> {
        let chunk = PREFILL_CHUNK.min(self.context_size);
        let params = LlamaContextParams::default()
            .with_n_ctx(NonZeroU32::new(self.context_size))
            .with_n_batch(chunk)
            .with_n_ubatch(chunk)
            .with_n_threads(self.threads)
            .with_n_threads_batch(self.threads)
            .with_type_k(self.cache_types.0.llama())
            .with_type_v(self.cache_types.1.llama())
            .with_no_perf(false);
        let _guard = crate::llama_backend::context_creation();
        let mut ctx = self
            .model
            .new_context(self.backend, params)
            .map_err(|err| {
                Error::model(format!(
                    "llama.cpp could not create a {}-token context with a {}/{} KV cache ({err}); \
                 memory may be short, try a smaller context_size",
                    self.context_size,
                    self.cache_types.0.name(),
                    self.cache_types.1.name(),
                ))
            })?;
        self.adapters.apply(&mut ctx)?;
        Ok(ctx)
    }

    /// grammar (if any) → penalties → top-k → top-p → min-p → temperature →
    /// seeded draw (or the single best token at temperature 0).
    fn sampler(&self, options: &GenerationOptions) -> Result<LlamaSampler> {
        let last_n = if options.repeat_last_n < 0 {
            // llama.cpp now reads negative as "off"; keep the classic "-1 = whole context".
            i32::try_from(self.context_size).unwrap_or(i32::MAX)
        } else {
            options.repeat_last_n
        };
        let mut chain = Vec::new();
        if let Some(grammar) = &options.grammar {
            chain.push(
                LlamaSampler::grammar(&self.model, grammar, "root").map_err(|err| {
                    Error::invalid(format!("the grammar is not valid GBNF ({err})"))
                })?,
            );
        }
        chain.push(LlamaSampler::penalties(
            self.model.n_vocab(),
            last_n,
            options.repeat_penalty,
            0.0,
            0.0,
        ));
        if options.temperature <= 0.0 {
            chain.push(LlamaSampler::greedy());
        } else {
            chain.extend([
                LlamaSampler::top_k(options.top_k),
                LlamaSampler::top_p(options.top_p, 1),
                LlamaSampler::min_p(options.min_p, 1),
                LlamaSampler::temp(options.temperature),
                LlamaSampler::dist(options.seed),
            ]);
        }
        Ok(LlamaSampler::chain_simple(chain))
    }
}

/// The ways `history` can go into a prompt, richest first, each with the
/// turns as they would be rendered: all of it, then its oldest turns
/// condensed (sources left out) one by one, then its oldest turns dropped
/// one by one, down to none.
fn history_variants(history: &[PriorTurn]) -> Vec<(HistoryFit, Vec<PriorTurn>)> {
    let n = history.len();
    let condense = |turns: &[PriorTurn], count: usize| -> Vec<PriorTurn> {
        turns
            .iter()
            .enumerate()
            .map(|(i, t)| PriorTurn {
                passages: if i < count {
                    Vec::new()
                } else {
                    t.passages.clone()
                },
                ..t.clone()
            })
            .collect()
    };
    let mut variants = Vec::new();
    for condensed in 0..=n {
        let fit = HistoryFit {
            kept: n,
            condensed,
            dropped: 0,
        };
        variants.push((fit, condense(history, condensed)));
    }
    for dropped in 1..=n {
        let fit = HistoryFit {
            kept: n - dropped,
            condensed: n - dropped,
            dropped,
        };
        variants.push((fit, condense(&history[dropped..], n - dropped)));
    }
    variants
}

fn add_token(batch: &mut LlamaBatch<'_>, token: LlamaToken, pos: i32, logits: bool) -> Result<()> {
    batch
        .add(token, pos, &[0], logits)
        .map_err(|err| Error::model(format!("llama.cpp batch overflow: {err}")))
}

/// llama.cpp's own measurement when it is plausible against the wall clock
/// (it reads zero when perf counters are off), else the wall clock.
fn cross_checked(llama_ms: f64, wall: Duration) -> f64 {
    let wall_ms = millis(wall);
    if llama_ms > 0.0 && llama_ms <= wall_ms * 1.5 + 1.0 && llama_ms >= wall_ms * 0.5 - 1.0 {
        llama_ms
    } else {
        wall_ms
    }
}

fn millis(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1000.0
}

fn per_second(count: u32, ms: f64) -> f64 {
    if ms > 0.0 {
        f64::from(count) * 1000.0 / ms
    } else {
        0.0
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use std::path::{Path, PathBuf};

    /// A test model under `$TROVE_MODELS` (default `<repo>/models`); fails
    /// loudly when missing rather than skipping.
    pub(crate) fn model_path(relative: &str) -> PathBuf {
        let dir = std::env::var_os("TROVE_MODELS")
            .map(PathBuf::from)
            .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../models"));
        let path = dir.join(relative);
        assert!(
            path.is_file(),
            "test model {} is missing: run `make setup` (or point TROVE_MODELS at the models)",
            path.display()
        );
        path
    }
}
