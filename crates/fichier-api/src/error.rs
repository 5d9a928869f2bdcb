//! The one public error enum and the one function that classifies service answers into it.
//!
//! Classification reads the message text first (the `#NNN` suffixes are location markers in the
//! service's code, not stable error classes), then the HTTP status. Every variant says whether a
//! retry can help ([`Error::is_retryable`]) and keeps the service's code and message.

use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

/// A `KO` answer from the service, as sent: the message text, its `#NNN` code, the HTTP status.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceMessage {
    /// The message without its trailing `#NNN` (for example `Flood detected: IP Locked`).
    pub text: String,
    /// The number after `#`, when present. A hint only: the same text comes with several numbers.
    pub code: Option<u32>,
    /// HTTP status of the answer (the service uses 403 for most errors, 404 for not found).
    pub http_status: u16,
}

impl ServiceMessage {
    /// Splits a raw `message` into text and `#NNN` code.
    pub fn parse(raw: &str, http_status: u16) -> ServiceMessage {
        let raw = raw.trim();
        if let Some(idx) = raw.rfind('#') {
            let digits = raw[idx + 1..].trim();
            if !digits.is_empty() && digits.len() <= 6 && digits.bytes().all(|b| b.is_ascii_digit())
            {
                return ServiceMessage {
                    text: raw[..idx].trim_end().to_owned(),
                    code: digits.parse().ok(),
                    http_status,
                };
            }
        }
        ServiceMessage {
            text: raw.to_owned(),
            code: None,
            http_status,
        }
    }
}

impl fmt::Display for ServiceMessage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.code {
            Some(code) => write!(f, "{} #{code}", self.text),
            None => f.write_str(&self.text),
        }
    }
}

/// How many attempts a call made before its final error, and over how long (shown in the
/// message when there was more than one).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Attempts {
    /// Attempts made, the first included (0 when not counted).
    pub count: u32,
    /// Time from the first attempt to the final failure.
    pub elapsed: Duration,
}

impl fmt::Display for Attempts {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.count > 1 {
            write!(
                f,
                " (after {} attempts over {:.1}s)",
                self.count,
                self.elapsed.as_secs_f64()
            )?;
        }
        Ok(())
    }
}

/// Why access to a resource was refused (a sub-case of [`Error::NotAllowed`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum NotAllowedReason {
    /// The file or folder has a password and none was given.
    PasswordMissing,
    /// The password given is wrong.
    PasswordInvalid,
    /// Access control (IP, country, user list, premium only) or a private resource.
    Restricted,
}

/// The coarse class of an [`Error`], for mapping to exit codes and hints without matching
/// every field.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorKind {
    /// See [`Error::FloodLocked`].
    FloodLocked,
    /// See [`Error::Paced`].
    Paced,
    /// See [`Error::BadKey`].
    BadKey,
    /// See [`Error::NotAuthenticated`].
    NotAuthenticated,
    /// See [`Error::NotCustomer`].
    NotCustomer,
    /// See [`Error::NotFound`].
    NotFound,
    /// See [`Error::NotAllowed`].
    NotAllowed,
    /// See [`Error::OwnerLocked`].
    OwnerLocked,
    /// See [`Error::LocationLimit`].
    LocationLimit,
    /// See [`Error::CdnRequired`].
    CdnRequired,
    /// See [`Error::Quota`].
    Quota,
    /// See [`Error::InvalidInput`].
    InvalidInput,
    /// See [`Error::Rejected`].
    Rejected,
    /// See [`Error::Server`].
    Server,
    /// See [`Error::Protocol`].
    Protocol,
    /// See [`Error::TokenExpired`].
    TokenExpired,
    /// See [`Error::Integrity`].
    Integrity,
    /// See [`Error::OutcomeUnknown`].
    OutcomeUnknown,
    /// See [`Error::Transport`].
    Transport,
    /// See [`Error::Io`].
    Io,
}

/// Every failure of the library. Match on the variant (or on [`Error::kind`]) to act.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The service answered `Flood detected … Locked`: the client now waits `retry_after`
    /// before sending anything else (the cooldown doubles on repeated floods).
    #[error("1fichier flood protection locked this key or IP ({message}); waiting {}s before the next call", retry_after.as_secs())]
    FloodLocked {
        /// The service's answer.
        message: ServiceMessage,
        /// How long the client's cooldown lasts from the moment of the answer.
        retry_after: Duration,
    },
    /// The local pacer refused to send a call that would break a documented per-endpoint
    /// window (for example the whole-account listing, once per hour) instead of waiting that
    /// long. Nothing was sent.
    #[error("{endpoint} may be called again in {}s (1fichier limit); nothing was sent", retry_after.as_secs())]
    Paced {
        /// The endpoint path, e.g. `file/ls.cgi`.
        endpoint: &'static str,
        /// Time until the call is allowed.
        retry_after: Duration,
    },
    /// The key is unknown or the account is locked pending a password reset (`No such user`).
    #[error(
        "the API key was refused ({message}): create a new key on https://1fichier.com/console/params.pl"
    )]
    BadKey {
        /// The service's answer.
        message: ServiceMessage,
    },
    /// No usable authentication (`Not authenticated`, HTTP 401, or no key configured).
    #[error("not authenticated ({message}): an API key is required for this call")]
    NotAuthenticated {
        /// The service's answer (or a local note when no key was configured).
        message: ServiceMessage,
    },
    /// The account has no Premium/Access offer (`Must be a customer`).
    #[error(
        "this 1fichier account is not a customer ({message}): the API needs a Premium or Access offer"
    )]
    NotCustomer {
        /// The service's answer.
        message: ServiceMessage,
    },
    /// The file, folder or job does not exist (`Resource not found`, HTTP 404).
    #[error("not found ({message})")]
    NotFound {
        /// The service's answer.
        message: ServiceMessage,
    },
    /// Access refused: password missing or wrong, ACL, private resource.
    #[error("access not allowed ({message})")]
    NotAllowed {
        /// What kind of refusal it was.
        reason: NotAllowedReason,
        /// The service's answer.
        message: ServiceMessage,
    },
    /// The owner of the file is banned (`Owner locked`).
    #[error("the owner of this file is locked by 1fichier ({message})")]
    OwnerLocked {
        /// The service's answer.
        message: ServiceMessage,
    },
    /// The account is being used from too many places (`Only N location(s) allowed at a time`).
    #[error("the account is in use from another location ({message}); wait a few minutes")]
    LocationLimit {
        /// The service's answer.
        message: ServiceMessage,
    },
    /// Premium downloads refused from a VPN/datacenter IP without CDN credits.
    #[error("1fichier refuses Premium downloads from this IP without CDN credits ({message})")]
    CdnRequired {
        /// The service's answer.
        message: ServiceMessage,
    },
    /// Over quota, or uploads forbidden on the account.
    #[error("storage quota exceeded or uploads forbidden ({message})")]
    Quota {
        /// The service's answer.
        message: ServiceMessage,
    },
    /// The request was invalid: refused locally before sending (`message.http_status` is 0),
    /// or refused by the service with a message saying the input was wrong.
    #[error("invalid input: {message}")]
    InvalidInput {
        /// What was wrong.
        message: ServiceMessage,
    },
    /// The service answered `KO` with a message this library does not recognise.
    #[error("1fichier refused the request ({message})")]
    Rejected {
        /// The service's answer.
        message: ServiceMessage,
    },
    /// A 5xx (or 429) answer without a recognised message: usually temporary.
    #[error("1fichier server error (HTTP {status}){}{attempts}", if excerpt.is_empty() { String::new() } else { format!(": {excerpt}") })]
    Server {
        /// HTTP status.
        status: u16,
        /// The start of the body, redacted.
        excerpt: String,
        /// The attempts made before giving up.
        attempts: Attempts,
    },
    /// The answer did not have the documented shape (HTML instead of JSON, missing fields,
    /// an empty upload report, a 200 to a ranged request…).
    #[error("unexpected answer from {endpoint}: {what}{}{attempts}", if excerpt.is_empty() { String::new() } else { format!(" (body starts: {excerpt})") })]
    Protocol {
        /// Which call or URL kind (never a URL carrying a token).
        endpoint: String,
        /// What was wrong.
        what: String,
        /// The start of the body, with the key and token URLs redacted.
        excerpt: String,
        /// Whether trying again may help: true for answers that look like a temporary page
        /// (HTML instead of JSON, a cut body, an upload report not ready), false for answers
        /// with a wrong shape.
        transient: bool,
        /// The attempts made before giving up.
        attempts: Attempts,
    },
    /// The download URL (token) expired or was refused: request a new token and resume.
    #[error("the download URL expired or was refused (HTTP {status}); a new token is needed")]
    TokenExpired {
        /// HTTP status of the refusal (403, 404 or 410 usually).
        status: u16,
    },
    /// Transferred data does not match what the service reports (size or whirlpool).
    #[error("integrity check failed for {what}: expected {expected}, got {actual}")]
    Integrity {
        /// What was checked (for example `whirlpool of "a.bin"`).
        what: String,
        /// The expected value.
        expected: String,
        /// The value found.
        actual: String,
    },
    /// A mutation failed in a way that leaves unknown whether the service applied it, and
    /// its state could not be checked automatically. Check before re-sending.
    #[error(
        "{endpoint} may or may not have been applied ({source}); check the account before retrying"
    )]
    OutcomeUnknown {
        /// The endpoint path.
        endpoint: &'static str,
        /// The failure that made the outcome unknown.
        source: Box<Error>,
    },
    /// Network failure: DNS, connect, TLS, timeout, connection reset. The message names the
    /// call, never a URL (token URLs are secrets for five minutes).
    #[error("network error during {during}: {source}{attempts}")]
    Transport {
        /// Which call or transfer.
        during: String,
        /// The underlying error, stripped of its URL.
        #[source]
        source: reqwest::Error,
        /// The attempts made before giving up.
        attempts: Attempts,
    },
    /// Local file or stream I/O failed.
    #[error("I/O error{}: {source}", path.as_ref().map(|p| format!(" on {}", p.display())).unwrap_or_default())]
    Io {
        /// The file involved, when there is one.
        path: Option<PathBuf>,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
}

/// Shorthand for results of this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// The coarse class of this error.
    pub fn kind(&self) -> ErrorKind {
        match self {
            Error::FloodLocked { .. } => ErrorKind::FloodLocked,
            Error::Paced { .. } => ErrorKind::Paced,
            Error::BadKey { .. } => ErrorKind::BadKey,
            Error::NotAuthenticated { .. } => ErrorKind::NotAuthenticated,
            Error::NotCustomer { .. } => ErrorKind::NotCustomer,
            Error::NotFound { .. } => ErrorKind::NotFound,
            Error::NotAllowed { .. } => ErrorKind::NotAllowed,
            Error::OwnerLocked { .. } => ErrorKind::OwnerLocked,
            Error::LocationLimit { .. } => ErrorKind::LocationLimit,
            Error::CdnRequired { .. } => ErrorKind::CdnRequired,
            Error::Quota { .. } => ErrorKind::Quota,
            Error::InvalidInput { .. } => ErrorKind::InvalidInput,
            Error::Rejected { .. } => ErrorKind::Rejected,
            Error::Server { .. } => ErrorKind::Server,
            Error::Protocol { .. } => ErrorKind::Protocol,
            Error::TokenExpired { .. } => ErrorKind::TokenExpired,
            Error::Integrity { .. } => ErrorKind::Integrity,
            Error::OutcomeUnknown { .. } => ErrorKind::OutcomeUnknown,
            Error::Transport { .. } => ErrorKind::Transport,
            Error::Io { .. } => ErrorKind::Io,
        }
    }

    /// Whether trying the same thing again later can succeed (flood, pacing, location limit,
    /// server errors, network errors, integrity failures of a transfer). Auth, quota, not-found
    /// and permission errors need the user to change something first.
    pub fn is_retryable(&self) -> bool {
        match self {
            Error::FloodLocked { .. }
            | Error::Paced { .. }
            | Error::LocationLimit { .. }
            | Error::Server { .. }
            | Error::Transport { .. }
            | Error::TokenExpired { .. }
            | Error::Integrity { .. } => true,
            Error::Protocol { transient, .. } => *transient,
            _ => false,
        }
    }

    /// How long to wait before a retry can help, when the library knows it.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            Error::FloodLocked { retry_after, .. } | Error::Paced { retry_after, .. } => {
                Some(*retry_after)
            }
            Error::LocationLimit { .. } => Some(Duration::from_secs(300)),
            Error::OutcomeUnknown { source, .. } => source.retry_after(),
            _ => None,
        }
    }

    /// The service's answer, when the error comes from a `KO` message.
    pub fn service_message(&self) -> Option<&ServiceMessage> {
        match self {
            Error::FloodLocked { message, .. }
            | Error::BadKey { message }
            | Error::NotAuthenticated { message }
            | Error::NotCustomer { message }
            | Error::NotFound { message }
            | Error::NotAllowed { message, .. }
            | Error::OwnerLocked { message }
            | Error::LocationLimit { message }
            | Error::CdnRequired { message }
            | Error::Quota { message }
            | Error::InvalidInput { message }
            | Error::Rejected { message } => Some(message),
            Error::OutcomeUnknown { source, .. } => source.service_message(),
            _ => None,
        }
    }

    /// The service's `#NNN` number, when there is one.
    pub fn code(&self) -> Option<u32> {
        self.service_message().and_then(|m| m.code)
    }

    /// The service's message text (without `#NNN`), when there is one.
    pub fn message(&self) -> Option<&str> {
        self.service_message().map(|m| m.text.as_str())
    }

    /// The HTTP status of the answer, when the error comes from one.
    pub fn http_status(&self) -> Option<u16> {
        match self {
            Error::Server { status, .. } => Some(*status),
            Error::Transport { source, .. } => source.status().map(|s| s.as_u16()),
            _ => self
                .service_message()
                .map(|m| m.http_status)
                .filter(|s| *s != 0),
        }
    }

    /// A local invalid-input error (nothing was sent).
    pub(crate) fn invalid_input(text: impl Into<String>) -> Error {
        Error::InvalidInput {
            message: ServiceMessage {
                text: text.into(),
                code: None,
                http_status: 0,
            },
        }
    }

    /// A transport error, with the URL removed (token URLs are secret).
    pub(crate) fn transport(during: impl Into<String>, source: reqwest::Error) -> Error {
        Error::Transport {
            during: during.into(),
            source: source.without_url(),
            attempts: Attempts::default(),
        }
    }

    /// An I/O error on a path.
    pub(crate) fn io(path: Option<PathBuf>, source: std::io::Error) -> Error {
        Error::Io { path, source }
    }

    /// A protocol error with a redacted excerpt.
    pub(crate) fn protocol(
        endpoint: impl Into<String>,
        what: impl Into<String>,
        body: &[u8],
    ) -> Error {
        Error::protocol_with(endpoint.into(), what.into(), body, false)
    }

    /// A protocol error that may go away on a retry (HTML page, cut body, report not ready).
    pub(crate) fn protocol_transient(
        endpoint: impl Into<String>,
        what: impl Into<String>,
        body: &[u8],
    ) -> Error {
        Error::protocol_with(endpoint.into(), what.into(), body, true)
    }

    fn protocol_with(endpoint: String, what: String, body: &[u8], transient: bool) -> Error {
        Error::Protocol {
            endpoint,
            what,
            excerpt: excerpt(body),
            transient,
            attempts: Attempts::default(),
        }
    }

    /// The attempts made before this final error, when the call retried.
    pub fn attempts(&self) -> Option<Attempts> {
        match self {
            Error::Transport { attempts, .. }
            | Error::Server { attempts, .. }
            | Error::Protocol { attempts, .. } => Some(*attempts).filter(|a| a.count > 1),
            Error::OutcomeUnknown { source, .. } => source.attempts(),
            _ => None,
        }
    }

    /// Records the attempts made (on the errors a retry is made for).
    pub(crate) fn with_attempts(mut self, made: Attempts) -> Error {
        match &mut self {
            Error::Transport { attempts, .. }
            | Error::Server { attempts, .. }
            | Error::Protocol { attempts, .. } => *attempts = made,
            _ => {}
        }
        self
    }

    /// Whether the request never reached the service (connection refused, DNS failure,
    /// a request that could not be built): it used none of the service's budget.
    pub(crate) fn never_sent(&self) -> bool {
        match self {
            Error::Transport { source, .. } => source.is_connect() || source.is_builder(),
            _ => false,
        }
    }

    /// Whether the request that produced this error may have been applied by the service.
    /// Answers with a `KO` body were not applied; connection failures before sending were not.
    pub(crate) fn is_ambiguous(&self) -> bool {
        match self {
            Error::Transport { source, .. } => !source.is_connect() && !source.is_builder(),
            Error::Server { .. } | Error::Protocol { .. } => true,
            _ => false,
        }
    }
}

/// Classifies a `KO` message (or an error status without message) into an [`Error`].
///
/// This is the only classification function: message text first, HTTP status second.
/// `body` is used only for an excerpt when no message is available; it must already be
/// redacted by the caller.
pub fn classify(http_status: u16, message: Option<&str>, body: &[u8]) -> Error {
    if let Some(raw) = message.filter(|m| !m.trim().is_empty()) {
        let message = ServiceMessage::parse(raw, http_status);
        let t = message.text.to_ascii_lowercase();
        if t.contains("flood") {
            // The pacer replaces this with the cooldown it actually starts.
            return Error::FloodLocked {
                message,
                retry_after: Duration::from_secs(60),
            };
        }
        if t.contains("no such user") {
            return Error::BadKey { message };
        }
        if t.contains("not authenticated") || t.contains("invalid key") {
            return Error::NotAuthenticated { message };
        }
        if t.contains("must be a customer") {
            return Error::NotCustomer { message };
        }
        if t.contains("owner locked") {
            return Error::OwnerLocked { message };
        }
        if t.contains("location") && t.contains("allowed at a time") {
            return Error::LocationLimit { message };
        }
        if t.contains("use cdn credits")
            || t.contains("must have cdn")
            || t.contains("residential private")
        {
            return Error::CdnRequired { message };
        }
        if t.contains("password not provided") {
            return Error::NotAllowed {
                reason: NotAllowedReason::PasswordMissing,
                message,
            };
        }
        if t.contains("invalid password") || t.contains("wrong password") {
            return Error::NotAllowed {
                reason: NotAllowedReason::PasswordInvalid,
                message,
            };
        }
        if t.contains("not allowed") || (t.contains("forbidden") && !t.contains("upload")) {
            return Error::NotAllowed {
                reason: NotAllowedReason::Restricted,
                message,
            };
        }
        if t.contains("not found")
            || t.contains("does not exist")
            || t.contains("doesn't exist")
            || t.contains("no such file")
            || t.contains("no such folder")
            || t.contains("unknown")
        {
            return Error::NotFound { message };
        }
        if t.contains("quota") || t.contains("upload forbidden") || t.contains("uploads forbidden")
        {
            return Error::Quota { message };
        }
        if t.contains("invalid")
            || t.contains("missing")
            || t.contains("too long")
            || t.contains("no file has been")
            || t.contains("not empty")
            || t.contains("bad ")
            || t.contains("must ")
        {
            return Error::InvalidInput { message };
        }
        // Unrecognised text: fall back on the status.
        return match http_status {
            401 => Error::NotAuthenticated { message },
            404 => Error::NotFound { message },
            429 => Error::FloodLocked {
                message,
                retry_after: Duration::from_secs(60),
            },
            500..=599 => Error::Server {
                status: http_status,
                excerpt: message.to_string(),
                attempts: Attempts::default(),
            },
            _ => Error::Rejected { message },
        };
    }
    let message = |text: &str| ServiceMessage {
        text: text.to_owned(),
        code: None,
        http_status,
    };
    match http_status {
        401 => Error::NotAuthenticated {
            message: message("HTTP 401"),
        },
        404 => Error::NotFound {
            message: message("HTTP 404"),
        },
        429 => Error::FloodLocked {
            message: message("HTTP 429 Too Many Requests"),
            retry_after: Duration::from_secs(60),
        },
        500..=599 => Error::Server {
            status: http_status,
            excerpt: excerpt(body),
            attempts: Attempts::default(),
        },
        _ => Error::Protocol {
            endpoint: String::new(),
            what: format!("HTTP {http_status} without a JSON error message"),
            excerpt: excerpt(body),
            transient: false,
            attempts: Attempts::default(),
        },
    }
}

/// The first 200 characters of a body, on one line. Bodies are redacted by the caller;
/// token URLs (`/…` paths on download hosts) are not expected in error bodies.
pub(crate) fn excerpt(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    let one_line: String = text.split_whitespace().collect::<Vec<_>>().join(" ");
    let mut out: String = one_line.chars().take(200).collect();
    if one_line.chars().count() > 200 {
        out.push('…');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_code() {
        let m = ServiceMessage::parse("Flood detected: IP Locked #374", 403);
        assert_eq!(m.text, "Flood detected: IP Locked");
        assert_eq!(m.code, Some(374));
        assert_eq!(m.to_string(), "Flood detected: IP Locked #374");
        let m = ServiceMessage::parse("Folder removed", 200);
        assert_eq!(m.code, None);
    }

    #[test]
    fn text_wins_over_status() {
        assert_eq!(
            classify(200, Some("Resource not found #469"), b"").kind(),
            ErrorKind::NotFound
        );
        assert_eq!(
            classify(404, Some("Owner locked #649"), b"").kind(),
            ErrorKind::OwnerLocked
        );
        assert_eq!(
            classify(403, Some("Something new #1"), b"").kind(),
            ErrorKind::Rejected
        );
        assert_eq!(
            classify(404, Some("Something new #1"), b"").kind(),
            ErrorKind::NotFound
        );
        assert_eq!(
            classify(502, None, b"<html>bad gateway</html>").kind(),
            ErrorKind::Server
        );
        assert_eq!(classify(403, None, b"<html>").kind(), ErrorKind::Protocol);
        assert!(!classify(403, None, b"<html>").is_retryable());
        let e = classify(429, None, b"");
        assert_eq!((e.kind(), e.is_retryable()), (ErrorKind::FloodLocked, true));
        assert_eq!(classify(401, None, b"").kind(), ErrorKind::NotAuthenticated);
        assert_eq!(
            classify(403, Some("Flood detected: User APK Locked #0"), b"").kind(),
            ErrorKind::FloodLocked
        );
        assert_eq!(
            classify(403, Some("Only 2 locations allowed at a time #887"), b"").kind(),
            ErrorKind::LocationLimit
        );
    }
}
