//! The JSON API under `/api/` (same token and CSRF rules as the pages; documented in
//! `docs/dashboard.md`), and the add/act code the no-JS forms share with it.

use std::sync::Arc;

use axum::extract::{Multipart, Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::json;

use crate::App;
use crate::actions::add_text;
use crate::queue::Op;

/// The API routes.
pub fn router() -> Router<Arc<App>> {
    Router::new()
        .route("/api/csrf", get(csrf))
        .route("/api/queue", get(queue))
        .route("/api/add", post(add))
        .route("/api/add/file", post(add_file))
        .route("/api/action", post(action))
        .route("/api/account", get(account))
        .route("/api/cnl", get(cnl))
        .route("/api/cnl/{id}/{decision}", post(cnl_decide))
        .route("/api/cnl/forget", post(cnl_forget))
        .route("/api/log", get(log))
        .route("/api/backups", get(backups))
        .route("/api/events", get(crate::events::stream))
}

fn bad(message: impl Into<String>) -> Response {
    (
        StatusCode::BAD_REQUEST,
        Json(json!({ "error": message.into() })),
    )
        .into_response()
}

fn answer<T: serde::Serialize>(r: Result<T, String>) -> Response {
    match r {
        Ok(v) => Json(v).into_response(),
        Err(e) => bad(e),
    }
}

async fn backups(State(app): State<Arc<App>>) -> Response {
    answer(
        crate::backups::recent(&app)
            .await
            .map(|runs| json!({ "runs": runs })),
    )
}

async fn csrf(State(app): State<Arc<App>>) -> Response {
    Json(json!({ "csrf": app.csrf })).into_response()
}

async fn queue(State(app): State<Arc<App>>) -> Response {
    let version = app.queue.version().await;
    let items = app.queue.list().await;
    match (version, items) {
        (Ok(v), Ok(items)) => Json(json!({ "version": v, "items": items })).into_response(),
        (Err(e), _) | (_, Err(e)) => bad(e),
    }
}

#[derive(Debug, Deserialize)]
struct AddBody {
    #[serde(default)]
    links: Vec<String>,
    #[serde(default)]
    text: Option<String>,
    #[serde(default)]
    package: Option<String>,
    #[serde(default)]
    target: Option<String>,
}

async fn add(State(app): State<Arc<App>>, Json(body): Json<AddBody>) -> Response {
    let mut links = body.links;
    if let Some(t) = &body.text {
        links.extend(crate::actions::link_lines(t));
    }
    answer(
        add_text(
            &app,
            links,
            body.package,
            body.target.as_deref(),
            "dashboard",
        )
        .await,
    )
}

async fn add_file(State(app): State<Arc<App>>, multipart: Multipart) -> Response {
    answer(crate::actions::add_upload(&app, multipart).await)
}

#[derive(Debug, Deserialize)]
struct ActionBody {
    op: String,
    #[serde(default)]
    id: Option<i64>,
    #[serde(default)]
    package: Option<String>,
    #[serde(default)]
    all: bool,
}

async fn action(State(app): State<Arc<App>>, Json(body): Json<ActionBody>) -> Response {
    if body.op == "clear" {
        return answer(
            crate::actions::clear_done(&app)
                .await
                .map(|n| json!({ "changed": n })),
        );
    }
    let Some(op) = Op::parse(&body.op) else {
        return bad(format!(
            "unknown op {:?}: pause, resume, retry, remove, top, bottom or clear",
            body.op
        ));
    };
    let id = body.id.map(|i| i.to_string());
    let sel = match crate::actions::selector(id.as_deref(), body.package.as_deref(), body.all) {
        Ok(s) => s,
        Err(e) => return bad(e),
    };
    answer(
        crate::actions::act(&app, op, sel)
            .await
            .map(|n| json!({ "changed": n })),
    )
}

async fn account(State(app): State<Arc<App>>) -> Response {
    Json(app.account.view().await).into_response()
}

async fn cnl(State(app): State<Arc<App>>) -> Response {
    Json(app.inbox.view()).into_response()
}

async fn cnl_decide(
    State(app): State<Arc<App>>,
    Path((id, decision)): Path<(u64, String)>,
) -> Response {
    match decision.as_str() {
        "approve" => answer(app.inbox.approve(id).await),
        "refuse" => answer(app.inbox.refuse(id).map(|()| json!({}))),
        other => bad(format!("unknown decision {other:?}: approve or refuse")),
    }
}

#[derive(Debug, Deserialize)]
struct ForgetBody {
    origin: String,
}

async fn cnl_forget(State(app): State<Arc<App>>, Json(body): Json<ForgetBody>) -> Response {
    Json(json!({ "forgotten": app.inbox.forget(&body.origin) })).into_response()
}

async fn log(State(app): State<Arc<App>>) -> Response {
    Json(app.log.recent(200)).into_response()
}
