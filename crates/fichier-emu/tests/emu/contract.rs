//! The Rust surface other crates code against, and the authentication answers.

use crate::common;

use fichier_emu::Offer;
use serde_json::json;

#[tokio::test]
async fn auth_answers_and_basic_listing() {
    let env = common::start().await;
    assert!(env.emu.api_url().starts_with("http://127.0.0.1:"));
    assert!(env.emu.api_url().ends_with("/v1/"));
    assert_eq!(env.acct.api_key.len(), 32);

    let (s, v) = env.call_key("user/info", json!({}), None).await;
    assert_eq!(
        (s, v["message"].as_str().unwrap()),
        (403, "Not authenticated #0")
    );
    let (s, v) = env
        .call_key("user/info", json!({}), Some(&fichier_emu::generate_key()))
        .await;
    assert_eq!(
        (s, v["message"].as_str().unwrap()),
        (403, "No such user #93")
    );

    let free = env
        .emu
        .create_account("free@example.com", Offer::Free)
        .unwrap();
    let (s, v) = env
        .call_key("folder/ls", json!({}), Some(&free.api_key))
        .await;
    assert_eq!(
        (s, v["message"].as_str().unwrap()),
        (403, "Must be a customer (Premium, Access) #200")
    );

    let (s, v) = env.call("user/info", json!({})).await;
    assert_eq!(s, 200);
    assert_eq!(v["offer"], "1");
    assert_eq!(v["email"], "owner@example.com");

    let (s, v) = env.call("folder/mkdir", json!({"name": "Photos"})).await;
    assert_eq!(s, 200, "{v}");
    let id = v["folder_id"].as_i64().unwrap();
    let (_, v) = env.call("folder/ls", json!({"folder_id": 0})).await;
    assert_eq!(v["sub_folders"][0]["id"], id);
    assert_eq!(v["sub_folders"][0]["name"], "Photos");
    let (_, v) = env.call("file/ls", json!({"folder_id": id})).await;
    assert_eq!(v, json!({"status": "OK", "count": 0, "items": []}));

    // Regenerated keys invalidate the old one; offers can change.
    let old = env.acct.api_key.clone();
    let new = env.emu.regenerate_key("owner@example.com").unwrap();
    let (_, v) = env.call_key("user/info", json!({}), Some(&old)).await;
    assert_eq!(v["message"], "No such user #93");
    env.emu.set_offer("owner@example.com", Offer::Gold).unwrap();
    let (_, v) = env.call_key("user/info", json!({}), Some(&new)).await;
    assert_eq!(v["offer"], "3");
    let again = env
        .emu
        .ensure_account("owner@example.com", Offer::Premium)
        .unwrap();
    assert_eq!(again.api_key, new);

    // The request log never holds a full key.
    let log = env.emu.request_log();
    assert!(
        log.iter()
            .any(|r| r.endpoint == "user/info" && r.status == 200)
    );
    assert!(
        log.iter()
            .all(|r| !r.key.contains(&new) && !r.key.contains(&old))
    );
}

#[tokio::test]
async fn upload_then_list_and_info_agree() {
    let env = common::start().await;
    let bytes = b"Emulator fixture file number one.\n".to_vec();
    let report = env.upload("notes.txt", bytes.clone(), 0).await;
    let link = &report["links"][0];
    assert_eq!(link["size"], "34");
    assert_eq!(link["whirlpool"], common::whirlpool_hex(&bytes));
    assert_eq!(
        link["whirlpool"],
        "75f66cddc52ca7c98f7c3652efeba2a9fdd499874d6d8ad59f30fe7f0a7e4166430ab39794b4d8574f3d50ffa482468c7c85139b43dccb2cceff53330280ee64"
    );
    let url = link["download"].as_str().unwrap();
    let (_, ls) = env.call("file/ls", json!({"folder_id": 0})).await;
    assert_eq!(ls["count"], 1);
    assert_eq!(ls["items"][0]["url"], url);
    let (s, info) = env.call("file/info", json!({"url": url})).await;
    assert_eq!(s, 200);
    assert_eq!(info["checksum"], link["whirlpool"]);
    assert_eq!(info["size"], 34);
    assert_eq!(info["content-type"], "text/plain");
}
