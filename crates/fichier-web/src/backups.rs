//! The backup runs `fichier backup` recorded in its journal, read for the Backups page and
//! `/api/backups` (read only: the journal belongs to the backup command).

use crate::error::WebError;
use crate::state::App;
use fichier_backup::journal::{Journal, RunRecord};

/// Runs shown at most.
const SHOWN: usize = 50;

/// One run as the page and the API show it: the journal's record.
pub type RunView = RunRecord;

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
        Ok(journal.recent_runs(SHOWN)?)
    })
    .await?
}
