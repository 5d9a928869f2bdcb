//! Random identifiers in the shapes the service uses (file ids, upload ids, keys, tokens).

use rand::Rng;
use rand::distr::Alphanumeric;

/// `n` random ASCII letters and digits, mixed case.
pub fn alnum(n: usize) -> String {
    rand::rng()
        .sample_iter(&Alphanumeric)
        .take(n)
        .map(char::from)
        .collect()
}

/// `n` random lowercase letters and digits.
pub fn lower_alnum(n: usize) -> String {
    const SET: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";
    let mut rng = rand::rng();
    (0..n)
        .map(|_| SET[rng.random_range(0..SET.len())] as char)
        .collect()
}

/// A file id: 20 lowercase alphanumerics, as in `https://1fichier.com/?<id>`.
pub fn file_id() -> String {
    lower_alnum(20)
}

/// An upload id: 10 mixed-case alphanumerics (rclone refuses longer ones).
pub fn upload_id() -> String {
    alnum(10)
}

/// A fake API key: 32 characters `[A-Za-z0-9]`.
pub fn api_key() -> String {
    alnum(32)
}

/// A download token path segment (opaque, unguessable).
pub fn token() -> String {
    format!("p{}", alnum(24))
}

/// Public share id of a folder (`/dir/<id>`).
pub fn share_id() -> String {
    alnum(8)
}

/// Mask a secret for logs: first and last two characters only.
pub fn mask(secret: &str) -> String {
    let chars: Vec<char> = secret.chars().collect();
    if chars.len() <= 4 {
        return "*".repeat(chars.len());
    }
    let head: String = chars[..2].iter().collect();
    let tail: String = chars[chars.len() - 2..].iter().collect();
    format!("{head}…{tail}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shapes() {
        assert_eq!(file_id().len(), 20);
        assert!(
            file_id()
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
        );
        assert_eq!(upload_id().len(), 10);
        assert_eq!(api_key().len(), 32);
        assert_eq!(mask("abcdefgh"), "ab…gh");
        assert_eq!(mask("abc"), "***");
    }
}
