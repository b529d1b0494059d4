//! A store is readable by its owner only: the directory is 0700 and every
//! file in it 0600 (database, WAL, shared memory, vector files, their
//! temporaries), whatever the process umask, because the store holds the
//! full text of every indexed note. Stores made before this are tightened
//! when opened. On platforms without Unix permissions this does nothing.

use std::fs::File;
use std::io;
use std::path::Path;

use crate::error::{Error, Result};

#[cfg(unix)]
const DIR_MODE: u32 = 0o700;
#[cfg(unix)]
const FILE_MODE: u32 = 0o600;

/// Creates the store directory `dir` (and missing parents) owner-only,
/// with its database file `db` owner-only too (SQLite gives the WAL and
/// shared-memory files the database's mode). A directory that already
/// holds a store, or nothing, is tightened with every file in it; a folder
/// of other files the user named keeps its own mode (the store's files in
/// it are still private).
pub(super) fn create_store_dir(dir: &Path, db: &Path) -> Result<()> {
    let cannot = |e| {
        Error::io(
            format!("cannot create store directory {}", dir.display()),
            e,
        )
    };
    let existed = dir.is_dir();
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, DIR_MODE);
    builder.create(dir).map_err(cannot)?;
    let empty = || std::fs::read_dir(dir).is_ok_and(|mut entries| entries.next().is_none());
    if !existed || db.exists() || empty() {
        set_mode(dir, true)?;
    }
    if !db.exists() {
        create_file(db).map_err(|e| Error::io(format!("cannot create {}", db.display()), e))?;
    }
    let entries = std::fs::read_dir(dir).map_err(cannot)?;
    for entry in entries.flatten() {
        if entry.file_type().is_ok_and(|t| t.is_file()) && is_store_file(&entry.file_name()) {
            restrict(&entry.path())?;
        }
    }
    Ok(())
}

/// Whether a file name is one the store writes: `trove.db*` (database,
/// WAL, shared memory) and `vectors*` (HNSW files, sidecar, temporaries).
fn is_store_file(name: &std::ffi::OsStr) -> bool {
    let name = name.to_string_lossy();
    name.starts_with("trove.db") || name.starts_with("vectors")
}

/// Opens `path` for writing, created owner-only (truncated if it exists).
pub(super) fn create_file(path: &Path) -> io::Result<File> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, FILE_MODE);
    options.open(path)
}

/// Opens (creating owner-only) a file that is only ever locked, never written.
pub(super) fn open_lock_file(path: &Path) -> io::Result<File> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(false);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, FILE_MODE);
    options.open(path)
}

/// Makes an existing file owner-only; a missing one is fine.
pub(super) fn restrict(path: &Path) -> Result<()> {
    match path.try_exists() {
        Ok(true) => set_mode(path, false),
        _ => Ok(()),
    }
}

#[cfg(unix)]
fn set_mode(path: &Path, dir: bool) -> Result<()> {
    use std::os::unix::fs::PermissionsExt;
    let mode = if dir { DIR_MODE } else { FILE_MODE };
    let current = std::fs::metadata(path)
        .map_err(|e| Error::io(format!("cannot read {}", path.display()), e))?
        .permissions()
        .mode()
        & 0o777;
    if current == mode {
        return Ok(());
    }
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).map_err(|e| {
        Error::io(
            format!("cannot make {} private to its owner", path.display()),
            e,
        )
    })
}

#[cfg(not(unix))]
fn set_mode(_path: &Path, _dir: bool) -> Result<()> {
    Ok(())
}
