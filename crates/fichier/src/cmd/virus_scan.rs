//! `fichier virus-scan FILE..`: asks 1fichier's antivirus to scan files of the account
//! (`file/scan`). 1fichier itself deletes a file it finds infected; the command reports it.

use fichier_api::ScanResult;
use serde::Serialize;

use super::{Batch, date_json};
use crate::cli::VirusScanArgs;
use crate::context::{Context, Resolved, Want};
use crate::error::{Exit, Failure};

/// JSON of `virus-scan`.
#[derive(Serialize)]
struct ResultsJson {
    results: Vec<ResultJson>,
}

/// One file in `virus-scan --json`.
#[derive(Serialize)]
struct ResultJson {
    path: String,
    link: String,
    clean: bool,
    /// When the result comes from an earlier scan.
    cached_at: Option<String>,
    /// The service's message for an infected file.
    message: Option<String>,
}

/// Runs `fichier virus-scan`.
pub async fn run(ctx: &mut Context, args: VirusScanArgs) -> anyhow::Result<Exit> {
    let mut batch = Batch::default();
    let mut results = Vec::new();
    for raw in &args.files {
        let link = match ctx.resolve_arg(raw, Want::File).await {
            Ok(r @ Resolved::File { .. }) => r,
            Ok(Resolved::Folder { .. }) => unreachable!("Want::File never yields a folder"),
            Err(e) => {
                batch.fail(ctx, e)?;
                continue;
            }
        };
        let path = link.display();
        let Resolved::File { link, .. } = link else {
            unreachable!("matched above")
        };
        match ctx.client().await?.file_scan(&link).await {
            Ok(ScanResult::Clean { cached_at }) => {
                batch.ok();
                if !ctx.printer.json_mode() {
                    ctx.printer.line(&format!("{path}  clean"));
                }
                results.push(ResultJson {
                    path,
                    link: link.to_string(),
                    clean: true,
                    cached_at: date_json(cached_at.as_ref()),
                    message: None,
                });
            }
            Ok(ScanResult::Infected { message }) => {
                if !ctx.printer.json_mode() {
                    ctx.printer.line(&format!("{path}  infected"));
                }
                batch.fail(
                    ctx,
                    Failure::fatal(format!("{path}: infected ({message}); 1fichier deletes it"))
                        .into(),
                )?;
                results.push(ResultJson {
                    path,
                    link: link.to_string(),
                    clean: false,
                    cached_at: None,
                    message: Some(message),
                });
            }
            Ok(_) => batch.ok(),
            Err(e) => batch.fail(
                ctx,
                anyhow::Error::from(e).context(format!("{path}: not scanned")),
            )?,
        }
    }
    if ctx.printer.json_mode() {
        ctx.printer.json(&ResultsJson { results });
    }
    Ok(batch.exit())
}
