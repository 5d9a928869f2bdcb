//! The found key as a secret value, its masked form and its fingerprint.
//!
//! The raw key lives only inside [`KeyMaterial`], which has no `Debug`, `Display` or serde
//! impls and is wiped from memory on drop. Everything the scanner prints uses [`mask`] or
//! [`Fingerprint`].

use serde::{Deserialize, Serialize};
use whirlpool::{Digest, Whirlpool};
use zeroize::Zeroizing;

/// Domain-separation prefix of fingerprint version 1 (see `docs/scan.md`).
const FINGERPRINT_V1_DOMAIN: &[u8] = b"fichier-scan/fingerprint/v1\n";

/// A found key. Deliberately opaque: no `Debug`, no `Display`, no serde.
#[derive(Clone)]
pub(crate) struct KeyMaterial(Zeroizing<String>);

impl KeyMaterial {
    /// Wraps the candidate bytes (already checked to be ASCII).
    pub(crate) fn new(bytes: &[u8]) -> KeyMaterial {
        KeyMaterial(Zeroizing::new(String::from_utf8_lossy(bytes).into_owned()))
    }

    /// The raw key. Only [`crate::Finding::expose_key_for_verification`] and
    /// [`crate::Finding::expose_key_for_key_store`] hand it out (and `--fix`, inside the crate).
    pub(crate) fn expose(&self) -> &str {
        &self.0
    }
}

/// Masks a key for display: first and last two characters, e.g. `Ab…9z`.
///
/// Keys shorter than 8 characters are fully masked (`…`), so a mask never shows more than
/// half of any value.
pub fn mask(key: &str) -> String {
    let chars: Vec<char> = key.chars().collect();
    if chars.len() < 8 {
        return "…".to_owned();
    }
    let mut out = String::with_capacity(8);
    out.extend(&chars[..2]);
    out.push('…');
    out.extend(&chars[chars.len() - 2..]);
    out
}

/// A path-, line- and commit-independent identifier of a found key.
///
/// Version 1 is the first 16 bytes (32 lowercase hex digits) of
/// `whirlpool("fichier-scan/fingerprint/v1\n" || key)`. The same key gives the same fingerprint
/// wherever it appears, so a baseline entry accepts that key everywhere; the key itself
/// (about 190 random bits) cannot be recovered from it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Fingerprint(String);

impl Fingerprint {
    /// Computes the version-1 fingerprint of a key.
    pub fn of_key(key: &str) -> Fingerprint {
        let mut h = Whirlpool::new();
        h.update(FINGERPRINT_V1_DOMAIN);
        h.update(key.as_bytes());
        let digest = h.finalize();
        Fingerprint(hex::encode(&digest[..16]))
    }

    /// Parses a fingerprint read from a baseline: 32 lowercase hex digits.
    pub fn parse(s: &str) -> Option<Fingerprint> {
        let ok = s.len() == 32
            && s.bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
        ok.then(|| Fingerprint(s.to_owned()))
    }

    /// The hex string.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for Fingerprint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mask_shows_two_chars_each_side() {
        // Built at run time: no key-shaped literal is committed.
        let key = ["Ab", &"0".repeat(27), "z9z"].concat();
        assert_eq!(mask(&key), "Ab…9z");
        assert_eq!(mask("short"), "…");
    }

    #[test]
    fn fingerprint_is_stable_hex_and_not_the_key() {
        let key = crate::shape::fake_key(3);
        let a = Fingerprint::of_key(&key);
        assert_eq!(a, Fingerprint::of_key(&key));
        assert_eq!(a.as_str().len(), 32);
        assert!(!a.as_str().contains(&key));
        assert_ne!(a, Fingerprint::of_key(&crate::shape::fake_key(4)));
        assert_eq!(Fingerprint::parse(a.as_str()), Some(a));
        assert_eq!(Fingerprint::parse("XYZ"), None);
    }
}
