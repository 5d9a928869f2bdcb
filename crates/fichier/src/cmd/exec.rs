//! `fichier exec [--env NAME].. [--rclone] -- CMD [ARGS..]`: runs CMD with the API key in its
//! environment, so scripts and tools (curl loops, Python, Node, rclone) never hold the key in
//! their own text.
//!
//! The key comes from the credential chain (`credentials.rs`), never from argv. On Unix fichier
//! replaces itself with CMD (`execve`): CMD gets fichier's pid, so its exit code and the signals
//! sent to it are exactly its own, and no fichier process stays behind holding the key in
//! memory. The child's environment is fichier's own, unchanged, plus the key under each name
//! asked for; `FICHIER_API_KEY` is removed when it is not one of those names, so the key is in
//! the child only where the user asked. fichier's other settings (`FICHIER_API_URL`,
//! `FICHIER_CONFIG`...) are passed on: a `fichier` run by CMD must talk to the API the key is for.

use std::collections::BTreeSet;

use crate::cli::ExecArgs;
use crate::context::Context;
use crate::credentials::ENV_KEY;
use crate::error::{Exit, Failure};

/// The variable rclone's fichier backend reads (`--fichier-api-key`'s environment form).
pub const RCLONE_ENV: &str = "RCLONE_FICHIER_API_KEY";

/// Names the key must never replace: the child could not even be found or would run
/// something else (`PATH`, the dynamic loader's variables), or the shell would misbehave.
const RESERVED: &[&str] = &[
    "PATH", "HOME", "SHELL", "IFS", "PWD", "OLDPWD", "USER", "LOGNAME", "TERM", "ENV", "BASH_ENV",
    "TMPDIR", "LANG",
];
const RESERVED_PREFIXES: &[&str] = &["LD_", "DYLD_", "LC_"];

/// Runs `fichier exec`.
pub async fn run(ctx: &mut Context, args: ExecArgs) -> anyhow::Result<Exit> {
    let names = names(&args)?;
    let Some((program, rest)) = args.command.split_first() else {
        return Err(Failure::usage("no command to run")
            .with_hint("give it after `--`, e.g. `fichier exec -- ./backup.sh`")
            .into());
    };
    if ctx.settings.sandbox {
        return Err(Failure::usage(
            "`exec` cannot hand out the sandbox key: the sandbox emulator lives inside this \
             fichier process, which CMD replaces",
        )
        .with_hint("run the program against the real API, or run `fichier-emu` yourself")
        .into());
    }
    // A missing or malformed key stops here (exit 3): CMD is not started.
    let (_url, key, source) = ctx.key().await?;
    let shown = program.to_string_lossy().into_owned();
    ctx.printer.verbose(&format!(
        "exec: running {shown} with the API key from the {} in {}",
        source.describe(),
        names.iter().cloned().collect::<Vec<_>>().join(", ")
    ));
    let mut cmd = std::process::Command::new(program);
    cmd.args(rest);
    if !names.contains(ENV_KEY) {
        cmd.env_remove(ENV_KEY);
    }
    for name in &names {
        // The child's environment is the store the user asked for (see the module doc).
        cmd.env(name, key.expose_for_key_store());
    }
    drop(key);
    let err = replace_with(cmd);
    Err(not_started(&shown, &err).into())
}

/// Replaces this process with `cmd`; returns only when that failed.
#[cfg(unix)]
fn replace_with(mut cmd: std::process::Command) -> std::io::Error {
    use std::os::unix::process::CommandExt as _;
    cmd.exec()
}

/// Without `execve`: runs `cmd`, waits, and exits with its code.
#[cfg(not(unix))]
fn replace_with(mut cmd: std::process::Command) -> std::io::Error {
    match cmd.status() {
        Ok(status) => std::process::exit(status.code().unwrap_or(1)),
        Err(e) => e,
    }
}

/// The error for a program that could not be started: 127 when not found, else 126.
fn not_started(program: &str, err: &std::io::Error) -> Failure {
    if err.kind() == std::io::ErrorKind::NotFound {
        Failure::with_exit(Exit::NotFound, format!("{program}: command not found")).with_hint(
            if program.contains('/') {
                "check the path of the program".to_owned()
            } else {
                "check the name, or give the program's path (the PATH of this shell is searched)"
                    .to_owned()
            },
        )
    } else {
        Failure::with_exit(Exit::CannotRun, format!("{program}: cannot be run"))
            .with_cause(err.to_string())
            .with_hint("check that it is an executable file (`chmod +x`), or run it through its interpreter, e.g. `fichier exec -- sh script.sh`")
    }
}

/// The environment variable names the key goes into, validated.
fn names(args: &ExecArgs) -> anyhow::Result<BTreeSet<String>> {
    let mut names = BTreeSet::new();
    for name in &args.env {
        check_name(name)?;
        names.insert(name.clone());
    }
    if args.rclone {
        names.insert(RCLONE_ENV.to_owned());
    }
    if names.is_empty() {
        names.insert(ENV_KEY.to_owned());
    }
    Ok(names)
}

/// A name the shell and `env` accept (`[A-Za-z_][A-Za-z0-9_]*`) and not a reserved one.
fn check_name(name: &str) -> anyhow::Result<()> {
    let valid = name.len() <= 255
        && name
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    if !valid {
        return Err(Failure::usage(format!(
            "--env {name:?} is not a valid environment variable name"
        ))
        .with_hint("use letters, digits and `_`, not starting with a digit, e.g. --env MY_API_KEY")
        .into());
    }
    let upper = name.to_ascii_uppercase();
    if RESERVED.contains(&upper.as_str()) || RESERVED_PREFIXES.iter().any(|p| upper.starts_with(p))
    {
        return Err(Failure::usage(format!(
            "--env {name} would replace a variable the program needs to start or run correctly"
        ))
        .with_hint("pick a name of your own, e.g. --env MY_API_KEY")
        .into());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_checked() {
        for good in ["FICHIER_API_KEY", "_x", "MY_KEY2"] {
            assert!(check_name(good).is_ok(), "{good}");
        }
        for bad in [
            "",
            "1A",
            "A=B",
            "A-B",
            "A B",
            "PATH",
            "ld_preload",
            "LD_PRELOAD",
            "é",
        ] {
            assert!(check_name(bad).is_err(), "{bad:?}");
        }
    }
}
