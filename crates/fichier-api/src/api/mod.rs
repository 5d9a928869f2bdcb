//! One typed method per JSON endpoint of the reference, split by area (user, download token,
//! files, folders and shared folders, remote upload, upload server, FTP and vouchers): each area
//! file holds its request/answer types and its `impl Client` block, with each endpoint's pacing
//! rules and, for mutations, the state check that runs before any re-send.

use crate::client::{Client, Rules};
use crate::error::{Error, Result};
use crate::listing_cache::Edit;
use crate::pacer::Window;

pub(crate) mod download;
pub(crate) mod files;
pub(crate) mod folders;
pub(crate) mod ftp_vouchers;
pub(crate) mod remote;
pub(crate) mod upload;
pub(crate) mod user;

impl Client {
    /// Pacing of a listing: answers are reused for the listing window (by every process of
    /// the user); the documented one-per-30-s rule is for `file/ls` only (reference §1.9), so
    /// `folder/ls` gets no window of its own, only the general gap.
    fn listing_rules(&self, endpoint: &str, folder: i64, extra: &str) -> Rules {
        let cfg = self.inner.pacer.config();
        let cache_ttl = if folder < 0 {
            cfg.all_files_window
        } else {
            cfg.listing_window
        };
        let window = if endpoint == "folder/ls" {
            std::time::Duration::ZERO
        } else {
            cache_ttl
        };
        Rules {
            window: (!window.is_zero()).then(|| Window {
                key: format!("{endpoint}:{folder}:{extra}"),
                window,
            }),
            cache_ttl,
        }
    }

    fn user_info_rules(&self) -> Rules {
        let w = self.inner.pacer.config().user_info_window;
        Rules {
            window: (!w.is_zero()).then(|| Window {
                key: "user/info".into(),
                window: w,
            }),
            cache_ttl: w,
        }
    }

    /// After a mutation: applies its effect to the cached listings, or forgets them all when
    /// its outcome is unknown.
    async fn after_change<T>(&self, result: Result<T>, edit: impl FnOnce(&T) -> Edit) -> Result<T> {
        match &result {
            Ok(answer) => self.inner.pacer.edit_listings(&edit(answer)).await,
            Err(e) if matches!(e, Error::OutcomeUnknown { .. }) || e.is_ambiguous() => {
                self.inner.pacer.invalidate_listings().await
            }
            Err(_) => {}
        }
        result
    }
}
