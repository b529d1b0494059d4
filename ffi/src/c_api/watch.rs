//! Watching folders: the index follows file changes on a background thread
//! and reports each one through a callback.

use std::ffi::{CString, c_char, c_void};
use std::path::PathBuf;
use std::time::Duration;

use trove::{WatchEvent, WatchOptions, Watcher};

use super::engine::{put, trove_engine};
use super::status::{Failure, call, guard, trove_status};
use super::strings::{self, to_c};

/// Kinds of trove_watch_event.
#[allow(non_camel_case_types)]
#[repr(C)]
pub enum trove_watch_event_kind {
    /// The first pass over the folders finished (changes made while nothing
    /// was watching are picked up); message is its summary as JSON.
    Ready = 0,
    /// path was (re)indexed and is searchable.
    Indexed = 1,
    /// The document of path was removed (deleted, moved out, now ignored).
    Removed = 2,
    /// path could not be indexed (code and message say why); watching goes
    /// on.
    Failed = 3,
    /// Trouble with watching itself (message), e.g. the system's watch
    /// limit; not fatal.
    Error = 4,
}

/// One change, lent to the watch callback for the duration of the call.
/// Fields that do not apply to the kind are NULL or 0.
#[allow(non_camel_case_types)]
#[repr(C)]
pub struct trove_watch_event {
    /// A trove_watch_event_kind.
    pub kind: u32,
    /// The file (INDEXED, REMOVED, FAILED).
    pub path: *const c_char,
    /// Stable reason code (FAILED), e.g. "binary", "permission_denied".
    pub code: *const c_char,
    /// READY: summary JSON; FAILED: the reason; ERROR: what went wrong.
    pub message: *const c_char,
    /// INDEXED: chunks run through the embedding model.
    pub chunks_embedded: u64,
    /// INDEXED: chunks that reused a stored embedding.
    pub chunks_reused: u64,
    /// INDEXED, REMOVED: from the first file-system event to searchable.
    pub latency_ms: f64,
}

/// Watch callback: runs on the watcher's own background thread, one event
/// at a time. Return nonzero to go on, 0 to stop watching: no event follows
/// (still call trove_watch_stop to free the handle).
#[allow(non_camel_case_types)]
pub type trove_watch_fn =
    Option<unsafe extern "C" fn(event: *const trove_watch_event, user_data: *mut c_void) -> i32>;

/// A running watch. Stop and free it with trove_watch_stop.
#[allow(non_camel_case_types)]
pub struct trove_watcher {
    watcher: Watcher,
}

/// The host's callback and its user data, moved to the watcher thread.
struct Callback {
    function: unsafe extern "C" fn(*const trove_watch_event, *mut c_void) -> i32,
    user_data: *mut c_void,
}

// SAFETY: the header tells hosts the callback and user_data are used from
// the watcher's thread.
unsafe impl Send for Callback {}

impl Callback {
    /// Calls the host; its answer is whether to go on watching.
    fn deliver(&self, event: &WatchEvent) -> bool {
        let text = |s: &str| Some(to_c(s));
        let (kind, path, code, message, embedded, reused, latency) = match event {
            WatchEvent::Ready { summary } => {
                let json = serde_json::to_string(summary).expect("a summary serializes");
                (
                    trove_watch_event_kind::Ready,
                    None,
                    None,
                    text(&json),
                    0,
                    0,
                    None,
                )
            }
            WatchEvent::Indexed {
                path,
                chunks_embedded,
                chunks_reused,
                latency,
            } => (
                trove_watch_event_kind::Indexed,
                text(&path.to_string_lossy()),
                None,
                None,
                *chunks_embedded,
                *chunks_reused,
                Some(latency),
            ),
            WatchEvent::Removed { path, latency } => (
                trove_watch_event_kind::Removed,
                text(&path.to_string_lossy()),
                None,
                None,
                0,
                0,
                Some(latency),
            ),
            WatchEvent::Failed { path, code, reason } => (
                trove_watch_event_kind::Failed,
                text(&path.to_string_lossy()),
                text(code),
                text(reason),
                0,
                0,
                None,
            ),
            WatchEvent::Error { message } => (
                trove_watch_event_kind::Error,
                None,
                None,
                text(message),
                0,
                0,
                None,
            ),
        };
        let ptr = |s: &Option<CString>| s.as_ref().map_or(std::ptr::null(), |s| s.as_ptr());
        let event = trove_watch_event {
            kind: kind as u32,
            path: ptr(&path),
            code: ptr(&code),
            message: ptr(&message),
            chunks_embedded: embedded,
            chunks_reused: reused,
            latency_ms: latency.map_or(0.0, |d| d.as_secs_f64() * 1000.0),
        };
        // SAFETY: the host's function, called as the header documents.
        unsafe { (self.function)(&event, self.user_data) != 0 }
    }
}

/// Watches files and folders: first reconciles them with the store (like
/// trove_index_path), then follows creations, edits, deletions, renames and
/// moves, editors' atomic saves and bursts of changes, honouring .gitignore
/// and .troveignore and skipping hidden files, .git, .obsidian, .trove and
/// node_modules. Each change is reported to on_event once it is searchable.
///
/// debounce_ms is how long a file must stay untouched before it is indexed
/// (0: 300 ms). On success *watcher_out receives a handle the caller owns:
/// stop and free it with trove_watch_stop. The watcher keeps the engine
/// alive, so it may outlive trove_engine_close.
///
/// Thread-safe. on_event (required) runs on the watcher's own thread:
/// user_data must be usable from there.
///
/// Safety: engine is live; paths holds path_count NUL-terminated strings;
/// watcher_out is writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn trove_watch_start(
    engine: *const trove_engine,
    paths: *const *const c_char,
    path_count: usize,
    debounce_ms: u32,
    on_event: trove_watch_fn,
    user_data: *mut c_void,
    watcher_out: *mut *mut trove_watcher,
) -> trove_status {
    call(|| {
        // SAFETY: the caller's pointers, as documented.
        unsafe {
            put(watcher_out, "watcher_out", std::ptr::null_mut())?;
            let engine = engine
                .as_ref()
                .ok_or_else(|| Failure::invalid("engine is NULL"))?;
            let roots: Vec<PathBuf> = strings::list(paths, path_count, "paths")?
                .into_iter()
                .map(PathBuf::from)
                .collect();
            let function = on_event.ok_or_else(|| Failure::invalid("on_event is NULL"))?;
            let callback = Callback {
                function,
                user_data,
            };
            let options = WatchOptions {
                debounce: if debounce_ms == 0 {
                    WatchOptions::default().debounce
                } else {
                    Duration::from_millis(debounce_ms.into())
                },
            };
            let watcher = Watcher::start(
                engine.engine.clone(),
                &roots,
                options,
                Box::new(move |event| callback.deliver(&event)),
            )?;
            *watcher_out = Box::into_raw(Box::new(trove_watcher { watcher }));
            Ok(())
        }
    })
}

/// Stops watching, waits for the watcher's thread to finish (an indexing
/// step in progress is cancelled; committed work is kept) and frees the
/// handle. After it returns, on_event is not called again. NULL is ignored.
/// Do not call it from inside on_event.
///
/// Safety: watcher is NULL or from trove_watch_start, stopped once.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn trove_watch_stop(watcher: *mut trove_watcher) {
    guard(|| {
        if !watcher.is_null() {
            // SAFETY: from Box::into_raw per the caller.
            let handle = unsafe { Box::from_raw(watcher) };
            handle.watcher.stop();
        }
    })
}
