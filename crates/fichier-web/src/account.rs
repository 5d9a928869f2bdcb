//! The account panel's data: `user/info` asked at most once per 5 minutes whatever the
//! number of pages open (the service's rule), and the flood cooldown from the client's pacer.

use std::time::{Duration, Instant};

use fichier_api::Client;
use serde::Serialize;
use tokio::sync::Mutex;

/// The shortest time between two `user/info` calls from the dashboard.
pub const REFRESH: Duration = Duration::from_secs(5 * 60);

/// What the page shows; never the key itself.
#[derive(Clone, Debug, Default, Serialize)]
pub struct AccountView {
    /// Free, Premium, Access, Gold.
    pub offer: Option<String>,
    /// Account e-mail.
    pub email: Option<String>,
    /// End of the subscription (RFC 3339).
    pub subscription_end: Option<String>,
    /// Bytes used in hot storage.
    pub hot_storage: Option<u64>,
    /// Bytes used in cold storage.
    pub cold_storage: Option<u64>,
    /// Remaining quota in bytes.
    pub available_storage: Option<i64>,
    /// CDN credits in GB.
    pub cdn_credits_gb: Option<f64>,
    /// Spend CDN credits on own downloads.
    pub use_cdn: Option<bool>,
    /// Seconds left of a flood cooldown (no API call before then).
    pub cooldown_secs: Option<u64>,
    /// When the cooldown ends (RFC 3339).
    pub cooldown_until: Option<String>,
    /// When `user/info` was read (RFC 3339).
    pub fetched_at: Option<String>,
    /// Why the account could not be read, for a person.
    pub error: Option<String>,
    /// The key, masked (`ab…yz`), when the daemon was given one to show.
    pub key_hint: Option<String>,
}

/// The cached `user/info`.
#[derive(Debug)]
pub struct Account {
    client: Client,
    key_hint: Option<String>,
    cached: Mutex<Option<(Instant, AccountView)>>,
}

impl Account {
    /// Wraps the daemon's client.
    pub fn new(client: Client, key_hint: Option<String>) -> Account {
        Account {
            client,
            key_hint,
            cached: Mutex::new(None),
        }
    }

    /// The panel's data: the cached answer when younger than [`REFRESH`] (an error is kept as
    /// long, so a failing call is not repeated by every page load), the cooldown always fresh.
    pub async fn view(&self) -> AccountView {
        let cooldown = self.client.pacer().cooldown_remaining().await;
        let mut cached = self.cached.lock().await;
        let stale = cached
            .as_ref()
            .is_none_or(|(at, _)| at.elapsed() >= REFRESH);
        // During a flood cooldown the call would only wait for its end, holding the page:
        // the panel shows what it last read, and the cooldown.
        if stale && cooldown.is_some() {
            let mut view = cached
                .as_ref()
                .map(|(_, v)| v.clone())
                .unwrap_or_else(|| AccountView {
                    error: Some(
                        "not asked during the flood cooldown (1fichier would lock the account \
                         longer)"
                            .to_owned(),
                    ),
                    ..AccountView::default()
                });
            view.key_hint.clone_from(&self.key_hint);
            with_cooldown(&mut view, cooldown);
            return view;
        }
        if stale {
            let mut view = match self.client.user_info().await {
                Ok(info) => AccountView {
                    offer: serde_json::to_value(info.offer)
                        .ok()
                        .and_then(|v| v.as_str().map(str::to_owned))
                        .or_else(|| Some(format!("{:?}", info.offer))),
                    email: Some(info.email.clone()),
                    subscription_end: info.subscription_end.map(|z| z.timestamp().to_string()),
                    hot_storage: info.hot_storage,
                    cold_storage: info.cold_storage,
                    available_storage: info.available_storage,
                    cdn_credits_gb: info.cdn_credits_gb,
                    use_cdn: info.use_cdn,
                    ..AccountView::default()
                },
                Err(e) => AccountView {
                    error: Some(e.to_string()),
                    ..AccountView::default()
                },
            };
            view.fetched_at = jiff::Timestamp::now()
                .round(jiff::Unit::Second)
                .ok()
                .map(|t| t.to_string());
            *cached = Some((Instant::now(), view));
        }
        let mut view = cached.as_ref().map(|(_, v)| v.clone()).unwrap_or_default();
        drop(cached);
        view.key_hint.clone_from(&self.key_hint);
        with_cooldown(&mut view, cooldown);
        view
    }
}

fn with_cooldown(view: &mut AccountView, cooldown: Option<Duration>) {
    if let Some(left) = cooldown {
        view.cooldown_secs = Some(left.as_secs().max(1));
        let until = jiff::Timestamp::now()
            .checked_add(jiff::SignedDuration::try_from(left).unwrap_or_default())
            .ok();
        view.cooldown_until = until.map(|t| t.to_string());
    }
}
