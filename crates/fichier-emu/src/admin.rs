//! Admin HTTP routes under `/admin` (loopback clients only): accounts, limits, fault plan,
//! request log. The same operations exist as `fichier-emu` subcommands.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use axum::extract::{ConnectInfo, Request, State};
use axum::http::StatusCode;
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
        .layer(axum::middleware::from_fn(loopback_only))
}

async fn loopback_only(req: Request, next: Next) -> Response {
    let ok = req
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .is_some_and(|c| c.0.ip().is_loopback());
    if !ok {
        return crate::error::ko(
            "Admin routes are only served to loopback clients #0",
            StatusCode::FORBIDDEN,
        )
        .into_response();
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
