//! The answer generator: a question and ranked passages in, a cited answer
//! streamed out, on a local GGUF model run by llama.cpp.
//!
//! It knows nothing about stores or retrieval; callers hand it passages in
//! rank order and it decides how many fit the model's context window.

mod citations;
mod instructions;
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

pub use citations::parse_citations;

use crate::analysis::Language;
use crate::{CancelToken, Error, Result};
use prompt::ChatFormat;
use stream::TextStream;

/// How to load a model. Build it with [`LlmConfig::new`] and adjust fields.
#[derive(Debug, Clone, PartialEq, Eq)]
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
    /// `/proc/meminfo` (no check where that is missing). Models whose weights
    /// and KV cache would not fit are refused instead of thrashing the device.
    pub memory_limit_bytes: Option<u64>,
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
}

impl Default for LlmConfig {
    fn default() -> Self {
        LlmConfig {
            model_path: PathBuf::new(),
            threads: 0,
            context_size: 2048,
            memory_limit_bytes: None,
        }
    }
}

/// One retrieved passage, as the model will see it.
#[derive(Debug, Clone)]
pub struct Passage {
    /// Where it comes from, e.g. "notes/espresso.md — Brewing (lines 12–20)";
    /// lets the model (and reader) tell sources apart.
    pub header: String,
    /// The passage text, never truncated: it fits whole or is dropped.
    pub text: String,
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
    /// Tokens in the prompt (template, instructions, sources, question).
    pub prompt_tokens: u32,
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
    /// Why generation ended.
    pub stop_reason: StopReason,
    /// Token counts and speeds.
    pub timings: GenerationTimings,
}

/// A loaded GGUF model, shared by all generations.
///
/// Loading maps the weights once; each [`generate`](Llm::generate) call makes
/// its own llama.cpp context, so calls from several threads run side by side.
pub struct Llm {
    backend: &'static LlamaBackend,
    model: LlamaModel,
    format: ChatFormat,
    name: String,
    threads: i32,
    context_size: u32,
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
        let file = model_file::inspect(path)?;
        let needed = file.estimated_memory(config.context_size);
        let available = config.memory_limit_bytes.or_else(model_file::mem_available);
        if let Some(available) = available
            && needed > available
        {
            return Err(Error::model(format!(
                "{} needs about {} of memory with a {}-token context, but only {} is available; \
                 use a smaller model or a smaller context_size",
                path.display(),
                model_file::format_bytes(needed),
                config.context_size,
                model_file::format_bytes(available),
            )));
        }
        let model = LlamaModel::load_from_file(backend, path, &LlamaModelParams::default())
            .map_err(|err| {
                Error::model(format!(
                    "llama.cpp could not load {} ({err}); the file may be damaged or its \
                     architecture unsupported",
                    path.display()
                ))
            })?;
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
            format,
            name,
            threads: i32::try_from(threads).unwrap_or(i32::MAX),
            context_size: config.context_size,
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
        let start = Instant::now();
        self.validate(question, options)?;
        cancel.check()?;

        let language = options.language.or_else(|| Language::detect(question));
        let labels = instructions::for_language(language);
        let system = options.system_prompt.as_deref().unwrap_or(labels.system);
        let budget = (self.context_size - options.max_tokens) as usize;
        let vocab = self.model.vocab();
        let fitted = prompt::fit_prefix(passages.len(), budget, |k| {
            let text = self
                .format
                .render(&self.model, system, labels, question, &passages[..k])?;
            Ok(vocab.tokenize(text.as_bytes(), true, true))
        })?;
        let Some((n_given, prompt)) = fitted else {
            return Err(Error::invalid(format!(
                "question too long for the context window: even without sources the prompt \
                 exceeds the {budget} tokens left by context_size {} minus max_tokens {}",
                self.context_size, options.max_tokens
            )));
        };

        let mut ctx = self.new_context()?;
        let prefill_start = Instant::now();
        // llama.cpp may adjust n_batch; size the batch by what it settled on.
        let chunk_len = ctx.n_batch().max(1) as usize;
        let mut batch = LlamaBatch::new(chunk_len, 1);
        let mut pos = 0;
        for chunk in prompt.chunks(chunk_len) {
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

        let mut sampler = self.sampler(options);
        let mut stream = TextStream::new(&options.stop);
        let mut first_text = None;
        let mut emit = |piece: &str| {
            first_text.get_or_insert_with(|| start.elapsed());
            on_token(piece)
        };
        let mut logits_index = batch.n_tokens() - 1;
        let mut generated = 0u32;
        let mut evaluated = 0u32;
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
        let timings = GenerationTimings {
            prompt_tokens,
            prefill_ms,
            ttft_ms: first_text.map_or(0.0, millis),
            decode_tokens: generated,
            decode_ms,
            decode_tok_s: per_second(evaluated, decode_ms),
            prefill_tok_s: per_second(prompt_tokens, prefill_ms),
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
            .with_no_perf(false);
        let _guard = crate::llama_backend::context_creation();
        self.model.new_context(self.backend, params).map_err(|err| {
            Error::model(format!(
                "llama.cpp could not create a {}-token context ({err}); \
                 memory may be short, try a smaller context_size",
                self.context_size
            ))
        })
    }

    /// penalties → top-k → top-p → min-p → temperature → seeded draw
    /// (or the single best token at temperature 0).
    fn sampler(&self, options: &GenerationOptions) -> LlamaSampler {
        let last_n = if options.repeat_last_n < 0 {
            // llama.cpp now reads negative as "off"; keep the classic "-1 = whole context".
            i32::try_from(self.context_size).unwrap_or(i32::MAX)
        } else {
            options.repeat_last_n
        };
        let penalties = LlamaSampler::penalties(
            self.model.n_vocab(),
            last_n,
            options.repeat_penalty,
            0.0,
            0.0,
        );
        if options.temperature <= 0.0 {
            return LlamaSampler::chain_simple([penalties, LlamaSampler::greedy()]);
        }
        LlamaSampler::chain_simple([
            penalties,
            LlamaSampler::top_k(options.top_k),
            LlamaSampler::top_p(options.top_p, 1),
            LlamaSampler::min_p(options.min_p, 1),
            LlamaSampler::temp(options.temperature),
            LlamaSampler::dist(options.seed),
        ])
    }
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
