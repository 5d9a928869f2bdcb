//! The account panel: what it says about the flood cooldown while the runner waits one out.

use fichier_emu::{Fault, FaultPlan};

use super::{TOKEN, WAIT, csrf, get, http, queue_json, start_daemon};
use crate::harness::Env;

#[test]
fn the_account_page_shows_the_flood_cooldown_the_runner_waits_for() {
    let env = Env::logged_in();
    let dl = env.root().join("dl");
    let a = env.upload("a.bin", b"alpha", 0);
    let b = env.upload("b.bin", b"beta", 0);
    env.emu.emu.set_fault_plan(FaultPlan::new().rule(
        "download/get_token",
        1,
        1000,
        Fault::Flood { message: None },
    ));
    let server = start_daemon(&env, &dl);
    env.rt.block_on(async {
        let r = http()
            .post(format!("{}api/add", server.base))
            .header(TOKEN, &server.token)
            .header("x-csrf-token", csrf(&server).await)
            .json(&serde_json::json!({ "links": [a.as_str(), b.as_str()] }))
            .send()
            .await
            .unwrap();
        assert!(r.status().is_success());
        let deadline = std::time::Instant::now() + WAIT;
        let until = loop {
            let q = queue_json(&server).await;
            let waiting = q["items"].as_array().unwrap().iter().find(|i| {
                i["reason"]
                    .as_str()
                    .is_some_and(|r| r.contains("flood protection"))
            });
            if let Some(i) = waiting {
                break i["until"].as_str().unwrap().to_owned();
            }
            assert!(std::time::Instant::now() < deadline, "{q}");
            tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        };
        let account: serde_json::Value = get(&server, "api/account").await.json().await.unwrap();
        let secs = account["cooldown_secs"].as_u64();
        assert!(
            secs.is_some_and(|s| s > 0),
            "rows wait until {until}: {account}"
        );
        let ends: jiff::Timestamp = account["cooldown_until"].as_str().unwrap().parse().unwrap();
        let rows: jiff::Timestamp = until.parse().unwrap();
        assert!(
            ends >= rows - jiff::SignedDuration::from_secs(2),
            "the panel says {ends}, the rows {rows}"
        );
        let page = get(&server, "account").await.text().await.unwrap();
        assert!(!page.contains("none: API calls go through"), "{page}");
    });
}
