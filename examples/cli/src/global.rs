//! The options every command of `trove` and `trove-dev` takes (trove-dev
//! includes this file), so both find the same store and models.

use std::path::{Path, PathBuf};

use trove::{EngineConfig, ModelPaths};

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
