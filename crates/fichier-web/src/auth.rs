//! Who may talk to the dashboard: a session cookie for the page's own `*.localhost` name
//! (signed in with `fichier dashboard`'s one-time code) or the access token in a header, the
//! CSRF token on every state change, the `Host` check against loopback names (DNS
//! rebinding), the refusals (JSON for the API), and the security headers of every answer.

use std::net::IpAddr;
use std::path::Path;
use std::sync::Arc;

use axum::body::{Body, to_bytes};
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};

pub use crate::session::random_token;
use crate::session::{self, Authorised, same};
use crate::state::App;

/// Header a script sends the access token in (the page uses the session cookie).
pub const TOKEN_HEADER: &str = "x-dashboard-token";
/// Header a script (and the page's own JS) sends the CSRF token in.
pub const CSRF_HEADER: &str = "x-csrf-token";
/// Form field the no-JS forms send the CSRF token in.
pub const CSRF_FIELD: &str = "csrf";
/// Largest form body the guard reads to find the CSRF field.
const MAX_FORM: usize = 1024 * 1024;
/// Where `fichier dashboard`'s one-time link lands.
pub const LOGIN_PATH: &str = "/login";

/// The policy for every page: scripts and styles only from files this server serves.
pub const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; \
                       connect-src 'self'; form-action 'self'; frame-ancestors 'none'; \
                       base-uri 'none'";

/// Writes a fresh access token to `path` (mode `0600`, replaced atomically) and returns it.
/// Sessions and scripts holding the previous token stop working.
pub fn mint_token(path: &Path) -> std::io::Result<String> {
    let token = random_token();
    fichier_state::write_private(path, token.as_bytes())?;
    Ok(token)
}

/// The current access token, minting one when there is none yet.
pub fn load_or_mint_token(path: &Path) -> std::io::Result<String> {
    match std::fs::read_to_string(path) {
        Ok(t) if t.trim().len() >= 32 => Ok(t.trim().to_owned()),
        Ok(_) => mint_token(path),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => mint_token(path),
        Err(e) => Err(e),
    }
}

/// Whether the `Host` header names this server by a loopback name (`localhost`, a
/// `*.localhost` name, a loopback address), or the address given with `--listen` (any
/// address literal for a wildcard `--listen`), so a rebinding DNS name pointing at 127.0.0.1
/// is refused.
pub fn host_allowed(headers: &HeaderMap, port: u16, listen: IpAddr) -> bool {
    let Some(host) = headers.get(header::HOST).and_then(|h| h.to_str().ok()) else {
        return false;
    };
    let Ok(authority) = host.parse::<axum::http::uri::Authority>() else {
        return false;
    };
    if authority.port_u16().is_some_and(|p| p != port) {
        return false;
    }
    let name = authority.host();
    // The project's one rule for loopback names (the emulator's admin routes use it too).
    if fichier_listen::is_loopback_host(name) {
        return true;
    }
    let bare = name.trim_start_matches('[').trim_end_matches(']');
    match bare.parse::<IpAddr>() {
        // An address literal cannot be a rebinding attack (that needs a DNS name); on a
        // wildcard bind any of the machine's addresses may be used.
        Ok(ip) => ip == listen || listen.is_unspecified(),
        Err(_) => false,
    }
}

/// Every value of our session cookie: another server on the same host name may have set a
/// look-alike, which must not shadow the real one.
fn session_cookies(headers: &HeaderMap) -> impl Iterator<Item = &str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .filter(|(k, _)| *k == session::COOKIE)
        .map(|(_, v)| v)
}

/// Scripts send the access token in their own header, not `Authorization` (which in this
/// workspace only ever carries the API key, built by `ApiKey::authorize`).
fn header_token(headers: &HeaderMap) -> Option<String> {
    headers
        .get(TOKEN_HEADER)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
}

fn query_param(uri: &Uri, name: &str) -> Option<String> {
    url::form_urlencoded::parse(uri.query()?.as_bytes())
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
}

/// Why a request was refused, for the page's script: it reacts to `signed-out` (sign in
/// again) and `csrf` (fetch the token again) without the person's help.
#[derive(Clone, Copy, Debug)]
enum Refusal {
    Host,
    SignedOut,
    CrossSite,
    Csrf,
    TooLarge,
}

impl Refusal {
    fn status(self) -> StatusCode {
        match self {
            Refusal::Host => StatusCode::MISDIRECTED_REQUEST,
            Refusal::SignedOut => StatusCode::UNAUTHORIZED,
            Refusal::CrossSite | Refusal::Csrf => StatusCode::FORBIDDEN,
            Refusal::TooLarge => StatusCode::PAYLOAD_TOO_LARGE,
        }
    }

    fn reason(self) -> &'static str {
        match self {
            Refusal::Host => "host",
            Refusal::SignedOut => "signed-out",
            Refusal::CrossSite => "cross-site",
            Refusal::Csrf => "csrf",
            Refusal::TooLarge => "too-large",
        }
    }
}

/// The refusal as the caller reads it: JSON `{"error", "reason"}` for the API (the page's
/// script shows the message), an escaped page for everything else.
fn refuse(path: &str, why: Refusal, message: &str) -> Response {
    if path.starts_with("/api/") {
        return (
            why.status(),
            axum::Json(serde_json::json!({ "error": message, "reason": why.reason() })),
        )
            .into_response();
    }
    let body = format!(
        "<!doctype html><meta charset=utf-8><title>fichier: refused</title>\
         <link rel=stylesheet href=/static/style.css><main><h1>Refused</h1><p>{}</p></main>",
        crate::html::escape(message)
    );
    (
        why.status(),
        [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
        body,
    )
        .into_response()
}

/// Refuses a request whose `Host` is not a loopback name of this server (both listeners).
pub async fn check_host(
    State((port, listen)): State<(u16, IpAddr)>,
    req: Request,
    next: Next,
) -> Response {
    if !host_allowed(req.headers(), port, listen) {
        return refuse(
            req.uri().path(),
            Refusal::Host,
            "This server answers only to its loopback address (Host header refused).",
        );
    }
    next.run(req).await
}

/// `GET /login?code=…`: trades `fichier dashboard`'s one-time code for a session cookie. On a
/// plain loopback name it first moves to a fresh secret `*.localhost` name, so the cookie
/// is kept for that name alone: cookies ignore ports, and every other server on 127.0.0.1
/// (or `localhost`) would otherwise receive it.
fn login(app: &App, req: &Request, token: &str) -> Response {
    let path = req.uri().path();
    let code = query_param(req.uri(), "code").unwrap_or_default();
    let host = req
        .headers()
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let name = host
        .parse::<axum::http::uri::Authority>()
        .map(|a| a.host().to_ascii_lowercase())
        .unwrap_or_default();
    let plain_loopback = name == "localhost"
        || name
            .trim_start_matches('[')
            .trim_end_matches(']')
            .parse::<IpAddr>()
            .is_ok_and(|ip| ip.is_loopback());
    if plain_loopback {
        let label = &random_token()[..20];
        let q = url::form_urlencoded::Serializer::new(String::new())
            .append_pair("code", &code)
            .finish();
        return Redirect::to(&format!(
            "http://{label}.localhost:{}{LOGIN_PATH}?{q}",
            app.port
        ))
        .into_response();
    }
    if !session::redeem_code(&app.login_path, &code) {
        return refuse(
            path,
            Refusal::SignedOut,
            "This sign-in link was used already or is more than two minutes old. Run \
             `fichier dashboard` for a fresh one.",
        );
    }
    let mut resp = Redirect::to("/").into_response();
    let cookie = format!(
        "{}={}; Path=/; HttpOnly; SameSite=Strict",
        session::COOKIE,
        session::issue(token, &host)
    );
    if let Ok(v) = HeaderValue::from_str(&cookie) {
        resp.headers_mut().insert(header::SET_COOKIE, v);
    }
    resp
}

/// The dashboard's gate: a session cookie for this very host name (or the token in
/// `X-Dashboard-Token`), then the CSRF token on anything that is not a read.
pub async fn guard(State(app): State<Arc<App>>, mut req: Request, next: Next) -> Response {
    let current = session::current_token(&app.token_path);
    let path = req.uri().path().to_owned();
    // The style sheet is public so that the refusal page itself is readable.
    if path == "/static/style.css" {
        return next.run(req).await;
    }
    if path == LOGIN_PATH {
        return login(&app, &req, &current);
    }
    let host = req
        .headers()
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let by_session = session_cookies(req.headers()).any(|v| session::valid(v, &current, host));
    let by_header = header_token(req.headers()).is_some_and(|t| same(&t, &current));
    if !(by_session || by_header) {
        return refuse(
            &path,
            Refusal::SignedOut,
            "Not signed in, or signed out by a newer `fichier dashboard` link. \
                             Run `fichier dashboard` to open the dashboard again.",
        );
    }
    req.extensions_mut().insert(Authorised { token: current });
    if req.method() == Method::GET || req.method() == Method::HEAD {
        return next.run(req).await;
    }
    // A state change: same-origin only, and the CSRF token.
    if !same_origin(req.headers()) {
        let h = |name: &str| {
            req.headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .unwrap_or("-")
                .to_owned()
        };
        return refuse(
            &path,
            Refusal::CrossSite,
            &format!(
                "Cross-site request refused (Origin {}, Sec-Fetch-Site {}, Host {}).",
                h("origin"),
                h("sec-fetch-site"),
                h("host")
            ),
        );
    }
    let header_csrf = req
        .headers()
        .get(CSRF_HEADER)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
        .or_else(|| query_param(req.uri(), CSRF_FIELD));
    if header_csrf.is_some_and(|t| same(&t, &app.csrf)) {
        return next.run(req).await;
    }
    let is_form = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
    if is_form {
        let (parts, body) = req.into_parts();
        let Ok(bytes) = to_bytes(body, MAX_FORM).await else {
            return refuse(&path, Refusal::TooLarge, "Form too large.");
        };
        let ok = url::form_urlencoded::parse(&bytes)
            .find(|(k, _)| k == CSRF_FIELD)
            .is_some_and(|(_, v)| same(&v, &app.csrf));
        if ok {
            return next
                .run(Request::from_parts(parts, Body::from(bytes)))
                .await;
        }
    }
    refuse(
        &path,
        Refusal::Csrf,
        "CSRF token missing or stale (the dashboard restarted): reload the page and try again.",
    )
}

/// A browser says where a request comes from; anything but this origin is refused. Clients
/// that send neither header (scripts) rely on the token and CSRF token alone.
fn same_origin(headers: &HeaderMap) -> bool {
    if let Some(site) = headers.get("sec-fetch-site").and_then(|v| v.to_str().ok())
        && site != "same-origin"
        && site != "none"
    {
        return false;
    }
    match headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()) {
        None => true,
        Some(origin) => {
            let host = headers.get(header::HOST).and_then(|v| v.to_str().ok());
            url::Url::parse(origin).ok().is_some_and(|u| {
                let authority = match u.port() {
                    Some(p) => format!("{}:{p}", u.host_str().unwrap_or_default()),
                    None => u.host_str().unwrap_or_default().to_owned(),
                };
                host.is_some_and(|h| h.eq_ignore_ascii_case(&authority))
            })
        }
    }
}

/// Adds the security headers to every answer of both listeners.
pub async fn security_headers(req: Request, next: Next) -> Response {
    let mut resp = next.run(req).await;
    let h = resp.headers_mut();
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CSP),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    // `same-origin`, not `no-referrer`: with the latter Chromium sends `Origin: null` on the
    // page's own form posts, which the same-origin check must refuse.
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    if !h.contains_key(header::CACHE_CONTROL) {
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    resp
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with_host(h: &str) -> HeaderMap {
        let mut m = HeaderMap::new();
        m.insert(header::HOST, HeaderValue::from_str(h).unwrap());
        m
    }

    #[test]
    fn loopback_names_pass_the_host_check_and_others_do_not() {
        let lo: IpAddr = "127.0.0.1".parse().unwrap();
        for ok in [
            "127.0.0.1:9667",
            "localhost:9667",
            "[::1]:9667",
            "LOCALHOST",
            "a1b2c3.localhost:9667",
        ] {
            assert!(host_allowed(&with_host(ok), 9667, lo), "{ok}");
        }
        for bad in [
            "evil.example:9667",
            "127.0.0.1:80",
            "localhost.evil.example:9667",
            "127.0.0.1.nip.io:9667",
            "a.b.localhost:9667",
            ".localhost:9667",
            "",
        ] {
            assert!(!host_allowed(&with_host(bad), 9667, lo), "{bad}");
        }
        assert!(!host_allowed(&HeaderMap::new(), 9667, lo));
        let lan: IpAddr = "192.168.1.5".parse().unwrap();
        assert!(host_allowed(&with_host("192.168.1.5:9667"), 9667, lan));
        assert!(!host_allowed(&with_host("192.168.1.6:9667"), 9667, lan));
    }

    #[test]
    fn the_token_file_is_private_and_fresh_each_mint() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("dashboard-token");
        let a = load_or_mint_token(&path).unwrap();
        assert_eq!(load_or_mint_token(&path).unwrap(), a);
        let b = mint_token(&path).unwrap();
        assert_ne!(a, b);
        assert_eq!(b.len(), 64);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
    }

    #[test]
    fn cross_site_state_changes_are_refused() {
        let mut h = with_host("127.0.0.1:9667");
        assert!(same_origin(&h));
        h.insert(
            header::ORIGIN,
            HeaderValue::from_static("http://127.0.0.1:9667"),
        );
        assert!(same_origin(&h));
        h.insert(
            header::ORIGIN,
            HeaderValue::from_static("http://127.0.0.1:8000"),
        );
        assert!(!same_origin(&h));
        let mut h = with_host("127.0.0.1:9667");
        h.insert("sec-fetch-site", HeaderValue::from_static("cross-site"));
        assert!(!same_origin(&h));
    }
}
