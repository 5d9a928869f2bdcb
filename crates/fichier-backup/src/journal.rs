//! The backup run journal (SQLite, beside the local index): every run with its version stamp,
//! state and counts, every step recorded before and after it happens, and the manifest of what
//! the destination held when a run finished (what `restore --at` and `verify` read).
//!
//! An unfinished run is resumed by the next one: it keeps the same version stamp, so copies
//! retired before and after the interruption land in one version folder, not two.

use std::path::Path;
use std::time::Duration;

use std::sync::Arc;

use fichier_state::{Db, Schema, Synchronous};
use rusqlite::{OptionalExtension, params};

/// The journal database.
#[derive(Debug)]
pub struct Journal {
    db: Arc<Db>,
    path: String,
}

/// A run as recorded (its JSON is what the dashboard's `/api/backups` lists: the row id is
/// the journal's own).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct RunRecord {
    /// Row id.
    #[serde(skip)]
    pub id: i64,
    /// Profile name.
    pub profile: String,
    /// The version stamp (name of the folder under `.versions/`).
    pub stamp: String,
    /// `running`, `done`, `partial` or `failed`.
    pub state: String,
    /// When the first attempt of the run started (seconds since the epoch).
    pub started: i64,
    /// When it ended, if it did.
    pub finished: Option<i64>,
    /// One-line summary (counts), written at the end.
    pub summary: String,
}

/// One file of a manifest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ManifestEntry {
    /// Path relative to the destination.
    pub rel: String,
    /// Size in bytes.
    pub size: u64,
    /// Whirlpool, lowercase hex (empty for an empty file, which is not stored remotely).
    pub whirlpool: String,
    /// The remote link (empty for an empty file).
    pub link: String,
    /// Modification time of the source file, ns since the epoch.
    pub mtime_ns: i128,
    /// Permission bits of the source file.
    pub mode: u32,
}

/// A problem with the journal file.
#[derive(Debug, thiserror::Error)]
#[error("backup journal {path}: {source}")]
pub struct JournalError {
    path: String,
    #[source]
    source: crate::db::Cause,
}

const SQL: &str = "
CREATE TABLE IF NOT EXISTS runs (
    id       INTEGER PRIMARY KEY,
    profile  TEXT NOT NULL,
    stamp    TEXT NOT NULL,
    state    TEXT NOT NULL,
    started  INTEGER NOT NULL,
    finished INTEGER,
    summary  TEXT NOT NULL DEFAULT ''
);
CREATE INDEX IF NOT EXISTS runs_profile ON runs (profile, id);
CREATE TABLE IF NOT EXISTS steps (
    run    INTEGER NOT NULL REFERENCES runs (id),
    kind   TEXT NOT NULL,
    rel    TEXT NOT NULL,
    state  TEXT NOT NULL,
    detail TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (run, kind, rel)
);
CREATE TABLE IF NOT EXISTS manifest (
    run       INTEGER NOT NULL REFERENCES runs (id),
    rel       TEXT NOT NULL,
    size      INTEGER NOT NULL,
    whirlpool TEXT NOT NULL,
    link      TEXT NOT NULL,
    mtime_ns  TEXT NOT NULL DEFAULT '0',
    mode      INTEGER NOT NULL DEFAULT 420,
    PRIMARY KEY (run, rel, link)
);
";

const SCHEMA: Schema = Schema {
    name: "backup journal",
    version: 1,
    sql: SQL,
    synchronous: Synchronous::Full,
};

impl Journal {
    /// Opens (creating if needed) the journal at `path`.
    pub fn open(path: &Path, busy: Duration) -> Result<Self, JournalError> {
        let db = crate::db::open(path, &SCHEMA, busy).map_err(|source| JournalError {
            path: path.display().to_string(),
            source,
        })?;
        Ok(Journal {
            db,
            path: path.display().to_string(),
        })
    }

    /// Opens an existing journal to read it (the dashboard's Backups page): runs no schema,
    /// creates nothing; `None` when no backup has run yet.
    pub fn open_existing(path: &Path) -> Result<Option<Self>, JournalError> {
        Ok(crate::db::open_existing(path, &SCHEMA)
            .map_err(|source| JournalError {
                path: path.display().to_string(),
                source,
            })?
            .map(|db| Journal {
                db,
                path: path.display().to_string(),
            }))
    }

    fn err(&self, source: rusqlite::Error) -> JournalError {
        JournalError {
            path: self.path.clone(),
            source: Box::new(source),
        }
    }

    /// Starts a run of `profile`, or resumes the last one if it never finished (killed,
    /// crashed, power cut): the resumed run keeps its stamp. `new_stamp` is used only for a
    /// new run. Returns the run and whether it was resumed.
    pub fn begin(
        &mut self,
        profile: &str,
        new_stamp: &str,
        now: i64,
    ) -> Result<(RunRecord, bool), JournalError> {
        if let Some(last) = self.last_run(profile)?
            && last.state == "running"
        {
            return Ok((last, true));
        }
        let conn = self.db.lock();
        conn.execute(
            "INSERT INTO runs (profile, stamp, state, started) VALUES (?1, ?2, 'running', ?3)",
            params![profile, new_stamp, now],
        )
        .map_err(|e| self.err(e))?;
        let id = conn.last_insert_rowid();
        Ok((
            RunRecord {
                id,
                profile: profile.to_string(),
                stamp: new_stamp.to_string(),
                state: "running".into(),
                started: now,
                finished: None,
                summary: String::new(),
            },
            false,
        ))
    }

    /// The newest run of `profile`.
    pub fn last_run(&self, profile: &str) -> Result<Option<RunRecord>, JournalError> {
        self.db
            .lock()
            .query_row(
                "SELECT id, profile, stamp, state, started, finished, summary FROM runs
                 WHERE profile = ?1 ORDER BY id DESC LIMIT 1",
                params![profile],
                row_to_run,
            )
            .optional()
            .map_err(|e| self.err(e))
    }

    /// The newest `limit` runs of every profile, newest first (the dashboard's backup page).
    pub fn recent_runs(&self, limit: usize) -> Result<Vec<RunRecord>, JournalError> {
        let conn = self.db.lock();
        let mut stmt = conn
            .prepare("SELECT id, profile, stamp, state, started, finished, summary FROM runs ORDER BY id DESC LIMIT ?1")
            .map_err(|e| self.err(e))?;
        let rows = stmt
            .query_map(params![limit as i64], row_to_run)
            .map_err(|e| self.err(e))?;
        rows.collect::<Result<Vec<_>, _>>().map_err(|e| self.err(e))
    }

    /// Every run of `profile`, newest first.
    pub fn runs(&self, profile: &str) -> Result<Vec<RunRecord>, JournalError> {
        let conn = self.db.lock();
        let mut stmt = conn
            .prepare("SELECT id, profile, stamp, state, started, finished, summary FROM runs WHERE profile = ?1 ORDER BY id DESC")
            .map_err(|e| self.err(e))?;
        let rows = stmt
            .query_map(params![profile], row_to_run)
            .map_err(|e| self.err(e))?;
        rows.collect::<Result<Vec<_>, _>>().map_err(|e| self.err(e))
    }

    /// Records that a step is about to happen (`kind`: upload, retire, ...).
    pub fn step_started(
        &mut self,
        run: i64,
        kind: &str,
        rel: &str,
        detail: &str,
    ) -> Result<(), JournalError> {
        self.db.lock()
            .execute(
                "INSERT INTO steps (run, kind, rel, state, detail) VALUES (?1, ?2, ?3, 'started', ?4)
                 ON CONFLICT (run, kind, rel) DO UPDATE SET state = 'started', detail = excluded.detail",
                params![run, kind, rel, detail],
            )
            .map_err(|e| self.err(e))?;
        Ok(())
    }

    /// Records how a step ended (`done` or `failed`, with a detail).
    pub fn step_finished(
        &mut self,
        run: i64,
        kind: &str,
        rel: &str,
        state: &str,
        detail: &str,
    ) -> Result<(), JournalError> {
        self.db.lock()
            .execute(
                "UPDATE steps SET state = ?4, detail = ?5 WHERE run = ?1 AND kind = ?2 AND rel = ?3",
                params![run, kind, rel, state, detail],
            )
            .map_err(|e| self.err(e))?;
        Ok(())
    }

    /// Steps of a run that started and never finished (what an interruption cut).
    pub fn open_steps(&self, run: i64) -> Result<Vec<(String, String)>, JournalError> {
        let conn = self.db.lock();
        let mut stmt = conn
            .prepare("SELECT kind, rel FROM steps WHERE run = ?1 AND state = 'started' ORDER BY kind, rel")
            .map_err(|e| self.err(e))?;
        let rows = stmt
            .query_map(params![run], |r| Ok((r.get(0)?, r.get(1)?)))
            .map_err(|e| self.err(e))?;
        rows.collect::<Result<Vec<_>, _>>().map_err(|e| self.err(e))
    }

    /// Ends a run: its state, summary, and the manifest of the destination as it now stands,
    /// all in one transaction (a manifest is never half written).
    pub fn finish(
        &mut self,
        run: i64,
        state: &str,
        summary: &str,
        now: i64,
        manifest: &[ManifestEntry],
    ) -> Result<(), JournalError> {
        let p = self.path.clone();
        let err = move |source: rusqlite::Error| JournalError {
            path: p.clone(),
            source: Box::new(source),
        };
        let mut conn = self.db.lock();
        let tx = conn.transaction().map_err(err.clone())?;
        tx.execute("DELETE FROM manifest WHERE run = ?1", params![run])
            .map_err(err.clone())?;
        {
            let mut ins = tx
                .prepare_cached("INSERT OR REPLACE INTO manifest (run, rel, size, whirlpool, link, mtime_ns, mode) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)")
                .map_err(err.clone())?;
            for m in manifest {
                ins.execute(params![
                    run,
                    m.rel,
                    m.size as i64,
                    m.whirlpool,
                    m.link,
                    m.mtime_ns.to_string(),
                    m.mode
                ])
                .map_err(err.clone())?;
            }
        }
        tx.execute(
            "UPDATE runs SET state = ?2, summary = ?3, finished = ?4 WHERE id = ?1",
            params![run, state, summary, now],
        )
        .map_err(err.clone())?;
        tx.commit().map_err(err)
    }

    /// The manifest of a finished run.
    pub fn manifest(&self, run: i64) -> Result<Vec<ManifestEntry>, JournalError> {
        let conn = self.db.lock();
        let mut stmt = conn
            .prepare(
                "SELECT rel, size, whirlpool, link, mtime_ns, mode FROM manifest WHERE run = ?1 ORDER BY rel, link",
            )
            .map_err(|e| self.err(e))?;
        let rows = stmt
            .query_map(params![run], |r| {
                let size: i64 = r.get(1)?;
                let mtime: String = r.get(4)?;
                Ok(ManifestEntry {
                    rel: r.get(0)?,
                    size: size as u64,
                    whirlpool: r.get(2)?,
                    link: r.get(3)?,
                    mtime_ns: mtime.parse().unwrap_or(0),
                    mode: r.get(5)?,
                })
            })
            .map_err(|e| self.err(e))?;
        rows.collect::<Result<Vec<_>, _>>().map_err(|e| self.err(e))
    }
}

fn row_to_run(r: &rusqlite::Row<'_>) -> rusqlite::Result<RunRecord> {
    Ok(RunRecord {
        id: r.get(0)?,
        profile: r.get(1)?,
        stamp: r.get(2)?,
        state: r.get(3)?,
        started: r.get(4)?,
        finished: r.get(5)?,
        summary: r.get(6)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn open(dir: &Path) -> Journal {
        Journal::open(&dir.join("journal.db"), Duration::from_secs(1)).unwrap()
    }

    #[test]
    fn an_unfinished_run_is_resumed_with_its_stamp() {
        let dir = tempfile::tempdir().unwrap();
        let mut j = open(dir.path());
        let (run, resumed) = j.begin("p", "2026-12-01T020000Z", 100).unwrap();
        assert!(!resumed);
        j.step_started(run.id, "retire", "a/b", "to .versions")
            .unwrap();
        drop(j); // killed here
        let mut j = open(dir.path());
        let (again, resumed) = j.begin("p", "2026-12-02T020000Z", 200).unwrap();
        assert!(resumed);
        assert_eq!(
            (again.id, again.stamp.as_str()),
            (run.id, "2026-12-01T020000Z")
        );
        assert_eq!(
            j.open_steps(run.id).unwrap(),
            [("retire".to_string(), "a/b".to_string())]
        );
        j.step_finished(run.id, "retire", "a/b", "done", "")
            .unwrap();
        assert!(j.open_steps(run.id).unwrap().is_empty());
        let m = [ManifestEntry {
            rel: "a/b".into(),
            size: 3,
            whirlpool: "ab".into(),
            link: "L".into(),
            mtime_ns: 1_700_000_000_123_456_789,
            mode: 0o640,
        }];
        j.finish(run.id, "done", "1 uploaded", 300, &m).unwrap();
        let (next, resumed) = j.begin("p", "2026-12-03T020000Z", 400).unwrap();
        assert!(!resumed);
        assert_eq!(next.stamp, "2026-12-03T020000Z");
        assert_eq!(j.manifest(run.id).unwrap(), m);
        let runs = j.runs("p").unwrap();
        assert_eq!(runs.len(), 2);
        assert_eq!(
            (runs[1].state.as_str(), runs[1].finished),
            ("done", Some(300))
        );
    }

    #[test]
    fn profiles_keep_their_own_runs() {
        let dir = tempfile::tempdir().unwrap();
        let mut j = open(dir.path());
        j.begin("a", "s1", 1).unwrap();
        let (b, resumed) = j.begin("b", "s2", 2).unwrap();
        assert!(!resumed);
        assert_eq!(b.stamp, "s2");
        assert_eq!(j.last_run("a").unwrap().unwrap().stamp, "s1");
        assert!(j.last_run("c").unwrap().is_none());
    }
}
