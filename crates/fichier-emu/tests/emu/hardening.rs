//! Hostile input, faults and fidelity gaps found against the emulator (server-side request
//! forgery, full disk, cross-site admin calls, dual-stack admin, stalled connections, short
//! and empty uploads, public base URL, hidden links, readable end.pl, extended quota, wrong
//! upload content type), each driven over real sockets on loopback.

use std::time::{Duration, Instant};

use fichier_emu::{Config, Emulator, Fault, FaultPlan, Offer};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::common;

/// A fresh upload id and node host.
async fn node(env: &common::Env) -> (String, String) {
    let (_, srv) = env.call("upload/get_upload_server", json!({})).await;
    (
        srv["url"].as_str().unwrap().to_string(),
        srv["id"].as_str().unwrap().to_string(),
    )
}

/// POST one `file[]` part to the node; the status and body text.
async fn post_file(env: &common::Env, name: &str, bytes: Vec<u8>) -> (u16, String, String) {
    let (node, id) = node(env).await;
    let form = reqwest::multipart::Form::new().part(
        "file[]",
        reqwest::multipart::Part::bytes(bytes).file_name(name.to_string()),
    );
    let resp = env
        .post_upload(&node, &id, form, Some(&env.acct.api_key))
        .await;
    let status = resp.status().as_u16();
    if status != 302 {
        assert_eq!(
            resp.headers()
                .get("connection")
                .map(|v| v.to_str().unwrap()),
            Some("close"),
            "a refused upload's connection must not be reused"
        );
    }
    (status, resp.text().await.unwrap(), id)
}

async fn root_files(env: &common::Env) -> Vec<Value> {
    let (_, v) = env.call("file/ls", json!({"folder_id": 0})).await;
    v["items"].as_array().cloned().unwrap_or_default()
}

/// Read until the server closes the connection (EOF or reset); what it sent.
async fn read_until_closed(s: &mut TcpStream, within: Duration) -> Option<String> {
    let mut out = Vec::new();
    let closed = tokio::time::timeout(within, async {
        let mut buf = [0u8; 4096];
        loop {
            match s.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(n) => out.extend_from_slice(&buf[..n]),
            }
        }
    })
    .await;
    closed
        .ok()
        .map(|()| String::from_utf8_lossy(&out).into_owned())
}

#[tokio::test]
async fn remote_upload_never_fetches_the_emulators_own_routes() {
    let env = common::start().await;
    let port = env.emu.addr().port();
    let urls = [
        format!("http://127.0.0.1:{port}/admin/accounts"),
        format!("http://localhost:{port}/admin/requests"),
        format!("http://127.0.0.1:{port}/v1/user/info.cgi"),
    ];
    let (s, v) = env.call("remote/request", json!({"urls": urls})).await;
    assert_eq!(s, 200, "{v}");
    let id = v["id"].as_i64().unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    let info = loop {
        let (_, i) = env.call("remote/info", json!({"id": id})).await;
        if i["result"]
            .as_array()
            .is_some_and(|r| r.len() == urls.len())
        {
            break i;
        }
        assert!(Instant::now() < deadline, "the job never ended: {i}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    for r in info["result"].as_array().unwrap() {
        assert_eq!(r["status"], "KO", "{r}");
        assert_eq!(r["download_link"], "");
        assert!(
            r["message"].as_str().unwrap().contains("emulator itself"),
            "{r}"
        );
    }
    assert!(root_files(&env).await.is_empty());
    // Nothing reached the admin routes on the job's behalf.
    assert!(
        env.emu.request_log().iter().all(|r| r.endpoint != "admin"),
        "{:?}",
        env.emu.request_log()
    );
}

#[tokio::test]
async fn full_disk_during_upload_leaves_no_temp_file_and_the_service_recovers() {
    let env = common::start().await;
    env.emu.set_fault_plan(FaultPlan::new().on_call(
        "upload",
        1,
        Fault::DiskFull { after_bytes: 4096 },
    ));
    let (status, body, _) = post_file(&env, "big.bin", vec![7u8; 256 * 1024]).await;
    assert_eq!(status, 503, "{body}");
    assert!(body.contains("Storage full"), "{body}");
    let tmp = env.emu.data_dir().join("tmp");
    let left: Vec<_> = std::fs::read_dir(&tmp).unwrap().collect();
    assert!(left.is_empty(), "temp files left: {left:?}");
    assert!(root_files(&env).await.is_empty());
    // Space is back (the fault fired once): uploads and metadata writes work again.
    let rep = env.upload("after.bin", vec![1u8; 256 * 1024], 0).await;
    assert_eq!(rep["links"][0]["size"], (256 * 1024).to_string());
    let (s, v) = env.call("folder/mkdir", json!({"name": "Later"})).await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(root_files(&env).await.len(), 1);
}

#[tokio::test]
async fn admin_routes_refuse_cross_site_requests() {
    let env = common::start().await;
    let base = env.emu.base_url();
    let post = |ctype: &'static str, origin: Option<&'static str>| {
        let mut r = env
            .http
            .post(format!("{base}/admin/accounts"))
            .header("Content-Type", ctype)
            .body(r#"{"email":"evil@example.com"}"#);
        if let Some(o) = origin {
            r = r.header("Origin", o);
        }
        r.send()
    };
    // What a web page can send without a CORS preflight: a text/plain POST from its origin.
    let r = post("text/plain", Some("http://evil.example"))
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 403);
    let r = post("application/json", Some("http://evil.example"))
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 403);
    let text = r.text().await.unwrap();
    assert!(text.contains("cross-origin"), "{text}");
    let r = post("text/plain", None).await.unwrap();
    assert_eq!(r.status().as_u16(), 403);
    let text = r.text().await.unwrap();
    assert!(text.contains("Content-Type: application/json"), "{text}");
    let r = env
        .http
        .put(format!("{base}/admin/faults"))
        .header("Content-Type", "text/plain")
        .body(r#"{"rules":[{"endpoint":"*","fault":{"kind":"flood"}}]}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 403);
    assert_eq!(env.call("user/info", json!({})).await.0, 200);
    let list: Value = common::get_json(&env.http, format!("{base}/admin/accounts")).await;
    assert!(
        !list.to_string().contains("evil@example.com"),
        "a cross-site request created an account: {list}"
    );
    // The emulator's own origin and a JSON body pass.
    let r = post("application/json", None).await.unwrap();
    assert_eq!(r.status().as_u16(), 200);
}

#[tokio::test]
async fn admin_routes_refuse_a_rebinding_host_even_with_a_matching_origin() {
    let env = common::start().await;
    let base = env.emu.base_url();
    let port = env.emu.addr().port();
    // A page on evil.example whose name now resolves to 127.0.0.1: Origin and Host agree.
    let evil = format!("evil.example:{port}");
    let r = env
        .http
        .post(format!("{base}/admin/accounts"))
        .header("Host", &evil)
        .header("Origin", format!("http://{evil}"))
        .header("Content-Type", "application/json")
        .body(r#"{"email":"rebind@example.com"}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 403);
    assert!(r.text().await.unwrap().contains("loopback Host"));
    let r = env
        .http
        .get(format!("{base}/admin/accounts"))
        .header("Host", &evil)
        .header("Origin", format!("http://{evil}"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 403);
    let list: Value = common::get_json(&env.http, format!("{base}/admin/accounts")).await;
    assert!(!list.to_string().contains("rebind@example.com"), "{list}");
    // The loopback names still work, with their own origin.
    for host in [format!("localhost:{port}"), format!("127.0.0.1:{port}")] {
        let r = env
            .http
            .get(format!("{base}/admin/accounts"))
            .header("Host", &host)
            .header("Origin", format!("http://{host}"))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status().as_u16(), 200, "{host}");
    }
}

#[tokio::test]
async fn a_request_body_trickled_below_the_minimum_rate_is_cut_off() {
    let env = common::start_with(|c| {
        c.header_read_timeout = Duration::from_secs(1);
    })
    .await;
    let mut s = TcpStream::connect(env.emu.addr()).await.unwrap();
    let head = format!(
        "POST /v1/user/info.cgi HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {}\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n",
        env.acct.api_key
    );
    s.write_all(head.as_bytes()).await.unwrap();
    let started = std::time::Instant::now();
    // One byte every 300 ms, for at most 20 s: the server must give up long before.
    let mut closed = false;
    for _ in 0..66 {
        if s.write_all(b" ").await.is_err() {
            closed = true;
            break;
        }
        let mut buf = [0u8; 512];
        match tokio::time::timeout(Duration::from_millis(300), s.read(&mut buf)).await {
            Ok(Ok(0) | Err(_)) => {
                closed = true;
                break;
            }
            Ok(Ok(_)) => {}
            Err(_) => {}
        }
    }
    assert!(closed, "a body at 3 bytes/s held the connection for 20 s");
    assert!(started.elapsed() < Duration::from_secs(15));
    assert_eq!(env.call("user/info", json!({})).await.0, 200);
}

#[tokio::test]
async fn admin_serves_ipv4_loopback_on_a_dual_stack_bind() {
    let env = common::start_with(|c| {
        c.bind("[::]:0".parse().unwrap());
    })
    .await;
    let port = env.emu.addr().port();
    for host in ["127.0.0.1", "[::1]"] {
        let r = env
            .http
            .get(format!("http://{host}:{port}/admin/accounts"))
            .send()
            .await
            .unwrap();
        assert_eq!(
            r.status().as_u16(),
            200,
            "{host}: {}",
            r.text().await.unwrap()
        );
    }
}

#[tokio::test]
async fn stalled_headers_time_out() {
    let env = common::start_with(|c| {
        c.header_read_timeout = Duration::from_millis(500);
    })
    .await;
    let mut s = TcpStream::connect(env.emu.addr()).await.unwrap();
    s.write_all(b"POST /v1/user/info.cgi HTTP/1.1\r\nHost: x\r\n")
        .await
        .unwrap();
    assert!(
        read_until_closed(&mut s, Duration::from_secs(30))
            .await
            .is_some(),
        "a connection with half-sent headers was kept open"
    );
    // A kept-alive connection left idle is closed the same way.
    let mut s = TcpStream::connect(env.emu.addr()).await.unwrap();
    s.write_all(b"GET /admin/accounts HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        .await
        .unwrap();
    let got = read_until_closed(&mut s, Duration::from_secs(30)).await;
    assert!(got.is_some_and(|t| t.starts_with("HTTP/1.1 200")));
    assert_eq!(env.call("user/info", json!({})).await.0, 200);
}

#[tokio::test]
async fn open_connections_are_capped() {
    let env = common::start_with(|c| {
        c.max_connections = 2;
        c.header_read_timeout = Duration::from_secs(60);
    })
    .await;
    let addr = env.emu.addr();
    let mut held = Vec::new();
    for _ in 0..2 {
        let mut s = TcpStream::connect(addr).await.unwrap();
        s.write_all(b"GET /admin/accounts HTTP/1.1\r\nHost: 127.0.0.1\r\n")
            .await
            .unwrap();
        held.push(s);
    }
    let mut third = TcpStream::connect(addr).await.unwrap();
    third
        .write_all(b"GET /admin/accounts HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
        .await
        .unwrap();
    // Both slots are taken: the third client waits (a negative check: a slow machine only
    // makes it pass more surely).
    let mut buf = [0u8; 64];
    assert!(
        tokio::time::timeout(Duration::from_millis(500), third.read(&mut buf))
            .await
            .is_err(),
        "a third connection was served past the cap of 2"
    );
    // A slot frees when a client leaves; the waiting one is then served.
    drop(held.pop());
    let got = read_until_closed(&mut third, Duration::from_secs(30)).await;
    assert!(
        got.as_deref()
            .is_some_and(|t| t.starts_with("HTTP/1.1 200")),
        "{got:?}"
    );
}

#[tokio::test]
async fn upload_body_shorter_than_its_content_length_is_refused() {
    let env = common::start().await;
    // With and without the CRLF after the closing boundary: the parser may stop reading at
    // the boundary, before the body's missing end shows.
    for ending in [&b"\r\n--XyZ--\r\n"[..], &b"\r\n--XyZ--"[..]] {
        let (node, id) = node(&env).await;
        let mut body = Vec::new();
        body.extend_from_slice(
            b"--XyZ\r\nContent-Disposition: form-data; name=\"file[]\"; filename=\"short.bin\"\r\nContent-Type: application/octet-stream\r\n\r\n",
        );
        body.extend_from_slice(&[b'a'; 1000]);
        body.extend_from_slice(ending);
        let head = format!(
            "POST /upload.cgi?id={id} HTTP/1.1\r\nHost: {node}\r\nAuthorization: Bearer {}\r\nContent-Type: multipart/form-data; boundary=XyZ\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
            env.acct.api_key,
            body.len() + 100
        );
        let mut s = TcpStream::connect(env.emu.addr()).await.unwrap();
        s.write_all(head.as_bytes()).await.unwrap();
        s.write_all(&body).await.unwrap();
        // The body ends here, 100 bytes short.
        s.shutdown().await.unwrap();
        let got = read_until_closed(&mut s, Duration::from_secs(30))
            .await
            .expect("no answer");
        assert!(got.starts_with("HTTP/1.1 403"), "{got}");
        assert!(got.contains("Content-Length declared"), "{got}");
        assert!(root_files(&env).await.is_empty());
        let end: Value =
            common::end_json(&env.http, format!("http://{node}/end.pl?xid={id}")).await;
        assert_eq!(end["links"], json!([]));
    }
}

#[tokio::test]
async fn zero_byte_file_part_is_refused_and_nothing_stored() {
    let env = common::start().await;
    let (status, body, _) = post_file(&env, "empty.txt", Vec::new()).await;
    assert_eq!(status, 403, "{body}");
    assert!(body.contains("0-byte"), "{body}");
    assert!(body.contains("empty.txt"), "{body}");
    assert!(root_files(&env).await.is_empty());
    let tmp = env.emu.data_dir().join("tmp");
    assert_eq!(std::fs::read_dir(&tmp).unwrap().count(), 0);
}

#[tokio::test]
async fn upload_with_a_json_body_says_multipart_was_expected() {
    let env = common::start().await;
    let (node, id) = node(&env).await;
    let r = env
        .http
        .post(format!("http://{node}/upload.cgi?id={id}"))
        .header("Authorization", format!("Bearer {}", env.acct.api_key))
        .header("Content-Type", "application/json")
        .body(r#"{"file":"x"}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 403);
    let v: Value = r.json().await.unwrap();
    let msg = v["message"].as_str().unwrap();
    assert!(msg.contains("multipart/form-data"), "{msg}");
    assert!(msg.contains("file[]"), "{msg}");
    assert!(msg.contains("application/json"), "{msg}");
}

#[tokio::test]
async fn public_url_goes_into_node_and_download_urls() {
    let dir = tempfile::tempdir().unwrap();
    let key = {
        let env = common::start_with(|c| {
            c.data_dir = dir.path().to_path_buf();
        })
        .await;
        env.upload("pub.bin", vec![3u8; 100], 0).await;
        env.acct.api_key.clone()
    };
    let mut config = Config::new(dir.path());
    config.public_url("https://emu.example:8443");
    let env = common::restart(config).await;
    assert_eq!(env.acct.api_key, key);
    let (_, srv) = env.call("upload/get_upload_server", json!({})).await;
    assert_eq!(srv["url"], "emu.example:8443");
    let url = root_files(&env).await[0]["url"]
        .as_str()
        .unwrap()
        .to_string();
    let (_, t) = env.call("download/get_token", json!({"url": url})).await;
    let dl = t["url"].as_str().unwrap();
    assert!(dl.starts_with("https://emu.example:8443/dl/"), "{dl}");

    let mut bad = Config::new(tempfile::tempdir().unwrap().path());
    bad.public_url("emu.example/path");
    let e = Emulator::start(bad).await.unwrap_err().to_string();
    assert!(e.contains("like https://emu.example:8443"), "{e}");
}

#[tokio::test]
async fn file_info_through_a_hide_links_share_keeps_the_link_hidden() {
    let env = common::start().await;
    let (_, v) = env.call("folder/mkdir", json!({"name": "Hid"})).await;
    let folder = v["folder_id"].as_i64().unwrap();
    env.upload("secret.txt", b"hidden".to_vec(), folder).await;
    let (s, v) = env
        .call(
            "folder/share",
            json!({"folder_id": folder,
                   "shares": [{"email": "friend@example.org", "rw": 0, "hide_links": 1}]}),
        )
        .await;
    assert_eq!(s, 200, "{v}");
    let friend = env
        .emu
        .create_account("friend@example.org", Offer::Premium)
        .unwrap();
    let (s, v) = env
        .call_key(
            "file/info",
            json!({"folder_id": folder, "filename": "secret.txt"}),
            Some(&friend.api_key),
        )
        .await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["filename"], "secret.txt");
    assert_eq!(v["url"], "", "file/info leaked a hidden link: {v}");
    let (s, v) = env
        .call_key(
            "file/info",
            json!({"folder_id": 0, "sharing_user": "owner@example.com", "filename": "secret.txt"}),
            Some(&friend.api_key),
        )
        .await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["url"], "", "file/info leaked a hidden link: {v}");
    // The owner still sees it.
    let (_, v) = env
        .call(
            "file/info",
            json!({"folder_id": folder, "filename": "secret.txt"}),
        )
        .await;
    assert!(v["url"].as_str().unwrap().starts_with("https://"), "{v}");
}

#[tokio::test]
async fn end_pl_json_2_answers_readable_json() {
    let env = common::start().await;
    let (status, _, xid) = post_file(&env, "r.txt", b"readable".to_vec()).await;
    assert_eq!(status, 302);
    let base = env.emu.base_url();
    for req in [
        env.http.get(format!("{base}/end.pl?xid={xid}&JSON=2")),
        env.http
            .get(format!("{base}/end.pl?xid={xid}"))
            .header("JSON", "2"),
    ] {
        let r = req.send().await.unwrap();
        assert_eq!(r.status().as_u16(), 200);
        let ctype = r.headers()["content-type"].to_str().unwrap().to_string();
        assert!(ctype.starts_with("application/json"), "{ctype}");
        let text = r.text().await.unwrap();
        assert!(text.contains("\n  "), "not indented: {text}");
        let v: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(v["links"][0]["filename"], "r.txt");
    }
}

#[tokio::test]
async fn user_info_carries_extended_quota() {
    let env = common::start().await;
    let (_, v) = env.call("user/info", json!({})).await;
    assert!(v["extended_quota"].is_i64(), "{v}");
    assert!(v["extended_quota_end"].is_string(), "{v}");
}
