//! The public folder listing of the website: `GET /dir/<share id>?json=1`, or `POST` with a
//! form `json=1&pass=…` for password-protected shares (what rclone and JDownloader use).

use std::collections::HashMap;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use crate::state::App;

fn html(status: StatusCode, body: &str) -> Response {
    let mut r = (status, body.to_string()).into_response();
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    r
}

/// `GET|POST /dir/<share id>`.
pub async fn listing(
    State(app): State<Arc<App>>,
    Path(id): Path<String>,
    Query(q): Query<HashMap<String, String>>,
    body: Bytes,
) -> Response {
    let mut fields: HashMap<String, String> = q;
    for (k, v) in url::form_urlencoded::parse(&body) {
        fields.insert(k.into_owned(), v.into_owned());
    }
    let json = fields.get("json").is_some_and(|v| v == "1");
    let pass = fields.get("pass").cloned().unwrap_or_default();
    let app2 = app.clone();
    let found = tokio::task::spawn_blocking(move || -> rusqlite::Result<_> {
        let Some(folder) = app2.store.folder_by_share(&id)? else {
            return Ok(None);
        };
        let max = app2
            .limits
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .file_ls_max_results;
        let files = app2
            .store
            .files(folder.account_id, Some(folder.id), None, None, max)?;
        Ok(Some((folder, files)))
    })
    .await
    .ok()
    .and_then(Result::ok)
    .flatten();
    let Some((folder, files)) = found else {
        return html(StatusCode::NOT_FOUND, "<html><body>Not found</body></html>");
    };
    if !folder.share_pass.is_empty() && pass != folder.share_pass {
        return html(
            StatusCode::OK,
            "<html><body><form method=\"post\">This folder is protected by a password: <input type=\"password\" name=\"pass\"><input type=\"hidden\" name=\"json\" value=\"1\"><input type=\"submit\"></form></body></html>",
        );
    }
    if json {
        let list: Vec<Value> = files
            .iter()
            .map(|f| {
                json!({
                    "filename": f.filename,
                    "link": App::file_url(f.domain, &f.id),
                    "size": f.size,
                    "password": i64::from(!f.pass.is_empty()),
                    "acl": i64::from(f.has_acl()),
                })
            })
            .collect();
        return crate::reply::json_response(StatusCode::OK, &Value::Array(list), false);
    }
    let mut rows = String::new();
    for f in &files {
        let link = App::file_url(f.domain, &f.id);
        rows.push_str(&format!(
            "<tr><td><a href=\"{link}\">{}</a></td><td>{}</td></tr>",
            f.filename.replace('<', "&lt;"),
            f.size
        ));
    }
    html(
        StatusCode::OK,
        &format!(
            "<html><body><h1>{}</h1><table>{rows}</table></body></html>",
            folder.name.replace('<', "&lt;")
        ),
    )
}
