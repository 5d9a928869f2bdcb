//! Downloads: turn what the user gave (file links on any domain, remote paths, remote folders
//! with `-r`, public shared-folder links, `--input` lists) into files with a safe local
//! destination, then fetch them with `-j` files in parallel under the global connection cap.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use fichier_api::{
    DOMAINS, Expect, FileEntry, FileLink, FolderId, Node, Password, RemotePath, WalkKind,
    WalkOptions,
};
use futures_util::StreamExt;

use crate::engine::Engine;
use crate::error::{ErrorClass, TransferError};
use crate::events::{Event, EventSink, FileId};
use crate::fetch::{FetchOpts, Fetched, FileJob};
use crate::names::{LocalNames, join_inside, safe_local_name};
use crate::summary::Summary;

/// One thing to download, as the user named it.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum DownloadInput {
    /// A file link (`https://1fichier.com/?id`, any of the 11 domains).
    Link(FileLink),
    /// A path in the account (`/Backups/db.tar`, `id:123/sub`, or a folder with `-r`), read
    /// by the library's one path rule (`.`/`..` included).
    Path(RemotePath),
    /// A public shared folder (`https://1fichier.com/dir/<id>`).
    SharedFolder(String),
    /// A file whose name, size and whirlpool the caller already knows (a backup manifest):
    /// no `file/info` is asked, and the bytes are verified against this whirlpool.
    Known {
        /// The file's link.
        link: FileLink,
        /// The local name to give it.
        name: String,
        /// Size in bytes.
        size: u64,
        /// Whirlpool, lowercase hex.
        whirlpool: String,
    },
}

impl DownloadInput {
    /// Parses one argument or `--input` line: a shared-folder link, a file link, or a path.
    pub fn parse(text: &str) -> Result<DownloadInput, String> {
        let t = text.trim();
        let lower = t.to_ascii_lowercase();
        let bare = lower
            .strip_prefix("https://")
            .or_else(|| lower.strip_prefix("http://"))
            .unwrap_or(&lower);
        let bare = bare.strip_prefix("www.").unwrap_or(bare);
        let host = bare.split(['/', '?']).next().unwrap_or("");
        if DOMAINS.contains(&host) && bare[host.len()..].starts_with("/dir/") {
            return Ok(DownloadInput::SharedFolder(t.to_owned()));
        }
        let looks_like_url = lower.starts_with("http://")
            || lower.starts_with("https://")
            || DOMAINS.contains(&host)
            || host.ends_with(".1fichier.com");
        if looks_like_url {
            let with_scheme = if lower.starts_with("http") {
                t.to_owned()
            } else {
                format!("https://{t}")
            };
            return FileLink::parse(&with_scheme)
                .map(DownloadInput::Link)
                .map_err(|e| e.to_string());
        }
        RemotePath::parse(t)
            .map(DownloadInput::Path)
            .map_err(|e| format!("{t:?}: {e}"))
    }

    /// How to show it.
    pub fn display(&self) -> String {
        match self {
            DownloadInput::Link(l) => l.to_string(),
            DownloadInput::Path(p) => p.to_string(),
            DownloadInput::SharedFolder(s) => s.clone(),
            DownloadInput::Known { link, .. } => link.to_string(),
        }
    }
}

/// The meaningful lines of an `--input` file: trimmed, without blank lines and `#` comments.
pub fn input_lines(text: &str) -> Vec<String> {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(str::to_owned)
        .collect()
}

/// How to download.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct DownloadOptions {
    /// Output directory (created when missing). Nothing is written outside it.
    pub out_dir: PathBuf,
    /// Files downloaded in parallel.
    pub jobs: usize,
    /// Connections per file; `None` = 3 for files of 64 MiB and more, else 1 (at most 20).
    pub segments: Option<u32>,
    /// Compare the whirlpool with `file/info` before renaming `.part` into place.
    pub verify: bool,
    /// Replace existing different files.
    pub overwrite: bool,
    /// Download folders (remote paths) recursively.
    pub recursive: bool,
    /// Password of protected files and of shared folders.
    pub password: Option<Password>,
    /// Renew a download token after this age even if it still works (tokens last ~5 min).
    pub token_max_age: Duration,
}

impl DownloadOptions {
    /// Defaults writing into `out_dir`.
    pub fn new(out_dir: impl Into<PathBuf>) -> Self {
        DownloadOptions {
            out_dir: out_dir.into(),
            jobs: 2,
            segments: None,
            verify: true,
            overwrite: false,
            recursive: false,
            password: None,
            token_max_age: Duration::from_secs(270),
        }
    }
}

struct Resolver<'a> {
    engine: &'a Engine,
    opts: &'a DownloadOptions,
    events: &'a dyn EventSink,
    next_id: FileId,
    used: LocalNames,
    jobs: Vec<FileJob>,
    summary: Summary,
}

impl Resolver<'_> {
    fn id(&mut self) -> FileId {
        self.next_id += 1;
        self.next_id - 1
    }

    fn fail(&mut self, name: &str, e: TransferError) {
        let id = self.id();
        self.events.event(Event::failed(id, name.to_owned(), &e));
        if matches!(e.class, ErrorClass::Auth | ErrorClass::Flood) && self.summary.stopped.is_none()
        {
            self.summary.stopped = Some(e.clone());
        }
        self.summary.fail(name, &e);
    }

    /// A destination for `remote_name` in `dir` (relative components, already safe), made
    /// unique within the run when two remote files share a name.
    fn dest(&mut self, dir: &[String], remote_name: &str, link: &FileLink) -> Option<PathBuf> {
        let tag = link.id().unwrap_or("dup");
        self.used.claim(&self.opts.out_dir, dir, remote_name, tag)
    }

    fn push(
        &mut self,
        display: String,
        entry_link: FileLink,
        name: &str,
        size: u64,
        checksum: Option<String>,
        dir: &[String],
    ) {
        let Some(dest) = self.dest(dir, name, &entry_link) else {
            self.fail(
                &display,
                TransferError::new(
                    ErrorClass::Permanent,
                    format!("{display}: unusable file name {name:?}"),
                ),
            );
            return;
        };
        let id = self.id();
        self.events.event(Event::Queued {
            id,
            name: display.clone(),
            size: Some(size),
        });
        self.jobs.push(FileJob {
            id,
            display,
            link: entry_link,
            password: self.opts.password.clone(),
            size,
            checksum,
            dest,
            root: self.opts.out_dir.clone(),
        });
    }

    fn push_entry(&mut self, display: String, e: &FileEntry, dir: &[String]) {
        self.push(
            display,
            e.link.clone(),
            &e.filename,
            e.size,
            e.checksum.clone(),
            dir,
        );
    }

    async fn resolve(&mut self, input: &DownloadInput) {
        let display = input.display();
        let result = match input {
            DownloadInput::Link(link) => self.resolve_link(link).await,
            DownloadInput::Path(p) => self.resolve_path(p).await,
            DownloadInput::SharedFolder(url) => self.resolve_shared(url).await,
            DownloadInput::Known {
                link,
                name,
                size,
                whirlpool,
            } => {
                let checksum = Some(whirlpool.clone());
                self.push(display.clone(), link.clone(), name, *size, checksum, &[]);
                Ok(())
            }
        };
        if let Err(e) = result {
            let e = TransferError {
                message: format!("{display}: {}", e.message),
                ..e
            };
            self.fail(&display, e);
        }
    }

    async fn resolve_link(&mut self, link: &FileLink) -> Result<(), TransferError> {
        let info = self
            .engine
            .client()
            .file_info(link, self.opts.password.as_ref())
            .await?;
        self.push(
            link.to_string(),
            link.clone(),
            &info.filename,
            info.size,
            info.checksum,
            &[],
        );
        Ok(())
    }

    async fn resolve_path(&mut self, path: &RemotePath) -> Result<(), TransferError> {
        let here = path.to_string();
        match self.engine.tree().resolve(path, Expect::Any).await? {
            Node::File { entry, .. } => {
                self.push_entry(here, &entry, &[]);
                Ok(())
            }
            Node::Folder { id, .. } => {
                let base = match path.last_name() {
                    _ if path.is_root() => Vec::new(),
                    Some(n) => vec![safe_local_name(n)],
                    // `id:N`: the folder's own name.
                    None => vec![safe_local_name(&self.engine.listing(id).await?.name)],
                };
                self.resolve_folder(id, base, &here).await
            }
            _ => Err(TransferError::new(
                ErrorClass::Permanent,
                "not a file or folder",
            )),
        }
    }

    /// Every file under `folder`, into local `dir` (one listing per folder).
    async fn resolve_folder(
        &mut self,
        folder: FolderId,
        dir: Vec<String>,
        shown: &str,
    ) -> Result<(), TransferError> {
        if !self.opts.recursive {
            return Err(
                TransferError::new(ErrorClass::Permanent, "this is a folder")
                    .problem(crate::error::Problem::RemoteFolder),
            );
        }
        // The tree's walk, pre-order: each folder's files, then its sub-folders. A folder that
        // cannot be listed fails (as one item) and the rest still downloads.
        let shown = shown.trim_end_matches('/');
        let opts = WalkOptions::new().continue_on_failed_listing(true);
        let walk = self
            .engine
            .tree()
            .walk(folder, &RemotePath::root(), &opts)
            .await?;
        let unseen: Vec<FolderId> = walk.failed.iter().map(|f| f.id).collect();
        let local_dir = |rel: &RemotePath| {
            let mut d = dir.clone();
            d.extend(rel.components().iter().map(|n| safe_local_name(n)));
            d
        };
        // Empty folders are made too (not those that could not be listed); a link in the way
        // fails the files below it.
        let mut dirs = Vec::new();
        if !unseen.contains(&folder) {
            dirs.push(dir.clone());
        }
        for e in &walk.entries {
            match &e.kind {
                WalkKind::File(f) => {
                    let parent = e.path.parent().unwrap_or_default();
                    self.push_entry(format!("{shown}{}", e.path), f, &local_dir(&parent));
                }
                WalkKind::Folder(f) if !unseen.contains(&f.id) => dirs.push(local_dir(&e.path)),
                _ => {}
            }
        }
        for d in dirs {
            if let Some(local) = join_inside(&self.opts.out_dir, &d) {
                let root = self.opts.out_dir.clone();
                let _ = tokio::task::spawn_blocking(move || {
                    crate::names::ensure_dir_inside(&root, &local)
                })
                .await;
            }
        }
        for f in walk.failed {
            let path = if f.path.is_root() {
                String::new()
            } else {
                f.path.to_string()
            };
            self.fail(&format!("{shown}{path}/"), f.error.into());
        }
        Ok(())
    }

    async fn resolve_shared(&mut self, url: &str) -> Result<(), TransferError> {
        let files = self
            .engine
            .client()
            .shared_folder_ls(url, self.opts.password.as_ref())
            .await?;
        for f in files {
            // The listing has no checksum: file/info gives it (verification needs it).
            let checksum = if self.opts.verify {
                match self
                    .engine
                    .client()
                    .file_info(&f.link, self.opts.password.as_ref().filter(|_| f.password))
                    .await
                {
                    Ok(info) => info.checksum,
                    Err(e) => {
                        self.fail(&format!("{url} {}", f.filename), e.into());
                        continue;
                    }
                }
            } else {
                None
            };
            self.push(
                f.link.to_string(),
                f.link.clone(),
                &f.filename,
                f.size,
                checksum,
                &[],
            );
        }
        Ok(())
    }
}

impl Engine {
    /// Downloads `inputs` into `opts.out_dir`: resolves every input first (per-input errors go
    /// to `events` and the summary), then fetches the files, `opts.jobs` at a time.
    pub async fn download(
        &self,
        inputs: &[DownloadInput],
        opts: &DownloadOptions,
        events: Arc<dyn EventSink>,
    ) -> Summary {
        let started = std::time::Instant::now();
        let calls_before = self.calls_since(0).await;
        let mut r = Resolver {
            engine: self,
            opts,
            events: events.as_ref(),
            next_id: 0,
            used: LocalNames::default(),
            jobs: Vec::new(),
            summary: Summary::default(),
        };
        if let Err(e) = tokio::fs::create_dir_all(&opts.out_dir).await {
            let e = TransferError::io(&format!("cannot create {}", opts.out_dir.display()), &e);
            r.summary.stopped = Some(e.clone());
            r.fail(&opts.out_dir.display().to_string(), e);
        } else {
            for input in inputs {
                if r.summary.stopped.is_some() {
                    break;
                }
                r.resolve(input).await;
            }
        }
        let Resolver {
            jobs, mut summary, ..
        } = r;
        let fetch_opts = FetchOpts {
            segments: opts.segments,
            verify: opts.verify,
            overwrite: opts.overwrite,
            token_max_age: opts.token_max_age,
        };
        let stop: std::sync::Mutex<Option<TransferError>> =
            std::sync::Mutex::new(summary.stopped.clone());
        let results: Vec<(FileJob, Result<Fetched, TransferError>)> =
            futures_util::stream::iter(jobs)
                .map(|job| {
                    let events = events.clone();
                    let fetch_opts = &fetch_opts;
                    let stop = &stop;
                    async move {
                        let stopped = stop.lock().unwrap_or_else(|p| p.into_inner()).clone();
                        let r = match stopped {
                            Some(e) => Err(TransferError {
                                message: format!("not downloaded: {}", e.message),
                                ..e
                            }),
                            None => self.fetch(&job, fetch_opts, events.clone()).await,
                        };
                        if let Err(e) = &r
                            && matches!(
                                e.class,
                                ErrorClass::Auth | ErrorClass::Flood | ErrorClass::DiskFull
                            )
                        {
                            stop.lock()
                                .unwrap_or_else(|p| p.into_inner())
                                .get_or_insert(e.clone());
                        }
                        match &r {
                            Ok(Fetched::Done { whirlpool }) => events.event(Event::Done {
                                id: job.id,
                                name: job.display.clone(),
                                size: job.size,
                                path: Some(job.dest.display().to_string()),
                                link: Some(job.link.to_string()),
                                whirlpool: whirlpool.clone(),
                                recovered: false,
                            }),
                            Ok(Fetched::Skipped(reason)) => events.event(Event::Skipped {
                                id: job.id,
                                name: job.display.clone(),
                                reason: reason.clone(),
                            }),
                            Err(e) => events.event(Event::failed(job.id, job.display.clone(), e)),
                        }
                        (job, r)
                    }
                })
                .buffer_unordered(opts.jobs.max(1))
                .collect()
                .await;
        for (job, r) in results {
            match r {
                Ok(Fetched::Done { .. }) => {
                    summary.done += 1;
                    summary.bytes += job.size;
                }
                Ok(Fetched::Skipped(_)) => summary.skipped += 1,
                Err(e) => summary.fail(&job.display, &e),
            }
        }
        if summary.stopped.is_none() {
            summary.stopped = stop.into_inner().unwrap_or_else(|p| p.into_inner());
        }
        summary.seconds = started.elapsed().as_secs_f64();
        summary.api_calls = self.calls_since(calls_before).await;
        summary
    }
}

/// True when `path` is inside `dir` (both as given; used by tests and the CLI).
pub fn is_inside(dir: &Path, path: &Path) -> bool {
    path.starts_with(dir)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_inputs() {
        assert!(matches!(
            DownloadInput::parse("https://alterupload.com/?abcde12345"),
            Ok(DownloadInput::Link(_))
        ));
        assert!(matches!(
            DownloadInput::parse("tenvoi.com/?abcde12345"),
            Ok(DownloadInput::Link(_))
        ));
        assert!(matches!(
            DownloadInput::parse("https://1fichier.com/dir/AbC123xy"),
            Ok(DownloadInput::SharedFolder(_))
        ));
        assert_eq!(
            DownloadInput::parse("/Backups//2026/db.tar"),
            Ok(DownloadInput::Path(RemotePath::from_names([
                "Backups", "2026", "db.tar"
            ])))
        );
        assert!(DownloadInput::parse("https://example.com/?abcde").is_err());
        // `..` means what it means everywhere else (the library's path rule).
        assert_eq!(
            DownloadInput::parse("/a/../b"),
            Ok(DownloadInput::Path(RemotePath::from_names(["b"])))
        );
        assert_eq!(
            input_lines("# list\n\n  https://1fichier.com/?abcde  \n#x\n/a\n"),
            vec!["https://1fichier.com/?abcde".to_owned(), "/a".to_owned()]
        );
    }
}
