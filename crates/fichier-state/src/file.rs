//! Private files: created `0600`, opened without following a symlink, narrowed when an older
//! version left them wider, and written whole (temp file, then rename) when replaced.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::Path;

use crate::dir::private_dir;

/// Opens `path` for reading and writing, creating it `0600` (and its directory `0700`) if
/// missing, never through a symlink; an existing file open to others is narrowed to `0600`
/// (one `warn` line). `truncate` empties it.
///
/// Never call this on a SQLite database a connection of this process may have open: closing
/// any descriptor of a file drops every POSIX lock the process holds on it (use [`Db`]).
///
/// [`Db`]: crate::Db
pub fn open_private(path: &Path, truncate: bool) -> std::io::Result<File> {
    if let Some(dir) = path.parent() {
        private_dir(dir)?;
    }
    let mut opts = OpenOptions::new();
    opts.read(true).write(true).create(true).truncate(truncate);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600)
            .custom_flags(rustix::fs::OFlags::NOFOLLOW.bits() as i32);
    }
    let file = opts.open(path).map_err(|e| symlink_error(path, e))?;
    narrow_open_file(path, &file)?;
    Ok(file)
}

/// Replaces `path` with `bytes` as a private file: written to a temporary file beside it
/// (`0600`), synced, then renamed over it, so a reader never sees half a file and a crash
/// leaves the old one.
pub fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let dir = path.parent().filter(|d| !d.as_os_str().is_empty());
    if let Some(dir) = dir {
        private_dir(dir)?;
    }
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    // Unique per call, not only per process: two threads of one process (the dashboard's
    // requests) may replace the same file at once, and must not share a temporary file.
    static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let tmp = path.with_file_name(format!(".{name}.{}.{n}.tmp", std::process::id()));
    let result = (|| {
        let mut f = open_private(&tmp, true)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        std::fs::rename(&tmp, path)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

/// Narrows an existing file to `0600` by its path, without opening it: the one way to make a
/// SQLite database private once connections may hold locks on it (see [`open_private`]).
/// A missing file is not an error.
pub fn narrow_path(path: &Path) -> std::io::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::{MetadataExt, PermissionsExt};
        let meta = match std::fs::symlink_metadata(path) {
            Ok(m) => m,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
            Err(e) => return Err(e),
        };
        if meta.file_type().is_symlink() {
            return Err(symlink_error(path, std::io::Error::from_raw_os_error(40)));
        }
        let mode = meta.mode() & 0o7777;
        if mode & 0o077 != 0 && meta.uid() == rustix::process::geteuid().as_raw() {
            std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode & 0o700))?;
            warn_narrowed(path, mode);
        }
    }
    #[cfg(not(unix))]
    let _ = path;
    Ok(())
}

fn narrow_open_file(path: &Path, file: &File) -> std::io::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::{MetadataExt, PermissionsExt};
        let meta = file.metadata()?;
        let mode = meta.mode() & 0o7777;
        if mode & 0o077 != 0 {
            file.set_permissions(std::fs::Permissions::from_mode(mode & 0o700))?;
            warn_narrowed(path, mode);
        }
    }
    #[cfg(not(unix))]
    let _ = (path, file);
    Ok(())
}

fn warn_narrowed(path: &Path, mode: u32) {
    tracing::warn!(
        "{} was readable by other users (mode {:o}); narrowed to {:o}",
        path.display(),
        mode,
        mode & 0o700
    );
}

/// `ELOOP` from `O_NOFOLLOW` says "too many levels of symbolic links"; say what it means here.
fn symlink_error(path: &Path, e: std::io::Error) -> std::io::Error {
    if e.raw_os_error() == Some(40) {
        std::io::Error::new(
            e.kind(),
            format!(
                "{} is a symbolic link; fichier keeps its state in plain files and does not \
                 follow links there",
                path.display()
            ),
        )
    } else {
        e
    }
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    fn mode(p: &Path) -> u32 {
        std::fs::metadata(p).unwrap().permissions().mode() & 0o777
    }

    #[test]
    fn private_files_are_0600_in_0700_dirs_and_old_open_ones_are_narrowed() {
        let tmp = tempfile::tempdir().unwrap();
        let p = tmp.path().join("state/x.json");
        drop(open_private(&p, false).unwrap());
        assert_eq!(mode(&p), 0o600);
        assert_eq!(mode(&tmp.path().join("state")), 0o700);
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o644)).unwrap();
        drop(open_private(&p, false).unwrap());
        assert_eq!(mode(&p), 0o600);
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o640)).unwrap();
        narrow_path(&p).unwrap();
        assert_eq!(mode(&p), 0o600);
    }

    #[test]
    fn a_symlink_in_place_of_a_state_file_is_refused_and_its_target_untouched() {
        let tmp = tempfile::tempdir().unwrap();
        let target = tmp.path().join("elsewhere");
        std::fs::write(&target, b"keep").unwrap();
        let link = tmp.path().join("state.json");
        std::os::unix::fs::symlink(&target, &link).unwrap();
        let e = open_private(&link, true).unwrap_err();
        assert!(e.to_string().contains("symbolic link"), "{e}");
        assert!(
            write_private(&link, b"new").is_ok(),
            "rename replaces the link itself"
        );
        assert_eq!(std::fs::read(&target).unwrap(), b"keep");
        assert_eq!(std::fs::read(&link).unwrap(), b"new");
        assert_eq!(mode(&link), 0o600);
    }

    #[test]
    fn concurrent_replacements_of_one_file_each_land_whole() {
        let tmp = tempfile::tempdir().unwrap();
        let p = tmp.path().join("shared.json");
        let threads: Vec<_> = (0..8u8)
            .map(|i| {
                let p = p.clone();
                std::thread::spawn(move || {
                    for _ in 0..50 {
                        write_private(&p, &[i; 4096]).unwrap();
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        let got = std::fs::read(&p).unwrap();
        assert_eq!(got.len(), 4096);
        assert!(
            got.iter().all(|b| *b == got[0]),
            "one writer's bytes, whole"
        );
        assert_eq!(
            std::fs::read_dir(tmp.path()).unwrap().count(),
            1,
            "no temp file left"
        );
    }

    #[test]
    fn write_private_replaces_whole_and_leaves_no_temp_file() {
        let tmp = tempfile::tempdir().unwrap();
        let p = tmp.path().join("t");
        write_private(&p, b"one").unwrap();
        write_private(&p, b"two").unwrap();
        assert_eq!(std::fs::read(&p).unwrap(), b"two");
        assert_eq!(std::fs::read_dir(tmp.path()).unwrap().count(), 1);
    }
}
