//! Request log: one entry per HTTP request, with the API key masked (first/last 2 characters)
//! and download tokens masked, kept in memory and in the SQLite store.

use serde::{Deserialize, Serialize};

use crate::ids::mask;

/// Most entries kept in memory.
pub const MEMORY_CAP: usize = 10_000;

/// One logged request. Never carries a full key or token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LoggedRequest {
    /// Date (`YYYY-MM-DD HH:MM:SS`, Paris time).
    pub at: String,
    /// Client IP.
    pub ip: String,
    /// HTTP method.
    pub method: String,
    /// Path and query, with download tokens masked.
    pub path: String,
    /// Endpoint name: `file/ls`, `upload`, `end`, `download`, `dir`, `admin` or `other`.
    pub endpoint: String,
    /// HTTP status answered.
    pub status: u16,
    /// The API key masked (`ab…yz`), or empty when none was sent.
    pub key: String,
    /// When the request arrived, in Unix milliseconds (the in-memory log only: `at` has
    /// one-second resolution, too coarse to tell whether a client kept quiet during a
    /// cooldown).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub received_ms: Option<u64>,
}

/// Endpoint name of a request path, as used by the log, the limits and the fault plan.
pub fn endpoint_of(path: &str) -> String {
    if let Some(rest) = path.strip_prefix("/v1/") {
        return rest.trim_end_matches(".cgi").to_string();
    }
    if path == "/upload.cgi" {
        "upload".into()
    } else if path == "/end.pl" {
        "end".into()
    } else if path.starts_with("/dl/") {
        "download".into()
    } else if path.starts_with("/dir/") {
        "dir".into()
    } else if path.starts_with("/admin") {
        "admin".into()
    } else {
        "other".into()
    }
}

pub fn masked_path(path: &str, query: Option<&str>) -> String {
    let p = match path.strip_prefix("/dl/") {
        Some(token) => format!("/dl/{}", mask(token)),
        None => path.to_string(),
    };
    match query {
        Some(q) if !q.is_empty() => format!("{p}?{q}"),
        _ => p,
    }
}

/// The masked form of an `Authorization` header's secret (Bearer key or Basic credentials).
pub fn masked_key(auth: Option<&str>) -> String {
    match auth {
        None => String::new(),
        Some(v) => {
            let secret = v
                .strip_prefix("Bearer ")
                .or_else(|| v.strip_prefix("Basic "))
                .unwrap_or(v)
                .trim();
            mask(secret)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        /// Any path: an endpoint name and a masked path; a token never shows whole.
        #[test]
        fn paths_are_named_and_tokens_masked(path in "/\\PC{0,40}", token in "[A-Za-z0-9]{6,40}") {
            let _ = endpoint_of(&path);
            let _ = masked_path(&path, Some("a=1"));
            let masked = masked_path(&format!("/dl/{token}"), None);
            prop_assert!(!masked.contains(&token), "{masked}");
            prop_assert_eq!(endpoint_of(&format!("/dl/{token}")), "download");
        }
    }

    #[test]
    fn endpoints_and_masks() {
        assert_eq!(endpoint_of("/v1/file/ls.cgi"), "file/ls");
        assert_eq!(endpoint_of("/v1/ftp/users/ls.cgi"), "ftp/users/ls");
        assert_eq!(endpoint_of("/upload.cgi"), "upload");
        assert_eq!(endpoint_of("/dl/pabc"), "download");
        let key = crate::ids::api_key();
        let masked = masked_key(Some(&format!("Bearer {key}")));
        assert_eq!(masked, format!("{}…{}", &key[..2], &key[key.len() - 2..]));
        assert_eq!(masked_path("/dl/pSECRETTOKEN", None), "/dl/pS…EN");
    }
}
