//! The backup source: walking the local tree under the user's filters (gitignore-style
//! `--exclude`/`--include`, `.fichierignore` files, `--exclude-if-present`, size and age
//! limits, symlinks) and saying, once per entry, why anything was left out.

use std::collections::HashSet;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use ignore::WalkBuilder;
use ignore::gitignore::{Gitignore, GitignoreBuilder};

/// The name of the per-directory ignore files read in the source tree (gitignore syntax).
pub const IGNORE_FILE: &str = ".fichierignore";

/// What to leave out of a backup.
#[derive(Debug, Clone, Default)]
pub struct SourceFilter {
    /// Gitignore-style patterns, matched relative to the source root (`*.tmp`, `/cache/`).
    pub exclude: Vec<String>,
    /// Patterns that win over the excludes (as `!pattern` in a gitignore). As in git, a file
    /// inside an excluded directory cannot be re-included: exclude `dir/*`, not `dir/`.
    pub include: Vec<String>,
    /// Files of exclude patterns, one a line, `#` comments.
    pub exclude_from: Vec<PathBuf>,
    /// A directory holding a file of one of these names is left out with everything in it.
    pub exclude_if_present: Vec<String>,
    /// Files smaller than this are left out.
    pub min_size: Option<u64>,
    /// Files larger than this are left out.
    pub max_size: Option<u64>,
    /// Files last modified longer ago than this are left out.
    pub max_age: Option<Duration>,
    /// Files modified more recently than this are left out (still being written).
    pub min_age: Option<Duration>,
    /// Follow symlinks to files and directories (loops are detected and skipped).
    pub follow_symlinks: bool,
}

/// A regular file to back up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceFile {
    /// The path relative to the source root, `/`-separated, never empty, never `..`.
    pub rel: String,
    /// The absolute path on disk.
    pub path: PathBuf,
    /// Size in bytes.
    pub size: u64,
    /// Modification time in nanoseconds since the epoch.
    pub mtime_ns: i128,
    /// Inode number (a file replaced by another one with the same size and mtime still gets
    /// hashed again).
    pub inode: u64,
    /// Device of the file.
    pub dev: u64,
    /// Permission bits (`st_mode & 0o7777`), recorded so a restore brings them back.
    pub mode: u32,
}

/// An entry left out of the backup that the user should hear about (filters matching are
/// silent; these are not).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Skipped {
    /// The path relative to the source root (lossy when the name is not UTF-8).
    pub rel: String,
    /// Why, in words.
    pub reason: SkipReason,
}

/// Why an entry was left out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SkipReason {
    /// A symlink, and following symlinks was not asked for.
    SymlinkNotFollowed,
    /// Following symlinks led back to a directory already being walked.
    SymlinkLoop,
    /// A socket, fifo or device.
    NotARegularFile,
    /// The name is not valid UTF-8, which 1fichier cannot store.
    NameNotUtf8,
    /// The directory or file could not be read.
    Unreadable(String),
    /// A top-level `.versions`: the destination keeps its versions and manifests under that
    /// name, so a source entry of that name cannot be stored there.
    Reserved,
}

impl std::fmt::Display for SkipReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SkipReason::SymlinkNotFollowed => f.write_str("symlink not followed"),
            SkipReason::SymlinkLoop => {
                f.write_str("symlink loop: leads back to a directory already walked")
            }
            SkipReason::NotARegularFile => {
                f.write_str("not a regular file (socket, fifo or device)")
            }
            SkipReason::NameNotUtf8 => {
                f.write_str("name is not valid UTF-8; rename it to back it up")
            }
            SkipReason::Unreadable(e) => write!(f, "unreadable: {e}"),
            SkipReason::Reserved => f.write_str(
                "the name .versions at the top of the source is where the destination keeps \
                 its versions; rename it or exclude it",
            ),
        }
    }
}

/// The top-level name the destination reserves (`DEST/.versions`).
const RESERVED: &str = ".versions";

/// The result of walking a source.
#[derive(Debug, Default)]
pub struct SourceScan {
    /// Files to back up, sorted by `rel`.
    pub files: Vec<SourceFile>,
    /// Entries left out with a reason to report, sorted by `rel`.
    pub skipped: Vec<Skipped>,
    /// How many entries the filters left out silently.
    pub excluded: u64,
}

/// A problem with the source or the filters themselves (the backup cannot start).
#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    /// The source is missing, or not a directory.
    #[error("backup source {path}: {what}")]
    Source {
        /// The source path.
        path: PathBuf,
        /// What is wrong.
        what: String,
    },
    /// A pattern could not be read.
    #[error("filter {pattern:?}: {what}")]
    Pattern {
        /// The pattern, or the file it came from.
        pattern: String,
        /// What is wrong.
        what: String,
    },
}

impl SourceFilter {
    fn matcher(&self, root: &Path) -> Result<Gitignore, SourceError> {
        let mut b = GitignoreBuilder::new(root);
        for p in &self.exclude {
            b.add_line(None, p).map_err(|e| pattern_error(p, e))?;
        }
        for file in &self.exclude_from {
            let text = std::fs::read_to_string(file).map_err(|e| SourceError::Pattern {
                pattern: file.display().to_string(),
                what: format!("cannot read the exclude file: {e}"),
            })?;
            for line in text.lines() {
                b.add_line(Some(file.clone()), line)
                    .map_err(|e| pattern_error(line, e))?;
            }
        }
        for p in &self.include {
            let line = format!("!{}", p.trim_start_matches('!'));
            b.add_line(None, &line).map_err(|e| pattern_error(p, e))?;
        }
        b.build().map_err(|e| pattern_error("(all patterns)", e))
    }

    /// Walks `root` and returns the files to back up. Refuses a missing source or one that is
    /// not a directory (a source disk that failed to mount must never look like "everything
    /// was deleted").
    pub fn scan(&self, root: &Path, now: SystemTime) -> Result<SourceScan, SourceError> {
        let meta = std::fs::metadata(root).map_err(|e| SourceError::Source {
            path: root.to_path_buf(),
            what: format!("cannot be read ({e}); is the disk mounted?"),
        })?;
        if !meta.is_dir() {
            return Err(SourceError::Source {
                path: root.to_path_buf(),
                what: "is not a directory".into(),
            });
        }
        let root = root.to_path_buf();
        let matcher = Arc::new(self.matcher(&root)?);
        let markers: Arc<Vec<String>> = Arc::new(self.exclude_if_present.clone());
        let excluded = Arc::new(std::sync::atomic::AtomicU64::new(0));
        let mut walk = WalkBuilder::new(&root);
        walk.standard_filters(false)
            .hidden(false)
            .parents(false)
            .follow_links(self.follow_symlinks)
            .add_custom_ignore_filename(IGNORE_FILE)
            .threads(1);
        {
            let matcher = matcher.clone();
            let markers = markers.clone();
            let excluded = excluded.clone();
            let root = root.clone();
            walk.filter_entry(move |entry| {
                if entry.depth() == 0 {
                    return true;
                }
                if entry.depth() == 1 && entry.file_name() == RESERVED {
                    return false;
                }
                let is_dir = entry.file_type().is_some_and(|t| t.is_dir());
                let rel = entry.path().strip_prefix(&root).unwrap_or(entry.path());
                let marked = is_dir && markers.iter().any(|m| entry.path().join(m).exists());
                let keep = !marked && !matcher.matched_path_or_any_parents(rel, is_dir).is_ignore();
                if !keep {
                    excluded.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                }
                keep
            });
        }
        let mut scan = SourceScan::default();
        if std::fs::symlink_metadata(root.join(RESERVED)).is_ok()
            && !matcher
                .matched_path_or_any_parents(Path::new(RESERVED), true)
                .is_ignore()
        {
            scan.skipped.push(Skipped {
                rel: RESERVED.to_owned(),
                reason: SkipReason::Reserved,
            });
        }
        let mut seen_dirs: HashSet<(u64, u64)> = HashSet::new();
        for item in walk.build() {
            let entry = match item {
                Ok(entry) => entry,
                Err(err) => {
                    let (path, reason) = classify_walk_error(&err);
                    scan.skipped.push(Skipped {
                        rel: rel_of(&root, path.as_deref()),
                        reason,
                    });
                    continue;
                }
            };
            if entry.depth() == 0 {
                continue;
            }
            let Some(rel) = entry
                .path()
                .strip_prefix(&root)
                .ok()
                .and_then(|p| p.to_str())
            else {
                scan.skipped.push(Skipped {
                    rel: rel_of(&root, Some(entry.path())),
                    reason: SkipReason::NameNotUtf8,
                });
                continue;
            };
            let rel = rel.replace(std::path::MAIN_SEPARATOR, "/");
            let Some(ftype) = entry.file_type() else {
                continue;
            };
            if entry.path_is_symlink() && !self.follow_symlinks {
                scan.skipped.push(Skipped {
                    rel,
                    reason: SkipReason::SymlinkNotFollowed,
                });
                continue;
            }
            let meta = match entry.metadata() {
                Ok(m) => m,
                Err(e) => {
                    scan.skipped.push(Skipped {
                        rel,
                        reason: SkipReason::Unreadable(e.to_string()),
                    });
                    continue;
                }
            };
            if ftype.is_dir() {
                // The walker detects loops through ancestors; two links to one directory
                // elsewhere in the tree would still be walked twice, so track (dev, inode).
                if !seen_dirs.insert((meta.dev(), meta.ino())) {
                    scan.skipped.push(Skipped {
                        rel,
                        reason: SkipReason::SymlinkLoop,
                    });
                }
                continue;
            }
            if !ftype.is_file() {
                scan.skipped.push(Skipped {
                    rel,
                    reason: SkipReason::NotARegularFile,
                });
                continue;
            }
            let size = meta.len();
            let mtime = meta.modified().ok();
            let age = mtime
                .and_then(|m| now.duration_since(m).ok())
                .unwrap_or_default();
            let filtered = self.min_size.is_some_and(|min| size < min)
                || self.max_size.is_some_and(|max| size > max)
                || self.max_age.is_some_and(|max| age > max)
                || self.min_age.is_some_and(|min| age < min);
            if filtered {
                scan.excluded += 1;
                continue;
            }
            scan.files.push(SourceFile {
                rel,
                path: entry.path().to_path_buf(),
                size,
                mtime_ns: i128::from(meta.mtime()) * 1_000_000_000 + i128::from(meta.mtime_nsec()),
                inode: meta.ino(),
                dev: meta.dev(),
                mode: meta.mode() & 0o7777,
            });
        }
        scan.excluded += excluded.load(std::sync::atomic::Ordering::Relaxed);
        scan.files.sort_by(|a, b| a.rel.cmp(&b.rel));
        scan.skipped.sort_by(|a, b| a.rel.cmp(&b.rel));
        Ok(scan)
    }
}

fn pattern_error(pattern: &str, e: ignore::Error) -> SourceError {
    SourceError::Pattern {
        pattern: pattern.to_string(),
        what: e.to_string(),
    }
}

fn rel_of(root: &Path, path: Option<&Path>) -> String {
    match path {
        Some(p) => p
            .strip_prefix(root)
            .unwrap_or(p)
            .to_string_lossy()
            .into_owned(),
        None => String::new(),
    }
}

fn classify_walk_error(err: &ignore::Error) -> (Option<PathBuf>, SkipReason) {
    match err {
        ignore::Error::Loop { child, .. } => (Some(child.clone()), SkipReason::SymlinkLoop),
        ignore::Error::WithPath { path, err } => (Some(path.clone()), classify_walk_error(err).1),
        ignore::Error::WithDepth { err, .. } | ignore::Error::WithLineNumber { err, .. } => {
            classify_walk_error(err)
        }
        other => (None, SkipReason::Unreadable(other.to_string())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;

    fn tree(files: &[(&str, &str)]) -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        for (path, body) in files {
            let p = dir.path().join(path);
            fs::create_dir_all(p.parent().unwrap()).unwrap();
            fs::write(p, body).unwrap();
        }
        dir
    }

    fn rels(scan: &SourceScan) -> Vec<&str> {
        scan.files.iter().map(|f| f.rel.as_str()).collect()
    }

    #[test]
    fn excludes_are_gitignore_lines_and_includes_win() {
        let d = tree(&[
            ("a.txt", "a"),
            ("b.tmp", "b"),
            ("keep.tmp", "k"),
            ("cache/x", "x"),
            ("sub/cache/y", "y"),
        ]);
        let f = SourceFilter {
            exclude: vec!["*.tmp".into(), "/cache/".into()],
            include: vec!["keep.tmp".into()],
            ..Default::default()
        };
        let scan = f.scan(d.path(), SystemTime::now()).unwrap();
        assert_eq!(rels(&scan), ["a.txt", "keep.tmp", "sub/cache/y"]);
        assert_eq!(scan.excluded, 2);
    }

    #[test]
    fn fichierignore_files_apply_to_their_own_subtree() {
        let d = tree(&[
            ("top.log", "1"),
            ("logs/.fichierignore", "*.log\n"),
            ("logs/a.log", "2"),
            ("logs/a.txt", "3"),
        ]);
        let scan = SourceFilter::default()
            .scan(d.path(), SystemTime::now())
            .unwrap();
        assert_eq!(
            rels(&scan),
            ["logs/.fichierignore", "logs/a.txt", "top.log"]
        );
    }

    #[test]
    fn a_marker_file_excludes_its_directory() {
        let d = tree(&[("a", "1"), ("vm/.nobackup", ""), ("vm/disk.img", "2")]);
        let f = SourceFilter {
            exclude_if_present: vec![".nobackup".into()],
            ..Default::default()
        };
        assert_eq!(rels(&f.scan(d.path(), SystemTime::now()).unwrap()), ["a"]);
    }

    #[test]
    fn size_and_age_limits() {
        let d = tree(&[("small", "x"), ("big", "xxxxxxxxxx")]);
        let f = SourceFilter {
            min_size: Some(2),
            ..Default::default()
        };
        assert_eq!(rels(&f.scan(d.path(), SystemTime::now()).unwrap()), ["big"]);
        let f = SourceFilter {
            max_age: Some(Duration::from_secs(3600)),
            ..Default::default()
        };
        let later = SystemTime::now() + Duration::from_secs(7200);
        assert!(f.scan(d.path(), later).unwrap().files.is_empty());
        let f = SourceFilter {
            min_age: Some(Duration::from_secs(3600)),
            ..Default::default()
        };
        assert!(
            f.scan(d.path(), SystemTime::now())
                .unwrap()
                .files
                .is_empty()
        );
    }

    #[test]
    fn symlinks_are_reported_not_followed_unless_asked_and_loops_end() {
        let d = tree(&[("t/f", "x")]);
        std::os::unix::fs::symlink(".", d.path().join("t/l1")).unwrap();
        std::os::unix::fs::symlink(".", d.path().join("t/l2")).unwrap();
        std::os::unix::fs::symlink("f", d.path().join("t/flink")).unwrap();
        let scan = SourceFilter::default()
            .scan(d.path(), SystemTime::now())
            .unwrap();
        assert_eq!(rels(&scan), ["t/f"]);
        assert_eq!(scan.skipped.len(), 3);
        assert!(
            scan.skipped
                .iter()
                .all(|s| s.reason == SkipReason::SymlinkNotFollowed)
        );

        let f = SourceFilter {
            follow_symlinks: true,
            ..Default::default()
        };
        let scan = f.scan(d.path(), SystemTime::now()).unwrap();
        assert_eq!(rels(&scan), ["t/f", "t/flink"]);
        assert_eq!(
            scan.skipped
                .iter()
                .filter(|s| s.reason == SkipReason::SymlinkLoop)
                .count(),
            2
        );
    }

    #[test]
    fn a_missing_or_non_directory_source_is_refused() {
        let d = tree(&[("file", "x")]);
        let err = SourceFilter::default()
            .scan(&d.path().join("nope"), SystemTime::now())
            .unwrap_err();
        assert!(err.to_string().contains("is the disk mounted"), "{err}");
        let err = SourceFilter::default()
            .scan(&d.path().join("file"), SystemTime::now())
            .unwrap_err();
        assert!(err.to_string().contains("not a directory"), "{err}");
    }

    #[test]
    fn special_files_are_reported() {
        let d = tree(&[("a", "1")]);
        let sock = std::os::unix::net::UnixListener::bind(d.path().join("sock")).unwrap();
        let scan = SourceFilter::default()
            .scan(d.path(), SystemTime::now())
            .unwrap();
        drop(sock);
        assert_eq!(rels(&scan), ["a"]);
        assert_eq!(
            scan.skipped,
            vec![Skipped {
                rel: "sock".into(),
                reason: SkipReason::NotARegularFile
            }]
        );
    }

    #[test]
    fn a_bad_pattern_names_itself() {
        let d = tree(&[("a", "1")]);
        let f = SourceFilter {
            exclude: vec!["a{b".into()],
            ..Default::default()
        };
        let err = f.scan(d.path(), SystemTime::now()).unwrap_err();
        assert!(err.to_string().contains("\"a{b\""), "{err}");
    }
}
