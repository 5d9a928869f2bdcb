//! Durable state: SQLite metadata (WAL) plus file bytes under `<data_dir>/blobs`.
//!
//! Blobs are written under `<data_dir>/tmp`, fsynced, renamed into `blobs/`, and only then is
//! their metadata committed, so a crash at any moment never lists a half-written file.
//! The connection sits behind a mutex; callers never hold it across an `.await`.

use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};

use rusqlite::{Connection, OptionalExtension, Row, params};
use serde_json::Value;

use crate::error::{EmuError, Ko};
use crate::model::{Account, Offer, UserSettings};
use crate::time;

const SCHEMA: &str = r#"
CREATE TABLE IF NOT EXISTS accounts(
  id INTEGER PRIMARY KEY,
  email TEXT NOT NULL UNIQUE,
  offer INTEGER NOT NULL,
  api_key TEXT NOT NULL UNIQUE,
  settings TEXT NOT NULL DEFAULT '{}',
  cdn_credits REAL NOT NULL DEFAULT 0,
  created INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS folders(
  id INTEGER PRIMARY KEY,
  account_id INTEGER NOT NULL,
  parent_id INTEGER NOT NULL,
  name TEXT NOT NULL,
  created INTEGER NOT NULL,
  pass TEXT NOT NULL DEFAULT '',
  share_id TEXT UNIQUE,
  share_pass TEXT NOT NULL DEFAULT ''
);
CREATE INDEX IF NOT EXISTS folders_parent ON folders(account_id, parent_id);
CREATE TABLE IF NOT EXISTS folder_shares(
  folder_id INTEGER NOT NULL,
  email TEXT NOT NULL,
  rw INTEGER NOT NULL,
  hide_links INTEGER NOT NULL,
  PRIMARY KEY(folder_id, email)
);
CREATE TABLE IF NOT EXISTS files(
  id TEXT PRIMARY KEY,
  account_id INTEGER,
  folder_id INTEGER NOT NULL,
  filename TEXT NOT NULL,
  size INTEGER NOT NULL,
  created INTEGER NOT NULL,
  checksum TEXT NOT NULL,
  content_type TEXT NOT NULL,
  blob TEXT NOT NULL,
  domain INTEGER NOT NULL DEFAULT 0,
  pass TEXT NOT NULL DEFAULT '',
  description TEXT NOT NULL DEFAULT '',
  no_ssl INTEGER NOT NULL DEFAULT 0,
  inline INTEGER NOT NULL DEFAULT 0,
  cdn INTEGER NOT NULL DEFAULT 0,
  acl TEXT NOT NULL DEFAULT '{}',
  remove_code TEXT NOT NULL DEFAULT '',
  upload_xid TEXT,
  visible INTEGER NOT NULL DEFAULT 1,
  scan_date INTEGER
);
CREATE INDEX IF NOT EXISTS files_folder ON files(account_id, folder_id);
CREATE INDEX IF NOT EXISTS files_xid ON files(upload_xid);
CREATE TABLE IF NOT EXISTS uploads(
  xid TEXT PRIMARY KEY,
  created INTEGER NOT NULL,
  finished INTEGER,
  incoming INTEGER NOT NULL DEFAULT 0,
  report TEXT
);
CREATE TABLE IF NOT EXISTS remote_jobs(
  id INTEGER PRIMARY KEY,
  account_id INTEGER NOT NULL,
  folder_id INTEGER NOT NULL,
  requested INTEGER NOT NULL,
  executed INTEGER,
  links TEXT NOT NULL,
  headers TEXT NOT NULL,
  result TEXT NOT NULL DEFAULT '[]'
);
CREATE TABLE IF NOT EXISTS ftp_users(
  account_id INTEGER NOT NULL,
  user TEXT NOT NULL,
  pass TEXT NOT NULL,
  folder_id INTEGER NOT NULL,
  PRIMARY KEY(account_id, user)
);
CREATE TABLE IF NOT EXISTS vouchers(
  code TEXT PRIMARY KEY,
  owner_id INTEGER NOT NULL,
  service TEXT NOT NULL,
  used_by TEXT
);
CREATE TABLE IF NOT EXISTS request_log(
  id INTEGER PRIMARY KEY,
  at INTEGER NOT NULL,
  ip TEXT NOT NULL,
  method TEXT NOT NULL,
  path TEXT NOT NULL,
  endpoint TEXT NOT NULL,
  status INTEGER NOT NULL,
  key_mask TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS meta(k TEXT PRIMARY KEY, v TEXT NOT NULL);
"#;

/// First folder id handed out (real ids are ~8 digits).
const FIRST_FOLDER_ID: i64 = 21_874_533;
/// Age after which an upload id that never reached `end.pl` is forgotten (uploads last at
/// most 4 hours on the real service).
const STALE_UPLOAD_SECS: i64 = 86_400;
/// Request-log rows kept in the database.
const LOG_KEEP: i64 = 100_000;
/// First remote-upload job id.
const FIRST_JOB_ID: i64 = 4_102_877;

/// One stored file.
#[derive(Debug, Clone)]
pub struct FileRow {
    pub id: String,
    pub account_id: Option<i64>,
    pub folder_id: i64,
    pub filename: String,
    pub size: i64,
    pub created: i64,
    pub checksum: String,
    pub content_type: String,
    pub blob: String,
    pub domain: i64,
    pub pass: String,
    pub description: String,
    pub no_ssl: bool,
    pub inline: bool,
    pub cdn: bool,
    pub acl: Value,
    pub remove_code: String,
    pub upload_xid: Option<String>,
    pub visible: bool,
    pub scan_date: Option<i64>,
}

impl FileRow {
    /// Whether the ACL restricts access (a non-empty object).
    pub fn has_acl(&self) -> bool {
        self.acl.as_object().is_some_and(|m| {
            m.iter().any(|(_, v)| match v {
                Value::Array(a) => !a.is_empty(),
                Value::Number(n) => n.as_i64().unwrap_or(0) != 0,
                _ => false,
            })
        })
    }
}

/// One stored folder.
#[derive(Debug, Clone)]
pub struct FolderRow {
    pub id: i64,
    pub account_id: i64,
    pub parent_id: i64,
    pub name: String,
    pub created: i64,
    pub pass: String,
    pub share_id: Option<String>,
    pub share_pass: String,
}

/// A groupware share of a folder with a registered user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShareRow {
    pub email: String,
    pub rw: bool,
    pub hide_links: bool,
}

/// One remote-upload job.
#[derive(Debug, Clone)]
pub struct JobRow {
    pub id: i64,
    pub account_id: i64,
    pub folder_id: i64,
    pub requested: i64,
    pub executed: Option<i64>,
    pub links: Vec<String>,
    pub headers: Value,
    pub result: Value,
}

/// One upload session on the node.
#[derive(Debug, Clone)]
pub struct UploadRow {
    pub finished: Option<i64>,
    pub incoming: bool,
    pub report: Option<Value>,
}

/// The metadata database and blob directory.
#[derive(Debug)]
pub struct Store {
    conn: Mutex<Connection>,
    root: PathBuf,
}

const FILE_COLS: &str = "id, account_id, folder_id, filename, size, created, checksum, content_type, blob, domain, pass, description, no_ssl, inline, cdn, acl, remove_code, upload_xid, visible, scan_date";

fn file_from_row(r: &Row<'_>) -> rusqlite::Result<FileRow> {
    let acl: String = r.get(15)?;
    Ok(FileRow {
        id: r.get(0)?,
        account_id: r.get(1)?,
        folder_id: r.get(2)?,
        filename: r.get(3)?,
        size: r.get(4)?,
        created: r.get(5)?,
        checksum: r.get(6)?,
        content_type: r.get(7)?,
        blob: r.get(8)?,
        domain: r.get(9)?,
        pass: r.get(10)?,
        description: r.get(11)?,
        no_ssl: r.get(12)?,
        inline: r.get(13)?,
        cdn: r.get(14)?,
        acl: serde_json::from_str(&acl).unwrap_or_else(|_| Value::Object(Default::default())),
        remove_code: r.get(16)?,
        upload_xid: r.get(17)?,
        visible: r.get(18)?,
        scan_date: r.get(19)?,
    })
}

const FOLDER_COLS: &str = "id, account_id, parent_id, name, created, pass, share_id, share_pass";

fn folder_from_row(r: &Row<'_>) -> rusqlite::Result<FolderRow> {
    Ok(FolderRow {
        id: r.get(0)?,
        account_id: r.get(1)?,
        parent_id: r.get(2)?,
        name: r.get(3)?,
        created: r.get(4)?,
        pass: r.get(5)?,
        share_id: r.get(6)?,
        share_pass: r.get(7)?,
    })
}

fn account_from_row(r: &Row<'_>) -> rusqlite::Result<Account> {
    Ok(Account {
        id: r.get(0)?,
        email: r.get(1)?,
        offer: Offer::from_code(r.get(2)?),
        api_key: r.get(3)?,
    })
}

const ACCOUNT_COLS: &str = "id, email, offer, api_key";

impl Store {
    /// Open (or create) the store under `data_dir` for a server, cleaning what a crash left
    /// behind.
    pub fn open(data_dir: &Path) -> Result<Store, EmuError> {
        Store::open_with(data_dir, true)
    }

    /// Open the store without touching blobs (admin commands next to a running server).
    pub fn open_shared(data_dir: &Path) -> Result<Store, EmuError> {
        Store::open_with(data_dir, false)
    }

    fn open_with(data_dir: &Path, clean: bool) -> Result<Store, EmuError> {
        std::fs::create_dir_all(data_dir.join("blobs"))?;
        let tmp = data_dir.join("tmp");
        // Partial uploads from a killed process are never listed; drop their bytes.
        if clean && tmp.exists() {
            std::fs::remove_dir_all(&tmp)?;
        }
        std::fs::create_dir_all(&tmp)?;
        let conn = Connection::open(data_dir.join("emulator.sqlite3"))?;
        conn.busy_timeout(std::time::Duration::from_secs(10))?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "NORMAL")?;
        conn.execute_batch(SCHEMA)?;
        let store = Store {
            conn: Mutex::new(conn),
            root: data_dir.to_path_buf(),
        };
        if clean {
            store.drop_stale_uploads()?;
            store.collect_orphan_blobs()?;
        }
        Ok(store)
    }

    /// Forget upload ids older than a day that never reached `end.pl`, with their invisible
    /// files (their blobs go with the orphan sweep that follows).
    fn drop_stale_uploads(&self) -> Result<(), EmuError> {
        let cutoff = time::now() - STALE_UPLOAD_SECS;
        let mut c = self.lock();
        let tx = c.transaction()?;
        tx.execute(
            "DELETE FROM files WHERE visible = 0 AND upload_xid IN (SELECT xid FROM uploads WHERE finished IS NULL AND created < ?1)",
            [cutoff],
        )?;
        tx.execute(
            "DELETE FROM uploads WHERE finished IS NULL AND created < ?1",
            [cutoff],
        )?;
        tx.commit()?;
        Ok(())
    }

    /// Remove blobs whose metadata was never committed (crash between rename and insert).
    fn collect_orphan_blobs(&self) -> Result<(), EmuError> {
        let known: std::collections::HashSet<String> = {
            let c = self.lock();
            let mut st = c.prepare("SELECT DISTINCT blob FROM files")?;
            st.query_map([], |r| r.get::<_, String>(0))?
                .collect::<Result<_, _>>()?
        };
        for entry in std::fs::read_dir(self.root.join("blobs"))? {
            let entry = entry?;
            let name = entry.file_name().to_string_lossy().to_string();
            if !known.contains(&name) {
                let _ = std::fs::remove_file(entry.path());
            }
        }
        Ok(())
    }

    fn lock(&self) -> MutexGuard<'_, Connection> {
        // A panic while holding the lock cannot leave SQLite inconsistent (transactions roll
        // back), so a poisoned mutex is still safe to use.
        self.conn.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Directory for in-flight blobs.
    pub fn tmp_dir(&self) -> PathBuf {
        self.root.join("tmp")
    }

    /// Path of a committed blob.
    pub fn blob_path(&self, blob: &str) -> PathBuf {
        self.root.join("blobs").join(blob)
    }

    // ---------------------------------------------------------------- accounts

    /// Create an account; fails if the e-mail or key is taken.
    pub fn create_account(
        &self,
        email: &str,
        offer: Offer,
        key: &str,
    ) -> Result<Account, EmuError> {
        let c = self.lock();
        c.execute(
            "INSERT INTO accounts(email, offer, api_key, settings, cdn_credits, created) VALUES (?1, ?2, ?3, '{}', 0, ?4)",
            params![email, offer.code(), key, time::now()],
        )
        .map_err(|e| match e {
            rusqlite::Error::SqliteFailure(f, _)
                if f.code == rusqlite::ErrorCode::ConstraintViolation =>
            {
                EmuError::Invalid(format!(
                    "an account with e-mail {email:?} (or that key) already exists"
                ))
            }
            e => EmuError::Db(e),
        })?;
        Ok(Account {
            id: c.last_insert_rowid(),
            email: email.to_string(),
            offer,
            api_key: key.to_string(),
        })
    }

    /// Account by e-mail.
    pub fn account_by_email(&self, email: &str) -> rusqlite::Result<Option<Account>> {
        self.lock()
            .query_row(
                &format!("SELECT {ACCOUNT_COLS} FROM accounts WHERE email = ?1"),
                [email],
                account_from_row,
            )
            .optional()
    }

    /// Account by API key.
    pub fn account_by_key(&self, key: &str) -> rusqlite::Result<Option<Account>> {
        self.lock()
            .query_row(
                &format!("SELECT {ACCOUNT_COLS} FROM accounts WHERE api_key = ?1"),
                [key],
                account_from_row,
            )
            .optional()
    }

    /// Account by id.
    pub fn account_by_id(&self, id: i64) -> rusqlite::Result<Option<Account>> {
        self.lock()
            .query_row(
                &format!("SELECT {ACCOUNT_COLS} FROM accounts WHERE id = ?1"),
                [id],
                account_from_row,
            )
            .optional()
    }

    /// Every account.
    pub fn accounts(&self) -> rusqlite::Result<Vec<Account>> {
        let c = self.lock();
        let mut st = c.prepare(&format!("SELECT {ACCOUNT_COLS} FROM accounts ORDER BY id"))?;
        st.query_map([], account_from_row)?.collect()
    }

    /// Change an account's offer.
    pub fn set_offer(&self, email: &str, offer: Offer) -> rusqlite::Result<usize> {
        self.lock().execute(
            "UPDATE accounts SET offer = ?1 WHERE email = ?2",
            params![offer.code(), email],
        )
    }

    /// Replace an account's key.
    pub fn set_key(&self, email: &str, key: &str) -> rusqlite::Result<usize> {
        self.lock().execute(
            "UPDATE accounts SET api_key = ?1 WHERE email = ?2",
            params![key, email],
        )
    }

    /// Settings shown by `user/info`.
    pub fn settings(&self, account_id: i64) -> rusqlite::Result<(UserSettings, f64)> {
        let (s, cdn): (String, f64) = self.lock().query_row(
            "SELECT settings, cdn_credits FROM accounts WHERE id = ?1",
            [account_id],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )?;
        Ok((serde_json::from_str(&s).unwrap_or_default(), cdn))
    }

    /// Save settings.
    pub fn set_settings(&self, account_id: i64, s: &UserSettings) -> rusqlite::Result<()> {
        let text = serde_json::to_string(s).unwrap_or_else(|_| "{}".into());
        self.lock().execute(
            "UPDATE accounts SET settings = ?1 WHERE id = ?2",
            params![text, account_id],
        )?;
        Ok(())
    }

    /// Add (or with a negative amount spend) CDN credits, in GB.
    pub fn add_cdn(&self, account_id: i64, gb: f64) -> rusqlite::Result<()> {
        self.lock().execute(
            "UPDATE accounts SET cdn_credits = MAX(0, cdn_credits + ?1) WHERE id = ?2",
            params![gb, account_id],
        )?;
        Ok(())
    }

    /// Bytes stored by an account (visible files).
    pub fn used_bytes(&self, account_id: i64) -> rusqlite::Result<i64> {
        self.lock().query_row(
            "SELECT COALESCE(SUM(size), 0) FROM files WHERE account_id = ?1 AND visible = 1",
            [account_id],
            |r| r.get(0),
        )
    }

    // ----------------------------------------------------------------- folders

    /// A folder by id (any owner).
    pub fn folder(&self, id: i64) -> rusqlite::Result<Option<FolderRow>> {
        self.lock()
            .query_row(
                &format!("SELECT {FOLDER_COLS} FROM folders WHERE id = ?1"),
                [id],
                folder_from_row,
            )
            .optional()
    }

    /// Child folders of `parent` owned by `account_id`, in creation order.
    pub fn subfolders(&self, account_id: i64, parent: i64) -> rusqlite::Result<Vec<FolderRow>> {
        let c = self.lock();
        let mut st = c.prepare(&format!(
            "SELECT {FOLDER_COLS} FROM folders WHERE account_id = ?1 AND parent_id = ?2 ORDER BY id"
        ))?;
        st.query_map(params![account_id, parent], folder_from_row)?
            .collect()
    }

    /// Create a folder and return its id.
    pub fn mkdir(&self, account_id: i64, parent: i64, name: &str) -> rusqlite::Result<i64> {
        let c = self.lock();
        c.execute(
            "INSERT INTO folders(id, account_id, parent_id, name, created) VALUES ((SELECT COALESCE(MAX(id), ?1 - 1) + 1 FROM folders), ?2, ?3, ?4, ?5)",
            params![FIRST_FOLDER_ID, account_id, parent, name, time::now()],
        )?;
        Ok(c.last_insert_rowid())
    }

    /// Move and/or rename a folder.
    pub fn update_folder(&self, id: i64, parent: i64, name: &str) -> rusqlite::Result<()> {
        self.lock().execute(
            "UPDATE folders SET parent_id = ?1, name = ?2 WHERE id = ?3",
            params![parent, name, id],
        )?;
        Ok(())
    }

    /// Delete an (empty) folder and its shares.
    pub fn delete_folder(&self, id: i64) -> rusqlite::Result<()> {
        let mut c = self.lock();
        let tx = c.transaction()?;
        tx.execute("DELETE FROM folder_shares WHERE folder_id = ?1", [id])?;
        tx.execute("DELETE FROM folders WHERE id = ?1", [id])?;
        tx.commit()
    }

    /// Whether a folder holds neither files nor sub-folders.
    pub fn folder_is_empty(&self, id: i64) -> rusqlite::Result<bool> {
        let c = self.lock();
        let files: i64 = c.query_row(
            "SELECT COUNT(*) FROM files WHERE folder_id = ?1 AND visible = 1 AND account_id IS NOT NULL",
            [id],
            |r| r.get(0),
        )?;
        let dirs: i64 = c.query_row(
            "SELECT COUNT(*) FROM folders WHERE parent_id = ?1",
            [id],
            |r| r.get(0),
        )?;
        Ok(files == 0 && dirs == 0)
    }

    /// Public share settings of a folder.
    pub fn set_public_share(
        &self,
        id: i64,
        share_id: Option<&str>,
        pass: &str,
    ) -> rusqlite::Result<()> {
        self.lock().execute(
            "UPDATE folders SET share_id = ?1, share_pass = ?2 WHERE id = ?3",
            params![share_id, pass, id],
        )?;
        Ok(())
    }

    /// Folder by public share id.
    pub fn folder_by_share(&self, share_id: &str) -> rusqlite::Result<Option<FolderRow>> {
        self.lock()
            .query_row(
                &format!("SELECT {FOLDER_COLS} FROM folders WHERE share_id = ?1"),
                [share_id],
                folder_from_row,
            )
            .optional()
    }

    /// Groupware shares of a folder.
    pub fn shares(&self, folder_id: i64) -> rusqlite::Result<Vec<ShareRow>> {
        let c = self.lock();
        let mut st = c.prepare(
            "SELECT email, rw, hide_links FROM folder_shares WHERE folder_id = ?1 ORDER BY email",
        )?;
        st.query_map([folder_id], |r| {
            Ok(ShareRow {
                email: r.get(0)?,
                rw: r.get(1)?,
                hide_links: r.get(2)?,
            })
        })?
        .collect()
    }

    /// Replace the groupware shares of a folder.
    pub fn set_shares(&self, folder_id: i64, shares: &[ShareRow]) -> rusqlite::Result<()> {
        let mut c = self.lock();
        let tx = c.transaction()?;
        tx.execute(
            "DELETE FROM folder_shares WHERE folder_id = ?1",
            [folder_id],
        )?;
        for s in shares {
            tx.execute(
                "INSERT OR REPLACE INTO folder_shares(folder_id, email, rw, hide_links) VALUES (?1, ?2, ?3, ?4)",
                params![folder_id, s.email, s.rw, s.hide_links],
            )?;
        }
        tx.commit()
    }

    /// Folders of `owner_id` shared with `email`, with the rights granted.
    pub fn shared_with(
        &self,
        owner_id: i64,
        email: &str,
    ) -> rusqlite::Result<Vec<(FolderRow, ShareRow)>> {
        let c = self.lock();
        let mut st = c.prepare(&format!(
            "SELECT {}, s.email, s.rw, s.hide_links FROM folders f JOIN folder_shares s ON s.folder_id = f.id WHERE f.account_id = ?1 AND s.email = ?2 ORDER BY f.id",
            FOLDER_COLS
                .split(", ")
                .map(|c| format!("f.{c}"))
                .collect::<Vec<_>>()
                .join(", ")
        ))?;
        st.query_map(params![owner_id, email], |r| {
            Ok((
                folder_from_row(r)?,
                ShareRow {
                    email: r.get(8)?,
                    rw: r.get(9)?,
                    hide_links: r.get(10)?,
                },
            ))
        })?
        .collect()
    }

    // ------------------------------------------------------------------- files

    /// Insert a file row (its blob must already be in place).
    pub fn insert_file(&self, f: &FileRow) -> rusqlite::Result<()> {
        self.lock().execute(
            &format!("INSERT INTO files({FILE_COLS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20)"),
            params![
                f.id,
                f.account_id,
                f.folder_id,
                f.filename,
                f.size,
                f.created,
                f.checksum,
                f.content_type,
                f.blob,
                f.domain,
                f.pass,
                f.description,
                f.no_ssl,
                f.inline,
                f.cdn,
                f.acl.to_string(),
                f.remove_code,
                f.upload_xid,
                f.visible,
                f.scan_date
            ],
        )?;
        Ok(())
    }

    /// A visible file by id.
    pub fn file(&self, id: &str) -> rusqlite::Result<Option<FileRow>> {
        self.lock()
            .query_row(
                &format!("SELECT {FILE_COLS} FROM files WHERE id = ?1 AND visible = 1"),
                [id],
                file_from_row,
            )
            .optional()
    }

    /// Visible files of an account in one folder (or all with `folder = None`), oldest first.
    pub fn files(
        &self,
        account_id: i64,
        folder: Option<i64>,
        after: Option<i64>,
        before: Option<i64>,
        limit: usize,
    ) -> rusqlite::Result<Vec<FileRow>> {
        let c = self.lock();
        let mut st = c.prepare(&format!(
            "SELECT {FILE_COLS} FROM files WHERE account_id = ?1 AND visible = 1 AND (?2 IS NULL OR folder_id = ?2) AND (?3 IS NULL OR created >= ?3) AND (?4 IS NULL OR created <= ?4) ORDER BY created, rowid LIMIT ?5"
        ))?;
        st.query_map(
            params![account_id, folder, after, before, limit as i64],
            file_from_row,
        )?
        .collect()
    }

    /// Number and total bytes of visible files in a folder.
    pub fn folder_stats(&self, account_id: i64, folder: i64) -> rusqlite::Result<(i64, i64)> {
        self.lock().query_row(
            "SELECT COUNT(*), COALESCE(SUM(size), 0) FROM files WHERE account_id = ?1 AND folder_id = ?2 AND visible = 1",
            params![account_id, folder],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
    }

    /// Save every mutable field of a file.
    pub fn update_file(&self, f: &FileRow) -> rusqlite::Result<()> {
        self.lock().execute(
            "UPDATE files SET folder_id = ?2, filename = ?3, pass = ?4, description = ?5, no_ssl = ?6, inline = ?7, cdn = ?8, acl = ?9, scan_date = ?10, visible = ?11, account_id = ?12 WHERE id = ?1",
            params![
                f.id,
                f.folder_id,
                f.filename,
                f.pass,
                f.description,
                f.no_ssl,
                f.inline,
                f.cdn,
                f.acl.to_string(),
                f.scan_date,
                f.visible,
                f.account_id
            ],
        )?;
        Ok(())
    }

    /// Delete a file's metadata, then its blob (if no other row uses it).
    pub fn delete_file(&self, f: &FileRow) -> rusqlite::Result<()> {
        let others: i64 = {
            let c = self.lock();
            c.execute("DELETE FROM files WHERE id = ?1", [&f.id])?;
            c.query_row(
                "SELECT COUNT(*) FROM files WHERE blob = ?1",
                [&f.blob],
                |r| r.get(0),
            )?
        };
        if others == 0 {
            let _ = std::fs::remove_file(self.blob_path(&f.blob));
        }
        Ok(())
    }

    /// Files (visible or not) of an upload session, in upload order.
    pub fn upload_files(&self, xid: &str) -> rusqlite::Result<Vec<FileRow>> {
        let c = self.lock();
        let mut st = c.prepare(&format!(
            "SELECT {FILE_COLS} FROM files WHERE upload_xid = ?1 ORDER BY rowid"
        ))?;
        st.query_map([xid], file_from_row)?.collect()
    }

    // ----------------------------------------------------------------- uploads

    /// Register an upload id handed out by `get_upload_server`.
    pub fn create_upload(&self, xid: &str) -> rusqlite::Result<()> {
        self.lock().execute(
            "INSERT OR IGNORE INTO uploads(xid, created) VALUES (?1, ?2)",
            params![xid, time::now()],
        )?;
        Ok(())
    }

    /// An upload session.
    pub fn upload(&self, xid: &str) -> rusqlite::Result<Option<UploadRow>> {
        self.lock()
            .query_row(
                "SELECT finished, incoming, report FROM uploads WHERE xid = ?1",
                [xid],
                |r| {
                    let report: Option<String> = r.get(2)?;
                    Ok(UploadRow {
                        finished: r.get(0)?,
                        incoming: r.get(1)?,
                        report: report.and_then(|s| serde_json::from_str(&s).ok()),
                    })
                },
            )
            .optional()
    }

    /// Mark an upload as delivered to a user's incoming folder.
    pub fn set_upload_incoming(&self, xid: &str) -> rusqlite::Result<()> {
        self.lock()
            .execute("UPDATE uploads SET incoming = 1 WHERE xid = ?1", [xid])?;
        Ok(())
    }

    /// Finalise an upload in one transaction: its files become visible and the report is kept.
    pub fn finalize_upload(&self, xid: &str, report: &Value) -> rusqlite::Result<()> {
        let mut c = self.lock();
        let tx = c.transaction()?;
        tx.execute("UPDATE files SET visible = 1 WHERE upload_xid = ?1", [xid])?;
        tx.execute(
            "UPDATE uploads SET finished = ?2, report = ?3 WHERE xid = ?1",
            params![xid, time::now(), report.to_string()],
        )?;
        tx.commit()
    }

    // ------------------------------------------------------------- remote jobs

    /// Create a remote-upload job.
    pub fn create_job(
        &self,
        account_id: i64,
        folder_id: i64,
        links: &[String],
        headers: &Value,
    ) -> rusqlite::Result<JobRow> {
        let now = time::now();
        let c = self.lock();
        c.execute(
            "INSERT INTO remote_jobs(id, account_id, folder_id, requested, links, headers) VALUES ((SELECT COALESCE(MAX(id), ?1 - 1) + 1 FROM remote_jobs), ?2, ?3, ?4, ?5, ?6)",
            params![
                FIRST_JOB_ID,
                account_id,
                folder_id,
                now,
                serde_json::to_string(links).unwrap_or_default(),
                headers.to_string()
            ],
        )?;
        Ok(JobRow {
            id: c.last_insert_rowid(),
            account_id,
            folder_id,
            requested: now,
            executed: None,
            links: links.to_vec(),
            headers: headers.clone(),
            result: Value::Array(vec![]),
        })
    }

    /// Jobs of an account (all, or one).
    pub fn jobs(&self, account_id: i64, id: Option<i64>) -> rusqlite::Result<Vec<JobRow>> {
        let c = self.lock();
        let mut st = c.prepare(
            "SELECT id, account_id, folder_id, requested, executed, links, headers, result FROM remote_jobs WHERE account_id = ?1 AND (?2 IS NULL OR id = ?2) ORDER BY id",
        )?;
        st.query_map(params![account_id, id], |r| {
            let links: String = r.get(5)?;
            let headers: String = r.get(6)?;
            let result: String = r.get(7)?;
            Ok(JobRow {
                id: r.get(0)?,
                account_id: r.get(1)?,
                folder_id: r.get(2)?,
                requested: r.get(3)?,
                executed: r.get(4)?,
                links: serde_json::from_str(&links).unwrap_or_default(),
                headers: serde_json::from_str(&headers).unwrap_or(Value::Null),
                result: serde_json::from_str(&result).unwrap_or(Value::Array(vec![])),
            })
        })?
        .collect()
    }

    /// Jobs that were never executed (for resuming after a restart).
    pub fn pending_jobs(&self) -> rusqlite::Result<Vec<i64>> {
        let c = self.lock();
        let mut st = c.prepare("SELECT id FROM remote_jobs WHERE executed IS NULL")?;
        st.query_map([], |r| r.get(0))?.collect()
    }

    /// Job by id, any account.
    pub fn job(&self, id: i64) -> rusqlite::Result<Option<JobRow>> {
        let owner: Option<i64> = self
            .lock()
            .query_row(
                "SELECT account_id FROM remote_jobs WHERE id = ?1",
                [id],
                |r| r.get(0),
            )
            .optional()?;
        match owner {
            Some(a) => Ok(self.jobs(a, Some(id))?.into_iter().next()),
            None => Ok(None),
        }
    }

    /// Record a job's results.
    pub fn finish_job(&self, id: i64, result: &Value) -> rusqlite::Result<()> {
        self.lock().execute(
            "UPDATE remote_jobs SET executed = ?2, result = ?3 WHERE id = ?1",
            params![id, time::now(), result.to_string()],
        )?;
        Ok(())
    }

    // --------------------------------------------------------------------- ftp

    /// FTP sub-accounts of an account.
    pub fn ftp_users(&self, account_id: i64) -> rusqlite::Result<Vec<(String, i64)>> {
        let c = self.lock();
        let mut st =
            c.prepare("SELECT user, folder_id FROM ftp_users WHERE account_id = ?1 ORDER BY user")?;
        st.query_map([account_id], |r| Ok((r.get(0)?, r.get(1)?)))?
            .collect()
    }

    /// Add an FTP sub-account; false if the name exists.
    pub fn add_ftp_user(
        &self,
        account_id: i64,
        user: &str,
        pass: &str,
        folder: i64,
    ) -> rusqlite::Result<bool> {
        let n = self.lock().execute(
            "INSERT OR IGNORE INTO ftp_users(account_id, user, pass, folder_id) VALUES (?1, ?2, ?3, ?4)",
            params![account_id, user, pass, folder],
        )?;
        Ok(n == 1)
    }

    /// Remove an FTP sub-account; false if unknown.
    pub fn rm_ftp_user(&self, account_id: i64, user: &str) -> rusqlite::Result<bool> {
        let n = self.lock().execute(
            "DELETE FROM ftp_users WHERE account_id = ?1 AND user = ?2",
            params![account_id, user],
        )?;
        Ok(n == 1)
    }

    // ---------------------------------------------------------------- vouchers

    /// Create a voucher owned by an account.
    pub fn create_voucher(&self, owner: i64, code: &str, service: &str) -> rusqlite::Result<()> {
        self.lock().execute(
            "INSERT INTO vouchers(code, owner_id, service) VALUES (?1, ?2, ?3)",
            params![code, owner, service],
        )?;
        Ok(())
    }

    /// Unused vouchers owned by an account.
    pub fn vouchers(&self, owner: i64) -> rusqlite::Result<Vec<(String, String)>> {
        let c = self.lock();
        let mut st = c.prepare(
            "SELECT code, service FROM vouchers WHERE owner_id = ?1 AND used_by IS NULL ORDER BY code",
        )?;
        st.query_map([owner], |r| Ok((r.get(0)?, r.get(1)?)))?
            .collect()
    }

    /// A voucher: (service, used_by).
    pub fn voucher(&self, code: &str) -> rusqlite::Result<Option<(String, Option<String>)>> {
        self.lock()
            .query_row(
                "SELECT service, used_by FROM vouchers WHERE code = ?1",
                [code],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()
    }

    /// Mark a voucher used; false if it was already used.
    pub fn use_voucher(&self, code: &str, email: &str) -> rusqlite::Result<bool> {
        let n = self.lock().execute(
            "UPDATE vouchers SET used_by = ?2 WHERE code = ?1 AND used_by IS NULL",
            params![code, email],
        )?;
        Ok(n == 1)
    }

    // ------------------------------------------------------------- request log

    /// Append to the persistent request log.
    pub fn log_request(&self, r: &crate::log::LoggedRequest) -> rusqlite::Result<()> {
        let c = self.lock();
        c.execute(
            "INSERT INTO request_log(at, ip, method, path, endpoint, status, key_mask) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            params![r.at, r.ip, r.method, r.path, r.endpoint, r.status, r.key],
        )?;
        // Keep the newest entries only, so a long-running emulator does not grow without bound.
        let id = c.last_insert_rowid();
        if id % 1000 == 0 {
            c.execute("DELETE FROM request_log WHERE id <= ?1", [id - LOG_KEEP])?;
        }
        Ok(())
    }

    /// The last `limit` logged requests, oldest first.
    pub fn request_log(&self, limit: usize) -> rusqlite::Result<Vec<crate::log::LoggedRequest>> {
        let c = self.lock();
        let mut st = c.prepare(
            "SELECT at, ip, method, path, endpoint, status, key_mask FROM (SELECT * FROM request_log ORDER BY id DESC LIMIT ?1) ORDER BY id",
        )?;
        st.query_map([limit as i64], |r| {
            Ok(crate::log::LoggedRequest {
                at: r.get(0)?,
                ip: r.get(1)?,
                method: r.get(2)?,
                path: r.get(3)?,
                endpoint: r.get(4)?,
                status: r.get(5)?,
                key: r.get(6)?,
                received_ms: None,
            })
        })?
        .collect()
    }

    /// A value of the small key/value table (admin state such as the fault plan).
    pub fn meta(&self, k: &str) -> rusqlite::Result<Option<String>> {
        self.lock()
            .query_row("SELECT v FROM meta WHERE k = ?1", [k], |r| r.get(0))
            .optional()
    }

    /// Set (or with `None` delete) a value of the key/value table.
    pub fn set_meta(&self, k: &str, v: Option<&str>) -> rusqlite::Result<()> {
        let c = self.lock();
        match v {
            Some(v) => c.execute(
                "INSERT OR REPLACE INTO meta(k, v) VALUES (?1, ?2)",
                params![k, v],
            )?,
            None => c.execute("DELETE FROM meta WHERE k = ?1", [k])?,
        };
        Ok(())
    }
}

/// Convert a store error on a request path into a KO.
pub fn db<T>(r: rusqlite::Result<T>) -> Result<T, Ko> {
    r.map_err(Ko::from)
}
