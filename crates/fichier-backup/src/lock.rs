//! One backup at a time per profile, across processes: an OS file lock (released by the kernel
//! when the holder dies, even by `kill -9`, so there is no stale lock to clean up), with the
//! holder's pid and start time written inside for the message the second run prints.

use std::fs::{File, OpenOptions, TryLockError};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

/// A held profile lock; dropping it releases the lock.
#[derive(Debug)]
pub struct ProfileLock {
    file: File,
    path: PathBuf,
}

/// Why the lock could not be taken.
#[derive(Debug, thiserror::Error)]
pub enum LockError {
    /// Another run of this profile holds it.
    #[error(
        "another backup of profile {profile:?} is running ({holder}); this run stops without changing anything"
    )]
    Busy {
        /// The profile.
        profile: String,
        /// What the holder wrote: its pid and start time.
        holder: String,
    },
    /// The lock file could not be created or locked.
    #[error("cannot lock {path}: {source}")]
    Io {
        /// The lock file.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
}

impl ProfileLock {
    /// Takes the lock of `profile` in `dir` without waiting.
    pub fn acquire(dir: &Path, profile: &str) -> Result<Self, LockError> {
        let path = dir.join(format!("{}.lock", lock_file_stem(profile)));
        let io = |source| LockError::Io {
            path: path.clone(),
            source,
        };
        std::fs::create_dir_all(dir).map_err(io)?;
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(io)?;
        match file.try_lock() {
            Ok(()) => {}
            Err(TryLockError::WouldBlock) => {
                let mut holder = String::new();
                let _ = file.read_to_string(&mut holder);
                let holder = holder.trim();
                let holder = if holder.is_empty() {
                    "holder unknown".to_string()
                } else {
                    holder.to_string()
                };
                return Err(LockError::Busy {
                    profile: profile.to_string(),
                    holder,
                });
            }
            Err(TryLockError::Error(e)) => return Err(io(e)),
        }
        file.set_len(0).map_err(io)?;
        file.seek(SeekFrom::Start(0)).map_err(io)?;
        let started = jiff::Timestamp::now().strftime("%Y-%m-%d %H:%M:%S UTC");
        write!(file, "pid {} since {started}", std::process::id()).map_err(io)?;
        file.flush().map_err(io)?;
        Ok(ProfileLock { file, path })
    }

    /// The lock file.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for ProfileLock {
    fn drop(&mut self) {
        let _ = self.file.set_len(0);
        let _ = self.file.unlock();
    }
}

/// A file name for a profile name whatever characters it holds (names come from the config
/// file or the command line).
fn lock_file_stem(profile: &str) -> String {
    let mut out = String::with_capacity(profile.len());
    for c in profile.chars() {
        if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
            out.push(c);
        } else {
            out.push_str(&format!("%{:02X}", c as u32));
        }
    }
    if out.is_empty() { "%".to_string() } else { out }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_run_of_the_same_profile_is_refused_with_the_holder_named() {
        let dir = tempfile::tempdir().unwrap();
        let held = ProfileLock::acquire(dir.path(), "photos").unwrap();
        let err = ProfileLock::acquire(dir.path(), "photos").unwrap_err();
        let text = err.to_string();
        assert!(matches!(err, LockError::Busy { .. }));
        assert!(
            text.contains(&format!("pid {}", std::process::id())),
            "{text}"
        );
        // Other profiles are independent.
        let _other = ProfileLock::acquire(dir.path(), "music").unwrap();
        drop(held);
        ProfileLock::acquire(dir.path(), "photos").unwrap();
    }

    #[test]
    fn hostile_profile_names_stay_inside_the_lock_dir() {
        let dir = tempfile::tempdir().unwrap();
        let lock = ProfileLock::acquire(dir.path(), "../../etc/passwd").unwrap();
        assert_eq!(lock.path().parent(), Some(dir.path()));
        assert_eq!(lock_file_stem("a/b"), "a%2Fb");
        assert_ne!(lock_file_stem("a/b"), lock_file_stem("a_b"));
    }
}
