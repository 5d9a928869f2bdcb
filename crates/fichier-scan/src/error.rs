//! The scanner's error type: what went wrong, with the path or command it concerns.
//!
//! Errors never carry file contents, so they can never carry a key.

use std::path::PathBuf;

/// Everything that can make a scan (or a baseline/hook operation) fail.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ScanError {
    /// A file or directory could not be read.
    #[error("cannot read {path}: {source}")]
    Io {
        /// The path that failed.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// A path given to scan does not exist.
    #[error("{0}: no such file or directory")]
    NotFound(PathBuf),
    /// The `git` program could not be started.
    #[error("cannot run `git` ({source}); install git or scan files without --git/--staged")]
    GitMissing {
        /// Why spawning failed.
        #[source]
        source: std::io::Error,
    },
    /// A git command failed (e.g. the directory is not a repository).
    #[error("`git {command}` failed in {repo}: {message}")]
    Git {
        /// The repository directory.
        repo: PathBuf,
        /// The git subcommand that failed (arguments never contain secrets).
        command: String,
        /// The first line of git's stderr.
        message: String,
    },
    /// git printed something the scanner could not parse.
    #[error("unexpected output from `git {command}`: {detail}")]
    GitProtocol {
        /// The git subcommand.
        command: String,
        /// What was wrong.
        detail: String,
    },
    /// A baseline file is not valid.
    #[error(
        "baseline {path} is not valid: {detail}; regenerate it with the scanner's baseline writer"
    )]
    Baseline {
        /// The baseline file.
        path: PathBuf,
        /// What was wrong.
        detail: String,
    },
    /// A pre-commit hook already exists and the caller did not ask to replace it.
    #[error(
        "a pre-commit hook already exists at {0}; add `fichier scan --staged` to it by hand, or reinstall with --force to replace it"
    )]
    HookExists(PathBuf),
}
