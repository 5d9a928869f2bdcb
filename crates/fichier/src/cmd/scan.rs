//! `fichier scan [PATH..]` and `fichier scan install-hook`: the command-line side of the
//! `fichier-scan` leaked-key scanner (argument checks, output, exit codes, and `--verify`,
//! which checks each found key once with `user/info` against the configured API base).
//!
//! Scanning needs no key of its own: it works with nothing configured. Exit codes follow
//! docs/scan.md: 0 nothing found, 1 findings, 2 error.

use std::path::PathBuf;
use std::time::Duration;

use fichier_api::ApiKey;
use fichier_scan::{
    Baseline, EXIT_CLEAN, EXIT_FINDINGS, HookOptions, Input, Report, ScanOptions, Scanner,
    Verification, render_finding, render_json, render_sarif, render_summary,
};

use crate::cli::{InstallHookArgs, ScanArgs, ScanCommand};
use crate::cmd::ask_yes_no;
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
    // The one key the user said is theirs (and that was checked): `--fix` may store only it.
    let claimed = match &args.verify {
        Some(finding) if !report.findings.is_empty() => {
            verify(ctx, &mut report, finding.as_deref()).await?
        }
        _ => None,
    };

    if json || args.sarif {
        let text = if json {
            render_json(&report)
        } else {
            render_sarif(&report, env!("CARGO_PKG_VERSION"))
        };
        // Serialized JSON escapes control characters itself and must stay exact.
        ctx.printer.json_text(text.trim_end_matches('\n'));
    } else {
        // One finding per printed line, escaped whole: a newline in a scanned file's name is
        // shown as `\n` and can neither split a finding nor forge one.
        for f in &report.findings {
            ctx.printer.line(&render_finding(f));
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
        return fix::run(ctx, &args, &mut report, claimed.as_ref()).await;
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

/// Checks the one found key the user says is theirs with `user/info`, against the configured
/// API base only, and returns its fingerprint.
///
/// A found key may be anyone's (a scanned tree is often someone else's code), and `user/info`
/// is 1fichier's most flood-limited call: so nothing is sent unless the user named the finding
/// (`--verify=PATH:LINE` or its fingerprint) or answered yes for that key on a terminal, and at
/// most one key is checked per run. The client's pacer keeps 1fichier's 5-minute `user/info`
/// window per key across processes.
pub(crate) async fn verify(
    ctx: &mut Context,
    report: &mut Report,
    finding: Option<&str>,
) -> anyhow::Result<Option<fichier_scan::Fingerprint>> {
    let chosen = match finding {
        Some(arg) => Some(named_finding(report, arg)?),
        None if ctx.printer.settings().stdin_tty => {
            let mut chosen = None;
            for f in report.distinct_keys() {
                let question = format!(
                    "Is the key {} found at {}:{} yours? Check it with 1fichier (one account \
                     query; at most one key per run)?",
                    f.masked, f.path, f.line
                );
                if ask_yes_no(&question)? {
                    chosen = Some(f.fingerprint.clone());
                    break;
                }
            }
            chosen
        }
        None => None,
    };
    let Some(fingerprint) = chosen else {
        ctx.printer.warn(
            "--verify: no key checked. A found key may be someone else's: name the one that is \
             yours with --verify=PATH:LINE (one account query per run), or run on a terminal \
             to be asked per key.",
        );
        return Ok(None);
    };
    let Some(found) = report
        .findings
        .iter()
        .find(|f| f.fingerprint == fingerprint)
    else {
        return Ok(None);
    };
    let raw = found.expose_key_for_verification().to_owned();
    let masked = found.masked.clone();
    // The sandbox's URL when sandboxed; else the configured (validated) base. Never anything
    // derived from the scanned files.
    let url = if ctx.settings.sandbox {
        ctx.key().await?.0
    } else {
        ctx.settings.api_url.clone()
    };
    ctx.printer.status(&format!(
        "Checking the key {masked} with {} (one account query)…",
        url.host_str().unwrap_or("the API")
    ));
    let outcome = match ApiKey::parse(&raw) {
        Err(_) => unknown("not checked: not a well-formed key".to_owned()),
        Ok(key) => {
            let client = ctx.build_client(&url, key)?;
            classify(client.user_info().await, &raw).0
        }
    };
    report.set_verification(&fingerprint, outcome);
    Ok(Some(fingerprint))
}

/// The finding `--verify=FINDING` names: its fingerprint (32 hex digits), or `PATH:LINE`
/// (`PATH:LINE:COLUMN`, as the text output prints it).
fn named_finding(report: &Report, arg: &str) -> anyhow::Result<fichier_scan::Fingerprint> {
    // A key typed where the finding goes must not come back in the error, nor be matched.
    if crate::printer::looks_like_key(arg) && !arg.contains(':') {
        return Err(Failure::usage(
            "--verify takes a finding (PATH:LINE or its fingerprint), never a key: that looked \
             like a key, so it was not used",
        )
        .with_hint("a key typed on a command line is visible to other users in `ps`: regenerate it if it was yours")
        .into());
    }
    let matches: Vec<&fichier_scan::Finding> =
        if arg.len() == 32 && arg.bytes().all(|b| b.is_ascii_hexdigit()) {
            let lower = arg.to_ascii_lowercase();
            report
                .findings
                .iter()
                .filter(|f| f.fingerprint.to_string() == lower)
                .collect()
        } else {
            // PATH:LINE:COLUMN first, then PATH:LINE (a path may hold `:` itself).
            let num = |s: &str| s.parse::<usize>().ok();
            let (path, line, column) = match arg.rsplit_once(':') {
                Some((rest, last)) if num(last).is_some() => match rest.rsplit_once(':') {
                    Some((p, l)) if num(l).is_some() => (p.to_owned(), num(l), num(last)),
                    _ => (rest.to_owned(), num(last), None),
                },
                _ => (arg.to_owned(), None, None),
            };
            let same_path = |f: &str| {
                f == path
                    || std::fs::canonicalize(f)
                        .ok()
                        .zip(std::fs::canonicalize(&path).ok())
                        .is_some_and(|(a, b)| a == b)
            };
            report
                .findings
                .iter()
                .filter(|f| {
                    line.is_some_and(|l| f.line == l)
                        && column.is_none_or(|c| f.column == c)
                        && same_path(&f.path)
                })
                .collect()
        };
    let mut fingerprints: Vec<&fichier_scan::Fingerprint> =
        matches.iter().map(|f| &f.fingerprint).collect();
    fingerprints.dedup();
    match fingerprints.as_slice() {
        [one] => Ok((*one).clone()),
        [] => Err(Failure::usage(format!("--verify={arg}: no finding there"))
            .with_hint(
                "give PATH:LINE as the scan prints it, or the finding's fingerprint (--json)",
            )
            .into()),
        _ => Err(Failure::usage(format!(
            "--verify={arg}: several keys there; one key is checked per run"
        ))
        .with_hint("add the column (PATH:LINE:COLUMN) or give the finding's fingerprint")
        .into()),
    }
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
