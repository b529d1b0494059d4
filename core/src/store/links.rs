//! Links between documents. Each document stores its links as written, the
//! names it can be linked by (file name and stem, title, aliases, lower
//! case) and its block ids. A link is resolved when it is read, never stored
//! resolved: adding, renaming or removing either end needs no fix-up of the
//! other.

use std::collections::HashMap;

use rusqlite::{Connection, OptionalExtension, params};

use super::key::DocKey;
use super::read::Snapshot;
use super::sqlite::sql;
use super::write::DocumentRow;
use crate::error::Result;
use crate::ingest::Link;

/// How well a name identifies a document; a link goes to its best match.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum NameRank {
    /// The file name or stem (`Note`, `paper.pdf`), as Obsidian resolves.
    File = 0,
    Title = 1,
    Alias = 2,
}

/// A document at one end of a link, as read back.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct LinkEnd {
    pub key: DocKey,
    pub title: String,
}

/// A stored link with both of its ends.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct LinkRecord {
    pub source: LinkEnd,
    pub link: Link,
    /// The document the link resolves to now; `None` when none in the store does.
    pub resolved: Option<LinkEnd>,
    /// The lines of the block a `[[Note#^id]]` link names, when the
    /// resolved document has that block id.
    pub block_lines: Option<(u32, u32)>,
}

/// Writes the names, links and block ids of `doc`, stored as row `doc_id`.
pub(super) fn insert(conn: &Connection, doc_id: i64, doc: &DocumentRow) -> Result<()> {
    let mut names: Vec<(String, NameRank)> = file_names(doc.key.document_id())
        .into_iter()
        .map(|n| (n, NameRank::File))
        .collect();
    names.push((doc.title.to_lowercase(), NameRank::Title));
    names.extend(
        doc.aliases
            .iter()
            .map(|a| (a.to_lowercase(), NameRank::Alias)),
    );
    let mut insert_name = conn
        .prepare_cached("INSERT INTO document_names(doc_id, name, rank) VALUES (?1, ?2, ?3)")
        .map_err(sql)?;
    for (name, rank) in names {
        let name = name.trim();
        if !name.is_empty() {
            insert_name
                .execute(params![doc_id, name, rank as i64])
                .map_err(sql)?;
        }
    }
    let mut insert_link = conn
        .prepare_cached(
            "INSERT INTO links(doc_id, ordinal, target, name, heading, block, alias, embed, char_start, char_end, line)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
        )
        .map_err(sql)?;
    for (ordinal, link) in doc.links.iter().enumerate() {
        insert_link
            .execute(params![
                doc_id,
                ordinal as i64,
                link.target,
                link_name(&link.target),
                link.heading,
                link.block,
                link.alias,
                link.embed,
                link.char_start as i64,
                link.char_end as i64,
                link.line,
            ])
            .map_err(sql)?;
    }
    // A repeated id names its first block.
    let mut insert_anchor = conn
        .prepare_cached(
            "INSERT OR IGNORE INTO anchors(doc_id, id, char_start, char_end, line_start, line_end)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        )
        .map_err(sql)?;
    for anchor in &doc.anchors {
        insert_anchor
            .execute(params![
                doc_id,
                anchor.id,
                anchor.char_start as i64,
                anchor.char_end as i64,
                anchor.lines.map(|l| l.0),
                anchor.lines.map(|l| l.1),
            ])
            .map_err(sql)?;
    }
    Ok(())
}

/// The lower-case names a file or host id is linked by: its file name and,
/// when it has an extension, its stem (`notes/Tomato Plan.md` → `tomato
/// plan.md`, `tomato plan`).
fn file_names(document_id: &str) -> Vec<String> {
    let name = last_segment(document_id).to_lowercase();
    let mut names = vec![name.clone()];
    if let Some((stem, _)) = name.rsplit_once('.').filter(|(stem, _)| !stem.is_empty()) {
        names.push(stem.to_string());
    }
    names
}

/// What of a link's target a document name must equal: its last path
/// segment, lower case (`Garden/Tomato Plan` → `tomato plan`).
fn link_name(target: &str) -> String {
    last_segment(target).trim().to_lowercase()
}

fn last_segment(path: &str) -> &str {
    path.rsplit(['/', '\\']).next().unwrap_or(path)
}

/// Whether a document at `document_id` sits where a target naming a folder
/// (`Garden/Tomato Plan`) says: its path, without or with its extension,
/// ends with the target's segments. Leading `./` and `../` are dropped.
fn folder_matches(document_id: &str, target: &str) -> bool {
    let target = target.replace('\\', "/").to_lowercase();
    let mut target = target.as_str();
    while let Some(rest) = target
        .strip_prefix("./")
        .or_else(|| target.strip_prefix("../"))
    {
        target = rest;
    }
    let target = target.trim_start_matches('/');
    let path = document_id.replace('\\', "/").to_lowercase();
    let without_extension = match path.rsplit_once('.') {
        Some((stem, ext)) if !ext.contains('/') => stem,
        _ => path.as_str(),
    };
    [path.as_str(), without_extension]
        .iter()
        .any(|p| *p == target || p.ends_with(&format!("/{target}")))
}

impl Snapshot<'_> {
    /// The key of the stored document with host id or path `document_id`
    /// (a host id first, as `Engine::remove_document` looks).
    pub(crate) fn document_key(&self, document_id: &str) -> Result<Option<DocKey>> {
        for key in [DocKey::host(document_id), DocKey::File(document_id.into())] {
            if self.document_row(&key)?.is_some() {
                return Ok(Some(key));
            }
        }
        Ok(None)
    }

    /// The links written in the document `key`, in document order.
    pub(crate) fn outgoing_links(&self, key: &DocKey) -> Result<Vec<LinkRecord>> {
        let rows = self.links_where("d.key = ?1", key.stored())?;
        let mut resolver = Resolver::new(self.conn());
        rows.into_iter()
            .map(|(source_id, source, link)| {
                let resolved = if link.target.is_empty() {
                    Some((source_id, source.clone()))
                } else {
                    resolver.resolve(&link.target)?
                };
                self.record(source, link, resolved)
            })
            .collect()
    }

    /// The links of other documents that resolve to the document `key`
    /// (its backlinks), by source and then document order.
    pub(crate) fn backlinks(&self, key: &DocKey) -> Result<Vec<LinkRecord>> {
        let Some(target_id) = self.document_row(key)? else {
            return Ok(Vec::new());
        };
        let rows = self.links_where(
            "l.doc_id != ?1 AND l.name IN (SELECT name FROM document_names WHERE doc_id = ?1)",
            target_id,
        )?;
        let mut resolver = Resolver::new(self.conn());
        let mut out = Vec::new();
        for (_, source, link) in rows {
            let resolved = resolver.resolve(&link.target)?;
            if resolved.as_ref().is_some_and(|(id, _)| *id == target_id) {
                out.push(self.record(source, link, resolved)?);
            }
        }
        Ok(out)
    }

    /// A link with its resolved end and, for a link to a block, the block's lines.
    fn record(
        &self,
        source: LinkEnd,
        link: Link,
        resolved: Option<(i64, LinkEnd)>,
    ) -> Result<LinkRecord> {
        let block_lines = match (&resolved, &link.block) {
            (Some((doc_id, _)), Some(block)) => self
                .conn()
                .prepare_cached(
                    "SELECT line_start, line_end FROM anchors WHERE doc_id = ?1 AND id = ?2",
                )
                .map_err(sql)?
                .query_row(params![doc_id, block], |r| {
                    Ok(r.get::<_, Option<u32>>(0)?.zip(r.get::<_, Option<u32>>(1)?))
                })
                .optional()
                .map_err(sql)?
                .flatten(),
            _ => None,
        };
        Ok(LinkRecord {
            source,
            link,
            resolved: resolved.map(|(_, end)| end),
            block_lines,
        })
    }

    fn document_row(&self, key: &DocKey) -> Result<Option<i64>> {
        self.conn()
            .query_row(
                "SELECT id FROM documents WHERE key = ?1",
                [key.stored()],
                |r| r.get(0),
            )
            .optional()
            .map_err(sql)
    }

    /// Links joined with their source document, filtered by `condition` on
    /// `?1`.
    fn links_where(
        &self,
        condition: &str,
        value: impl rusqlite::ToSql,
    ) -> Result<Vec<(i64, LinkEnd, Link)>> {
        let mut stmt = self
            .conn()
            .prepare(&format!(
                "SELECT d.id, d.key, d.title, l.target, l.heading, l.block, l.alias, l.embed,
                        l.char_start, l.char_end, l.line
                 FROM links l JOIN documents d ON d.id = l.doc_id
                 WHERE {condition} ORDER BY d.key, l.ordinal"
            ))
            .map_err(sql)?;
        let rows = stmt
            .query_map([value], |r| {
                let key: String = r.get(1)?;
                Ok((
                    r.get(0)?,
                    LinkEnd {
                        key: DocKey::parse(&key),
                        title: r.get(2)?,
                    },
                    Link {
                        target: r.get(3)?,
                        heading: r.get(4)?,
                        block: r.get(5)?,
                        alias: r.get(6)?,
                        embed: r.get(7)?,
                        char_start: r.get::<_, i64>(8)? as usize,
                        char_end: r.get::<_, i64>(9)? as usize,
                        line: r.get(10)?,
                    },
                ))
            })
            .map_err(sql)?;
        rows.collect::<rusqlite::Result<_>>().map_err(sql)
    }
}

/// Resolves link targets against the stored names, each target once.
struct Resolver<'c> {
    conn: &'c Connection,
    known: HashMap<String, Option<(i64, LinkEnd)>>,
}

impl<'c> Resolver<'c> {
    fn new(conn: &'c Connection) -> Self {
        Resolver {
            conn,
            known: HashMap::new(),
        }
    }

    /// The document `target` names: among the documents with its name (and
    /// its folders, when it has some), the best-ranked name, then the
    /// shortest path (Obsidian's pick among equal names), then the oldest.
    fn resolve(&mut self, target: &str) -> Result<Option<(i64, LinkEnd)>> {
        let target = target.trim();
        if let Some(known) = self.known.get(target) {
            return Ok(known.clone());
        }
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT d.id, d.key, d.title, min(n.rank) FROM document_names n
                 JOIN documents d ON d.id = n.doc_id WHERE n.name = ?1 GROUP BY d.id",
            )
            .map_err(sql)?;
        let rows = stmt
            .query_map([link_name(target)], |r| {
                Ok((
                    r.get::<_, i64>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, String>(2)?,
                    r.get::<_, i64>(3)?,
                ))
            })
            .map_err(sql)?;
        let mut best: Option<(i64, usize, i64, DocKey, String)> = None;
        let has_folder = target.contains(['/', '\\']);
        for row in rows {
            let (id, key, title, rank) = row.map_err(sql)?;
            let key = DocKey::parse(&key);
            if has_folder && !folder_matches(key.document_id(), target) {
                continue;
            }
            let order = (rank, key.document_id().len(), id);
            if best.as_ref().is_none_or(|b| order < (b.0, b.1, b.2)) {
                best = Some((rank, key.document_id().len(), id, key, title));
            }
        }
        let found = best.map(|(_, _, id, key, title)| (id, LinkEnd { key, title }));
        self.known.insert(target.to_string(), found.clone());
        Ok(found)
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;
    use crate::embed::ModelFingerprint;
    use crate::store::{ChunkRow, Store, VectorQuantization};

    /// A store holding one file document per `(path, links)`, each of one chunk.
    fn store_of(dir: &Path, docs: &[(&str, &[&str])]) -> Store {
        let model = ModelFingerprint {
            name: "m".into(),
            dimensions: 2,
            sha256: "0".repeat(64),
        };
        let store = Store::open(dir, &model, VectorQuantization::F32, false)
            .unwrap()
            .0;
        let mut writes = store.begin_writes();
        for (path, targets) in docs {
            let doc = DocumentRow {
                key: DocKey::file(Path::new(path)),
                kind: "markdown".into(),
                title: "Untitled".into(),
                tags: vec![],
                aliases: vec![],
                metadata: Default::default(),
                links: targets
                    .iter()
                    .map(|t| Link {
                        target: t.to_string(),
                        heading: None,
                        block: None,
                        alias: None,
                        embed: false,
                        char_start: 0,
                        char_end: 1,
                        line: Some(1),
                    })
                    .collect(),
                anchors: vec![],
                content_hash: path.as_bytes().to_vec(),
                size: 1,
                mtime_ns: 0,
            };
            let chunk = ChunkRow {
                ordinal: 0,
                text: path.to_string(),
                embed_hash: path.as_bytes().to_vec(),
                char_start: 0,
                char_end: 1,
                lines: None,
                page: None,
                locator: None,
                heading_path: vec![],
            };
            let vectors = [(path.as_bytes().to_vec(), vec![1.0, 0.0])].into();
            writes
                .transaction(|tx| tx.replace_document(&doc, &[chunk], &vectors))
                .unwrap();
        }
        writes.finish().unwrap();
        store
    }

    #[test]
    fn equal_names_go_to_the_shortest_path_unless_folders_say_otherwise() {
        let dir = tempfile::tempdir().unwrap();
        let store = store_of(
            dir.path(),
            &[
                ("/v/deep/Note.md", &[]),
                ("/v/Note.md", &[]),
                (
                    "/v/src.md",
                    &["note", "deep/Note", "other/Note", "Untitled"],
                ),
            ],
        );
        let snapshot = store.snapshot().unwrap();
        let out = snapshot
            .outgoing_links(&DocKey::file(Path::new("/v/src.md")))
            .unwrap();
        let to: Vec<Option<&str>> = out
            .iter()
            .map(|r| r.resolved.as_ref().map(|e| e.key.document_id()))
            .collect();
        // Every document is titled "Untitled": the shortest path wins.
        assert_eq!(
            to,
            [
                Some("/v/Note.md"),
                Some("/v/deep/Note.md"),
                None,
                Some("/v/src.md")
            ]
        );
        let back = |path: &str| {
            snapshot
                .backlinks(&DocKey::file(Path::new(path)))
                .unwrap()
                .len()
        };
        assert_eq!((back("/v/Note.md"), back("/v/deep/Note.md")), (1, 1));
    }

    #[test]
    fn files_are_named_by_file_name_and_stem() {
        assert_eq!(
            file_names("/vault/Garden/Tomato Plan.md"),
            ["tomato plan.md", "tomato plan"]
        );
        assert_eq!(file_names("README"), ["readme"]);
        assert_eq!(link_name("Garden/Tomato Plan"), "tomato plan");
        assert_eq!(link_name("paper.PDF"), "paper.pdf");
    }

    #[test]
    fn folders_of_a_target_must_match_the_path() {
        let doc = "/vault/Garden/Tomato Plan.md";
        assert!(folder_matches(doc, "Garden/Tomato Plan"));
        assert!(folder_matches(doc, "garden/tomato plan.md"));
        assert!(folder_matches(doc, "../Garden/Tomato Plan"));
        assert!(!folder_matches(doc, "Kitchen/Tomato Plan"));
        assert!(!folder_matches(doc, "den/Tomato Plan"));
    }
}
