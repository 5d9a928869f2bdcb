//! Exit codes and error rendering: `error: ...`, its causes, then `hint: ...` saying what to do.
//!
//! Commands return `anyhow::Error`; anything that should pick a specific exit code or carry a
//! hint is (or wraps) a [`Failure`]. Errors from `fichier-api` are classified in `api_failure`
//! so every command maps them the same way.

use std::fmt;

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
    /// A flood lock (exit 4).
    pub fn flood(message: impl Into<String>) -> Failure {
        Failure::new(Exit::Flood, message)
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
    let (exit, causes, details, hint, headline) = match find_failure(err) {
        Some(f) => (
            f.exit,
            f.causes.clone(),
            f.details.clone(),
            f.hint.clone(),
            f.message.clone(),
        ),
        None => match crate::apierr::classify_chain(err) {
            Some(f) => (f.exit, f.causes, f.details, f.hint, f.message),
            None => (Exit::Fatal, Vec::new(), Vec::new(), None, String::new()),
        },
    };
    // The outermost message leads; inner layers become "caused by" lines. When the Failure is
    // itself the outermost error its message leads and its causes follow.
    let mut lines: Vec<String> = err.chain().map(|e| e.to_string()).collect();
    // An API error at the top gets the classified wording (e.g. "cannot reach 1fichier: ...").
    if lines.is_empty() {
        lines.push(headline.clone());
    } else if crate::apierr::is_api_error(err) {
        lines[0] = headline.clone();
    }
    let first = lines.remove(0);
    let mut cause_lines: Vec<String> = Vec::new();
    for l in lines.into_iter().chain(causes) {
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
        text.push_str(&format!("  {d}\n"));
    }
    if let Some(h) = hint {
        text.push_str(&format!("{hint_tag} {h}\n"));
    }
    Rendered { exit, text }
}

fn find_failure(err: &anyhow::Error) -> Option<&Failure> {
    err.chain().find_map(|e| e.downcast_ref::<Failure>())
}

#[cfg(test)]
mod tests {
    use super::*;

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
