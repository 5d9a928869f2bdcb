//! Bad input: every malformed or invalid request gets a KO in the service's style (403, or
//! 404 for unknown resources), never a panic or a 500, and changes nothing.

use crate::common;

use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

async fn snapshot(env: &common::Env) -> Value {
    let (_, a) = env.call("file/ls", json!({"folder_id": -1})).await;
    let (_, b) = env.call("folder/ls", json!({})).await;
    let (_, c) = env.call("user/info", json!({})).await;
    let mut c = c;
    c.as_object_mut().unwrap().remove("stats_date");
    c.as_object_mut().unwrap().remove("subscription_end");
    json!([a, b, c])
}

#[tokio::test]
async fn bad_requests_are_refused_and_change_nothing() {
    let env = common::start().await;
    let (_, v) = env.call("folder/mkdir", json!({"name": "Full"})).await;
    let full = v["folder_id"].as_i64().unwrap();
    let rep = env.upload("keep.txt", b"keep".to_vec(), full).await;
    let url = rep["links"][0]["download"].as_str().unwrap().to_string();
    let long = "x".repeat(251);
    let unknown = "https://1fichier.com/?aaaaaaaaaaaaaaaaaaaa";
    let before = snapshot(&env).await;

    let cases: Vec<(&str, Value, u16, &str)> = vec![
        ("folder/mkdir", json!({}), 403, "Missing parameter name"),
        (
            "folder/mkdir",
            json!({"name": 5}),
            403,
            "name: expected a string",
        ),
        (
            "folder/mkdir",
            json!({"name": long}),
            403,
            "Invalid folder name",
        ),
        (
            "folder/mkdir",
            json!({"name": ""}),
            403,
            "Invalid folder name",
        ),
        (
            "folder/mkdir",
            json!({"name": "a/b"}),
            403,
            "Invalid folder name",
        ),
        (
            "folder/mkdir",
            json!({"name": "x", "folder_id": "abc"}),
            403,
            "folder_id: expected an integer",
        ),
        (
            "folder/mkdir",
            json!({"name": "x", "folder_id": 999}),
            404,
            "Resource not found #469",
        ),
        (
            "folder/ls",
            json!({"folder_id": [1]}),
            403,
            "folder_id: expected an integer",
        ),
        (
            "folder/ls",
            json!({"folder_id": 12345678}),
            404,
            "Resource not found #469",
        ),
        (
            "folder/ls",
            json!({"files": 2}),
            403,
            "files: expected 0 or 1",
        ),
        (
            "folder/rm",
            json!({"folder_id": full}),
            403,
            "Folder not empty",
        ),
        ("folder/rm", json!({}), 403, "Missing parameter folder_id"),
        ("folder/rm", json!({"folder_id": 0}), 403, "root folder"),
        (
            "folder/mv",
            json!({"folder_id": full, "rename": long}),
            403,
            "Invalid folder name",
        ),
        (
            "folder/mv",
            json!({"folder_id": full, "destination_folder_id": full}),
            403,
            "into itself",
        ),
        (
            "folder/share",
            json!({"folder_id": full, "share": 1, "pass": "abc"}),
            403,
            "at least 6 characters",
        ),
        (
            "folder/share",
            json!({"folder_id": full, "shares": [{"email": 3}]}),
            403,
            "shares[].email",
        ),
        (
            "folder/share",
            json!({"folder_id": full, "shares": "x"}),
            403,
            "shares: expected an array",
        ),
        (
            "file/ls",
            json!({"sent_after": "yesterday"}),
            403,
            "sent_after: expected a date",
        ),
        (
            "file/ls",
            json!({"folder_id": 4242}),
            404,
            "Resource not found #469",
        ),
        ("file/info", json!({}), 403, "Missing parameter url"),
        (
            "file/info",
            json!({"url": unknown}),
            404,
            "Resource not found #469",
        ),
        (
            "file/info",
            json!({"url": 12}),
            403,
            "url: expected a string",
        ),
        (
            "file/info",
            json!({"url": "not a link"}),
            404,
            "Resource not found #469",
        ),
        (
            "file/chattr",
            json!({"urls": [url], "pass": "short"}),
            403,
            "at least 6 characters",
        ),
        (
            "file/chattr",
            json!({"urls": [url], "filename": long}),
            403,
            "Invalid file name",
        ),
        (
            "file/chattr",
            json!({"urls": [url], "inline": "yes"}),
            403,
            "inline: expected 0 or 1",
        ),
        (
            "file/chattr",
            json!({"urls": [url], "acl": {"ip": ["nope"]}}),
            403,
            "Invalid ACL ip",
        ),
        (
            "file/chattr",
            json!({"urls": [url], "acl": {"colour": []}}),
            403,
            "Invalid ACL key",
        ),
        (
            "file/chattr",
            json!({"urls": [url], "acl": []}),
            403,
            "acl: expected an object",
        ),
        (
            "file/chattr",
            json!({"urls": url}),
            403,
            "urls: expected an array",
        ),
        ("file/chattr", json!({"urls": []}), 403, "the list is empty"),
        (
            "file/chattr",
            json!({"urls": [url, unknown], "description": "x"}),
            404,
            "Resource not found",
        ),
        (
            "file/rename",
            json!({"urls": [{"url": url, "filename": long}]}),
            403,
            "Invalid file name",
        ),
        (
            "file/rename",
            json!({"urls": [{"url": url}]}),
            403,
            "urls[].filename",
        ),
        (
            "file/mv",
            json!({"urls": [url]}),
            403,
            "Missing parameter destination_folder_id",
        ),
        (
            "file/mv",
            json!({"urls": [url], "destination_folder_id": 777}),
            404,
            "Resource not found",
        ),
        (
            "file/mv",
            json!({"urls": [url, url], "destination_folder_id": 0, "rename": "z"}),
            403,
            "single URL",
        ),
        (
            "file/cp",
            json!({"urls": [unknown]}),
            404,
            "Resource not found",
        ),
        (
            "file/rm",
            json!({"files": [{"url": unknown}]}),
            404,
            "Resource not found",
        ),
        (
            "file/rm",
            json!({"files": [{"url": url}, {"url": unknown}]}),
            404,
            "Resource not found",
        ),
        (
            "file/rm",
            json!({"files": [{"nourl": 1}]}),
            403,
            "files[].url",
        ),
        (
            "file/scan",
            json!({"url": unknown}),
            404,
            "Resource not found",
        ),
        (
            "download/get_token",
            json!({"url": unknown}),
            404,
            "Resource not found",
        ),
        (
            "download/get_token",
            json!({"url": url, "single": 7}),
            403,
            "single: expected 0 or 1",
        ),
        (
            "remote/request",
            json!({"urls": ["ftp://x/y"]}),
            403,
            "Invalid URL",
        ),
        (
            "remote/request",
            json!({"urls": ["http://127.0.0.1/x"], "headers": {"Bad Name": "v"}}),
            403,
            "Invalid header",
        ),
        (
            "remote/info",
            json!({"id": 999999}),
            404,
            "Resource not found",
        ),
        (
            "remote/info",
            json!({"id": "x"}),
            403,
            "id: expected an integer",
        ),
        (
            "ftp/users/add",
            json!({"user": "u", "pass": "123"}),
            403,
            "at least 6 characters",
        ),
        (
            "ftp/users/add",
            json!({"user": "bad name", "pass": "123456"}),
            403,
            "Invalid FTP user name",
        ),
        (
            "ftp/users/rm",
            json!({"user": "ghost"}),
            403,
            "No such FTP user",
        ),
        (
            "vouchers/use",
            json!({"voucher": "NOPE", "user_email": "owner@example.com"}),
            403,
            "Invalid voucher",
        ),
        (
            "user/info",
            json!({"default_domain": 99}),
            403,
            "default_domain",
        ),
        (
            "user/info",
            json!({"ru_report": 0, "use_cdn": 5}),
            403,
            "use_cdn: expected 0 or 1",
        ),
        (
            "user/info",
            json!({"ftp_did": 31337}),
            404,
            "Resource not found",
        ),
        ("nope/nothing", json!({}), 404, "Unknown API endpoint"),
    ];
    let mut failures = Vec::new();
    for (ep, body, status, needle) in &cases {
        let (s, v) = env.call(ep, body.clone()).await;
        let msg = v["message"].as_str().unwrap_or("");
        if s != *status || v["status"] != "KO" || !msg.contains(needle) || !msg.contains(" #") {
            failures.push(format!(
                "{ep} {body}: got {s} {v}, want {status} containing {needle:?}"
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));

    // Raw bodies: malformed JSON, a JSON array, a GET.
    let api = env.emu.api_url();
    for body in ["{not json", "[1,2]", "\"str\""] {
        let r = env
            .http
            .post(format!("{api}folder/mkdir.cgi"))
            .bearer_auth(&env.acct.api_key)
            .header("Content-Type", "application/json")
            .body(body)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status().as_u16(), 403, "{body}");
        let v: Value = r.json().await.unwrap();
        assert!(
            v["message"]
                .as_str()
                .unwrap()
                .starts_with("Invalid request"),
            "{v}"
        );
    }
    let r = env
        .http
        .get(format!("{api}folder/ls.cgi"))
        .bearer_auth(&env.acct.api_key)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 403);
    assert_eq!(
        snapshot(&env).await,
        before,
        "a refused request changed the state"
    );
}

async fn raw(addr: std::net::SocketAddr, request: &[u8], shutdown: bool) -> String {
    let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
    s.write_all(request).await.unwrap();
    if shutdown {
        s.shutdown().await.unwrap();
    }
    let mut out = Vec::new();
    let _ = tokio::time::timeout(std::time::Duration::from_secs(10), s.read_to_end(&mut out)).await;
    String::from_utf8_lossy(&out).to_string()
}

#[tokio::test]
async fn uploads_with_a_lying_or_missing_content_length_are_refused() {
    let env = common::start().await;
    let addr = env.emu.addr();
    let mut ids = Vec::new();
    for _ in 0..3 {
        let (_, srv) = env.call("upload/get_upload_server", json!({})).await;
        ids.push(srv["id"].as_str().unwrap().to_string());
    }
    let body = "--XyZ\r\nContent-Disposition: form-data; name=\"file[]\"; filename=\"a.txt\"\r\n\r\nhello world\r\n--XyZ--\r\n";
    let head = |id: &str, extra: &str| {
        format!(
            "POST /upload.cgi?id={id} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {}\r\nContent-Type: multipart/form-data; boundary=XyZ\r\nConnection: close\r\n{extra}\r\n",
            env.acct.api_key
        )
    };
    // Content-Length smaller than the body: the multipart body is cut short.
    let short = format!(
        "{}{body}",
        head(&ids[0], &format!("Content-Length: {}\r\n", body.len() - 20))
    );
    let out = raw(addr, short.as_bytes(), false).await;
    assert!(out.starts_with("HTTP/1.1 403"), "{out}");
    assert!(out.contains("\"status\":\"KO\""), "{out}");
    // Content-Length larger than what is sent, then the client stops sending.
    let long = format!(
        "{}{body}",
        head(
            &ids[1],
            &format!("Content-Length: {}\r\n", body.len() + 500)
        )
    );
    let out = raw(addr, long.as_bytes(), true).await;
    assert!(!out.contains(" 500 ") && !out.contains(" 302 "), "{out}");
    // No Content-Length at all (chunked).
    let chunked = format!(
        "{}{:x}\r\n{body}\r\n0\r\n\r\n",
        head(&ids[2], "Transfer-Encoding: chunked\r\n"),
        body.len()
    );
    let out = raw(addr, chunked.as_bytes(), false).await;
    assert!(out.starts_with("HTTP/1.1 403"), "{out}");
    assert!(out.contains("Content-Length required"), "{out}");
    // Nothing was stored, and no partial bytes remain.
    for id in &ids {
        let e =
            common::end_json(&env.http, format!("{}/end.pl?xid={id}", env.emu.base_url())).await;
        assert_eq!(e["links"], json!([]));
    }
    let (_, ls) = env.call("file/ls", json!({"folder_id": -1})).await;
    assert_eq!(ls["count"], 0);
    let tmp: Vec<_> = std::fs::read_dir(env.dir.path().join("tmp"))
        .unwrap()
        .collect();
    assert!(tmp.is_empty(), "partial files left: {tmp:?}");
    // Unknown upload id and no file part.
    let r = env
        .http
        .post(format!("{}/upload.cgi?id=Nope123456", env.emu.base_url()))
        .multipart(reqwest::multipart::Form::new().text("did", "0"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 403);
}
