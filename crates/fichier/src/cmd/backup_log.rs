//! `fichier backup --log-file PATH`: one JSON line per remote step of a run (upload, retire,
//! prune, failure) and one for the final summary, appended to a file created 0600. The steps
//! are seen by wrapping the destination adapter, so the run logic stays as it is. Every line is
//! a [`LogLine`]: its schema is in docs/backup.md and docs/cli.md.

use std::collections::{BTreeMap, HashMap};
use std::io::Write as _;
use std::os::unix::fs::OpenOptionsExt as _;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use fichier_backup::plan::{LocalEntry, RemoteCopy};
use fichier_backup::run::{BackupRemote, RemoteError};
use serde::Serialize;

use super::backup_report::RunReport;
use crate::error::Failure;
use crate::printer::Printer;

/// One line of the log: `{"time", "profile", "step", ...the step's fields}`.
#[derive(Debug, Serialize)]
pub struct LogLine<'a> {
    /// RFC 3339 UTC.
    time: String,
    /// Left out of the `summary` line, which carries its own `profile`.
    #[serde(skip_serializing_if = "Option::is_none")]
    profile: Option<&'a str>,
    #[serde(flatten)]
    step: &'a Step<'a>,
}

/// What one line records, tagged by `step`. Paths are relative to the source; links are never
/// logged (anyone holding one can download the file).
#[derive(Debug, Serialize)]
#[serde(tag = "step", rename_all = "snake_case")]
pub enum Step<'a> {
    /// A file was uploaded and verified.
    Upload {
        path: &'a str,
        size: u64,
        whirlpool: &'a str,
    },
    /// An old copy was moved into a version folder (`into`) or, with `--no-versions`,
    /// deleted (`"deleted": true`). `path` is null when the copy's path is not known.
    Retire {
        path: Option<&'a str>,
        size: u64,
        #[serde(skip_serializing_if = "Option::is_none")]
        into: Option<&'a str>,
        #[serde(skip_serializing_if = "std::ops::Not::not")]
        deleted: bool,
    },
    /// Retention removed a version folder (`version`) or an old manifest (`manifest`).
    Prune {
        #[serde(flatten)]
        what: Pruned<'a>,
    },
    /// The run's manifest was written.
    Manifest { name: &'a str },
    /// A remote step failed: `action` names it, the subject's keys follow.
    Failure {
        action: &'static str,
        error: &'a str,
        stops_run: bool,
        #[serde(flatten)]
        subject: Subject<'a>,
    },
    /// The run's summary, the same document as `backup --json`.
    Summary(&'a RunReport),
}

/// What retention removed.
#[derive(Debug, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Pruned<'a> {
    /// A folder under `.versions/`.
    Version(&'a str),
    /// A manifest file.
    Manifest(&'a str),
}

/// The keys naming what a failed step was about.
#[derive(Debug, Serialize)]
#[serde(untagged)]
pub enum Subject<'a> {
    /// A listing: no key.
    Nothing,
    /// A file: `path` (null when not known).
    File { path: Option<&'a str> },
    /// A copy being moved: `path` and `into`.
    Move {
        path: Option<&'a str>,
        into: &'a str,
    },
    /// A version folder: `version`.
    Version { version: &'a str },
    /// A manifest being written: `name`.
    Manifest { name: &'a str },
    /// An old manifest being pruned: `manifest`.
    OldManifest { manifest: &'a str },
}

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

    /// Appends one [`LogLine`]. A write error is warned about once and never stops the run.
    pub fn write(&self, printer: &Printer, step: &Step<'_>) {
        let line = LogLine {
            time: jiff::Timestamp::now().to_string(),
            profile: (!matches!(step, Step::Summary(_))).then_some(self.profile.as_str()),
            step,
        };
        let Ok(mut text) = serde_json::to_string(&line) else {
            return;
        };
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

    fn write(&self, step: Step<'_>) {
        if let Some(log) = self.log {
            log.write(self.printer, &step);
        }
    }

    fn failure(&self, action: &'static str, subject: Subject<'_>, e: &RemoteError) {
        self.write(Step::Failure {
            action,
            error: &e.message,
            stops_run: e.stop_run,
            subject,
        });
    }

    fn path_of(&self, copy: &RemoteCopy) -> Option<&str> {
        self.paths.get(&copy.link).map(String::as_str)
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
            Err(e) => self.failure("list", Subject::Nothing, e),
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
                    self.write(Step::Upload {
                        path: &entry.rel,
                        size: entry.size,
                        whirlpool: &entry.whirlpool,
                    });
                }
                Err(e) => self.failure(
                    "upload",
                    Subject::File {
                        path: Some(&entry.rel),
                    },
                    e,
                ),
            }
        }
        results
    }

    async fn move_into(&mut self, copies: &[RemoteCopy], dir: &str) -> Result<(), RemoteError> {
        let res = self.inner.move_into(copies, dir).await;
        for copy in copies {
            let path = self.path_of(copy);
            match &res {
                Ok(()) => self.write(Step::Retire {
                    path,
                    size: copy.size,
                    into: Some(dir),
                    deleted: false,
                }),
                Err(e) => self.failure("retire", Subject::Move { path, into: dir }, e),
            }
        }
        res
    }

    async fn delete(&mut self, copies: &[RemoteCopy]) -> Result<(), RemoteError> {
        let res = self.inner.delete(copies).await;
        for copy in copies {
            let path = self.path_of(copy);
            match &res {
                Ok(()) => self.write(Step::Retire {
                    path,
                    size: copy.size,
                    into: None,
                    deleted: true,
                }),
                Err(e) => self.failure("delete", Subject::File { path }, e),
            }
        }
        res
    }

    async fn version_folders(&mut self) -> Result<Vec<String>, RemoteError> {
        let res = self.inner.version_folders().await;
        if let Err(e) = &res {
            self.failure("list versions", Subject::Nothing, e);
        }
        res
    }

    async fn remove_version_folder(&mut self, name: &str) -> Result<(), RemoteError> {
        let res = self.inner.remove_version_folder(name).await;
        match &res {
            Ok(()) => self.write(Step::Prune {
                what: Pruned::Version(name),
            }),
            Err(e) => self.failure("prune", Subject::Version { version: name }, e),
        }
        res
    }

    async fn manifests(&mut self) -> Result<Vec<String>, RemoteError> {
        let res = self.inner.manifests().await;
        if let Err(e) = &res {
            self.failure("list manifests", Subject::Nothing, e);
        }
        res
    }

    async fn put_manifest(&mut self, name: &str, bytes: Vec<u8>) -> Result<(), RemoteError> {
        let res = self.inner.put_manifest(name, bytes).await;
        match &res {
            Ok(()) => self.write(Step::Manifest { name }),
            Err(e) => self.failure("manifest", Subject::Manifest { name }, e),
        }
        res
    }

    async fn remove_manifest(&mut self, name: &str) -> Result<(), RemoteError> {
        let res = self.inner.remove_manifest(name).await;
        match &res {
            Ok(()) => self.write(Step::Prune {
                what: Pruned::Manifest(name),
            }),
            Err(e) => self.failure("prune", Subject::OldManifest { manifest: name }, e),
        }
        res
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The line `step` makes, parsed back, with the time left out (it changes).
    fn line(step: &Step<'_>) -> serde_json::Value {
        let text = serde_json::to_string(&LogLine {
            time: "2026-12-08T00:00:00Z".into(),
            profile: Some("p"),
            step,
        })
        .unwrap();
        let mut v: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(v["time"], "2026-12-08T00:00:00Z");
        v.as_object_mut().unwrap().remove("time");
        v
    }

    fn expect(text: &str) -> serde_json::Value {
        serde_json::from_str(text).unwrap()
    }

    #[test]
    fn every_step_keeps_the_documented_keys_of_the_log_file() {
        let cases = [
            (
                Step::Upload {
                    path: "a/b.txt",
                    size: 3,
                    whirlpool: "ab12",
                },
                r#"{"profile":"p","step":"upload","path":"a/b.txt","size":3,"whirlpool":"ab12"}"#,
            ),
            (
                Step::Retire {
                    path: Some("a"),
                    size: 1,
                    into: Some(".versions/x"),
                    deleted: false,
                },
                r#"{"profile":"p","step":"retire","path":"a","size":1,"into":".versions/x"}"#,
            ),
            (
                Step::Retire {
                    path: None,
                    size: 1,
                    into: None,
                    deleted: true,
                },
                r#"{"profile":"p","step":"retire","path":null,"size":1,"deleted":true}"#,
            ),
            (
                Step::Prune {
                    what: Pruned::Version("2026-01-01T000000Z"),
                },
                r#"{"profile":"p","step":"prune","version":"2026-01-01T000000Z"}"#,
            ),
            (
                Step::Prune {
                    what: Pruned::Manifest("m.jsonl.gz"),
                },
                r#"{"profile":"p","step":"prune","manifest":"m.jsonl.gz"}"#,
            ),
            (
                Step::Manifest { name: "m.jsonl.gz" },
                r#"{"profile":"p","step":"manifest","name":"m.jsonl.gz"}"#,
            ),
            (
                Step::Failure {
                    action: "list",
                    error: "boom",
                    stops_run: true,
                    subject: Subject::Nothing,
                },
                r#"{"profile":"p","step":"failure","action":"list","error":"boom","stops_run":true}"#,
            ),
            (
                Step::Failure {
                    action: "delete",
                    error: "e",
                    stops_run: false,
                    subject: Subject::File { path: None },
                },
                r#"{"profile":"p","step":"failure","action":"delete","error":"e","stops_run":false,"path":null}"#,
            ),
            (
                Step::Failure {
                    action: "retire",
                    error: "e",
                    stops_run: false,
                    subject: Subject::Move {
                        path: Some("a"),
                        into: ".versions/x",
                    },
                },
                r#"{"profile":"p","step":"failure","action":"retire","error":"e","stops_run":false,"path":"a","into":".versions/x"}"#,
            ),
            (
                Step::Failure {
                    action: "prune",
                    error: "e",
                    stops_run: false,
                    subject: Subject::Version { version: "v" },
                },
                r#"{"profile":"p","step":"failure","action":"prune","error":"e","stops_run":false,"version":"v"}"#,
            ),
            (
                Step::Failure {
                    action: "manifest",
                    error: "e",
                    stops_run: false,
                    subject: Subject::Manifest { name: "m" },
                },
                r#"{"profile":"p","step":"failure","action":"manifest","error":"e","stops_run":false,"name":"m"}"#,
            ),
            (
                Step::Failure {
                    action: "prune",
                    error: "e",
                    stops_run: false,
                    subject: Subject::OldManifest { manifest: "m" },
                },
                r#"{"profile":"p","step":"failure","action":"prune","error":"e","stops_run":false,"manifest":"m"}"#,
            ),
        ];
        for (step, want) in &cases {
            assert_eq!(line(step), expect(want), "{step:?}");
        }
    }
}
