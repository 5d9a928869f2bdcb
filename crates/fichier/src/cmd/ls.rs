//! `fichier ls [PATH] [-R] [-l]`: list a folder through the tree's walk (one `folder/ls` call
//! with files per folder, so a recursive listing of D folders costs D calls plus the path
//! lookup), each folder's entries sorted by name.

use std::collections::HashMap;

use fichier_api::{FileEntry, FolderId, RemotePath, SubFolder, WalkKind, WalkOptions};
use serde::Serialize;

use super::{date_human, date_json};
use crate::cli::LsArgs;
use crate::context::{Context, Resolved, Want};
use crate::error::Exit;
use crate::paths::{display_path, parse_target};
use crate::printer::{Align, Style, human_size};

/// One entry of `ls --json` (`type` is `folder` or `file`). Shared with `rm` and `info`.
#[derive(Debug, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum EntryJson {
    /// A folder.
    Folder {
        /// Full path.
        path: String,
        /// Name.
        name: String,
        /// Folder id.
        id: FolderId,
        /// Creation date (RFC 3339, UTC).
        created: Option<String>,
        /// Password-protected.
        password: bool,
    },
    /// A file.
    File {
        /// Full path (null when the file was named by its link).
        path: Option<String>,
        /// Name.
        name: String,
        /// Download link (the file's identity).
        link: String,
        /// Size in bytes.
        size: u64,
        /// Upload date (RFC 3339, UTC).
        date: Option<String>,
        /// Whirlpool checksum (128 hex).
        checksum: Option<String>,
        /// MIME type.
        content_type: Option<String>,
        /// Password-protected.
        password: bool,
        /// Access list active.
        acl: bool,
        /// Flagged for CDN.
        cdn: bool,
    },
}

/// JSON entry for a folder.
pub fn folder_json(path: &[String], f: &SubFolder) -> EntryJson {
    EntryJson::Folder {
        path: display_path(path),
        name: f.name.clone(),
        id: f.id,
        created: date_json(f.create_date.as_ref()),
        password: f.password,
    }
}

/// JSON entry for a file.
pub fn file_json(path: Option<&[String]>, f: &FileEntry) -> EntryJson {
    EntryJson::File {
        path: path.map(display_path),
        name: f.filename.clone(),
        link: f.link.to_string(),
        size: f.size,
        date: date_json(f.date.as_ref()),
        checksum: f.checksum.clone(),
        content_type: f.content_type.clone(),
        password: f.password,
        acl: f.acl,
        cdn: f.cdn,
    }
}

/// JSON of `ls`.
#[derive(Serialize)]
struct LsJson {
    path: String,
    folder_id: Option<FolderId>,
    recursive: bool,
    entries: Vec<EntryJson>,
}

fn child(path: &[String], name: &str) -> Vec<String> {
    let mut p = path.to_vec();
    p.push(name.to_owned());
    p
}

fn flags(password: bool, acl: bool, cdn: bool) -> String {
    format!(
        "{}{}{}",
        if password { 'p' } else { '-' },
        if acl { 'a' } else { '-' },
        if cdn { 'c' } else { '-' }
    )
}

/// Rows of one folder's listing for human output.
fn rows(
    ctx: &Context,
    long: bool,
    folders: &[SubFolder],
    files: &[FileEntry],
) -> Vec<Vec<(String, Style)>> {
    let _ = ctx;
    let mut out = Vec::new();
    for f in folders {
        let name = format!("{}/", f.name);
        if long {
            out.push(vec![
                (format!("d{}", flags(f.password, false, false)), Style::Dim),
                ("-".to_owned(), Style::Plain),
                (date_human(f.create_date.as_ref()), Style::Dim),
                (name, Style::Folder),
                (String::new(), Style::Dim),
            ]);
        } else {
            out.push(vec![(name, Style::Folder)]);
        }
    }
    for f in files {
        if long {
            out.push(vec![
                (format!("-{}", flags(f.password, f.acl, f.cdn)), Style::Dim),
                (human_size(f.size), Style::Plain),
                (date_human(f.date.as_ref()), Style::Dim),
                (f.filename.clone(), Style::Plain),
                (f.link.to_string(), Style::Dim),
            ]);
        } else {
            out.push(vec![(f.filename.clone(), Style::Plain)]);
        }
    }
    out
}

fn print_rows(ctx: &Context, long: bool, rows: &[Vec<(String, Style)>]) {
    if long {
        ctx.printer.table(
            &[
                Align::Left,
                Align::Right,
                Align::Left,
                Align::Left,
                Align::Left,
            ],
            rows,
        );
    } else {
        ctx.printer.table(&[Align::Left], rows);
    }
}

/// Lists a folder (or shows one file).
pub async fn run(ctx: &mut Context, args: LsArgs) -> anyhow::Result<Exit> {
    let raw = args.path.as_deref().unwrap_or("/");
    let target = parse_target(raw)?;
    let resolved = ctx.resolve(&target, Want::FolderFirst).await?;
    let (root_id, root_path) = match resolved {
        Resolved::Folder { id, path } => (id, path),
        Resolved::File {
            link, entry, path, ..
        } => {
            // `ls FILE` shows the file, like ls does.
            let entry = match entry {
                Some(e) => *e,
                None => {
                    let info = ctx.client().await?.file_info(&link, None).await?;
                    FileEntry::from_info(&info)
                }
            };
            if ctx.printer.json_mode() {
                ctx.printer.json(&LsJson {
                    path: path
                        .as_deref()
                        .map(display_path)
                        .unwrap_or_else(|| link.to_string()),
                    folder_id: None,
                    recursive: false,
                    entries: vec![file_json(path.as_deref(), &entry)],
                });
            } else {
                let r = rows(ctx, args.long, &[], std::slice::from_ref(&entry));
                print_rows(ctx, args.long, &r);
            }
            return Ok(Exit::Ok);
        }
    };

    // The tree's walk, sorted by name (the service lists in its own order; duplicates end
    // up adjacent), pre-order: folders come in the order their listings are printed.
    let opts = WalkOptions::new()
        .sorted(true)
        .max_depth((!args.recursive).then_some(0));
    let walk = ctx
        .tree()
        .await?
        .walk(root_id, &RemotePath::from_names(root_path.clone()), &opts)
        .await?;
    let mut order = vec![(root_id, root_path.clone())];
    let mut contents: HashMap<FolderId, (Vec<SubFolder>, Vec<FileEntry>)> = HashMap::new();
    for e in walk.entries {
        let here = contents.entry(e.parent).or_default();
        match e.kind {
            WalkKind::Folder(f) => {
                if args.recursive {
                    order.push((f.id, e.path.components()));
                }
                here.0.push(f);
            }
            WalkKind::File(f) => here.1.push(f),
            _ => {}
        }
    }
    let mut entries = Vec::new();
    for (i, (id, path)) in order.iter().enumerate() {
        let (sub_folders, files) = contents.remove(id).unwrap_or_default();
        if ctx.printer.json_mode() {
            for f in &sub_folders {
                entries.push(folder_json(&child(path, &f.name), f));
            }
            for f in &files {
                entries.push(file_json(Some(&child(path, &f.filename)), f));
            }
        } else {
            if args.recursive {
                if i > 0 {
                    ctx.printer.line("");
                }
                ctx.printer.heading(&format!("{}:", display_path(path)));
            }
            let r = rows(ctx, args.long, &sub_folders, &files);
            print_rows(ctx, args.long, &r);
        }
    }
    if ctx.printer.json_mode() {
        ctx.printer.json(&LsJson {
            path: display_path(&root_path),
            folder_id: Some(root_id),
            recursive: args.recursive,
            entries,
        });
    }
    Ok(Exit::Ok)
}
