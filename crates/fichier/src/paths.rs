//! What users type to name things: `/Backups/2026/db.tar` paths and file links on any of the
//! 11 domains. Parsing only; `resolve` turns parsed targets into folder ids and file links.

use fichier_api::{DOMAINS, FileLink};

use crate::error::Failure;

/// A parsed command-line target.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// A file link, normalised to `https://<domain>/?<id>` (the domain is kept: an uploader
    /// may restrict a file to its domain).
    Link(FileLink),
    /// A path from the root, as components (`[]` is the root).
    Path(Vec<String>),
}

#[cfg(test)]
impl Target {
    /// The path as users write it (`/A/b`), or the link.
    fn display(&self) -> String {
        match self {
            Target::Link(l) => l.to_string(),
            Target::Path(c) => display_path(c),
        }
    }
}

/// `/A/b` for components `[A, b]`, `/` for the root.
pub fn display_path(components: &[String]) -> String {
    format!("/{}", components.join("/"))
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

/// Splits a path into components: leading `/` optional, empty and `.` components dropped,
/// `..` goes up one level.
pub fn split_path(s: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for part in s.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                out.pop();
            }
            name => out.push(name.to_owned()),
        }
    }
    out
}

/// Parses a target: a file link or a path.
pub fn parse_target(s: &str) -> Result<Target, Failure> {
    match parse_link(s) {
        Some(r) => r.map(Target::Link),
        None => Ok(Target::Path(split_path(s))),
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
        assert_eq!(parse_target("/").unwrap(), Target::Path(vec![]));
        assert_eq!(
            parse_target("Backups//2026/./x/..").unwrap(),
            Target::Path(vec!["Backups".into(), "2026".into()])
        );
        assert_eq!(display_path(&["a".into(), "b c".into()]), "/a/b c");
    }
}
