//! One holder at a time across processes: an OS file lock that the kernel releases when the
//! holder dies (even by `kill -9`, so there is never a stale lock to clean up), with the
//! holder's pid and start time written inside for the message a second process prints.

use std::fs::{File, TryLockError};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use crate::file::open_private;

/// A held lock; dropping it releases it.
#[derive(Debug)]
pub struct PidLock {
    file: File,
    path: PathBuf,
}

/// Why a [`PidLock`] could not be taken.
#[derive(Debug, thiserror::Error)]
pub enum PidLockError {
    /// Another process holds it.
    #[error("{path} is held by {holder}")]
    Held {
        /// The lock file.
        path: PathBuf,
        /// What the holder wrote ("pid 123 since 2026-12-08 03:00:00 UTC"), or "a process
        /// that wrote nothing yet".
        holder: String,
    },
    /// The lock file could not be created, opened or locked.
    #[error("cannot lock {path}: {source}")]
    Io {
        /// The lock file.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
}

impl PidLock {
    /// Takes the lock at `path` (created `0600` in a `0700` dir if missing) without waiting.
    pub fn try_take(path: &Path) -> Result<PidLock, PidLockError> {
        let io = |source| PidLockError::Io {
            path: path.to_path_buf(),
            source,
        };
        let mut file = open_private(path, false).map_err(io)?;
        match file.try_lock() {
            Ok(()) => {}
            Err(TryLockError::WouldBlock) => {
                let mut holder = String::new();
                let _ = file.read_to_string(&mut holder);
                // The text is another process's, shown in a message: keep it printable.
                let holder: String = holder
                    .trim()
                    .chars()
                    .filter(|c| !c.is_control())
                    .take(120)
                    .collect();
                return Err(PidLockError::Held {
                    path: path.to_path_buf(),
                    holder: if holder.is_empty() {
                        "a process that wrote nothing yet".to_owned()
                    } else {
                        holder
                    },
                });
            }
            Err(TryLockError::Error(e)) => return Err(io(e)),
        }
        file.set_len(0).map_err(io)?;
        file.seek(SeekFrom::Start(0)).map_err(io)?;
        let started = jiff::Timestamp::now().strftime("%Y-%m-%d %H:%M:%S UTC");
        write!(file, "pid {} since {started}", std::process::id()).map_err(io)?;
        file.flush().map_err(io)?;
        Ok(PidLock {
            file,
            path: path.to_path_buf(),
        })
    }

    /// The lock file.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for PidLock {
    fn drop(&mut self) {
        let _ = self.file.set_len(0);
        let _ = self.file.unlock();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_holder_is_refused_with_the_first_ones_pid_until_it_lets_go() {
        let tmp = tempfile::tempdir().unwrap();
        let p = tmp.path().join("locks/run.lock");
        let first = PidLock::try_take(&p).unwrap();
        // A second open file description conflicts like another process would.
        match PidLock::try_take(&p) {
            Err(PidLockError::Held { holder, .. }) => {
                assert!(
                    holder.starts_with(&format!("pid {}", std::process::id())),
                    "{holder}"
                )
            }
            other => panic!("expected Held, got {other:?}"),
        }
        drop(first);
        let again = PidLock::try_take(&p).unwrap();
        assert_eq!(again.path(), p);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&p).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, 0o600);
        }
    }
}
