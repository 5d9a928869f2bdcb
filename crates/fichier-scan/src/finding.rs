//! One finding: where a key was found, by which rule, how sure, and its masked form.
//!
//! `Debug` and serde are written so the key never appears; the only way to the raw key is
//! [`Finding::expose_key_for_verification`] (and [`Finding::expose_key_for_key_store`], for
//! `scan --fix` storing a live key).

use serde::Serialize;

use crate::rules::{Confidence, RuleId};
use crate::secret::{Fingerprint, KeyMaterial, mask};

/// Result of checking a found key against the API (`--verify`), filled in by the caller.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "status", rename_all = "lowercase")]
pub enum Verification {
    /// The API accepted the key: it is live and must be revoked.
    Live,
    /// The API refused the key (unknown or revoked).
    Dead,
    /// The check could not conclude (network error, flood lock...). `reason` must not contain the key.
    Unknown {
        /// Why, for the report.
        reason: String,
    },
}

impl Verification {
    /// Short word for text output.
    pub fn as_str(&self) -> &'static str {
        match self {
            Verification::Live => "live",
            Verification::Dead => "dead",
            Verification::Unknown { .. } => "unknown",
        }
    }
}

/// A possible 1fichier API key found in some input.
#[derive(Clone, Serialize)]
pub struct Finding {
    /// Path of the file (as given or as walked; repository-relative for git inputs; `-` for stdin).
    pub path: String,
    /// 1-based line number.
    pub line: usize,
    /// 1-based column of the key's first character, counted in Unicode code points.
    pub column: usize,
    /// 1-based column just past the key's last character (SARIF `endColumn`).
    pub end_column: usize,
    /// The rule that matched.
    pub rule: RuleId,
    /// How sure the scanner is.
    pub confidence: Confidence,
    /// The key masked to its first and last two characters (`Ab…9z`).
    pub masked: String,
    /// Short human explanation of why this was reported (never contains the key).
    pub why: String,
    /// Stable identifier of the key value, used by baselines (see [`Fingerprint`]).
    pub fingerprint: Fingerprint,
    /// For git history findings: the full id of a commit that introduced this content.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub commit: Option<String>,
    /// Set by the caller after `--verify`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub verification: Option<Verification>,
    #[serde(skip)]
    key: KeyMaterial,
}

/// Where in an input a finding is; the engine fills this in.
pub(crate) struct Place {
    pub line: usize,
    pub column: usize,
    pub end_column: usize,
}

impl Finding {
    pub(crate) fn new(
        path: &str,
        place: Place,
        rule: RuleId,
        confidence: Confidence,
        why: String,
        key: KeyMaterial,
    ) -> Finding {
        Finding {
            path: path.to_owned(),
            line: place.line,
            column: place.column,
            end_column: place.end_column,
            rule,
            confidence,
            masked: mask(key.expose()),
            why,
            fingerprint: Fingerprint::of_key(key.expose()),
            commit: None,
            verification: None,
            key,
        }
    }

    /// The raw key, for `--fix` (locating and masking it in the file) inside this crate.
    pub(crate) fn key(&self) -> &str {
        self.key.expose()
    }

    /// The raw key, for storing it in fichier's key store (`scan --fix` offers to, before
    /// rewriting the files that held it). Never print, log or store it anywhere else.
    pub fn expose_key_for_key_store(&self) -> &str {
        self.key.expose()
    }

    /// The raw key, for the one purpose of checking it once against the configured API
    /// (`fichier scan --verify`). Never print, log or store what this returns.
    pub fn expose_key_for_verification(&self) -> &str {
        self.key.expose()
    }
}

impl std::fmt::Debug for Finding {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Finding")
            .field("path", &self.path)
            .field("line", &self.line)
            .field("column", &self.column)
            .field("rule", &self.rule)
            .field("confidence", &self.confidence)
            .field("masked", &self.masked)
            .field("why", &self.why)
            .field("fingerprint", &self.fingerprint)
            .field("commit", &self.commit)
            .field("verification", &self.verification)
            .finish_non_exhaustive()
    }
}
