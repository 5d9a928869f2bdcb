//! The `/v1/<group>/<action>.cgi` JSON API: one dispatcher (method, body, auth, limits,
//! offer check, JSON answer) in front of thin per-endpoint functions.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Instant;

use axum::body::Bytes;
use axum::extract::{ConnectInfo, State};
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use crate::error::{Ko, ko};
use crate::log::endpoint_of;
use crate::params::Params;
use crate::reply::{Ctx, NO_SUCH_USER, NOT_AUTHENTICATED, NOT_CUSTOMER, bearer, json_response};
use crate::state::App;
use crate::{api_files, api_folders, api_misc, remote};

type Handler = fn(&App, &Ctx) -> Result<Value, Ko>;

fn handler(endpoint: &str) -> Option<Handler> {
    Some(match endpoint {
        "user/info" => api_misc::user_info,
        "download/get_token" => api_files::get_token,
        "file/ls" => api_files::ls,
        "file/info" => api_files::info,
        "file/scan" => api_files::scan,
        "file/rm" => api_files::rm,
        "file/mv" => api_files::mv,
        "file/cp" => api_files::cp,
        "file/rename" => api_files::rename,
        "file/chattr" => api_files::chattr,
        "folder/ls" => api_folders::ls,
        "folder/mkdir" => api_folders::mkdir,
        "folder/mv" => api_folders::mv,
        "folder/rm" => api_folders::rm,
        "folder/share" => api_folders::share,
        "remote/ls" => remote::ls,
        "remote/info" => remote::info,
        "remote/request" => remote::request,
        "ftp/process" => api_misc::ftp_process,
        "ftp/users/ls" => api_misc::ftp_users_ls,
        "ftp/users/add" => api_misc::ftp_users_add,
        "ftp/users/rm" => api_misc::ftp_users_rm,
        "vouchers/ls" => api_misc::vouchers_ls,
        "vouchers/check" => api_misc::vouchers_check,
        "vouchers/use" => api_misc::vouchers_use,
        _ => return None,
    })
}

/// Entry point of every `/v1` request.
pub async fn dispatch(
    State(app): State<Arc<App>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let endpoint = endpoint_of(uri.path());
    if endpoint == "upload/get_upload_server" {
        return upload_server(&app, &method, peer.ip(), &body);
    }
    let Some(handle) = handler(&endpoint) else {
        return ko(
            format!("Unknown API endpoint {} #0", uri.path()),
            StatusCode::NOT_FOUND,
        )
        .into_response();
    };
    if method != Method::POST {
        return Ko::forbidden("Invalid request method: use POST with a JSON body #0")
            .into_response();
    }
    let p = match Params::parse(&body) {
        Ok(p) => p,
        Err(k) => return k.into_response(),
    };
    let pretty = p.opt_int("pretty").ok().flatten().unwrap_or(0) == 1;
    let key = bearer(&headers);
    let acct = match &key {
        Some(k) => match app.store.account_by_key(k) {
            Ok(a) => a,
            Err(e) => return Ko::from(e).into_response(),
        },
        None => None,
    };
    // Limits apply before authentication errors, so guessing keys also gets locked.
    let folder = p.opt_int("folder_id").ok().flatten();
    if let Err(flood) = check_limits(
        &app,
        peer.ip(),
        acct.as_ref().map(|a| a.id),
        &endpoint,
        folder,
    ) {
        return Ko::forbidden(flood).into_response();
    }
    let acct = match (key, acct) {
        (None, _) => return Ko::forbidden(NOT_AUTHENTICATED).into_response(),
        (Some(_), None) => return Ko::forbidden(NO_SUCH_USER).into_response(),
        (Some(_), Some(a)) => a,
    };
    if !acct.offer.is_customer() {
        return Ko::forbidden(NOT_CUSTOMER).into_response();
    }
    let ctx = Ctx {
        acct,
        ip: peer.ip(),
        p,
    };
    // Handlers touch SQLite and sometimes file bytes: keep them off the async workers.
    let app2 = app.clone();
    let result = tokio::task::spawn_blocking(move || handle(&app2, &ctx))
        .await
        .unwrap_or_else(|e| Err(Ko::internal(format!("handler panicked: {e}"))));
    match result {
        Ok(v) => json_response(StatusCode::OK, &v, pretty),
        Err(k) => k.into_response(),
    }
}

fn check_limits(
    app: &App,
    ip: IpAddr,
    account: Option<i64>,
    endpoint: &str,
    folder: Option<i64>,
) -> Result<(), &'static str> {
    let limits = app.limits.read().unwrap_or_else(|p| p.into_inner()).clone();
    app.limiter.lock().unwrap_or_else(|p| p.into_inner()).check(
        &limits,
        Instant::now(),
        ip,
        account,
        endpoint,
        folder,
    )
}

/// `upload/get_upload_server.cgi`: GET or POST, no key needed, no `status` field.
fn upload_server(app: &App, method: &Method, ip: IpAddr, body: &[u8]) -> Response {
    if method != Method::GET && method != Method::POST {
        return Ko::forbidden("Invalid request method: use GET or POST #0").into_response();
    }
    let p = match Params::parse(body) {
        Ok(p) => p,
        Err(k) => return k.into_response(),
    };
    if let Err(flood) = check_limits(app, ip, None, "upload/get_upload_server", None) {
        return Ko::forbidden(flood).into_response();
    }
    let pretty = p.opt_int("pretty").ok().flatten().unwrap_or(0) == 1;
    let xid = crate::ids::upload_id();
    if let Err(e) = app.store.create_upload(&xid) {
        return Ko::from(e).into_response();
    }
    json_response(
        StatusCode::OK,
        &json!({"url": app.node_host(), "id": xid}),
        pretty,
    )
}
