//! The `ApiKey` secret type: the only way a key enters the library, and the one place it leaves.
//!
//! A key is parsed from what a user pasted (surrounding whitespace trimmed, alphabet checked),
//! kept in a zeroize-on-drop [`SecretString`], printed only as `[REDACTED]`, and exposed only when
//! the `Authorization` header is built (plus one explicit, documented call for key stores).

use std::fmt;
use std::str::FromStr;

use reqwest::header::HeaderValue;
use secrecy::{ExposeSecret, SecretString};

/// Length of every key observed in the wild (32 characters of `[A-Za-z0-9]`).
pub const USUAL_KEY_LEN: usize = 32;

/// A 1fichier API key. `Debug` and `Display` never show it; it is zeroed when dropped.
///
/// Build one with [`ApiKey::parse`] (or `str::parse`):
///
/// ```
/// use fichier_api::ApiKey;
/// // A generated stand-in: real keys come from a key store or the environment, never source.
/// let pasted = format!("  {}\n", "aB3".repeat(10) + "xY");
/// let key = ApiKey::parse(&pasted).unwrap();
/// assert_eq!(format!("{key:?}"), "ApiKey([REDACTED])");
/// assert!(key.has_usual_length());
/// assert!(ApiKey::parse("not a key!").is_err());
/// ```
#[derive(Clone)]
pub struct ApiKey(SecretString);

/// Why a pasted key was refused. The messages name the problem and never contain the key.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum KeyError {
    /// Nothing but whitespace was given.
    #[error("the API key is empty: paste the key shown on https://1fichier.com/console/params.pl")]
    Empty,
    /// A character outside `[A-Za-z0-9_=-]` was found (the character itself is not part of
    /// any valid key, so naming it leaks nothing).
    #[error(
        "the API key contains {found} at position {position} (of {len}); keys contain only \
         letters, digits, '_', '=' and '-': check that nothing else was pasted with it"
    )]
    InvalidCharacter {
        /// 1-based position of the first bad character, counted after trimming.
        position: usize,
        /// Length of the trimmed input.
        len: usize,
        /// A description of the bad character (for example `a space` or `'"'`).
        found: String,
    },
}

impl ApiKey {
    /// Parses a key as a user pasted it: surrounding whitespace and newlines are trimmed, and
    /// any character outside `[A-Za-z0-9_=-]` is refused with its position.
    ///
    /// Keys of a length other than [`USUAL_KEY_LEN`] are accepted (the format is not
    /// documented); callers may warn using [`ApiKey::has_usual_length`].
    pub fn parse(input: &str) -> Result<ApiKey, KeyError> {
        let trimmed = input.trim();
        if trimmed.is_empty() {
            return Err(KeyError::Empty);
        }
        let len = trimmed.chars().count();
        for (i, c) in trimmed.chars().enumerate() {
            if !(c.is_ascii_alphanumeric() || matches!(c, '_' | '=' | '-')) {
                return Err(KeyError::InvalidCharacter {
                    position: i + 1,
                    len,
                    found: describe_char(c),
                });
            }
        }
        Ok(ApiKey(SecretString::from(trimmed.to_owned())))
    }

    /// True when the key has the 32 characters every observed key has.
    pub fn has_usual_length(&self) -> bool {
        self.0.expose_secret().len() == USUAL_KEY_LEN
    }

    /// Number of characters in the key (not secret: every key has about the same length).
    pub fn len(&self) -> usize {
        self.0.expose_secret().len()
    }

    /// Always false: a parsed key is never empty. Present for API symmetry with `len`.
    pub fn is_empty(&self) -> bool {
        self.0.expose_secret().is_empty()
    }

    /// The key masked to its first and last two characters (`ab…yz`; `****` for keys under 8
    /// characters), the only form in which a key may be shown to a user.
    // The same form as `fichier_scan::mask` (scanner findings, the CLI's masking of messages),
    // written out here because this library depends on no scanner (the scanner is a leaf);
    // the two differ only below 8 characters (`****` here, `…` there).
    pub fn masked(&self) -> String {
        let chars: Vec<char> = self.0.expose_secret().chars().collect();
        if chars.len() < 8 {
            return "*".repeat(chars.len().max(4));
        }
        let head: String = chars[..2].iter().collect();
        let tail: String = chars[chars.len() - 2..].iter().collect();
        format!("{head}…{tail}")
    }

    /// A short, non-reversible digest of the key (16 hex characters of its whirlpool), to name
    /// per-key files (pacer state) without revealing the key.
    pub fn fingerprint(&self) -> String {
        crate::whirlpool_hex(self.0.expose_secret().as_bytes())[..16].to_owned()
    }

    /// Exposes the key so that a credential store (keyring, `0600` file) can persist it.
    ///
    /// This is the only exposure besides the `Authorization` header. Never print, log or
    /// pass the returned value on a command line.
    pub fn expose_for_key_store(&self) -> &str {
        self.0.expose_secret()
    }

    /// Adds `Authorization: Bearer <key>` to a request, the value marked sensitive so HTTP
    /// debug logs hide it.
    ///
    /// The one function of the workspace that turns the key into a header (a workspace test
    /// enforces it): every authenticated request of the client goes through it.
    pub(crate) fn authorize(&self, request: reqwest::RequestBuilder) -> reqwest::RequestBuilder {
        let mut value = HeaderValue::from_str(&format!("Bearer {}", self.0.expose_secret()))
            .expect("a parsed key only holds header-safe ASCII characters");
        value.set_sensitive(true);
        request.header(reqwest::header::AUTHORIZATION, value)
    }

    /// True when `text` contains this key; used to redact bodies kept in errors.
    pub(crate) fn occurs_in(&self, text: &str) -> bool {
        text.contains(self.0.expose_secret())
    }

    /// Replaces every occurrence of the key in `text` by `[REDACTED]`.
    pub(crate) fn redact(&self, text: &str) -> String {
        text.replace(self.0.expose_secret(), "[REDACTED]")
    }
}

impl FromStr for ApiKey {
    type Err = KeyError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        ApiKey::parse(s)
    }
}

impl fmt::Debug for ApiKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ApiKey([REDACTED])")
    }
}

impl fmt::Display for ApiKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[REDACTED]")
    }
}

impl PartialEq for ApiKey {
    fn eq(&self, other: &Self) -> bool {
        self.0.expose_secret() == other.0.expose_secret()
    }
}
impl Eq for ApiKey {}

fn describe_char(c: char) -> String {
    match c {
        ' ' => "a space".to_owned(),
        '\t' => "a tab".to_owned(),
        '\n' | '\r' => "a line break".to_owned(),
        c if c.is_control() => format!("a control character (U+{:04X})", c as u32),
        c if !c.is_ascii() => format!("a non-ASCII character (U+{:04X})", c as u32),
        c => format!("{c:?}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trims_and_accepts_alphabet() {
        let k = ApiKey::parse("\n  abcDEF123_=-xyz \r\n").unwrap();
        assert_eq!(k.expose_for_key_store(), "abcDEF123_=-xyz");
        assert!(!k.has_usual_length());
        assert_eq!(format!("{k}"), "[REDACTED]");
    }

    #[test]
    fn rejects_with_position() {
        let err = ApiKey::parse("abc def").unwrap_err();
        assert_eq!(
            err,
            KeyError::InvalidCharacter {
                position: 4,
                len: 7,
                found: "a space".into()
            }
        );
        let msg = err.to_string();
        assert!(msg.contains("position 4"), "{msg}");
        assert!(!msg.contains("abc"), "message must not echo the key: {msg}");
        assert_eq!(ApiKey::parse("   "), Err(KeyError::Empty));
        assert!(matches!(
            ApiKey::parse("ab\"c"),
            Err(KeyError::InvalidCharacter { .. })
        ));
        assert!(matches!(
            ApiKey::parse("abé"),
            Err(KeyError::InvalidCharacter { .. })
        ));
    }

    #[test]
    fn header_is_sensitive() {
        let raw = fichier_testkit::fake_key();
        let k = ApiKey::parse(&raw).unwrap();
        let req = k
            .authorize(reqwest::Client::new().get("http://127.0.0.1/"))
            .build()
            .unwrap();
        let h = req.headers().get(reqwest::header::AUTHORIZATION).unwrap();
        assert!(h.is_sensitive());
        assert!(!format!("{h:?}").contains(&raw));
    }

    mod props {
        use super::*;
        use proptest::prelude::*;

        const ALPHABET: &str = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_=-";

        fn key_chars() -> impl Strategy<Value = String> {
            proptest::collection::vec(
                proptest::sample::select(ALPHABET.as_bytes().to_vec()),
                1..80,
            )
            .prop_map(|b| String::from_utf8(b).unwrap())
        }

        proptest! {
            #![proptest_config(ProptestConfig::with_cases(256))]

            #[test]
            fn pasted_keys_parse_to_the_trimmed_key(
                key in key_chars(),
                before in "[ \t\r\n]{0,4}",
                after in "[ \t\r\n]{0,4}",
            ) {
                let parsed = ApiKey::parse(&format!("{before}{key}{after}")).unwrap();
                prop_assert_eq!(parsed.len(), key.len());
                prop_assert!(parsed.occurs_in(&key));
                let shown = format!("{parsed:?}");
                prop_assert!(!shown.contains(&key) || key.len() < 8);
            }

            #[test]
            fn any_input_is_parsed_or_refused_without_echoing_it(input in any::<String>()) {
                match ApiKey::parse(&input) {
                    Ok(k) => prop_assert_eq!(k.len(), input.trim().len()),
                    Err(KeyError::Empty) => prop_assert!(input.trim().is_empty()),
                    Err(KeyError::InvalidCharacter { position, len, .. }) => {
                        let trimmed: Vec<char> = input.trim().chars().collect();
                        prop_assert_eq!(len, trimmed.len());
                        let bad = trimmed[position - 1];
                        prop_assert!(!(bad.is_ascii_alphanumeric() || matches!(bad, '_' | '=' | '-')));
                        prop_assert!(trimmed[..position - 1]
                            .iter()
                            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '=' | '-')));
                    }
                }
            }

            #[test]
            fn a_key_with_one_bad_character_is_refused_and_not_shown(
                key in key_chars(),
                at in any::<prop::sample::Index>(),
                bad in "[ \"'\\/:;,.!?<>{}()\u{e9}\u{200b}]",
            ) {
                let mut chars: Vec<char> = key.chars().collect();
                let i = at.index(chars.len() + 1).min(chars.len());
                chars.insert(i, bad.chars().next().unwrap());
                let input: String = chars.iter().collect();
                let Err(err) = ApiKey::parse(&format!("x{input}x")) else {
                    return Err(TestCaseError::fail("accepted a bad character"));
                };
                if key.len() >= 8 {
                    prop_assert!(!err.to_string().contains(&key));
                }
            }
        }
    }
}
