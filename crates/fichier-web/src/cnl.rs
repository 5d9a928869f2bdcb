//! The Click'n'Load 2 receiver (`127.0.0.1:9666`): the JDownloader endpoints a web page posts
//! links to, with the `addcrypted2` key read from `jk` by a strict pattern, never executed
//! (pyLoad ran it as JavaScript: CVE-2023-0297).
//!
//! Everything received goes to the [`Inbox`](crate::inbox::Inbox), which decides whether the
//! page's origin may queue directly or must wait for approval in the dashboard.

use std::sync::{Arc, LazyLock};

use aes::cipher::{BlockModeDecrypt as _, KeyIvInit as _, block_padding::NoPadding};
use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use base64::Engine as _;
use regex::Regex;

use crate::inbox::Batch;
use crate::state::App;

/// The largest request body the receiver reads; a page sending more is refused with 413.
pub const MAX_BODY: usize = 256 * 1024;
/// The most links one request may carry.
pub const MAX_LINKS: usize = 1000;
/// The longest link kept; longer lines are refused as a whole request.
pub const MAX_LINK_LEN: usize = 2048;

type Aes128CbcDec = cbc::Decryptor<aes::Aes128>;

/// The only accepted shape of `jk`: a function returning 32 hex digits in quotes, nothing else
/// (ASCII blanks only, so no look-alike characters slip through).
static JK_PATTERN: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r#"^[ \t\r\n]*function[ \t\r\n]+f[ \t\r\n]*\([ \t\r\n]*\)[ \t\r\n]*\{[ \t\r\n]*return[ \t\r\n]*(?:'([0-9a-fA-F]{32})'|"([0-9a-fA-F]{32})")[ \t\r\n]*;?[ \t\r\n]*\}[ \t\r\n]*$"#,
    )
    .expect("static pattern")
});

/// Why a Click'n'Load request was refused; the text after `failed ` in the reply.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CnlError {
    /// `jk` (or `k`) is missing or not of the accepted form.
    #[error("the key (jk) is not of the form function f(){{ return '<32 hex digits>'; }}")]
    BadKey,
    /// `crypted` is missing, not base64, or not whole AES blocks.
    #[error("crypted is not base64 of whole 16-byte blocks")]
    BadCrypted,
    /// The plain text is not UTF-8 (wrong key, most likely).
    #[error("the decrypted links are not text (wrong key?)")]
    NotText,
    /// No link in the request.
    #[error("no link in the request")]
    NoLinks,
    /// Too many or too long links.
    #[error("too many links (at most {MAX_LINKS}) or a link over {MAX_LINK_LEN} characters")]
    TooMany,
}

/// Reads the 16-byte key from a `jk` value, or refuses it.
pub fn key_from_jk(jk: &str) -> Result<[u8; 16], CnlError> {
    let caps = JK_PATTERN.captures(jk).ok_or(CnlError::BadKey)?;
    let hex_key = caps
        .get(1)
        .or_else(|| caps.get(2))
        .ok_or(CnlError::BadKey)?;
    key_from_hex(hex_key.as_str())
}

/// Reads the key from `k`: 32 hex digits alone, or the same function form as `jk`.
pub fn key_from_k(k: &str) -> Result<[u8; 16], CnlError> {
    let k = k.trim_matches([' ', '\t', '\r', '\n']);
    if k.len() == 32 && k.bytes().all(|b| b.is_ascii_hexdigit()) {
        key_from_hex(k)
    } else {
        key_from_jk(k)
    }
}

fn key_from_hex(text: &str) -> Result<[u8; 16], CnlError> {
    let mut key = [0u8; 16];
    hex::decode_to_slice(text, &mut key).map_err(|_| CnlError::BadKey)?;
    Ok(key)
}

/// Decrypts `crypted` (base64; a blank stands for the `+` a form encoding turned into a space;
/// line breaks are dropped) with AES-128-CBC, IV = key, and returns one link a line.
pub fn decrypt_links(crypted: &str, key: &[u8; 16]) -> Result<Vec<String>, CnlError> {
    let cleaned: String = crypted
        .chars()
        .filter(|c| !matches!(c, '\r' | '\n'))
        .map(|c| if c == ' ' || c == '\t' { '+' } else { c })
        .collect();
    let mut data = base64::engine::general_purpose::STANDARD
        .decode(cleaned.as_bytes())
        .map_err(|_| CnlError::BadCrypted)?;
    if data.is_empty() || !data.len().is_multiple_of(16) {
        return Err(CnlError::BadCrypted);
    }
    let plain = Aes128CbcDec::new(key.into(), key.into())
        .decrypt_padded::<NoPadding>(&mut data)
        .map_err(|_| CnlError::BadCrypted)?;
    // The sender pads with NULs to the block size.
    let end = plain.iter().rposition(|b| *b != 0).map_or(0, |i| i + 1);
    let text = std::str::from_utf8(&plain[..end]).map_err(|_| CnlError::NotText)?;
    split_links(text)
}

/// What a Click'n'Load page sends: the links one a line, NUL-padded to whole blocks,
/// AES-128-CBC with IV = key, base64. For tests and tools that hand links over.
pub fn encrypt_links(links: &[&str], key: &[u8; 16]) -> String {
    use aes::cipher::BlockModeEncrypt as _;
    let mut buf = links.join("\r\n").into_bytes();
    let padded = buf.len().div_ceil(16).max(1) * 16;
    buf.resize(padded, 0);
    let n = buf.len();
    let ct = cbc::Encryptor::<aes::Aes128>::new(key.into(), key.into())
        .encrypt_padded::<NoPadding>(&mut buf, n)
        .map(<[u8]>::to_vec)
        .unwrap_or_default();
    base64::engine::general_purpose::STANDARD.encode(ct)
}

/// One link a line (CR, LF, or both), blanks trimmed, empty lines dropped, bounded.
pub fn split_links(text: &str) -> Result<Vec<String>, CnlError> {
    let links: Vec<String> = text
        .split(['\r', '\n'])
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(str::to_owned)
        .collect();
    if links.is_empty() {
        return Err(CnlError::NoLinks);
    }
    if links.len() > MAX_LINKS || links.iter().any(|l| l.len() > MAX_LINK_LEN) {
        return Err(CnlError::TooMany);
    }
    Ok(links)
}

/// The form fields of a request, whatever its content type claims (pages send both
/// `application/x-www-form-urlencoded` and `text/plain`); the first value of a field wins.
fn fields(body: &[u8]) -> Vec<(String, String)> {
    url::form_urlencoded::parse(body).into_owned().collect()
}

fn field<'a>(fields: &'a [(String, String)], name: &str) -> Option<&'a str> {
    fields
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

/// The page that sent the request: its `Origin`, else the origin of its `Referer`, else
/// `local (no origin)` (a program on this machine, not a browser page).
pub fn page_origin(headers: &HeaderMap) -> String {
    let from_url = |v: &HeaderValue| {
        let text = v.to_str().ok()?;
        if text == "null" {
            return Some("null".to_owned());
        }
        let url = url::Url::parse(text).ok()?;
        Some(url.origin().ascii_serialization())
    };
    headers
        .get(header::ORIGIN)
        .and_then(from_url)
        .or_else(|| headers.get(header::REFERER).and_then(from_url))
        .unwrap_or_else(|| crate::inbox::LOCAL.to_owned())
}

/// The receiver's routes; the host check and security headers are layered on by the caller.
pub fn router(app: Arc<App>) -> Router {
    Router::new()
        .route("/jdcheck.js", get(jdcheck))
        .route("/crossdomain.xml", get(crossdomain))
        .route("/flash", get(flash).post(flash))
        .route("/flash/", get(flash).post(flash))
        .route("/flash/add", post(add))
        .route("/flash/addcrypted2", post(addcrypted2))
        .layer(DefaultBodyLimit::max(MAX_BODY))
        .with_state(app)
}

fn text(status: StatusCode, content_type: &'static str, body: String) -> Response {
    (status, [(header::CONTENT_TYPE, content_type)], body).into_response()
}

async fn jdcheck() -> Response {
    text(
        StatusCode::OK,
        "text/javascript; charset=utf-8",
        "jdownloader=true;\nvar version='fichier';\n".to_owned(),
    )
}

async fn crossdomain() -> Response {
    // Flash-era pages ask for it; the receiver's answers hold nothing secret.
    text(
        StatusCode::OK,
        "text/xml; charset=utf-8",
        "<?xml version=\"1.0\"?>\n<!DOCTYPE cross-domain-policy SYSTEM \
         \"http://www.macromedia.com/xml/dtds/cross-domain-policy.dtd\">\n\
         <cross-domain-policy>\n<allow-access-from domain=\"*\" />\n</cross-domain-policy>\n"
            .to_owned(),
    )
}

async fn flash() -> Response {
    text(
        StatusCode::OK,
        "text/plain; charset=utf-8",
        "JDownloader\r\n".to_owned(),
    )
}

fn reply(result: Result<(), impl std::fmt::Display>) -> Response {
    let body = match result {
        Ok(()) => "success\r\n".to_owned(),
        Err(why) => format!("failed {why}\r\n"),
    };
    text(StatusCode::OK, "text/plain; charset=utf-8", body)
}

async fn add(State(app): State<Arc<App>>, headers: HeaderMap, body: Bytes) -> Response {
    let f = fields(&body);
    let links = match split_links(field(&f, "urls").unwrap_or_default()) {
        Ok(l) => l,
        Err(e) => return reply(Err(e)),
    };
    let batch = batch_from(&f, &headers, links);
    reply(app.inbox.receive(batch).await)
}

async fn addcrypted2(State(app): State<Arc<App>>, headers: HeaderMap, body: Bytes) -> Response {
    let f = fields(&body);
    let key = match (field(&f, "jk"), field(&f, "k")) {
        (Some(jk), _) if !jk.is_empty() => key_from_jk(jk),
        (_, Some(k)) => key_from_k(k),
        _ => Err(CnlError::BadKey),
    };
    let links = key.and_then(|key| decrypt_links(field(&f, "crypted").unwrap_or_default(), &key));
    match links {
        Ok(links) => {
            let batch = batch_from(&f, &headers, links);
            reply(app.inbox.receive(batch).await)
        }
        Err(e) => reply(Err(e)),
    }
}

fn batch_from(f: &[(String, String)], headers: &HeaderMap, links: Vec<String>) -> Batch {
    // A page's text ends up in the queue, the log and the hooks' environment: no control
    // characters (CVE-2025-61773 was injection through these fields), bounded length.
    let short = |name: &str| {
        field(f, name)
            .map(|v| {
                v.chars()
                    .filter(|c| !c.is_control())
                    .take(200)
                    .collect::<String>()
                    .trim()
                    .to_owned()
            })
            .filter(|v| !v.is_empty())
    };
    Batch {
        origin: page_origin(headers),
        links,
        package: short("package"),
        source: short("source"),
        dir: short("dir"),
        comment: short("comment"),
        has_passwords: field(f, "passwords").is_some_and(|p| !p.trim().is_empty()),
    }
}

#[cfg(test)]
mod tests {
    use aes::cipher::BlockModeEncrypt as _;

    use super::*;

    const KEY_HEX: &str = "31323334353637383930616263646566";

    /// Encrypts the way a Click'n'Load page does: NUL-padded, AES-128-CBC, IV = key, base64.
    fn encrypt(plain: &str, key: &[u8; 16]) -> String {
        let mut buf = plain.as_bytes().to_vec();
        let padded = buf.len().div_ceil(16).max(1) * 16;
        buf.resize(padded, 0);
        let n = buf.len();
        let ct = cbc::Encryptor::<aes::Aes128>::new(key.into(), key.into())
            .encrypt_padded::<NoPadding>(&mut buf, n)
            .expect("whole blocks")
            .to_vec();
        base64::engine::general_purpose::STANDARD.encode(ct)
    }

    fn key() -> [u8; 16] {
        let mut k = [0u8; 16];
        hex::decode_to_slice(KEY_HEX, &mut k).unwrap();
        k
    }

    #[test]
    fn the_canonical_jk_gives_the_key() {
        let jk = format!("function f(){{ return '{KEY_HEX}'; }}");
        assert_eq!(key_from_jk(&jk), Ok(key()));
        let tight = format!("function f(){{return \"{KEY_HEX}\"}}");
        assert_eq!(key_from_jk(&tight), Ok(key()));
        assert_eq!(key_from_k(KEY_HEX), Ok(key()));
    }

    #[test]
    fn hostile_jk_strings_are_refused() {
        let hostile = [
            // The pyLoad CVE-2023-0297 payload shape: code instead of a constant.
            "pyimport os;os.system('touch /tmp/pwned');f=function f2(){};".to_owned(),
            format!("function f(){{ return '{KEY_HEX}'; }} alert(1)"),
            format!("function f(){{ alert(1); return '{KEY_HEX}'; }}"),
            format!("function f(){{ return '{KEY_HEX}' + x; }}"),
            format!("function g(){{ return '{KEY_HEX}'; }}"),
            "function f(){ return '3132333435363738393061626364656'; }".to_owned(),
            "function f(){ return '313233343536373839306162636465666'; }".to_owned(),
            "function f(){ return '3132333435363738393061626364656z'; }".to_owned(),
            format!("function f(){{ return '{KEY_HEX}\"; }}"),
            // Unicode look-alikes: a non-breaking space, full-width digits, Arabic-Indic digits.
            format!("function\u{a0}f(){{ return '{KEY_HEX}'; }}"),
            "function f(){ return '３１３２３３３４３５３６３７３８３９３０６１６２６３６４６５６６'; }"
                .to_owned(),
            "function f(){ return '٣١٣٢٣٣٣٤٣٥٣٦٣٧٣٨٣٩٣٠٦١٦٢٦٣٦٤٦٥٦٦'; }".to_owned(),
            format!("function f(){{ return '{KEY_HEX}'; }}\n;function f(){{}}"),
            String::new(),
            "return 1".to_owned(),
        ];
        for jk in &hostile {
            assert_eq!(key_from_jk(jk), Err(CnlError::BadKey), "accepted {jk:?}");
        }
        assert_eq!(key_from_k("not hex"), Err(CnlError::BadKey));
    }

    #[test]
    fn links_round_trip_through_the_cipher() {
        let plain =
            "https://1fichier.com/?abc123\r\nhttps://example.org/x\n\nhttps://megadl.fr/?zz";
        let crypted = encrypt(plain, &key());
        let links = decrypt_links(&crypted, &key()).unwrap();
        assert_eq!(
            links,
            [
                "https://1fichier.com/?abc123",
                "https://example.org/x",
                "https://megadl.fr/?zz"
            ]
        );
    }

    #[test]
    fn a_plus_turned_into_a_blank_by_the_form_encoding_still_decodes() {
        // Find a plain text whose cipher text has a '+' in its base64.
        let mut found = None;
        for i in 0..200 {
            let plain = format!("https://1fichier.com/?file{i}");
            let crypted = encrypt(&plain, &key());
            if crypted.contains('+') {
                found = Some((plain, crypted));
                break;
            }
        }
        let (plain, crypted) = found.expect("some cipher text has a '+'");
        let mangled = crypted.replace('+', " ");
        assert_eq!(decrypt_links(&mangled, &key()).unwrap(), [plain]);
    }

    #[test]
    fn bad_cipher_texts_are_refused() {
        assert_eq!(decrypt_links("", &key()), Err(CnlError::BadCrypted));
        assert_eq!(decrypt_links("!!!!", &key()), Err(CnlError::BadCrypted));
        // 15 bytes: not a whole block.
        let short = base64::engine::general_purpose::STANDARD.encode([7u8; 15]);
        assert_eq!(decrypt_links(&short, &key()), Err(CnlError::BadCrypted));
        // Decrypted with the wrong key: bytes that are not text, or nothing usable.
        let crypted = encrypt("https://1fichier.com/?abc", &key());
        let wrong = [9u8; 16];
        assert!(decrypt_links(&crypted, &wrong).is_err());
    }

    #[test]
    fn link_lists_are_bounded() {
        let many = "https://1fichier.com/?a\n".repeat(MAX_LINKS + 1);
        assert_eq!(split_links(&many), Err(CnlError::TooMany));
        let long = format!("https://1fichier.com/?{}", "a".repeat(MAX_LINK_LEN));
        assert_eq!(split_links(&long), Err(CnlError::TooMany));
        assert_eq!(split_links(" \n \r\n"), Err(CnlError::NoLinks));
    }

    #[test]
    fn page_fields_lose_control_characters_and_length() {
        let body = format!(
            "package=a%1b%5b31mb%0a%0dc&comment={}&dir=..%2F..%2Fetc",
            "x".repeat(300)
        );
        let f = fields(body.as_bytes());
        let b = batch_from(&f, &HeaderMap::new(), vec![]);
        assert_eq!(b.package.as_deref(), Some("a[31mbc"));
        assert_eq!(b.comment.map(|c| c.len()), Some(200));
        // Shown only: the target folder never comes from the page.
        assert_eq!(b.dir.as_deref(), Some("../../etc"));
    }

    #[test]
    fn the_origin_comes_from_the_browser_headers() {
        let mut h = HeaderMap::new();
        assert_eq!(page_origin(&h), "local (no origin)");
        h.insert(
            header::REFERER,
            HeaderValue::from_static("http://127.0.0.1:8123/page.html?x=1"),
        );
        assert_eq!(page_origin(&h), "http://127.0.0.1:8123");
        h.insert(
            header::ORIGIN,
            HeaderValue::from_static("https://links.example"),
        );
        assert_eq!(page_origin(&h), "https://links.example");
    }
}
