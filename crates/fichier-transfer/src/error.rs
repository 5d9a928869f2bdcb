//! The per-file error of the engine: a message, a class saying how to handle it, and the API
//! error's kind when there was one (callers turn kinds into hints; the engine gives hints only
//! about local files).

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

/// Why one file failed: a message, a class and, when it came from the API, its kind. The
/// engine gives hints only about local files; the caller renders hints for `api_kind` (how
/// to log in, give a password…). Never contains a key or token URL.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, Serialize)]
#[error("{message}")]
pub struct TransferError {
    /// What went wrong.
    pub message: String,
    /// What to do about it (local problems only).
    pub hint: Option<String>,
    /// How to handle it.
    pub class: ErrorClass,
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
            hint: None,
            class,
            api_kind: None,
            retry_after: None,
        }
    }
    /// Adds a hint.
    pub fn hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }
    /// A local I/O error about `what`; a full disk gets its own class.
    pub fn io(what: &str, e: &std::io::Error) -> Self {
        if is_disk_full(e) {
            return TransferError::new(ErrorClass::DiskFull, format!("{what}: the disk is full"))
                .hint("free some space and run the same command again: it resumes from the .part file");
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
            hint: None,
            class,
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
