//! One backup at a time per profile, across processes: a [`PidLock`] per profile (released
//! by the kernel when the holder dies, even by `kill -9`), whose holder line is shown to a
//! second run.

use std::path::Path;

use fichier_state::{PidLock, PidLockError};

/// A held profile lock; dropping it releases the lock.
#[derive(Debug)]
pub struct ProfileLock {
    lock: PidLock,
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
    /// The lock file could not be created or locked (the state layer says why).
    #[error(transparent)]
    Lock(PidLockError),
}

impl ProfileLock {
    /// Takes the lock of `profile` in `dir` without waiting.
    pub fn acquire(dir: &Path, profile: &str) -> Result<Self, LockError> {
        let path = dir.join(format!("{}.lock", lock_file_stem(profile)));
        match PidLock::try_take(&path) {
            Ok(lock) => Ok(ProfileLock { lock }),
            Err(PidLockError::Held { holder, .. }) => Err(LockError::Busy {
                profile: profile.to_string(),
                holder,
            }),
            Err(e) => Err(LockError::Lock(e)),
        }
    }

    /// The lock file.
    pub fn path(&self) -> &Path {
        self.lock.path()
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
