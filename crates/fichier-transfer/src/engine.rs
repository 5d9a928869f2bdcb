//! The [`Engine`]: one per run. It owns what every transfer shares (the API client, whose
//! pacer, retry policy and HTTP connections every transfer uses; the connection cap, the
//! bandwidth limiter, the run's [`RemoteTree`]) and the per-file error type.

use std::sync::{Arc, Mutex};

use fichier_api::{Client, FolderId, FolderListing, RemoteTree};

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
    /// The run's view of the account's folders: listings memoised once per run, paths
    /// resolved and folders created by the library's one set of rules.
    pub(crate) tree: RemoteTree,
    pub(crate) conns: ConnectionCap,
    pub(crate) rate: RateLimiter,
    pub(crate) config: EngineConfig,
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
        Engine::with_tree(RemoteTree::new(client), config)
    }

    /// An engine walking the account through `tree` (e.g. the caller's, with its
    /// cross-process lock dir), over the tree's client.
    pub fn with_tree(tree: RemoteTree, config: EngineConfig) -> Engine {
        Engine {
            inner: Arc::new(Inner {
                client: tree.client().clone(),
                tree,
                conns: ConnectionCap::new(config.connections),
                rate: RateLimiter::with_rate(config.limit_rate),
                config,
                cooldown_notice: Mutex::new(None),
            }),
        }
    }

    /// The run's remote tree.
    pub fn tree(&self) -> &RemoteTree {
        &self.inner.tree
    }

    /// The API client.
    pub fn client(&self) -> &Client {
        &self.inner.client
    }

    /// The run's settings.
    pub fn config(&self) -> &EngineConfig {
        &self.inner.config
    }

    /// Changes the global bandwidth limit while transfers run (`None`: unlimited), e.g. as
    /// a time-of-day timetable says.
    pub fn set_limit_rate(&self, rate: Option<u64>) {
        self.inner.rate.set_rate(rate);
    }

    /// The global bandwidth limit now (`None`: unlimited).
    pub fn limit_rate(&self) -> Option<u64> {
        Some(self.inner.rate.rate()).filter(|r| *r > 0)
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
        self.inner.rate.take(n).await;
    }

    /// A folder's listing with its files, once per run per folder (reused afterwards).
    pub async fn listing(&self, folder: FolderId) -> Result<Arc<FolderListing>, TransferError> {
        Ok(self.inner.tree.listing(folder).await?)
    }

    /// A live listing that reflects uploads made since the last one (the tree asks the
    /// service, past the pacer's listing cache).
    pub(crate) async fn fresh_listing(
        &self,
        folder: FolderId,
    ) -> Result<Arc<FolderListing>, TransferError> {
        Ok(self.inner.tree.listing_fresh(folder).await?)
    }

    /// API calls this engine's client has sent since the count was `before` (0: in all).
    pub(crate) async fn calls_since(&self, before: u64) -> u64 {
        self.client()
            .pacer()
            .calls_sent()
            .await
            .saturating_sub(before)
    }
}
