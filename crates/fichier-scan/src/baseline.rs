//! Baselines: a file of accepted findings, matched by fingerprint, that never holds a key.
//!
//! Format (JSON, version 1):
//! `{"version": 1, "accepted": [{"fingerprint": "<32 hex>", "rule": "...", "path": "...",
//! "line": 3, "commit": "..."}]}`. Only `fingerprint` is used for matching; the other fields
//! tell a reviewer where the accepted key was seen.

use std::collections::HashSet;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::error::ScanError;
use crate::finding::Finding;
use crate::report::Report;
use crate::rules::RuleId;
use crate::secret::Fingerprint;

/// Current baseline format version.
pub const BASELINE_VERSION: u32 = 1;

/// One accepted finding.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BaselineEntry {
    /// Fingerprint of the accepted key (the only field used for matching).
    pub fingerprint: Fingerprint,
    /// Rule id at the time it was accepted (informational).
    #[serde(default)]
    pub rule: String,
    /// Where it was seen (informational).
    #[serde(default)]
    pub path: String,
    /// Line where it was seen (informational).
    #[serde(default)]
    pub line: usize,
    /// Commit, for history findings (informational).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub commit: Option<String>,
}

/// A set of accepted findings.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Baseline {
    /// Format version ([`BASELINE_VERSION`]).
    pub version: u32,
    /// Accepted findings.
    pub accepted: Vec<BaselineEntry>,
}

impl Baseline {
    /// A baseline accepting every given finding.
    pub fn from_findings(findings: &[Finding]) -> Baseline {
        let mut b = Baseline {
            version: BASELINE_VERSION,
            accepted: Vec::new(),
        };
        b.add(findings);
        b
    }

    /// Accepts more findings (one entry per fingerprint and place).
    pub fn add(&mut self, findings: &[Finding]) {
        for f in findings {
            let entry = BaselineEntry {
                fingerprint: f.fingerprint.clone(),
                rule: f.rule.id().to_owned(),
                path: f.path.clone(),
                line: f.line,
                commit: f.commit.clone(),
            };
            if !self.accepted.contains(&entry) {
                self.accepted.push(entry);
            }
        }
        self.accepted.sort_by(|a, b| {
            (&a.path, a.line, &a.fingerprint).cmp(&(&b.path, b.line, &b.fingerprint))
        });
    }

    /// True when the baseline accepts this fingerprint.
    pub fn accepts(&self, fingerprint: &Fingerprint) -> bool {
        self.accepted.iter().any(|e| &e.fingerprint == fingerprint)
    }

    /// Parses a baseline from JSON text; `path` is only used in the error.
    pub fn from_json(text: &str, path: &Path) -> Result<Baseline, ScanError> {
        let bad = |detail: String| ScanError::Baseline {
            path: path.to_path_buf(),
            detail,
        };
        // Fingerprints are validated by shape so a key pasted by mistake is refused, not kept.
        let raw: serde_json::Value =
            serde_json::from_str(text).map_err(|e| bad(format!("not JSON ({e})")))?;
        let mut b: Baseline = serde_json::from_value(raw).map_err(|e| bad(e.to_string()))?;
        if b.version != BASELINE_VERSION {
            return Err(bad(format!(
                "version {} is not supported (expected {BASELINE_VERSION})",
                b.version
            )));
        }
        if let Some(i) = b
            .accepted
            .iter()
            .position(|e| Fingerprint::parse(e.fingerprint.as_str()).is_none())
        {
            return Err(bad(format!(
                "entry {} has a fingerprint that is not 32 lowercase hex digits",
                i + 1
            )));
        }
        // A rule spelled as older `--json` output did is read as today's id, so updating the
        // baseline does not list the same finding twice; an unknown one is kept as written
        // (the field is informational).
        for e in &mut b.accepted {
            if let Some(rule) = RuleId::from_id(&e.rule) {
                e.rule = rule.id().to_owned();
            }
        }
        Ok(b)
    }

    /// Loads a baseline file.
    pub fn load(path: &Path) -> Result<Baseline, ScanError> {
        let text = std::fs::read_to_string(path).map_err(|source| ScanError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        Baseline::from_json(&text, path)
    }

    /// The JSON text of this baseline (pretty, stable order, trailing newline).
    pub fn to_json(&self) -> String {
        let mut s = serde_json::to_string_pretty(self).unwrap_or_default();
        s.push('\n');
        s
    }

    /// Writes the baseline atomically (temporary file in the same directory, then rename).
    pub fn save(&self, path: &Path) -> Result<(), ScanError> {
        let io = |source| ScanError::Io {
            path: path.to_path_buf(),
            source,
        };
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let tmp = path.with_file_name(format!(".{name}.tmp{}", std::process::id()));
        std::fs::write(&tmp, self.to_json()).map_err(io)?;
        std::fs::rename(&tmp, path).map_err(|e| {
            let _ = std::fs::remove_file(&tmp);
            io(e)
        })
    }
}

impl Report {
    /// Removes findings whose fingerprint the baseline accepts; returns how many were removed
    /// (also counted in [`crate::Stats::suppressed_by_baseline`]).
    pub fn apply_baseline(&mut self, baseline: &Baseline) -> usize {
        let accepted: HashSet<&Fingerprint> =
            baseline.accepted.iter().map(|e| &e.fingerprint).collect();
        let before = self.findings.len();
        self.findings.retain(|f| !accepted.contains(&f.fingerprint));
        let removed = before - self.findings.len();
        self.stats.suppressed_by_baseline += removed as u64;
        removed
    }
}
