//! The public entry point: scan options, and scanning bytes, readers, files and directory trees.
//!
//! Directory walks use `ignore::WalkBuilder` in parallel: `.gitignore`/`.ignore` and
//! `.fichier-scan-ignore` files are respected, hidden files are scanned (`.env`, `.config/...`
//! are where keys live) but `.git` directories are not, symlinks inside a tree are never
//! followed (so nothing outside the tree is read), and files containing NUL bytes are skipped
//! as binary. A path named explicitly is always scanned, as ripgrep does.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use ignore::{WalkBuilder, WalkState};

use crate::engine::{self, EngineOptions};
use crate::error::ScanError;
use crate::finding::Finding;
use crate::report::{InputError, Report, Stats};
use crate::rules::Confidence;

/// Name of the scanner-specific ignore file, read like `.gitignore` in every directory.
pub const IGNORE_FILE_NAME: &str = ".fichier-scan-ignore";

/// Default size limit: larger files and blobs are skipped (and counted).
pub const DEFAULT_MAX_FILE_SIZE: u64 = 64 * 1024 * 1024;

/// How to scan.
#[derive(Debug, Clone)]
pub struct ScanOptions {
    /// Also report key-shaped values with no 1fichier context (`--strict`).
    pub strict: bool,
    /// Drop findings below this confidence.
    pub min_confidence: Confidence,
    /// Respect `.gitignore`, `.ignore` and git excludes when walking directories
    /// (`.fichier-scan-ignore` files always apply).
    pub respect_gitignore: bool,
    /// Skip files and blobs larger than this many bytes (`None`: no limit).
    pub max_file_size: Option<u64>,
    /// Walker threads; 0 picks the number of CPUs.
    pub threads: usize,
}

impl Default for ScanOptions {
    fn default() -> ScanOptions {
        ScanOptions {
            strict: false,
            min_confidence: Confidence::Low,
            respect_gitignore: true,
            max_file_size: Some(DEFAULT_MAX_FILE_SIZE),
            threads: 0,
        }
    }
}

/// One thing to scan, as named on a command line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Input {
    /// A file or directory tree.
    Path(PathBuf),
    /// Standard input (`-`), read to the end.
    Stdin,
    /// Every commit of every ref of the repository containing this directory.
    GitHistory(PathBuf),
    /// What is staged for the next commit in the repository containing this directory.
    Staged(PathBuf),
}

impl Input {
    /// Maps a command-line path: `-` is standard input, anything else a path.
    pub fn from_arg(arg: &str) -> Input {
        if arg == "-" {
            Input::Stdin
        } else {
            Input::Path(PathBuf::from(arg))
        }
    }
}

/// Scans inputs for 1fichier API keys. Cheap to create; share one across threads if needed.
#[derive(Debug, Clone, Default)]
pub struct Scanner {
    options: ScanOptions,
}

/// Counters shared by walker threads.
#[derive(Default)]
struct Counters {
    scanned: AtomicU64,
    bytes: AtomicU64,
    skipped_binary: AtomicU64,
    skipped_large: AtomicU64,
}

impl Counters {
    fn into_stats(self) -> Stats {
        Stats {
            scanned: self.scanned.into_inner(),
            bytes: self.bytes.into_inner(),
            skipped_binary: self.skipped_binary.into_inner(),
            skipped_large: self.skipped_large.into_inner(),
            ..Stats::default()
        }
    }
}

impl Scanner {
    /// A scanner with these options.
    pub fn new(options: ScanOptions) -> Scanner {
        Scanner { options }
    }

    /// The options in use.
    pub fn options(&self) -> &ScanOptions {
        &self.options
    }

    fn engine_options(&self) -> EngineOptions {
        EngineOptions {
            strict: self.options.strict,
            min_confidence: self.options.min_confidence,
        }
    }

    /// Scans a buffer of text; `path` is used for reporting and path-based context only.
    /// Binary content (NUL bytes) is scanned too: callers decide what to skip.
    pub fn scan_bytes(&self, path: &str, bytes: &[u8]) -> Vec<Finding> {
        let mut out = Vec::new();
        engine::scan_buffer(self.engine_options(), path, bytes, &mut out);
        out
    }

    /// Scans everything a reader yields (standard input: pass `"-"` as the name).
    /// Reads at most the size limit: a larger input is counted as skipped, unscanned.
    pub fn scan_reader(&self, name: &str, reader: impl Read) -> Result<Report, ScanError> {
        let read =
            read_bounded(reader, self.options.max_file_size).map_err(|source| ScanError::Io {
                path: PathBuf::from(name),
                source,
            })?;
        let Some(buf) = read else {
            let mut report = Report::default();
            report.stats.skipped_large = 1;
            return Ok(report);
        };
        let mut report = Report {
            findings: self.scan_bytes(name, &buf),
            ..Report::default()
        };
        report.stats.scanned = 1;
        report.stats.bytes = buf.len() as u64;
        report.sort();
        Ok(report)
    }

    /// Scans several inputs into one report: all paths in one parallel walk, standard input
    /// at most once, each repository's history or staged changes. Stops at the first input
    /// that fails as a whole (missing path, not a repository).
    pub fn scan_inputs(&self, inputs: &[Input]) -> Result<Report, ScanError> {
        let paths: Vec<&PathBuf> = inputs
            .iter()
            .filter_map(|i| match i {
                Input::Path(p) => Some(p),
                _ => None,
            })
            .collect();
        let mut report = if paths.is_empty() {
            Report::default()
        } else {
            self.scan_paths(&paths)?
        };
        let mut stdin_done = false;
        for input in inputs {
            match input {
                Input::Path(_) => {}
                Input::Stdin if !stdin_done => {
                    stdin_done = true;
                    report.merge(self.scan_reader("-", std::io::stdin().lock())?);
                }
                Input::Stdin => {}
                Input::GitHistory(repo) => report.merge(self.scan_git_history(repo)?),
                Input::Staged(repo) => report.merge(self.scan_staged(repo)?),
            }
        }
        Ok(report)
    }

    /// Scans files and directory trees. A missing path is an error (nothing is scanned);
    /// unreadable files inside a tree are listed in [`Report::errors`] and the scan goes on.
    pub fn scan_paths<P: AsRef<Path>>(&self, paths: &[P]) -> Result<Report, ScanError> {
        for p in paths {
            let p = p.as_ref();
            if std::fs::metadata(p).is_err() {
                return Err(ScanError::NotFound(p.to_path_buf()));
            }
        }
        let findings = Mutex::new(Vec::new());
        let errors = Mutex::new(Vec::new());
        let counters = Counters::default();
        let mut dirs = Vec::new();
        for p in paths {
            let p = p.as_ref();
            if p.is_dir() {
                dirs.push(p.to_path_buf());
            } else {
                self.scan_file(p, &display_path(p), &counters, &findings, &errors);
            }
        }
        if let Some((first, rest)) = dirs.split_first() {
            let mut builder = WalkBuilder::new(first);
            for d in rest {
                builder.add(d);
            }
            let respect = self.options.respect_gitignore;
            builder
                .hidden(false)
                .follow_links(false)
                .git_ignore(respect)
                .git_global(respect)
                .git_exclude(respect)
                .ignore(respect)
                .parents(respect)
                .threads(self.options.threads)
                .filter_entry(|e| e.file_name() != ".git");
            builder.add_custom_ignore_filename(IGNORE_FILE_NAME);
            builder.build_parallel().run(|| {
                Box::new(|entry| {
                    match entry {
                        Ok(entry) => {
                            if entry.file_type().is_some_and(|t| t.is_file()) {
                                let path = entry.path();
                                self.scan_file(
                                    path,
                                    &display_path(path),
                                    &counters,
                                    &findings,
                                    &errors,
                                );
                            }
                        }
                        Err(err) => push_error(&errors, String::new(), err.to_string()),
                    }
                    WalkState::Continue
                })
            });
        }
        let mut report = Report {
            findings: findings.into_inner().unwrap_or_else(|e| e.into_inner()),
            errors: errors.into_inner().unwrap_or_else(|e| e.into_inner()),
            stats: counters.into_stats(),
        };
        report.sort();
        Ok(report)
    }

    fn scan_file(
        &self,
        path: &Path,
        shown: &str,
        counters: &Counters,
        findings: &Mutex<Vec<Finding>>,
        errors: &Mutex<Vec<InputError>>,
    ) {
        if let (Some(limit), Ok(meta)) = (self.options.max_file_size, std::fs::metadata(path))
            && meta.len() > limit
        {
            counters.skipped_large.fetch_add(1, Ordering::Relaxed);
            return;
        }
        // Bounded while reading too: a device or FIFO named on the command line reports no
        // size (`/dev/zero` never ends).
        let read =
            std::fs::File::open(path).and_then(|f| read_bounded(f, self.options.max_file_size));
        let bytes = match read {
            Ok(Some(b)) => b,
            Ok(None) => {
                counters.skipped_large.fetch_add(1, Ordering::Relaxed);
                return;
            }
            Err(err) => return push_error(errors, shown.to_owned(), err.to_string()),
        };
        if bytes.contains(&0) {
            counters.skipped_binary.fetch_add(1, Ordering::Relaxed);
            return;
        }
        counters.scanned.fetch_add(1, Ordering::Relaxed);
        counters
            .bytes
            .fetch_add(bytes.len() as u64, Ordering::Relaxed);
        let found = self.scan_bytes(shown, &bytes);
        if !found.is_empty() {
            findings
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .extend(found);
        }
    }
}

/// Reads everything `reader` yields up to `limit` bytes; `None` when there is more (the rest
/// is left unread, so an endless input costs at most the limit).
pub(crate) fn read_bounded(
    reader: impl Read,
    limit: Option<u64>,
) -> std::io::Result<Option<Vec<u8>>> {
    let mut buf = Vec::new();
    match limit {
        None => {
            let mut reader = reader;
            reader.read_to_end(&mut buf)?;
            Ok(Some(buf))
        }
        Some(limit) => {
            reader.take(limit.saturating_add(1)).read_to_end(&mut buf)?;
            Ok((buf.len() as u64 <= limit).then_some(buf))
        }
    }
}

fn push_error(errors: &Mutex<Vec<InputError>>, path: String, message: String) {
    errors
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .push(InputError { path, message });
}

/// Path as shown in reports: forward slashes, no leading `./`.
pub(crate) fn display_path(path: &Path) -> String {
    let s = path.to_string_lossy().replace('\\', "/");
    let mut s = s.as_str();
    while let Some(rest) = s.strip_prefix("./") {
        s = rest;
    }
    s.to_owned()
}
