//! `fichier scan --fix`: after the findings are listed, shows each proposed rewrite as a masked
//! diff and writes it with `--yes` or after a yes on a terminal, checks `.env` files for being
//! git-ignored, and says plainly that a shared key must be regenerated. It never contacts the
//! service itself: a found key is offered to the key store only when the user named it as
//! theirs with `--verify` and the check found it live (`--yes` alone never stores a key).
//!
//! The rewrites themselves (and their checks) are `fichier_scan::plan_fixes`; this module only
//! asks, prints and counts.

use std::io::IsTerminal as _;

use fichier_api::ApiKey;
use fichier_scan::{
    Fingerprint, FixAction, Report, ScanOptions, Scanner, Verification, plan_fixes,
};

use super::CONSOLE_URL;
use crate::cli::{ScanArgs, StoreChoice};
use crate::cmd::ask_yes_no;
use crate::context::Context;
use crate::credentials;
use crate::error::{Exit, Failure};

/// Runs the `--fix` part of a scan whose findings were printed already.
pub async fn run(
    ctx: &mut Context,
    args: &ScanArgs,
    report: &mut Report,
    claimed: Option<&Fingerprint>,
) -> anyhow::Result<Exit> {
    if report.findings.is_empty() {
        return Ok(Exit::Ok);
    }
    let tty = std::io::stdin().is_terminal();
    offer_to_store(ctx, args, report, claimed, tty).await?;

    let in_history = report
        .findings
        .iter()
        .filter(|f| f.commit.is_some())
        .count();
    if in_history > 0 {
        ctx.printer.warn(&format!(
            "{in_history} finding(s) are in git history: nothing there is rewritten. Rewriting \
             history (git filter-repo, BFG) does not un-leak a key that was pushed, cloned or \
             cached: regenerate it on {CONSOLE_URL}, then run `fichier auth rotate`"
        ));
    }

    let from_stdin = report.findings.iter().filter(|f| f.path == "-").count();
    if from_stdin > 0 {
        ctx.printer.warn(&format!(
            "{from_stdin} finding(s) are in standard input: there is no file to rewrite"
        ));
    }
    let strict = args.strict;
    let findings = report.findings.clone();
    let plans = tokio::task::spawn_blocking(move || {
        let scanner = Scanner::new(ScanOptions {
            strict,
            ..ScanOptions::default()
        });
        plan_fixes(&findings, &scanner)
    })
    .await
    .map_err(|e| Failure::fatal("planning the fixes failed").with_cause(e.to_string()))?;

    let mut left = in_history + from_stdin;
    let mut write_failed = false;
    for plan in &plans {
        let path = plan.path.display().to_string();
        match &plan.action {
            FixAction::Rewrite => {
                if let Some(diff) = plan.diff() {
                    for line in diff.lines() {
                        ctx.printer.text_line(line);
                    }
                }
                for note in &plan.notes {
                    ctx.printer.status(&format!("note: {note}"));
                }
                let write = if args.yes {
                    true
                } else if tty {
                    ask_yes_no(&format!("Write this change to {path}?"))?
                } else {
                    false
                };
                if !write {
                    ctx.printer.status(&format!(
                        "{path}: not written (pass --yes to write, or run on a terminal to be asked)"
                    ));
                    left += 1;
                    continue;
                }
                match plan.apply() {
                    Ok(()) => ctx.printer.status(&format!("Rewrote {path}.")),
                    Err(e) => {
                        ctx.printer.warn(&e.to_string());
                        write_failed = true;
                        left += 1;
                    }
                }
            }
            FixAction::DotEnv {
                ignored,
                tracked,
                gitignore_line,
                gitignore,
            } => {
                let gi = gitignore
                    .as_ref()
                    .map(|p| p.display().to_string())
                    .unwrap_or_else(|| ".gitignore".to_owned());
                if *tracked {
                    ctx.printer.warn(&format!(
                        "{path} is tracked by git: run `git rm --cached {path}`, add \
                         `{gitignore_line}` to {gi}, and regenerate the key (it is in the \
                         repository's history)"
                    ));
                    left += 1;
                } else {
                    match ignored {
                        Some(true) => ctx.printer.status(&format!(
                            "{path}: a .env file, left in place; git ignores it. Load it only \
                             into the programs that need it, or run them under `fichier exec`."
                        )),
                        Some(false) => {
                            ctx.printer.warn(&format!(
                                "{path} is not git-ignored: add the line `{gitignore_line}` to \
                                 {gi} so it is never committed"
                            ));
                            left += 1;
                        }
                        None => {
                            ctx.printer.warn(&format!(
                                "{path}: a .env file outside any git repository: keep it out of \
                                 anything you share, or run the programs under `fichier exec` \
                                 instead"
                            ));
                            left += 1;
                        }
                    }
                }
            }
            FixAction::Manual { reason } => {
                ctx.printer
                    .warn(&format!("{path}: not rewritten: {reason}"));
                left += 1;
            }
            _ => {
                left += 1;
            }
        }
    }
    ctx.printer.warn(&format!(
        "a key that was ever shared (pasted, committed, sent, backed up) must be regenerated: do \
         it on {CONSOLE_URL}, then run `fichier auth rotate`. If a file was ever committed, the \
         key stays in git history (`fichier scan --git` finds it)."
    ));
    Ok(if write_failed {
        Exit::Fatal
    } else if left > 0 {
        Exit::Partial
    } else {
        Exit::Ok
    })
}

/// Says whether each key found is the one fichier uses; when fichier has no key, offers to
/// store the one key the user named as theirs with `--verify` and that was found live, so the
/// scripts rewritten to read the environment can get it from `fichier exec`.
///
/// Nothing here contacts the service: a scanned tree may hold anyone's keys, and sending them
/// all to 1fichier (or storing a stranger's working key as the user's) is not what `--fix`
/// was asked to do.
async fn offer_to_store(
    ctx: &mut Context,
    args: &ScanArgs,
    report: &mut Report,
    claimed: Option<&Fingerprint>,
    tty: bool,
) -> anyhow::Result<()> {
    if ctx.settings.sandbox {
        return Ok(());
    }
    let settings = ctx.settings.clone();
    let configured = tokio::task::spawn_blocking(move || credentials::resolve(&settings))
        .await
        .ok()
        .and_then(Result::ok);
    if let Some(current) = &configured {
        for f in report.distinct_keys() {
            if ApiKey::parse(f.expose_key_for_key_store()).is_ok_and(|k| k == current.key) {
                ctx.printer.status(&format!(
                    "The key {} found is the key fichier uses (from the {}): rewritten files \
                     get it from `fichier exec`.",
                    f.masked,
                    current.source.describe()
                ));
            } else {
                ctx.printer.status(&format!(
                    "The key {} found is not the key fichier uses (from the {}).",
                    f.masked,
                    current.source.describe()
                ));
            }
        }
        return Ok(());
    }
    let mine = claimed.and_then(|fp| report.findings.iter().find(|f| &f.fingerprint == fp));
    let Some(mine) = mine.filter(|f| f.verification == Some(Verification::Live)) else {
        ctx.printer.status(
            "fichier has no key: before the files stop holding yours, store it with `fichier \
             auth login`, or name the finding that is yours with --verify=PATH:LINE (checked \
             once, then offered to the key store).",
        );
        return Ok(());
    };
    let (masked, path) = (mine.masked.clone(), mine.path.clone());
    let store = if args.yes {
        true
    } else if tty {
        ask_yes_no(&format!(
            "The key {masked} found in {path} is yours and works, and fichier has no key. \
             Store it now (`fichier auth login`), so `fichier exec` can hand it to the \
             rewritten files?"
        ))?
    } else {
        ctx.printer.status(&format!(
            "The key {masked} found in {path} works and fichier has no key: store it with \
             `fichier auth login` before the files stop holding it (or pass --yes)."
        ));
        false
    };
    if !store {
        return Ok(());
    }
    let raw = mine.expose_key_for_key_store().to_owned();
    let key = credentials::parse_key(&raw, &path)?;
    drop(raw);
    // Checked live just now, but the answer's account is not kept: none recorded.
    let stored =
        credentials::store_off_thread(&ctx.settings, &key, StoreChoice::Auto, None).await?;
    for w in &stored.warnings {
        ctx.printer.warn(w);
    }
    ctx.printer.status(&format!(
        "Stored the key {} in the {}.",
        ApiKey::masked(&key),
        stored.source.describe()
    ));
    Ok(())
}
