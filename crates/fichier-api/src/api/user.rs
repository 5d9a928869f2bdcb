//! `user/info`: the account, its settings, and the 5-minute read window.

use jiff::ZonedDateTime;
use serde::{Deserialize, Serialize};

use crate::client::{Client, Ep, Rules};
use crate::error::{Error, Result};
use crate::values::*;
use crate::wire::{
    de_opt_date, de_opt_f64, de_opt_flag, de_opt_i64, de_opt_u64, ser_opt_date, ser_opt_flag,
};

pub(crate) const USER_INFO: Ep = Ep::read("user/info.cgi");
pub(crate) const USER_INFO_SET: Ep = Ep::mutation("user/info.cgi");

/// `user/info.cgi` answer: the account and its settings.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[non_exhaustive]
pub struct UserInfo {
    /// Account e-mail.
    pub email: String,
    /// Offer (Free, Premium, Access, Gold).
    pub offer: Offer,
    /// Two-factor mode: 0 none, 1 e-mail code, 2 authenticator app.
    #[serde(rename(deserialize = "2fa"), default, deserialize_with = "de_opt_u64")]
    pub two_factor: Option<u64>,
    /// "Mail remove" option.
    #[serde(default, deserialize_with = "de_opt_flag")]
    pub mail_rm: Option<bool>,
    /// FTP processing: 0 automatic, 1 manual.
    #[serde(default, deserialize_with = "de_opt_u64")]
    pub ftp_mode: Option<u64>,
    /// Destination folder of FTP uploads.
    #[serde(default, deserialize_with = "de_opt_u64")]
    pub ftp_did: Option<FolderId>,
    /// E-mail report after FTP processing.
    #[serde(default, deserialize_with = "de_opt_flag")]
    pub ftp_report: Option<bool>,
    /// E-mail report after remote uploads.
    #[serde(default, deserialize_with = "de_opt_flag")]
    pub ru_report: Option<bool>,
    /// Default domain of new links.
    #[serde(default)]
    pub default_domain: Option<Domain>,
    /// Files per page in the web UI.
    #[serde(default, deserialize_with = "de_opt_u64")]
    pub page_limit: Option<u64>,
    /// Default download scheme: 0 HTTPS, 1 HTTP.
    #[serde(default, deserialize_with = "de_opt_u64")]
    pub default_port: Option<u64>,
    /// Same, for the owner's own files.
    #[serde(default, deserialize_with = "de_opt_u64")]
    pub default_port_files: Option<u64>,
    /// Spend CDN credits on own downloads.
    #[serde(default, deserialize_with = "de_opt_flag")]
    pub use_cdn: Option<bool>,
    /// Show the download menu (web UI).
    #[serde(default, deserialize_with = "de_opt_flag")]
    pub download_menu: Option<bool>,
    /// CDN credit balance, in GB.
    #[serde(rename(deserialize = "cdn"), default, deserialize_with = "de_opt_f64")]
    pub cdn_credits_gb: Option<f64>,
    /// End of the current subscription.
    #[serde(
        default,
        deserialize_with = "de_opt_date",
        serialize_with = "ser_opt_date"
    )]
    pub subscription_end: Option<ZonedDateTime>,
    /// Former global quota (deprecated).
    #[serde(default, deserialize_with = "de_opt_u64")]
    pub default_quota: Option<u64>,
    /// Default cold-storage quota.
    #[serde(default, deserialize_with = "de_opt_u64")]
    pub default_cold_storage_quota: Option<u64>,
    /// Bytes used in hot storage.
    #[serde(default, deserialize_with = "de_opt_u64")]
    pub hot_storage: Option<u64>,
    /// Bytes used in cold storage.
    #[serde(default, deserialize_with = "de_opt_u64")]
    pub cold_storage: Option<u64>,
    /// Cold-storage quota in bytes.
    #[serde(default, deserialize_with = "de_opt_u64")]
    pub allowed_cold_storage: Option<u64>,
    /// Remaining quota in bytes (negative when exceeded).
    #[serde(default, deserialize_with = "de_opt_i64")]
    pub available_storage: Option<i64>,
    /// Remaining cold-storage bytes.
    #[serde(default, deserialize_with = "de_opt_i64")]
    pub available_cold_storage: Option<i64>,
    /// Extra cold storage bought, in TB.
    #[serde(default, deserialize_with = "de_opt_u64")]
    pub extended_quota: Option<u64>,
    /// End of that extension.
    #[serde(
        default,
        deserialize_with = "de_opt_date",
        serialize_with = "ser_opt_date"
    )]
    pub extended_quota_end: Option<ZonedDateTime>,
    /// Over quota.
    #[serde(default, deserialize_with = "de_opt_flag")]
    pub overquota: Option<bool>,
    /// Uploads are blocked (quota, abuse…).
    #[serde(default, deserialize_with = "de_opt_flag")]
    pub upload_forbidden: Option<bool>,
    /// When the storage statistics were computed.
    #[serde(
        default,
        deserialize_with = "de_opt_date",
        serialize_with = "ser_opt_date"
    )]
    pub stats_date: Option<ZonedDateTime>,
}

/// Settings to change with `user/info.cgi` (show-or-set: only `Some` fields are sent).
#[derive(Debug, Clone, Default, Serialize)]
pub struct UserSettings {
    /// FTP processing: 0 automatic, 1 manual.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ftp_mode: Option<u8>,
    /// Destination folder of FTP uploads.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ftp_did: Option<FolderId>,
    /// E-mail a report after FTP processing.
    #[serde(
        skip_serializing_if = "Option::is_none",
        serialize_with = "ser_opt_flag"
    )]
    pub ftp_report: Option<bool>,
    /// E-mail a report after remote uploads.
    #[serde(
        skip_serializing_if = "Option::is_none",
        serialize_with = "ser_opt_flag"
    )]
    pub ru_report: Option<bool>,
    /// Default domain id.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub default_domain: Option<Domain>,
    /// Files per page in the web UI.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub page_limit: Option<u32>,
    /// Default download scheme: 0 HTTPS, 1 HTTP.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub default_port: Option<u8>,
    /// Same, for own files.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub default_port_files: Option<u8>,
    /// Spend CDN credits on own downloads.
    #[serde(
        skip_serializing_if = "Option::is_none",
        serialize_with = "ser_opt_flag"
    )]
    pub use_cdn: Option<bool>,
    /// Show the download menu.
    #[serde(
        skip_serializing_if = "Option::is_none",
        serialize_with = "ser_opt_flag"
    )]
    pub download_menu: Option<bool>,
}

impl UserSettings {
    /// True when nothing would be changed.
    pub fn is_empty(&self) -> bool {
        serde_json::to_value(self)
            .map(|v| v.as_object().is_none_or(|m| m.is_empty()))
            .unwrap_or(true)
    }
}

impl Client {
    /// `user/info.cgi`: the account and its settings. Cached for 5 minutes (the service allows
    /// one call per 5 minutes per user).
    pub async fn user_info(&self) -> Result<UserInfo> {
        self.call(USER_INFO, &Empty {}, self.user_info_rules())
            .await
    }

    /// `user/info.cgi` with fields: changes account settings and returns the new state.
    pub async fn user_settings_set(&self, settings: &UserSettings) -> Result<UserInfo> {
        if settings.is_empty() {
            return Err(Error::invalid_input("no setting to change was given"));
        }
        // Only the minimum gap applies: the 5-minute window is for reading the account.
        let rules = self.user_info_rules();
        let value = self
            .call_value(USER_INFO_SET, settings, Rules::default())
            .await?;
        // The answer echoes the account: it refreshes the user/info cache.
        if !rules.cache_ttl.is_zero() && value.get("email").is_some() {
            let key = format!("{}|{{}}", USER_INFO.path);
            self.inner
                .pacer
                .store(
                    &key,
                    rules.cache_ttl,
                    serde_json::to_vec(&value).unwrap_or_default(),
                )
                .await;
        }
        self.decode(USER_INFO_SET.path, value)
    }
}
