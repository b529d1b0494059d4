//! The precision of the KV cache: the memory a long context costs.

use llama_cpp_2::context::params::KvCacheType;

/// How the keys or values of the KV cache are stored. The cache grows with
/// the context (SmolLM2-135M: 0.2 MiB per token in f16, 180 MiB at 8k), so
/// at long contexts it outweighs a small model's weights; the quantized
/// types shrink it at some cost in fidelity (README, "Models").
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CacheType {
    /// 16-bit floats, llama.cpp's default: 2 bytes a value.
    #[default]
    F16,
    /// 8-bit blocks: 34 bytes per 32 values, about half of f16.
    Q8_0,
    /// 4-bit blocks: 18 bytes per 32 values, about a quarter of f16.
    Q4_0,
}

impl CacheType {
    /// Bytes of `values` cached values of this type.
    pub(crate) fn bytes(self, values: u64) -> u64 {
        match self {
            CacheType::F16 => values * 2,
            CacheType::Q8_0 => values.div_ceil(32) * 34,
            CacheType::Q4_0 => values.div_ceil(32) * 18,
        }
    }

    /// The name used in options and messages: `f16`, `q8_0`, `q4_0`.
    pub fn name(self) -> &'static str {
        match self {
            CacheType::F16 => "f16",
            CacheType::Q8_0 => "q8_0",
            CacheType::Q4_0 => "q4_0",
        }
    }

    /// Reads a [`name`](Self::name), ignoring case.
    ///
    /// ```
    /// use trove::llm::CacheType;
    /// assert_eq!(CacheType::from_name("Q8_0"), Some(CacheType::Q8_0));
    /// assert_eq!(CacheType::from_name("q5"), None);
    /// ```
    pub fn from_name(name: &str) -> Option<CacheType> {
        [CacheType::F16, CacheType::Q8_0, CacheType::Q4_0]
            .into_iter()
            .find(|t| t.name().eq_ignore_ascii_case(name))
    }

    pub(super) fn llama(self) -> KvCacheType {
        match self {
            CacheType::F16 => KvCacheType::F16,
            CacheType::Q8_0 => KvCacheType::Q8_0,
            CacheType::Q4_0 => KvCacheType::Q4_0,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn block_types_round_up_to_whole_blocks() {
        assert_eq!(CacheType::F16.bytes(64), 128);
        assert_eq!(CacheType::Q8_0.bytes(64), 68);
        assert_eq!(CacheType::Q4_0.bytes(64), 36);
        assert_eq!(CacheType::Q4_0.bytes(33), 36);
    }
}
