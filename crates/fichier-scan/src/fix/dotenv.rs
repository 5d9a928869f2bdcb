//! Dotenv files: never rewritten (they exist to hold secrets); checked for being git-ignored
//! and untracked, with the `.gitignore` line that would keep them out.

use std::path::{Path, PathBuf};

use super::FixAction;
use crate::git::Git;

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
    // A question git could not answer counts as "no": the advice then errs toward adding
    // the line to .gitignore.
    let ignored = git
        .yes_no(&[
            "check-ignore",
            "-q",
            "--no-index",
            "--",
            &format!("./{name}"),
        ])
        .unwrap_or(false);
    let tracked = git
        .yes_no(&["ls-files", "--error-unmatch", "--", &name])
        .unwrap_or(false);
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
