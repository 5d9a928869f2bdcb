//! `download/get_token`: one-shot direct URLs ([`DownloadToken`], a secret).
use std::fmt;

use serde::{Deserialize, Serialize};

use crate::client::{Client, Ep, Rules};
use crate::error::{Error, Result};
use crate::values::*;
use crate::wire::ser_opt_flag;

pub(crate) const GET_TOKEN: Ep = Ep::read("download/get_token.cgi");

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

#[derive(Debug, Clone, Deserialize)]
pub(crate) struct TokenAnswer {
    pub(crate) url: String,
}

impl Client {
    /// `download/get_token.cgi`: a one-shot direct URL, valid about 5 minutes.
    pub async fn download_token(&self, req: &DownloadTokenRequest) -> Result<DownloadToken> {
        if req.url.is_none() && req.filename.is_none() {
            return Err(Error::invalid_input(
                "a download token needs a file link (or folder_id + filename)",
            ));
        }
        let answer: TokenAnswer = self.call(GET_TOKEN, req, Rules::default()).await?;
        if answer.url.trim().is_empty() {
            return Err(Error::protocol(
                GET_TOKEN.path,
                "the answer has an empty url",
                b"",
            ));
        }
        Ok(DownloadToken::new(answer.url))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
