//! Git inputs: the whole history of a repository, and the staged changes (pre-commit hook).
//!
//! History: `git log --all -m --raw` (oldest first) names, for every blob that ever existed
//! on any ref (deleted files and other branches included), the first commit that added it;
//! each blob is then read once through one `git cat-file --batch` process. Staged: the index
//! versions of added/modified files, keeping findings on added lines only.

use std::collections::{HashMap, HashSet};
use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::Stdio;

use super::{Git, protocol};
use crate::error::ScanError;
use crate::finding::Finding;
use crate::report::{InputError, Report};
use crate::scanner::Scanner;

/// A blob to scan and how to report it.
struct BlobRef {
    oid: String,
    path: String,
    commit: Option<String>,
}

/// Parses `git log -z --raw --format='commit %H'` (or `git diff -z --raw`) output, read as a
/// stream, into `(commit, new blob id, path)` triples, skipping gitlinks, symlinks and
/// deletions; with `dedupe`, only the first reference to each blob is kept. Also returns how
/// many commits were listed.
fn parse_raw(
    reader: impl BufRead,
    command: &str,
    dedupe: bool,
) -> Result<(Vec<BlobRef>, u64), ScanError> {
    let io = |source| ScanError::Io {
        path: PathBuf::from(format!("git {command}")),
        source,
    };
    let mut refs = Vec::new();
    let mut seen = HashSet::new();
    let mut commit: Option<String> = None;
    let mut commits = 0u64;
    let mut tokens = reader.split(0);
    while let Some(tok) = tokens.next() {
        let tok = tok.map_err(io)?;
        let tok = tok.strip_prefix(b"\n").unwrap_or(&tok);
        if tok.is_empty() {
            continue;
        }
        if let Some(id) = tok.strip_prefix(b"commit ") {
            let id = String::from_utf8_lossy(id).trim().to_owned();
            if commit.as_ref() != Some(&id) {
                commits += 1;
            }
            commit = Some(id);
        } else if let Some(raw) = tok.strip_prefix(b":") {
            let fields: Vec<&[u8]> = raw.split(|&b| b == b' ').collect();
            let path = tokens
                .next()
                .ok_or_else(|| protocol(command, "raw line without a path"))?
                .map_err(io)?;
            let [_old_mode, new_mode, _old_oid, new_oid, status] = fields[..] else {
                return Err(protocol(
                    command,
                    "raw line with an unexpected number of fields",
                ));
            };
            let skip =
                matches!(new_mode, b"160000" | b"120000" | b"000000") || status.starts_with(b"D");
            let oid = String::from_utf8_lossy(new_oid).into_owned();
            if skip || (dedupe && !seen.insert(oid.clone())) {
                continue;
            }
            refs.push(BlobRef {
                oid,
                path: String::from_utf8_lossy(&path).into_owned(),
                commit: commit.clone(),
            });
        } else {
            return Err(protocol(command, "unrecognised line"));
        }
    }
    Ok((refs, commits))
}

impl Scanner {
    /// Scans every blob ever committed on any ref of the repository containing `repo`
    /// (branches, tags, remotes, stash; files deleted later included). Each distinct blob is
    /// scanned once and reported with the oldest commit that added it.
    pub fn scan_git_history(&self, repo: &Path) -> Result<Report, ScanError> {
        let args = [
            "log",
            "--all",
            "-m",
            "--root",
            "--raw",
            "--no-abbrev",
            "--no-renames",
            "--no-color",
            "--no-ext-diff",
            "--no-textconv",
            "--diff-filter=AMT",
            "--reverse",
            "--topo-order",
            "-z",
            "--format=commit %H",
        ];
        let (unique, commits) = Git::new(repo).stream(&args, |out| parse_raw(out, "log", true))?;
        let mut report = self.scan_blobs(repo, &unique, |_, _| true)?;
        report.stats.commits = commits;
        Ok(report)
    }

    /// Scans what is staged for the next commit (`git diff --cached`): the index version of
    /// each added or modified file is scanned whole (so context lines count), and findings
    /// on lines the commit adds or changes are kept.
    pub fn scan_staged(&self, repo: &Path) -> Result<Report, ScanError> {
        let common = [
            "--cached",
            "--no-renames",
            "--no-color",
            "--no-ext-diff",
            "--no-textconv",
            "--diff-filter=AM",
        ];
        let mut raw_args = vec!["diff", "--raw", "-z", "--no-abbrev"];
        raw_args.extend(common);
        let (refs, _) = parse_raw(
            std::io::Cursor::new(Git::new(repo).output(&raw_args)?),
            "diff",
            false,
        )?;
        let mut patch_args = vec!["diff", "-U0"];
        patch_args.extend(common);
        let patch = Git::new(repo).output(&patch_args)?;
        let added = added_lines(&patch);
        // The patch lists the same file pairs in the same order; if it does not (unexpected),
        // fall back to keeping every finding in the staged files.
        let added: HashMap<String, Vec<(usize, usize)>> = if added.len() == refs.len() {
            refs.iter().map(|r| r.path.clone()).zip(added).collect()
        } else {
            HashMap::new()
        };
        self.scan_blobs(repo, &refs, |path, line| {
            added
                .get(path)
                .is_none_or(|ranges| ranges.iter().any(|&(s, n)| line >= s && line < s + n))
        })
    }

    /// Reads blobs through one `git cat-file --batch` and scans them.
    fn scan_blobs(
        &self,
        repo: &Path,
        blobs: &[BlobRef],
        keep: impl Fn(&str, usize) -> bool,
    ) -> Result<Report, ScanError> {
        let mut report = Report::default();
        if blobs.is_empty() {
            return Ok(report);
        }
        let mut child = Git::new(repo)
            .command(&["cat-file", "--batch"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|source| ScanError::GitMissing { source })?;
        let (Some(mut stdin), Some(stdout)) = (child.stdin.take(), child.stdout.take()) else {
            return Err(protocol("cat-file", "no pipes"));
        };
        let ids: Vec<String> = blobs.iter().map(|b| b.oid.clone()).collect();
        // Feed ids from a thread so a full stdout pipe can never deadlock us.
        let feeder = std::thread::spawn(move || {
            for id in ids {
                if writeln!(stdin, "{id}").is_err() {
                    break;
                }
            }
        });
        let mut reader = BufReader::with_capacity(1 << 16, stdout);
        let limit = self.options().max_file_size.unwrap_or(u64::MAX);
        let mut result = Ok(());
        for blob in blobs {
            if let Err(e) = self.read_one(&mut reader, blob, limit, &keep, &mut report) {
                result = Err(e);
                break;
            }
        }
        drop(reader);
        let _ = feeder.join();
        let status = child.wait().map_err(|source| ScanError::Io {
            path: PathBuf::from("git cat-file"),
            source,
        })?;
        result?;
        if !status.success() {
            return Err(protocol("cat-file", format!("exited with {status}")));
        }
        report.sort();
        Ok(report)
    }

    fn read_one(
        &self,
        reader: &mut impl BufRead,
        blob: &BlobRef,
        limit: u64,
        keep: &impl Fn(&str, usize) -> bool,
        report: &mut Report,
    ) -> Result<(), ScanError> {
        let io = |source| ScanError::Io {
            path: PathBuf::from("git cat-file"),
            source,
        };
        let mut header = String::new();
        reader.read_line(&mut header).map_err(io)?;
        let fields: Vec<&str> = header.split_whitespace().collect();
        match fields[..] {
            [_, "missing"] | [_, "ambiguous"] => {
                report.errors.push(InputError {
                    path: blob.path.clone(),
                    message: format!("git object {} is missing", blob.oid),
                });
                Ok(())
            }
            [_, kind, size] => {
                let size: u64 = size
                    .parse()
                    .map_err(|_| protocol("cat-file", "bad object size"))?;
                let mut content = Vec::new();
                // Only blobs are requested; anything else is read past, never scanned.
                let read = size <= limit && kind == "blob";
                if !read {
                    std::io::copy(&mut reader.take(size), &mut std::io::sink()).map_err(io)?;
                } else {
                    reader.take(size).read_to_end(&mut content).map_err(io)?;
                }
                let mut newline = [0u8; 1];
                reader.read_exact(&mut newline).map_err(io)?;
                if !read {
                    report.stats.skipped_large += u64::from(kind == "blob");
                } else if content.contains(&0) {
                    report.stats.skipped_binary += 1;
                } else {
                    report.stats.scanned += 1;
                    report.stats.bytes += size;
                    let found = self.scan_bytes(&blob.path, &content);
                    report.findings.extend(
                        found.into_iter().filter(|f| keep(&f.path, f.line)).map(
                            |mut f: Finding| {
                                f.commit.clone_from(&blob.commit);
                                f
                            },
                        ),
                    );
                }
                Ok(())
            }
            _ => Err(protocol("cat-file", "unexpected header")),
        }
    }
}

/// Added line ranges `(first line, count)` per file of a `-U0` patch, in file order.
fn added_lines(patch: &[u8]) -> Vec<Vec<(usize, usize)>> {
    let mut files: Vec<Vec<(usize, usize)>> = Vec::new();
    for line in patch.split(|&b| b == b'\n') {
        if line.starts_with(b"diff --git ") {
            files.push(Vec::new());
        } else if let (Some(rest), Some(current)) = (line.strip_prefix(b"@@ "), files.last_mut()) {
            // `@@ -a[,b] +c[,d] @@`
            let text = String::from_utf8_lossy(rest);
            let Some(plus) = text.split_whitespace().find(|w| w.starts_with('+')) else {
                continue;
            };
            let mut parts = plus[1..].splitn(2, ',');
            let start = parts.next().and_then(|s| s.parse().ok()).unwrap_or(0);
            let count = parts
                .next()
                .map_or(Some(1), |s| s.parse().ok())
                .unwrap_or(0);
            if count > 0 {
                current.push((start, count));
            }
        }
    }
    files
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hunk_headers_give_added_ranges() {
        let patch = b"diff --git a/x b/x\n@@ -0,0 +1,3 @@\n+a\n@@ -9 +12 @@\ndiff --git a/y b/y\n@@ -3,2 +2,0 @@\n";
        assert_eq!(added_lines(patch), vec![vec![(1, 3), (12, 1)], vec![]]);
    }
}
