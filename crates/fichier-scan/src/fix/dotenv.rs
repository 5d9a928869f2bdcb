//! Dotenv files: never rewritten (they exist to hold secrets); checked for being git-ignored
//! and untracked, with the `.gitignore` line that would keep them out.

use super::FixAction;
use crate::git::Git;
use std::path::{Path, PathBuf};

pub(super) fn action(path: &Path) -> FixAction {
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let git = Git::new(&dir);
    // Any failure (no git, not a repository) means the same here: no repository to ask.
    let root = git
        .output(&["rev-parse", "--show-toplevel"])
        .ok()
        .map(|out| PathBuf::from(String::from_utf8_lossy(&out).trim()));
    let Some(root) = root else {
        return FixAction::DotEnv {
            ignored: None,
            tracked: false,
            gitignore_line: name,
            gitignore: None,
        };
    };
    let ignored = git
        .status(&["check-ignore", "-q", "--no-index", "--", &name])
        .is_ok_and(|s| s.code() == Some(0));
    let tracked = git
        .status(&["ls-files", "--error-unmatch", "--", &name])
        .is_ok_and(|s| s.success());
    let rel = git
        .output(&["rev-parse", "--show-prefix"])
        .map(|out| String::from_utf8_lossy(&out).trim().to_owned())
        .unwrap_or_default();
    FixAction::DotEnv {
        ignored: Some(ignored),
        tracked,
        gitignore_line: format!("/{rel}{name}"),
        gitignore: Some(root.join(".gitignore")),
    }
}
