//! Shared helpers for the emulator's integration tests: a started emulator with a Premium
//! account and a raw HTTP client (reqwest, deliberately not the project's client library).

use fichier_emu::{Account, Config, Emulator, Offer};
use serde_json::Value;

pub struct Env {
    pub emu: Emulator,
    pub acct: Account,
    pub http: reqwest::Client,
    pub dir: tempfile::TempDir,
}

pub async fn start() -> Env {
    start_with(|_| {}).await
}

pub async fn start_with(f: impl FnOnce(&mut Config)) -> Env {
    let dir = tempfile::tempdir().unwrap();
    let mut config = Config::new(dir.path());
    f(&mut config);
    let emu = Emulator::start(config).await.unwrap();
    let acct = emu
        .create_account("owner@example.com", Offer::Premium)
        .unwrap();
    Env {
        emu,
        acct,
        http: client(),
        dir,
    }
}

/// Starts the emulator again on `config`, whose data directory already holds the owner's
/// account (a restart).
pub async fn restart(config: Config) -> Env {
    let emu = Emulator::start(config).await.unwrap();
    let acct = emu.account("owner@example.com").unwrap();
    Env {
        emu,
        acct,
        http: client(),
        dir: tempfile::tempdir().unwrap(),
    }
}

pub fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .no_proxy()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

impl Env {
    /// POST a JSON body to `/v1/<endpoint>.cgi` with the account's key.
    pub async fn call(&self, endpoint: &str, body: Value) -> (u16, Value) {
        self.call_key(endpoint, body, Some(&self.acct.api_key))
            .await
    }

    pub async fn call_key(&self, endpoint: &str, body: Value, key: Option<&str>) -> (u16, Value) {
        let mut req = self
            .http
            .post(format!("{}{endpoint}.cgi", self.emu.api_url()))
            .header("Content-Type", "application/json")
            .body(body.to_string());
        if let Some(k) = key {
            req = req.header("Authorization", format!("Bearer {k}"));
        }
        let resp = req.send().await.unwrap();
        let status = resp.status().as_u16();
        let text = resp.text().await.unwrap();
        let v = serde_json::from_str(&text).unwrap_or_else(|e| panic!("not JSON ({e}): {text}"));
        (status, v)
    }

    /// POSTs `form` to the node's `upload.cgi` for upload `id`, with `key` as the bearer
    /// token when given (none: an anonymous upload).
    pub async fn post_upload(
        &self,
        node: impl std::fmt::Display,
        id: impl std::fmt::Display,
        form: reqwest::multipart::Form,
        key: Option<&str>,
    ) -> reqwest::Response {
        let mut req = self.http.post(format!("http://{node}/upload.cgi?id={id}"));
        if let Some(k) = key {
            req = req.header("Authorization", format!("Bearer {k}"));
        }
        req.multipart(form).send().await.unwrap()
    }

    /// Upload `bytes` as `name` into folder `did` through the node flow; returns the
    /// end.pl JSON report.
    pub async fn upload(&self, name: &str, bytes: Vec<u8>, did: i64) -> Value {
        let (_, srv) = self
            .call("upload/get_upload_server", serde_json::json!({}))
            .await;
        let node = srv["url"].as_str().unwrap().to_string();
        let id = srv["id"].as_str().unwrap().to_string();
        let form = reqwest::multipart::Form::new()
            .part(
                "file[]",
                reqwest::multipart::Part::bytes(bytes).file_name(name.to_string()),
            )
            .text("did", did.to_string());
        let resp = self
            .post_upload(&node, &id, form, Some(&self.acct.api_key))
            .await;
        assert_eq!(
            resp.status().as_u16(),
            302,
            "{}",
            resp.text().await.unwrap()
        );
        let end = self
            .http
            .get(format!("http://{node}/end.pl?xid={id}"))
            .header("JSON", "1")
            .send()
            .await
            .unwrap();
        assert_eq!(end.status().as_u16(), 200);
        end.json().await.unwrap()
    }
}

/// The JSON answer of a POST of `body` as JSON to `url` with `key` as the bearer token.
pub async fn post_json(
    http: &reqwest::Client,
    url: impl reqwest::IntoUrl,
    key: &str,
    body: &Value,
) -> Value {
    http.post(url)
        .bearer_auth(key)
        .json(body)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

/// The JSON answer of a GET of `url`.
pub async fn get_json(http: &reqwest::Client, url: impl reqwest::IntoUrl) -> Value {
    http.get(url).send().await.unwrap().json().await.unwrap()
}

/// The JSON `end.pl` report at `url` (`JSON: 1` asked by header, as the clients do).
pub async fn end_json(http: &reqwest::Client, url: impl reqwest::IntoUrl) -> Value {
    http.get(url)
        .header("JSON", "1")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

pub fn whirlpool_hex(bytes: &[u8]) -> String {
    use whirlpool::{Digest, Whirlpool};
    hex::encode(Whirlpool::digest(bytes))
}

/// Serve `bytes` over HTTP/1.1 on 127.0.0.1:0 (any path; paths ending in `missing` → 404).
pub async fn serve_static(bytes: Vec<u8>) -> (String, tokio::task::JoinHandle<()>) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = l.local_addr().unwrap();
    let task = tokio::spawn(async move {
        loop {
            let Ok((mut s, _)) = l.accept().await else {
                continue;
            };
            let bytes = bytes.clone();
            tokio::spawn(async move {
                let mut buf = vec![0u8; 4096];
                let n = s.read(&mut buf).await.unwrap_or(0);
                let head = String::from_utf8_lossy(&buf[..n]).to_string();
                let path = head.split_whitespace().nth(1).unwrap_or("").to_string();
                let resp = if path.ends_with("missing") {
                    b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
                        .to_vec()
                } else {
                    let mut r = format!(
                        "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                        bytes.len()
                    )
                    .into_bytes();
                    r.extend_from_slice(&bytes);
                    r
                };
                let _ = s.write_all(&resp).await;
                let _ = s.shutdown().await;
            });
        }
    });
    (format!("http://{addr}/file.bin"), task)
}
