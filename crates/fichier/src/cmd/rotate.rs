//! `fichier auth rotate`: replaces the stored key with a new one, in the store the old one
//! came from, then reports whether 1fichier now refuses the old key.
//!
//! The new key is read like `auth login` reads one (hidden prompt, stdin, `--api-key-file`)
//! and checked with `user/info` before anything is stored. A key given by `FICHIER_API_KEY`
//! is not fichier's to replace: the command says what to change and stores nothing. A new key
//! that opens another account (compared by e-mail, from the paced `user/info` answers of both
//! keys, or the account recorded when the old key was stored) is only stored after a "yes" on
//! a terminal, or with `--force`; so is one whose old account nobody can name. A new key that
//! cannot be checked now (1fichier's 5-minute `user/info` window) is stored only with
//! `--force` (exit 4 otherwise, with the time to wait).

use serde::Serialize;

use crate::cli::{RotateArgs, StoreChoice};
use crate::context::Context;
use crate::credentials::{self, KeySource};
use crate::error::{Exit, Failure};

/// Where keys are regenerated (which revokes the old one).
const CONSOLE_URL: &str = "https://1fichier.com/console/params.pl";

/// JSON of `auth rotate`.
#[derive(Serialize)]
struct RotateJson {
    #[serde(flatten)]
    stored: credentials::StoredJson,
    /// `revoked` (1fichier refuses it), `live` (still accepted) or `unknown`.
    old_key: &'static str,
    /// True when the new key opens another account than the old one.
    account_changed: bool,
}

/// What became of the old key.
enum OldKey {
    Revoked,
    Live,
    Unknown(String),
}

/// Runs `fichier auth rotate`.
pub async fn run(ctx: &mut Context, args: RotateArgs) -> anyhow::Result<Exit> {
    if ctx.settings.sandbox {
        return Err(
            Failure::usage("the sandbox has its own key; there is nothing to rotate")
                .with_hint("run the command without --sandbox (and without FICHIER_SANDBOX)")
                .into(),
        );
    }
    // A key file named in the config file is the key in use on every run: a key stored
    // elsewhere would stay shadowed by it.
    if let Some(path) = ctx.settings.config_key_file.clone()
        && ctx.settings.api_key_file.as_ref() == Some(&path)
    {
        return Err(not_ours(&KeySource::KeyFile(path)));
    }
    // The old key: what the credential chain gives without `--api-key-file`, which (as for
    // `auth login`) supplies the new key.
    let mut chain = ctx.settings.clone();
    chain.api_key_file = None;
    let old = tokio::task::spawn_blocking(move || credentials::resolve(&chain))
        .await
        .map_err(|e| Failure::fatal("the key lookup failed").with_cause(e.to_string()))?
        .map_err(|e| e.context("there is no stored key to rotate"))?;
    let choice = match &old.source {
        KeySource::Keyring(_) => StoreChoice::Keyring,
        KeySource::CredentialsFile(_) => StoreChoice::File,
        other => return Err(not_ours(other)),
    };

    let new = credentials::read_key_to_store(&ctx.settings).await?;
    if new == old.key {
        return Err(Failure::usage("the new key is the key already stored")
            .with_hint(format!(
                "generate a new key on {CONSOLE_URL}, then run `fichier auth rotate` with it"
            ))
            .into());
    }
    if let Some(w) = credentials::length_warning(&new) {
        ctx.printer.warn(&w);
    }

    // Check the new key before it replaces a working one.
    let url = ctx.settings.api_url.clone();
    let info = match ctx.build_client(&url, new.clone())?.user_info().await {
        Ok(info) => Some(info),
        // Not checkable now (1fichier's 5-minute window, maybe used by another machine or a
        // cron job with its own cache): a key that replaces a working one is stored unchecked
        // only on the user's explicit word.
        Err(fichier_api::Error::Paced { retry_after, .. }) if args.force => {
            ctx.printer.warn(&format!(
                "the new key was not checked: 1fichier allows one account query per 5 minutes \
                 (next in {}s); storing it anyway (--force)",
                retry_after.as_secs().max(1)
            ));
            None
        }
        Err(fichier_api::Error::Paced { retry_after, .. }) => {
            let secs = retry_after.as_secs().max(1);
            return Err(Failure::with_exit(
                Exit::Flood,
                format!(
                    "the new key cannot be checked now: 1fichier allows one account query per \
                     5 minutes; retry in {secs}s. Nothing was stored (the old key is unchanged)"
                ),
            )
            .with_hint(format!(
                "run `fichier auth rotate` again in {secs}s, or add --force to store it unchecked"
            ))
            .into());
        }
        Err(e) => {
            return Err(anyhow::Error::from(e).context(
                "the new key was not stored (the old one is unchanged): checking it with \
                 1fichier failed",
            ));
        }
    };

    // Is the old key refused now, and which account does it open? One user/info with it,
    // through its own pacer (its 5-minute window is per key and shared with other processes
    // through the per-key state file), before anything is stored. An answer served from that
    // shared cache predates this run and says nothing about revocation, but still names the
    // account.
    let recorded = {
        let (settings, key) = (ctx.settings.clone(), old.key.clone());
        tokio::task::spawn_blocking(move || credentials::recorded_account(&settings, &key))
            .await
            .ok()
            .flatten()
    };
    let old_client = ctx.build_client(&url, old.key)?;
    let answer = old_client.user_info().await;
    let sent = old_client.pacer().calls_sent().await > 0;
    let old_email = answer.as_ref().ok().map(|i| i.email.clone()).or(recorded);
    let old_state = match answer {
        Ok(_) if !sent => OldKey::Unknown(
            "it was used for an account query less than 5 minutes ago (1fichier allows one \
             per 5 minutes), so it cannot be checked again yet"
                .to_owned(),
        ),
        Err(fichier_api::Error::BadKey { .. }) => OldKey::Revoked,
        Ok(_) | Err(fichier_api::Error::NotCustomer { .. }) => OldKey::Live,
        Err(fichier_api::Error::Paced { retry_after, .. }) => OldKey::Unknown(format!(
            "it was used for an account query less than 5 minutes ago (1fichier allows one per \
             5 minutes; next check possible in {}s)",
            retry_after.as_secs().max(1)
        )),
        Err(e) => OldKey::Unknown(e.to_string()),
    };
    let new_email = info.as_ref().map(|i| i.email.clone());
    // An old account nobody can name (its key not answering now, no record) may be another
    // account: asked about like a known change.
    let account_changed = match (&old_email, &new_email) {
        (Some(o), Some(n)) => !o.eq_ignore_ascii_case(n),
        (None, Some(_)) => true,
        _ => false,
    };
    if account_changed {
        let n = new_email.clone().unwrap_or_default();
        let what = match &old_email {
            Some(o) => format!("the new key opens another account: {n} (the stored key opens {o})"),
            None => format!(
                "the new key opens {n}, and the account of the stored key is unknown (it could \
                 not be checked now, and none was recorded): this may be another account"
            ),
        };
        if args.force {
            ctx.printer.warn(&format!("{what}; replacing it (--force)"));
        } else if ctx.settings.output.stdin_tty {
            if !super::ask_yes_no(&format!("{what}. Replace the stored key?"))? {
                return Err(switch_refused(&what));
            }
        } else {
            return Err(switch_refused(&what));
        }
    }

    let stored =
        credentials::store_off_thread(&ctx.settings, &new, choice, new_email.as_deref()).await?;
    for w in &stored.warnings {
        ctx.printer.warn(w);
    }

    if ctx.printer.json_mode() {
        ctx.printer.json(&RotateJson {
            stored: stored.json(
                info.as_ref().map(|i| i.email.clone()),
                info.as_ref()
                    .map(|i| super::account::offer_id(&i.offer).to_owned()),
            ),
            old_key: match old_state {
                OldKey::Revoked => "revoked",
                OldKey::Live => "live",
                OldKey::Unknown(_) => "unknown",
            },
            account_changed,
        });
    } else {
        let who = info
            .as_ref()
            .map(|i| format!(" ({}, {})", i.email, i.offer))
            .unwrap_or_default();
        ctx.printer.status(&format!(
            "Key replaced in the {}{who}.",
            stored.source.describe()
        ));
    }
    match old_state {
        OldKey::Revoked => ctx
            .printer
            .status("The old key is revoked: 1fichier refuses it."),
        OldKey::Live if account_changed => ctx.printer.warn(&format!(
            "the old key is still live: it still opens {}; fichier no longer uses it. If it \
             leaked, regenerate it on {CONSOLE_URL} while logged in to that account",
            old_email.as_deref().unwrap_or("the other account")
        )),
        OldKey::Live => ctx.printer.warn(&format!(
            "the old key is still live: 1fichier accepts it. Regenerate the key on {CONSOLE_URL} \
             (that revokes the old one), then run `fichier auth rotate` with the newest key"
        )),
        OldKey::Unknown(why) => ctx.printer.warn(&format!(
            "could not check whether the old key is revoked: {why}. If you did not regenerate \
             it on {CONSOLE_URL}, do so now"
        )),
    }
    Ok(Exit::Ok)
}

/// The error when the user did not confirm an account switch: nothing was stored.
fn switch_refused(what: &str) -> anyhow::Error {
    Failure::usage(format!("{what}; nothing was stored"))
        .with_hint(
            "check that you copied the key of the right account; to switch accounts on purpose, \
             run `fichier auth rotate --force` (or `fichier auth login`)",
        )
        .into()
}

/// The error for a key source fichier does not write: say what to change instead.
fn not_ours(source: &KeySource) -> anyhow::Error {
    let what = match source {
        KeySource::Env => format!(
            "set {} to the new key where it is defined (shell profile, CI secret, service \
             unit), or unset it and run `fichier auth login`",
            credentials::ENV_KEY
        ),
        KeySource::KeyFile(p) => format!(
            "write the new key into {} (keep it mode 600), or drop `api_key_file` and run \
             `fichier auth login`",
            p.display()
        ),
        _ => "run `fichier auth login` with the new key".to_owned(),
    };
    Failure::usage(format!(
        "the key in use comes from the {}: fichier cannot replace it there; nothing was stored",
        source.describe()
    ))
    .with_hint(what)
    .into()
}
