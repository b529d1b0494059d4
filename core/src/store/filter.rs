//! Which documents a search may return.

use std::collections::HashSet;

use rusqlite::Connection;
use serde::{Deserialize, Serialize};

use super::key::DocKey;
use super::sqlite::sql;
use crate::error::Result;

/// Restricts results; empty fields restrict nothing. All given filters must hold.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SearchFilters {
    /// Only documents whose path starts with this prefix.
    pub path_prefix: Option<String>,
    /// Only these documents (paths or host ids).
    pub document_ids: Vec<String>,
    /// Only documents carrying at least one of these tags, or a tag nested
    /// below one (`garden` matches `garden/vegetables`); case is ignored, as
    /// in Obsidian.
    pub tags: Vec<String>,
}

impl SearchFilters {
    pub(crate) fn is_empty(&self) -> bool {
        self.path_prefix.is_none() && self.document_ids.is_empty() && self.tags.is_empty()
    }
}

/// Row ids of the documents that pass `filters`.
pub(super) fn allowed_documents(
    conn: &Connection,
    filters: &SearchFilters,
) -> Result<HashSet<i64>> {
    let mut stmt = conn
        .prepare_cached("SELECT id, key, path, tags FROM documents")
        .map_err(sql)?;
    let rows = stmt
        .query_map([], |r| {
            Ok((
                r.get::<_, i64>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, Option<String>>(2)?,
                r.get::<_, String>(3)?,
            ))
        })
        .map_err(sql)?;
    let mut allowed = HashSet::new();
    for row in rows {
        let (id, key, path, tags) = row.map_err(sql)?;
        let prefix_ok = filters.path_prefix.as_ref().is_none_or(|p| {
            path.as_deref()
                .is_some_and(|path| path.starts_with(p.as_str()))
        });
        let id_ok = filters.document_ids.is_empty()
            || filters
                .document_ids
                .iter()
                .any(|d| d == DocKey::parse(&key).document_id() || *d == key);
        let tags_ok = filters.tags.is_empty() || {
            let tags: Vec<String> = serde_json::from_str(&tags).unwrap_or_default();
            filters
                .tags
                .iter()
                .any(|f| tags.iter().any(|t| tag_matches(t, f)))
        };
        if prefix_ok && id_ok && tags_ok {
            allowed.insert(id);
        }
    }
    Ok(allowed)
}

/// Whether a document's `tag` passes the filter tag `wanted`: the same tag
/// ignoring case (a leading `#` aside), or one nested below it.
fn tag_matches(tag: &str, wanted: &str) -> bool {
    let wanted = wanted.trim();
    let wanted = wanted.strip_prefix('#').unwrap_or(wanted).to_lowercase();
    let tag = tag.to_lowercase();
    !wanted.is_empty()
        && tag
            .strip_prefix(&wanted)
            .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
}

#[cfg(test)]
mod tests {
    use super::tag_matches;

    #[test]
    fn a_tag_matches_itself_and_its_nested_tags_ignoring_case() {
        assert!(tag_matches("garden", "garden"));
        assert!(tag_matches("Garden/Vegetables", "garden"));
        assert!(tag_matches("garden/vegetables", "#garden/Vegetables"));
        assert!(!tag_matches("gardening", "garden"));
        assert!(!tag_matches("garden", "garden/vegetables"));
        assert!(!tag_matches("garden", " "));
    }
}
