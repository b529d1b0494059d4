//! Conversations: questions that lean on the ones before them.
//!
//! A [`Conversation`] holds the turns so far as plain data a host can save
//! and restore ([`Conversation::turns`], [`Conversation::from_turns`]).
//! [`Engine::ask_in`](crate::Engine::ask_in) uses it three ways: the
//! retrieval query of a follow-up joins the previous question to the new
//! one ("And for the Ethiopian roast?" finds the grinder note), a generated
//! answer sees the earlier turns within the context budget, and the model's
//! state of the previous prompt is kept so a follow-up evaluates only what
//! it adds.

use serde::{Deserialize, Serialize};

use crate::llm::{Passage, PriorTurn, PromptCache};
use crate::search::Hit;

/// One exchange of a conversation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Turn {
    /// What the user asked.
    pub question: String,
    /// What retrieval searched for (the question, joined to the previous
    /// one for a follow-up).
    pub query: String,
    /// The answer as shown.
    pub answer: String,
    /// Whether the answer was declined.
    pub declined: bool,
    /// The passages the answer was written from (`[n]` is `passages[n - 1]`).
    pub passages: Vec<Hit>,
}

/// The turns of one conversation, oldest first, and the model state that
/// makes its next turn fast. Use one conversation from one call at a time.
///
/// ```no_run
/// # fn main() -> trove::Result<()> {
/// let engine = trove::Engine::open(trove::EngineConfig::new("notes.trove", "models"))?;
/// let mut chat = trove::Conversation::new();
/// let options = trove::AskOptions::default();
/// engine.ask_in(&mut chat, "What grinder setting do I use for the house blend?", &options, &mut |_| true)?;
/// let answer = engine.ask_in(&mut chat, "And for the Ethiopian roast?", &options, &mut |_| true)?;
/// println!("{}", answer.text);
/// let saved = serde_json::to_string(chat.turns()).expect("turns are data"); // restore: from_turns
/// # Ok(()) }
/// ```
#[derive(Debug, Default)]
pub struct Conversation {
    turns: Vec<Turn>,
    cache: PromptCache,
}

impl Conversation {
    /// A conversation with no turns yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// A conversation that goes on from saved turns. Its first generated
    /// answer evaluates the whole prompt (the model state is not saved).
    pub fn from_turns(turns: Vec<Turn>) -> Self {
        Conversation {
            turns,
            cache: PromptCache::default(),
        }
    }

    /// The turns so far, oldest first: what a host saves.
    pub fn turns(&self) -> &[Turn] {
        &self.turns
    }

    /// Forgets every turn and the model state.
    pub fn clear(&mut self) {
        *self = Self::default();
    }

    /// Bytes of model state kept for the next turn (0 before a generated
    /// answer): the price of a fast follow-up.
    pub fn cache_bytes(&self) -> usize {
        self.cache.bytes()
    }

    /// What retrieval searches for: a follow-up carries the previous
    /// question, whose subject it often leaves out ("And for …?", "it").
    pub(crate) fn query_for(&self, question: &str) -> String {
        match self.turns.last() {
            Some(last) => format!("{} {}", last.question.trim(), question.trim()),
            None => question.to_string(),
        }
    }

    /// The earlier turns as the model saw them.
    pub(crate) fn prior_turns(&self, passage: impl Fn(&Hit) -> Passage) -> Vec<PriorTurn> {
        self.turns
            .iter()
            .map(|t| PriorTurn {
                question: t.question.clone(),
                passages: t.passages.iter().map(&passage).collect(),
                answer: t.answer.clone(),
            })
            .collect()
    }

    pub(crate) fn cache(&mut self) -> &mut PromptCache {
        &mut self.cache
    }

    pub(crate) fn push(&mut self, turn: Turn) {
        self.turns.push(turn);
    }
}

/// How a conversation shaped an answer ([`Answer::history`](crate::Answer::history)).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct HistoryUse {
    /// What retrieval searched for.
    pub query: String,
    /// Earlier turns the answer model saw (generated answers; 0 otherwise).
    pub turns: u32,
    /// Of those, the oldest shown without their sources, to fit the context.
    pub condensed: u32,
    /// Older turns left out to fit the context.
    pub dropped: u32,
}
