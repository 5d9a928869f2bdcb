//! The `fichier` command line.
fn main() {}
