//! The folder watcher on the real models: changes made while stopped, live
//! creates, edits, renames, moves, deletes, atomic saves, folders moved in,
//! ignore rules, symlink loops, bursts and files still being written.

mod common;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::mpsc::{Receiver, channel};
use std::time::{Duration, Instant};

use common::*;
use trove::{Engine, SearchMode, WatchEvent, WatchOptions, Watcher};

/// Generous bound for one change to show; never reached when things work.
const PATIENCE: Duration = Duration::from_secs(120);

struct Watching {
    watcher: Watcher,
    events: Receiver<(Instant, WatchEvent)>,
    /// Every event received so far, for messages and negative checks.
    seen: Vec<WatchEvent>,
    /// Events received but not yet waited for (order between files is free).
    unclaimed: Vec<(Instant, WatchEvent)>,
}

fn start(engine: &Arc<Engine>, root: &Path, debounce: Duration) -> Watching {
    let (sender, events) = channel();
    let watcher = Watcher::start(
        engine.clone(),
        &[root.to_path_buf()],
        WatchOptions { debounce },
        Box::new(move |event| sender.send((Instant::now(), event)).is_ok()),
    )
    .expect("watcher starts");
    Watching {
        watcher,
        events,
        seen: Vec::new(),
        unclaimed: Vec::new(),
    }
}

impl Watching {
    /// Waits for an event matching `wanted` (the earliest not waited for
    /// yet), returning it and its arrival time.
    fn wait(&mut self, what: &str, wanted: impl Fn(&WatchEvent) -> bool) -> (Instant, WatchEvent) {
        if let Some(i) = self.unclaimed.iter().position(|(_, e)| wanted(e)) {
            return self.unclaimed.remove(i);
        }
        let deadline = Instant::now() + PATIENCE;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.events.recv_timeout(left) {
                Ok((at, event)) => {
                    self.seen.push(event.clone());
                    if wanted(&event) {
                        return (at, event);
                    }
                    self.unclaimed.push((at, event));
                }
                Err(_) => panic!("no event for {what}; events so far: {:#?}", self.seen),
            }
        }
    }

    fn indexed(&mut self, path: &Path) -> (u64, u64) {
        match self.wait(
            &format!("indexing {}", path.display()),
            |e| matches!(e, WatchEvent::Indexed { path: p, .. } if p == path),
        ) {
            (
                _,
                WatchEvent::Indexed {
                    chunks_embedded,
                    chunks_reused,
                    ..
                },
            ) => (chunks_embedded, chunks_reused),
            _ => unreachable!(),
        }
    }

    fn removed(&mut self, path: &Path) {
        self.wait(
            &format!("removing {}", path.display()),
            |e| matches!(e, WatchEvent::Removed { path: p, .. } if p == path),
        );
    }

    /// Whether any file at or under `path` was indexed or failed.
    fn took_up(&self, path: &Path) -> bool {
        self.seen.iter().any(|e| match e {
            WatchEvent::Indexed { path: p, .. } | WatchEvent::Failed { path: p, .. } => {
                p.starts_with(path)
            }
            _ => false,
        })
    }
}

fn keyword(engine: &Engine, word: &str) -> Vec<String> {
    top_paths(engine, word, SearchMode::Keyword, 10)
        .into_iter()
        .map(|p| file_name(&p).to_string())
        .collect()
}

fn note(topic: &str, word: &str) -> String {
    format!("# {topic}\n\nThis note is about {topic}. The marker word is {word}.\n")
}

#[test]
fn watcher_follows_every_kind_of_change_and_reports_it() {
    let notes_dir = tempfile::tempdir().unwrap();
    let outside = tempfile::tempdir().unwrap();
    let store = tempfile::tempdir().unwrap();
    let root = notes_dir.path().canonicalize().unwrap();
    let engine = Arc::new(open(store.path()));
    write(&root, "kept.md", &note("gardening", "zucchini"));
    write(&root, "edited.md", &note("cycling", "derailleur"));
    index(&engine, &root);

    // Changed while not running: picked up by the first pass, the rest free.
    write(&root, "edited.md", &note("cycling", "cassette"));
    write(&root, "offline.md", &note("astronomy", "nebula"));
    let mut w = start(&engine, &root, Duration::from_millis(300));
    let (_, ready) = w.wait("the first pass", |e| matches!(e, WatchEvent::Ready { .. }));
    let WatchEvent::Ready { summary } = ready else {
        unreachable!()
    };
    assert_eq!(
        (summary.files_indexed, summary.files_unchanged),
        (2, 1),
        "{summary:?}"
    );
    assert_eq!(keyword(&engine, "cassette"), ["edited.md"]);
    assert_eq!(keyword(&engine, "nebula"), ["offline.md"]);

    // Create.
    let created = write(&root, "created.md", &note("baking", "brioche"));
    assert_eq!(w.indexed(&created), (1, 0));
    assert_eq!(keyword(&engine, "brioche"), ["created.md"]);

    // Edit in place.
    std::fs::write(&created, note("baking", "focaccia")).unwrap();
    w.indexed(&created);
    assert_eq!(keyword(&engine, "focaccia"), ["created.md"]);
    assert!(keyword(&engine, "brioche").is_empty());

    // Rename: the old document goes, the new one reuses every embedding.
    let renamed = root.join("renamed.md");
    std::fs::rename(&created, &renamed).unwrap();
    w.removed(&created);
    assert_eq!(w.indexed(&renamed), (0, 1));
    assert_eq!(keyword(&engine, "focaccia"), ["renamed.md"]);

    // Move out of the watched folder.
    std::fs::rename(&renamed, outside.path().join("renamed.md")).unwrap();
    w.removed(&renamed);
    assert!(keyword(&engine, "focaccia").is_empty());

    // An editor's atomic save: a hidden temp file renamed over the note.
    let kept = root.join("kept.md");
    let temp = root.join(".kept.md.swp");
    std::fs::write(&temp, note("gardening", "pumpkin")).unwrap();
    std::fs::rename(&temp, &kept).unwrap();
    w.indexed(&kept);
    assert_eq!(keyword(&engine, "pumpkin"), ["kept.md"]);
    assert!(keyword(&engine, "zucchini").is_empty());

    // Delete.
    std::fs::remove_file(&kept).unwrap();
    w.removed(&kept);
    assert!(keyword(&engine, "pumpkin").is_empty());

    // A folder moved in: its files are indexed and it is watched from then on.
    let staged = outside.path().join("trip");
    write(&staged, "day1.md", &note("hiking", "switchback"));
    write(&staged, "deeper/day2.md", &note("hiking", "scree"));
    std::fs::rename(&staged, root.join("trip")).unwrap();
    w.indexed(&root.join("trip/day1.md"));
    w.indexed(&root.join("trip/deeper/day2.md"));
    let day3 = write(&root, "trip/deeper/day3.md", &note("hiking", "cairn"));
    w.indexed(&day3);
    assert_eq!(keyword(&engine, "cairn"), ["day3.md"]);

    // Ignore rules: a .troveignore written now makes its matches go away and
    // keeps new ones out; hidden and node_modules files are never indexed.
    write(&root, ".troveignore", "trip/deeper/\n");
    w.removed(&day3);
    w.removed(&root.join("trip/deeper/day2.md"));
    write(&root, "trip/deeper/day4.md", &note("hiking", "ridge"));
    write(
        &root,
        "node_modules/pkg/readme.md",
        &note("packages", "npm"),
    );
    write(&root, ".hidden.md", &note("secrets", "password"));
    // A symlink loop is reported and watching goes on.
    std::os::unix::fs::symlink(&root, root.join("trip/loop")).unwrap();
    let (_, failed) = w.wait("the symlink loop", |e| {
        matches!(e, WatchEvent::Failed { .. })
    });
    let WatchEvent::Failed { path, code, reason } = failed else {
        unreachable!()
    };
    assert_eq!(
        (path, code.as_str()),
        (root.join("trip/loop"), "symlink_loop"),
        "{reason}"
    );
    // A later change shows the ignored files were passed over, not pending.
    let last = write(&root, "last.md", &note("music", "arpeggio"));
    w.indexed(&last);
    for ignored in ["trip/deeper/day4.md", "node_modules", ".hidden.md"] {
        assert!(!w.took_up(&root.join(ignored)), "{ignored}: {:#?}", w.seen);
    }
    assert!(keyword(&engine, "ridge").is_empty());
    assert!(keyword(&engine, "password").is_empty());

    // A folder deleted: its documents go.
    std::fs::remove_dir_all(root.join("trip")).unwrap();
    w.removed(&root.join("trip/day1.md"));
    assert!(keyword(&engine, "switchback").is_empty());

    w.watcher.stop();
    // Stopped means stopped: nothing follows changes any more.
    write(&root, "after.md", &note("chess", "gambit"));
    std::thread::sleep(Duration::from_millis(1500));
    assert!(keyword(&engine, "gambit").is_empty());
}

#[test]
fn a_burst_of_files_is_one_indexing_run_and_a_growing_file_waits_until_written() {
    let notes_dir = tempfile::tempdir().unwrap();
    let store = tempfile::tempdir().unwrap();
    let root = notes_dir.path().canonicalize().unwrap();
    let engine = Arc::new(open(store.path()));
    // A checkout writes into folders that exist already (a new folder is
    // walked once its event is quiet, which may split a burst in two).
    for i in 0..10 {
        std::fs::create_dir_all(root.join(format!("batch/{i:02}"))).unwrap();
    }
    // A debounce well above any pause of the writing loop on a busy machine.
    let mut w = start(&engine, &root, Duration::from_secs(1));
    w.wait("the first pass", |e| matches!(e, WatchEvent::Ready { .. }));

    // A thousand files at once, as a `git checkout` writes them. One shared
    // text (same front-matter title) keeps the embedding cost at one chunk.
    let files: Vec<PathBuf> = (0..1000)
        .map(|i| {
            write(
                &root,
                &format!("batch/{:02}/note{i}.md", i % 10),
                "---\ntitle: Checkout\n---\nThe same paragraph in every file of the burst.\n",
            )
        })
        .collect();
    for file in &files {
        w.indexed(file);
    }
    let last_run = |engine: &Engine| engine.stats().unwrap().last_index_run.unwrap().summary;
    let run = last_run(&engine);
    assert_eq!(run.files_indexed, 1000, "one run for the burst: {run:?}");
    assert_eq!(run.chunks_embedded, 1, "{run:?}");
    assert_eq!(engine.stats().unwrap().documents, 1000);

    // And all removed at once.
    for i in 0..10 {
        for entry in std::fs::read_dir(root.join(format!("batch/{i:02}"))).unwrap() {
            std::fs::remove_file(entry.unwrap().path()).unwrap();
        }
    }
    for file in &files {
        w.removed(file);
    }
    let run = last_run(&engine);
    assert_eq!(run.files_removed, 1000, "one run for the burst: {run:?}");
    assert_eq!(engine.stats().unwrap().documents, 0);

    // A file written slowly (a write every 50 ms, well inside the debounce)
    // is indexed once it is complete, not half-written.
    w.watcher.stop();
    let mut w = start(&engine, &root, Duration::from_secs(1));
    w.wait("the first pass", |e| matches!(e, WatchEvent::Ready { .. }));
    let growing = root.join("growing.md");
    let mut file = std::fs::File::create(&growing).unwrap();
    for i in 0..30 {
        use std::io::Write;
        writeln!(
            file,
            "Line {i} of a long download about vintage synthesizers."
        )
        .unwrap();
        file.flush().unwrap();
        std::thread::sleep(Duration::from_millis(50));
    }
    {
        use std::io::Write;
        writeln!(file, "The final line names the theremin.").unwrap();
    }
    drop(file);
    let finished = Instant::now();
    let (at, _) = w.wait(
        "the growing file",
        |e| matches!(e, WatchEvent::Indexed { path, .. } if *path == growing),
    );
    assert!(at > finished, "indexed before the writer finished");
    assert_eq!(keyword(&engine, "theremin"), ["growing.md"]);
}
