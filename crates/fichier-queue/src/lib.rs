//! `fichier-queue`: the persistent 1fichier download queue and the runner that works it.
//!
//! - [`QueueStore`]: the SQLite queue shared by every process of the user (leases, states and
//!   reasons, `version()` to wake readers);
//! - intake: link normalisation for the 1fichier domains ([`links`]), JDownloader
//!   `.crawljob` files ([`crawljob`]) and the folder-watch import ([`watch`]);
//! - [`Runner`]: claims items and downloads them through the [`fichier_transfer`] engine,
//!   with tiers, flood and location pauses, per-item backoff ([`schedule`]) and requeue
//!   rounds. `fichier queue run` and `fichier daemon` share it.
//!
//! The library never prints and gives no advice: errors carry kinds and data.

pub mod crawljob;
pub mod intake;
pub mod links;
pub mod runner;
pub mod schedule;
pub mod store;
pub mod watch;

pub use crawljob::{CrawlJob, CrawljobError};
pub use links::{is_fichier_link, is_folder_link, normalise_link};
pub use runner::{NoObserver, QueueObserver, RunReport, Runner, RunnerConfig, StopReason};
pub use store::{
    AddOutcome, Item, ItemId, NewItem, Position, QueueError, QueueStore, Selector, State,
};
pub use watch::{ImportReport, import_dir};
