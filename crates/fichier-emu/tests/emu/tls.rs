//! HTTPS: with a certificate and key the emulator serves TLS, so a client that hard-codes
//! `https://api.1fichier.com` works when the name resolves to the emulator. The test
//! certificate in `tests/data` (signed by the test CA `ca.pem`) covers the 1fichier names,
//! localhost and 127.0.0.1.

use crate::common;

use std::path::PathBuf;

use fichier_emu::{Config, Emulator, Offer};
use serde_json::{Value, json};

fn data(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(name)
}

#[tokio::test]
async fn https_api_node_and_download() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = Config::new(dir.path());
    config.tls(data("cert.pem"), data("key.pem"));
    let emu = Emulator::start(config).await.unwrap();
    assert!(emu.base_url().starts_with("https://127.0.0.1:"));
    let acct = emu
        .create_account("owner@example.com", Offer::Premium)
        .unwrap();
    let cert = reqwest::Certificate::from_pem(&std::fs::read(data("ca.pem")).unwrap()).unwrap();
    let http = reqwest::Client::builder()
        .no_proxy()
        .tls_certs_only([cert])
        .resolve("api.1fichier.com", emu.addr())
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let port = emu.addr().port();
    let api = format!("https://api.1fichier.com:{port}/v1");
    let v = common::post_json(
        &http,
        format!("{api}/user/info.cgi"),
        &acct.api_key,
        &json!({}),
    )
    .await;
    assert_eq!(v["status"], "OK");

    let srv = common::get_json(&http, format!("{api}/upload/get_upload_server.cgi")).await;
    let node = srv["url"].as_str().unwrap();
    let id = srv["id"].as_str().unwrap();
    let form = reqwest::multipart::Form::new().part(
        "file[]",
        reqwest::multipart::Part::bytes(b"over tls".to_vec()).file_name("t.txt"),
    );
    let r = http
        .post(format!("https://{node}/upload.cgi?id={id}"))
        .bearer_auth(&acct.api_key)
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 302);
    let rep: Value = common::end_json(&http, format!("https://{node}/end.pl?xid={id}")).await;
    let url = rep["links"][0]["download"].clone();
    let t = common::post_json(
        &http,
        format!("{api}/download/get_token.cgi"),
        &acct.api_key,
        &json!({"url": url}),
    )
    .await;
    let dl = t["url"].as_str().unwrap();
    assert!(dl.starts_with("https://"));
    assert_eq!(
        http.get(dl).send().await.unwrap().text().await.unwrap(),
        "over tls"
    );

    // Plain HTTP on the TLS port does not get an answer.
    let plain = common::client()
        .post(format!("http://127.0.0.1:{port}/v1/user/info.cgi"))
        .send()
        .await;
    assert!(plain.is_err() || !plain.unwrap().status().is_success());
}

#[tokio::test]
async fn a_bad_certificate_path_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = Config::new(dir.path());
    config.tls(dir.path().join("missing.pem"), data("key.pem"));
    let err = Emulator::start(config).await.unwrap_err().to_string();
    assert!(err.contains("cannot read certificate"), "{err}");
}
