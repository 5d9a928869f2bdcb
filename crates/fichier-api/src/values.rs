//! Small value types shared by every area: folder ids, [`FileLink`], [`Password`], [`Offer`],
//! [`Domain`], [`Acl`], [`Done`], and the `data` list wrapper.
//!
//! Responses are parsed at the edge: offers and domains become enums, sizes `u64`, flags `bool`,
//! dates [`ZonedDateTime`] in Europe/Paris, empty strings `None`. Responses also implement
//! `Serialize` (with these Rust names) so programs can print them as JSON. Requests serialise to
//! the exact wire field names; passwords inside them are [`Password`] values with redacted
//! `Debug`.

use std::fmt;

use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::error::Error;
use crate::wire::{de_flag, de_opt_i64, de_opt_nonempty, de_opt_u64, de_vec, ser_flag};

/// A folder id: `0` is the root. (The whole-account pseudo folder `-1` is
/// [`FileLsRequest::all_files`].)
pub type FolderId = u64;

/// The root folder id.
pub const ROOT_FOLDER: FolderId = 0;

/// The 11 domains a file link may use (reference §1.7).
pub const DOMAINS: [&str; 11] = [
    "1fichier.com",
    "alterupload.com",
    "cjoint.net",
    "desfichiers.com",
    "dfichiers.com",
    "megadl.fr",
    "mesfichiers.org",
    "piecejointe.net",
    "pjointe.com",
    "tenvoi.com",
    "dl4free.com",
];

/// A secret password (file, folder, share or FTP). `Debug` shows `[REDACTED]`; serialises to
/// the plain string on the wire only.
#[derive(Clone)]
pub struct Password(SecretString);

impl Password {
    /// Wraps a password.
    pub fn new(p: impl Into<String>) -> Password {
        Password(SecretString::from(p.into()))
    }
    /// The empty password, which removes protection in `file/chattr`.
    pub fn none() -> Password {
        Password::new(String::new())
    }
    /// Number of characters (the service wants at least 6).
    pub fn len(&self) -> usize {
        self.0.expose_secret().chars().count()
    }
    /// True for the empty password.
    pub fn is_empty(&self) -> bool {
        self.0.expose_secret().is_empty()
    }
    /// The password text, for a request field the client does not build itself (the `dpass`
    /// field of a custom upload form). Never print or log it.
    pub fn expose(&self) -> &str {
        self.0.expose_secret()
    }
}

impl fmt::Debug for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Password([REDACTED])")
    }
}

impl Serialize for Password {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.0.expose_secret())
    }
}

impl From<&str> for Password {
    fn from(s: &str) -> Self {
        Password::new(s)
    }
}
impl From<String> for Password {
    fn from(s: String) -> Self {
        Password::new(s)
    }
}

/// A file link, the identity of a file in the API: `https://<domain>/?<id>`.
///
/// [`FileLink::parse`] validates user input (any of the 11 domains, `http`/`https`, the old
/// `http://<id>.1fichier.com/` form, `&…` suffixes dropped). Links coming from the service are
/// kept as sent.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct FileLink(pub(crate) String);

impl FileLink {
    /// Parses and normalises a file link typed or pasted by a user.
    pub fn parse(input: &str) -> Result<FileLink, Error> {
        let s = input.trim();
        let bad = || {
            Error::invalid_input(format!(
                "{s:?} is not a 1fichier file link: expected https://1fichier.com/?<id> (or one of \
                 the other 1fichier domains) with an id of 5 to 20 lowercase letters and digits"
            ))
        };
        let url = url::Url::parse(s).map_err(|_| bad())?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(bad());
        }
        let host = url.host_str().ok_or_else(bad)?.to_ascii_lowercase();
        let host = host.strip_prefix("www.").unwrap_or(&host).to_owned();
        let valid_id = |id: &str| {
            (5..=20).contains(&id.len())
                && id
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
        };
        if let Some(domain) = DOMAINS.iter().find(|d| **d == host) {
            let query = url.query().unwrap_or("");
            let id = query.split('&').next().unwrap_or("");
            let id = id.split('=').next().unwrap_or("");
            if !valid_id(id) {
                return Err(bad());
            }
            return Ok(FileLink(format!("https://{domain}/?{id}")));
        }
        // Old form http://<id>.1fichier.com/
        if let Some(id) = host.strip_suffix(".1fichier.com")
            && valid_id(id)
            && (url.path() == "/" || url.path().is_empty())
        {
            return Ok(FileLink(format!("https://1fichier.com/?{id}")));
        }
        Err(bad())
    }

    /// Wraps a link exactly as the service sent it (no validation).
    pub fn from_service(s: impl Into<String>) -> FileLink {
        FileLink(s.into())
    }

    /// The link as a string.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The file id (the part after `?`), when the link has the usual form.
    pub fn id(&self) -> Option<&str> {
        let (_, q) = self.0.split_once('?')?;
        let id = q.split('&').next()?;
        (!id.is_empty()).then_some(id)
    }
}

impl fmt::Debug for FileLink {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "FileLink({})", self.0)
    }
}
impl fmt::Display for FileLink {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}
impl Serialize for FileLink {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}
impl<'de> Deserialize<'de> for FileLink {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Ok(FileLink(String::deserialize(d)?))
    }
}
impl std::str::FromStr for FileLink {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        FileLink::parse(s)
    }
}

/// The account's offer (`user/info` field `offer`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Offer {
    /// `0`: no offer. The API refuses most calls (`Must be a customer`).
    Free,
    /// `1`: Premium.
    Premium,
    /// `2`: Access.
    Access,
    /// `3`: Premium GOLD (reported by JDownloader; unconfirmed).
    Gold,
    /// A value this library does not know.
    Other(i64),
}

impl Offer {
    /// From the wire number.
    pub fn from_code(code: i64) -> Offer {
        match code {
            0 => Offer::Free,
            1 => Offer::Premium,
            2 => Offer::Access,
            3 => Offer::Gold,
            n => Offer::Other(n),
        }
    }
    /// Whether the offer gives API access.
    pub fn is_customer(self) -> bool {
        !matches!(self, Offer::Free)
    }
}

impl fmt::Display for Offer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Offer::Free => f.write_str("Free"),
            Offer::Premium => f.write_str("Premium"),
            Offer::Access => f.write_str("Access"),
            Offer::Gold => f.write_str("Premium GOLD"),
            Offer::Other(n) => write!(f, "offer {n}"),
        }
    }
}

impl<'de> Deserialize<'de> for Offer {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let v = de_opt_i64(d)?;
        Ok(Offer::from_code(v.unwrap_or(0)))
    }
}

/// A download domain (reference §1.7).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Domain(pub u8);

impl Domain {
    /// `1fichier.com`, the default.
    pub const DEFAULT: Domain = Domain(0);
    /// The host name, when the id is in the table.
    pub fn host(self) -> Option<&'static str> {
        DOMAINS.get(usize::from(self.0)).copied()
    }
    /// Finds a domain by host name.
    pub fn from_host(host: &str) -> Option<Domain> {
        DOMAINS
            .iter()
            .position(|d| d.eq_ignore_ascii_case(host))
            .map(|i| Domain(i as u8))
    }
}

impl fmt::Display for Domain {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.host() {
            Some(h) => f.write_str(h),
            None => write!(f, "domain {}", self.0),
        }
    }
}
impl Serialize for Domain {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u8(self.0)
    }
}
impl<'de> Deserialize<'de> for Domain {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let v = de_opt_u64(d)?.unwrap_or(0);
        u8::try_from(v)
            .map(Domain)
            .map_err(|_| serde::de::Error::custom("domain id out of range"))
    }
}

/// Access restrictions of a file (`acl` object in `file/info` and `file/chattr`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Acl {
    /// Allowed IP ranges (CIDR).
    #[serde(default, deserialize_with = "de_vec")]
    pub ip: Vec<String>,
    /// Allowed countries (ISO-2).
    #[serde(default, deserialize_with = "de_vec")]
    pub country: Vec<String>,
    /// Allowed registered users (e-mails).
    #[serde(default, deserialize_with = "de_vec")]
    pub email: Vec<String>,
    /// Premium users only.
    #[serde(default, deserialize_with = "de_flag", serialize_with = "ser_flag")]
    pub premium: bool,
}

impl Acl {
    /// True when no restriction is set.
    pub fn is_empty(&self) -> bool {
        self.ip.is_empty() && self.country.is_empty() && self.email.is_empty() && !self.premium
    }
}

pub(crate) fn de_opt_acl<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Acl>, D::Error> {
    match Option::<serde_json::Value>::deserialize(d)? {
        Some(v @ serde_json::Value::Object(_)) => {
            let acl: Acl = serde_json::from_value(v).map_err(serde::de::Error::custom)?;
            Ok((!acl.is_empty()).then_some(acl))
        }
        _ => Ok(None),
    }
}

/// `folder/rm.cgi` answer (also used by other envelope-only answers).
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[non_exhaustive]
pub struct Done {
    /// The service's message, if any.
    #[serde(default, deserialize_with = "de_opt_nonempty")]
    pub message: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(bound = "T: serde::de::DeserializeOwned")]
pub(crate) struct ListData<T> {
    #[serde(default, deserialize_with = "de_vec")]
    pub(crate) data: Vec<T>,
}

/// The body of a call without parameters (`{}`).
#[derive(Serialize)]
pub(crate) struct Empty {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_links() {
        let l = FileLink::parse(" https://1fichier.com/?k3x9q2m7v1p8w4z6t0ab&af=1 ").unwrap();
        assert_eq!(l.as_str(), "https://1fichier.com/?k3x9q2m7v1p8w4z6t0ab");
        assert_eq!(l.id(), Some("k3x9q2m7v1p8w4z6t0ab"));
        let l = FileLink::parse("http://cjoint.net/?abcde12345").unwrap();
        assert_eq!(l.as_str(), "https://cjoint.net/?abcde12345");
        let l = FileLink::parse("http://abcde12345.1fichier.com/").unwrap();
        assert_eq!(l.as_str(), "https://1fichier.com/?abcde12345");
        assert!(FileLink::parse("https://example.com/?abcde12345").is_err());
        assert!(FileLink::parse("https://1fichier.com/?AB").is_err());
        assert!(FileLink::parse("notes.txt").is_err());
    }
}
