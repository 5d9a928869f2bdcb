//! `fichier remote add URL.. [--to DIR] | ls | info ID [--wait]`: remote uploads, where
//! 1fichier itself fetches URLs into the account.

use std::time::Duration;

use fichier_api::{RemoteJobId, RemoteJobInfo, RemoteRequest};
use serde::Serialize;

use super::{date_human, date_json};
use crate::cli::{RemoteAddArgs, RemoteCommand, RemoteInfoArgs};
use crate::context::Context;
use crate::error::{Exit, Failure};
use crate::paths::display_path;
use crate::printer::{Align, Style};

/// Runs a `remote` subcommand.
pub async fn run(ctx: &mut Context, cmd: RemoteCommand) -> anyhow::Result<Exit> {
    match cmd {
        RemoteCommand::Add(a) => add(ctx, a).await,
        RemoteCommand::Ls => ls(ctx).await,
        RemoteCommand::Info(a) => info(ctx, a).await,
    }
}

/// JSON of `remote add`.
#[derive(Serialize)]
struct AddJson {
    id: RemoteJobId,
    folder: String,
    urls: Vec<String>,
}

async fn add(ctx: &mut Context, args: RemoteAddArgs) -> anyhow::Result<Exit> {
    for u in &args.urls {
        let ok = url::Url::parse(u).is_ok_and(|p| matches!(p.scheme(), "http" | "https" | "ftp"));
        if !ok {
            return Err(
                Failure::usage(format!("`{u}` is not an http, https or ftp URL"))
                    .with_hint("give full URLs, e.g. https://example.com/file.iso")
                    .into(),
            );
        }
    }
    let (folder_id, path) = ctx
        .resolve_folder(args.to.as_deref().unwrap_or("/"))
        .await?;
    let answer = ctx
        .client()
        .await?
        .remote_request(&RemoteRequest::new(args.urls.clone(), folder_id))
        .await?;
    if ctx.printer.json_mode() {
        ctx.printer.json(&AddJson {
            id: answer.id,
            folder: display_path(&path),
            urls: args.urls,
        });
    } else {
        ctx.printer.line(&answer.id.to_string());
        ctx.printer.status(&format!(
            "Remote upload job {} queued into {} ({} URL(s)); follow it with `fichier remote info {} --wait`",
            answer.id,
            display_path(&path),
            args.urls.len(),
            answer.id
        ));
    }
    Ok(Exit::Ok)
}

/// One job in `remote ls --json`.
#[derive(Serialize)]
struct JobJson {
    id: RemoteJobId,
    requested: Option<String>,
    executed: Option<String>,
    done: bool,
}

/// JSON of `remote ls`.
#[derive(Serialize)]
struct LsJson {
    jobs: Vec<JobJson>,
}

async fn ls(ctx: &mut Context) -> anyhow::Result<Exit> {
    let jobs = ctx.client().await?.remote_ls().await?;
    if ctx.printer.json_mode() {
        ctx.printer.json(&LsJson {
            jobs: jobs
                .iter()
                .map(|j| JobJson {
                    id: j.id,
                    requested: date_json(j.request_date.as_ref()),
                    executed: date_json(j.execution_date.as_ref()),
                    done: j.execution_date.is_some(),
                })
                .collect(),
        });
        return Ok(Exit::Ok);
    }
    if jobs.is_empty() {
        ctx.printer.status("No remote upload jobs.");
        return Ok(Exit::Ok);
    }
    let mut rows = vec![vec![
        ("ID".to_owned(), Style::Bold),
        ("REQUESTED".to_owned(), Style::Bold),
        ("EXECUTED".to_owned(), Style::Bold),
    ]];
    for j in &jobs {
        rows.push(vec![
            (j.id.to_string(), Style::Plain),
            (date_human(j.request_date.as_ref()), Style::Plain),
            (
                if j.execution_date.is_some() {
                    date_human(j.execution_date.as_ref())
                } else {
                    "pending".to_owned()
                },
                Style::Dim,
            ),
        ]);
    }
    ctx.printer
        .table(&[Align::Right, Align::Left, Align::Left], &rows);
    Ok(Exit::Ok)
}

/// One URL's result in `remote info --json`.
#[derive(Serialize)]
struct ResultJson {
    url: String,
    ok: bool,
    link: Option<String>,
    message: Option<String>,
}

/// JSON of `remote info`.
#[derive(Serialize)]
struct InfoJson {
    id: RemoteJobId,
    requested: Option<String>,
    executed: Option<String>,
    done: bool,
    urls: Vec<String>,
    results: Vec<ResultJson>,
}

fn info_json(j: &RemoteJobInfo) -> InfoJson {
    InfoJson {
        id: j.id,
        requested: date_json(j.request_date.as_ref()),
        executed: date_json(j.execution_date.as_ref()),
        done: j.is_done(),
        urls: j.links.clone(),
        results: j
            .result
            .iter()
            .map(|r| ResultJson {
                url: r.url.clone(),
                ok: r.ok,
                link: r.download_link.as_ref().map(|l| l.to_string()),
                message: r.message.clone(),
            })
            .collect(),
    }
}

async fn info(ctx: &mut Context, args: RemoteInfoArgs) -> anyhow::Result<Exit> {
    // The emulator runs jobs in moments; the real service takes minutes, and the pacer spaces
    // calls anyway, so a slow poll keeps the call budget for other work.
    let poll = if ctx.settings.sandbox || ctx.settings.unthrottled {
        Duration::from_millis(200)
    } else {
        Duration::from_secs(15)
    };
    let client = ctx.client().await?.clone();
    let mut job = client.remote_info(args.id).await?;
    if args.wait && !job.is_done() {
        let message = format!("Waiting for remote upload job {}…", args.id);
        // A spinner on a terminal; one status line otherwise (logs, -v, --no-progress).
        let spinner = if ctx.settings.output.progress {
            let s = indicatif::ProgressBar::new_spinner().with_message(message);
            s.enable_steady_tick(Duration::from_millis(120));
            Some(s)
        } else {
            ctx.printer.status(&message);
            None
        };
        let started = std::time::Instant::now();
        while !job.is_done() {
            if let Some(limit) = args.timeout
                && started.elapsed() >= Duration::from_secs(limit)
            {
                if let Some(s) = &spinner {
                    s.finish_and_clear();
                }
                return Err(Failure::fatal(format!(
                    "remote upload job {} has not run after {limit}s",
                    args.id
                ))
                .with_hint(format!(
                    "it may still run: check later with `fichier remote info {}`",
                    args.id
                ))
                .into());
            }
            tokio::time::sleep(poll).await;
            job = client.remote_info(args.id).await?;
        }
        if let Some(s) = spinner {
            s.finish_and_clear();
        }
    }
    let failed = job.result.iter().filter(|r| !r.ok).count();
    if ctx.printer.json_mode() {
        ctx.printer.json(&info_json(&job));
    } else {
        ctx.printer.fields(&[
            ("job", job.id.to_string()),
            ("requested", date_human(job.request_date.as_ref())),
            (
                "executed",
                if job.is_done() {
                    date_human(job.execution_date.as_ref())
                } else {
                    "pending".to_owned()
                },
            ),
        ]);
        let mut rows = Vec::new();
        for r in &job.result {
            rows.push(vec![
                (
                    if r.ok { "ok" } else { "failed" }.to_owned(),
                    if r.ok { Style::Plain } else { Style::Bold },
                ),
                (r.url.clone(), Style::Plain),
                (
                    r.download_link
                        .as_ref()
                        .map(|l| l.to_string())
                        .or_else(|| r.message.clone())
                        .unwrap_or_default(),
                    Style::Dim,
                ),
            ]);
        }
        if rows.is_empty() {
            for l in &job.links {
                rows.push(vec![
                    ("pending".to_owned(), Style::Dim),
                    (l.clone(), Style::Plain),
                    (String::new(), Style::Dim),
                ]);
            }
        }
        ctx.printer
            .table(&[Align::Left, Align::Left, Align::Left], &rows);
    }
    match (failed, job.result.len()) {
        (0, _) => Ok(Exit::Ok),
        (f, n) if f == n => Err(Failure::fatal(format!(
            "remote upload job {} failed for every URL",
            job.id
        ))
        .with_hint("check that the URLs are reachable from the internet and not password-protected")
        .into()),
        (f, n) => {
            ctx.printer.warn(&format!(
                "remote upload job {}: {f} of {n} URL(s) failed",
                job.id
            ));
            Ok(Exit::Partial)
        }
    }
}
