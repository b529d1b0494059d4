//! The page tree, walked once with every node visited at most once (a tree
//! that lists itself loses only the looping branch) and without trusting
//! `/Count`. Resources are inherited as the specification says.

use std::collections::HashSet;

use lopdf::{Dictionary, Document, Object, ObjectId};

use super::objects;

/// More pages than any real document; a tree claiming more is cut here.
const MAX_PAGES: usize = 100_000;
const MAX_DEPTH: usize = 64;

/// Stands in for a kid whose object is missing.
static MISSING: Object = Object::Null;

pub(super) struct Page<'a> {
    /// `None` when the page object is missing: it still counts, so the
    /// numbers of the pages after it stay right.
    pub(super) dict: Option<&'a Dictionary>,
    pub(super) resources: Option<&'a Dictionary>,
}

/// The pages in order.
pub(super) fn pages(doc: &Document) -> Vec<Page<'_>> {
    let mut out = Vec::new();
    let Some(root) = doc
        .catalog()
        .ok()
        .and_then(|c| c.get(b"Pages").ok())
        .cloned()
    else {
        return out;
    };
    let mut seen: HashSet<ObjectId> = HashSet::new();
    // (node, inherited resources, depth); children pushed in reverse.
    let mut stack: Vec<(&Object, Option<&Dictionary>, usize)> = Vec::new();
    let root_obj = match &root {
        Object::Reference(id) => doc.objects.get(id),
        _ => None,
    };
    if let (Object::Reference(id), Some(obj)) = (&root, root_obj) {
        seen.insert(*id);
        stack.push((obj, None, 0));
    }
    while let Some((node, inherited, depth)) = stack.pop() {
        if out.len() >= MAX_PAGES {
            break;
        }
        let Some(Object::Dictionary(d)) = objects::deref(doc, node) else {
            out.push(Page {
                dict: None,
                resources: inherited,
            });
            continue;
        };
        let resources = objects::dict(doc, d, b"Resources").or(inherited);
        let kids = objects::array(doc, d, b"Kids");
        let is_tree = d.has_type(b"Pages") || (!d.has_type(b"Page") && kids.is_some());
        if !is_tree {
            out.push(Page {
                dict: Some(d),
                resources,
            });
            continue;
        }
        if depth >= MAX_DEPTH {
            continue;
        }
        for kid in kids.unwrap_or(&[]).iter().rev() {
            match kid {
                Object::Reference(id) => {
                    if !seen.insert(*id) {
                        continue;
                    }
                    match doc.objects.get(id) {
                        Some(obj) => stack.push((obj, resources, depth + 1)),
                        None => stack.push((&MISSING, resources, depth + 1)),
                    }
                }
                other => stack.push((other, resources, depth + 1)),
            }
        }
    }
    out
}
