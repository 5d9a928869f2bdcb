//! The `fichier` command line: parse, resolve settings once, run one command, exit.
// Every byte for the user goes through `printer` (escaping, masking, broken pipes) or
// `progress`; nothing else prints.
#![deny(clippy::print_stdout, clippy::print_stderr)]

mod app;
mod cli;
mod client;
mod cmd;
mod context;
mod credentials;
mod error;
mod hook;
mod paths;
mod printer;
mod progress;
mod sandbox;
mod settings;
mod units;
mod web;

fn main() {
    let cli = match parse_args() {
        Ok(cli) => cli,
        Err(code) => std::process::exit(code),
    };
    std::process::exit(app::run(cli).code());
}

/// Parses the arguments. A usage error is re-rendered with key-shaped tokens masked: clap
/// quotes the offending argument, and the most common misplaced argument is the key itself
/// (`fichier auth login KEY`). Help and version print as clap prints them.
/// Returns the exit code on a usage error (2, the documented usage-error code).
fn parse_args() -> Result<cli::Cli, i32> {
    use clap::Parser as _;
    let err = match cli::Cli::try_parse() {
        Ok(cli) => return Ok(cli),
        Err(e) => e,
    };
    if !err.use_stderr() {
        // --help, --version: on stdout, exit 0.
        err.exit();
    }
    // Plain text, escaped line by line: clap quotes arguments as given, control characters
    // included, and its colours could not be told apart from theirs.
    let text: String = err
        .render()
        .to_string()
        .lines()
        .map(|l| format!("{}\n", printer::escape(l)))
        .collect();
    let masked = printer::mask_keys(&text);
    let key_in_argv = masked != text
        || std::env::args_os().skip(1).any(|a| {
            let a = a.to_string_lossy();
            printer::mask_keys(&a) != a
        });
    let mut out = masked.into_owned();
    if !out.ends_with('\n') {
        out.push('\n');
    }
    if key_in_argv {
        out.push_str(&printer::tagged(
            printer::Tag::Hint,
            &format!(
                "an argument looks like an API key; never pass the key on the command line \
                 (shell history, `ps`): {}",
                settings::WHERE_KEYS_BELONG
            ),
            false,
        ));
    }
    printer::write_stderr(&out);
    Err(2)
}
