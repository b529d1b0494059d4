//! Checks a model file before llama.cpp maps it: that it exists, is GGUF, and
//! fits in memory with the requested context. llama.cpp would otherwise fail
//! with a bare null pointer, or page a model in that the device cannot hold.

use std::fs::File;
use std::io::Read;
use std::path::Path;

use llama_cpp_2::gguf::GgufContext;

use super::CacheType;
use crate::{Error, ErrorKind, Result};

/// What [`inspect`] learnt about a model file.
pub(crate) struct ModelFile {
    pub size: u64,
    /// `general.name`, `general.architecture`, `general.file_type`,
    /// `{arch}.context_length` and `tokenizer.chat_template`, where present.
    pub name: Option<String>,
    pub architecture: Option<String>,
    pub file_type: Option<u32>,
    pub context_length: Option<u64>,
    pub chat_template: Option<String>,
    shape: Shape,
}

/// The hyper-parameters that size the KV cache and compute buffers.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
struct Shape {
    /// Cached key and value entries per token of context, all layers.
    keys_per_token: u64,
    values_per_token: u64,
    n_embd: u64,
    n_ff: u64,
    n_head: u64,
    n_vocab: u64,
}

/// The memory a model needs at a context size, in bytes, by what holds it
/// ([`LlmConfig::memory_plan`](super::LlmConfig::memory_plan)).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct MemoryPlan {
    /// The weights (the file) and any LoRA adapters.
    pub weights: u64,
    /// Keys and values of every context token, at the chosen cache types.
    pub kv_cache: u64,
    /// llama.cpp's compute buffers for one micro-batch: the logits of every
    /// token in it, the widest activations, and the attention scores.
    pub compute: u64,
}

impl MemoryPlan {
    /// Everything together: what the check before loading compares with
    /// the memory available.
    pub fn total(&self) -> u64 {
        self.weights + self.kv_cache + self.compute
    }

    /// "weights 94 MiB, KV cache 180 MiB at 8192 tokens q8_0/q8_0, compute
    /// 146 MiB".
    pub(crate) fn describe(&self, context_size: u32, kv: (CacheType, CacheType)) -> String {
        format!(
            "weights {}, KV cache {} at {context_size} tokens {}/{}, compute {}",
            format_bytes(self.weights),
            format_bytes(self.kv_cache),
            kv.0.name(),
            kv.1.name(),
            format_bytes(self.compute),
        )
    }
}

/// Slack over the plan for llama.cpp's own bookkeeping, in percent.
const SLACK_PERCENT: u64 = 5;

impl ModelFile {
    /// What running the model with a `context_size`-token context takes,
    /// with `extra_weights` bytes of adapters, micro-batches of `ubatch`
    /// tokens and the given K and V cache types.
    pub(crate) fn memory_plan(
        &self,
        context_size: u32,
        ubatch: u32,
        kv: (CacheType, CacheType),
        extra_weights: u64,
    ) -> MemoryPlan {
        let ctx = u64::from(context_size);
        let ubatch = u64::from(ubatch.min(context_size));
        let s = &self.shape;
        const F32: u64 = 4;
        // Logits for every token of a micro-batch (llama.cpp reserves the
        // graph with all outputs), the widest activations (FFN gate and up,
        // the residual stream), and attention scores over the whole context.
        let compute = F32 * ubatch * (s.n_vocab + 2 * s.n_ff + 4 * s.n_embd + s.n_head * ctx);
        let slack = |bytes: u64| bytes.saturating_mul(100 + SLACK_PERCENT) / 100;
        MemoryPlan {
            weights: slack(self.size + extra_weights),
            kv_cache: kv.0.bytes(s.keys_per_token * ctx) + kv.1.bytes(s.values_per_token * ctx),
            compute: slack(compute),
        }
    }
}

/// Checks that `path` is a readable GGUF file and reads the dimensions that
/// size its KV cache.
pub(crate) fn inspect(path: &Path) -> Result<ModelFile> {
    let mut file = File::open(path).map_err(|err| {
        if err.kind() == std::io::ErrorKind::NotFound {
            Error::new(
                ErrorKind::NotFound,
                format!(
                    "model file {} not found; run `make setup` to download the models",
                    path.display()
                ),
            )
        } else {
            Error::io(format!("cannot open model file {}", path.display()), err)
        }
    })?;
    let mut magic = [0u8; 4];
    let is_gguf = match file.read_exact(&mut magic) {
        Ok(()) => &magic == b"GGUF",
        Err(err) if err.kind() == std::io::ErrorKind::UnexpectedEof => false,
        Err(err) => return Err(Error::io(format!("cannot read {}", path.display()), err)),
    };
    if !is_gguf {
        return Err(Error::model(format!(
            "{} is not a GGUF model file; download a .gguf model (llama.cpp format)",
            path.display()
        )));
    }
    let size = file
        .metadata()
        .map_err(|err| Error::io(format!("cannot read {}", path.display()), err))?
        .len();
    let gguf = GgufContext::from_file(path).ok_or_else(|| {
        Error::model(format!(
            "{} has a damaged GGUF header (or a non-UTF-8 path); download the model again",
            path.display()
        ))
    })?;
    let architecture = string(&gguf, "general.architecture").map(str::to_owned);
    let arch = architecture.as_deref().unwrap_or("");
    Ok(ModelFile {
        size,
        name: string(&gguf, "general.name").map(str::to_owned),
        file_type: uint(&gguf, "general.file_type").and_then(|t| u32::try_from(t).ok()),
        context_length: uint(&gguf, &format!("{arch}.context_length")),
        chat_template: string(&gguf, "tokenizer.chat_template").map(str::to_owned),
        shape: shape(&gguf, arch, || vocabulary_size(path)),
        architecture,
    })
}

/// KV cache and compute sizes from the `{arch}.*` hyper-parameters.
///
/// Per layer, K holds `n_head_kv × key_length` values and V `n_head_kv ×
/// value_length`. Sliding-window layers need less, so this errs high. A
/// per-layer head-count array is treated as full attention (`n_embd` wide);
/// an architecture without these keys is sized by its file alone.
fn shape(gguf: &GgufContext, arch: &str, n_vocab: impl FnOnce() -> Option<u64>) -> Shape {
    let hparam = |key: &str| uint(gguf, &format!("{arch}.{key}"));
    let (Some(n_layer), Some(n_embd)) = (hparam("block_count"), hparam("embedding_length")) else {
        return Shape::default();
    };
    let n_head = hparam("attention.head_count").filter(|&n| n > 0);
    let (keys, values) = match (n_head, hparam("attention.head_count_kv").or(n_head)) {
        (Some(n_head), Some(n_head_kv)) => {
            let key_len = hparam("attention.key_length").unwrap_or(n_embd / n_head);
            let value_len = hparam("attention.value_length").unwrap_or(n_embd / n_head);
            (n_head_kv * key_len, n_head_kv * value_len)
        }
        _ => (n_embd, n_embd),
    };
    Shape {
        keys_per_token: n_layer * keys,
        values_per_token: n_layer * values,
        n_embd,
        n_ff: hparam("feed_forward_length").unwrap_or(4 * n_embd),
        n_head: n_head.unwrap_or(1),
        n_vocab: hparam("vocab_size").or_else(n_vocab).unwrap_or(0),
    }
}

/// Entries of `tokenizer.ggml.tokens`, for models whose metadata has no
/// `{arch}.vocab_size`: the logits buffer is sized by it (Gemma 3's 262,144
/// tokens take 512 MiB per 512-token micro-batch). llama-cpp-2 has no
/// accessor for array lengths, so this asks ggml's GGUF reader directly.
fn vocabulary_size(path: &Path) -> Option<u64> {
    use llama_cpp_sys_2 as sys;
    let path = std::ffi::CString::new(path.to_str()?).ok()?;
    let params = sys::gguf_init_params {
        no_alloc: true,
        ctx: std::ptr::null_mut(),
    };
    // SAFETY: both strings are NUL-terminated and outlive the calls; the
    // context is checked for null, only read, and freed once.
    unsafe {
        let ctx = sys::gguf_init_from_file(path.as_ptr(), params);
        if ctx.is_null() {
            return None;
        }
        let key = sys::gguf_find_key(ctx, c"tokenizer.ggml.tokens".as_ptr());
        let n = (key >= 0).then(|| sys::gguf_get_arr_n(ctx, key) as u64);
        sys::gguf_free(ctx);
        n
    }
}

// GGUF value type codes, fixed by the GGUF spec. The type is checked before
// reading because llama.cpp aborts the process on a mismatched read.
const GGUF_UINT32: u32 = 4;
const GGUF_INT32: u32 = 5;
const GGUF_STRING: u32 = 8;
const GGUF_UINT64: u32 = 10;

fn uint(gguf: &GgufContext, key: &str) -> Option<u64> {
    let index = gguf.find_key(key);
    if index < 0 {
        return None;
    }
    match gguf.kv_type(index) {
        GGUF_UINT32 => Some(u64::from(gguf.val_u32(index))),
        GGUF_INT32 => u64::try_from(gguf.val_i32(index)).ok(),
        GGUF_UINT64 => Some(gguf.val_u64(index)),
        _ => None,
    }
}

fn string<'g>(gguf: &'g GgufContext, key: &str) -> Option<&'g str> {
    let index = gguf.find_key(key);
    if index < 0 || gguf.kv_type(index) != GGUF_STRING {
        return None;
    }
    gguf.val_str(index)
}

/// Memory the kernel says can be allocated without swapping, if it says.
pub(super) fn mem_available() -> Option<u64> {
    let meminfo = std::fs::read_to_string("/proc/meminfo").ok()?;
    parse_mem_available(&meminfo)
}

fn parse_mem_available(meminfo: &str) -> Option<u64> {
    let line = meminfo.lines().find(|l| l.starts_with("MemAvailable:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

/// Human-readable byte count for error messages.
pub(super) fn format_bytes(bytes: u64) -> String {
    const MIB: f64 = 1024.0 * 1024.0;
    let mib = bytes as f64 / MIB;
    if mib >= 1024.0 {
        format!("{:.1} GiB", mib / 1024.0)
    } else {
        format!("{mib:.0} MiB")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn meminfo_is_parsed() {
        let meminfo = "MemTotal:       16318412 kB\nMemFree:  1 kB\nMemAvailable:    8000000 kB\n";
        assert_eq!(parse_mem_available(meminfo), Some(8_192_000_000));
        assert_eq!(parse_mem_available("MemTotal: 1 kB\n"), None);
    }

    #[test]
    fn bytes_are_formatted() {
        assert_eq!(format_bytes(10 * 1024 * 1024), "10 MiB");
        assert_eq!(format_bytes(3 * 1024 * 1024 * 1024 / 2), "1.5 GiB");
    }

    #[test]
    fn plan_counts_weights_cache_and_compute() {
        let file = ModelFile {
            size: 1000,
            name: None,
            architecture: None,
            file_type: None,
            context_length: None,
            chat_template: None,
            shape: Shape {
                keys_per_token: 64,
                values_per_token: 64,
                n_embd: 8,
                n_ff: 16,
                n_head: 2,
                n_vocab: 100,
            },
        };
        let f16 = file.memory_plan(100, 10, (CacheType::F16, CacheType::F16), 0);
        assert_eq!(f16.weights, 1050);
        assert_eq!(f16.kv_cache, 2 * 64 * 100 * 2);
        assert_eq!(f16.compute, 4 * 10 * (100 + 32 + 32 + 200) * 105 / 100);
        let q8 = file.memory_plan(100, 10, (CacheType::Q8_0, CacheType::Q4_0), 500);
        assert_eq!(q8.weights, 1575);
        assert_eq!(q8.kv_cache, 200 * 34 + 200 * 18);
    }
}
