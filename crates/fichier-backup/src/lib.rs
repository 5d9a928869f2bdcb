//! `fichier-backup`: versioned incremental backups of a local tree to a 1fichier folder, and
//! their restore and verification, on top of the [`fichier_transfer`] engine.
//!
//! A run ([`run_backup`]) walks the source ([`source`]) with its filters, hashes only what
//! the local index ([`index`]) says changed, lists the destination, plans ([`plan`]) what
//! to upload and what to retire into `.versions/<run>/` (with the safety rules: a folder not
//! seen is never retired), uploads through the engine, applies retention ([`retention`]) and
//! writes the run's manifest ([`manifest`]); every step is journalled ([`journal`]) so a run
//! killed at any point resumes. [`restore`] rebuilds a tree from a manifest (or from the live
//! folder) and verifies each file's whirlpool. The library never prints and gives no advice:
//! its errors carry kinds and data; the CLI words them.

mod db;
mod fetch;
pub mod index;
pub mod journal;
pub mod lock;
pub mod manifest;
pub mod plan;
pub mod remote;
pub mod restore;
pub mod retention;
pub mod run;
pub mod source;

pub use journal::{Journal, ManifestEntry, RunRecord};
pub use plan::{MaxDelete, PlanError, Safety};
pub use remote::EngineRemote;
pub use restore::{
    RestoreError, RestoreOptions, RestoreReport, VerifyOptions, VerifyOutcome, restore, verify,
};
pub use retention::{KeepWithin, Retention};
pub use run::{
    BackupJob, BackupRemote, RemoteError, RunError, RunSummary, VERSIONS_DIR, run_backup,
};
pub use source::SourceFilter;
