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

/// Names the key must never go into: the child could not even be found or would run
/// something else (`PATH`, the dynamic loader's variables), the shell would misbehave, or the
/// program reads the variable when it starts and may print its value (an interpreter's home or
/// options, a proxy, a locale or loader setting): `PYTHONHOME=<key>` makes Python print the
/// key, `https_proxy=<key>` makes curl print it. fichier's own settings are not a place for the
/// key either (a `fichier` run by CMD would read `FICHIER_API_URL=<key>`).
const RESERVED: &[&str] = &[
    "PATH",
    "HOME",
    "SHELL",
    "IFS",
    "PWD",
    "OLDPWD",
    "USER",
    "LOGNAME",
    "TERM",
    "ENV",
    "BASH_ENV",
    "TMPDIR",
    "TMP",
    "TEMP",
    "LANG",
    "LANGUAGE",
    "TZ",
    "CDPATH",
    "GLOBIGNORE",
    "SHELLOPTS",
    "BASHOPTS",
    "PROMPT_COMMAND",
    "PS1",
    "PS2",
    "PS3",
    "PS4",
    "HISTFILE",
    "INPUTRC",
    "ZDOTDIR",
    "GCONV_PATH",
    "GLIBC_TUNABLES",
    "NLSPATH",
    "LOCPATH",
    "HOSTALIASES",
    "RES_OPTIONS",
    "LOCALDOMAIN",
    "CLASSPATH",
    "EDITOR",
    "VISUAL",
    "PAGER",
    "BROWSER",
    "LESSOPEN",
    "LESSCLOSE",
    "SSL_CERT_FILE",
    "SSL_CERT_DIR",
    "CURL_CA_BUNDLE",
    "REQUESTS_CA_BUNDLE",
    "GNUPGHOME",
    "DISPLAY",
    "WAYLAND_DISPLAY",
    "PHP_INI_SCAN_DIR",
    "PHPRC",
    "RCLONE_CONFIG",
    "RCLONE_CONFIG_PASS",
];
/// Prefixes of the same families: loaders, locales, interpreters' settings (Python, Perl,
/// Ruby, Node, Java, Lua, Tcl, Go, Rust), git, malloc, OpenSSL, ssh, the desktop session,
/// and fichier's own variables.
const RESERVED_PREFIXES: &[&str] = &[
    "LD_",
    "DYLD_",
    "LC_",
    "PYTHON",
    "PERL",
    "RUBY",
    "GEM_",
    "BUNDLE_",
    "NODE_",
    "NPM_CONFIG_",
    "JAVA_",
    "_JAVA_",
    "JDK_",
    "LUA_",
    "TCLLIBPATH",
    "GOFLAGS",
    "GODEBUG",
    "GOROOT",
    "GOPATH",
    "CARGO_",
    "RUST_",
    "RUSTFLAGS",
    "GIT_",
    "MALLOC_",
    "OPENSSL_",
    "SSH_",
    "DBUS_",
    "XDG_",
    "KRB5",
    "FICHIER_",
];
/// Suffixes: proxies (`http_proxy`, `HTTPS_PROXY`, `all_proxy`, `no_proxy`...).
const RESERVED_SUFFIXES: &[&str] = &["_PROXY"];

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

/// The error for a program that could not be started: 127 when not found, else 126. A
/// script whose `#!` interpreter is missing also answers "not found": that names the
/// interpreter, and an oversized argument list or environment (E2BIG) is named as such.
fn not_started(program: &str, err: &std::io::Error) -> Failure {
    if err.kind() == std::io::ErrorKind::ArgumentListTooLong {
        return Failure::with_exit(
            Exit::CannotRun,
            format!(
                "{program}: cannot be run: its arguments and environment are too large (E2BIG)"
            ),
        )
        .with_hint("pass fewer or shorter arguments, or trim the environment");
    }
    if err.kind() == std::io::ErrorKind::NotFound {
        if let Some(path) = find_program(program)
            && let Some(interpreter) = shebang_interpreter(&path)
        {
            return Failure::with_exit(
                Exit::NotFound,
                format!(
                    "{program}: its interpreter {interpreter} (from its `#!` line) was not found"
                ),
            )
            .with_hint("install the interpreter, or fix the script's first line");
        }
        return Failure::with_exit(Exit::NotFound, format!("{program}: command not found"))
            .with_hint(if program.contains('/') {
                "check the path of the program".to_owned()
            } else {
                "check the name, or give the program's path (the PATH of this shell is searched)"
                    .to_owned()
            });
    }
    Failure::with_exit(Exit::CannotRun, format!("{program}: cannot be run"))
        .with_cause(err.to_string())
        .with_hint("check that it is an executable file (`chmod +x`), or run it through its interpreter, e.g. `fichier exec -- sh script.sh`")
}

/// The file `program` names: itself when it holds a `/`, else the first match on `PATH`.
fn find_program(program: &str) -> Option<std::path::PathBuf> {
    if program.contains('/') {
        let p = std::path::PathBuf::from(program);
        return p.is_file().then_some(p);
    }
    std::env::split_paths(&std::env::var_os("PATH")?)
        .map(|dir| dir.join(program))
        .find(|p| p.is_file())
}

/// The interpreter a script's `#!` line names (its first word), shown escaped.
fn shebang_interpreter(path: &std::path::Path) -> Option<String> {
    use std::io::Read as _;
    let mut head = [0u8; 256];
    let n = std::fs::File::open(path).ok()?.read(&mut head).ok()?;
    let line = head[..n].strip_prefix(b"#!")?;
    let line = line.split(|&b| b == b'\n').next()?;
    let text = String::from_utf8_lossy(line);
    let word = text.split_whitespace().next()?;
    Some(crate::printer::sanitize(word))
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
    // The key typed where the name goes: refused without being echoed.
    if crate::printer::mask_keys(name) != name {
        return Err(Failure::usage(
            "--env was given something shaped like an API key, not a variable name (not shown)",
        )
        .with_hint(
            "--env takes the variable's name, e.g. --env MY_API_KEY; the key comes from fichier's \
             store. A key typed on a command line is visible to other users (`ps`) and in shell \
             history: regenerate it if it was yours",
        )
        .into());
    }
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
    // `FICHIER_API_KEY` is where the key goes by default, and `RCLONE_FICHIER_API_KEY` is
    // `--rclone`'s name: both are made for it.
    let made_for_it = upper == ENV_KEY || upper == RCLONE_ENV;
    if !made_for_it
        && (RESERVED.contains(&upper.as_str())
            || RESERVED_PREFIXES.iter().any(|p| upper.starts_with(p))
            || RESERVED_SUFFIXES.iter().any(|p| upper.ends_with(p)))
    {
        return Err(Failure::usage(format!(
            "--env {name} is a variable programs read when they start (and may print): not a \
             place for the key"
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
    fn names_read_at_start_are_refused() {
        for good in ["FICHIER_API_KEY", "_x", "MY_KEY2"] {
            assert!(check_name(good).is_ok(), "{good}");
        }
        // Read at start by interpreters, proxies, shells, loaders, or fichier itself.
        for read_at_start in [
            "PYTHONHOME",
            "https_proxy",
            "http_proxy",
            "NODE_OPTIONS",
            "PERL5OPT",
            "RUBYOPT",
            "GIT_SSH_COMMAND",
            "GCONV_PATH",
            "GLIBC_TUNABLES",
            "PS4",
            "SHELLOPTS",
            "PROMPT_COMMAND",
            "FICHIER_API_URL",
        ] {
            assert!(check_name(read_at_start).is_err(), "{read_at_start}");
        }
        assert!(check_name("RCLONE_FICHIER_API_KEY").is_ok());
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
