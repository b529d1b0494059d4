//! `trove ask` and `trove chat`: answers streamed to the terminal (or one
//! JSON object each), with their sources and what backs them.

use std::io::{BufRead, IsTerminal, Write};
use std::path::Path;

use clap::ValueEnum;
use trove::{Answer, AnswerStrategy, AskOptions, Conversation, Engine, Turn};

use super::{CliResult, location};

/// The options `ask` and `chat` share.
#[derive(clap::Args)]
pub(crate) struct AnswerArgs {
    /// Passages given to the model
    #[arg(short, default_value_t = 3)]
    k: usize,
    #[arg(long, default_value_t = 256, value_name = "N")]
    max_tokens: u32,
    /// 0 = greedy
    #[arg(long, default_value_t = 0.0, value_name = "T")]
    temperature: f32,
    #[arg(long, default_value_t = 42, value_name = "S")]
    seed: u32,
    /// extractive: quote the best sentences of the sources (no model);
    /// generative: the model writes, trove checks its citations;
    /// quote: the model picks a sentence to quote
    #[arg(long, value_enum, default_value_t = Strategy::Extractive)]
    strategy: Strategy,
    /// Decline ("not in your documents") below this grounding score; 0 never declines
    #[arg(long, default_value_t = trove::DEFAULT_MIN_GROUNDING, value_name = "SCORE")]
    min_grounding: f32,
}

#[derive(Clone, Copy, ValueEnum)]
enum Strategy {
    Extractive,
    Generative,
    Quote,
}

impl AnswerArgs {
    pub(crate) fn options(&self) -> AskOptions {
        let mut options = AskOptions {
            k: self.k,
            strategy: match self.strategy {
                Strategy::Extractive => AnswerStrategy::Extractive,
                Strategy::Generative => AnswerStrategy::Generative,
                Strategy::Quote => AnswerStrategy::Quote,
            },
            min_grounding: self.min_grounding,
            ..Default::default()
        };
        options.generation.max_tokens = self.max_tokens;
        options.generation.temperature = self.temperature;
        options.generation.seed = self.seed;
        options
    }
}

pub(crate) fn ask(engine: &Engine, question: &str, options: &AskOptions, json: bool) -> CliResult {
    let answer = streamed(json, |on_token| engine.ask(question, options, on_token))??;
    show(&answer, json)
}

/// One question a line from stdin, each the next turn of one conversation
/// (loaded from and saved to `history` when given).
pub(crate) fn chat(
    engine: &Engine,
    history: Option<&Path>,
    options: &AskOptions,
    json: bool,
) -> CliResult {
    let mut conversation = match history {
        Some(file) if file.exists() => {
            let text = std::fs::read_to_string(file)
                .map_err(|e| format!("cannot read the history {}: {e}", file.display()))?;
            let turns: Vec<Turn> = serde_json::from_str(&text).map_err(|e| {
                format!(
                    "{} is not a trove chat history ({e}); pass another --history FILE",
                    file.display()
                )
            })?;
            Conversation::from_turns(turns)
        }
        _ => Conversation::new(),
    };
    let prompt = std::io::stdin().is_terminal() && !json;
    for line in prompt_lines(prompt) {
        let question = line?;
        let question = question.trim();
        if question.is_empty() {
            continue;
        }
        if question == "/new" {
            conversation.clear();
            if prompt {
                println!("(a new conversation)");
            }
            continue;
        }
        let answer = streamed(json, |on_token| {
            engine.ask_in(&mut conversation, question, options, on_token)
        })?;
        match answer {
            Ok(answer) => {
                show(&answer, json)?;
                if !json {
                    println!();
                }
            }
            // A bad question ends nothing: say why and read the next one.
            Err(e) if e.kind() == trove::ErrorKind::InvalidInput => eprintln!("trove: {e}"),
            Err(e) => return Err(e.into()),
        }
        if let Some(file) = history {
            save(file, conversation.turns())?;
        }
    }
    Ok(())
}

/// Lines of stdin, each after a `> ` prompt on a terminal.
fn prompt_lines(prompt: bool) -> impl Iterator<Item = std::io::Result<String>> {
    let mut lines = std::io::stdin().lock().lines();
    std::iter::from_fn(move || {
        if prompt {
            print!("> ");
            let _ = std::io::stdout().flush();
        }
        lines.next()
    })
}

/// Writes the turns next to `file`, then moves them over it, so a killed
/// chat never leaves half a history.
fn save(file: &Path, turns: &[Turn]) -> CliResult {
    let temporary = file.with_extension("trove-tmp");
    std::fs::write(&temporary, serde_json::to_vec(turns)?)
        .and_then(|()| std::fs::rename(&temporary, file))
        .map_err(|e| format!("cannot save the history {}: {e}", file.display()))?;
    Ok(())
}

/// Runs `call`, streaming its text to stdout unless `json`. A failed write
/// (the reader went away) stops generation and is the outer error.
fn streamed(
    json: bool,
    call: impl FnOnce(&mut dyn FnMut(&str) -> bool) -> trove::Result<Answer>,
) -> std::io::Result<trove::Result<Answer>> {
    let mut out = std::io::stdout().lock();
    let mut write_error = None;
    let answer = call(&mut |piece| {
        if json {
            return true;
        }
        match write!(out, "{piece}").and_then(|()| out.flush()) {
            Ok(()) => true,
            Err(e) => {
                write_error = Some(e);
                false
            }
        }
    });
    match write_error {
        Some(e) => Err(e),
        None => Ok(answer),
    }
}

/// After the streamed text: the sources, or the JSON of the whole answer.
fn show(answer: &Answer, json: bool) -> CliResult {
    let mut out = std::io::stdout().lock();
    if json {
        writeln!(out, "{}", serde_json::to_string(answer)?)?;
        return Ok(());
    }
    if answer.declined {
        writeln!(out)?;
        return Ok(());
    }
    if answer.fallback {
        writeln!(
            out,
            "\n\n(the model's draft was not supported by the sources; trove quoted them instead)"
        )?;
        writeln!(out, "{}", answer.text)?;
    }
    writeln!(out, "\n\nSources:")?;
    for (i, hit) in answer.passages.iter().enumerate() {
        let mark = match answer.citations.iter().find(|c| c.n as usize == i + 1) {
            Some(c) if c.inferred => "~",
            Some(_) => "*",
            None => " ",
        };
        // Where the supporting words sit, when narrower than the passage.
        let quoted = answer
            .sentences
            .iter()
            .filter_map(|s| s.support.as_ref())
            .find(|s| s.n as usize == i + 1)
            .and_then(|s| s.lines)
            .filter(|l| hit.lines != Some(*l))
            .map(|l| match l.first == l.last {
                true => format!("  (supporting line {})", l.first),
                false => format!("  (supporting lines {}-{})", l.first, l.last),
            })
            .unwrap_or_default();
        writeln!(out, "  [{}]{mark} {}{quoted}", i + 1, location(hit))?;
    }
    if answer.citations.iter().any(|c| c.inferred) {
        writeln!(
            out,
            "  ~ not cited in the text; trove found this source supports a sentence"
        )?;
    }
    let unsupported = answer
        .sentences
        .iter()
        .filter(|s| s.support.is_none())
        .count();
    if unsupported > 0 {
        writeln!(
            out,
            "  ! {unsupported} sentence(s) of the answer no source supports"
        )?;
    }
    if !answer.dropped.is_empty() {
        writeln!(
            out,
            "  ({} more passages did not fit the context window)",
            answer.dropped.len()
        )?;
    }
    Ok(())
}
