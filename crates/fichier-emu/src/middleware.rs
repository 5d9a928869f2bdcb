//! Middleware in front of every handler: the fault plan (injected failures and body shaping)
//! and the request log recorder.

use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::extract::{ConnectInfo, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use futures_util::StreamExt;
use tokio::time::Instant;

use crate::error::ko;
use crate::faults::{DiskSpace, Fault};
use crate::limits::IP_LOCKED;
use crate::log::{LoggedRequest, MEMORY_CAP, endpoint_of, masked_key, masked_path};
use crate::reply::expired;
use crate::state::App;
use crate::time;

/// How a response body is delivered.
#[derive(Debug, Clone, Copy, Default)]
struct Shaping {
    rate: Option<u64>,
    cut_after: Option<u64>,
    reset: bool,
}

/// Middleware applying the fault plan.
pub async fn apply(State(app): State<Arc<App>>, mut req: Request, next: Next) -> Response {
    let endpoint = endpoint_of(req.uri().path());
    if endpoint == "admin" {
        return next.run(req).await;
    }
    let (fault, bandwidth) = {
        let mut f = app.faults.lock().unwrap_or_else(|p| p.into_inner());
        // API endpoints are `group/action`; downloads and the node are never locked.
        if endpoint.contains('/')
            && let Some(message) = f.locked()
        {
            return ko(
                message.unwrap_or_else(|| IP_LOCKED.into()),
                StatusCode::FORBIDDEN,
            )
            .into_response();
        }
        let fault = f.take(&endpoint);
        if let Some(Fault::FloodLock { lock_ms, message }) = &fault {
            f.lock_api(*lock_ms, message.clone());
        }
        (fault, f.plan().download_bytes_per_sec)
    };
    let mut shaping = Shaping::default();
    if endpoint == "download" {
        shaping.rate = bandwidth;
    }
    match fault {
        None => {}
        Some(Fault::Flood { message } | Fault::FloodLock { message, .. }) => {
            return ko(
                message.unwrap_or_else(|| IP_LOCKED.into()),
                StatusCode::FORBIDDEN,
            )
            .into_response();
        }
        Some(Fault::Status { status, body }) => {
            let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            return match body {
                Some(text) => (status, text).into_response(),
                None => ko(
                    format!("Injected failure: HTTP {} #0", status.as_u16()),
                    status,
                )
                .into_response(),
            };
        }
        Some(Fault::Ko { message, status }) => {
            let status = status
                .and_then(|s| StatusCode::from_u16(s).ok())
                .unwrap_or(StatusCode::FORBIDDEN);
            return ko(message, status).into_response();
        }
        Some(Fault::MalformedJson) => {
            let mut resp = (
                StatusCode::OK,
                "{\"status\":\"OK\",\"items\":[{\"url\":\"https://1fi",
            )
                .into_response();
            resp.headers_mut().insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json; charset=utf-8"),
            );
            return resp;
        }
        Some(Fault::ExpiredToken) => return expired(),
        Some(Fault::DiskFull { after_bytes }) => {
            req.extensions_mut().insert(DiskSpace(after_bytes));
        }
        Some(Fault::SlowBody { bytes_per_sec }) => shaping.rate = Some(bytes_per_sec.max(1)),
        Some(Fault::Truncate { after_bytes }) => shaping.cut_after = Some(after_bytes),
        Some(Fault::Reset { after_bytes }) => {
            shaping.cut_after = Some(after_bytes);
            shaping.reset = true;
        }
    }
    let resp = next.run(req).await;
    if shaping.rate.is_none() && shaping.cut_after.is_none() {
        return resp;
    }
    let (mut parts, body) = resp.into_parts();
    // Keep the announced length so a truncated body is visible as such to the client.
    if let Some(len) = axum::body::HttpBody::size_hint(&body).exact()
        && !parts.headers.contains_key(header::CONTENT_LENGTH)
    {
        parts
            .headers
            .insert(header::CONTENT_LENGTH, HeaderValue::from(len));
    }
    Response::from_parts(parts, shape(body, shaping))
}

fn shape(body: Body, sh: Shaping) -> Body {
    struct St {
        inner: axum::body::BodyDataStream,
        pending: Bytes,
        sent: u64,
        start: Instant,
        done: bool,
    }
    let st = St {
        inner: body.into_data_stream(),
        pending: Bytes::new(),
        sent: 0,
        start: Instant::now(),
        done: false,
    };
    let stream = futures_util::stream::unfold((st, sh), |(mut st, sh)| async move {
        if st.done {
            return None;
        }
        if st.pending.is_empty() {
            match st.inner.next().await {
                Some(Ok(b)) => st.pending = b,
                Some(Err(e)) => {
                    st.done = true;
                    return Some((Err(std::io::Error::other(e)), (st, sh)));
                }
                None => return None,
            }
        }
        let mut take = st.pending.len() as u64;
        if let Some(rate) = sh.rate {
            // Small slices keep the pace smooth instead of one burst per second.
            take = take.min((rate / 20).max(1024));
        }
        if let Some(limit) = sh.cut_after {
            if st.sent >= limit {
                st.done = true;
                if sh.reset {
                    let err = std::io::Error::new(
                        std::io::ErrorKind::ConnectionReset,
                        "fault plan: connection reset",
                    );
                    return Some((Err(err), (st, sh)));
                }
                return None;
            }
            take = take.min(limit - st.sent);
        }
        let chunk = st.pending.split_to(take as usize);
        st.sent += take;
        if let Some(rate) = sh.rate {
            let due = st.start + Duration::from_secs_f64(st.sent as f64 / rate as f64);
            tokio::time::sleep_until(due).await;
        }
        Some((Ok(chunk), (st, sh)))
    });
    Body::from_stream(stream)
}

/// Middleware recording every request.
pub async fn record(State(app): State<Arc<App>>, req: Request, next: Next) -> Response {
    let method = req.method().to_string();
    let path = masked_path(req.uri().path(), req.uri().query());
    let endpoint = endpoint_of(req.uri().path());
    let key = masked_key(
        req.headers()
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok()),
    );
    let ip = req
        .extensions()
        .get::<ConnectInfo<std::net::SocketAddr>>()
        .map(|c| c.0.ip().to_string())
        .unwrap_or_default();
    let received_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .ok();
    let resp = next.run(req).await;
    let entry = LoggedRequest {
        at: time::fmt_date(time::now()),
        ip,
        method,
        path,
        endpoint,
        status: resp.status().as_u16(),
        key,
        received_ms,
    };
    if let Err(e) = app.store.log_request(&entry) {
        tracing::warn!("request log write failed: {e}");
    }
    let mut log = app.log.lock().unwrap_or_else(|p| p.into_inner());
    if log.len() >= MEMORY_CAP {
        log.pop_front();
    }
    log.push_back(entry);
    resp
}
