//! The one way the scanner runs the `git` program (history, staged changes, `--fix`'s dotenv
//! checks, the hook installer): every call hardened the same way, and one conversion of a
//! failed call into [`ScanError::Git`].
//!
//! Shells out instead of linking a git library: git is on every machine that has a
//! repository, honours the user's configuration, and keeps the build small.

mod history;

use std::io::{BufReader, Read as _};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use crate::error::ScanError;

/// Runs git in one repository (or a directory inside one).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Git<'a> {
    repo: &'a Path,
}

impl<'a> Git<'a> {
    pub(crate) fn new(repo: &'a Path) -> Git<'a> {
        Git { repo }
    }

    /// `git ARGS` in the repository, hardened for a program that reads output and may run
    /// inside someone else's repository (a pre-commit hook, a scan of a cloned tree):
    /// - pathspecs are literal (`GIT_LITERAL_PATHSPECS`), so a file named `*.env` or
    ///   `:(glob)x` names that file and never a pattern over others, and the caller's own
    ///   `GIT_*_PATHSPECS` settings cannot change that;
    /// - no pager, no terminal prompt, no external diff or textconv program the repository's
    ///   configuration could name, no fsmonitor program, no optional index lock (a scan runs
    ///   beside `git commit`);
    /// - paths printed unquoted and logs without signature checks, so output parses the same
    ///   whatever the user's configuration says.
    ///
    /// stdin is closed unless the caller pipes it.
    pub(crate) fn command(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new("git");
        cmd.arg("--no-pager")
            .arg("-C")
            .arg(self.repo)
            .args([
                "-c",
                "core.quotepath=off",
                "-c",
                "log.showSignature=false",
                "-c",
                "core.fsmonitor=false",
            ])
            .args(args)
            .env_remove("GIT_GLOB_PATHSPECS")
            .env_remove("GIT_NOGLOB_PATHSPECS")
            .env_remove("GIT_ICASE_PATHSPECS")
            .env("GIT_TERMINAL_PROMPT", "0")
            .env("GIT_OPTIONAL_LOCKS", "0")
            .env_remove("GIT_EXTERNAL_DIFF")
            .env_remove("GIT_PAGER")
            .stdin(Stdio::null());
        // check-ignore reads its arguments as paths (never patterns) and refuses every
        // pathspec magic, `literal` included; callers write `./NAME` so a leading `:` is a name.
        if subcommand(args) == "check-ignore" {
            cmd.env_remove("GIT_LITERAL_PATHSPECS");
        } else {
            cmd.env("GIT_LITERAL_PATHSPECS", "1");
        }
        cmd
    }

    /// Runs a git command to completion and returns its stdout; a non-zero exit is
    /// [`ScanError::Git`] with git's own first line of complaint.
    pub(crate) fn output(&self, args: &[&str]) -> Result<Vec<u8>, ScanError> {
        let out = self
            .command(args)
            .output()
            .map_err(|source| ScanError::GitMissing { source })?;
        if !out.status.success() {
            return Err(self.failed(args, &String::from_utf8_lossy(&out.stderr)));
        }
        Ok(out.stdout)
    }

    /// Runs a git command that answers yes (exit 0) or no (exit 1) by its status
    /// (`check-ignore`, `ls-files --error-unmatch`); any other exit is [`ScanError::Git`], not
    /// a no.
    pub(crate) fn yes_no(&self, args: &[&str]) -> Result<bool, ScanError> {
        let out = self
            .command(args)
            .output()
            .map_err(|source| ScanError::GitMissing { source })?;
        match out.status.code() {
            Some(0) => Ok(true),
            Some(1) => Ok(false),
            _ => Err(self.failed(args, &String::from_utf8_lossy(&out.stderr))),
        }
    }

    /// Runs a git command and parses its stdout as it streams (history output can be larger
    /// than memory would like); stderr is drained on a thread so neither pipe can stall.
    pub(crate) fn stream<T>(
        &self,
        args: &[&str],
        parse: impl FnOnce(BufReader<std::process::ChildStdout>) -> Result<T, ScanError>,
    ) -> Result<T, ScanError> {
        let mut child = self
            .command(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|source| ScanError::GitMissing { source })?;
        let (Some(stdout), Some(mut stderr)) = (child.stdout.take(), child.stderr.take()) else {
            return Err(protocol(subcommand(args), "no pipes"));
        };
        let drain = std::thread::spawn(move || {
            let mut text = String::new();
            let _ = stderr.read_to_string(&mut text);
            text
        });
        let parsed = parse(BufReader::with_capacity(1 << 16, stdout));
        let status = child.wait().map_err(|source| ScanError::Io {
            path: PathBuf::from("git"),
            source,
        })?;
        let stderr = drain.join().unwrap_or_default();
        if !status.success() {
            return Err(self.failed(args, &stderr));
        }
        parsed
    }

    /// The one conversion of a failed git call into an error: the subcommand and git's first
    /// non-empty line of stderr (the rest is usually hints for git's own command line).
    fn failed(&self, args: &[&str], stderr: &str) -> ScanError {
        let message = stderr
            .lines()
            .map(str::trim)
            .find(|l| !l.is_empty())
            .unwrap_or("no error message")
            .to_owned();
        ScanError::Git {
            repo: self.repo.to_path_buf(),
            command: subcommand(args).to_owned(),
            message,
        }
    }
}

fn subcommand<'s>(args: &[&'s str]) -> &'s str {
    args.first().copied().unwrap_or("")
}

/// git printed something the scanner cannot read.
fn protocol(command: &str, detail: impl Into<String>) -> ScanError {
    ScanError::GitProtocol {
        command: command.to_owned(),
        detail: detail.into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_failed_git_call_keeps_the_subcommand_and_gits_first_line() {
        let git = Git::new(Path::new("/repo"));
        let err = git.failed(
            &["diff", "--cached"],
            "\n   \nfatal: bad revision 'x'\nhint: use --force\n",
        );
        assert_eq!(
            err.to_string(),
            "`git diff` failed in /repo: fatal: bad revision 'x'"
        );
        let err = git.failed(&["log"], "");
        assert!(err.to_string().ends_with(": no error message"), "{err}");
    }
}
