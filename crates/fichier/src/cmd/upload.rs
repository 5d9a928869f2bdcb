//! `fichier upload LOCAL.. [REMOTE_DIR]`: verified uploads of files and trees through the
//! transfer engine; this file only turns flags into engine options and renders the result.

use std::path::PathBuf;
use std::sync::Arc;

use clap::Args;
use fichier_api::{DOMAINS, Domain};
use fichier_transfer::{Engine, EngineConfig, ErrorClass, Summary, UploadDest, UploadOptions};

use crate::cli::PasswordArgs;
use crate::context::Context;
use crate::error::{Exit, Failure};
use crate::paths::split_path;
use crate::progress::{Reporter, Verb};

/// `fichier upload`
#[derive(Debug, Args)]
#[command(
    after_help = "The last argument is the remote folder when it starts with / and is not \
                        a local path (or use --to). Folders are created when missing. A trailing \
                        slash on a local directory uploads its contents, without it the \
                        directory itself. Files already there with the same name, size and \
                        whirlpool are skipped (--force uploads them again)."
)]
pub struct UploadArgs {
    /// Local files and directories, then optionally the remote folder (default /).
    #[arg(required = true, value_name = "LOCAL.. [REMOTE_DIR]")]
    pub paths: Vec<PathBuf>,
    /// Remote folder to upload into (instead of a last argument starting with /).
    #[arg(long, value_name = "REMOTE_DIR")]
    pub to: Option<String>,
    /// Upload directories as folder trees.
    #[arg(short, long)]
    pub recursive: bool,
    /// Files uploaded in parallel.
    #[arg(short, long, default_value_t = 2, value_parser = clap::value_parser!(u16).range(1..=30))]
    pub jobs: u16,
    /// Upload even files already present with the same name, size and whirlpool.
    #[arg(long)]
    pub force: bool,
    /// Protect the uploaded files with a password (asked, or read with --password-file).
    #[command(flatten)]
    pub password: PasswordArgs,
    /// Domain of the links: a name (e.g. megadl.fr) or its number 0-10.
    #[arg(long, value_name = "DOMAIN")]
    pub domain: Option<String>,
    /// Notify this address when the upload is done (repeatable, at most 20).
    #[arg(long = "mail", value_name = "EMAIL")]
    pub mails: Vec<String>,
    /// Text of the notification mail (at most 2000 characters).
    #[arg(long, value_name = "TEXT", requires = "mails")]
    pub message: Option<String>,
    /// Bandwidth limit across all connections, e.g. 500k, 10M (bytes per second).
    #[arg(long, value_name = "RATE")]
    pub limit_rate: Option<String>,
}

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

/// Builds the engine of a transfer command (its own client, so one pacer covers everything).
pub async fn engine(ctx: &mut Context, config: EngineConfig) -> anyhow::Result<Engine> {
    let (url, key, _) = ctx.key().await?;
    let client = ctx.build_client(&url, key.clone())?;
    Engine::new(client, Some(key), config)
        .map_err(|e| Failure::fatal(format!("cannot start the transfer engine: {e}")).into())
}

/// Says why a run stopped early (flood lock, full disk...), then gives the exit code.
pub(super) fn conclude(ctx: &Context, summary: &Summary) -> Exit {
    if let Some(stop) = &summary.stopped {
        ctx.printer.error_text(&format!(
            "error: stopped: {}\n{}",
            stop.message,
            stop.hint
                .as_deref()
                .map(|h| format!("hint: {h}\n"))
                .unwrap_or_default()
        ));
    }
    exit_for(summary)
}

/// The exit code of a transfer run.
pub fn exit_for(summary: &Summary) -> Exit {
    match summary.stopped.as_ref().map(|e| e.class) {
        Some(ErrorClass::Auth) => Exit::Auth,
        Some(ErrorClass::Flood) => Exit::Flood,
        _ if summary.failed > 0 => Exit::Partial,
        _ => Exit::Ok,
    }
}

/// Parses `--limit-rate`.
pub fn limit_rate(raw: Option<&str>) -> anyhow::Result<Option<u64>> {
    raw.map(|r| {
        fichier_transfer::parse_rate(r)
            .map_err(|e| anyhow::Error::from(Failure::usage(e).with_hint("e.g. --limit-rate 10M")))
    })
    .transpose()
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
    config.limit_rate = limit_rate(args.limit_rate.as_deref())?;
    let engine = engine(ctx, config).await?;
    let folder = engine.ensure_folder_path(&remote_path).await.map_err(|e| {
        let mut f = Failure::fatal(format!(
            "cannot use the remote folder /{}: {}",
            remote_path.join("/"),
            e.message
        ));
        if let Some(h) = e.hint {
            f = f.with_hint(h);
        }
        if e.class == ErrorClass::Auth {
            f.exit = Exit::Auth;
        }
        anyhow::Error::from(f)
    })?;
    let mut opts = UploadOptions::default();
    opts.jobs = usize::from(args.jobs);
    opts.recursive = args.recursive;
    opts.force = args.force;
    opts.password = password;
    opts.domain = domain;
    opts.mails = args.mails;
    opts.message = args.message;
    let reporter = Reporter::new(&ctx.printer, Verb::Upload);
    let summary = engine
        .upload(
            &locals,
            &UploadDest {
                folder,
                path: remote_path,
            },
            &opts,
            reporter.clone() as Arc<dyn fichier_transfer::EventSink>,
        )
        .await;
    reporter.finish(&summary);
    Ok(conclude(ctx, &summary))
}
