//! Builds the `fichier_api::Client` for this run from the settings: URL, key and pacer.

use fichier_api::{ApiKey, Client, PacerConfig, RetryPolicy};

use crate::error::Failure;
use crate::settings::Settings;

/// A short digest of the key, to name per-key files in the cache dir without revealing it.
pub fn key_digest(key: &ApiKey) -> String {
    key.fingerprint()
}

/// A client for `url` with `key`. The pacer stays on with the library defaults (shared by
/// every process of this user through a state file per key in the cache dir), except for the
/// sandbox and loopback test runs, which talk to an emulator without rate limits.
pub fn build(settings: &Settings, url: &url::Url, key: ApiKey) -> anyhow::Result<Client> {
    builder(settings, url, key)
        .build()
        .map_err(|e| anyhow::Error::from(e).context(Failure::fatal("cannot set up the API client")))
}

/// The client of the queue runner: the same pacer (shared with every process of the user),
/// but a flood answer fails the call at once instead of being sat out inside it, so the
/// runner can pause the whole queue and show why and until when. In unthrottled test runs
/// the pacer's cooldown is the runner's flood pause, as the real one is.
pub fn build_for_queue(settings: &Settings, url: &url::Url, key: ApiKey) -> anyhow::Result<Client> {
    let mut policy = if settings.unthrottled {
        RetryPolicy::fast()
    } else {
        RetryPolicy::default()
    };
    policy.flood_retries = 0;
    let key_for_name = key.clone();
    let mut b = builder(settings, url, key).retry_policy(policy);
    if settings.unthrottled {
        let mut pacer = PacerConfig::unthrottled();
        pacer.flood_cooldown_start = settings.queue_flood_pause;
        pacer.flood_cooldown_max = settings.queue_flood_pause * 4;
        b = b.pacer_config(pacer);
        // As in real runs, a restarted runner learns a cooldown under way from the state file.
        if fichier_state::private_dir(settings.paths.cache()).is_ok() {
            b = b.pacer_state_file(settings.paths.queue_pacer_state(&key_digest(&key_for_name)));
        }
    }
    b.build()
        .map_err(|e| anyhow::Error::from(e).context(Failure::fatal("cannot set up the API client")))
}

fn builder(settings: &Settings, url: &url::Url, key: ApiKey) -> fichier_api::ClientBuilder {
    // One budget per key; the file name must not reveal the key, so it holds a digest.
    let state_file = settings.paths.pacer_state(&key_digest(&key));
    let mut builder = Client::builder()
        .api_url(url.as_str())
        .api_key(key)
        .fresh(settings.fresh);
    if settings.sandbox || settings.unthrottled {
        builder = builder.pacer_config(PacerConfig::unthrottled());
        if settings.unthrottled {
            builder = builder.retry_policy(RetryPolicy::fast());
        }
    } else {
        if let Some(gap) = settings.min_gap {
            builder = builder.min_gap(gap);
        }
        if fichier_state::private_dir(settings.paths.cache()).is_ok() {
            builder = builder.pacer_state_file(state_file);
        }
    }
    builder
}
