//! `remote/*`: remote-upload jobs (the service fetches URLs for the account).
use std::collections::BTreeMap;

use jiff::ZonedDateTime;
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::json;

use crate::client::{Check, Client, Ep, Rules};
use crate::error::{Error, Result};
use crate::values::*;
use crate::wire::{de_opt_date, de_opt_nonempty, de_u64, de_vec, ser_opt_date};

pub(crate) const REMOTE_LS: Ep = Ep::read("remote/ls.cgi");
pub(crate) const REMOTE_INFO: Ep = Ep::read("remote/info.cgi");
pub(crate) const REMOTE_REQUEST: Ep = Ep::mutation("remote/request.cgi");

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

fn de_ok<'de, D: Deserializer<'de>>(d: D) -> std::result::Result<bool, D::Error> {
    Ok(String::deserialize(d)?.eq_ignore_ascii_case("OK"))
}

fn de_opt_link<'de, D: Deserializer<'de>>(d: D) -> std::result::Result<Option<FileLink>, D::Error> {
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

impl Client {
    /// `remote/ls.cgi`: remote-upload jobs.
    pub async fn remote_ls(&self) -> Result<Vec<RemoteJob>> {
        let l: ListData<RemoteJob> = self.call(REMOTE_LS, &Empty {}, Rules::default()).await?;
        Ok(l.data)
    }

    /// `remote/info.cgi`: one job and its per-URL results.
    pub async fn remote_info(&self, id: RemoteJobId) -> Result<RemoteJobInfo> {
        self.call(REMOTE_INFO, &json!({ "id": id }), Rules::default())
            .await
    }

    /// `remote/request.cgi`: asks the service to fetch URLs into a folder. After an ambiguous
    /// failure the outcome cannot be checked (jobs carry no client id): [`Error::OutcomeUnknown`].
    pub async fn remote_request(&self, req: &RemoteRequest) -> Result<RemoteRequested> {
        if req.urls.is_empty() {
            return Err(Error::invalid_input("no URL to fetch was given"));
        }
        for u in &req.urls {
            let ok =
                url::Url::parse(u).is_ok_and(|p| matches!(p.scheme(), "http" | "https" | "ftp"));
            if !ok {
                return Err(Error::invalid_input(format!(
                    "{u:?} is not an http(s) or ftp URL"
                )));
            }
        }
        self.mutate(
            REMOTE_REQUEST,
            req,
            move || async move { Ok(Check::Unknown) },
        )
        .await
    }
}
