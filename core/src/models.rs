//! What a model file is (size, quantization, context length, chat format,
//! sha256) and whether it is still the file that was recorded for it: by
//! `make setup` (its `.verified` manifest) or by the store, which records
//! the answer model it answers with and refuses one changed since.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::time::UNIX_EPOCH;

use sha2::{Digest, Sha256};

use crate::llm::model_file;
use crate::{Error, Result};

/// What a model does for the engine.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ModelRole {
    /// The store's embedding model.
    Embedding,
    /// The model that writes answers.
    Answer,
    /// A LoRA adapter on the answer model.
    LoraAdapter,
    /// A model file found in a models folder, not configured.
    Found,
}

/// One model file, as [`inspect_model`] and [`Engine::models`](crate::Engine::models) report it.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct ModelInfo {
    pub role: ModelRole,
    /// The file: a `.gguf`, or the `model.onnx` of an ONNX model directory.
    #[serde(with = "crate::serde_path")]
    pub path: PathBuf,
    /// `gguf` or `onnx`.
    pub format: String,
    /// `general.name` of a GGUF, the directory name of an ONNX model.
    pub name: Option<String>,
    /// `general.architecture` (`llama`, `gemma3`, `bert` …).
    pub architecture: Option<String>,
    pub size_bytes: u64,
    /// The weights' type: a GGUF's file type (`Q4_1`, `Q4_K_M` …), `int8`
    /// for an ONNX graph with quantized operators, else `f32`.
    pub quantization: Option<String>,
    /// The context the model was trained for, in tokens.
    pub context_length: Option<u64>,
    /// The chat format its template follows (`chatml`, `gemma`, `llama3`,
    /// `mistral`, `phi3`, `zephyr`, or `custom`); none: no template.
    pub chat_template: Option<String>,
    /// sha256 (hex) of the file.
    pub sha256: String,
    /// The sha256 recorded for this file, and by whom (`setup` or `store`).
    pub recorded_sha256: Option<String>,
    pub recorded_by: Option<String>,
    /// The file is not the one recorded: the answer model is refused until
    /// the change is accepted ([`Engine::models`](crate::Engine::models)).
    pub changed: bool,
}

/// Describes the model file (or ONNX model directory) at `path`, hashing
/// it, and checks it against `make setup`'s manifest where one covers it.
///
/// ```no_run
/// let info = trove::inspect_model("models/SmolLM2-135M-Instruct.Q4_1.gguf")?;
/// assert_eq!(info.quantization.as_deref(), Some("Q4_1"));
/// # Ok::<(), trove::Error>(())
/// ```
pub fn inspect_model(path: impl AsRef<Path>) -> Result<ModelInfo> {
    describe(path.as_ref(), ModelRole::Found)
}

/// Every model in `dir` and the folders directly in it: `.gguf` files
/// and ONNX model directories, sorted by path.
pub fn find_models(dir: impl AsRef<Path>) -> Result<Vec<ModelInfo>> {
    let dir = dir.as_ref();
    let mut found = Vec::new();
    let mut visit = |dir: &Path, descend: bool| -> Result<Vec<PathBuf>> {
        let entries = std::fs::read_dir(dir)
            .map_err(|e| Error::io(format!("cannot list {}", dir.display()), e))?;
        let mut folders = Vec::new();
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                if path.join("model.onnx").is_file() {
                    found.push(path);
                } else if descend {
                    folders.push(path);
                }
            } else if path
                .extension()
                .is_some_and(|e| e.eq_ignore_ascii_case("gguf"))
            {
                found.push(path);
            }
        }
        Ok(folders)
    };
    for folder in visit(dir, true)? {
        visit(&folder, false)?;
    }
    found.sort();
    found
        .iter()
        .map(|path| describe(path, ModelRole::Found))
        .collect()
}

impl crate::Engine {
    /// The models this engine runs with (embedding model, answer model,
    /// LoRA adapters), each hashed and checked against what was recorded
    /// for it: `make setup`'s manifest, and the store's record of the
    /// answer model. An answer model whose file changed since the store
    /// recorded it is refused when loaded; `accept` records the file as it
    /// is now, so it is used from then on.
    ///
    /// ```no_run
    /// # let engine = trove::Engine::open(trove::EngineConfig::new("notes.trove", "models"))?;
    /// for model in engine.models(false)? {
    ///     println!("{:?} {} {}", model.role, model.path.display(), model.sha256);
    /// }
    /// # Ok::<(), trove::Error>(())
    /// ```
    pub fn models(&self, accept: bool) -> Result<Vec<ModelInfo>> {
        let paths = &self.config().models;
        let mut models = vec![describe(&paths.embedding_dir, ModelRole::Embedding)?];
        let mut answer = describe(&paths.llm, ModelRole::Answer)?;
        let recorded = self.store().snapshot()?.answer_model()?;
        if accept {
            let (size, mtime_ns) = stamp(&paths.llm)?;
            let record = ModelRecord {
                path: paths.llm.clone(),
                size,
                mtime_ns,
                sha256: answer.sha256.clone(),
            };
            let mut writes = self.store().begin_writes();
            writes.transaction(|tx| tx.record_answer_model(&record))?;
            writes.finish()?;
            answer.recorded_sha256 = Some(record.sha256);
            answer.recorded_by = Some("store".into());
            answer.changed = false;
        } else if let Some(record) = recorded.filter(|r| r.path == paths.llm) {
            let differs = record.sha256 != answer.sha256;
            if differs || !answer.changed {
                answer.changed = differs;
                answer.recorded_sha256 = Some(record.sha256);
                answer.recorded_by = Some("store".into());
            }
        }
        models.push(answer);
        for adapter in &self.config().lora_adapters {
            models.push(describe(&adapter.path, ModelRole::LoraAdapter)?);
        }
        Ok(models)
    }

    /// Refuses an answer model whose file changed since the store recorded
    /// it at the same path; records it when it is new to the store.
    pub(crate) fn check_answer_model(&self, path: &Path) -> Result<()> {
        let recorded = self.store().snapshot()?.answer_model()?;
        let now = ModelRecord::of(path, recorded.as_ref())?;
        if let Some(recorded) = &recorded {
            if recorded.path == now.path && recorded.sha256 != now.sha256 {
                return Err(changed_error(recorded, &now));
            }
            if *recorded == now {
                return Ok(());
            }
        }
        let mut writes = self.store().begin_writes();
        writes.transaction(|tx| tx.record_answer_model(&now))?;
        writes.finish()
    }
}

/// A model file as the store recorded it. Size and modification time tell
/// cheaply that it is unchanged; the sha256 decides when they differ.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub(crate) struct ModelRecord {
    #[serde(with = "crate::serde_path")]
    pub path: PathBuf,
    pub size: u64,
    pub mtime_ns: i64,
    pub sha256: String,
}

impl ModelRecord {
    /// Records the file at `path` as it is now, reusing `known`'s hash
    /// when size and modification time show it is the same file.
    pub(crate) fn of(path: &Path, known: Option<&ModelRecord>) -> Result<ModelRecord> {
        let (size, mtime_ns) = stamp(path)?;
        if let Some(known) = known
            && known.path == path
            && known.size == size
            && known.mtime_ns == mtime_ns
        {
            return Ok(known.clone());
        }
        Ok(ModelRecord {
            path: path.to_path_buf(),
            size,
            mtime_ns,
            sha256: sha256_file(path)?,
        })
    }
}

/// The refusal for an answer model whose file changed since the store
/// recorded it.
pub(crate) fn changed_error(recorded: &ModelRecord, now: &ModelRecord) -> Error {
    Error::model(format!(
        "the answer model {} changed since this store recorded it (sha256 {} then, {} now); \
         if you replaced it on purpose, accept it with `trove models --accept` \
         (Engine::models(true)), else restore the file (`make setup` re-downloads it)",
        now.path.display(),
        short(&recorded.sha256),
        short(&now.sha256)
    ))
}

fn short(sha: &str) -> &str {
    &sha[..sha.len().min(12)]
}

/// Describes one model; `changed` and the record are checked against
/// `make setup`'s manifest only (the engine adds the store's record).
pub(crate) fn describe(path: &Path, role: ModelRole) -> Result<ModelInfo> {
    let file = match path.is_dir() {
        true => path.join("model.onnx"),
        false => path.to_path_buf(),
    };
    let size_bytes = std::fs::metadata(&file)
        .map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => Error::new(
                crate::ErrorKind::NotFound,
                format!("model {} not found", file.display()),
            ),
            _ => Error::io(format!("cannot read model {}", file.display()), e),
        })?
        .len();
    let sha256 = sha256_file(&file)?;
    let mut info = ModelInfo {
        role,
        path: file.clone(),
        format: String::new(),
        name: None,
        architecture: None,
        size_bytes,
        quantization: None,
        context_length: None,
        chat_template: None,
        recorded_sha256: None,
        recorded_by: None,
        changed: false,
        sha256,
    };
    if file
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("gguf"))
    {
        let gguf = model_file::inspect(&file)?;
        info.format = "gguf".into();
        info.name = gguf.name;
        info.architecture = gguf.architecture;
        info.quantization = gguf.file_type.map(file_type_name);
        info.context_length = gguf.context_length;
        info.chat_template = gguf
            .chat_template
            .as_deref()
            .map(chat_format)
            .map(String::from);
    } else {
        info.format = "onnx".into();
        info.name = file
            .parent()
            .and_then(|d| d.file_name())
            .map(|n| n.to_string_lossy().into_owned());
        info.quantization = Some(onnx_weights(&file)?.into());
        let config = file.with_file_name("config.json");
        if let Ok(json) = std::fs::read_to_string(config)
            && let Ok(config) = serde_json::from_str::<serde_json::Value>(&json)
        {
            info.architecture = config["model_type"].as_str().map(String::from);
            info.context_length = config["max_position_embeddings"].as_u64();
        }
    }
    if let Some(sha) = setup_manifest_sha256(&file) {
        info.changed = sha != info.sha256;
        info.recorded_sha256 = Some(sha);
        info.recorded_by = Some("setup".into());
    }
    Ok(info)
}

/// The sha256 `make setup` verified for `file`: its `.verified` manifest
/// lists "dest size mtime sha256" with dest relative to the models folder,
/// which is the file's folder or the one above it.
fn setup_manifest_sha256(file: &Path) -> Option<String> {
    let file = file.canonicalize().ok()?;
    for dir in file.ancestors().skip(1).take(2) {
        let Ok(manifest) = std::fs::read_to_string(dir.join(".verified")) else {
            continue;
        };
        let dest = file.strip_prefix(dir).ok()?.to_str()?.to_owned();
        return manifest.lines().find_map(|line| {
            let fields: Vec<&str> = line.split_whitespace().collect();
            (fields.len() == 4 && fields[0] == dest).then(|| fields[3].to_owned())
        });
    }
    None
}

/// `int8` when the graph holds quantized operators, else `f32`.
fn onnx_weights(file: &Path) -> Result<&'static str> {
    let bytes =
        std::fs::read(file).map_err(|e| Error::io(format!("cannot read {}", file.display()), e))?;
    let quantized = [
        &b"MatMulInteger"[..],
        b"QLinearMatMul",
        b"DynamicQuantizeLinear",
    ]
    .iter()
    .any(|op| bytes.windows(op.len()).any(|w| w == *op));
    Ok(if quantized { "int8" } else { "f32" })
}

/// llama.cpp's `llama_ftype` names (include/llama.h).
fn file_type_name(file_type: u32) -> String {
    let name = match file_type {
        0 => "F32",
        1 => "F16",
        2 => "Q4_0",
        3 => "Q4_1",
        7 => "Q8_0",
        8 => "Q5_0",
        9 => "Q5_1",
        10 => "Q2_K",
        11 => "Q3_K_S",
        12 => "Q3_K_M",
        13 => "Q3_K_L",
        14 => "Q4_K_S",
        15 => "Q4_K_M",
        16 => "Q5_K_S",
        17 => "Q5_K_M",
        18 => "Q6_K",
        19 => "IQ2_XXS",
        20 => "IQ2_XS",
        21 => "Q2_K_S",
        22 => "IQ3_XS",
        23 => "IQ3_XXS",
        24 => "IQ1_S",
        25 => "IQ4_NL",
        26 => "IQ3_S",
        27 => "IQ3_M",
        28 => "IQ2_S",
        29 => "IQ2_M",
        30 => "IQ4_XS",
        31 => "IQ1_M",
        32 => "BF16",
        36 => "TQ1_0",
        37 => "TQ2_0",
        38 => "MXFP4_MOE",
        other => return format!("file type {other}"),
    };
    name.into()
}

/// The chat format a Jinja chat template follows, told by its turn markers
/// the way llama.cpp tells them apart (most specific first).
fn chat_format(template: &str) -> &'static str {
    const MARKERS: [(&str, &str); 6] = [
        ("<|im_start|>", "chatml"),
        ("<start_of_turn>", "gemma"),
        ("<|start_header_id|>", "llama3"),
        ("<|assistant|>", "phi3"),
        ("[INST]", "mistral"),
        ("<|user|>", "zephyr"),
    ];
    MARKERS
        .iter()
        .find(|(marker, _)| template.contains(marker))
        .map_or("custom", |(_, name)| name)
}

/// Size and modification time (ns since the epoch) of `path`.
fn stamp(path: &Path) -> Result<(u64, i64)> {
    let meta = std::fs::metadata(path)
        .map_err(|e| Error::io(format!("cannot read model {}", path.display()), e))?;
    let mtime_ns = meta
        .modified()
        .ok()
        .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
        .map_or(0, |d| d.as_nanos() as i64);
    Ok((meta.len(), mtime_ns))
}

/// sha256 (hex) of a file, read in 1 MiB blocks.
pub(crate) fn sha256_file(path: &Path) -> Result<String> {
    let mut file = std::fs::File::open(path)
        .map_err(|e| Error::io(format!("cannot read {}", path.display()), e))?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = file
            .read(&mut buf)
            .map_err(|e| Error::io(format!("cannot read {}", path.display()), e))?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
    }
    Ok(format!("{:x}", hasher.finalize()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chat_formats_are_told_by_their_markers() {
        assert_eq!(chat_format("{{'<|im_start|>' + role}}"), "chatml");
        assert_eq!(chat_format("<start_of_turn>user"), "gemma");
        assert_eq!(chat_format("{% raw %}"), "custom");
    }

    #[test]
    fn setup_manifest_is_read_relative_to_the_models_folder() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("sub")).unwrap();
        let file = dir.path().join("sub/m.gguf");
        std::fs::write(&file, b"x").unwrap();
        std::fs::write(
            dir.path().join(".verified"),
            "sub/m.gguf 1 0.0 abc\nother 1 0 def\n",
        )
        .unwrap();
        assert_eq!(setup_manifest_sha256(&file).as_deref(), Some("abc"));
        assert_eq!(setup_manifest_sha256(&dir.path().join("other")), None);
    }

    #[test]
    fn a_record_is_rehashed_only_when_size_or_time_differ() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("m.gguf");
        std::fs::write(&file, b"one").unwrap();
        let first = ModelRecord::of(&file, None).unwrap();
        let fake = ModelRecord {
            sha256: "kept".into(),
            ..first.clone()
        };
        assert_eq!(ModelRecord::of(&file, Some(&fake)).unwrap().sha256, "kept");
        std::fs::write(&file, b"three").unwrap();
        let again = ModelRecord::of(&file, Some(&fake)).unwrap();
        assert_ne!(again.sha256, "kept");
        assert_ne!(again.sha256, first.sha256);
    }
}
