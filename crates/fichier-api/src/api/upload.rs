//! `upload/get_upload_server` and the types of the `end.pl` report (the node transfer and the
//! report's fetch and parser are the primitive in `crate::node`).

use serde::{Deserialize, Serialize};

use crate::client::{Client, Ep, Kind, Rules};
use crate::error::{Error, Result};
use crate::values::{Empty, FileLink};
use crate::wire::{de_flag, de_opt_nonempty, de_u64, de_vec};

pub(crate) const UPLOAD_SERVER: Ep = Ep {
    path: "upload/get_upload_server.cgi",
    kind: Kind::Read,
    auth: false,
    ko_is_answer: false,
};

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

impl Client {
    /// `upload/get_upload_server.cgi`: a node and an upload id (no key needed).
    ///
    /// The cached listings are left alone: [`Client::upload_to_node`], which every upload goes
    /// through, puts the uploaded files into the listings of their folder (a caller that sends
    /// to the node by other means reports its files with [`Client::note_uploaded`]).
    pub async fn upload_server(&self) -> Result<UploadServer> {
        let s: UploadServer = self
            .call(UPLOAD_SERVER, &Empty {}, Rules::default())
            .await?;
        let host_ok = !s.host.is_empty()
            && s.host.bytes().all(|b| {
                b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b':' | b'[' | b']')
            });
        let id_ok =
            !s.id.is_empty() && s.id.len() <= 64 && s.id.bytes().all(|b| b.is_ascii_alphanumeric());
        if !host_ok || !id_ok {
            return Err(Error::protocol(
                UPLOAD_SERVER.path,
                "the node host or upload id has an unexpected form",
                b"",
            ));
        }
        Ok(s)
    }
}
