//! `fichier scan [PATH..]` and `fichier scan install-hook`: the command-line side of the
//! `fichier-scan` leaked-key scanner (argument checks, output, exit codes, and `--verify`,
//! which checks each found key once with `user/info` against the configured API base).
//!
//! Scanning needs no key of its own: it works with nothing configured. Exit codes follow
//! docs/scan.md: 0 nothing found, 1 findings, 2 error.

use std::path::PathBuf;
use std::time::Duration;

use fichier_api::{ApiKey, Pacer, PacerConfig};
use fichier_scan::{
    Baseline, EXIT_CLEAN, EXIT_FINDINGS, HookOptions, Input, Report, ScanOptions, Scanner,
    Verification, render_json, render_sarif, render_summary, render_text,
};

use crate::cli::{InstallHookArgs, ScanArgs, ScanCommand};
use crate::context::Context;
use crate::error::{Exit, Failure};

mod fix;

/// Where live keys must be revoked.
pub(crate) const CONSOLE_URL: &str = "https://1fichier.com/console/params.pl";

/// Runs `fichier scan` or `fichier scan install-hook`.
pub async fn run(ctx: &mut Context, args: ScanArgs) -> anyhow::Result<Exit> {
    if let Some(ScanCommand::InstallHook(a)) = args.command {
        return install_hook(ctx, a).await;
    }
    let json = ctx.printer.json_mode();
    if json && args.sarif {
        return Err(Failure::usage("--json and --sarif cannot be used together")
            .with_hint("pick one output format")
            .into());
    }
    if args.fix && (json || args.sarif) {
        return Err(
            Failure::usage("--fix shows diffs and asks: it has no JSON or SARIF output")
                .with_hint("leave out --json/--sarif, and add --yes to write without being asked")
                .into(),
        );
    }
    let inputs = inputs(&args)?;
    let strict = args.strict;
    let mut report = tokio::task::spawn_blocking(move || {
        Scanner::new(ScanOptions {
            strict,
            ..ScanOptions::default()
        })
        .scan_inputs(&inputs)
    })
    .await
    .map_err(|e| Failure::fatal("the scan failed").with_cause(e.to_string()))?
    .map_err(|e| Failure::fatal(e.to_string()))?;

    // Written before the old baseline is applied, so already accepted keys stay accepted.
    let wrote_baseline = match &args.write_baseline {
        Some(path) => {
            Baseline::from_findings(&report.findings)
                .save(path)
                .map_err(|e| Failure::fatal(e.to_string()))?;
            Some(path.clone())
        }
        None => None,
    };
    if let Some(path) = &args.baseline {
        let baseline = Baseline::load(path).map_err(|e| Failure::usage(e.to_string()))?;
        report.apply_baseline(&baseline);
    }
    if args.verify && !report.findings.is_empty() {
        verify(ctx, &mut report).await?;
    }

    let text = if json {
        render_json(&report)
    } else if args.sarif {
        render_sarif(&report, env!("CARGO_PKG_VERSION"))
    } else {
        render_text(&report)
    };
    let text = text.trim_end_matches('\n');
    if json || args.sarif {
        // Serialized JSON escapes control characters itself and must stay exact.
        ctx.printer.json_text(text);
    } else {
        // One data line per printed line: `line` escapes what a scanned path could smuggle in.
        for line in text.lines() {
            ctx.printer.line(line);
        }
    }
    for e in &report.errors {
        ctx.printer.warn(&format!("{}: {}", e.path, e.message));
    }
    ctx.printer.status(&render_summary(&report));
    for f in report.distinct_keys() {
        if let Some(Verification::Unknown { reason }) = &f.verification {
            ctx.printer.warn(&format!("key {}: {reason}", f.masked));
        }
    }
    let live = report
        .distinct_keys()
        .iter()
        .filter(|f| f.verification == Some(Verification::Live))
        .count();
    if live > 0 {
        ctx.printer.warn(&format!(
            "{live} of the keys found still work: revoke them now on {CONSOLE_URL} (generate a \
             new key), then remove them from the files and from git history"
        ));
    }
    if let Some(path) = wrote_baseline {
        ctx.printer.status(&format!(
            "Wrote {} accepted finding(s) to the baseline {}; pass it with --baseline.",
            report.findings.len() + report.stats.suppressed_by_baseline as usize,
            path.display()
        ));
        // Everything found is now accepted: only unreadable inputs still fail the run.
        return Ok(if report.exit_code() == EXIT_FINDINGS {
            Exit::Ok
        } else {
            exit_of(&report)
        });
    }
    if args.fix {
        return fix::run(ctx, &args, &mut report).await;
    }
    Ok(exit_of(&report))
}

/// The scanner's exit code as the CLI's (0 clean, 1 findings, 2 error).
fn exit_of(report: &Report) -> Exit {
    match report.exit_code() {
        EXIT_CLEAN => Exit::Ok,
        EXIT_FINDINGS => Exit::Partial,
        _ => Exit::Fatal,
    }
}

/// What to scan, from the arguments.
fn inputs(args: &ScanArgs) -> anyhow::Result<Vec<Input>> {
    if args.git || args.staged {
        if args.paths.len() > 1 {
            return Err(Failure::usage(format!(
                "{} takes at most one PATH: the repository to scan",
                if args.git { "--git" } else { "--staged" }
            ))
            .with_hint("run it once per repository")
            .into());
        }
        let repo = PathBuf::from(args.paths.first().map(String::as_str).unwrap_or("."));
        if args.paths.first().is_some_and(|p| p == "-") {
            return Err(Failure::usage("standard input has no git history")
                .with_hint("give the repository directory, or leave out --git/--staged")
                .into());
        }
        return Ok(vec![if args.git {
            Input::GitHistory(repo)
        } else {
            Input::Staged(repo)
        }]);
    }
    if args.paths.iter().filter(|p| *p == "-").count() > 1 {
        return Err(Failure::usage("standard input (`-`) can be scanned only once").into());
    }
    if args.paths.is_empty() {
        return Ok(vec![Input::from_arg(".")]);
    }
    Ok(args.paths.iter().map(|a| Input::from_arg(a)).collect())
}

/// Checks each distinct key once with `user/info`, against the configured API base only.
///
/// Each key gets its own client (its own pacer and per-key state file, so 1fichier's
/// 5-minute `user/info` window is kept per key, across processes); one process-wide pacer
/// keeps the minimum gap between the calls for different keys, which share this IP.
pub(crate) async fn verify(ctx: &mut Context, report: &mut Report) -> anyhow::Result<()> {
    // The sandbox's URL when sandboxed; else the configured (validated) base. Never anything
    // derived from the scanned files.
    let url = if ctx.settings.sandbox {
        ctx.key().await?.0
    } else {
        ctx.settings.api_url.clone()
    };
    let gap = if ctx.settings.sandbox || ctx.settings.unthrottled {
        PacerConfig::unthrottled()
    } else {
        let mut c = PacerConfig::default();
        if let Some(g) = ctx.settings.min_gap {
            c.min_gap = g;
        }
        c
    };
    let gap = Pacer::new(gap);
    let keys: Vec<(fichier_scan::Fingerprint, String)> = report
        .distinct_keys()
        .iter()
        .map(|f| {
            (
                f.fingerprint.clone(),
                f.expose_key_for_verification().to_owned(),
            )
        })
        .collect();
    ctx.printer.status(&format!(
        "Checking {} distinct key(s) with {} (one account query each)…",
        keys.len(),
        url.host_str().unwrap_or("the API")
    ));
    let mut flood: Option<Duration> = None;
    for (fingerprint, raw) in keys {
        let outcome = match flood {
            Some(wait) => unknown(format!(
                "not checked: 1fichier flood-locked this IP; retry in {}s",
                wait.as_secs().max(1)
            )),
            None => match ApiKey::parse(&raw) {
                Err(_) => unknown("not checked: not a well-formed key".to_owned()),
                Ok(key) => {
                    gap.acquire("user/info.cgi").await.ok();
                    let client = ctx.build_client(&url, key)?;
                    let outcome = classify(client.user_info().await, &raw);
                    if let Some(w) = &outcome.1 {
                        flood = Some(*w);
                    }
                    outcome.0
                }
            },
        };
        report.set_verification(&fingerprint, outcome);
    }
    Ok(())
}

fn unknown(reason: String) -> Verification {
    Verification::Unknown { reason }
}

/// Maps a `user/info` answer to a verification outcome (and the flood wait, when locked).
/// The reason text never contains the key: API errors do not carry it, and it is scrubbed
/// anyway.
fn classify(
    answer: Result<fichier_api::UserInfo, fichier_api::Error>,
    key: &str,
) -> (Verification, Option<Duration>) {
    use fichier_api::Error as E;
    let scrub = |s: String| s.replace(key, "[key]");
    match answer {
        Ok(_) => (Verification::Live, None),
        // A free account's key is still a working key to the account: revoke it.
        Err(E::NotCustomer { .. }) => (Verification::Live, None),
        Err(E::BadKey { .. }) => (Verification::Dead, None),
        Err(E::Paced { retry_after, .. }) => (
            unknown(format!(
                "not checked: 1fichier allows one account query per 5 minutes per key; retry \
                 in {}s",
                retry_after.as_secs().max(1)
            )),
            None,
        ),
        Err(E::FloodLocked { retry_after, .. }) => (
            unknown(format!(
                "not checked: 1fichier flood-locked this IP; retry in {}s",
                retry_after.as_secs().max(1)
            )),
            Some(retry_after),
        ),
        Err(e) => (unknown(scrub(format!("not checked: {e}"))), None),
    }
}

async fn install_hook(ctx: &mut Context, args: InstallHookArgs) -> anyhow::Result<Exit> {
    let options = HookOptions {
        force: args.force,
        baseline: args.baseline,
        ..HookOptions::default()
    };
    let hook = tokio::task::spawn_blocking(move || {
        fichier_scan::install_hook(std::path::Path::new("."), &options)
    })
    .await
    .map_err(|e| Failure::fatal("installing the hook failed").with_cause(e.to_string()))?
    .map_err(|e| Failure::fatal(e.to_string()))?;
    ctx.printer.status(&format!(
        "Installed {}: commits that stage a 1fichier key are refused (skip once with `git \
         commit --no-verify`).",
        hook.display()
    ));
    Ok(Exit::Ok)
}
