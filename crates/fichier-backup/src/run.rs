//! One backup run, start to finish: lock, walk and hash the source (hashing only what changed),
//! plan against the destination's live tree, upload, retire old copies into the run's version
//! folder, apply retention, and record the manifest. Every remote step is journalled before and
//! after it happens; the remote side is reached through [`BackupRemote`], so the same run
//! logic drives the real service, the emulator, and a dry run.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use serde::Serialize;

use crate::index::LocalIndex;
use crate::journal::{Journal, ManifestEntry};
use crate::lock::ProfileLock;
use crate::manifest::{encode, manifest_file_name};
use crate::plan::{LocalEntry, Plan, PlanError, RemoteCopy, RetireReason, Safety, plan};
use crate::retention::{Retention, parse_version_folder_name, version_folder_name};
use crate::source::{Skipped, SourceFile, SourceFilter};

/// The folder, inside the destination, that holds the versions.
pub const VERSIONS_DIR: &str = ".versions";

/// A remote failure as the run needs to know it.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{message}")]
pub struct RemoteError {
    /// What happened, for the user.
    pub message: String,
    /// True when nothing more should be sent in this run (flood lock, bad key, network
    /// down): the run stops and the next one resumes.
    pub stop_run: bool,
    /// The API's error kind, when the service answered (the CLI picks exit code and hint
    /// from it, never from the message text).
    pub kind: Option<fichier_api::ErrorKind>,
}

/// The destination as a run sees it. Paths are relative to the destination folder,
/// `/`-separated.
#[allow(async_fn_in_trait)]
pub trait BackupRemote {
    /// Every live file (outside [`VERSIONS_DIR`]) with all its copies.
    async fn live_files(&mut self) -> Result<BTreeMap<String, Vec<RemoteCopy>>, RemoteError>;
    /// Uploads files; one result per input, in order.
    async fn upload(
        &mut self,
        files: &[(PathBuf, LocalEntry)],
    ) -> Vec<Result<RemoteCopy, RemoteError>>;
    /// Moves copies into the folder `dir` (created if missing), keeping their names: one
    /// call for them all where the service allows.
    async fn move_into(&mut self, copies: &[RemoteCopy], dir: &str) -> Result<(), RemoteError>;
    /// Deletes copies (plain mirror only).
    async fn delete(&mut self, copies: &[RemoteCopy]) -> Result<(), RemoteError>;
    /// The names of the folders directly under [`VERSIONS_DIR`].
    async fn version_folders(&mut self) -> Result<Vec<String>, RemoteError>;
    /// Removes one version folder with everything in it.
    async fn remove_version_folder(&mut self, name: &str) -> Result<(), RemoteError>;
    /// The manifest file names in `.versions/manifests/`.
    async fn manifests(&mut self) -> Result<Vec<String>, RemoteError>;
    /// Stores a manifest file in `.versions/manifests/` (replacing one of the same name).
    async fn put_manifest(&mut self, name: &str, bytes: Vec<u8>) -> Result<(), RemoteError>;
    /// Removes a manifest file.
    async fn remove_manifest(&mut self, name: &str) -> Result<(), RemoteError>;
    /// Tells the person watching what the run is doing now (a phase, in a few words).
    fn notice(&mut self, _message: &str) {}
}

/// Everything a run needs to know.
#[derive(Debug, Clone)]
pub struct BackupJob {
    /// Profile name (locks, index and journal are per profile).
    pub profile: String,
    /// The local source directory.
    pub source: PathBuf,
    /// Filters.
    pub filter: SourceFilter,
    /// Safety limits.
    pub safety: Safety,
    /// Retention of versions.
    pub retention: Retention,
    /// Keep old copies in versions (default) or delete them (`--no-versions`).
    pub versions: bool,
    /// Plan only.
    pub dry_run: bool,
    /// The state dir (lock files, index and journal databases).
    pub state_dir: PathBuf,
}

/// What a run did (or, for a dry run, would do).
#[derive(Debug, Clone, Default, Serialize)]
pub struct RunSummary {
    /// Profile.
    pub profile: String,
    /// Version stamp of the run.
    pub stamp: String,
    /// True when this run picked up an interrupted one.
    pub resumed: bool,
    /// Source files considered.
    pub files: usize,
    /// Files hashed this run (the others came from the index).
    pub hashed: usize,
    /// Files uploaded.
    pub uploaded: usize,
    /// Bytes uploaded.
    pub uploaded_bytes: u64,
    /// Files already up to date.
    pub unchanged: usize,
    /// Copies moved into the version folder.
    pub versioned: usize,
    /// Copies deleted (`--no-versions`).
    pub deleted: usize,
    /// Version folders pruned by retention.
    pub pruned_versions: usize,
    /// Empty files recorded (1fichier stores no empty file).
    pub empty: usize,
    /// Entries left out with a reason.
    pub skipped: Vec<SkippedItem>,
    /// Failures, each with its path.
    pub failed: Vec<SkippedItem>,
    /// True when the run stopped early (flood lock, network); the next run resumes.
    pub stopped: Option<String>,
    /// The error kind that stopped the run, when the service said.
    #[serde(skip)]
    pub stopped_kind: Option<fichier_api::ErrorKind>,
    /// The plan, for a dry run.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub plan: Option<PlanView>,
}

/// A path and a reason.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct SkippedItem {
    /// Path relative to the source or destination.
    pub path: String,
    /// Why.
    pub reason: String,
}

/// A dry run's plan in a printable shape.
#[derive(Debug, Clone, Serialize)]
pub struct PlanView {
    /// Paths to upload.
    pub upload: Vec<String>,
    /// (path, reason) of copies to retire.
    pub retire: Vec<(String, String)>,
    /// Version folders retention would remove.
    pub prune: Vec<String>,
}

impl RunSummary {
    /// 0 done, 1 some files failed, 3 stopped early (resumable).
    pub fn outcome(&self) -> &'static str {
        if self.stopped.is_some() {
            "partial"
        } else if self.failed.is_empty() {
            "done"
        } else {
            "failed-items"
        }
    }
}

/// Why a run could not start or was refused before touching anything.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// Another run holds the profile's lock.
    #[error(transparent)]
    Locked(#[from] crate::lock::LockError),
    /// The source is missing or a filter is invalid.
    #[error(transparent)]
    Source(#[from] crate::source::SourceError),
    /// The safety rules refused the plan.
    #[error(transparent)]
    Refused(#[from] PlanError),
    /// The index or journal failed.
    #[error("{0}")]
    State(String),
    /// The destination could not be read.
    #[error("cannot read the destination: {0}")]
    Remote(RemoteError),
}

/// Runs a backup job against `remote`.
pub async fn run_backup<R: BackupRemote>(
    job: &BackupJob,
    remote: &mut R,
    now: SystemTime,
) -> Result<RunSummary, RunError> {
    fichier_state::private_dir(&job.state_dir)
        .map_err(|e| RunError::State(format!("{}: {e}", job.state_dir.display())))?;
    let _lock = ProfileLock::acquire(&job.state_dir.join("locks"), &job.profile)?;
    let scan = job.filter.scan(&job.source, now)?;
    let mut summary = RunSummary {
        profile: job.profile.clone(),
        files: scan.files.len(),
        skipped: scan.skipped.iter().map(skipped_item).collect(),
        ..Default::default()
    };
    let mut index = LocalIndex::open(
        &job.state_dir.join("backup-index.db"),
        Duration::from_secs(30),
    )
    .map_err(|e| RunError::State(e.to_string()))?;
    remote.notice(&format!(
        "{} files in {}; hashing those changed since the last run",
        scan.files.len(),
        job.source.display()
    ));
    let (locals, hashed, unreadable) = hash_all(&mut index, &job.profile, &scan.files).await?;
    summary.hashed = hashed;
    summary.failed.extend(unreadable);
    let live = remote.live_files().await.map_err(RunError::Remote)?;
    // What this run did not see is never retired: a file that could not be read, and every
    // path under a directory that could not be read (a disk unmounted under a followed link,
    // EACCES, EIO) keep their remote copies, live and in the manifest; the run reports them
    // as failures.
    let not_seen = NotSeen::new(&scan.skipped, &summary.failed);
    for s in scan
        .skipped
        .iter()
        .filter(|s| s.reason == crate::source::SkipReason::Reserved)
    {
        summary.failed.push(skipped_item(s));
    }
    for s in scan.skipped.iter().filter(|s| NotSeen::unreadable(s)) {
        summary.failed.push(SkippedItem {
            path: s.rel.clone(),
            reason: format!("{}; its backed-up files are kept as they are", s.reason),
        });
    }
    let live_for_plan: BTreeMap<String, Vec<RemoteCopy>> = live
        .iter()
        .filter(|(rel, _)| !not_seen.covers(rel))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    let the_plan = plan(&locals, &live_for_plan, &job.safety)?;
    // Without versions, retiring is deleting. Files in a destination no run has written a
    // manifest into were put there by someone else: delete them only when told to.
    if !job.versions && !job.safety.delete_unknown {
        let removed = the_plan
            .retire
            .iter()
            .filter(|r| r.reason == crate::plan::RetireReason::Removed)
            .count() as u64;
        if removed > 0
            && remote
                .manifests()
                .await
                .map_err(RunError::Remote)?
                .is_empty()
        {
            return Err(RunError::Refused(PlanError::UnknownFiles {
                unknown: removed,
            }));
        }
    }
    if !job.dry_run {
        remote.notice(&format!(
            "{} to send ({:.1} MiB), {} unchanged, {} to retire",
            the_plan.upload.len(),
            the_plan.upload_bytes() as f64 / 1_048_576.0,
            the_plan.unchanged.len(),
            the_plan.retire.len()
        ));
    }
    summary.unchanged = the_plan.unchanged.len();
    summary.empty = the_plan.empty.len();

    let version_names = if job.retention.keeps_everything() || !job.versions {
        Vec::new()
    } else {
        remote.version_folders().await.map_err(RunError::Remote)?
    };

    if job.dry_run {
        let stamp = version_folder_name(
            jiff::Timestamp::try_from(now).unwrap_or(jiff::Timestamp::UNIX_EPOCH),
        );
        summary.stamp = stamp.clone();
        summary.plan = Some(PlanView {
            upload: the_plan.upload.iter().map(|u| u.rel.clone()).collect(),
            retire: the_plan
                .retire
                .iter()
                .map(|r| (r.rel.clone(), r.reason.to_string()))
                .collect(),
            prune: prune_list(&job.retention, &version_names, Some(&stamp)),
        });
        summary.uploaded_bytes = the_plan.upload_bytes();
        return Ok(summary);
    }

    let mut journal = Journal::open(
        &job.state_dir.join("backup-journal.db"),
        Duration::from_secs(30),
    )
    .map_err(|e| RunError::State(e.to_string()))?;
    let now_secs = now
        .duration_since(SystemTime::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0);
    let mut new_stamp =
        version_folder_name(jiff::Timestamp::try_from(now).unwrap_or(jiff::Timestamp::UNIX_EPOCH));
    // Two runs in one second (or a clock stepped back) must not share a version folder.
    if let Some(last) = journal
        .last_run(&job.profile)
        .map_err(|e| RunError::State(e.to_string()))?
        && last.state != "running"
        && last.stamp >= new_stamp
        && let Some(t) = parse_version_folder_name(&last.stamp)
    {
        new_stamp = version_folder_name(t + jiff::SignedDuration::from_secs(1));
    }
    let (run, resumed) = journal
        .begin(&job.profile, &new_stamp, now_secs)
        .map_err(|e| RunError::State(e.to_string()))?;
    summary.stamp = run.stamp.clone();
    summary.resumed = resumed;

    let by_rel: BTreeMap<&str, &SourceFile> =
        scan.files.iter().map(|f| (f.rel.as_str(), f)).collect();
    let meta = |rel: &str| {
        by_rel
            .get(rel)
            .map(|f| (f.mtime_ns, f.mode))
            .unwrap_or((0, 0o644))
    };
    let mut manifest: BTreeMap<String, ManifestEntry> = BTreeMap::new();
    let local_by_rel: BTreeMap<&str, &LocalEntry> =
        locals.iter().map(|l| (l.rel.as_str(), l)).collect();
    for rel in &the_plan.unchanged {
        let Some(l) = local_by_rel.get(rel.as_str()) else {
            continue;
        };
        let same = |c: &&RemoteCopy| {
            c.whirlpool
                .as_deref()
                .is_some_and(|w| w.eq_ignore_ascii_case(&l.whirlpool))
        };
        if let Some(copy) = live.get(rel).and_then(|copies| copies.iter().find(same)) {
            let entry = ManifestEntry {
                rel: rel.clone(),
                size: l.size,
                whirlpool: l.whirlpool.clone(),
                link: copy.link.clone(),
                mtime_ns: meta(rel).0,
                mode: meta(rel).1,
            };
            manifest.insert(rel.clone(), entry);
        }
    }
    // Files kept because they were not seen stay restorable: the run's manifest carries their
    // live copy (mode and mtime from the last manifest that knew them).
    let earlier: BTreeMap<String, ManifestEntry> = journal
        .runs(&job.profile)
        .map_err(|e| RunError::State(e.to_string()))?
        .iter()
        .find(|r| r.id != run.id && r.state != "running")
        .map(|r| journal.manifest(r.id))
        .transpose()
        .map_err(|e| RunError::State(e.to_string()))?
        .unwrap_or_default()
        .into_iter()
        .map(|e| (e.rel.clone(), e))
        .collect();
    for (rel, copies) in live.iter().filter(|(rel, _)| not_seen.covers(rel)) {
        let Some(copy) = copies.first() else { continue };
        let before = earlier.get(rel);
        let Some(whirlpool) = copy
            .whirlpool
            .clone()
            .or_else(|| before.map(|b| b.whirlpool.clone()))
        else {
            continue;
        };
        manifest.insert(
            rel.clone(),
            ManifestEntry {
                rel: rel.clone(),
                size: copy.size,
                whirlpool,
                link: copy.link.clone(),
                mtime_ns: before.map_or(0, |b| b.mtime_ns),
                mode: before.map_or(0o644, |b| b.mode),
            },
        );
    }
    for rel in &the_plan.empty {
        manifest.insert(
            rel.clone(),
            ManifestEntry {
                rel: rel.clone(),
                size: 0,
                whirlpool: String::new(),
                link: String::new(),
                mtime_ns: meta(rel).0,
                mode: meta(rel).1,
            },
        );
    }

    let uploaded_ok = upload_all(
        job,
        remote,
        &mut journal,
        run.id,
        &the_plan,
        &mut summary,
        &mut manifest,
        &meta,
    )
    .await?;
    if summary.stopped.is_none() {
        retire_all(
            job,
            remote,
            &mut journal,
            run.id,
            &run.stamp,
            &the_plan,
            &uploaded_ok,
            &mut summary,
        )
        .await?;
    }
    if summary.stopped.is_none() && job.versions && !job.retention.keeps_everything() {
        let mut names = version_names;
        if summary.versioned > 0 && !names.contains(&run.stamp) {
            names.push(run.stamp.clone());
        }
        for name in prune_list(&job.retention, &names, Some(&run.stamp)) {
            let step = journal.step_started(run.id, "prune", &name, "");
            step.map_err(|e| RunError::State(e.to_string()))?;
            match remote.remove_version_folder(&name).await {
                Ok(()) => {
                    summary.pruned_versions += 1;
                    journal
                        .step_finished(run.id, "prune", &name, "done", "")
                        .map_err(|e| RunError::State(e.to_string()))?;
                }
                Err(e) => {
                    journal
                        .step_finished(run.id, "prune", &name, "failed", &e.message)
                        .map_err(|e| RunError::State(e.to_string()))?;
                    let stop = e.stop_run;
                    summary.failed.push(SkippedItem {
                        path: format!("{VERSIONS_DIR}/{name}"),
                        reason: e.message.clone(),
                    });
                    if stop {
                        summary.stopped_kind = e.kind;
                        summary.stopped_kind = e.kind;
                        summary.stopped = Some(e.message);
                        break;
                    }
                }
            }
        }
    }
    if summary.stopped.is_none() {
        let entries: Vec<ManifestEntry> = manifest.into_values().collect();
        // The manifest goes to the destination too: a restore on a new machine needs only the key.
        let name = manifest_file_name(&run.stamp);
        if let Err(e) = remote
            .put_manifest(&name, encode(&job.profile, &run.stamp, &entries))
            .await
        {
            summary.failed.push(SkippedItem {
                path: format!("{VERSIONS_DIR}/{MANIFESTS}/{name}"),
                reason: e.message,
            });
        } else if !job.retention.keeps_everything() {
            prune_manifests(job, remote, &run.stamp, &mut summary).await;
        }
        let state = if summary.failed.is_empty() {
            "done"
        } else {
            "partial"
        };
        let text = format!(
            "{} uploaded, {} unchanged, {} versioned, {} deleted, {} failed",
            summary.uploaded,
            summary.unchanged,
            summary.versioned,
            summary.deleted,
            summary.failed.len()
        );
        journal
            .finish(run.id, state, &text, now_secs, &entries)
            .map_err(|e| RunError::State(e.to_string()))?;
    }
    // A stopped run stays "running" in the journal: the next run resumes it, same stamp.
    Ok(summary)
}

const MANIFESTS: &str = crate::manifest::MANIFESTS_DIR;

/// Applies the retention policy to the manifests too (one manifest per run), never to the one
/// just written.
async fn prune_manifests<R: BackupRemote>(
    job: &BackupJob,
    remote: &mut R,
    current: &str,
    summary: &mut RunSummary,
) {
    let names = match remote.manifests().await {
        Ok(n) => n,
        Err(e) => {
            summary.failed.push(SkippedItem {
                path: format!("{VERSIONS_DIR}/{MANIFESTS}"),
                reason: e.message,
            });
            return;
        }
    };
    let mut stamps: Vec<String> = names
        .iter()
        .filter_map(|n| n.strip_suffix(".jsonl.gz").map(String::from))
        .collect();
    // The listing may predate this run's own manifest; the policy counts it all the same.
    if !stamps.iter().any(|s| s == current) {
        stamps.push(current.to_string());
    }
    for stamp in prune_list(&job.retention, &stamps, Some(current)) {
        let name = manifest_file_name(&stamp);
        if let Err(e) = remote.remove_manifest(&name).await {
            summary.failed.push(SkippedItem {
                path: format!("{VERSIONS_DIR}/{MANIFESTS}/{name}"),
                reason: e.message,
            });
        }
    }
}

/// The paths a run did not see: files it could not read and everything under directories it
/// could not read (an unreadable entry with no path means the whole source).
struct NotSeen {
    prefixes: Vec<String>,
}

impl NotSeen {
    fn new(skipped: &[Skipped], failed: &[SkippedItem]) -> NotSeen {
        let prefixes = skipped
            .iter()
            .filter(|s| NotSeen::unreadable(s))
            .map(|s| s.rel.clone())
            .chain(failed.iter().map(|f| f.path.clone()))
            .collect();
        NotSeen { prefixes }
    }

    fn unreadable(s: &Skipped) -> bool {
        matches!(s.reason, crate::source::SkipReason::Unreadable(_))
    }

    fn covers(&self, rel: &str) -> bool {
        self.prefixes.iter().any(|p| {
            p.is_empty()
                || rel == p
                || rel
                    .strip_prefix(p.as_str())
                    .is_some_and(|rest| rest.starts_with('/'))
        })
    }
}

fn skipped_item(s: &Skipped) -> SkippedItem {
    SkippedItem {
        path: s.rel.clone(),
        reason: s.reason.to_string(),
    }
}

/// The version folders retention prunes, never the one of the current run.
fn prune_list(retention: &Retention, names: &[String], current: Option<&str>) -> Vec<String> {
    if retention.keeps_everything() {
        return Vec::new();
    }
    // Retention counts back from the newest version: a folder stamped later than this run
    // (a clock that was wrong, a folder made by hand) must not become that anchor and have
    // every later run prune the versions it should keep. Such stamps take no part, are never
    // pruned, and are reported.
    let skew = jiff::SignedDuration::from_mins(10);
    let latest = current
        .and_then(parse_version_folder_name)
        .unwrap_or_else(jiff::Timestamp::now)
        + skew;
    let mut parsed: Vec<(String, jiff::Timestamp)> = names
        .iter()
        .filter_map(|n| parse_version_folder_name(n).map(|t| (n.clone(), t)))
        .collect();
    parsed.retain(|(n, t)| {
        let future = *t > latest;
        if future {
            tracing::warn!(
                "version {n} is stamped after this run; retention leaves it out and keeps it"
            );
        }
        !future
    });
    let stamps: Vec<jiff::Timestamp> = parsed.iter().map(|p| p.1).collect();
    let verdict = retention.apply(&stamps, &jiff::tz::TimeZone::system());
    let mut out: Vec<String> = parsed
        .iter()
        .filter(|(n, t)| verdict.prune.contains(t) && Some(n.as_str()) != current)
        .map(|(n, _)| n.clone())
        .collect();
    out.sort();
    out
}

/// Hashes every file whose size, mtime or inode changed since the index saw it; returns the
/// entries, how many were hashed, and the files that could not be read (or changed while
/// being read).
async fn hash_all(
    index: &mut LocalIndex,
    profile: &str,
    files: &[SourceFile],
) -> Result<(Vec<LocalEntry>, usize, Vec<SkippedItem>), RunError> {
    let mut out = Vec::with_capacity(files.len());
    let mut hashed = 0;
    let mut failed = Vec::new();
    let mut batch: Vec<(SourceFile, String)> = Vec::new();
    for f in files {
        if let Some(w) = index
            .cached_whirlpool(profile, f)
            .map_err(|e| RunError::State(e.to_string()))?
        {
            out.push(LocalEntry {
                rel: f.rel.clone(),
                size: f.size,
                whirlpool: w,
            });
            continue;
        }
        let file = f.clone();
        let result = tokio::task::spawn_blocking(move || hash_stable(&file)).await;
        match result {
            Ok(Ok(w)) => {
                hashed += 1;
                out.push(LocalEntry {
                    rel: f.rel.clone(),
                    size: f.size,
                    whirlpool: w.clone(),
                });
                batch.push((f.clone(), w));
            }
            Ok(Err(reason)) => failed.push(SkippedItem {
                path: f.rel.clone(),
                reason,
            }),
            Err(e) => failed.push(SkippedItem {
                path: f.rel.clone(),
                reason: format!("hashing stopped: {e}"),
            }),
        }
        if batch.len() >= 256 {
            flush(index, profile, &mut batch)?;
        }
    }
    flush(index, profile, &mut batch)?;
    Ok((out, hashed, failed))
}

fn flush(
    index: &mut LocalIndex,
    profile: &str,
    batch: &mut Vec<(SourceFile, String)>,
) -> Result<(), RunError> {
    let rows: Vec<(&SourceFile, &str)> = batch.iter().map(|(f, w)| (f, w.as_str())).collect();
    index
        .record(profile, &rows)
        .map_err(|e| RunError::State(e.to_string()))?;
    batch.clear();
    Ok(())
}

/// The whirlpool of a file that did not change while it was read (same size, mtime, inode
/// before and after); a file being written gets a clear reason instead of a wrong hash.
fn hash_stable(f: &SourceFile) -> Result<String, String> {
    use std::os::unix::fs::MetadataExt;
    let file = std::fs::File::open(&f.path).map_err(|e| format!("cannot read: {e}"))?;
    let w = fichier_api::whirlpool_reader(std::io::BufReader::with_capacity(1 << 20, &file))
        .map_err(|e| format!("cannot read: {e}"))?;
    let after = file.metadata().map_err(|e| format!("cannot read: {e}"))?;
    let mtime_ns = i128::from(after.mtime()) * 1_000_000_000 + i128::from(after.mtime_nsec());
    if after.len() != f.size || mtime_ns != f.mtime_ns || after.ino() != f.inode {
        return Err("changed while being read; it will be backed up on the next run".into());
    }
    Ok(w)
}

#[allow(clippy::too_many_arguments)]
async fn upload_all<R: BackupRemote>(
    job: &BackupJob,
    remote: &mut R,
    journal: &mut Journal,
    run: i64,
    the_plan: &Plan,
    summary: &mut RunSummary,
    manifest: &mut BTreeMap<String, ManifestEntry>,
    meta: &dyn Fn(&str) -> (i128, u32),
) -> Result<std::collections::BTreeSet<String>, RunError> {
    let mut ok = std::collections::BTreeSet::new();
    let state = |e: crate::journal::JournalError| RunError::State(e.to_string());
    for chunk in the_plan.upload.chunks(64) {
        for u in chunk {
            journal
                .step_started(run, "upload", &u.rel, &u.whirlpool)
                .map_err(state)?;
        }
        let items: Vec<(PathBuf, LocalEntry)> = chunk
            .iter()
            .map(|u| (source_path(&job.source, &u.rel), u.clone()))
            .collect();
        let results = remote.upload(&items).await;
        for (u, r) in chunk.iter().zip(results) {
            match r {
                Ok(copy) => {
                    journal
                        .step_finished(run, "upload", &u.rel, "done", &copy.link)
                        .map_err(state)?;
                    summary.uploaded += 1;
                    summary.uploaded_bytes += u.size;
                    manifest.insert(
                        u.rel.clone(),
                        ManifestEntry {
                            rel: u.rel.clone(),
                            size: u.size,
                            whirlpool: u.whirlpool.clone(),
                            link: copy.link,
                            mtime_ns: meta(&u.rel).0,
                            mode: meta(&u.rel).1,
                        },
                    );
                    ok.insert(u.rel.clone());
                }
                Err(e) => {
                    journal
                        .step_finished(run, "upload", &u.rel, "failed", &e.message)
                        .map_err(state)?;
                    summary.failed.push(SkippedItem {
                        path: u.rel.clone(),
                        reason: e.message.clone(),
                    });
                    if e.stop_run && summary.stopped.is_none() {
                        summary.stopped_kind = e.kind;
                        summary.stopped_kind = e.kind;
                        summary.stopped = Some(e.message);
                    }
                }
            }
        }
        if summary.stopped.is_some() {
            break;
        }
    }
    Ok(ok)
}

#[allow(clippy::too_many_arguments)]
async fn retire_all<R: BackupRemote>(
    job: &BackupJob,
    remote: &mut R,
    journal: &mut Journal,
    run: i64,
    stamp: &str,
    the_plan: &Plan,
    uploaded: &std::collections::BTreeSet<String>,
    summary: &mut RunSummary,
) -> Result<(), RunError> {
    let state = |e: crate::journal::JournalError| RunError::State(e.to_string());
    // Copies going to the same folder move in one call (a nightly run retires a handful of
    // files per folder; one `file/mv` each would spend the API's pace on bookkeeping).
    let mut batches: BTreeMap<String, Vec<&crate::plan::Retire>> = BTreeMap::new();
    for r in &the_plan.retire {
        // The old copy of a changed file goes only once its replacement is safely there.
        if r.reason == RetireReason::Changed
            && !uploaded.contains(&r.rel)
            && !the_plan.empty.contains(&r.rel)
        {
            continue;
        }
        let dir = match (job.versions, r.rel.rsplit_once('/')) {
            (false, _) => String::new(),
            (true, Some((parent, _))) => format!("{VERSIONS_DIR}/{stamp}/{parent}"),
            (true, None) => format!("{VERSIONS_DIR}/{stamp}"),
        };
        batches.entry(dir).or_default().push(r);
    }
    for (dir, batch) in batches {
        for chunk in batch.chunks(RETIRE_BATCH) {
            let keys: Vec<String> = chunk
                .iter()
                .map(|r| format!("{}#{}", r.rel, r.copy.link))
                .collect();
            for (r, key) in chunk.iter().zip(&keys) {
                journal
                    .step_started(run, "retire", key, &r.reason.to_string())
                    .map_err(state)?;
            }
            let copies: Vec<RemoteCopy> = chunk.iter().map(|r| r.copy.clone()).collect();
            let result = if job.versions {
                remote.move_into(&copies, &dir).await
            } else {
                remote.delete(&copies).await
            };
            match result {
                Ok(()) => {
                    for key in &keys {
                        journal
                            .step_finished(run, "retire", key, "done", "")
                            .map_err(state)?;
                    }
                    if job.versions {
                        summary.versioned += chunk.len();
                    } else {
                        summary.deleted += chunk.len();
                    }
                }
                Err(e) => {
                    for (r, key) in chunk.iter().zip(&keys) {
                        journal
                            .step_finished(run, "retire", key, "failed", &e.message)
                            .map_err(state)?;
                        summary.failed.push(SkippedItem {
                            path: r.rel.clone(),
                            reason: e.message.clone(),
                        });
                    }
                    if e.stop_run {
                        summary.stopped_kind = e.kind;
                        summary.stopped = Some(e.message);
                        return Ok(());
                    }
                }
            }
        }
    }
    Ok(())
}

/// Copies retired in one call at most (the API takes lists; 100 keeps a request small).
const RETIRE_BATCH: usize = 100;

fn source_path(root: &Path, rel: &str) -> PathBuf {
    let mut p = root.to_path_buf();
    for part in rel.split('/') {
        p.push(part);
    }
    p
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::MaxDelete;

    /// The destination as 1fichier keeps it: files by link, same names allowed.
    #[derive(Debug, Default)]
    struct FakeRemote {
        files: BTreeMap<String, (String, u64, String)>,
        next: u64,
        uploads: usize,
        moves: usize,
        fail_uploads_after: Option<usize>,
        manifests: BTreeMap<String, Vec<u8>>,
    }

    impl FakeRemote {
        fn paths(&self) -> Vec<String> {
            let mut v: Vec<String> = self.files.values().map(|f| f.0.clone()).collect();
            v.sort();
            v
        }
    }

    impl BackupRemote for FakeRemote {
        async fn live_files(&mut self) -> Result<BTreeMap<String, Vec<RemoteCopy>>, RemoteError> {
            let mut m: BTreeMap<String, Vec<RemoteCopy>> = BTreeMap::new();
            for (link, (rel, size, w)) in &self.files {
                if !rel.starts_with(&format!("{VERSIONS_DIR}/")) {
                    m.entry(rel.clone()).or_default().push(RemoteCopy {
                        link: link.clone(),
                        size: *size,
                        whirlpool: Some(w.clone()),
                    });
                }
            }
            Ok(m)
        }
        async fn upload(
            &mut self,
            files: &[(PathBuf, LocalEntry)],
        ) -> Vec<Result<RemoteCopy, RemoteError>> {
            let mut out = Vec::new();
            for (path, e) in files {
                if self.fail_uploads_after.is_some_and(|n| self.uploads >= n) {
                    out.push(Err(RemoteError {
                        message: "Flood detected: IP Locked".into(),
                        stop_run: true,
                        kind: None,
                    }));
                    continue;
                }
                let body = std::fs::read(path).unwrap();
                let w = fichier_api::whirlpool_hex(&body);
                assert_eq!(w, e.whirlpool);
                self.next += 1;
                self.uploads += 1;
                let link = format!("L{}", self.next);
                self.files
                    .insert(link.clone(), (e.rel.clone(), body.len() as u64, w.clone()));
                out.push(Ok(RemoteCopy {
                    link,
                    size: body.len() as u64,
                    whirlpool: Some(w),
                }));
            }
            out
        }
        async fn move_into(&mut self, copies: &[RemoteCopy], dir: &str) -> Result<(), RemoteError> {
            self.moves += 1;
            for copy in copies {
                let f = self.files.get_mut(&copy.link).unwrap();
                let name = f.0.rsplit('/').next().unwrap().to_string();
                f.0 = format!("{dir}/{name}");
            }
            Ok(())
        }
        async fn delete(&mut self, copies: &[RemoteCopy]) -> Result<(), RemoteError> {
            for copy in copies {
                self.files.remove(&copy.link);
            }
            Ok(())
        }
        async fn version_folders(&mut self) -> Result<Vec<String>, RemoteError> {
            let mut v: Vec<String> = self
                .files
                .values()
                .filter_map(|f| {
                    f.0.strip_prefix(&format!("{VERSIONS_DIR}/"))
                        .and_then(|r| r.split('/').next())
                        .map(String::from)
                })
                .collect();
            v.sort();
            v.dedup();
            Ok(v)
        }
        async fn remove_version_folder(&mut self, name: &str) -> Result<(), RemoteError> {
            let prefix = format!("{VERSIONS_DIR}/{name}/");
            self.files.retain(|_, f| !f.0.starts_with(&prefix));
            Ok(())
        }
        async fn manifests(&mut self) -> Result<Vec<String>, RemoteError> {
            Ok(self.manifests.keys().cloned().collect())
        }
        async fn put_manifest(&mut self, name: &str, bytes: Vec<u8>) -> Result<(), RemoteError> {
            self.manifests.insert(name.to_string(), bytes);
            Ok(())
        }
        async fn remove_manifest(&mut self, name: &str) -> Result<(), RemoteError> {
            self.manifests.remove(name);
            Ok(())
        }
    }

    fn job(src: &Path, state: &Path) -> BackupJob {
        BackupJob {
            profile: "p".into(),
            source: src.to_path_buf(),
            filter: SourceFilter::default(),
            safety: Safety::default(),
            retention: Retention::default(),
            versions: true,
            dry_run: false,
            state_dir: state.to_path_buf(),
        }
    }

    fn at(day: u64) -> SystemTime {
        SystemTime::UNIX_EPOCH + Duration::from_secs(1_780_000_000 + day * 86_400)
    }

    fn write(root: &Path, rel: &str, body: &str) {
        let p = root.join(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, body).unwrap();
    }

    #[tokio::test]
    async fn nightly_runs_upload_only_changes_and_keep_old_copies_as_versions() {
        let (src, state) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
        write(src.path(), "a.txt", "one");
        write(src.path(), "d/b.txt", "two");
        write(src.path(), "empty", "");
        let mut remote = FakeRemote::default();
        let s = run_backup(&job(src.path(), state.path()), &mut remote, at(0))
            .await
            .unwrap();
        assert_eq!(
            (s.uploaded, s.hashed, s.empty, s.outcome()),
            (2, 3, 1, "done")
        );

        let s = run_backup(&job(src.path(), state.path()), &mut remote, at(1))
            .await
            .unwrap();
        assert_eq!(
            (s.uploaded, s.hashed, s.unchanged),
            (0, 0, 2),
            "nothing re-hashed, nothing re-sent"
        );

        write(src.path(), "d/b.txt", "two, edited");
        std::fs::remove_file(src.path().join("a.txt")).unwrap();
        let s = run_backup(&job(src.path(), state.path()), &mut remote, at(2))
            .await
            .unwrap();
        assert_eq!((s.uploaded, s.versioned, s.hashed), (1, 2, 1));
        let stamp = s.stamp.clone();
        assert_eq!(
            remote.paths(),
            [
                format!(".versions/{stamp}/a.txt"),
                format!(".versions/{stamp}/d/b.txt"),
                "d/b.txt".to_string()
            ]
        );
    }

    #[tokio::test]
    async fn copies_retired_into_one_folder_move_in_one_call() {
        let (src, state) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
        for i in 0..5 {
            write(src.path(), &format!("d/f{i}.txt"), "v1");
        }
        write(src.path(), "top.txt", "v1");
        let mut remote = FakeRemote::default();
        run_backup(&job(src.path(), state.path()), &mut remote, at(0))
            .await
            .unwrap();
        for i in 0..5 {
            write(src.path(), &format!("d/f{i}.txt"), "v2, longer");
        }
        std::fs::remove_file(src.path().join("top.txt")).unwrap();
        let s = run_backup(&job(src.path(), state.path()), &mut remote, at(1))
            .await
            .unwrap();
        assert_eq!((s.uploaded, s.versioned), (5, 6));
        assert_eq!(remote.moves, 2, "one move for d/, one for the top level");
        let versioned = remote
            .paths()
            .iter()
            .filter(|p| p.starts_with(&format!(".versions/{}/", s.stamp)))
            .count();
        assert_eq!(versioned, 6);
    }

    #[tokio::test]
    async fn a_stopped_run_resumes_with_its_stamp_and_uploads_nothing_twice() {
        let (src, state) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
        for i in 0..5 {
            write(src.path(), &format!("f{i}"), &format!("body {i}"));
        }
        let mut remote = FakeRemote {
            fail_uploads_after: Some(2),
            ..Default::default()
        };
        let first = run_backup(&job(src.path(), state.path()), &mut remote, at(0))
            .await
            .unwrap();
        assert_eq!(first.outcome(), "partial");
        assert_eq!(first.uploaded, 2);
        remote.fail_uploads_after = None;
        let second = run_backup(&job(src.path(), state.path()), &mut remote, at(1))
            .await
            .unwrap();
        assert!(second.resumed);
        assert_eq!(second.stamp, first.stamp);
        assert_eq!(
            (second.uploaded, second.unchanged, second.outcome()),
            (3, 2, "done")
        );
        assert_eq!(remote.uploads, 5, "every file sent exactly once");
    }

    #[tokio::test]
    async fn safety_refusals_touch_nothing() {
        let (src, state) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
        for i in 0..4 {
            write(src.path(), &format!("f{i}"), "x");
        }
        let mut remote = FakeRemote::default();
        run_backup(&job(src.path(), state.path()), &mut remote, at(0))
            .await
            .unwrap();
        let before = remote.paths();
        for i in 0..4 {
            std::fs::remove_file(src.path().join(format!("f{i}"))).unwrap();
        }
        let err = run_backup(&job(src.path(), state.path()), &mut remote, at(1))
            .await
            .unwrap_err();
        assert!(
            matches!(
                err,
                RunError::Refused(PlanError::EmptySource { remote_files: 4 })
            ),
            "{err}"
        );
        write(src.path(), "f0", "x");
        let mut j = job(src.path(), state.path());
        j.safety.max_delete = Some(MaxDelete::Percent(50.0));
        let err = run_backup(&j, &mut remote, at(1)).await.unwrap_err();
        assert!(
            matches!(err, RunError::Refused(PlanError::TooManyRemovals { .. })),
            "{err}"
        );
        assert_eq!(remote.paths(), before);

        let _held = ProfileLock::acquire(&state.path().join("locks"), "p").unwrap();
        let err = run_backup(&job(src.path(), state.path()), &mut remote, at(1))
            .await
            .unwrap_err();
        assert!(matches!(err, RunError::Locked(_)), "{err}");
    }

    #[tokio::test]
    async fn retention_prunes_old_version_folders_and_dry_run_changes_nothing() {
        let (src, state) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
        let mut remote = FakeRemote::default();
        for day in 0..5 {
            write(src.path(), "f", &format!("version {day}"));
            let mut j = job(src.path(), state.path());
            j.retention = Retention {
                daily: 2,
                ..Default::default()
            };
            run_backup(&j, &mut remote, at(day)).await.unwrap();
        }
        let versions = remote.version_folders().await.unwrap();
        assert_eq!(versions.len(), 2, "{versions:?}");
        assert_eq!(
            remote.manifests.len(),
            2,
            "manifests follow the same retention"
        );
        let (header, entries) =
            crate::manifest::decode(remote.manifests.values().last().unwrap()).unwrap();
        assert_eq!((header.profile.as_str(), entries.len()), ("p", 1));
        assert_eq!(
            entries[0].whirlpool,
            fichier_api::whirlpool_hex(b"version 4")
        );

        write(src.path(), "f", "version 5");
        let mut j = job(src.path(), state.path());
        j.dry_run = true;
        let before = remote.paths();
        let s = run_backup(&j, &mut remote, at(5)).await.unwrap();
        assert_eq!(s.plan.as_ref().unwrap().upload, ["f"]);
        assert_eq!(remote.paths(), before);
    }

    #[tokio::test]
    async fn a_top_level_versions_folder_in_the_source_is_refused_never_stored_there() {
        let (src, state) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
        write(src.path(), "a.txt", "a");
        write(src.path(), ".versions/manifests/x.txt", "x");
        write(src.path(), "sub/.versions/kept.txt", "deeper is fine");
        let mut remote = FakeRemote::default();
        let s = run_backup(&job(src.path(), state.path()), &mut remote, at(0))
            .await
            .unwrap();
        assert_eq!(remote.paths(), ["a.txt", "sub/.versions/kept.txt"]);
        assert_eq!(s.outcome(), "failed-items");
        assert!(
            s.failed.iter().any(|f| f.path == ".versions"),
            "{:?}",
            s.failed
        );
    }

    #[cfg(unix)]
    #[tokio::test]
    async fn a_directory_that_cannot_be_read_keeps_its_remote_files_and_fails_the_run() {
        let (src, state, disk) = (
            tempfile::tempdir().unwrap(),
            tempfile::tempdir().unwrap(),
            tempfile::tempdir().unwrap(),
        );
        write(src.path(), "doc.txt", "doc");
        for i in 0..3 {
            write(
                &disk.path().join("photos"),
                &format!("p{i}.jpg"),
                &format!("photo {i}"),
            );
        }
        std::os::unix::fs::symlink(disk.path().join("photos"), src.path().join("photos")).unwrap();
        let mut remote = FakeRemote::default();
        let mut j = job(src.path(), state.path());
        j.filter.follow_symlinks = true;
        j.versions = false;
        let first = run_backup(&j, &mut remote, at(0)).await.unwrap();
        assert_eq!(first.uploaded, 4);
        let before = remote.paths();

        // The disk goes away under the followed link.
        std::fs::rename(disk.path().join("photos"), disk.path().join("gone")).unwrap();
        let s = run_backup(&j, &mut remote, at(1)).await.unwrap();
        assert_eq!(s.deleted, 0, "nothing unseen is retired");
        assert_eq!(remote.paths(), before);
        assert_eq!(s.outcome(), "failed-items");
        assert!(
            s.failed.iter().any(|f| f.path == "photos"),
            "{:?}",
            s.failed
        );
        let (_, entries) =
            crate::manifest::decode(remote.manifests.values().last().unwrap()).unwrap();
        let rels: Vec<&str> = entries.iter().map(|e| e.rel.as_str()).collect();
        assert_eq!(
            rels,
            ["doc.txt", "photos/p0.jpg", "photos/p1.jpg", "photos/p2.jpg"],
            "the kept files stay restorable from the newest run"
        );
    }

    #[test]
    fn a_version_stamped_in_the_future_anchors_nothing_and_is_kept() {
        let r = Retention {
            within: Some(crate::retention::KeepWithin::parse("30d").unwrap()),
            ..Default::default()
        };
        let names: Vec<String> = [
            "2099-01-01T000000Z",
            "2026-11-20T020000Z",
            "2026-12-01T020000Z",
            "2026-12-08T020000Z",
        ]
        .map(String::from)
        .to_vec();
        let pruned = prune_list(&r, &names, Some("2026-12-08T020000Z"));
        assert_eq!(
            pruned,
            Vec::<String>::new(),
            "all within 30 days of this run"
        );
    }

    #[tokio::test]
    async fn no_versions_is_a_plain_mirror() {
        let (src, state) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
        write(src.path(), "a", "1");
        write(src.path(), "b", "2");
        let mut remote = FakeRemote::default();
        let mut j = job(src.path(), state.path());
        j.versions = false;
        run_backup(&j, &mut remote, at(0)).await.unwrap();
        std::fs::remove_file(src.path().join("a")).unwrap();
        write(src.path(), "b", "22");
        let s = run_backup(&j, &mut remote, at(1)).await.unwrap();
        assert_eq!((s.deleted, s.versioned), (2, 0));
        assert_eq!(remote.paths(), ["b"]);
    }
}
