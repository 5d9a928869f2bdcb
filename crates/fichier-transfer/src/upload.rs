//! Uploads: plan local files and trees, create the missing folders, skip identical files,
//! then upload with `-j` parallel workers (small files batched into one multipart request),
//! verify every file against the `end.pl` report and the folder, and retry without ever
//! leaving a duplicate or a damaged copy behind.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::SystemTime;

use std::future::Future;
use std::pin::Pin;

use fichier_api::{
    Domain, FileLink, FileRmRequest, FolderId, NodeAnswer, NodeFields, NodeFile, PartObserver,
    Password, RemotePath, UploadReport, same_whirlpool,
};
use futures_util::StreamExt;

use crate::engine::Engine;
use crate::error::{ErrorClass, TransferError};
use crate::events::{Event, EventSink, FileId};
use crate::hashing::hash_local_file;
use crate::names::remote_name_problem;
use crate::summary::Summary;

/// How to upload.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct UploadOptions {
    /// Files uploaded in parallel (each worker holds one request at a time).
    pub jobs: usize,
    /// Upload directories as folder trees.
    pub recursive: bool,
    /// Upload even when an identical file (same name, size, whirlpool) is already there.
    pub force: bool,
    /// Password protecting the uploaded files (`dpass`).
    pub password: Option<Password>,
    /// Domain of the resulting links.
    pub domain: Option<Domain>,
    /// Addresses to notify (`mails`, at most 20).
    pub mails: Vec<String>,
    /// Text of the notification (`message`, at most 2000 characters).
    pub message: Option<String>,
    /// Files up to this size are batched into one request (default 4 MiB).
    pub small_file: u64,
    /// Most files in one batched request (default 32; the service takes up to 500).
    pub batch_files: usize,
    /// Most bytes in one batched request (default 16 MiB).
    pub batch_bytes: u64,
    /// With `recursive`: follow symbolic links to directories (each directory is walked once,
    /// by device and inode, so link loops end). Off: such links are skipped with a notice.
    /// Links to files are always followed (the file's bytes are uploaded).
    pub follow_symlinks: bool,
}

impl Default for UploadOptions {
    fn default() -> Self {
        UploadOptions {
            jobs: 2,
            recursive: false,
            force: false,
            password: None,
            domain: None,
            mails: Vec::new(),
            message: None,
            small_file: 4 << 20,
            batch_files: 32,
            batch_bytes: 16 << 20,
            follow_symlinks: false,
        }
    }
}

/// The destination folder of an upload (it must exist; see [`Engine::ensure_folder_path`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UploadDest {
    /// Folder id (0 = root).
    pub folder: FolderId,
    /// Its path components, for display (`[]` = root).
    pub path: Vec<String>,
}

impl UploadDest {
    /// The root folder.
    pub fn root() -> Self {
        UploadDest {
            folder: 0,
            path: Vec::new(),
        }
    }
}

fn display_remote(components: &[String]) -> String {
    format!("/{}", components.join("/"))
}

/// A file found while planning.
#[derive(Debug, Clone)]
struct Planned {
    local: PathBuf,
    display: String,
    rel_dir: Vec<String>,
    name: String,
}

/// What planning found.
#[derive(Debug, Default)]
struct Plan {
    files: Vec<Planned>,
    dirs: BTreeSet<Vec<String>>,
    bad: Vec<(String, TransferError)>,
    /// Skipped symbolic links, one message each.
    notices: Vec<String>,
    /// Directories walked in the current source tree, by identity, so a followed link never
    /// walks one twice.
    visited: HashSet<DirId>,
}

/// A directory's identity: (device, inode) on Unix, the canonical path elsewhere.
#[cfg(unix)]
type DirId = (u64, u64);
#[cfg(not(unix))]
type DirId = PathBuf;

#[cfg(unix)]
fn dir_id(_path: &Path, meta: &std::fs::Metadata) -> DirId {
    use std::os::unix::fs::MetadataExt;
    (meta.dev(), meta.ino())
}
#[cfg(not(unix))]
fn dir_id(path: &Path, _meta: &std::fs::Metadata) -> DirId {
    std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf())
}

fn utf8_name(p: &Path) -> Result<String, TransferError> {
    p.file_name()
        .and_then(|n| n.to_str())
        .map(str::to_owned)
        .ok_or_else(|| {
            TransferError::new(
                ErrorClass::Local,
                format!(
                    "{}: the name is not valid UTF-8, which 1fichier cannot store",
                    p.display()
                ),
            )
            .hint("rename the file")
        })
}

/// Walks the sources (blocking). Directories need `recursive`; `dir/` (trailing slash) means
/// the directory's contents, `dir` the directory itself, as with rsync. Sources named on the
/// command line are followed when they are links; inside a tree, links to directories are
/// followed only with `follow` (see [`UploadOptions::follow_symlinks`]).
fn walk(sources: &[PathBuf], recursive: bool, follow: bool) -> Plan {
    let mut plan = Plan::default();
    for src in sources {
        let display = src.display().to_string();
        let meta = match std::fs::metadata(src) {
            Ok(m) => m,
            Err(e) => {
                plan.bad.push((
                    display.clone(),
                    TransferError::io(&format!("cannot read {display}"), &e),
                ));
                continue;
            }
        };
        if meta.is_file() {
            match utf8_name(src) {
                Ok(name) => plan.files.push(Planned {
                    local: src.clone(),
                    display,
                    rel_dir: Vec::new(),
                    name,
                }),
                Err(e) => plan.bad.push((display, e)),
            }
        } else if meta.is_dir() {
            if !recursive {
                plan.bad.push((
                    display.clone(),
                    TransferError::new(ErrorClass::Local, format!("{display} is a directory"))
                        .hint("add -r to upload it as a folder tree"),
                ));
                continue;
            }
            let contents_only =
                display.ends_with('/') || display.ends_with(std::path::MAIN_SEPARATOR);
            let root_rel = if contents_only {
                Vec::new()
            } else {
                let canonical = std::fs::canonicalize(src).unwrap_or_else(|_| src.clone());
                match utf8_name(&canonical) {
                    Ok(n) => vec![n],
                    Err(e) => {
                        plan.bad.push((display, e));
                        continue;
                    }
                }
            };
            // Each source is its own tree (the same directory may go to two places).
            plan.visited.clear();
            plan.visited.insert(dir_id(src, &meta));
            walk_dir(src, root_rel, follow, &mut plan);
        } else {
            plan.bad.push((
                display.clone(),
                TransferError::new(
                    ErrorClass::Local,
                    format!("{display} is not a regular file (device, socket or pipe)"),
                ),
            ));
        }
    }
    plan
}

fn walk_dir(dir: &Path, rel: Vec<String>, follow: bool, plan: &mut Plan) {
    if !rel.is_empty() {
        if let Some(problem) = rel.last().and_then(|n| remote_name_problem(n)) {
            plan.bad.push((
                dir.display().to_string(),
                TransferError::new(
                    ErrorClass::Local,
                    format!("{}: folder name cannot be stored: {problem}", dir.display()),
                ),
            ));
            return;
        }
        plan.dirs.insert(rel.clone());
    }
    let entries = match std::fs::read_dir(dir) {
        Ok(rd) => {
            let mut v: Vec<_> = rd.filter_map(Result::ok).collect();
            v.sort_by_key(|e| e.file_name());
            v
        }
        Err(e) => {
            let d = dir.display().to_string();
            plan.bad.push((
                d.clone(),
                TransferError::io(&format!("cannot read directory {d}"), &e),
            ));
            return;
        }
    };
    for entry in entries {
        let path = entry.path();
        let display = path.display().to_string();
        let is_link = entry.file_type().is_ok_and(|t| t.is_symlink());
        let meta = match std::fs::metadata(&path) {
            Ok(m) => m,
            Err(e) => {
                plan.bad.push((
                    display.clone(),
                    TransferError::io(&format!("cannot read {display}"), &e),
                ));
                continue;
            }
        };
        let name = match utf8_name(&path) {
            Ok(n) => n,
            Err(e) => {
                plan.bad.push((display, e));
                continue;
            }
        };
        if meta.is_dir() {
            if is_link && !follow {
                plan.notices.push(format!(
                    "skipped {display}: it is a symbolic link to a directory (add --follow-symlinks to upload what it points to)"
                ));
                continue;
            }
            if !plan.visited.insert(dir_id(&path, &meta)) {
                plan.notices.push(format!(
                    "skipped {display}: it leads to a directory already uploaded in this run (symbolic link loop)"
                ));
                continue;
            }
            let mut sub = rel.clone();
            sub.push(name);
            walk_dir(&path, sub, follow, plan);
        } else if meta.is_file() {
            plan.files.push(Planned {
                local: path,
                display,
                rel_dir: rel.clone(),
                name,
            });
        } else {
            plan.bad.push((
                display.clone(),
                TransferError::new(
                    ErrorClass::Local,
                    format!("{display} is not a regular file (device, socket or pipe)"),
                ),
            ));
        }
    }
}

/// One file to upload.
#[derive(Debug)]
struct Job {
    id: FileId,
    local: PathBuf,
    display: String,
    remote: String,
    name: String,
    folder: FolderId,
    size: u64,
    /// Links of files with the same name that were there before this run.
    before: HashSet<String>,
}

/// Where one file stands after an attempt.
enum JobState {
    Verified {
        link: FileLink,
        whirlpool: String,
        recovered: bool,
    },
    /// Copies stored by this attempt that do not match the local file.
    Bad(Vec<FileLink>),
    /// Verified, but the local file changed while it was read: the copy is not a snapshot.
    Changed(FileLink, String),
    /// Nothing stored.
    Missing,
    /// A local problem; retrying will not help.
    Local(TransferError),
}

/// The local file's identity at the start of an attempt, to detect changes while reading.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Stamp {
    len: u64,
    modified: Option<SystemTime>,
}

async fn stamp(path: &Path) -> std::io::Result<Stamp> {
    let m = tokio::fs::metadata(path).await?;
    Ok(Stamp {
        len: m.len(),
        modified: m.modified().ok(),
    })
}

/// Shared state of one upload run.
struct Run {
    events: Arc<dyn EventSink>,
    opts: UploadOptions,
    /// Links this run uploaded successfully: never treated as stray copies.
    done_links: Mutex<HashSet<String>>,
    /// Set on an error every other file would hit too.
    abort: Mutex<Option<TransferError>>,
    aborted: AtomicBool,
}

/// What finished, per job.
type Finished = (String, Result<Option<u64>, TransferError>);

impl Engine {
    /// Finds the folder at `components` from the root, creating what is missing (the
    /// library's `mkdir -p`: never picks one of two same-named folders, never creates a
    /// duplicate).
    pub async fn ensure_folder_path(
        &self,
        components: &[String],
    ) -> Result<FolderId, TransferError> {
        for name in components {
            if let Some(problem) = remote_name_problem(name) {
                return Err(TransferError::new(
                    ErrorClass::Permanent,
                    format!("folder name {name:?} cannot be stored: {problem}"),
                ));
            }
        }
        let path = RemotePath::from_names(components.iter().cloned());
        Ok(self.tree().ensure_folder(&path).await?.id)
    }

    /// Uploads `sources` (files, and directory trees with `opts.recursive`) into `dest`.
    ///
    /// Every file is reported through `events`; the returned summary lists what failed and
    /// why. A file counts as done only when the `end.pl` report (or, after an ambiguous
    /// failure, the folder) shows it with the local name, size and whirlpool.
    pub async fn upload(
        &self,
        sources: &[PathBuf],
        dest: &UploadDest,
        opts: &UploadOptions,
        events: Arc<dyn EventSink>,
    ) -> Summary {
        let started = std::time::Instant::now();
        let calls_before = self.client().pacer().calls_sent().await;
        let mut summary = Summary::default();
        self.forget_listings();
        let srcs = sources.to_vec();
        let (recursive, follow) = (opts.recursive, opts.follow_symlinks);
        let plan = tokio::task::spawn_blocking(move || walk(&srcs, recursive, follow))
            .await
            .unwrap_or_default();
        for message in &plan.notices {
            events.event(Event::Notice {
                message: message.clone(),
            });
        }
        let mut next_id: FileId = 0;
        for (name, e) in &plan.bad {
            let id = next_id;
            next_id += 1;
            events.event(Event::failed(id, name.clone(), e));
            summary.fail(name, e);
        }

        // Folders, parents first (BTreeSet order puts a prefix before its extensions).
        let mut folder_of: HashMap<Vec<String>, Result<FolderId, TransferError>> = HashMap::new();
        folder_of.insert(Vec::new(), Ok(dest.folder));
        let mut created: HashSet<FolderId> = HashSet::new();
        let mut wanted: BTreeSet<Vec<String>> = plan.dirs.clone();
        for f in &plan.files {
            for i in 1..=f.rel_dir.len() {
                wanted.insert(f.rel_dir[..i].to_vec());
            }
        }
        for rel in &wanted {
            let parent = folder_of
                .get(&rel[..rel.len() - 1])
                .cloned()
                .unwrap_or_else(|| {
                    Err(TransferError::new(
                        ErrorClass::Permanent,
                        "parent folder missing",
                    ))
                });
            let result = match parent {
                Err(e) => Err(e),
                Ok(pid) => {
                    self.child_folder(pid, &rel[rel.len() - 1], &mut created, dest, rel)
                        .await
                }
            };
            if let Ok(id) = &result
                && created.contains(id)
            {
                let mut full = dest.path.clone();
                full.extend(rel.iter().cloned());
                events.event(Event::Notice {
                    message: format!("created folder {}", display_remote(&full)),
                });
            }
            if let Err(e) = &result
                && matches!(e.class, ErrorClass::Auth | ErrorClass::Flood)
            {
                summary.stopped = Some(e.clone());
            }
            folder_of.insert(rel.clone(), result);
        }

        // Per-file checks and the skip decision.
        let mut jobs: Vec<Job> = Vec::new();
        for f in plan.files {
            let id = next_id;
            next_id += 1;
            let mut remote_parts = dest.path.clone();
            remote_parts.extend(f.rel_dir.iter().cloned());
            remote_parts.push(f.name.clone());
            let remote = display_remote(&remote_parts);
            let fail = |summary: &mut Summary, e: TransferError| {
                events.event(Event::failed(id, f.display.clone(), &e));
                summary.fail(&f.display, &e);
            };
            if let Some(stop) = summary.stopped.clone() {
                fail(&mut summary, stop);
                continue;
            }
            let folder = match folder_of.get(&f.rel_dir) {
                Some(Ok(id)) => *id,
                Some(Err(e)) => {
                    let e = TransferError {
                        message: format!("folder for {remote} unavailable: {}", e.message),
                        ..e.clone()
                    };
                    fail(&mut summary, e);
                    continue;
                }
                None => {
                    fail(
                        &mut summary,
                        TransferError::new(ErrorClass::Permanent, "folder not planned"),
                    );
                    continue;
                }
            };
            match self
                .check_file(&f, folder, &remote, created.contains(&folder), opts)
                .await
            {
                Ok(Check::Upload { size, before }) => {
                    events.event(Event::Queued {
                        id,
                        name: f.display.clone(),
                        size: Some(size),
                    });
                    jobs.push(Job {
                        id,
                        local: f.local,
                        display: f.display,
                        remote,
                        name: f.name,
                        folder,
                        size,
                        before,
                    });
                }
                Ok(Check::Skip(reason)) => {
                    events.event(Event::Skipped {
                        id,
                        name: f.display.clone(),
                        reason,
                    });
                    summary.skipped += 1;
                }
                Err(e) => {
                    if matches!(e.class, ErrorClass::Auth | ErrorClass::Flood) {
                        summary.stopped = Some(e.clone());
                    }
                    fail(&mut summary, e);
                }
            }
        }

        // Units: big files alone, small ones batched per folder.
        let units = make_units(jobs, opts);
        let run = Arc::new(Run {
            events: events.clone(),
            opts: opts.clone(),
            done_links: Mutex::new(HashSet::new()),
            abort: Mutex::new(summary.stopped.clone()),
            aborted: AtomicBool::new(summary.stopped.is_some()),
        });
        let results: Vec<Vec<Finished>> = futures_util::stream::iter(units)
            .map(|unit| {
                let run = run.clone();
                async move { self.run_unit(unit, &run).await }
            })
            .buffer_unordered(opts.jobs.max(1))
            .collect()
            .await;
        for (name, r) in results.into_iter().flatten() {
            match r {
                Ok(Some(bytes)) => {
                    summary.done += 1;
                    summary.bytes += bytes;
                }
                Ok(None) => summary.skipped += 1,
                Err(e) => summary.fail(&name, &e),
            }
        }
        if summary.stopped.is_none() {
            summary.stopped = run.abort.lock().unwrap_or_else(|p| p.into_inner()).clone();
        }
        summary.seconds = started.elapsed().as_secs_f64();
        summary.api_calls = self
            .client()
            .pacer()
            .calls_sent()
            .await
            .saturating_sub(calls_before);
        summary
    }

    async fn child_folder(
        &self,
        parent: FolderId,
        name: &str,
        created: &mut HashSet<FolderId>,
        dest: &UploadDest,
        rel: &[String],
    ) -> Result<FolderId, TransferError> {
        let mut parent_path = dest.path.clone();
        parent_path.extend(rel[..rel.len().saturating_sub(1)].iter().cloned());
        let parent_path = RemotePath::from_names(parent_path);
        let (id, made) = self
            .tree()
            .ensure_child(parent, &parent_path, name)
            .await
            .map_err(|e| {
                let e = TransferError::from(e);
                TransferError {
                    message: format!(
                        "cannot create folder {}: {}",
                        parent_path.join(name),
                        e.message
                    ),
                    ..e
                }
            })?;
        if made {
            created.insert(id);
        }
        Ok(id)
    }

    /// The checks before a file is queued: size, name, readability, identical copy present.
    async fn check_file(
        &self,
        f: &Planned,
        folder: FolderId,
        remote: &str,
        folder_is_new: bool,
        opts: &UploadOptions,
    ) -> Result<Check, TransferError> {
        let meta = tokio::fs::metadata(&f.local)
            .await
            .map_err(|e| TransferError::io(&format!("cannot read {}", f.display), &e))?;
        if meta.len() == 0 {
            // The reference: 1fichier refuses empty files (rclone does not send them either).
            return Ok(Check::Skip(format!(
                "{} is empty: 1fichier does not store zero-byte files; not sent",
                f.display
            )));
        }
        if let Some(problem) = remote_name_problem(&f.name) {
            return Err(TransferError::new(
                ErrorClass::Local,
                format!(
                    "{}: name cannot be stored on 1fichier: {problem}",
                    f.display
                ),
            )
            .hint("rename the file"));
        }
        if let Err(e) = tokio::fs::File::open(&f.local).await {
            return Err(TransferError::io(&format!("cannot read {}", f.display), &e));
        }
        let mut before = HashSet::new();
        if !folder_is_new {
            let listing = self.listing(folder).await?;
            let same: Vec<_> = listing
                .items
                .iter()
                .filter(|e| e.filename == f.name)
                .collect();
            if !opts.force && same.iter().any(|e| e.size == meta.len()) {
                let local = hash_local_file(f.local.clone())
                    .await
                    .map_err(|e| TransferError::io(&format!("cannot read {}", f.display), &e))?;
                if same.iter().any(|e| {
                    e.size == meta.len()
                        && e.checksum
                            .as_deref()
                            .is_some_and(|c| same_whirlpool(c, &local))
                }) {
                    return Ok(Check::Skip(format!(
                        "an identical file is already at {remote}"
                    )));
                }
            }
            before = same.iter().map(|e| e.link.as_str().to_owned()).collect();
        }
        Ok(Check::Upload {
            size: meta.len(),
            before,
        })
    }

    async fn run_unit(&self, unit: Vec<Job>, run: &Run) -> Vec<Finished> {
        let mut out = Vec::new();
        let mut singles: Vec<Job> = Vec::new();
        if run.aborted.load(Ordering::Relaxed) {
            return self.not_attempted(unit, run);
        }
        if unit.len() > 1 {
            // One try as a batch; whatever it did not settle is retried file by file.
            let refs: Vec<&Job> = unit.iter().collect();
            let (states, err) = self.attempt(&refs, run).await;
            for (job, state) in unit.into_iter().zip(states) {
                match self.settle(&job, state, run).await {
                    Settled::Done(r) => out.push((job.display.clone(), r)),
                    Settled::Retry(e) => {
                        tracing::debug!("batch left {} unsettled: {}", job.display, e.message);
                        singles.push(job);
                    }
                }
            }
            if let Some(e) = err
                && matches!(e.class, ErrorClass::Auth | ErrorClass::Flood)
            {
                self.stop(run, &e);
            }
        } else {
            singles = unit;
        }
        for job in singles {
            if run.aborted.load(Ordering::Relaxed) {
                out.extend(self.not_attempted(vec![job], run));
                continue;
            }
            let r = self.upload_single(&job, run).await;
            out.push((job.display.clone(), r));
        }
        out
    }

    fn not_attempted(&self, jobs: Vec<Job>, run: &Run) -> Vec<Finished> {
        let stop = run
            .abort
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
            .unwrap_or_else(|| TransferError::new(ErrorClass::Permanent, "stopped"));
        jobs.into_iter()
            .map(|job| {
                let e = TransferError {
                    message: format!("not uploaded: {}", stop.message),
                    ..stop.clone()
                };
                run.events
                    .event(Event::failed(job.id, job.display.clone(), &e));
                (job.display, Err(e))
            })
            .collect()
    }

    fn stop(&self, run: &Run, e: &TransferError) {
        let mut a = run.abort.lock().unwrap_or_else(|p| p.into_inner());
        if a.is_none() {
            *a = Some(e.clone());
        }
        run.aborted.store(true, Ordering::Relaxed);
    }

    async fn upload_single(&self, job: &Job, run: &Run) -> Result<Option<u64>, TransferError> {
        let max = self.max_attempts();
        let mut attempt = 0;
        loop {
            attempt += 1;
            let (mut states, err) = self.attempt(&[job], run).await;
            let state = states.pop().unwrap_or(JobState::Missing);
            let state = match (state, err) {
                (JobState::Missing, Some(e)) => JobState::Local(e),
                (s, _) => s,
            };
            let e = match self.settle(job, state, run).await {
                Settled::Done(r) => return r,
                Settled::Retry(e) => e,
            };
            if matches!(e.class, ErrorClass::Auth | ErrorClass::Flood) {
                self.stop(run, &e);
            }
            if !e.is_retryable() || attempt >= max {
                run.events
                    .event(Event::failed(job.id, job.display.clone(), &e));
                return Err(e);
            }
            run.events.event(Event::Retrying {
                id: job.id,
                name: job.display.clone(),
                attempt,
                reason: e.message.clone(),
            });
            self.backoff(attempt).await;
        }
    }

    /// Turns an attempt's state into a result or a reason to retry; removes stray copies.
    async fn settle(&self, job: &Job, state: JobState, run: &Run) -> Settled {
        match state {
            JobState::Verified {
                link,
                whirlpool,
                recovered,
            } => {
                run.done_links
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .insert(link.as_str().to_owned());
                run.events.event(Event::Done {
                    id: job.id,
                    name: job.display.clone(),
                    size: job.size,
                    path: Some(job.remote.clone()),
                    link: Some(link.to_string()),
                    whirlpool: Some(whirlpool),
                    recovered,
                });
                Settled::Done(Ok(Some(job.size)))
            }
            JobState::Changed(link, why) => {
                let removed = self.remove_copies(std::slice::from_ref(&link)).await;
                let mut e = TransferError::new(
                    ErrorClass::Local,
                    format!(
                        "{} changed while it was being uploaded ({why})",
                        job.display
                    ),
                )
                .hint("upload it again once it no longer changes (or snapshot it first)");
                if !removed {
                    e.message.push_str(&format!(
                        "; the inconsistent copy {link} could not be removed"
                    ));
                }
                run.events
                    .event(Event::failed(job.id, job.display.clone(), &e));
                Settled::Done(Err(e))
            }
            JobState::Bad(links) => {
                let removed = self.remove_copies(&links).await;
                if removed {
                    Settled::Retry(TransferError::new(
                        ErrorClass::Retryable,
                        "the stored copy did not match the local file (size or whirlpool); it was removed",
                    ))
                } else {
                    Settled::Retry(
                        TransferError::new(
                            ErrorClass::Permanent,
                            format!(
                                "the stored copy does not match the local file and could not be removed: {}",
                                links.iter().map(|l| l.to_string()).collect::<Vec<_>>().join(" ")
                            ),
                        )
                        .hint("remove it with `fichier rm`, then upload again"),
                    )
                }
            }
            JobState::Missing => Settled::Retry(TransferError::new(
                ErrorClass::Retryable,
                "the upload did not store the file",
            )),
            JobState::Local(e) => Settled::Retry(e),
        }
    }

    async fn remove_copies(&self, links: &[FileLink]) -> bool {
        if links.is_empty() {
            return true;
        }
        tracing::warn!("removing {} damaged upload copies", links.len());
        self.client()
            .file_rm(&FileRmRequest::new(links.iter().cloned()))
            .await
            .is_ok()
    }

    /// One multipart request carrying `jobs` (all in the same folder), then its verification.
    /// Returns one state per job and the request's error, if any.
    async fn attempt(&self, jobs: &[&Job], run: &Run) -> (Vec<JobState>, Option<TransferError>) {
        let missing = |n: usize| (0..n).map(|_| JobState::Missing).collect::<Vec<_>>();
        self.wait_cooldown(run.events.as_ref()).await;
        if !self.client().has_key() {
            return (
                missing(jobs.len()),
                Some(TransferError::new(
                    ErrorClass::Auth,
                    "uploads need an API key",
                )),
            );
        }
        // The identity of each file now, to notice changes while it is read.
        let mut stamps = Vec::new();
        for job in jobs {
            match stamp(&job.local).await {
                Ok(s) if s.len == 0 => {
                    return (
                        missing(jobs.len()),
                        Some(TransferError::new(
                            ErrorClass::Local,
                            format!("{} became empty", job.display),
                        )),
                    );
                }
                Ok(s) => stamps.push(s),
                Err(e) => {
                    return (
                        missing(jobs.len()),
                        Some(TransferError::io(
                            &format!("cannot read {}", job.display),
                            &e,
                        )),
                    );
                }
            }
        }
        let mut fields = NodeFields::new(jobs[0].folder);
        fields.domain = run.opts.domain;
        fields.password = run.opts.password.clone();
        fields.mails = run.opts.mails.clone();
        fields.message = run.opts.message.clone();
        let files: Vec<NodeFile> = jobs
            .iter()
            .zip(&stamps)
            .map(|(job, st)| NodeFile {
                path: job.local.clone(),
                name: job.name.clone(),
                len: st.len,
            })
            .collect();
        for (i, job) in jobs.iter().enumerate() {
            run.events.event(Event::Started {
                id: job.id,
                name: job.display.clone(),
                size: stamps[i].len,
                resumed_from: 0,
                connections: 1,
            });
        }
        let observer = Arc::new(PartEvents {
            engine: self.clone(),
            ids: jobs.iter().map(|j| j.id).collect(),
            events: run.events.clone(),
        });
        let permit = self.inner.conns.acquire().await;
        let sent = self
            .client()
            .upload_to_node(&fields, &files, observer)
            .await;
        drop(permit);
        let sent = match sent {
            Ok(s) => s,
            Err(e) => return (missing(jobs.len()), Some(e.into())),
        };
        for job in jobs {
            run.events.event(Event::Verifying {
                id: job.id,
                name: job.display.clone(),
            });
        }
        let (report, ambiguous, error): (Option<UploadReport>, bool, Option<TransferError>) =
            match sent.answer {
                NodeAnswer::Report(r) => (Some(r), false, None),
                NodeAnswer::Failed { error, ambiguous } => (None, ambiguous, Some(error.into())),
                _ => (None, true, None),
            };
        let hashes: Vec<Option<String>> = sent.parts.iter().map(|p| p.whirlpool.clone()).collect();
        let local_errs: Vec<Option<(String, bool)>> = sent
            .parts
            .iter()
            .map(|p| p.local_error.clone().map(|m| (m, p.shrank)))
            .collect();

        let mut listing = None;
        let mut states = Vec::with_capacity(jobs.len());
        for (i, job) in jobs.iter().enumerate() {
            if let Some((msg, shrank)) = &local_errs[i] {
                // A file that shrank while being read was cut from the request (the node
                // never gets a short body): try again from the file as it is now.
                let class = if *shrank {
                    ErrorClass::Retryable
                } else {
                    ErrorClass::Local
                };
                states.push(JobState::Local(
                    TransferError::new(class, format!("{}: {msg}", job.display))
                        .hint("upload it again once it no longer changes"),
                ));
                continue;
            }
            let hash = hashes.get(i).cloned().flatten();
            let mut state = JobState::Missing;
            if let Some(r) = &report {
                if let Some(entry) = r.links.iter().find(|l| l.filename == job.name) {
                    state = match &hash {
                        Some(h)
                            if entry.size == stamps[i].len
                                && same_whirlpool(&entry.whirlpool, h) =>
                        {
                            JobState::Verified {
                                link: entry.download.clone(),
                                whirlpool: h.clone(),
                                recovered: false,
                            }
                        }
                        _ => JobState::Bad(vec![entry.download.clone()]),
                    };
                } else if ambiguous || r.links.iter().all(|l| l.filename != job.name) {
                    state = JobState::Missing;
                }
            }
            if report.is_none() && ambiguous {
                // Look before re-sending: the folder may hold the file after all.
                if listing.is_none() {
                    listing = Some(self.fresh_listing(job.folder).await);
                }
                if let Some(Ok(l)) = &listing {
                    let done = run
                        .done_links
                        .lock()
                        .unwrap_or_else(|p| p.into_inner())
                        .clone();
                    let new: Vec<_> = l
                        .items
                        .iter()
                        .filter(|e| {
                            e.filename == job.name
                                && !job.before.contains(e.link.as_str())
                                && !done.contains(e.link.as_str())
                        })
                        .collect();
                    let hash = match hash.clone() {
                        Some(h) => Some(h),
                        None if !new.is_empty() => hash_local_file(job.local.clone()).await.ok(),
                        None => None,
                    };
                    let good = new.iter().find(|e| {
                        e.size == stamps[i].len
                            && hash.as_deref().is_some_and(|h| {
                                e.checksum.as_deref().is_some_and(|c| same_whirlpool(c, h))
                            })
                    });
                    state = match (good, hash) {
                        (Some(g), Some(h)) => JobState::Verified {
                            link: g.link.clone(),
                            whirlpool: h,
                            recovered: true,
                        },
                        _ if !new.is_empty() => {
                            JobState::Bad(new.iter().map(|e| e.link.clone()).collect())
                        }
                        _ => JobState::Missing,
                    };
                } else if let Some(Err(e)) = &listing {
                    state = JobState::Local(TransferError {
                        message: format!(
                            "the upload failed and the folder could not be checked ({}); not retrying so no duplicate is left",
                            e.message
                        ),
                        hint: Some("check the folder with `fichier ls`, then upload again".into()),
                        ..e.clone()
                    });
                }
            }
            if let JobState::Verified { link, .. } = &state {
                match stamp(&job.local).await {
                    Ok(now) if now == stamps[i] => {}
                    Ok(now) => {
                        let why = if now.len != stamps[i].len {
                            format!("size {} then {}", stamps[i].len, now.len)
                        } else {
                            "modified during the read".to_owned()
                        };
                        state = JobState::Changed(link.clone(), why);
                    }
                    Err(e) => state = JobState::Changed(link.clone(), e.to_string()),
                }
            }
            states.push(state);
        }
        (states, error)
    }
}

enum Check {
    Upload { size: u64, before: HashSet<String> },
    Skip(String),
}

enum Settled {
    Done(Result<Option<u64>, TransferError>),
    Retry(TransferError),
}

fn make_units(jobs: Vec<Job>, opts: &UploadOptions) -> Vec<Vec<Job>> {
    let mut units: Vec<Vec<Job>> = Vec::new();
    let mut open: HashMap<FolderId, (Vec<Job>, u64, HashSet<String>)> = HashMap::new();
    for job in jobs {
        if job.size > opts.small_file || opts.batch_files <= 1 {
            units.push(vec![job]);
            continue;
        }
        let entry = open.entry(job.folder).or_default();
        let full = entry.0.len() >= opts.batch_files
            || entry.1 + job.size > opts.batch_bytes
            || entry.2.contains(&job.name);
        if full && !entry.0.is_empty() {
            units.push(std::mem::take(&mut entry.0));
            entry.1 = 0;
            entry.2.clear();
        }
        entry.1 += job.size;
        entry.2.insert(job.name.clone());
        entry.0.push(job);
    }
    let mut rest: Vec<_> = open
        .into_values()
        .filter(|(v, _, _)| !v.is_empty())
        .collect();
    rest.sort_by_key(|(v, _, _)| v[0].id);
    units.extend(rest.into_iter().map(|(v, _, _)| v));
    units.sort_by_key(|u| u[0].id);
    units
}

/// Turns the node primitive's per-part progress into file events, and paces each chunk
/// through the run's bandwidth limit.
struct PartEvents {
    engine: Engine,
    ids: Vec<FileId>,
    events: Arc<dyn EventSink>,
}

impl PartObserver for PartEvents {
    fn part_bytes(&self, index: usize, n: u64) {
        if let Some(id) = self.ids.get(index) {
            self.events.bytes(*id, n);
        }
    }
    fn pace(&self, n: u64) -> Pin<Box<dyn Future<Output = ()> + Send + '_>> {
        Box::pin(self.engine.throttle(n))
    }
}
