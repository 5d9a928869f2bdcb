//! `fichier backup --log-file PATH`: one JSON line per remote step of a run (upload, retire,
//! prune, failure) and one for the final summary, appended to a file created 0600. The steps
//! are seen by wrapping the destination adapter, so the run logic stays as it is.

use std::collections::{BTreeMap, HashMap};
use std::io::Write as _;
use std::os::unix::fs::OpenOptionsExt as _;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use fichier_backup::plan::{LocalEntry, RemoteCopy};
use fichier_backup::run::{BackupRemote, RemoteError};
use serde_json::{Value, json};

use crate::error::Failure;
use crate::printer::Printer;

/// An open log file.
pub struct StepLog {
    file: Mutex<std::fs::File>,
    path: PathBuf,
    profile: String,
    /// Set after the first write error: one warning, then silence.
    failed: Mutex<bool>,
}

impl StepLog {
    /// Opens (creating 0600) `path` for appending; an unwritable path is a usage error given
    /// before the run starts.
    pub fn open(path: &Path, profile: &str) -> anyhow::Result<StepLog> {
        let file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .mode(0o600)
            .open(path)
            .map_err(|e| {
                Failure::usage(format!("--log-file {}: {e}", path.display()))
                    .with_hint("give a file in a directory that exists and is writable")
            })?;
        Ok(StepLog {
            file: Mutex::new(file),
            path: path.to_path_buf(),
            profile: profile.to_string(),
            failed: Mutex::new(false),
        })
    }

    /// Appends one line: `{"time", "profile", "step", ...fields}`. A write error is warned
    /// about once and never stops the run.
    pub fn write(&self, printer: &Printer, step: &str, fields: Value) {
        let mut line = json!({
            "time": jiff::Timestamp::now().to_string(),
            "profile": self.profile,
            "step": step,
        });
        if let (Some(obj), Value::Object(extra)) = (line.as_object_mut(), fields) {
            obj.extend(extra);
        }
        let mut text = line.to_string();
        text.push('\n');
        // One write of the whole line to an O_APPEND file: lines of concurrent runs of other
        // profiles never interleave mid-line.
        let res = self
            .file
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .write_all(text.as_bytes());
        if let Err(e) = res {
            let mut failed = self.failed.lock().unwrap_or_else(|p| p.into_inner());
            if !*failed {
                *failed = true;
                printer.warn(&format!(
                    "cannot write to the log file {}: {e}; the backup goes on",
                    self.path.display()
                ));
            }
        }
    }
}

/// The destination adapter with every step logged.
pub struct LoggedRemote<'a, R> {
    inner: R,
    log: Option<&'a StepLog>,
    printer: &'a Printer,
    /// Link -> path, from the live listing and the uploads, to name the copies moved.
    paths: HashMap<String, String>,
}

impl<'a, R> LoggedRemote<'a, R> {
    /// Wraps `inner`; with no log, every call passes straight through.
    pub fn new(inner: R, log: Option<&'a StepLog>, printer: &'a Printer) -> Self {
        LoggedRemote {
            inner,
            log,
            printer,
            paths: HashMap::new(),
        }
    }

    fn write(&self, step: &str, fields: Value) {
        if let Some(log) = self.log {
            log.write(self.printer, step, fields);
        }
    }

    fn failure(&self, action: &str, what: Value, e: &RemoteError) {
        let mut fields = json!({ "action": action, "error": e.message, "stops_run": e.stop_run });
        if let (Some(obj), Value::Object(extra)) = (fields.as_object_mut(), what) {
            obj.extend(extra);
        }
        self.write("failure", fields);
    }

    fn path_of(&self, copy: &RemoteCopy) -> Value {
        // Links are never logged (anyone holding one can download the file).
        self.paths
            .get(&copy.link)
            .map(|p| Value::String(p.clone()))
            .unwrap_or(Value::Null)
    }
}

impl<R: BackupRemote> BackupRemote for LoggedRemote<'_, R> {
    fn notice(&mut self, message: &str) {
        self.inner.notice(message);
    }

    async fn live_files(&mut self) -> Result<BTreeMap<String, Vec<RemoteCopy>>, RemoteError> {
        let res = self.inner.live_files().await;
        match &res {
            Ok(files) => {
                for (path, copies) in files {
                    for c in copies {
                        self.paths.insert(c.link.clone(), path.clone());
                    }
                }
            }
            Err(e) => self.failure("list", json!({}), e),
        }
        res
    }

    async fn upload(
        &mut self,
        files: &[(PathBuf, LocalEntry)],
    ) -> Vec<Result<RemoteCopy, RemoteError>> {
        let results = self.inner.upload(files).await;
        for ((_, entry), r) in files.iter().zip(&results) {
            match r {
                Ok(copy) => {
                    self.paths.insert(copy.link.clone(), entry.rel.clone());
                    self.write(
                        "upload",
                        json!({ "path": entry.rel, "size": entry.size, "whirlpool": entry.whirlpool }),
                    );
                }
                Err(e) => self.failure("upload", json!({ "path": entry.rel }), e),
            }
        }
        results
    }

    async fn move_into(&mut self, copies: &[RemoteCopy], dir: &str) -> Result<(), RemoteError> {
        let res = self.inner.move_into(copies, dir).await;
        for copy in copies {
            let path = self.path_of(copy);
            match &res {
                Ok(()) => self.write(
                    "retire",
                    json!({ "path": path, "size": copy.size, "into": dir }),
                ),
                Err(e) => self.failure("retire", json!({ "path": path, "into": dir }), e),
            }
        }
        res
    }

    async fn delete(&mut self, copies: &[RemoteCopy]) -> Result<(), RemoteError> {
        let res = self.inner.delete(copies).await;
        for copy in copies {
            let path = self.path_of(copy);
            match &res {
                Ok(()) => self.write(
                    "retire",
                    json!({ "path": path, "size": copy.size, "deleted": true }),
                ),
                Err(e) => self.failure("delete", json!({ "path": path }), e),
            }
        }
        res
    }

    async fn version_folders(&mut self) -> Result<Vec<String>, RemoteError> {
        let res = self.inner.version_folders().await;
        if let Err(e) = &res {
            self.failure("list versions", json!({}), e);
        }
        res
    }

    async fn remove_version_folder(&mut self, name: &str) -> Result<(), RemoteError> {
        let res = self.inner.remove_version_folder(name).await;
        match &res {
            Ok(()) => self.write("prune", json!({ "version": name })),
            Err(e) => self.failure("prune", json!({ "version": name }), e),
        }
        res
    }

    async fn manifests(&mut self) -> Result<Vec<String>, RemoteError> {
        let res = self.inner.manifests().await;
        if let Err(e) = &res {
            self.failure("list manifests", json!({}), e);
        }
        res
    }

    async fn put_manifest(&mut self, name: &str, bytes: Vec<u8>) -> Result<(), RemoteError> {
        let res = self.inner.put_manifest(name, bytes).await;
        match &res {
            Ok(()) => self.write("manifest", json!({ "name": name })),
            Err(e) => self.failure("manifest", json!({ "name": name }), e),
        }
        res
    }

    async fn remove_manifest(&mut self, name: &str) -> Result<(), RemoteError> {
        let res = self.inner.remove_manifest(name).await;
        match &res {
            Ok(()) => self.write("prune", json!({ "manifest": name })),
            Err(e) => self.failure("prune", json!({ "manifest": name }), e),
        }
        res
    }
}
