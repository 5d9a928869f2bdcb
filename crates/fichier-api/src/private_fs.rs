//! Owner-only files and directories for the state the library keeps on disk (pacer state,
//! shared listings: account e-mail, storage, file names): files `0600`, their directory
//! `0700`, including ones an older version created with wider modes.

use std::fs::File;
use std::path::Path;

/// Creates `dir` (and its parents) if missing; makes it `0700` when this user created it or
/// owns it as a private state directory. Directories that are not ours to narrow (sticky
/// shared ones such as `/tmp`, or owned by someone else) are left alone.
pub(crate) fn private_dir(dir: &Path) -> std::io::Result<()> {
    if dir.as_os_str().is_empty() {
        return Ok(());
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::{DirBuilderExt, MetadataExt, PermissionsExt};
        if !dir.exists() {
            std::fs::DirBuilder::new()
                .recursive(true)
                .mode(0o700)
                .create(dir)?;
        }
        let meta = std::fs::metadata(dir)?;
        let mode = meta.mode() & 0o7777;
        let ours = meta.uid() == effective_uid(dir);
        let shared = mode & 0o1000 != 0;
        let home = std::env::var_os("HOME").is_some_and(|h| Path::new(&h) == dir);
        if ours && !shared && !home && dir != Path::new("/") && mode & 0o077 != 0 {
            std::fs::set_permissions(dir, std::fs::Permissions::from_mode(mode & 0o700))?;
        }
    }
    #[cfg(not(unix))]
    std::fs::create_dir_all(dir)?;
    Ok(())
}

/// Narrows an open file to `0600` when group or others can read it.
pub(crate) fn private_file(file: &File) -> std::io::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = file.metadata()?.permissions().mode() & 0o7777;
        if mode & 0o077 != 0 {
            file.set_permissions(std::fs::Permissions::from_mode(0o600))?;
        }
    }
    #[cfg(not(unix))]
    let _ = file;
    Ok(())
}

/// This process's user id, without `libc`: the owner of a file it has just created.
#[cfg(unix)]
fn effective_uid(dir: &Path) -> u32 {
    use std::os::unix::fs::MetadataExt;
    use std::sync::OnceLock;
    static UID: OnceLock<u32> = OnceLock::new();
    *UID.get_or_init(|| {
        let probe = dir.join(format!(".fichier-uid-{}", std::process::id()));
        let uid = File::create(&probe)
            .and_then(|f| f.metadata())
            .map(|m| m.uid())
            .unwrap_or(u32::MAX);
        let _ = std::fs::remove_file(&probe);
        uid
    })
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn state_dir_and_file_are_private_even_when_created_open() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("cache");
        std::fs::create_dir(&dir).unwrap();
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).unwrap();
        let path = dir.join("state.json");
        std::fs::write(&path, b"{}").unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        private_dir(&dir).unwrap();
        private_file(&File::open(&path).unwrap()).unwrap();
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&dir), 0o700);
        assert_eq!(mode(&path), 0o600);
        let fresh = tmp.path().join("a/b");
        private_dir(&fresh).unwrap();
        assert_eq!(mode(&fresh), 0o700);
    }
}
