//! Error types: the service-style KO answer every handler returns, and the crate's public error.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

/// A refused request, answered like the real service: `{"status":"KO","message":"… #n"}`.
///
/// The status is 403 for every refusal except `Resource not found`, which is 404.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ko {
    /// HTTP status of the answer.
    pub status: StatusCode,
    /// Message text, in the service's `Text #number` style.
    pub message: String,
}

/// Build a KO answer with an explicit HTTP status.
pub fn ko(message: impl Into<String>, status: StatusCode) -> Ko {
    Ko {
        status,
        message: message.into(),
    }
}

impl Ko {
    /// A 403 KO, the service's general refusal.
    pub fn forbidden(message: impl Into<String>) -> Ko {
        ko(message, StatusCode::FORBIDDEN)
    }

    /// `Resource not found #469` with HTTP 404.
    pub fn not_found() -> Ko {
        ko("Resource not found #469", StatusCode::NOT_FOUND)
    }

    /// A wrongly typed request field, named so the caller knows what to fix.
    pub fn bad_type(field: &str, expected: &str) -> Ko {
        Ko::forbidden(format!("Invalid parameter {field}: expected {expected} #0"))
    }

    /// A missing required request field.
    pub fn missing(field: &str) -> Ko {
        Ko::forbidden(format!("Missing parameter {field} #0"))
    }

    /// An internal failure (storage, disk). Never caused by request content.
    pub fn internal(what: impl std::fmt::Display) -> Ko {
        tracing::error!("internal error: {what}");
        ko(
            "Internal error, please retry later #0",
            StatusCode::SERVICE_UNAVAILABLE,
        )
    }
}

impl From<rusqlite::Error> for Ko {
    fn from(e: rusqlite::Error) -> Self {
        Ko::internal(e)
    }
}

impl From<std::io::Error> for Ko {
    fn from(e: std::io::Error) -> Self {
        if e.kind() == std::io::ErrorKind::StorageFull {
            tracing::error!("storage full: {e}");
            return ko(
                "Storage full: nothing was stored, retry later #0",
                StatusCode::SERVICE_UNAVAILABLE,
            );
        }
        Ko::internal(e)
    }
}

impl IntoResponse for Ko {
    fn into_response(self) -> Response {
        let body = serde_json::json!({"status": "KO", "message": self.message});
        let mut resp = (self.status, body.to_string()).into_response();
        resp.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json; charset=utf-8"),
        );
        resp
    }
}

/// Errors of the emulator's Rust API (start-up, admin operations).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum EmuError {
    /// A filesystem or socket operation failed.
    #[error("I/O error: {0}")]
    Io(#[from] std::io::Error),
    /// The metadata database failed.
    #[error("database error: {0}")]
    Db(#[from] rusqlite::Error),
    /// No account with that e-mail address.
    #[error("no account with e-mail {0:?}")]
    NoAccount(String),
    /// An argument was refused; the text says what to change.
    #[error("invalid input: {0}")]
    Invalid(String),
    /// The TLS certificate or key could not be loaded.
    #[error("TLS setup failed: {0}")]
    Tls(String),
}
