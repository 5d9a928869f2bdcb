//! `fichier-emu`: a faithful local emulator of the 1fichier.com API v1 (JSON API, upload node,
//! direct downloads, public folder listings) with durable state, rate limits, a fault plan and
//! an admin surface. Start one with [`Emulator::start`]; see `docs/emulator.md`.
#![warn(missing_docs)]

mod access;
mod accounts;
mod admin;
mod api;
mod api_files;
mod api_folders;
mod api_misc;
mod blobs;
mod download;
mod error;
mod faults;
mod ids;
mod limits;
mod log;
mod middleware;
mod model;
mod node;
mod params;
mod remote;
mod reply;
mod server;
mod share;
mod state;
mod store;
mod time;
mod tls;

pub use error::EmuError;
pub use faults::{Fault, FaultPlan, FaultRule};
pub use limits::Limits;
pub use log::LoggedRequest;
pub use model::{Account, Config, DOMAINS, Offer, TlsFiles};
pub use server::Emulator;

/// Offline administration of a data directory (what the `fichier-emu` admin subcommands use).
pub mod admin_store;

/// Generate a fake API key: 32 characters `[A-Za-z0-9]`.
pub fn generate_key() -> String {
    ids::api_key()
}

/// Mask a secret for display: first and last two characters only (`ab…yz`).
pub fn mask_secret(secret: &str) -> String {
    ids::mask(secret)
}
