//! The server-rendered pages (readable without JS) and their no-JS forms. Every text that
//! came from outside (names, links, reasons, origins, messages) goes through `html::escape`.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Multipart, State};
use axum::http::header;
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use fichier_queue::{Item, State as ItemState};

use crate::error::WebError;
use crate::html::escape;
use crate::queue::Op;
use crate::state::App;

const APP_JS: &str = include_str!("assets/app.js");
const STYLE_CSS: &str = include_str!("assets/style.css");

/// The page routes.
pub fn router() -> Router<Arc<App>> {
    Router::new()
        .route("/", get(queue_page))
        .route("/add", get(add_page).post(add_form))
        .route("/add/file", post(add_file_form))
        .route("/action", post(action_form))
        .route("/cnl", get(cnl_page))
        .route("/cnl/decide", post(cnl_decide_form))
        .route("/cnl/forget", post(cnl_forget_form))
        .route("/account", get(account_page))
        .route("/log", get(log_page))
        .route("/backups", get(backups_page))
        .route("/static/app.js", get(app_js))
        .route("/static/style.css", get(style_css))
}

async fn app_js() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/javascript; charset=utf-8"),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        APP_JS,
    )
        .into_response()
}

async fn style_css() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        STYLE_CSS,
    )
        .into_response()
}

/// `1.5 MiB`.
pub fn fmt_bytes(n: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut v = n as f64;
    let mut u = 0;
    while v >= 1024.0 && u < UNITS.len() - 1 {
        v /= 1024.0;
        u += 1;
    }
    if u == 0 {
        format!("{n} B")
    } else {
        format!("{v:.1} {}", UNITS[u])
    }
}

/// `1h 02m`, `3m 05s`, `42s`.
pub fn fmt_eta(secs: u64) -> String {
    let (h, m, s) = (secs / 3600, (secs / 60) % 60, secs % 60);
    if h > 0 {
        format!("{h}h {m:02}m")
    } else if m > 0 {
        format!("{m}m {s:02}s")
    } else {
        format!("{s}s")
    }
}

fn layout(app: &App, title: &str, active: &str, body: &str) -> Html<String> {
    let pending = app.inbox.pending_count();
    let badge = if pending > 0 {
        format!(" <span class=badge id=pending-count>{pending}</span>")
    } else {
        " <span class=badge id=pending-count hidden>0</span>".to_owned()
    };
    let nav = [
        ("/", "Queue"),
        ("/add", "Add"),
        ("/account", "Account"),
        ("/cnl", "Click'n'Load"),
        ("/backups", "Backups"),
        ("/log", "Log"),
    ]
    .iter()
    .map(|(href, label)| {
        let cur = if *href == active {
            " aria-current=page"
        } else {
            ""
        };
        let extra = if *href == "/cnl" { badge.as_str() } else { "" };
        format!("<a href=\"{href}\"{cur}>{label}{extra}</a>")
    })
    .collect::<String>();
    Html(format!(
        "<!doctype html>\n<html lang=en><head><meta charset=utf-8>\
         <meta name=viewport content=\"width=device-width, initial-scale=1\">\
         <meta name=csrf-token content=\"{csrf}\">\
         <title>{title} · fichier</title>\
         <link rel=stylesheet href=/static/style.css>\
         <script src=/static/app.js defer></script></head>\
         <body><header><span class=brand>fichier</span><nav>{nav}</nav></header>\
         <main>{body}</main></body></html>\n",
        csrf = escape(&app.csrf),
        title = escape(title),
    ))
}

fn csrf_input(app: &App) -> String {
    format!(
        "<input type=hidden name=csrf value=\"{}\">",
        escape(&app.csrf)
    )
}

/// A failed form: the error's status, its text escaped in the page's layout, a way back.
fn error_page(app: &App, error: &WebError, back: &str) -> Response {
    let body = format!(
        "<h1>Could not do that</h1><p class=error role=alert>{}</p><p><a href=\"{back}\">Back</a></p>",
        escape(&error.to_string())
    );
    (error.status(), layout(app, "Error", back, &body)).into_response()
}

fn until_text(item: &Item) -> String {
    item.until
        .map(|t| format!(" until {}", t.strftime("%Y-%m-%d %H:%M:%S UTC")))
        .unwrap_or_default()
}

fn display_name(item: &Item) -> &str {
    item.name.as_deref().unwrap_or(&item.source)
}

fn percent(item: &Item) -> Option<u64> {
    item.size
        .filter(|s| *s > 0)
        .map(|s| (item.bytes_done.min(s) * 100) / s)
}

/// The cells of one queue row, as text (escaped when rendered).
#[derive(Debug, Default)]
struct Row {
    id: String,
    state: String,
    source: String,
    name: String,
    package: String,
    reason: String,
    progress: String,
    pct: String,
    size: String,
    speed: String,
    eta: String,
}

fn item_row(app: &App, item: &Item) -> String {
    let reason = item
        .reason
        .as_deref()
        .map(|r| format!("{r}{}", until_text(item)))
        .unwrap_or_else(|| until_text(item).trim().to_owned());
    let (progress, pct) = match (percent(item), item.size) {
        (Some(p), Some(s)) => (
            format!(
                "<progress max=\"{s}\" value=\"{}\"></progress>",
                item.bytes_done.min(s)
            ),
            format!("{p}%"),
        ),
        _ => ("<progress></progress>".to_owned(), String::new()),
    };
    let speed = if item.state == ItemState::Downloading && item.speed_bps > 0 {
        format!("{}/s", fmt_bytes(item.speed_bps))
    } else {
        String::new()
    };
    let eta = match (item.state, item.eta_secs) {
        (ItemState::Downloading, Some(e)) => fmt_eta(e),
        _ => String::new(),
    };
    render_row(
        app,
        &Row {
            id: item.id.to_string(),
            state: item.state.as_str().to_owned(),
            source: item.source.clone(),
            name: display_name(item).to_owned(),
            package: item.package.clone().unwrap_or_default(),
            reason,
            progress,
            pct,
            size: item.size.map(fmt_bytes).unwrap_or_default(),
            speed,
            eta,
        },
    )
}

/// `row.progress` is markup built here; every other field is escaped.
fn render_row(app: &App, row: &Row) -> String {
    format!(
        "<tr id=\"item-{id}\" data-id=\"{id}\" data-state=\"{state}\">\
         <td class=c-id>{id}</td>\
         <td class=c-name><span class=name title=\"{source}\">{name}</span>\
         <small class=source>{source}</small></td>\
         <td class=c-pkg>{package}</td>\
         <td class=c-state><span class=\"st st-{state}\">{state}</span>\
         <small class=reason>{reason}</small></td>\
         <td class=c-prog>{progress} <span class=pct>{pct}</span> <small class=size>{size}</small></td>\
         <td class=c-speed>{speed}</td><td class=c-eta>{eta}</td>\
         <td class=c-act><form method=post action=/action class=act>{csrf}\
         <input type=hidden name=id value=\"{id}\">\
         <button name=op value=pause class=b-pause>Pause</button>\
         <button name=op value=resume class=b-resume>Resume</button>\
         <button name=op value=retry class=b-retry>Retry</button>\
         <button name=op value=top class=b-move title=\"Move to the top\">↑</button>\
         <button name=op value=bottom class=b-move title=\"Move to the bottom\">↓</button>\
         <button name=op value=remove class=b-remove>Remove</button></form></td></tr>",
        id = escape(&row.id),
        state = escape(&row.state),
        source = escape(&row.source),
        name = escape(&row.name),
        package = escape(&row.package),
        reason = escape(&row.reason),
        progress = row.progress,
        pct = escape(&row.pct),
        size = escape(&row.size),
        speed = escape(&row.speed),
        eta = escape(&row.eta),
        csrf = csrf_input(app),
    )
}

async fn queue_page(State(app): State<Arc<App>>) -> Response {
    let (version, items) = match (app.queue.version().await, app.queue.list().await) {
        (Ok(v), Ok(i)) => (v, i),
        (Err(e), _) | (_, Err(e)) => {
            return error_page(&app, &e, "/");
        }
    };
    let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
    for i in &items {
        *counts.entry(i.state.as_str()).or_default() += 1;
    }
    let summary = if items.is_empty() {
        "The queue is empty. <a href=/add>Add links</a>.".to_owned()
    } else {
        counts
            .iter()
            .map(|(s, n)| format!("<span class=\"st st-{s}\">{s}</span> {n}"))
            .collect::<Vec<_>>()
            .join(" · ")
    };
    let rows: String = items.iter().map(|i| item_row(&app, i)).collect();
    let mut packages: BTreeMap<&str, usize> = BTreeMap::new();
    for i in &items {
        if let Some(p) = &i.package {
            *packages.entry(p.as_str()).or_default() += 1;
        }
    }
    let mut pkg_html = String::new();
    if !packages.is_empty() {
        pkg_html.push_str("<section><h2>Packages</h2><ul class=packages>");
        for (p, n) in &packages {
            let _ = write!(
                pkg_html,
                "<li><span class=pkg-name>{name}</span> <small>{n} item(s)</small>\
                 <form method=post action=/action class=act>{csrf}\
                 <input type=hidden name=package value=\"{name}\">\
                 <button name=op value=pause>Pause</button>\
                 <button name=op value=resume>Resume</button>\
                 <button name=op value=retry>Retry</button>\
                 <button name=op value=remove class=b-remove>Remove</button></form></li>",
                name = escape(p),
                csrf = csrf_input(&app),
            );
        }
        pkg_html.push_str("</ul></section>");
    }
    let recent: String = app
        .log
        .recent(3)
        .iter()
        .map(|e| format!("<li>{}</li>", escape(&e.message)))
        .collect();
    let body = format!(
        "<h1>Queue</h1><p class=summary id=summary>{summary}</p>\
         <ul class=recent id=recent>{recent}</ul>\
         <div class=table-wrap><table id=queue data-version=\"{version}\">\
         <thead><tr><th>#</th><th>File</th><th>Package</th><th>State</th><th>Progress</th>\
         <th>Speed</th><th>ETA</th><th>Actions</th></tr></thead><tbody>{rows}</tbody></table></div>\
         <template id=row-template>{template}</template>\
         {pkg_html}\
         <form method=post action=/action class=\"act bulk\">{csrf}<input type=hidden name=all value=1>\
         <button name=op value=pause>Pause all</button> <button name=op value=resume>Resume all</button> \
         <button name=op value=retry>Retry all</button> <button name=op value=clear>Clear done</button></form>\
         <p class=live id=live hidden>Live</p>",
        template = template_row(&app),
        csrf = csrf_input(&app),
    );
    layout(&app, "Queue", "/", &body).into_response()
}

/// An empty row the live page clones for an item added while it is open.
fn template_row(app: &App) -> String {
    render_row(
        app,
        &Row {
            state: "queued".to_owned(),
            progress: "<progress></progress>".to_owned(),
            ..Row::default()
        },
    )
}

async fn add_page(State(app): State<Arc<App>>) -> Response {
    let dir = escape(&app.queue.download_dir().display().to_string());
    let csrf = csrf_input(&app);
    let body = format!(
        "<h1>Add links</h1>\
         <form method=post action=/add class=add id=add-form>{csrf}\
         <label for=links>Links, one a line (any of the 1fichier domains; other lines are listed as ignored)</label>\
         <textarea id=links name=links rows=8 required placeholder=\"https://1fichier.com/?abc123\"></textarea>\
         <div class=row><label>Package <input name=package id=package maxlength=200></label>\
         <label>Target folder <input name=target id=target placeholder=\"{dir}\"></label></div>\
         <button type=submit id=add-submit>Add to the queue</button></form>\
         <h2>Or a file</h2>\
         <form method=post action=\"/add/file?csrf={csrf_q}\" enctype=multipart/form-data class=add id=file-form>\
         <label for=file>A <code>.txt</code> list (one link a line, <code>#</code> comments) or a JDownloader <code>.crawljob</code></label>\
         <input type=file id=file name=file accept=\".txt,.crawljob\" required>\
         <div class=row><label>Package <input name=package maxlength=200></label>\
         <label>Target folder <input name=target placeholder=\"{dir}\"></label></div>\
         <button type=submit>Add the file's links</button></form>\
         <p class=hint>Without a target folder, files go to <code>{dir}</code>; a relative folder is inside it.</p>",
        csrf_q = escape(&app.csrf),
    );
    layout(&app, "Add links", "/add", &body).into_response()
}

fn form(body: &[u8]) -> Vec<(String, String)> {
    url::form_urlencoded::parse(body).into_owned().collect()
}

fn get_field<'a>(f: &'a [(String, String)], name: &str) -> Option<&'a str> {
    f.iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
        .filter(|v| !v.trim().is_empty())
}

async fn add_form(State(app): State<Arc<App>>, body: Bytes) -> Response {
    let f = form(&body);
    let links = crate::actions::link_lines(get_field(&f, "links").unwrap_or_default());
    let package = get_field(&f, "package").map(|p| p.trim().to_owned());
    match crate::actions::add_text(&app, links, package, get_field(&f, "target"), "dashboard").await
    {
        Ok(_) => Redirect::to("/").into_response(),
        Err(e) => error_page(&app, &e, "/add"),
    }
}

async fn add_file_form(State(app): State<Arc<App>>, multipart: Multipart) -> Response {
    match crate::actions::add_upload(&app, multipart).await {
        Ok(_) => Redirect::to("/").into_response(),
        Err(e) => error_page(&app, &e, "/add"),
    }
}

async fn action_form(State(app): State<Arc<App>>, body: Bytes) -> Response {
    let f = form(&body);
    let op = get_field(&f, "op").unwrap_or_default();
    let result = if op == "clear" {
        crate::actions::clear_done(&app).await
    } else {
        match (
            Op::parse(op),
            crate::actions::selector(
                get_field(&f, "id"),
                get_field(&f, "package"),
                get_field(&f, "all").is_some(),
            ),
        ) {
            (Some(op), Ok(sel)) => crate::actions::act(&app, op, sel).await,
            (None, _) => Err(WebError::BadInput(format!("unknown action {op:?}"))),
            (_, Err(e)) => Err(e),
        }
    };
    match result {
        Ok(_) => Redirect::to("/").into_response(),
        Err(e) => error_page(&app, &e, "/"),
    }
}

async fn cnl_page(State(app): State<Arc<App>>) -> Response {
    let view = app.inbox.view();
    let csrf = csrf_input(&app);
    let mut body = String::from(
        "<h1>Click'n'Load</h1><p class=hint>Links web pages sent to this computer's Click'n'Load \
         port. A page origin seen for the first time waits here; approving queues its 1fichier \
         links and remembers the origin; refusing drops them and ignores that origin from now on.</p>",
    );
    if view.pending.is_empty() {
        body.push_str("<p id=no-pending>Nothing waits for approval.</p>");
    }
    for p in &view.pending {
        let links: String = p
            .fichier
            .iter()
            .map(|l| format!("<li class=link>{}</li>", escape(l)))
            .collect();
        let ignored: String = p
            .ignored
            .iter()
            .map(|l| format!("<li class=ignored>{}</li>", escape(l)))
            .collect();
        let ignored = if ignored.is_empty() {
            String::new()
        } else {
            format!("<p>Ignored (not 1fichier links):</p><ul>{ignored}</ul>")
        };
        let meta: String = [
            ("Package", &p.batch.package),
            ("Page says it is", &p.batch.source),
            ("Folder asked (not used)", &p.batch.dir),
            ("Comment", &p.batch.comment),
        ]
        .iter()
        .filter_map(|(k, v)| {
            v.as_ref()
                .map(|v| format!("<dt>{k}</dt><dd>{}</dd>", escape(v)))
        })
        .collect();
        let (why, approve) = match p.not_remembered {
            Some(why) => (
                format!("<p class=why>{}</p>", escape(why)),
                "Approve and queue this request",
            ),
            None => (String::new(), "Approve and queue"),
        };
        let _ = write!(
            body,
            "<section class=pending id=\"pending-{id}\"><h2>From <span class=origin>{origin}</span></h2>\
             {why}<dl>{meta}</dl><p>{n} 1fichier link(s):</p><ul>{links}</ul>{ignored}\
             <form method=post action=/cnl/decide class=act>{csrf}<input type=hidden name=id value=\"{id}\">\
             <button name=decision value=approve class=b-approve>{approve}</button>\
             <button name=decision value=refuse class=b-remove>Refuse this origin</button></form></section>",
            id = p.id,
            origin = escape(&p.batch.origin),
            n = p.fichier.len(),
        );
    }
    let origins = |title: &str, list: &[String]| {
        if list.is_empty() {
            return String::new();
        }
        let items: String = list
            .iter()
            .map(|o| {
                format!(
                    "<li><span class=origin>{o}</span><form method=post action=/cnl/forget class=act>{csrf}\
                     <input type=hidden name=origin value=\"{o}\"><button>Forget</button></form></li>",
                    o = escape(o)
                )
            })
            .collect();
        format!("<h2>{title}</h2><ul class=origins>{items}</ul>")
    };
    body.push_str(&origins("Approved origins", &view.approved));
    body.push_str(&origins("Refused origins", &view.refused));
    layout(&app, "Click'n'Load", "/cnl", &body).into_response()
}

async fn cnl_decide_form(State(app): State<Arc<App>>, body: Bytes) -> Response {
    let f = form(&body);
    let id = get_field(&f, "id").and_then(|i| i.parse::<u64>().ok());
    let result = match (id, get_field(&f, "decision")) {
        (Some(id), Some("approve")) => app.inbox.approve(id).await.map(|_| ()),
        (Some(id), Some("refuse")) => app.inbox.refuse(id),
        _ => Err(WebError::BadInput(
            "say which request (id) and approve or refuse".to_owned(),
        )),
    };
    match result {
        Ok(()) => Redirect::to("/cnl").into_response(),
        Err(e) => error_page(&app, &e, "/cnl"),
    }
}

async fn cnl_forget_form(State(app): State<Arc<App>>, body: Bytes) -> Response {
    let f = form(&body);
    if let Some(o) = get_field(&f, "origin") {
        app.inbox.forget(o);
    }
    Redirect::to("/cnl").into_response()
}

async fn account_page(State(app): State<Arc<App>>) -> Response {
    let v = app.account.view().await;
    let mut rows = String::new();
    let mut row = |k: &str, v: Option<String>| {
        let _ = write!(
            rows,
            "<tr><th scope=row>{k}</th><td>{}</td></tr>",
            escape(v.as_deref().unwrap_or("–"))
        );
    };
    row("Offer", v.offer.clone());
    row("E-mail", v.email.clone());
    row("Subscription ends", v.subscription_end.clone());
    row("Hot storage used", v.hot_storage.map(fmt_bytes));
    row("Cold storage used", v.cold_storage.map(fmt_bytes));
    row(
        "Storage left",
        v.available_storage.map(|b| {
            if b < 0 {
                format!("over quota by {}", fmt_bytes(b.unsigned_abs()))
            } else {
                fmt_bytes(b.unsigned_abs())
            }
        }),
    );
    row(
        "CDN credits",
        v.cdn_credits_gb.map(|g| format!("{g:.2} GB")),
    );
    row(
        "Spend CDN credits",
        v.use_cdn.map(|u| if u { "yes" } else { "no" }.to_owned()),
    );
    row(
        "Flood cooldown",
        Some(match (&v.cooldown_secs, &v.cooldown_until) {
            (Some(s), Some(u)) => format!("{} left, ends {u}", fmt_eta(*s)),
            _ => "none: API calls go through".to_owned(),
        }),
    );
    row("API key", v.key_hint.clone());
    row("Read at", v.fetched_at.clone());
    let error = v
        .error
        .as_deref()
        .map(|e| {
            format!(
                "<p class=error role=alert>Could not read the account: {}</p>",
                escape(e)
            )
        })
        .unwrap_or_default();
    let body = format!(
        "<h1>Account</h1>{error}<table class=kv id=account>{rows}</table>\
         <p class=hint>Read from <code>user/info</code> at most once every 5 minutes (the \
         service's rule); the cooldown is this daemon's own.</p>"
    );
    layout(&app, "Account", "/account", &body).into_response()
}

fn unix_time(secs: i64) -> String {
    jiff::Timestamp::from_second(secs)
        .map(|t| {
            t.to_zoned_datetime(jiff::tz::TimeZone::system())
                .strftime("%Y-%m-%d %H:%M")
                .to_string()
        })
        .unwrap_or_else(|_| secs.to_string())
}

async fn backups_page(State(app): State<Arc<App>>) -> Response {
    let body = match crate::backups::recent(&app).await {
        Err(e) => format!(
            "<h1>Backups</h1><p class=error role=alert>{}</p>",
            escape(&e.to_string())
        ),
        Ok(runs) if runs.is_empty() => "<h1>Backups</h1><p>No backup has run on this machine \
             yet: <code>fichier backup SOURCE DEST</code> (docs/backup.md).</p>"
            .to_owned(),
        Ok(runs) => {
            let rows: String = runs
                .iter()
                .map(|r| {
                    let state = match (r.state.as_str(), r.finished) {
                        ("running", _) => "running or stopped (resumes on the next run)",
                        (s, _) => s,
                    };
                    format!(
                        "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                        escape(&r.profile),
                        escape(&r.stamp),
                        unix_time(r.started),
                        escape(state),
                        escape(&r.summary)
                    )
                })
                .collect();
            format!(
                "<h1>Backups</h1><table id=backups><thead><tr><th>Profile</th><th>Run</th>\
                 <th>Started</th><th>State</th><th>Summary</th></tr></thead><tbody>{rows}\
                 </tbody></table><p class=hint>From <code>fichier backup</code>'s journal on \
                 this machine; <code>fichier backup ls</code> shows the profiles.</p>"
            )
        }
    };
    layout(&app, "Backups", "/backups", &body).into_response()
}

async fn log_page(State(app): State<Arc<App>>) -> Response {
    let rows: String = app
        .log
        .recent(200)
        .iter()
        .map(|e| {
            format!(
                "<li><time>{}</time> {}</li>",
                e.at.strftime("%Y-%m-%d %H:%M:%S"),
                escape(&e.message)
            )
        })
        .collect();
    let body = if rows.is_empty() {
        "<h1>Log</h1><p>Nothing yet.</p>".to_owned()
    } else {
        format!("<h1>Log</h1><ul class=log id=log>{rows}</ul>")
    };
    layout(&app, "Log", "/log", &body).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_and_durations_read_naturally() {
        assert_eq!(fmt_bytes(512), "512 B");
        assert_eq!(fmt_bytes(1536), "1.5 KiB");
        assert_eq!(fmt_eta(42), "42s");
        assert_eq!(fmt_eta(185), "3m 05s");
        assert_eq!(fmt_eta(3720), "1h 02m");
    }

    #[test]
    fn pasted_lists_drop_blanks_and_comments() {
        assert_eq!(
            crate::actions::link_lines("# mine\n https://1fichier.com/?a \n\nhttps://x\n"),
            ["https://1fichier.com/?a", "https://x"]
        );
    }
}
