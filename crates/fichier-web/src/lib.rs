//! The `fichier daemon`'s local web side: the dashboard (queue, add, account, Click'n'Load
//! approvals, log; HTML readable without JS, a JSON API and server-sent events for the live
//! page) and the Click'n'Load 2 receiver. Both listen on loopback by default; the dashboard
//! needs the access token, the receiver only queues links from origins the user approved.
//!
//! Security rules (see `docs/dashboard.md`): token on every request, CSRF token on every
//! state change, `Host` checked against loopback names, strict CSP (no inline script), every
//! remote name escaped, the API key never sent to the page.

mod account;
mod actions;
mod api;
mod auth;
mod backups;
mod cnl;
mod config;
mod error;
mod events;
mod html;
mod inbox;
mod log;
mod pages;
mod queue;
mod server;
mod session;
mod state;

pub use auth::LOGIN_PATH;
pub use auth::mint_token;
pub use cnl::{MAX_BODY as CNL_MAX_BODY, encrypt_links};
pub use config::{
    DEFAULT_CNL_PORT, DEFAULT_PORT, Running, WebConfig, addr_path, login_path, token_path,
    write_private,
};
pub use error::ServeError;
pub use server::Bound;
pub use session::mint_code as mint_login;
