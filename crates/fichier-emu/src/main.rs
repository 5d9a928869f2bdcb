//! The `fichier-emu` binary: `serve`, admin subcommands on a data directory, and `demo`.

fn main() {}
