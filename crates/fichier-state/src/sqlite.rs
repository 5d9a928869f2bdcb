//! The one SQLite opener: private modes, WAL with a busy timeout (and a retry of the switch to
//! WAL, which needs a moment alone with the file), a `user_version` guard against a newer
//! schema, and one connection per process and per file.
//!
//! The last point is a correctness rule, not a saving: SQLite's locks are POSIX record locks,
//! owned by the process, and closing *any* descriptor of the file drops all of them. A second
//! `open()`/`close()` of a live database by the same process (to fix its mode, or a second
//! connection that SQLite cannot see is the same file) lets another program believe it is
//! alone: a read-only `sqlite3` beside a running daemon would then checkpoint and delete the
//! `-wal`/`-shm` files under it, and the queue splits. So this module touches a database file
//! outside SQLite only before this process has a connection to it, and hands every later
//! opener of the same file the same [`Db`].

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock, Weak};
use std::time::Duration;

use rusqlite::{Connection, OpenFlags, TransactionBehavior};

use crate::dir::private_dir;
use crate::file::narrow_path;

/// How long a statement waits for another process's write before answering "busy".
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// `PRAGMA synchronous` of a database.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Synchronous {
    /// `NORMAL`: in WAL mode, a power cut may lose the last commits, never corrupt.
    Normal,
    /// `FULL`: every commit is on disk when it returns.
    Full,
}

/// What a database holds: its name in messages, its schema (idempotent, additive DDL) and
/// the version that schema is.
#[derive(Debug, Clone, Copy)]
pub struct Schema {
    /// What the file is, for messages ("download queue", "backup journal").
    pub name: &'static str,
    /// `PRAGMA user_version` this code writes and understands.
    pub version: i64,
    /// `CREATE ... IF NOT EXISTS` statements: run on every open for writing.
    pub sql: &'static str,
    /// The durability of commits.
    pub synchronous: Synchronous,
}

/// Why a database could not be opened.
#[derive(Debug, thiserror::Error)]
pub enum DbError {
    /// The file or its directory could not be created or made private.
    #[error("cannot prepare {path}: {source}")]
    Io {
        /// The database file.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// SQLite refused.
    #[error("{path}: {source}")]
    Sqlite {
        /// The database file.
        path: PathBuf,
        /// SQLite's error.
        #[source]
        source: rusqlite::Error,
    },
    /// The file was written by a newer version of fichier.
    #[error("{path} holds a {name} of schema version {found}; this version knows up to {known}")]
    NewerSchema {
        /// The database file.
        path: PathBuf,
        /// What the file is.
        name: &'static str,
        /// The version in the file.
        found: i64,
        /// The newest this code knows.
        known: i64,
    },
}

/// One database of this process: its one connection, shared by every opener.
#[derive(Debug)]
pub struct Db {
    conn: Mutex<Connection>,
    path: PathBuf,
    /// Whether the schema was applied (a read view opens without it).
    schema_applied: Mutex<bool>,
}

type Registry = Mutex<HashMap<PathBuf, Weak<Db>>>;

fn registry() -> &'static Registry {
    static REG: OnceLock<Registry> = OnceLock::new();
    REG.get_or_init(|| Mutex::new(HashMap::new()))
}

impl Db {
    /// Opens `path` for reading and writing, creating it (`0600` in a `0700` directory) if
    /// missing, in WAL mode, with `schema` applied. A second call for the same file in this
    /// process returns the same [`Db`].
    pub fn open(path: &Path, schema: &Schema) -> Result<Arc<Db>, DbError> {
        let io = |source| DbError::Io {
            path: path.to_path_buf(),
            source,
        };
        if let Some(dir) = path.parent() {
            private_dir(dir).map_err(io)?;
        }
        let key = registry_key(path).map_err(io)?;
        let mut reg = registry().lock().unwrap_or_else(|p| p.into_inner());
        let db = match reg.get(&key).and_then(Weak::upgrade) {
            Some(db) => db,
            None => {
                // No connection of this process exists: the only moment it is safe to touch
                // the file (and its -wal/-shm, which SQLite creates with the file's mode).
                create_private(path).map_err(io)?;
                let db = Arc::new(Db::connect(path, OpenFlags::default())?);
                reg.insert(key, Arc::downgrade(&db));
                db
            }
        };
        drop(reg);
        db.apply(schema)?;
        Ok(db)
    }

    /// Opens an existing database to read what another component writes (the dashboard's
    /// view of the backup journal): no schema run, no file created; `None` when the file does
    /// not exist yet. Shares this process's connection when one is open.
    pub fn open_existing(path: &Path, schema: &Schema) -> Result<Option<Arc<Db>>, DbError> {
        let io = |source| DbError::Io {
            path: path.to_path_buf(),
            source,
        };
        if !path.exists() {
            return Ok(None);
        }
        let key = registry_key(path).map_err(io)?;
        let mut reg = registry().lock().unwrap_or_else(|p| p.into_inner());
        if let Some(db) = reg.get(&key).and_then(Weak::upgrade) {
            return Ok(Some(db));
        }
        for p in with_sidecars(path) {
            narrow_path(&p).map_err(io)?;
        }
        let flags = OpenFlags::SQLITE_OPEN_READ_WRITE
            | OpenFlags::SQLITE_OPEN_URI
            | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let db = Arc::new(Db::connect(path, flags)?);
        db.check_version(schema)?;
        reg.insert(key, Arc::downgrade(&db));
        Ok(Some(db))
    }

    fn connect(path: &Path, flags: OpenFlags) -> Result<Db, DbError> {
        let sql = |source| DbError::Sqlite {
            path: path.to_path_buf(),
            source,
        };
        let conn = Connection::open_with_flags(path, flags).map_err(sql)?;
        conn.busy_timeout(BUSY_TIMEOUT).map_err(sql)?;
        Ok(Db {
            conn: Mutex::new(conn),
            path: path.to_path_buf(),
            schema_applied: Mutex::new(false),
        })
    }

    /// WAL, synchronous level, version guard and schema, once per [`Db`].
    fn apply(&self, schema: &Schema) -> Result<(), DbError> {
        let mut applied = self
            .schema_applied
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        if *applied {
            return Ok(());
        }
        let sql = |source| DbError::Sqlite {
            path: self.path.clone(),
            source,
        };
        let mut conn = self.lock();
        // Switching to WAL needs a moment alone with the file; another process opening at the
        // same instant can make it answer "busy" without waiting, so try for about a second.
        let mut tries = 0;
        loop {
            match conn
                .pragma_update_and_check(None, "journal_mode", "WAL", |r| r.get::<_, String>(0))
            {
                Ok(_) => break,
                Err(e) if tries < 50 && is_busy(&e) => {
                    tries += 1;
                    std::thread::sleep(Duration::from_millis(20));
                }
                Err(e) => return Err(sql(e)),
            }
        }
        let level = match schema.synchronous {
            Synchronous::Normal => "NORMAL",
            Synchronous::Full => "FULL",
        };
        conn.pragma_update(None, "synchronous", level)
            .map_err(sql)?;
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(sql)?;
        let found: i64 = tx
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .map_err(sql)?;
        if found > schema.version {
            return Err(self.newer(schema, found));
        }
        tx.execute_batch(schema.sql).map_err(sql)?;
        tx.pragma_update(None, "user_version", schema.version)
            .map_err(sql)?;
        tx.commit().map_err(sql)?;
        *applied = true;
        Ok(())
    }

    fn check_version(&self, schema: &Schema) -> Result<(), DbError> {
        let found: i64 = self
            .lock()
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .map_err(|source| DbError::Sqlite {
                path: self.path.clone(),
                source,
            })?;
        if found > schema.version {
            return Err(self.newer(schema, found));
        }
        Ok(())
    }

    fn newer(&self, schema: &Schema, found: i64) -> DbError {
        DbError::NewerSchema {
            path: self.path.clone(),
            name: schema.name,
            found,
            known: schema.version,
        }
    }

    /// The connection, for one statement or transaction (a poisoned lock is taken over: a
    /// panic elsewhere must not make the queue unreadable).
    pub fn lock(&self) -> MutexGuard<'_, Connection> {
        self.conn.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

/// Whether SQLite answered "busy" or "locked".
pub fn is_busy(e: &rusqlite::Error) -> bool {
    matches!(
        e.sqlite_error_code(),
        Some(rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked)
    )
}

/// The file and the `-wal`/`-shm` files SQLite keeps beside it.
fn with_sidecars(path: &Path) -> [PathBuf; 3] {
    let side = |suffix: &str| {
        let mut s = path.as_os_str().to_owned();
        s.push(suffix);
        PathBuf::from(s)
    };
    [path.to_path_buf(), side("-wal"), side("-shm")]
}

/// Creates the database file `0600` if missing, and narrows it and its sidecars if an older
/// version left them open. Only called while this process has no connection to the file.
fn create_private(path: &Path) -> std::io::Result<()> {
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    match opts.open(path) {
        Ok(_) => {}
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
        Err(e) => return Err(e),
    }
    for p in with_sidecars(path) {
        narrow_path(&p)?;
    }
    Ok(())
}

/// The same file under every spelling of its path: the canonical directory plus the name.
fn registry_key(path: &Path) -> std::io::Result<PathBuf> {
    let dir = match path.parent().filter(|d| !d.as_os_str().is_empty()) {
        Some(d) => d.canonicalize()?,
        None => std::env::current_dir()?,
    };
    Ok(dir.join(path.file_name().unwrap_or_default()))
}

#[cfg(test)]
mod tests {
    use super::*;

    const SCHEMA: Schema = Schema {
        name: "test store",
        version: 2,
        sql: "CREATE TABLE IF NOT EXISTS t (v TEXT);",
        synchronous: Synchronous::Normal,
    };

    #[cfg(unix)]
    fn mode(p: &Path) -> u32 {
        use std::os::unix::fs::PermissionsExt;
        std::fs::metadata(p).unwrap().permissions().mode() & 0o777
    }

    #[test]
    fn one_connection_per_file_and_process_whatever_the_path_spelling() {
        let tmp = tempfile::tempdir().unwrap();
        let a = Db::open(&tmp.path().join("s/q.db"), &SCHEMA).unwrap();
        let b = Db::open(&tmp.path().join("s/../s/q.db"), &SCHEMA).unwrap();
        assert!(Arc::ptr_eq(&a, &b));
        let c = Db::open_existing(&tmp.path().join("s/q.db"), &SCHEMA)
            .unwrap()
            .unwrap();
        assert!(Arc::ptr_eq(&a, &c));
        drop((a, b, c));
        // Once every holder is gone the next open is a fresh connection.
        let d = Db::open(&tmp.path().join("s/q.db"), &SCHEMA).unwrap();
        d.lock().execute("INSERT INTO t VALUES ('x')", []).unwrap();
    }

    #[cfg(unix)]
    #[test]
    fn database_wal_and_shm_are_private_under_an_open_umask() {
        let tmp = tempfile::tempdir().unwrap();
        let p = tmp.path().join("new/q.db");
        let db = Db::open(&p, &SCHEMA).unwrap();
        db.lock().execute("INSERT INTO t VALUES ('x')", []).unwrap();
        for f in with_sidecars(&p) {
            if f.exists() {
                assert_eq!(mode(&f), 0o600, "{}", f.display());
            }
        }
        assert_eq!(mode(&tmp.path().join("new")), 0o700);
    }

    #[test]
    fn a_newer_schema_is_refused_by_name_and_version() {
        let tmp = tempfile::tempdir().unwrap();
        let p = tmp.path().join("q.db");
        {
            let c = Connection::open(&p).unwrap();
            c.pragma_update(None, "user_version", 9).unwrap();
        }
        let e = Db::open(&p, &SCHEMA).unwrap_err();
        assert!(
            matches!(
                e,
                DbError::NewerSchema {
                    found: 9,
                    known: 2,
                    ..
                }
            ),
            "{e}"
        );
        assert!(e.to_string().contains("test store"), "{e}");
        assert!(
            Db::open_existing(&tmp.path().join("missing.db"), &SCHEMA)
                .unwrap()
                .is_none()
        );
    }
}
