//! Remote uploads: `remote/request` creates a job that a background task really fetches
//! (loopback hosts other than the emulator itself: anything else fails the job with a clear
//! message), `remote/ls` and `remote/info` report jobs.

use std::net::IpAddr;
use std::sync::{Arc, Weak};

use futures_util::StreamExt;
use serde_json::{Map, Value, json};

use crate::access::folder_ctx;
use crate::blobs::{Stager, content_type_for};
use crate::error::Ko;
use crate::reply::Ctx;
use crate::state::App;
use crate::store::{FileRow, JobRow, db};
use crate::{ids, time};

/// Most URLs in one job.
const MAX_URLS: usize = 100;

fn job_dates(j: &JobRow) -> (String, String) {
    (
        time::fmt_date(j.requested),
        // A job not yet run shows the epoch, as observed on the real service.
        time::fmt_date(j.executed.unwrap_or(0)),
    )
}

/// `remote/ls.cgi`.
pub fn ls(app: &App, c: &Ctx) -> Result<Value, Ko> {
    let data: Vec<Value> = db(app.store.jobs(c.acct.id, None))?
        .iter()
        .map(|j| {
            let (r, e) = job_dates(j);
            json!({"id": j.id, "request_date": r, "execution_date": e})
        })
        .collect();
    Ok(json!({"status": "OK", "data": data}))
}

/// `remote/info.cgi`: `id` as integer or numeric string.
pub fn info(app: &App, c: &Ctx) -> Result<Value, Ko> {
    let id = c.p.int("id")?;
    let j = db(app.store.jobs(c.acct.id, Some(id)))?
        .into_iter()
        .next()
        .ok_or_else(Ko::not_found)?;
    let (r, e) = job_dates(&j);
    Ok(json!({
        "status": "OK",
        "id": j.id,
        "request_date": r,
        "execution_date": e,
        "links": j.links,
        "result": j.result,
    }))
}

fn check_headers(h: &Map<String, Value>) -> Result<Value, Ko> {
    let mut out = Map::new();
    for (name, v) in h {
        let value = v
            .as_str()
            .ok_or_else(|| Ko::bad_type(&format!("headers.{name}"), "a string"))?;
        let name_ok =
            !name.is_empty() && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-');
        let value_ok = value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b" \t-_+=%?,'\"/:.;&".contains(&b))
            && !value.starts_with([' ', '\t'])
            && !value.ends_with([' ', '\t']);
        if !name_ok || !value_ok {
            return Err(Ko::forbidden(format!("Invalid header {name:?} #0")));
        }
        // Normalise to Content-Type style.
        let norm = name
            .split('-')
            .map(|p| {
                let mut c = p.chars();
                match c.next() {
                    Some(f) => {
                        f.to_ascii_uppercase().to_string() + &c.as_str().to_ascii_lowercase()
                    }
                    None => String::new(),
                }
            })
            .collect::<Vec<_>>()
            .join("-");
        out.insert(norm, json!(value));
    }
    Ok(Value::Object(out))
}

/// `remote/request.cgi`: create a job and start fetching in the background.
pub fn request(app: &App, c: &Ctx) -> Result<Value, Ko> {
    let urls = c.p.strings("urls")?;
    if urls.len() > MAX_URLS {
        return Err(Ko::forbidden("Too many URLs: 100 per request max #0"));
    }
    for u in &urls {
        match url::Url::parse(u) {
            Ok(p) if p.scheme() == "http" || p.scheme() == "https" => {}
            _ => return Err(Ko::forbidden(format!("Invalid URL {u:?} #0"))),
        }
    }
    let folder = c.p.opt_int("folder_id")?.unwrap_or(0);
    let fc = folder_ctx(app, &c.acct, folder, None)?;
    if fc.share.is_some() {
        return Err(Ko::not_found());
    }
    let headers = match c.p.opt_object("headers")? {
        Some(h) => check_headers(h)?,
        None => json!({}),
    };
    let job = db(app.store.create_job(c.acct.id, fc.id(), &urls, &headers))?;
    spawn_job(app, job.id);
    Ok(json!({
        "status": "OK",
        "id": job.id,
        "date": time::fmt_date(job.requested),
        "urls": urls,
        "headers": headers,
    }))
}

fn spawn_job(app: &App, id: i64) {
    let weak = app.self_ref();
    app.spawn(async move {
        run_job(weak, id).await;
    });
}

/// Restart jobs that never ran (after a restart of the emulator).
pub fn resume(app: &Arc<App>) {
    if let Ok(ids) = app.store.pending_jobs() {
        for id in ids {
            spawn_job(app, id);
        }
    }
}

/// Whether a job may fetch this URL: loopback hosts only (the emulator never reaches out),
/// and never the emulator's own port, whose admin routes trust loopback clients and whose API
/// would hand a job another account's data (server-side request forgery). Refused URLs fail
/// the job entry the way the service reports an unreachable URL.
fn fetchable(u: &url::Url, own_port: u16) -> Result<(), String> {
    let ok = match u.host() {
        Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(a)) => IpAddr::V4(a).is_loopback(),
        Some(url::Host::Ipv6(a)) => IpAddr::V6(a).to_canonical().is_loopback(),
        None => false,
    };
    if !ok {
        return Err(format!(
            "Not fetched: the emulator only fetches loopback URLs (127.0.0.1, ::1, localhost), not {}",
            u.host_str().unwrap_or("?")
        ));
    }
    if u.port_or_known_default() == Some(own_port) {
        return Err(
            "Not fetched: the URL points at the emulator itself, which remote uploads may not reach"
                .to_string(),
        );
    }
    Ok(())
}

async fn run_job(app: Weak<App>, id: i64) {
    let Some(a) = app.upgrade() else { return };
    let Ok(Some(job)) = a.store.job(id) else {
        return;
    };
    drop(a);
    let mut results = Vec::new();
    for link in &job.links {
        let r = match app.upgrade() {
            Some(a) => fetch_one(&a, &job, link).await,
            None => return,
        };
        results.push(match r {
            Ok(file_url) => {
                json!({"status": "OK", "url": link, "download_link": file_url, "message": "Downloaded"})
            }
            Err(msg) => json!({"status": "KO", "url": link, "download_link": "", "message": msg}),
        });
    }
    if let Some(a) = app.upgrade()
        && let Err(e) = a.store.finish_job(id, &Value::Array(results))
    {
        tracing::warn!("remote job {id}: {e}");
    }
}

async fn fetch_one(app: &Arc<App>, job: &JobRow, link: &str) -> Result<String, String> {
    let u = url::Url::parse(link).map_err(|e| format!("Invalid URL: {e}"))?;
    fetchable(&u, app.addr.port())?;
    let mut req = app.http.get(u.clone());
    if let Some(h) = job.headers.as_object() {
        for (k, v) in h {
            if let Some(v) = v.as_str() {
                req = req.header(k, v);
            }
        }
    }
    let resp = req.send().await.map_err(|e| format!("Fetch failed: {e}"))?;
    if !resp.status().is_success() {
        return Err(format!("HTTP {}", resp.status().as_u16()));
    }
    let name = resp
        .headers()
        .get(reqwest::header::CONTENT_DISPOSITION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split("filename=").nth(1))
        .map(|s| {
            s.trim_matches(|c| c == '"' || c == ' ' || c == ';')
                .to_string()
        })
        .filter(|s| !s.is_empty())
        .or_else(|| {
            u.path_segments()
                .and_then(|mut s| s.next_back().map(str::to_string))
                .filter(|s| !s.is_empty())
        })
        .unwrap_or_else(|| "file".to_string());
    let given = resp
        .headers()
        .get(reqwest::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let mut stager = Stager::new(&app.store).map_err(|e| e.to_string())?;
    let mut stream = resp.bytes_stream();
    while let Some(chunk) = stream.next().await {
        let b = chunk.map_err(|e| format!("Fetch interrupted: {e}"))?;
        stager.write(b).await.map_err(|e| e.to_string())?;
    }
    let staged = stager.finish().await.map_err(|e| e.to_string())?;
    let id = ids::file_id();
    let size = staged.size as i64;
    let checksum = staged.checksum.clone();
    let domain = app
        .store
        .settings(job.account_id)
        .map(|s| s.0.default_domain)
        .unwrap_or(0);
    let blob = staged
        .commit(&app.store, &id)
        .map_err(|e| format!("Storage failed: {e}"))?;
    let row = FileRow {
        id: id.clone(),
        account_id: Some(job.account_id),
        folder_id: job.folder_id,
        filename: name.chars().take(crate::access::MAX_NAME).collect(),
        size,
        created: time::now(),
        checksum,
        content_type: content_type_for(&name, given.as_deref()),
        blob,
        domain,
        pass: String::new(),
        description: String::new(),
        no_ssl: false,
        inline: false,
        cdn: false,
        acl: json!({}),
        remove_code: String::new(),
        upload_xid: None,
        visible: true,
        scan_date: None,
    };
    app.store
        .insert_file(&row)
        .map_err(|e| format!("Storage failed: {e}"))?;
    Ok(App::file_url(domain, &id))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        /// Any header map: refused with the header named, or normalised once and for all.
        #[test]
        fn headers_are_checked_and_normalised(
            h in prop::collection::btree_map("\\PC{0,12}", "\\PC{0,20}", 0..4),
        ) {
            let m: Map<String, Value> = h.into_iter().map(|(k, v)| (k, json!(v))).collect();
            if let Ok(Value::Object(out)) = check_headers(&m) {
                prop_assert_eq!(check_headers(&out).unwrap(), Value::Object(out.clone()));
            }
        }

        /// Any URL the parser accepts: fetchable or refused with a reason, never a panic.
        #[test]
        fn any_url_is_judged(host in "[a-z0-9.:\\[\\]-]{1,20}", port in any::<u16>()) {
            if let Ok(u) = url::Url::parse(&format!("http://{host}:{port}/x")) {
                let _ = fetchable(&u, port);
                prop_assert!(fetchable(&u, port).is_err());
            }
        }
    }

    #[test]
    fn own_port_and_foreign_hosts_are_not_fetched() {
        let own = 8080;
        let ok = |s: &str| fetchable(&url::Url::parse(s).unwrap(), own);
        assert!(ok("http://127.0.0.1:9000/f").is_ok());
        assert!(ok("http://localhost:9000/f").is_ok());
        for bad in [
            "http://127.0.0.1:8080/admin/accounts",
            "http://localhost:8080/admin/requests",
            "https://127.0.0.2:8080/v1/user/info.cgi",
            "http://[::1]:8080/admin/accounts",
            "http://[::ffff:127.0.0.1]:8080/admin/accounts",
            "http://example.com/f",
            "http://0.0.0.0:9000/f",
        ] {
            assert!(ok(bad).is_err(), "{bad}");
        }
        assert!(fetchable(&url::Url::parse("http://127.0.0.1/x").unwrap(), 80).is_err());
    }
}
