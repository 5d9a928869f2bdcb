//! `fichier-scan`: finds leaked 1fichier API keys in files, directory trees, standard input,
//! git history and staged changes.
//!
//! Detection combines the key shape (32 characters of `[A-Za-z0-9_=-]`) with context:
//! names like `FICHIER_API_KEY`, rclone `type = fichier` remotes, `Bearer` near
//! `api.1fichier.com`, sections named after 1fichier, secret-like names near a 1fichier
//! mention. A bare random string is only reported in strict mode. Findings carry the key
//! masked (`Ab…9z`) and a fingerprint; the raw key is reachable only through
//! [`Finding::expose_key_for_verification`] (and [`Finding::expose_key_for_key_store`]).
//! [`plan_fixes`] proposes checked rewrites that read the key from the environment instead
//! (`fichier scan --fix`). Rules, fingerprints, baselines, SARIF and fixes are documented in
//! `docs/scan.md`.
//!
//! ```no_run
//! use fichier_scan::{Scanner, ScanOptions, render_text};
//! let scanner = Scanner::new(ScanOptions::default());
//! let report = scanner.scan_paths(&["."])?;
//! print!("{}", render_text(&report));
//! std::process::exit(i32::from(report.exit_code()));
//! # Ok::<(), fichier_scan::ScanError>(())
//! ```

#![warn(missing_docs)]

mod baseline;
mod engine;
mod error;
mod finding;
mod fix;
mod git;
mod hook;
mod render;
mod report;
mod rules;
mod scanner;
mod secret;
mod shape;

pub use baseline::{BASELINE_VERSION, Baseline, BaselineEntry};
pub use error::ScanError;
pub use finding::{Finding, Verification};
pub use fix::{FIX_ENV, FileKind, FixAction, FixError, FixPlan, file_kind, plan_fixes};
pub use hook::{HookOptions, hook_script, install_hook};
pub use render::{
    JSON_VERSION, render_finding, render_json, render_sarif, render_summary, render_text,
};
pub use report::{EXIT_CLEAN, EXIT_ERROR, EXIT_FINDINGS, InputError, Report, Stats, exit_code_for};
pub use rules::{Confidence, RuleId};
pub use scanner::{DEFAULT_MAX_FILE_SIZE, IGNORE_FILE_NAME, Input, ScanOptions, Scanner};
pub use secret::{Fingerprint, mask};
