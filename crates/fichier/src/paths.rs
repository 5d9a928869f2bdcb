//! What users type to name things: `/Backups/2026/db.tar` paths (read by
//! [`RemotePath::parse`], the one rule for `.`, `..` and `id:N`) and file links on any of the
//! 11 domains. Parsing only; the context's tree turns targets into folder ids and file links.

use fichier_api::{DOMAINS, FileLink, PathError, RemotePath, Segment};

use crate::error::Failure;

/// A parsed command-line target.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// A file link, normalised to `https://<domain>/?<id>` (the domain is kept: an uploader
    /// may restrict a file to its domain).
    Link(FileLink),
    /// A path from the root or from a folder named by id.
    Path(RemotePath),
}

#[cfg(test)]
impl Target {
    /// The path as users write it (`/A/b`), or the link.
    fn display(&self) -> String {
        match self {
            Target::Link(l) => l.to_string(),
            Target::Path(p) => p.to_string(),
        }
    }
}

/// `/A/b` for components `[A, b]`, `/` for the root, `id:5/b` for `[id:5, b]` (as
/// [`RemotePath`] shows itself).
pub fn display_path(components: &[String]) -> String {
    match components.first() {
        Some(first) if matches!(Segment::parse(first), Segment::Id(_)) => components.join("/"),
        _ => format!("/{}", components.join("/")),
    }
}

/// Recognises a file link; `None` when `s` does not look like a URL at all.
pub fn parse_link(s: &str) -> Option<Result<FileLink, Failure>> {
    let lower = s.trim().to_ascii_lowercase();
    let schemeless = DOMAINS
        .iter()
        .any(|d| lower.starts_with(&format!("{d}/?")) || lower.starts_with(&format!("www.{d}/?")));
    if !(lower.starts_with("http://") || lower.starts_with("https://") || schemeless) {
        return None;
    }
    let with_scheme = if schemeless {
        format!("https://{}", s.trim())
    } else {
        s.trim().to_owned()
    };
    Some(FileLink::parse(&with_scheme).map_err(|_| {
        Failure::usage(format!("`{s}` is not a 1fichier file link")).with_hint(format!(
            "file links look like https://1fichier.com/?abcde12345 (domains: {})",
            DOMAINS.join(", ")
        ))
    }))
}

/// The message for a path that cannot be read.
pub fn path_failure(e: &PathError) -> Failure {
    Failure::usage(e.to_string()).with_hint(
        "`..` goes up one folder and cannot go above the root (/) or above a folder named by id:N",
    )
}

/// Splits a destination path into folder names from the root, by the same rules as every
/// other path (`.` skipped, `..` up, an error above the root).
pub fn split_path(s: &str) -> Result<Vec<String>, Failure> {
    let path = RemotePath::parse(s).map_err(|e| path_failure(&e))?;
    if path.segments().iter().any(|s| matches!(s, Segment::Id(_))) {
        return Err(
            Failure::usage(format!("`{s}`: this destination cannot be named by id yet"))
                .with_hint("name the destination folder by its path, e.g. /Backups/2026"),
        );
    }
    Ok(path.components())
}

/// Parses a target: a file link or a path.
pub fn parse_target(s: &str) -> Result<Target, Failure> {
    match parse_link(s) {
        Some(r) => r.map(Target::Link),
        None => RemotePath::parse(s)
            .map(Target::Path)
            .map_err(|e| path_failure(&e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn links_on_every_domain() {
        for d in DOMAINS {
            let t = parse_target(&format!("https://{d}/?abcde12345")).unwrap();
            assert_eq!(t.display(), format!("https://{d}/?abcde12345"));
        }
        let link = |s: &str| parse_target(s).unwrap().display();
        assert_eq!(
            link("http://www.1fichier.com/?k3x9q2m7v1p8w4z6t0ab&inline=1"),
            "https://1fichier.com/?k3x9q2m7v1p8w4z6t0ab"
        );
        assert_eq!(
            link("megadl.fr/?abcde12345"),
            "https://megadl.fr/?abcde12345"
        );
        assert_eq!(
            link("http://abcde12345.1fichier.com/"),
            "https://1fichier.com/?abcde12345"
        );
        assert!(parse_target("https://example.com/?abcde12345").is_err());
        assert!(parse_target("https://1fichier.com/?AB").is_err());
    }

    #[test]
    fn paths() {
        assert_eq!(parse_target("/").unwrap(), Target::Path(RemotePath::root()));
        assert_eq!(
            parse_target("Backups//2026/./x/..").unwrap(),
            Target::Path(RemotePath::from_names(["Backups", "2026"]))
        );
        assert!(parse_target("/a/../..").is_err());
        assert_eq!(parse_target("id:42/x").unwrap().display(), "id:42/x");
        assert_eq!(display_path(&["a".into(), "b c".into()]), "/a/b c");
        assert_eq!(display_path(&["id:5".into(), "b".into()]), "id:5/b");
        assert_eq!(split_path("/a/./b/../c/").unwrap(), vec!["a", "c"]);
        assert!(split_path("/..").is_err());
        assert!(split_path("id:5/x").is_err());
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(256))]

        /// Whatever is typed, a target parses or fails with a message: never a panic, and a
        /// parsed path shows itself in a form that parses back to the same target.
        #[test]
        fn typed_targets_never_panic(s in "\\PC{0,60}") {
            if let Ok(Target::Path(p)) = parse_target(&s) {
                let again = parse_target(&p.to_string()).unwrap();
                proptest::prop_assert_eq!(again, Target::Path(p));
            }
        }
    }
}
