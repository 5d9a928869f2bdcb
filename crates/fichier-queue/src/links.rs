//! Which pasted texts are 1fichier links, and their one canonical form: file links on any of
//! the 11 domains become `https://1fichier.com/?<id>`, shared folders
//! `https://1fichier.com/dir/<id>`. The queue, the folder watch and Click'n'Load decide with
//! this what to queue, and the canonical form is what duplicate detection compares.

use fichier_api::{DOMAINS, FileLink};

/// Longest text considered a link (a real one is under 100 characters).
const MAX_LINK_LEN: usize = 2048;

/// The canonical form of a 1fichier file or shared-folder link, or `None` when `text` is not
/// one. Accepts `http`/`https` or no scheme, an optional `www.`, any of the 11 domains
/// ([`fichier_api::DOMAINS`]), `?id`, `?id&af=…`, a `#fragment`, the old
/// `http://<id>.1fichier.com/` form, and `/dir/<id>` shared folders. Anything with whitespace or
/// control characters inside, a user name, a port, or another host is refused.
pub fn normalise_link(text: &str) -> Option<String> {
    let t = text.trim();
    if t.is_empty()
        || t.len() > MAX_LINK_LEN
        || t.chars().any(|c| c.is_whitespace() || c.is_control())
    {
        return None;
    }
    let lower = t.to_ascii_lowercase();
    let (scheme_len, scheme) = if lower.starts_with("https://") {
        (8, "https")
    } else if lower.starts_with("http://") {
        (7, "http")
    } else if lower.contains("://") {
        return None;
    } else {
        (0, "https")
    };
    let rest = &t[scheme_len..];
    let auth_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let authority = rest[..auth_end].to_ascii_lowercase();
    if authority.contains(['@', ':', '\\']) || authority.is_empty() {
        return None;
    }
    let tail = &rest[auth_end..];
    let host = authority.strip_prefix("www.").unwrap_or(&authority);
    if DOMAINS.contains(&host) {
        if let Some(after) = tail.strip_prefix("/dir/") {
            let end = after.find(['/', '?', '#']).unwrap_or(after.len());
            let (id, extra) = after.split_at(end);
            let extra_ok = extra.is_empty() || extra.starts_with(['?', '#']) || extra == "/";
            let id_ok =
                (1..=32).contains(&id.len()) && id.bytes().all(|b| b.is_ascii_alphanumeric());
            return (id_ok && extra_ok).then(|| format!("https://1fichier.com/dir/{id}"));
        }
        // A file link has no path: `/?id` or `?id`.
        let query = tail.strip_prefix('/').unwrap_or(tail);
        if !query.starts_with('?') {
            return None;
        }
    } else if !host.ends_with(".1fichier.com") {
        return None;
    }
    let link = FileLink::parse(&format!("{scheme}://{host}{tail}")).ok()?;
    let id = link.id()?;
    Some(format!("https://1fichier.com/?{id}"))
}

/// True when `text` is a 1fichier file or shared-folder link ([`normalise_link`] accepts it).
pub fn is_fichier_link(text: &str) -> bool {
    normalise_link(text).is_some()
}

/// True when a canonical link ([`normalise_link`]'s output) names a shared folder.
pub fn is_folder_link(canonical: &str) -> bool {
    canonical.starts_with("https://1fichier.com/dir/")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_domain_with_and_without_www_and_scheme() {
        for d in DOMAINS {
            for form in [
                format!("https://{d}/?abcde12345"),
                format!("http://{d}/?abcde12345"),
                format!("https://www.{d}/?abcde12345"),
                format!("{d}/?abcde12345"),
                format!("www.{d}/?abcde12345"),
                format!("https://{d}/?abcde12345&af=12345"),
                format!("https://{d}/?abcde12345&af=1&e=2#top"),
                format!("  https://{}/?abcde12345  ", d.to_ascii_uppercase()),
                format!("https://{d}?abcde12345"),
            ] {
                assert_eq!(
                    normalise_link(&form).as_deref(),
                    Some("https://1fichier.com/?abcde12345"),
                    "{form}"
                );
                assert!(is_fichier_link(&form));
            }
            for form in [
                format!("https://{d}/dir/AbC123xy"),
                format!("http://www.{d}/dir/AbC123xy/"),
                format!("{d}/dir/AbC123xy?lg=en"),
            ] {
                assert_eq!(
                    normalise_link(&form).as_deref(),
                    Some("https://1fichier.com/dir/AbC123xy"),
                    "{form}"
                );
            }
        }
        assert_eq!(DOMAINS.len(), 11);
    }

    #[test]
    fn old_subdomain_form() {
        assert_eq!(
            normalise_link("http://abcde12345.1fichier.com/").as_deref(),
            Some("https://1fichier.com/?abcde12345")
        );
    }

    #[test]
    fn hostile_and_foreign_inputs_are_refused() {
        for bad in [
            "",
            "   ",
            "https://evil.com/?abcde12345",
            "https://1fichier.com.evil.com/?abcde12345",
            "https://evil.com/?https://1fichier.com/?abcde12345",
            "https://1fichier.com@evil.com/?abcde12345",
            "https://user:pw@1fichier.com/?abcde12345",
            "https://1fichier.com:8080/?abcde12345",
            "ftp://1fichier.com/?abcde12345",
            "javascript:alert(1)//1fichier.com/?abcde12345",
            "file:///etc/passwd",
            "https://1fichier.com/?abc\nde12345",
            "https://1fichier.com/?abcde12345\u{7}",
            "https://1fichier.com/?abc de12345",
            "https://1fichier.com/?<script>alert(1)</script>",
            "https://1fichier.com/?ABCDE12345",
            "https://1fichier.com/?ab",
            "https://1fichier.com/?abcdefghijklmnopqrstuvwxyz",
            "https://1fichier.com/",
            "https://1fichier.com/console/index.pl",
            "https://1fichier.com/upload?abcde12345",
            "https://1fichier.com/dir/",
            "https://1fichier.com/dir/../../etc",
            "https://1fichier.com/dir/ab%2F..",
            "https://1fichier.com/dir/AbC123xy/../x",
            "https://1fichier.com\\@evil.com/?abcde12345",
            "https://1fichiеr.com/?abcde12345", // Cyrillic 'е'
            "https://tenvoie.com.example/?abcde12345",
            "/Backups/db.tar",
            "abcde12345",
        ] {
            assert_eq!(normalise_link(bad), None, "{bad:?}");
            assert!(!is_fichier_link(bad));
        }
        let long = format!("https://1fichier.com/?abcde12345&{}", "a".repeat(5000));
        assert_eq!(normalise_link(&long), None);
    }

    #[test]
    fn folder_links_are_told_apart() {
        assert!(is_folder_link(
            &normalise_link("https://1fichier.com/dir/AbC").unwrap()
        ));
        assert!(!is_folder_link(
            &normalise_link("https://1fichier.com/?abcde").unwrap()
        ));
    }
}
