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
