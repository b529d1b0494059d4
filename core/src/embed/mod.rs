//! Sentence embeddings behind one trait, on two runtimes: an ONNX model
//! directory run by fastembed on ONNX Runtime (the bundled MiniLM), or a GGUF
//! embedding model run by llama.cpp (multilingual-e5-small, or one the user
//! brings).
//!
//! The engine only talks to the [`Embedder`] trait, so pure logic (chunk
//! packing, fusion, store bookkeeping) can be unit-tested with a small
//! deterministic stand-in; everything user-facing runs a real model.

mod llama;
mod onnx;
mod supplied;

use std::path::Path;

use crate::error::Result;

use llama::LlamaEmbedder;
use onnx::OnnxEmbedder;
pub use supplied::PassageVectors;
pub(crate) use supplied::SuppliedPassages;

/// Identifies the embedding model a store was built with. Vectors from two
/// different fingerprints are not comparable, so a store refuses a mismatch.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ModelFingerprint {
    /// Model name: the ONNX model's directory name (e.g.
    /// `all-MiniLM-L6-v2-int8`) or the GGUF's `general.name`.
    pub name: String,
    /// Vector length.
    pub dimensions: u32,
    /// sha256 (hex) over the ONNX graph and the tokenizer, or over the GGUF file.
    pub sha256: String,
}

/// Turns text into unit-length vectors and counts tokens the way the model does.
pub(crate) trait Embedder: Send + Sync {
    fn fingerprint(&self) -> &ModelFingerprint;
    /// Longest input, special tokens included, that the model sees whole.
    fn max_tokens(&self) -> usize;
    /// Tokens the model would see for `text` embedded as a passage, special
    /// tokens and any passage prefix included, untruncated.
    fn count_tokens(&self, text: &str) -> usize;
    /// Embeds passages for indexing, in one batch.
    fn embed_passages(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>>;
    /// Embeds a search query. Uses its own session so searches never wait
    /// behind a long indexing batch.
    fn embed_query(&self, text: &str) -> Result<Vec<f32>>;
    /// Embeds short texts (a question and sentences of its passages) the
    /// way queries are, on the query session: what answer checks need,
    /// without waking the indexing session.
    fn embed_queries(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>> {
        texts.iter().map(|t| self.embed_query(t)).collect()
    }
    /// Entries in the model's token vocabulary.
    fn vocabulary_size(&self) -> usize;
    /// Threads for embedding passages from the next batch on (a host on
    /// battery lowers it); queries keep theirs. A stand-in ignores it.
    fn set_passage_threads(&self, _threads: usize) {}

    /// Whether the model was trained on English alone, judged by its
    /// vocabulary: English sentence embedders keep BERT's 30,522 word
    /// pieces, multilingual ones need several times more (mBERT 119,547,
    /// XLM-R and multilingual-e5 250,002). Search leans on keywords for
    /// queries in other languages when this holds (README, "Retrieval in
    /// every language").
    fn english_only(&self) -> bool {
        self.vocabulary_size() < MULTILINGUAL_VOCABULARY
    }
}

/// The vocabulary size from which a model is taken to be multilingual.
const MULTILINGUAL_VOCABULARY: usize = 100_000;

/// Loads the embedding model at `model`: a `.gguf` file runs on llama.cpp,
/// anything else is taken for an ONNX model directory (which also needs the
/// ONNX Runtime library at `onnx_runtime`). `recorded` is the store's
/// record of its model, if any: an ONNX model it names finishes loading in
/// the background.
pub(crate) fn load(
    model: &Path,
    onnx_runtime: &Path,
    threads: usize,
    recorded: Option<&ModelFingerprint>,
) -> Result<Box<dyn Embedder>> {
    Ok(match Backend::for_path(model) {
        Backend::Llama => Box::new(LlamaEmbedder::load(model, threads)?),
        Backend::Onnx => Box::new(OnnxEmbedder::load(model, onnx_runtime, threads, recorded)?),
    })
}

/// Which runtime runs a model, decided by its path alone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Backend {
    Llama,
    Onnx,
}

impl Backend {
    /// A path whose extension is `gguf` (any case) is a llama.cpp model, even
    /// when it does not exist yet (so the error names the missing file).
    fn for_path(path: &Path) -> Backend {
        let gguf = path
            .extension()
            .is_some_and(|e| e.eq_ignore_ascii_case("gguf"));
        if gguf && !path.is_dir() {
            Backend::Llama
        } else {
            Backend::Onnx
        }
    }
}

/// Scales `v` to unit length (cosine similarity becomes a dot product).
pub(crate) fn normalize(v: &mut [f32]) {
    let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt();
    if norm > 0.0 {
        v.iter_mut().for_each(|x| *x /= norm);
    }
}

/// Lower-case hex of `bytes`.
pub(crate) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backend_follows_the_path() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(Backend::for_path(dir.path()), Backend::Onnx);
        assert_eq!(
            Backend::for_path(&dir.path().join("all-MiniLM-L6-v2-int8")),
            Backend::Onnx
        );
        assert_eq!(
            Backend::for_path(&dir.path().join("e5.gguf")),
            Backend::Llama
        );
        assert_eq!(
            Backend::for_path(&dir.path().join("E5.GGUF")),
            Backend::Llama
        );
        // A directory that happens to be called *.gguf holds an ONNX model.
        let odd = dir.path().join("model.gguf");
        std::fs::create_dir(&odd).unwrap();
        assert_eq!(Backend::for_path(&odd), Backend::Onnx);
    }

    #[test]
    fn normalize_makes_unit_vectors_and_keeps_zero() {
        let mut v = vec![3.0, 4.0];
        normalize(&mut v);
        assert_eq!(v, vec![0.6, 0.8]);
        let mut zero = vec![0.0; 3];
        normalize(&mut zero);
        assert_eq!(zero, vec![0.0; 3]);
    }
}

#[cfg(test)]
pub(crate) mod stand_in {
    //! A deterministic embedder for unit tests of pure logic: hashed
    //! bag-of-words vectors, whitespace token counts.

    use sha2::{Digest, Sha256};

    use super::*;

    pub(crate) struct HashEmbedder {
        fingerprint: ModelFingerprint,
        pub(crate) embedded: std::sync::atomic::AtomicUsize,
    }

    impl HashEmbedder {
        pub(crate) fn new(name: &str) -> Self {
            HashEmbedder {
                fingerprint: ModelFingerprint {
                    name: name.into(),
                    dimensions: 64,
                    sha256: hex(&Sha256::digest(name.as_bytes())),
                },
                embedded: Default::default(),
            }
        }
    }

    impl Embedder for HashEmbedder {
        fn fingerprint(&self) -> &ModelFingerprint {
            &self.fingerprint
        }
        fn max_tokens(&self) -> usize {
            64
        }
        fn count_tokens(&self, text: &str) -> usize {
            text.split_whitespace().count() + 2
        }
        fn embed_passages(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>> {
            self.embedded
                .fetch_add(texts.len(), std::sync::atomic::Ordering::SeqCst);
            Ok(texts.iter().map(|t| self.vector(t)).collect())
        }
        fn embed_query(&self, text: &str) -> Result<Vec<f32>> {
            Ok(self.vector(text))
        }
        fn vocabulary_size(&self) -> usize {
            // Taken for multilingual, so fusion weighs it the same in every
            // language.
            MULTILINGUAL_VOCABULARY
        }
    }

    impl Embedder for std::sync::Arc<HashEmbedder> {
        fn fingerprint(&self) -> &ModelFingerprint {
            self.as_ref().fingerprint()
        }
        fn max_tokens(&self) -> usize {
            self.as_ref().max_tokens()
        }
        fn count_tokens(&self, text: &str) -> usize {
            self.as_ref().count_tokens(text)
        }
        fn embed_passages(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>> {
            self.as_ref().embed_passages(texts)
        }
        fn embed_query(&self, text: &str) -> Result<Vec<f32>> {
            self.as_ref().embed_query(text)
        }
        fn vocabulary_size(&self) -> usize {
            self.as_ref().vocabulary_size()
        }
    }

    impl HashEmbedder {
        fn vector(&self, text: &str) -> Vec<f32> {
            let mut v = vec![0.0f32; 64];
            for word in text.split(|c: char| !c.is_alphanumeric()) {
                if word.is_empty() {
                    continue;
                }
                let h = Sha256::digest(word.to_lowercase().as_bytes());
                v[h[0] as usize % 64] += 1.0;
            }
            v[63] += 0.01;
            normalize(&mut v);
            v
        }
    }
}
