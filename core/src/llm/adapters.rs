//! LoRA adapters: small GGUF files of low-rank weight deltas that make a
//! base model your own (a style, a domain) without a second copy of it.

use std::path::{Path, PathBuf};
use std::sync::Mutex;

use llama_cpp_2::context::LlamaContext;
use llama_cpp_2::model::{LlamaLoraAdapter, LlamaModel};

use crate::{Error, Result};

/// One LoRA adapter and how strongly it applies.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct LoraAdapter {
    /// A GGUF LoRA adapter made for the answer model (llama.cpp's
    /// `convert_lora_to_gguf.py` writes them).
    #[serde(with = "crate::serde_path")]
    pub path: PathBuf,
    /// Multiplies the adapter's deltas: 1.0 as trained, 0.0 off.
    pub scale: f32,
}

impl LoraAdapter {
    /// An adapter at `path` applied at `scale`.
    ///
    /// ```
    /// let adapter = trove::llm::LoraAdapter::new("style.gguf", 0.5);
    /// assert_eq!(adapter.scale, 0.5);
    /// ```
    pub fn new(path: impl Into<PathBuf>, scale: f32) -> Self {
        LoraAdapter {
            path: path.into(),
            scale,
        }
    }
}

/// The adapter loaded onto a model, set on each context made from it.
///
/// One at a time: llama-cpp-2 (0.1.160) sets a single adapter per context
/// (`lora_adapter_set` replaces any other) and does not expose the context
/// handle that llama.cpp's call for several needs.
pub(super) struct LoadedAdapters {
    /// `lora_adapter_set` takes the adapter mutably; llama.cpp only reads it.
    adapter: Option<(Mutex<LlamaLoraAdapter>, f32)>,
}

impl LoadedAdapters {
    /// Loads the adapters onto `model`. llama.cpp checks that an adapter
    /// fits the model (architecture, tensor shapes) and fails otherwise.
    pub(super) fn load(model: &mut LlamaModel, adapters: &[LoraAdapter]) -> Result<Self> {
        let adapter = match adapters {
            [] => return Ok(LoadedAdapters { adapter: None }),
            [adapter] => adapter,
            _ => {
                return Err(Error::invalid(format!(
                    "{} LoRA adapters given, but one at a time is supported; merge them \
                     into one adapter (llama.cpp's export-lora) or pick one",
                    adapters.len()
                )));
            }
        };
        if !adapter.scale.is_finite() {
            return Err(Error::invalid(format!(
                "the scale of LoRA adapter {} is not a finite number",
                adapter.path.display()
            )));
        }
        check_file(&adapter.path)?;
        let lora = model.lora_adapter_init(&adapter.path).map_err(|err| {
            Error::model(format!(
                "llama.cpp could not load the LoRA adapter {} ({err}); it must be a GGUF \
                 LoRA adapter made for this model (same architecture and sizes)",
                adapter.path.display()
            ))
        })?;
        Ok(LoadedAdapters {
            adapter: Some((Mutex::new(lora), adapter.scale)),
        })
    }

    /// Applies the adapter, with its scale, to `ctx`.
    pub(super) fn apply(&self, ctx: &mut LlamaContext<'_>) -> Result<()> {
        let Some((adapter, scale)) = &self.adapter else {
            return Ok(());
        };
        let mut adapter = adapter.lock().unwrap_or_else(|p| p.into_inner());
        ctx.lora_adapter_set(&mut adapter, *scale).map_err(|err| {
            Error::model(format!(
                "llama.cpp could not apply the LoRA adapter ({err})"
            ))
        })
    }
}

/// A clear error for a missing or non-GGUF adapter file, which llama.cpp
/// would report as a bare null.
fn check_file(path: &Path) -> Result<()> {
    let mut magic = [0u8; 4];
    let read = std::fs::File::open(path).and_then(|mut f| {
        use std::io::Read;
        f.read_exact(&mut magic)
    });
    match read {
        Ok(()) if &magic == b"GGUF" => Ok(()),
        Ok(()) => Err(Error::model(format!(
            "LoRA adapter {} is not a GGUF file; convert it with llama.cpp's \
             convert_lora_to_gguf.py",
            path.display()
        ))),
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => Err(Error::new(
            crate::ErrorKind::NotFound,
            format!("LoRA adapter {} not found", path.display()),
        )),
        Err(err) => Err(Error::io(
            format!("cannot read LoRA adapter {}", path.display()),
            err,
        )),
    }
}
