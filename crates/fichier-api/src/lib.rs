//! `fichier-api`: a typed async client for the whole 1fichier.com API v1 that never gets its
//! user flood-locked.
//!
//! # Example
//!
//! Upload a file, list its folder, get a download link (this compiles but does not run here:
//! it talks to the real service).
//!
//! ```no_run
//! use std::sync::Arc;
//! use fichier_api::{
//!     ApiKey, Client, DownloadTokenRequest, NoProgress, NodeAnswer, NodeFields, NodeFile,
//!     ROOT_FOLDER, same_whirlpool,
//! };
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! // The key comes from a key store or the environment, never from argv.
//! let key = ApiKey::parse(&std::env::var("FICHIER_API_KEY")?)?;
//! let client = Client::builder().api_key(key).build()?;
//!
//! // Upload: streamed from disk, whirlpool computed on the way, then the end.pl report.
//! let len = std::fs::metadata("backup.tar.gz")?.len();
//! let file = NodeFile { path: "backup.tar.gz".into(), name: "backup.tar.gz".into(), len };
//! let sent = client
//!     .upload_to_node(&NodeFields::new(ROOT_FOLDER), &[file], Arc::new(NoProgress))
//!     .await?;
//! // Verifying is the caller's: the report must list the file with our size and whirlpool.
//! let (NodeAnswer::Report(report), Some(ours)) = (&sent.answer, &sent.parts[0].whirlpool) else {
//!     return Err("the upload failed; look before sending again".into());
//! };
//! let Some(stored) = report.links.iter().find(|l| {
//!     l.filename == "backup.tar.gz" && l.size == len && same_whirlpool(&l.whirlpool, ours)
//! }) else {
//!     return Err("the report does not show the file intact".into());
//! };
//! println!("{} -> {}", stored.filename, stored.download);
//!
//! // List the folder (reused 30 s, also by the user's other processes; calls spaced 500 ms).
//! for file in client.file_ls(ROOT_FOLDER).await?.items {
//!     println!("{:>12} {} {}", file.size, file.filename, file.link);
//! }
//!
//! // A direct download URL, valid about 5 minutes. It is a secret: Display redacts it.
//! let token = client
//!     .download_token(&DownloadTokenRequest::new(stored.download.clone(), None))
//!     .await?;
//! println!("download from {token}");
//!
//! // Errors say what to do.
//! match client.user_info().await {
//!     Ok(me) => println!("{} ({})", me.email, me.offer),
//!     Err(e) if e.is_retryable() => eprintln!("try again in {:?}: {e}", e.retry_after()),
//!     Err(e) => eprintln!("error: {e}"),
//! }
//! # Ok(()) }
//! ```
//!
//! Whole verified uploads and resumable, segmented downloads to disk (retries, duplicate
//! checks, `.part` files) are the `fichier-transfer` engine's, built on the same primitives.
//!
//! # Guide: which call does what
//!
//! Build a [`Client`] with [`Client::builder`] ([`ClientBuilder`]: `api_url`, `api_key`,
//! `min_gap`, `pacer_config`, `pacer_state_file`, `retry_policy`, `fresh`, timeouts,
//! `user_agent`).
//! Every method is `async` and returns [`Result<T>`](Result) with the one [`Error`] enum.
//!
//! | Endpoint | Method |
//! |---|---|
//! | `user/info` (show, cached 5 min) | [`Client::user_info`] |
//! | `user/info` (set) | [`Client::user_settings_set`] ([`UserSettings`]) |
//! | `download/get_token` | [`Client::download_token`] ([`DownloadTokenRequest`]) |
//! | `file/ls` | [`Client::file_ls`] (folder id), [`Client::file_ls_with`] ([`FileLsRequest`]) |
//! | `file/info` | [`Client::file_info`] (link, password), [`Client::file_info_with`] |
//! | `file/scan` | [`Client::file_scan`] |
//! | `file/rm`, `file/mv`, `file/cp` | [`Client::file_rm`], [`Client::file_mv`], [`Client::file_cp`] |
//! | `file/rename`, `file/chattr` | [`Client::file_rename`], [`Client::file_chattr`] |
//! | `folder/ls` | [`Client::folder_ls`] ([`FolderLsRequest::with_files`] lists files too) |
//! | `folder/mkdir`, `folder/mv`, `folder/rm` | [`Client::folder_mkdir`], [`Client::folder_mv`], [`Client::folder_rm`] |
//! | `folder/share` | [`Client::folder_share`] |
//! | website `dir/<id>?json=1` | [`Client::shared_folder_ls`] |
//! | `remote/ls`, `remote/info`, `remote/request` | [`Client::remote_ls`], [`Client::remote_info`], [`Client::remote_request`] |
//! | `upload/get_upload_server` | [`Client::upload_server`] |
//! | node `upload.cgi` + `end.pl` | [`Client::upload_to_node`] (several files, one request), [`Client::upload_report`], [`Client::note_uploaded`] (puts the uploaded files in the cached listings) |
//! | token URL (ranged GET) | [`Client::range_get`] (one validated range, chunk by chunk) |
//! | `ftp/process`, `ftp/users/*` | [`Client::ftp_process`], [`Client::ftp_users_ls`], [`Client::ftp_users_add`], [`Client::ftp_users_rm`] |
//! | `vouchers/*` | [`Client::vouchers_ls`], [`Client::vouchers_check`], [`Client::vouchers_use`] |
//!
//! Helpers: [`ApiKey::parse`] (trims, checks the alphabet), [`FileLink::parse`] (any of the 11
//! domains), [`parse_api_url`] (the https-unless-loopback rule), [`whirlpool_file`] /
//! [`WhirlpoolHasher`], the observers [`Progress`] and [`PartObserver`] ([`NoProgress`]).
//!
//! # Pacing, shared listings and retries
//!
//! All calls of a client (and its clones) share one [`Pacer`]: a minimum gap (500 ms), a
//! 5-minute `user/info` cache and window, the documented one `file/ls` per folder per 30 s
//! (reference §1.9; `folder/ls` has no such rule and gets only the gap), and after
//! `Flood detected` a cooldown (60 s, doubling, capped at 16 min, logged once) during which
//! nothing is sent. A window that would take longer than a minute to reopen (the hourly
//! whole-account listing) fails fast with [`Error::Paced`] instead of sleeping. A call that
//! never reached the service (connection refused, DNS failure) gives its window back.
//!
//! With a state file ([`ClientBuilder::pacer_state_file`]) every process of the user shares
//! that budget, the cooldown, the windows, the last `user/info` answer, and the listings
//! (`folder/ls`, `file/ls`) fetched in the last 30 s, kept in a `listings-….json` file beside
//! it (`0600` files in a `0700` directory, replaced atomically, at most 256 listings / 8 MiB,
//! oldest evicted). A listing another process fetched is reused without a call and without
//! waiting; a cache hit is logged at `info` with its age ("listing of folder N from cache,
//! 12 s old"). The library's own mutations (folder create/move/rename/remove/share, file
//! remove/move/copy/rename/attribute changes, uploads through [`Client::upload_to_node`] as
//! their `end.pl` report lists them, [`Client::note_uploaded`]) edit the cached listings they
//! affect, so the next command sees its own changes without a new call; an upload whose
//! report leaves a file in doubt drops its folder's listings, and a mutation whose outcome is
//! unknown drops them all. [`ClientBuilder::fresh`] never answers a listing from the cache (it waits for
//! the window and asks the service). State read from the file that points further ahead than
//! the longest documented lock (1 h) is reported once and reset, never waited for. Tests
//! against the emulator use [`PacerConfig::unthrottled`] and [`RetryPolicy::fast`].
//!
//! [`RetryPolicy`] retries only temporary errors, through one attempt loop ([`AttemptLoop`])
//! on the pacer's clock (doubling backoff with jitter, a cap, a number of attempts, an overall
//! [`RetryPolicy::retry_timeout`]). Callers' own loops use the same one:
//! [`Client::attempts`] / [`Client::transfer_attempts`] with [`AttemptLoop::run`] (an
//! `on_retry` callback hears each retry) or step by step; their error type says what is
//! retryable through [`Retryable`]. A final error says how many attempts were made over how
//! long ([`Error::attempts`]). Reads are re-sent
//! after timeouts; mutations are never blindly re-sent after an ambiguous failure: the client
//! checks the account first (`file/info`, `folder/ls`…) and re-sends only when the change is
//! clearly absent; when it cannot tell, it returns [`Error::OutcomeUnknown`].
//!
//! # Transfers
//!
//! Two primitives carry every byte: [`Client::upload_to_node`] (several known-length file
//! parts in one multipart request, streamed from disk, hashed on a separate thread from the
//! same reads, then the `end.pl` report) and [`Client::range_get`] (one validated ranged
//! `GET` of a token URL, read chunk by chunk). They decide nothing: verification, resume,
//! segments, retries and batching are the `fichier-transfer` engine's, built on these two. On
//! loopback the hashed upload runs at hashing speed (about 150–180 MiB/s per core here); the
//! range path keeps up with `curl` — see `examples/transfer_bench.rs` and `bench/whirlpool.sh`.
//!
//! # Secrets
//!
//! The key lives in [`ApiKey`] (redacted `Debug`/`Display`, zeroed on drop), leaves it only
//! for the `Authorization` header (marked sensitive, built in one function for every request,
//! node uploads included) and [`ApiKey::expose_for_key_store`]; users see [`ApiKey::masked`], files are named
//! by [`ApiKey::fingerprint`].
//! Token URLs are [`DownloadToken`]s whose `Debug`/`Display` hide the token; transport errors
//! drop URLs; error bodies are redacted.
//!
//! # Dates
//!
//! The service sends local Paris times without a zone; they are parsed as
//! [`jiff::ZonedDateTime`] in `Europe/Paris` (see [`parse_date`]).

#![warn(missing_docs)]

mod api;
mod client;
mod error;
mod hash;
mod key;
mod listing_cache;
mod node;
mod pacer;
mod progress;
mod range;
mod remote_path;
mod remote_tree;
mod retry;
mod values;
mod walk;
mod wire;

#[cfg(test)]
mod fixture_tests;

pub use api::download::*;
pub use api::files::*;
pub use api::folders::*;
pub use api::ftp_vouchers::*;
pub use api::remote::*;
pub use api::upload::*;
pub use api::user::*;
pub use client::{
    Client, ClientBuilder, DEFAULT_API_URL, DEFAULT_USER_AGENT, DEFAULT_WEBSITE_URL,
    is_loopback_url, parse_api_url,
};
pub use error::{Attempts, Error, ErrorKind, NotAllowedReason, Result, ServiceMessage, classify};
pub use fichier_state::private_dir;
pub use hash::{
    HASH_BUFFER, HashPipe, WhirlpoolHasher, same_whirlpool, whirlpool_file, whirlpool_hex,
    whirlpool_reader,
};
pub use key::{ApiKey, KeyError, USUAL_KEY_LEN};
pub use node::{NodeAnswer, NodeFields, NodeFile, NodePart, NodeUpload};
pub use pacer::{Clock, Pacer, PacerConfig, TokioClock};
pub use progress::{NoProgress, PartObserver, Progress};
pub use range::{ContentRange, RangeAnswer, RangeBody};
pub use remote_path::{ID_PREFIX, PathError, RemotePath, Segment};
pub use remote_tree::{
    Candidate, Child, ChildRef, Ensured, EnsuredStep, Expect, Node, RemoteTree, TreeError,
};
pub use retry::{AttemptLoop, Next, Retry, RetryPolicy, Retryable};
pub use values::*;
pub use walk::{FailedListing, Walk, WalkEntry, WalkKind, WalkOptions, WalkOrder};
pub use wire::{format_date, paris, parse_date};

/// Re-export of the date-time crate used in the public types.
pub use jiff;
