//! `trove watch`: a first reconcile pass, then every change printed with the
//! time it took to become searchable, until Ctrl-C (or SIGTERM).

use std::io::Write;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use trove::{Engine, WatchEvent, WatchOptions, Watcher};

use crate::{CliResult, summary_line};

pub fn run(engine: Engine, paths: &[PathBuf], debounce: Duration, json: bool) -> CliResult {
    let (stop, stopped) = std::sync::mpsc::channel();
    let output_closed = stop.clone();
    ctrlc::set_handler(move || {
        let _ = stop.send(());
    })
    .map_err(|e| format!("cannot catch Ctrl-C: {e}"))?;
    let watcher = Watcher::start(
        Arc::new(engine),
        paths,
        WatchOptions { debounce },
        Box::new(move |event| {
            // A closed stdout (the reader went away) ends watching quietly.
            let printed = print(&event, json).is_ok();
            if !printed {
                let _ = output_closed.send(());
            }
            printed
        }),
    )?;
    let _ = stopped.recv();
    if !json {
        eprintln!("stopping…");
    }
    // Cancels an indexing step in flight; what was committed stays.
    watcher.stop();
    Ok(())
}

fn ms(d: Duration) -> f64 {
    (d.as_secs_f64() * 1e4).round() / 10.0
}

/// Prints one event: a JSON line, or a sentence (warnings to stderr).
fn print(event: &WatchEvent, json: bool) -> std::io::Result<()> {
    let mut out = std::io::stdout().lock();
    if json {
        let line = serde_json::to_string(event).map_err(std::io::Error::other)?;
        return writeln!(out, "{line}").and_then(|()| out.flush());
    }
    match event {
        WatchEvent::Ready { summary } => {
            writeln!(out, "ready: {}", summary_line(summary))?;
            for f in &summary.failures {
                writeln!(out, "  skipped {}: {}", f.path, f.reason)?;
            }
            writeln!(out, "watching for changes (Ctrl-C stops)")?;
        }
        WatchEvent::Indexed {
            path,
            chunks_embedded,
            chunks_reused,
            latency,
        } => writeln!(
            out,
            "indexed {}: {chunks_embedded} chunks embedded, {chunks_reused} reused; searchable after {} ms",
            path.display(),
            ms(*latency)
        )?,
        WatchEvent::Removed { path, latency } => writeln!(
            out,
            "removed {}; gone from search after {} ms",
            path.display(),
            ms(*latency)
        )?,
        WatchEvent::Failed { path, reason, .. } => {
            writeln!(out, "skipped {}: {reason}", path.display())?
        }
        WatchEvent::Error { message } => eprintln!("trove: warning: {message}"),
    }
    out.flush()
}
