//! Which files a folder holds for indexing: one set of rules shared by
//! [`Engine::index_path`](crate::Engine::index_path) and the
//! [`Watcher`](crate::Watcher), so a watched folder ends up indexed exactly as
//! an `index` run would leave it.
//!
//! Rules: `.gitignore` and `.troveignore` files (gitignore syntax, read even
//! outside a git repository, in the folder and its parents; `.troveignore`
//! wins over `.gitignore`), hidden files and folders, and [`ALWAYS_SKIPPED`].
//! Symbolic links are followed; a loop or an unreadable entry becomes an
//! [`IndexFailure`] naming the fix, never an error of the whole run.

use std::collections::HashMap;
use std::ffi::OsStr;
use std::fs::Metadata;
use std::path::{Path, PathBuf};

use ignore::Match;
use ignore::gitignore::{Gitignore, GitignoreBuilder};

use crate::error::{Error, Result};
use crate::ingest;
use crate::report::IndexFailure;

/// Folder names never entered, whatever the ignore files say: version
/// control, editor settings, trove's own default store, dependencies. The
/// hidden ones are also covered by the hidden rule; they are listed so the
/// rule stays explicit.
pub(crate) const ALWAYS_SKIPPED: &[&str] = &[".git", ".obsidian", ".trove", "node_modules"];

/// The ignore file of trove's own (gitignore syntax).
pub(crate) const TROVEIGNORE: &str = ".troveignore";

/// Whether `name` is an ignore file whose change alters the rules of its folder.
pub(crate) fn is_rules_file(name: &OsStr) -> bool {
    name == ".gitignore" || name == TROVEIGNORE
}

fn skipped_name(name: &OsStr) -> bool {
    name.to_string_lossy().starts_with('.') || ALWAYS_SKIPPED.iter().any(|s| name == *s)
}

/// What a walk found.
#[derive(Default)]
pub(crate) struct Walked {
    /// Indexable files (supported extension), with their metadata.
    pub files: Vec<(PathBuf, Metadata)>,
    /// Folders entered, the root included.
    pub dirs: Vec<PathBuf>,
    /// Entries that could not be read.
    pub failures: Vec<IndexFailure>,
}

/// Walks `root` (a folder, or a single file which is taken as it is).
/// Fails only when `root` itself cannot be read.
pub(crate) fn walk(root: &Path) -> Result<Walked> {
    let meta = std::fs::metadata(root).map_err(|e| {
        Error::io(
            format!(
                "cannot index {} (check the path exists and is readable)",
                root.display()
            ),
            e,
        )
    })?;
    let mut walked = Walked::default();
    if meta.is_file() {
        walked.files.push((root.to_path_buf(), meta));
        return Ok(walked);
    }
    let walker = ignore::WalkBuilder::new(root)
        .follow_links(true)
        .hidden(true)
        .parents(true)
        .ignore(false)
        .git_ignore(true)
        .git_global(false)
        .git_exclude(false)
        .require_git(false)
        .add_custom_ignore_filename(TROVEIGNORE)
        .filter_entry(|entry| !skipped_name(entry.file_name()))
        .build();
    for entry in walker {
        let entry = match entry {
            Ok(entry) => entry,
            Err(e) => {
                if let Some(failure) = failure_of(&e, root) {
                    walked.failures.push(failure);
                }
                continue;
            }
        };
        let path = entry.path();
        let Some(kind) = entry.file_type() else {
            continue;
        };
        if kind.is_dir() {
            walked.dirs.push(path.to_path_buf());
        } else if ingest::is_supported_path(path) {
            // `file_type` follows links when following is on; the metadata
            // (size, mtime) must be the target's too.
            match std::fs::metadata(path) {
                Ok(meta) if meta.is_file() => walked.files.push((path.to_path_buf(), meta)),
                Ok(_) => {}
                Err(e) => walked.failures.push(io_failure(path, &e)),
            }
        }
    }
    Ok(walked)
}

/// The failure to report for a walk error, or `None` for ones that concern no
/// indexable file (a dangling link to an unsupported file type).
fn failure_of(error: &ignore::Error, root: &Path) -> Option<IndexFailure> {
    let mut path: Option<&Path> = None;
    let mut error = error;
    loop {
        match error {
            ignore::Error::WithPath { path: p, err } => {
                path = Some(p);
                error = err;
            }
            ignore::Error::WithDepth { err, .. } | ignore::Error::WithLineNumber { err, .. } => {
                error = err
            }
            ignore::Error::Partial(errors) if !errors.is_empty() => error = &errors[0],
            _ => break,
        }
    }
    let path = path.unwrap_or(root);
    match error {
        ignore::Error::Loop { ancestor, child } => Some(IndexFailure {
            path: child.to_string_lossy().into_owned(),
            code: "symlink_loop".into(),
            reason: format!(
                "symbolic link loops back to {}; remove the link or list it in {TROVEIGNORE}",
                ancestor.display()
            ),
        }),
        ignore::Error::Io(e) => {
            let dangling = e.kind() == std::io::ErrorKind::NotFound;
            (!dangling || ingest::is_supported_path(path)).then(|| io_failure(path, e))
        }
        other => Some(IndexFailure {
            path: path.to_string_lossy().into_owned(),
            code: "io".into(),
            reason: format!("{other}; fix the entry or list it in {TROVEIGNORE}"),
        }),
    }
}

/// A failure for an unreadable path, with a code hosts can branch on.
pub(crate) fn io_failure(path: &Path, e: &std::io::Error) -> IndexFailure {
    let (code, reason) = match e.kind() {
        std::io::ErrorKind::PermissionDenied => (
            "permission_denied",
            format!(
                "permission denied ({e}); make it readable (chmod a+r, and a+x for a folder) or list it in {TROVEIGNORE}"
            ),
        ),
        std::io::ErrorKind::NotFound => (
            "io",
            format!("{e}: a dangling symbolic link? fix or remove the link"),
        ),
        _ => (
            "io",
            format!("cannot read it ({e}); check that it is readable or list it in {TROVEIGNORE}"),
        ),
    };
    IndexFailure {
        path: path.to_string_lossy().into_owned(),
        code: code.into(),
        reason,
    }
}

/// A folder reached through a link to itself or one of its parents: walking
/// it would index the same files again under longer and longer paths. A walk
/// from above catches this itself; this check is for walks that start at
/// such a folder.
pub(crate) fn loops_back(dir: &Path) -> Option<IndexFailure> {
    let target = std::fs::canonicalize(dir).ok()?;
    let parent = std::fs::canonicalize(dir.parent()?).ok()?;
    parent.starts_with(&target).then(|| IndexFailure {
        path: dir.to_string_lossy().into_owned(),
        code: "symlink_loop".into(),
        reason: format!(
            "symbolic link loops back to {}; remove the link or list it in {TROVEIGNORE}",
            target.display()
        ),
    })
}

/// The walk's rules for single paths: answers, for a path under a root,
/// whether a walk of the root would skip it. Ignore files are read once and
/// cached; [`forget`](Self::forget) drops a folder's entry when its ignore
/// files change.
#[derive(Default)]
pub(crate) struct Rules {
    /// Per folder: its `.troveignore` and its `.gitignore` matchers.
    cache: HashMap<PathBuf, (Gitignore, Gitignore)>,
}

impl Rules {
    /// Whether a walk of `root` skips `path` (`is_dir`: what `path` is).
    /// Paths outside `root` are skipped; `root` itself never is.
    pub(crate) fn excluded(&mut self, root: &Path, path: &Path, is_dir: bool) -> bool {
        let Ok(relative) = path.strip_prefix(root) else {
            return true;
        };
        let parts: Vec<_> = relative.components().collect();
        let mut current = root.to_path_buf();
        for (i, part) in parts.iter().enumerate() {
            current.push(part);
            if skipped_name(part.as_os_str()) {
                return true;
            }
            let dir = if i + 1 == parts.len() { is_dir } else { true };
            if self.ignored(&current, dir) {
                return true;
            }
        }
        false
    }

    /// Drops the cached ignore files of `dir`.
    pub(crate) fn forget(&mut self, dir: &Path) {
        self.cache.remove(dir);
    }

    /// The ignore crate's precedence: a `.troveignore` match in any folder
    /// wins over a `.gitignore` match; within each kind the deepest folder
    /// decides.
    fn ignored(&mut self, path: &Path, is_dir: bool) -> bool {
        let mut gitignore = Match::None;
        for dir in path.ancestors().skip(1) {
            let (trove, git) = self.matchers(dir);
            match trove.matched(path, is_dir) {
                Match::Ignore(_) => return true,
                Match::Whitelist(_) => return false,
                Match::None => {}
            }
            if gitignore.is_none() {
                gitignore = match git.matched(path, is_dir) {
                    Match::Ignore(_) => Match::Ignore(()),
                    Match::Whitelist(_) => Match::Whitelist(()),
                    Match::None => Match::None,
                };
            }
        }
        gitignore.is_ignore()
    }

    fn matchers(&mut self, dir: &Path) -> &(Gitignore, Gitignore) {
        self.cache.entry(dir.to_path_buf()).or_insert_with(|| {
            let build = |name: &str| {
                let mut builder = GitignoreBuilder::new(dir);
                // A missing file adds nothing; a malformed line is skipped,
                // as the walker does.
                let _ = builder.add(dir.join(name));
                builder.build().unwrap_or_else(|_| Gitignore::empty())
            };
            (build(TROVEIGNORE), build(".gitignore"))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn touch(path: &Path) {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, "some text\n").unwrap();
    }

    fn names(walked: &Walked, root: &Path) -> Vec<String> {
        let mut names: Vec<String> = walked
            .files
            .iter()
            .map(|(p, _)| p.strip_prefix(root).unwrap().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }

    #[test]
    fn ignore_files_hidden_entries_and_defaults_are_skipped_and_rules_agree() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().canonicalize().unwrap();
        for name in [
            "keep.md",
            "drafts/skip.md",
            "drafts/except.md",
            "build/out.md",
            "private.md",
            "notes/secret.txt",
            "notes/keep.txt",
            ".hidden.md",
            ".hidden/inner.md",
            ".obsidian/workspace.md",
            ".trove/x.md",
            ".git/HEAD.md",
            "node_modules/pkg/readme.md",
            "image.png",
        ] {
            touch(&root.join(name));
        }
        std::fs::write(
            root.join(".gitignore"),
            "build/\ndrafts/*\n!drafts/except.md\nprivate.md\n",
        )
        .unwrap();
        // .troveignore wins over .gitignore, at any depth.
        std::fs::write(root.join(".troveignore"), "!private.md\n").unwrap();
        std::fs::write(root.join("notes/.troveignore"), "secret.txt\n").unwrap();

        let walked = walk(&root).unwrap();
        assert!(walked.failures.is_empty(), "{:?}", walked.failures);
        let found = names(&walked, &root);
        assert_eq!(
            found,
            [
                "drafts/except.md",
                "keep.md",
                "notes/keep.txt",
                "private.md"
            ],
            "walk"
        );

        let mut rules = Rules::default();
        for name in [
            "keep.md",
            "drafts/skip.md",
            "drafts/except.md",
            "build/out.md",
            "private.md",
            "notes/secret.txt",
            "notes/keep.txt",
            ".hidden.md",
            ".hidden/inner.md",
            ".obsidian/workspace.md",
            ".trove/x.md",
            ".git/HEAD.md",
            "node_modules/pkg/readme.md",
        ] {
            let expected = found.iter().any(|f| f == name);
            assert_eq!(
                !rules.excluded(&root, &root.join(name), false),
                expected,
                "rules for {name}"
            );
        }
        assert!(!rules.excluded(&root, &root, true));
        assert!(rules.excluded(&root, &root.join("build"), true));
        assert!(rules.excluded(&root, Path::new("/elsewhere/x.md"), false));
    }

    #[test]
    fn a_symlink_loop_is_a_failure_and_the_rest_is_walked() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().canonicalize().unwrap();
        touch(&root.join("a/note.md"));
        std::os::unix::fs::symlink(&root, root.join("a/loop")).unwrap();
        std::os::unix::fs::symlink(root.join("a"), root.join("linked")).unwrap();
        let walked = walk(&root).unwrap();
        assert_eq!(names(&walked, &root), ["a/note.md", "linked/note.md"]);
        let codes: Vec<&str> = walked.failures.iter().map(|f| f.code.as_str()).collect();
        assert_eq!(
            codes,
            ["symlink_loop", "symlink_loop"],
            "{:?}",
            walked.failures
        );
        assert!(walked.failures[0].reason.contains("remove the link"));
    }
}
