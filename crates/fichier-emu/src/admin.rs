//! Admin HTTP routes under `/admin` (loopback clients only, same-origin, JSON bodies):
//! accounts, limits, fault plan, request log. The same operations exist as `fichier-emu` subcommands.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use axum::Router;
use axum::extract::{ConnectInfo, Request, State};
use axum::http::{HeaderMap, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::accounts as admin_ops;
use crate::error::Ko;
use crate::faults::FaultPlan;
use crate::limits::Limits;
use crate::model::Offer;
use crate::reply::json_response;
use crate::state::App;

/// Routes mounted at `/admin`.
pub fn router() -> Router<Arc<App>> {
    Router::new()
        .route("/accounts", get(accounts).post(create_account))
        .route(
            "/faults",
            get(get_faults)
                .put(put_faults)
                .post(put_faults)
                .delete(clear_faults),
        )
        .route("/limits", get(get_limits).put(put_limits).post(put_limits))
        .route("/requests", get(requests))
        .layer(axum::middleware::from_fn(guard))
}

/// A loopback client, also when a dual-stack socket shows it as `::ffff:127.0.0.1`.
fn is_loopback_client(ip: IpAddr) -> bool {
    ip.to_canonical().is_loopback()
}

/// Why a request to the admin routes is refused, if it is: a non-loopback client, a `Host`
/// that is not a loopback name (DNS rebinding), a foreign `Origin` (a web page driving the
/// browser of someone on this machine), or a body that is not declared as JSON (what a
/// cross-site form or `text/plain` fetch would send).
fn refusal(peer: Option<IpAddr>, method: &Method, headers: &HeaderMap) -> Option<&'static str> {
    if !peer.is_some_and(is_loopback_client) {
        return Some("Admin routes are only served to loopback clients #0");
    }
    // An Origin equal to the Host proves nothing when the Host is a DNS name the attacker
    // points at 127.0.0.1 (DNS rebinding): the name itself must be a loopback one.
    let host_name = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .and_then(|h| h.parse::<axum::http::uri::Authority>().ok())
        .map(|a| a.host().to_owned());
    if !host_name.is_some_and(|h| fichier_listen::is_loopback_host(&h)) {
        return Some(
            "Admin routes answer only to a loopback Host (127.0.0.1, [::1] or localhost) #0",
        );
    }
    if let Some(origin) = headers.get(header::ORIGIN) {
        let host = headers.get(header::HOST).and_then(|h| h.to_str().ok());
        let same = origin
            .to_str()
            .ok()
            .and_then(|o| url::Url::parse(o).ok())
            .zip(host)
            .is_some_and(|(o, host)| {
                let authority = match o.port() {
                    Some(p) => format!("{}:{p}", o.host_str().unwrap_or_default()),
                    None => o.host_str().unwrap_or_default().to_string(),
                };
                authority.eq_ignore_ascii_case(host)
            });
        if !same {
            return Some(
                "Admin routes refuse cross-origin requests: send them without an Origin header or from the emulator's own origin #0",
            );
        }
    }
    if (method == Method::POST || method == Method::PUT) && !is_json(headers) {
        return Some(
            "Admin routes take JSON: send the body with Content-Type: application/json #0",
        );
    }
    None
}

fn is_json(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|m| {
            let m = m.trim();
            m.eq_ignore_ascii_case("application/json")
                || (m.len() > 17
                    && m[..12].eq_ignore_ascii_case("application/")
                    && m.to_ascii_lowercase().ends_with("+json"))
        })
}

async fn guard(req: Request, next: Next) -> Response {
    let peer = req
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip());
    if let Some(why) = refusal(peer, req.method(), req.headers()) {
        return crate::error::ko(why, StatusCode::FORBIDDEN).into_response();
    }
    next.run(req).await
}

fn ok(v: Value) -> Response {
    json_response(StatusCode::OK, &v, true)
}

async fn accounts(State(app): State<Arc<App>>) -> Response {
    match app.store.accounts() {
        Ok(list) => ok(json!(
            list.iter()
                .map(|a| json!({"id": a.id, "email": a.email, "offer": a.offer.code()}))
                .collect::<Vec<_>>()
        )),
        Err(e) => Ko::from(e).into_response(),
    }
}

#[derive(Deserialize)]
struct NewAccount {
    email: String,
    #[serde(default)]
    offer: Option<String>,
}

/// Create an account; the answer carries the generated (fake) key so a test harness can use it.
async fn create_account(State(app): State<Arc<App>>, body: axum::body::Bytes) -> Response {
    let req: NewAccount = match serde_json::from_slice(&body) {
        Ok(r) => r,
        Err(e) => {
            return Ko::forbidden(format!(
                "Invalid body: expected {{\"email\":…,\"offer\":\"premium\"}} ({e}) #0"
            ))
            .into_response();
        }
    };
    let offer = match req.offer.as_deref().unwrap_or("premium").parse::<Offer>() {
        Ok(o) => o,
        Err(e) => return Ko::forbidden(format!("{e} #0")).into_response(),
    };
    match admin_ops::create_account(&app.store, &req.email, offer, &crate::ids::api_key()) {
        Ok(a) => {
            ok(json!({"id": a.id, "email": a.email, "offer": a.offer.code(), "api_key": a.api_key}))
        }
        Err(e) => Ko::forbidden(format!("{e} #0")).into_response(),
    }
}

async fn get_faults(State(app): State<Arc<App>>) -> Response {
    let plan = app
        .faults
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .plan()
        .clone();
    ok(serde_json::to_value(plan).unwrap_or(Value::Null))
}

async fn put_faults(State(app): State<Arc<App>>, body: axum::body::Bytes) -> Response {
    match serde_json::from_slice::<FaultPlan>(&body) {
        Ok(plan) => {
            app.faults
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .set(plan);
            ok(json!({"status": "OK"}))
        }
        Err(e) => Ko::forbidden(format!("Invalid fault plan: {e} #0")).into_response(),
    }
}

async fn clear_faults(State(app): State<Arc<App>>) -> Response {
    app.faults
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .set(FaultPlan::default());
    ok(json!({"status": "OK"}))
}

async fn get_limits(State(app): State<Arc<App>>) -> Response {
    let l = app.limits.read().unwrap_or_else(|p| p.into_inner()).clone();
    ok(serde_json::to_value(l).unwrap_or(Value::Null))
}

/// Body: `{"preset":"scaled"}` or a full limits object.
async fn put_limits(State(app): State<Arc<App>>, body: axum::body::Bytes) -> Response {
    let v: Value = match serde_json::from_slice(&body) {
        Ok(v) => v,
        Err(e) => return Ko::forbidden(format!("Invalid limits: {e} #0")).into_response(),
    };
    let limits = match v.get("preset").and_then(Value::as_str) {
        Some(name) => match Limits::preset(name) {
            Some(l) => l,
            None => {
                return Ko::forbidden("Unknown preset: use off, scaled or realistic #0")
                    .into_response();
            }
        },
        None => match serde_json::from_value::<Limits>(v) {
            Ok(l) => l,
            Err(e) => return Ko::forbidden(format!("Invalid limits: {e} #0")).into_response(),
        },
    };
    *app.limits.write().unwrap_or_else(|p| p.into_inner()) = limits;
    app.limiter
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .reset();
    ok(json!({"status": "OK"}))
}

async fn requests(State(app): State<Arc<App>>) -> Response {
    let log: Vec<_> = app
        .log
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .iter()
        .cloned()
        .collect();
    ok(serde_json::to_value(log).unwrap_or(Value::Null))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        /// Any Origin, Host and Content-Type: a verdict, never a panic; a foreign origin is
        /// always refused.
        #[test]
        fn any_headers_get_a_verdict(origin in "[ -~]{0,30}", host in "[ -~]{0,20}", ctype in "[ -~]{0,30}") {
            let mut h = HeaderMap::new();
            for (k, v) in [("origin", &origin), ("host", &host), ("content-type", &ctype)] {
                if let Ok(v) = v.parse() {
                    h.insert(k, v);
                }
            }
            let lo = Some("127.0.0.1".parse().unwrap());
            let _ = refusal(lo, &Method::POST, &h);
            h.insert(header::ORIGIN, "http://evil.example".parse().unwrap());
            h.insert(header::HOST, "127.0.0.1:1".parse().unwrap());
            prop_assert!(refusal(lo, &Method::GET, &h).is_some());
        }
    }

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(*k, v.parse().unwrap());
        }
        h
    }

    #[test]
    fn mapped_ipv4_loopback_is_loopback() {
        assert!(is_loopback_client("::ffff:127.0.0.1".parse().unwrap()));
        assert!(is_loopback_client("::1".parse().unwrap()));
        assert!(is_loopback_client("127.0.0.1".parse().unwrap()));
        assert!(!is_loopback_client("::ffff:192.0.2.1".parse().unwrap()));
        assert!(!is_loopback_client("192.0.2.1".parse().unwrap()));
    }

    #[test]
    fn same_origin_json_passes_and_the_rest_is_refused() {
        let lo = Some("127.0.0.1".parse().unwrap());
        let json = [
            ("host", "127.0.0.1:8080"),
            ("content-type", "application/json"),
        ];
        assert_eq!(refusal(lo, &Method::POST, &headers(&json)), None);
        let own = [
            ("host", "127.0.0.1:8080"),
            ("origin", "http://127.0.0.1:8080"),
            ("content-type", "application/json; charset=utf-8"),
        ];
        assert_eq!(refusal(lo, &Method::PUT, &headers(&own)), None);
        let evil = [
            ("host", "127.0.0.1:8080"),
            ("origin", "http://evil.example"),
            ("content-type", "application/json"),
        ];
        assert!(refusal(lo, &Method::POST, &headers(&evil)).is_some());
        assert!(refusal(lo, &Method::GET, &headers(&evil)).is_some());
        let plain = [("host", "127.0.0.1:8080"), ("content-type", "text/plain")];
        assert!(refusal(lo, &Method::POST, &headers(&plain)).is_some());
        let bare = [("host", "localhost")];
        assert!(refusal(lo, &Method::POST, &headers(&bare)).is_some());
        assert_eq!(refusal(lo, &Method::GET, &headers(&bare)), None);
        assert_eq!(refusal(lo, &Method::DELETE, &headers(&bare)), None);
        assert!(refusal(None, &Method::GET, &HeaderMap::new()).is_some());
    }
}
