//! `fichier attr FILE.. [options]`: password, inline, CDN, description and access list of
//! files (`file/chattr`). The password never comes from the command line.

use fichier_api::{Acl, FileChattrRequest, FileLink, Password};
use serde::Serialize;

use super::info::AclJson;
use super::{Batch, read_password};
use crate::cli::AttrArgs;
use crate::context::{Context, Resolved, Want};
use crate::error::{Exit, Failure};

/// What `attr --json` reports as changed.
#[derive(Serialize, Default)]
struct Changes {
    #[serde(skip_serializing_if = "Option::is_none")]
    password: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    inline: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    cdn: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    description: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    acl: Option<AclJson>,
}

/// One file in `attr --json`.
#[derive(Serialize)]
struct Updated {
    path: String,
    link: String,
}

/// JSON of `attr`.
#[derive(Serialize)]
struct AttrJson {
    updated: Vec<Updated>,
    changes: Changes,
}

/// Changes the attributes.
pub async fn run(ctx: &mut Context, args: AttrArgs) -> anyhow::Result<Exit> {
    let mut changes = Changes::default();
    let password = read_password(&args.password, "new file password", 6)?;
    if password.is_some() {
        changes.password = Some("set");
    } else if args.clear_password {
        changes.password = Some("cleared");
    }
    changes.inline = args.inline.map(|s| s.as_flag());
    changes.cdn = args.cdn.map(|s| s.as_flag());
    changes.description = args.description.clone();
    let mut acl_request: Option<Acl> = None;
    let acl_given = !args.acl_ip.is_empty()
        || !args.acl_country.is_empty()
        || !args.acl_email.is_empty()
        || args.acl_premium.is_some();
    if acl_given || args.acl_clear {
        // The access list given replaces the current one (an empty one removes it).
        let acl = Acl {
            ip: args.acl_ip.clone(),
            country: args
                .acl_country
                .iter()
                .map(|c| c.to_ascii_uppercase())
                .collect(),
            email: args.acl_email.clone(),
            premium: args.acl_premium.is_some_and(|s| s.as_flag()),
        };
        for c in &acl.country {
            if c.len() != 2 || !c.bytes().all(|b| b.is_ascii_alphabetic()) {
                return Err(Failure::usage(format!(
                    "`{c}` is not a two-letter country code (ISO 3166-1 alpha-2, e.g. FR)"
                ))
                .into());
            }
        }
        changes.acl = Some(AclJson::from(&acl));
        acl_request = Some(acl);
    }
    let nothing = changes.password.is_none()
        && changes.inline.is_none()
        && changes.cdn.is_none()
        && changes.description.is_none()
        && changes.acl.is_none();
    if nothing {
        return Err(Failure::usage("nothing to change")
            .with_hint(
                "give at least one of --password, --password-file, --clear-password, --inline, \
                 --cdn, --description, --acl-ip, --acl-country, --acl-email, --acl-premium, \
                 --acl-clear",
            )
            .into());
    }

    let mut batch = Batch::default();
    let mut targets: Vec<(FileLink, String)> = Vec::new();
    for raw in &args.paths {
        let resolved = ctx.resolve_arg(raw, Want::File).await;
        match resolved {
            Ok(r) => {
                let shown = r.display();
                if let Resolved::File { link, .. } = r {
                    targets.push((link, shown));
                }
            }
            Err(e) => batch.fail(ctx, e)?,
        }
    }
    let mut updated = Vec::new();
    if !targets.is_empty() {
        let mut req = FileChattrRequest::new(targets.iter().map(|(l, _)| l.clone()));
        req.pass = match (&password, args.clear_password) {
            (Some(p), _) => Some(p.clone()),
            (None, true) => Some(Password::none()),
            (None, false) => None,
        };
        req.inline = changes.inline;
        req.cdn = changes.cdn;
        req.description = changes.description.clone();
        req.acl = acl_request;
        match ctx.client().await?.file_chattr(&req).await {
            Ok(_) => {
                for (link, path) in targets {
                    batch.ok();
                    ctx.printer.status(&format!("Updated {path}"));
                    updated.push(Updated {
                        path,
                        link: link.to_string(),
                    });
                }
            }
            Err(e) => batch.fail(ctx, e.into())?,
        }
        ctx.invalidate_all();
    }
    if ctx.printer.json_mode() {
        ctx.printer.json(&AttrJson { updated, changes });
    }
    Ok(batch.exit())
}
