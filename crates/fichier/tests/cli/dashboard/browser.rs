//! How the tests drive a headless Chromium through chromedriver (fantoccini): the driver
//! started on a port it picks and reports, a session per test, waiting for elements.

use std::io::BufRead as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::sync::mpsc;

use fantoccini::{Client as Browser, ClientBuilder, Locator};

use super::{Dashboard, WAIT};

/// The Debian packages' paths (`chromium`, `chromium-driver`); `FICHIER_TEST_CHROMEDRIVER` and
/// `FICHIER_TEST_CHROMIUM` point elsewhere (or at nothing, to see the missing-tool rule work).
const CHROMEDRIVER: &str = "/usr/bin/chromedriver";
const CHROMIUM: &str = "/usr/bin/chromium";

fn tool(var: &str, default: &str) -> PathBuf {
    std::env::var_os(var).map_or_else(|| PathBuf::from(default), PathBuf::from)
}

fn chromium() -> PathBuf {
    tool("FICHIER_TEST_CHROMIUM", CHROMIUM)
}

/// chromedriver on the loopback port it chose, killed on drop.
pub(super) struct Driver {
    child: Child,
    url: String,
    profile: tempfile::TempDir,
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts chromedriver, or says why the browser test cannot run: under `CI=true` that fails
/// the test, elsewhere it skips (`None`).
///
/// The driver picks its own port: `--port=0` lets the OS choose, and chromedriver prints
/// "ChromeDriver was started successfully on port N." once listening. Binding a port here,
/// closing it and handing the number over would leave a window in which another process (a
/// parallel test) takes it; retrying on a failed listen only narrows that window.
pub(super) fn driver() -> Option<Driver> {
    let exe = tool("FICHIER_TEST_CHROMEDRIVER", CHROMEDRIVER);
    for (what, path) in [("chromedriver", &exe), ("chromium", &chromium())] {
        if !path.exists() {
            fichier_testkit::cannot_run(&format!(
                "the browser tests need {what} at {} (install the Debian packages chromium \
                 and chromium-driver; .ci/run does)",
                path.display()
            ));
            return None;
        }
    }
    let mut child = std::process::Command::new(&exe)
        .arg("--port=0")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("start {}: {e}", exe.display()));
    let stdout = child.stdout.take().expect("piped stdout");
    let (tx, rx) = mpsc::channel();
    // Reads the port, then keeps draining so chromedriver never blocks on a full pipe.
    std::thread::spawn(move || {
        let mut said = Vec::new();
        let mut sent = false;
        for line in std::io::BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if !sent {
                if let Some(port) = started_on(&line) {
                    let _ = tx.send(Ok(port));
                    sent = true;
                } else {
                    said.push(line);
                }
            }
        }
        if !sent {
            let _ = tx.send(Err(said.join("\n")));
        }
    });
    let mut d = Driver {
        child,
        url: String::new(),
        profile: tempfile::tempdir().unwrap(),
    };
    match rx.recv_timeout(WAIT) {
        Ok(Ok(port)) => d.url = format!("http://127.0.0.1:{port}"),
        Ok(Err(said)) => panic!("chromedriver stopped before saying its port:\n{said}"),
        Err(_) => panic!("chromedriver did not say its port within {WAIT:?}"),
    }
    Some(d)
}

/// The port in chromedriver's "ChromeDriver was started successfully on port 39811." line.
fn started_on(line: &str) -> Option<u16> {
    let rest = line.split_once("started successfully on port ")?.1;
    rest.trim()
        .trim_end_matches('.')
        .parse()
        .ok()
        .filter(|p| *p != 0)
}

#[test]
fn chromedriver_start_line_gives_the_port_it_chose() {
    assert_eq!(
        started_on("ChromeDriver was started successfully on port 39811."),
        Some(39811)
    );
    assert_eq!(started_on("Starting ChromeDriver 148.0 on port 0"), None);
    assert_eq!(
        started_on("ChromeDriver was started successfully on port 0."),
        None
    );
}

pub(super) async fn browser(d: &Driver) -> Browser {
    let profile = d.profile.path().display().to_string();
    let caps = serde_json::json!({
        "browserName": "chrome",
        "goog:chromeOptions": {
            "binary": chromium(),
            "args": [
                "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic",
                "--no-first-run", "--disable-background-networking",
                "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage",
                format!("--user-data-dir={profile}"), "--window-size=1200,860",
            ],
        },
    });
    let serde_json::Value::Object(caps) = caps else {
        unreachable!()
    };
    ClientBuilder::rustls()
        .unwrap()
        .capabilities(caps)
        .connect(&d.url)
        .await
        .expect("a Chromium session")
}

/// Saves a screenshot when `FICHIER_DASHBOARD_SHOTS` names a directory.
pub(super) async fn shot(b: &Browser, name: &str) {
    let Some(dir) = std::env::var_os("FICHIER_DASHBOARD_SHOTS") else {
        return;
    };
    let png = b.screenshot().await.unwrap();
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(Path::new(&dir).join(name), png).unwrap();
}

pub(super) async fn wait_for(b: &Browser, css: &str) -> fantoccini::elements::Element {
    match b.wait().at_most(WAIT).for_element(Locator::Css(css)).await {
        Ok(e) => e,
        Err(e) => {
            let url = b
                .current_url()
                .await
                .map(|u| u.to_string())
                .unwrap_or_default();
            let page = b.source().await.unwrap_or_default();
            panic!("{css} never appeared ({e}) on {url}:\n{page}")
        }
    }
}

/// Opens `path` of the dashboard, signing in first with the server's one-time link when the
/// browser is not on the dashboard's own `*.localhost` name yet.
pub(super) async fn open(b: &Browser, server: &Dashboard, path: &str) {
    let port = server
        .base
        .trim_end_matches('/')
        .rsplit(':')
        .next()
        .unwrap();
    let here = b.current_url().await.unwrap();
    let signed_in = here.host_str().is_some_and(|h| h.ends_with(".localhost"))
        && here.port().is_some_and(|p| p.to_string() == port);
    if !signed_in {
        b.goto(&server.login).await.unwrap();
    }
    let here = b.current_url().await.unwrap();
    assert!(
        here.host_str().is_some_and(|h| h.ends_with(".localhost")),
        "signing in with {} ended on {here}",
        server.login
    );
    let origin = here.origin().ascii_serialization();
    b.goto(&format!("{origin}/{path}")).await.unwrap();
}

/// The state a row shows, read from the page.
pub(super) async fn state_of(b: &Browser, id: i64) -> String {
    b.find(Locator::Css(&format!("#item-{id}")))
        .await
        .unwrap()
        .attr("data-state")
        .await
        .unwrap()
        .unwrap_or_default()
}
