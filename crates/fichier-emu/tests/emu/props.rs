//! Property tests of the emulator's request parsing over real sockets: arbitrary upload
//! bodies and content types, arbitrary `Range` headers and `/v1` bodies. Bounded case counts;
//! each case is one HTTP request to one emulator.

use proptest::prelude::*;
use proptest::test_runner::{Config as RunnerConfig, TestRunner};
use serde_json::{Value, json};

use crate::common;

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

fn content_type() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("multipart/form-data; boundary=B0und".to_string()),
        Just("multipart/form-data".to_string()),
        Just("application/json".to_string()),
        Just("text/plain".to_string()),
        "multipart/form-data; boundary=[ -~]{0,20}",
        "[ -~]{0,30}",
    ]
}

fn body() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        prop::collection::vec(any::<u8>(), 0..512),
        // Near-valid multipart: right framing, random part headers and content.
        (
            "[ -~]{0,40}",
            prop::collection::vec(any::<u8>(), 0..64),
            any::<bool>()
        )
            .prop_map(|(disp, data, close)| {
                let mut b = format!("--B0und\r\nContent-Disposition: form-data; {disp}\r\n\r\n")
                    .into_bytes();
                b.extend_from_slice(&data);
                b.extend_from_slice(if close { b"\r\n--B0und--\r\n" } else { b"\r\n" });
                b
            }),
    ]
}

/// Whatever the body and content type, the node answers a redirect or a KO naming the
/// problem: never a server error, never a hang.
#[test]
fn upload_node_answers_any_body_with_a_verdict() {
    let rt = runtime();
    let env = rt.block_on(common::start());
    let mut runner = TestRunner::new(RunnerConfig::with_cases(64));
    runner
        .run(&(content_type(), body()), |(ctype, body)| {
            let (status, text) = rt.block_on(async {
                let (_, srv) = env.call("upload/get_upload_server", json!({})).await;
                let node = srv["url"].as_str().unwrap().to_string();
                let id = srv["id"].as_str().unwrap().to_string();
                let mut req = env
                    .http
                    .post(format!("http://{node}/upload.cgi?id={id}"))
                    .header("Authorization", format!("Bearer {}", env.acct.api_key))
                    .body(body);
                if let Ok(v) = reqwest::header::HeaderValue::from_str(&ctype) {
                    req = req.header("Content-Type", v);
                }
                let r = req.send().await.unwrap();
                (r.status().as_u16(), r.text().await.unwrap())
            });
            prop_assert!(status == 302 || status == 403, "{status}: {text}");
            if status == 403 {
                let v: Value = serde_json::from_str(&text).unwrap();
                prop_assert_eq!(&v["status"], "KO");
                prop_assert!(v["message"].as_str().unwrap().ends_with(" #0"), "{}", text);
            }
            Ok(())
        })
        .unwrap();
}

/// Any `Range` header on a download: the whole file, exactly the announced slice, or 416.
#[test]
fn downloads_answer_any_range_header_consistently() {
    let rt = runtime();
    let env = rt.block_on(common::start());
    let bytes: Vec<u8> = (0..10_000u32).map(|i| (i % 251) as u8).collect();
    let url = rt.block_on(async {
        let rep = env.upload("r.bin", bytes.clone(), 0).await;
        let (_, t) = env
            .call(
                "download/get_token",
                json!({"url": rep["links"][0]["download"]}),
            )
            .await;
        t["url"].as_str().unwrap().to_string()
    });
    let range = prop_oneof![
        "bytes=[0-9]{0,6}-[0-9]{0,6}",
        "bytes=-[0-9]{1,6}",
        "[ -~]{0,20}",
        "bytes=[0-9]{1,5}-[0-9]{1,5},[0-9]{1,5}-",
    ];
    let mut runner = TestRunner::new(RunnerConfig::with_cases(128));
    runner
        .run(&range, |h| {
            let (status, content_range, got) = rt.block_on(async {
                let r = env
                    .http
                    .get(&url)
                    .header("Range", h.clone())
                    .send()
                    .await
                    .unwrap();
                let cr = r
                    .headers()
                    .get("content-range")
                    .map(|v| v.to_str().unwrap().to_string());
                (r.status().as_u16(), cr, r.bytes().await.unwrap().to_vec())
            });
            match status {
                200 => prop_assert_eq!(&got, &bytes),
                206 => {
                    let cr = content_range.unwrap();
                    let spec = cr.strip_prefix("bytes ").unwrap();
                    let (span, total) = spec.split_once('/').unwrap();
                    prop_assert_eq!(total, "10000");
                    let (a, b) = span.split_once('-').unwrap();
                    let (a, b): (usize, usize) = (a.parse().unwrap(), b.parse().unwrap());
                    prop_assert_eq!(&got[..], &bytes[a..=b], "{}", h);
                }
                416 => prop_assert_eq!(content_range.as_deref(), Some("bytes */10000")),
                other => prop_assert!(false, "{other} for {h}"),
            }
            Ok(())
        })
        .unwrap();
}

/// Any `/v1` body: a JSON answer (OK or KO), never a server error.
#[test]
fn api_answers_any_body_with_json() {
    let rt = runtime();
    let env = rt.block_on(common::start());
    let endpoint = prop_oneof![
        Just("file/ls"),
        Just("folder/ls"),
        Just("file/info"),
        Just("user/info"),
        Just("folder/mkdir"),
        Just("remote/request"),
    ];
    let body = prop_oneof![
        prop::collection::vec(any::<u8>(), 0..128),
        "\\{\"(folder_id|url|name|urls|pretty|filename)\":[ -~]{0,16}\\}"
            .prop_map(String::into_bytes),
    ];
    let mut runner = TestRunner::new(RunnerConfig::with_cases(128));
    runner
        .run(&(endpoint, body), |(endpoint, body)| {
            let (status, text) = rt.block_on(async {
                let r = env
                    .http
                    .post(format!("{}{endpoint}.cgi", env.emu.api_url()))
                    .header("Authorization", format!("Bearer {}", env.acct.api_key))
                    .header("Content-Type", "application/json")
                    .body(body)
                    .send()
                    .await
                    .unwrap();
                (r.status().as_u16(), r.text().await.unwrap())
            });
            prop_assert!(status < 500, "{status}: {text}");
            let v: Result<Value, _> = serde_json::from_str(&text);
            prop_assert!(v.is_ok(), "not JSON: {}", text);
            Ok(())
        })
        .unwrap();
}

/// Any query and form on the public folder listing, any `Authorization` on the upload node:
/// an answer below 500, never a panic.
#[test]
fn listing_forms_and_node_authorization_answer_any_input() {
    let rt = runtime();
    let env = rt.block_on(common::start());
    let share = rt.block_on(async {
        let (_, v) = env.call("folder/mkdir", json!({"name": "P"})).await;
        let folder = v["folder_id"].as_i64().unwrap();
        let (_, v) = env
            .call(
                "folder/share",
                json!({"folder_id": folder, "share": 1, "pass": "sharepass"}),
            )
            .await;
        v["url"]
            .as_str()
            .unwrap()
            .rsplit('/')
            .next()
            .unwrap()
            .to_string()
    });
    let base = env.emu.base_url();
    let input = (
        "[ -~]{0,30}",
        prop::collection::vec(any::<u8>(), 0..64),
        "[ -~]{0,40}",
    );
    let mut runner = TestRunner::new(RunnerConfig::with_cases(96));
    runner
        .run(&input, |(query, form, auth)| {
            let (listing, node) = rt.block_on(async {
                let q: String = url::form_urlencoded::byte_serialize(query.as_bytes()).collect();
                let listing = env
                    .http
                    .post(format!("{base}/dir/{share}?json=1&x={q}"))
                    .header("Content-Type", "application/x-www-form-urlencoded")
                    .body(form)
                    .send()
                    .await
                    .unwrap()
                    .status()
                    .as_u16();
                let (_, srv) = env.call("upload/get_upload_server", json!({})).await;
                let mut req = env
                    .http
                    .post(format!(
                        "http://{}/upload.cgi?id={}",
                        srv["url"].as_str().unwrap(),
                        srv["id"].as_str().unwrap()
                    ))
                    .header("Content-Type", "multipart/form-data; boundary=B")
                    .body("--B--\r\n");
                if let Ok(v) = reqwest::header::HeaderValue::from_str(&auth) {
                    req = req.header("Authorization", v);
                }
                let node = req.send().await.unwrap().status().as_u16();
                (listing, node)
            });
            prop_assert_eq!(listing, 200);
            prop_assert_eq!(node, 403);
            Ok(())
        })
        .unwrap();
}
