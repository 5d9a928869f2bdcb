//! `scan --fix`: rewrites that make a file read the key from the environment instead of
//! holding it, for the file types whose syntax is simple enough to edit safely (shell, Python,
//! JavaScript/TypeScript, YAML and compose files, rclone.conf), advice for `.env` files and
//! everything else, masked unified diffs, and atomic writes.
//!
//! A rewrite is only proposed when it can be checked: the new text must scan clean of the
//! file's keys, and it must still parse as far as this module can tell (for Python and JS a
//! pure token substitution: same comments, string and template counts moved exactly as
//! planned; shell quotes and here-documents balanced; the edited YAML line kept in block
//! context; an rclone.conf keeps its sections).
//! Writing re-reads the file first and refuses when it changed since it was planned, keeps the
//! original's permissions, owner and group, and replaces it with a rename from a temporary file in the same
//! directory (never a half-written file). Symbolic links, hard-linked files and non-UTF-8 files
//! are left alone.

use std::collections::BTreeMap;
use std::io::Write as _;
use std::path::{Path, PathBuf};

use crate::finding::Finding;
use crate::scanner::Scanner;
use crate::secret::{Fingerprint, mask};

mod dotenv;
mod js;
mod other;
mod python;
mod rclone;
mod shell;
mod tokens;
mod yaml;

/// The environment variable rewrites read (`fichier exec` puts the key there).
pub const FIX_ENV: &str = "FICHIER_API_KEY";

/// What kind of file a finding is in, as far as fixing goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum FileKind {
    /// POSIX shell script (`.sh`, `.bash`, `.zsh`, `.envrc`, or a `#!` line naming a shell).
    Shell,
    /// Python source (`.py`).
    Python,
    /// JavaScript or TypeScript source.
    JavaScript,
    /// YAML: docker compose files and other configuration.
    Yaml,
    /// A GitHub Actions workflow (`.github/workflows/*.yml`).
    Workflow,
    /// rclone's configuration file (`rclone.conf`).
    Rclone,
    /// A dotenv file (`.env`, `.env.local`, `prod.env`).
    DotEnv,
    /// Anything else: advice only.
    Other,
}

impl FileKind {
    /// Short name for output.
    pub fn as_str(self) -> &'static str {
        match self {
            FileKind::Shell => "shell",
            FileKind::Python => "python",
            FileKind::JavaScript => "javascript",
            FileKind::Yaml => "yaml",
            FileKind::Workflow => "github-workflow",
            FileKind::Rclone => "rclone",
            FileKind::DotEnv => "dotenv",
            FileKind::Other => "other",
        }
    }
}

/// The kind of `path`, from its name and (for extension-less scripts) its first line.
pub fn file_kind(path: &Path, text: &str) -> FileKind {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().to_ascii_lowercase())
        .unwrap_or_default();
    let ext = name.rsplit_once('.').map(|(_, e)| e).unwrap_or("");
    let unixy = path.to_string_lossy().replace('\\', "/");
    if name == ".env" || name.starts_with(".env.") || (ext == "env" && name != "env") {
        return FileKind::DotEnv;
    }
    if name == "rclone.conf" {
        return FileKind::Rclone;
    }
    match ext {
        "sh" | "bash" | "zsh" | "ksh" => return FileKind::Shell,
        "py" => return FileKind::Python,
        "js" | "mjs" | "cjs" | "jsx" | "ts" | "mts" | "cts" | "tsx" => {
            return FileKind::JavaScript;
        }
        "yml" | "yaml" if unixy.contains(".github/workflows/") => return FileKind::Workflow,
        "yml" | "yaml" => return FileKind::Yaml,
        _ => {}
    }
    if name == ".envrc" || name == ".bashrc" || name == ".profile" || name == ".zshrc" {
        return FileKind::Shell;
    }
    let first = text.lines().next().unwrap_or("");
    if first.starts_with("#!")
        && [
            "/sh", "/bash", "/zsh", "/ksh", "env sh", "env bash", "env zsh",
        ]
        .iter()
        .any(|s| first.contains(s))
    {
        return FileKind::Shell;
    }
    FileKind::Other
}

/// What `--fix` proposes for one file.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum FixAction {
    /// A checked rewrite: see [`FixPlan::diff`], written by [`FixPlan::apply`].
    Rewrite,
    /// A dotenv file: left in place; whether git ignores it (`None`: not in a git work tree).
    DotEnv {
        /// `Some(true)` ignored, `Some(false)` not ignored, `None` not in a repository.
        ignored: Option<bool>,
        /// The file is tracked by git (ignoring it then does not help).
        tracked: bool,
        /// The line to add to `.gitignore` (relative to the repository root).
        gitignore_line: String,
        /// The `.gitignore` to add it to.
        gitignore: Option<PathBuf>,
    },
    /// Nothing written: why, and what to do instead.
    Manual {
        /// The reason and the advice, one line (never contains a key).
        reason: String,
    },
}

/// The plan for one file.
#[derive(Clone)]
pub struct FixPlan {
    /// The file, as the finding names it.
    pub path: PathBuf,
    /// Its kind.
    pub kind: FileKind,
    /// What is proposed.
    pub action: FixAction,
    /// Lines (1-based) of the findings in this file.
    pub lines: Vec<usize>,
    /// Fingerprints of the keys in this file.
    pub fingerprints: Vec<Fingerprint>,
    /// Advice to print with the diff (never contains a key).
    pub notes: Vec<String>,
    original: Vec<u8>,
    fixed: Option<String>,
    keys: Vec<zeroize::Zeroizing<String>>,
}

impl std::fmt::Debug for FixPlan {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FixPlan")
            .field("path", &self.path)
            .field("kind", &self.kind)
            .field("action", &self.action)
            .field("lines", &self.lines)
            .field("notes", &self.notes)
            .finish_non_exhaustive()
    }
}

/// Why a write did not happen.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum FixError {
    /// The plan has no rewrite.
    #[error("{0}: nothing to write")]
    NothingToWrite(String),
    /// The file changed (or disappeared) since it was scanned.
    #[error("{0} changed since it was scanned: not written (run the scan again)")]
    Changed(String),
    /// The file became something other than a plain file.
    #[error("{0} is no longer a regular file: not written")]
    NotRegular(String),
    /// The original's owner or group could not be given to the rewrite.
    #[error("{path}: cannot keep its owner and group ({source}): left unchanged")]
    Owner {
        /// The file.
        path: String,
        /// The cause.
        source: std::io::Error,
    },
    /// An I/O error.
    #[error("cannot write {path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// The cause.
        source: std::io::Error,
    },
}

impl FixPlan {
    /// The masked unified diff of the rewrite (keys shown as `ab…yz`), or `None`.
    pub fn diff(&self) -> Option<String> {
        let fixed = self.fixed.as_ref()?;
        let old = self.masked(&String::from_utf8_lossy(&self.original));
        let new = self.masked(fixed);
        // A control character in the name must not split or forge a header line.
        let name: String = self
            .path
            .display()
            .to_string()
            .chars()
            .flat_map(|c| {
                if c.is_control() {
                    c.escape_default().collect::<Vec<_>>()
                } else {
                    vec![c]
                }
            })
            .collect();
        let diff = similar::TextDiff::from_lines(&old, &new);
        Some(
            diff.unified_diff()
                .context_radius(2)
                .header(&format!("a/{name}"), &format!("b/{name}"))
                .to_string(),
        )
    }

    fn masked(&self, text: &str) -> String {
        let mut out = text.replace("\r\n", "\n");
        for k in &self.keys {
            out = out.replace(k.as_str(), &mask(k));
        }
        out
    }

    /// True when there is a rewrite to write.
    pub fn has_rewrite(&self) -> bool {
        self.fixed.is_some()
    }

    /// Writes the rewrite: refuses when the file changed since it was read, keeps its
    /// permissions, and replaces it atomically (temporary file in the same directory, then
    /// rename).
    pub fn apply(&self) -> Result<(), FixError> {
        let name = self.path.display().to_string();
        let Some(fixed) = &self.fixed else {
            return Err(FixError::NothingToWrite(name));
        };
        let io = |source| FixError::Io {
            path: name.clone(),
            source,
        };
        let check = || -> Result<std::fs::Metadata, FixError> {
            let meta = std::fs::symlink_metadata(&self.path)
                .map_err(|_| FixError::Changed(name.clone()))?;
            if !meta.file_type().is_file() {
                return Err(FixError::NotRegular(name.clone()));
            }
            let now = std::fs::read(&self.path).map_err(|_| FixError::Changed(name.clone()))?;
            if now != self.original {
                return Err(FixError::Changed(name.clone()));
            }
            Ok(meta)
        };
        let meta = check()?;
        let dir = match self.path.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
            _ => PathBuf::from("."),
        };
        let mut tmp = tempfile::Builder::new()
            .prefix(".fichier-fix-")
            .tempfile_in(&dir)
            .map_err(io)?;
        tmp.write_all(fixed.as_bytes()).map_err(io)?;
        tmp.as_file()
            .set_permissions(meta.permissions())
            .map_err(io)?;
        keep_owner(tmp.as_file(), &meta).map_err(|source| FixError::Owner {
            path: name.clone(),
            source,
        })?;
        tmp.as_file().sync_all().map_err(io)?;
        // Checked again right before the rename: an editor saving meanwhile wins.
        check()?;
        tmp.persist(&self.path).map_err(|e| io(e.error))?;
        if let Ok(d) = std::fs::File::open(&dir) {
            let _ = d.sync_all();
        }
        Ok(())
    }
}

/// Gives the temporary file the original's owner and group: the rename puts a new inode in
/// place, which would otherwise belong to whoever ran the fix (root fixing a user's script
/// would take it over). Only changed when they differ, so an ordinary user never needs the
/// privilege.
#[cfg(unix)]
fn keep_owner(file: &std::fs::File, original: &std::fs::Metadata) -> std::io::Result<()> {
    use std::os::unix::fs::MetadataExt as _;
    let now = file.metadata()?;
    if (now.uid(), now.gid()) == (original.uid(), original.gid()) {
        return Ok(());
    }
    std::os::unix::fs::fchown(file, Some(original.uid()), Some(original.gid()))
}

#[cfg(not(unix))]
fn keep_owner(_file: &std::fs::File, _original: &std::fs::Metadata) -> std::io::Result<()> {
    Ok(())
}

/// Plans the fixes for the findings of a scan (findings from git history or standard input
/// are skipped: they are not files to edit). One plan per file, in path order.
pub fn plan_fixes(findings: &[Finding], scanner: &Scanner) -> Vec<FixPlan> {
    let mut by_path: BTreeMap<&str, Vec<&Finding>> = BTreeMap::new();
    for f in findings {
        if f.commit.is_some() || f.path == "-" {
            continue;
        }
        by_path.entry(f.path.as_str()).or_default().push(f);
    }
    by_path
        .into_iter()
        .map(|(path, fs)| plan_file(Path::new(path), &fs, scanner))
        .collect()
}

fn plan_file(path: &Path, findings: &[&Finding], scanner: &Scanner) -> FixPlan {
    let mut fingerprints: Vec<Fingerprint> = Vec::new();
    let mut keys: Vec<zeroize::Zeroizing<String>> = Vec::new();
    for f in findings {
        if !fingerprints.contains(&f.fingerprint) {
            fingerprints.push(f.fingerprint.clone());
            keys.push(zeroize::Zeroizing::new(f.key().to_owned()));
        }
    }
    let mut plan = FixPlan {
        path: path.to_path_buf(),
        kind: FileKind::Other,
        action: FixAction::Manual {
            reason: String::new(),
        },
        lines: findings.iter().map(|f| f.line).collect(),
        fingerprints,
        notes: Vec::new(),
        original: Vec::new(),
        fixed: None,
        keys,
    };
    plan.lines.sort_unstable();
    plan.lines.dedup();
    let manual = |plan: &mut FixPlan, reason: String| {
        plan.action = FixAction::Manual { reason };
    };
    let meta = match std::fs::symlink_metadata(path) {
        Ok(m) => m,
        Err(e) => {
            manual(&mut plan, format!("cannot read it: {e}"));
            return plan;
        }
    };
    if meta.file_type().is_symlink() {
        let target = std::fs::canonicalize(path)
            .map(|t| t.display().to_string())
            .unwrap_or_else(|_| "its target".to_owned());
        manual(
            &mut plan,
            format!(
                "it is a symbolic link; not followed: run `fichier scan --fix {target}` on the file itself"
            ),
        );
        return plan;
    }
    if !meta.file_type().is_file() {
        manual(&mut plan, "not a regular file".to_owned());
        return plan;
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt as _;
        if meta.nlink() > 1 {
            manual(
                &mut plan,
                "it has other hard links, which a rewrite (a new file renamed into place) would \
                 leave holding the key: edit it by hand"
                    .to_owned(),
            );
            return plan;
        }
    }
    let bytes = match std::fs::read(path) {
        Ok(b) => b,
        Err(e) => {
            manual(&mut plan, format!("cannot read it: {e}"));
            return plan;
        }
    };
    plan.original = bytes;
    let Ok(text) = std::str::from_utf8(&plan.original).map(str::to_owned) else {
        manual(&mut plan, "not UTF-8 text: edit it by hand".to_owned());
        return plan;
    };
    plan.kind = file_kind(path, &text);
    match plan.kind {
        FileKind::DotEnv => {
            plan.action = dotenv::action(path);
            return plan;
        }
        FileKind::Other => {
            manual(&mut plan, other::advice(path, &text));
            return plan;
        }
        _ => {}
    }
    // One variable stands for one key: rewriting two different keys to it would make the
    // script use one account where it used two, silently.
    let distinct = plan.keys.len();
    if distinct > 1 {
        manual(
            &mut plan,
            format!(
                "it holds {} different keys, and {FIX_ENV} can stand for only one of them \
                 (the script would silently use one account for both): edit it by hand, giving \
                 each key a variable of its own",
                distinct
            ),
        );
        return plan;
    }
    // Spans of the keys, last first so earlier offsets stay valid while editing.
    let mut spans: Vec<(usize, usize)> = Vec::new();
    for f in findings {
        match span_of(&text, f) {
            Some(s) => spans.push(s),
            None => {
                manual(
                    &mut plan,
                    format!(
                        "line {}: the key is not written out plainly there (encoded?): edit it by hand",
                        f.line
                    ),
                );
                return plan;
            }
        }
    }
    spans.sort_unstable();
    spans.dedup();
    let result = match plan.kind {
        FileKind::Shell => shell::rewrite(&text, &spans),
        FileKind::Python => python::rewrite(&text, &spans),
        FileKind::JavaScript => {
            let ext = path
                .extension()
                .map(|e| e.to_string_lossy().to_ascii_lowercase());
            js::rewrite(&text, &spans, matches!(ext.as_deref(), Some("jsx" | "tsx")))
        }
        FileKind::Yaml | FileKind::Workflow => yaml::rewrite(&text, &spans, plan.kind),
        FileKind::Rclone => rclone::rewrite(&text, &spans),
        FileKind::DotEnv | FileKind::Other => unreachable!("handled above"),
    };
    let (fixed, notes) = match result {
        Ok(r) => r,
        Err(reason) => {
            manual(&mut plan, reason);
            return plan;
        }
    };
    // The check every rewrite must pass: none of the file's keys is found in the new text.
    let path_str = path.to_string_lossy();
    let left = scanner
        .scan_bytes(&path_str, fixed.as_bytes())
        .into_iter()
        .any(|f| plan.fingerprints.contains(&f.fingerprint));
    let still_there = plan.keys.iter().any(|k| fixed.contains(k.as_str()));
    if left || still_there {
        manual(
            &mut plan,
            "the rewrite would still hold the key: edit it by hand".to_owned(),
        );
        return plan;
    }
    plan.fixed = Some(fixed);
    let shown = path.display().to_string();
    plan.notes = notes
        .into_iter()
        .map(|n| n.replace(PATH_MARK, &shown))
        .collect();
    plan.action = FixAction::Rewrite;
    plan
}

/// The byte span of a finding's key in `text`, checked to hold exactly the key.
fn span_of(text: &str, f: &Finding) -> Option<(usize, usize)> {
    let line_start = if f.line == 1 {
        0
    } else {
        text.match_indices('\n').nth(f.line - 2)?.0 + 1
    };
    let line = &text[line_start..];
    let start = line_start + line.char_indices().nth(f.column - 1).map(|(i, _)| i)?;
    let end = start + f.key().len();
    (text.get(start..end) == Some(f.key())).then_some((start, end))
}

fn line_ending(text: &str) -> &'static str {
    if text.contains("\r\n") { "\r\n" } else { "\n" }
}

/// One replacement: the byte range `start..end` of the original becomes the text.
type Edit = (usize, usize, String);

/// Applies replacements (sorted, non-overlapping) to `text`.
fn splice(text: &str, mut edits: Vec<Edit>) -> Result<String, String> {
    edits.sort_by_key(|e| e.0);
    for w in edits.windows(2) {
        if w[0].1 > w[1].0 {
            return Err("two keys share one string: edit it by hand".to_owned());
        }
    }
    let mut out = String::with_capacity(text.len());
    let mut at = 0;
    for (s, e, r) in edits {
        out.push_str(&text[at..s]);
        out.push_str(&r);
        at = e;
    }
    out.push_str(&text[at..]);
    Ok(out)
}

const COMMENT_TEXT: &str = "$FICHIER_API_KEY";

/// Stands for the file's path in notes (replaced by `plan_file`).
const PATH_MARK: &str = "\u{0}PATH\u{0}";

fn exec_note(runner: &str) -> String {
    format!(
        "the key now comes from {FIX_ENV}: run it as `fichier exec -- {runner}{PATH_MARK}` \
         (see docs/exec.md)"
    )
}

/// Helpers shared by the rewriters' unit tests.
#[cfg(test)]
mod test_support {
    /// A stand-in key, built at run time so no key-shaped literal is committed.
    pub(super) fn key() -> String {
        ["Zq8vN3kP0wXe", "7LmR2tYb5HcJ", "9uGd4FsA"].concat()
    }

    /// The byte spans of every occurrence of [`key`] in `text`.
    pub(super) fn spans(text: &str) -> Vec<(usize, usize)> {
        let k = key();
        text.match_indices(&k)
            .map(|(i, _)| (i, i + k.len()))
            .collect()
    }
}
