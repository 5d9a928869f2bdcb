//! `fichier-transfer`: the transfer engine of the `fichier` CLI, usable on its own.
//!
//! Multi-file uploads and downloads on top of [`fichier_api`]'s transfer primitives (the
//! multi-file node upload and the ranged GET): this crate plans, batches, resumes, splits
//! into segments, verifies and avoids duplicates; it builds no request body and no header.
//! With:
//!
//! - **verified uploads**: each file streamed from disk with a known length, its whirlpool
//!   computed in the same read pass, done only when the `end.pl` report (or the folder)
//!   shows the local name, size and whirlpool; failures are retried after looking at the
//!   folder, so no duplicate or damaged copy is left behind; identical files are skipped;
//!   small files share one multipart request (one `get_upload_server` call per batch);
//! - **resumable, segmented downloads**: `NAME.part` plus a `NAME.part.state` sidecar,
//!   one token per file attempt shared by every segment and renewed on expiry, every `Range`
//!   answer validated, the whirlpool checked before the rename into place, safe local names;
//! - **global limits**: one connection cap and one bandwidth limiter across every file;
//!   nothing is sent while the API pacer is in a flood cooldown;
//! - **events** for every file state change ([`Event`], serialisable as NDJSON) and a
//!   [`Summary`]. The engine never draws anything.
//!
//! ```no_run
//! use std::sync::Arc;
//! use fichier_api::{ApiKey, Client};
//! use fichier_transfer::{DownloadInput, DownloadOptions, Engine, EngineConfig, NoEvents};
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let key = ApiKey::parse(&std::env::var("FICHIER_API_KEY")?)?;
//! let client = Client::builder().api_key(key).build()?;
//! let engine = Engine::new(client, EngineConfig::default());
//! let inputs = vec![DownloadInput::parse("https://1fichier.com/?abcde12345")?];
//! let summary = engine
//!     .download(&inputs, &DownloadOptions::new("downloads"), Arc::new(NoEvents))
//!     .await;
//! println!("{} done, {} failed", summary.done, summary.failed);
//! # Ok(()) }
//! ```
//!
//! The resume design is described in `docs/transfers.md`.

mod download;
mod engine;
mod error;
mod events;
mod fetch;
mod hashing;
mod limits;
mod names;
mod state;
mod summary;
mod timetable;
mod upload;

pub use download::{DownloadInput, DownloadOptions, input_lines, is_inside};
pub use engine::{Engine, EngineConfig};
pub use error::{ErrorClass, Problem, TransferError};
pub use events::{Event, EventSink, FileId, NoEvents, RecordEvents, Tee};
pub use fetch::{FetchOpts, Fetched, FileJob, MAX_SEGMENTS, part_path};
pub use limits::{ConnectionCap, RateLimiter, parse_rate};
pub use names::{
    MAX_REMOTE_NAME, ensure_dir_inside, join_inside, remote_name_problem, safe_local_name,
};
pub use state::state_path;
pub use summary::{FailedFile, Summary};
pub use timetable::Timetable;
pub use upload::{UploadDest, UploadOptions};
