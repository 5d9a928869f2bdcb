//! `fichier link PATH..`: print the download link of files, one per line.

use serde::Serialize;

use super::Batch;
use crate::cli::LinkArgs;
use crate::context::{Context, Resolved, Want};
use crate::error::Exit;

/// One file in `link --json`.
#[derive(Serialize)]
struct LinkEntry {
    path: String,
    link: String,
}

/// JSON of `link`.
#[derive(Serialize)]
struct LinkJson {
    links: Vec<LinkEntry>,
}

/// Prints the links.
pub async fn run(ctx: &mut Context, args: LinkArgs) -> anyhow::Result<Exit> {
    let mut batch = Batch::default();
    let mut links = Vec::new();
    for raw in &args.paths {
        let resolved = ctx.resolve_arg(raw, Want::File).await;
        match resolved {
            Ok(r @ Resolved::File { .. }) => {
                let path = r.display();
                if let Resolved::File { link, .. } = r {
                    batch.ok();
                    if !ctx.printer.json_mode() {
                        ctx.printer.line(link.as_str());
                    }
                    links.push(LinkEntry {
                        path,
                        link: link.to_string(),
                    });
                }
            }
            Ok(Resolved::Folder { .. }) => unreachable!("Want::File never yields a folder"),
            Err(e) => batch.fail(ctx, e)?,
        }
    }
    if ctx.printer.json_mode() {
        ctx.printer.json(&LinkJson { links });
    }
    Ok(batch.exit())
}
