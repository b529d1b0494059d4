//! Links between documents as hosts show them: a document's outgoing links
//! and its backlinks ("notes linking here"), each end named by id, path and
//! title. Links resolve as Obsidian resolves them (file name, then title,
//! then alias, ignoring case), at the time they are read (store/links.rs).

use serde::{Deserialize, Serialize};

use crate::error::{Error, ErrorKind, Result};
use crate::search::LineRange;
use crate::store::{DocKey, LinkEnd, LinkRecord, Store};

/// A document at one end of a link.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LinkedDocument {
    /// Its absolute path, or the host's id for added text.
    pub document_id: String,
    /// Absolute path for files; `None` for text added by the host.
    pub path: Option<String>,
    pub title: String,
}

/// A link written in one document (`[[Note#Heading|shown]]`, `![[embed]]`,
/// a Markdown link to a local file, a canvas file card).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DocumentLink {
    /// The document the link is written in.
    pub source: LinkedDocument,
    /// The note or file as written, without `.md` (`Folder/Note`,
    /// `image.png`); empty for a link inside the source (`[[#Heading]]`).
    pub target: String,
    /// The heading linked to (`[[Note#Heading]]`).
    pub heading: Option<String>,
    /// The block id linked to, without `^` (`[[Note#^id]]`).
    pub block: Option<String>,
    /// The text shown for the link (`[[Note|shown]]`).
    pub alias: Option<String>,
    /// `![[…]]`: shown in place rather than linked.
    pub embed: bool,
    /// 1-based line of the link in the source (Markdown).
    pub line: Option<u32>,
    /// The stored document the target names now; `None` when no document
    /// in the store has that name.
    pub resolved: Option<LinkedDocument>,
    /// For a link to a block (`[[Note#^id]]`): the block's lines in the
    /// resolved document, when it has that block id.
    pub block_lines: Option<LineRange>,
}

/// The links written in `document_id`, in document order.
pub(crate) fn outgoing(store: &Store, document_id: &str) -> Result<Vec<DocumentLink>> {
    let snapshot = store.snapshot()?;
    let key = stored_key(&snapshot, document_id)?;
    Ok(snapshot
        .outgoing_links(&key)?
        .into_iter()
        .map(document_link)
        .collect())
}

/// The links of other documents that resolve to `document_id`.
pub(crate) fn backlinks(store: &Store, document_id: &str) -> Result<Vec<DocumentLink>> {
    let snapshot = store.snapshot()?;
    let key = stored_key(&snapshot, document_id)?;
    Ok(snapshot
        .backlinks(&key)?
        .into_iter()
        .map(document_link)
        .collect())
}

fn stored_key(snapshot: &crate::store::Snapshot<'_>, document_id: &str) -> Result<DocKey> {
    match snapshot.document_key(document_id)? {
        Some(key) => Ok(key),
        None => Err(Error::new(
            ErrorKind::NotFound,
            format!(
                "no document {document_id:?} in the store; pass a host id or a file's absolute path as search hits give them (document_id)"
            ),
        )),
    }
}

fn document_link(record: LinkRecord) -> DocumentLink {
    let LinkRecord {
        source,
        link,
        resolved,
        block_lines,
    } = record;
    DocumentLink {
        source: linked(source),
        target: link.target,
        heading: link.heading,
        block: link.block,
        alias: link.alias,
        embed: link.embed,
        line: link.line,
        resolved: resolved.map(linked),
        block_lines: block_lines.map(LineRange::from),
    }
}

fn linked(end: LinkEnd) -> LinkedDocument {
    LinkedDocument {
        document_id: end.key.document_id().to_string(),
        path: end.key.path().map(str::to_string),
        title: end.title,
    }
}
