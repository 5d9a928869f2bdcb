//! Command dispatch and the helpers commands share (dates, passwords, partial failures).
//! Each command lives in its own file.

pub mod account;
pub mod attr;
pub mod auth;
pub mod backup;
pub mod backup_log;
pub mod backup_notify;
mod backup_report;
pub mod completions;
pub mod cp;
pub mod daemon;
pub mod dashboard;
pub mod download;
pub mod exec;
pub mod files;
pub mod ftp;
pub mod info;
pub mod link;
pub mod ls;
pub mod man;
pub mod mkdir;
pub mod mv;
pub mod queue;
pub mod queue_run;
pub mod remote;
pub mod rename;
pub mod restore;
pub mod rm;
pub mod rotate;
pub mod scan;
pub mod share;
pub mod transfer;
pub mod upload;
pub mod virus_scan;
pub mod voucher;

use std::io::{BufRead as _, IsTerminal as _};

use fichier_api::Password;
use jiff::ZonedDateTime;

use crate::cli::{Command, PasswordArgs};
use crate::context::Context;
use crate::error::{Exit, Failure, render};

/// Runs one command.
pub async fn dispatch(ctx: &mut Context, command: Command) -> anyhow::Result<Exit> {
    match command {
        Command::Auth(c) => auth::run(ctx, c).await,
        Command::Account => account::run(ctx).await,
        Command::Ls(a) => ls::run(ctx, a).await,
        Command::Info(a) => info::run(ctx, a).await,
        Command::Mkdir(a) => mkdir::run(ctx, a).await,
        Command::Mv(a) => mv::run(ctx, a).await,
        Command::Cp(a) => cp::run(ctx, a).await,
        Command::Rename(a) => rename::run(ctx, a).await,
        Command::Rm(a) => rm::run(ctx, a).await,
        Command::Link(a) => link::run(ctx, a).await,
        Command::Attr(a) => attr::run(ctx, a).await,
        Command::Share(a) => share::run(ctx, a).await,
        Command::Remote(c) => remote::run(ctx, c).await,
        Command::Upload(a) => upload::run(ctx, a).await,
        Command::Download(a) => download::run(ctx, a).await,
        Command::Backup(c) => backup::run(ctx, *c).await,
        Command::Restore(a) => restore::run(ctx, a).await,
        Command::Verify(a) => restore::verify(ctx, a).await,
        Command::Scan(a) => scan::run(ctx, a).await,
        Command::Exec(a) => exec::run(ctx, a).await,
        Command::Ftp(c) => ftp::run(ctx, c).await,
        Command::Voucher(c) => voucher::run(ctx, c).await,
        Command::Files(a) => files::run(ctx, a).await,
        Command::VirusScan(a) => virus_scan::run(ctx, a).await,
        Command::Dashboard(a) => dashboard::run(ctx, a).await,
        Command::Daemon(a) => {
            let store = queue::queue_path(&ctx.settings);
            daemon::run(ctx, *a, store).await
        }
        Command::Queue(c) => queue::run(ctx, c).await,
        Command::Completions(a) => Ok(completions::run(&a)),
        Command::Man => Ok(man::run()),
    }
}

/// A date for JSON output: RFC 3339 in UTC (`2024-03-14T15:05:09Z`), or null.
pub fn date_json(date: Option<&ZonedDateTime>) -> Option<String> {
    date.map(|z| z.timestamp().to_string())
}

/// A date for human output, in the local time zone (`2024-03-14 16:05`), or `-`.
pub fn date_human(date: Option<&ZonedDateTime>) -> String {
    match date {
        Some(z) => z
            .with_time_zone(jiff::tz::TimeZone::system())
            .strftime("%Y-%m-%d %H:%M")
            .to_string(),
        None => "-".to_owned(),
    }
}

/// Reads a password as asked by `--password` / `--password-file`, never from argv.
/// Returns `None` when neither was given.
pub fn read_password(
    args: &PasswordArgs,
    what: &str,
    min_len: usize,
) -> anyhow::Result<Option<Password>> {
    let raw = if let Some(path) = &args.password_file {
        let text = if path.as_os_str() == "-" {
            let mut line = String::new();
            std::io::stdin().lock().read_line(&mut line).map_err(|e| {
                Failure::fatal(format!("cannot read the {what} from standard input"))
                    .with_cause(e.to_string())
            })?;
            line
        } else {
            std::fs::read_to_string(path).map_err(|e| {
                Failure::fatal(format!("cannot read the {what} from {}", path.display()))
                    .with_cause(e.to_string())
            })?
        };
        text.lines().next().unwrap_or("").to_owned()
    } else if args.password {
        if std::io::stdin().is_terminal() {
            rpassword::prompt_password(format!("{what} (input hidden): ")).map_err(|e| {
                Failure::fatal(format!("cannot read the {what} from the terminal"))
                    .with_cause(e.to_string())
            })?
        } else {
            let mut line = String::new();
            std::io::stdin().lock().read_line(&mut line).map_err(|e| {
                Failure::fatal(format!("cannot read the {what} from standard input"))
                    .with_cause(e.to_string())
            })?;
            line.trim_end_matches(['\r', '\n']).to_owned()
        }
    } else {
        return Ok(None);
    };
    if raw.is_empty() {
        return Err(Failure::usage(format!("the {what} is empty"))
            .with_hint("give a password, or leave out --password")
            .into());
    }
    if raw.chars().count() < min_len {
        return Err(Failure::usage(format!(
            "the {what} is too short: 1fichier requires at least {min_len} characters"
        ))
        .into());
    }
    Ok(Some(Password::new(raw)))
}

/// The start of a unit's command line: this binary, by absolute path, with the config file
/// this run uses (a timer or a service starts elsewhere, with another working directory).
pub fn unit_command(ctx: &Context) -> anyhow::Result<Vec<String>> {
    let exe = std::env::current_exe()
        .map_err(|e| Failure::fatal(format!("cannot find the fichier binary: {e}")))?;
    let mut exec = vec![exe.display().to_string()];
    if let Some(config) = &ctx.settings.config_path {
        exec.push("--config".into());
        let config = std::path::absolute(config).unwrap_or_else(|_| config.clone());
        exec.push(config.display().to_string());
    }
    Ok(exec)
}

/// Writes systemd user units into the user's unit directory (refusing to replace one unless
/// `force`), prints each path, then how to enable and how to check them.
pub fn install_units(
    ctx: &Context,
    units: &[(String, String)],
    force: bool,
    enable: &str,
    check: &str,
) -> anyhow::Result<()> {
    let dir = crate::units::user_unit_dir(&ctx.settings.dirs.config);
    let written = crate::units::write_units(&dir, units, force).map_err(Failure::fatal)?;
    for w in &written {
        ctx.printer.line(&format!("wrote {}", w.display()));
    }
    ctx.printer.line(enable);
    ctx.printer.line(check);
    Ok(())
}

/// Asks a yes/no question on the terminal (stderr), `no` unless the answer is y or yes.
/// Callers ask only when stdin is a terminal.
pub fn ask_yes_no(question: &str) -> anyhow::Result<bool> {
    use std::io::Write as _;
    let mut err = std::io::stderr().lock();
    let _ = write!(err, "{} [y/N] ", crate::printer::sanitize(question));
    let _ = err.flush();
    drop(err);
    let mut answer = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut answer)
        .map_err(|e| Failure::fatal("cannot read the answer").with_cause(e.to_string()))?;
    Ok(matches!(
        answer.trim().to_ascii_lowercase().as_str(),
        "y" | "yes"
    ))
}

/// Counts per-item successes and failures of a multi-target command; failures are printed as
/// they happen, and the exit code is 1 when some but not all failed.
#[derive(Debug, Default)]
pub struct Batch {
    ok: usize,
    failed: usize,
    worst: Option<Exit>,
}

impl Batch {
    /// Records a success.
    pub fn ok(&mut self) {
        self.ok += 1;
    }

    /// Records and prints a failure. Auth and flood errors stop the batch (returned as Err):
    /// every following item would fail the same way.
    pub fn fail(&mut self, ctx: &Context, err: anyhow::Error) -> anyhow::Result<()> {
        let r = render(&err, ctx.printer.settings().color_stderr);
        if matches!(r.exit, Exit::Auth | Exit::Flood) {
            return Err(err);
        }
        ctx.printer.error_text(&r.text);
        self.failed += 1;
        self.worst = Some(r.exit);
        Ok(())
    }

    /// The exit code: 0 when all worked, 1 when some failed, the failure's code when all did.
    pub fn exit(&self) -> Exit {
        match (self.ok, self.failed) {
            (_, 0) => Exit::Ok,
            (0, _) => self.worst.unwrap_or(Exit::Fatal),
            _ => Exit::Partial,
        }
    }
}
