//! SQLite connections of one store: a single writer and a pool of readers
//! (WAL lets readers run while a write is in progress), and the mapping of
//! SQLite errors to the engine's error kinds.

use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};

use rusqlite::{Connection, OpenFlags};

use crate::error::{Error, ErrorKind, Result};

/// Page cache of each reader connection, in KiB.
const READER_CACHE_KIB: u32 = 16 * 1024;

/// The database file of a store directory.
pub(super) const DB_FILE: &str = "trove.db";

/// The connections to `trove.db`.
pub(super) struct Connections {
    writer: Mutex<Connection>,
    readers: Mutex<Vec<Connection>>,
    path: PathBuf,
}

impl Connections {
    /// Opens (creating if needed) `dir/trove.db` for writing; readers are
    /// opened on demand and pooled.
    pub(super) fn open(dir: &Path) -> Result<Self> {
        let path = dir.join(DB_FILE);
        let writer = connect(&path, false)?;
        Ok(Connections {
            writer: Mutex::new(writer),
            readers: Mutex::new(Vec::new()),
            path,
        })
    }

    /// The writer connection; holding the guard is holding the right to write.
    pub(super) fn writer(&self) -> MutexGuard<'_, Connection> {
        self.writer.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// A reader from the pool (a new one when all are in use).
    pub(super) fn take_reader(&self) -> Result<Connection> {
        let pooled = self.readers.lock().unwrap_or_else(|p| p.into_inner()).pop();
        match pooled {
            Some(conn) => Ok(conn),
            None => connect(&self.path, true),
        }
    }

    /// Returns a reader to the pool.
    pub(super) fn give_back(&self, conn: Connection) {
        self.readers
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(conn);
    }
}

pub(super) fn connect(path: &Path, read_only: bool) -> Result<Connection> {
    let flags = if read_only {
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX
    } else {
        OpenFlags::SQLITE_OPEN_READ_WRITE
            | OpenFlags::SQLITE_OPEN_CREATE
            | OpenFlags::SQLITE_OPEN_NO_MUTEX
    };
    let conn = Connection::open_with_flags(path, flags).map_err(|e| {
        Error::new(
            ErrorKind::CorruptStore,
            format!("cannot open {}: {e}", path.display()),
        )
    })?;
    conn.busy_timeout(std::time::Duration::from_secs(10))
        .map_err(sql)?;
    if read_only {
        // A search reads a few hundred scattered rows (candidates, their
        // documents and vectors): SQLite's default 2 MiB page cache keeps
        // too few of a big store's index pages, and each miss is a read
        // (hybrid p50 at 117k chunks 26.8 → 22.4 ms). Per reader, bounded.
        conn.execute_batch(&format!("PRAGMA cache_size = -{READER_CACHE_KIB}"))
            .map_err(sql)?;
    } else {
        let mode: String = conn
            .query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0))
            .map_err(|e| opening(e, path))?;
        if !mode.eq_ignore_ascii_case("wal") {
            return Err(Error::new(
                ErrorKind::Io,
                format!("{} cannot use WAL journaling (mode {mode})", path.display()),
            ));
        }
        conn.execute_batch("PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON;")
            .map_err(sql)?;
    }
    Ok(conn)
}

/// Maps the first statement's failure on open: "not a database" names the file.
fn opening(e: rusqlite::Error, path: &Path) -> Error {
    match e.sqlite_error_code() {
        Some(rusqlite::ErrorCode::NotADatabase) | Some(rusqlite::ErrorCode::DatabaseCorrupt) => {
            Error::new(
                ErrorKind::CorruptStore,
                format!(
                    "{} is damaged or not a trove store ({e}); move it away and index again",
                    path.display()
                ),
            )
        }
        Some(rusqlite::ErrorCode::DatabaseBusy) | Some(rusqlite::ErrorCode::DatabaseLocked) => {
            Error::new(
                ErrorKind::Busy,
                format!("{} is busy in another process; try again", path.display()),
            )
        }
        _ => sql(e),
    }
}

/// The engine error for a SQLite error: busy, damaged, or an I/O problem.
pub(super) fn sql(e: rusqlite::Error) -> Error {
    match e.sqlite_error_code() {
        Some(rusqlite::ErrorCode::DatabaseBusy) | Some(rusqlite::ErrorCode::DatabaseLocked) => {
            Error::new(
                ErrorKind::Busy,
                format!("the store is busy in another process; try again ({e})"),
            )
        }
        Some(rusqlite::ErrorCode::DatabaseCorrupt) | Some(rusqlite::ErrorCode::NotADatabase) => {
            Error::new(
                ErrorKind::CorruptStore,
                format!("the store is damaged: {e}"),
            )
        }
        _ => Error::new(ErrorKind::Io, format!("store error: {e}")),
    }
}
