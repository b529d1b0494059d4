//! The bundled MiniLM ONNX model (or another ONNX model directory with a
//! `tokenizer.json`), run by fastembed on a dynamically loaded ONNX Runtime.

use std::path::{Path, PathBuf};
use std::sync::{Mutex, OnceLock};
use std::thread::JoinHandle;

use fastembed::{
    InitOptionsUserDefined, Pooling, QuantizationMode, TextEmbedding, TokenizerFiles,
    UserDefinedEmbeddingModel,
};
use sha2::{Digest, Sha256};

use super::{Embedder, ModelFingerprint, hex, normalize};
use crate::error::{Error, ErrorKind, Result};

/// MiniLM's trained sequence length; longer input would be cut silently.
const MINILM_MAX_TOKENS: usize = 256;

/// Files an embedding model directory must hold.
const MODEL_FILES: [&str; 5] = [
    "model.onnx",
    "tokenizer.json",
    "config.json",
    "special_tokens_map.json",
    "tokenizer_config.json",
];

/// The real embedder: two fastembed sessions over one model, one for
/// queries and one, created on first use, for indexing. A process that only
/// searches and answers never pays for the second (about 150 MB).
pub(crate) struct OnnxEmbedder {
    fingerprint: ModelFingerprint,
    counter: tokenizers::Tokenizer,
    model: UserDefinedEmbeddingModel,
    /// Options of the passage session (its thread count can change).
    options: Mutex<InitOptionsUserDefined>,
    source: PathBuf,
    passages: Mutex<Option<TextEmbedding>>,
    queries: Mutex<QuerySession>,
}

/// The query session, or the thread still creating it (waited for when
/// dropped, at the latest: no thread outlives the engine).
struct QuerySession {
    state: QueryState,
    /// The vector length: the store's record (checked once the session is
    /// made), then the session's own.
    expected: Option<usize>,
}

enum QueryState {
    Loading(JoinHandle<Result<(TextEmbedding, usize)>>),
    Ready(Box<TextEmbedding>),
    Failed(Error),
}

impl QuerySession {
    /// Starts creating the query session of `model` on a thread of its own.
    fn start(
        model: UserDefinedEmbeddingModel,
        options: InitOptionsUserDefined,
        source: PathBuf,
    ) -> Result<Self> {
        let thread = std::thread::Builder::new()
            .name("trove-query-model".into())
            .spawn(move || {
                let mut session = new_session(model, &options, &source)?;
                // The first run sizes ONNX Runtime's buffers (tens of ms),
                // off the first search's path, and tells the vector length.
                let probe = run_session(&mut session, &["dimension probe"])?;
                let dimensions = probe.first().map_or(0, Vec::len);
                give_back_freed_memory();
                Ok((session, dimensions))
            })
            .map_err(|e| Error::io("cannot start a thread to load the embedding model", e))?;
        Ok(QuerySession {
            state: QueryState::Loading(thread),
            expected: None,
        })
    }

    /// Waits for the session and gives its vector length.
    fn dimensions(&mut self) -> Result<usize> {
        self.ready()?;
        Ok(self.expected.unwrap_or_default())
    }

    /// The session, once its thread has finished creating it.
    fn ready(&mut self) -> Result<&mut TextEmbedding> {
        if let QueryState::Loading(_) = self.state {
            let QueryState::Loading(thread) =
                std::mem::replace(&mut self.state, QueryState::Failed(Error::model("")))
            else {
                unreachable!("matched above")
            };
            self.state = match thread.join() {
                Ok(Ok((_, made))) if self.expected.is_some_and(|e| e != made) => {
                    QueryState::Failed(Error::model(format!(
                        "the embedding model gives {made}-dimensional vectors, but the store records {}; open it with `reembed` set to re-embed every chunk",
                        self.expected.unwrap_or_default()
                    )))
                }
                Ok(Ok((session, made))) => {
                    self.expected = Some(made);
                    QueryState::Ready(Box::new(session))
                }
                Ok(Err(e)) => QueryState::Failed(e),
                Err(_) => QueryState::Failed(Error::model(
                    "loading the embedding model's query session crashed",
                )),
            };
        }
        match &mut self.state {
            QueryState::Ready(session) => Ok(session.as_mut()),
            QueryState::Failed(e) => Err(e.clone()),
            QueryState::Loading(_) => unreachable!("joined above"),
        }
    }
}

/// Returns what this thread's malloc arena holds free to the system. glibc
/// gives each thread an arena of its own, and the copies ONNX Runtime makes
/// and drops while it creates a session (about 60 MB) would otherwise stay
/// in this one, counted in the process's memory and never reused by the
/// threads that search (anonymous RSS after 600 searches at 117k chunks
/// 340 -> 400 MB without this).
#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn give_back_freed_memory() {
    unsafe extern "C" {
        safe fn malloc_trim(pad: usize) -> std::ffi::c_int;
    }
    malloc_trim(0);
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn give_back_freed_memory() {}

impl Drop for QuerySession {
    fn drop(&mut self) {
        let _ = self.ready();
    }
}

impl OnnxEmbedder {
    /// Loads the model in `model_dir` on the ONNX Runtime library at
    /// `runtime_lib`.
    ///
    /// The query session (about 250 of the 340 ms a load takes) is created
    /// on a thread of its own while the files are hashed and the tokenizer
    /// read. When `recorded` (the store's record of its model) names these
    /// very files, the record vouches that they load and gives their vector
    /// length: the store opens while the session is still being made, and
    /// the first query waits for it. Otherwise the session is waited for
    /// here, to learn the vector length (and fail at once on a bad model).
    pub(crate) fn load(
        model_dir: &Path,
        runtime_lib: &Path,
        threads: usize,
        recorded: Option<&ModelFingerprint>,
    ) -> Result<Self> {
        let environment = ort_environment(runtime_lib)?;
        let mut bytes = Vec::with_capacity(MODEL_FILES.len());
        for name in MODEL_FILES {
            let path = model_dir.join(name);
            let data = std::fs::read(&path).map_err(|e| {
                Error::io(
                    format!(
                        "cannot read embedding model file {} (run `make setup` to fetch the models)",
                        path.display()
                    ),
                    e,
                )
            })?;
            bytes.push(data);
        }
        let [onnx, tokenizer, config, special, tokenizer_config]: [Vec<u8>; 5] =
            bytes.try_into().expect("five model files");

        let files = TokenizerFiles {
            tokenizer_file: tokenizer,
            config_file: config,
            special_tokens_map_file: special,
            tokenizer_config_file: tokenizer_config,
        };
        let model = UserDefinedEmbeddingModel::new(onnx, files)
            .with_pooling(Pooling::Mean)
            .with_quantization(QuantizationMode::None);
        let options = InitOptionsUserDefined::new()
            .with_environment(environment)
            .with_max_length(MINILM_MAX_TOKENS)
            .with_intra_threads(threads);
        // Queries run on one thread, the caller's: a search embeds its query
        // while another core searches the keywords, and ONNX Runtime's pool
        // threads, which spin between runs, slowed that search by half
        // (15 -> 22 ms at 117k chunks).
        let mut queries = QuerySession::start(
            model.clone(),
            options.clone().with_intra_threads(1),
            model_dir.to_path_buf(),
        )?;

        let mut hasher = Sha256::new();
        hasher.update(&model.onnx_file);
        hasher.update(&model.tokenizer_files.tokenizer_file);
        let sha256 = hex(&hasher.finalize());

        let mut counter = tokenizers::Tokenizer::from_bytes(&model.tokenizer_files.tokenizer_file)
            .map_err(|e| {
                Error::model(format!(
                    "{}/tokenizer.json is not a valid tokenizer: {e}",
                    model_dir.display()
                ))
            })?;
        counter.with_padding(None);
        counter
            .with_truncation(None)
            .map_err(|e| Error::model(format!("cannot configure tokenizer: {e}")))?;

        let name = model_dir
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "embedding-model".into());
        let dimensions = match recorded.filter(|r| r.name == name && r.sha256 == sha256) {
            Some(record) => {
                queries.expected = Some(record.dimensions as usize);
                record.dimensions
            }
            None => queries.dimensions()? as u32,
        };
        Ok(OnnxEmbedder {
            fingerprint: ModelFingerprint {
                name,
                dimensions,
                sha256,
            },
            counter,
            model,
            options: Mutex::new(options),
            source: model_dir.to_path_buf(),
            passages: Mutex::new(None),
            queries: Mutex::new(queries),
        })
    }

    fn with_queries<T>(&self, run: impl FnOnce(&mut TextEmbedding) -> Result<T>) -> Result<T> {
        let mut session = self.queries.lock().unwrap_or_else(|p| p.into_inner());
        run(session.ready()?)
    }
}

impl Embedder for OnnxEmbedder {
    fn fingerprint(&self) -> &ModelFingerprint {
        &self.fingerprint
    }

    fn max_tokens(&self) -> usize {
        MINILM_MAX_TOKENS
    }

    fn count_tokens(&self, text: &str) -> usize {
        self.counter
            .encode_fast(text, true)
            .map(|e| e.len())
            // A text the tokenizer cannot encode is counted pessimistically,
            // which makes the chunker split it further rather than cut it.
            .unwrap_or(usize::MAX / 4)
    }

    fn embed_passages(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>> {
        if texts.is_empty() {
            return Ok(Vec::new());
        }
        let mut slot = self.passages.lock().unwrap_or_else(|p| p.into_inner());
        if slot.is_none() {
            let options = self
                .options
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .clone();
            *slot = Some(new_session(self.model.clone(), &options, &self.source)?);
        }
        run_session(slot.as_mut().expect("created above"), texts)
    }

    fn embed_query(&self, text: &str) -> Result<Vec<f32>> {
        let mut vectors = self.with_queries(|session| run_session(session, &[text]))?;
        vectors
            .pop()
            .ok_or_else(|| Error::model("embedding model returned no vector"))
    }

    fn embed_queries(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>> {
        if texts.is_empty() {
            return Ok(Vec::new());
        }
        self.with_queries(|session| run_session(session, texts))
    }

    fn vocabulary_size(&self) -> usize {
        self.counter.get_vocab_size(true)
    }

    fn set_passage_threads(&self, threads: usize) {
        let mut options = self.options.lock().unwrap_or_else(|p| p.into_inner());
        *options = options.clone().with_intra_threads(threads);
        drop(options);
        // ONNX Runtime fixes a session's threads: the next batch starts a
        // new one (tens of milliseconds).
        *self.passages.lock().unwrap_or_else(|p| p.into_inner()) = None;
    }
}

fn new_session(
    model: UserDefinedEmbeddingModel,
    options: &InitOptionsUserDefined,
    source: &Path,
) -> Result<TextEmbedding> {
    TextEmbedding::try_new_from_user_defined(model, options.clone()).map_err(|e| {
        Error::model(format!(
            "cannot load embedding model from {}: {e}",
            source.display()
        ))
    })
}

fn run_session(session: &mut TextEmbedding, texts: &[&str]) -> Result<Vec<Vec<f32>>> {
    let failed = |e: &dyn std::fmt::Display| Error::model(format!("embedding failed: {e}"));
    let batches = session
        .transform(texts, Some(texts.len()))
        .map_err(|e| failed(&e))?
        .into_raw();
    let mut vectors = Vec::with_capacity(texts.len());
    for batch in &batches {
        // The model's token states: the output named so, or its only output.
        let output = batch
            .outputs
            .iter()
            .find(|(name, _)| name == "last_hidden_state")
            .or(batch.outputs.first())
            .map(|(_, value)| value)
            .ok_or_else(|| Error::model("the embedding model produced no output"))?;
        let (shape, states) = output.try_extract_tensor::<f32>().map_err(|e| failed(&e))?;
        vectors.extend(mean_pool(shape, states, &batch.attention_mask_array)?);
    }
    Ok(vectors)
}

/// Mean of the token states under the attention mask, scaled to unit length
/// (the mean's divisor cancels out, so it is a masked sum, normalised). One
/// pass over the states, without the broadcast copies a generic
/// implementation makes.
fn mean_pool(shape: &[i64], states: &[f32], mask: &ndarray::Array2<i64>) -> Result<Vec<Vec<f32>>> {
    let [batch, tokens, dims] = [shape.first(), shape.get(1), shape.get(2)]
        .map(|d| d.copied().unwrap_or(0).max(0) as usize);
    if shape.len() != 3 || states.len() != batch * tokens * dims || mask.dim() != (batch, tokens) {
        return Err(Error::model(format!(
            "the embedding model's output has an unexpected shape {shape:?}"
        )));
    }
    Ok((0..batch)
        .map(|b| {
            let mut v = vec![0f32; dims];
            for t in (0..tokens).filter(|&t| mask[(b, t)] != 0) {
                let row = &states[(b * tokens + t) * dims..][..dims];
                v.iter_mut().zip(row).for_each(|(a, x)| *a += x);
            }
            normalize(&mut v);
            v
        })
        .collect())
}

/// ONNX Runtime allows one environment per process; the first engine opened
/// picks the library, later ones share it.
fn ort_environment(runtime_lib: &Path) -> Result<ort::environment::Environment> {
    static ENVIRONMENT: OnceLock<std::result::Result<ort::environment::Environment, String>> =
        OnceLock::new();
    static LIBRARY: OnceLock<PathBuf> = OnceLock::new();
    if !runtime_lib.is_file() {
        return Err(Error::new(
            ErrorKind::NotFound,
            format!(
                "ONNX Runtime library not found at {} (run `make setup` to fetch it)",
                runtime_lib.display()
            ),
        ));
    }
    LIBRARY.get_or_init(|| runtime_lib.to_path_buf());
    let result = ENVIRONMENT.get_or_init(|| {
        let loaded = std::panic::catch_unwind(|| ort::init_from(runtime_lib));
        match loaded {
            Ok(Ok(builder)) => builder
                .with_name("trove")
                .build()
                .map_err(|e| format!("cannot start ONNX Runtime: {e}")),
            Ok(Err(e)) => Err(format!(
                "cannot load ONNX Runtime from {}: {e}",
                runtime_lib.display()
            )),
            Err(_) => Err(format!(
                "loading ONNX Runtime from {} crashed; is it a libonnxruntime.so of version 1.2x or newer?",
                runtime_lib.display()
            )),
        }
    });
    result.clone().map_err(Error::model)
}
