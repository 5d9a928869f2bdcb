//! `fichier restore` and `fichier verify`: read a backup run's manifest from the destination,
//! rebuild the tree from the live files and the versions (verified, never overwriting a local
//! file), or check the destination against the manifest.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use fichier_api::{FileLink, RemotePath};
use fichier_backup::journal::ManifestEntry;
use fichier_backup::manifest::{decode, restore_plan, verify as verify_manifest};
use fichier_backup::remote::EngineRemote;
use fichier_backup::retention::parse_version_folder_name;
use fichier_backup::run::{BackupRemote, RemoteError};
use fichier_transfer::{DownloadInput, DownloadOptions, EngineConfig, Event, RecordEvents};
use futures_util::StreamExt as _;
use serde::Serialize;

use super::transfer::engine;
use crate::cli::{RestoreArgs, VerifyArgs};
use crate::context::Context;
use crate::error::{Exit, Failure};
use crate::printer::human_size;

fn remote_failure(e: RemoteError) -> anyhow::Error {
    super::backup::stop_failure("cannot read the backup destination", &e, false)
}

fn dest_path(raw: &str) -> anyhow::Result<RemotePath> {
    RemotePath::parse(raw).map_err(|e| Failure::usage(format!("backup destination: {e}")).into())
}

/// The manifest stamp to use: the newest, or the newest at or before `at` (local time).
fn pick_stamp(names: &[String], at: Option<&str>) -> anyhow::Result<String> {
    let mut stamps: Vec<(jiff::Timestamp, String)> = names
        .iter()
        .filter_map(|n| n.strip_suffix(".jsonl.gz"))
        .filter_map(|s| parse_version_folder_name(s).map(|t| (t, s.to_string())))
        .collect();
    stamps.sort();
    let limit = match at {
        None => None,
        Some(text) => Some(parse_at(text)?),
    };
    let pick = stamps
        .iter()
        .rev()
        .find(|(t, _)| limit.is_none_or(|l| *t <= l));
    match pick {
        Some((_, s)) => Ok(s.clone()),
        None if stamps.is_empty() => Err(Failure::fatal("this folder holds no backup manifest")
            .with_hint("restore from the destination a `fichier backup` run wrote into (it has .versions/manifests)")
            .into()),
        None => Err(Failure::usage(format!("no backup run at or before {}", at.unwrap_or_default()))
            .with_hint(format!("the oldest run kept is {}", stamps[0].1))
            .into()),
    }
}

/// The manifest of the newest run (at or before `at`), read from the destination.
async fn load_manifest(
    remote: &mut EngineRemote<'_>,
    at: Option<&str>,
) -> anyhow::Result<(String, Vec<ManifestEntry>)> {
    let names = remote.manifests().await.map_err(remote_failure)?;
    let stamp = pick_stamp(&names, at)?;
    let bytes = remote
        .read_manifest(&format!("{stamp}.jsonl.gz"))
        .await
        .map_err(remote_failure)?;
    let (_, entries) =
        decode(&bytes).map_err(|e| Failure::fatal(format!("manifest of {stamp}: {e}")))?;
    Ok((stamp, entries))
}

/// `2026-12-01` (end of that day), `2026-12-01T02:30` or `2026-12-01 02:30`, in local time;
/// or an RFC 3339 instant.
fn parse_at(text: &str) -> anyhow::Result<jiff::Timestamp> {
    let t = text.trim();
    if let Ok(ts) = t.parse::<jiff::Timestamp>() {
        return Ok(ts);
    }
    let tz = jiff::tz::TimeZone::system();
    let bad = || {
        Failure::usage(format!(
            "--at {t:?}: expected YYYY-MM-DD or YYYY-MM-DDTHH:MM (local time)"
        ))
    };
    let dt: jiff::civil::DateTime = match t.parse::<jiff::civil::Date>() {
        Ok(d) => d.at(23, 59, 59, 999_999_999),
        Err(_) => t.replacen(' ', "T", 1).parse().map_err(|_| bad())?,
    };
    dt.to_zoned_datetime(tz)
        .map(|z| z.timestamp())
        .map_err(|_| bad().into())
}

#[derive(Serialize, Default)]
struct RestoreReport {
    stamp: String,
    restored: usize,
    bytes: u64,
    already_there: usize,
    empty_created: usize,
    conflicts: Vec<String>,
    lost: Vec<String>,
    failed: Vec<(String, String)>,
}

/// Runs `fichier restore`.
pub async fn run(ctx: &mut Context, args: RestoreArgs) -> anyhow::Result<Exit> {
    let dest = dest_path(&args.remote)?;
    let engine = engine(ctx, EngineConfig::default()).await?;
    std::fs::create_dir_all(&args.local).map_err(|e| {
        Failure::fatal(format!("cannot create {}", args.local.display())).with_cause(e.to_string())
    })?;
    let staging = args
        .local
        .join(format!(".fichier-restore-{}", std::process::id()));
    let mut remote = EngineRemote::new(&engine, dest, 1, staging.join("scratch"));
    let (stamp, entries) = load_manifest(&mut remote, args.at.as_deref()).await?;
    let copies = remote.all_copies().await.map_err(remote_failure)?;
    let only: Vec<String> = args.paths.clone();
    let (items, lost) = restore_plan(
        &entries,
        &copies.into_iter().map(|(_, c)| c).collect::<Vec<_>>(),
        &only,
    );
    let mut report = RestoreReport {
        stamp: stamp.clone(),
        lost: lost.iter().map(|e| e.rel.clone()).collect(),
        ..Default::default()
    };

    let mut to_fetch = Vec::new();
    for item in items {
        let target = local_target(&args.local, &item.entry.rel);
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
                continue;
            }
            Err(_) if item.link.is_empty() => match create_empty(&target, &item.entry) {
                Ok(()) => report.empty_created += 1,
                Err(e) => report.failed.push((item.entry.rel.clone(), e)),
            },
            Err(_) => to_fetch.push((item, target)),
        }
    }

    let jobs = usize::from(args.jobs);
    let engine_ref = &engine;
    let staging_ref = &staging;
    let results: Vec<(ManifestEntry, PathBuf, Result<PathBuf, String>)> =
        futures_util::stream::iter(to_fetch.into_iter().enumerate())
            .map(|(n, (item, target))| async move {
                let dir = staging_ref.join(n.to_string());
                let result = fetch_one(engine_ref, &item.link, &item.entry, &dir).await;
                (item.entry, target, result)
            })
            .buffer_unordered(jobs)
            .collect()
            .await;
    for (entry, target, result) in results {
        match result.and_then(|fetched| place(&fetched, &target, &entry)) {
            Ok(()) => {
                report.restored += 1;
                report.bytes += entry.size;
            }
            Err(e) => report.failed.push((entry.rel.clone(), e)),
        }
    }
    let _ = std::fs::remove_dir_all(&staging);

    let p = &ctx.printer;
    if p.json_mode() {
        p.json(&report);
    } else {
        for c in &report.conflicts {
            p.warn(&format!(
                "kept {c}: a different local file is already there (not overwritten)"
            ));
        }
        for l in &report.lost {
            p.warn(&format!(
                "lost {l}: no copy with its content is left in the destination (pruned version?)"
            ));
        }
        for (f, e) in &report.failed {
            p.warn(&format!("failed {f}: {e}"));
        }
        p.line(&format!(
            "restored {} files ({}) from the run of {}, {} empty created, {} already there, {} conflicts, {} lost, {} failed",
            report.restored,
            human_size(report.bytes),
            report.stamp,
            report.empty_created,
            report.already_there,
            report.conflicts.len(),
            report.lost.len(),
            report.failed.len()
        ));
    }
    Ok(
        if report.failed.is_empty() && report.lost.is_empty() && report.conflicts.is_empty() {
            Exit::Ok
        } else {
            Exit::Partial
        },
    )
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

fn create_empty(target: &Path, entry: &ManifestEntry) -> Result<(), String> {
    if let Some(parent) = target.parent() {
        std::fs::create_dir_all(parent).map_err(|e| e.to_string())?;
    }
    let f = std::fs::File::create_new(target).map_err(|e| e.to_string())?;
    drop(f);
    set_meta(target, entry)
}

fn set_meta(target: &Path, entry: &ManifestEntry) -> Result<(), String> {
    use std::os::unix::fs::PermissionsExt as _;
    if entry.mode != 0 {
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

/// Downloads one link into an empty directory of its own and returns the file. The manifest
/// gives name, size and whirlpool, so no `file/info` is asked and the engine verifies the
/// bytes against the manifest's whirlpool.
async fn fetch_one(
    engine: &fichier_transfer::Engine,
    link: &str,
    entry: &ManifestEntry,
    dir: &Path,
) -> Result<PathBuf, String> {
    std::fs::create_dir_all(dir).map_err(|e| e.to_string())?;
    let link = FileLink::parse(link).map_err(|e| e.to_string())?;
    let rec = Arc::new(RecordEvents::new());
    let input = DownloadInput::Known {
        link,
        name: "file".into(),
        size: entry.size,
        whirlpool: entry.whirlpool.clone(),
    };
    let summary = engine
        .download(&[input], &DownloadOptions::new(dir), rec.clone())
        .await;
    if let Some(f) = summary.failures.first() {
        return Err(f.error.clone());
    }
    if let Some(stop) = &summary.stopped {
        return Err(stop.message.clone());
    }
    rec.events()
        .into_iter()
        .find_map(|e| match e {
            Event::Done { path: Some(p), .. } => Some(PathBuf::from(p)),
            _ => None,
        })
        .ok_or_else(|| "the download ended without a file".to_string())
}

/// Moves a fetched file into place without ever replacing what is there (a hard link fails
/// when the target exists), then sets mode and mtime.
fn place(fetched: &Path, target: &Path, entry: &ManifestEntry) -> Result<(), String> {
    let size = std::fs::metadata(fetched).map_err(|e| e.to_string())?.len();
    if size != entry.size {
        return Err(format!(
            "downloaded {size} bytes, the manifest says {}",
            entry.size
        ));
    }
    if let Some(parent) = target.parent() {
        std::fs::create_dir_all(parent).map_err(|e| e.to_string())?;
    }
    std::fs::hard_link(fetched, target)
        .map_err(|e| format!("cannot place {}: {e}", target.display()))?;
    let _ = std::fs::remove_file(fetched);
    set_meta(target, entry)
}

#[derive(Serialize)]
struct VerifyJson<'a> {
    stamp: &'a str,
    #[serde(flatten)]
    report: &'a fichier_backup::manifest::VerifyReport,
    read: usize,
    read_failed: Vec<(String, String)>,
}

/// Runs `fichier verify`.
pub async fn verify(ctx: &mut Context, args: VerifyArgs) -> anyhow::Result<Exit> {
    let dest = dest_path(&args.remote)?;
    let sample = match &args.sample {
        None => 100.0,
        Some(s) => s
            .trim()
            .trim_end_matches('%')
            .parse::<f64>()
            .ok()
            .filter(|v| (0.0..=100.0).contains(v))
            .ok_or_else(|| {
                Failure::usage(format!("--sample {s:?}: expected a percentage such as 10%"))
            })?,
    };
    let engine = engine(ctx, EngineConfig::default()).await?;
    let scratch = ctx
        .settings
        .dirs
        .cache
        .join(format!("verify-{}", std::process::id()));
    let mut remote = EngineRemote::new(&engine, dest, 1, scratch.clone());
    let (stamp, entries) = load_manifest(&mut remote, None).await?;
    let live = remote.live_files().await.map_err(remote_failure)?;
    let report = verify_manifest(&entries, &live);
    let mut read = 0;
    let mut read_failed = Vec::new();
    if args.read_data {
        for e in entries.iter().filter(|e| e.size > 0) {
            if sample < 100.0 && rand::random::<f64>() * 100.0 >= sample {
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
            let outcome =
                match fetch_one(&engine, &copy.link, e, &dir).await {
                    Ok(path) => match fichier_api::whirlpool_file(&path).await {
                        Ok(w) if fichier_api::same_whirlpool(&w, &e.whirlpool) => Ok(()),
                        Ok(_) => Err("the downloaded bytes do not match the manifest's whirlpool"
                            .to_string()),
                        Err(err) => Err(err.to_string()),
                    },
                    Err(err) => Err(err),
                };
            let _ = std::fs::remove_dir_all(&dir);
            if let Err(err) = outcome {
                read_failed.push((e.rel.clone(), err));
            }
        }
    }
    let _ = std::fs::remove_dir_all(&scratch);
    let p = &ctx.printer;
    if p.json_mode() {
        p.json(&VerifyJson {
            stamp: &stamp,
            report: &report,
            read,
            read_failed: read_failed.clone(),
        });
    } else {
        for m in &report.missing {
            p.warn(&format!("missing {m}"));
        }
        for c in &report.changed {
            p.warn(&format!(
                "changed {c}: size or whirlpool differs from the manifest"
            ));
        }
        for (f, e) in &read_failed {
            p.warn(&format!("read {f}: {e}"));
        }
        p.line(&format!(
            "verified the run of {stamp}: {} ok, {} missing, {} changed, {} not in the manifest{}",
            report.ok,
            report.missing.len(),
            report.changed.len(),
            report.unknown.len(),
            if args.read_data {
                format!(
                    ", {read} downloaded and re-hashed, {} bad",
                    read_failed.len()
                )
            } else {
                String::new()
            }
        ));
    }
    Ok(if report.clean() && read_failed.is_empty() {
        Exit::Ok
    } else {
        Exit::Partial
    })
}
