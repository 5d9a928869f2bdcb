//! The upload node: `POST /upload.cgi?id=` (multipart, streamed to disk) answering 302 to
//! `/end.pl?xid=`, and `end.pl` (JSON, readable JSON, CSV or HTML report, repeatable for 2
//! hours). A body shorter than its Content-Length and 0-byte files are refused.

use std::collections::HashMap;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use axum::extract::{FromRequest, Multipart, Query, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64_lite::decode_basic;
use futures_util::{Stream, StreamExt};
use serde_json::{Value, json};

use crate::blobs::{Staged, Stager, content_type_for};
use crate::error::Ko;
use crate::faults::DiskSpace;
use crate::model::{Account, DOMAINS};
use crate::state::App;
use crate::store::{FileRow, db};
use crate::{ids, time};

/// Most files in one upload request.
const MAX_PARTS: usize = 500;
/// Bytes collected before handing them to the blob writer.
const BATCH: usize = 1 << 20;

struct Part {
    staged: Staged,
    name: String,
    content_type: String,
}

#[derive(Default)]
struct Fields {
    did: Option<String>,
    domain: Option<String>,
    dpass: Option<String>,
    mail: Option<String>,
    mails: Option<String>,
    message: Option<String>,
    user: Option<String>,
    pass: Option<String>,
}

fn html(status: StatusCode, body: String) -> Response {
    let mut r = (status, body).into_response();
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    r
}

/// `POST /upload.cgi?id=<upload id>`.
pub async fn upload(
    State(app): State<Arc<App>>,
    Query(q): Query<HashMap<String, String>>,
    req: Request,
) -> Response {
    match upload_inner(&app, q, req).await {
        Ok(xid) => {
            let mut r = html(
                StatusCode::FOUND,
                "<html><body>Upload finished</body></html>".into(),
            );
            if let Ok(v) = HeaderValue::from_str(&format!("/end.pl?xid={xid}")) {
                r.headers_mut().insert(header::LOCATION, v);
            }
            r
        }
        Err(k) => {
            // The body may be left unread (refused early, disk full): the connection cannot
            // carry another request, so say so instead of letting a client pool it.
            let mut r = k.into_response();
            r.headers_mut()
                .insert(header::CONNECTION, HeaderValue::from_static("close"));
            r
        }
    }
}

async fn upload_inner(
    app: &Arc<App>,
    q: HashMap<String, String>,
    req: Request,
) -> Result<String, Ko> {
    let xid = q
        .get("id")
        .map(String::as_str)
        .unwrap_or_default()
        .to_string();
    let session = db(app.store.upload(&xid))?.ok_or_else(|| {
        Ko::forbidden("Invalid upload id: ask upload/get_upload_server.cgi for one #0")
    })?;
    if session.finished.is_some() {
        return Err(Ko::forbidden(
            "Upload id already used: ask for a new one #0",
        ));
    }
    let headers = req.headers().clone();
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok())
        .ok_or_else(|| {
            Ko::forbidden("Content-Length required: send the upload with its exact size #0")
        })?;
    if declared > 500_000_000_000 {
        return Err(Ko::forbidden("Upload too big: 500 GB per request max #0"));
    }
    let ctype = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    if !ctype
        .trim_start()
        .to_ascii_lowercase()
        .starts_with("multipart/form-data")
    {
        let got = if ctype.is_empty() {
            "none".to_string()
        } else {
            format!("{ctype:?}")
        };
        return Err(Ko::forbidden(format!(
            "Invalid upload: expected a multipart/form-data body with the file in a file[] part (Content-Type was {got}) #0"
        )));
    }
    let space = req.extensions().get::<DiskSpace>().map(|d| d.0);
    // Who is uploading: Bearer key, or Basic (e-mail + key as password; the emulator has no
    // account passwords), or form fields user+pass (checked after the form is read).
    let mut owner = identify(app, &headers)?;
    // The multipart parser stops at the closing boundary: keep a hand on the body to read
    // what it leaves and to count every byte against the declared length.
    let (req_parts, body) = req.into_parts();
    let body = Arc::new(Mutex::new(Some(body.into_data_stream())));
    let seen = Arc::new(AtomicU64::new(0));
    let tap = Tap {
        inner: body.clone(),
        seen: seen.clone(),
    };
    let req = Request::from_parts(req_parts, axum::body::Body::from_stream(tap));
    let mut mp = Multipart::from_request(req, app)
        .await
        .map_err(|e| Ko::forbidden(format!("Invalid upload: {} #0", e.body_text())))?;
    let mut parts: Vec<Part> = Vec::new();
    let mut f = Fields::default();
    loop {
        let field = match mp.next_field().await {
            Ok(Some(field)) => field,
            Ok(None) => break,
            Err(e) => return Err(bad_body(e, declared, &seen)),
        };
        let name = field.name().unwrap_or_default().to_string();
        if name == "file[]" || name == "file" {
            if parts.len() >= MAX_PARTS {
                return Err(Ko::forbidden("Too many files: 500 per upload max #0"));
            }
            let filename = field.file_name().unwrap_or_default().to_string();
            let given_type = field.content_type().map(str::to_string);
            let mut stager = Stager::with_space(&app.store, space)?;
            let mut field = field;
            // Hand the writer big batches: fewer thread wake-ups per byte.
            let mut batch = bytes::BytesMut::new();
            loop {
                match field.chunk().await {
                    Ok(Some(b)) => {
                        batch.extend_from_slice(&b);
                        if batch.len() >= BATCH {
                            stager.write(batch.split().freeze()).await?;
                        }
                    }
                    Ok(None) => break,
                    Err(e) => return Err(bad_body(e, declared, &seen)),
                }
            }
            if !batch.is_empty() {
                stager.write(batch.freeze()).await?;
            }
            let staged = stager.finish().await?;
            crate::access::check_name(&filename, "file")?;
            if staged.size == 0 {
                return Err(Ko::forbidden(format!(
                    "Empty file {filename:?}: 0-byte files are refused (as 1fichier clients expect); nothing was stored #0"
                )));
            }
            parts.push(Part {
                content_type: content_type_for(&filename, given_type.as_deref()),
                staged,
                name: filename,
            });
        } else {
            let text = field
                .text()
                .await
                .map_err(|e| bad_body(e, declared, &seen))?;
            let slot = match name.as_str() {
                "did" => &mut f.did,
                "domain" => &mut f.domain,
                "dpass" => &mut f.dpass,
                "mail" => &mut f.mail,
                "mails" => &mut f.mails,
                "message" => &mut f.message,
                "user" => &mut f.user,
                "pass" => &mut f.pass,
                // Web-form leftovers (ssl_on, send_ssl, …) are accepted and ignored.
                _ => continue,
            };
            *slot = Some(text);
        }
    }
    drop(mp);
    // Read what follows the closing boundary: an epilogue, or the error of a body cut short.
    let rest = body.lock().unwrap_or_else(|p| p.into_inner()).take();
    if let Some(mut rest) = rest {
        while let Some(chunk) = rest.next().await {
            match chunk {
                Ok(b) => {
                    seen.fetch_add(b.len() as u64, Ordering::Relaxed);
                }
                Err(_) => return Err(short_body(declared, seen.load(Ordering::Relaxed))),
            }
        }
    }
    let got = seen.load(Ordering::Relaxed);
    if got != declared {
        return Err(short_body(declared, got));
    }
    if parts.is_empty() {
        return Err(Ko::forbidden(
            "No file received: send the file in a file[] part #0",
        ));
    }
    let domain = match f.domain.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
        None => None,
        Some(d) => Some(
            d.parse::<i64>()
                .ok()
                .filter(|d| (0..DOMAINS.len() as i64).contains(d))
                .ok_or_else(|| Ko::bad_type("domain", "a domain id from 0 to 10"))?,
        ),
    };
    let dpass = f.dpass.clone().unwrap_or_default();
    crate::access::check_pass(&dpass)?;
    if let Some(m) = &f.message
        && m.chars().count() > 2000
    {
        return Err(Ko::forbidden("Message too long: 2000 characters max #0"));
    }
    if let Some(m) = &f.mails {
        let list: Vec<&str> = m
            .split([',', ';', ' ', '\n'])
            .filter(|s| !s.is_empty())
            .collect();
        if list.len() > 20 || list.iter().any(|a| a.len() > 250 || !a.contains('@')) {
            return Err(Ko::forbidden(
                "Invalid mails: up to 20 addresses of at most 250 characters #0",
            ));
        }
    }
    let mut incoming = false;
    if owner.is_none()
        && let Some(user) = f.user.as_deref().filter(|u| !u.is_empty())
    {
        let target = db(app.store.account_by_email(user))?
            .ok_or_else(|| Ko::forbidden("No such user #93"))?;
        match f.pass.as_deref().filter(|p| !p.is_empty()) {
            Some(p) if p == target.api_key => owner = Some(target),
            Some(_) => return Err(Ko::forbidden("Invalid user or password #0")),
            None => {
                incoming = true;
                owner = Some(target);
            }
        }
    }
    let settings_domain = match &owner {
        Some(a) => db(app.store.settings(a.id))?.0.default_domain,
        None => 0,
    };
    let domain = domain.unwrap_or(settings_domain);
    let folder_id = match &owner {
        None => 0,
        Some(a) if incoming => incoming_folder(app, a)?,
        Some(a) => {
            // An unknown or foreign folder puts the file at the root (reference §2.21).
            let did = f.did.as_deref().and_then(|d| d.trim().parse::<i64>().ok());
            match did {
                Some(d) if d > 0 => match crate::access::folder_ctx(app, a, d, None) {
                    Ok(fc) if fc.writable() => fc.id(),
                    _ => 0,
                },
                _ => 0,
            }
        }
    };
    let visible = app.config.finalize_on_upload;
    for part in parts {
        let id = ids::file_id();
        let size = part.staged.size as i64;
        let checksum = part.staged.checksum.clone();
        let blob = part.staged.commit(&app.store, &id)?;
        let row = FileRow {
            id: id.clone(),
            account_id: owner.as_ref().map(|a| a.id),
            folder_id,
            filename: part.name,
            size,
            created: time::now(),
            checksum,
            content_type: part.content_type,
            blob,
            domain,
            pass: dpass.clone(),
            description: String::new(),
            no_ssl: false,
            inline: false,
            cdn: false,
            acl: json!({}),
            remove_code: if owner.is_none() {
                ids::alnum(10)
            } else {
                String::new()
            },
            upload_xid: Some(xid.clone()),
            visible,
            scan_date: None,
        };
        if let Err(e) = app.store.insert_file(&row) {
            let _ = std::fs::remove_file(app.store.blob_path(&row.blob));
            return Err(e.into());
        }
    }
    if incoming {
        db(app.store.set_upload_incoming(&xid))?;
    }
    if visible {
        finalize(app, &xid)?;
    }
    Ok(xid)
}

fn short_body(declared: u64, got: u64) -> Ko {
    Ko::forbidden(format!(
        "Upload failed: the body ended after {got} of the {declared} bytes its Content-Length declared; nothing was stored, send the whole file again #0"
    ))
}

/// The request body as the multipart parser reads it, counting bytes, with the stream left
/// in a shared slot so the handler can read the rest once the parser stops.
struct Tap {
    inner: Arc<Mutex<Option<axum::body::BodyDataStream>>>,
    seen: Arc<AtomicU64>,
}

impl Stream for Tap {
    type Item = Result<bytes::Bytes, axum::Error>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let mut slot = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        let Some(stream) = slot.as_mut() else {
            return Poll::Ready(None);
        };
        let r = stream.poll_next_unpin(cx);
        if let Poll::Ready(Some(Ok(b))) = &r {
            self.seen.fetch_add(b.len() as u64, Ordering::Relaxed);
        }
        r
    }
}

/// A body the parser could not read: said as a short body when reading stopped before the
/// declared length, as a malformed one otherwise.
fn bad_body(e: axum::extract::multipart::MultipartError, declared: u64, seen: &AtomicU64) -> Ko {
    let got = seen.load(Ordering::Relaxed);
    // multer's words for a body stream that failed (hyper ends it early when the client
    // stops before Content-Length).
    if got < declared && e.body_text().contains("read stream") {
        return short_body(declared, got);
    }
    Ko::forbidden(format!(
        "Upload failed: the request body is incomplete or malformed ({}) #0",
        e.body_text()
    ))
}

fn identify(app: &App, headers: &HeaderMap) -> Result<Option<Account>, Ko> {
    let Some(v) = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
    else {
        return Ok(None);
    };
    if let Some(key) = crate::reply::bearer(headers) {
        return db(app.store.account_by_key(&key))?
            .map(Some)
            .ok_or_else(|| Ko::forbidden(crate::reply::NO_SUCH_USER));
    }
    if let Some(b64) = v.trim().strip_prefix("Basic ") {
        let (user, pass) = decode_basic(b64.trim())
            .ok_or_else(|| Ko::forbidden("Invalid Basic authorization #0"))?;
        let acct = db(app.store.account_by_email(&user))?
            .filter(|a| a.api_key == pass)
            .ok_or_else(|| Ko::forbidden("Invalid user or password #0"))?;
        return Ok(Some(acct));
    }
    Ok(None)
}

fn incoming_folder(app: &App, a: &Account) -> Result<i64, Ko> {
    if let Some(f) = db(app.store.subfolders(a.id, 0))?
        .into_iter()
        .find(|f| f.name == "incoming")
    {
        return Ok(f.id);
    }
    db(app.store.mkdir(a.id, 0, "incoming"))
}

fn removal_link(f: &FileRow) -> String {
    if f.remove_code.is_empty() {
        return String::new();
    }
    let d = DOMAINS
        .get(usize::try_from(f.domain).unwrap_or(0))
        .copied()
        .unwrap_or(DOMAINS[0]);
    format!("https://{d}/remove/{}/{}", f.id, f.remove_code)
}

/// Make an upload's files visible and keep its report.
fn finalize(app: &App, xid: &str) -> Result<Value, Ko> {
    let files = db(app.store.upload_files(xid))?;
    let links: Vec<Value> = files
        .iter()
        .map(|f| {
            json!({
                "download": App::file_url(f.domain, &f.id),
                "filename": f.filename,
                "remove": removal_link(f),
                "size": f.size.to_string(),
                "whirlpool": f.checksum,
                "id": f.id,
                "code": f.remove_code,
                "domain": f.domain,
            })
        })
        .collect();
    let report = Value::Array(links);
    db(app.store.finalize_upload(xid, &report))?;
    Ok(report)
}

/// The level asked for by header or query `name` (`JSON: 1`, `?JSON=2`): 0 when absent or
/// not a number the service knows.
fn wants(headers: &HeaderMap, q: &HashMap<String, String>, name: &str) -> u8 {
    let level = |v: &str| match v.trim() {
        "1" => 1,
        "2" => 2,
        _ => 0,
    };
    let h = headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map_or(0, level);
    let query = q
        .iter()
        .filter(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| level(v))
        .max()
        .unwrap_or(0);
    h.max(query)
}

/// `GET|POST /end.pl?xid=<upload id>`: the upload report.
pub async fn end(
    State(app): State<Arc<App>>,
    Query(q): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Response {
    let xid = q.get("xid").cloned().unwrap_or_default();
    let app2 = app.clone();
    let result = tokio::task::spawn_blocking(move || report(&app2, &xid))
        .await
        .unwrap_or_else(|e| Err(Ko::internal(e)));
    let (incoming, entries) = match result {
        Ok(r) => r,
        Err(k) => return k.into_response(),
    };
    let json_level = wants(&headers, &q, "JSON");
    if json_level > 0 {
        let links: Vec<Value> = entries
            .iter()
            .map(|e| {
                json!({
                    "download": e["download"],
                    "filename": e["filename"],
                    "remove": e["remove"],
                    "size": e["size"],
                    "whirlpool": e["whirlpool"],
                })
            })
            .collect();
        return crate::reply::json_response(
            StatusCode::OK,
            &json!({"incoming": i64::from(incoming), "links": links}),
            // `JSON=2` asks for readable (indented) JSON.
            json_level == 2,
        );
    }
    let s = |e: &Value, k: &str| e[k].as_str().unwrap_or_default().to_string();
    if wants(&headers, &q, "EXPORT") == 1 {
        let mut text = String::new();
        for e in &entries {
            text.push_str(&format!(
                "{};{};{};{};{};{}\n",
                s(e, "filename"),
                s(e, "size"),
                s(e, "id"),
                s(e, "code"),
                e["domain"].as_i64().unwrap_or(0),
                s(e, "whirlpool"),
            ));
        }
        let mut r = (StatusCode::OK, text).into_response();
        r.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/plain; charset=utf-8"),
        );
        return r;
    }
    let mut rows = String::new();
    for e in &entries {
        rows.push_str(&format!(
            "<tr><td class=\"normal\">{}</td><td class=\"normal\">{} B</td><td class=\"normal\"><a href=\"{}\">{}</a></td><td class=\"normal\">{}</td></tr>",
            escape(&s(e, "filename")),
            s(e, "size"),
            s(e, "download"),
            s(e, "download"),
            s(e, "remove"),
        ));
    }
    html(
        StatusCode::OK,
        format!(
            "<html><body><table class=\"premium\"><tr><th>File name</th><th>Size</th><th>Download link</th><th>Removal link</th></tr>{rows}</table></body></html>"
        ),
    )
}

fn report(app: &App, xid: &str) -> Result<(bool, Vec<Value>), Ko> {
    let Some(session) = db(app.store.upload(xid))? else {
        return Ok((false, Vec::new()));
    };
    let entries = match (&session.finished, &session.report) {
        (Some(done), Some(Value::Array(r))) => {
            if time::now() - done > app.config.upload_report_ttl.as_secs() as i64 {
                Vec::new()
            } else {
                r.clone()
            }
        }
        _ => {
            if db(app.store.upload_files(xid))?.is_empty() {
                Vec::new()
            } else {
                match finalize(app, xid)? {
                    Value::Array(r) => r,
                    _ => Vec::new(),
                }
            }
        }
    };
    Ok((session.incoming, entries))
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        /// `JSON`/`EXPORT` levels from any header or query value: 0, 1 or 2, never a panic.
        #[test]
        fn report_levels_read_any_input(h in "[ -~]{0,8}", q in "\\PC{0,8}", key in "(?i)json|export|x") {
            let mut headers = HeaderMap::new();
            if let Ok(v) = HeaderValue::from_str(&h) {
                headers.insert("json", v);
            }
            let query = HashMap::from([(key, q)]);
            let level = wants(&headers, &query, "JSON");
            prop_assert!(level <= 2);
            let expected = match h.trim() {
                "1" => 1,
                "2" => 2,
                _ => 0,
            };
            prop_assert!(level >= expected);
        }
    }
}

mod base64_lite {
    //! Just enough base64 to read a Basic authorization header.

    /// Decode `user:password` from base64; `None` if malformed.
    pub fn decode_basic(s: &str) -> Option<(String, String)> {
        let bytes = decode(s)?;
        let text = String::from_utf8(bytes).ok()?;
        let (u, p) = text.split_once(':')?;
        Some((u.to_string(), p.to_string()))
    }

    fn decode(s: &str) -> Option<Vec<u8>> {
        let val = |c: u8| -> Option<u32> {
            Some(match c {
                b'A'..=b'Z' => c - b'A',
                b'a'..=b'z' => c - b'a' + 26,
                b'0'..=b'9' => c - b'0' + 52,
                b'+' => 62,
                b'/' => 63,
                _ => return None,
            } as u32)
        };
        let s = s.trim_end_matches('=');
        let mut out = Vec::new();
        let mut acc = 0u32;
        let mut bits = 0;
        for c in s.bytes() {
            acc = (acc << 6) | val(c)?;
            bits += 6;
            if bits >= 8 {
                bits -= 8;
                out.push((acc >> bits) as u8);
                acc &= (1 << bits) - 1;
            }
        }
        Some(out)
    }

    #[cfg(test)]
    mod tests {
        use proptest::prelude::*;

        /// Standard base64, for checking the decoder against.
        fn encode(bytes: &[u8]) -> String {
            const A: &[u8; 64] =
                b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
            let mut out = String::new();
            for c in bytes.chunks(3) {
                let n = (u32::from(c[0]) << 16)
                    | (u32::from(*c.get(1).unwrap_or(&0)) << 8)
                    | u32::from(*c.get(2).unwrap_or(&0));
                for i in 0..4 {
                    if i <= c.len() {
                        out.push(A[(n >> (18 - 6 * i) & 63) as usize] as char);
                    } else {
                        out.push('=');
                    }
                }
            }
            out
        }

        proptest! {
            #![proptest_config(ProptestConfig::with_cases(256))]

            /// Basic credentials come back as sent; any text decodes or is refused, no panic.
            #[test]
            fn basic_round_trips(user in "[^:]{0,20}", pass in "\\PC{0,20}", junk in "\\PC{0,30}") {
                let got = super::decode_basic(&encode(format!("{user}:{pass}").as_bytes()));
                prop_assert_eq!(got, Some((user, pass)));
                let _ = super::decode_basic(&junk);
            }
        }

        #[test]
        fn basic() {
            assert_eq!(
                super::decode_basic("dXNlckBleGFtcGxlLmNvbTpzZWNyZXQ="),
                Some(("user@example.com".into(), "secret".into()))
            );
        }
    }
}
