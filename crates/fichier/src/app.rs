//! Runs one parsed command: settings, logging, the async runtime, dispatch, error rendering.

use std::io::IsTerminal as _;

use crate::cli::{Cli, Command};
use crate::context::Context;
use crate::error::{Exit, render};
use crate::printer::{Printer, Tag, tagged};
use crate::settings::Settings;

/// Runs the command and returns the exit code; every error is rendered here.
pub fn run(cli: Cli) -> Exit {
    // Commands that need neither settings nor the network answer first (and fast).
    match &cli.command {
        Command::Completions(args) => return crate::cmd::completions::run(args),
        Command::Man => return crate::cmd::man::run(),
        _ => {}
    }
    let color_stderr = std::io::stderr().is_terminal()
        && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty());
    let settings = match Settings::resolve(&cli.global) {
        Ok(s) => s,
        Err(e) => {
            let r = render(&e, color_stderr);
            crate::printer::write_stderr(&r.text);
            return r.exit;
        }
    };
    init_logging(&settings);
    let printer = Printer::new(settings.output.clone());
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            printer.error_text(&crate::printer::tagged(
                crate::printer::Tag::Error,
                &format!("cannot start the async runtime: {e}"),
                printer.settings().color_stderr,
            ));
            return Exit::Fatal;
        }
    };
    let result = runtime.block_on(async {
        let mut ctx = Context::new(settings, printer.clone());
        let result = crate::cmd::dispatch(&mut ctx, cli.command).await;
        ctx.close().await;
        result
    });
    match result {
        Ok(exit) => exit,
        Err(e) => {
            let r = render(&e, printer.settings().color_stderr);
            printer.error_text(&r.text);
            r.exit
        }
    }
}

/// Installs the stderr log subscriber: warnings by default, more with -v, `RUST_LOG` wins.
fn init_logging(settings: &Settings) {
    let level = match (settings.output.quiet, settings.output.verbose) {
        (true, _) => "error",
        // Long pacer waits (per-folder window, flood cooldown) are logged at info: show them,
        // or a command that waits 30 s for 1fichier's limits would look hung.
        (false, 0) => "warn,fichier_api::pacer=info",
        (false, 1) => "info",
        (false, 2) => "debug",
        _ => "trace",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(level));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(crate::progress::LogWriter)
        .with_ansi(settings.output.color_stderr)
        .event_format(CliFormat)
        .try_init();
}

/// Log lines in the CLI's own style: `warning: retrying … endpoint="file/ls.cgi" attempt=1`.
struct CliFormat;

impl<S, N> tracing_subscriber::fmt::FormatEvent<S, N> for CliFormat
where
    S: tracing::Subscriber + for<'a> tracing_subscriber::registry::LookupSpan<'a>,
    N: for<'a> tracing_subscriber::fmt::FormatFields<'a> + 'static,
{
    fn format_event(
        &self,
        ctx: &tracing_subscriber::fmt::FmtContext<'_, S, N>,
        mut writer: tracing_subscriber::fmt::format::Writer<'_>,
        event: &tracing::Event<'_>,
    ) -> std::fmt::Result {
        let level = *event.metadata().level();
        let tag = match level {
            tracing::Level::ERROR => Some(Tag::Error),
            tracing::Level::WARN => Some(Tag::Warning),
            _ => None,
        };
        // Fields are formatted plain, then escaped and key-masked: log events quote server
        // messages and names.
        let mut fields = String::new();
        ctx.field_format().format_fields(
            tracing_subscriber::fmt::format::Writer::new(&mut fields),
            event,
        )?;
        match tag {
            // Warnings and errors look like the commands' own (one renderer for the tags).
            Some(tag) => write!(
                writer,
                "{}",
                tagged(tag, &fields, writer.has_ansi_escapes())
            ),
            None => writeln!(
                writer,
                "{}: {}",
                level.as_str().to_ascii_lowercase(),
                crate::printer::sanitize(&fields)
            ),
        }
    }
}
