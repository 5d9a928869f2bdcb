//! Names crossing the boundary: which local names 1fichier can store (uploads), and turning
//! whatever name the server sends into one safe file name inside the output dir (downloads:
//! no path traversal, no control characters, no separators).

use std::path::{Component, Path, PathBuf};

/// Longest name 1fichier stores, in characters.
pub const MAX_REMOTE_NAME: usize = 250;

/// Why a name cannot be stored on 1fichier, or `None` when it can.
pub fn remote_name_problem(name: &str) -> Option<String> {
    if name.is_empty() {
        return Some("the name is empty".into());
    }
    let n = name.chars().count();
    if n > MAX_REMOTE_NAME {
        return Some(format!(
            "the name has {n} characters; 1fichier stores at most {MAX_REMOTE_NAME}"
        ));
    }
    if name.contains('/') {
        return Some("1fichier names cannot contain `/`".into());
    }
    if name.contains('\\') {
        // Multipart encoders escape `\` in file names and servers do not all unescape it, so
        // the stored name would differ from the local one.
        return Some("names with `\\` cannot be uploaded reliably (multipart escaping)".into());
    }
    if name.chars().any(char::is_control) {
        return Some("the name contains control characters, which 1fichier cannot store".into());
    }
    if name.trim().is_empty() {
        return Some("the name is only spaces".into());
    }
    None
}

/// Longest local file name we create, in bytes (common file system limit is 255).
const MAX_LOCAL_NAME_BYTES: usize = 240;

/// One safe local file name for `remote`, the name the server sent.
///
/// Separators (`/`, `\`), control characters and, on Windows, the characters Windows refuses
/// become `_`; `.` and `..` and empty names become `_`-prefixed; over-long names are shortened
/// keeping the extension. The result never contains a path separator, so joining it to the
/// output dir stays inside it.
pub fn safe_local_name(remote: &str) -> String {
    let mut s: String = remote
        .chars()
        .map(|c| {
            if c == '/'
                || c == '\\'
                || c.is_control()
                || (cfg!(windows) && r#"<>:"|?*"#.contains(c))
            {
                '_'
            } else {
                c
            }
        })
        .collect();
    let trimmed = s.trim().to_owned();
    s = trimmed;
    if s.is_empty() || s.chars().all(|c| c == '.') {
        s = format!("_{s}");
    }
    if s.len() > MAX_LOCAL_NAME_BYTES {
        let (stem, ext) = match s.rfind('.') {
            Some(i) if s.len() - i <= 16 && i > 0 => (s[..i].to_owned(), s[i..].to_owned()),
            _ => (s.clone(), String::new()),
        };
        let mut cut = MAX_LOCAL_NAME_BYTES - ext.len();
        while !stem.is_char_boundary(cut) {
            cut -= 1;
        }
        s = format!("{}{ext}", &stem[..cut]);
    }
    s
}

/// `dir` joined with already-sanitised `components`, checked to stay inside `dir`.
pub fn join_inside(dir: &Path, components: &[String]) -> Option<PathBuf> {
    let mut p = dir.to_path_buf();
    for c in components {
        let rel = Path::new(c);
        let mut comps = rel.components();
        match (comps.next(), comps.next()) {
            (Some(Component::Normal(_)), None) => p.push(c),
            _ => return None,
        }
    }
    Some(p)
}

/// Makes sure `dir` exists as a real directory inside `root`, creating what is missing one
/// level at a time and never going through a symbolic link below `root` (`root` itself may be
/// one: the user named it). A link on the way is an error naming it, so a link planted in a
/// download or restore target (`t/sub -> ../elsewhere`) cannot make files land outside it.
pub fn ensure_dir_inside(root: &Path, dir: &Path) -> std::io::Result<()> {
    use std::io::{Error, ErrorKind};
    let rel = dir.strip_prefix(root).map_err(|_| {
        Error::new(
            ErrorKind::InvalidInput,
            format!("{} is not inside {}", dir.display(), root.display()),
        )
    })?;
    std::fs::create_dir_all(root)?;
    let mut cur = root.to_path_buf();
    for comp in rel.components() {
        let Component::Normal(name) = comp else {
            return Err(Error::new(
                ErrorKind::InvalidInput,
                format!("{} leaves {}", dir.display(), root.display()),
            ));
        };
        cur.push(name);
        if let Err(e) = std::fs::create_dir(&cur)
            && e.kind() != ErrorKind::AlreadyExists
        {
            return Err(e);
        }
        // Checked after the create: whatever was there, or appeared meanwhile, must be a
        // directory and not a link to one.
        let meta = std::fs::symlink_metadata(&cur)?;
        if meta.file_type().is_symlink() {
            return Err(Error::other(format!(
                "{} is a symbolic link; nothing is written through it",
                cur.display()
            )));
        }
        if !meta.is_dir() {
            return Err(Error::new(
                ErrorKind::AlreadyExists,
                format!("{} exists and is not a directory", cur.display()),
            ));
        }
    }
    Ok(())
}

/// The local paths a download run has handed out. A path counts as taken together with its
/// `.part` and `.part.state` companions, so a remote file named `x.part` never shares bytes
/// with the `.part` of a remote `x`.
#[derive(Debug, Default)]
pub(crate) struct LocalNames {
    taken: std::collections::HashSet<PathBuf>,
}

/// `path` and the files a download of it writes beside it.
fn companions(path: &Path) -> [PathBuf; 3] {
    let with = |suffix: &str| {
        let mut s = path.as_os_str().to_owned();
        s.push(suffix);
        PathBuf::from(s)
    };
    [path.to_path_buf(), with(".part"), with(".part.state")]
}

impl LocalNames {
    /// A path for `remote_name` in `dir` (relative components, already safe) that no other
    /// file of this run uses: the safe name itself, else `stem (TAG).ext`, else
    /// `stem (TAG-2).ext`, … whatever the remote names are. `None` when it would leave the
    /// output dir.
    pub(crate) fn claim(
        &mut self,
        out_dir: &Path,
        dir: &[String],
        remote_name: &str,
        tag: &str,
    ) -> Option<PathBuf> {
        let name = safe_local_name(remote_name);
        let mut comps = dir.to_vec();
        for n in 0u32.. {
            let candidate = match n {
                0 => name.clone(),
                1 => tagged(&name, tag),
                n => tagged(&name, &format!("{tag}-{n}")),
            };
            comps.push(safe_local_name(&candidate));
            let p = join_inside(out_dir, &comps)?;
            comps.pop();
            let c = companions(&p);
            if c.iter().all(|q| !self.taken.contains(q)) {
                self.taken.extend(c);
                return Some(p);
            }
        }
        None
    }
}

/// `stem (tag).ext`, or `name (tag)` without an extension.
fn tagged(name: &str, tag: &str) -> String {
    match name.rfind('.') {
        Some(i) if i > 0 => format!("{} ({tag}){}", &name[..i], &name[i..]),
        _ => format!("{name} ({tag})"),
    }
}

#[cfg(test)]
mod tests {
    #[cfg(unix)]
    #[test]
    fn dirs_inside_a_target_are_made_without_going_through_a_link() {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path().join("t");
        let outside = tmp.path().join("outside");
        std::fs::create_dir_all(&root).unwrap();
        std::fs::create_dir_all(&outside).unwrap();
        std::os::unix::fs::symlink("../outside", root.join("sub")).unwrap();
        let e = super::ensure_dir_inside(&root, &root.join("sub/deeper")).unwrap_err();
        assert!(e.to_string().contains("sub is a symbolic link"), "{e}");
        assert!(!outside.join("deeper").exists());
        super::ensure_dir_inside(&root, &root.join("a/b")).unwrap();
        assert!(root.join("a/b").is_dir());
        // The root the user named may itself be a link.
        let named = tmp.path().join("named");
        std::os::unix::fs::symlink(&outside, &named).unwrap();
        super::ensure_dir_inside(&named, &named.join("x")).unwrap();
        assert!(outside.join("x").is_dir());
        assert!(super::ensure_dir_inside(&root, tmp.path()).is_err());
    }

    use super::*;
    use proptest::prelude::*;

    #[test]
    fn dedup_names_stay_unique_whatever_the_remote_names() {
        // A remote file literally named like the tagged form of another one.
        let mut names = LocalNames::default();
        let out = Path::new("/out");
        let a = names.claim(out, &[], "dup (ID3).txt", "ID1").unwrap();
        let b = names.claim(out, &[], "dup.txt", "ID2").unwrap();
        let c = names.claim(out, &[], "dup.txt", "ID3").unwrap();
        assert_eq!(a, out.join("dup (ID3).txt"));
        assert_eq!(b, out.join("dup.txt"));
        assert_ne!(c, a);
        assert_ne!(c, b);
        // A remote `x.part` and a remote `x` never share the `.part`.
        let p = names.claim(out, &[], "x.part", "ID4").unwrap();
        let x = names.claim(out, &[], "x", "ID5").unwrap();
        assert_eq!(p, out.join("x.part"));
        assert_ne!(x, out.join("x"));
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        /// Whatever the server sends: one component, inside the dir, no `..`, `/`, NUL or
        /// control characters.
        #[test]
        fn safe_local_names_are_one_harmless_component(remote in "\\PC{0,300}|[./\\\\\\x00-\\x1f ]{0,8}") {
            let n = safe_local_name(&remote);
            prop_assert!(!n.is_empty());
            prop_assert!(n != "." && n != "..");
            prop_assert!(!n.contains('/') && !n.contains('\\') && !n.contains('\0'));
            prop_assert!(!n.chars().any(char::is_control));
            prop_assert!(n.len() <= MAX_LOCAL_NAME_BYTES);
            let dir = Path::new("/out");
            let p = join_inside(dir, std::slice::from_ref(&n)).expect("inside");
            prop_assert_eq!(p.parent(), Some(dir));
        }

        /// Names claimed in one run are unique, with their `.part` companions.
        #[test]
        fn claimed_local_names_are_unique_within_a_run(
            files in proptest::collection::vec(("[a-c.( )]{0,6}(\\.part)?", "[A-C0-9]{1,3}"), 1..24)
        ) {
            let mut names = LocalNames::default();
            let mut all = std::collections::HashSet::new();
            let out = Path::new("/out");
            for (remote, tag) in files {
                let p = names.claim(out, &[], &remote, &tag).expect("claimed");
                for c in companions(&p) {
                    prop_assert!(all.insert(c), "{} claimed twice", p.display());
                }
            }
        }
    }

    #[test]
    fn remote_names() {
        assert!(remote_name_problem("a b #&%'\".txt").is_none());
        assert!(remote_name_problem("é漢字.bin").is_none());
        assert!(remote_name_problem("").is_some());
        assert!(remote_name_problem("a\nb").is_some());
        assert!(remote_name_problem(&"x".repeat(251)).is_some());
        assert!(remote_name_problem(&"é".repeat(250)).is_none());
    }

    #[test]
    fn hostile_server_names_stay_inside() {
        let dir = Path::new("/out");
        for evil in [
            "../../etc/passwd",
            "..",
            ".",
            "",
            "/abs/path",
            "a\\..\\b",
            "a\u{0}b",
            "a\nb\r\u{1b}[31m",
            "   ",
        ] {
            let n = safe_local_name(evil);
            assert!(!n.contains('/') && !n.contains('\\'), "{n:?}");
            assert!(!n.chars().any(char::is_control), "{n:?}");
            assert!(n != "." && n != ".." && !n.is_empty(), "{n:?}");
            let p = join_inside(dir, std::slice::from_ref(&n)).expect("inside");
            assert_eq!(p.parent(), Some(dir), "{n:?}");
        }
        assert_eq!(safe_local_name("ok name (1).tar.gz"), "ok name (1).tar.gz");
        let long = format!("{}.tar.gz", "é".repeat(300));
        let n = safe_local_name(&long);
        assert!(n.len() <= 240 && n.ends_with(".gz"));
        assert!(join_inside(dir, &["..".into()]).is_none());
    }
}
