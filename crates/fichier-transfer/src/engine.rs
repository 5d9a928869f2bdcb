//! The [`Engine`]: one per run. It owns what every transfer shares (the API client and its
//! pacer, the HTTP client for upload nodes and token URLs, the connection cap, the bandwidth
//! limiter, the per-run folder listing cache) and the per-file error type.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use fichier_api::{ApiKey, Client, ErrorKind, FolderId, FolderListing, FolderLsRequest};
use serde::Serialize;
use tokio::time::Instant;

use crate::events::{Event, EventSink};
use crate::limits::{ConnectionCap, RateLimiter};

/// Settings of one run that apply to every file.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct EngineConfig {
    /// Simultaneous transfer connections across all files (1fichier allows 30).
    pub connections: usize,
    /// Global bandwidth limit in bytes per second, across every connection.
    pub limit_rate: Option<u64>,
    /// Attempts per file (and per segment without progress) before giving up.
    pub max_attempts: u32,
    /// First retry delay; doubles on each further failure, capped at 30 s.
    pub retry_base: Duration,
    /// TCP connect timeout of transfer connections.
    pub connect_timeout: Duration,
    /// Longest silence while a transfer connection is reading before it counts as cut.
    pub read_timeout: Duration,
}

impl Default for EngineConfig {
    fn default() -> Self {
        EngineConfig {
            connections: 30,
            limit_rate: None,
            max_attempts: 5,
            retry_base: Duration::from_millis(500),
            connect_timeout: Duration::from_secs(20),
            read_timeout: Duration::from_secs(120),
        }
    }
}

impl EngineConfig {
    /// The delay before retry number `n` (1-based): `retry_base · 2^(n-1)`, at most 30 s.
    pub fn backoff(&self, n: u32) -> Duration {
        let d = self
            .retry_base
            .saturating_mul(1u32 << n.saturating_sub(1).min(10));
        d.min(Duration::from_secs(30))
    }
}

/// How a per-file error should be handled.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum ErrorClass {
    /// A later attempt may work (network, server, flood).
    Retryable,
    /// The same request will fail again (refused name, permission, not found…).
    Permanent,
    /// The key is missing, wrong or not a customer's: every other file would fail too.
    Auth,
    /// Still flood-locked after the pacer's cooldowns.
    Flood,
    /// The local disk is full (the `.part` file is kept).
    DiskFull,
    /// A local file problem (unreadable, changed while read, exists and differs…).
    Local,
}

/// Why one file failed: a message, a hint and a class. Never contains a key or token URL.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, Serialize)]
#[error("{message}")]
pub struct TransferError {
    /// What went wrong.
    pub message: String,
    /// What to do about it.
    pub hint: Option<String>,
    /// How to handle it.
    pub class: ErrorClass,
}

impl TransferError {
    /// A new error.
    pub fn new(class: ErrorClass, message: impl Into<String>) -> Self {
        TransferError {
            message: message.into(),
            hint: None,
            class,
        }
    }
    /// Adds a hint.
    pub fn hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }
    /// A local I/O error about `what`; a full disk gets its own class.
    pub fn io(what: &str, e: &std::io::Error) -> Self {
        if is_disk_full(e) {
            return TransferError::new(ErrorClass::DiskFull, format!("{what}: the disk is full"))
                .hint("free some space and run the same command again: it resumes from the .part file");
        }
        TransferError::new(ErrorClass::Local, format!("{what}: {e}"))
    }
    /// True when a later attempt may work.
    pub fn is_retryable(&self) -> bool {
        self.class == ErrorClass::Retryable
    }
}

fn is_disk_full(e: &std::io::Error) -> bool {
    e.kind() == std::io::ErrorKind::StorageFull || e.raw_os_error() == Some(28)
}

impl From<fichier_api::Error> for TransferError {
    fn from(e: fichier_api::Error) -> Self {
        let class = match e.kind() {
            ErrorKind::BadKey | ErrorKind::NotAuthenticated | ErrorKind::NotCustomer => {
                ErrorClass::Auth
            }
            ErrorKind::FloodLocked | ErrorKind::Paced => ErrorClass::Flood,
            ErrorKind::Io => ErrorClass::Local,
            _ if e.is_retryable() => ErrorClass::Retryable,
            _ => ErrorClass::Permanent,
        };
        let hint = match e.kind() {
            ErrorKind::NotAllowed => Some(
                "the file or folder is protected: give its password with --password or --password-file",
            ),
            ErrorKind::NotFound => Some("check the link or path (`fichier ls`)"),
            ErrorKind::FloodLocked | ErrorKind::Paced => {
                Some("1fichier rate-limits this key or IP: run the same command again later")
            }
            ErrorKind::BadKey | ErrorKind::NotAuthenticated => Some("run `fichier auth login`"),
            ErrorKind::Quota => Some("free some space or check the offer with `fichier account`"),
            _ => None,
        };
        TransferError {
            message: e.to_string(),
            hint: hint.map(str::to_owned),
            class,
        }
    }
}

pub(crate) struct Inner {
    pub(crate) client: Client,
    pub(crate) key: Option<ApiKey>,
    pub(crate) http: reqwest::Client,
    pub(crate) conns: ConnectionCap,
    pub(crate) rate: Option<RateLimiter>,
    pub(crate) config: EngineConfig,
    /// Folder listings of this run (with files), and when each was fetched.
    listings: tokio::sync::Mutex<HashMap<FolderId, (Arc<FolderListing>, Instant)>>,
    /// When this engine last asked the service for each folder's listing.
    listed_at: Mutex<HashMap<FolderId, Instant>>,
    /// When the last "flood cooldown" notice was sent, to send it once per cooldown.
    cooldown_notice: Mutex<Option<Instant>>,
}

/// The transfer engine of one run. Cheap to clone (clones share everything).
#[derive(Clone)]
pub struct Engine {
    pub(crate) inner: Arc<Inner>,
}

impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine")
            .field("config", &self.inner.config)
            .finish_non_exhaustive()
    }
}

impl Engine {
    /// An engine using `client` for API calls. `key` is needed for uploads (the upload node
    /// ties files to the account with it); downloads only use the client.
    pub fn new(
        client: Client,
        key: Option<ApiKey>,
        config: EngineConfig,
    ) -> Result<Engine, TransferError> {
        let http = reqwest::Client::builder()
            .user_agent(fichier_api::DEFAULT_USER_AGENT)
            .connect_timeout(config.connect_timeout)
            .read_timeout(config.read_timeout)
            // upload.cgi answers 302 to end.pl: the flow reads the report itself.
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| {
                TransferError::new(ErrorClass::Permanent, format!("cannot set up HTTP: {e}"))
            })?;
        Ok(Engine {
            inner: Arc::new(Inner {
                client,
                key,
                http,
                conns: ConnectionCap::new(config.connections),
                rate: config.limit_rate.map(RateLimiter::new),
                config,
                listings: tokio::sync::Mutex::new(HashMap::new()),
                listed_at: Mutex::new(HashMap::new()),
                cooldown_notice: Mutex::new(None),
            }),
        })
    }

    /// The API client.
    pub fn client(&self) -> &Client {
        &self.inner.client
    }

    /// The run's settings.
    pub fn config(&self) -> &EngineConfig {
        &self.inner.config
    }

    /// Transfer connections open right now.
    pub fn connections_in_use(&self) -> usize {
        self.inner.conns.in_use()
    }

    /// Waits while the pacer is in a flood cooldown: transfers (which do not go through the
    /// pacer) must not hit the service either while it is locked.
    pub(crate) async fn wait_cooldown(&self, events: &dyn EventSink) {
        while let Some(d) = self.inner.client.pacer().cooldown_remaining().await {
            if d.is_zero() {
                break;
            }
            let tell = {
                let mut last = self
                    .inner
                    .cooldown_notice
                    .lock()
                    .unwrap_or_else(|p| p.into_inner());
                let now = Instant::now();
                let tell = last.is_none_or(|t| now.saturating_duration_since(t) > d);
                if tell {
                    *last = Some(now);
                }
                tell
            };
            if tell {
                events.event(Event::Notice {
                    message: format!(
                        "1fichier flood protection: pausing every transfer for {}s",
                        d.as_secs().max(1)
                    ),
                });
            }
            tokio::time::sleep(d).await;
        }
    }

    /// Accounts `n` bytes against the global bandwidth limit.
    pub(crate) async fn throttle(&self, n: u64) {
        if let Some(r) = &self.inner.rate {
            r.take(n).await;
        }
    }

    /// A folder's listing with its files, once per run per folder (reused afterwards).
    pub async fn listing(&self, folder: FolderId) -> Result<Arc<FolderListing>, TransferError> {
        let mut map = self.inner.listings.lock().await;
        if let Some((l, _)) = map.get(&folder) {
            return Ok(l.clone());
        }
        let l = Arc::new(
            self.inner
                .client
                .folder_ls(&FolderLsRequest::with_files(folder))
                .await?,
        );
        self.mark_listed(folder);
        map.insert(folder, (l.clone(), Instant::now()));
        Ok(l)
    }

    /// A listing that reflects uploads made since the last one: waits until the pacer's
    /// listing window (the service allows one listing per folder per 30 s, and the pacer
    /// answers from its cache inside it) has passed since this run last listed the folder.
    pub(crate) async fn fresh_listing(
        &self,
        folder: FolderId,
    ) -> Result<Arc<FolderListing>, TransferError> {
        let window = self.inner.client.pacer().config().listing_window;
        let last = self
            .inner
            .listed_at
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(&folder)
            .copied();
        if let Some(at) = last {
            let ready = at + window + Duration::from_millis(50);
            let now = Instant::now();
            if ready > now && !window.is_zero() {
                tokio::time::sleep(ready - now).await;
            }
        }
        let l = Arc::new(
            self.inner
                .client
                .folder_ls(&FolderLsRequest::with_files(folder))
                .await?,
        );
        self.mark_listed(folder);
        self.inner
            .listings
            .lock()
            .await
            .insert(folder, (l.clone(), Instant::now()));
        Ok(l)
    }

    /// Records a listing known to be empty (a folder this run just created), saving a call.
    pub(crate) async fn remember_empty(&self, folder: FolderId, name: &str) {
        let l: FolderListing = match serde_json::from_value(serde_json::json!({
            "folder_id": folder,
            "name": name,
        })) {
            Ok(l) => l,
            Err(_) => return,
        };
        self.inner
            .listings
            .lock()
            .await
            .insert(folder, (Arc::new(l), Instant::now()));
    }

    fn mark_listed(&self, folder: FolderId) {
        self.inner
            .listed_at
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(folder, Instant::now());
    }

    /// Forgets every cached listing: each upload or download run starts from the service's
    /// current state.
    pub(crate) async fn forget_listings(&self) {
        self.inner.listings.lock().await.clear();
    }

    /// Forgets a cached listing (after this run changed the folder's sub-folders).
    pub(crate) async fn forget_listing(&self, folder: FolderId) {
        self.inner.listings.lock().await.remove(&folder);
    }
}
