//! The KV cache of a conversation's last prompt and answer, kept between
//! turns so a follow-up evaluates only what it adds: llama.cpp's state of
//! the sequence, with the tokens it holds.

use llama_cpp_2::context::LlamaContext;
use llama_cpp_2::context::session::{LlamaStateSeqFlags, SeqState};
use llama_cpp_2::token::LlamaToken;

/// What one conversation keeps of its last generation. Empty until a
/// generated turn fills it; a host never reads it (it is not part of a
/// saved history: a restored conversation starts cold).
#[derive(Default)]
pub struct PromptCache {
    held: Option<Held>,
}

struct Held {
    /// The model and window the state belongs to.
    model: String,
    context_size: u32,
    /// The tokens whose keys and values the state holds, in order.
    tokens: Vec<LlamaToken>,
    state: SeqState,
}

impl std::fmt::Debug for PromptCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PromptCache")
            .field("tokens", &self.held.as_ref().map_or(0, |h| h.tokens.len()))
            .finish()
    }
}

impl PromptCache {
    /// Bytes of model state held (0 when empty).
    pub fn bytes(&self) -> usize {
        self.held.as_ref().map_or(0, |h| h.state.byte_len())
    }

    /// Loads into `ctx` the longest cached prefix of `prompt` (leaving at
    /// least its last token to evaluate, whose logits start generation) and
    /// returns its length; 0 when nothing is reusable.
    pub(super) fn restore(
        &self,
        ctx: &mut LlamaContext<'_>,
        model: &str,
        context_size: u32,
        prompt: &[LlamaToken],
    ) -> usize {
        let Some(held) = &self.held else { return 0 };
        if held.model != model || held.context_size != context_size {
            return 0;
        }
        let common = held
            .tokens
            .iter()
            .zip(prompt)
            .take_while(|(a, b)| a == b)
            .count()
            .min(prompt.len().saturating_sub(1));
        if common == 0 || ctx.state_seq_set(&held.state, 0).is_err() {
            return 0;
        }
        // Positions past the shared prefix belong to the old turn.
        match u32::try_from(common) {
            Ok(from) if ctx.kv_cache_seq_rm(0, Some(from), None).is_ok() => common,
            _ => {
                ctx.clear_kv_cache();
                0
            }
        }
    }

    /// Keeps `ctx`'s state of sequence 0, which holds `tokens`; a state that
    /// cannot be read leaves the cache empty (the next turn starts cold).
    pub(super) fn keep(
        &mut self,
        ctx: &LlamaContext<'_>,
        model: &str,
        context_size: u32,
        tokens: Vec<LlamaToken>,
    ) {
        self.held = ctx
            .state_seq_get(0, LlamaStateSeqFlags::empty())
            .ok()
            .map(|state| Held {
                model: model.to_string(),
                context_size,
                tokens,
                state,
            });
    }
}
