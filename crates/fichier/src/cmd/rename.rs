//! `fichier rename PATH NAME`: rename a file (`file/rename`) or folder (`folder/mv` with
//! `rename`) in place.

use fichier_api::{FileRenameRequest, FolderMvRequest};
use serde::Serialize;

use crate::cli::RenameArgs;
use crate::context::{Context, Resolved, Want};
use crate::error::{Exit, Failure};
use crate::paths::{display_path, parse_target};

/// JSON of `rename`.
#[derive(Serialize)]
struct RenameJson {
    #[serde(rename = "type")]
    kind: &'static str,
    from: String,
    to: String,
    name: String,
}

/// Renames one file or folder.
pub async fn run(ctx: &mut Context, args: RenameArgs) -> anyhow::Result<Exit> {
    let name = args.name.trim().to_owned();
    if name.is_empty() || name.contains('/') {
        return Err(
            Failure::usage(format!("`{}` is not a valid name", args.name))
                .with_hint("give a new name without `/`; to move elsewhere use `fichier mv`")
                .into(),
        );
    }
    let target = parse_target(&args.path)?;
    let resolved = ctx.resolve(&target, Want::Any).await?;
    let from = resolved.display();
    let (kind, to) = match resolved {
        Resolved::File {
            link, entry, path, ..
        } => {
            if entry.as_ref().is_some_and(|e| e.filename == name) {
                return Err(Failure::usage(format!("{from} is already named `{name}`")).into());
            }
            ctx.client()
                .await?
                .file_rename(&FileRenameRequest::one(link.clone(), name.clone()))
                .await?;
            let to = match path {
                Some(mut p) => {
                    p.pop();
                    p.push(name.clone());
                    display_path(&p)
                }
                None => link.to_string(),
            };
            ("file", to)
        }
        Resolved::Folder { id, mut path } => {
            if path.is_empty() {
                return Err(Failure::usage("the root folder cannot be renamed").into());
            }
            if path.last() == Some(&name) {
                return Err(Failure::usage(format!("{from} is already named `{name}`")).into());
            }
            ctx.client()
                .await?
                .folder_mv(&FolderMvRequest::rename(id, name.clone()))
                .await?;
            path.pop();
            path.push(name.clone());
            ("folder", display_path(&path))
        }
    };
    ctx.invalidate_all();
    if ctx.printer.json_mode() {
        ctx.printer.json(&RenameJson {
            kind,
            from,
            to,
            name,
        });
    } else {
        ctx.printer.status(&format!("Renamed {from} -> {to}"));
    }
    Ok(Exit::Ok)
}
