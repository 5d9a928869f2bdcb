//! The `fichier` command line: parse, resolve settings once, run one command, exit.

mod apierr;
mod app;
mod cli;
mod client;
mod cmd;
mod context;
mod credentials;
mod error;
mod paths;
mod printer;
mod progress;
mod sandbox;
mod settings;
#[allow(dead_code)] // used by `backup schedule` and `daemon install` (being wired)
mod units;

fn main() {
    use clap::Parser as _;
    // clap prints usage errors itself and exits with 2, the documented usage-error code.
    let cli = cli::Cli::parse();
    std::process::exit(app::run(cli).code());
}
