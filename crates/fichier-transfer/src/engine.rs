//! The [`Engine`]: one per run. It owns what every transfer shares (the API client, whose
//! pacer, retry policy and HTTP connections every transfer uses; the connection cap, the
//! bandwidth limiter, the per-run folder listing cache) and the per-file error type.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use fichier_api::{Client, FolderId, FolderListing, FolderLsRequest};

use crate::error::TransferError;
use tokio::time::Instant;

use crate::events::{Event, EventSink};
use crate::limits::{ConnectionCap, RateLimiter};

/// Settings of one run that apply to every file. Retries follow the client's
/// [`fichier_api::RetryPolicy`] (attempts, delays with jitter) on the pacer's clock; timeouts
/// are the client's.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct EngineConfig {
    /// Simultaneous transfer connections across all files (1fichier allows 30).
    pub connections: usize,
    /// Global bandwidth limit in bytes per second, across every connection.
    pub limit_rate: Option<u64>,
}

impl Default for EngineConfig {
    fn default() -> Self {
        EngineConfig {
            connections: 30,
            limit_rate: None,
        }
    }
}

pub(crate) struct Inner {
    pub(crate) client: Client,
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
    /// An engine over `client`: its key (uploads need one), its pacer, its retry policy and
    /// its HTTP connections serve every transfer; the engine holds no key and no HTTP client
    /// of its own.
    pub fn new(client: Client, config: EngineConfig) -> Engine {
        Engine {
            inner: Arc::new(Inner {
                client,
                conns: ConnectionCap::new(config.connections),
                rate: config.limit_rate.map(RateLimiter::new),
                config,
                listings: tokio::sync::Mutex::new(HashMap::new()),
                listed_at: Mutex::new(HashMap::new()),
                cooldown_notice: Mutex::new(None),
            }),
        }
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

    /// Sleeps before retry number `retry` (1-based) as the client's retry policy says, on
    /// the pacer's clock.
    pub(crate) async fn backoff(&self, retry: u32) {
        let d = self.inner.client.retry_policy().delay(retry.max(1));
        self.inner.client.pause(d).await;
    }

    /// Attempts per file (and per segment without progress), from the client's policy.
    pub(crate) fn max_attempts(&self) -> u32 {
        self.inner.client.retry_policy().max_attempts.max(1)
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
