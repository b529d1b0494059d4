//! `trove watch-latency` (hidden): how long a saved edit takes to become
//! searchable under `watch`, in a generated folder of notes. Each edit writes
//! a new word into one note, then keyword search is polled every 2 ms until
//! that note is the top hit for the word; the watcher's own figure (first
//! filesystem event to searchable) is reported next to it.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::mpsc::channel;
use std::time::{Duration, Instant};

use trove::{Engine, EngineConfig, SearchMode, SearchOptions, WatchEvent, WatchOptions, Watcher};

#[derive(clap::Args)]
pub struct LatencyArgs {
    /// Notes in the generated folder
    #[arg(long, default_value_t = 1000)]
    notes: usize,
    /// Edits measured
    #[arg(long, default_value_t = 10)]
    edits: usize,
    /// The watcher's debounce
    #[arg(long, default_value_t = 300)]
    debounce_ms: u64,
}

type Res<T> = Result<T, Box<dyn std::error::Error>>;

/// Longest wait for one edit before the run is declared failed.
const PATIENCE: Duration = Duration::from_secs(120);

const WORDS: &[&str] = &[
    "garden",
    "tomato",
    "harvest",
    "compost",
    "bicycle",
    "chain",
    "tyre",
    "brake",
    "espresso",
    "grinder",
    "kettle",
    "recipe",
    "sourdough",
    "oven",
    "flour",
    "starter",
    "budget",
    "invoice",
    "mortgage",
    "savings",
    "telescope",
    "nebula",
    "orbit",
    "eclipse",
    "guitar",
    "chord",
    "melody",
    "rhythm",
    "marathon",
    "interval",
    "recovery",
    "stretch",
    "router",
    "firmware",
    "backup",
    "password",
    "holiday",
    "train",
    "museum",
    "harbour",
    "novel",
    "chapter",
    "author",
    "library",
    "weather",
    "rainfall",
    "humidity",
    "pressure",
    "meeting",
    "agenda",
    "minutes",
    "deadline",
];

/// A note of about 80 words, different for every `i`.
fn note_text(i: usize) -> String {
    let mut state = (i as u64)
        .wrapping_mul(6364136223846793005)
        .wrapping_add(1442695040888963407);
    let mut next = || {
        state = state
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        WORDS[(state >> 33) as usize % WORDS.len()]
    };
    let title = format!("{} and {} {i}", next(), next());
    let mut body = String::new();
    for _ in 0..8 {
        let sentence: Vec<&str> = (0..10).map(|_| next()).collect();
        body.push_str(&sentence.join(" "));
        body.push_str(".\n");
    }
    format!("# {title}\n\n{body}")
}

fn stats(mut values: Vec<f64>) -> serde_json::Value {
    values.sort_by(f64::total_cmp);
    let n = values.len();
    let median = if n % 2 == 1 {
        values[n / 2]
    } else {
        (values[n / 2 - 1] + values[n / 2]) / 2.0
    };
    let round = |x: f64| (x * 10.0).round() / 10.0;
    serde_json::json!({
        "median": round(median),
        "min": round(values[0]),
        "max": round(values[n - 1]),
        "all": values.iter().map(|v| round(*v)).collect::<Vec<_>>(),
    })
}

pub fn run(mut config: EngineConfig, args: &LatencyArgs, json: bool) -> Res<()> {
    if args.notes == 0 || args.edits == 0 {
        return Err("--notes and --edits must be at least 1".into());
    }
    let temp = tempfile::tempdir()?;
    let folder = temp.path().join("notes");
    let paths: Vec<PathBuf> = (0..args.notes)
        .map(|i| folder.join(format!("{:02}/note-{i:04}.md", i % 20)))
        .collect();
    for (i, path) in paths.iter().enumerate() {
        std::fs::create_dir_all(path.parent().expect("a folder"))?;
        std::fs::write(path, note_text(i))?;
    }
    config.store_dir = temp.path().join("store");
    let threads = config.resolved_threads();
    let engine = Arc::new(Engine::open(config)?);
    let (sender, events) = channel();
    let watcher = Watcher::start(
        engine.clone(),
        std::slice::from_ref(&folder),
        WatchOptions {
            debounce: Duration::from_millis(args.debounce_ms),
        },
        Box::new(move |event| sender.send(event).is_ok()),
    )?;
    let indexing = Instant::now();
    match events.recv()? {
        WatchEvent::Ready { summary } if summary.files_indexed == args.notes as u64 => {}
        other => return Err(format!("unexpected first event: {other:?}").into()),
    }
    if !json {
        eprintln!(
            "{} notes indexed in {:.1} s; measuring {} edits",
            args.notes,
            indexing.elapsed().as_secs_f64(),
            args.edits
        );
    }
    let folder = std::fs::canonicalize(&folder)?;
    let options = SearchOptions {
        k: 1,
        mode: SearchMode::Keyword,
        ..Default::default()
    };
    let mut observed = Vec::new();
    let mut reported = Vec::new();
    for edit in 0..args.edits {
        let n = (edit * 7919 + 13) % args.notes;
        let relative = paths[n].strip_prefix(temp.path().join("notes"))?;
        let path = folder.join(relative);
        let word = format!("probe{edit}q{n}");
        let text = format!("{}\nEdit {edit}: the new word is {word}.\n", note_text(n));
        let saved = Instant::now();
        std::fs::write(&path, text)?;
        let target = path.to_string_lossy().into_owned();
        loop {
            let hits = engine.search(&word, &options)?;
            if hits.first().and_then(|h| h.path.as_deref()) == Some(target.as_str()) {
                break;
            }
            if saved.elapsed() > PATIENCE {
                return Err(
                    format!("edit {edit} of {target} not searchable after {PATIENCE:?}").into(),
                );
            }
            std::thread::sleep(Duration::from_millis(2));
        }
        let searchable = saved.elapsed().as_secs_f64() * 1000.0;
        observed.push(searchable);
        let latency = loop {
            match events.recv_timeout(PATIENCE)? {
                WatchEvent::Indexed {
                    path: p, latency, ..
                } if p == path => break latency,
                _ => {}
            }
        };
        reported.push(latency.as_secs_f64() * 1000.0);
        if !json {
            eprintln!(
                "edit {edit}: searchable {searchable:.1} ms after the save (watcher: {:.1} ms)",
                latency.as_secs_f64() * 1000.0
            );
        }
        // Edits apart, so each is measured alone rather than batched.
        std::thread::sleep(Duration::from_millis(args.debounce_ms + 200));
    }
    watcher.stop();
    let report = serde_json::json!({
        "notes": args.notes,
        "edits": args.edits,
        "debounce_ms": args.debounce_ms,
        "threads": threads,
        "save_to_searchable_ms": stats(observed),
        "watcher_reported_ms": stats(reported),
    });
    if json {
        println!("{report}");
    } else {
        println!("{}", serde_json::to_string_pretty(&report)?);
    }
    Ok(())
}
