//! The result of a scan: findings, per-input errors, counters, and the exit-code decision.

use serde::Serialize;

use crate::finding::{Finding, Verification};
use crate::secret::Fingerprint;

/// Exit code: nothing found and every input was read.
pub const EXIT_CLEAN: u8 = 0;
/// Exit code: at least one finding (after the baseline).
pub const EXIT_FINDINGS: u8 = 1;
/// Exit code: the scan failed, or some input could not be read and nothing was found.
pub const EXIT_ERROR: u8 = 2;

/// An input that could not be scanned (the scan went on without it).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct InputError {
    /// The file or object concerned.
    pub path: String,
    /// What went wrong.
    pub message: String,
}

/// Counters describing what was scanned.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Stats {
    /// Files (or git blobs, or stdin) whose content was scanned.
    pub scanned: u64,
    /// Bytes of content scanned.
    pub bytes: u64,
    /// Inputs skipped because they contain NUL bytes (binary).
    pub skipped_binary: u64,
    /// Inputs skipped because they exceed the size limit.
    pub skipped_large: u64,
    /// For git history scans: commits that added or changed at least one file.
    pub commits: u64,
    /// Findings removed because the baseline accepts their fingerprint.
    pub suppressed_by_baseline: u64,
}

/// Everything a scan produced.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Report {
    /// Findings, sorted by path, line, column (then commit).
    pub findings: Vec<Finding>,
    /// Inputs that could not be read.
    pub errors: Vec<InputError>,
    /// Counters.
    pub stats: Stats,
}

impl Report {
    /// Sorts findings into their stable output order.
    pub(crate) fn sort(&mut self) {
        let key = |f: &Finding| (f.path.clone(), f.line, f.column, f.commit.clone());
        self.findings.sort_by_key(key);
        // The same file named twice (`fichier scan . src`) is reported once.
        self.findings.dedup_by(|a, b| key(a) == key(b));
        self.errors.sort_by(|a, b| a.path.cmp(&b.path));
        self.errors.dedup();
    }

    /// Merges another report (e.g. from several inputs) into this one.
    pub fn merge(&mut self, other: Report) {
        self.findings.extend(other.findings);
        self.errors.extend(other.errors);
        let (s, o) = (&mut self.stats, other.stats);
        s.scanned += o.scanned;
        s.bytes += o.bytes;
        s.skipped_binary += o.skipped_binary;
        s.skipped_large += o.skipped_large;
        s.commits += o.commits;
        s.suppressed_by_baseline += o.suppressed_by_baseline;
        self.sort();
    }

    /// 0 clean, 1 findings, 2 when some input could not be read and nothing was found
    /// (findings win: they are what CI must act on; the errors are still listed).
    pub fn exit_code(&self) -> u8 {
        if !self.findings.is_empty() {
            EXIT_FINDINGS
        } else if !self.errors.is_empty() {
            EXIT_ERROR
        } else {
            EXIT_CLEAN
        }
    }

    /// One finding per distinct key (by fingerprint), in output order: what `--verify`
    /// should check, each key once.
    pub fn distinct_keys(&self) -> Vec<&Finding> {
        let mut seen = std::collections::HashSet::new();
        self.findings
            .iter()
            .filter(|f| seen.insert(&f.fingerprint))
            .collect()
    }

    /// Records the outcome of verifying one key on every finding of that key.
    pub fn set_verification(&mut self, fingerprint: &Fingerprint, outcome: Verification) {
        for f in self
            .findings
            .iter_mut()
            .filter(|f| &f.fingerprint == fingerprint)
        {
            f.verification = Some(outcome.clone());
        }
    }
}

/// The exit code for a whole scan call: the report's, or [`EXIT_ERROR`] when it failed.
pub fn exit_code_for<E>(result: &Result<Report, E>) -> u8 {
    match result {
        Ok(report) => report.exit_code(),
        Err(_) => EXIT_ERROR,
    }
}
