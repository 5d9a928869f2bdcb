//! `fichier download URL|PATH.. [-o DIR]`: resumable, segmented, verified downloads through
//! the transfer engine; this file only turns flags into engine options and renders the result.

use std::io::Read as _;
use std::sync::Arc;

use fichier_transfer::{DownloadInput, DownloadOptions, EngineConfig, EventSink, input_lines};

use super::transfer::{conclude, engine};
use crate::cli::DownloadArgs;
use crate::context::Context;
use crate::error::{Exit, Failure, Via};
use crate::progress::{Reporter, Verb};

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
    config.limit_rate = args.limit_rate;
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
    let sink: Arc<dyn EventSink> = reporter.clone();
    let summary = engine.download(&inputs, &opts, sink).await;
    reporter.finish(&summary);
    Ok(conclude(ctx, &summary, Via::Download))
}
