//! `fichier mv SRC.. DST`: move files and folders into a folder; with one source and a DST
//! that does not exist yet, move and rename (like `mv a /B/b`).

use fichier_api::{Expect, FileLink, FileMvRequest, FolderId, FolderMvRequest, Node, TreeError};
use serde::Serialize;

use super::Batch;
use crate::cli::MvArgs;
use crate::context::{Context, Resolved, Want, tree_failure};
use crate::error::{Exit, Failure};
use crate::paths::{Target, display_path, parse_target};

/// One moved item in `mv --json`.
#[derive(Serialize)]
struct Moved {
    #[serde(rename = "type")]
    kind: &'static str,
    from: String,
    to: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    link: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    id: Option<FolderId>,
}

/// JSON of `mv`.
#[derive(Serialize)]
struct MvJson {
    moved: Vec<Moved>,
}

fn join(dir: &[String], name: &str) -> String {
    let mut p = dir.to_vec();
    p.push(name.to_owned());
    display_path(&p)
}

fn item_name(r: &Resolved) -> String {
    match r {
        Resolved::Folder { path, .. } => path.last().cloned().unwrap_or_default(),
        Resolved::File { entry, link, .. } => entry
            .as_ref()
            .map(|e| e.filename.clone())
            .unwrap_or_else(|| link.to_string()),
    }
}

/// Where the sources go: a folder, and a new name when a single source is renamed on the way.
async fn destination(
    ctx: &mut Context,
    raw: &str,
    single: bool,
) -> anyhow::Result<(FolderId, Vec<String>, Option<String>)> {
    let target = parse_target(raw)?;
    let Target::Path(dest) = &target else {
        return Err(Failure::usage(format!(
            "the destination `{raw}` is a file link; give a folder path"
        ))
        .into());
    };
    let tree = ctx.tree().await?.clone();
    match tree.resolve(dest, Expect::FolderFirst).await {
        Ok(Node::Folder { id, path, .. }) => Ok((id, path.components(), None)),
        Ok(_) => Err(
            Failure::usage(format!("the destination {dest} is a file, not a folder"))
                .with_hint("move into a folder; to replace a file, remove it first")
                .into(),
        ),
        // `mv /a.txt /B/b.txt`: the parent must exist, the last part is the new name.
        Err(TreeError::NotFound { path: missing, .. })
            if single && missing == *dest && dest.last_name().is_some() =>
        {
            let parent = dest.parent().unwrap_or_default();
            let id = tree.resolve_folder(&parent).await.map_err(tree_failure)?;
            Ok((id, parent.components(), dest.last_name().map(str::to_owned)))
        }
        Err(e) => Err(tree_failure(e)),
    }
}

/// Moves the sources.
pub async fn run(ctx: &mut Context, args: MvArgs) -> anyhow::Result<Exit> {
    let (dst_raw, sources) = args.paths.split_last().expect("clap requires 2 paths");
    let (dest_id, dest_path, rename) = destination(ctx, dst_raw, sources.len() == 1).await?;
    let mut batch = Batch::default();
    let mut moved = Vec::new();
    let mut files: Vec<(FileLink, String, String)> = Vec::new();

    for raw in sources {
        let resolved = ctx.resolve_arg(raw, Want::Any).await;
        let resolved = match resolved {
            Ok(r) => r,
            Err(e) => {
                batch.fail(ctx, e)?;
                continue;
            }
        };
        let name = rename.clone().unwrap_or_else(|| item_name(&resolved));
        let to = join(&dest_path, &name);
        let from = resolved.display();
        match resolved {
            Resolved::File { link, .. } if rename.is_none() => {
                files.push((link, from, to));
            }
            Resolved::File { link, entry, .. } => {
                let mut req = FileMvRequest::new([link.clone()], dest_id);
                // The service refuses a rename to the current name: send it only when it changes.
                if entry.as_ref().is_none_or(|e| e.filename != name) {
                    req.rename = Some(name.clone());
                }
                match ctx.client().await?.file_mv(&req).await {
                    Ok(_) => {
                        batch.ok();
                        moved.push(Moved {
                            kind: "file",
                            from,
                            to,
                            link: Some(link.to_string()),
                            id: None,
                        });
                    }
                    Err(e) => batch.fail(ctx, e.into())?,
                }
            }
            Resolved::Folder { id, path } => {
                if path.is_empty() {
                    batch.fail(
                        ctx,
                        Failure::usage("the root folder cannot be moved").into(),
                    )?;
                    continue;
                }
                if dest_path.starts_with(&path) {
                    batch.fail(
                        ctx,
                        Failure::usage(format!(
                            "cannot move {} into itself ({})",
                            display_path(&path),
                            display_path(&dest_path)
                        ))
                        .into(),
                    )?;
                    continue;
                }
                let client = ctx.client().await?.clone();
                let mut result = client
                    .folder_mv(&FolderMvRequest::move_to(id, dest_id))
                    .await
                    .map(|_| ());
                if result.is_ok()
                    && let Some(new) = rename.as_ref().filter(|n| **n != item_name_of(&path))
                {
                    result = client
                        .folder_mv(&FolderMvRequest::rename(id, new.clone()))
                        .await
                        .map(|_| ());
                }
                match result {
                    Ok(()) => {
                        batch.ok();
                        moved.push(Moved {
                            kind: "folder",
                            from: display_path(&path),
                            to,
                            link: None,
                            id: Some(id),
                        });
                    }
                    Err(e) => batch.fail(ctx, e.into())?,
                }
            }
        }
    }

    if !files.is_empty() {
        let req = FileMvRequest::new(files.iter().map(|(l, _, _)| l.clone()), dest_id);
        match ctx.client().await?.file_mv(&req).await {
            Ok(_) => {
                for (link, from, to) in files {
                    batch.ok();
                    moved.push(Moved {
                        kind: "file",
                        from,
                        to,
                        link: Some(link.to_string()),
                        id: None,
                    });
                }
            }
            Err(e) => batch.fail(ctx, e.into())?,
        }
    }
    ctx.invalidate_all();

    if ctx.printer.json_mode() {
        ctx.printer.json(&MvJson { moved });
    } else {
        for m in &moved {
            ctx.printer.status(&format!("Moved {} -> {}", m.from, m.to));
        }
    }
    Ok(batch.exit())
}

fn item_name_of(path: &[String]) -> String {
    path.last().cloned().unwrap_or_default()
}
