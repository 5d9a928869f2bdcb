//! The emulator's integration tests, one binary: each module drives a real emulator over
//! 127.0.0.1 (or parses the crate's own sources, for `layering`).

mod bad_input;
mod binary;
mod common;
mod contract;
mod faults;
mod flows;
mod golden;
mod hardening;
mod layering;
mod props;
mod tls;
