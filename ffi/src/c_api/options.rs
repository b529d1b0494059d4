//! Options structs that can grow without breaking the ABI.
//!
//! Each starts with struct_size, set by the caller to sizeof the struct
//! it was compiled with; every other field's zero value means "default".
//! An older caller's shorter struct reads as defaults for the newer fields;
//! a newer caller's longer struct is accepted only when the fields this
//! library does not know are all zero, so nothing is ignored silently.

use std::ffi::c_char;

use trove::{AnswerStrategy, CacheType, EngineConfig, LoraAdapter, SearchFilters, SearchMode};

use super::cancel::trove_cancel_token;
use super::status::Failure;
use super::strings;

/// Retrievers, for the mode fields of the options.
#[allow(non_camel_case_types)]
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub enum trove_search_mode {
    /// Keyword (BM25) and vector search fused; the default.
    Hybrid = 0,
    /// Embedding similarity only.
    Vector = 1,
    /// SQLite FTS5 keyword search only.
    Keyword = 2,
}

/// How trove_ask writes an answer, for trove_ask_options.strategy.
#[allow(non_camel_case_types)]
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub enum trove_answer_strategy {
    /// The best sentences of the top passages, quoted with their source; no
    /// answer model is loaded. The default.
    Extractive = 0,
    /// The answer model writes the answer; its citations are checked, and a
    /// draft the passages do not support is replaced by the quotes.
    Generative = 1,
    /// The answer model picks which of the best sentences to quote, under a
    /// grammar that admits nothing else.
    Quote = 2,
}

/// Knobs of trove_engine_open. Zero-initialise, set struct_size, then set
/// what differs from the defaults.
#[allow(non_camel_case_types)]
#[repr(C)]
#[derive(Clone, Copy)]
pub struct trove_engine_options {
    /// sizeof(trove_engine_options).
    pub struct_size: u32,
    /// Threads for embedding and generation; 0: all cores.
    pub threads: u32,
    /// Context window of the answer model in tokens; 0: 2048.
    pub context_size: u32,
    /// Nonzero: a store built with another embedding model is re-embedded
    /// with this one instead of refused with TROVE_STATUS_INCOMPATIBLE_STORE.
    pub reembed: u8,
    /// A GGUF answer model (NUL-terminated path) to use instead of the one
    /// in models_dir; NULL: the default.
    pub llm_path: *const c_char,
    /// The embedding model of the store (NUL-terminated path): an ONNX model
    /// directory or a .gguf file, e.g. the multilingual
    /// multilingual-e5-small/multilingual-e5-small-q4_0.gguf in models_dir
    /// for notes in any language; NULL: the bundled English MiniLM.
    pub embedding_path: *const c_char,
    /// Nonzero: trove_index_path and trove_add_text return once their
    /// documents are committed and keyword-searchable (at parse speed); the
    /// engine's background thread embeds them (trove_embedding_status_json,
    /// trove_embedding_finish). 0: they return once embedded.
    pub embed_in_background: u8,
    /// Threads for embedding passages; 0: threads. Change it while open
    /// with trove_embedding_set_threads.
    pub embedding_threads: u32,
    /// A trove_cache_type for the keys of the answer model's KV cache;
    /// 0: f16.
    pub cache_type_k: u32,
    /// A trove_cache_type for its values; 0: f16.
    pub cache_type_v: u32,
    /// LoRA adapters for the answer model (lora_count NUL-terminated paths
    /// of GGUF adapters; at most one for now).
    pub lora_paths: *const *const c_char,
    /// Their scales (lora_count floats); NULL: 1.0 each.
    pub lora_scales: *const f32,
    /// Number of lora_paths.
    pub lora_count: usize,
    /// Layers of the answer model offloaded to a GPU; 0: none (the CPU),
    /// 999: all. Needs a library built with a GPU backend and a device it
    /// finds (trove_gpu_json); otherwise loading the answer model
    /// fails with the reason.
    pub gpu_layers: u32,
}

/// How the answer model's KV cache stores keys or values, for
/// trove_engine_options.cache_type_k and cache_type_v. The cache grows with
/// the context; the quantized types fit a long one in less memory.
#[allow(non_camel_case_types)]
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub enum trove_cache_type {
    /// 16-bit floats; the default.
    F16 = 0,
    /// 8-bit blocks, about half of f16.
    Q8_0 = 1,
    /// 4-bit blocks, about a quarter of f16.
    Q4_0 = 2,
}

/// Options of trove_search. Zero-initialise, set struct_size, then set
/// what differs from the defaults. Filters that are set must all hold.
#[allow(non_camel_case_types)]
#[repr(C)]
#[derive(Clone, Copy)]
pub struct trove_search_options {
    /// sizeof(trove_search_options).
    pub struct_size: u32,
    /// Hits wanted; 0: 8.
    pub k: u32,
    /// A trove_search_mode; 0: hybrid.
    pub mode: u32,
    /// Nonzero: at most one hit (the best passage) per document.
    pub one_per_document: u8,
    /// Only documents whose path starts with this (NUL-terminated); NULL: any.
    pub path_prefix: *const c_char,
    /// Only documents with at least one of these tags (tag_count
    /// NUL-terminated strings; ignoring case, and a tag matches its nested
    /// tags: "garden" matches "garden/vegetables").
    pub tags: *const *const c_char,
    /// Number of tags.
    pub tag_count: usize,
    /// Only these documents: paths or host ids (document_id_count
    /// NUL-terminated strings).
    pub document_ids: *const *const c_char,
    /// Number of document_ids.
    pub document_id_count: usize,
}

/// Options of trove_ask. Zero-initialise, set struct_size, then set
/// what differs from the defaults.
#[allow(non_camel_case_types)]
#[repr(C)]
#[derive(Clone, Copy)]
pub struct trove_ask_options {
    /// sizeof(trove_ask_options).
    pub struct_size: u32,
    /// Passages retrieved and given to the model; 0: 3.
    pub k: u32,
    /// A trove_search_mode for retrieval; 0: hybrid.
    pub mode: u32,
    /// Most tokens to generate; 0: 256.
    pub max_tokens: u32,
    /// Sampling temperature; 0: greedy (the most likely token every time).
    pub temperature: f32,
    /// Random seed for sampling; 0: 42. Same seed, same answer.
    pub seed: u32,
    /// Only documents whose path starts with this (NUL-terminated); NULL: any.
    pub path_prefix: *const c_char,
    /// Only documents with at least one of these tags (tag_count
    /// NUL-terminated strings; ignoring case, and a tag matches its nested
    /// tags: "garden" matches "garden/vegetables").
    pub tags: *const *const c_char,
    /// Number of tags.
    pub tag_count: usize,
    /// Only these documents: paths or host ids (document_id_count
    /// NUL-terminated strings).
    pub document_ids: *const *const c_char,
    /// Number of document_ids.
    pub document_id_count: usize,
    /// Raise it from another thread to stop generation; NULL: none.
    pub cancel: *const trove_cancel_token,
    /// A trove_answer_strategy; 0: extractive.
    pub strategy: u32,
    /// Grounding score (0 to 1) below which the question is declined with
    /// the fixed "not in your documents" answer; 0: the calibrated default
    /// (0.4).
    pub min_grounding: f32,
    /// Nonzero: never decline, whatever the grounding score.
    pub never_decline: u8,
    /// Share of a generated draft the passages must support, else the
    /// extractive answer replaces it; 0: the default (0.5).
    pub min_draft_support: f32,
}

/// A note handed over by the host app for trove_add_text. Zero-initialise
/// and set struct_size like an options struct. Each text is a pointer and
/// its length in bytes, or TROVE_NUL_TERMINATED when it ends with a NUL
/// byte; the text is only read during the call.
#[allow(non_camel_case_types)]
#[repr(C)]
#[derive(Clone, Copy)]
pub struct trove_note {
    /// sizeof(trove_note).
    pub struct_size: u32,
    /// The host's id for the note (required, not empty): adding the same
    /// id again replaces the note.
    pub id: *const c_char,
    /// Bytes of id, or TROVE_NUL_TERMINATED.
    pub id_len: usize,
    /// Its title; NULL or empty: the note's own first heading.
    pub title: *const c_char,
    /// Bytes of title, or TROVE_NUL_TERMINATED.
    pub title_len: usize,
    /// Its text, read as Markdown (required).
    pub text: *const c_char,
    /// Bytes of text, or TROVE_NUL_TERMINATED.
    pub text_len: usize,
    /// NULL, empty, or a JSON object laid over the note's front matter; its
    /// "tags" become the note's tags (search filters).
    pub metadata_json: *const c_char,
    /// Bytes of metadata_json, or TROVE_NUL_TERMINATED.
    pub metadata_json_len: usize,
}

/// Structs whose all-zero value is "every default".
pub(crate) trait Versioned: Copy {
    const NAME: &'static str;
    fn zeroed() -> Self;
}

macro_rules! versioned {
    ($($t:ident),*) => {$(
        impl Versioned for $t {
            const NAME: &'static str = stringify!($t);
            fn zeroed() -> Self {
                // SAFETY: integers, floats and raw pointers, all valid
                // as zero (NULL).
                unsafe { std::mem::zeroed() }
            }
        }
    )*};
}
versioned!(
    trove_engine_options,
    trove_search_options,
    trove_ask_options,
    trove_note
);

/// Reads a caller's options struct (NULL: all defaults) as described in
/// the module documentation.
///
/// # Safety
/// `ptr` is NULL or points to at least `struct_size` readable bytes.
pub(crate) unsafe fn read<T: Versioned>(ptr: *const T) -> Result<T, Failure> {
    let mut value = T::zeroed();
    if ptr.is_null() {
        return Ok(value);
    }
    // SAFETY: every options struct starts with a u32 `struct_size`.
    let given = unsafe { ptr.cast::<u32>().read_unaligned() } as usize;
    let known = std::mem::size_of::<T>();
    if given < std::mem::size_of::<u32>() {
        return Err(Failure::invalid(format!(
            "{}.struct_size is {given}: set it to sizeof({})",
            T::NAME,
            T::NAME
        )));
    }
    let bytes = ptr.cast::<u8>();
    if given > known {
        // SAFETY: the caller vouches for `given` readable bytes.
        let extra = unsafe { std::slice::from_raw_parts(bytes.add(known), given - known) };
        if extra.iter().any(|&b| b != 0) {
            return Err(Failure::invalid(format!(
                "{} has fields this library (trove {}) does not know; \
                 link the library matching your trove.h",
                T::NAME,
                env!("CARGO_PKG_VERSION")
            )));
        }
    }
    // SAFETY: copies min(given, known) bytes into a value of T; every byte
    // pattern the caller can produce for these plain fields is valid.
    unsafe {
        std::ptr::copy_nonoverlapping(bytes, (&mut value as *mut T).cast::<u8>(), given.min(known))
    };
    Ok(value)
}

pub(crate) fn mode(value: u32) -> Result<SearchMode, Failure> {
    match value {
        0 => Ok(SearchMode::Hybrid),
        1 => Ok(SearchMode::Vector),
        2 => Ok(SearchMode::Keyword),
        other => Err(Failure::invalid(format!(
            "mode {other} is not a trove_search_mode (0 hybrid, 1 vector, 2 keyword)"
        ))),
    }
}

pub(crate) fn strategy(value: u32) -> Result<AnswerStrategy, Failure> {
    match value {
        0 => Ok(AnswerStrategy::Extractive),
        1 => Ok(AnswerStrategy::Generative),
        2 => Ok(AnswerStrategy::Quote),
        other => Err(Failure::invalid(format!(
            "strategy {other} is not a trove_answer_strategy (0 extractive, 1 generative, 2 quote)"
        ))),
    }
}

fn cache_type(value: u32, name: &str) -> Result<CacheType, Failure> {
    match value {
        0 => Ok(CacheType::F16),
        1 => Ok(CacheType::Q8_0),
        2 => Ok(CacheType::Q4_0),
        other => Err(Failure::invalid(format!(
            "{name} {other} is not a trove_cache_type (0 f16, 1 q8_0, 2 q4_0)"
        ))),
    }
}

/// The engine configuration `options` (already read) describe for a store
/// and models directory: what trove_engine_open opens.
///
/// # Safety
/// The paths and every pointer in `options` are NULL or valid as documented
/// on trove_engine_options.
pub(crate) unsafe fn engine_config(
    store_dir: *const c_char,
    models_dir: *const c_char,
    options: &trove_engine_options,
) -> Result<EngineConfig, Failure> {
    // SAFETY: the caller's pointers, as documented.
    unsafe {
        let store_dir = strings::path(store_dir, "store_dir")?;
        let models_dir = strings::path(models_dir, "models_dir")?;
        let mut config = EngineConfig::new(store_dir, models_dir);
        config.threads = options.threads as usize;
        config.context_size = or_default(options.context_size, config.context_size);
        config.reembed = flag(options.reembed);
        config.wait_for_embedding = !flag(options.embed_in_background);
        config.embedding_threads = options.embedding_threads as usize;
        config.cache_type_k = cache_type(options.cache_type_k, "cache_type_k")?;
        config.cache_type_v = cache_type(options.cache_type_v, "cache_type_v")?;
        config.gpu_layers = options.gpu_layers;
        if let Some(llm) = strings::optional_c(options.llm_path, "llm_path")? {
            strings::path(options.llm_path, "llm_path")?;
            config.models.llm = llm.into();
        }
        if let Some(model) = strings::optional_c(options.embedding_path, "embedding_path")? {
            config.models.embedding_dir = model.into();
        }
        let paths = strings::list(options.lora_paths, options.lora_count, "lora_paths")?;
        let scales = match options.lora_scales.is_null() {
            true => vec![1.0; paths.len()],
            // SAFETY: lora_count floats per the caller.
            false => std::slice::from_raw_parts(options.lora_scales, paths.len()).to_vec(),
        };
        config.lora_adapters = paths
            .into_iter()
            .zip(scales)
            .map(|(path, scale)| LoraAdapter::new(path, scale))
            .collect();
        Ok(config)
    }
}

/// A share from C (0 to 1); 0 means `default`.
pub(crate) fn share_or(value: f32, default: f32, name: &str) -> Result<f32, Failure> {
    if !(0.0..=1.0).contains(&value) {
        return Err(Failure::invalid(format!(
            "{name} is {value}: give a share from 0 to 1 (0: the default {default})"
        )));
    }
    Ok(if value == 0.0 { default } else { value })
}

/// A flag byte from C: any nonzero value is true (C bool, int or char alike).
pub(crate) fn flag(value: u8) -> bool {
    value != 0
}

/// What search and ask options both say about retrieval: how many
/// passages, by which retriever, from which documents.
pub(crate) struct Retrieval {
    pub k: usize,
    pub mode: SearchMode,
    pub filters: SearchFilters,
}

macro_rules! retrieval {
    ($($t:ident),*) => {$(
        impl $t {
            /// The retrieval fields, `k` 0 meaning `default_k`.
            ///
            /// # Safety
            /// The pointers are NULL or valid as the struct's documentation says.
            pub(crate) unsafe fn retrieval(&self, default_k: usize) -> Result<Retrieval, Failure> {
                Ok(Retrieval {
                    k: match self.k {
                        0 => default_k,
                        k => k as usize,
                    },
                    mode: mode(self.mode)?,
                    // SAFETY: forwarded to the caller.
                    filters: unsafe {
                        filters(
                            self.path_prefix,
                            self.tags,
                            self.tag_count,
                            self.document_ids,
                            self.document_id_count,
                        )
                    }?,
                })
            }
        }
    )*};
}
retrieval!(trove_search_options, trove_ask_options);

/// The filters shared by search and ask options.
///
/// # Safety
/// The pointers are NULL or valid as the options' documentation says.
unsafe fn filters(
    path_prefix: *const c_char,
    tags: *const *const c_char,
    tag_count: usize,
    document_ids: *const *const c_char,
    document_id_count: usize,
) -> Result<SearchFilters, Failure> {
    // SAFETY: forwarded to the caller.
    unsafe {
        Ok(SearchFilters {
            path_prefix: strings::optional_c(path_prefix, "path_prefix")?.map(str::to_owned),
            tags: strings::list(tags, tag_count, "tags")?,
            document_ids: strings::list(document_ids, document_id_count, "document_ids")?,
        })
    }
}

/// value, or default when it is 0.
pub(crate) fn or_default(value: u32, default: u32) -> u32 {
    if value == 0 { default } else { value }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn null_means_defaults() {
        let o = unsafe { read::<trove_search_options>(std::ptr::null()) }.unwrap();
        assert_eq!((o.k, o.mode, o.tag_count), (0, 0, 0));
    }

    #[test]
    fn a_missing_struct_size_is_refused() {
        let o = trove_search_options::zeroed();
        let Err(err) = (unsafe { read(&o) }) else {
            panic!("accepted")
        };
        assert!(err.message.contains("sizeof(trove_search_options)"));
    }

    #[test]
    fn an_older_shorter_struct_reads_the_rest_as_defaults() {
        let mut o = trove_search_options::zeroed();
        o.k = 5;
        o.mode = 2;
        o.tag_count = 9; // beyond the declared size: must not be read
        o.struct_size = std::mem::offset_of!(trove_search_options, path_prefix) as u32;
        let read = unsafe { read(&o) }.unwrap();
        assert_eq!((read.k, read.mode, read.tag_count), (5, 2, 0));
    }

    #[test]
    fn a_newer_struct_is_accepted_only_when_unknown_fields_are_zero() {
        #[repr(C)]
        #[derive(Clone, Copy)]
        struct Newer {
            known: trove_search_options,
            future: u64,
        }
        let mut newer = Newer {
            known: trove_search_options::zeroed(),
            future: 0,
        };
        newer.known.struct_size = std::mem::size_of::<Newer>() as u32;
        newer.known.k = 4;
        let ptr = (&newer as *const Newer).cast::<trove_search_options>();
        assert_eq!(unsafe { read(ptr) }.unwrap().k, 4);
        newer.future = 1;
        let ptr = (&newer as *const Newer).cast::<trove_search_options>();
        assert!(unsafe { read(ptr) }.is_err());
    }

    #[test]
    fn unknown_modes_are_refused() {
        assert!(mode(3).is_err());
        assert_eq!(mode(1).unwrap(), SearchMode::Vector);
    }

    #[test]
    fn any_nonzero_flag_byte_is_true() {
        assert!(!flag(0));
        assert!(flag(1) && flag(2) && flag(255));
    }
}
