//! `fichier upload LOCAL.. [REMOTE_DIR]`: verified uploads of files and trees through the
//! transfer engine; this file only turns flags into engine options and renders the result.

use std::sync::Arc;

use fichier_api::{DOMAINS, Domain};
use fichier_transfer::{EngineConfig, EventSink, UploadDest, UploadOptions};

use super::transfer::{conclude, engine, failure};
use crate::cli::UploadArgs;
use crate::context::Context;
use crate::error::{Exit, Failure, Via};
use crate::paths::split_path;
use crate::progress::{Reporter, Verb};

fn parse_domain(s: &str) -> anyhow::Result<Domain> {
    if let Ok(n) = s.trim().parse::<u8>()
        && (n as usize) < DOMAINS.len()
    {
        return Ok(Domain(n));
    }
    Domain::from_host(s.trim()).ok_or_else(|| {
        Failure::usage(format!("`{s}` is not a 1fichier domain"))
            .with_hint(format!("use one of {} (or 0-10)", DOMAINS.join(", ")))
            .into()
    })
}

/// Runs `fichier upload`.
pub async fn run(ctx: &mut Context, args: UploadArgs) -> anyhow::Result<Exit> {
    let mut locals = args.paths.clone();
    let mut remote = args.to.clone();
    if remote.is_none() && locals.len() >= 2 {
        let last = locals.last().expect("len >= 2");
        let text = last.to_string_lossy();
        if text.starts_with('/') {
            if last.exists() {
                return Err(Failure::usage(format!(
                    "`{text}` is both a local path and a remote folder name"
                ))
                .with_hint("name the remote folder with --to, e.g. --to /Backups")
                .into());
            }
            remote = Some(text.into_owned());
            locals.pop();
        }
    }
    let remote_path = split_path(remote.as_deref().unwrap_or("/"))?;
    if remote_path
        .iter()
        .any(|c| c.starts_with("http:") || c.starts_with("https:"))
    {
        return Err(
            Failure::usage("the destination must be a folder path like /Backups")
                .with_hint("uploads go into a folder of the account")
                .into(),
        );
    }
    let password = super::read_password(&args.password, "file password", 6)?;
    let domain = args.domain.as_deref().map(parse_domain).transpose()?;
    if args.mails.len() > 20 {
        return Err(Failure::usage("at most 20 --mail addresses").into());
    }
    if let Some(bad) = args
        .mails
        .iter()
        .find(|m| !m.contains('@') || m.len() > 250)
    {
        return Err(Failure::usage(format!("`{bad}` is not an e-mail address")).into());
    }
    if args
        .message
        .as_ref()
        .is_some_and(|m| m.chars().count() > 2000)
    {
        return Err(Failure::usage("the message is longer than 2000 characters").into());
    }
    let mut config = EngineConfig::default();
    config.limit_rate = args.limit_rate;
    let engine = engine(ctx, config).await?;
    let folder = engine.ensure_folder_path(&remote_path).await.map_err(|e| {
        let what = format!(
            "cannot use the remote folder /{}: {}",
            remote_path.join("/"),
            e.message
        );
        failure(what, e, Via::Upload)
    })?;
    let mut opts = UploadOptions::default();
    opts.jobs = usize::from(args.jobs);
    opts.recursive = args.recursive;
    opts.force = args.force;
    opts.password = password;
    opts.domain = domain;
    opts.mails = args.mails;
    opts.message = args.message;
    opts.follow_symlinks = args.follow_symlinks;
    let reporter = Reporter::new(&ctx.printer, Verb::Upload);
    let sink: Arc<dyn EventSink> = reporter.clone();
    let summary = engine
        .upload(
            &locals,
            &UploadDest {
                folder,
                path: remote_path,
            },
            &opts,
            sink,
        )
        .await;
    reporter.finish(&summary);
    Ok(conclude(ctx, &summary, Via::Upload))
}
