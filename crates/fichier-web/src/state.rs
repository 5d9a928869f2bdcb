//! What every handler shares: [`App`] (built once per server by the `server` module) and the
//! queue [`Snapshot`] its watcher publishes. Handler modules import them from here, so none
//! of them depends on the crate root or the router.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, OnceLock};

use fichier_queue::{Item, ItemId};
use tokio::sync::watch;

use crate::account::Account;
use crate::inbox::Inbox;
use crate::log::Log;
use crate::queue::Queue;

/// What every handler shares.
#[derive(Debug)]
pub struct App {
    /// The queue store.
    pub queue: Queue,
    /// Click'n'Load pending list and origins.
    pub inbox: Inbox,
    /// Cached account data.
    pub account: Account,
    /// The recent log.
    pub log: Arc<Log>,
    /// This process's CSRF token.
    pub csrf: String,
    /// Where the access token is (re-read on each request so a fresh `fichier dashboard`
    /// link works at once and the old one stops).
    pub token_path: PathBuf,
    /// Where `fichier dashboard` leaves its one-time sign-in code.
    pub login_path: PathBuf,
    /// The dashboard's port (for the move to a page's own `*.localhost` name).
    pub port: u16,
    /// Becomes true at shutdown so live streams end.
    pub stopping: watch::Receiver<bool>,
    /// The queue as the watcher last read it (set once the watcher runs).
    pub snapshots: OnceLock<watch::Receiver<Arc<Snapshot>>>,
    /// The backup journal, if backups run here.
    pub backup_journal: Option<PathBuf>,
}

/// The queue as last read.
#[derive(Debug, Default)]
pub struct Snapshot {
    /// `store.version()` when read.
    pub version: i64,
    /// The inbox generation when read (pending Click'n'Load count changes).
    pub inbox: u64,
    /// Pending Click'n'Load batches.
    pub pending: usize,
    /// Items in work order.
    pub items: Vec<Item>,
    /// Each item's JSON, to tell what changed.
    pub json: HashMap<ItemId, String>,
}
