//! llama.cpp's bare speed on the loaded model: the baseline that benchmarks
//! compare [`Llm::generate`] against.

use std::time::Instant;

use llama_cpp_2::llama_batch::LlamaBatch;
use llama_cpp_2::token::LlamaToken;

use super::Llm;
use crate::error::{Error, Result};

impl Llm {
    /// Measures llama.cpp itself the way `llama-bench` does, with this
    /// model, context size and thread count: prefill of `n_prompt` tokens in
    /// batches of the context's size, then `n_gen` single-token decodes after them (the depth an
    /// answer decodes at; `llama-bench -d`), with no sampling, detokenizing
    /// or streaming. Returns (prefill, decode) tokens per second.
    pub fn raw_speed(&self, n_prompt: u32, n_gen: u32) -> Result<(f64, f64)> {
        if n_prompt == 0 || n_gen == 0 || n_prompt + n_gen > self.context_size {
            return Err(Error::invalid(
                "raw_speed needs 0 < n_prompt, 0 < n_gen and n_prompt + n_gen <= context_size",
            ));
        }
        let decode_error = |e| Error::model(format!("llama.cpp decode failed: {e}"));
        let mut ctx = self.new_context()?;
        let n_vocab = self.model.n_vocab().max(1) as u32;
        // Fixed pseudo-random tokens: llama-bench also feeds random ids.
        let token = |i: u32| LlamaToken::new(((i.wrapping_mul(7919) + 13) % n_vocab) as i32);
        // Fed in batches of the context's n_batch, as `generate` does:
        // llama.cpp aborts on a larger batch.
        let chunk = ctx.n_batch().max(1);
        let mut batch = LlamaBatch::new(chunk as usize, 1);
        let mut prefill = || -> Result<f64> {
            ctx.clear_kv_cache();
            let started = Instant::now();
            for first in (0..n_prompt).step_by(chunk as usize) {
                batch.clear();
                for i in first..(first + chunk).min(n_prompt) {
                    batch
                        .add(token(i), i as i32, &[0], i + 1 == n_prompt)
                        .map_err(|e| Error::model(e.to_string()))?;
                }
                ctx.decode(&mut batch).map_err(decode_error)?;
            }
            ctx.synchronize();
            Ok(started.elapsed().as_secs_f64())
        };
        prefill()?; // warm-up, as llama-bench does
        let prefill_s = prefill()?;

        let mut one = LlamaBatch::new(1, 1);
        let started = Instant::now();
        for i in n_prompt..n_prompt + n_gen {
            one.clear();
            one.add(token(i), i as i32, &[0], true)
                .map_err(|e| Error::model(e.to_string()))?;
            ctx.decode(&mut one).map_err(decode_error)?;
        }
        ctx.synchronize();
        let decode_s = started.elapsed().as_secs_f64();
        Ok((n_prompt as f64 / prefill_s, n_gen as f64 / decode_s))
    }
}
