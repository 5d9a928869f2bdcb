//! The result of a run: counts, bytes, time, API calls, and every failure with its reason.

use serde::Serialize;

use crate::error::{ErrorClass, TransferError};

/// One failed file in the summary.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FailedFile {
    /// Display name (local path for uploads, link or remote path for downloads).
    pub name: String,
    /// What went wrong.
    pub error: String,
    /// Error class.
    pub class: ErrorClass,
    /// The problem the engine found, when it found one itself (for the caller's advice).
    #[serde(skip)]
    pub problem: Option<crate::error::Problem>,
    /// The API error's kind, when it came from the API (for the caller's hints).
    #[serde(skip)]
    pub api_kind: Option<fichier_api::ErrorKind>,
}

/// What a whole upload or download run did. Serialises as the final `--json` object
/// (`{"event":"summary",...}`).
#[derive(Debug, Clone, Default, Serialize)]
#[non_exhaustive]
pub struct Summary {
    /// Files transferred and verified.
    pub done: usize,
    /// Files with nothing to do (already there).
    pub skipped: usize,
    /// Files that failed.
    pub failed: usize,
    /// Payload bytes of the files done (not counting retries).
    pub bytes: u64,
    /// Wall time in seconds.
    pub seconds: f64,
    /// API calls (`/v1/...`) this run sent.
    pub api_calls: u64,
    /// Every failure.
    pub failures: Vec<FailedFile>,
    /// Set when the run stopped early because every further file would fail the same way
    /// (authentication problem, persistent flood lock).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stopped: Option<TransferError>,
}

impl Summary {
    /// True when nothing failed.
    pub fn is_success(&self) -> bool {
        self.failed == 0 && self.stopped.is_none()
    }

    pub(crate) fn fail(&mut self, name: &str, e: &TransferError) {
        self.failed += 1;
        self.failures.push(FailedFile {
            name: name.to_owned(),
            error: e.message.clone(),
            class: e.class,
            problem: e.problem.clone(),
            api_kind: e.api_kind,
        });
    }
}
