//! Restore and verify, the mirror of a backup run: read a run's manifest from the destination,
//! rebuild its tree from the live files and the versions (each file verified against the
//! manifest's whirlpool, never replacing a local file, never written through a symbolic link
//! inside the target), or check the destination against the manifest.

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use fichier_api::{FileLink, RemotePath};
use fichier_transfer::{Engine, TransferError, ensure_dir_inside};
use futures_util::StreamExt as _;
use serde::Serialize;

use crate::fetch::fetch_to;
use crate::journal::ManifestEntry;
use crate::manifest::{VerifyReport, decode, restore_plan, verify as verify_manifest};
use crate::remote::EngineRemote;
use crate::retention::parse_version_folder_name;
use crate::run::{BackupRemote as _, RemoteError};

/// Why a restore or verify could not run at all (per-file problems go in the report).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RestoreError {
    /// The destination could not be read.
    #[error("cannot read the backup destination: {0}")]
    Remote(#[from] RemoteError),
    /// The destination holds no manifest: no backup run wrote into it.
    #[error("this folder holds no backup manifest")]
    NoManifest,
    /// No run is as old as asked.
    #[error("no backup run at or before {at}")]
    NoRunAt {
        /// The instant asked for.
        at: jiff::Timestamp,
        /// The oldest run kept.
        oldest: String,
    },
    /// The manifest could not be decoded.
    #[error("manifest of {stamp}: {message}")]
    BadManifest {
        /// The run.
        stamp: String,
        /// What is wrong with it.
        message: String,
    },
    /// The local target could not be prepared.
    #[error("cannot create {path}: {source}")]
    Local {
        /// The directory.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
}

/// What to restore.
#[derive(Debug, Clone, Default)]
pub struct RestoreOptions {
    /// The newest run at or before this instant; `None`: the newest run.
    pub at: Option<jiff::Timestamp>,
    /// Paths or folders of the manifest to restore; empty: everything.
    pub only: Vec<String>,
    /// Files downloaded at once (at least 1).
    pub jobs: usize,
}

/// How a restore went, file by file.
#[derive(Debug, Default, Serialize)]
pub struct RestoreReport {
    /// The run restored.
    pub stamp: String,
    /// Files downloaded and put in place.
    pub restored: usize,
    /// Their bytes.
    pub bytes: u64,
    /// Files already there with the manifest's content.
    pub already_there: usize,
    /// Empty files created.
    pub empty_created: usize,
    /// Paths where a different local file (or a link) is; kept, never overwritten.
    pub conflicts: Vec<String>,
    /// Entries with no copy of their content left in the destination.
    pub lost: Vec<String>,
    /// Entries that failed, with why.
    pub failed: Vec<(String, String)>,
}

impl RestoreReport {
    /// True when every entry of the run is in place.
    pub fn complete(&self) -> bool {
        self.failed.is_empty() && self.lost.is_empty() && self.conflicts.is_empty()
    }
}

/// The manifest of the newest run (at or before `at`), read from the destination.
pub async fn load_manifest(
    remote: &mut EngineRemote<'_>,
    at: Option<jiff::Timestamp>,
) -> Result<(String, Vec<ManifestEntry>), RestoreError> {
    let names = remote.manifests().await?;
    let stamp = pick_stamp(&names, at)?;
    let bytes = remote.read_manifest(&format!("{stamp}.jsonl.gz")).await?;
    let (_, entries) = decode(&bytes).map_err(|e| RestoreError::BadManifest {
        stamp: stamp.clone(),
        message: e.to_string(),
    })?;
    Ok((stamp, entries))
}

/// The manifest stamp to use: the newest, or the newest at or before `at`.
fn pick_stamp(names: &[String], at: Option<jiff::Timestamp>) -> Result<String, RestoreError> {
    let mut stamps: Vec<(jiff::Timestamp, String)> = names
        .iter()
        .filter_map(|n| n.strip_suffix(".jsonl.gz"))
        .filter_map(|s| parse_version_folder_name(s).map(|t| (t, s.to_string())))
        .collect();
    stamps.sort();
    let pick = stamps
        .iter()
        .rev()
        .find(|(t, _)| at.is_none_or(|l| *t <= l));
    match (pick, at) {
        (Some((_, s)), _) => Ok(s.clone()),
        (None, _) if stamps.is_empty() => Err(RestoreError::NoManifest),
        (None, Some(at)) => Err(RestoreError::NoRunAt {
            at,
            oldest: stamps[0].1.clone(),
        }),
        (None, None) => Err(RestoreError::NoManifest),
    }
}

/// Restores the run of `dest` chosen by `opts` into `local` (created if missing).
pub async fn restore(
    engine: &Engine,
    dest: RemotePath,
    local: &Path,
    opts: &RestoreOptions,
) -> Result<RestoreReport, RestoreError> {
    std::fs::create_dir_all(local).map_err(|source| RestoreError::Local {
        path: local.to_path_buf(),
        source,
    })?;
    // Downloads land in a private staging folder inside the target (same file system, so
    // placing a file is a hard link), removed at the end.
    let staging = local.join(format!(".fichier-restore-{}", std::process::id()));
    let mut remote = EngineRemote::new(engine, dest, 1, staging.join("scratch"));
    let result = restore_from(engine, &mut remote, local, &staging, opts).await;
    let _ = std::fs::remove_dir_all(&staging);
    result
}

async fn restore_from(
    engine: &Engine,
    remote: &mut EngineRemote<'_>,
    local: &Path,
    staging: &Path,
    opts: &RestoreOptions,
) -> Result<RestoreReport, RestoreError> {
    let (stamp, entries) = load_manifest(remote, opts.at).await?;
    let copies = remote.all_copies().await?;
    let (items, lost) = restore_plan(
        &entries,
        &copies.into_iter().map(|(_, c)| c).collect::<Vec<_>>(),
        &opts.only,
    );
    let mut report = RestoreReport {
        stamp,
        lost: lost.iter().map(|e| e.rel.clone()).collect(),
        ..Default::default()
    };
    let mut to_fetch = Vec::new();
    for item in items {
        let target = local_target(local, &item.entry.rel);
        match std::fs::symlink_metadata(&target) {
            Ok(meta) => {
                if meta.is_file()
                    && meta.len() == item.entry.size
                    && same_content(&target, &item.entry).await
                {
                    report.already_there += 1;
                } else {
                    report.conflicts.push(item.entry.rel.clone());
                }
            }
            Err(_) if item.link.is_empty() => match create_empty(local, &target, &item.entry) {
                Ok(()) => report.empty_created += 1,
                Err(e) => report.failed.push((item.entry.rel.clone(), e)),
            },
            Err(_) => to_fetch.push((item, target)),
        }
    }
    let results: Vec<(ManifestEntry, PathBuf, Result<PathBuf, String>)> =
        futures_util::stream::iter(to_fetch.into_iter().enumerate())
            .map(|(n, (item, target))| async move {
                let dir = staging.join(n.to_string());
                let result = fetch_one(engine, &item.link, &item.entry, &dir)
                    .await
                    .map_err(|e| e.to_string());
                (item.entry, target, result)
            })
            .buffer_unordered(opts.jobs.max(1))
            .collect()
            .await;
    for (entry, target, result) in results {
        match result.and_then(|fetched| place(local, &fetched, &target, &entry)) {
            Ok(()) => {
                report.restored += 1;
                report.bytes += entry.size;
            }
            Err(e) => report.failed.push((entry.rel.clone(), e)),
        }
    }
    Ok(report)
}

/// `LOCAL/rel`, the manifest's paths having been checked to stay inside (no `..`).
fn local_target(root: &Path, rel: &str) -> PathBuf {
    let mut p = root.to_path_buf();
    for part in rel.split('/') {
        p.push(part);
    }
    p
}

async fn same_content(path: &Path, entry: &ManifestEntry) -> bool {
    fichier_api::whirlpool_file(path)
        .await
        .is_ok_and(|w| fichier_api::same_whirlpool(&w, &entry.whirlpool))
}

fn parent_inside(root: &Path, target: &Path) -> Result<(), String> {
    match target.parent() {
        Some(parent) => ensure_dir_inside(root, parent).map_err(|e| e.to_string()),
        None => Ok(()),
    }
}

fn create_empty(root: &Path, target: &Path, entry: &ManifestEntry) -> Result<(), String> {
    parent_inside(root, target)?;
    let f = std::fs::File::create_new(target).map_err(|e| e.to_string())?;
    drop(f);
    set_meta(target, entry)
}

fn set_meta(target: &Path, entry: &ManifestEntry) -> Result<(), String> {
    #[cfg(unix)]
    if entry.mode != 0 {
        use std::os::unix::fs::PermissionsExt as _;
        std::fs::set_permissions(target, std::fs::Permissions::from_mode(entry.mode))
            .map_err(|e| e.to_string())?;
    }
    if entry.mtime_ns > 0 {
        let t = SystemTime::UNIX_EPOCH
            + Duration::from_nanos(u64::try_from(entry.mtime_ns).unwrap_or(0));
        let f = std::fs::File::options()
            .write(true)
            .open(target)
            .map_err(|e| e.to_string())?;
        f.set_modified(t).map_err(|e| e.to_string())?;
    }
    Ok(())
}

/// Downloads one file of known size and whirlpool into the empty directory `dir` and returns
/// its path; the engine verifies the bytes before the file is named.
pub async fn fetch_one(
    engine: &Engine,
    link: &str,
    entry: &ManifestEntry,
    dir: &Path,
) -> Result<PathBuf, TransferError> {
    let link = FileLink::parse(link)
        .map_err(|e| TransferError::new(fichier_transfer::ErrorClass::Permanent, e.to_string()))?;
    fetch_to(
        engine,
        link,
        entry.size,
        Some(entry.whirlpool.clone()),
        dir,
        "file",
    )
    .await
}

/// Moves a fetched file into place without ever replacing what is there (a hard link fails
/// when the target exists) or going through a link inside the target, then sets mode and
/// mtime.
fn place(root: &Path, fetched: &Path, target: &Path, entry: &ManifestEntry) -> Result<(), String> {
    let size = std::fs::metadata(fetched).map_err(|e| e.to_string())?.len();
    if size != entry.size {
        return Err(format!(
            "downloaded {size} bytes, the manifest says {}",
            entry.size
        ));
    }
    parent_inside(root, target)?;
    std::fs::hard_link(fetched, target)
        .map_err(|e| format!("cannot place {}: {e}", target.display()))?;
    let _ = std::fs::remove_file(fetched);
    set_meta(target, entry)
}

/// What to verify.
#[derive(Debug, Clone)]
pub struct VerifyOptions {
    /// Also download files and re-hash them.
    pub read_data: bool,
    /// With `read_data`, the share of files to read, in percent (0 to 100).
    pub sample_percent: f64,
}

/// How a verification went.
#[derive(Debug, Serialize)]
pub struct VerifyOutcome {
    /// The run verified.
    pub stamp: String,
    /// Presence, sizes and whirlpools against the manifest.
    #[serde(flatten)]
    pub report: VerifyReport,
    /// Files downloaded and re-hashed.
    pub read: usize,
    /// Files whose downloaded bytes were wrong, with why.
    pub read_failed: Vec<(String, String)>,
}

impl VerifyOutcome {
    /// True when everything checked matched.
    pub fn clean(&self) -> bool {
        self.report.clean() && self.read_failed.is_empty()
    }
}

/// Verifies the newest run of `dest` (scratch files in `scratch`, removed at the end).
pub async fn verify(
    engine: &Engine,
    dest: RemotePath,
    scratch: &Path,
    opts: &VerifyOptions,
) -> Result<VerifyOutcome, RestoreError> {
    let mut remote = EngineRemote::new(engine, dest, 1, scratch.to_path_buf());
    let result = verify_in(engine, &mut remote, scratch, opts).await;
    let _ = std::fs::remove_dir_all(scratch);
    result
}

async fn verify_in(
    engine: &Engine,
    remote: &mut EngineRemote<'_>,
    scratch: &Path,
    opts: &VerifyOptions,
) -> Result<VerifyOutcome, RestoreError> {
    let (stamp, entries) = load_manifest(remote, None).await?;
    let live = remote.live_files().await?;
    let report = verify_manifest(&entries, &live);
    let mut read = 0;
    let mut read_failed = Vec::new();
    if opts.read_data {
        for e in entries.iter().filter(|e| e.size > 0) {
            if opts.sample_percent < 100.0 && rand::random::<f64>() * 100.0 >= opts.sample_percent {
                continue;
            }
            let Some(copy) = live
                .get(&e.rel)
                .and_then(|c| c.iter().find(|c| c.size == e.size))
            else {
                continue;
            };
            let dir = scratch.join(read.to_string());
            read += 1;
            // The engine checks the bytes against the manifest's whirlpool before naming the
            // file: a download that succeeds has the recorded content.
            if let Err(err) = fetch_one(engine, &copy.link, e, &dir).await {
                read_failed.push((e.rel.clone(), err.to_string()));
            }
            let _ = std::fs::remove_dir_all(&dir);
        }
    }
    Ok(VerifyOutcome {
        stamp,
        report,
        read,
        read_failed,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_newest_run_at_or_before_the_instant_is_picked() {
        let names: Vec<String> = ["2026-12-01T020000Z", "2026-12-03T020000Z"]
            .iter()
            .map(|s| format!("{s}.jsonl.gz"))
            .collect();
        let stamps: Vec<_> = names
            .iter()
            .filter_map(|n| n.strip_suffix(".jsonl.gz"))
            .filter_map(parse_version_folder_name)
            .collect();
        assert_eq!(stamps.len(), 2, "retention's stamp format");
        assert_eq!(pick_stamp(&names, None).unwrap(), "2026-12-03T020000Z");
        let between = stamps[0] + jiff::SignedDuration::from_hours(1);
        assert_eq!(
            pick_stamp(&names, Some(between)).unwrap(),
            "2026-12-01T020000Z"
        );
        let before = stamps[0] - jiff::SignedDuration::from_hours(1);
        assert!(matches!(
            pick_stamp(&names, Some(before)),
            Err(RestoreError::NoRunAt { .. })
        ));
        assert!(matches!(
            pick_stamp(&[], None),
            Err(RestoreError::NoManifest)
        ));
    }
}
