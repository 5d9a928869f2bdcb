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
//! use fichier_api::{ApiKey, Client, DownloadTokenRequest, NoProgress, UploadRequest, ROOT_FOLDER};
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! // The key comes from a key store or the environment, never from argv.
//! let key = ApiKey::parse(&std::env::var("FICHIER_API_KEY")?)?;
//! let client = Client::builder().api_key(key).build()?;
//!
//! // Upload: streamed from disk, whirlpool computed on the way, verified against end.pl.
//! let uploaded = client
//!     .upload_file(&UploadRequest::new("backup.tar.gz", ROOT_FOLDER), Arc::new(NoProgress))
//!     .await?;
//! println!("{} -> {}", uploaded.filename, uploaded.link);
//!
//! // List the folder (cached 30 s; the pacer spaces calls by 500 ms).
//! for file in client.file_ls(ROOT_FOLDER).await?.items {
//!     println!("{:>12} {} {}", file.size, file.filename, file.link);
//! }
//!
//! // A direct download URL, valid about 5 minutes. It is a secret: Display redacts it.
//! let token = client.download_token(&DownloadTokenRequest::new(uploaded.link.clone(), None)).await?;
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
//! # Guide: which call does what
//!
//! Build a [`Client`] with [`Client::builder`] ([`ClientBuilder`]: `api_url`, `api_key`,
//! `min_gap`, `pacer_config`, `pacer_state_file`, `retry_policy`, timeouts, `user_agent`).
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
//! | node `upload.cgi` + `end.pl` | [`Client::upload_to_node`] (several files, one request), [`Client::upload_file`] (one file, verified), [`Client::upload_report`] |
//! | token URL (ranged GET) | [`Client::range_get`] (one validated range, chunk by chunk), [`Client::download_to`] (any `AsyncWrite`), [`Client::download_range`] (one range of a token) |
//! | `ftp/process`, `ftp/users/*` | [`Client::ftp_process`], [`Client::ftp_users_ls`], [`Client::ftp_users_add`], [`Client::ftp_users_rm`] |
//! | `vouchers/*` | [`Client::vouchers_ls`], [`Client::vouchers_check`], [`Client::vouchers_use`] |
//!
//! Helpers: [`ApiKey::parse`] (trims, checks the alphabet), [`FileLink::parse`] (any of the 11
//! domains), [`whirlpool_file`] / [`WhirlpoolHasher`], the [`Progress`] trait ([`NoProgress`]).
//!
//! # Pacing and retries
//!
//! All calls of a client (and its clones) share one [`Pacer`]: a minimum gap (500 ms), a
//! 5-minute `user/info` cache, one real listing per folder per 30 s (answers reused meanwhile,
//! invalidated by any mutation), and after `Flood detected` a cooldown (60 s, doubling, capped
//! at 16 min, logged once) during which nothing is sent. A window that would take longer
//! than a minute to reopen (the hourly whole-account listing) fails fast with
//! [`Error::Paced`] instead of sleeping. With a state file
//! ([`ClientBuilder::pacer_state_file`]) several processes share that budget, the cooldown,
//! the windows and the last `user/info` answer. Tests against the emulator use
//! [`PacerConfig::unthrottled`] and [`RetryPolicy::fast`].
//!
//! [`RetryPolicy`] retries only temporary errors. Reads are re-sent after timeouts;
//! mutations are never blindly re-sent after an ambiguous failure (timeout, reset, 5xx): the
//! client checks the account first (`file/info`, `folder/ls`…) and re-sends only when the
//! change is clearly absent; when it cannot tell, it returns [`Error::OutcomeUnknown`].
//!
//! # Transfers
//!
//! Two primitives carry every byte: [`Client::upload_to_node`] (several known-length file
//! parts in one multipart request, streamed from disk, hashed on a separate thread from the
//! same reads, then the `end.pl` report) and [`Client::range_get`] (one validated ranged
//! `GET` of a token URL, read chunk by chunk). [`Client::upload_file`] (one verified file) and
//! [`Client::download_to`] / [`Client::download_range`] are thin layers over them; the
//! `fichier-transfer` engine builds segments, resume and batching on the same two. On loopback
//! the hashed paths run at hashing speed (about 150–180 MiB/s per core here); the unhashed
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
mod download;
mod error;
mod hash;
mod key;
mod listing_cache;
mod node;
mod pacer;
mod private_fs;
mod progress;
mod range;
mod remote_tree;
mod retry;
mod types;
mod upload;
mod values;
mod wire;

#[cfg(test)]
mod fixture_tests;

pub use client::{Client, ClientBuilder, DEFAULT_API_URL, DEFAULT_USER_AGENT, DEFAULT_WEBSITE_URL};
pub use download::{DownloadOutcome, DownloadRequest, RangeOutcome};
pub use error::{Attempts, Error, ErrorKind, NotAllowedReason, Result, ServiceMessage, classify};
pub use hash::{
    HASH_BUFFER, HashPipe, WhirlpoolHasher, same_whirlpool, whirlpool_file, whirlpool_hex,
    whirlpool_reader,
};
pub use key::{ApiKey, KeyError, USUAL_KEY_LEN};
pub use node::{NodeAnswer, NodeFields, NodeFile, NodePart, NodeUpload};
pub use pacer::{Clock, Pacer, PacerConfig, TokioClock};
pub use progress::{NoProgress, PartObserver, Progress};
pub use range::{ContentRange, RangeAnswer, RangeBody};
pub use remote_tree::{
    Candidate, Child, ChildRef, Ensured, EnsuredStep, Expect, ID_PREFIX, Node, PathError,
    RemotePath, RemoteTree, Segment, TreeError,
};
pub use retry::RetryPolicy;
pub use types::*;
pub use upload::UploadRequest;
pub use wire::{format_date, paris, parse_date};

/// Re-export of the date-time crate used in the public types.
pub use jiff;
