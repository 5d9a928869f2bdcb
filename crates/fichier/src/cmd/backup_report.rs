//! What a backup run reports, in one type: the `backup --json` document, the last line of
//! `--progress json`, the `--log-file` summary line, the `--notify-url` body and the hooks'
//! environment (kept apart from `backup.rs` so the log and the notifier need not import the
//! command that uses them).

use fichier_backup::RunSummary;

/// What a backup run reports: the `backup --json` document, the last line of
/// `--progress json` (with `"event": "summary"`), the `summary` line of `--log-file`, the body
/// POSTed to `--notify-url` and, one variable per scalar key, the hooks' environment.
#[derive(Debug, Clone, serde::Serialize)]
#[serde(untagged)]
pub(crate) enum RunReport {
    /// The run went through its plan (some files may have failed, or it stopped early).
    Finished(Box<FinishedRun>),
    /// The run was refused, locked out or stopped by an error before it had a summary.
    Failed(FailedRun),
}

/// The summary of a run that went through its plan: the library's [`RunSummary`] and the
/// CLI's own counts.
#[derive(Debug, Clone, serde::Serialize)]
pub(crate) struct FinishedRun {
    #[serde(flatten)]
    pub(crate) run: RunSummary,
    /// `done`, `partial` or `failed-items`.
    pub(crate) outcome: &'static str,
    /// Anything uploaded, moved into versions, deleted or pruned.
    pub(crate) changed: bool,
    pub(crate) api_calls: u64,
    /// Flood answers the API client received during the run (each one paused all calls).
    pub(crate) flood_answers: u64,
    /// The process exit code.
    pub(crate) exit_code: i32,
    pub(crate) seconds: f64,
}

/// The summary of a run that ended with an error before its own summary.
#[derive(Debug, Clone, serde::Serialize)]
pub(crate) struct FailedRun {
    pub(crate) profile: String,
    /// `locked`, `refused`, `flood`, `auth` or `failed`.
    pub(crate) outcome: &'static str,
    /// The error's first line, without `error: `.
    pub(crate) error: String,
    pub(crate) exit_code: i32,
    pub(crate) seconds: f64,
    /// Left out when the run never reached the service.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) api_calls: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) flood_answers: Option<u64>,
}
