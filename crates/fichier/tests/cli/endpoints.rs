//! The endpoint table of docs/cli.md covers every endpoint method of the library.
