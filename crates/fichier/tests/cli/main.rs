//! End-to-end tests of the `fichier` binary against an emulator on 127.0.0.1:0: every
//! command, the JSON schemas, exit codes, the error table (snapshots), and the canary key.
//! One test binary with modules, so the binary and the emulator are built once.

mod harness;

mod advice;
mod attr_share;
mod auth;
mod backup;
mod canary;
mod dashboard;
mod endpoints;
mod errors;
mod exec;
mod files;
mod ftp_voucher;
mod hardening;
mod json_schemas;
mod key_header;
mod misc;
mod queue;
mod queue_run;
mod remote;
mod scan_fix;
mod security;
mod state;
mod transfer;
mod tree;
mod tty;
mod unreachable;
