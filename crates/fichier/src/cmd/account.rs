//! `fichier account`: offer, storage, CDN credits and subscription end.
//!
//! 1fichier allows one `user/info` call per 5 minutes per user; the pacer enforces it across
//! processes. So that `fichier account` can be run again within that window, the last answer
//! is kept in the cache dir (per key digest, mode 0600) and shown, marked as cached, while
//! the service may not be asked.

use std::path::PathBuf;
use std::time::{Duration, SystemTime};

use fichier_api::{Offer, UserInfo};
use serde::{Deserialize, Serialize};

use super::{date_human, date_json};
use crate::context::Context;
use crate::error::Exit;
use crate::printer::human_size;

/// The stable JSON name of an offer.
pub fn offer_id(offer: &Offer) -> &'static str {
    match offer {
        Offer::Free => "free",
        Offer::Premium => "premium",
        Offer::Access => "access",
        Offer::Gold => "gold",
        _ => "other",
    }
}

/// JSON of `account` (also the cached form).
#[derive(Serialize, Deserialize)]
struct AccountJson {
    email: String,
    offer: String,
    cdn_credits_gb: Option<f64>,
    subscription_end: Option<String>,
    storage: StorageJson,
    overquota: bool,
    upload_forbidden: bool,
    stats_date: Option<String>,
    /// Human name of the offer (not part of the JSON schema).
    #[serde(skip_serializing, default)]
    offer_name: String,
}

#[derive(Serialize, Deserialize)]
struct StorageJson {
    hot_used: Option<u64>,
    cold_used: Option<u64>,
    cold_allowed: Option<u64>,
    available: Option<i64>,
}

fn to_json(info: &UserInfo) -> AccountJson {
    AccountJson {
        email: info.email.clone(),
        offer: offer_id(&info.offer).to_owned(),
        cdn_credits_gb: info.cdn_credits_gb,
        subscription_end: date_json(info.subscription_end.as_ref()),
        storage: StorageJson {
            hot_used: info.hot_storage,
            cold_used: info.cold_storage,
            cold_allowed: info.allowed_cold_storage,
            available: info.available_storage,
        },
        overquota: info.overquota.unwrap_or(false),
        upload_forbidden: info.upload_forbidden.unwrap_or(false),
        stats_date: date_json(info.stats_date.as_ref()),
        offer_name: info.offer.to_string(),
    }
}

/// How long a cached answer is shown instead of an error.
const CACHE_MAX_AGE: Duration = Duration::from_secs(600);

/// The cached answer kept on disk (the offer name travels next to the JSON document).
#[derive(Serialize, Deserialize)]
struct Cached {
    offer_name: String,
    account: AccountJson,
}

fn cache_path(ctx: &Context, digest: &str) -> PathBuf {
    ctx.settings
        .dirs
        .cache
        .join(format!("account-{digest}.json"))
}

fn save(ctx: &Context, digest: &str, account: &AccountJson) {
    let path = cache_path(ctx, digest);
    let Ok(account_value) = serde_json::to_value(account) else {
        return;
    };
    let doc = serde_json::json!({ "offer_name": account.offer_name, "account": account_value });
    let _ = crate::credentials::write_private(&path, doc.to_string().as_bytes());
}

/// The cached answer and its age, when fresh enough.
fn load(ctx: &Context, digest: &str) -> Option<(AccountJson, Duration)> {
    let path = cache_path(ctx, digest);
    let age = std::fs::metadata(&path)
        .and_then(|m| m.modified())
        .ok()
        .and_then(|t| SystemTime::now().duration_since(t).ok())?;
    if age > CACHE_MAX_AGE {
        return None;
    }
    let cached: Cached = serde_json::from_slice(&std::fs::read(&path).ok()?).ok()?;
    let mut account = cached.account;
    account.offer_name = cached.offer_name;
    Some((account, age))
}

/// Keeps a fresh `user/info` answer obtained elsewhere (`auth status`) for this key digest.
pub fn remember(ctx: &Context, digest: &str, info: &UserInfo) {
    save(ctx, digest, &to_json(info));
}

/// The e-mail, offer id and offer name of the last answer for this key digest, with its age,
/// when fresh enough.
pub fn recall(ctx: &Context, digest: &str) -> Option<(String, String, String, Duration)> {
    load(ctx, digest).map(|(a, age)| (a.email, a.offer, a.offer_name, age))
}

/// The account, from the service or, inside the 5-minute window, from the cache.
async fn fetch(ctx: &mut Context) -> anyhow::Result<AccountJson> {
    let answer = ctx.client().await?.user_info().await;
    let digest = ctx.key_digest().unwrap_or_default().to_owned();
    match answer {
        Ok(info) => {
            let account = to_json(&info);
            save(ctx, &digest, &account);
            Ok(account)
        }
        Err(e @ fichier_api::Error::Paced { .. }) => match load(ctx, &digest) {
            Some((account, age)) => {
                ctx.printer.status(&format!(
                    "(from {}s ago: 1fichier allows one account query per 5 minutes)",
                    age.as_secs()
                ));
                Ok(account)
            }
            None => Err(e.into()),
        },
        Err(e) => Err(e.into()),
    }
}

fn size_or_dash(v: Option<u64>) -> String {
    v.map(human_size).unwrap_or_else(|| "-".to_owned())
}

/// Shows the account.
pub async fn run(ctx: &mut Context) -> anyhow::Result<Exit> {
    let account = fetch(ctx).await?;
    if ctx.printer.json_mode() {
        ctx.printer.json(&account);
        return Ok(Exit::Ok);
    }
    let available = match account.storage.available {
        Some(a) if a < 0 => format!("over quota by {}", human_size(a.unsigned_abs())),
        Some(a) => human_size(a as u64),
        None => "-".to_owned(),
    };
    let subscription_end = account
        .subscription_end
        .as_deref()
        .and_then(|t| t.parse::<jiff::Timestamp>().ok())
        .map(|t| t.to_zoned_datetime(jiff::tz::TimeZone::system()));
    let mut fields = vec![
        ("account", account.email.clone()),
        ("offer", account.offer_name.clone()),
        ("subscription end", date_human(subscription_end.as_ref())),
        (
            "storage used",
            format!(
                "{} (hot {})",
                size_or_dash(account.storage.cold_used),
                size_or_dash(account.storage.hot_used)
            ),
        ),
        (
            "storage allowed",
            size_or_dash(account.storage.cold_allowed),
        ),
        ("available", available),
        (
            "CDN credits",
            account
                .cdn_credits_gb
                .map(|c| format!("{c} GB"))
                .unwrap_or_else(|| "-".to_owned()),
        ),
    ];
    if account.upload_forbidden {
        fields.push(("uploads", "forbidden".to_owned()));
    }
    ctx.printer.fields(&fields);
    Ok(Exit::Ok)
}
