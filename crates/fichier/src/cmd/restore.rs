//! `fichier restore` and `fichier verify`: the command-line face of
//! [`fichier_backup::restore`] (which reads the run's manifest, rebuilds the tree verified and
//! without replacing or writing through anything local, or checks the destination): flags in,
//! report and exit code out, advice on failures.

use std::path::PathBuf;

use fichier_api::RemotePath;
use fichier_backup::{RestoreError, RestoreOptions, VerifyOptions};
use fichier_transfer::EngineConfig;

use super::transfer::engine;
use crate::cli::{RestoreArgs, VerifyArgs};
use crate::context::Context;
use crate::error::{Exit, Failure};
use crate::printer::human_size;

fn dest_path(raw: &str) -> anyhow::Result<RemotePath> {
    RemotePath::parse(raw).map_err(|e| Failure::usage(format!("backup destination: {e}")).into())
}

/// The advice for a restore or verify that could not run.
fn restore_failure(e: RestoreError) -> anyhow::Error {
    match e {
        RestoreError::Remote(r) => {
            super::backup::stop_failure("cannot read the backup destination", &r, false)
        }
        RestoreError::NoManifest => Failure::fatal(e.to_string())
            .with_hint(
                "restore from the destination a `fichier backup` run wrote into (it has \
                 .versions/manifests)",
            )
            .into(),
        RestoreError::NoRunAt { ref oldest, .. } => {
            let hint = format!("the oldest run kept is {oldest}; give a later --at");
            Failure::usage(e.to_string()).with_hint(hint).into()
        }
        RestoreError::Local { .. } => Failure::fatal(e.to_string()).into(),
        other => Failure::fatal(other.to_string()).into(),
    }
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

/// Runs `fichier restore`.
pub async fn run(ctx: &mut Context, args: RestoreArgs) -> anyhow::Result<Exit> {
    let dest = dest_path(&args.remote)?;
    let at = args.at.as_deref().map(parse_at).transpose()?;
    let engine = engine(ctx, EngineConfig::default()).await?;
    let opts = RestoreOptions {
        at,
        only: args.paths.clone(),
        jobs: usize::from(args.jobs),
    };
    let report = fichier_backup::restore(&engine, dest, &args.local, &opts)
        .await
        .map_err(restore_failure)?;
    let p = &ctx.printer;
    if p.json_mode() {
        p.json(&report);
    } else {
        for c in &report.conflicts {
            p.warn(&format!(
                "kept {c}: a different local file (or a link) is already there (not overwritten)"
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
    Ok(if report.complete() {
        Exit::Ok
    } else {
        Exit::Partial
    })
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
    let scratch: PathBuf = ctx
        .settings
        .paths
        .cache()
        .join(format!("verify-{}", std::process::id()));
    let opts = VerifyOptions {
        read_data: args.read_data,
        sample_percent: sample,
    };
    let outcome = fichier_backup::verify(&engine, dest, &scratch, &opts)
        .await
        .map_err(restore_failure)?;
    let p = &ctx.printer;
    if p.json_mode() {
        p.json(&outcome);
    } else {
        let report = &outcome.report;
        for m in &report.missing {
            p.warn(&format!("missing {m}"));
        }
        for c in &report.changed {
            p.warn(&format!(
                "changed {c}: size or whirlpool differs from the manifest"
            ));
        }
        for (f, e) in &outcome.read_failed {
            p.warn(&format!("read {f}: {e}"));
        }
        p.line(&format!(
            "verified the run of {}: {} ok, {} missing, {} changed, {} not in the manifest{}",
            outcome.stamp,
            report.ok,
            report.missing.len(),
            report.changed.len(),
            report.unknown.len(),
            if args.read_data {
                format!(
                    ", {} downloaded and re-hashed, {} bad",
                    outcome.read,
                    outcome.read_failed.len()
                )
            } else {
                String::new()
            }
        ));
    }
    Ok(if outcome.clean() {
        Exit::Ok
    } else {
        Exit::Partial
    })
}
