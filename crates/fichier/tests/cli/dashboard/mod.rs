//! The web dashboard and the Click'n'Load receiver, end to end: the real binary
//! (`fichier dashboard --serve`, `fichier daemon`) on ports it picks and reports, plain HTTP
//! checks of the security rules with reqwest, and a headless Chromium driven through
//! chromedriver (fantoccini) for what a person does in the page. One file per page or area;
//! the server start-up and the HTTP helpers are here, the browser's in `browser.rs`.
//!
//! Without chromedriver the browser tests fail under `CI=true` and skip, saying so, elsewhere
//! (`.ci/run` installs it). With `FICHIER_DASHBOARD_SHOTS=DIR` they save screenshots of the
//! main pages there (how `docs/img/` is made).

mod account;
mod add;
mod backups;
mod browser;
mod cnl;
mod intake;
mod queue;
mod security;
mod session;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use crate::harness::Env;

/// How long a server, the driver or a page element may take to show up.
const WAIT: Duration = Duration::from_secs(60);

/// A running `fichier dashboard --serve` or `fichier daemon`, killed on drop.
struct Dashboard {
    child: Child,
    /// `http://127.0.0.1:PORT/`.
    base: String,
    /// The access token of the last `fichier dashboard` run (scripts send it as a header).
    token: String,
    /// That run's one-time sign-in link (for the browser).
    login: String,
    /// The Click'n'Load listener.
    cnl: SocketAddr,
}

impl Drop for Dashboard {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn data_dir(env: &Env) -> PathBuf {
    env.root().join("data/fichier")
}

/// `fichier dashboard --serve` downloading to `dl`, up and with a fresh token.
fn start_dashboard(env: &Env, dl: &Path) -> Dashboard {
    start(
        env,
        &["dashboard", "--serve", "--no-open", "--to", path_arg(dl)],
    )
}

/// `fichier daemon` downloading to `dl`: the runner with the same dashboard.
fn start_daemon(env: &Env, dl: &Path) -> Dashboard {
    start(env, &["daemon", "--to", path_arg(dl)])
}

fn path_arg(p: &Path) -> &str {
    p.to_str().expect("test paths are UTF-8")
}

/// Starts the binary with `args` on port 0 for both listeners (the OS picks free ports, so
/// nothing is guessed), reads the ports back from the address file it writes once listening,
/// then mints a token with `fichier dashboard --no-open`.
fn start(env: &Env, args: &[&str]) -> Dashboard {
    let mut server = spawn(env, args, 0);
    (server.login, server.token) = mint(env, &server);
    server
}

/// The dashboard's port.
fn port_of(server: &Dashboard) -> u16 {
    server
        .base
        .trim_end_matches('/')
        .rsplit(':')
        .next()
        .unwrap()
        .parse()
        .unwrap()
}

/// `fichier daemon` again on a known dashboard port, as after a restart: no new
/// `fichier dashboard` link, so open pages keep their session.
fn daemon_on(env: &Env, dl: &Path, port: u16) -> Dashboard {
    let mut again = spawn(env, &["daemon", "--to", path_arg(dl)], port);
    again.token = std::fs::read_to_string(data_dir(env).join("dashboard-token"))
        .unwrap()
        .trim()
        .to_owned();
    again
}

/// Starts the binary with `args`, its dashboard on `port` (0: the OS picks) and Click'n'Load
/// on a port the OS picks, and reads them back from the address file it writes once
/// listening.
fn spawn(env: &Env, args: &[&str], port: u16) -> Dashboard {
    let addr_file = data_dir(env).join("dashboard.json");
    let _ = std::fs::remove_file(&addr_file);
    let port = port.to_string();
    let mut all: Vec<&str> = args.to_vec();
    all.extend(["--port", &port, "--cnl-port", "0"]);
    let child = env
        .command(&all)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start the server");
    let mut server = Dashboard {
        child,
        base: String::new(),
        token: String::new(),
        login: String::new(),
        cnl: "127.0.0.1:0".parse().unwrap(),
    };
    let deadline = Instant::now() + WAIT;
    let running: serde_json::Value = loop {
        if let Some(v) = std::fs::read(&addr_file)
            .ok()
            .and_then(|b| serde_json::from_slice(&b).ok())
        {
            break v;
        }
        if let Ok(Some(status)) = server.child.try_wait() {
            panic!("{args:?} exited before listening: {status}");
        }
        assert!(Instant::now() < deadline, "{args:?} never listened");
        std::thread::sleep(Duration::from_millis(50));
    };
    server.base = running["url"].as_str().unwrap().to_owned();
    server.cnl = running["cnl"].as_str().unwrap().parse().unwrap();
    server
}

/// Header scripts send the access token in.
const TOKEN: &str = "x-dashboard-token";

/// `fichier dashboard --no-open`: the one-time sign-in link it prints, and the fresh access
/// token it wrote (what a script reads from the 0600 file).
fn mint(env: &Env, server: &Dashboard) -> (String, String) {
    let out = env.run(&["dashboard", "--no-open"]);
    let url = out.ok().trim().to_owned();
    assert!(
        url.starts_with(&format!("{}login?code=", server.base)),
        "{url} is not {}login?code=…",
        server.base
    );
    assert!(!url.contains("token"), "{url}");
    let token = std::fs::read_to_string(data_dir(env).join("dashboard-token")).unwrap();
    (url, token.trim().to_owned())
}

fn http() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

/// The page's CSRF token, read through the API with the access token.
async fn csrf(server: &Dashboard) -> String {
    let v: serde_json::Value = get(server, "api/csrf").await.json().await.unwrap();
    v["csrf"].as_str().unwrap().to_owned()
}

/// GET `path` (relative to the server's base) with the access token.
async fn get(server: &Dashboard, path: &str) -> reqwest::Response {
    http()
        .get(format!("{}{path}", server.base))
        .header(TOKEN, &server.token)
        .send()
        .await
        .unwrap()
}

async fn queue_json(server: &Dashboard) -> serde_json::Value {
    get(server, "api/queue").await.json().await.unwrap()
}
