//! `fichier completions SHELL`: a completion script generated from the clap definitions.

use clap::CommandFactory as _;

use crate::cli::{Cli, CompletionsArgs};
use crate::error::Exit;

/// Prints the completion script for the requested shell on stdout.
pub fn run(args: &CompletionsArgs) -> Exit {
    let mut cmd = Cli::command();
    clap_complete::generate(args.shell, &mut cmd, "fichier", &mut std::io::stdout());
    Exit::Ok
}
