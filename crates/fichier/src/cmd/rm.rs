//! `fichier rm [-r] [-f] PATH..`: delete files, and folders with everything inside with -r.
//! Asks for confirmation on a terminal unless --force. Files go in batches of `file/rm`,
//! then folders deepest first (the service refuses to delete a non-empty folder).

use fichier_api::{
    FileLink, FileRmRequest, FolderId, RemotePath, WalkKind, WalkOptions, WalkOrder,
};
use serde::Serialize;

use super::Batch;
use crate::cli::RmArgs;
use crate::context::{Context, Resolved, Want};
use crate::error::{Exit, Failure};
use crate::paths::display_path;

/// Links per `file/rm` call.
const RM_BATCH: usize = 100;

/// One removed item in `rm --json`.
#[derive(Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum Removed {
    File { path: String, link: String },
    Folder { path: String, id: FolderId },
}

/// JSON of `rm`.
#[derive(Serialize)]
struct RmJson {
    removed: Vec<Removed>,
}

/// Everything to delete, in deletion order.
#[derive(Default)]
struct Plan {
    files: Vec<(FileLink, String)>,
    /// Folders in the order they must be deleted (children before parents).
    folders: Vec<(FolderId, Vec<String>)>,
}

/// Adds a folder and everything below it to the plan: the tree's walk in post-order, so
/// every folder comes after what is inside it; a folder that cannot be listed stops the plan
/// (nothing unseen is deleted).
async fn plan_folder(
    ctx: &mut Context,
    id: FolderId,
    path: Vec<String>,
    plan: &mut Plan,
) -> anyhow::Result<()> {
    let opts = WalkOptions::new().order(WalkOrder::Post);
    let walk = ctx
        .tree()
        .await?
        .walk(id, &RemotePath::from_names(path.clone()), &opts)
        .await?;
    for e in walk.entries {
        match e.kind {
            WalkKind::File(f) => plan
                .files
                .push((f.link, display_path(&e.path.components()))),
            WalkKind::Folder(f) => plan.folders.push((f.id, e.path.components())),
            _ => {}
        }
    }
    plan.folders.push((id, path));
    Ok(())
}

fn confirm(plan: &Plan) -> anyhow::Result<bool> {
    super::ask_yes_no(&format!(
        "Delete {} file(s) and {} folder(s)? This cannot be undone.",
        plan.files.len(),
        plan.folders.len()
    ))
}

/// Deletes the targets.
pub async fn run(ctx: &mut Context, args: RmArgs) -> anyhow::Result<Exit> {
    let mut batch = Batch::default();
    let mut plan = Plan::default();
    for raw in &args.paths {
        let resolved = ctx.resolve_arg(raw, Want::Any).await;
        match resolved {
            Ok(r @ Resolved::File { .. }) => {
                let shown = r.display();
                if let Resolved::File { link, .. } = r {
                    plan.files.push((link, shown));
                }
            }
            Ok(Resolved::Folder { path, .. }) if path.is_empty() => {
                batch.fail(
                    ctx,
                    Failure::usage("refusing to delete the root folder").into(),
                )?;
            }
            Ok(Resolved::Folder { path, .. }) if !args.recursive => batch.fail(
                ctx,
                Failure::usage(format!("{} is a folder", display_path(&path)))
                    .with_hint("use -r to delete it with everything inside")
                    .into(),
            )?,
            Ok(Resolved::Folder { id, path }) => {
                if let Err(e) = plan_folder(ctx, id, path, &mut plan).await {
                    batch.fail(ctx, e)?;
                }
            }
            Err(e) => batch.fail(ctx, e)?,
        }
    }
    if plan.files.is_empty() && plan.folders.is_empty() {
        return Ok(batch.exit());
    }
    if ctx.settings.output.stdin_tty && !args.force && !confirm(&plan)? {
        return Err(Failure::fatal("aborted; nothing was deleted").into());
    }

    let mut removed = Vec::new();
    let client = ctx.client().await?.clone();
    for chunk in plan.files.chunks(RM_BATCH) {
        let req = FileRmRequest::new(chunk.iter().map(|(l, _)| l.clone()));
        match client.file_rm(&req).await {
            Ok(_) => {
                for (link, path) in chunk {
                    batch.ok();
                    ctx.printer.status(&format!("Deleted {path}"));
                    removed.push(Removed::File {
                        path: path.clone(),
                        link: link.to_string(),
                    });
                }
            }
            Err(e) => batch.fail(ctx, e.into())?,
        }
    }
    for (id, path) in &plan.folders {
        match client.folder_rm(*id).await {
            Ok(_) => {
                batch.ok();
                ctx.printer
                    .status(&format!("Deleted {}/", display_path(path)));
                removed.push(Removed::Folder {
                    path: display_path(path),
                    id: *id,
                });
            }
            Err(e) => batch.fail(ctx, e.into())?,
        }
    }
    ctx.invalidate_all();
    if ctx.printer.json_mode() {
        ctx.printer.json(&RmJson { removed });
    }
    Ok(batch.exit())
}
