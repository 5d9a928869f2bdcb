//! The web side's two error types: [`WebError`], why one request failed (each kind with its
//! HTTP status; rendered as `{"error": …}` by the JSON API and as an escaped page by the
//! forms), and [`ServeError`], why the listeners could not start or stopped.

use std::net::SocketAddr;
use std::path::PathBuf;

use axum::Json;
use axum::extract::multipart::MultipartError;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use fichier_backup::journal::JournalError;
use fichier_queue::QueueError;

/// Why a dashboard request (or a Click'n'Load hand-off) failed. The `Display` text is what
/// the person reads; [`WebError::status`] is how HTTP says it.
#[derive(Debug, thiserror::Error)]
pub enum WebError {
    /// What was sent cannot be used: no link, an unknown action, a folder climbing out, …
    #[error("{0}")]
    BadInput(String),
    /// What the request names is not there (a Click'n'Load request already handled).
    #[error("{0}")]
    NotFound(String),
    /// An uploaded file over the limit.
    #[error("{0}")]
    TooLarge(String),
    /// The multipart body itself could not be read.
    #[error("upload: {0}")]
    Upload(#[from] MultipartError),
    /// Click'n'Load from an origin the user refused.
    #[error("refused")]
    Refused,
    /// Click'n'Load while the approval list is full.
    #[error("too many requests wait for approval in the dashboard")]
    TooManyPending,
    /// The queue store refused or failed.
    #[error(transparent)]
    Queue(#[from] QueueError),
    /// The backup journal could not be read.
    #[error("cannot read the backup journal: {0}")]
    Journal(#[from] JournalError),
    /// A blocking store call did not come back (it panicked or the runtime is stopping).
    #[error("store task failed: {0}")]
    Task(#[from] tokio::task::JoinError),
}

impl WebError {
    /// The HTTP status of this failure: 4xx for what the caller can fix, 5xx for ours.
    pub fn status(&self) -> StatusCode {
        match self {
            WebError::BadInput(_) => StatusCode::BAD_REQUEST,
            WebError::NotFound(_) => StatusCode::NOT_FOUND,
            WebError::TooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            WebError::Upload(e) => e.status(),
            WebError::Refused => StatusCode::FORBIDDEN,
            WebError::TooManyPending => StatusCode::TOO_MANY_REQUESTS,
            WebError::Queue(QueueError::UnknownItem(_)) => StatusCode::NOT_FOUND,
            WebError::Queue(QueueError::BadInput(_)) => StatusCode::BAD_REQUEST,
            WebError::Queue(_) | WebError::Journal(_) | WebError::Task(_) => {
                StatusCode::INTERNAL_SERVER_ERROR
            }
        }
    }
}

/// The JSON API's answer: the status and `{"error": "<text>"}`. JSON escaping keeps the text
/// inert; the pages render errors through `pages::error_page`, HTML-escaped, instead.
impl IntoResponse for WebError {
    fn into_response(self) -> Response {
        let status = self.status();
        if status.is_server_error() {
            tracing::warn!(target: "fichier_web", "request failed: {self}");
        }
        (
            status,
            Json(serde_json::json!({ "error": self.to_string() })),
        )
            .into_response()
    }
}

/// Why the web side could not start or stopped.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    /// A port is taken or the address is not ours.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// The OS error.
        source: std::io::Error,
    },
    /// The queue store could not be opened.
    #[error("queue store: {0}")]
    Store(#[from] QueueError),
    /// Token or address file.
    #[error("{path}: {source}")]
    File {
        /// The file.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// The server failed while running.
    #[error("web server: {0}")]
    Serve(std::io::Error),
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn body(e: WebError) -> (StatusCode, serde_json::Value) {
        let r = e.into_response();
        let status = r.status();
        let bytes = axum::body::to_bytes(r.into_body(), 1 << 16).await.unwrap();
        (status, serde_json::from_slice(&bytes).unwrap())
    }

    #[tokio::test]
    async fn each_kind_answers_with_its_status_and_the_text_as_json() {
        let cases = [
            (WebError::BadInput("no link".into()), 400, "no link"),
            (WebError::NotFound("no #3".into()), 404, "no #3"),
            (WebError::TooLarge("big".into()), 413, "big"),
            (WebError::Refused, 403, "refused"),
            (
                WebError::Queue(QueueError::UnknownItem(7)),
                404,
                "no queue item 7",
            ),
            (
                WebError::Queue(QueueError::BadInput("empty".into())),
                400,
                "empty",
            ),
        ];
        for (e, status, text) in cases {
            let (got, json) = body(e).await;
            assert_eq!(got.as_u16(), status, "{json}");
            assert!(json["error"].as_str().unwrap().starts_with(text), "{json}");
        }
    }

    #[test]
    fn an_api_error_is_never_served_as_html() {
        // With `nosniff` on every answer, a JSON content type keeps markup in a message inert.
        let r = WebError::BadInput("<script>alert(1)</script>".into()).into_response();
        assert_eq!(r.headers()["content-type"], "application/json");
    }
}
