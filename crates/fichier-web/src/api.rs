//! The JSON API under `/api/` (same token and CSRF rules as the pages; documented in
//! `docs/dashboard.md`), and the add/act code the no-JS forms share with it.

use std::sync::Arc;

use axum::extract::{Multipart, Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use fichier_transfer::queue::Selector;
use serde::Deserialize;
use serde_json::json;

use crate::App;
use crate::queue::{AddReport, Op};

/// The largest uploaded link list (`.txt` or `.crawljob`).
pub const MAX_UPLOAD: usize = 4 * 1024 * 1024;

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

/// Adds text lines from the dashboard (paste box, API).
pub async fn add_text(
    app: &App,
    links: Vec<String>,
    package: Option<String>,
    target: Option<&str>,
    origin: &str,
) -> Result<AddReport, String> {
    if links.is_empty() {
        return Err("no link given: paste one 1fichier link a line".to_owned());
    }
    let target = app.queue.target_dir(target)?;
    let package = package.filter(|p| !p.is_empty());
    let report = app
        .queue
        .add_links(links, Some(target), package, origin.to_owned(), None)
        .await?;
    app.log
        .push(format!("Added from the dashboard: {}", report.summary()));
    Ok(report)
}

/// Adds the links of an uploaded `.txt` or `.crawljob` file (fields `file`, `package`,
/// `target`).
pub async fn add_upload(app: &App, mut multipart: Multipart) -> Result<AddReport, String> {
    let mut file: Option<(String, Vec<u8>)> = None;
    let mut package = None;
    let mut target = None;
    while let Some(field) = multipart
        .next_field()
        .await
        .map_err(|e| format!("upload: {e}"))?
    {
        let name = field.name().unwrap_or_default().to_owned();
        match name.as_str() {
            "file" => {
                let fname = field.file_name().unwrap_or("upload.txt").to_owned();
                let bytes = field.bytes().await.map_err(|e| format!("upload: {e}"))?;
                if bytes.len() > MAX_UPLOAD {
                    return Err(format!(
                        "{fname}: larger than {} MiB; split it",
                        MAX_UPLOAD >> 20
                    ));
                }
                file = Some((fname, bytes.to_vec()));
            }
            "package" => package = Some(field.text().await.map_err(|e| e.to_string())?),
            "target" => target = Some(field.text().await.map_err(|e| e.to_string())?),
            _ => {}
        }
    }
    let (fname, bytes) = file.ok_or("choose a .txt or .crawljob file")?;
    let text = String::from_utf8(bytes).map_err(|_| format!("{fname}: not UTF-8 text"))?;
    let package = package
        .map(|p| p.trim().to_owned())
        .filter(|p| !p.is_empty());
    let target_dir = app.queue.target_dir(target.as_deref())?;
    let origin = format!("dashboard:{fname}");
    let report = if fname.to_ascii_lowercase().ends_with(".crawljob") {
        crate::queue::crawljob_items(&text, &target_dir, package, &origin)
            .map_err(|e| format!("{fname}: {e}"))
            .map(|items| app.queue.add_items(items))?
            .await?
    } else {
        let links = crate::pages::link_lines(&text);
        if links.is_empty() {
            return Err(format!("{fname}: no link in the file"));
        }
        app.queue
            .add_links(links, Some(target_dir), package, origin, None)
            .await?
    };
    app.log
        .push(format!("Added from the file {fname}: {}", report.summary()));
    Ok(report)
}

/// Applies an action and logs it.
pub async fn act(app: &App, op: Op, sel: Selector) -> Result<usize, String> {
    let what = match &sel {
        Selector::Id(id) => format!("item {id}"),
        Selector::Package(p) => format!("package {p}"),
        Selector::All => "every item".to_owned(),
    };
    let n = app.queue.act(op, sel).await?;
    app.log.push(format!("{op:?} {what}: {n} changed"));
    Ok(n)
}

/// Clears the finished items and logs it.
pub async fn clear_done(app: &App) -> Result<usize, String> {
    let n = app.queue.clear_done().await?;
    app.log.push(format!("Cleared {n} finished item(s)"));
    Ok(n)
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
        links.extend(crate::pages::link_lines(t));
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
    answer(add_upload(&app, multipart).await)
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
        return answer(clear_done(&app).await.map(|n| json!({ "changed": n })));
    }
    let Some(op) = Op::parse(&body.op) else {
        return bad(format!(
            "unknown op {:?}: pause, resume, retry, remove, top, bottom or clear",
            body.op
        ));
    };
    let id = body.id.map(|i| i.to_string());
    let sel = match crate::pages::selector(id.as_deref(), body.package.as_deref(), body.all) {
        Ok(s) => s,
        Err(e) => return bad(e),
    };
    answer(act(&app, op, sel).await.map(|n| json!({ "changed": n })))
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
