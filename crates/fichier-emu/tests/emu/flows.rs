//! Flow tests through real sockets: node upload → listing → download (ranges, HEAD, 416,
//! tokens), remote upload from a loopback server, flood lock and recovery, restart
//! persistence, and the end.pl report formats.

use crate::common;

use std::time::Duration;

use fichier_emu::{Config, Limits, Offer};
use serde_json::{Value, json};

fn pattern(n: usize) -> Vec<u8> {
    (0..n).map(|i| (i * 7 + i / 251) as u8).collect()
}

async fn token(env: &common::Env, body: Value) -> String {
    let (s, v) = env.call("download/get_token", body).await;
    assert_eq!(s, 200, "{v}");
    v["url"].as_str().unwrap().to_string()
}

#[tokio::test]
async fn big_upload_streams_and_downloads_back_with_ranges() {
    let env = common::start().await;
    // Bigger than axum's default 2 MiB body limit.
    let bytes = pattern(3 * 1024 * 1024 + 17);
    let report = env.upload("data.bin", bytes.clone(), 0).await;
    let link = &report["links"][0];
    assert_eq!(link["size"], bytes.len().to_string());
    assert_eq!(link["whirlpool"], common::whirlpool_hex(&bytes));
    let url = link["download"].as_str().unwrap().to_string();
    assert!(url.starts_with("https://1fichier.com/?"));
    assert_eq!(url.len(), "https://1fichier.com/?".len() + 20);

    let (_, info) = env.call("file/info", json!({"url": url})).await;
    assert_eq!(info["size"], bytes.len());
    assert_eq!(info["checksum"], link["whirlpool"]);
    assert_eq!(info["content-type"], "application/octet-stream");
    let (_, ls) = env.call("file/ls", json!({"folder_id": -1})).await;
    assert_eq!(ls["items"][0]["checksum"], link["whirlpool"]);

    let dl = token(&env, json!({"url": url})).await;
    let full = env.http.get(&dl).send().await.unwrap();
    assert_eq!(full.status().as_u16(), 200);
    assert_eq!(
        full.headers()["content-disposition"],
        "attachment; filename=\"data.bin\""
    );
    assert_eq!(full.bytes().await.unwrap().as_ref(), &bytes[..]);

    // The same token serves ranges until it expires.
    let r = env
        .http
        .get(&dl)
        .header("Range", "bytes=1000-1999")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 206);
    assert_eq!(
        r.headers()["content-range"],
        format!("bytes 1000-1999/{}", bytes.len())
    );
    assert_eq!(r.bytes().await.unwrap().as_ref(), &bytes[1000..2000]);
    let r = env
        .http
        .get(&dl)
        .header("Range", format!("bytes={}-", bytes.len() - 5))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 206);
    assert_eq!(r.bytes().await.unwrap().as_ref(), &bytes[bytes.len() - 5..]);
    let r = env
        .http
        .get(&dl)
        .header("Range", format!("bytes={}-", bytes.len()))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 416);
    assert_eq!(
        r.headers()["content-range"],
        format!("bytes */{}", bytes.len())
    );
    let h = env.http.head(&dl).send().await.unwrap();
    assert_eq!(h.status().as_u16(), 200);
    assert_eq!(h.headers()["content-length"], bytes.len().to_string());
    assert_eq!(h.headers()["accept-ranges"], "bytes");
}

#[tokio::test]
async fn tokens_expire_and_single_tokens_serve_once() {
    let env = common::start().await;
    let report = env.upload("a.txt", b"hello world".to_vec(), 0).await;
    let url = report["links"][0]["download"].as_str().unwrap().to_string();

    let single = token(&env, json!({"url": url, "single": 1})).await;
    let h = env.http.head(&single).send().await.unwrap();
    assert_eq!(
        h.status().as_u16(),
        200,
        "HEAD does not consume a single token"
    );
    assert_eq!(
        env.http
            .get(&single)
            .send()
            .await
            .unwrap()
            .status()
            .as_u16(),
        200
    );
    assert_eq!(
        env.http
            .get(&single)
            .send()
            .await
            .unwrap()
            .status()
            .as_u16(),
        410
    );

    let t = token(&env, json!({"url": url, "inline": 1})).await;
    let r = env.http.get(&t).send().await.unwrap();
    assert_eq!(
        r.headers()["content-disposition"],
        "inline; filename=\"a.txt\""
    );
    assert_eq!(r.headers()["content-type"], "text/plain");

    // Expiry: a short TTL, then a wait well past it (only "later than the TTL" matters).
    let short = common::start_with(|c| {
        c.token_ttl(Duration::from_millis(200));
    })
    .await;
    let report = short.upload("b.txt", b"bye".to_vec(), 0).await;
    let url = report["links"][0]["download"].as_str().unwrap().to_string();
    let t = token(&short, json!({"url": url})).await;
    tokio::time::sleep(Duration::from_millis(1000)).await;
    assert_eq!(
        short.http.get(&t).send().await.unwrap().status().as_u16(),
        410
    );
}

#[tokio::test]
async fn passwords_acl_and_cdn_on_get_token() {
    let env = common::start().await;
    let report = env.upload("p.txt", b"secret bytes".to_vec(), 0).await;
    let url = report["links"][0]["download"].as_str().unwrap().to_string();
    let (s, _) = env
        .call("file/chattr", json!({"urls": [url], "pass": "hunter22"}))
        .await;
    assert_eq!(s, 200);
    let (s, v) = env.call("download/get_token", json!({"url": url})).await;
    assert_eq!(
        (s, v["message"].as_str().unwrap()),
        (403, "Password not provided. Resource not allowed #631")
    );
    let (_, v) = env
        .call(
            "download/get_token",
            json!({"url": url, "pass": "wrong-pass"}),
        )
        .await;
    assert_eq!(v["message"], "Invalid password. Resource not allowed #631");
    token(&env, json!({"url": url, "pass": "hunter22"})).await;

    // ACL applies to other accounts, not to the owner.
    let (s, _) = env
        .call(
            "file/chattr",
            json!({"urls": [url], "pass": "", "acl": {"email": ["friend@example.org"]}}),
        )
        .await;
    assert_eq!(s, 200);
    let other = env
        .emu
        .create_account("other@example.org", Offer::Premium)
        .unwrap();
    let (s, v) = env
        .call_key(
            "download/get_token",
            json!({"url": url}),
            Some(&other.api_key),
        )
        .await;
    assert_eq!(
        (s, v["message"].as_str().unwrap()),
        (403, "Resource not allowed #631")
    );
    let friend = env
        .emu
        .create_account("friend@example.org", Offer::Premium)
        .unwrap();
    let (s, _) = env
        .call_key(
            "download/get_token",
            json!({"url": url}),
            Some(&friend.api_key),
        )
        .await;
    assert_eq!(s, 200);
    let (_, info) = env.call("file/info", json!({"url": url})).await;
    assert_eq!(info["acl"], json!({"email": ["friend@example.org"]}));
    let (_, ls) = env.call("file/ls", json!({})).await;
    assert_eq!(ls["items"][0]["acl"], 1);

    // CDN downloads need credits.
    let (s, v) = env
        .call("download/get_token", json!({"url": url, "cdn": 1}))
        .await;
    assert_eq!(
        (s, v["message"].as_str().unwrap()),
        (403, "Not enough CDN credits #0")
    );
    env.emu.add_cdn_credits("owner@example.com", 1.0).unwrap();
    token(&env, json!({"url": url, "cdn": 1})).await;
}

#[tokio::test]
async fn end_pl_is_repeatable_and_has_three_formats() {
    let env = common::start().await;
    let (_, srv) = env
        .call_key("upload/get_upload_server", json!({}), None)
        .await;
    let node = srv["url"].as_str().unwrap();
    let id = srv["id"].as_str().unwrap();
    assert_eq!(id.len(), 10);
    // Anonymous upload on domain 2, with a file password.
    let form = reqwest::multipart::Form::new()
        .text("domain", "2")
        .text("dpass", "file-pass")
        .text("ssl_on", "on")
        .part(
            "file[]",
            reqwest::multipart::Part::bytes(b"anon".to_vec()).file_name("anon.txt"),
        );
    let r = env.post_upload(&node, &id, form, None).await;
    assert_eq!(r.status().as_u16(), 302);
    let end = format!("http://{node}/end.pl?xid={id}");
    let a: Value = common::end_json(&env.http, &end).await;
    let b: Value = common::get_json(&env.http, format!("{end}&JSON=1")).await;
    assert_eq!(a, b, "the report is repeatable");
    let link = &a["links"][0];
    assert!(
        link["download"]
            .as_str()
            .unwrap()
            .starts_with("https://cjoint.net/?")
    );
    assert!(
        link["remove"]
            .as_str()
            .unwrap()
            .starts_with("https://cjoint.net/remove/")
    );
    let csv = env
        .http
        .get(&end)
        .header("EXPORT", "1")
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let fields: Vec<&str> = csv.trim_end().split(';').collect();
    assert_eq!(fields[0], "anon.txt");
    assert_eq!(fields[1], "4");
    assert_eq!(fields[4], "2");
    let html = env
        .http
        .post(&end)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(html.contains("<td class=\"normal\">anon.txt</td>"));
    // An id never used gives an empty report.
    let e: Value =
        common::end_json(&env.http, format!("http://{node}/end.pl?xid=Zz9Yy8Xx7W")).await;
    assert_eq!(e, json!({"incoming": 0, "links": []}));
    // A used id cannot take another upload.
    let form = reqwest::multipart::Form::new().part(
        "file[]",
        reqwest::multipart::Part::bytes(b"x".to_vec()).file_name("x"),
    );
    let r = env.post_upload(&node, &id, form, None).await;
    assert_eq!(r.status().as_u16(), 403);
}

#[tokio::test]
async fn files_are_invisible_until_end_pl() {
    let env = common::start().await;
    let (_, srv) = env.call("upload/get_upload_server", json!({})).await;
    let node = srv["url"].as_str().unwrap();
    let id = srv["id"].as_str().unwrap();
    let form = reqwest::multipart::Form::new().part(
        "file[]",
        reqwest::multipart::Part::bytes(b"late".to_vec()).file_name("late.txt"),
    );
    env.http
        .post(format!("http://{node}/upload.cgi?id={id}"))
        .bearer_auth(&env.acct.api_key)
        .multipart(form)
        .send()
        .await
        .unwrap();
    let (_, ls) = env.call("file/ls", json!({})).await;
    assert_eq!(ls["count"], 0);
    env.http
        .get(format!("http://{node}/end.pl?xid={id}"))
        .send()
        .await
        .unwrap();
    let (_, ls) = env.call("file/ls", json!({})).await;
    assert_eq!(ls["count"], 1);
}

#[tokio::test]
async fn remote_upload_fetches_loopback_and_refuses_others() {
    let env = common::start().await;
    let bytes = pattern(100_000);
    let (url, _guard) = common::serve_static(bytes.clone()).await;
    let (s, v) = env
        .call(
            "remote/request",
            json!({"urls": [url, "https://example.com/file.iso"], "headers": {"x-token": "abc"}}),
        )
        .await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["headers"], json!({"X-Token": "abc"}));
    let id = v["id"].as_i64().unwrap();
    let mut info = Value::Null;
    for _ in 0..1000 {
        let (_, i) = env.call("remote/info", json!({"id": id.to_string()})).await;
        if i["result"].as_array().is_some_and(|r| r.len() == 2) {
            info = i;
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(info["result"][0]["status"], "OK", "{info}");
    assert_eq!(info["result"][1]["status"], "KO");
    assert!(
        info["result"][1]["message"]
            .as_str()
            .unwrap()
            .contains("only fetches loopback")
    );
    assert!(!info["execution_date"].as_str().unwrap().starts_with("1970"));
    let link = info["result"][0]["download_link"].as_str().unwrap();
    let (_, f) = env.call("file/info", json!({"url": link})).await;
    assert_eq!(f["filename"], "file.bin");
    assert_eq!(f["checksum"], common::whirlpool_hex(&bytes));
    let (_, ls) = env.call("remote/ls", json!({})).await;
    assert_eq!(ls["data"][0]["id"], id);
}

/// Windows and a lock long enough that quick calls always fall inside them, even on a loaded
/// machine: asserting what a lock refuses must not race its end.
fn test_limits() -> Limits {
    let mut l = Limits::scaled();
    l.user_info_ip_window = Some(Duration::from_secs(60));
    l.user_info_user_window = Some(Duration::from_secs(60));
    l.file_ls_folder_window = Some(Duration::from_secs(60));
    l.lock_time = Duration::from_secs(60);
    l.lock_max = Duration::from_secs(60);
    l
}

#[tokio::test]
async fn flood_lock_refuses_every_call_until_it_lifts() {
    let env = common::start_with(|c| {
        c.limits(test_limits());
    })
    .await;
    let (s, _) = env.call("user/info", json!({})).await;
    assert_eq!(s, 200);
    let (s, v) = env.call("user/info", json!({})).await;
    assert_eq!(
        (s, v["message"].as_str().unwrap()),
        (403, "Flood detected: IP Locked #38")
    );
    // The lock (60 s here) refuses every call, whatever the endpoint.
    let (_, v) = env.call("folder/ls", json!({})).await;
    assert_eq!(v["message"], "Flood detected: IP Locked #38");

    // Listing one folder twice within its window locks too.
    env.emu.set_limits(test_limits());
    assert_eq!(env.call("file/ls", json!({"folder_id": 0})).await.0, 200);
    let (_, v) = env.call("file/ls", json!({"folder_id": 0})).await;
    assert_eq!(v["message"], "Flood detected: IP Locked #374");

    // A short lock lifts by itself: wait for that state, with a generous deadline, instead
    // of assuming when it happens.
    let mut short = test_limits();
    short.lock_time = Duration::from_millis(500);
    short.lock_max = Duration::from_millis(500);
    env.emu.set_limits(short);
    assert_eq!(env.call("user/info", json!({})).await.0, 200);
    assert_eq!(env.call("user/info", json!({})).await.0, 403);
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while env.call("folder/ls", json!({})).await.0 != 200 {
        assert!(
            std::time::Instant::now() < deadline,
            "the lock never lifted"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    env.emu.set_limits(Limits::off());
    for _ in 0..20 {
        assert_eq!(env.call("user/info", json!({})).await.0, 200);
    }
}

#[tokio::test]
async fn state_survives_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let (key, url, bytes) = {
        let env = common::start_with(|c| {
            c.data_dir = dir.path().to_path_buf();
        })
        .await;
        let (_, v) = env.call("folder/mkdir", json!({"name": "Keep"})).await;
        let folder = v["folder_id"].as_i64().unwrap();
        let bytes = pattern(5000);
        let rep = env.upload("keep.bin", bytes.clone(), folder).await;
        let url = rep["links"][0]["download"].as_str().unwrap().to_string();
        let key = env.acct.api_key.clone();
        env.emu.shutdown().await;
        (key, url, bytes)
    };
    let env = common::restart(Config::new(dir.path())).await;
    assert_eq!(env.acct.api_key, key);
    let (_, v) = env.call("folder/ls", json!({})).await;
    assert_eq!(v["sub_folders"][0]["name"], "Keep");
    let (_, info) = env.call("file/info", json!({"url": url})).await;
    assert_eq!(info["path"], "Keep");
    let dl = token(&env, json!({"url": url})).await;
    let got = env
        .http
        .get(&dl)
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    assert_eq!(got.as_ref(), &bytes[..]);
}

#[tokio::test]
async fn public_and_groupware_shares() {
    let env = common::start().await;
    let (_, v) = env.call("folder/mkdir", json!({"name": "Pub"})).await;
    let folder = v["folder_id"].as_i64().unwrap();
    env.upload("in-share.txt", b"shared".to_vec(), folder).await;
    let (_, v) = env
        .call(
            "folder/share",
            json!({"folder_id": folder, "share": 1, "pass": "sharepass",
                   "shares": [{"email": "friend@example.org", "rw": 1, "hide_links": 1}]}),
        )
        .await;
    let share = v["url"]
        .as_str()
        .unwrap()
        .rsplit('/')
        .next()
        .unwrap()
        .to_string();
    let base = env.emu.base_url();
    // Without the password: the HTML form, not JSON.
    let r = env
        .http
        .get(format!("{base}/dir/{share}?json=1"))
        .send()
        .await
        .unwrap();
    assert!(r.text().await.unwrap().contains("<form"));
    let r = env
        .http
        .post(format!("{base}/dir/{share}"))
        .header("Content-Type", "application/x-www-form-urlencoded")
        .body("json=1&pass=sharepass")
        .send()
        .await
        .unwrap();
    let list: Value = r.json().await.unwrap();
    assert_eq!(list[0]["filename"], "in-share.txt");

    let friend = env
        .emu
        .create_account("friend@example.org", Offer::Premium)
        .unwrap();
    let (_, v) = env
        .call_key(
            "folder/ls",
            json!({"folder_id": 0, "sharing_user": "owner@example.com"}),
            Some(&friend.api_key),
        )
        .await;
    assert_eq!(v["sub_folders"][0]["id"], folder);
    assert_eq!(v["hide_links"], 1);
    // hide_links forces read-only.
    assert_eq!(v["rw"], 0);
    let (_, v) = env
        .call_key(
            "file/ls",
            json!({"folder_id": folder}),
            Some(&friend.api_key),
        )
        .await;
    assert_eq!(v["items"][0]["url"], "");
    let (s, _) = env
        .call_key(
            "folder/mkdir",
            json!({"name": "x", "folder_id": folder}),
            Some(&friend.api_key),
        )
        .await;
    assert_eq!(s, 403);
    let (_, v) = env.call("folder/ls", json!({"folder_id": folder})).await;
    assert_eq!(v["shares"][0]["email"], "friend@example.org");
    let (_, v) = env
        .call(
            "folder/share",
            json!({"folder_id": folder, "share": 0, "shares": []}),
        )
        .await;
    assert_eq!(v, json!({"status": "OK"}));
    let r = env
        .http
        .get(format!("{base}/dir/{share}?json=1"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 404);
}

#[tokio::test]
async fn file_and_folder_management() {
    let env = common::start().await;
    let (_, v) = env.call("folder/mkdir", json!({"name": "A"})).await;
    let a = v["folder_id"].as_i64().unwrap();
    let (_, v) = env
        .call("folder/mkdir", json!({"name": "B", "folder_id": a}))
        .await;
    let b = v["folder_id"].as_i64().unwrap();
    let rep = env.upload("one.txt", b"one".to_vec(), 0).await;
    let url = rep["links"][0]["download"].as_str().unwrap().to_string();
    // Duplicate names are allowed.
    env.upload("one.txt", b"one".to_vec(), 0).await;
    let (_, ls) = env.call("file/ls", json!({})).await;
    assert_eq!(ls["count"], 2);

    let (_, v) = env
        .call(
            "file/mv",
            json!({"urls": [url], "destination_folder_id": b, "rename": "moved.txt"}),
        )
        .await;
    assert_eq!(
        v,
        json!({"status": "OK", "moved": 1, "urls": [url], "filename": "moved.txt"})
    );
    let (_, info) = env.call("file/info", json!({"url": url})).await;
    assert_eq!(
        (info["path"].as_str(), info["folder_id"].as_i64()),
        (Some("A/B"), Some(b))
    );

    let (_, v) = env
        .call("file/cp", json!({"urls": [url], "folder_id": a}))
        .await;
    let copy = v["urls"][0]["to_url"].as_str().unwrap().to_string();
    assert_ne!(copy, url);
    let (_, v) = env
        .call(
            "file/rename",
            json!({"urls": [{"url": copy, "filename": "copy.txt"}]}),
        )
        .await;
    assert_eq!(v["urls"][0]["old_filename"], "moved.txt");
    let (s, v) = env
        .call(
            "file/rename",
            json!({"urls": [{"url": copy, "filename": "copy.txt"}]}),
        )
        .await;
    assert_eq!(
        (s, v["message"].as_str().unwrap()),
        (403, "No file has been renamed #312")
    );

    // Deleting the original keeps the copy's bytes.
    let (_, v) = env.call("file/rm", json!({"files": [{"url": url}]})).await;
    assert_eq!(v["removed"], 1);
    let dl = token(&env, json!({"url": copy})).await;
    assert_eq!(
        env.http
            .get(&dl)
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap(),
        "one"
    );

    let (s, v) = env.call("folder/rm", json!({"folder_id": a})).await;
    assert_eq!(
        (s, v["message"].as_str().unwrap()),
        (403, "Folder not empty #0")
    );
    let (s, v) = env
        .call(
            "folder/mv",
            json!({"folder_id": a, "destination_folder_id": b}),
        )
        .await;
    assert_eq!(s, 403, "{v}");
    let (_, v) = env
        .call(
            "folder/mv",
            // rclone omits destination_folder_id for the root.
            json!({"folder_id": b, "destination_user": ""}),
        )
        .await;
    assert_eq!(v, json!({"status": "OK", "old_name": "B", "new_name": "B"}));
    let (_, v) = env
        .call(
            "folder/mv",
            json!({"folder_id": b, "rename": "C", "destination_folder_id": a}),
        )
        .await;
    assert_eq!(v["new_name"], "C");
    let (_, v) = env.call("folder/ls", json!({})).await;
    assert_eq!(v["sub_folders"].as_array().unwrap().len(), 2);

    // Scan: clean, cached, then EICAR is removed.
    let (_, v) = env.call("file/scan", json!({"url": copy})).await;
    assert_eq!(v, json!({"status": "OK"}));
    let (_, v) = env.call("file/scan", json!({"url": copy})).await;
    assert!(v["date"].is_string());
    let eicar = b"X5O!P%@AP[4\\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*".to_vec();
    let rep = env.upload("eicar.com", eicar, 0).await;
    let bad = rep["links"][0]["download"].as_str().unwrap();
    let (s, v) = env.call("file/scan", json!({"url": bad})).await;
    assert_eq!((s, v["status"].as_str().unwrap()), (200, "KO"));
    assert_eq!(env.call("file/info", json!({"url": bad})).await.0, 404);

    // user/info settings are stored.
    let (_, v) = env
        .call("user/info", json!({"ru_report": 0, "default_domain": 3}))
        .await;
    assert_eq!(
        (v["ru_report"].as_str(), v["default_domain"].as_i64()),
        (Some("0"), Some(3))
    );
    let rep = env.upload("d.txt", b"d".to_vec(), 0).await;
    assert!(
        rep["links"][0]["download"]
            .as_str()
            .unwrap()
            .starts_with("https://desfichiers.com/?")
    );

    // FTP users and vouchers.
    assert_eq!(
        env.call("ftp/users/add", json!({"user": "cam", "pass": "secret1"}))
            .await
            .0,
        200
    );
    let (_, v) = env.call("ftp/users/ls", json!({})).await;
    assert_eq!(v["items"], json!([{"user": "cam", "folder_id": 0}]));
    assert_eq!(
        env.call("ftp/users/rm", json!({"user": "cam"})).await.0,
        200
    );
    assert_eq!(
        env.call("ftp/process", json!({})).await,
        (200, json!({"status": "OK"}))
    );
    let code = env
        .emu
        .create_voucher("owner@example.com", "premium-1-month")
        .unwrap();
    let free = env
        .emu
        .create_account("free@example.com", Offer::Free)
        .unwrap();
    let (_, v) = env.call("vouchers/ls", json!({})).await;
    assert_eq!(v["count"], 1);
    let (_, v) = env
        .call(
            "vouchers/use",
            json!({"voucher": code, "user_email": "free@example.com"}),
        )
        .await;
    assert_eq!(v, json!({"status": "OK"}));
    assert_eq!(
        env.call_key("user/info", json!({}), Some(&free.api_key))
            .await
            .0,
        200
    );
    let (_, v) = env.call("vouchers/check", json!({"voucher": code})).await;
    assert_eq!(v, json!({"status": "KO", "service": ""}));
}

#[tokio::test]
async fn incoming_delivery_basic_auth_date_filters_and_result_cap() {
    let env = common::start().await;
    let (_, srv) = env.call("upload/get_upload_server", json!({})).await;
    let node = srv["url"].as_str().unwrap().to_string();
    let id = srv["id"].as_str().unwrap();
    // Unidentified upload naming a user: lands in that user's "incoming" folder.
    let form = reqwest::multipart::Form::new()
        .text("user", "owner@example.com")
        .part(
            "file[]",
            reqwest::multipart::Part::bytes(b"for you".to_vec()).file_name("gift.txt"),
        );
    env.post_upload(&node, &id, form, None).await;
    let rep: Value =
        common::get_json(&env.http, format!("http://{node}/end.pl?xid={id}&JSON=1")).await;
    assert_eq!(rep["incoming"], 1);
    let (_, v) = env.call("folder/ls", json!({})).await;
    assert_eq!(v["sub_folders"][0]["name"], "incoming");
    // Basic authorization: e-mail and API key.
    let (_, srv) = env.call("upload/get_upload_server", json!({})).await;
    let id = srv["id"].as_str().unwrap();
    let form = reqwest::multipart::Form::new().part(
        "file[]",
        reqwest::multipart::Part::bytes(b"basic".to_vec()).file_name("basic.txt"),
    );
    let r = env
        .http
        .post(format!("http://{node}/upload.cgi?id={id}"))
        .basic_auth("owner@example.com", Some(&env.acct.api_key))
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 302);
    env.http
        .get(format!("http://{node}/end.pl?xid={id}"))
        .send()
        .await
        .unwrap();
    let (_, ls) = env.call("file/ls", json!({"folder_id": 0})).await;
    assert_eq!(ls["items"][0]["filename"], "basic.txt");

    let (_, all) = env.call("file/ls", json!({"folder_id": -1})).await;
    assert_eq!(all["count"], 2);
    let (_, none) = env
        .call(
            "file/ls",
            json!({"folder_id": -1, "sent_before": "2000-01-01 00:00:00"}),
        )
        .await;
    assert_eq!(none["count"], 0);
    let (_, some) = env
        .call(
            "file/ls",
            json!({"folder_id": -1, "sent_after": "2000-01-01 00:00:00"}),
        )
        .await;
    assert_eq!(some["count"], 2);
    let mut capped = Limits::off();
    capped.file_ls_max_results = 1;
    env.emu.set_limits(capped);
    let (_, one) = env.call("file/ls", json!({"folder_id": -1})).await;
    assert_eq!(one["count"], 1);
}
