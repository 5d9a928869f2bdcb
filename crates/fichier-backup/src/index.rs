//! The backup's local index: for each profile, path -> (size, mtime, inode, whirlpool) of the
//! source files as last hashed, so a nightly run hashes again only what changed. SQLite in WAL
//! mode; every write is a transaction, so a run killed at any point leaves a usable index.

use std::path::Path;
use std::time::Duration;

use std::sync::Arc;

use fichier_state::{Db, Schema, Synchronous};
use rusqlite::{OptionalExtension, params};

use crate::source::SourceFile;

/// An open index database (one file in the data dir, shared by every profile).
#[derive(Debug)]
pub struct LocalIndex {
    db: Arc<Db>,
    path: String,
}

/// One remembered source file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IndexedFile {
    /// Size in bytes when hashed.
    pub size: u64,
    /// Modification time (ns since the epoch) when hashed.
    pub mtime_ns: i128,
    /// Inode when hashed.
    pub inode: u64,
    /// Whirlpool of the content, lowercase hex.
    pub whirlpool: String,
}

/// A problem with the index file.
#[derive(Debug, thiserror::Error)]
#[error("backup index {path}: {source}")]
pub struct IndexError {
    path: String,
    #[source]
    source: crate::db::Cause,
}

const SQL: &str = "
CREATE TABLE IF NOT EXISTS local_files (
    profile   TEXT NOT NULL,
    rel       TEXT NOT NULL,
    size      INTEGER NOT NULL,
    mtime_ns  TEXT NOT NULL,
    inode     INTEGER NOT NULL,
    whirlpool TEXT NOT NULL,
    PRIMARY KEY (profile, rel)
) WITHOUT ROWID;
";

const SCHEMA: Schema = Schema {
    name: "backup index",
    version: 1,
    sql: SQL,
    synchronous: Synchronous::Normal,
};

impl LocalIndex {
    /// Opens (creating if needed) the index at `path`. Another process holding the database
    /// makes this wait up to `busy` before failing.
    pub fn open(path: &Path, busy: Duration) -> Result<Self, IndexError> {
        let db = crate::db::open_cache(path, &SCHEMA, busy).map_err(|source| IndexError {
            path: path.display().to_string(),
            source,
        })?;
        Ok(LocalIndex {
            db,
            path: path.display().to_string(),
        })
    }

    /// [`Self::err`] as a closure that owns what it needs (for `map_err` inside a
    /// transaction that borrows the connection).
    fn err_fn(&self) -> impl Fn(rusqlite::Error) -> IndexError + Clone + use<> {
        let path = self.path.clone();
        move |source| IndexError {
            path: path.clone(),
            source: Box::new(source),
        }
    }

    fn err(&self, source: rusqlite::Error) -> IndexError {
        IndexError {
            path: self.path.clone(),
            source: Box::new(source),
        }
    }

    /// The remembered whirlpool of `file`, if size, mtime and inode are all unchanged since it
    /// was hashed; `None` means it must be hashed again.
    pub fn cached_whirlpool(
        &self,
        profile: &str,
        file: &SourceFile,
    ) -> Result<Option<String>, IndexError> {
        Ok(self
            .get(profile, &file.rel)?
            .filter(|row| {
                row.size == file.size && row.mtime_ns == file.mtime_ns && row.inode == file.inode
            })
            .map(|row| row.whirlpool))
    }

    /// The row for `rel`, whatever its freshness.
    pub fn get(&self, profile: &str, rel: &str) -> Result<Option<IndexedFile>, IndexError> {
        self.db.lock()
            .query_row(
                "SELECT size, mtime_ns, inode, whirlpool FROM local_files WHERE profile = ?1 AND rel = ?2",
                params![profile, rel],
                |r| {
                    let size: i64 = r.get(0)?;
                    let mtime: String = r.get(1)?;
                    let inode: i64 = r.get(2)?;
                    Ok(IndexedFile {
                        size: size as u64,
                        mtime_ns: mtime.parse().unwrap_or(i128::MIN),
                        inode: inode as u64,
                        whirlpool: r.get(3)?,
                    })
                },
            )
            .optional()
            .map_err(|e| self.err(e))
    }

    /// Remembers the whirlpool of `files` (one transaction for the whole batch).
    pub fn record(
        &mut self,
        profile: &str,
        files: &[(&SourceFile, &str)],
    ) -> Result<(), IndexError> {
        let err = self.err_fn();
        let mut conn = self.db.lock();
        let tx = conn.transaction().map_err(err.clone())?;
        {
            let mut stmt = tx
                .prepare_cached(
                    "INSERT INTO local_files (profile, rel, size, mtime_ns, inode, whirlpool)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6)
                     ON CONFLICT (profile, rel) DO UPDATE SET
                       size = excluded.size, mtime_ns = excluded.mtime_ns,
                       inode = excluded.inode, whirlpool = excluded.whirlpool",
                )
                .map_err(err.clone())?;
            for (f, whirlpool) in files {
                stmt.execute(params![
                    profile,
                    f.rel,
                    f.size as i64,
                    f.mtime_ns.to_string(),
                    f.inode as i64,
                    whirlpool
                ])
                .map_err(err.clone())?;
            }
        }
        tx.commit().map_err(err)
    }

    /// Forgets every path of `profile` that is not in `present` (files gone from the source);
    /// returns how many rows went.
    pub fn forget_missing(
        &mut self,
        profile: &str,
        present: &[SourceFile],
    ) -> Result<usize, IndexError> {
        let err = self.err_fn();
        let mut conn = self.db.lock();
        let tx = conn.transaction().map_err(err.clone())?;
        tx.execute_batch(
            "CREATE TEMP TABLE IF NOT EXISTS present (rel TEXT PRIMARY KEY); DELETE FROM present;",
        )
        .map_err(err.clone())?;
        {
            let mut ins = tx
                .prepare_cached("INSERT OR IGNORE INTO present (rel) VALUES (?1)")
                .map_err(err.clone())?;
            for f in present {
                ins.execute(params![f.rel]).map_err(err.clone())?;
            }
        }
        let n = tx
            .execute(
                "DELETE FROM local_files WHERE profile = ?1 AND rel NOT IN (SELECT rel FROM present)",
                params![profile],
            )
            .map_err(err.clone())?;
        tx.commit().map_err(err)?;
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(rel: &str, size: u64, mtime_ns: i128, inode: u64) -> SourceFile {
        SourceFile {
            rel: rel.into(),
            path: rel.into(),
            size,
            mtime_ns,
            inode,
            dev: 1,
            mode: 0o644,
        }
    }

    #[test]
    fn a_file_is_hashed_again_only_when_size_mtime_or_inode_changed() {
        let dir = tempfile::tempdir().unwrap();
        let mut idx =
            LocalIndex::open(&dir.path().join("index.db"), Duration::from_secs(1)).unwrap();
        let f = file("a/b.txt", 10, 1_700_000_000_123_456_789, 42);
        assert_eq!(idx.cached_whirlpool("p", &f).unwrap(), None);
        idx.record("p", &[(&f, "ab12")]).unwrap();
        assert_eq!(
            idx.cached_whirlpool("p", &f).unwrap().as_deref(),
            Some("ab12")
        );
        assert_eq!(
            idx.cached_whirlpool("other", &f).unwrap(),
            None,
            "profiles are apart"
        );
        for changed in [
            file("a/b.txt", 11, f.mtime_ns, 42),
            file("a/b.txt", 10, f.mtime_ns + 1, 42),
            file("a/b.txt", 10, f.mtime_ns, 43),
        ] {
            assert_eq!(
                idx.cached_whirlpool("p", &changed).unwrap(),
                None,
                "{changed:?}"
            );
        }
    }

    #[test]
    fn the_index_survives_reopening_and_forgets_files_gone_from_the_source() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("index.db");
        let (a, b) = (file("a", 1, 1, 1), file("b", 2, 2, 2));
        {
            let mut idx = LocalIndex::open(&path, Duration::from_secs(1)).unwrap();
            idx.record("p", &[(&a, "aa"), (&b, "bb")]).unwrap();
        }
        let mut idx = LocalIndex::open(&path, Duration::from_secs(1)).unwrap();
        assert_eq!(
            idx.forget_missing("p", std::slice::from_ref(&a)).unwrap(),
            1
        );
        assert!(idx.get("p", "b").unwrap().is_none());
        assert_eq!(idx.get("p", "a").unwrap().unwrap().whirlpool, "aa");
    }

    #[test]
    fn a_damaged_index_is_set_aside_and_rebuilt() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("index.db");
        std::fs::write(&path, vec![0x5a; 8192]).unwrap();
        let idx = LocalIndex::open(&path, Duration::from_secs(1)).unwrap();
        assert!(idx.get("p", "a").unwrap().is_none());
        let aside: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n.starts_with("index.db.damaged-"))
            .collect();
        assert_eq!(aside.len(), 1, "the damaged file is kept aside");
    }

    #[test]
    fn two_processes_worth_of_connections_share_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("index.db");
        let mut one = LocalIndex::open(&path, Duration::from_secs(5)).unwrap();
        let two = LocalIndex::open(&path, Duration::from_secs(5)).unwrap();
        let a = file("a", 1, 1, 1);
        one.record("p", &[(&a, "aa")]).unwrap();
        assert_eq!(
            two.cached_whirlpool("p", &a).unwrap().as_deref(),
            Some("aa")
        );
    }
}
