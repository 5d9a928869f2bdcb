//! Dotenv files: never rewritten (they exist to hold secrets); checked for being git-ignored
//! and untracked, with the `.gitignore` line that would keep them out.

use std::path::{Path, PathBuf};
use std::process::Command;

use super::FixAction;

fn git(dir: &Path, args: &[&str]) -> Option<std::process::Output> {
    Command::new("git")
        .args(args)
        .current_dir(dir)
        .env("GIT_TERMINAL_PROMPT", "0")
        .output()
        .ok()
}

pub(super) fn action(path: &Path) -> FixAction {
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let root = git(&dir, &["rev-parse", "--show-toplevel"])
        .filter(|o| o.status.success())
        .map(|o| PathBuf::from(String::from_utf8_lossy(&o.stdout).trim()));
    let Some(root) = root else {
        return FixAction::DotEnv {
            ignored: None,
            tracked: false,
            gitignore_line: name,
            gitignore: None,
        };
    };
    let ignored = git(&dir, &["check-ignore", "-q", "--no-index", "--", &name])
        .is_some_and(|o| o.status.code() == Some(0));
    let tracked = git(&dir, &["ls-files", "--error-unmatch", "--", &name])
        .is_some_and(|o| o.status.success());
    let rel = git(&dir, &["rev-parse", "--show-prefix"])
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
        .unwrap_or_default();
    FixAction::DotEnv {
        ignored: Some(ignored),
        tracked,
        gitignore_line: format!("/{rel}{name}"),
        gitignore: Some(root.join(".gitignore")),
    }
}
