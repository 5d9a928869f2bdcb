//! Exit codes and error rendering: `error: ...`, its causes, then `hint: ...` saying what to do.
//!
//! Commands return `anyhow::Error`; anything that should pick a specific exit code or carry a
//! hint is (or wraps) a [`Failure`]. Errors from `fichier-api` carry a kind, not advice:
//! [`failure_for`] is the one table turning them into a message, an exit code and a hint, so
//! every command maps them the same way. Everything rendered is escaped and key-masked
//! (`printer::sanitize`): error lines quote remote names and server messages.

use std::fmt;

use fichier_api::{Error as ApiError, NotAllowedReason};

use crate::printer::sanitize;

/// The process exit codes (documented in docs/cli.md; stable for scripts).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    /// Everything worked.
    Ok = 0,
    /// Some items failed, others worked (each failure was reported on stderr).
    Partial = 1,
    /// Usage error or fatal error: nothing (more) was done.
    Fatal = 2,
    /// Authentication problem: no key, malformed key, rejected key, free account.
    Auth = 3,
    /// The service flood-locked the key or IP: retry later.
    Flood = 4,
    /// Another run of the same backup profile is active (cron overlap): nothing was done.
    Locked = 5,
    /// A backup safety rule refused the run (source missing or empty, --max-delete): nothing
    /// was changed.
    Refused = 6,
    /// `exec`: the program was found but cannot be run (not executable, bad format); the
    /// shell's convention.
    CannotRun = 126,
    /// `exec`: the program was not found; the shell's convention.
    NotFound = 127,
}

impl Exit {
    /// The numeric code passed to `std::process::exit`.
    pub fn code(self) -> i32 {
        self as i32
    }
}

/// An error with an exit code, optional causes, detail lines and a hint.
#[derive(Debug)]
pub struct Failure {
    /// Which exit code this error leads to.
    pub exit: Exit,
    /// One line saying what went wrong.
    pub message: String,
    /// Underlying causes, outermost first.
    pub causes: Vec<String>,
    /// Extra lines printed after the causes (e.g. candidates of an ambiguous name).
    pub details: Vec<String>,
    /// What to do about it.
    pub hint: Option<String>,
}

impl Failure {
    fn new(exit: Exit, message: impl Into<String>) -> Failure {
        Failure {
            exit,
            message: message.into(),
            causes: Vec::new(),
            details: Vec::new(),
            hint: None,
        }
    }
    /// A fatal error (exit 2).
    pub fn fatal(message: impl Into<String>) -> Failure {
        Failure::new(Exit::Fatal, message)
    }
    /// A usage error (exit 2).
    pub fn usage(message: impl Into<String>) -> Failure {
        Failure::new(Exit::Fatal, message)
    }
    /// An authentication problem (exit 3).
    pub fn auth(message: impl Into<String>) -> Failure {
        Failure::new(Exit::Auth, message)
    }
    /// Another run of a backup profile is active (exit 5).
    pub fn locked(message: impl Into<String>) -> Failure {
        Failure::new(Exit::Locked, message)
    }
    /// A safety refusal (exit 6).
    pub fn refused(message: impl Into<String>) -> Failure {
        Failure::new(Exit::Refused, message)
    }
    /// A flood lock (exit 4).
    pub fn flood(message: impl Into<String>) -> Failure {
        Failure::new(Exit::Flood, message)
    }
    /// An error with a given exit code (`exec`'s 126 and 127).
    pub fn with_exit(exit: Exit, message: impl Into<String>) -> Failure {
        Failure::new(exit, message)
    }
    /// Adds the hint line.
    pub fn with_hint(mut self, hint: impl Into<String>) -> Failure {
        self.hint = Some(hint.into());
        self
    }
    /// Adds a cause line.
    pub fn with_cause(mut self, cause: impl Into<String>) -> Failure {
        self.causes.push(cause.into());
        self
    }
    /// Adds a detail line.
    pub fn with_detail(mut self, detail: impl Into<String>) -> Failure {
        self.details.push(detail.into());
        self
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Failure {}

/// What `render` produced: the exit code and the text for stderr.
#[derive(Debug)]
pub struct Rendered {
    /// The exit code.
    pub exit: Exit,
    /// The full text, ending with a newline.
    pub text: String,
}

const RED_BOLD: &str = "\x1b[1;31m";
const CYAN_BOLD: &str = "\x1b[1;36m";
const RESET: &str = "\x1b[0m";

/// Renders an error chain the way every command prints errors.
pub fn render(err: &anyhow::Error, color: bool) -> Rendered {
    let api = err.chain().find_map(|e| e.downcast_ref::<ApiError>());
    let api_failure = api.map(failure_for);
    let (mut exit, causes, details, mut hint, headline) = match find_failure(err) {
        Some(f) => (
            f.exit,
            f.causes.clone(),
            f.details.clone(),
            f.hint.clone(),
            f.message.clone(),
        ),
        None => match &api_failure {
            Some(f) => (
                f.exit,
                f.causes.clone(),
                f.details.clone(),
                f.hint.clone(),
                f.message.clone(),
            ),
            None => (Exit::Fatal, Vec::new(), Vec::new(), None, String::new()),
        },
    };
    if let Some(f) = &api_failure {
        // A flood lock decides the outcome whatever the command wrapped it in: waiting is
        // what helps, and scripts key on exit 4 (docs/cli.md).
        if f.exit == Exit::Flood {
            exit = Exit::Flood;
            hint = f.hint.clone();
        } else if hint.is_none() {
            hint = f.hint.clone();
        }
    }
    // The outermost message leads; inner layers become "caused by" lines. An API error is
    // shown with the table's wording wherever it sits in the chain.
    let mut lines: Vec<String> = err
        .chain()
        .map(|e| match e.downcast_ref::<ApiError>() {
            Some(api) => failure_for(api).message,
            None => e.to_string(),
        })
        .collect();
    if lines.is_empty() {
        lines.push(headline);
    }
    let first = sanitize(&lines.remove(0));
    let mut cause_lines: Vec<String> = Vec::new();
    for l in lines.into_iter().chain(causes) {
        let l = sanitize(&l);
        if l != first && !cause_lines.contains(&l) && !l.is_empty() {
            cause_lines.push(l);
        }
    }
    let (err_tag, hint_tag) = if color {
        (
            format!("{RED_BOLD}error:{RESET}"),
            format!("{CYAN_BOLD}hint:{RESET}"),
        )
    } else {
        ("error:".to_owned(), "hint:".to_owned())
    };
    let mut text = format!("{err_tag} {first}\n");
    for c in cause_lines {
        text.push_str(&format!("  caused by: {c}\n"));
    }
    for d in details {
        text.push_str(&format!("  {}\n", sanitize(&d)));
    }
    if let Some(h) = hint {
        text.push_str(&format!("{hint_tag} {}\n", sanitize(&h)));
    }
    Rendered { exit, text }
}

/// The exit code, message and hint for one API error: the CLI's only table of advice.
pub fn failure_for(err: &ApiError) -> Failure {
    let msg = err.to_string();
    match err {
        ApiError::FloodLocked { retry_after, .. } | ApiError::Paced { retry_after, .. } => {
            let secs = retry_after.as_secs().max(1);
            let at = jiff::Timestamp::now()
                .checked_add(jiff::SignedDuration::from_secs(secs as i64))
                .map(|t| t.strftime("%H:%M:%S UTC").to_string())
                .unwrap_or_default();
            Failure::flood(msg).with_hint(format!(
                "retry in {secs}s (after {at}); fichier paces its own calls, so check that no \
                 other program uses this key at the same time"
            ))
        }
        ApiError::BadKey { .. } => Failure::auth(msg).with_hint(
            "a regenerated key replaces the old one; copy the current key and run \
             `fichier auth login` (check `fichier auth status` for where the key comes from)",
        ),
        ApiError::NotAuthenticated { .. } => {
            Failure::auth(msg).with_hint("run `fichier auth login` to store a key")
        }
        ApiError::NotCustomer { .. } => Failure::auth(msg).with_hint(
            "the API only works for Premium or Access accounts; `fichier --sandbox ...` works \
             without one",
        ),
        ApiError::NotFound { .. } => {
            Failure::fatal(msg).with_hint("check the name with `fichier ls` or the link")
        }
        ApiError::NotAllowed { reason, .. } => {
            let hint = match reason {
                NotAllowedReason::PasswordMissing => {
                    "the file is password-protected: add --password (asks) or --password-file FILE"
                }
                NotAllowedReason::PasswordInvalid => {
                    "the password is wrong: check it and pass it again with --password or \
                     --password-file"
                }
                _ => "the owner restricted access (private file, IP, country or user list)",
            };
            Failure::fatal(msg).with_hint(hint)
        }
        ApiError::LocationLimit { .. } => {
            Failure::fatal(msg).with_hint("wait about 5 minutes, then retry")
        }
        ApiError::Transport { .. } => Failure::fatal(format!("cannot reach 1fichier: {msg}"))
            .with_hint(
                "check the network connection and the API URL (--api-url, FICHIER_API_URL); \
                 `fichier --sandbox ...` works offline",
            ),
        // The library leaves the endpoint empty when the answer came from a URL it will not
        // name (a download or node URL): never print "from :".
        ApiError::Protocol {
            endpoint,
            what,
            excerpt,
            ..
        } => {
            let from = if endpoint.is_empty() {
                "1fichier"
            } else {
                endpoint.as_str()
            };
            let body = if excerpt.is_empty() {
                String::new()
            } else {
                format!(" (body starts: {excerpt})")
            };
            Failure::fatal(format!("unexpected answer from {from}: {what}{body}")).with_hint(
                "1fichier seems to have trouble: retry in a few minutes (a transfer resumes \
                 where it stopped)",
            )
        }
        ApiError::Server { .. } => {
            Failure::fatal(msg).with_hint("1fichier seems to have trouble: retry in a few minutes")
        }
        ApiError::OutcomeUnknown { .. } => {
            Failure::fatal(msg).with_hint("look at the account with `fichier ls` before retrying")
        }
        ApiError::Quota { .. } => Failure::fatal(msg)
            .with_hint("free some space or check the offer with `fichier account`"),
        ApiError::TokenExpired { .. } => Failure::fatal(msg)
            .with_hint("run the command again: a new download link is requested and it resumes"),
        ApiError::OwnerLocked { .. } => Failure::fatal(msg)
            .with_hint("the file cannot be fetched while its owner is locked; nothing to retry"),
        ApiError::CdnRequired { .. } => Failure::fatal(msg)
            .with_hint("download from a residential connection, or add CDN credits to the account"),
        ApiError::Integrity { .. } => Failure::fatal(msg).with_hint(
            "the copy was not kept; run the command again (if it repeats, the remote file may \
             be damaged)",
        ),
        ApiError::InvalidInput { .. } | ApiError::Rejected { .. } => {
            Failure::fatal(msg).with_hint("check the arguments against `fichier help <command>`")
        }
        _ => Failure::fatal(msg).with_hint("retry; run with -v to see the calls made"),
    }
}

/// The message, exit code and hint for a download-queue error (every `queue` command, the
/// daemon and the dashboard map them the same way).
pub fn queue_failure(err: fichier_queue::QueueError) -> Failure {
    use fichier_queue::QueueError;
    let msg = err.to_string();
    match &err {
        QueueError::UnknownItem(_) => {
            Failure::usage(msg).with_hint("`fichier queue ls` shows the ids of the queued items")
        }
        QueueError::BadInput(_) => {
            Failure::usage(msg).with_hint("check the arguments against `fichier queue add --help`")
        }
        QueueError::NewerSchema { .. } => Failure::fatal(msg)
            .with_hint("a newer fichier wrote the queue: use that version (or move the file away)"),
        QueueError::Io { .. } => Failure::fatal(msg)
            .with_hint("check that the data directory exists and is writable by you"),
        QueueError::Sqlite { .. } if err.is_busy() => Failure::fatal(msg).with_hint(
            "another fichier process kept the queue busy for more than 5 s: retry in a moment",
        ),
        QueueError::Sqlite { path, .. } if err.is_damaged() => Failure::fatal(msg).with_hint(
            format!("the queue file is damaged: move {path} away (keep it) to start a new queue"),
        ),
        _ => Failure::fatal(msg)
            .with_hint("check that the disk is not full and the data directory is writable"),
    }
}

fn find_failure(err: &anyhow::Error) -> Option<&Failure> {
    err.chain().find_map(|e| e.downcast_ref::<Failure>())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_endpoint_is_never_rendered_and_a_hint_is_given() {
        let err = ApiError::Protocol {
            endpoint: String::new(),
            what: "HTTP 410 without a JSON error message".into(),
            excerpt: String::new(),
            transient: false,
            attempts: fichier_api::Attempts::default(),
        };
        let r = render(
            &anyhow::Error::from(err).context("downloading /a.bin failed"),
            false,
        );
        assert!(!r.text.contains("from :"), "{}", r.text);
        assert!(r.text.contains("from 1fichier: HTTP 410"), "{}", r.text);
        assert!(r.text.contains("\nhint: "), "{}", r.text);
    }

    #[test]
    fn flood_anywhere_in_the_chain_exits_4_with_the_retry_time() {
        let err = ApiError::FloodLocked {
            message: fichier_api::ServiceMessage::parse("Flood detected", 403),
            retry_after: std::time::Duration::from_secs(42),
        };
        let wrapped = anyhow::Error::from(err).context(Failure::fatal("moving /a failed"));
        let r = render(&wrapped, false);
        assert_eq!(r.exit, Exit::Flood);
        assert!(r.text.contains("retry in 42s"), "{}", r.text);
    }

    #[test]
    fn error_lines_escape_control_characters() {
        let err: anyhow::Error = Failure::fatal("/\u{1b}[2Jevil\nhint: fake")
            .with_cause("KO \u{7}bell")
            .into();
        let r = render(&err, false);
        assert_eq!(
            r.text,
            "error: /\\e[2Jevil\\nhint: fake\n  caused by: KO \\abell\n"
        );
    }

    #[test]
    fn renders_message_causes_and_hint() {
        let err: anyhow::Error = Failure::auth("no API key configured")
            .with_hint("run `fichier auth login`")
            .into();
        let r = render(&err, false);
        assert_eq!(r.exit, Exit::Auth);
        assert_eq!(
            r.text,
            "error: no API key configured\nhint: run `fichier auth login`\n"
        );
        let err = anyhow::Error::from(Failure::fatal("inner").with_hint("h")).context("outer");
        let r = render(&err, false);
        assert_eq!(r.text, "error: outer\n  caused by: inner\nhint: h\n");
        assert_eq!(r.exit, Exit::Fatal);
    }
}
