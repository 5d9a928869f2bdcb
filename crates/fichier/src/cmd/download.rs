//! `fichier download URL|PATH.. [-o DIR]`: resumable, segmented, verified downloads through
//! the transfer engine; this file only turns flags into engine options and renders the result.

use std::io::Read as _;
use std::path::PathBuf;
use std::sync::Arc;

use clap::Args;
use fichier_transfer::{DownloadInput, DownloadOptions, EngineConfig, MAX_SEGMENTS, input_lines};

use super::upload::{conclude, engine, limit_rate};
use crate::cli::PasswordArgs;
use crate::context::Context;
use crate::error::{Exit, Failure};
use crate::progress::{Reporter, Verb};

/// `fichier download`
#[derive(Debug, Args)]
#[command(
    after_help = "Files are written as NAME.part and renamed only after their whirlpool \
                        matches; running the same command again resumes any interrupted file \
                        from the bytes on disk. Shared folders: https://1fichier.com/dir/ID \
                        (add --password-file when protected)."
)]
pub struct DownloadArgs {
    /// File links (any 1fichier domain), paths in the account, or shared-folder links.
    #[arg(value_name = "URL|PATH", required_unless_present = "input")]
    pub targets: Vec<String>,
    /// Output directory (created when missing).
    #[arg(short, long, value_name = "DIR", default_value = ".")]
    pub output: PathBuf,
    /// Download folders (paths) with everything inside.
    #[arg(short, long)]
    pub recursive: bool,
    /// Files downloaded in parallel.
    #[arg(short, long, default_value_t = 2, value_parser = clap::value_parser!(u16).range(1..=30))]
    pub jobs: u16,
    /// Connections per file (default: 3 for files of 64 MiB or more, else 1; at most 20).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=MAX_SEGMENTS as i64))]
    pub segments: Option<u32>,
    /// Most connections across all files (1fichier allows 30 per account).
    #[arg(long, value_name = "N", default_value_t = 30, value_parser = clap::value_parser!(u16).range(1..=100))]
    pub connections: u16,
    /// Read more links or paths from this file, one per line (`#` comments); `-` for stdin.
    #[arg(long, value_name = "FILE")]
    pub input: Option<PathBuf>,
    /// Replace existing files that differ from the remote ones.
    #[arg(long)]
    pub overwrite: bool,
    /// Do not compare the whirlpool before renaming .part into place (size is still checked).
    #[arg(long)]
    pub no_verify: bool,
    /// Bandwidth limit across all connections, e.g. 500k, 10M (bytes per second).
    #[arg(long, value_name = "RATE")]
    pub limit_rate: Option<String>,
    /// Password of protected files or shared folders (asked, or read with --password-file).
    #[command(flatten)]
    pub password: PasswordArgs,
}

/// Runs `fichier download`.
pub async fn run(ctx: &mut Context, args: DownloadArgs) -> anyhow::Result<Exit> {
    let mut raw: Vec<String> = args.targets.clone();
    if let Some(path) = &args.input {
        let text = if path.as_os_str() == "-" {
            let mut s = String::new();
            std::io::stdin().read_to_string(&mut s).map_err(|e| {
                Failure::fatal("cannot read links from standard input").with_cause(e.to_string())
            })?;
            s
        } else {
            std::fs::read_to_string(path).map_err(|e| {
                Failure::fatal(format!("cannot read {}", path.display())).with_cause(e.to_string())
            })?
        };
        raw.extend(input_lines(&text));
    }
    if raw.is_empty() {
        return Err(Failure::usage("nothing to download")
            .with_hint("give links or paths, or --input FILE with one per line")
            .into());
    }
    let mut inputs = Vec::new();
    for r in &raw {
        inputs.push(DownloadInput::parse(r).map_err(|e| {
            Failure::usage(e).with_hint(
                "give file links (https://1fichier.com/?id), shared folders \
                 (https://1fichier.com/dir/id) or paths like /Backups/db.tar",
            )
        })?);
    }
    let password = super::read_password(&args.password, "password", 1)?;
    let mut config = EngineConfig::default();
    config.limit_rate = limit_rate(args.limit_rate.as_deref())?;
    config.connections = usize::from(args.connections);
    let engine = engine(ctx, config).await?;
    let mut opts = DownloadOptions::new(&args.output);
    opts.jobs = usize::from(args.jobs);
    opts.segments = args.segments;
    opts.verify = !args.no_verify;
    opts.overwrite = args.overwrite;
    opts.recursive = args.recursive;
    opts.password = password;
    let reporter = Reporter::new(&ctx.printer, Verb::Download);
    let summary = engine
        .download(
            &inputs,
            &opts,
            reporter.clone() as Arc<dyn fichier_transfer::EventSink>,
        )
        .await;
    reporter.finish(&summary);
    Ok(conclude(ctx, &summary))
}
