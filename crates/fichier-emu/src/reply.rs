//! Reply helpers shared by every handler: the per-request [`Ctx`] of the JSON API, JSON and
//! HTML answers, the bearer key of a request, and the service's fixed refusal texts.

use std::net::IpAddr;

use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::Value;

use crate::model::Account;
use crate::params::Params;

/// Answer to a key that is not known.
pub const NO_SUCH_USER: &str = "No such user #93";
/// Answer when no key is sent.
pub const NOT_AUTHENTICATED: &str = "Not authenticated #0";
/// Answer to a free account's key.
pub const NOT_CUSTOMER: &str = "Must be a customer (Premium, Access) #200";

/// What a handler gets: the caller, its IP, and the request fields.
#[derive(Debug)]
pub struct Ctx {
    /// Authenticated caller.
    pub acct: Account,
    /// Client IP.
    pub ip: IpAddr,
    /// Request body fields.
    pub p: Params,
}

/// JSON answer with the service's content type; indented when `pretty` was asked.
pub fn json_response(status: StatusCode, v: &Value, pretty: bool) -> Response {
    let text = if pretty {
        serde_json::to_string_pretty(v)
    } else {
        serde_json::to_string(v)
    }
    .unwrap_or_else(|_| "{}".into());
    let mut resp = (status, text).into_response();
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json; charset=utf-8"),
    );
    resp
}

/// The bearer key of a request, if any.
pub fn bearer(headers: &HeaderMap) -> Option<String> {
    let v = headers.get(header::AUTHORIZATION)?.to_str().ok()?.trim();
    let (scheme, rest) = v.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| rest.trim().to_string())
        .filter(|k| !k.is_empty())
}

/// An HTML page with this text (what the website answers outside the JSON API).
pub fn page(status: StatusCode, text: &str) -> Response {
    let mut r = (status, format!("<html><body>{text}</body></html>")).into_response();
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    r
}

/// Answer for an expired or used token (410, HTML).
pub fn expired() -> Response {
    page(
        StatusCode::GONE,
        "Download link expired: ask download/get_token.cgi for a new one",
    )
}
