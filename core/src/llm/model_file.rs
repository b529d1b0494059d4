//! Checks a model file before llama.cpp maps it: that it exists, is GGUF, and
//! fits in memory with the requested context. llama.cpp would otherwise fail
//! with a bare null pointer, or page a model in that the device cannot hold.

use std::fs::File;
use std::io::Read;
use std::path::Path;

use llama_cpp_2::gguf::GgufContext;

use crate::{Error, ErrorKind, Result};

/// What [`inspect`] learnt about a model file.
pub(crate) struct ModelFile {
    size: u64,
    /// K and V cache bytes per token of context, all layers (f16 cache).
    kv_bytes_per_token: u64,
}

/// Headroom for llama.cpp's compute buffers and the output logits, in percent.
const COMPUTE_SLACK_PERCENT: u64 = 15;

impl ModelFile {
    /// Bytes needed to run the model with a `context_size`-token context.
    pub(super) fn estimated_memory(&self, context_size: u32) -> u64 {
        let kv = self.kv_bytes_per_token * u64::from(context_size);
        (self.size + kv).saturating_mul(100 + COMPUTE_SLACK_PERCENT) / 100
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
    Ok(ModelFile {
        size,
        kv_bytes_per_token: kv_bytes_per_token(&gguf),
    })
}

/// KV cache bytes per context token, from the `{arch}.*` hyper-parameters.
///
/// Per layer, K holds `n_head_kv × key_length` values and V `n_head_kv ×
/// value_length`, as f16. Sliding-window layers need less, so this errs high.
/// A per-layer head-count array is treated as full attention (`n_embd` wide);
/// an architecture without these keys is sized by its file alone.
fn kv_bytes_per_token(gguf: &GgufContext) -> u64 {
    let Some(arch) = string(gguf, "general.architecture") else {
        return 0;
    };
    let hparam = |key: &str| uint(gguf, &format!("{arch}.{key}"));
    let (Some(n_layer), Some(n_embd)) = (hparam("block_count"), hparam("embedding_length")) else {
        return 0;
    };
    let n_head = hparam("attention.head_count").filter(|&n| n > 0);
    let per_layer = match (n_head, hparam("attention.head_count_kv").or(n_head)) {
        (Some(n_head), Some(n_head_kv)) => {
            let key_len = hparam("attention.key_length").unwrap_or(n_embd / n_head);
            let value_len = hparam("attention.value_length").unwrap_or(n_embd / n_head);
            n_head_kv * (key_len + value_len)
        }
        _ => 2 * n_embd,
    };
    const F16_BYTES: u64 = 2;
    n_layer * per_layer * F16_BYTES
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
    fn estimate_adds_kv_cache_and_slack() {
        let file = ModelFile {
            size: 1000,
            kv_bytes_per_token: 10,
        };
        assert_eq!(file.estimated_memory(100), 2300);
    }
}
