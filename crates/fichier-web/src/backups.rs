//! The backup runs `fichier backup` recorded in its journal, read for the Backups page and
//! `/api/backups` (read only: the journal belongs to the backup command).

use serde::Serialize;

use crate::error::WebError;
use crate::state::App;
use fichier_backup::journal::Journal;

/// Runs shown at most.
const SHOWN: usize = 50;

/// One run as the page and the API show it.
#[derive(Debug, Clone, Serialize)]
pub struct RunView {
    /// Profile name (or `SOURCE=>DEST` for a run without a profile).
    pub profile: String,
    /// The run's version stamp.
    pub stamp: String,
    /// `running` (or killed before it ended), `done`, `partial`.
    pub state: String,
    /// Start and end, Unix seconds.
    pub started: i64,
    /// `None` while running or when the run was killed.
    pub finished: Option<i64>,
    /// The run's one-line summary (counts).
    pub summary: String,
}

/// The newest runs of every profile; empty when no backup ever ran here.
pub async fn recent(app: &App) -> Result<Vec<RunView>, WebError> {
    let Some(path) = app.backup_journal.clone() else {
        return Ok(Vec::new());
    };
    tokio::task::spawn_blocking(move || -> Result<Vec<RunView>, WebError> {
        // Read only what `fichier backup` wrote: no schema run, nothing created.
        let Some(journal) = Journal::open_existing(&path)? else {
            return Ok(Vec::new());
        };
        let runs = journal.recent_runs(SHOWN)?;
        Ok(runs
            .into_iter()
            .map(|r| RunView {
                profile: r.profile,
                stamp: r.stamp,
                state: r.state,
                started: r.started,
                finished: r.finished,
                summary: r.summary,
            })
            .collect())
    })
    .await?
}
