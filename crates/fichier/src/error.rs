//! Exit codes, the CLI's one table of advice, and error rendering: `error: ...`, its causes,
//! then `hint: ...` saying what to do.
//!
//! Commands return `anyhow::Error`; anything that should pick a specific exit code or carry a
//! hint is (or wraps) a [`Failure`]. The libraries' errors carry kinds and data, never advice
//! (a test pins it: `tests/cli/advice_rule.rs`): this module is the only place that turns them
//! into hints naming commands and flags: [`failure_for`] for API errors, [`transfer_hint`]
//! for the engine's per-file errors (worded for the command that met them, see [`Via`]),
//! [`backup_failure`] and [`remote_failure`] for backups, [`queue_failure`] and
//! [`queue_stop`] for the download queue. Every line rendered goes through
//! `printer::tagged` (escaped and key-masked): error lines quote remote names and server
//! messages.

use std::fmt;
use std::time::Duration;

use fichier_api::{Error as ApiError, ErrorKind, NotAllowedReason};
use fichier_backup::plan::PlanError;
use fichier_backup::{RemoteError, RunError};
use fichier_queue::runner::StopReason;
use fichier_queue::schedule::PauseKind;
use fichier_transfer::{ErrorClass, Problem, TransferError};

use crate::printer::{Tag, sanitize, tagged};

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
    let first = lines.remove(0);
    let shown_first = sanitize(&first);
    let mut cause_lines: Vec<String> = Vec::new();
    for l in lines.into_iter().chain(causes) {
        let l = sanitize(&l);
        if l != shown_first && !cause_lines.contains(&l) && !l.is_empty() {
            cause_lines.push(l);
        }
    }
    let mut text = tagged(Tag::Error, &first, color);
    for c in cause_lines {
        text.push_str(&format!("  caused by: {c}\n"));
    }
    for d in details {
        text.push_str(&format!("  {}\n", sanitize(&d)));
    }
    if let Some(h) = hint {
        text.push_str(&tagged(Tag::Hint, &h, color));
    }
    Rendered { exit, text }
}

/// The exit code, message and hint for one API error (the message in the CLI's words, the
/// hint from [`api_hint`], the table every command shares).
pub fn failure_for(err: &ApiError) -> Failure {
    let msg = err.to_string();
    let failure = match err {
        ApiError::FloodLocked { .. } | ApiError::Paced { .. } => Failure::flood(msg),
        ApiError::BadKey { .. }
        | ApiError::NotAuthenticated { .. }
        | ApiError::NotCustomer { .. } => Failure::auth(msg),
        ApiError::Transport { .. } => Failure::fatal(format!("cannot reach 1fichier: {msg}")),
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
            Failure::fatal(format!("unexpected answer from {from}: {what}{body}"))
        }
        _ => Failure::fatal(msg),
    };
    // A refusal says why: the hint for a password differs from the one for an access list.
    let hint = match err {
        ApiError::NotAllowed { reason, .. } => match reason {
            NotAllowedReason::PasswordMissing => Some(
                "the file is password-protected: add --password (asks) or --password-file FILE"
                    .to_owned(),
            ),
            NotAllowedReason::PasswordInvalid => Some(
                "the password is wrong: check it and pass it again with --password or \
                 --password-file"
                    .to_owned(),
            ),
            _ => Some(
                "the owner restricted access (private file, IP, country or user list)".to_owned(),
            ),
        },
        _ => api_hint(err.kind(), err.retry_after()),
    };
    failure.with_hint(hint.unwrap_or_else(|| "retry; run with -v to see the calls made".into()))
}

/// The hint for an API error of this kind: the one table behind [`failure_for`] and the
/// engine's per-file errors ([`transfer_hint`]), which know the kind but not the error.
fn api_hint(kind: ErrorKind, retry_after: Option<Duration>) -> Option<String> {
    let text = match kind {
        ErrorKind::FloodLocked | ErrorKind::Paced => return Some(flood_hint(retry_after)),
        ErrorKind::BadKey => {
            "a regenerated key replaces the old one; copy the current key and run \
             `fichier auth login` (check `fichier auth status` for where the key comes from)"
        }
        ErrorKind::NotAuthenticated => "run `fichier auth login` to store a key",
        ErrorKind::NotCustomer => {
            "the API only works for Premium or Access accounts; `fichier --sandbox ...` works \
             without one"
        }
        ErrorKind::NotFound => "check the name with `fichier ls` or the link",
        ErrorKind::NotAllowed => {
            "the file is password-protected (give it with --password or --password-file), or \
             its owner restricted access"
        }
        ErrorKind::LocationLimit => "wait about 5 minutes, then retry",
        ErrorKind::Transport => {
            "check the network connection and the API URL (--api-url, FICHIER_API_URL); \
             `fichier --sandbox ...` works offline"
        }
        ErrorKind::Protocol => {
            "1fichier seems to have trouble: retry in a few minutes (a transfer resumes where \
             it stopped)"
        }
        ErrorKind::Server => "1fichier seems to have trouble: retry in a few minutes",
        ErrorKind::OutcomeUnknown => "look at the account with `fichier ls` before retrying",
        ErrorKind::Quota => "free some space or check the offer with `fichier account`",
        ErrorKind::TokenExpired => {
            "run the command again: a new download link is requested and it resumes"
        }
        ErrorKind::OwnerLocked => {
            "the file cannot be fetched while its owner is locked; nothing to retry"
        }
        ErrorKind::CdnRequired => {
            "download from a residential connection, or add CDN credits to the account"
        }
        ErrorKind::Integrity => {
            "the copy was not kept; run the command again (if it repeats, the remote file may \
             be damaged)"
        }
        ErrorKind::InvalidInput | ErrorKind::Rejected => {
            "check the arguments against `fichier help <command>`"
        }
        _ => return None,
    };
    Some(text.to_owned())
}

/// "retry in Ns (after HH:MM:SS UTC)", as every flood-locked command says it (60 s when the
/// wait is not known).
pub fn flood_hint(retry_after: Option<Duration>) -> String {
    let secs = retry_after.map_or(60, |d| d.as_secs().max(1));
    let at = jiff::Timestamp::now()
        .checked_add(jiff::SignedDuration::from_secs(secs as i64))
        .map(|t| t.strftime("%H:%M:%S UTC").to_string())
        .unwrap_or_default();
    format!(
        "retry in {secs}s (after {at}); fichier paces its own calls, so check that no other \
         program uses this key at the same time"
    )
}

/// Which command met an engine error: advice names only what that command has (the queue
/// has no `--overwrite` or `-o`, and retries by itself).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Via {
    /// `fichier upload`.
    Upload,
    /// `fichier download`.
    Download,
    /// `fichier backup`, `restore` and `verify`.
    Backup,
    /// The download queue (`queue run`, `daemon`).
    Queue,
}

/// The hint for one engine error: from the problem the engine found, else from the API kind.
pub fn transfer_hint(
    problem: Option<&Problem>,
    api_kind: Option<ErrorKind>,
    retry_after: Option<Duration>,
    via: Via,
) -> Option<String> {
    if let Some(p) = problem {
        return problem_hint(p, via);
    }
    let kind = api_kind?;
    if via == Via::Queue {
        return queue_api_hint(kind);
    }
    api_hint(kind, retry_after)
}

/// The hint for a problem the engine found, worded for the command that met it.
fn problem_hint(problem: &Problem, via: Via) -> Option<String> {
    use Via::{Backup, Download, Queue, Upload};
    // What ends every local fix: the queue retries an item when asked, a command runs again.
    let again = match via {
        Queue => "then retry the item (`fichier queue retry ID`)",
        _ => "then run the command again",
    };
    let text = match (problem, via) {
        (Problem::DiskFull, Queue) => {
            "free some space: the queue resumes from the .part files".to_owned()
        }
        (Problem::DiskFull, Backup) => {
            "free some space; the next run resumes where this one stopped".to_owned()
        }
        (Problem::DiskFull, _) => {
            "free some space and run the same command again: it resumes from the .part file"
                .to_owned()
        }
        (Problem::DestinationExists { .. }, Download) => {
            "add --overwrite to replace it, or choose another output dir with -o".to_owned()
        }
        (Problem::DestinationExists { path }, _) => {
            format!("move {} away, {again}", path.display())
        }
        (Problem::NotAFile { .. }, Download) => {
            "move it away or choose another output dir with -o".to_owned()
        }
        (Problem::NotAFile { path }, _) => format!("move {} away, {again}", path.display()),
        (Problem::PartIsSymlink { .. }, Download) => {
            "remove the link, or download into another directory with -o".to_owned()
        }
        (Problem::PartIsSymlink { path }, _) => {
            format!("remove the link {}, {again}", path.display())
        }
        (Problem::PartBusy { .. }, Download) => {
            "wait for it to finish (then run the command again), or download into another \
             directory with -o"
                .to_owned()
        }
        // The queue waits for the other writer by itself.
        (Problem::PartBusy { .. }, Queue) => return None,
        (Problem::PartBusy { .. }, _) => format!("wait for the other process to finish, {again}"),
        (Problem::PartForeign { path, has_state }, _) => {
            let state = if *has_state {
                " (and its .part.state)"
            } else {
                ""
            };
            format!("move or delete {}{state}, {again}", path.display())
        }
        (Problem::RemoteFolder, Download) => {
            "add -r to download the folder and everything inside it".to_owned()
        }
        (Problem::RemoteFolder, _) => return None,
        (Problem::LocalDirectory { .. }, Upload) => {
            "add -r to upload it as a folder tree".to_owned()
        }
        (Problem::LocalDirectory { .. }, _) => return None,
        (Problem::BadName { .. }, _) => "rename the file".to_owned(),
        (Problem::Changed { .. }, Backup) => {
            "the next run uploads it again (or back up a snapshot of the source)".to_owned()
        }
        (Problem::Changed { .. }, _) => {
            "upload it again once it no longer changes (or snapshot it first)".to_owned()
        }
        (Problem::BadCopyKept { links }, _) => format!(
            "remove {} with `fichier rm`, then upload again",
            links.join(" ")
        ),
        (Problem::Unchecked, _) => {
            "check the folder with `fichier ls`, then upload again".to_owned()
        }
        _ => return None,
    };
    Some(text)
}

/// The hint for an API error of a queue item: only what the queue has; flood locks, network
/// trouble and expired links need none, since the queue pauses or retries by itself.
fn queue_api_hint(kind: ErrorKind) -> Option<String> {
    let text = match kind {
        ErrorKind::BadKey | ErrorKind::NotAuthenticated => {
            "run `fichier auth login` with the account's current key; the queue then goes on"
        }
        ErrorKind::NotFound => "the link is dead: remove the item with `fichier queue rm ID`",
        ErrorKind::NotAllowed => {
            "the file is password-protected or restricted by its owner: remove the item and \
             add it again with `fichier queue add --password`"
        }
        ErrorKind::NotCustomer | ErrorKind::OwnerLocked | ErrorKind::CdnRequired => {
            return api_hint(kind, None);
        }
        _ => return None,
    };
    Some(text.to_owned())
}

/// A failure of a whole command from an engine error (e.g. the destination folder of an
/// upload): exit code from its class, hint from [`transfer_hint`].
pub fn transfer_failure(what: String, e: &TransferError, via: Via) -> Failure {
    let f = match e.class {
        ErrorClass::Auth => Failure::auth(what),
        ErrorClass::Flood => Failure::flood(what),
        _ => Failure::fatal(what),
    };
    match transfer_hint(e.problem.as_ref(), e.api_kind, e.retry_after, via) {
        Some(h) => f.with_hint(h),
        None => f,
    }
}

/// The exit code of a failure the service caused: by the error kind, never the message.
pub fn exit_for_kind(kind: Option<ErrorKind>) -> Exit {
    match kind {
        Some(ErrorKind::FloodLocked | ErrorKind::Paced) => Exit::Flood,
        Some(ErrorKind::BadKey | ErrorKind::NotAuthenticated | ErrorKind::NotCustomer) => {
            Exit::Auth
        }
        _ => Exit::Partial,
    }
}

/// The failure for a backup, restore or verify that the destination refused or stopped:
/// exit code and hint from the error kind; `resumable` adds that a rerun picks up.
pub fn remote_failure(what: &str, e: &RemoteError, resumable: bool) -> Failure {
    let message = format!("{what}: {}", e.message);
    let exit = exit_for_kind(e.kind);
    let hint = match exit {
        Exit::Flood => Some(flood_hint(None)),
        _ => e.kind.and_then(|k| api_hint(k, None)),
    };
    let hint = match (hint, resumable) {
        (Some(h), true) => Some(format!("{h}; the next run resumes where this one stopped")),
        (None, true) => Some("the next run resumes where this one stopped".to_string()),
        (h, false) => h,
    };
    let failure = match exit {
        Exit::Flood => Failure::flood(message),
        Exit::Auth => Failure::auth(message),
        _ => Failure::fatal(message),
    };
    match hint {
        Some(h) => failure.with_hint(h),
        None => failure,
    }
}

/// The failure for a backup run that could not start or was refused before touching
/// anything.
pub fn backup_failure(e: RunError) -> Failure {
    match e {
        RunError::Locked(e) => Failure::locked(e.to_string())
            .with_hint("wait for it to finish; a run killed earlier releases its lock by itself"),
        RunError::Source(e) => Failure::refused(e.to_string())
            .with_hint("check the source path (is the disk mounted?)"),
        RunError::Refused(e) => {
            let hint = match e {
                PlanError::EmptySource { .. } => {
                    "is the source disk mounted? If the source really is empty, rerun with \
                     --allow-empty-source"
                }
                PlanError::TooManyRemovals { .. } => {
                    "check the source; if the removals are intended, raise --max-delete for \
                     this run"
                }
                PlanError::UnknownFiles { .. } => {
                    "back up into an empty folder, keep versions (drop --no-versions), or give \
                     --delete-unknown if those files may go"
                }
            };
            Failure::refused(e.to_string()).with_hint(hint)
        }
        RunError::Remote(e) if e.stop_run => remote_failure("the backup stopped", &e, true),
        e => Failure::fatal(e.to_string()),
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

/// Why `queue run` stopped before the queue was empty: the message, the hint and the exit
/// code.
pub fn queue_stop(stop: &StopReason) -> (String, String, Exit) {
    let at = |t: &jiff::Timestamp| t.strftime("%H:%M:%S UTC").to_string();
    match stop {
        StopReason::Shutdown => (
            "stopped: the items in progress are queued again and their .part files kept".to_owned(),
            "run `fichier queue run` again (or start `fichier daemon`) to resume".to_owned(),
            Exit::Partial,
        ),
        StopReason::NeedsPremium => (
            "the queue needs Premium: this 1fichier account is free, and the API gives free \
             accounts no download links; the links stay queued (state waiting)"
                .to_owned(),
            "upgrade the account, then run `fichier queue run` again".to_owned(),
            Exit::Auth,
        ),
        StopReason::Paused {
            kind,
            reason,
            until,
        } => {
            let hint = match kind {
                PauseKind::Auth => {
                    "run `fichier auth login` with the account's current key; then                      `fichier daemon` goes on by itself, or run `fichier queue run` again"
                }
                _ => "`fichier daemon` waits by itself; or run `fichier queue run` again later",
            };
            let exit = match kind {
                PauseKind::Auth => Exit::Auth,
                PauseKind::Flood => Exit::Flood,
                _ => Exit::Partial,
            };
            (
                format!("the queue is paused until {}: {reason}", at(until)),
                hint.to_owned(),
                exit,
            )
        }
        StopReason::Waiting { items, until } => (
            format!(
                "{items} item(s) wait to be retried (the first at {}); see `fichier queue ls`",
                at(until)
            ),
            "run `fichier queue run --max-wait 1h` to wait for them, or let `fichier daemon` \
             do it"
                .to_owned(),
            Exit::Partial,
        ),
    }
}

/// The `error:` line of `message` and, when there is one, its `hint:` line: for the
/// commands that report a failure and go on (a stopped run, a failed file) instead of
/// returning it.
pub fn error_block(message: &str, hint: Option<&str>, color: bool) -> String {
    let mut text = tagged(Tag::Error, message, color);
    if let Some(h) = hint {
        text.push_str(&tagged(Tag::Hint, h, color));
    }
    text
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
    fn an_api_kind_gets_the_same_hint_from_a_command_and_from_a_failed_file() {
        let err = ApiError::FloodLocked {
            message: fichier_api::ServiceMessage::parse("Flood detected", 403),
            retry_after: Duration::from_secs(42),
        };
        let command = failure_for(&err).hint.unwrap();
        let file = transfer_hint(
            None,
            Some(ErrorKind::FloodLocked),
            Some(Duration::from_secs(42)),
            Via::Download,
        )
        .unwrap();
        assert!(command.starts_with("retry in 42s (after "), "{command}");
        assert_eq!(command.split(')').nth(1), file.split(')').nth(1));
        let bad_key = ApiError::BadKey {
            message: fichier_api::ServiceMessage::parse("No such user", 403),
        };
        assert_eq!(
            failure_for(&bad_key).hint,
            transfer_hint(None, Some(ErrorKind::BadKey), None, Via::Upload)
        );
    }

    #[test]
    fn the_queue_is_never_advised_flags_it_does_not_have() {
        let path = std::path::PathBuf::from("/dl/f.bin");
        let problems = [
            Problem::DiskFull,
            Problem::DestinationExists { path: path.clone() },
            Problem::NotAFile { path: path.clone() },
            Problem::PartIsSymlink { path: path.clone() },
            Problem::PartBusy { path: path.clone() },
            Problem::PartForeign {
                path: path.clone(),
                has_state: true,
            },
            Problem::RemoteFolder,
            Problem::LocalDirectory { path: path.clone() },
            Problem::BadName { path: path.clone() },
            Problem::Changed { path },
            Problem::BadCopyKept { links: Vec::new() },
            Problem::Unchecked,
        ];
        let kinds = [
            ErrorKind::FloodLocked,
            ErrorKind::Paced,
            ErrorKind::BadKey,
            ErrorKind::NotAuthenticated,
            ErrorKind::NotCustomer,
            ErrorKind::NotFound,
            ErrorKind::NotAllowed,
            ErrorKind::OwnerLocked,
            ErrorKind::LocationLimit,
            ErrorKind::CdnRequired,
            ErrorKind::Quota,
            ErrorKind::InvalidInput,
            ErrorKind::Rejected,
            ErrorKind::Server,
            ErrorKind::Protocol,
            ErrorKind::TokenExpired,
            ErrorKind::Integrity,
            ErrorKind::OutcomeUnknown,
            ErrorKind::Transport,
            ErrorKind::Io,
        ];
        let hints = problems
            .iter()
            .map(|p| transfer_hint(Some(p), None, None, Via::Queue))
            .chain(
                kinds
                    .iter()
                    .map(|k| transfer_hint(None, Some(*k), None, Via::Queue)),
            );
        for hint in hints.flatten() {
            for flag in [
                "--overwrite",
                " -o",
                " -r",
                "--api-url",
                "run the command again",
            ] {
                assert!(!hint.contains(flag), "the queue told {flag:?}: {hint}");
            }
        }
        let exists = Problem::DestinationExists {
            path: "/dl/f.bin".into(),
        };
        let download = transfer_hint(Some(&exists), None, None, Via::Download).unwrap();
        assert!(download.contains("--overwrite"), "{download}");
    }

    #[test]
    fn a_failed_file_block_escapes_the_message_and_the_hint() {
        let text = error_block("KO \u{1b}]0;x\u{7}", Some("\u{9b}2J"), false);
        assert_eq!(text, "error: KO \\e]0;x\\a\nhint: \\u{9b}2J\n");
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
