//! The JSON API under `/api/` (same token and CSRF rules as the pages; documented in
//! `docs/dashboard.md`), and the add/act code the no-JS forms share with it. Handlers answer
//! `Result<Json<_>, WebError>`: a failure becomes its status and `{"error": …}`.

use std::sync::Arc;

use axum::extract::{Multipart, Path, State};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::actions::add_text;
use crate::error::WebError;
use crate::inbox::InboxView;
use crate::log::Entry;
use crate::queue::{AddReport, Op};
use crate::state::App;

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

type Answer<T = Value> = Result<Json<T>, WebError>;

async fn backups(State(app): State<Arc<App>>) -> Answer {
    let runs = crate::backups::recent(&app).await?;
    Ok(Json(json!({ "runs": runs })))
}

async fn csrf(State(app): State<Arc<App>>) -> Json<Value> {
    Json(json!({ "csrf": app.csrf }))
}

async fn queue(State(app): State<Arc<App>>) -> Answer {
    let version = app.queue.version().await?;
    let items = app.queue.list().await?;
    Ok(Json(json!({ "version": version, "items": items })))
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

async fn add(State(app): State<Arc<App>>, Json(body): Json<AddBody>) -> Answer<AddReport> {
    let mut links = body.links;
    if let Some(t) = &body.text {
        links.extend(crate::actions::link_lines(t));
    }
    let report = add_text(
        &app,
        links,
        body.package,
        body.target.as_deref(),
        "dashboard",
    )
    .await?;
    Ok(Json(report))
}

async fn add_file(State(app): State<Arc<App>>, multipart: Multipart) -> Answer<AddReport> {
    Ok(Json(crate::actions::add_upload(&app, multipart).await?))
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

async fn action(State(app): State<Arc<App>>, Json(body): Json<ActionBody>) -> Answer {
    let changed = if body.op == "clear" {
        crate::actions::clear_done(&app).await?
    } else {
        let op = Op::parse(&body.op).ok_or_else(|| {
            WebError::BadInput(format!(
                "unknown op {:?}: pause, resume, retry, remove, top, bottom or clear",
                body.op
            ))
        })?;
        let id = body.id.map(|i| i.to_string());
        let sel = crate::actions::selector(id.as_deref(), body.package.as_deref(), body.all)?;
        crate::actions::act(&app, op, sel).await?
    };
    Ok(Json(json!({ "changed": changed })))
}

async fn account(State(app): State<Arc<App>>) -> Json<crate::account::AccountView> {
    Json(app.account.view().await)
}

async fn cnl(State(app): State<Arc<App>>) -> Json<InboxView> {
    Json(app.inbox.view())
}

async fn cnl_decide(
    State(app): State<Arc<App>>,
    Path((id, decision)): Path<(u64, String)>,
) -> Result<Response, WebError> {
    match decision.as_str() {
        "approve" => Ok(Json(app.inbox.approve(id).await?).into_response()),
        "refuse" => {
            app.inbox.refuse(id)?;
            Ok(Json(json!({})).into_response())
        }
        other => Err(WebError::BadInput(format!(
            "unknown decision {other:?}: approve or refuse"
        ))),
    }
}

#[derive(Debug, Deserialize)]
struct ForgetBody {
    origin: String,
}

async fn cnl_forget(State(app): State<Arc<App>>, Json(body): Json<ForgetBody>) -> Json<Value> {
    Json(json!({ "forgotten": app.inbox.forget(&body.origin) }))
}

async fn log(State(app): State<Arc<App>>) -> Json<Vec<Entry>> {
    Json(app.log.recent(200))
}
