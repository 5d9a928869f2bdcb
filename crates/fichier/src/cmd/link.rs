//! `fichier link PATH..`: print the download link of files, one per line; with
//! `--crawljob DIR`, write them (folders expanded) as JDownloader `.crawljob` files instead.

use std::path::Path;

use fichier_api::{RemotePath, WalkKind, WalkOptions};
use fichier_queue::CrawlJob;
use serde::Serialize;

use super::Batch;
use crate::cli::LinkArgs;
use crate::context::{Context, Resolved, Want};
use crate::error::{Exit, Failure};

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
    if let Some(dir) = &args.crawljob {
        return crawljobs(ctx, &args.paths, dir).await;
    }
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

/// One `.crawljob` per argument: a file gives one job, a folder one job per file under it
/// (its name as the package; sub-folders as `name/sub`).
async fn crawljobs(ctx: &mut Context, paths: &[String], dir: &Path) -> anyhow::Result<Exit> {
    let mut batch = Batch::default();
    let mut written = Vec::new();
    for raw in paths {
        let jobs = match folder_jobs(ctx, raw).await {
            Ok(j) => j,
            Err(e) => {
                batch.fail(ctx, e)?;
                continue;
            }
        };
        let (stem, jobs) = jobs;
        match super::queue::write_crawljob(dir, &stem, &jobs) {
            Ok(path) => {
                batch.ok();
                written.push(super::queue::WrittenFile {
                    path: path.display().to_string(),
                    links: jobs.len(),
                });
            }
            Err(e) => batch.fail(ctx, e)?,
        }
    }
    super::queue::report_written(ctx, written);
    Ok(batch.exit())
}

async fn folder_jobs(ctx: &mut Context, raw: &str) -> anyhow::Result<(String, Vec<CrawlJob>)> {
    match ctx.resolve_arg(raw, Want::Any).await? {
        Resolved::File { link, entry, .. } => {
            let name = entry.as_ref().map(|e| e.filename.clone());
            let stem = name.clone().unwrap_or_else(|| "fichier-link".to_owned());
            Ok((
                stem,
                vec![CrawlJob {
                    text: link.to_string(),
                    filename: name,
                    ..CrawlJob::default()
                }],
            ))
        }
        Resolved::Folder { id, path } => {
            let top = match path.last() {
                Some(n) if !n.starts_with("id:") => n.clone(),
                _ if path.is_empty() => "root".to_owned(),
                _ => ctx.listing(id).await?.name.clone(),
            };
            // The tree's walk, pre-order in the service's order: each folder's files, then its
            // sub-folders; the package is the folder's path from `top`.
            let walk = ctx
                .tree()
                .await?
                .walk(
                    id,
                    &RemotePath::from_names([top.clone()]),
                    &WalkOptions::new(),
                )
                .await?;
            let mut jobs = Vec::new();
            for e in walk.entries {
                if let WalkKind::File(f) = e.kind {
                    let package = e.path.parent().unwrap_or_default().components().join("/");
                    jobs.push(CrawlJob {
                        text: f.link.to_string(),
                        package_name: Some(package),
                        filename: Some(f.filename),
                        ..CrawlJob::default()
                    });
                }
            }
            if jobs.is_empty() {
                return Err(Failure::usage(format!(
                    "{}: no files in this folder",
                    crate::paths::display_path(&path)
                ))
                .into());
            }
            Ok((top, jobs))
        }
    }
}
