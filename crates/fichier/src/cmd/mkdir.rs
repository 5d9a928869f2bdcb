//! `fichier mkdir [-p] PATH..`: create folders (and with -p their missing parents). The
//! service allows two folders with the same name; fichier never creates such a duplicate.

use fichier_api::{FolderId, FolderMkdirRequest, ROOT_FOLDER};
use serde::Serialize;

use super::Batch;
use crate::cli::MkdirArgs;
use crate::context::Context;
use crate::error::{Exit, Failure};
use crate::paths::{Target, display_path, parse_target};

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

/// Creates one path; returns every folder created or found on the way (last = the target).
async fn mkdir_one(
    ctx: &mut Context,
    components: &[String],
    parents: bool,
    out: &mut Vec<MkdirEntry>,
) -> anyhow::Result<()> {
    if components.is_empty() {
        if parents {
            return Ok(());
        }
        return Err(Failure::usage("/ already exists").into());
    }
    let mut current = ROOT_FOLDER;
    for (i, name) in components.iter().enumerate() {
        let here = &components[..=i];
        let last = i + 1 == components.len();
        let listing = ctx.listing(current).await?;
        let found: Vec<_> = listing
            .sub_folders
            .iter()
            .filter(|f| &f.name == name)
            .collect();
        match found.len() {
            1 => {
                if last && !parents {
                    return Err(
                        Failure::usage(format!("{} already exists", display_path(here)))
                            .with_hint("use -p to accept existing folders")
                            .into(),
                    );
                }
                current = found[0].id;
                if last {
                    out.push(MkdirEntry {
                        path: display_path(here),
                        id: current,
                        created: false,
                    });
                }
            }
            0 => {
                if !last && !parents {
                    return Err(
                        Failure::fatal(format!("{}: no such folder", display_path(here)))
                            .with_hint("use -p to create missing parent folders")
                            .into(),
                    );
                }
                let created = ctx
                    .client()
                    .await?
                    .folder_mkdir(&FolderMkdirRequest::new(name.clone(), current))
                    .await?;
                ctx.note_created_folder(current, created.folder_id, name);
                current = created.folder_id;
                ctx.printer
                    .status(&format!("Created {}", display_path(here)));
                out.push(MkdirEntry {
                    path: display_path(here),
                    id: current,
                    created: true,
                });
            }
            n => {
                return Err(Failure::usage(format!(
                    "{} is ambiguous: {n} folders have that name",
                    display_path(here)
                ))
                .with_hint("rename one of them first (`fichier ls -l` shows their ids)")
                .into());
            }
        }
    }
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
