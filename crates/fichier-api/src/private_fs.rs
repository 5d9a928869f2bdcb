//! Owner-only files and directories for the state the library keeps on disk (pacer state,
//! shared listings: account e-mail, storage, file names): files `0600`, their directory
//! `0700`, including ones an older version created with wider modes.

use std::fs::File;
use std::path::Path;

/// Creates `dir` (and its parents) if missing, as `0700`: for any state kept beside the
/// library's (the download queue, the backup index).
pub fn private_dir(dir: &Path) -> std::io::Result<()> {
    if dir.as_os_str().is_empty() || dir.exists() {
        return Ok(());
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)
    }
    #[cfg(not(unix))]
    std::fs::create_dir_all(dir)
}

/// Narrows `file` to `0600`, and its directory `dir` to `0700` when that directory belongs to
/// the file's owner (one this library or an older version of it created with wider modes).
/// Directories that are not ours to narrow (sticky shared ones such as `/tmp`, someone
/// else's, the home directory, `/`) are left alone.
pub(crate) fn make_private(dir: Option<&Path>, file: &File) -> std::io::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::{MetadataExt, PermissionsExt};
        let meta = file.metadata()?;
        if meta.mode() & 0o077 != 0 {
            file.set_permissions(std::fs::Permissions::from_mode(0o600))?;
        }
        let Some(dir) = dir.filter(|d| !d.as_os_str().is_empty()) else {
            return Ok(());
        };
        let d = std::fs::metadata(dir)?;
        let mode = d.mode() & 0o7777;
        let shared = mode & 0o1000 != 0;
        let home = std::env::var_os("HOME").is_some_and(|h| Path::new(&h) == dir);
        if d.uid() == meta.uid() && !shared && !home && dir != Path::new("/") && mode & 0o077 != 0 {
            std::fs::set_permissions(dir, std::fs::Permissions::from_mode(mode & 0o700))?;
        }
    }
    #[cfg(not(unix))]
    let _ = (dir, file);
    Ok(())
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn state_dir_and_file_are_private_even_when_an_older_version_made_them_open() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("cache");
        std::fs::create_dir(&dir).unwrap();
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).unwrap();
        let path = dir.join("state.json");
        std::fs::write(&path, b"{}").unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        private_dir(&dir).unwrap();
        make_private(Some(&dir), &File::open(&path).unwrap()).unwrap();
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&dir), 0o700);
        assert_eq!(mode(&path), 0o600);
        let fresh = tmp.path().join("a/b");
        private_dir(&fresh).unwrap();
        assert_eq!(mode(&fresh), 0o700);
        // A shared sticky directory is not narrowed.
        let sticky = tmp.path().join("shared");
        std::fs::create_dir(&sticky).unwrap();
        std::fs::set_permissions(&sticky, std::fs::Permissions::from_mode(0o1777)).unwrap();
        let f = File::create(sticky.join("s.json")).unwrap();
        make_private(Some(&sticky), &f).unwrap();
        assert_eq!(
            std::fs::metadata(&sticky).unwrap().permissions().mode() & 0o7777,
            0o1777
        );
    }
}
