//! `fichier ftp process | users ls|add|rm | mode`: the FTP side of the account (processing of
//! files sent by FTP, FTP sub-accounts, and the FTP settings of `user/info`).
//!
//! Sub-account passwords never come from argv: a hidden prompt on a terminal, one line of
//! stdin with `--password`, or `--password-file`.

use std::io::IsTerminal as _;

use fichier_api::{FolderId, FtpUserAddRequest, UserSettings};
use serde::Serialize;

use super::read_password;
use crate::cli::{
    FtpCommand, FtpMode, FtpModeArgs, FtpUserAddArgs, FtpUserRmArgs, FtpUsersCommand,
};
use crate::context::Context;
use crate::error::{Exit, Failure};
use crate::paths::display_path;
use crate::printer::{Align, Style};

/// 1fichier's minimum password length (the same rule as file and share passwords).
const MIN_PASSWORD: usize = 6;

/// Runs an `ftp` subcommand.
pub async fn run(ctx: &mut Context, cmd: FtpCommand) -> anyhow::Result<Exit> {
    match cmd {
        FtpCommand::Process => process(ctx).await,
        FtpCommand::Users(FtpUsersCommand::Ls) => users_ls(ctx).await,
        FtpCommand::Users(FtpUsersCommand::Add(a)) => users_add(ctx, a).await,
        FtpCommand::Users(FtpUsersCommand::Rm(a)) => users_rm(ctx, a).await,
        FtpCommand::Mode(a) => mode(ctx, a).await,
    }
}

async fn process(ctx: &mut Context) -> anyhow::Result<Exit> {
    ctx.client().await?.ftp_process().await?;
    if ctx.printer.json_mode() {
        ctx.printer.json(&ProcessedJson { processed: true });
    } else {
        ctx.printer
            .status("Asked 1fichier to process the files sent by FTP.");
    }
    Ok(Exit::Ok)
}

/// JSON of `ftp process`.
#[derive(Serialize)]
struct ProcessedJson {
    /// Always true: a refusal is an error, never a document.
    processed: bool,
}

/// JSON of `ftp users ls`.
#[derive(Serialize)]
struct UsersJson {
    users: Vec<UserJson>,
}

/// JSON of `ftp users add`.
#[derive(Serialize)]
struct UserAddedJson {
    user: String,
    /// The folder its uploads go to, as a path (`/` for the root).
    folder: String,
    folder_id: Option<FolderId>,
}

/// JSON of `ftp users rm`: the user removed.
#[derive(Serialize)]
struct UserRemovedJson {
    removed: String,
}

/// One sub-account in `ftp users ls --json`.
#[derive(Serialize)]
struct UserJson {
    user: String,
    folder_id: Option<FolderId>,
}

async fn users_ls(ctx: &mut Context) -> anyhow::Result<Exit> {
    let users = ctx.client().await?.ftp_users_ls().await?;
    if ctx.printer.json_mode() {
        let users: Vec<UserJson> = users
            .into_iter()
            .map(|u| UserJson {
                user: u.user,
                folder_id: u.folder_id,
            })
            .collect();
        ctx.printer.json(&UsersJson { users });
        return Ok(Exit::Ok);
    }
    if users.is_empty() {
        ctx.printer.status(
            "No FTP sub-accounts; create one with `fichier ftp users add NAME --folder DIR`.",
        );
        return Ok(Exit::Ok);
    }
    let mut rows = vec![vec![
        ("USER".to_owned(), Style::Bold),
        ("FOLDER ID".to_owned(), Style::Bold),
    ]];
    for u in &users {
        rows.push(vec![
            (u.user.clone(), Style::Plain),
            (
                u.folder_id.map_or("-".to_owned(), |id| id.to_string()),
                Style::Plain,
            ),
        ]);
    }
    ctx.printer.table(&[Align::Left, Align::Right], &rows);
    Ok(Exit::Ok)
}

/// 1fichier's rule for FTP logins: 1 to 64 of `[A-Za-z0-9._-]`.
fn check_user(user: &str) -> anyhow::Result<()> {
    let ok = !user.is_empty()
        && user.len() <= 64
        && user
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b));
    if ok {
        Ok(())
    } else {
        Err(
            Failure::usage(format!("{user:?} is not a valid FTP user name"))
                .with_hint("use 1 to 64 letters, digits, `.`, `_` or `-`")
                .into(),
        )
    }
}

async fn users_add(ctx: &mut Context, args: FtpUserAddArgs) -> anyhow::Result<Exit> {
    check_user(&args.user)?;
    let mut pass_args = args.password.clone();
    if !pass_args.password && pass_args.password_file.is_none() {
        if std::io::stdin().is_terminal() {
            pass_args.password = true;
        } else {
            return Err(Failure::usage("the FTP user needs a password")
                .with_hint(
                    "pass --password-file FILE, or --password to read one line of standard input \
                     (never on the command line)",
                )
                .into());
        }
    }
    let password = read_password(&pass_args, "FTP password", MIN_PASSWORD)?
        .expect("a password source was chosen above");
    let (folder_id, folder_path) = match &args.folder {
        Some(dir) => {
            let (id, path) = ctx.resolve_folder(dir).await?;
            (Some(id), display_path(&path))
        }
        None => (None, "/".to_owned()),
    };
    let client = ctx.client().await?;
    if client
        .ftp_users_ls()
        .await?
        .iter()
        .any(|u| u.user == args.user)
    {
        return Err(
            Failure::usage(format!("the FTP user {} already exists", args.user))
                .with_hint(format!(
                    "remove it first with `fichier ftp users rm {}`, or pick another name",
                    args.user
                ))
                .into(),
        );
    }
    client
        .ftp_users_add(&FtpUserAddRequest::new(
            args.user.clone(),
            password,
            folder_id,
        ))
        .await?;
    if ctx.printer.json_mode() {
        ctx.printer.json(&UserAddedJson {
            user: args.user.clone(),
            folder: folder_path.clone(),
            folder_id,
        });
    } else {
        ctx.printer.status(&format!(
            "Created the FTP user {}; its uploads go to {folder_path}.",
            args.user
        ));
    }
    Ok(Exit::Ok)
}

async fn users_rm(ctx: &mut Context, args: FtpUserRmArgs) -> anyhow::Result<Exit> {
    check_user(&args.user)?;
    let client = ctx.client().await?;
    if !client
        .ftp_users_ls()
        .await?
        .iter()
        .any(|u| u.user == args.user)
    {
        return Err(
            Failure::usage(format!("there is no FTP user {}", args.user))
                .with_hint("`fichier ftp users ls` lists them")
                .into(),
        );
    }
    client.ftp_users_rm(&args.user).await?;
    if ctx.printer.json_mode() {
        ctx.printer.json(&UserRemovedJson {
            removed: args.user.clone(),
        });
    } else {
        ctx.printer
            .status(&format!("Removed the FTP user {}.", args.user));
    }
    Ok(Exit::Ok)
}

/// JSON of `ftp mode`.
#[derive(Serialize)]
struct ModeJson {
    mode: Option<&'static str>,
    folder_id: Option<FolderId>,
    report: Option<bool>,
}

async fn mode(ctx: &mut Context, args: FtpModeArgs) -> anyhow::Result<Exit> {
    let folder = match &args.folder {
        Some(dir) => Some(ctx.resolve_folder(dir).await?.0),
        None => None,
    };
    let settings = UserSettings {
        ftp_mode: args.mode.map(|m| match m {
            FtpMode::Auto => 0,
            FtpMode::Manual => 1,
        }),
        ftp_did: folder,
        ftp_report: args.report.map(|r| r.as_flag()),
        ..UserSettings::default()
    };
    let client = ctx.client().await?;
    let info = if settings.is_empty() {
        client.user_info().await?
    } else {
        client.user_settings_set(&settings).await?
    };
    let mode = info
        .ftp_mode
        .map(|m| if m == 1 { "manual" } else { "auto" });
    if ctx.printer.json_mode() {
        ctx.printer.json(&ModeJson {
            mode,
            folder_id: info.ftp_did,
            report: info.ftp_report,
        });
        return Ok(Exit::Ok);
    }
    ctx.printer.fields(&[
        ("mode", mode.unwrap_or("-").to_owned()),
        (
            "folder id",
            info.ftp_did.map_or("-".to_owned(), |d| d.to_string()),
        ),
        (
            "report",
            match info.ftp_report {
                Some(true) => "on",
                Some(false) => "off",
                None => "-",
            }
            .to_owned(),
        ),
    ]);
    if !settings.is_empty() {
        ctx.printer.status("Updated the FTP settings.");
    }
    Ok(Exit::Ok)
}
