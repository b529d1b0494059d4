//! How a document is named in the store: a file by its absolute path, or
//! text handed over by the host app by the host's id. The two live in one
//! table, so the stored key carries its kind (`file:/a/b.md`, `host:note-42`)
//! and a host id that looks like a path never collides with a file.

use std::path::Path;

/// A document's identity in the store.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) enum DocKey {
    /// A file, by its absolute path (as a folder walk reports it).
    File(String),
    /// Text the host app added under its own id.
    Host(String),
}

impl DocKey {
    pub(crate) fn file(path: &Path) -> Self {
        DocKey::File(path.to_string_lossy().into_owned())
    }

    pub(crate) fn host(id: &str) -> Self {
        DocKey::Host(id.to_string())
    }

    /// The key as stored in the `documents.key` and `failures.key` columns.
    pub(crate) fn stored(&self) -> String {
        match self {
            DocKey::File(path) => format!("file:{path}"),
            DocKey::Host(id) => format!("host:{id}"),
        }
    }

    /// Reads a stored key back; anything unprefixed is taken as a file path
    /// (never written so, but never a reason to fail a search either).
    pub(crate) fn parse(stored: &str) -> Self {
        match stored.split_once(':') {
            Some(("host", id)) => DocKey::Host(id.to_string()),
            Some(("file", path)) => DocKey::File(path.to_string()),
            _ => DocKey::File(stored.to_string()),
        }
    }

    /// The id hosts see: the path of a file, the host's own id otherwise.
    pub(crate) fn document_id(&self) -> &str {
        match self {
            DocKey::File(id) | DocKey::Host(id) => id,
        }
    }

    /// The file's path, for file documents.
    pub(crate) fn path(&self) -> Option<&str> {
        match self {
            DocKey::File(path) => Some(path),
            DocKey::Host(_) => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_round_trip_and_keep_their_kind() {
        for key in [
            DocKey::file(Path::new("/notes/a:b.md")),
            DocKey::host("file:/looks/like/a/path"),
            DocKey::host(""),
        ] {
            assert_eq!(DocKey::parse(&key.stored()), key);
        }
        let host = DocKey::host("note-42");
        assert_eq!(host.stored(), "host:note-42");
        assert_eq!((host.document_id(), host.path()), ("note-42", None));
        let file = DocKey::file(Path::new("/n/x.md"));
        assert_eq!(
            (file.document_id(), file.path()),
            ("/n/x.md", Some("/n/x.md"))
        );
    }
}
