//! `fichier account`: offer, storage, CDN credits and subscription end (`user/info`, which
//! the pacer caches for 5 minutes).

use fichier_api::{Offer, UserInfo};
use serde::Serialize;

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

/// JSON of `account`.
#[derive(Serialize)]
struct AccountJson {
    email: String,
    offer: &'static str,
    cdn_credits_gb: Option<f64>,
    subscription_end: Option<String>,
    storage: StorageJson,
    overquota: bool,
    upload_forbidden: bool,
    stats_date: Option<String>,
}

#[derive(Serialize)]
struct StorageJson {
    hot_used: Option<u64>,
    cold_used: Option<u64>,
    cold_allowed: Option<u64>,
    available: Option<i64>,
}

fn to_json(info: &UserInfo) -> AccountJson {
    AccountJson {
        email: info.email.clone(),
        offer: offer_id(&info.offer),
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
    }
}

fn size_or_dash(v: Option<u64>) -> String {
    v.map(human_size).unwrap_or_else(|| "-".to_owned())
}

/// Shows the account.
pub async fn run(ctx: &mut Context) -> anyhow::Result<Exit> {
    let info = ctx.client().await?.user_info().await?;
    if ctx.printer.json_mode() {
        ctx.printer.json(&to_json(&info));
        return Ok(Exit::Ok);
    }
    let available = match info.available_storage {
        Some(a) if a < 0 => format!("over quota by {}", human_size(a.unsigned_abs())),
        Some(a) => human_size(a as u64),
        None => "-".to_owned(),
    };
    let mut fields = vec![
        ("account", info.email.clone()),
        ("offer", info.offer.to_string()),
        (
            "subscription end",
            date_human(info.subscription_end.as_ref()),
        ),
        (
            "storage used",
            format!(
                "{} (hot {})",
                size_or_dash(info.cold_storage),
                size_or_dash(info.hot_storage)
            ),
        ),
        ("storage allowed", size_or_dash(info.allowed_cold_storage)),
        ("available", available),
        (
            "CDN credits",
            info.cdn_credits_gb
                .map(|c| format!("{c} GB"))
                .unwrap_or_else(|| "-".to_owned()),
        ),
    ];
    if info.upload_forbidden == Some(true) {
        fields.push(("uploads", "forbidden".to_owned()));
    }
    ctx.printer.fields(&fields);
    Ok(Exit::Ok)
}
