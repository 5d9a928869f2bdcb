//! `fichier auth login | status | logout`: store, inspect and remove the API key.

use serde::Serialize;

use crate::cli::{AuthCommand, LoginArgs};
use crate::context::Context;
use crate::credentials::{self, KeySource};
use crate::error::{Exit, Failure};

/// Runs an `auth` subcommand.
pub async fn run(ctx: &mut Context, cmd: AuthCommand) -> anyhow::Result<Exit> {
    match cmd {
        AuthCommand::Login(args) => login(ctx, args).await,
        AuthCommand::Status => status(ctx).await,
        AuthCommand::Logout => logout(ctx).await,
        AuthCommand::Rotate(args) => super::rotate::run(ctx, args).await,
    }
}

fn refuse_in_sandbox(ctx: &Context) -> anyhow::Result<()> {
    if ctx.settings.sandbox {
        return Err(
            Failure::usage("the sandbox has its own key; nothing to log in or out")
                .with_hint("run the command without --sandbox (and without FICHIER_SANDBOX)")
                .into(),
        );
    }
    Ok(())
}

async fn login(ctx: &mut Context, args: LoginArgs) -> anyhow::Result<Exit> {
    refuse_in_sandbox(ctx)?;
    // `fichier --api-key-file key.txt auth login` stores the key from that file.
    let key = credentials::read_key_to_store(&ctx.settings).await?;
    if let Some(w) = credentials::length_warning(&key) {
        ctx.printer.warn(&w);
    }
    // Check the key once before storing it: a typo is better caught now than at 3 a.m. in cron.
    let url = ctx.settings.api_url.clone();
    let client = ctx.build_client(&url, key.clone())?;
    let info = match client.user_info().await {
        Ok(info) => Some(info),
        // The same key was used for an account query less than 5 minutes ago (1fichier allows
        // one per 5 minutes), so it cannot be checked again now. Store it and say so.
        Err(fichier_api::Error::Paced { retry_after, .. }) => {
            ctx.printer.warn(&format!(
                "the key was not checked: 1fichier allows one account query per 5 minutes \
                 (next in {}s); `fichier auth status` checks it later",
                retry_after.as_secs().max(1)
            ));
            None
        }
        Err(e) => return Err(login_error(e, &key)),
    };
    let email = info.as_ref().map(|i| i.email.as_str());
    let stored = credentials::store_off_thread(&ctx.settings, &key, args.store, email).await?;
    for w in &stored.warnings {
        ctx.printer.warn(w);
    }
    if ctx.printer.json_mode() {
        ctx.printer.json(
            &stored.json(
                info.as_ref().map(|i| i.email.clone()),
                info.as_ref()
                    .map(|i| super::account::offer_id(&i.offer).to_owned()),
            ),
        );
    } else if let Some(info) = &info {
        ctx.printer.status(&format!(
            "Logged in as {} ({}); key stored in the {}.",
            info.email,
            info.offer,
            stored.source.describe()
        ));
    } else {
        ctx.printer
            .status(&format!("Key stored in the {}.", stored.source.describe()));
    }
    Ok(Exit::Ok)
}

/// The error of a failed key check. The most likely cause of a refused key of the wrong length
/// is a partial paste: say so.
fn login_error(e: fichier_api::Error, key: &fichier_api::ApiKey) -> anyhow::Error {
    let refused = matches!(e, fichier_api::Error::BadKey { .. });
    let err = anyhow::Error::from(e);
    if refused && !key.has_usual_length() {
        err.context(
            Failure::auth("the key was not stored: 1fichier refused it").with_hint(format!(
                "the key has {} characters instead of {}: copy it again, completely",
                key.len(),
                fichier_api::USUAL_KEY_LEN
            )),
        )
    } else {
        err.context("the key was not stored: checking it with 1fichier failed")
    }
}

/// JSON of `auth status`.
#[derive(Serialize)]
struct StatusJson {
    source: &'static str,
    source_detail: String,
    path: Option<String>,
    key: String,
    email: Option<String>,
    offer: Option<String>,
}

async fn status(ctx: &mut Context) -> anyhow::Result<Exit> {
    let (url, key, source) = ctx.key().await?;
    let masked = key.masked();
    let client = ctx.build_client(&url, key)?;
    let info = client.user_info().await;
    // (email, offer id, offer name)
    let known = info.as_ref().ok().map(|i| {
        (
            i.email.clone(),
            super::account::offer_id(&i.offer).to_owned(),
            i.offer.to_string(),
        )
    });
    if ctx.printer.json_mode() {
        ctx.printer.json(&StatusJson {
            source: source.id(),
            source_detail: source.describe(),
            path: source.path().map(|p| p.display().to_string()),
            key: masked,
            email: known.as_ref().map(|k| k.0.clone()),
            offer: known.as_ref().map(|k| k.1.clone()),
        });
    } else {
        let mut fields = vec![("key", masked), ("source", source.describe())];
        if let Some((email, _, name)) = &known {
            fields.push(("account", email.clone()));
            fields.push(("offer", name.clone()));
        }
        ctx.printer.fields(&fields);
    }
    match info {
        Ok(_) => Ok(Exit::Ok),
        // 1fichier allows one user/info call per 5 minutes per user: the key itself is known
        // to come from the source shown, so this is no failure.
        Err(fichier_api::Error::Paced { retry_after, .. }) => {
            ctx.printer.warn(&format!(
                "account details not checked: 1fichier allows one account query per 5 minutes \
                 (next in {}s)",
                retry_after.as_secs().max(1)
            ));
            Ok(Exit::Ok)
        }
        // The key was found but the service refused it: still an authentication problem.
        Err(e) => Err(anyhow::Error::from(e).context(format!(
            "the key from the {} does not work",
            source.describe()
        ))),
    }
}

/// JSON of `auth logout`.
#[derive(Serialize)]
struct LogoutJson {
    removed: Vec<&'static str>,
    still_configured: Option<&'static str>,
}

async fn logout(ctx: &mut Context) -> anyhow::Result<Exit> {
    refuse_in_sandbox(ctx)?;
    let settings = ctx.settings.clone();
    let removed = tokio::task::spawn_blocking(move || credentials::remove_all(&settings))
        .await
        .map_err(|e| Failure::fatal("removing the key failed").with_cause(e.to_string()))??;
    // A key given by the environment or a key file is not ours to delete: say it still applies.
    let still = if ctx.settings.api_key_file.is_some() {
        Some(KeySource::KeyFile(
            ctx.settings.api_key_file.clone().unwrap_or_default(),
        ))
    } else if std::env::var(credentials::ENV_KEY).is_ok_and(|v| !v.trim().is_empty()) {
        Some(KeySource::Env)
    } else {
        None
    };
    if let Some(s) = &still {
        ctx.printer.warn(&format!(
            "a key is still configured by the {} (fichier does not delete it)",
            s.describe()
        ));
    }
    if ctx.printer.json_mode() {
        ctx.printer.json(&LogoutJson {
            removed: removed.iter().map(KeySource::id).collect(),
            still_configured: still.as_ref().map(KeySource::id),
        });
    } else if removed.is_empty() {
        ctx.printer.status("No stored key to remove.");
    } else {
        for r in &removed {
            ctx.printer
                .status(&format!("Removed the key from the {}.", r.describe()));
        }
    }
    Ok(Exit::Ok)
}
