//! The table of state paths: where every file fichier keeps lives, in one place, with
//! everything of `--sandbox` under its own `sandbox/` directories so a test run never reads
//! or writes the real queue, backup journal, locks, dashboard token or cached listings.

use std::path::{Path, PathBuf};

/// Every state path of one configuration (real or sandbox).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatePaths {
    data: PathBuf,
    cache: PathBuf,
    real_data: PathBuf,
    sandbox: bool,
}

impl StatePaths {
    /// The paths under the user's `data` and `cache` directories; with `sandbox`, under their
    /// `sandbox/` subdirectories.
    pub fn new(data: &Path, cache: &Path, sandbox: bool) -> StatePaths {
        let (d, c) = if sandbox {
            (data.join("sandbox"), cache.join("sandbox"))
        } else {
            (data.to_path_buf(), cache.to_path_buf())
        };
        StatePaths {
            data: d,
            cache: c,
            real_data: data.to_path_buf(),
            sandbox,
        }
    }

    /// Whether these are the sandbox's paths.
    pub fn is_sandbox(&self) -> bool {
        self.sandbox
    }

    /// The data directory of this configuration (the sandbox's own under `--sandbox`).
    pub fn data(&self) -> &Path {
        &self.data
    }

    /// The cache directory of this configuration (pacer state, shared listings).
    pub fn cache(&self) -> &Path {
        &self.cache
    }

    /// Where the embedded sandbox emulator keeps its accounts and files.
    pub fn sandbox_emulator(&self) -> PathBuf {
        self.real_data.join("sandbox")
    }

    /// The download queue.
    pub fn queue(&self) -> PathBuf {
        self.data.join("queue.sqlite")
    }

    /// The lock of the one runner (daemon or `queue run`) of the queue.
    pub fn queue_runner_lock(&self) -> PathBuf {
        self.data.join("queue-runner.lock")
    }

    /// The backup state directory (index, journal, locks, scratch files).
    pub fn backup_dir(&self) -> PathBuf {
        self.data.join("backup")
    }

    /// The backup journal (every run, every step; the dashboard's Backups page reads it).
    pub fn backup_journal(&self) -> PathBuf {
        self.backup_dir().join("backup-journal.db")
    }

    /// The dashboard's access token.
    pub fn dashboard_token(&self) -> PathBuf {
        self.data.join("dashboard-token")
    }

    /// The pacer state of one key (named by a digest of the key, never the key).
    pub fn pacer_state(&self, key_digest: &str) -> PathBuf {
        self.cache.join(format!("pacer-{key_digest}.json"))
    }

    /// The pacer state of the queue runner's client of one key.
    pub fn queue_pacer_state(&self, key_digest: &str) -> PathBuf {
        self.cache.join(format!("pacer-queue-{key_digest}.json"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_sandbox_state_path_is_apart_from_the_real_ones() {
        let real = StatePaths::new(Path::new("/d"), Path::new("/c"), false);
        let sb = StatePaths::new(Path::new("/d"), Path::new("/c"), true);
        let all = |p: &StatePaths| {
            vec![
                p.queue(),
                p.queue_runner_lock(),
                p.backup_dir(),
                p.backup_journal(),
                p.dashboard_token(),
                p.pacer_state("k"),
                p.queue_pacer_state("k"),
                p.data().to_path_buf(),
                p.cache().to_path_buf(),
            ]
        };
        for (r, s) in all(&real).iter().zip(all(&sb)) {
            assert_ne!(*r, s);
            assert!(
                s.starts_with("/d/sandbox") || s.starts_with("/c/sandbox"),
                "{}",
                s.display()
            );
        }
        assert_eq!(real.queue(), Path::new("/d/queue.sqlite"));
        assert_eq!(sb.sandbox_emulator(), real.sandbox_emulator());
    }
}
