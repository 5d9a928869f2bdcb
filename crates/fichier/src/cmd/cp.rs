//! `fichier cp SRC.. DST`: copy files (own paths, or links of any file) into a folder. Copies
//! get new links. Folders cannot be copied (the service copies files only).

use fichier_api::{FileCpRequest, FileLink};
use serde::Serialize;

use super::{Batch, read_password};
use crate::cli::CpArgs;
use crate::context::{Context, Resolved, Want};
use crate::error::{Exit, Failure};
use crate::paths::display_path;

/// One copy in `cp --json`.
#[derive(Serialize)]
struct Copied {
    from: String,
    to: Option<String>,
    path: String,
}

/// JSON of `cp`.
#[derive(Serialize)]
struct CpJson {
    copied: Vec<Copied>,
}

/// Copies the sources.
pub async fn run(ctx: &mut Context, args: CpArgs) -> anyhow::Result<Exit> {
    let (dst_raw, sources) = args.paths.split_last().expect("clap requires 2 paths");
    let password = read_password(&args.password, "source file password", 1)?;
    let (dest_id, dest_path) = ctx.resolve_folder(dst_raw).await?;
    let mut batch = Batch::default();
    let mut links: Vec<(FileLink, String)> = Vec::new();
    for raw in sources {
        let resolved = ctx.resolve_arg(raw, Want::File).await;
        match resolved {
            Ok(Resolved::File { link, entry, .. }) => {
                let name = entry.map(|e| e.filename).unwrap_or_default();
                links.push((link, name));
            }
            Ok(Resolved::Folder { path, .. }) => batch.fail(
                ctx,
                Failure::usage(format!(
                    "{} is a folder; cp copies files",
                    display_path(&path)
                ))
                .into(),
            )?,
            Err(e) => batch.fail(ctx, e)?,
        }
    }
    let mut copied = Vec::new();
    if !links.is_empty() {
        let mut req = FileCpRequest::new(links.iter().map(|(l, _)| l.clone()), dest_id);
        req.pass = password;
        match ctx.client().await?.file_cp(&req).await {
            Ok(answer) => {
                for (link, name) in &links {
                    batch.ok();
                    let to = answer
                        .urls
                        .iter()
                        .find(|c| &c.from_url == link)
                        .map(|c| c.to_url.to_string());
                    let mut p = dest_path.clone();
                    if !name.is_empty() {
                        p.push(name.clone());
                    }
                    copied.push(Copied {
                        from: link.to_string(),
                        to,
                        path: display_path(&p),
                    });
                }
            }
            Err(e) => batch.fail(ctx, e.into())?,
        }
        ctx.invalidate(&[dest_id]);
    }
    if ctx.printer.json_mode() {
        ctx.printer.json(&CpJson { copied });
    } else {
        for c in &copied {
            // The new link is data (scripts want it); the summary goes to stderr.
            if let Some(to) = &c.to {
                ctx.printer.line(to);
            }
            ctx.printer
                .status(&format!("Copied {} -> {}", c.from, c.path));
        }
    }
    Ok(batch.exit())
}
