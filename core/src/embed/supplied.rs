//! An embedder whose passage vectors come from the caller, for benchmarks of
//! big stores: embedding a million passages with the model would take days
//! on the machines trove runs on and measure the model, not the store.
//! Everything else (fingerprint, token counts, queries) is the real model's,
//! so the store it builds is one the real engine opens and searches.

use super::{Embedder, ModelFingerprint};
use crate::error::{Error, Result};

/// Returns one unit vector per passage of a batch, of the model's length.
pub type PassageVectors = Box<dyn Fn(&[&str]) -> Vec<Vec<f32>> + Send + Sync>;

/// The real model, with passages embedded by [`PassageVectors`].
pub(crate) struct SuppliedPassages {
    model: Box<dyn Embedder>,
    passages: PassageVectors,
}

impl SuppliedPassages {
    pub(crate) fn new(model: Box<dyn Embedder>, passages: PassageVectors) -> Self {
        SuppliedPassages { model, passages }
    }
}

impl Embedder for SuppliedPassages {
    fn fingerprint(&self) -> &ModelFingerprint {
        self.model.fingerprint()
    }

    fn max_tokens(&self) -> usize {
        self.model.max_tokens()
    }

    fn count_tokens(&self, text: &str) -> usize {
        self.model.count_tokens(text)
    }

    fn embed_passages(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>> {
        let vectors = (self.passages)(texts);
        let dimensions = self.fingerprint().dimensions as usize;
        if vectors.len() != texts.len() || vectors.iter().any(|v| v.len() != dimensions) {
            return Err(Error::invalid(format!(
                "supplied passage vectors: wanted {} of {dimensions} dimensions",
                texts.len()
            )));
        }
        Ok(vectors)
    }

    fn embed_query(&self, text: &str) -> Result<Vec<f32>> {
        self.model.embed_query(text)
    }

    fn embed_queries(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>> {
        self.model.embed_queries(texts)
    }

    fn vocabulary_size(&self) -> usize {
        self.model.vocabulary_size()
    }
}
