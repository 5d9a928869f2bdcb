//! Private directories: created `0700`, or narrowed to `0700` when they are ours and wider.

use std::path::Path;

/// Creates `dir` (and its missing parents) as `0700`; an existing directory of this user that
/// is open to others is narrowed to `0700` (one `warn` line). Directories that are not ours to
/// narrow are left alone: sticky shared ones such as `/tmp`, someone else's, `$HOME`, `/`.
pub fn private_dir(dir: &Path) -> std::io::Result<()> {
    if dir.as_os_str().is_empty() {
        return Ok(());
    }
    match std::fs::metadata(dir) {
        Ok(meta) if meta.is_dir() => narrow_dir(dir, &meta),
        Ok(_) => Err(std::io::Error::new(
            std::io::ErrorKind::AlreadyExists,
            format!("{} exists and is not a directory", dir.display()),
        )),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => create(dir),
        Err(e) => Err(e),
    }
}

#[cfg(unix)]
fn create(dir: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::DirBuilderExt;
    // Every component created here gets 0700 (the builder applies the mode to each one).
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
}

#[cfg(not(unix))]
fn create(dir: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)
}

#[cfg(unix)]
fn narrow_dir(dir: &Path, meta: &std::fs::Metadata) -> std::io::Result<()> {
    use std::os::unix::fs::{MetadataExt, PermissionsExt};
    let mode = meta.mode() & 0o7777;
    if mode & 0o077 == 0 || !ours_to_narrow(dir, meta) {
        return Ok(());
    }
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(mode & 0o700))?;
    tracing::warn!(
        "{} was open to other users (mode {:o}); narrowed to {:o}",
        dir.display(),
        mode,
        mode & 0o700
    );
    Ok(())
}

#[cfg(not(unix))]
fn narrow_dir(_dir: &Path, _meta: &std::fs::Metadata) -> std::io::Result<()> {
    Ok(())
}

/// Whether `dir` is a directory this process may narrow: owned by us, not sticky (shared),
/// not the home directory or `/`.
#[cfg(unix)]
pub(crate) fn ours_to_narrow(dir: &Path, meta: &std::fs::Metadata) -> bool {
    use std::os::unix::fs::MetadataExt;
    let sticky = meta.mode() & 0o1000 != 0;
    let home = std::env::var_os("HOME").is_some_and(|h| Path::new(&h) == dir);
    meta.uid() == rustix::process::geteuid().as_raw() && !sticky && !home && dir != Path::new("/")
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    fn mode(p: &Path) -> u32 {
        std::fs::metadata(p).unwrap().permissions().mode() & 0o7777
    }

    #[test]
    fn new_state_dirs_are_0700_at_every_level_and_open_ones_are_narrowed() {
        let tmp = tempfile::tempdir().unwrap();
        let fresh = tmp.path().join("a/b/c");
        private_dir(&fresh).unwrap();
        for p in ["a", "a/b", "a/b/c"] {
            assert_eq!(mode(&tmp.path().join(p)), 0o700, "{p}");
        }
        let open = tmp.path().join("open");
        std::fs::create_dir(&open).unwrap();
        std::fs::set_permissions(&open, std::fs::Permissions::from_mode(0o755)).unwrap();
        private_dir(&open).unwrap();
        assert_eq!(mode(&open), 0o700);
    }

    #[test]
    fn shared_sticky_dirs_are_left_alone() {
        let tmp = tempfile::tempdir().unwrap();
        let sticky = tmp.path().join("shared");
        std::fs::create_dir(&sticky).unwrap();
        std::fs::set_permissions(&sticky, std::fs::Permissions::from_mode(0o1777)).unwrap();
        private_dir(&sticky).unwrap();
        assert_eq!(mode(&sticky), 0o1777);
    }

    #[test]
    fn a_file_where_the_dir_should_be_is_an_error_naming_it() {
        let tmp = tempfile::tempdir().unwrap();
        let f = tmp.path().join("f");
        std::fs::write(&f, b"x").unwrap();
        let e = private_dir(&f).unwrap_err();
        assert!(e.to_string().contains("not a directory"), "{e}");
    }
}
