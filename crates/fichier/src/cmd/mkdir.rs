//! `fichier mkdir [-p] PATH..`: create folders (and with -p their missing parents). The
//! service allows two folders with the same name; fichier never creates such a duplicate, even
//! when several processes create the same path at once (the remote tree locks each parent).

use fichier_api::{FolderId, RemotePath, TreeError};
use serde::Serialize;

use super::Batch;
use crate::cli::MkdirArgs;
use crate::context::{Context, tree_failure};
use crate::error::{Exit, Failure};
use crate::paths::{Target, parse_target};

/// One folder in `mkdir --json`.
#[derive(Serialize)]
struct MkdirEntry {
    path: String,
    id: FolderId,
    created: bool,
}

/// JSON of `mkdir`.
#[derive(Serialize)]
struct MkdirJson {
    folders: Vec<MkdirEntry>,
}

/// Creates one path; records every folder created, and the target when it already existed
/// (`-p`).
async fn mkdir_one(
    ctx: &mut Context,
    path: &RemotePath,
    parents: bool,
    out: &mut Vec<MkdirEntry>,
) -> anyhow::Result<()> {
    let tree = ctx.tree().await?.clone();
    let Some(parent) = path.parent() else {
        // The root, or a folder named by id: nothing to create.
        if parents {
            let id = tree.resolve_folder(path).await.map_err(tree_failure)?;
            out.push(MkdirEntry {
                path: path.to_string(),
                id,
                created: false,
            });
            return Ok(());
        }
        return Err(Failure::usage(format!("{path} already exists")).into());
    };
    if parents {
        let ensured = tree.ensure_folder(path).await.map_err(tree_failure)?;
        let last = ensured.steps.len().saturating_sub(1);
        for (i, step) in ensured.steps.into_iter().enumerate() {
            if step.created {
                ctx.printer.status(&format!("Created {}", step.path));
            }
            if step.created || i == last {
                out.push(MkdirEntry {
                    path: step.path.to_string(),
                    id: step.id,
                    created: step.created,
                });
            }
        }
        return Ok(());
    }
    let parent_id = match tree.resolve_folder(&parent).await {
        Ok(id) => id,
        Err(TreeError::NotFound { path: missing, .. }) => {
            return Err(Failure::fatal(format!("{missing}: no such folder"))
                .with_hint("use -p to create missing parent folders")
                .into());
        }
        Err(e) => return Err(tree_failure(e)),
    };
    let Some(name) = path.last_name() else {
        return Err(Failure::usage(format!("{path} already exists"))
            .with_hint("mkdir takes the name of the new folder as the last part of the path")
            .into());
    };
    let (id, created) = tree
        .ensure_child(parent_id, &parent, name)
        .await
        .map_err(tree_failure)?;
    if !created {
        return Err(Failure::usage(format!("{path} already exists"))
            .with_hint("use -p to accept existing folders")
            .into());
    }
    ctx.printer.status(&format!("Created {path}"));
    out.push(MkdirEntry {
        path: path.to_string(),
        id,
        created: true,
    });
    Ok(())
}

/// Creates the folders.
pub async fn run(ctx: &mut Context, args: MkdirArgs) -> anyhow::Result<Exit> {
    let mut batch = Batch::default();
    let mut out = Vec::new();
    for raw in &args.paths {
        let result = match parse_target(raw) {
            Ok(Target::Path(c)) => mkdir_one(ctx, &c, args.parents, &mut out).await,
            Ok(Target::Link(_)) => Err(Failure::usage(format!(
                "`{raw}` is a file link; mkdir takes a folder path such as /Backups/2026"
            ))
            .into()),
            Err(e) => Err(e.into()),
        };
        match result {
            Ok(()) => batch.ok(),
            Err(e) => batch.fail(ctx, e)?,
        }
    }
    if ctx.printer.json_mode() {
        ctx.printer.json(&MkdirJson { folders: out });
    }
    Ok(batch.exit())
}
