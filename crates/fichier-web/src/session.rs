//! How a browser signs in: the one-time sign-in code `fichier dashboard` writes (a `0600`
//! file, dead at first use or after two minutes) and the session cookie it is exchanged for,
//! bound to the page's own secret `*.localhost` host name and to the current access token.

use std::path::Path;
use std::time::{Duration, SystemTime};

use sha2::{Digest as _, Sha256};
use subtle::ConstantTimeEq as _;

use crate::config::write_private;

/// The session cookie's name. Its value is only ever valid with the `Host` it was issued
/// for, so a copy sent to another server is useless there.
pub const COOKIE: &str = "fichier_session";
/// How long a sign-in code printed by `fichier dashboard` can be used.
pub const CODE_LIFETIME: Duration = Duration::from_secs(120);

/// What a request was let in with: the access token current at the time. Live streams end
/// when the token file no longer holds it (a newer `fichier dashboard`).
#[derive(Clone, Debug)]
pub struct Authorised {
    /// The access token the request's credential was derived from.
    pub token: String,
}

/// 32 random bytes, hex: an access, CSRF or sign-in token.
pub fn random_token() -> String {
    let bytes: [u8; 32] = rand::Rng::random(&mut rand::rng());
    hex::encode(bytes)
}

/// Constant-time equality of two non-empty secrets.
pub fn same(a: &str, b: &str) -> bool {
    !a.is_empty() && bool::from(a.as_bytes().ct_eq(b.as_bytes()))
}

/// The access token in `path`, or "" when there is none (nothing then matches).
pub fn current_token(path: &Path) -> String {
    std::fs::read_to_string(path)
        .map(|t| t.trim().to_owned())
        .unwrap_or_default()
}

/// Writes a fresh one-time sign-in code to `path` (mode `0600`) and returns it. Only the file
/// and the printed URL hold it, never a command line.
pub fn mint_code(path: &Path) -> std::io::Result<String> {
    let code = random_token();
    write_private(path, code.as_bytes())?;
    Ok(code)
}

/// Takes the sign-in code in `path` if `given` is it and it is still fresh: the file is
/// removed, so the code works once. A wrong guess leaves the real one in place.
pub fn redeem_code(path: &Path, given: &str) -> bool {
    let Ok(stored) = std::fs::read_to_string(path) else {
        return false;
    };
    if !same(given, stored.trim()) {
        return false;
    }
    let fresh = std::fs::metadata(path)
        .and_then(|m| m.modified())
        .ok()
        .and_then(|t| SystemTime::now().duration_since(t).ok())
        .is_some_and(|age| age <= CODE_LIFETIME);
    // Removed either way: a stale code must not stay usable, a used one neither.
    std::fs::remove_file(path).is_ok() && fresh
}

/// The session value for `host` under `token`: a random nonce and a digest that only the
/// holder of the token can make, so it survives a daemon restart, dies with the token, and
/// means nothing on any other host name or port.
pub fn issue(token: &str, host: &str) -> String {
    let nonce = &random_token()[..32];
    format!("{nonce}.{}", digest(token, host, nonce))
}

/// Whether `value` is a session issued under `token` for exactly `host`.
pub fn valid(value: &str, token: &str, host: &str) -> bool {
    let Some((nonce, mac)) = value.split_once('.') else {
        return false;
    };
    !token.is_empty() && same(mac, &digest(token, host, nonce))
}

fn digest(token: &str, host: &str, nonce: &str) -> String {
    let mut h = Sha256::new();
    for part in ["fichier-session", token, &host.to_ascii_lowercase(), nonce] {
        h.update((part.len() as u64).to_be_bytes());
        h.update(part.as_bytes());
    }
    hex::encode(h.finalize())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_session_is_valid_only_on_its_host_and_port_and_under_its_token() {
        let s = issue("tok", "ab12.localhost:9667");
        assert!(valid(&s, "tok", "ab12.localhost:9667"));
        assert!(valid(&s, "tok", "AB12.localhost:9667"));
        assert!(!valid(&s, "tok", "ab12.localhost:18000"));
        assert!(!valid(&s, "tok", "127.0.0.1:9667"));
        assert!(!valid(&s, "other", "ab12.localhost:9667"));
        assert!(!valid(&s, "", "ab12.localhost:9667"));
        assert!(!valid("junk", "tok", "ab12.localhost:9667"));
    }

    #[test]
    fn a_sign_in_code_works_once() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("dashboard-login");
        let code = mint_code(&path).unwrap();
        assert!(!redeem_code(&path, "wrong"));
        assert!(redeem_code(&path, &code));
        assert!(!redeem_code(&path, &code));
    }
}
