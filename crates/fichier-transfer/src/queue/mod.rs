//! The persistent download queue (issue #12): the SQLite store shared by every process
//! ([`QueueStore`]), link normalisation for the 11 1fichier domains, JDownloader `.crawljob`
//! files and the folder-watch import. The runner that works the queue lives beside these.

pub mod crawljob;
pub mod links;
pub mod runner;
pub mod schedule;
pub mod store;
pub mod timetable;
pub mod watch;

pub use crawljob::{CrawlJob, CrawljobError};
pub use links::{is_fichier_link, is_folder_link, normalise_link};
pub use store::{
    AddOutcome, Item, ItemId, NewItem, Position, QueueError, QueueStore, Selector, State,
};
pub use watch::{ImportReport, import_dir};
