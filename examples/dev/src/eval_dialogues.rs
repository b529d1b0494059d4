//! `trove-dev eval-dialogues FILE`: whether follow-up questions find the
//! right note. Each blank-line separated block of FILE is one conversation,
//! each line `<note>\t<question>`; every turn is asked in the block's
//! conversation (`Engine::ask_in`) over the notes folder, and counts as
//! found when the answer's first passage is from that note. The same
//! questions asked on their own are the baseline.

use std::path::{Path, PathBuf};

use serde_json::json;
use trove::{AskOptions, Conversation, Engine, EngineConfig, IndexOptions};

#[derive(clap::Args)]
pub struct EvalDialoguesArgs {
    /// Dialogues, as in examples/dev/eval/dialogues.txt
    file: PathBuf,
    /// The notes the dialogues are about
    #[arg(long, default_value = "examples/notes")]
    notes: PathBuf,
    /// Generated answers (32 tokens), and each follow-up's time to first
    /// token next to the same prompt evaluated whole (a copy of the
    /// conversation restored from its turns)
    #[arg(long)]
    ttft: bool,
}

type Res<T> = Result<T, Box<dyn std::error::Error>>;

/// Per kind of turn (first or follow-up): turns, found in the conversation,
/// found alone, declined in the conversation.
#[derive(Default, Clone, Copy)]
struct Count {
    turns: usize,
    found: usize,
    found_alone: usize,
    declined: usize,
    /// The same passages as the turn before (any order).
    same_sources: usize,
}

pub fn run(mut config: EngineConfig, store: Option<PathBuf>, args: &EvalDialoguesArgs) -> Res<()> {
    let dialogues = read(&args.file)?;
    let temp = tempfile::tempdir()?;
    config.store_dir = store.unwrap_or_else(|| temp.path().join("store"));
    let engine = Engine::open(config)?;
    engine.index_path(&args.notes, IndexOptions::default())?;
    let mut options = AskOptions::default();
    if args.ttft {
        options.strategy = trove::AnswerStrategy::Generative;
        options.generation.max_tokens = 32;
    }
    let mut ratios: Vec<f64> = Vec::new();
    let from = |answer: &trove::Answer, note: &str| {
        answer
            .passages
            .first()
            .and_then(|h| h.path.as_deref())
            .is_some_and(|p| Path::new(p).file_name() == Some(note.as_ref()))
    };
    let (mut first, mut follow) = (Count::default(), Count::default());
    let mut misses = Vec::new();
    for dialogue in &dialogues {
        let mut conversation = Conversation::new();
        let mut previous: Vec<u64> = Vec::new();
        for (i, (note, question)) in dialogue.iter().enumerate() {
            // The same prompt evaluated whole: a copy restored from the turns.
            let cold = match args.ttft && i > 0 {
                true => {
                    let mut copy = Conversation::from_turns(conversation.turns().to_vec());
                    Some(engine.ask_in(&mut copy, question, &options, &mut |_| true)?)
                }
                false => None,
            };
            let answer = engine.ask_in(&mut conversation, question, &options, &mut |_| true)?;
            if let Some(cold) = cold
                && !cold.declined
                && !answer.declined
            {
                ratios.push(answer.timings.ttft_ms / cold.timings.ttft_ms);
            }
            let mut ids: Vec<u64> = answer.passages.iter().map(|h| h.chunk_id).collect();
            ids.sort_unstable();
            let alone = engine.ask(question, &options, &mut |_| true)?;
            let count = if i == 0 { &mut first } else { &mut follow };
            count.turns += 1;
            count.found += from(&answer, note) as usize;
            count.found_alone += from(&alone, note) as usize;
            count.declined += answer.declined as usize;
            count.same_sources += (i > 0 && ids == previous) as usize;
            previous = ids;
            if !from(&answer, note) {
                misses.push(json!({"question": question, "note": note,
                    "query": answer.history.as_ref().map(|h| h.query.clone()),
                    "got": answer.passages.first().and_then(|h| h.path.clone())}));
            }
        }
    }
    let share = |a: usize, b: usize| {
        if b == 0 {
            0.0
        } else {
            (a as f64 / b as f64 * 1000.0).round() / 1000.0
        }
    };
    let report = |c: Count| {
        json!({"turns": c.turns, "found": share(c.found, c.turns),
               "found_alone": share(c.found_alone, c.turns), "declined": share(c.declined, c.turns),
               "same_sources": share(c.same_sources, c.turns)})
    };
    ratios.sort_by(f64::total_cmp);
    let ttft = (!ratios.is_empty()).then(|| {
        json!({"follow_ups": ratios.len(), "median_ratio": share((ratios[ratios.len() / 2] * 1000.0) as usize, 1000),
               "max_ratio": share((ratios[ratios.len() - 1] * 1000.0) as usize, 1000),
               "at_most_0.40": ratios.iter().filter(|&&r| r <= 0.40).count()})
    });
    println!(
        "{}",
        json!({"dialogues": dialogues.len(), "first_turns": report(first),
               "follow_ups": report(follow), "misses": misses, "ttft": ttft})
    );
    Ok(())
}

/// The blocks of `file`: (note, question) per line, `#` lines skipped.
fn read(file: &Path) -> Res<Vec<Vec<(String, String)>>> {
    let text = std::fs::read_to_string(file)
        .map_err(|e| format!("cannot read {}: {e}", file.display()))?;
    let mut blocks = vec![Vec::new()];
    for line in text.lines().filter(|l| !l.starts_with('#')) {
        if line.trim().is_empty() {
            if !blocks.last().is_some_and(Vec::is_empty) {
                blocks.push(Vec::new());
            }
            continue;
        }
        let (note, question) = line
            .split_once('\t')
            .ok_or_else(|| format!("{}: no tab in {line:?}", file.display()))?;
        blocks
            .last_mut()
            .expect("one block at least")
            .push((note.to_string(), question.to_string()));
    }
    blocks.retain(|b| !b.is_empty());
    Ok(blocks)
}
