//! The persistent download queue: one SQLite file in the data dir (WAL, `0600`), shared by
//! every process of the user (CLI, daemon, dashboard). Each change is one short `BEGIN
//! IMMEDIATE` transaction, so one writer at a time across processes and nothing half-done
//! after a crash; each change bumps a `version` counter that watchers poll cheaply. Runners
//! claim items under a lease, so an item whose runner was killed becomes claimable again.

use std::path::{Path, PathBuf};
use std::sync::{Arc, MutexGuard};
use std::time::Duration;

use jiff::Timestamp;
use rusqlite::{Connection, OptionalExtension, Row, Transaction, TransactionBehavior, params};
use serde::Serialize;

use fichier_state::{Db, DbError, Schema, Synchronous};
use fichier_transfer::safe_local_name;

/// The id of a queue item (stable for the item's life, never reused).
pub type ItemId = i64;

/// Where an item is in its life. `Checking`, `Downloading` and `Verifying` are held by a
/// runner under a lease; the others are not.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum State {
    /// Waiting for its turn.
    Queued,
    /// A runner claimed it and is learning name/size/token.
    Checking,
    /// Not before `until` (flood cooldown, location limit, account not Premium, server busy).
    Waiting,
    /// Bytes are moving.
    Downloading,
    /// The whirlpool (or size) is being checked.
    Verifying,
    /// The file is in place (`path`).
    Done,
    /// Gave up (`reason`; `retryable` says whether `retry` may help).
    Failed,
    /// The file is gone from the service.
    Offline,
    /// Paused by a person.
    Paused,
}

const ALL_STATES: [State; 9] = [
    State::Queued,
    State::Checking,
    State::Waiting,
    State::Downloading,
    State::Verifying,
    State::Done,
    State::Failed,
    State::Offline,
    State::Paused,
];

impl State {
    /// The lowercase name (`queued`, `downloading`, ...), as stored and as in JSON.
    pub fn as_str(&self) -> &'static str {
        match self {
            State::Queued => "queued",
            State::Checking => "checking",
            State::Waiting => "waiting",
            State::Downloading => "downloading",
            State::Verifying => "verifying",
            State::Done => "done",
            State::Failed => "failed",
            State::Offline => "offline",
            State::Paused => "paused",
        }
    }

    /// True for `Done`, `Failed` and `Offline`: nothing more happens without a person.
    pub fn is_final(&self) -> bool {
        matches!(self, State::Done | State::Failed | State::Offline)
    }

    /// True for the states a runner holds under a lease.
    pub fn is_active(&self) -> bool {
        matches!(
            self,
            State::Checking | State::Downloading | State::Verifying
        )
    }

    /// Reads a stored name back.
    pub fn parse(s: &str) -> Option<State> {
        ALL_STATES.into_iter().find(|st| st.as_str() == s)
    }
}

impl std::fmt::Display for State {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What to add. `password` is stored with the item and handed to the runner through
/// [`QueueStore::password`] only; `Debug` redacts it and [`Item`] has no such field.
#[derive(Clone, Default)]
pub struct NewItem {
    /// Normalised link (`https://1fichier.com/?id`) or own remote path (`/dir/f`).
    pub source: String,
    /// Absolute local directory the file goes into.
    pub target_dir: PathBuf,
    /// Package (a group of items a person handles together).
    pub package: Option<String>,
    /// Higher runs first; default 0.
    pub priority: i32,
    /// The file's download password; stored, never printed or serialised.
    pub password: Option<String>,
    /// Name, when learned at add time.
    pub name: Option<String>,
    /// Size in bytes, when learned at add time.
    pub size: Option<u64>,
    /// Whirlpool (lowercase hex), when learned at add time.
    pub whirlpool: Option<String>,
    /// Who added it: `cli`, `watch:<file name>`, `cnl:<page origin>`, `dashboard`.
    pub origin: String,
    /// Free text from the person or the crawljob.
    pub comment: Option<String>,
    /// Starts paused (a crawljob's `enabled=false`, an unticked "start"): written in the same
    /// transaction as the item, so no runner can claim it in between.
    pub paused: bool,
}

impl std::fmt::Debug for NewItem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NewItem")
            .field("source", &self.source)
            .field("target_dir", &self.target_dir)
            .field("package", &self.package)
            .field("priority", &self.priority)
            .field("password", &self.password.as_ref().map(|_| "[REDACTED]"))
            .field("name", &self.name)
            .field("size", &self.size)
            .field("whirlpool", &self.whirlpool)
            .field("origin", &self.origin)
            .field("comment", &self.comment)
            .field("paused", &self.paused)
            .finish()
    }
}

/// One queue item as stored (never its password: see `has_password`). Its JSON is the one
/// `fichier queue ls --json` prints (documented in docs/queue.md): timestamps RFC 3339, paths
/// as strings.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Item {
    /// Stable id.
    pub id: ItemId,
    /// Normalised link or own remote path.
    pub source: String,
    /// Local directory the file goes into.
    #[serde(serialize_with = "ser_path")]
    pub target_dir: PathBuf,
    /// Package, if any.
    pub package: Option<String>,
    /// Higher runs first.
    pub priority: i32,
    /// Order among items of the same priority (ascending).
    pub position: i64,
    /// File name, once known.
    pub name: Option<String>,
    /// Size in bytes, once known.
    pub size: Option<u64>,
    /// Whirlpool, once known.
    pub whirlpool: Option<String>,
    /// Where it is in its life.
    pub state: State,
    /// For a person: why waiting / failed / offline / paused.
    pub reason: Option<String>,
    /// Meaningful for `Failed`: whether `retry` may help.
    pub retryable: bool,
    /// `Waiting`: when it will be tried again.
    #[serde(serialize_with = "ser_opt_ts")]
    pub until: Option<Timestamp>,
    /// Bytes on disk so far.
    pub bytes_done: u64,
    /// Current speed in bytes per second (0 when not downloading).
    pub speed_bps: u64,
    /// Seconds left, when known.
    pub eta_secs: Option<u64>,
    /// How many times a runner claimed it.
    pub attempts: u32,
    /// The finished file (`Done`).
    #[serde(serialize_with = "ser_opt_path")]
    pub path: Option<PathBuf>,
    /// Who added it.
    pub origin: String,
    /// Free text.
    pub comment: Option<String>,
    /// When it was added.
    #[serde(serialize_with = "ser_ts")]
    pub added_at: Timestamp,
    /// Last change.
    #[serde(serialize_with = "ser_ts")]
    pub updated_at: Timestamp,
    /// Whether a download password is stored for it.
    pub has_password: bool,
}

impl Item {
    /// The local file it will become, once the name is known (the name made safe: no `/`,
    /// no control characters, never `.` or `..`).
    pub fn target_path(&self) -> Option<PathBuf> {
        self.name
            .as_ref()
            .map(|n| self.target_dir.join(safe_local_name(n)))
    }
}

fn ser_ts<S: serde::Serializer>(t: &Timestamp, s: S) -> Result<S::Ok, S::Error> {
    s.collect_str(t)
}
fn ser_opt_ts<S: serde::Serializer>(t: &Option<Timestamp>, s: S) -> Result<S::Ok, S::Error> {
    match t {
        Some(t) => s.collect_str(t),
        None => s.serialize_none(),
    }
}
// A path that is not UTF-8 is shown lossily rather than failing the whole listing.
fn ser_path<S: serde::Serializer>(p: &Path, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&p.to_string_lossy())
}
fn ser_opt_path<S: serde::Serializer>(p: &Option<PathBuf>, s: S) -> Result<S::Ok, S::Error> {
    match p {
        Some(p) => s.serialize_str(&p.to_string_lossy()),
        None => s.serialize_none(),
    }
}

/// What [`QueueStore::add`] did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AddOutcome {
    /// A new item.
    Added(ItemId),
    /// Nothing added: an item with the same source, or the same target path, is already there.
    Duplicate {
        /// The item already in the queue.
        existing: ItemId,
        /// For a person: `same link` / `same target path ...`.
        why: String,
    },
}

/// Which items a user-side operation applies to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Selector {
    /// One item (an unknown id is [`QueueError::UnknownItem`]).
    Id(ItemId),
    /// Every item of a package (none is `Ok(0)`).
    Package(String),
    /// Every item.
    All,
}

/// Where [`QueueStore::move_to`] puts an item among those of its priority.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Position {
    /// Runs first.
    Top,
    /// Runs last.
    Bottom,
}

/// A queue problem.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum QueueError {
    /// The database could not be opened, read or written.
    #[error("download queue {path}: {source}")]
    Sqlite {
        /// The queue file.
        path: String,
        /// What SQLite said.
        #[source]
        source: rusqlite::Error,
    },
    /// The queue file or its directory could not be created or made private.
    #[error("download queue {path}: {source}")]
    Io {
        /// The file or directory.
        path: String,
        /// What the system said.
        #[source]
        source: std::io::Error,
    },
    /// No item has this id (removed, cleared, or never there).
    #[error("no queue item {0}")]
    UnknownItem(ItemId),
    /// Something given to the queue makes no sense (an empty source, a relative directory).
    #[error("{0}")]
    BadInput(String),
    /// The file was written by a newer version of fichier.
    #[error(
        "download queue {path}: written by a newer fichier (schema {found}, this one knows {known})"
    )]
    NewerSchema {
        /// The queue file.
        path: String,
        /// Schema version in the file.
        found: i64,
        /// Schema version this build writes.
        known: i64,
    },
}

impl QueueError {
    /// True when another process held the database longer than the busy timeout.
    pub fn is_busy(&self) -> bool {
        matches!(self, QueueError::Sqlite { source, .. } if is_busy(source))
    }

    /// True when the file is not a usable SQLite database (damaged, or another file).
    pub fn is_damaged(&self) -> bool {
        matches!(self, QueueError::Sqlite { source, .. } if matches!(
            source.sqlite_error_code(),
            Some(rusqlite::ErrorCode::NotADatabase | rusqlite::ErrorCode::DatabaseCorrupt)
        ))
    }
}

const SCHEMA_VERSION: i64 = 1;

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS items (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    source      TEXT NOT NULL UNIQUE,
    target_dir  BLOB NOT NULL,
    target_path BLOB,
    package     TEXT,
    priority    INTEGER NOT NULL DEFAULT 0,
    position    INTEGER NOT NULL,
    password    TEXT,
    name        TEXT,
    size        INTEGER,
    whirlpool   TEXT,
    state       TEXT NOT NULL,
    reason      TEXT,
    retryable   INTEGER NOT NULL DEFAULT 0,
    until_us    INTEGER,
    bytes_done  INTEGER NOT NULL DEFAULT 0,
    speed_bps   INTEGER NOT NULL DEFAULT 0,
    eta_secs    INTEGER,
    attempts    INTEGER NOT NULL DEFAULT 0,
    path        BLOB,
    origin      TEXT NOT NULL,
    comment     TEXT,
    added_us    INTEGER NOT NULL,
    updated_us  INTEGER NOT NULL,
    runner      TEXT,
    lease_us    INTEGER
);
CREATE INDEX IF NOT EXISTS items_order ON items (priority DESC, position ASC);
CREATE INDEX IF NOT EXISTS items_target ON items (target_path);
CREATE INDEX IF NOT EXISTS items_package ON items (package);
CREATE TABLE IF NOT EXISTS meta (
    key   TEXT PRIMARY KEY,
    value INTEGER NOT NULL
) WITHOUT ROWID;
INSERT OR IGNORE INTO meta (key, value) VALUES ('version', 0);
";

const COLUMNS: &str = "id, source, target_dir, package, priority, position, name, size, \
    whirlpool, state, reason, retryable, until_us, bytes_done, speed_bps, eta_secs, attempts, \
    path, origin, comment, added_us, updated_us, password IS NOT NULL";

/// The reason of an item paused by a person (or added paused).
const PAUSED_BY_USER: &str = "paused by the user";

const ACTIVE: &str = "('checking', 'downloading', 'verifying')";

/// A [`NewItem`] whose source and target were checked, with what the insert needs.
struct Checked {
    item: NewItem,
    source: String,
    target_path: Option<PathBuf>,
}

impl Checked {
    fn new(item: NewItem) -> Result<Checked, QueueError> {
        let source = item.source.trim().to_owned();
        if source.is_empty() || source.chars().any(char::is_control) {
            return Err(QueueError::BadInput(format!(
                "{:?} is not a link or a remote path",
                item.source
            )));
        }
        if !item.target_dir.is_absolute() {
            return Err(QueueError::BadInput(format!(
                "target directory {} is not absolute",
                item.target_dir.display()
            )));
        }
        let target_path = item
            .name
            .as_ref()
            .map(|n| item.target_dir.join(safe_local_name(n)));
        Ok(Checked {
            item,
            source,
            target_path,
        })
    }
}

/// The queue database. Cheap to share: `Send + Sync`; every `open` of the same file in one
/// process shares one connection ([`fichier_state::Db`]), and processes coordinate through
/// SQLite's locks.
#[derive(Debug)]
pub struct QueueStore {
    db: Arc<Db>,
    path: String,
}

/// The queue's schema, for the one SQLite opener.
const QUEUE_SCHEMA: Schema = Schema {
    name: "download queue",
    version: SCHEMA_VERSION,
    sql: SCHEMA,
    synchronous: Synchronous::Normal,
};

impl QueueStore {
    /// Opens (creating if needed) the queue at `path`: the directory `0700`, the file and its
    /// `-wal`/`-shm` `0600` (narrowed if an older file was wider), WAL mode, 5 s busy timeout.
    pub fn open(path: &Path) -> Result<QueueStore, QueueError> {
        let shown = path.display().to_string();
        let db = Db::open(path, &QUEUE_SCHEMA).map_err(|e| match e {
            DbError::Io { source, .. } => QueueError::Io {
                path: shown.clone(),
                source,
            },
            DbError::Sqlite { source, .. } => QueueError::Sqlite {
                path: shown.clone(),
                source,
            },
            DbError::NewerSchema { found, known, .. } => QueueError::NewerSchema {
                path: shown.clone(),
                found,
                known,
            },
        })?;
        Ok(QueueStore { db, path: shown })
    }

    /// The queue file, as shown in messages.
    pub fn path(&self) -> &str {
        &self.path
    }

    fn err(&self, source: rusqlite::Error) -> QueueError {
        QueueError::Sqlite {
            path: self.path.clone(),
            source,
        }
    }

    fn lock(&self) -> MutexGuard<'_, Connection> {
        // A panic while holding the connection leaves no half transaction behind (SQLite rolls
        // back an unfinished one), so the connection stays usable.
        self.db.lock()
    }

    /// Runs `f` in one `BEGIN IMMEDIATE` transaction; commits when it returns `Ok`, bumping the
    /// version when `f` says it changed something.
    fn write<T>(
        &self,
        f: impl FnOnce(&Transaction<'_>) -> Result<(T, bool), QueueError>,
    ) -> Result<T, QueueError> {
        let mut conn = self.lock();
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(|e| self.err(e))?;
        let (out, changed) = f(&tx)?;
        if changed {
            tx.execute(
                "UPDATE meta SET value = value + 1 WHERE key = 'version'",
                [],
            )
            .map_err(|e| self.err(e))?;
        }
        tx.commit().map_err(|e| self.err(e))?;
        Ok(out)
    }

    // ---------------------------------------------------------------- user side

    /// Adds one item at the bottom of its priority, unless an item with the same source, or
    /// with the same target path (directory + known name), is already queued (whatever its
    /// state, until removed or cleared).
    pub fn add(&self, item: NewItem) -> Result<AddOutcome, QueueError> {
        self.add_at(item, Timestamp::now())
    }

    fn add_at(&self, item: NewItem, now: Timestamp) -> Result<AddOutcome, QueueError> {
        let checked = Checked::new(item)?;
        self.write(|tx| self.insert_in(tx, &checked, now))
    }

    /// Replaces the item `id` (a shared folder) with `items` (its files) in one transaction:
    /// readers see the folder or its files, never both or neither. Each file is added as
    /// [`add`](Self::add) would; the folder item is removed.
    pub fn replace(&self, id: ItemId, items: Vec<NewItem>) -> Result<Vec<AddOutcome>, QueueError> {
        let checked = items
            .into_iter()
            .map(Checked::new)
            .collect::<Result<Vec<_>, _>>()?;
        let now = Timestamp::now();
        self.write(|tx| {
            let gone = tx
                .execute("DELETE FROM items WHERE id = ?1", [id])
                .map_err(|e| self.err(e))?;
            if gone == 0 {
                return Err(QueueError::UnknownItem(id));
            }
            let mut out = Vec::with_capacity(checked.len());
            for c in &checked {
                out.push(self.insert_in(tx, c, now)?.0);
            }
            Ok((out, true))
        })
    }

    fn insert_in(
        &self,
        tx: &Transaction<'_>,
        checked: &Checked,
        now: Timestamp,
    ) -> Result<(AddOutcome, bool), QueueError> {
        let Checked {
            item,
            source,
            target_path,
        } = checked;
        let same_source: Option<ItemId> = tx
            .query_row("SELECT id FROM items WHERE source = ?1", [&source], |r| {
                r.get(0)
            })
            .optional()
            .map_err(|e| self.err(e))?;
        if let Some(existing) = same_source {
            return Ok((
                AddOutcome::Duplicate {
                    existing,
                    why: format!("{source} is already queued as item {existing}"),
                },
                false,
            ));
        }
        if let Some(tp) = &target_path {
            let same_target: Option<ItemId> = tx
                .query_row(
                    "SELECT id FROM items WHERE target_path = ?1",
                    [path_bytes(tp)],
                    |r| r.get(0),
                )
                .optional()
                .map_err(|e| self.err(e))?;
            if let Some(existing) = same_target {
                return Ok((
                    AddOutcome::Duplicate {
                        existing,
                        why: format!("item {existing} already downloads to {}", tp.display()),
                    },
                    false,
                ));
            }
        }
        let position: i64 = tx
            .query_row(
                "SELECT COALESCE(MAX(position), 0) + 1 FROM items",
                [],
                |r| r.get(0),
            )
            .map_err(|e| self.err(e))?;
        let us = now.as_microsecond();
        tx.execute(
            "INSERT INTO items (source, target_dir, target_path, package, priority, position,
                    password, name, size, whirlpool, state, reason, origin, comment, added_us,
                    updated_us)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?14, ?15, ?11, ?12, ?13, ?13)",
            params![
                source,
                path_bytes(&item.target_dir),
                target_path.as_deref().map(path_bytes),
                item.package,
                item.priority,
                position,
                item.password,
                item.name,
                item.size.map(|s| s as i64),
                item.whirlpool,
                item.origin,
                item.comment,
                us,
                if item.paused { "paused" } else { "queued" },
                item.paused.then_some(PAUSED_BY_USER),
            ],
        )
        .map_err(|e| self.err(e))?;
        Ok((AddOutcome::Added(tx.last_insert_rowid()), true))
    }

    /// Every item in work order: priority descending, then position ascending.
    pub fn list(&self) -> Result<Vec<Item>, QueueError> {
        let conn = self.lock();
        let mut stmt = conn
            .prepare_cached(&format!(
                "SELECT {COLUMNS} FROM items ORDER BY priority DESC, position ASC, id ASC"
            ))
            .map_err(|e| self.err(e))?;
        let rows = stmt.query_map([], item_from_row).map_err(|e| self.err(e))?;
        rows.collect::<Result<Vec<_>, _>>().map_err(|e| self.err(e))
    }

    /// One item.
    pub fn get(&self, id: ItemId) -> Result<Option<Item>, QueueError> {
        let conn = self.lock();
        get_item(&conn, id).map_err(|e| self.err(e))
    }

    /// Non-final items of `sel` → `Paused` (a runner holding one loses it at its next
    /// `renew_lease`/`set_progress`). Returns how many changed.
    pub fn pause(&self, sel: &Selector) -> Result<usize, QueueError> {
        let now = now_us();
        self.update_selected(
            sel,
            &format!(
                "state = 'paused', reason = '{PAUSED_BY_USER}', until_us = NULL, runner = NULL,
                 lease_us = NULL, speed_bps = 0, eta_secs = NULL, updated_us = ?1"
            ),
            "state NOT IN ('done', 'failed', 'offline', 'paused')",
            now,
        )
    }

    /// `Paused` items of `sel` → `Queued`. Returns how many changed.
    pub fn resume(&self, sel: &Selector) -> Result<usize, QueueError> {
        self.update_selected(
            sel,
            "state = 'queued', reason = NULL, until_us = NULL, updated_us = ?1",
            "state = 'paused'",
            now_us(),
        )
    }

    /// `Failed`, `Offline` and `Waiting` items of `sel` → `Queued` (a waiting one is tried at
    /// once). Returns how many changed.
    pub fn retry(&self, sel: &Selector) -> Result<usize, QueueError> {
        self.update_selected(
            sel,
            "state = 'queued', reason = NULL, until_us = NULL, retryable = 0, updated_us = ?1",
            "state IN ('failed', 'offline', 'waiting')",
            now_us(),
        )
    }

    /// Deletes the items of `sel`. A runner working on one sees it at its next
    /// `renew_lease`/`set_progress` and stops (keeping its `.part`). Returns how many went.
    pub fn remove(&self, sel: &Selector) -> Result<usize, QueueError> {
        self.write(|tx| {
            let (filter, arg) = selector_sql(sel);
            check_known(tx, sel).map_err(|e| self.lift(e))?;
            let n = tx
                .execute(&format!("DELETE FROM items WHERE {filter}"), [arg])
                .map_err(|e| self.err(e))?;
            Ok((n, n > 0))
        })
    }

    /// Puts `id` first or last among the items of its priority.
    pub fn move_to(&self, id: ItemId, pos: Position) -> Result<(), QueueError> {
        self.write(|tx| {
            check_known(tx, &Selector::Id(id)).map_err(|e| self.lift(e))?;
            let sql = match pos {
                Position::Top => {
                    "UPDATE items SET position = (SELECT COALESCE(MIN(position), 0) - 1 FROM items),
                     updated_us = ?2 WHERE id = ?1"
                }
                Position::Bottom => {
                    "UPDATE items SET position = (SELECT COALESCE(MAX(position), 0) + 1 FROM items),
                     updated_us = ?2 WHERE id = ?1"
                }
            };
            tx.execute(sql, params![id, now_us()])
                .map_err(|e| self.err(e))?;
            Ok(((), true))
        })
    }

    /// Deletes every `Done` item. Returns how many went.
    pub fn clear_done(&self) -> Result<usize, QueueError> {
        self.write(|tx| {
            let n = tx
                .execute("DELETE FROM items WHERE state = 'done'", [])
                .map_err(|e| self.err(e))?;
            Ok((n, n > 0))
        })
    }

    /// A counter bumped by every change another process could show (not by lease renewals):
    /// poll it and re-read the list when it moves.
    pub fn version(&self) -> Result<i64, QueueError> {
        let conn = self.lock();
        conn.query_row("SELECT value FROM meta WHERE key = 'version'", [], |r| {
            r.get(0)
        })
        .map_err(|e| self.err(e))
    }

    // -------------------------------------------------------------- runner side

    /// Atomically takes the first claimable item in work order — `Queued`, `Waiting` whose
    /// `until` passed, or held by a runner whose lease expired (killed) — and makes it
    /// `Checking`, owned by `runner` for `lease`. Counts an attempt.
    pub fn claim_next(&self, runner: &str, lease: Duration) -> Result<Option<Item>, QueueError> {
        self.claim_next_at(runner, lease, Timestamp::now())
    }

    pub(crate) fn claim_next_at(
        &self,
        runner: &str,
        lease: Duration,
        now: Timestamp,
    ) -> Result<Option<Item>, QueueError> {
        let now = now.as_microsecond();
        let lease_end = now.saturating_add(lease_us(lease));
        self.write(|tx| {
            let id: Option<ItemId> = tx
                .query_row(
                    &format!(
                        "SELECT id FROM items
                         WHERE state = 'queued'
                            OR (state = 'waiting' AND until_us IS NOT NULL AND until_us <= ?1)
                            OR (state IN {ACTIVE} AND (lease_us IS NULL OR lease_us <= ?1))
                         ORDER BY priority DESC, position ASC, id ASC LIMIT 1"
                    ),
                    [now],
                    |r| r.get(0),
                )
                .optional()
                .map_err(|e| self.err(e))?;
            let Some(id) = id else {
                return Ok((None, false));
            };
            tx.execute(
                "UPDATE items SET state = 'checking', runner = ?2, lease_us = ?3, reason = NULL,
                    until_us = NULL, speed_bps = 0, eta_secs = NULL, attempts = attempts + 1,
                    updated_us = ?4
                 WHERE id = ?1",
                params![id, runner, lease_end, now],
            )
            .map_err(|e| self.err(e))?;
            let item = get_item(tx, id).map_err(|e| self.err(e))?;
            Ok((item, true))
        })
    }

    /// Extends the lease of an item `runner` holds. `false`: it was removed, paused or taken
    /// by another runner (after this one's lease expired) — stop working on it.
    pub fn renew_lease(
        &self,
        id: ItemId,
        runner: &str,
        lease: Duration,
    ) -> Result<bool, QueueError> {
        let now = now_us();
        let conn = self.lock();
        let n = conn
            .execute(
                &format!(
                    "UPDATE items SET lease_us = ?3
                     WHERE id = ?1 AND runner = ?2 AND state IN {ACTIVE}"
                ),
                params![id, runner, now.saturating_add(lease_us(lease))],
            )
            .map_err(|e| self.err(e))?;
        Ok(n > 0)
    }

    /// The stored download password of `id` (for the runner only; never show it).
    pub fn password(&self, id: ItemId) -> Result<Option<String>, QueueError> {
        let conn = self.lock();
        conn.query_row("SELECT password FROM items WHERE id = ?1", [id], |r| {
            r.get(0)
        })
        .optional()
        .map(Option::flatten)
        .map_err(|e| self.err(e))
    }

    /// Moves an item `runner` holds to `state`. An active state (`Checking`, `Downloading`,
    /// `Verifying`) keeps the lease; any other releases it (`Waiting` with an `until` is claimed
    /// again after it; `Waiting` without one only after `retry`). `false`: no longer ours.
    pub fn set_state(
        &self,
        id: ItemId,
        runner: &str,
        state: State,
        reason: Option<&str>,
        until: Option<Timestamp>,
        retryable: bool,
    ) -> Result<bool, QueueError> {
        let now = now_us();
        let keep = state.is_active();
        self.write(|tx| {
            let n = tx
                .execute(
                    &format!(
                        "UPDATE items SET state = ?3, reason = ?4, until_us = ?5, retryable = ?6,
                            runner = CASE WHEN ?7 THEN runner END,
                            lease_us = CASE WHEN ?7 THEN lease_us END,
                            speed_bps = CASE WHEN ?3 = 'downloading' THEN speed_bps ELSE 0 END,
                            eta_secs = CASE WHEN ?3 = 'downloading' THEN eta_secs END,
                            updated_us = ?8
                         WHERE id = ?1 AND runner = ?2 AND state IN {ACTIVE}"
                    ),
                    params![
                        id,
                        runner,
                        state.as_str(),
                        reason,
                        until.map(|t| t.as_microsecond()),
                        retryable,
                        keep,
                        now
                    ],
                )
                .map_err(|e| self.err(e))?;
            Ok((n > 0, n > 0))
        })
    }

    /// Records progress of an item `runner` holds. `false`: no longer ours — stop.
    pub fn set_progress(
        &self,
        id: ItemId,
        runner: &str,
        bytes_done: u64,
        speed_bps: u64,
        eta_secs: Option<u64>,
    ) -> Result<bool, QueueError> {
        let now = now_us();
        self.write(|tx| {
            let n = tx
                .execute(
                    &format!(
                        "UPDATE items SET bytes_done = ?3, speed_bps = ?4, eta_secs = ?5,
                            updated_us = ?6
                         WHERE id = ?1 AND runner = ?2 AND state IN {ACTIVE}"
                    ),
                    params![
                        id,
                        runner,
                        clamp_i64(bytes_done),
                        clamp_i64(speed_bps),
                        eta_secs.map(clamp_i64),
                        now
                    ],
                )
                .map_err(|e| self.err(e))?;
            Ok((n > 0, n > 0))
        })
    }

    /// Records what was learned about the file (`None` keeps what is stored). A removed item
    /// is not an error: there is nothing left to teach.
    pub fn set_learned(
        &self,
        id: ItemId,
        name: Option<&str>,
        size: Option<u64>,
        whirlpool: Option<&str>,
    ) -> Result<(), QueueError> {
        let now = now_us();
        self.write(|tx| {
            let dir: Option<Vec<u8>> = tx
                .query_row("SELECT target_dir FROM items WHERE id = ?1", [id], |r| {
                    r.get(0)
                })
                .optional()
                .map_err(|e| self.err(e))?;
            let Some(dir) = dir else {
                return Ok(((), false));
            };
            let target = name.map(|n| path_bytes(&path_from_bytes(dir).join(safe_local_name(n))));
            let n = tx
                .execute(
                    "UPDATE items SET name = COALESCE(?2, name), size = COALESCE(?3, size),
                        whirlpool = COALESCE(?4, whirlpool),
                        target_path = COALESCE(?5, target_path), updated_us = ?6
                     WHERE id = ?1",
                    params![id, name, size.map(clamp_i64), whirlpool, target, now],
                )
                .map_err(|e| self.err(e))?;
            Ok(((), n > 0))
        })
    }

    /// The item `runner` holds is complete at `path`: → `Done`, lease released. `false`: no
    /// longer ours.
    pub fn finish(&self, id: ItemId, runner: &str, path: &Path) -> Result<bool, QueueError> {
        let now = now_us();
        self.write(|tx| {
            let n = tx
                .execute(
                    &format!(
                        "UPDATE items SET state = 'done', path = ?3, reason = NULL, until_us = NULL,
                            runner = NULL, lease_us = NULL, speed_bps = 0, eta_secs = NULL,
                            bytes_done = COALESCE(size, bytes_done), updated_us = ?4
                         WHERE id = ?1 AND runner = ?2 AND state IN {ACTIVE}"
                    ),
                    params![id, runner, path_bytes(path), now],
                )
                .map_err(|e| self.err(e))?;
            Ok((n > 0, n > 0))
        })
    }

    /// Graceful stop: an item `runner` holds goes back to `Queued` (its `.part` stays for the
    /// next claim to resume), lease dropped.
    pub fn release(&self, id: ItemId, runner: &str) -> Result<(), QueueError> {
        let now = now_us();
        self.write(|tx| {
            let n = tx
                .execute(
                    &format!(
                        "UPDATE items SET state = 'queued', runner = NULL, lease_us = NULL,
                            speed_bps = 0, eta_secs = NULL, updated_us = ?3
                         WHERE id = ?1 AND runner = ?2 AND state IN {ACTIVE}"
                    ),
                    params![id, runner, now],
                )
                .map_err(|e| self.err(e))?;
            Ok(((), n > 0))
        })
    }

    // ------------------------------------------------------------------ helpers

    fn lift(&self, e: Lift) -> QueueError {
        match e {
            Lift::Sql(e) => self.err(e),
            Lift::Queue(e) => e,
        }
    }

    fn update_selected(
        &self,
        sel: &Selector,
        set: &str,
        only: &str,
        now: i64,
    ) -> Result<usize, QueueError> {
        self.write(|tx| {
            check_known(tx, sel).map_err(|e| self.lift(e))?;
            let (filter, arg) = selector_sql(sel);
            // ?1 is `now` in `set`; the selector's value is ?2.
            let filter = filter.replace("?1", "?2");
            let n = tx
                .execute(
                    &format!("UPDATE items SET {set} WHERE ({filter}) AND {only}"),
                    params![now, arg],
                )
                .map_err(|e| self.err(e))?;
            Ok((n, n > 0))
        })
    }
}

enum Lift {
    Sql(rusqlite::Error),
    Queue(QueueError),
}

/// A selector as SQL: a filter with one `?1` parameter (ignored for `All`) and its value.
fn selector_sql(sel: &Selector) -> (&'static str, rusqlite::types::Value) {
    use rusqlite::types::Value;
    match sel {
        Selector::Id(id) => ("id = ?1", Value::Integer(*id)),
        Selector::Package(p) => ("package = ?1", Value::Text(p.clone())),
        Selector::All => ("?1 IS NULL", Value::Null),
    }
}

fn check_known(tx: &Transaction<'_>, sel: &Selector) -> Result<(), Lift> {
    if let Selector::Id(id) = sel {
        let found: Option<i64> = tx
            .query_row("SELECT id FROM items WHERE id = ?1", [id], |r| r.get(0))
            .optional()
            .map_err(Lift::Sql)?;
        if found.is_none() {
            return Err(Lift::Queue(QueueError::UnknownItem(*id)));
        }
    }
    Ok(())
}

fn get_item(conn: &Connection, id: ItemId) -> Result<Option<Item>, rusqlite::Error> {
    conn.prepare_cached(&format!("SELECT {COLUMNS} FROM items WHERE id = ?1"))?
        .query_row([id], item_from_row)
        .optional()
}

fn item_from_row(r: &Row<'_>) -> Result<Item, rusqlite::Error> {
    let state: String = r.get(9)?;
    let state = State::parse(&state).ok_or_else(|| {
        rusqlite::Error::FromSqlConversionFailure(
            9,
            rusqlite::types::Type::Text,
            format!("unknown queue state {state:?}").into(),
        )
    })?;
    let u64_of = |v: Option<i64>| v.map(|v| v.max(0) as u64);
    Ok(Item {
        id: r.get(0)?,
        source: r.get(1)?,
        target_dir: path_from_bytes(r.get(2)?),
        package: r.get(3)?,
        priority: r.get(4)?,
        position: r.get(5)?,
        name: r.get(6)?,
        size: u64_of(r.get(7)?),
        whirlpool: r.get(8)?,
        state,
        reason: r.get(10)?,
        retryable: r.get(11)?,
        until: r.get::<_, Option<i64>>(12)?.map(ts_from_us),
        bytes_done: u64_of(r.get(13)?).unwrap_or(0),
        speed_bps: u64_of(r.get(14)?).unwrap_or(0),
        eta_secs: u64_of(r.get(15)?),
        attempts: r.get::<_, i64>(16)?.clamp(0, u32::MAX as i64) as u32,
        path: r.get::<_, Option<Vec<u8>>>(17)?.map(path_from_bytes),
        origin: r.get(18)?,
        comment: r.get(19)?,
        added_at: ts_from_us(r.get(20)?),
        updated_at: ts_from_us(r.get(21)?),
        has_password: r.get(22)?,
    })
}

fn now_us() -> i64 {
    Timestamp::now().as_microsecond()
}

fn ts_from_us(us: i64) -> Timestamp {
    Timestamp::from_microsecond(us).unwrap_or(Timestamp::UNIX_EPOCH)
}

fn lease_us(lease: Duration) -> i64 {
    i64::try_from(lease.as_micros()).unwrap_or(i64::MAX)
}

fn clamp_i64(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}

use fichier_state::is_busy;

// Paths are stored as their raw bytes so a non-UTF-8 directory round-trips exactly.
#[cfg(unix)]
fn path_bytes(p: &Path) -> Vec<u8> {
    use std::os::unix::ffi::OsStrExt;
    p.as_os_str().as_bytes().to_vec()
}
#[cfg(unix)]
fn path_from_bytes(b: Vec<u8>) -> PathBuf {
    use std::os::unix::ffi::OsStringExt;
    PathBuf::from(std::ffi::OsString::from_vec(b))
}
#[cfg(not(unix))]
fn path_bytes(p: &Path) -> Vec<u8> {
    p.to_string_lossy().into_owned().into_bytes()
}
#[cfg(not(unix))]
fn path_from_bytes(b: Vec<u8>) -> PathBuf {
    PathBuf::from(String::from_utf8_lossy(&b).into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;
    use std::sync::Arc;

    fn store() -> (tempfile::TempDir, QueueStore) {
        let dir = tempfile::tempdir().unwrap();
        let s = QueueStore::open(&dir.path().join("data/queue.sqlite")).unwrap();
        (dir, s)
    }

    fn new(source: &str) -> NewItem {
        NewItem {
            source: source.into(),
            target_dir: PathBuf::from("/downloads"),
            origin: "cli".into(),
            ..NewItem::default()
        }
    }

    fn added(o: AddOutcome) -> ItemId {
        match o {
            AddOutcome::Added(id) => id,
            other => panic!("expected Added, got {other:?}"),
        }
    }

    #[test]
    fn an_item_added_paused_is_never_claimable_and_resumes_like_any_paused_one() {
        let (_d, s) = store();
        let id = added(
            s.add(NewItem {
                paused: true,
                ..new("https://1fichier.com/?paused0001")
            })
            .unwrap(),
        );
        assert!(s.claim_next("r1", LEASE).unwrap().is_none());
        let item = s.get(id).unwrap().unwrap();
        assert_eq!(item.state, State::Paused);
        assert_eq!(item.reason.as_deref(), Some(PAUSED_BY_USER));
        assert_eq!(s.resume(&Selector::Id(id)).unwrap(), 1);
        assert_eq!(s.claim_next("r1", LEASE).unwrap().unwrap().id, id);
    }

    #[test]
    fn a_folder_item_is_replaced_by_its_files_in_one_step_and_duplicates_are_kept_out() {
        let (_d, s) = store();
        let existing = added(s.add(new("https://1fichier.com/?file000002")).unwrap());
        let folder = added(s.add(new("https://1fichier.com/dir/AbCd1234")).unwrap());
        let files = [
            "https://1fichier.com/?file000001",
            "https://1fichier.com/?file000002",
        ]
        .map(new)
        .to_vec();
        let out = s.replace(folder, files).unwrap();
        assert!(matches!(out[0], AddOutcome::Added(_)));
        assert!(matches!(out[1], AddOutcome::Duplicate { existing: e, .. } if e == existing));
        let sources: Vec<String> = s.list().unwrap().into_iter().map(|i| i.source).collect();
        assert_eq!(
            sources,
            [
                "https://1fichier.com/?file000002",
                "https://1fichier.com/?file000001"
            ]
        );
        assert!(matches!(
            s.replace(folder, vec![]),
            Err(QueueError::UnknownItem(_))
        ));
    }

    fn sources(s: &QueueStore) -> Vec<String> {
        s.list().unwrap().into_iter().map(|i| i.source).collect()
    }

    const LEASE: Duration = Duration::from_secs(60);

    #[test]
    fn add_and_list_in_work_order() {
        let (_d, s) = store();
        let a = added(s.add(new("https://1fichier.com/?aaaaa")).unwrap());
        let b = added(s.add(new("https://1fichier.com/?bbbbb")).unwrap());
        let c = added(
            s.add(NewItem {
                priority: 5,
                ..new("https://1fichier.com/?ccccc")
            })
            .unwrap(),
        );
        let ids: Vec<_> = s.list().unwrap().iter().map(|i| i.id).collect();
        assert_eq!(ids, vec![c, a, b]);
        let item = s.get(a).unwrap().unwrap();
        assert_eq!(item.state, State::Queued);
        assert_eq!(item.origin, "cli");
        assert_eq!(item.target_dir, PathBuf::from("/downloads"));
        assert!(!item.has_password);
        assert_eq!(s.get(999).unwrap(), None);
    }

    #[test]
    #[cfg(unix)]
    fn file_and_dir_are_private() {
        use std::os::unix::fs::PermissionsExt;
        let (d, _s) = store();
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&d.path().join("data/queue.sqlite")), 0o600);
        assert_eq!(mode(&d.path().join("data")), 0o700);
        let wal = d.path().join("data/queue.sqlite-wal");
        if wal.exists() {
            assert_eq!(mode(&wal), 0o600);
        }
    }

    #[test]
    fn bad_input_is_refused() {
        let (_d, s) = store();
        assert!(matches!(s.add(new("")), Err(QueueError::BadInput(_))));
        assert!(matches!(
            s.add(new("https://1fichier.com/?a\nb")),
            Err(QueueError::BadInput(_))
        ));
        let rel = NewItem {
            target_dir: "downloads".into(),
            ..new("https://1fichier.com/?aaaaa")
        };
        assert!(matches!(s.add(rel), Err(QueueError::BadInput(_))));
        assert!(s.list().unwrap().is_empty());
    }

    #[test]
    fn duplicates_by_source_and_by_target_path() {
        let (_d, s) = store();
        let a = added(
            s.add(NewItem {
                name: Some("film.mkv".into()),
                ..new("https://1fichier.com/?aaaaa")
            })
            .unwrap(),
        );
        let v = s.version().unwrap();
        match s.add(new("https://1fichier.com/?aaaaa")).unwrap() {
            AddOutcome::Duplicate { existing, why } => {
                assert_eq!(existing, a);
                assert!(why.contains("already queued"), "{why}");
            }
            o => panic!("{o:?}"),
        }
        match s
            .add(NewItem {
                name: Some("film.mkv".into()),
                ..new("/Movies/film.mkv")
            })
            .unwrap()
        {
            AddOutcome::Duplicate { existing, why } => {
                assert_eq!(existing, a);
                assert!(why.contains("/downloads/film.mkv"), "{why}");
            }
            o => panic!("{o:?}"),
        }
        assert_eq!(
            s.version().unwrap(),
            v,
            "a refused duplicate changes nothing"
        );
        // Same name in another directory is fine.
        added(
            s.add(NewItem {
                name: Some("film.mkv".into()),
                target_dir: "/other".into(),
                ..new("/Movies/film.mkv")
            })
            .unwrap(),
        );
        // A name learned later also counts.
        let c = added(s.add(new("https://1fichier.com/?ccccc")).unwrap());
        s.set_learned(c, Some("song.mp3"), Some(3), None).unwrap();
        assert!(matches!(
            s.add(NewItem {
                name: Some("song.mp3".into()),
                ..new("https://1fichier.com/?ddddd")
            })
            .unwrap(),
            AddOutcome::Duplicate { existing, .. } if existing == c
        ));
        assert_eq!(s.list().unwrap().len(), 3);
    }

    #[test]
    fn pause_resume_retry_remove_with_selectors() {
        let (_d, s) = store();
        let pkg = |src: &str, p: &str| NewItem {
            package: Some(p.into()),
            ..new(src)
        };
        let a = added(s.add(pkg("https://1fichier.com/?aaaaa", "one")).unwrap());
        let b = added(s.add(pkg("https://1fichier.com/?bbbbb", "one")).unwrap());
        let c = added(s.add(pkg("https://1fichier.com/?ccccc", "two")).unwrap());

        assert_eq!(s.pause(&Selector::Package("one".into())).unwrap(), 2);
        let st = |id| s.get(id).unwrap().unwrap().state;
        assert_eq!(
            (st(a), st(b), st(c)),
            (State::Paused, State::Paused, State::Queued)
        );
        assert!(s.get(a).unwrap().unwrap().reason.is_some());
        assert_eq!(s.pause(&Selector::Package("nope".into())).unwrap(), 0);
        assert!(matches!(
            s.pause(&Selector::Id(77)),
            Err(QueueError::UnknownItem(77))
        ));

        // claim c, then pausing all takes it from its runner.
        let got = s.claim_next("r1", LEASE).unwrap().unwrap();
        assert_eq!(got.id, c);
        assert_eq!(s.pause(&Selector::All).unwrap(), 1);
        assert!(!s.renew_lease(c, "r1", LEASE).unwrap());
        assert!(!s.set_progress(c, "r1", 1, 1, None).unwrap());

        assert_eq!(s.resume(&Selector::Id(a)).unwrap(), 1);
        assert_eq!(s.resume(&Selector::Id(a)).unwrap(), 0);
        assert_eq!(s.resume(&Selector::All).unwrap(), 2);
        assert!(s.list().unwrap().iter().all(|i| i.state == State::Queued));

        // failed / offline / waiting come back with retry; done does not.
        for (id, state) in [(a, State::Failed), (b, State::Offline), (c, State::Waiting)] {
            let got = s.claim_next("r1", LEASE).unwrap().unwrap();
            assert_eq!(got.id, id);
            let until = (state == State::Waiting)
                .then(|| Timestamp::now() + jiff::SignedDuration::from_hours(1));
            assert!(
                s.set_state(id, "r1", state, Some("why"), until, true)
                    .unwrap()
            );
        }
        assert_eq!(
            s.claim_next("r1", LEASE).unwrap(),
            None,
            "nothing claimable"
        );
        let w = s.get(c).unwrap().unwrap();
        assert_eq!(w.reason.as_deref(), Some("why"));
        assert!(w.until.is_some());
        assert_eq!(
            s.pause(&Selector::All).unwrap(),
            1,
            "only the waiting one is not final"
        );
        assert_eq!(s.resume(&Selector::All).unwrap(), 1);
        assert_eq!(s.retry(&Selector::All).unwrap(), 2);
        assert!(s.list().unwrap().iter().all(|i| i.state == State::Queued));

        assert_eq!(s.remove(&Selector::Id(b)).unwrap(), 1);
        assert!(matches!(
            s.remove(&Selector::Id(b)),
            Err(QueueError::UnknownItem(_))
        ));
        assert_eq!(s.remove(&Selector::Package("two".into())).unwrap(), 1);
        assert_eq!(s.remove(&Selector::All).unwrap(), 1);
        assert!(s.list().unwrap().is_empty());
    }

    #[test]
    fn move_to_top_and_bottom() {
        let (_d, s) = store();
        let a = added(s.add(new("https://1fichier.com/?aaaaa")).unwrap());
        let b = added(s.add(new("https://1fichier.com/?bbbbb")).unwrap());
        let c = added(s.add(new("https://1fichier.com/?ccccc")).unwrap());
        s.move_to(c, Position::Top).unwrap();
        s.move_to(a, Position::Bottom).unwrap();
        let ids: Vec<_> = s.list().unwrap().iter().map(|i| i.id).collect();
        assert_eq!(ids, vec![c, b, a]);
        assert_eq!(s.claim_next("r", LEASE).unwrap().unwrap().id, c);
        assert!(matches!(
            s.move_to(42, Position::Top),
            Err(QueueError::UnknownItem(42))
        ));
    }

    #[test]
    fn full_runner_cycle_and_clear_done() {
        let (_d, s) = store();
        let a = added(
            s.add(NewItem {
                size: Some(10),
                ..new("https://1fichier.com/?aaaaa")
            })
            .unwrap(),
        );
        let b = added(s.add(new("https://1fichier.com/?bbbbb")).unwrap());
        let item = s.claim_next("r", LEASE).unwrap().unwrap();
        assert_eq!(
            (item.id, item.state, item.attempts),
            (a, State::Checking, 1)
        );
        assert!(
            s.set_state(a, "r", State::Downloading, None, None, false)
                .unwrap()
        );
        assert!(s.set_progress(a, "r", 5, 100, Some(1)).unwrap());
        let i = s.get(a).unwrap().unwrap();
        assert_eq!((i.bytes_done, i.speed_bps, i.eta_secs), (5, 100, Some(1)));
        assert!(
            !s.set_progress(a, "other", 6, 100, Some(1)).unwrap(),
            "not its runner"
        );
        assert!(
            s.set_state(a, "r", State::Verifying, None, None, false)
                .unwrap()
        );
        assert!(s.finish(a, "r", Path::new("/downloads/a.bin")).unwrap());
        let i = s.get(a).unwrap().unwrap();
        assert_eq!(i.state, State::Done);
        assert_eq!(i.bytes_done, 10);
        assert_eq!(i.speed_bps, 0);
        assert_eq!(i.path.as_deref(), Some(Path::new("/downloads/a.bin")));
        assert!(
            !s.renew_lease(a, "r", LEASE).unwrap(),
            "done is no longer held"
        );

        // release puts it back first in line
        assert_eq!(s.claim_next("r", LEASE).unwrap().unwrap().id, b);
        s.release(b, "r").unwrap();
        assert_eq!(s.get(b).unwrap().unwrap().state, State::Queued);
        let again = s.claim_next("r2", LEASE).unwrap().unwrap();
        assert_eq!((again.id, again.attempts), (b, 2));

        assert_eq!(s.clear_done().unwrap(), 1);
        assert_eq!(sources(&s), vec!["https://1fichier.com/?bbbbb".to_owned()]);
        assert_eq!(s.clear_done().unwrap(), 0);
    }

    #[test]
    fn every_change_bumps_the_version() {
        let (_d, s) = store();
        let mut last = s.version().unwrap();
        let mut bumped = |what: &str, s: &QueueStore| {
            let v = s.version().unwrap();
            assert!(v > last, "{what} did not bump the version");
            last = v;
        };
        let a = added(s.add(new("https://1fichier.com/?aaaaa")).unwrap());
        bumped("add", &s);
        s.pause(&Selector::All).unwrap();
        bumped("pause", &s);
        s.resume(&Selector::All).unwrap();
        bumped("resume", &s);
        s.move_to(a, Position::Top).unwrap();
        bumped("move", &s);
        s.set_learned(a, Some("x"), None, None).unwrap();
        bumped("set_learned", &s);
        s.claim_next("r", LEASE).unwrap().unwrap();
        bumped("claim", &s);
        s.set_progress(a, "r", 1, 1, None).unwrap();
        bumped("progress", &s);
        s.set_state(a, "r", State::Failed, Some("x"), None, true)
            .unwrap();
        bumped("set_state", &s);
        s.retry(&Selector::All).unwrap();
        bumped("retry", &s);
        s.claim_next("r", LEASE).unwrap().unwrap();
        bumped("claim", &s);
        s.release(a, "r").unwrap();
        bumped("release", &s);
        s.claim_next("r", LEASE).unwrap().unwrap();
        bumped("claim", &s);
        s.finish(a, "r", Path::new("/downloads/x")).unwrap();
        bumped("finish", &s);
        s.clear_done().unwrap();
        bumped("clear_done", &s);
        added(s.add(new("https://1fichier.com/?bbbbb")).unwrap());
        bumped("add", &s);
        s.remove(&Selector::All).unwrap();
        bumped("remove", &s);
        // a version seen by another handle
        let other = QueueStore::open(Path::new(&s.path)).unwrap();
        assert_eq!(other.version().unwrap(), last);
    }

    #[test]
    fn two_handles_claiming_at_once_never_share_an_item() {
        let (d, s) = store();
        for i in 0..60 {
            added(
                s.add(new(&format!("https://1fichier.com/?item{i:05}")))
                    .unwrap(),
            );
        }
        let path = d.path().join("data/queue.sqlite");
        let claims: Vec<_> = (0..2)
            .map(|t| {
                let path = path.clone();
                std::thread::spawn(move || {
                    // each thread has its own handle (in one process they share the connection; the
                    // CLI tests run separate processes)
                    let store = QueueStore::open(&path).unwrap();
                    let mut got = Vec::new();
                    while let Some(item) = store.claim_next(&format!("runner{t}"), LEASE).unwrap() {
                        got.push(item.id);
                    }
                    got
                })
            })
            .collect();
        let all: Vec<ItemId> = claims.into_iter().flat_map(|h| h.join().unwrap()).collect();
        let unique: HashSet<_> = all.iter().collect();
        assert_eq!(all.len(), 60, "every item claimed once");
        assert_eq!(unique.len(), 60, "no item claimed twice");
        assert!(s.list().unwrap().iter().all(|i| i.state == State::Checking));
    }

    #[test]
    fn one_shared_handle_is_usable_from_threads() {
        let (_d, s) = store();
        let s = Arc::new(s);
        let hs: Vec<_> = (0..4)
            .map(|t| {
                let s = Arc::clone(&s);
                std::thread::spawn(move || {
                    for i in 0..10 {
                        s.add(new(&format!("https://1fichier.com/?t{t}x{i:04}")))
                            .unwrap();
                    }
                })
            })
            .collect();
        for h in hs {
            h.join().unwrap();
        }
        let items = s.list().unwrap();
        assert_eq!(items.len(), 40);
        let positions: HashSet<_> = items.iter().map(|i| i.position).collect();
        assert_eq!(positions.len(), 40, "positions are distinct");
    }

    #[test]
    fn an_expired_lease_makes_the_item_claimable_again() {
        let (_d, s) = store();
        let a = added(s.add(new("https://1fichier.com/?aaaaa")).unwrap());
        let t0 = Timestamp::now();
        let first = s.claim_next_at("killed", LEASE, t0).unwrap().unwrap();
        assert_eq!(first.id, a);
        // within the lease nobody else gets it
        let t_mid = t0 + jiff::SignedDuration::from_secs(30);
        assert_eq!(s.claim_next_at("new", LEASE, t_mid).unwrap(), None);
        // after it, the new runner does, and the old one is told to stop
        let t_late = t0 + jiff::SignedDuration::from_secs(61);
        let again = s.claim_next_at("new", LEASE, t_late).unwrap().unwrap();
        assert_eq!((again.id, again.attempts), (a, 2));
        assert!(!s.renew_lease(a, "killed", LEASE).unwrap());
        assert!(!s.set_progress(a, "killed", 1, 1, None).unwrap());
        assert!(!s.finish(a, "killed", Path::new("/x")).unwrap());
        assert!(s.renew_lease(a, "new", LEASE).unwrap());
    }

    #[test]
    fn waiting_items_come_back_when_their_time_has_come() {
        let (_d, s) = store();
        let a = added(s.add(new("https://1fichier.com/?aaaaa")).unwrap());
        let b = added(s.add(new("https://1fichier.com/?bbbbb")).unwrap());
        let t0 = Timestamp::now();
        s.claim_next_at("r", LEASE, t0).unwrap().unwrap();
        let until = t0 + jiff::SignedDuration::from_secs(600);
        assert!(
            s.set_state(a, "r", State::Waiting, Some("flood"), Some(until), true)
                .unwrap()
        );
        let w = s.get(a).unwrap().unwrap();
        assert_eq!(
            w.until.map(|u| u.as_microsecond()),
            Some(until.as_microsecond())
        );
        assert_eq!(s.claim_next_at("r", LEASE, t0).unwrap().unwrap().id, b);
        assert!(s.finish(b, "r", Path::new("/downloads/b")).unwrap());
        assert_eq!(s.claim_next_at("r", LEASE, t0).unwrap(), None);
        let later = until + jiff::SignedDuration::from_secs(1);
        assert_eq!(s.claim_next_at("r", LEASE, later).unwrap().unwrap().id, a);
        // waiting without `until` waits for `retry`
        assert!(
            s.set_state(a, "r", State::Waiting, Some("needs Premium"), None, true)
                .unwrap()
        );
        assert_eq!(s.claim_next_at("r", LEASE, later).unwrap(), None);
        s.retry(&Selector::Id(a)).unwrap();
        assert_eq!(s.claim_next_at("r", LEASE, later).unwrap().unwrap().id, a);
    }

    #[test]
    fn a_removed_item_stops_its_runner() {
        let (_d, s) = store();
        let a = added(s.add(new("https://1fichier.com/?aaaaa")).unwrap());
        s.claim_next("r", LEASE).unwrap().unwrap();
        assert!(s.renew_lease(a, "r", LEASE).unwrap());
        assert_eq!(s.remove(&Selector::Id(a)).unwrap(), 1);
        assert!(!s.renew_lease(a, "r", LEASE).unwrap());
        assert!(!s.set_progress(a, "r", 1, 1, None).unwrap());
        assert!(
            !s.set_state(a, "r", State::Verifying, None, None, false)
                .unwrap()
        );
        assert!(!s.finish(a, "r", Path::new("/x")).unwrap());
        s.release(a, "r").unwrap();
        s.set_learned(a, Some("x"), None, None).unwrap();
        assert_eq!(s.password(a).unwrap(), None);
        assert!(s.list().unwrap().is_empty());
    }

    #[test]
    fn the_password_stays_out_of_items_json_and_debug() {
        let (_d, s) = store();
        let secret = "hunter2-Sekret";
        let n = NewItem {
            password: Some(secret.into()),
            comment: Some("c".into()),
            ..new("https://1fichier.com/?aaaaa")
        };
        assert!(!format!("{n:?}").contains(secret));
        let a = added(s.add(n).unwrap());
        let item = s.get(a).unwrap().unwrap();
        assert!(item.has_password);
        assert!(!format!("{item:?}").contains(secret));
        let json = serde_json::to_string(&s.list().unwrap()).unwrap();
        assert!(!json.contains(secret), "{json}");
        assert!(json.contains("\"has_password\":true"));
        assert!(json.contains("\"state\":\"queued\""));
        let v: serde_json::Value = serde_json::from_str(&json).unwrap();
        assert!(v[0]["added_at"].as_str().unwrap().ends_with('Z'));
        assert!(v[0].get("password").is_none());
        assert_eq!(s.password(a).unwrap().as_deref(), Some(secret));
    }

    #[test]
    fn set_learned_keeps_what_it_is_not_told() {
        let (_d, s) = store();
        let a = added(
            s.add(NewItem {
                whirlpool: Some("ab".into()),
                ..new("https://1fichier.com/?aaaaa")
            })
            .unwrap(),
        );
        s.set_learned(a, Some("f.bin"), Some(7), None).unwrap();
        let i = s.get(a).unwrap().unwrap();
        assert_eq!(
            (i.name.as_deref(), i.size, i.whirlpool.as_deref()),
            (Some("f.bin"), Some(7), Some("ab"))
        );
        assert_eq!(i.target_path(), Some(PathBuf::from("/downloads/f.bin")));
    }

    #[test]
    fn state_names_round_trip() {
        for st in ALL_STATES {
            assert_eq!(State::parse(st.as_str()), Some(st));
            assert_eq!(
                serde_json::to_string(&st).unwrap(),
                format!("\"{}\"", st.as_str())
            );
        }
        assert!(State::Done.is_final() && State::Failed.is_final() && State::Offline.is_final());
        assert!(!State::Paused.is_final() && !State::Waiting.is_final());
    }

    #[test]
    fn reopening_keeps_everything() {
        let (d, s) = store();
        let a = added(s.add(new("https://1fichier.com/?aaaaa")).unwrap());
        drop(s);
        let s = QueueStore::open(&d.path().join("data/queue.sqlite")).unwrap();
        assert_eq!(
            s.get(a).unwrap().unwrap().source,
            "https://1fichier.com/?aaaaa"
        );
    }
}
