//! `fichier share FOLDER [--public [--password]] [--user EMAIL.. [--rw|--hide-links]]
//! [--unshare]`: show or change how a folder is shared (`folder/share`).
//!
//! The service replaces the whole list of user shares on every call, so adding or removing
//! one user reads the current list first and sends the merged one.

use fichier_api::{FolderShareRequest, GroupShare};

use super::info::{folder_info, print_folder};
use super::read_password;
use crate::cli::ShareArgs;
use crate::context::Context;
use crate::error::{Exit, Failure};

/// Shows or changes the sharing of a folder; prints the resulting state.
pub async fn run(ctx: &mut Context, args: ShareArgs) -> anyhow::Result<Exit> {
    let password = read_password(&args.password, "share password", 6)?;
    if password.is_some() && !args.public {
        return Err(
            Failure::usage("a share password only applies to a public share")
                .with_hint("add --public")
                .into(),
        );
    }
    if args.unshare && (password.is_some() || args.rw || args.hide_links) {
        return Err(Failure::usage(
            "--unshare cannot be combined with --password, --rw or --hide-links",
        )
        .into());
    }
    let (id, path) = ctx.resolve_folder(&args.folder).await?;
    if id == fichier_api::ROOT_FOLDER && (args.public || !args.users.is_empty() || args.unshare) {
        return Err(Failure::usage("the root folder cannot be shared")
            .with_hint("share a sub-folder, e.g. `fichier share /Photos --public`")
            .into());
    }
    let current = ctx.listing(id).await?;
    let mut req = FolderShareRequest::new(id);
    let mut change = false;

    if args.unshare {
        change = true;
        let only_users = !args.users.is_empty();
        if args.public || !only_users {
            req.public = Some(false);
        }
        if only_users {
            let missing: Vec<_> = args
                .users
                .iter()
                .filter(|u| {
                    !current
                        .shares
                        .iter()
                        .any(|s| s.email.eq_ignore_ascii_case(u))
                })
                .collect();
            if let Some(m) = missing.first() {
                return Err(Failure::usage(format!(
                    "{} is not shared with {m}",
                    crate::paths::display_path(&path)
                ))
                .into());
            }
            let kept: Vec<GroupShare> = current
                .shares
                .iter()
                .filter(|s| !args.users.iter().any(|u| u.eq_ignore_ascii_case(&s.email)))
                .cloned()
                .collect();
            req.shares = Some(kept);
        } else if !args.public {
            req.shares = Some(Vec::new());
        }
    } else {
        if args.public {
            change = true;
            req.public = Some(true);
            req.pass = password;
        }
        if !args.users.is_empty() {
            change = true;
            for u in &args.users {
                if !u.contains('@') {
                    return Err(Failure::usage(format!("`{u}` is not an e-mail address"))
                        .with_hint("share with the e-mail of a registered 1fichier user")
                        .into());
                }
            }
            let mut shares: Vec<GroupShare> = current
                .shares
                .iter()
                .filter(|s| !args.users.iter().any(|u| u.eq_ignore_ascii_case(&s.email)))
                .cloned()
                .collect();
            shares.extend(args.users.iter().map(|u| GroupShare {
                email: u.clone(),
                rw: args.rw,
                hide_links: args.hide_links,
            }));
            req.shares = Some(shares);
        }
    }

    if change {
        let answer = ctx.client().await?.folder_share(&req).await?;
        // The new state is known from the request and the answer: no second listing (1fichier
        // allows one listing per folder per 30 s).
        let public = req.public;
        let shares = req.shares.clone();
        let url = answer.url.clone();
        ctx.update_listing(id, move |l| {
            match public {
                Some(true) => l.shared = url.or(l.shared.take()),
                Some(false) => l.shared = None,
                None => {}
            }
            if let Some(shares) = shares {
                l.shares = shares;
            }
        });
        if let Some(url) = answer.url.as_ref().filter(|_| args.public && !args.unshare) {
            ctx.printer.status(&format!("Shared publicly: {url}"));
        }
    }
    let state = folder_info(ctx, id, &path).await?;
    if ctx.printer.json_mode() {
        ctx.printer.json(&state);
    } else if change && args.public && !args.unshare {
        // Scripts want the public link alone on stdout.
        if let Some(url) = &state.public_url {
            ctx.printer.line(url);
        }
    } else {
        print_folder(ctx, &state);
    }
    Ok(Exit::Ok)
}
