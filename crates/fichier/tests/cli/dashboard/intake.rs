//! One rule for a shared-folder link, whichever way it comes in: through the dashboard's JSON
//! API it ends up as the same queue items `fichier queue add` makes (the daemon's runner
//! lists the folder and queues its files, as the folder watch does).

use super::{TOKEN, WAIT, csrf, http, queue_json, start_daemon};
use crate::harness::Env;

/// Source, name and size of every item, sorted.
fn items(q: &serde_json::Value) -> Vec<(String, String, u64)> {
    let mut v: Vec<(String, String, u64)> = q["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| {
            (
                i["source"].as_str().unwrap_or_default().to_owned(),
                i["name"].as_str().unwrap_or_default().to_owned(),
                i["size"].as_u64().unwrap_or_default(),
            )
        })
        .collect();
    v.sort();
    v
}

#[test]
fn a_shared_folder_link_added_in_the_dashboard_becomes_the_items_queue_add_gives() {
    let env = Env::logged_in();
    env.run(&["mkdir", "/Share"]).ok();
    let folder = env.folder_id("/Share");
    env.upload("a.bin", &[1u8; 3000], folder);
    env.upload("b.bin", &[2u8; 2000], folder);
    let url = env
        .run(&["share", "/Share", "--public"])
        .ok()
        .trim()
        .to_owned();
    let dl = env.root().join("dl");
    env.run(&[
        "queue",
        "add",
        &url,
        "--to",
        dl.to_str().unwrap(),
        "--no-check",
    ])
    .ok();
    let from_cli = items(&env.run(&["queue", "ls", "--json"]).json());
    assert_eq!(from_cli.len(), 2, "{from_cli:?}");
    env.run(&["queue", "rm", "--all"]).ok();

    let server = start_daemon(&env, &dl);
    env.rt.block_on(async {
        let r = http()
            .post(format!("{}api/add", server.base))
            .header(TOKEN, &server.token)
            .header("x-csrf-token", csrf(&server).await)
            .json(&serde_json::json!({ "links": [url.as_str()] }))
            .send()
            .await
            .unwrap();
        assert!(r.status().is_success(), "{}", r.text().await.unwrap());
        let deadline = std::time::Instant::now() + WAIT;
        loop {
            let q = queue_json(&server).await;
            let now = items(&q);
            if now == from_cli {
                break;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "the dashboard's folder link never became {from_cli:?}: {q}"
            );
            tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        }
    });
}
