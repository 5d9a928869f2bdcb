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

#[cfg(test)]
mod tests {
    use super::*;

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
