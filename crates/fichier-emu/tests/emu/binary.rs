//! The real `fichier-emu` binary: admin subcommands on a data directory, `serve`, a `kill -9`
//! in the middle of an upload (no half file is ever listed), a fault plan loaded from the
//! CLI into a running server, and `demo`.

use crate::common;

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use serde_json::{Value, json};
use tokio::io::AsyncWriteExt;

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_fichier-emu"))
}

fn run(args: &[&str], dir: &Path) -> String {
    let out = bin()
        .args(args)
        .arg("--data-dir")
        .arg(dir)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// A server process killed (SIGKILL) when dropped, so a failing test leaves none behind.
struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Start `serve` and return the child and its base URL (first stdout line).
fn serve(dir: &Path) -> (Server, String) {
    serve_with(dir, &[])
}

fn serve_with(dir: &Path, extra: &[&str]) -> (Server, String) {
    let mut child = bin()
        .args(["serve", "--bind", "127.0.0.1:0", "--data-dir"])
        .arg(dir)
        .args(extra)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    (Server(child), line.trim().to_string())
}

async fn call(base: &str, key: &str, ep: &str, body: Value) -> (u16, Value) {
    let r = common::client()
        .post(format!("{base}/v1/{ep}.cgi"))
        .bearer_auth(key)
        .body(body.to_string())
        .send()
        .await
        .unwrap();
    (r.status().as_u16(), r.json().await.unwrap())
}

#[tokio::test]
async fn kill_9_during_an_upload_leaves_no_half_file() {
    let dir = tempfile::tempdir().unwrap();
    let key = run(&["account", "create", "owner@example.com"], dir.path())
        .trim()
        .to_string();
    assert_eq!(key.len(), 32);
    assert_eq!(
        run(&["account", "key", "owner@example.com"], dir.path()).trim(),
        key
    );
    let listed = run(&["account", "list"], dir.path());
    assert!(listed.contains("owner@example.com") && !listed.contains(&key));

    let (child, base) = serve(dir.path());
    assert!(base.starts_with("http://127.0.0.1:"), "{base}");
    let (s, _) = call(&base, &key, "folder/ls", json!({})).await;
    assert_eq!(s, 200);
    let srv: Value = common::get_json(
        &common::client(),
        format!("{base}/v1/upload/get_upload_server.cgi"),
    )
    .await;
    let id = srv["id"].as_str().unwrap().to_string();
    let node = srv["url"].as_str().unwrap().to_string();

    // Start an 8 MiB upload, send 3 MiB of it, and kill the server while it writes.
    let mut sock = tokio::net::TcpStream::connect(&node).await.unwrap();
    let total = 8 * 1024 * 1024;
    let pre =
        "--B\r\nContent-Disposition: form-data; name=\"file[]\"; filename=\"half.bin\"\r\n\r\n";
    let post = "\r\n--B--\r\n";
    let head = format!(
        "POST /upload.cgi?id={id} HTTP/1.1\r\nHost: {node}\r\nAuthorization: Bearer {key}\r\nContent-Type: multipart/form-data; boundary=B\r\nContent-Length: {}\r\n\r\n{pre}",
        total + pre.len() + post.len()
    );
    sock.write_all(head.as_bytes()).await.unwrap();
    sock.write_all(&vec![b'z'; 3 * 1024 * 1024]).await.unwrap();
    let tmp = dir.path().join("tmp");
    let mut seen = false;
    for _ in 0..500 {
        let partial = std::fs::read_dir(&tmp)
            .unwrap()
            .filter_map(Result::ok)
            .any(|e| e.metadata().map(|m| m.len() > 0).unwrap_or(false));
        if partial {
            seen = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert!(seen, "the upload never reached the disk");
    drop(child); // SIGKILL
    drop(sock);

    // The request log survives and masks the key.
    let log = run(&["log", "--json"], dir.path());
    assert!(log.contains("folder/ls"));
    assert!(!log.contains(&key));

    // Restart: nothing half-written is listed and the partial bytes are gone.
    let (child, base) = serve(dir.path());
    let (_, ls) = call(&base, &key, "file/ls", json!({"folder_id": -1})).await;
    assert_eq!(ls["count"], 0, "{ls}");
    let end: Value = common::end_json(&common::client(), format!("{base}/end.pl?xid={id}")).await;
    assert_eq!(end["links"], json!([]));
    assert_eq!(std::fs::read_dir(&tmp).unwrap().count(), 0);
    assert_eq!(
        std::fs::read_dir(dir.path().join("blobs")).unwrap().count(),
        0
    );

    // A fault plan loaded with the CLI reaches the running server.
    let plan = dir.path().join("plan.json");
    std::fs::write(
        &plan,
        r#"{"rules":[{"endpoint":"folder/ls","on_call":1,"times":1000,"fault":{"kind":"flood","message":"Flood detected: User Locked #223"}}]}"#,
    )
    .unwrap();
    run(&["faults", "load", plan.to_str().unwrap()], dir.path());
    let mut flooded = false;
    for _ in 0..100 {
        let (s, v) = call(&base, &key, "folder/ls", json!({})).await;
        if s == 403 {
            assert_eq!(v["message"], "Flood detected: User Locked #223");
            flooded = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(flooded, "the stored fault plan was not applied");
    run(&["faults", "clear"], dir.path());

    // Offer changes and key regeneration from the CLI.
    run(
        &["account", "set-offer", "owner@example.com", "free"],
        dir.path(),
    );
    let (_, v) = call(&base, &key, "user/info", json!({})).await;
    assert_eq!(v["message"], "Must be a customer (Premium, Access) #200");
    let new = run(
        &["account", "regenerate-key", "owner@example.com"],
        dir.path(),
    );
    let (_, v) = call(&base, &key, "user/info", json!({})).await;
    assert_eq!(v["message"], "No such user #93");
    assert_eq!(new.trim().len(), 32);
    drop(child);
}

#[test]
fn demo_answers_one_real_request_and_bad_args_are_explained() {
    let out = bin().arg("demo").output().unwrap();
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("HTTP 200 OK"), "{text}");
    assert!(text.contains("\"offer\": \"1\""), "{text}");
    let out = bin()
        .args(["account", "create", "x@example.com", "--offer", "platinum"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("unknown offer"));
    let dir = tempfile::tempdir().unwrap();
    let out = bin()
        .args(["faults", "load", "/nonexistent/plan.json", "--data-dir"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("cannot read fault plan"));
}

#[tokio::test]
async fn serve_takes_a_fault_plan_file_and_limits_preset() {
    let dir = tempfile::tempdir().unwrap();
    let key = run(&["account", "create", "owner@example.com"], dir.path())
        .trim()
        .to_string();
    let plan = dir.path().join("plan.json");
    std::fs::write(
        &plan,
        r#"{"rules":[{"endpoint":"folder/ls","on_call":1,"fault":{"kind":"status","status":503}}]}"#,
    )
    .unwrap();
    let (server, base) = serve_with(
        dir.path(),
        &[
            "--fault-plan",
            plan.to_str().unwrap(),
            "--limits",
            "realistic",
        ],
    );
    assert_eq!(call(&base, &key, "folder/ls", json!({})).await.0, 503);
    assert_eq!(call(&base, &key, "folder/ls", json!({})).await.0, 200);
    assert_eq!(call(&base, &key, "user/info", json!({})).await.0, 200);
    let (s, v) = call(&base, &key, "user/info", json!({})).await;
    assert_eq!(
        (s, v["message"].as_str().unwrap()),
        (403, "Flood detected: IP Locked #38")
    );
    drop(server);
}

#[tokio::test]
async fn serve_takes_a_public_url_and_connection_limits() {
    let dir = tempfile::tempdir().unwrap();
    let key = run(&["account", "create", "owner@example.com"], dir.path())
        .trim()
        .to_string();
    let (server, base) = serve_with(
        dir.path(),
        &[
            "--public-url",
            "https://emu.example:8443",
            "--header-timeout",
            "5",
            "--max-connections",
            "8",
        ],
    );
    let (s, v) = call(&base, &key, "upload/get_upload_server", json!({})).await;
    assert_eq!((s, v["url"].as_str().unwrap()), (200, "emu.example:8443"));
    drop(server);
    for (flag, value, says) in [
        (
            "--public-url",
            "https://emu.example/base",
            "like https://emu.example:8443",
        ),
        ("--max-connections", "0", "--max-connections"),
        ("--header-timeout", "0", "--header-timeout"),
    ] {
        let out = bin()
            .args(["serve", "--bind", "127.0.0.1:0", flag, value, "--data-dir"])
            .arg(dir.path())
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{flag} {value}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(says), "{flag} {value}: {err}");
    }
}

/// A real full disk: the server runs on a 20 MiB tmpfs (mounted in a user namespace), a
/// 40 MB upload fails, and the next upload and metadata write work without a restart.
#[tokio::test]
#[ignore = "needs unprivileged user namespaces (unshare -rm) to mount a tmpfs; the disk_full fault covers the same path everywhere"]
async fn real_full_disk_upload_fails_and_the_server_recovers() {
    let mount = tempfile::tempdir().unwrap();
    let script = format!(
        "mount -t tmpfs -o size=20m tmpfs '{m}' && exec '{bin}' serve --bind 127.0.0.1:0 --data-dir '{m}' --account owner@example.com",
        m = mount.path().display(),
        bin = env!("CARGO_BIN_EXE_fichier-emu"),
    );
    let mut child = Command::new("unshare")
        .args(["-rm", "sh", "-c", &script])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    // Kept open to the end: the server writes on stderr and must not see a closed pipe.
    let mut stderr = BufReader::new(child.stderr.take().unwrap());
    let mut err_line = String::new();
    stderr.read_line(&mut err_line).unwrap();
    let server = Server(child);
    let base = line.trim().to_string();
    assert!(
        base.starts_with("http://"),
        "serve did not start: {err_line}"
    );
    let key = err_line
        .split(|c: char| !c.is_ascii_alphanumeric())
        .find(|w| w.len() == 32)
        .expect("key on stderr")
        .to_string();
    // A kept-alive client: the refused upload's connection, whose body the server stopped
    // reading, is announced as closing and must not be reused.
    let http = common::client();
    let upload = |bytes: Vec<u8>| {
        let http = http.clone();
        let (base, key) = (base.clone(), key.clone());
        async move {
            let srv: Value =
                common::get_json(&http, format!("{base}/v1/upload/get_upload_server.cgi")).await;
            let form = reqwest::multipart::Form::new().part(
                "file[]",
                reqwest::multipart::Part::bytes(bytes).file_name("f.bin"),
            );
            let r = http
                .post(format!(
                    "http://{}/upload.cgi?id={}",
                    srv["url"].as_str().unwrap(),
                    srv["id"].as_str().unwrap()
                ))
                .bearer_auth(&key)
                .multipart(form)
                .send()
                .await
                .map_err(|e| e.to_string())?;
            let status = r.status().as_u16();
            Ok::<_, String>((status, r.text().await.unwrap_or_default()))
        }
    };
    // The server answers before reading the whole body and closes the connection: the client
    // sees the 503, or a reset if it was still sending; either way nothing is stored.
    match upload(vec![5u8; 40_000_000]).await {
        Ok((s, text)) => {
            assert_eq!(s, 503, "{text}");
            assert!(text.contains("Storage full"), "{text}");
        }
        Err(e) => eprintln!("the refused upload ended in a transport error: {e}"),
    }
    let (s, text) = upload(vec![6u8; 1_000_000]).await.unwrap();
    assert_eq!(s, 302, "{text}");
    let (s, v) = call(&base, &key, "folder/mkdir", json!({"name": "After"})).await;
    assert_eq!(s, 200, "{v}");
    drop(server);
    drop(stderr);
}
