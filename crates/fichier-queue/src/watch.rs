//! Folder watch: one pass over a watched directory, queueing the links of every `.crawljob`
//! and `.txt` file dropped there, then moving each file out of the way (`added/`, or
//! `failed/` with a `.reason` file) so nothing is imported twice. A file still being written
//! (too young, or changing while read) is left for the next pass. The daemon calls
//! [`import_dir`] every few seconds.

use std::ffi::OsString;
use std::path::{Component, Path, PathBuf};
use std::time::{Duration, SystemTime};

use crate::crawljob::{self, CrawlJob};
use crate::links::normalise_link;
use crate::store::{AddOutcome, NewItem, QueueError, QueueStore};

/// A file younger than this may still be being written.
pub const SETTLE: Duration = Duration::from_secs(2);

/// Larger files are no link lists (a link is under 100 bytes): refused without being read.
pub const MAX_FILE: u64 = 16 << 20;

/// What one pass did.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ImportReport {
    /// Files imported (now in `added/`) and how many items each added.
    pub imported: Vec<(PathBuf, usize)>,
    /// Files refused (now in `failed/`, reason beside) and why.
    pub failed: Vec<(PathBuf, String)>,
    /// Things a person may want to know (unknown fields, duplicates, lines that are not links).
    pub warnings: Vec<String>,
}

/// Imports every settled `*.crawljob` / `*.txt` file of `dir` into `store`; relative
/// `downloadFolder`s and files without one go under `default_target`. Only a queue error
/// (the database) fails the pass; a bad file is moved to `failed/` and reported.
pub fn import_dir(
    store: &QueueStore,
    dir: &Path,
    default_target: &Path,
) -> Result<ImportReport, QueueError> {
    import_dir_at(store, dir, default_target, SystemTime::now())
}

pub(crate) fn import_dir_at(
    store: &QueueStore,
    dir: &Path,
    default_target: &Path,
    now: SystemTime,
) -> Result<ImportReport, QueueError> {
    let io = |e: std::io::Error| QueueError::Io {
        path: dir.display().to_string(),
        source: e,
    };
    let mut report = ImportReport::default();
    let mut names: Vec<OsString> = std::fs::read_dir(dir)
        .map_err(io)?
        .filter_map(|e| e.ok().map(|e| e.file_name()))
        .collect();
    names.sort();
    for name in names {
        let path = dir.join(&name);
        let Some(kind) = kind_of(&name) else {
            continue;
        };
        // Regular files only: a symlink could point anywhere, a directory is not a list.
        let Ok(before) = std::fs::symlink_metadata(&path) else {
            continue;
        };
        if !before.file_type().is_file() {
            continue;
        }
        let modified = before.modified().unwrap_or(now);
        if now.duration_since(modified).unwrap_or_default() < SETTLE {
            continue;
        }
        if before.len() > MAX_FILE {
            let reason = format!("larger than {} MiB: not a link list", MAX_FILE >> 20);
            let moved = move_aside(dir, &name, "failed", Some(&reason)).map_err(io)?;
            report.failed.push((moved, reason));
            continue;
        }
        let Ok(bytes) = std::fs::read(&path) else {
            continue;
        };
        let Ok(after) = std::fs::symlink_metadata(&path) else {
            continue;
        };
        if after.len() != before.len()
            || bytes.len() as u64 != after.len()
            || after.modified().ok() != before.modified().ok()
        {
            continue;
        }
        let shown = name.to_string_lossy().into_owned();
        let jobs = match String::from_utf8(bytes)
            .map_err(|_| "not UTF-8 text".to_owned())
            .and_then(|text| jobs_of(kind, &text, &shown, &mut report.warnings))
        {
            Ok(jobs) => jobs,
            Err(reason) => {
                let moved = move_aside(dir, &name, "failed", Some(&reason)).map_err(io)?;
                report.failed.push((moved, reason));
                continue;
            }
        };
        let origin = format!("watch:{shown}");
        match add_jobs(
            store,
            &jobs,
            default_target,
            &origin,
            &shown,
            &mut report.warnings,
        )? {
            Ok(n) => {
                let moved = move_aside(dir, &name, "added", None).map_err(io)?;
                report.imported.push((moved, n));
            }
            Err(reason) => {
                let moved = move_aside(dir, &name, "failed", Some(&reason)).map_err(io)?;
                report.failed.push((moved, reason));
            }
        }
    }
    Ok(report)
}

#[derive(Clone, Copy)]
enum Kind {
    Crawljob,
    Text,
}

fn kind_of(name: &std::ffi::OsStr) -> Option<Kind> {
    let p = Path::new(name);
    if name.to_string_lossy().starts_with('.') {
        return None;
    }
    let ext = p.extension()?.to_str()?.to_ascii_lowercase();
    match ext.as_str() {
        "crawljob" => Some(Kind::Crawljob),
        "txt" => Some(Kind::Text),
        _ => None,
    }
}

/// The jobs of one file; `Err` is the reason the whole file is refused.
fn jobs_of(
    kind: Kind,
    text: &str,
    shown: &str,
    warnings: &mut Vec<String>,
) -> Result<Vec<CrawlJob>, String> {
    match kind {
        Kind::Crawljob => {
            let parsed = crawljob::parse(text).map_err(|e| e.to_string())?;
            warnings.extend(parsed.warnings.into_iter().map(|w| format!("{shown}: {w}")));
            Ok(parsed.jobs)
        }
        Kind::Text => {
            let package = Path::new(shown)
                .file_stem()
                .map(|s| s.to_string_lossy().into_owned());
            let mut jobs = Vec::new();
            for (i, line) in text.lines().enumerate() {
                let line = line.trim();
                if line.is_empty() || line.starts_with('#') {
                    continue;
                }
                if normalise_link(line).is_none() {
                    warnings.push(format!(
                        "{shown}: line {}: not a 1fichier link, skipped",
                        i + 1
                    ));
                    continue;
                }
                jobs.push(CrawlJob {
                    text: line.to_owned(),
                    package_name: package.clone(),
                    ..CrawlJob::default()
                });
            }
            if jobs.is_empty() {
                return Err("no 1fichier link in the file".to_owned());
            }
            Ok(jobs)
        }
    }
}

/// The local directory a job asks for: absolute as given, relative under `default_target`
/// (never above it).
pub fn job_target(job: &CrawlJob, default_target: &Path) -> Result<PathBuf, String> {
    let Some(folder) = job.download_folder.as_deref() else {
        return Ok(default_target.to_path_buf());
    };
    if folder.chars().any(char::is_control) {
        return Err("`downloadFolder` holds control characters".to_owned());
    }
    let p = Path::new(folder);
    if p.is_absolute() {
        return Ok(p.to_path_buf());
    }
    if p.components()
        .any(|c| !matches!(c, Component::Normal(_) | Component::CurDir))
    {
        return Err(format!(
            "`downloadFolder` {folder:?} goes above the download directory"
        ));
    }
    Ok(default_target.join(p))
}

/// Adds every link of `jobs`: `Ok(added)`, or `Err(reason)` when a link is not a 1fichier
/// link or a folder is refused (then nothing of this file was added).
fn add_jobs(
    store: &QueueStore,
    jobs: &[CrawlJob],
    default_target: &Path,
    origin: &str,
    shown: &str,
    warnings: &mut Vec<String>,
) -> Result<Result<usize, String>, QueueError> {
    // Check everything first, so a bad file adds nothing.
    let mut items: Vec<NewItem> = Vec::new();
    for (n, job) in jobs.iter().enumerate() {
        let target = match job_target(job, default_target) {
            Ok(t) => t,
            Err(e) => return Ok(Err(format!("job {}: {e}", n + 1))),
        };
        for link in job.links() {
            let Some(source) = normalise_link(link) else {
                return Ok(Err(format!(
                    "job {}: {:?} is not a 1fichier link",
                    n + 1,
                    link.chars().take(80).collect::<String>()
                )));
            };
            // A shared folder is queued as is; the runner queues its files (crate::intake).
            items.push(job.item(source, target.clone(), origin));
        }
    }
    let mut added = 0;
    for item in items {
        let source = item.source.clone();
        match store.add(item) {
            Ok(AddOutcome::Added(_)) => added += 1,
            Ok(AddOutcome::Duplicate { why, .. }) => {
                warnings.push(format!("{shown}: {source} not added: {why}"));
            }
            Err(QueueError::BadInput(e)) => warnings.push(format!("{shown}: {e}")),
            Err(e) => return Err(e),
        }
    }
    Ok(Ok(added))
}

/// Moves `dir/name` into `dir/sub/` under a free name (never over an existing file), with
/// `reason` written beside it. Returns the new path.
fn move_aside(
    dir: &Path,
    name: &std::ffi::OsStr,
    sub: &str,
    reason: Option<&str>,
) -> std::io::Result<PathBuf> {
    let to_dir = dir.join(sub);
    std::fs::create_dir_all(&to_dir)?;
    let mut target = to_dir.join(name);
    let mut n = 1u32;
    while std::fs::symlink_metadata(&target).is_ok()
        || (reason.is_some() && std::fs::symlink_metadata(reason_path(&target)).is_ok())
    {
        let mut alt = OsString::from(name);
        alt.push(format!(".{n}"));
        target = to_dir.join(alt);
        n += 1;
    }
    std::fs::rename(dir.join(name), &target)?;
    if let Some(reason) = reason {
        std::fs::write(reason_path(&target), format!("{reason}\n"))?;
    }
    Ok(target)
}

fn reason_path(p: &Path) -> PathBuf {
    let mut s = p.as_os_str().to_owned();
    s.push(".reason");
    PathBuf::from(s)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::State;

    fn setup() -> (tempfile::TempDir, QueueStore, PathBuf) {
        let d = tempfile::tempdir().unwrap();
        let store = QueueStore::open(&d.path().join("q.sqlite")).unwrap();
        let watch = d.path().join("watch");
        std::fs::create_dir(&watch).unwrap();
        (d, store, watch)
    }

    fn later() -> SystemTime {
        SystemTime::now() + Duration::from_secs(10)
    }

    #[test]
    fn imports_both_syntaxes_and_text_lists_once() {
        let (d, s, w) = setup();
        std::fs::write(
            w.join("a.crawljob"),
            "text=https://1fichier.com/?aaaaa\npackageName=P\nautoStart=FALSE\nfoo=1\n",
        )
        .unwrap();
        std::fs::write(
            w.join("b.crawljob"),
            r#"[{"text":"https://megadl.fr/?bbbbb","downloadFolder":"sub","priority":"HIGH"}]"#,
        )
        .unwrap();
        std::fs::write(
            w.join("links.txt"),
            "# mine\nhttps://1fichier.com/?ccccc\nnot a link\n\nhttps://1fichier.com/?aaaaa\n",
        )
        .unwrap();
        std::fs::write(w.join("ignored.doc"), "https://1fichier.com/?ddddd").unwrap();
        let target = d.path().join("dl");
        let r = import_dir_at(&s, &w, &target, later()).unwrap();
        assert_eq!(r.failed, vec![]);
        let counts: Vec<_> = r
            .imported
            .iter()
            .map(|(p, n)| (p.file_name().unwrap().to_string_lossy().into_owned(), *n))
            .collect();
        assert_eq!(
            counts,
            vec![
                ("a.crawljob".into(), 1),
                ("b.crawljob".into(), 1),
                ("links.txt".into(), 1)
            ]
        );
        assert!(
            r.warnings.iter().any(|w| w.contains("foo")),
            "{:?}",
            r.warnings
        );
        assert!(
            r.warnings.iter().any(|w| w.contains("line 3")),
            "{:?}",
            r.warnings
        );
        assert!(
            r.warnings.iter().any(|w| w.contains("already queued")),
            "{:?}",
            r.warnings
        );
        let items = s.list().unwrap();
        assert_eq!(items.len(), 3);
        let b = items.iter().find(|i| i.source.ends_with("bbbbb")).unwrap();
        assert_eq!(b.target_dir, target.join("sub"));
        assert_eq!(b.priority, 1);
        assert_eq!(b.origin, "watch:b.crawljob");
        let a = items.iter().find(|i| i.source.ends_with("aaaaa")).unwrap();
        assert_eq!(a.state, State::Paused);
        assert_eq!(a.package.as_deref(), Some("P"));
        let c = items.iter().find(|i| i.source.ends_with("ccccc")).unwrap();
        assert_eq!(c.package.as_deref(), Some("links"));
        assert!(w.join("added/a.crawljob").is_file());
        assert!(!w.join("a.crawljob").exists());
        assert!(w.join("ignored.doc").exists());
        // a second pass finds nothing
        let again = import_dir_at(&s, &w, &target, later()).unwrap();
        assert_eq!(again, ImportReport::default());
        assert_eq!(s.list().unwrap().len(), 3);
    }

    #[test]
    fn a_shared_folder_link_is_queued_for_the_runner_to_expand_and_a_disabled_job_starts_paused() {
        let (d, s, w) = setup();
        std::fs::write(w.join("folder.txt"), "https://1fichier.com/dir/AbCd1234\n").unwrap();
        std::fs::write(
            w.join("off.crawljob"),
            "text=https://1fichier.com/?ddddd\nenabled=false\n",
        )
        .unwrap();
        let r = import_dir_at(&s, &w, d.path(), later()).unwrap();
        assert_eq!(r.failed, vec![]);
        let items = s.list().unwrap();
        assert_eq!(items.len(), 2);
        let folder = items.iter().find(|i| i.source.contains("/dir/")).unwrap();
        assert_eq!(folder.state, crate::State::Queued);
        let off = items.iter().find(|i| i.source.ends_with("ddddd")).unwrap();
        assert_eq!(
            off.state,
            crate::State::Paused,
            "paused in the same transaction"
        );
    }

    #[test]
    fn malformed_files_go_to_failed_with_a_reason_and_add_nothing() {
        let (d, s, w) = setup();
        std::fs::write(
            w.join("bad.crawljob"),
            "text=https://1fichier.com/?aaaaa\nenabled=perhaps\n",
        )
        .unwrap();
        std::fs::write(
            w.join("mixed.crawljob"),
            "text=https://1fichier.com/?bbbbb https://evil.example/?x\n",
        )
        .unwrap();
        std::fs::write(
            w.join("up.crawljob"),
            "text=https://1fichier.com/?ccccc\ndownloadFolder=../../etc\n",
        )
        .unwrap();
        std::fs::write(w.join("empty.txt"), "nothing here\n").unwrap();
        std::fs::write(w.join("bin.txt"), [0xff, 0xfe, 0x00]).unwrap();
        let r = import_dir_at(&s, &w, d.path(), later()).unwrap();
        assert_eq!(r.imported, vec![]);
        assert_eq!(r.failed.len(), 5);
        assert!(
            s.list().unwrap().is_empty(),
            "nothing of a bad file is added"
        );
        let reason = std::fs::read_to_string(w.join("failed/bad.crawljob.reason")).unwrap();
        assert!(
            reason.contains("line 2") && reason.contains("enabled"),
            "{reason}"
        );
        let reason = std::fs::read_to_string(w.join("failed/up.crawljob.reason")).unwrap();
        assert!(reason.contains("above"), "{reason}");
        assert!(w.join("failed/mixed.crawljob").is_file());
        // the same name failing again does not overwrite the first
        std::fs::write(w.join("bad.crawljob"), "nonsense\n").unwrap();
        import_dir_at(&s, &w, d.path(), later()).unwrap();
        assert!(w.join("failed/bad.crawljob.1").is_file());
        assert!(w.join("failed/bad.crawljob.1.reason").is_file());
        assert!(
            std::fs::read_to_string(w.join("failed/bad.crawljob"))
                .unwrap()
                .contains("perhaps")
        );
    }

    #[test]
    #[cfg(unix)]
    fn young_files_symlinks_and_hostile_names() {
        let (d, s, w) = setup();
        std::fs::write(w.join("young.txt"), "https://1fichier.com/?aaaaa\n").unwrap();
        let r = import_dir_at(&s, &w, d.path(), SystemTime::now()).unwrap();
        assert_eq!(r, ImportReport::default(), "a file just written waits");
        assert!(w.join("young.txt").exists());

        let outside = d.path().join("outside.txt");
        std::fs::write(&outside, "https://1fichier.com/?bbbbb\n").unwrap();
        std::os::unix::fs::symlink(&outside, w.join("link.txt")).unwrap();
        let hostile = "<b>x<\\b>\n\u{1b}[2J$(rm -rf ~).txt";
        std::fs::write(w.join(hostile), "https://1fichier.com/?ccccc\n").unwrap();
        std::fs::create_dir(w.join("dir.txt")).unwrap();
        let big = std::fs::File::create(w.join("big.txt")).unwrap();
        big.set_len(MAX_FILE + 1).unwrap();
        let r = import_dir_at(&s, &w, d.path(), later()).unwrap();
        let mut sources: Vec<_> = s.list().unwrap().into_iter().map(|i| i.source).collect();
        sources.sort();
        assert_eq!(
            sources,
            vec!["https://1fichier.com/?aaaaa", "https://1fichier.com/?ccccc"]
        );
        assert_eq!(r.imported.len(), 2);
        assert_eq!(r.failed.len(), 1);
        assert!(r.failed[0].1.contains("larger than"), "{:?}", r.failed);
        assert!(w.join("added").join(hostile).is_file());
        assert!(w.join("link.txt").exists(), "symlinks are left alone");
        assert!(outside.exists());
        assert!(w.join("dir.txt").is_dir());
    }

    #[test]
    fn job_targets_stay_under_the_default_unless_absolute() {
        let job = |f: &str| CrawlJob {
            download_folder: Some(f.into()),
            ..CrawlJob::default()
        };
        let base = Path::new("/dl");
        assert_eq!(
            job_target(&job("a/b"), base).unwrap(),
            PathBuf::from("/dl/a/b")
        );
        assert_eq!(
            job_target(&job("/srv/x"), base).unwrap(),
            PathBuf::from("/srv/x")
        );
        assert!(job_target(&job("a/../../x"), base).is_err());
        assert!(job_target(&job("a\nb"), base).is_err());
        assert_eq!(
            job_target(&CrawlJob::default(), base).unwrap(),
            PathBuf::from("/dl")
        );
    }
}
