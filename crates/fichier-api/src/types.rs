//! Typed requests and responses for every endpoint of the reference (`docs/1fichier-api-v1.md`).
//!
//! Responses are parsed at the edge: offers and domains become enums, sizes `u64`, flags `bool`,
//! dates [`ZonedDateTime`] in Europe/Paris, empty strings `None`. Responses also implement
//! `Serialize` (with these Rust names) so programs can print them as JSON. Requests serialise to
//! the exact wire field names; passwords inside them are [`Password`] values with redacted
//! `Debug`.

use std::collections::BTreeMap;
use std::fmt;

use jiff::ZonedDateTime;
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::error::Error;
use crate::wire::{
    de_flag, de_opt_date, de_opt_f64, de_opt_flag, de_opt_i64, de_opt_nonempty, de_opt_u64, de_u64,
    de_vec, format_date, ser_flag, ser_opt_date, ser_opt_flag,
};

/// A folder id: `0` is the root. (The whole-account pseudo folder `-1` is
/// [`FileLsRequest::all_files`].)
pub type FolderId = u64;

/// The root folder id.
pub const ROOT_FOLDER: FolderId = 0;

/// The 11 domains a file link may use (reference §1.7).
pub const DOMAINS: [&str; 11] = [
    "1fichier.com",
    "alterupload.com",
    "cjoint.net",
    "desfichiers.com",
    "dfichiers.com",
    "megadl.fr",
    "mesfichiers.org",
    "piecejointe.net",
    "pjointe.com",
    "tenvoi.com",
    "dl4free.com",
];

// ---------------------------------------------------------------------------------------------
// Small value types
// ---------------------------------------------------------------------------------------------

/// A secret password (file, folder, share or FTP). `Debug` shows `[REDACTED]`; serialises to
/// the plain string on the wire only.
#[derive(Clone)]
pub struct Password(SecretString);

impl Password {
    /// Wraps a password.
    pub fn new(p: impl Into<String>) -> Password {
        Password(SecretString::from(p.into()))
    }
    /// The empty password, which removes protection in `file/chattr`.
    pub fn none() -> Password {
        Password::new(String::new())
    }
    /// Number of characters (the service wants at least 6).
    pub fn len(&self) -> usize {
        self.0.expose_secret().chars().count()
    }
    /// True for the empty password.
    pub fn is_empty(&self) -> bool {
        self.0.expose_secret().is_empty()
    }
    /// The password text, for a request field the client does not build itself (the `dpass`
    /// field of a custom upload form). Never print or log it.
    pub fn expose(&self) -> &str {
        self.0.expose_secret()
    }
}

impl fmt::Debug for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Password([REDACTED])")
    }
}

impl Serialize for Password {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.0.expose_secret())
    }
}

impl From<&str> for Password {
    fn from(s: &str) -> Self {
        Password::new(s)
    }
}
impl From<String> for Password {
    fn from(s: String) -> Self {
        Password::new(s)
    }
}

/// A file link, the identity of a file in the API: `https://<domain>/?<id>`.
///
/// [`FileLink::parse`] validates user input (any of the 11 domains, `http`/`https`, the old
/// `http://<id>.1fichier.com/` form, `&…` suffixes dropped). Links coming from the service are
/// kept as sent.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct FileLink(String);

impl FileLink {
    /// Parses and normalises a file link typed or pasted by a user.
    pub fn parse(input: &str) -> Result<FileLink, Error> {
        let s = input.trim();
        let bad = || {
            Error::invalid_input(format!(
                "{s:?} is not a 1fichier file link: expected https://1fichier.com/?<id> (or one of \
                 the other 1fichier domains) with an id of 5 to 20 lowercase letters and digits"
            ))
        };
        let url = url::Url::parse(s).map_err(|_| bad())?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(bad());
        }
        let host = url.host_str().ok_or_else(bad)?.to_ascii_lowercase();
        let host = host.strip_prefix("www.").unwrap_or(&host).to_owned();
        let valid_id = |id: &str| {
            (5..=20).contains(&id.len())
                && id
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
        };
        if let Some(domain) = DOMAINS.iter().find(|d| **d == host) {
            let query = url.query().unwrap_or("");
            let id = query.split('&').next().unwrap_or("");
            let id = id.split('=').next().unwrap_or("");
            if !valid_id(id) {
                return Err(bad());
            }
            return Ok(FileLink(format!("https://{domain}/?{id}")));
        }
        // Old form http://<id>.1fichier.com/
        if let Some(id) = host.strip_suffix(".1fichier.com")
            && valid_id(id)
            && (url.path() == "/" || url.path().is_empty())
        {
            return Ok(FileLink(format!("https://1fichier.com/?{id}")));
        }
        Err(bad())
    }

    /// Wraps a link exactly as the service sent it (no validation).
    pub fn from_service(s: impl Into<String>) -> FileLink {
        FileLink(s.into())
    }

    /// The link as a string.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The file id (the part after `?`), when the link has the usual form.
    pub fn id(&self) -> Option<&str> {
        let (_, q) = self.0.split_once('?')?;
        let id = q.split('&').next()?;
        (!id.is_empty()).then_some(id)
    }
}

impl fmt::Debug for FileLink {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "FileLink({})", self.0)
    }
}
impl fmt::Display for FileLink {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}
impl Serialize for FileLink {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}
impl<'de> Deserialize<'de> for FileLink {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Ok(FileLink(String::deserialize(d)?))
    }
}
impl std::str::FromStr for FileLink {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        FileLink::parse(s)
    }
}

/// The account's offer (`user/info` field `offer`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Offer {
    /// `0`: no offer. The API refuses most calls (`Must be a customer`).
    Free,
    /// `1`: Premium.
    Premium,
    /// `2`: Access.
    Access,
    /// `3`: Premium GOLD (reported by JDownloader; unconfirmed).
    Gold,
    /// A value this library does not know.
    Other(i64),
}

impl Offer {
    /// From the wire number.
    pub fn from_code(code: i64) -> Offer {
        match code {
            0 => Offer::Free,
            1 => Offer::Premium,
            2 => Offer::Access,
            3 => Offer::Gold,
            n => Offer::Other(n),
        }
    }
    /// Whether the offer gives API access.
    pub fn is_customer(self) -> bool {
        !matches!(self, Offer::Free)
    }
}

impl fmt::Display for Offer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Offer::Free => f.write_str("Free"),
            Offer::Premium => f.write_str("Premium"),
            Offer::Access => f.write_str("Access"),
            Offer::Gold => f.write_str("Premium GOLD"),
            Offer::Other(n) => write!(f, "offer {n}"),
        }
    }
}

impl<'de> Deserialize<'de> for Offer {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let v = de_opt_i64(d)?;
        Ok(Offer::from_code(v.unwrap_or(0)))
    }
}

/// A download domain (reference §1.7).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Domain(pub u8);

impl Domain {
    /// `1fichier.com`, the default.
    pub const DEFAULT: Domain = Domain(0);
    /// The host name, when the id is in the table.
    pub fn host(self) -> Option<&'static str> {
        DOMAINS.get(usize::from(self.0)).copied()
    }
    /// Finds a domain by host name.
    pub fn from_host(host: &str) -> Option<Domain> {
        DOMAINS
            .iter()
            .position(|d| d.eq_ignore_ascii_case(host))
            .map(|i| Domain(i as u8))
    }
}

impl fmt::Display for Domain {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.host() {
            Some(h) => f.write_str(h),
            None => write!(f, "domain {}", self.0),
        }
    }
}
impl Serialize for Domain {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u8(self.0)
    }
}
impl<'de> Deserialize<'de> for Domain {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let v = de_opt_u64(d)?.unwrap_or(0);
        u8::try_from(v)
            .map(Domain)
            .map_err(|_| serde::de::Error::custom("domain id out of range"))
    }
}

/// Access restrictions of a file (`acl` object in `file/info` and `file/chattr`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Acl {
    /// Allowed IP ranges (CIDR).
    #[serde(default, deserialize_with = "de_vec")]
    pub ip: Vec<String>,
    /// Allowed countries (ISO-2).
    #[serde(default, deserialize_with = "de_vec")]
    pub country: Vec<String>,
    /// Allowed registered users (e-mails).
    #[serde(default, deserialize_with = "de_vec")]
    pub email: Vec<String>,
    /// Premium users only.
    #[serde(default, deserialize_with = "de_flag", serialize_with = "ser_flag")]
    pub premium: bool,
}

impl Acl {
    /// True when no restriction is set.
    pub fn is_empty(&self) -> bool {
        self.ip.is_empty() && self.country.is_empty() && self.email.is_empty() && !self.premium
    }
}

fn de_opt_acl<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Acl>, D::Error> {
    match Option::<serde_json::Value>::deserialize(d)? {
        Some(v @ serde_json::Value::Object(_)) => {
            let acl: Acl = serde_json::from_value(v).map_err(serde::de::Error::custom)?;
            Ok((!acl.is_empty()).then_some(acl))
        }
        _ => Ok(None),
    }
}

// ---------------------------------------------------------------------------------------------
// user/info
// ---------------------------------------------------------------------------------------------

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

// ---------------------------------------------------------------------------------------------
// download/get_token
// ---------------------------------------------------------------------------------------------

/// `download/get_token.cgi` request.
#[derive(Debug, Clone, Default, Serialize)]
pub struct DownloadTokenRequest {
    /// File link (or use `folder_id` + `filename` for groupware shares with hidden links).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub url: Option<FileLink>,
    /// File password.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pass: Option<Password>,
    /// Spend CDN credits.
    #[serde(
        skip_serializing_if = "Option::is_none",
        serialize_with = "ser_opt_flag"
    )]
    pub cdn: Option<bool>,
    /// CDN only: 0 none, 1 forbid IP change, 2 forbid any sub-request.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub restrict_ip: Option<u8>,
    /// Forbid sub-requests on the token (one request per token).
    #[serde(
        skip_serializing_if = "Option::is_none",
        serialize_with = "ser_opt_flag"
    )]
    pub single: Option<bool>,
    /// Ask the browser to display instead of download.
    #[serde(
        skip_serializing_if = "Option::is_none",
        serialize_with = "ser_opt_flag"
    )]
    pub inline: Option<bool>,
    /// Return an `http://` URL.
    #[serde(
        skip_serializing_if = "Option::is_none",
        serialize_with = "ser_opt_flag"
    )]
    pub no_ssl: Option<bool>,
    /// Groupware share with hidden links: folder holding the file.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub folder_id: Option<FolderId>,
    /// Groupware share with hidden links: exact name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub filename: Option<String>,
    /// E-mail of the sharing user (needed when `folder_id` is 0).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sharing_user: Option<String>,
}

impl DownloadTokenRequest {
    /// A token request for a file link, with an optional password.
    pub fn new(url: FileLink, pass: Option<Password>) -> Self {
        DownloadTokenRequest {
            url: Some(url),
            pass,
            ..Default::default()
        }
    }
}

/// A one-shot direct download URL (valid about 5 minutes). `Debug`/`Display` hide the token.
#[derive(Clone, Deserialize)]
pub struct DownloadToken {
    /// The URL; a secret while valid.
    url: String,
}

impl DownloadToken {
    /// Wraps a token URL.
    pub fn new(url: impl Into<String>) -> Self {
        DownloadToken { url: url.into() }
    }
    /// The URL, to fetch it. Do not log it: anyone holding it can download the file.
    pub fn expose_url(&self) -> &str {
        &self.url
    }
    /// The URL with its token path replaced by `…` (safe to log).
    pub fn redacted(&self) -> String {
        redact_token_url(&self.url)
    }
}

impl fmt::Debug for DownloadToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "DownloadToken({})", self.redacted())
    }
}
impl fmt::Display for DownloadToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.redacted())
    }
}

/// Keeps scheme and host of a token URL and hides the rest.
pub fn redact_token_url(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(u) => {
            let mut out = format!("{}://{}", u.scheme(), u.host_str().unwrap_or("?"));
            if let Some(p) = u.port() {
                out.push_str(&format!(":{p}"));
            }
            out.push_str("/[REDACTED]");
            out
        }
        Err(_) => "[REDACTED URL]".to_owned(),
    }
}

// ---------------------------------------------------------------------------------------------
// Files
// ---------------------------------------------------------------------------------------------

/// `file/ls.cgi` request.
#[derive(Debug, Clone, Default, Serialize)]
pub struct FileLsRequest {
    /// Folder to list (`-1` = every file of the account, see [`FileLsRequest::all_files`]).
    pub folder_id: i64,
    /// E-mail of the user sharing a folder with you.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sharing_user: Option<String>,
    /// Only files uploaded before this date.
    #[serde(
        skip_serializing_if = "Option::is_none",
        serialize_with = "ser_req_date"
    )]
    pub sent_before: Option<ZonedDateTime>,
    /// Only files uploaded after this date.
    #[serde(
        skip_serializing_if = "Option::is_none",
        serialize_with = "ser_req_date"
    )]
    pub sent_after: Option<ZonedDateTime>,
}

fn ser_req_date<S: Serializer>(v: &Option<ZonedDateTime>, s: S) -> Result<S::Ok, S::Error> {
    match v {
        Some(z) => s.serialize_str(&format_date(z)),
        None => s.serialize_none(),
    }
}

impl FileLsRequest {
    /// Lists the files of one folder.
    pub fn folder(folder_id: FolderId) -> Self {
        FileLsRequest {
            folder_id: folder_id as i64,
            ..Default::default()
        }
    }
    /// Lists every file of the account (the service allows this about once per hour).
    pub fn all_files() -> Self {
        FileLsRequest {
            folder_id: -1,
            ..Default::default()
        }
    }
}

/// One file in a listing (`file/ls`, `folder/ls` with `files: 1`).
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[non_exhaustive]
pub struct FileEntry {
    /// File link (identity).
    #[serde(rename(deserialize = "url"))]
    pub link: FileLink,
    /// Name.
    pub filename: String,
    /// Size in bytes.
    #[serde(deserialize_with = "de_u64")]
    pub size: u64,
    /// Upload date.
    #[serde(
        default,
        deserialize_with = "de_opt_date",
        serialize_with = "ser_opt_date"
    )]
    pub date: Option<ZonedDateTime>,
    /// Whirlpool, 128 lowercase hex.
    #[serde(default, deserialize_with = "de_opt_nonempty")]
    pub checksum: Option<String>,
    /// MIME type.
    #[serde(
        rename(deserialize = "content-type"),
        alias = "content_type",
        default,
        deserialize_with = "de_opt_nonempty"
    )]
    pub content_type: Option<String>,
    /// Password protected.
    #[serde(rename(deserialize = "pass"), default, deserialize_with = "de_flag")]
    pub password: bool,
    /// Access-control list active.
    #[serde(default, deserialize_with = "de_flag")]
    pub acl: bool,
    /// Flagged for CDN.
    #[serde(default, deserialize_with = "de_flag")]
    pub cdn: bool,
}

/// `file/ls.cgi` answer.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[non_exhaustive]
pub struct FileList {
    /// Number of items, as reported.
    #[serde(default, deserialize_with = "de_opt_u64")]
    pub count: Option<u64>,
    /// The files.
    #[serde(default, deserialize_with = "de_vec")]
    pub items: Vec<FileEntry>,
}

/// `file/info.cgi` request.
#[derive(Debug, Clone, Default, Serialize)]
pub struct FileInfoRequest {
    /// File link.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub url: Option<FileLink>,
    /// Password, if protected.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pass: Option<Password>,
    /// Groupware share with hidden links: folder.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub folder_id: Option<FolderId>,
    /// Groupware share with hidden links: exact name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub filename: Option<String>,
    /// Sharing account's e-mail.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sharing_user: Option<String>,
}

impl FileInfoRequest {
    /// Info for a file link, with an optional password.
    pub fn new(url: FileLink, pass: Option<Password>) -> Self {
        FileInfoRequest {
            url: Some(url),
            pass,
            ..Default::default()
        }
    }
}

/// `file/info.cgi` answer.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[non_exhaustive]
pub struct FileInfo {
    /// File link.
    #[serde(rename(deserialize = "url"))]
    pub link: FileLink,
    /// Name.
    pub filename: String,
    /// Size in bytes.
    #[serde(deserialize_with = "de_u64")]
    pub size: u64,
    /// Upload date.
    #[serde(
        default,
        deserialize_with = "de_opt_date",
        serialize_with = "ser_opt_date"
    )]
    pub date: Option<ZonedDateTime>,
    /// Containing folder (absent for files of other accounts).
    #[serde(default, deserialize_with = "de_opt_u64")]
    pub folder_id: Option<FolderId>,
    /// Folder path without leading slash (`Photos/2024`); `None` at the root.
    #[serde(default, deserialize_with = "de_opt_nonempty")]
    pub path: Option<String>,
    /// Whirlpool, 128 lowercase hex.
    #[serde(default, deserialize_with = "de_opt_nonempty")]
    pub checksum: Option<String>,
    /// MIME type.
    #[serde(
        rename(deserialize = "content-type"),
        alias = "content_type",
        default,
        deserialize_with = "de_opt_nonempty"
    )]
    pub content_type: Option<String>,
    /// Owner's description.
    #[serde(default, deserialize_with = "de_opt_nonempty")]
    pub description: Option<String>,
    /// Password protected.
    #[serde(rename(deserialize = "pass"), default, deserialize_with = "de_flag")]
    pub password: bool,
    /// Default link without TLS.
    #[serde(default, deserialize_with = "de_flag")]
    pub no_ssl: bool,
    /// Inline display flag.
    #[serde(default, deserialize_with = "de_flag")]
    pub inline: bool,
    /// Flagged for CDN.
    #[serde(default, deserialize_with = "de_flag")]
    pub cdn: bool,
    /// Access restrictions; `None` when there are none.
    #[serde(default, deserialize_with = "de_opt_acl")]
    pub acl: Option<Acl>,
}

/// `file/scan.cgi` answer.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[non_exhaustive]
pub enum ScanResult {
    /// No virus found; `cached_at` is the date of an earlier scan when the result is cached.
    Clean {
        /// Date of the cached scan.
        #[serde(serialize_with = "ser_opt_date")]
        cached_at: Option<ZonedDateTime>,
    },
    /// A virus was found (the service removes the file); the message says which.
    Infected {
        /// The service's message.
        message: String,
    },
}

/// One file to delete in `file/rm.cgi`.
#[derive(Debug, Clone, Serialize)]
pub struct FileToRemove {
    /// File link.
    pub url: FileLink,
    /// Removal code, only for anonymous uploads.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub code: Option<Password>,
}

/// `file/rm.cgi` request.
#[derive(Debug, Clone, Default, Serialize)]
pub struct FileRmRequest {
    /// Files to delete.
    pub files: Vec<FileToRemove>,
}

impl FileRmRequest {
    /// Deletes the given own files.
    pub fn new(urls: impl IntoIterator<Item = FileLink>) -> Self {
        FileRmRequest {
            files: urls
                .into_iter()
                .map(|url| FileToRemove { url, code: None })
                .collect(),
        }
    }
}

/// `file/rm.cgi` answer.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[non_exhaustive]
pub struct FilesRemoved {
    /// Number removed.
    #[serde(default, deserialize_with = "de_opt_u64")]
    pub removed: Option<u64>,
    /// Links removed (not always sent).
    #[serde(default, deserialize_with = "de_vec")]
    pub urls: Vec<FileLink>,
}

/// `file/mv.cgi` request.
#[derive(Debug, Clone, Default, Serialize)]
pub struct FileMvRequest {
    /// Links to move.
    pub urls: Vec<FileLink>,
    /// Target folder; 0 = root.
    pub destination_folder_id: FolderId,
    /// Sharing user's e-mail when the destination is the root of a share.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub destination_user: Option<String>,
    /// New name (single URL only; send only when it changes).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rename: Option<String>,
}

impl FileMvRequest {
    /// Moves files into a folder.
    pub fn new(urls: impl IntoIterator<Item = FileLink>, destination: FolderId) -> Self {
        FileMvRequest {
            urls: urls.into_iter().collect(),
            destination_folder_id: destination,
            ..Default::default()
        }
    }
}

/// `file/mv.cgi` answer.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[non_exhaustive]
pub struct FilesMoved {
    /// Number moved.
    #[serde(default, deserialize_with = "de_opt_u64")]
    pub moved: Option<u64>,
    /// The links (they keep their identity).
    #[serde(default, deserialize_with = "de_vec")]
    pub urls: Vec<FileLink>,
    /// New name, only if renamed.
    #[serde(default, deserialize_with = "de_opt_nonempty")]
    pub filename: Option<String>,
}

/// `file/cp.cgi` request.
#[derive(Debug, Clone, Default, Serialize)]
pub struct FileCpRequest {
    /// Files to copy.
    pub urls: Vec<FileLink>,
    /// Destination folder; 0 = root.
    pub folder_id: FolderId,
    /// Access password of the source.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pass: Option<Password>,
    /// Sharing user when the destination is the root of a share.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sharing_user: Option<String>,
    /// New name (single URL only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rename: Option<String>,
}

impl FileCpRequest {
    /// Copies files into a folder.
    pub fn new(urls: impl IntoIterator<Item = FileLink>, folder_id: FolderId) -> Self {
        FileCpRequest {
            urls: urls.into_iter().collect(),
            folder_id,
            ..Default::default()
        }
    }
}

/// A source/copy pair in `file/cp` answers.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
pub struct CopiedFile {
    /// The source link.
    pub from_url: FileLink,
    /// The new link of the copy.
    pub to_url: FileLink,
}

/// `file/cp.cgi` answer.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[non_exhaustive]
pub struct FilesCopied {
    /// Number copied.
    #[serde(default, deserialize_with = "de_opt_u64")]
    pub copied: Option<u64>,
    /// Source and copy links.
    #[serde(default, deserialize_with = "de_vec")]
    pub urls: Vec<CopiedFile>,
    /// New name, only if renamed.
    #[serde(default, deserialize_with = "de_opt_nonempty")]
    pub filename: Option<String>,
}

/// One rename in `file/rename.cgi`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RenameItem {
    /// File link.
    pub url: FileLink,
    /// New name.
    pub filename: String,
}

/// `file/rename.cgi` request.
#[derive(Debug, Clone, Default, Serialize)]
pub struct FileRenameRequest {
    /// Renames to perform.
    pub urls: Vec<RenameItem>,
}

impl FileRenameRequest {
    /// Renames one file.
    pub fn one(url: FileLink, new_name: impl Into<String>) -> Self {
        FileRenameRequest {
            urls: vec![RenameItem {
                url,
                filename: new_name.into(),
            }],
        }
    }
}

/// One renamed file in `file/rename` answers.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
pub struct RenamedFile {
    /// File link.
    pub url: FileLink,
    /// Previous name.
    #[serde(default)]
    pub old_filename: String,
    /// New name.
    #[serde(default)]
    pub new_filename: String,
}

/// `file/rename.cgi` answer.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[non_exhaustive]
pub struct FilesRenamed {
    /// Number renamed.
    #[serde(default, deserialize_with = "de_opt_u64")]
    pub renamed: Option<u64>,
    /// Details.
    #[serde(default, deserialize_with = "de_vec")]
    pub urls: Vec<RenamedFile>,
}

/// `file/chattr.cgi` request: only `Some` fields are changed.
#[derive(Debug, Clone, Default, Serialize)]
pub struct FileChattrRequest {
    /// Files to change.
    pub urls: Vec<FileLink>,
    /// New name (single file only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub filename: Option<String>,
    /// Description; may be empty.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Password (≥ 6 chars); [`Password::none`] removes it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pass: Option<Password>,
    /// Default link without TLS.
    #[serde(
        skip_serializing_if = "Option::is_none",
        serialize_with = "ser_opt_flag"
    )]
    pub no_ssl: Option<bool>,
    /// Inline access.
    #[serde(
        skip_serializing_if = "Option::is_none",
        serialize_with = "ser_opt_flag"
    )]
    pub inline: Option<bool>,
    /// CDN flag.
    #[serde(
        skip_serializing_if = "Option::is_none",
        serialize_with = "ser_opt_flag"
    )]
    pub cdn: Option<bool>,
    /// Access restrictions; an empty [`Acl`] removes them.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub acl: Option<Acl>,
}

impl FileChattrRequest {
    /// A request changing nothing yet on these files.
    pub fn new(urls: impl IntoIterator<Item = FileLink>) -> Self {
        FileChattrRequest {
            urls: urls.into_iter().collect(),
            ..Default::default()
        }
    }
}

/// `file/chattr.cgi` answer.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[non_exhaustive]
pub struct FilesUpdated {
    /// Number updated.
    #[serde(default, deserialize_with = "de_opt_u64")]
    pub updated: Option<u64>,
    /// Links updated.
    #[serde(default, deserialize_with = "de_vec")]
    pub urls: Vec<FileLink>,
}

// ---------------------------------------------------------------------------------------------
// Folders
// ---------------------------------------------------------------------------------------------

/// `folder/ls.cgi` request.
#[derive(Debug, Clone, Default, Serialize)]
pub struct FolderLsRequest {
    /// Folder; 0 = root.
    pub folder_id: FolderId,
    /// Sharing user's e-mail (root of a share).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sharing_user: Option<String>,
    /// Also return the folder's files in `items` (one call instead of two).
    #[serde(
        skip_serializing_if = "std::ops::Not::not",
        serialize_with = "ser_flag"
    )]
    pub files: bool,
}

impl FolderLsRequest {
    /// Describes a folder and its sub-folders.
    pub fn new(folder_id: FolderId) -> Self {
        FolderLsRequest {
            folder_id,
            ..Default::default()
        }
    }
    /// Describes a folder, its sub-folders and its files.
    pub fn with_files(folder_id: FolderId) -> Self {
        FolderLsRequest {
            folder_id,
            files: true,
            ..Default::default()
        }
    }
}

/// A groupware share of a folder.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
pub struct GroupShare {
    /// The registered user's e-mail.
    pub email: String,
    /// Read-write.
    #[serde(default, deserialize_with = "de_flag", serialize_with = "ser_flag")]
    pub rw: bool,
    /// Hide links (implies read-only).
    #[serde(default, deserialize_with = "de_flag", serialize_with = "ser_flag")]
    pub hide_links: bool,
}

/// A child folder in `folder/ls`.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[non_exhaustive]
pub struct SubFolder {
    /// Folder id.
    #[serde(deserialize_with = "de_u64")]
    pub id: FolderId,
    /// Name.
    pub name: String,
    /// Creation date.
    #[serde(
        default,
        deserialize_with = "de_opt_date",
        serialize_with = "ser_opt_date"
    )]
    pub create_date: Option<ZonedDateTime>,
    /// Password set.
    #[serde(rename(deserialize = "pass"), default, deserialize_with = "de_flag")]
    pub password: bool,
}

/// `folder/ls.cgi` answer.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[non_exhaustive]
pub struct FolderListing {
    /// This folder.
    #[serde(default, deserialize_with = "de_opt_u64")]
    pub folder_id: Option<FolderId>,
    /// Its name (empty for the root).
    #[serde(default)]
    pub name: String,
    /// Creation date.
    #[serde(
        default,
        deserialize_with = "de_opt_date",
        serialize_with = "ser_opt_date"
    )]
    pub create_date: Option<ZonedDateTime>,
    /// Password set.
    #[serde(rename(deserialize = "pass"), default, deserialize_with = "de_flag")]
    pub password: bool,
    /// Public share URL when shared publicly.
    #[serde(default, deserialize_with = "de_opt_nonempty")]
    pub shared: Option<String>,
    /// Groupware shares.
    #[serde(default, deserialize_with = "de_vec")]
    pub shares: Vec<GroupShare>,
    /// Owner e-mail (when browsing a share).
    #[serde(default, deserialize_with = "de_opt_nonempty")]
    pub user: Option<String>,
    /// Your write right when browsing a share.
    #[serde(default, deserialize_with = "de_opt_flag")]
    pub rw: Option<bool>,
    /// Links hidden when browsing a share.
    #[serde(default, deserialize_with = "de_opt_flag")]
    pub hide_links: Option<bool>,
    /// Number of files directly inside.
    #[serde(
        rename(deserialize = "files"),
        default,
        deserialize_with = "de_opt_u64"
    )]
    pub file_count: Option<u64>,
    /// Total bytes of those files.
    #[serde(default, deserialize_with = "de_opt_u64")]
    pub size: Option<u64>,
    /// Child folders.
    #[serde(default, deserialize_with = "de_vec")]
    pub sub_folders: Vec<SubFolder>,
    /// Files, when requested with `files: true`.
    #[serde(default, deserialize_with = "de_vec")]
    pub items: Vec<FileEntry>,
}

/// `folder/mkdir.cgi` request.
#[derive(Debug, Clone, Default, Serialize)]
pub struct FolderMkdirRequest {
    /// Name (≤ 250 chars).
    pub name: String,
    /// Parent; 0 = root.
    pub folder_id: FolderId,
    /// Needed to create at the root of a share.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sharing_user: Option<String>,
}

impl FolderMkdirRequest {
    /// Creates `name` under `parent`.
    pub fn new(name: impl Into<String>, parent: FolderId) -> Self {
        FolderMkdirRequest {
            name: name.into(),
            folder_id: parent,
            sharing_user: None,
        }
    }
}

/// `folder/mkdir.cgi` answer.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[non_exhaustive]
pub struct FolderCreated {
    /// New folder id.
    #[serde(deserialize_with = "de_u64")]
    pub folder_id: FolderId,
    /// Its name.
    #[serde(default)]
    pub name: String,
}

/// `folder/mv.cgi` request (a move, or a rename in place when `rename` is set).
#[derive(Debug, Clone, Default, Serialize)]
pub struct FolderMvRequest {
    /// Folder to move.
    pub folder_id: FolderId,
    /// New parent; 0 = root. Ignored by the service when `rename` is present.
    pub destination_folder_id: FolderId,
    /// Share owner when the destination is the root of a share.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub destination_user: Option<String>,
    /// New name: renames in place.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rename: Option<String>,
}

impl FolderMvRequest {
    /// Moves a folder under a new parent.
    pub fn move_to(folder_id: FolderId, destination: FolderId) -> Self {
        FolderMvRequest {
            folder_id,
            destination_folder_id: destination,
            ..Default::default()
        }
    }
    /// Renames a folder in place.
    pub fn rename(folder_id: FolderId, new_name: impl Into<String>) -> Self {
        FolderMvRequest {
            folder_id,
            rename: Some(new_name.into()),
            ..Default::default()
        }
    }
}

/// `folder/mv.cgi` answer.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[non_exhaustive]
pub struct FolderMoved {
    /// Previous name.
    #[serde(default, deserialize_with = "de_opt_nonempty")]
    pub old_name: Option<String>,
    /// Current name.
    #[serde(default, deserialize_with = "de_opt_nonempty")]
    pub new_name: Option<String>,
    /// The service's message.
    #[serde(default, deserialize_with = "de_opt_nonempty")]
    pub message: Option<String>,
}

/// `folder/share.cgi` request.
#[derive(Debug, Clone, Default, Serialize)]
pub struct FolderShareRequest {
    /// Folder.
    pub folder_id: FolderId,
    /// Public share on or off.
    #[serde(
        rename = "share",
        skip_serializing_if = "Option::is_none",
        serialize_with = "ser_opt_flag"
    )]
    pub public: Option<bool>,
    /// Password of the public share (≥ 6 chars).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pass: Option<Password>,
    /// Groupware shares; an empty list removes all.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub shares: Option<Vec<GroupShare>>,
}

impl FolderShareRequest {
    /// A request changing nothing yet on this folder.
    pub fn new(folder_id: FolderId) -> Self {
        FolderShareRequest {
            folder_id,
            ..Default::default()
        }
    }
}

/// `folder/share.cgi` answer.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[non_exhaustive]
pub struct FolderShared {
    /// Public share URL when public.
    #[serde(default, deserialize_with = "de_opt_nonempty")]
    pub url: Option<String>,
    /// The service's message.
    #[serde(default, deserialize_with = "de_opt_nonempty")]
    pub message: Option<String>,
}

/// `folder/rm.cgi` answer (also used by other envelope-only answers).
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[non_exhaustive]
pub struct Done {
    /// The service's message, if any.
    #[serde(default, deserialize_with = "de_opt_nonempty")]
    pub message: Option<String>,
}

/// One file of a public shared folder (`/dir/<id>?json=1`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[non_exhaustive]
pub struct SharedFile {
    /// Name.
    pub filename: String,
    /// File link.
    pub link: FileLink,
    /// Size in bytes.
    #[serde(deserialize_with = "de_u64")]
    pub size: u64,
    /// Password protected.
    #[serde(default, deserialize_with = "de_flag")]
    pub password: bool,
    /// ACL active.
    #[serde(default, deserialize_with = "de_flag")]
    pub acl: bool,
}

// ---------------------------------------------------------------------------------------------
// Remote uploads
// ---------------------------------------------------------------------------------------------

/// A remote-upload job id.
pub type RemoteJobId = u64;

/// One job in `remote/ls`.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[non_exhaustive]
pub struct RemoteJob {
    /// Job id.
    #[serde(deserialize_with = "de_u64")]
    pub id: RemoteJobId,
    /// When it was requested.
    #[serde(
        default,
        deserialize_with = "de_opt_date",
        serialize_with = "ser_opt_date"
    )]
    pub request_date: Option<ZonedDateTime>,
    /// When it ran; `None` while pending.
    #[serde(
        default,
        deserialize_with = "de_opt_date",
        serialize_with = "ser_opt_date"
    )]
    pub execution_date: Option<ZonedDateTime>,
}

/// The outcome of one URL of a job.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[non_exhaustive]
pub struct RemoteResult {
    /// Fetched and stored.
    #[serde(rename(deserialize = "status"), deserialize_with = "de_ok")]
    pub ok: bool,
    /// The requested URL.
    #[serde(default)]
    pub url: String,
    /// The resulting file, when fetched.
    #[serde(default, deserialize_with = "de_opt_link")]
    pub download_link: Option<FileLink>,
    /// The service's message.
    #[serde(default, deserialize_with = "de_opt_nonempty")]
    pub message: Option<String>,
}

fn de_ok<'de, D: Deserializer<'de>>(d: D) -> Result<bool, D::Error> {
    Ok(String::deserialize(d)?.eq_ignore_ascii_case("OK"))
}

fn de_opt_link<'de, D: Deserializer<'de>>(d: D) -> Result<Option<FileLink>, D::Error> {
    Ok(de_opt_nonempty(d)?.map(FileLink))
}

/// `remote/info.cgi` answer.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[non_exhaustive]
pub struct RemoteJobInfo {
    /// Job id.
    #[serde(deserialize_with = "de_u64")]
    pub id: RemoteJobId,
    /// When it was requested.
    #[serde(
        default,
        deserialize_with = "de_opt_date",
        serialize_with = "ser_opt_date"
    )]
    pub request_date: Option<ZonedDateTime>,
    /// When it ran; `None` while pending.
    #[serde(
        default,
        deserialize_with = "de_opt_date",
        serialize_with = "ser_opt_date"
    )]
    pub execution_date: Option<ZonedDateTime>,
    /// The URLs requested.
    #[serde(default, deserialize_with = "de_vec")]
    pub links: Vec<String>,
    /// One result per URL once executed; empty before.
    #[serde(default, deserialize_with = "de_vec")]
    pub result: Vec<RemoteResult>,
}

impl RemoteJobInfo {
    /// True once the job ran.
    pub fn is_done(&self) -> bool {
        self.execution_date.is_some() || !self.result.is_empty()
    }
}

/// `remote/request.cgi` request.
#[derive(Debug, Clone, Default, Serialize)]
pub struct RemoteRequest {
    /// URLs to fetch.
    pub urls: Vec<String>,
    /// Destination; 0 = root.
    pub folder_id: FolderId,
    /// Extra HTTP headers for the fetch.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub headers: BTreeMap<String, String>,
}

impl RemoteRequest {
    /// Fetches `urls` into `folder_id`.
    pub fn new(urls: impl IntoIterator<Item = String>, folder_id: FolderId) -> Self {
        RemoteRequest {
            urls: urls.into_iter().collect(),
            folder_id,
            headers: BTreeMap::new(),
        }
    }
}

/// `remote/request.cgi` answer.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[non_exhaustive]
pub struct RemoteRequested {
    /// The new job's id.
    #[serde(deserialize_with = "de_u64")]
    pub id: RemoteJobId,
    /// Request date.
    #[serde(
        default,
        deserialize_with = "de_opt_date",
        serialize_with = "ser_opt_date"
    )]
    pub date: Option<ZonedDateTime>,
    /// URLs accepted.
    #[serde(default, deserialize_with = "de_vec")]
    pub urls: Vec<String>,
}

// ---------------------------------------------------------------------------------------------
// Upload
// ---------------------------------------------------------------------------------------------

/// `upload/get_upload_server.cgi` answer: a node and an upload id.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[non_exhaustive]
pub struct UploadServer {
    /// Node host name (no scheme).
    #[serde(rename(deserialize = "url"))]
    pub host: String,
    /// Upload id (`id`/`xid`), 10 alphanumerics.
    pub id: String,
}

/// One file of an `end.pl` JSON report.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[non_exhaustive]
pub struct UploadedLink {
    /// File link.
    pub download: FileLink,
    /// Stored name.
    pub filename: String,
    /// Removal link; `None` when tied to an account.
    #[serde(default, deserialize_with = "de_opt_nonempty")]
    pub remove: Option<String>,
    /// Size in bytes (a string on the wire).
    #[serde(deserialize_with = "de_u64")]
    pub size: u64,
    /// Whirlpool as reported.
    #[serde(default)]
    pub whirlpool: String,
}

/// `end.pl` JSON report.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[non_exhaustive]
pub struct UploadReport {
    /// Files went to a user's `incoming` folder.
    #[serde(default, deserialize_with = "de_flag")]
    pub incoming: bool,
    /// One entry per uploaded file.
    #[serde(default, deserialize_with = "de_vec")]
    pub links: Vec<UploadedLink>,
}

/// A verified upload: the service listed the file with the local size and whirlpool.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct UploadedFile {
    /// File link.
    pub link: FileLink,
    /// Stored name.
    pub filename: String,
    /// Size in bytes.
    pub size: u64,
    /// Whirlpool (lowercase hex), equal to the local one.
    pub whirlpool: String,
    /// Removal link (anonymous uploads only).
    pub remove: Option<String>,
    /// True when the file was found already uploaded (after an ambiguous failure) rather
    /// than confirmed by this attempt's report.
    pub recovered: bool,
}

// ---------------------------------------------------------------------------------------------
// FTP and vouchers
// ---------------------------------------------------------------------------------------------

/// An FTP sub-account (`ftp/users/ls`; shape unconfirmed by any real traffic).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[non_exhaustive]
pub struct FtpUser {
    /// Login.
    pub user: String,
    /// Destination folder.
    #[serde(default, deserialize_with = "de_opt_u64")]
    pub folder_id: Option<FolderId>,
}

/// `ftp/users/ls.cgi` answer.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[non_exhaustive]
pub struct FtpUsers {
    /// The sub-accounts.
    #[serde(default, deserialize_with = "de_vec", alias = "data")]
    pub items: Vec<FtpUser>,
}

/// `ftp/users/add.cgi` request.
#[derive(Debug, Clone, Serialize)]
#[non_exhaustive]
pub struct FtpUserAddRequest {
    /// Login.
    pub user: String,
    /// Password.
    pub pass: Password,
    /// Destination folder of that user's uploads.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub folder_id: Option<FolderId>,
}

impl FtpUserAddRequest {
    /// A sub-account uploading into `folder_id` (root when `None`).
    pub fn new(user: impl Into<String>, pass: Password, folder_id: Option<FolderId>) -> Self {
        FtpUserAddRequest {
            user: user.into(),
            pass,
            folder_id,
        }
    }
}

/// A voucher (`vouchers/ls`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[non_exhaustive]
pub struct Voucher {
    /// 32-char code.
    pub voucher: String,
    /// Service it grants.
    #[serde(default)]
    pub service: String,
}

/// `vouchers/check.cgi` answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct VoucherCheck {
    /// The voucher can be used.
    pub valid: bool,
    /// Service it grants, when known.
    pub service: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(bound = "T: serde::de::DeserializeOwned")]
pub(crate) struct ListData<T> {
    #[serde(default, deserialize_with = "de_vec")]
    pub(crate) data: Vec<T>,
}

#[derive(Debug, Clone, Deserialize)]
pub(crate) struct TokenAnswer {
    pub(crate) url: String,
}

#[derive(Debug, Clone, Deserialize)]
pub(crate) struct ScanAnswer {
    #[serde(default, deserialize_with = "de_opt_date")]
    pub(crate) date: Option<ZonedDateTime>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_links() {
        let l = FileLink::parse(" https://1fichier.com/?k3x9q2m7v1p8w4z6t0ab&af=1 ").unwrap();
        assert_eq!(l.as_str(), "https://1fichier.com/?k3x9q2m7v1p8w4z6t0ab");
        assert_eq!(l.id(), Some("k3x9q2m7v1p8w4z6t0ab"));
        let l = FileLink::parse("http://cjoint.net/?abcde12345").unwrap();
        assert_eq!(l.as_str(), "https://cjoint.net/?abcde12345");
        let l = FileLink::parse("http://abcde12345.1fichier.com/").unwrap();
        assert_eq!(l.as_str(), "https://1fichier.com/?abcde12345");
        assert!(FileLink::parse("https://example.com/?abcde12345").is_err());
        assert!(FileLink::parse("https://1fichier.com/?AB").is_err());
        assert!(FileLink::parse("notes.txt").is_err());
    }

    #[test]
    fn token_redaction() {
        let t = DownloadToken::new("https://a-7.1fichier.com/p8123456789");
        assert_eq!(
            format!("{t:?}"),
            "DownloadToken(https://a-7.1fichier.com/[REDACTED])"
        );
        assert!(!t.to_string().contains("p8123456789"));
    }
}
