//! The multi-file node upload primitive: `get_upload_server`, one multipart `upload.cgi`
//! request carrying several known-length file parts (plus `did`, `domain`, `dpass`, `mail`,
//! `mails`, `message`) streamed from disk and hashed in the same read pass, then the `end.pl`
//! report. It decides nothing about retries or duplicates: it says what happened (per-part
//! bytes, digests and local errors; the report, or the failure and whether it is ambiguous)
//! and leaves planning, verification and recovery to the caller.

use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use bytes::{Bytes, BytesMut};
use reqwest::multipart::{Form, Part};
use serde_json::Value;
use tokio::io::AsyncReadExt;

use crate::client::Client;
use crate::error::{Error, Result};
use crate::hash::MultiHashPipe;
use crate::listing_cache::Edit;
use crate::progress::PartObserver;
use crate::types::{Domain, FolderId, Password, UploadReport, UploadServer, UploadedFile};

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
                let listed: Option<Vec<UploadedFile>> = files
                    .iter()
                    .map(|f| {
                        let mut named = report.links.iter().filter(|l| l.filename == f.name);
                        match (named.next(), named.next()) {
                            (Some(l), None) => Some(UploadedFile {
                                link: l.download.clone(),
                                filename: l.filename.clone(),
                                size: l.size,
                                whirlpool: l.whirlpool.clone(),
                                remove: l.remove.clone(),
                                recovered: false,
                            }),
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
    /// The retry policy of this client, for callers that run their own transfer loops
    /// (resuming a range, re-sending a verified upload) with the same attempts and delays.
    pub fn retry_policy(&self) -> &crate::retry::RetryPolicy {
        &self.inner.retry
    }

    /// Sleeps `d` on the client's clock (the pacer's), so retry waits follow the same time
    /// source as the pacer (and a test clock).
    pub async fn pause(&self, d: std::time::Duration) {
        self.sleep(d).await;
    }
}
