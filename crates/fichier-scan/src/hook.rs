//! Installing the git pre-commit hook that runs `fichier scan --staged`.

use std::path::{Path, PathBuf};

use crate::error::ScanError;
use crate::git::Git;

/// What the installed hook runs.
#[derive(Debug, Clone)]
pub struct HookOptions {
    /// Program to run (default `fichier`; the CLI may pass its own absolute path).
    pub program: String,
    /// Baseline file passed as `--baseline` (relative paths resolve from the repository root,
    /// where git runs hooks).
    pub baseline: Option<String>,
    /// Replace an existing pre-commit hook instead of refusing.
    pub force: bool,
}

impl Default for HookOptions {
    fn default() -> HookOptions {
        HookOptions {
            program: "fichier".to_owned(),
            baseline: None,
            force: false,
        }
    }
}

/// Single-quotes a word for `sh`.
fn sh_quote(word: &str) -> String {
    if !word.is_empty()
        && word
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"/._-+=:@".contains(&b))
    {
        return word.to_owned();
    }
    format!("'{}'", word.replace('\'', r"'\''"))
}

/// The hook script text.
pub fn hook_script(options: &HookOptions) -> String {
    let program = sh_quote(&options.program);
    let mut cmd = format!("{program} scan --staged");
    if let Some(b) = &options.baseline {
        cmd.push_str(&format!(" --baseline {}", sh_quote(b)));
    }
    format!(
        "#!/bin/sh\n\
         # fichier pre-commit hook: refuses a commit that stages a 1fichier API key.\n\
         # Installed by `fichier scan install-hook`. Accept a finding with a baseline file;\n\
         # skip the check once with `git commit --no-verify`.\n\
         if ! command -v {program} >/dev/null 2>&1; then\n\
         \x20   echo \"pre-commit: {program} not found; install fichier or remove this hook ($0)\" >&2\n\
         \x20   exit 1\n\
         fi\n\
         exec {cmd}\n"
    )
}

/// Writes the pre-commit hook of the repository containing `repo` (honouring
/// `core.hooksPath`) and returns its path. Refuses with [`ScanError::HookExists`] when a
/// hook is already there, unless `options.force`.
pub fn install_hook(repo: &Path, options: &HookOptions) -> Result<PathBuf, ScanError> {
    let out =
        Git::new(repo).output(&["rev-parse", "--path-format=absolute", "--git-path", "hooks"])?;
    let dir = PathBuf::from(String::from_utf8_lossy(&out).trim());
    let dir = if dir.is_absolute() {
        dir
    } else {
        repo.join(dir)
    };
    let io = |path: &Path| {
        let path = path.to_path_buf();
        move |source| ScanError::Io { path, source }
    };
    std::fs::create_dir_all(&dir).map_err(io(&dir))?;
    let hook = dir.join("pre-commit");
    if !options.force && std::fs::symlink_metadata(&hook).is_ok() {
        return Err(ScanError::HookExists(hook));
    }
    if options.force {
        // Replace a symlinked hook (husky, pre-commit) rather than writing through the link.
        let _ = std::fs::remove_file(&hook);
    }
    std::fs::write(&hook, hook_script(options)).map_err(io(&hook))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&hook, std::fs::Permissions::from_mode(0o755))
            .map_err(io(&hook))?;
    }
    Ok(hook)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn script_quotes_its_arguments() {
        let s = hook_script(&HookOptions {
            program: "/opt/my tools/fichier".into(),
            baseline: Some("it's.json".into()),
            force: false,
        });
        assert!(
            s.contains("exec '/opt/my tools/fichier' scan --staged --baseline 'it'\\''s.json'\n")
        );
        assert!(hook_script(&HookOptions::default()).contains("exec fichier scan --staged\n"));
    }
}
