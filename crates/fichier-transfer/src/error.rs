//! The per-file error of the engine: a message saying what happened, a class saying how to
//! handle it, and the kind of problem with its data (a local [`Problem`], or the API error's
//! kind). No advice: the caller words what to do from the kinds, since only it knows which
//! commands and flags exist.

use std::path::PathBuf;
use std::time::Duration;

use fichier_api::ErrorKind;
use serde::Serialize;

/// How a per-file error should be handled.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum ErrorClass {
    /// A later attempt may work (network, server, flood).
    Retryable,
    /// The same request will fail again (refused name, permission, not found…).
    Permanent,
    /// The key is missing, wrong or not a customer's: every other file would fail too.
    Auth,
    /// Still flood-locked after the pacer's cooldowns.
    Flood,
    /// The local disk is full (the `.part` file is kept).
    DiskFull,
    /// A local file problem (unreadable, changed while read, exists and differs…).
    Local,
}

/// A problem the engine found itself (mostly on the local side), with what a caller needs
/// to advise about it. API errors are told by [`TransferError::api_kind`] instead.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Problem {
    /// The local disk is full; the `.part` file is kept, so a later attempt resumes.
    DiskFull,
    /// The destination file exists and differs from the remote file; it was not replaced.
    DestinationExists {
        /// The destination file.
        path: PathBuf,
    },
    /// The destination (or its `.part` file) exists and is not a regular file.
    NotAFile {
        /// The path in the way.
        path: PathBuf,
    },
    /// The `.part` file is a symbolic link; nothing is written through it.
    PartIsSymlink {
        /// The `.part` path.
        path: PathBuf,
    },
    /// Another process holds the `.part` file's lock (it downloads into it).
    PartBusy {
        /// The `.part` path.
        path: PathBuf,
    },
    /// The `.part` file holds bytes the engine cannot tie to this download; left untouched.
    PartForeign {
        /// The `.part` path.
        path: PathBuf,
        /// True when a resume state exists (and names another file or size).
        has_state: bool,
    },
    /// A remote folder was given where a file was expected, without recursion.
    RemoteFolder,
    /// A local directory was given where a file was expected, without recursion.
    LocalDirectory {
        /// The directory.
        path: PathBuf,
    },
    /// A local file name that 1fichier cannot store.
    BadName {
        /// The file.
        path: PathBuf,
    },
    /// The local file changed while it was read for upload.
    Changed {
        /// The file.
        path: PathBuf,
    },
    /// A stored copy did not match the local file and could not be removed.
    BadCopyKept {
        /// The links of the copies left behind.
        links: Vec<String>,
    },
    /// The upload failed and the destination folder could not be checked for a stored copy
    /// (not retried, so that no duplicate is left).
    Unchecked,
}

/// Why one file failed: a message, a class and the kind of problem (a [`Problem`] found by
/// the engine, or the API error's kind). Never contains a key, a token URL or advice.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, Serialize)]
#[error("{message}")]
pub struct TransferError {
    /// What went wrong.
    pub message: String,
    /// How to handle it.
    pub class: ErrorClass,
    /// The problem the engine found, when it found one itself.
    #[serde(skip)]
    pub problem: Option<Problem>,
    /// The library's kind of the underlying API error, if any.
    #[serde(skip)]
    pub api_kind: Option<ErrorKind>,
    /// For a flood lock: when the service accepts calls again.
    #[serde(skip)]
    pub retry_after: Option<Duration>,
}

impl TransferError {
    /// A new error.
    pub fn new(class: ErrorClass, message: impl Into<String>) -> Self {
        TransferError {
            message: message.into(),
            class,
            problem: None,
            api_kind: None,
            retry_after: None,
        }
    }
    /// Says which problem this is.
    pub fn problem(mut self, problem: Problem) -> Self {
        self.problem = Some(problem);
        self
    }
    /// A local I/O error about `what`; a full disk gets its own class.
    pub fn io(what: &str, e: &std::io::Error) -> Self {
        if is_disk_full(e) {
            return TransferError::new(ErrorClass::DiskFull, format!("{what}: the disk is full"))
                .problem(Problem::DiskFull);
        }
        TransferError::new(ErrorClass::Local, format!("{what}: {e}"))
    }
    /// True when a later attempt may work.
    pub fn is_retryable(&self) -> bool {
        self.class == ErrorClass::Retryable
    }
}

/// The engine's file and segment loops run on the library's attempt loop: a file error is
/// tried again when its class says so, and the final one says how often and for how long.
impl fichier_api::Retryable for TransferError {
    fn is_retryable(&self) -> bool {
        TransferError::is_retryable(self)
    }
    fn with_attempts(mut self, made: fichier_api::Attempts) -> Self {
        // An inner loop's account (a call's, a segment's) gives way to this outer one, so a
        // message says one count: the one of the whole file.
        if let Some(at) = self.message.rfind(" (after ")
            && self.message.ends_with("s)")
            && self.message[at..].contains(" attempts over ")
        {
            self.message.truncate(at);
        }
        self.message = format!("{}{made}", self.message);
        self
    }
}

fn is_disk_full(e: &std::io::Error) -> bool {
    e.kind() == std::io::ErrorKind::StorageFull || e.raw_os_error() == Some(28)
}

impl From<fichier_api::Error> for TransferError {
    fn from(e: fichier_api::Error) -> Self {
        let kind = e.kind();
        let class = match kind {
            ErrorKind::BadKey | ErrorKind::NotAuthenticated | ErrorKind::NotCustomer => {
                ErrorClass::Auth
            }
            ErrorKind::FloodLocked | ErrorKind::Paced => ErrorClass::Flood,
            ErrorKind::Io => ErrorClass::Local,
            _ if e.is_retryable() => ErrorClass::Retryable,
            _ => ErrorClass::Permanent,
        };
        TransferError {
            message: e.to_string(),
            class,
            problem: None,
            api_kind: Some(kind),
            retry_after: matches!(class, ErrorClass::Flood)
                .then(|| e.retry_after())
                .flatten(),
        }
    }
}

impl From<fichier_api::TreeError> for TransferError {
    fn from(e: fichier_api::TreeError) -> Self {
        use fichier_api::TreeError;
        match e {
            TreeError::Api(e) => e.into(),
            TreeError::Ambiguous { path, candidates } => {
                let names: Vec<String> = candidates.iter().map(|c| c.handle()).collect();
                TransferError::new(
                    ErrorClass::Permanent,
                    format!(
                        "{path} is ambiguous: {} entries have that name ({}); nothing was picked",
                        candidates.len(),
                        names.join(", ")
                    ),
                )
            }
            TreeError::NotFound { .. } => TransferError {
                api_kind: Some(ErrorKind::NotFound),
                ..TransferError::new(ErrorClass::Permanent, e.to_string())
            },
            TreeError::Lock { .. } => TransferError::new(ErrorClass::Local, e.to_string()),
            other => TransferError::new(ErrorClass::Permanent, other.to_string()),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use fichier_api::{Attempts, Retryable};

    use super::*;

    #[test]
    fn the_final_error_says_one_count_of_attempts() {
        let made = |count, secs| Attempts {
            count,
            elapsed: Duration::from_secs(secs),
        };
        let inner = TransferError::new(ErrorClass::Retryable, "server error (HTTP 500)")
            .with_attempts(made(4, 1));
        assert_eq!(
            inner.message,
            "server error (HTTP 500) (after 4 attempts over 1.0s)"
        );
        let outer = inner.with_attempts(made(3, 9));
        assert_eq!(
            outer.message,
            "server error (HTTP 500) (after 3 attempts over 9.0s)"
        );
    }
}
