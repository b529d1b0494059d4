//! Keeping folders indexed while they change: a first reconcile pass, then
//! filesystem events (inotify through `notify`), debounced and batched.
//!
//! Why it is built this way:
//! - Folders are watched one by one (non-recursively), only those a walk
//!   enters, so `.git`, `node_modules` and ignored folders cost no watches and
//!   raise no events; a folder created or moved in is watched, then walked, so
//!   files written into it before its watch existed are not missed.
//! - Events only mark paths dirty. A path is taken up once no event touched it
//!   for the debounce and its size and mtime did not move meanwhile (files
//!   still being written wait). All paths ready together go to one
//!   [`Engine::update_paths`] call, and a burst (a `git checkout`) is held
//!   until the folder has been quiet for the debounce, so a thousand files
//!   cost one indexing run and one save of the vector index.
//! - A path is re-examined as it is now rather than replayed event by event:
//!   create, modify, delete, rename and an editor's atomic save (temp file +
//!   rename) all reduce to "index what exists, remove what does not".

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::mpsc::{Receiver, RecvTimeoutError, Sender};
use std::thread::JoinHandle;
use std::time::{Duration, Instant, SystemTime};

use notify::event::{AccessKind, AccessMode};
use notify::{EventKind, RecursiveMode, Watcher as _};

use crate::cancel::CancelToken;
use crate::engine::{Engine, IndexOptions};
use crate::error::{Error, ErrorKind, Result};
use crate::report::{FileChange, IndexSummary};
use crate::walk::{self, Rules};

/// Options of a [`Watcher`].
#[derive(Debug, Clone, PartialEq)]
pub struct WatchOptions {
    /// How long a path must stay untouched (no event, same size and mtime)
    /// before it is indexed. Default 300 ms: longer than an editor's save,
    /// short enough to feel live.
    pub debounce: Duration,
}

impl Default for WatchOptions {
    fn default() -> Self {
        WatchOptions {
            debounce: Duration::from_millis(300),
        }
    }
}

/// What a [`Watcher`] reports. In JSON: `{"event": "indexed", "path": …,
/// "latency_ms": …}` and so on, one object per event.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum WatchEvent {
    /// The first reconcile pass over the roots finished (changes made while not running are picked up).
    Ready {
        /// What the pass did.
        summary: IndexSummary,
    },
    /// A file was (re)indexed and is now searchable; latency = from the first filesystem event to searchable.
    Indexed {
        /// The file.
        #[serde(serialize_with = "crate::serde_path::serialize")]
        path: PathBuf,
        /// Its chunks run through the embedding model.
        chunks_embedded: u64,
        /// Its chunks that reused a stored embedding.
        chunks_reused: u64,
        /// From the first filesystem event to searchable.
        #[serde(rename = "latency_ms", serialize_with = "milliseconds")]
        latency: Duration,
    },
    /// A file's document was removed (deleted, moved out, now ignored).
    Removed {
        /// The file the document came from.
        #[serde(serialize_with = "crate::serde_path::serialize")]
        path: PathBuf,
        /// From the first filesystem event to gone from search.
        #[serde(rename = "latency_ms", serialize_with = "milliseconds")]
        latency: Duration,
    },
    /// A file could not be indexed; watching goes on.
    Failed {
        /// The file or folder.
        #[serde(serialize_with = "crate::serde_path::serialize")]
        path: PathBuf,
        /// Stable reason code (`permission_denied`, `symlink_loop`, `binary`, …).
        code: String,
        /// A sentence naming the fix.
        reason: String,
    },
    /// Trouble with watching itself (e.g. inotify limit); not fatal.
    Error {
        /// What went wrong and what to do.
        message: String,
    },
}

fn milliseconds<S: serde::Serializer>(d: &Duration, s: S) -> std::result::Result<S::Ok, S::Error> {
    s.serialize_f64(d.as_secs_f64() * 1000.0)
}

/// Callback receiving [`WatchEvent`]s, on the watcher's background thread.
/// Return `true` to go on, `false` to stop watching (no event follows).
pub type WatchCallback = Box<dyn FnMut(WatchEvent) -> bool + Send>;

/// Keeps the documents of some folders in step with the files: see the
/// module documentation. Dropping it stops it too.
///
/// ```no_run
/// # fn main() -> trove::Result<()> {
/// use std::sync::Arc;
/// let engine = Arc::new(trove::Engine::open(trove::EngineConfig::new("notes.trove", "models"))?);
/// let watcher = trove::Watcher::start(
///     engine,
///     &["notes".into()],
///     trove::WatchOptions::default(),
///     Box::new(|event| {
///         println!("{event:?}");
///         true
///     }),
/// )?;
/// std::thread::sleep(std::time::Duration::from_secs(60));
/// watcher.stop();
/// # Ok(()) }
/// ```
pub struct Watcher {
    messages: Sender<Message>,
    cancel: CancelToken,
    thread: Option<JoinHandle<()>>,
}

enum Message {
    Fs(notify::Result<notify::Event>),
    Stop,
}

impl Watcher {
    /// Reconciles `roots` (an index_paths run) on a background thread, then follows changes. Events are delivered on that background thread.
    ///
    /// Fails when a root cannot be read or the system refuses a file watcher;
    /// everything after that is reported through `on_event`.
    pub fn start(
        engine: Arc<Engine>,
        roots: &[PathBuf],
        options: WatchOptions,
        on_event: WatchCallback,
    ) -> Result<Watcher> {
        if roots.is_empty() {
            return Err(Error::invalid("give at least one file or folder to watch"));
        }
        let mut resolved = Vec::new();
        for root in roots {
            let path = std::fs::canonicalize(root).map_err(|e| {
                Error::io(
                    format!(
                        "cannot watch {} (check the path exists and is readable)",
                        root.display()
                    ),
                    e,
                )
            })?;
            let is_file = path.is_file();
            resolved.push(Root { path, is_file });
        }
        let (sender, receiver) = std::sync::mpsc::channel();
        let events = sender.clone();
        let fs_watcher = notify::recommended_watcher(move |event| {
            let _ = events.send(Message::Fs(event));
        })
        .map_err(|e| Error::new(ErrorKind::Io, describe(&e, None)))?;
        let store_dir = std::fs::canonicalize(&engine.config().store_dir)
            .unwrap_or_else(|_| engine.config().store_dir.clone());
        let cancel = CancelToken::new();
        let state = State {
            engine,
            roots: resolved,
            store_dir,
            debounce: options.debounce,
            on_event,
            fs_watcher,
            watched: HashSet::new(),
            rules: Rules::default(),
            pending: HashMap::new(),
            last_event: Instant::now(),
            rescan: false,
            limit_reported: false,
            cancel: cancel.clone(),
        };
        let thread = std::thread::Builder::new()
            .name("trove-watch".into())
            .spawn(move || state.run(receiver))
            .map_err(|e| Error::io("cannot start the watcher thread", e))?;
        Ok(Watcher {
            messages: sender,
            cancel,
            thread: Some(thread),
        })
    }

    /// Stops watching and waits for the background thread (an indexing step in progress is cancelled; committed work kept).
    pub fn stop(self) {
        drop(self);
    }
}

impl Drop for Watcher {
    fn drop(&mut self) {
        self.cancel.cancel();
        let _ = self.messages.send(Message::Stop);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

struct Root {
    path: PathBuf,
    /// A single file was given: its folder is watched for it alone.
    is_file: bool,
}

/// A dirty path waiting for quiet.
struct Dirty {
    /// The first event, where latency is counted from.
    first: Instant,
    /// The latest event, or the latest size/mtime change seen.
    last: Instant,
    signature: Option<(u64, Option<SystemTime>)>,
}

/// The background thread's state.
struct State {
    engine: Arc<Engine>,
    roots: Vec<Root>,
    store_dir: PathBuf,
    debounce: Duration,
    on_event: WatchCallback,
    fs_watcher: notify::RecommendedWatcher,
    watched: HashSet<PathBuf>,
    rules: Rules,
    pending: HashMap<PathBuf, Dirty>,
    last_event: Instant,
    /// The event queue overflowed: events were lost, walk everything.
    rescan: bool,
    limit_reported: bool,
    cancel: CancelToken,
}

/// A burst that never pauses (a log written without end) is indexed anyway
/// after this long.
const MAX_HOLD: Duration = Duration::from_secs(3);

impl State {
    /// Hands an event to the callback; `false` from it stops the watcher:
    /// the cancel token ends the work in progress and the loop.
    fn emit(&mut self, event: WatchEvent) {
        if !self.cancel.is_cancelled() && !(self.on_event)(event) {
            self.cancel.cancel();
        }
    }

    fn run(mut self, receiver: Receiver<Message>) {
        for i in 0..self.roots.len() {
            let root = &self.roots[i];
            let (path, is_file) = (root.path.clone(), root.is_file);
            match (is_file, path.parent()) {
                (true, Some(parent)) => self.add_watch(&parent.to_path_buf()),
                _ => self.watch_tree(&path),
            }
        }
        let roots: Vec<PathBuf> = self.roots.iter().map(|r| r.path.clone()).collect();
        let options = IndexOptions {
            progress: None,
            cancel: Some(self.cancel.clone()),
        };
        match self.engine.index_paths(&roots, options) {
            Ok(summary) => self.emit(WatchEvent::Ready { summary }),
            Err(e) if e.kind() == ErrorKind::Cancelled => return,
            Err(e) => self.emit(WatchEvent::Error {
                message: format!("the first pass over the folders failed: {e}"),
            }),
        }
        loop {
            let message = if self.pending.is_empty() && !self.rescan {
                receiver.recv().map_err(|_| RecvTimeoutError::Disconnected)
            } else {
                receiver.recv_timeout(
                    (self.debounce / 4).clamp(Duration::from_millis(5), Duration::from_millis(100)),
                )
            };
            let mut next = match message {
                Ok(message) => Some(message),
                Err(RecvTimeoutError::Timeout) => None,
                Err(RecvTimeoutError::Disconnected) => return,
            };
            while let Some(message) = next {
                match message {
                    Message::Stop => return,
                    Message::Fs(event) => self.note(event),
                }
                next = receiver.try_recv().ok();
            }
            if self.cancel.is_cancelled() {
                return;
            }
            if !self.process(Instant::now()) {
                return;
            }
        }
    }

    /// The root a path belongs to, if any.
    fn root_of(&self, path: &Path) -> Option<&Root> {
        self.roots
            .iter()
            .filter(|r| {
                if r.is_file {
                    r.path == path
                } else {
                    path.starts_with(&r.path)
                }
            })
            .max_by_key(|r| r.path.as_os_str().len())
    }

    fn note(&mut self, event: notify::Result<notify::Event>) {
        let event = match event {
            Ok(event) => event,
            Err(e) => {
                let message = describe(&e, None);
                self.emit(WatchEvent::Error { message });
                return;
            }
        };
        if event.need_rescan() {
            self.rescan = true;
        }
        if let EventKind::Access(access) = event.kind
            && access != AccessKind::Close(AccessMode::Write)
        {
            return;
        }
        let now = Instant::now();
        for path in event.paths {
            if path.starts_with(&self.store_dir) || self.root_of(&path).is_none() {
                continue;
            }
            self.last_event = now;
            let signature = signature(&path);
            let dirty = self.pending.entry(path).or_insert(Dirty {
                first: now,
                last: now,
                signature: None,
            });
            dirty.last = now;
            dirty.signature = signature;
        }
    }

    /// Indexes the paths that are ready. Returns `false` when stopped.
    fn process(&mut self, now: Instant) -> bool {
        if self.rescan {
            self.rescan = false;
            for root in &self.roots {
                self.pending.entry(root.path.clone()).or_insert(Dirty {
                    first: now,
                    last: now.checked_sub(self.debounce).unwrap_or(now),
                    signature: signature(&root.path),
                });
            }
        }
        let mut ready = Vec::new();
        for (path, dirty) in self.pending.iter_mut() {
            if now.duration_since(dirty.last) < self.debounce {
                continue;
            }
            let current = signature(path);
            if current != dirty.signature {
                // Still being written.
                dirty.signature = current;
                dirty.last = now;
                continue;
            }
            ready.push(path.clone());
        }
        let Some(oldest) = ready.iter().map(|p| self.pending[p].first).min() else {
            return true;
        };
        let quiet = now.duration_since(self.last_event) >= self.debounce;
        if !quiet && now.duration_since(oldest) < MAX_HOLD {
            return true;
        }
        let batch: Vec<(PathBuf, Instant)> = ready
            .into_iter()
            .map(|p| {
                let first = self.pending.remove(&p).map_or(now, |d| d.first);
                (p, first)
            })
            .collect();
        self.apply(&batch)
    }

    /// One `update_paths` call for a batch of dirty paths.
    fn apply(&mut self, batch: &[(PathBuf, Instant)]) -> bool {
        let mut targets = Vec::new();
        for (path, first) in batch {
            // A changed ignore file changes what its folder holds.
            let target = match (path.file_name(), path.parent()) {
                (Some(name), Some(parent)) if walk::is_rules_file(name) => {
                    self.rules.forget(parent);
                    parent.to_path_buf()
                }
                _ => path.clone(),
            };
            targets.push((target, *first));
        }
        let mut update = Vec::new();
        let mut forget = Vec::new();
        let mut new_dirs = Vec::new();
        for (target, _) in &targets {
            let Some(root) = self.root_of(target) else {
                continue;
            };
            let root_path = root.path.clone();
            let is_file_root = root.is_file;
            match std::fs::metadata(target) {
                Ok(meta) => {
                    let is_dir = meta.is_dir();
                    if !is_file_root && self.rules.excluded(&root_path, target, is_dir) {
                        self.unwatch_under(target);
                        forget.push(target.clone());
                    } else {
                        if is_dir {
                            new_dirs.push(target.clone());
                        }
                        update.push(target.clone());
                    }
                }
                Err(_) => {
                    self.unwatch_under(target);
                    update.push(target.clone());
                }
            }
        }
        // A folder in the batch covers everything under it.
        update.sort();
        update.dedup();
        let covered = |list: &[PathBuf], path: &Path| {
            list.iter()
                .any(|other| other != path && path.starts_with(other))
        };
        let update: Vec<PathBuf> = update
            .iter()
            .filter(|p| !covered(&update, p))
            .cloned()
            .collect();
        // Watches after unwatching: a folder renamed within the tree keeps its
        // inode, and inotify hands the new path the old watch descriptor.
        for dir in &new_dirs {
            if !covered(&new_dirs, dir) {
                self.watch_tree(dir);
            }
        }
        if update.is_empty() && forget.is_empty() {
            return true;
        }
        let options = IndexOptions {
            progress: None,
            cancel: Some(self.cancel.clone()),
        };
        let report = match self.engine.update_paths(&update, &forget, options) {
            Ok(report) => report,
            Err(e) if e.kind() == ErrorKind::Cancelled => return false,
            Err(e) => {
                self.emit(WatchEvent::Error {
                    message: format!("indexing changes failed: {e}"),
                });
                return true;
            }
        };
        let done = Instant::now();
        let latency = |path: &Path| {
            let first = targets
                .iter()
                .filter(|(t, _)| path.starts_with(t))
                .max_by_key(|(t, _)| t.as_os_str().len())
                .map(|(_, first)| *first)
                .or_else(|| targets.iter().map(|(_, first)| *first).min())
                .unwrap_or(done);
            done.duration_since(first)
        };
        for change in report.changes {
            let event = match change {
                FileChange::Indexed {
                    path,
                    chunks_embedded,
                    chunks_reused,
                } => WatchEvent::Indexed {
                    latency: latency(&path),
                    path,
                    chunks_embedded,
                    chunks_reused,
                },
                FileChange::Removed { path } => WatchEvent::Removed {
                    latency: latency(&path),
                    path,
                },
                FileChange::Failed(failure) => WatchEvent::Failed {
                    path: PathBuf::from(failure.path),
                    code: failure.code,
                    reason: failure.reason,
                },
            };
            self.emit(event);
        }
        true
    }

    /// Watches `dir` and every folder a walk of it enters.
    fn watch_tree(&mut self, dir: &Path) {
        if walk::loops_back(dir).is_some() {
            return;
        }
        match walk::walk(dir) {
            Ok(walked) => {
                for folder in walked.dirs {
                    if !folder.starts_with(&self.store_dir) {
                        self.add_watch(&folder);
                    }
                }
            }
            Err(e) => self.emit(WatchEvent::Error {
                message: format!("cannot watch {}: {e}", dir.display()),
            }),
        }
    }

    fn add_watch(&mut self, dir: &PathBuf) {
        if !self.watched.insert(dir.clone()) {
            return;
        }
        if let Err(e) = self.fs_watcher.watch(dir, RecursiveMode::NonRecursive) {
            self.watched.remove(dir);
            let limit = matches!(e.kind, notify::ErrorKind::MaxFilesWatch);
            if limit && std::mem::replace(&mut self.limit_reported, true) {
                return;
            }
            let message = describe(&e, Some(dir));
            self.emit(WatchEvent::Error { message });
        }
    }

    fn unwatch_under(&mut self, path: &Path) {
        let gone: Vec<PathBuf> = self
            .watched
            .iter()
            .filter(|w| w.starts_with(path))
            .cloned()
            .collect();
        for dir in gone {
            self.watched.remove(&dir);
            // The kernel drops the watch of a deleted folder by itself.
            let _ = self.fs_watcher.unwatch(&dir);
        }
    }
}

/// Size and mtime, to tell a file still being written.
fn signature(path: &Path) -> Option<(u64, Option<SystemTime>)> {
    std::fs::metadata(path)
        .ok()
        .map(|m| (m.len(), m.modified().ok()))
}

/// A message for a watching error that names the fix.
fn describe(error: &notify::Error, dir: Option<&Path>) -> String {
    let what = dir.map_or_else(
        || "cannot watch for changes".to_string(),
        |d| format!("cannot watch {}", d.display()),
    );
    match &error.kind {
        notify::ErrorKind::MaxFilesWatch => format!(
            "{what}: the system limit on watched folders is reached; raise it \
             (sudo sysctl fs.inotify.max_user_watches=524288) or exclude folders in .troveignore; \
             changes in folders not watched are picked up by the next start"
        ),
        notify::ErrorKind::Io(e) if e.raw_os_error() == Some(24) => format!(
            "{what}: too many file watchers are open; raise the limit \
             (sudo sysctl fs.inotify.max_user_instances=1024) or stop other watchers"
        ),
        _ => format!("{what}: {error}"),
    }
}
