//! One verified file upload on top of the node primitive ([`Client::upload_to_node`]): the
//! `end.pl` report parsed and checked (name, size, whirlpool) before success, and the node URL
//! rule (https unless loopback) in one place. An ambiguous failure is resolved by
//! looking at the report and the folder before any re-upload, so no duplicate is left behind.

use std::path::PathBuf;
use std::sync::Arc;

use serde_json::Value;

use crate::client::Client;
use crate::error::{Error, Result};
use crate::hash::{same_whirlpool, whirlpool_file};
use crate::node::{NodeAnswer, NodeFields, NodeFile};
use crate::progress::{PartsAsOne, Progress};
use crate::types::{Domain, FolderId, Password, UploadReport, UploadServer, UploadedFile};

/// What to upload and where.
#[derive(Debug, Clone)]
pub struct UploadRequest {
    /// The local file (streamed, never loaded whole).
    pub path: PathBuf,
    /// Stored name (default: the file name of `path`).
    pub name: Option<String>,
    /// Destination folder (0 = root).
    pub folder_id: FolderId,
    /// Domain of the resulting link.
    pub domain: Option<Domain>,
    /// Password protecting access to the uploaded file (`dpass`).
    pub password: Option<Password>,
}

impl UploadRequest {
    /// Uploads `path` into `folder_id` under its own name.
    pub fn new(path: impl Into<PathBuf>, folder_id: FolderId) -> Self {
        UploadRequest {
            path: path.into(),
            name: None,
            folder_id,
            domain: None,
            password: None,
        }
    }

    /// The name the file will be stored under.
    pub fn stored_name(&self) -> Result<String> {
        if let Some(n) = &self.name {
            if n.trim().is_empty() {
                return Err(Error::invalid_input("the upload name is empty"));
            }
            return Ok(n.clone());
        }
        self.path
            .file_name()
            .and_then(|n| n.to_str())
            .map(str::to_owned)
            .ok_or_else(|| {
                Error::invalid_input(format!(
                    "{} has no usable UTF-8 file name; give a name",
                    self.path.display()
                ))
            })
    }
}

/// What the state check after an ambiguous upload failure found.
enum Found {
    /// The file is there, intact.
    Intact(UploadedFile),
    /// This upload stored a damaged copy (wrong size or whirlpool).
    Damaged(crate::types::FileLink),
    /// Nothing.
    Absent,
}

/// How one upload attempt ended.
enum Attempt {
    Done(UploadedFile),
    /// Failed before anything could have been stored: safe to retry.
    Clean(Error),
    /// Failed in a way that may have stored the file.
    Ambiguous(Error, UploadServer, String),
}

impl Client {
    /// Uploads one file and returns it only once verified: the `end.pl` report lists it with
    /// the local name, size and whirlpool.
    ///
    /// The body is streamed from disk with an exact `Content-Length`; the whirlpool is computed
    /// from the same reads on another thread. After an ambiguous failure (connection lost
    /// during the body, 5xx) the report and then the destination folder are checked for the
    /// file before uploading again. `progress` gets `start` for each attempt.
    pub async fn upload_file(
        &self,
        req: &UploadRequest,
        progress: Arc<dyn Progress>,
    ) -> Result<UploadedFile> {
        let name = req.stored_name()?;
        let policy = self.inner.retry.clone();
        let mut attempt = 0u32;
        loop {
            attempt += 1;
            let outcome = self.upload_attempt(req, &name, progress.clone()).await;
            let err = match outcome {
                Attempt::Done(f) => {
                    progress.finish(true);
                    return Ok(f);
                }
                Attempt::Clean(e) => e,
                Attempt::Ambiguous(e, server, hash) => {
                    tracing::warn!(
                        attempt,
                        "upload failed ambiguously ({e}); checking whether the file arrived"
                    );
                    match self.find_uploaded(req, &name, &server, &hash).await {
                        Found::Intact(found) => {
                            progress.finish(true);
                            return Ok(found);
                        }
                        Found::Damaged(link) => {
                            // This attempt stored a bad copy: remove it so a retry leaves no
                            // duplicate behind.
                            tracing::warn!("removing the damaged copy before uploading again");
                            if let Err(rm) = self
                                .file_rm(&crate::types::FileRmRequest::new([link]))
                                .await
                            {
                                progress.finish(false);
                                return Err(Error::OutcomeUnknown {
                                    endpoint: "upload.cgi",
                                    source: Box::new(rm),
                                });
                            }
                            e
                        }
                        Found::Absent => e,
                    }
                }
            };
            if !err.is_retryable() || attempt >= policy.max_attempts {
                progress.finish(false);
                return Err(err);
            }
            let delay = policy.delay(attempt);
            tracing::warn!(
                attempt,
                delay_ms = delay.as_millis() as u64,
                "retrying upload of {name:?}: {err}"
            );
            self.sleep(delay).await;
        }
    }

    /// One attempt: the multi-file node primitive with this one file, then verification.
    async fn upload_attempt(
        &self,
        req: &UploadRequest,
        name: &str,
        progress: Arc<dyn Progress>,
    ) -> Attempt {
        let len = match tokio::fs::metadata(&req.path).await {
            Ok(m) if m.is_file() => m.len(),
            Ok(_) => {
                return Attempt::Clean(Error::invalid_input(format!(
                    "{} is not a regular file",
                    req.path.display()
                )));
            }
            Err(e) => return Attempt::Clean(Error::io(Some(req.path.clone()), e)),
        };
        let fields = NodeFields {
            domain: req.domain,
            password: req.password.clone(),
            ..NodeFields::new(req.folder_id)
        };
        let file = NodeFile {
            path: req.path.clone(),
            name: name.to_owned(),
            len,
        };
        let sent = match self
            .upload_to_node(&fields, &[file], Arc::new(PartsAsOne(progress)))
            .await
        {
            Ok(s) => s,
            Err(e) => return Attempt::Clean(e),
        };
        let part = sent.parts.into_iter().next().unwrap_or_default();
        if let Some(msg) = part.local_error {
            return Attempt::Clean(Error::io(
                Some(req.path.clone()),
                std::io::Error::other(msg),
            ));
        }
        let Some(hash) = part.whirlpool else {
            return Attempt::Clean(Error::io(
                Some(req.path.clone()),
                std::io::Error::other(format!(
                    "the file changed during upload ({len} bytes expected, {} read)",
                    part.streamed
                )),
            ));
        };
        let server = sent.server;
        let report = match sent.answer {
            NodeAnswer::Report(r) => r,
            NodeAnswer::Failed {
                error,
                ambiguous: true,
            } => return Attempt::Ambiguous(error, server, hash),
            NodeAnswer::Failed { error, .. } => return Attempt::Clean(error),
        };
        match verify_report(&report, name, len, &hash) {
            Ok(f) => Attempt::Done(f),
            // The report exists but does not show our file intact: the bytes were damaged or
            // mangled. The folder check decides whether a good copy is there.
            Err(e) => Attempt::Ambiguous(e, server, hash),
        }
    }

    /// `end.pl?xid=<id>` on the upload's node, JSON requested. Retried on transient failures
    /// (it only reads). An HTML answer or an empty `links` list is a protocol error.
    pub async fn upload_report(&self, server: &UploadServer) -> Result<UploadReport> {
        let mut url = self.node_url(server, "end.pl")?;
        url.query_pairs_mut().append_pair("xid", &server.id);
        let policy = &self.inner.retry;
        let mut attempt = 0u32;
        loop {
            attempt += 1;
            let result = self.fetch_report(url.clone()).await;
            match result {
                Err(e) if e.is_retryable() && attempt < policy.max_attempts => {
                    let delay = policy.delay(attempt);
                    tracing::warn!(
                        attempt,
                        delay_ms = delay.as_millis() as u64,
                        "retrying end.pl: {e}"
                    );
                    self.sleep(delay).await;
                }
                other => return other,
            }
        }
    }

    async fn fetch_report(&self, url: url::Url) -> Result<UploadReport> {
        let what = "end.pl";
        let mut req = self
            .inner
            .http
            .get(url)
            .header("JSON", "1")
            .timeout(self.inner.request_timeout);
        if self.has_key() {
            req = self.authorized(req)?;
        }
        let resp = req.send().await.map_err(|e| Error::transport(what, e))?;
        let status = resp.status().as_u16();
        let body = resp.bytes().await.map_err(|e| Error::transport(what, e))?;
        self.parse_report(status, &body)
    }

    /// Decodes an `end.pl` answer: JSON with at least one link, or an error.
    pub(crate) fn parse_report(&self, status: u16, body: &[u8]) -> Result<UploadReport> {
        let what = "end.pl";
        let value: Value = match serde_json::from_slice(body) {
            Ok(v) => v,
            Err(_) if (200..300).contains(&status) => {
                return Err(Error::protocol_transient(
                    what,
                    "the upload report is not JSON (HTML page?)",
                    &self.redact_bytes(body),
                ));
            }
            Err(_) => {
                return Err(crate::error::classify(
                    status,
                    None,
                    &self.redact_bytes(body),
                ));
            }
        };
        if value
            .get("status")
            .and_then(Value::as_str)
            .is_some_and(|s| s.eq_ignore_ascii_case("KO"))
            || !(200..300).contains(&status)
        {
            let msg = value.get("message").and_then(Value::as_str);
            return Err(crate::error::classify(
                status,
                msg,
                &self.redact_bytes(body),
            ));
        }
        let report: UploadReport = self.decode(what, value)?;
        if report.links.is_empty() {
            return Err(Error::protocol_transient(
                what,
                "the upload report lists no file (empty links)",
                &self.redact_bytes(body),
            ));
        }
        Ok(report)
    }

    /// After an ambiguous failure: the report first, then the destination folder.
    async fn find_uploaded(
        &self,
        req: &UploadRequest,
        name: &str,
        server: &UploadServer,
        hash: &str,
    ) -> Found {
        let Ok(meta) = tokio::fs::metadata(&req.path).await else {
            return Found::Absent;
        };
        let len = meta.len();
        if let Ok(report) = self.upload_report(server).await {
            match verify_report(&report, name, len, hash) {
                Ok(mut f) => {
                    f.recovered = true;
                    return Found::Intact(f);
                }
                Err(Error::Integrity { .. }) => {
                    if let Some(l) = report.links.iter().find(|l| l.filename == name) {
                        return Found::Damaged(l.download.clone());
                    }
                }
                Err(_) => {}
            }
        }
        let Ok(listing) = self.file_ls_fresh(req.folder_id).await else {
            return Found::Absent;
        };
        listing
            .items
            .into_iter()
            .find(|e| {
                e.filename == name
                    && e.size == len
                    && e.checksum
                        .as_deref()
                        .is_some_and(|c| same_whirlpool(c, hash))
            })
            .map(|e| {
                Found::Intact(UploadedFile {
                    link: e.link,
                    filename: e.filename,
                    size: e.size,
                    whirlpool: hash.to_owned(),
                    remove: None,
                    recovered: true,
                })
            })
            .unwrap_or(Found::Absent)
    }

    /// `<scheme of the API base>://<node host>/<path>`.
    pub(crate) fn node_url(&self, server: &UploadServer, path: &str) -> Result<url::Url> {
        let scheme = self.inner.api_base.scheme();
        if server.host.is_empty() || server.host.contains(['/', '?', '#', '@', '\\']) {
            return Err(Error::protocol_transient(
                "upload/get_upload_server.cgi",
                format!("the node host {:?} is not a valid host name", server.host),
                b"",
            ));
        }
        let raw = format!("{scheme}://{}/{path}", server.host);
        let mut url = url::Url::parse(&raw).map_err(|_| {
            Error::protocol(
                "upload/get_upload_server.cgi",
                "the node host is not a valid host name",
                b"",
            )
        })?;
        if path == "upload.cgi" {
            url.query_pairs_mut().append_pair("id", &server.id);
        }
        // http is acceptable only for loopback nodes (the emulator).
        crate::client::parse_base(url.as_str(), "upload node URL")?;
        Ok(url)
    }

    /// Whirlpool of a local file (blocking thread, 1 MiB reads).
    pub async fn whirlpool_of(&self, path: impl AsRef<std::path::Path>) -> Result<String> {
        whirlpool_file(path).await
    }
}

/// Checks that a report lists `name` with `len` bytes and whirlpool `hash`.
pub(crate) fn verify_report(
    report: &UploadReport,
    name: &str,
    len: u64,
    hash: &str,
) -> Result<UploadedFile> {
    let entry = report
        .links
        .iter()
        .find(|l| l.filename == name)
        .or(if report.links.len() == 1 {
            report.links.first()
        } else {
            None
        })
        .ok_or_else(|| {
            Error::protocol(
                "end.pl",
                format!("the upload report does not list {name:?}"),
                b"",
            )
        })?;
    if entry.filename != name {
        return Err(Error::Integrity {
            what: "stored file name".into(),
            expected: name.to_owned(),
            actual: entry.filename.clone(),
        });
    }
    if entry.size != len {
        return Err(Error::Integrity {
            what: format!("size of {name:?}"),
            expected: len.to_string(),
            actual: entry.size.to_string(),
        });
    }
    if !same_whirlpool(&entry.whirlpool, hash) {
        return Err(Error::Integrity {
            what: format!("whirlpool of {name:?}"),
            expected: hash.to_owned(),
            actual: entry.whirlpool.clone(),
        });
    }
    Ok(UploadedFile {
        link: entry.download.clone(),
        filename: entry.filename.clone(),
        size: entry.size,
        whirlpool: hash.to_ascii_lowercase(),
        remove: entry.remove.clone(),
        recovered: false,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorKind;
    use proptest::prelude::*;

    fn client() -> Client {
        Client::builder()
            .api_url("http://127.0.0.1:9/v1/")
            .build()
            .expect("loopback client")
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        /// Whatever a node answers (bytes, CSV lines, HTML, any status), the parser never
        /// panics and never calls a report without files a success.
        #[test]
        fn end_pl_answers_never_panic_or_pass_empty(
            status in prop_oneof![Just(200u16), Just(302), Just(403), Just(500), 100u16..600],
            body in prop_oneof![
                proptest::collection::vec(any::<u8>(), 0..200),
                "[a-z0-9;,\"\\n]{0,120}".prop_map(String::into_bytes),
                "<html>[ -~]{0,60}</html>".prop_map(String::into_bytes),
                Just(br#"{"incoming":0,"links":[]}"#.to_vec()),
            ],
        ) {
            if let Ok(report) = client().parse_report(status, &body) {
                prop_assert!(!report.links.is_empty());
                prop_assert!((200..300).contains(&status));
            }
        }

        /// A CSV report (end.pl without `JSON: 1`) is a protocol error, never a success.
        #[test]
        fn end_pl_csv_is_a_protocol_error(
            rows in proptest::collection::vec(("[a-z]{1,8}\\.bin", 1u64..1 << 40), 1..5)
        ) {
            let csv: String = rows
                .iter()
                .map(|(n, s)| format!("{n};{s};https://1fichier.com/?abcde12345\n"))
                .collect();
            let e = client().parse_report(200, csv.as_bytes()).unwrap_err();
            prop_assert_eq!(e.kind(), ErrorKind::Protocol);
        }

        /// A well-formed JSON report keeps every file's name, size (string on the wire) and
        /// whirlpool, and verifies against them.
        #[test]
        fn end_pl_json_round_trips(
            files in proptest::collection::vec(("[A-Za-z0-9 _.()-]{1,30}", 0u64..1 << 50, "[0-9a-f]{128}"), 1..6)
        ) {
            let links: Vec<serde_json::Value> = files
                .iter()
                .enumerate()
                .map(|(i, (name, size, hash))| serde_json::json!({
                    "download": format!("https://1fichier.com/?abcde{i:05}"),
                    "filename": name,
                    "size": size.to_string(),
                    "whirlpool": hash,
                    "remove": "",
                }))
                .collect();
            let body = serde_json::to_vec(&serde_json::json!({"incoming": 0, "links": links})).unwrap();
            let report = client().parse_report(200, &body).unwrap();
            prop_assert_eq!(report.links.len(), files.len());
            for (l, (name, size, hash)) in report.links.iter().zip(&files) {
                prop_assert_eq!(&l.filename, name);
                prop_assert_eq!(l.size, *size);
                prop_assert_eq!(&l.whirlpool, hash);
                prop_assert_eq!(&l.remove, &None);
            }
            if files.len() == 1 {
                let (name, size, hash) = &files[0];
                prop_assert!(verify_report(&report, name, *size, hash).is_ok());
                prop_assert!(verify_report(&report, name, *size + 1, hash).is_err());
            }
        }
    }
}
