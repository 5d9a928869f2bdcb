//! The multi-file node upload primitive: `get_upload_server`, one multipart `upload.cgi`
//! request carrying several known-length file parts (plus `did`, `domain`, `dpass`, `mail`,
//! `mails`, `message`) streamed from disk and hashed in the same read pass, then the `end.pl`
//! report; the node URL rule, the report's parser and the note that puts uploaded files into
//! the cached listings live here too. It decides nothing about re-sending or duplicates: it
//! says what happened (per-part bytes, digests and local errors; the report, or the failure
//! and whether it is ambiguous) and leaves planning, verification and recovery to the caller.

use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use bytes::{Bytes, BytesMut};
use reqwest::multipart::{Form, Part};
use serde_json::Value;
use tokio::io::AsyncReadExt;

use crate::api::upload::{UploadReport, UploadServer, UploadedLink};
use crate::client::Client;
use crate::error::{Error, Result};
use crate::hash::MultiHashPipe;
use crate::listing_cache::Edit;
use crate::progress::PartObserver;
use crate::values::{Domain, FolderId, Password};

/// Read size of upload streams.
const UPLOAD_CHUNK: usize = 512 * 1024;

/// One file part of a node upload: sent with exactly `len` bytes read from `path`.
#[derive(Debug, Clone)]
pub struct NodeFile {
    /// The local file (opened lazily when its part is sent, read once).
    pub path: PathBuf,
    /// The name it is stored under.
    pub name: String,
    /// Declared length: the part's `Content-Length`. A file that turns out shorter aborts the
    /// request and is reported in [`NodePart::local_error`].
    pub len: u64,
}

/// The form fields of a node upload besides the files.
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct NodeFields {
    /// Destination folder (`did`, 0 = root).
    pub folder: FolderId,
    /// Domain of the resulting links.
    pub domain: Option<Domain>,
    /// Password protecting the uploaded files (`dpass`).
    pub password: Option<Password>,
    /// Sender address (`mail`).
    pub mail: Option<String>,
    /// Addresses to notify (`mails`, at most 20).
    pub mails: Vec<String>,
    /// Text of the notification (`message`).
    pub message: Option<String>,
}

impl NodeFields {
    /// Fields for an upload into `folder`.
    pub fn new(folder: FolderId) -> Self {
        NodeFields {
            folder,
            ..Default::default()
        }
    }
}

/// What happened to one part.
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct NodePart {
    /// Bytes read from the file and handed to the request.
    pub streamed: u64,
    /// Whirlpool of the streamed bytes, when the whole declared length was streamed.
    pub whirlpool: Option<String>,
    /// A local problem while reading (unreadable, shrank while being read).
    pub local_error: Option<String>,
    /// True when the file ended before its declared length.
    pub shrank: bool,
}

/// How the request ended.
#[derive(Debug)]
#[non_exhaustive]
pub enum NodeAnswer {
    /// The node accepted the request and `end.pl` listed files.
    Report(UploadReport),
    /// The request or the report failed. `ambiguous` is true when the node may have stored
    /// files anyway (connection lost during the body, 5xx, report unreadable): look before
    /// sending again.
    Failed {
        /// Why.
        error: Error,
        /// Whether files may have been stored.
        ambiguous: bool,
    },
}

/// The result of [`Client::upload_to_node`].
#[derive(Debug)]
#[non_exhaustive]
pub struct NodeUpload {
    /// The node and upload id used.
    pub server: UploadServer,
    /// One entry per part, in order.
    pub parts: Vec<NodePart>,
    /// The node's answer.
    pub answer: NodeAnswer,
}

impl Client {
    /// Sends `files` to an upload node in one multipart request, then reads the `end.pl`
    /// report. Each part is streamed from disk with its exact length, hashed on a blocking
    /// thread from the same reads, and reported through `observer` (which may also pace the
    /// stream, e.g. for a bandwidth limit).
    ///
    /// `Err` means nothing was sent (no upload server, invalid node host, bad form). Otherwise
    /// the outcome says per part what was streamed and how the node answered; the caller
    /// verifies the report against the digests. The files the report lists are put into the
    /// cached listings of `fields.folder` (here and for the user's other processes); when the
    /// report leaves a file in doubt, or the outcome is unknown, that folder's cached listings
    /// are dropped instead.
    pub async fn upload_to_node(
        &self,
        fields: &NodeFields,
        files: &[NodeFile],
        observer: Arc<dyn PartObserver>,
    ) -> Result<NodeUpload> {
        if files.is_empty() {
            return Err(Error::invalid_input(
                "a node upload needs at least one file",
            ));
        }
        let server = self.upload_server().await?;
        let node = self.node_url(&server, "upload.cgi")?;
        let hashers = MultiHashPipe::start(files.iter().map(|f| f.len).collect());
        let streamed: Vec<Arc<AtomicU64>> =
            files.iter().map(|_| Arc::new(AtomicU64::new(0))).collect();
        let errs: PartErrors = Arc::new(Mutex::new(vec![None; files.len()]));
        let mut form = Form::new().text("did", fields.folder.to_string());
        if let Some(d) = fields.domain {
            form = form.text("domain", d.0.to_string());
        }
        if let Some(p) = &fields.password {
            form = form.text("dpass", p.expose().to_owned());
        }
        if let Some(m) = &fields.mail {
            form = form.text("mail", m.clone());
        }
        if !fields.mails.is_empty() {
            form = form.text("mails", fields.mails.join(","));
        }
        if let Some(m) = &fields.message {
            form = form.text("message", m.clone());
        }
        for (i, f) in files.iter().enumerate() {
            observer.part_started(i, f.len);
            let stream = part_stream(PartSource {
                path: f.path.clone(),
                len: f.len,
                index: i,
                hash: hashers.sender(),
                streamed: streamed[i].clone(),
                errs: errs.clone(),
                observer: observer.clone(),
            });
            let part = Part::stream_with_length(reqwest::Body::wrap_stream(stream), f.len)
                .file_name(f.name.clone())
                .mime_str("application/octet-stream")
                .map_err(|e| Error::transport("upload form", e))?;
            form = form.part("file[]", part);
        }
        let mut request = self.inner.http.post(node);
        if self.has_key() {
            // Without a key the node takes an anonymous upload (removal link in the report).
            request = self.authorized(request)?;
        }
        let sent = request.multipart(form).send().await;
        let response = match sent {
            Ok(r) => {
                let status = r.status().as_u16();
                let body = r.bytes().await.unwrap_or_default();
                Ok((status, body))
            }
            Err(e) => Err(e),
        };
        let complete: Vec<bool> = streamed
            .iter()
            .zip(files)
            .map(|(s, f)| s.load(Ordering::Relaxed) == f.len)
            .collect();
        let hashes = hashers.finish(&complete).await;
        let errs = errs.lock().unwrap_or_else(|p| p.into_inner()).clone();
        let parts = (0..files.len())
            .map(|i| NodePart {
                streamed: streamed[i].load(Ordering::Relaxed),
                whirlpool: hashes.get(i).cloned().flatten(),
                local_error: errs[i].as_ref().map(|(m, _)| m.clone()),
                shrank: errs[i].as_ref().is_some_and(|(_, s)| *s),
            })
            .collect();
        let answer = match response {
            Ok((status, _)) if (200..400).contains(&status) => {
                match self.upload_report(&server).await {
                    Ok(r) => NodeAnswer::Report(r),
                    Err(error) => NodeAnswer::Failed {
                        error,
                        ambiguous: true,
                    },
                }
            }
            Ok((status, body)) if status >= 500 => NodeAnswer::Failed {
                error: crate::error::classify(status, None, &self.redact_bytes(&body)),
                ambiguous: true,
            },
            Ok((status, body)) => {
                let msg = serde_json::from_slice::<Value>(&body)
                    .ok()
                    .and_then(|v| v.get("message").and_then(Value::as_str).map(str::to_owned));
                NodeAnswer::Failed {
                    error: crate::error::classify(
                        status,
                        msg.as_deref(),
                        &self.redact_bytes(&body),
                    ),
                    ambiguous: false,
                }
            }
            Err(e) => NodeAnswer::Failed {
                ambiguous: !e.is_connect(),
                error: Error::transport("upload.cgi", e),
            },
        };
        self.note_node_upload(fields.folder, files, &answer).await;
        Ok(NodeUpload {
            server,
            parts,
            answer,
        })
    }

    /// Puts what the node stored into the cached listings of the destination folder: each
    /// file as its `end.pl` entry lists it. When the report does not name every file exactly
    /// once, or the outcome is unknown, the folder's listings are dropped instead, so the next
    /// listing asks the service; files sent to `incoming` leave every listing in doubt.
    async fn note_node_upload(&self, folder: FolderId, files: &[NodeFile], answer: &NodeAnswer) {
        match answer {
            NodeAnswer::Report(report) if report.incoming => {
                self.inner.pacer.invalidate_listings().await;
            }
            NodeAnswer::Report(report) => {
                let listed: Option<Vec<UploadedLink>> = files
                    .iter()
                    .map(|f| {
                        let mut named = report.links.iter().filter(|l| l.filename == f.name);
                        match (named.next(), named.next()) {
                            (Some(l), None) => Some(l.clone()),
                            _ => None,
                        }
                    })
                    .collect();
                match listed {
                    Some(uploaded) => self.note_uploaded(folder, &uploaded).await,
                    None => self.forget_folder_files(folder).await,
                }
            }
            NodeAnswer::Failed {
                ambiguous: true, ..
            } => self.forget_folder_files(folder).await,
            // Nothing was stored.
            NodeAnswer::Failed { .. } => {}
        }
    }

    async fn forget_folder_files(&self, folder: FolderId) {
        self.inner
            .pacer
            .edit_listings(&Edit::FilesUnknown { folder })
            .await;
    }
}

/// Per part: the first local error while reading it, and whether the file shrank.
type PartErrors = Arc<Mutex<Vec<Option<(String, bool)>>>>;

/// Everything one part stream needs.
struct PartSource {
    path: PathBuf,
    len: u64,
    index: usize,
    hash: tokio::sync::mpsc::Sender<(usize, Bytes)>,
    streamed: Arc<AtomicU64>,
    errs: PartErrors,
    observer: Arc<dyn PartObserver>,
}

enum Reading {
    Start(PartSource),
    Open(PartSource, tokio::fs::File),
    End,
}

/// The body of one file part: opened lazily (a batch does not hold every file open), read in
/// large chunks, exactly `len` bytes, each chunk also fed to the hasher and the observer. A
/// file that shrinks ends the stream with an error (which aborts the request, so the node
/// never gets a short body); one that grows is the caller's to notice (it stops at `len`).
fn part_stream(
    src: PartSource,
) -> impl futures_util::Stream<Item = std::io::Result<Bytes>> + Send + 'static {
    futures_util::stream::unfold(Reading::Start(src), |state| async move {
        let (src, mut file) = match state {
            Reading::End => return None,
            Reading::Start(src) => match tokio::fs::File::open(&src.path).await {
                Ok(f) => (src, f),
                Err(e) => {
                    record(&src, format!("cannot read it: {e}"), false);
                    return Some((Err(e), Reading::End));
                }
            },
            Reading::Open(src, f) => (src, f),
        };
        let done = src.streamed.load(Ordering::Relaxed);
        if done >= src.len {
            return None;
        }
        let want = (src.len - done).min(UPLOAD_CHUNK as u64) as usize;
        let mut buf = BytesMut::with_capacity(want);
        while buf.len() < want {
            match (&mut file)
                .take((want - buf.len()) as u64)
                .read_buf(&mut buf)
                .await
            {
                Ok(0) => break,
                Ok(_) => {}
                Err(e) => {
                    record(&src, format!("read error: {e}"), false);
                    return Some((Err(e), Reading::End));
                }
            }
        }
        if buf.is_empty() {
            let msg = format!(
                "it shrank while being read ({} bytes declared, {done} read)",
                src.len
            );
            record(&src, msg.clone(), true);
            return Some((Err(std::io::Error::other(msg)), Reading::End));
        }
        let chunk = buf.freeze();
        let n = chunk.len() as u64;
        src.observer.pace(n).await;
        let _ = src.hash.send((src.index, chunk.clone())).await;
        src.streamed.fetch_add(n, Ordering::Relaxed);
        src.observer.part_bytes(src.index, n);
        Some((Ok(chunk), Reading::Open(src, file)))
    })
}

fn record(src: &PartSource, msg: String, shrank: bool) {
    let mut errs = src.errs.lock().unwrap_or_else(|p| p.into_inner());
    if let Some(slot) = errs.get_mut(src.index) {
        slot.get_or_insert((msg, shrank));
    }
}

impl Client {
    /// `<scheme of the API base>://<node host>/<path>` (`upload.cgi` gets `?id=`). Plain http
    /// only for loopback nodes (the emulator), by the same rule as the API URL.
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
        crate::client::parse_base(url.as_str(), "upload node URL")?;
        Ok(url)
    }

    /// `end.pl?xid=<id>` on the upload's node, JSON requested, through the client's attempt
    /// loop (it only reads, so it is re-sent after anything temporary). An HTML answer or an
    /// empty `links` list is a protocol error.
    pub async fn upload_report(&self, server: &UploadServer) -> Result<UploadReport> {
        let mut url = self.node_url(server, "end.pl")?;
        url.query_pairs_mut().append_pair("xid", &server.id);
        self.attempts()
            .run("end.pl", |_| self.fetch_report(url.clone()), |_| {})
            .await
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

    /// Records files stored in `folder` (as an `end.pl` report lists them) in the cached
    /// listings of that folder, here and for the user's other processes, so the next listing
    /// shows them without a call. [`Client::upload_to_node`] does this itself; a caller that
    /// sends to a node by other means reports its files here.
    pub async fn note_uploaded(&self, folder: FolderId, files: &[UploadedLink]) {
        let date = crate::wire::format_date(&jiff::ZonedDateTime::now());
        let entries = files
            .iter()
            .map(|f| {
                serde_json::json!({
                    "url": f.download.as_str(),
                    "filename": f.filename,
                    "size": f.size,
                    "checksum": f.whirlpool,
                    "date": date,
                    "pass": 0,
                    "acl": 0,
                    "cdn": 0,
                })
            })
            .collect();
        self.inner
            .pacer
            .edit_listings(&Edit::FilesAdded { folder, entries })
            .await;
    }
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

    #[test]
    fn a_node_url_follows_the_api_scheme_and_refuses_odd_hosts() {
        let server = |host: &str| UploadServer {
            host: host.into(),
            id: "Qm7Tz2Lp9X".into(),
        };
        let url = client()
            .node_url(&server("127.0.0.1:7"), "upload.cgi")
            .unwrap();
        assert_eq!(url.as_str(), "http://127.0.0.1:7/upload.cgi?id=Qm7Tz2Lp9X");
        // Plain http to a non-loopback node is refused, as for the API URL.
        let e = client()
            .node_url(&server("up2.example.com"), "end.pl")
            .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidInput, "{e}");
        for bad in ["", "a/b", "a@b", "a?b"] {
            assert!(
                client().node_url(&server(bad), "end.pl").is_err(),
                "{bad:?}"
            );
        }
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
        /// whirlpool.
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
        }
    }
}
