//! Backup building blocks that need no network: the source walk and its filters, the local
//! hash index, and version retention. The run itself (planning against the remote tree,
//! uploads, moves into `.versions/`) is built on these.

pub mod index;
pub mod journal;
pub mod lock;
pub mod manifest;
pub mod plan;
pub mod remote;
pub mod retention;
pub mod run;
pub mod source;
