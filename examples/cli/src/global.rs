//! The options every command of `trove` and `trove-dev` takes (trove-dev
//! includes this file), so both find the same store and models.

use std::path::{Path, PathBuf};

use trove::{CacheType, EngineConfig, LoraAdapter, ModelPaths};

/// Where the knowledge base and the models are, threads, output format.
#[derive(clap::Args)]
pub struct GlobalArgs {
    /// Knowledge base directory [default: ./.trove]
    #[arg(long, global = true, value_name = "DIR")]
    pub store: Option<PathBuf>,
    /// Models directory [default: $TROVE_MODELS, else the repository's models/]
    #[arg(long, global = true, value_name = "DIR")]
    pub models: Option<PathBuf>,
    /// Embedding model of a new store: `minilm` (English, the default), `e5`
    /// (multilingual-e5-small, every language) or a path (an ONNX model
    /// directory or a .gguf file); a store built with another one needs `--reembed`
    #[arg(long, global = true, value_name = "MODEL")]
    pub embedding: Option<String>,
    /// Answer model: any GGUF chat model llama.cpp runs [default: SmolLM2 in the models directory]
    #[arg(long, global = true, value_name = "GGUF")]
    pub llm: Option<PathBuf>,
    /// Context window of the answer model, in tokens [default: 2048]
    #[arg(long, global = true, value_name = "TOKENS")]
    pub context_size: Option<u32>,
    /// How the answer model's KV cache stores keys: f16 (default), q8_0
    /// (about half the memory) or q4_0 (about a quarter)
    #[arg(long, global = true, value_name = "TYPE", value_parser = cache_type)]
    pub cache_type_k: Option<CacheType>,
    /// How it stores values: f16 (default), q8_0 or q4_0
    #[arg(long, global = true, value_name = "TYPE", value_parser = cache_type)]
    pub cache_type_v: Option<CacheType>,
    /// A GGUF LoRA adapter on the answer model, with its scale
    /// (FILE.gguf or FILE.gguf:0.5; default scale 1)
    #[arg(long, global = true, value_name = "FILE[:SCALE]", value_parser = lora_adapter)]
    pub lora: Vec<LoraAdapter>,
    /// Layers of the answer model offloaded to a GPU: 0 (default) none, 999
    /// all; needs a build with a GPU backend (`trove models` lists the GPUs found)
    #[arg(long, global = true, default_value_t = 0, value_name = "N")]
    pub gpu_layers: u32,
    /// Re-embed a store built with another embedding model (instead of refusing it)
    #[arg(long, global = true)]
    pub reembed: bool,
    /// Threads for embedding and generation (0 = all cores)
    #[arg(long, global = true, default_value_t = 0, value_name = "N")]
    pub threads: usize,
    /// Machine-readable output: JSON, one object per line where a command prints several
    #[arg(long, global = true)]
    pub json: bool,
}

impl GlobalArgs {
    /// `--store`, else `./.trove`.
    pub fn store_dir(&self) -> PathBuf {
        self.store
            .clone()
            .unwrap_or_else(|| PathBuf::from(".trove"))
    }

    /// `--models`, else `TROVE_MODELS`, else the `models/` of the repository
    /// this binary was built from (where `make setup` puts them), else `./models`.
    pub fn models_dir(&self) -> PathBuf {
        if let Some(dir) = self
            .models
            .clone()
            .or_else(|| std::env::var_os("TROVE_MODELS").map(PathBuf::from))
        {
            return dir;
        }
        let repo = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../models");
        if repo.is_dir() {
            repo
        } else {
            PathBuf::from("models")
        }
    }

    /// The engine configuration these options describe.
    pub fn config(&self) -> EngineConfig {
        let mut config = EngineConfig::new(self.store_dir(), self.models_dir());
        config.threads = self.threads;
        config.reembed = self.reembed;
        // A command that ends when its work does has no use for a thread
        // embedding in the background (`trove watch` turns it on).
        config.background_embedding = false;
        if let Some(llm) = &self.llm {
            config.models.llm = llm.clone();
        }
        if let Some(tokens) = self.context_size {
            config.context_size = tokens;
        }
        config.cache_type_k = self.cache_type_k.unwrap_or_default();
        config.cache_type_v = self.cache_type_v.unwrap_or_default();
        config.lora_adapters = self.lora.clone();
        config.gpu_layers = self.gpu_layers;
        // No --embedding, or `minilm`: EngineConfig's default already is MiniLM.
        match self.embedding.as_deref() {
            None | Some("minilm") => {}
            Some("e5") => {
                config.models.embedding_dir = ModelPaths::multilingual_embedding(self.models_dir())
            }
            Some(path) => config.models.embedding_dir = PathBuf::from(path),
        }
        config
    }
}

fn cache_type(name: &str) -> Result<CacheType, String> {
    CacheType::from_name(name).ok_or_else(|| format!("`{name}` is not f16, q8_0 or q4_0"))
}

/// `FILE` or `FILE:SCALE` (a path may hold colons: only a number after
/// the last one is a scale).
fn lora_adapter(arg: &str) -> Result<LoraAdapter, String> {
    if let Some((path, scale)) = arg.rsplit_once(':')
        && let Ok(scale) = scale.parse::<f32>()
    {
        if !scale.is_finite() {
            return Err(format!("the scale in `{arg}` is not a finite number"));
        }
        return Ok(LoraAdapter::new(path, scale));
    }
    Ok(LoraAdapter::new(arg, 1.0))
}
