//! The fault plan through real sockets: flood on the Nth call, 429/5xx, malformed JSON,
//! truncated and reset bodies, slow bodies, expired tokens, download bandwidth cap, and the
//! admin HTTP routes.

use crate::common;

use fichier_emu::{Fault, FaultPlan};
use serde_json::{Value, json};

#[tokio::test]
async fn api_faults_fire_on_the_planned_calls() {
    let env = common::start().await;
    env.emu.set_fault_plan(
        FaultPlan::new()
            .on_call("folder/ls", 2, Fault::flood())
            .on_call("folder/ls", 3, Fault::status(429))
            .rule("file/ls", 1, 2, Fault::status(503))
            .on_call("user/info", 1, Fault::MalformedJson)
            .on_call("download/get_token", 1, Fault::ko("Owner locked #620")),
    );
    let (s, v) = env
        .call(
            "download/get_token",
            json!({"url": "https://1fichier.com/?abcdefghij"}),
        )
        .await;
    assert_eq!(
        (s, v["message"].as_str().unwrap()),
        (403, "Owner locked #620")
    );
    assert_eq!(env.call("folder/ls", json!({})).await.0, 200);
    let (s, v) = env.call("folder/ls", json!({})).await;
    assert_eq!(
        (s, v["message"].as_str().unwrap()),
        (403, "Flood detected: IP Locked #374")
    );
    assert_eq!(env.call("folder/ls", json!({})).await.0, 429);
    assert_eq!(env.call("folder/ls", json!({})).await.0, 200);
    assert_eq!(env.call("file/ls", json!({})).await.0, 503);
    assert_eq!(env.call("file/ls", json!({})).await.0, 503);
    assert_eq!(env.call("file/ls", json!({})).await.0, 200);
    let r = env
        .http
        .post(format!("{}user/info.cgi", env.emu.api_url()))
        .bearer_auth(&env.acct.api_key)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    assert!(serde_json::from_str::<Value>(&r.text().await.unwrap()).is_err());
    env.emu.clear_faults();
    assert_eq!(env.call("user/info", json!({})).await.0, 200);
}

#[tokio::test]
async fn download_faults_truncate_reset_slow_expire_and_cap() {
    let env = common::start().await;
    let bytes: Vec<u8> = (0..200_000u32).map(|i| i as u8).collect();
    let rep = env.upload("f.bin", bytes.clone(), 0).await;
    let url = rep["links"][0]["download"].clone();
    let tok = |env: &common::Env| {
        let url = url.clone();
        let env_http = env.http.clone();
        let api = env.emu.api_url();
        let key = env.acct.api_key.clone();
        async move {
            let v: Value = env_http
                .post(format!("{api}download/get_token.cgi"))
                .bearer_auth(key)
                .body(json!({"url": url}).to_string())
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            v["url"].as_str().unwrap().to_string()
        }
    };
    env.emu.set_fault_plan(
        FaultPlan::new()
            .on_call("download", 1, Fault::Truncate { after_bytes: 1000 })
            .on_call("download", 2, Fault::Reset { after_bytes: 5000 })
            .on_call("download", 3, Fault::ExpiredToken)
            .on_call(
                "download",
                4,
                Fault::SlowBody {
                    bytes_per_sec: 2_000_000,
                },
            )
            .download_bandwidth(4_000_000),
    );
    let t = tok(&env).await;
    // 1: truncated: the announced length is kept, the body stops early.
    let r = env.http.get(&t).send().await.unwrap();
    assert_eq!(r.headers()["content-length"], "200000");
    assert!(
        r.bytes().await.is_err(),
        "a truncated body must fail to read fully"
    );
    // 2: reset mid-body.
    let r = env.http.get(&t).send().await.unwrap();
    assert!(r.bytes().await.is_err());
    // 3: expired.
    assert_eq!(
        env.http.get(&t).send().await.unwrap().status().as_u16(),
        410
    );
    // 4: slow, 5: capped: still complete and correct.
    for _ in 0..2 {
        let r = env.http.get(&t).send().await.unwrap();
        assert_eq!(r.bytes().await.unwrap().as_ref(), &bytes[..]);
    }
}

#[tokio::test]
async fn admin_routes_load_plans_limits_and_show_the_log() {
    let env = common::start().await;
    let base = env.emu.base_url();
    let plan = json!({"rules": [{"endpoint": "folder/ls", "on_call": 1, "fault": {"kind": "status", "status": 502}}]});
    let r = env
        .http
        .put(format!("{base}/admin/faults"))
        .header("Content-Type", "application/json")
        .body(plan.to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    assert_eq!(env.call("folder/ls", json!({})).await.0, 502);
    let r = env
        .http
        .put(format!("{base}/admin/faults"))
        .header("Content-Type", "application/json")
        .body("{\"rules\": 3}")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 403);
    let r = env
        .http
        .delete(format!("{base}/admin/faults"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    let r = env
        .http
        .post(format!("{base}/admin/limits"))
        .header("Content-Type", "application/json")
        .body(r#"{"preset":"scaled"}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    // A full limits object: a window long enough for two quick calls on a loaded machine.
    let mut limits: Value = common::get_json(&env.http, format!("{base}/admin/limits")).await;
    assert_eq!(limits["user_info_ip_window"], 1000);
    limits["user_info_ip_window"] = json!(60_000);
    let r = env
        .http
        .put(format!("{base}/admin/limits"))
        .header("Content-Type", "application/json")
        .body(limits.to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    assert_eq!(env.call("user/info", json!({})).await.0, 200);
    assert_eq!(env.call("user/info", json!({})).await.0, 403);
    let r = env
        .http
        .post(format!("{base}/admin/accounts"))
        .header("Content-Type", "application/json")
        .body(r#"{"email":"new@example.com","offer":"access"}"#)
        .send()
        .await
        .unwrap();
    let a: Value = r.json().await.unwrap();
    assert_eq!(a["api_key"].as_str().unwrap().len(), 32);
    let log: Value = common::get_json(&env.http, format!("{base}/admin/requests")).await;
    let entries = log.as_array().unwrap();
    assert!(
        entries
            .iter()
            .any(|e| e["endpoint"] == "user/info" && e["status"] == 403)
    );
    let text = log.to_string();
    assert!(
        !text.contains(&env.acct.api_key),
        "the log shows a full key"
    );
    let masked = format!("{}…{}", &env.acct.api_key[..2], &env.acct.api_key[30..]);
    assert!(text.contains(&masked));
}

#[tokio::test]
async fn a_flood_lock_answers_every_api_call_until_it_ends_and_the_log_has_milliseconds() {
    let env = common::start().await;
    env.emu.set_fault_plan(FaultPlan::new().on_call(
        "user/info",
        1,
        Fault::FloodLock {
            lock_ms: 2_000,
            message: None,
        },
    ));
    let (s, v) = env.call("user/info", json!({})).await;
    assert_eq!(
        (s, v["message"].as_str().unwrap()),
        (403, "Flood detected: IP Locked #374")
    );
    // Another endpoint inside the lock: locked too.
    let (s, _) = env.call("folder/ls", json!({})).await;
    assert_eq!(s, 403);
    // The lock ends by itself (bounded wait, no fixed sleep).
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        if env.call("folder/ls", json!({})).await.0 == 200 {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "the lock never ended");
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let log = env.emu.request_log();
    let first = log.iter().find(|r| r.endpoint == "user/info").unwrap();
    let last = log.iter().rev().find(|r| r.status == 200).unwrap();
    let (a, b) = (first.received_ms.unwrap(), last.received_ms.unwrap());
    assert!(b >= a + 1_900, "the lock lasted {} ms", b - a);
}
