//! `fichier files [DIR] [--all] [--after DATE] [--before DATE] [--shared-by EMAIL]`: the
//! `file/ls` listing, for what `ls` cannot do: upload-date filters, every file of the account
//! at once, and the files of a folder another user shares with you.

use fichier_api::FileLsRequest;
use jiff::ZonedDateTime;
use serde::Serialize;

use super::date_human;
use super::ls::{EntryJson, file_json};
use crate::cli::FilesArgs;
use crate::context::Context;
use crate::error::{Exit, Failure};
use crate::paths::display_path;
use crate::printer::{Align, Style, human_size};

/// JSON of `files`.
#[derive(Serialize)]
struct FilesJson {
    folder: Option<String>,
    folder_id: Option<i64>,
    files: Vec<EntryJson>,
}

/// Runs `fichier files`.
pub async fn run(ctx: &mut Context, args: FilesArgs) -> anyhow::Result<Exit> {
    let after = args
        .after
        .as_deref()
        .map(|d| date(d, "--after"))
        .transpose()?;
    let before = args
        .before
        .as_deref()
        .map(|d| date(d, "--before"))
        .transpose()?;
    let (mut req, folder) = if args.all {
        (FileLsRequest::all_files(), None)
    } else if let Some(user) = &args.shared_by {
        // Another user's folder: only its id can name it.
        let raw = args.folder.as_deref().unwrap_or("");
        let Some(id) = raw.strip_prefix("id:").and_then(|n| n.parse::<u64>().ok()) else {
            return Err(Failure::usage(
                "--shared-by needs the shared folder's id, e.g. `fichier files id:12345 --shared-by EMAIL`",
            )
            .with_hint("the id is in the share invitation, or in the folder's URL on the website")
            .into());
        };
        let mut r = FileLsRequest::folder(id);
        r.sharing_user = Some(user.clone());
        (r, Some(format!("id:{id}")))
    } else {
        let (id, path) = ctx
            .resolve_folder(args.folder.as_deref().unwrap_or("/"))
            .await?;
        (FileLsRequest::folder(id), Some(display_path(&path)))
    };
    req.sent_after = after;
    req.sent_before = before;
    let list = ctx.client().await?.file_ls_with(&req).await?;
    if ctx.printer.json_mode() {
        ctx.printer.json(&FilesJson {
            folder,
            folder_id: (!args.all).then_some(req.folder_id),
            files: list.items.iter().map(|f| file_json(None, f)).collect(),
        });
        return Ok(Exit::Ok);
    }
    if list.items.is_empty() {
        ctx.printer.status("No files.");
        return Ok(Exit::Ok);
    }
    let mut rows = vec![vec![
        ("NAME".to_owned(), Style::Bold),
        ("SIZE".to_owned(), Style::Bold),
        ("DATE".to_owned(), Style::Bold),
        ("LINK".to_owned(), Style::Bold),
    ]];
    for f in &list.items {
        rows.push(vec![
            (f.filename.clone(), Style::Plain),
            (human_size(f.size), Style::Plain),
            (date_human(f.date.as_ref()), Style::Plain),
            (f.link.to_string(), Style::Plain),
        ]);
    }
    ctx.printer.table(
        &[Align::Left, Align::Right, Align::Left, Align::Left],
        &rows,
    );
    Ok(Exit::Ok)
}

/// A `YYYY-MM-DD` date at midnight, local time.
fn date(raw: &str, flag: &str) -> anyhow::Result<ZonedDateTime> {
    raw.parse::<jiff::civil::Date>()
        .ok()
        .and_then(|d| d.to_zoned_datetime(jiff::tz::TimeZone::system()).ok())
        .ok_or_else(|| {
            Failure::usage(format!("{flag} {raw:?} is not a date"))
                .with_hint("write it as YYYY-MM-DD, e.g. 2026-01-31")
                .into()
        })
}
