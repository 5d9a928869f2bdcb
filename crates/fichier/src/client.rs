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
    // One budget per key; the file name must not reveal the key, so it holds a digest.
    let state_file = settings
        .dirs
        .cache
        .join(format!("pacer-{}.json", key_digest(&key)));
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
        if std::fs::create_dir_all(&settings.dirs.cache).is_ok() {
            builder = builder.pacer_state_file(state_file);
        }
    }
    builder
        .build()
        .map_err(|e| anyhow::Error::from(e).context(Failure::fatal("cannot set up the API client")))
}
