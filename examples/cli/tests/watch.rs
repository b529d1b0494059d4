//! `trove watch` end to end: each kind of change is followed until `search
//! --json` (another process) shows it; unreadable files and symlink loops
//! are reported and watching goes on; Ctrl-C (SIGINT) stops it cleanly.

mod common;

use std::io::BufRead;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::Stdio;
use std::sync::mpsc::{Receiver, channel};
use std::time::{Duration, Instant};

use common::*;

/// Generous bound for one change to show; never reached when things work.
const PATIENCE: Duration = Duration::from_secs(120);

/// The `trove watch` process, killed if the test ends early (a failed
/// assertion) so that no orphan keeps running and holding the output open.
struct Reaper(std::process::Child);

impl Drop for Reaper {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The `watch --json` events of `child`, parsed on a thread as they come.
fn events_of(child: &mut Reaper) -> Receiver<serde_json::Value> {
    let stdout = child.0.stdout.take().unwrap();
    let (sender, events) = channel();
    std::thread::spawn(move || {
        for line in std::io::BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            let event: serde_json::Value =
                serde_json::from_str(&line).unwrap_or_else(|e| panic!("{e}: {line}"));
            if sender.send(event).is_err() {
                break;
            }
        }
    });
    events
}

/// Polls `search --json` until `word` finds exactly `expected`.
fn until_search(store: &Path, word: &str, expected: &[&str]) {
    let deadline = Instant::now() + PATIENCE;
    loop {
        let found = search_names(store, word, "keyword");
        if found == expected {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "search for {word}: still {found:?}, waited for {expected:?}"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// Waits for a `watch --json` event matching `wanted`.
fn until_event(
    events: &Receiver<serde_json::Value>,
    seen: &mut Vec<serde_json::Value>,
    what: &str,
    wanted: impl Fn(&serde_json::Value) -> bool,
) -> serde_json::Value {
    if let Some(event) = seen.iter().find(|e| wanted(e)) {
        return event.clone();
    }
    let deadline = Instant::now() + PATIENCE;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        let event = events
            .recv_timeout(left)
            .unwrap_or_else(|_| panic!("no event for {what}; events so far: {seen:#?}"));
        seen.push(event.clone());
        if wanted(&event) {
            return event;
        }
    }
}

#[test]
fn watch_follows_changes_until_search_shows_them() {
    let notes = tempfile::tempdir().unwrap();
    let outside = tempfile::tempdir().unwrap();
    let store_dir = tempfile::tempdir().unwrap();
    let store = store_dir.path();
    let root = notes.path().canonicalize().unwrap();
    write(&root, "first.md", &note("espresso", "crema"));

    // Run without root's read-anything capabilities so that an unreadable
    // file is unreadable (see `without_read_override`).
    let mut child = Reaper(
        without_read_override()
            .arg(env!("CARGO_BIN_EXE_trove"))
            .args(["--store", store.to_str().unwrap(), "--models"])
            .arg(models_dir())
            .args(["--threads", "1", "--json", "watch", root.to_str().unwrap()])
            .stdout(Stdio::piped())
            .spawn()
            .expect("trove watch starts"),
    );
    let events = events_of(&mut child);
    let mut seen = Vec::new();
    let ready = until_event(&events, &mut seen, "ready", |e| e["event"] == "ready");
    assert_eq!(ready["summary"]["files_indexed"], 1, "{ready}");
    until_search(store, "crema", &["first.md"]);

    // Create.
    let created = write(&root, "created.md", &note("baking", "brioche"));
    until_search(store, "brioche", &["created.md"]);
    // Edit.
    std::fs::write(&created, note("baking", "focaccia")).unwrap();
    until_search(store, "focaccia", &["created.md"]);
    until_search(store, "brioche", &[]);
    // Rename.
    std::fs::rename(&created, root.join("renamed.md")).unwrap();
    until_search(store, "focaccia", &["renamed.md"]);
    // Move into a new subfolder, then out of the watched folder.
    std::fs::create_dir(root.join("archive")).unwrap();
    std::fs::rename(root.join("renamed.md"), root.join("archive/moved.md")).unwrap();
    until_search(store, "focaccia", &["moved.md"]);
    std::fs::rename(
        root.join("archive/moved.md"),
        outside.path().join("moved.md"),
    )
    .unwrap();
    until_search(store, "focaccia", &[]);
    // An editor's atomic save: write a temporary file, rename it over the note.
    let temp = root.join("first.md.tmp~");
    std::fs::write(&temp, note("espresso", "ristretto")).unwrap();
    std::fs::rename(&temp, root.join("first.md")).unwrap();
    until_search(store, "ristretto", &["first.md"]);
    until_search(store, "crema", &[]);
    // Delete.
    std::fs::remove_file(root.join("first.md")).unwrap();
    until_search(store, "ristretto", &[]);

    // Trouble is reported and watching goes on.
    let locked = root.join("locked.md");
    std::fs::write(&locked, note("locked", "padlock")).unwrap();
    std::fs::set_permissions(&locked, std::fs::Permissions::from_mode(0o000)).unwrap();
    let failed = until_event(&events, &mut seen, "the unreadable file", |e| {
        e["event"] == "failed" && e["path"] == locked.to_str().unwrap()
    });
    assert_eq!(failed["code"], "permission_denied", "{failed}");
    std::os::unix::fs::symlink(&root, root.join("loop")).unwrap();
    let failed = until_event(&events, &mut seen, "the symlink loop", |e| {
        e["event"] == "failed" && e["code"] == "symlink_loop"
    });
    assert!(
        failed["reason"]
            .as_str()
            .unwrap()
            .contains("remove the link"),
        "{failed}"
    );
    write(
        &root,
        "node_modules/pkg/readme.md",
        &note("package", "dependency"),
    );
    write(&root, "after.md", &note("music", "arpeggio"));
    until_search(store, "arpeggio", &["after.md"]);
    let indexed = until_event(&events, &mut seen, "after.md", |e| {
        e["event"] == "indexed" && e["path"].as_str().unwrap().ends_with("after.md")
    });
    assert!(indexed["latency_ms"].as_f64().unwrap() > 0.0, "{indexed}");
    assert!(search_names(store, "dependency", "keyword").is_empty());

    // Ctrl-C stops it cleanly.
    let stopped = std::process::Command::new("kill")
        .args(["-INT", &child.0.id().to_string()])
        .status()
        .unwrap();
    assert!(stopped.success());
    let status = child.0.wait().unwrap();
    assert_eq!(status.code(), Some(0), "trove watch after SIGINT");
    let status = json(store, &["status"]);
    assert_eq!(status["documents"], 1, "only after.md is left: {status}");
}

/// A host process that keeps the store open (a plugin, say) sees what
/// `trove watch` in another process indexes, keyword and vector, without
/// reopening. Prints the time from the watcher's "indexed" event to the
/// host's first vector hit (README).
#[test]
fn a_long_lived_host_sees_what_watch_indexes_without_reopening() {
    let notes = tempfile::tempdir().unwrap();
    let store_dir = tempfile::tempdir().unwrap();
    let store = store_dir.path().join("store");
    let root = notes.path().canonicalize().unwrap();
    write(&root, "first.md", &note("espresso", "crema"));
    let mut child = Reaper(
        trove(&store, &["--json", "watch", root.to_str().unwrap()])
            .stdout(Stdio::piped())
            .spawn()
            .expect("trove watch starts"),
    );
    let events = events_of(&mut child);
    let mut seen = Vec::new();
    until_event(&events, &mut seen, "ready", |e| e["event"] == "ready");

    let mut config = trove::EngineConfig::new(&store, models_dir());
    config.threads = 1;
    let host = trove::Engine::open(config).unwrap();
    let search = |query: &str, mode| {
        let options = trove::SearchOptions {
            k: 3,
            mode,
            one_per_document: true,
            ..Default::default()
        };
        let hits = host.search(query, &options).unwrap();
        hits.into_iter()
            .map(|h| h.document_id.rsplit('/').next().unwrap().to_string())
            .collect::<Vec<_>>()
    };
    assert_eq!(search("crema", trove::SearchMode::Keyword), ["first.md"]);

    write(
        &root,
        "kayak.md",
        "# Kayak trip\n\nWe paddled the kayak across the bay at dawn; the water was flat and grey.\n",
    );
    until_event(&events, &mut seen, "kayak.md indexed", |e| {
        e["event"] == "indexed" && e["path"].as_str().unwrap().ends_with("kayak.md")
    });
    let indexed = Instant::now();
    let deadline = indexed + PATIENCE;
    while search("a boat on calm sea water", trove::SearchMode::Vector).first()
        != Some(&"kayak.md".to_string())
    {
        assert!(
            Instant::now() < deadline,
            "the host never saw kayak.md's vectors"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    eprintln!(
        "host saw the watcher's new vectors {:.0} ms after its indexed event",
        indexed.elapsed().as_secs_f64() * 1000.0
    );
    assert_eq!(search("paddled", trove::SearchMode::Keyword), ["kayak.md"]);
}
