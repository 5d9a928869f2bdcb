//! How the backup's two databases (the hash index and the journal) are opened: through
//! `fichier-state`'s one SQLite opener, with the caller's busy wait, errors boxed the way
//! their own error types carry them.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use fichier_state::{Db, DbError, Schema};

/// The cause inside the backup's database errors.
pub(crate) type Cause = Box<dyn std::error::Error + Send + Sync>;

/// Opens (creating if needed) the database at `path`; another process holding it makes a
/// statement wait up to `busy`.
pub(crate) fn open(path: &Path, schema: &Schema, busy: Duration) -> Result<Arc<Db>, Cause> {
    let db = Db::open(path, schema).map_err(cause)?;
    db.lock().busy_timeout(busy).map_err(Box::new)?;
    Ok(db)
}

/// Opens a database that only caches what can be computed again (the hash index): one that
/// is damaged (not a database, malformed) is set aside as `NAME.damaged-<unix time>` and a
/// new one is made, with a warning, instead of stopping every run until someone deletes it.
pub(crate) fn open_cache(path: &Path, schema: &Schema, busy: Duration) -> Result<Arc<Db>, Cause> {
    match Db::open(path, schema) {
        Err(DbError::Sqlite { source, .. }) if damaged(&source) => {
            let stamp = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_secs());
            let mut aside = path.as_os_str().to_owned();
            aside.push(format!(".damaged-{stamp}"));
            std::fs::rename(path, &aside)?;
            for side in ["-wal", "-shm"] {
                let mut p = path.as_os_str().to_owned();
                p.push(side);
                let _ = std::fs::remove_file(p);
            }
            tracing::warn!(
                "{} was damaged ({source}); it was moved to {} and is rebuilt by hashing again",
                path.display(),
                Path::new(&aside).display()
            );
            open(path, schema, busy)
        }
        Err(e) => Err(cause(e)),
        Ok(db) => {
            db.lock().busy_timeout(busy).map_err(Box::new)?;
            Ok(db)
        }
    }
}

/// Whether SQLite says the file is not a usable database.
pub(crate) fn damaged(e: &rusqlite::Error) -> bool {
    matches!(
        e.sqlite_error_code(),
        Some(rusqlite::ErrorCode::NotADatabase | rusqlite::ErrorCode::DatabaseCorrupt)
    )
}

/// Opens an existing database without running its schema; `None` when it does not exist.
pub(crate) fn open_existing(path: &Path, schema: &Schema) -> Result<Option<Arc<Db>>, Cause> {
    Db::open_existing(path, schema).map_err(cause)
}

fn cause(e: DbError) -> Cause {
    match e {
        DbError::Sqlite { source, .. } => Box::new(source),
        other => Box::new(other),
    }
}
