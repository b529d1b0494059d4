//! Engine configuration: where the store and models live, and the knobs.

use std::path::{Path, PathBuf};

use crate::chunk::ChunkingOptions;
use crate::ingest::IngestLimits;
use crate::llm::{CacheType, LoraAdapter};
use crate::store::VectorQuantization;

/// Paths of the three models the engine runs.
#[derive(Debug, Clone, PartialEq)]
pub struct ModelPaths {
    /// The embedding model: a directory with `model.onnx` and the tokenizer
    /// files (run on ONNX Runtime), or a `.gguf` file (run on llama.cpp).
    pub embedding_dir: PathBuf,
    /// The ONNX Runtime shared library (`libonnxruntime.so.*`).
    pub onnxruntime_lib: PathBuf,
    /// The GGUF answer model (any llama.cpp model with a chat template).
    pub llm: PathBuf,
}

impl ModelPaths {
    /// The layout `make setup` creates in a models directory.
    ///
    /// ```
    /// let paths = trove::ModelPaths::in_dir("models");
    /// assert!(paths.llm.ends_with("SmolLM2-135M-Instruct.Q4_1.gguf"));
    /// ```
    pub fn in_dir(dir: impl AsRef<Path>) -> Self {
        let dir = dir.as_ref();
        ModelPaths {
            embedding_dir: dir.join("all-MiniLM-L6-v2-int8"),
            onnxruntime_lib: dir.join("onnxruntime").join("libonnxruntime.so.1.31.1"),
            llm: dir.join("SmolLM2-135M-Instruct.Q4_1.gguf"),
        }
    }

    /// The multilingual embedding model `make setup` converts into a models
    /// directory (multilingual-e5-small, a GGUF run by llama.cpp): put it in
    /// `embedding_dir` for a store in any language.
    ///
    /// ```
    /// let mut paths = trove::ModelPaths::in_dir("models");
    /// paths.embedding_dir = trove::ModelPaths::multilingual_embedding("models");
    /// assert!(paths.embedding_dir.ends_with("multilingual-e5-small-q4_0.gguf"));
    /// ```
    pub fn multilingual_embedding(dir: impl AsRef<Path>) -> PathBuf {
        dir.as_ref()
            .join("multilingual-e5-small")
            .join("multilingual-e5-small-q4_0.gguf")
    }
}

/// Everything [`Engine::open`](crate::Engine::open) needs.
#[derive(Debug, Clone)]
pub struct EngineConfig {
    /// Directory of the knowledge base (created if missing).
    pub store_dir: PathBuf,
    /// The models.
    pub models: ModelPaths,
    /// Threads for embedding and generation; 0 means all cores.
    pub threads: usize,
    /// Context window of the answer model, in tokens.
    pub context_size: u32,
    /// How the answer model's KV cache stores keys (default f16); q8_0 or
    /// q4_0 fit a long context in less memory.
    pub cache_type_k: CacheType,
    /// How the answer model's KV cache stores values (default f16).
    pub cache_type_v: CacheType,
    /// LoRA adapters applied to the answer model (at most one for now).
    pub lora_adapters: Vec<LoraAdapter>,
    /// Layers of the answer model offloaded to a GPU (default 0: the CPU;
    /// 999: all of them); needs a GPU build
    /// ([`LlmConfig::gpu_layers`](crate::llm::LlmConfig::gpu_layers)). The
    /// embedding model stays on the CPU.
    pub gpu_layers: u32,
    /// File size limit and PDF time limit.
    pub limits: IngestLimits,
    /// How documents are cut into chunks.
    pub chunking: ChunkingOptions,
    /// Precision of the vectors inside the HNSW index.
    pub quantization: VectorQuantization,
    /// Passages per embedding call while indexing.
    pub embed_batch_size: usize,
    /// Indexing calls return once their chunks have vectors (the default).
    /// `false`: once their documents are committed and keyword-searchable
    /// (at parse speed); the background thread embeds the rest, and hybrid
    /// search lets keyword evidence stand in meanwhile.
    pub wait_for_embedding: bool,
    /// Run a background thread that embeds queued chunks: those an indexing
    /// call did not wait for, or a killed process left. Off, they wait for
    /// the next call that waits (or [`Engine::finish_embedding`](crate::Engine::finish_embedding)).
    pub background_embedding: bool,
    /// Threads for embedding passages; 0: `threads`. Changeable while open
    /// ([`Engine::set_embedding_threads`](crate::Engine::set_embedding_threads)).
    pub embedding_threads: usize,
    /// Re-embed every chunk when the store was built with another embedding
    /// model, instead of refusing to open it.
    pub reembed: bool,
}

impl EngineConfig {
    /// Defaults for a store in `store_dir` with models laid out by `make setup` in `models_dir`.
    ///
    /// ```
    /// let config = trove::EngineConfig::new("/tmp/notes.trove", "models");
    /// assert_eq!(config.context_size, 2048);
    /// ```
    pub fn new(store_dir: impl Into<PathBuf>, models_dir: impl AsRef<Path>) -> Self {
        EngineConfig {
            store_dir: store_dir.into(),
            models: ModelPaths::in_dir(models_dir),
            threads: 0,
            context_size: 2048,
            cache_type_k: CacheType::F16,
            cache_type_v: CacheType::F16,
            lora_adapters: Vec::new(),
            gpu_layers: 0,
            limits: IngestLimits::default(),
            chunking: ChunkingOptions::default(),
            quantization: VectorQuantization::F16,
            embed_batch_size: 16,
            wait_for_embedding: true,
            background_embedding: true,
            embedding_threads: 0,
            reembed: false,
        }
    }

    /// `embedding_threads`, with 0 resolved to [`resolved_threads`](Self::resolved_threads).
    pub fn resolved_embedding_threads(&self) -> usize {
        match self.embedding_threads {
            0 => self.resolved_threads(),
            n => n,
        }
    }

    /// `threads`, with 0 resolved to the number of cores.
    pub fn resolved_threads(&self) -> usize {
        if self.threads > 0 {
            self.threads
        } else {
            std::thread::available_parallelism()
                .map(|n| n.get())
                .unwrap_or(1)
        }
    }
}
