//! One typed method per JSON endpoint of the reference, split by area (user, download token,
//! files, folders and shared folders, remote upload, upload server, FTP and vouchers): each area
//! file holds its request/answer types and its `impl Client` block, with each endpoint's pacing
//! rules and, for mutations, the state check that runs before any re-send.

use crate::client::{Client, Rules};
use crate::pacer::Window;

pub(crate) mod download;
pub(crate) mod files;
pub(crate) mod folders;
pub(crate) mod ftp_vouchers;
pub(crate) mod remote;
pub(crate) mod upload;
pub(crate) mod user;

impl Client {
    fn listing_rules(&self, endpoint: &str, folder: i64, extra: &str) -> Rules {
        let cfg = self.inner.pacer.config();
        let window = if folder < 0 {
            cfg.all_files_window
        } else {
            cfg.listing_window
        };
        // Answers are reused for as long as a new call would have to wait anyway.
        let cache_ttl = window;
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
}
