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
//! original's permissions, and replaces it with a rename from a temporary file in the same
//! directory (never a half-written file). Symbolic links, hard-linked files and non-UTF-8 files
//! are left alone.

use std::collections::BTreeMap;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::finding::Finding;
use crate::scanner::Scanner;
use crate::secret::{Fingerprint, mask};

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
            plan.action = dotenv_action(path);
            return plan;
        }
        FileKind::Other => {
            manual(&mut plan, other_advice(path, &text));
            return plan;
        }
        _ => {}
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
        FileKind::Shell => rewrite_shell(&text, &spans),
        FileKind::Python => rewrite_python(&text, &spans),
        FileKind::JavaScript => {
            let ext = path
                .extension()
                .map(|e| e.to_string_lossy().to_ascii_lowercase());
            rewrite_js(&text, &spans, matches!(ext.as_deref(), Some("jsx" | "tsx")))
        }
        FileKind::Yaml | FileKind::Workflow => rewrite_yaml(&text, &spans, plan.kind),
        FileKind::Rclone => rewrite_rclone(&text, &spans),
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

// ---------------------------------------------------------------------------------------------
// Shell

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ShQuote {
    None,
    Single,
    Double,
    Comment,
    Heredoc { quoted: bool },
}

/// The quoting state at byte offset `until`: inside single or double quotes, a comment, a
/// here-document body (quoted delimiter: no expansion), or none of these.
fn shell_state_at(text: &str, until: usize) -> ShQuote {
    let b = text.as_bytes();
    let mut state = ShQuote::None;
    // Here-documents opened on the current line: (delimiter, quoted, `<<-`).
    let mut pending: Vec<(String, bool, bool)> = Vec::new();
    let mut i = 0;
    while i < until.min(b.len()) {
        let c = b[i];
        match state {
            ShQuote::None => match c {
                b'\\' => i += 1,
                b'\'' => state = ShQuote::Single,
                b'"' => state = ShQuote::Double,
                b'#' if i == 0 || b[i - 1].is_ascii_whitespace() || b[i - 1] == b';' => {
                    state = ShQuote::Comment;
                }
                b'<' if b.get(i + 1) == Some(&b'<') && b.get(i + 2) != Some(&b'<') => {
                    let mut j = i + 2;
                    let strip = b.get(j) == Some(&b'-');
                    if strip {
                        j += 1;
                    }
                    while b.get(j).is_some_and(|c| *c == b' ' || *c == b'\t') {
                        j += 1;
                    }
                    let quote = b.get(j).copied().filter(|q| *q == b'\'' || *q == b'"');
                    if quote.is_some() {
                        j += 1;
                    }
                    let from = j;
                    while b
                        .get(j)
                        .is_some_and(|c| c.is_ascii_alphanumeric() || *c == b'_')
                    {
                        j += 1;
                    }
                    // `$((1<<2))` is a shift, not a here-document.
                    if j > from && !b[from].is_ascii_digit() {
                        pending.push((text[from..j].to_owned(), quote.is_some(), strip));
                        if quote.is_some() && b.get(j) == quote.as_ref() {
                            j += 1;
                        }
                        i = j;
                        continue;
                    }
                }
                b'\n' if !pending.is_empty() => {
                    // The bodies follow, one after the other, each up to its delimiter line.
                    let mut at = i + 1;
                    for (delim, quoted, strip) in std::mem::take(&mut pending) {
                        loop {
                            let line_end = text[at..].find('\n').map_or(text.len(), |n| at + n);
                            let line = text[at..line_end].trim_end_matches('\r');
                            let line = if strip {
                                line.trim_start_matches('\t')
                            } else {
                                line
                            };
                            if until >= at && until <= line_end && line != delim {
                                return ShQuote::Heredoc { quoted };
                            }
                            at = (line_end + 1).min(text.len());
                            if line == delim || line_end >= text.len() {
                                break;
                            }
                        }
                    }
                    i = at;
                    continue;
                }
                _ => {}
            },
            ShQuote::Single => {
                if c == b'\'' {
                    state = ShQuote::None;
                }
            }
            ShQuote::Double => match c {
                b'\\' => i += 1,
                b'"' => state = ShQuote::None,
                _ => {}
            },
            ShQuote::Comment => {
                if c == b'\n' {
                    state = ShQuote::None;
                    continue;
                }
            }
            ShQuote::Heredoc { .. } => unreachable!("returned as soon as entered"),
        }
        i += 1;
    }
    state
}

fn shell_balanced(text: &str) -> bool {
    matches!(
        shell_state_at(text, text.len()),
        ShQuote::None | ShQuote::Comment
    )
}

fn rewrite_shell(text: &str, spans: &[(usize, usize)]) -> Result<(String, Vec<String>), String> {
    if !shell_balanced(text) {
        return Err("its quotes do not balance as this fixer reads them: edit it by hand".into());
    }
    let b = text.as_bytes();
    let var = format!("${{{FIX_ENV}}}");
    let mut edits = Vec::new();
    for &(s, e) in spans {
        let edit = match shell_state_at(text, s) {
            ShQuote::Comment => (s, e, COMMENT_TEXT.to_owned()),
            ShQuote::Double | ShQuote::Heredoc { quoted: false } => (s, e, var.clone()),
            ShQuote::Heredoc { quoted: true } => {
                return Err(
                    "the key is in a here-document with a quoted delimiter (no expansion \
                     there): edit it by hand"
                        .into(),
                );
            }
            ShQuote::None => (s, e, format!("\"{var}\"")),
            ShQuote::Single => {
                let open = s > 0 && b[s - 1] == b'\'';
                let close = b.get(e) == Some(&b'\'');
                match (open, close) {
                    (true, true) => (s - 1, e + 1, format!("\"{var}\"")),
                    (true, false) => (s - 1, e, format!("\"{var}\"'")),
                    (false, true) => (s, e + 1, format!("'\"{var}\"")),
                    (false, false) => (s, e, format!("'\"{var}\"'")),
                }
            }
        };
        edits.push(edit);
    }
    let fixed = splice(text, edits)?;
    if !shell_balanced(&fixed) {
        return Err("the rewrite would unbalance its quotes: edit it by hand".into());
    }
    let mut notes = vec![exec_note("sh ")];
    let on_argv = spans.iter().any(|&(s, _)| {
        let line_start = text[..s].rfind('\n').map_or(0, |n| n + 1);
        let before = text[line_start..s].trim_end_matches(['"', '\'', ' ', '=']);
        before.ends_with("--fichier-api-key")
    });
    if on_argv {
        notes.push(
            "`--fichier-api-key` still puts the key on rclone's command line (visible in `ps`): \
             drop the option and run rclone as `fichier exec --rclone -- rclone ...`"
                .to_owned(),
        );
    }
    Ok((fixed, notes))
}

// ---------------------------------------------------------------------------------------------
// Python and JavaScript: string and comment tokens

#[derive(Debug, Clone)]
struct StrTok {
    /// Start of the prefix (`r`, `u`...) or of the quote.
    start: usize,
    /// First byte of the content.
    content: usize,
    /// End of the content.
    content_end: usize,
    /// Past the closing quote.
    end: usize,
    prefix: String,
    quote: char,
    triple: bool,
}

#[derive(Debug, Default)]
struct Tokens {
    strings: Vec<StrTok>,
    comments: Vec<(usize, usize)>,
    /// Spans of `${...}` inside template literals (JS): code, not string.
    code_in_templates: Vec<(usize, usize)>,
}

fn tokenize_python(text: &str) -> Result<Tokens, String> {
    let b = text.as_bytes();
    let mut t = Tokens::default();
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        if c == b'#' {
            let end = text[i..].find('\n').map_or(b.len(), |n| i + n);
            t.comments.push((i, end));
            i = end;
            continue;
        }
        if c == b'\'' || c == b'"' {
            // Prefix letters glued before the quote (r, b, f, u, rb...).
            let mut ps = i;
            while ps > 0 && b"rRbBuUfF".contains(&b[ps - 1]) && i - ps < 2 {
                ps -= 1;
            }
            if ps > 0 && (b[ps - 1].is_ascii_alphanumeric() || b[ps - 1] == b'_') {
                ps = i;
            }
            let prefix = text[ps..i].to_owned();
            let triple = b.get(i + 1) == Some(&c) && b.get(i + 2) == Some(&c);
            let qlen = if triple { 3 } else { 1 };
            let content = i + qlen;
            let mut j = content;
            let end = loop {
                if j >= b.len() {
                    return Err("a string is not closed: edit it by hand".into());
                }
                // In raw strings too, a backslash keeps the next quote inside the string.
                if b[j] == b'\\' {
                    j += 2;
                    continue;
                }
                if !triple && b[j] == b'\n' {
                    return Err("a string is not closed on its line: edit it by hand".into());
                }
                if b[j] == c && (!triple || (b.get(j + 1) == Some(&c) && b.get(j + 2) == Some(&c)))
                {
                    break j;
                }
                j += 1;
            };
            t.strings.push(StrTok {
                start: ps,
                content,
                content_end: end,
                end: end + qlen,
                prefix,
                quote: char::from(c),
                triple,
            });
            i = end + qlen;
            continue;
        }
        i += 1;
    }
    Ok(t)
}

fn tokenize_js(text: &str) -> Result<Tokens, String> {
    let b = text.as_bytes();
    let mut t = Tokens::default();
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        if c == b'/' && b.get(i + 1) == Some(&b'/') {
            let end = text[i..].find('\n').map_or(b.len(), |n| i + n);
            t.comments.push((i, end));
            i = end;
            continue;
        }
        if c == b'/' && b.get(i + 1) == Some(&b'*') {
            let end = text[i + 2..]
                .find("*/")
                .map(|n| i + 2 + n + 2)
                .ok_or("a /* comment is not closed: edit it by hand")?;
            t.comments.push((i, end));
            i = end;
            continue;
        }
        if c == b'\'' || c == b'"' || c == b'`' {
            let mut j = i + 1;
            let end = loop {
                if j >= b.len() {
                    return Err("a string is not closed: edit it by hand".into());
                }
                if b[j] == b'\\' {
                    j += 2;
                    continue;
                }
                if c != b'`' && b[j] == b'\n' {
                    return Err("a string is not closed on its line: edit it by hand".into());
                }
                if c == b'`' && b[j] == b'$' && b.get(j + 1) == Some(&b'{') {
                    // Skip the embedded expression, counting braces.
                    let mut depth = 0usize;
                    let from = j;
                    while j < b.len() {
                        match b[j] {
                            b'{' => depth += 1,
                            b'}' => {
                                depth -= 1;
                                if depth == 0 {
                                    break;
                                }
                            }
                            _ => {}
                        }
                        j += 1;
                    }
                    t.code_in_templates.push((from, j + 1));
                    j += 1;
                    continue;
                }
                if b[j] == c {
                    break j;
                }
                j += 1;
            };
            t.strings.push(StrTok {
                start: i,
                content: i + 1,
                content_end: end,
                end: end + 1,
                prefix: String::new(),
                quote: char::from(c),
                triple: false,
            });
            i = end + 1;
            continue;
        }
        i += 1;
    }
    Ok(t)
}

/// The edit replacing a key inside a string token by `expr`, splitting the string when the
/// key is only part of it: `"Bearer KEY"` → `("Bearer " + expr)`.
fn string_edit(text: &str, tok: &StrTok, s: usize, e: usize, expr: &str) -> Edit {
    if s == tok.content && e == tok.content_end {
        return (tok.start, tok.end, expr.to_owned());
    }
    let q = tok.quote;
    let p = &tok.prefix;
    let mut parts = Vec::new();
    if s > tok.content {
        parts.push(format!("{p}{q}{}{q}", &text[tok.content..s]));
    }
    parts.push(expr.to_owned());
    if e < tok.content_end {
        parts.push(format!("{p}{q}{}{q}", &text[e..tok.content_end]));
    }
    (tok.start, tok.end, format!("({})", parts.join(" + ")))
}

/// How a token substitution changes the token counts: string literals (one replaced by an
/// expression: -1; split around it: +1 per literal part kept) and template expressions added.
#[derive(Debug, Default)]
struct TokenDelta {
    strings: isize,
    templates: usize,
}

/// The check that an edit was a pure token substitution: the new text tokenizes, every comment
/// is still there, and the string and template-expression counts moved exactly as planned (a
/// quote the edit broke would merge or split tokens elsewhere).
fn substitution_only(old: &Tokens, new: &Tokens, delta: &TokenDelta) -> bool {
    new.strings.len() as isize == old.strings.len() as isize + delta.strings
        && new.comments.len() == old.comments.len()
        && new.code_in_templates.len() == old.code_in_templates.len() + delta.templates
}

fn rewrite_tokens(
    text: &str,
    spans: &[(usize, usize)],
    tokens: &Tokens,
    expr: &str,
    template_expr: Option<&str>,
) -> Result<(Vec<Edit>, TokenDelta), String> {
    let mut edits = Vec::new();
    let mut delta = TokenDelta::default();
    for &(s, e) in spans {
        if tokens.comments.iter().any(|&(a, z)| a <= s && e <= z) {
            edits.push((s, e, COMMENT_TEXT.to_owned()));
            continue;
        }
        let Some(tok) = tokens
            .strings
            .iter()
            .find(|t| t.content <= s && e <= t.content_end)
        else {
            return Err("the key is not inside a string literal: edit it by hand".into());
        };
        if tokens
            .code_in_templates
            .iter()
            .any(|&(a, z)| a <= s && e <= z)
        {
            return Err("the key is inside a template expression: edit it by hand".into());
        }
        if tok.quote == '`' {
            let Some(te) = template_expr else {
                return Err("the key is in a template literal: edit it by hand".into());
            };
            edits.push((s, e, te.to_owned()));
            delta.templates += 1;
            continue;
        }
        let lower = tok.prefix.to_ascii_lowercase();
        if tok.triple || lower.contains('f') || lower.contains('b') {
            return Err(
                "the key is in a triple-quoted, f- or bytes string: edit it by hand".into(),
            );
        }
        edits.push(string_edit(text, tok, s, e, expr));
        // The expression's own literals count too (`os.environ["FICHIER_API_KEY"]`).
        let expr_literals = (expr.matches('"').count() / 2) as isize;
        delta.strings +=
            isize::from(s > tok.content) + isize::from(e < tok.content_end) - 1 + expr_literals;
    }
    Ok((edits, delta))
}

fn rewrite_python(text: &str, spans: &[(usize, usize)]) -> Result<(String, Vec<String>), String> {
    let tokens = tokenize_python(text)?;
    let expr = format!("os.environ[\"{FIX_ENV}\"]");
    let (edits, delta) = rewrite_tokens(text, spans, &tokens, &expr, None)?;
    let needs_os = edits.iter().any(|e| e.2.contains("os.environ"));
    let mut fixed = splice(text, edits)?;
    let mut notes = Vec::new();
    if needs_os && !imports_os(&fixed) {
        let at = python_import_point(&fixed, &tokenize_python(&fixed)?);
        fixed.insert_str(at, &format!("import os{}", line_ending(text)));
        notes.push("added `import os`".to_owned());
    }
    let new =
        tokenize_python(&fixed).map_err(|_| "the rewrite would not tokenize: edit it by hand")?;
    if !substitution_only(&tokens, &new, &delta) {
        return Err("the rewrite would change more than the key's string: edit it by hand".into());
    }
    notes.push(format!(
        "os.environ[\"{FIX_ENV}\"] raises KeyError when the variable is not set; {}",
        exec_note("python3 ")
    ));
    Ok((fixed, notes))
}

fn imports_os(text: &str) -> bool {
    static RE: std::sync::LazyLock<regex::Regex> = std::sync::LazyLock::new(|| {
        regex::Regex::new(r"(?m)^import[ \t]+(?:[\w.]+[ \t]*,[ \t]*)*os[ \t]*(?:,|#|\r?$)")
            .expect("valid regex")
    });
    RE.is_match(text)
}

/// Where `import os` goes: after the shebang, comments and blank lines at the top, the
/// module docstring, and `from __future__` imports.
fn python_import_point(text: &str, tokens: &Tokens) -> usize {
    let mut at = 0;
    let next_line = |from: usize| text[from..].find('\n').map_or(text.len(), |n| from + n + 1);
    loop {
        let rest = &text[at..];
        let line = rest.lines().next().unwrap_or("");
        let trimmed = line.trim();
        if at < text.len() && (trimmed.is_empty() || trimmed.starts_with('#')) {
            at = next_line(at);
            continue;
        }
        break;
    }
    if let Some(doc) = tokens.strings.iter().find(|t| t.start == at) {
        at = next_line(doc.end);
    }
    while text[at..].starts_with("from __future__") {
        at = next_line(at);
    }
    at
}

fn rewrite_js(
    text: &str,
    spans: &[(usize, usize)],
    jsx: bool,
) -> Result<(String, Vec<String>), String> {
    let tokens = tokenize_js(text)?;
    if jsx {
        // `<Client apiKey="KEY" />` needs braces, `a="KEY"` must not have them: in JSX and TSX
        // files the two cannot be told apart without a parser.
        let b = text.as_bytes();
        let attribute_like = spans.iter().any(|&(s, e)| {
            tokens
                .strings
                .iter()
                .find(|t| t.content <= s && e <= t.content_end)
                .is_some_and(|t| {
                    t.start >= 2
                        && b[t.start - 1] == b'='
                        && (b[t.start - 2].is_ascii_alphanumeric() || b[t.start - 2] == b'_')
                })
        });
        if attribute_like {
            return Err("the key looks like a JSX attribute value: write \
                 {process.env.FICHIER_API_KEY} there by hand"
                .into());
        }
    }
    let expr = format!("process.env.{FIX_ENV}");
    let template = format!("${{process.env.{FIX_ENV}}}");
    let (edits, delta) = rewrite_tokens(text, spans, &tokens, &expr, Some(&template))?;
    let fixed = splice(text, edits)?;
    let new = tokenize_js(&fixed).map_err(|_| "the rewrite would not tokenize: edit it by hand")?;
    if !substitution_only(&tokens, &new, &delta) {
        return Err("the rewrite would change more than the key's string: edit it by hand".into());
    }
    Ok((
        fixed,
        vec![format!(
            "in TypeScript process.env.{FIX_ENV} is `string | undefined`: check it once at start; {}",
            exec_note("node ")
        )],
    ))
}

// ---------------------------------------------------------------------------------------------
// YAML

fn rewrite_yaml(
    text: &str,
    spans: &[(usize, usize)],
    kind: FileKind,
) -> Result<(String, Vec<String>), String> {
    let replacement = if kind == FileKind::Workflow {
        format!("${{{{ secrets.{FIX_ENV} }}}}")
    } else {
        format!("${{{FIX_ENV}}}")
    };
    let mut edits = Vec::new();
    for &(s, e) in spans {
        let line_start = text[..s].rfind('\n').map_or(0, |n| n + 1);
        let before = &text[line_start..s];
        // Outside quotes, what precedes the key on its line decides how YAML reads it.
        let mut quote: Option<char> = None;
        let mut comment = false;
        for (i, c) in before.char_indices() {
            match (quote, c) {
                (None, '#') if i == 0 || before[..i].ends_with([' ', '\t']) => {
                    comment = true;
                    break;
                }
                (None, '\'' | '"') => quote = Some(c),
                (Some(q), c) if c == q => quote = None,
                (None, '[' | '{') => {
                    return Err(
                        "the key is inside a flow collection ([...] or {...}): edit it by hand"
                            .into(),
                    );
                }
                _ => {}
            }
        }
        if comment {
            edits.push((s, e, COMMENT_TEXT.to_owned()));
            continue;
        }
        let starts_scalar = before.trim_end().ends_with(':') || before.trim_end().ends_with('-');
        let r = if quote.is_none() && starts_scalar && kind == FileKind::Workflow {
            // A plain scalar may start with `$`, but `${{` reads better quoted.
            format!("\"{replacement}\"")
        } else {
            replacement.clone()
        };
        edits.push((s, e, r));
    }
    let fixed = splice(text, edits)?;
    let notes = if kind == FileKind::Workflow {
        vec![format!(
            "add the key as a repository secret named {FIX_ENV} (Settings → Secrets and \
             variables → Actions); never commit it"
        )]
    } else {
        vec![format!(
            "docker compose reads ${{{FIX_ENV}}} from the environment: run `fichier exec -- \
             docker compose up`; another program must expand environment variables in its \
             config for this to work"
        )]
    };
    Ok((fixed, notes))
}

// ---------------------------------------------------------------------------------------------
// rclone.conf

fn rewrite_rclone(text: &str, spans: &[(usize, usize)]) -> Result<(String, Vec<String>), String> {
    let mut edits = Vec::new();
    for &(s, _) in spans {
        let line_start = text[..s].rfind('\n').map_or(0, |n| n + 1);
        let line_end = text[s..].find('\n').map_or(text.len(), |n| s + n + 1);
        let line = &text[line_start..line_end];
        let name = line.split('=').next().unwrap_or("").trim();
        if name != "api_key" {
            return Err("the key is not on an `api_key = ...` line: edit it by hand".into());
        }
        edits.push((line_start, line_end, String::new()));
    }
    edits.dedup();
    let fixed = splice(text, edits)?;
    let remotes = fixed
        .lines()
        .filter(|l| {
            let l = l.replace(' ', "");
            l == "type=fichier"
        })
        .count();
    let mut notes = vec![
        "rclone reads the key of a fichier remote without `api_key` from RCLONE_FICHIER_API_KEY: \
         run it as `fichier exec --rclone -- rclone ...`"
            .to_owned(),
    ];
    if remotes > 1 {
        notes.push(
            "every fichier remote of this file without `api_key` now uses the same key".to_owned(),
        );
    }
    Ok((fixed, notes))
}

// ---------------------------------------------------------------------------------------------
// .env and others

fn git(dir: &Path, args: &[&str]) -> Option<std::process::Output> {
    Command::new("git")
        .args(args)
        .current_dir(dir)
        .env("GIT_TERMINAL_PROMPT", "0")
        .output()
        .ok()
}

fn dotenv_action(path: &Path) -> FixAction {
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

fn other_advice(path: &Path, text: &str) -> String {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().to_ascii_lowercase())
        .unwrap_or_default();
    let unixy = path.to_string_lossy().replace('\\', "/");
    if name == "credentials.toml" && unixy.contains("fichier/") {
        return "this is fichier's own key store: keep it mode 0600 and out of any repository or \
                backup that others can read"
            .to_owned();
    }
    if name == "dockerfile" || name.ends_with(".dockerfile") {
        return "a key in an ENV or ARG line stays in the image: remove it and pass it at run \
                time, `fichier exec -- docker run -e FICHIER_API_KEY IMAGE`"
            .to_owned();
    }
    if name.ends_with(".json") || text.trim_start().starts_with('{') {
        return "JSON cannot read the environment: remove the key and let the program read \
                FICHIER_API_KEY (run it under `fichier exec`), or store it with the program's \
                own secret store"
            .to_owned();
    }
    "no automatic fix for this file type: replace the key with a read of the FICHIER_API_KEY \
     environment variable and run the program under `fichier exec`"
        .to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A stand-in key, built at run time so no key-shaped literal is committed.
    fn key() -> String {
        ["Zq8vN3kP0wXe", "7LmR2tYb5HcJ", "9uGd4FsA"].concat()
    }

    fn spans(text: &str) -> Vec<(usize, usize)> {
        let k = key();
        text.match_indices(&k)
            .map(|(i, _)| (i, i + k.len()))
            .collect()
    }

    #[test]
    fn shell_quoting_is_kept() {
        let k = key();
        let text = format!(
            "#!/bin/sh\nA={k}\nB=\"{k}\"\nC='{k}'\ncurl -H 'Authorization: Bearer {k}' x\n# {k}\n"
        );
        let (fixed, _) = rewrite_shell(&text, &spans(&text)).unwrap();
        assert_eq!(
            fixed,
            "#!/bin/sh\nA=\"${FICHIER_API_KEY}\"\nB=\"${FICHIER_API_KEY}\"\nC=\"${FICHIER_API_KEY}\"\n\
             curl -H 'Authorization: Bearer '\"${FICHIER_API_KEY}\" x\n# $FICHIER_API_KEY\n"
        );
    }

    #[test]
    fn shell_here_documents() {
        let k = key();
        let text = format!(
            "cat <<EOF >h.txt\nAuthorization: Bearer {k}\nit's fine\nEOF\necho \"$((1<<2))\" '{k}'\n"
        );
        let (fixed, _) = rewrite_shell(&text, &spans(&text)).unwrap();
        assert_eq!(
            fixed,
            "cat <<EOF >h.txt\nAuthorization: Bearer ${FICHIER_API_KEY}\nit's fine\nEOF\necho \"$((1<<2))\" \"${FICHIER_API_KEY}\"\n"
        );
        let text = format!("cat <<-'EOF'\n\t{k}\n\tEOF\n");
        assert!(rewrite_shell(&text, &spans(&text)).is_err());
    }

    #[test]
    fn python_strings_become_environment_reads() {
        let k = key();
        let text = format!(
            "\"\"\"Doc.\"\"\"\nfrom __future__ import annotations\nA = \"{k}\"\nH = {{\"a\": \"Bearer {k}\"}}\n"
        );
        let (fixed, _) = rewrite_python(&text, &spans(&text)).unwrap();
        assert_eq!(
            fixed,
            "\"\"\"Doc.\"\"\"\nfrom __future__ import annotations\nimport os\nA = os.environ[\"FICHIER_API_KEY\"]\n\
             H = {\"a\": (\"Bearer \" + os.environ[\"FICHIER_API_KEY\"])}\n"
        );
        let text = format!("x = f\"{k}\"\n");
        assert!(rewrite_python(&text, &spans(&text)).is_err());
        let text = format!("import sys, os\nx = '{k}'\n");
        let (fixed, _) = rewrite_python(&text, &spans(&text)).unwrap();
        assert_eq!(
            fixed,
            "import sys, os\nx = os.environ[\"FICHIER_API_KEY\"]\n"
        );
    }

    #[test]
    fn js_strings_and_templates() {
        let k = key();
        let text = format!("const a = '{k}';\nconst t = `Bearer {k} ${{x}}`;\n");
        let (fixed, _) = rewrite_js(&text, &spans(&text), false).unwrap();
        assert_eq!(
            fixed,
            "const a = process.env.FICHIER_API_KEY;\nconst t = `Bearer ${process.env.FICHIER_API_KEY} ${x}`;\n"
        );
        let text = format!("const c = <Client apiKey=\"{k}\" />;\n");
        assert!(rewrite_js(&text, &spans(&text), true).is_err());
    }

    #[test]
    fn yaml_and_rclone() {
        let k = key();
        let text = format!("a:\n  key: {k}\n  env:\n    - X={k}\n");
        let (fixed, _) = rewrite_yaml(&text, &spans(&text), FileKind::Yaml).unwrap();
        assert_eq!(
            fixed,
            "a:\n  key: ${FICHIER_API_KEY}\n  env:\n    - X=${FICHIER_API_KEY}\n"
        );
        let text = format!("a: [{k}]\n");
        assert!(rewrite_yaml(&text, &spans(&text), FileKind::Yaml).is_err());
        let text = format!("[r]\r\ntype = fichier\r\napi_key = {k}\r\n\r\n");
        let (fixed, _) = rewrite_rclone(&text, &spans(&text)).unwrap();
        assert_eq!(fixed, "[r]\r\ntype = fichier\r\n\r\n");
    }
}
