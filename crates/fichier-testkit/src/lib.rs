//! Test support (dev-only): starts `fichier-emu` on 127.0.0.1:0 in a temp dir with a
//! provisioned Premium account, fake keys, the fixtures directory, and a loopback static
//! file server for remote-upload tests; whether this is CI (a test that cannot run fails
//! there) and loopback ports held closed.
#![warn(missing_docs)]

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

mod host;
pub mod modgraph;

pub use host::{ClosedPort, cannot_run, on_ci};

pub use fichier_emu::{Account, Config, Emulator, Fault, FaultPlan, Limits, Offer};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// E-mail of the account [`TestEmu`] provisions.
pub const TEST_EMAIL: &str = "owner@example.com";

/// An emulator running for one test, with its data in a temp dir that is deleted on drop.
#[derive(Debug)]
pub struct TestEmu {
    /// The running emulator.
    pub emu: Emulator,
    /// The provisioned Premium account (its key is fake and generated).
    pub account: Account,
    dir: tempfile::TempDir,
}

impl TestEmu {
    /// Start with `Limits::off()` and a Premium account.
    pub async fn start() -> TestEmu {
        TestEmu::start_with(|_| {}).await
    }

    /// Start after letting `f` adjust the configuration (limits, token TTL, faults…).
    pub async fn start_with(f: impl FnOnce(&mut Config)) -> TestEmu {
        let dir = tempfile::tempdir().expect("create a temp dir for the emulator");
        let mut config = Config::new(dir.path());
        f(&mut config);
        let emu = Emulator::start(config)
            .await
            .expect("start the emulator on 127.0.0.1:0");
        let account = emu
            .create_account(TEST_EMAIL, Offer::Premium)
            .expect("provision the test account");
        TestEmu { emu, account, dir }
    }

    /// API base with trailing slash (`http://127.0.0.1:PORT/v1/`).
    pub fn api_url(&self) -> String {
        self.emu.api_url()
    }

    /// The provisioned Premium key (fake, generated).
    pub fn key(&self) -> &str {
        &self.account.api_key
    }

    /// How many requests to `endpoint` (as the request log names it, e.g. `folder/ls`) the
    /// emulator has answered so far.
    pub fn calls(&self, endpoint: &str) -> usize {
        self.emu
            .request_log()
            .iter()
            .filter(|r| r.endpoint == endpoint)
            .count()
    }

    /// The emulator's data directory.
    pub fn data_dir(&self) -> PathBuf {
        self.dir.path().to_path_buf()
    }

    /// Renames every file and folder called `old` to `new` straight in the emulator's
    /// database, bypassing the API's name checks: names with control characters or `/` stand
    /// for a hostile server or a shared folder. Returns how many rows changed.
    pub fn force_name(&self, old: &str, new: &str) -> usize {
        let conn = rusqlite::Connection::open(self.dir.path().join("emulator.sqlite3"))
            .expect("open the emulator's database");
        conn.busy_timeout(std::time::Duration::from_secs(10))
            .expect("set a busy timeout");
        let files = conn
            .execute(
                "UPDATE files SET filename = ?2 WHERE filename = ?1",
                [old, new],
            )
            .expect("rename files");
        let folders = conn
            .execute("UPDATE folders SET name = ?2 WHERE name = ?1", [old, new])
            .expect("rename folders");
        files + folders
    }
}

/// 32 random `[A-Za-z0-9]` characters: the shape of a real key, never a real one.
pub fn fake_key() -> String {
    fichier_emu::generate_key()
}

/// `<repo>/fixtures/api`.
pub fn fixtures_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../fixtures/api")
        .canonicalize()
        .unwrap_or_else(|_| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/api"))
}

/// Keeps a [`serve_static`] server alive; dropping it stops the server.
#[derive(Debug)]
pub struct ServerGuard {
    task: tokio::task::JoinHandle<()>,
    /// Bound address.
    pub addr: SocketAddr,
}

impl Drop for ServerGuard {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Serve `bytes` over plain HTTP/1.1 on 127.0.0.1:0 at every path (GET → 200 with the bytes;
/// a path ending in `/missing` → 404). Returns `http://127.0.0.1:PORT/file.bin`.
pub async fn serve_static(bytes: Vec<u8>) -> (String, ServerGuard) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind a loopback port");
    let addr = listener.local_addr().expect("local addr");
    let bytes = Arc::new(bytes);
    let task = tokio::spawn(async move {
        loop {
            let Ok((mut sock, _)) = listener.accept().await else {
                continue;
            };
            let bytes = bytes.clone();
            tokio::spawn(async move {
                let mut buf = Vec::new();
                let mut chunk = [0u8; 4096];
                // Read the request head only; requests carry no body.
                while !buf.windows(4).any(|w| w == b"\r\n\r\n") {
                    match sock.read(&mut chunk).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => buf.extend_from_slice(&chunk[..n]),
                    }
                }
                let head = String::from_utf8_lossy(&buf);
                let path = head.split_whitespace().nth(1).unwrap_or("/").to_string();
                if path.ends_with("/missing") {
                    let _ = sock
                        .write_all(b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
                        .await;
                    return;
                }
                let head = format!(
                    "HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                    bytes.len()
                );
                if sock.write_all(head.as_bytes()).await.is_ok() {
                    let _ = sock.write_all(&bytes).await;
                }
                let _ = sock.shutdown().await;
            });
        }
    });
    (
        format!("http://{addr}/file.bin"),
        ServerGuard { task, addr },
    )
}
