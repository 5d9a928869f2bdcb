//! `fichier account`: offer, storage, CDN credits and subscription end.
//!
//! 1fichier allows one `user/info` call per 5 minutes per user; the library's pacer enforces
//! it across processes and hands later processes inside the window the last answer from its
//! shared state file, so this command needs no cache of its own.

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

/// The account, from the service (or the pacer's shared answer inside the 5-minute window).
async fn fetch(ctx: &mut Context) -> anyhow::Result<AccountJson> {
    let info = ctx.client().await?.user_info().await?;
    Ok(to_json(&info))
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
