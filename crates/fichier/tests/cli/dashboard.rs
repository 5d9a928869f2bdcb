//! The web dashboard and the Click'n'Load receiver, end to end: the real binary
//! (`fichier dashboard --serve`, `fichier daemon`) on loopback ports, plain HTTP checks of the
//! security rules with reqwest, and a headless Chromium driven through chromedriver
//! (fantoccini) for what a person does in the page. The browser tests skip, saying why, only
//! when `/usr/bin/chromedriver` is missing (`.ci/run` installs it).
//!
//! With `FICHIER_DASHBOARD_SHOTS=DIR` the browser tests save screenshots of the main pages
//! there (how `docs/img/` is made).

use std::io::{Read as _, Write as _};
use std::net::{SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use fantoccini::{Client as Browser, ClientBuilder, Locator};
use reqwest::StatusCode;
use reqwest::header::{COOKIE, HOST, ORIGIN, SET_COOKIE};

use crate::harness::Env;

const CHROMEDRIVER: &str = "/usr/bin/chromedriver";
const CHROMIUM: &str = "/usr/bin/chromium";
const WAIT: Duration = Duration::from_secs(60);

/// A running `fichier dashboard --serve` or `fichier daemon`, killed on drop.
struct Server {
    child: Child,
    /// `http://127.0.0.1:PORT/`.
    base: String,
    /// The access token of the last `fichier dashboard` run.
    token: String,
    /// The Click'n'Load listener.
    cnl: SocketAddr,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn data_dir(env: &Env) -> PathBuf {
    env.root().join("data/fichier")
}

/// Starts the binary with `args` (`--port 0 --cnl-port 0` added), waits for the address file
/// it writes once listening, then mints a token with `fichier dashboard --no-open`.
fn start(env: &Env, args: &[&str]) -> Server {
    let addr_file = data_dir(env).join("dashboard.json");
    let _ = std::fs::remove_file(&addr_file);
    let mut all: Vec<&str> = args.to_vec();
    all.extend(["--port", "0", "--cnl-port", "0"]);
    let child = env
        .command(&all)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start the server");
    let mut server = Server {
        child,
        base: String::new(),
        token: String::new(),
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
    server.token = mint(env, &server);
    server
}

/// `fichier dashboard --no-open`: the URL of the running server with a fresh token.
fn mint(env: &Env, server: &Server) -> String {
    let out = env.run(&["dashboard", "--no-open"]);
    let url = out.ok().trim().to_owned();
    assert!(
        url.starts_with(&format!("{}?token=", server.base)),
        "{url} is not {}?token=…",
        server.base
    );
    url.rsplit_once("token=").unwrap().1.to_owned()
}

fn http() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

fn cookie(server: &Server) -> String {
    format!("fichier_dashboard={}", server.token)
}

/// The page's CSRF token, read through the API with the cookie.
async fn csrf(server: &Server) -> String {
    let v: serde_json::Value = get(server, "api/csrf").await.json().await.unwrap();
    v["csrf"].as_str().unwrap().to_owned()
}

/// GET `path` (relative to the server's base) with the session cookie.
async fn get(server: &Server, path: &str) -> reqwest::Response {
    http()
        .get(format!("{}{path}", server.base))
        .header(COOKIE, cookie(server))
        .send()
        .await
        .unwrap()
}

async fn queue_json(server: &Server) -> serde_json::Value {
    get(server, "api/queue").await.json().await.unwrap()
}

#[test]
fn dashboard_refuses_requests_without_the_token_a_foreign_host_or_the_csrf_token() {
    let env = Env::logged_in();
    let dl = env.root().join("dl");
    let server = start(
        &env,
        &[
            "dashboard",
            "--serve",
            "--no-open",
            "--to",
            dl.to_str().unwrap(),
        ],
    );
    env.rt.block_on(async {
        let c = http();
        let base = &server.base;
        // No token at all, and a wrong one.
        let r = c.get(base).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
        assert!(r.text().await.unwrap().contains("fichier dashboard"));
        for path in ["api/queue", "api/events", "add", "static/app.js"] {
            let r = c.get(format!("{base}{path}")).send().await.unwrap();
            assert_eq!(r.status(), StatusCode::UNAUTHORIZED, "{path}");
        }
        let r = c.get(format!("{base}?token=0123")).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED);

        // The first visit trades the token for a strict cookie and drops it from the URL.
        let r = c
            .get(format!("{base}?token={}", server.token))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::SEE_OTHER);
        assert_eq!(r.headers()["location"], "/");
        let set = r.headers()[SET_COOKIE].to_str().unwrap().to_owned();
        assert!(
            set.contains("HttpOnly") && set.contains("SameSite=Strict"),
            "{set}"
        );
        let r = get(&server, "").await;
        assert_eq!(r.status(), StatusCode::OK);
        let csp = r.headers()["content-security-policy"].to_str().unwrap();
        assert!(csp.contains("script-src 'self'") && !csp.contains("unsafe-inline"));
        assert!(csp.contains("frame-ancestors 'none'"));

        // Scripts may send the token in a header instead of the cookie.
        let r = c
            .get(format!("{base}api/queue"))
            .header("x-dashboard-token", &server.token)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::OK);
        let r = c
            .get(format!("{base}api/queue"))
            .header("x-dashboard-token", "0".repeat(64))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED);

        // DNS rebinding: a foreign name for 127.0.0.1 is refused even with the cookie.
        for host in ["evil.example", "127.0.0.1.nip.io", "localhost.evil.example"] {
            let port = base.rsplit(':').next().unwrap().trim_end_matches('/');
            let r = c
                .get(base)
                .header(HOST, format!("{host}:{port}"))
                .header(COOKIE, cookie(&server))
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), StatusCode::MISDIRECTED_REQUEST, "{host}");
        }

        // State changes need the CSRF token (header or form field), and a same-origin caller.
        let add = serde_json::json!({ "links": ["https://1fichier.com/?abcdefghij"] });
        let r = c
            .post(format!("{base}api/add"))
            .header(COOKIE, cookie(&server))
            .json(&add)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::FORBIDDEN);
        let r = c
            .post(format!("{base}add"))
            .header(COOKIE, cookie(&server))
            .form(&[("links", "https://1fichier.com/?abcdefghij")])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::FORBIDDEN);
        let token = csrf(&server).await;
        let r = c
            .post(format!("{base}api/add"))
            .header(COOKIE, cookie(&server))
            .header("x-csrf-token", &token)
            .header(ORIGIN, "http://evil.example")
            .json(&add)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::FORBIDDEN);
        assert_eq!(
            queue_json(&server).await["items"].as_array().unwrap().len(),
            0
        );
        let r = c
            .post(format!("{base}api/add"))
            .header(COOKIE, cookie(&server))
            .header("x-csrf-token", &token)
            .json(&add)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::OK);
        let r = c
            .post(format!("{base}add"))
            .header(COOKIE, cookie(&server))
            .form(&[
                ("csrf", token.as_str()),
                (
                    "links",
                    "https://megadl.fr/?klmnopqrst\nhttps://example.com/x",
                ),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::SEE_OTHER);
        let q = queue_json(&server).await;
        let sources: Vec<&str> = q["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| i["source"].as_str().unwrap())
            .collect();
        assert_eq!(
            sources,
            [
                "https://1fichier.com/?abcdefghij",
                "https://1fichier.com/?klmnopqrst"
            ]
        );

        // The key never reaches a page or the API; the account panel shows it masked.
        for path in ["", "account", "api/account", "api/queue", "static/app.js"] {
            let body = c
                .get(format!("{base}{path}"))
                .header(COOKIE, cookie(&server))
                .send()
                .await
                .unwrap()
                .text()
                .await
                .unwrap();
            assert!(!body.contains(env.key()), "the key is in /{path}");
        }
    });

    // A fresh `fichier dashboard` link retires the old token at once.
    let old = cookie(&server);
    let fresh = mint(&env, &server);
    env.rt.block_on(async {
        let r = http()
            .get(&server.base)
            .header(COOKIE, old)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
        let r = http()
            .get(&server.base)
            .header(COOKIE, format!("fichier_dashboard={fresh}"))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::OK);
    });
    // kill -9 leaves the address file behind: the next link comes with a warning.
    drop(server);
    let out = env.run(&["dashboard", "--no-open"]);
    assert!(out.ok().contains("?token="));
    assert!(out.stderr.contains("is not running"), "{}", out.stderr);
    std::fs::remove_file(data_dir(&env).join("dashboard.json")).unwrap();
    let out = env.run(&["dashboard", "--no-open"]);
    assert!(
        out.ok().starts_with("http://127.0.0.1:9667/?token="),
        "{}",
        out.stdout
    );
    assert!(out.stderr.contains("no running daemon"), "{}", out.stderr);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(data_dir(&env).join("dashboard-token"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }
}

#[test]
fn click_n_load_answers_probes_and_refuses_hostile_keys_foreign_hosts_and_oversize_bodies() {
    let env = Env::logged_in();
    let server = start(&env, &["dashboard", "--serve", "--no-open"]);
    env.rt.block_on(async {
        let c = http();
        let cnl = format!("http://{}", server.cnl);
        let r = c.get(format!("{cnl}/jdcheck.js")).send().await.unwrap();
        assert!(r.text().await.unwrap().contains("jdownloader=true"));
        let r = c.get(format!("{cnl}/flash/")).send().await.unwrap();
        assert_eq!(r.text().await.unwrap().trim(), "JDownloader");
        let r = c
            .get(format!("{cnl}/crossdomain.xml"))
            .send()
            .await
            .unwrap();
        assert!(r.text().await.unwrap().contains("cross-domain-policy"));

        let key = [0x42u8; 16];
        let crypted = fichier_web::cnl::encrypt_links(&["https://1fichier.com/?abcdefghij"], &key);
        let post = |fields: Vec<(&'static str, String)>| {
            let c = c.clone();
            let url = format!("{cnl}/flash/addcrypted2");
            async move {
                c.post(url)
                    .form(&fields)
                    .send()
                    .await
                    .unwrap()
                    .text()
                    .await
                    .unwrap()
            }
        };
        // The CVE-2023-0297 shape and other code in jk: refused, nothing received.
        for jk in [
            "pyimport os;os.system('touch /tmp/fichier-pwned');f=function f2(){};".to_owned(),
            format!("function f(){{ return '{}'; }}; alert(1)", hex(&key)),
            format!("function f(){{ return '{}'; }}", &hex(&key)[..30]),
        ] {
            let body = post(vec![("crypted", crypted.clone()), ("jk", jk.clone())]).await;
            assert!(body.starts_with("failed "), "{jk}: {body}");
        }
        assert!(!Path::new("/tmp/fichier-pwned").exists());
        let v: serde_json::Value = get(&server, "api/cnl").await.json().await.unwrap();
        assert_eq!(v["pending"].as_array().unwrap().len(), 0);

        // Too big: refused before it is read.
        let big = "a".repeat(fichier_web::cnl::MAX_BODY + 1);
        let r = c
            .post(format!("{cnl}/flash/addcrypted2"))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(format!("crypted={big}"))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::PAYLOAD_TOO_LARGE);

        // A rebinding name for the receiver is refused too.
        let r = c
            .post(format!("{cnl}/flash/add"))
            .header(HOST, format!("evil.example:{}", server.cnl.port()))
            .form(&[("urls", "https://1fichier.com/?abcdefghij")])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::MISDIRECTED_REQUEST);

        // A program on this machine (no Origin): its links wait for approval like a page's.
        let body = post(vec![
            ("crypted", crypted.clone()),
            ("jk", format!("function f(){{ return '{}'; }}", hex(&key))),
        ])
        .await;
        assert_eq!(body.trim(), "success");
        let r = c
            .post(format!("{cnl}/flash/add"))
            .form(&[(
                "urls",
                "https://1fichier.com/?klmnopqrst\nhttps://example.com/y",
            )])
            .send()
            .await
            .unwrap();
        assert_eq!(r.text().await.unwrap().trim(), "success");
        let v: serde_json::Value = get(&server, "api/cnl").await.json().await.unwrap();
        let pending = v["pending"].as_array().unwrap();
        assert_eq!(pending.len(), 2);
        assert_eq!(pending[0]["batch"]["origin"], "local (no origin)");
        assert_eq!(pending[1]["ignored"][0], "https://example.com/y");
        assert_eq!(
            queue_json(&server).await["items"].as_array().unwrap().len(),
            0
        );

        // Refusing the origin drops its requests and keeps it quiet from then on.
        let id = pending[0]["id"].as_u64().unwrap();
        let r = c
            .post(format!("{}api/cnl/{id}/refuse", server.base))
            .header(COOKIE, cookie(&server))
            .header("x-csrf-token", csrf(&server).await)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::OK);
        let r = c
            .post(format!("{cnl}/flash/add"))
            .form(&[("urls", "https://1fichier.com/?zyxwvutsrq")])
            .send()
            .await
            .unwrap();
        assert_eq!(r.text().await.unwrap().trim(), "failed refused");
        let v: serde_json::Value = get(&server, "api/cnl").await.json().await.unwrap();
        assert!(v["pending"].as_array().unwrap().is_empty());
        assert_eq!(v["refused"][0], "local (no origin)");
        assert_eq!(
            queue_json(&server).await["items"].as_array().unwrap().len(),
            0
        );
    });
    // The decision outlives the process.
    drop(server);
    let origins = std::fs::read_to_string(data_dir(&env).join("cnl-origins.json")).unwrap();
    assert!(origins.contains("local (no origin)"), "{origins}");
}

#[test]
fn dashboard_reads_uploaded_crawljob_and_txt_files() {
    let env = Env::logged_in();
    let dl = env.root().join("dl");
    let server = start(
        &env,
        &[
            "dashboard",
            "--serve",
            "--no-open",
            "--to",
            dl.to_str().unwrap(),
        ],
    );
    env.rt.block_on(async {
        let token = csrf(&server).await;
        let upload = |name: &'static str, text: &'static str| {
            let form = reqwest::multipart::Form::new()
                .part(
                    "file",
                    reqwest::multipart::Part::bytes(text.as_bytes().to_vec()).file_name(name),
                )
                .text("target", "");
            http()
                .post(format!("{}api/add/file", server.base))
                .header(COOKIE, cookie(&server))
                .header("x-csrf-token", &token)
                .multipart(form)
        };
        let job = "text=https://1fichier.com/?crawl00001\npackageName=Films\n\
                   downloadFolder=films\n\n\
                   text=https://megadl.fr/?crawl00002\nautoStart=false\n";
        let r = upload("two.crawljob", job).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::OK);
        let report: serde_json::Value = r.json().await.unwrap();
        assert_eq!(report["added"].as_array().unwrap().len(), 2, "{report}");
        let q = queue_json(&server).await;
        let items = q["items"].as_array().unwrap();
        assert_eq!(items[0]["package"], "Films");
        assert_eq!(
            items[0]["target_dir"],
            dl.join("films").display().to_string()
        );
        assert_eq!(items[0]["state"], "queued");
        assert_eq!(items[1]["state"], "paused");
        assert_eq!(items[1]["origin"], "dashboard:two.crawljob");

        // A folder above the download folder: refused, nothing added.
        let r = upload(
            "up.crawljob",
            "text=https://1fichier.com/?crawl00003\ndownloadFolder=../..\n",
        )
        .send()
        .await
        .unwrap();
        assert_eq!(r.status(), StatusCode::BAD_REQUEST);
        let err: serde_json::Value = r.json().await.unwrap();
        assert!(
            err["error"].as_str().unwrap().contains("up.crawljob"),
            "{err}"
        );
        let r = upload(
            "list.txt",
            "# mine\nhttps://1fichier.com/?crawl00004\nnot a link\n",
        )
        .send()
        .await
        .unwrap();
        let report: serde_json::Value = r.json().await.unwrap();
        assert_eq!(report["added"].as_array().unwrap().len(), 1, "{report}");
        assert_eq!(report["ignored"][0], "not a link");
        assert_eq!(
            queue_json(&server).await["items"].as_array().unwrap().len(),
            3
        );
    });
}

fn hex(key: &[u8]) -> String {
    key.iter().map(|b| format!("{b:02x}")).collect()
}

// ---- The browser ----

/// chromedriver on a free loopback port, killed on drop.
struct Driver {
    child: Child,
    url: String,
    _profile: tempfile::TempDir,
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Starts chromedriver, or says why the browser test is skipped.
fn driver() -> Option<Driver> {
    if !Path::new(CHROMEDRIVER).exists() {
        eprintln!(
            "SKIPPED: {CHROMEDRIVER} is missing (install the Debian packages chromium and \
             chromium-driver; .ci/run does)"
        );
        return None;
    }
    let port = free_port();
    let child = std::process::Command::new(CHROMEDRIVER)
        .arg(format!("--port={port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start chromedriver");
    let d = Driver {
        child,
        url: format!("http://127.0.0.1:{port}"),
        _profile: tempfile::tempdir().unwrap(),
    };
    let deadline = Instant::now() + WAIT;
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "chromedriver never listened");
        std::thread::sleep(Duration::from_millis(50));
    }
    Some(d)
}

async fn browser(d: &Driver) -> Browser {
    let profile = d._profile.path().display().to_string();
    let caps = serde_json::json!({
        "browserName": "chrome",
        "goog:chromeOptions": {
            "binary": CHROMIUM,
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
async fn shot(b: &Browser, name: &str) {
    let Some(dir) = std::env::var_os("FICHIER_DASHBOARD_SHOTS") else {
        return;
    };
    let png = b.screenshot().await.unwrap();
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(Path::new(&dir).join(name), png).unwrap();
}

async fn wait_for(b: &Browser, css: &str) -> fantoccini::elements::Element {
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

async fn open(b: &Browser, server: &Server, path: &str) {
    b.goto(&format!("{}{path}?token={}", server.base, server.token))
        .await
        .unwrap();
}

/// The state a row shows, read from the page.
async fn state_of(b: &Browser, id: i64) -> String {
    b.find(Locator::Css(&format!("#item-{id}")))
        .await
        .unwrap()
        .attr("data-state")
        .await
        .unwrap()
        .unwrap_or_default()
}

#[test]
fn browser_adds_links_pauses_and_resumes_one_then_watches_them_finish_with_the_daemon() {
    let Some(d) = driver() else { return };
    let env = Env::logged_in();
    let dl = env.root().join("dl");
    let a = env.upload("alpha.bin", &vec![7u8; 300_000], 0);
    let hostile = "<img src=x onerror=alert(1)>\"'&amp;.txt";
    let h = env.upload(hostile, b"inert", 0);
    let g = env.upload("gamma.bin", b"gamma", 0);
    let server = start(
        &env,
        &[
            "dashboard",
            "--serve",
            "--no-open",
            "--to",
            dl.to_str().unwrap(),
        ],
    );
    env.rt.block_on(async {
        let b = browser(&d).await;
        open(&b, &server, "add").await;
        shot(&b, "add.png").await;
        let links = format!(
            "{}\n{}\nhttps://example.com/not-ours",
            a.as_str(),
            h.as_str()
        );
        b.find(Locator::Css("#links"))
            .await
            .unwrap()
            .send_keys(&links)
            .await
            .unwrap();
        b.find(Locator::Css("#package"))
            .await
            .unwrap()
            .send_keys("<script>alert(2)</script>")
            .await
            .unwrap();
        b.find(Locator::Css("#add-submit"))
            .await
            .unwrap()
            .click()
            .await
            .unwrap();
        wait_for(&b, "#item-1[data-state=queued]").await;
        wait_for(&b, "#item-2[data-state=queued]").await;
        // A package with terminal escapes and a bidi override, through the JSON API; the
        // open page gets the new row live.
        let r = http()
            .post(format!("{}api/add", server.base))
            .header(COOKIE, cookie(&server))
            .header("x-csrf-token", csrf(&server).await)
            .json(&serde_json::json!({
                "links": [g.as_str()],
                "package": "esc\u{1b}[31mred\u{202e}txt.exe",
            }))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::OK);
        wait_for(&b, "#item-3[data-state=queued]").await;
        let pkg = b.find(Locator::Css("#item-1 .c-pkg")).await.unwrap();
        assert_eq!(pkg.text().await.unwrap(), "<script>alert(2)</script>");

        // Pause one (the page calls the JSON API; the live stream redraws the row).
        b.find(Locator::Css("#item-1 .b-pause"))
            .await
            .unwrap()
            .click()
            .await
            .unwrap();
        wait_for(&b, "#item-1[data-state=paused]").await;
        assert_eq!(state_of(&b, 2).await, "queued");
        b.find(Locator::Css("#item-1 .b-resume"))
            .await
            .unwrap()
            .click()
            .await
            .unwrap();
        wait_for(&b, "#item-1[data-state=queued]").await;
        b.close().await.unwrap();
    });
    drop(server);

    // The daemon works the queue; the open page follows it live to "done".
    let server = start(&env, &["daemon", "--to", dl.to_str().unwrap()]);
    env.rt.block_on(async {
        let b = browser(&d).await;
        open(&b, &server, "").await;
        wait_for(&b, "#live:not([hidden])").await;
        wait_for(&b, "#item-1[data-state=done]").await;
        wait_for(&b, "#item-2[data-state=done]").await;
        wait_for(&b, "#item-3[data-state=done]").await;
        // The hostile name is text: the cell holds it literally, no element was made of it,
        // and no script ran.
        let name = b
            .find(Locator::Css("#item-2 .name"))
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(
            name.contains("<img src=x onerror=alert(1)>\"'&amp;"),
            "{name}"
        );
        let pkg = b
            .find(Locator::Css("#item-3 .c-pkg"))
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(
            pkg.contains("\u{fffd}[31m") && !pkg.contains('\u{1b}'),
            "{pkg:?}"
        );
        let imgs = b
            .find_all(Locator::Css("#queue img, #queue script"))
            .await
            .unwrap();
        assert!(imgs.is_empty());
        assert!(b.get_alert_text().await.is_err(), "a script of a name ran");
        // The same on a freshly server-rendered page.
        b.refresh().await.unwrap();
        wait_for(&b, "#item-2[data-state=done]").await;
        let pkg = b
            .find(Locator::Css("#item-3 .c-pkg"))
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(
            pkg.contains("\u{fffd}[31m") && !pkg.contains('\u{1b}'),
            "{pkg:?}"
        );
        assert!(
            b.find_all(Locator::Css("#queue img"))
                .await
                .unwrap()
                .is_empty()
        );
        assert!(b.get_alert_text().await.is_err());

        open(&b, &server, "account").await;
        let account = wait_for(&b, "#account").await.text().await.unwrap();
        assert!(
            account.contains("Offer") && account.contains("premium"),
            "{account}"
        );
        assert!(!b.source().await.unwrap().contains(env.key()));
        shot(&b, "account.png").await;
        // A phone-sized window: the queue becomes one card per item, nothing cut off.
        b.set_window_size(390, 844).await.unwrap();
        open(&b, &server, "").await;
        wait_for(&b, "#item-1").await;
        let overflow = b
            .execute(
                "return document.documentElement.scrollWidth > window.innerWidth + 1;",
                vec![],
            )
            .await
            .unwrap();
        assert_eq!(
            overflow,
            serde_json::Value::Bool(false),
            "the page scrolls sideways"
        );
        b.close().await.unwrap();
    });
    assert_eq!(
        std::fs::read(dl.join("alpha.bin")).unwrap(),
        vec![7u8; 300_000]
    );
}

/// Serves one page (on another loopback port: another origin) until dropped.
struct Page {
    addr: SocketAddr,
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
}

impl Drop for Page {
    fn drop(&mut self) {
        self.stop.store(true, std::sync::atomic::Ordering::Relaxed);
        let _ = std::net::TcpStream::connect(self.addr);
    }
}

fn serve_page(html: String) -> Page {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let flag = stop.clone();
    std::thread::spawn(move || {
        for conn in listener.incoming() {
            if flag.load(std::sync::atomic::Ordering::Relaxed) {
                break;
            }
            let Ok(mut s) = conn else { continue };
            let mut buf = [0u8; 4096];
            let _ = s.read(&mut buf);
            let _ = write!(
                s,
                "HTTP/1.1 200 OK\r\nContent-Type: text/html; charset=utf-8\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{html}",
                html.len()
            );
        }
    });
    Page { addr, stop }
}

#[test]
fn browser_click_n_load_from_another_origin_waits_for_approval_then_queues() {
    let Some(d) = driver() else { return };
    let env = Env::logged_in();
    let dl = env.root().join("dl");
    let server = start(
        &env,
        &[
            "dashboard",
            "--serve",
            "--no-open",
            "--to",
            dl.to_str().unwrap(),
        ],
    );
    let key = *b"0123456789abcdef";
    let crypted = fichier_web::cnl::encrypt_links(
        &[
            "https://1fichier.com/?cnlfile0001",
            "https://dl4free.com/?cnlfile0002",
            "https://elsewhere.example/file",
        ],
        &key,
    );
    // What a link site does: a form posted to 127.0.0.1:9666 (here the test's port).
    let page = serve_page(format!(
        "<!doctype html><title>links</title>\
         <form id=f method=post action=\"http://{cnl}/flash/addcrypted2\" target=sink>\
         <input type=hidden name=crypted value=\"{crypted}\">\
         <input type=hidden name=jk value=\"function f(){{ return '{k}'; }}\">\
         <input type=hidden name=package value=\"From &lt;b&gt;a page\">\
         <input type=hidden name=source value=\"http://links.example/page\">\
         </form><iframe name=sink></iframe>\
         <button id=go onclick=\"document.getElementById('f').submit()\">Click'n'Load</button>",
        cnl = server.cnl,
        k = hex(&key),
    ));
    let page_origin = format!("http://{}", page.addr);
    env.rt.block_on(async {
        let b = browser(&d).await;
        b.goto(&format!("{page_origin}/")).await.unwrap();
        b.find(Locator::Css("#go"))
            .await
            .unwrap()
            .click()
            .await
            .unwrap();
        // The receiver answered in the iframe.
        let deadline = Instant::now() + WAIT;
        loop {
            let v: serde_json::Value = get(&server, "api/cnl").await.json().await.unwrap();
            if !v["pending"].as_array().unwrap().is_empty() {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "the Click'n'Load post never arrived"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        // Nothing is queued before approval; the pending list shows the origin.
        assert!(
            queue_json(&server).await["items"]
                .as_array()
                .unwrap()
                .is_empty()
        );
        open(&b, &server, "cnl").await;
        let section = wait_for(&b, "section.pending").await;
        let text = section.text().await.unwrap();
        assert!(text.contains(&page_origin), "{text}");
        assert!(text.contains("https://1fichier.com/?cnlfile0001"), "{text}");
        assert!(text.contains("https://1fichier.com/?cnlfile0002"), "{text}");
        assert!(text.contains("https://elsewhere.example/file"), "{text}");
        assert!(text.contains("From <b>a page"), "{text}");
        let badge = b.find(Locator::Css("#pending-count")).await.unwrap();
        assert_eq!(badge.text().await.unwrap(), "1");
        shot(&b, "cnl.png").await;
        section
            .find(Locator::Css(".b-approve"))
            .await
            .unwrap()
            .click()
            .await
            .unwrap();
        wait_for(&b, "#no-pending").await;
        open(&b, &server, "").await;
        wait_for(&b, "#item-1[data-state=queued]").await;
        wait_for(&b, "#item-2[data-state=queued]").await;
        assert!(
            b.find_all(Locator::Css("#item-3"))
                .await
                .unwrap()
                .is_empty()
        );
        let q = queue_json(&server).await;
        let items = q["items"].as_array().unwrap();
        assert_eq!(items.len(), 2);
        assert_eq!(items[0]["origin"], format!("cnl:{page_origin}"));
        assert_eq!(items[1]["source"], "https://1fichier.com/?cnlfile0002");

        // The origin is remembered: its next hand-off is queued at once.
        let crypted = fichier_web::cnl::encrypt_links(&["https://1fichier.com/?cnlfile0003"], &key);
        let r = http()
            .post(format!("http://{}/flash/addcrypted2", server.cnl))
            .header(ORIGIN, &page_origin)
            .form(&[
                ("crypted", crypted.as_str()),
                ("jk", &format!("function f(){{ return '{}'; }}", hex(&key))),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(r.text().await.unwrap().trim(), "success");
        wait_for(&b, "#item-3[data-state=queued]").await;
        b.close().await.unwrap();
    });
    drop(page);
}

/// Adds an item straight to the store (as a runner's view of it is set up below).
fn seed(store: &fichier_queue::QueueStore, id: &str, name: &str, size: u64) -> i64 {
    use fichier_queue::{AddOutcome, NewItem};
    let item = NewItem {
        source: format!("https://1fichier.com/?{id}"),
        target_dir: PathBuf::from("/srv/downloads"),
        package: Some("Holiday 2026".to_owned()),
        name: Some(name.to_owned()),
        size: Some(size),
        origin: "cli".to_owned(),
        ..NewItem::default()
    };
    match store.add(item).unwrap() {
        AddOutcome::Added(id) => id,
        AddOutcome::Duplicate { .. } => panic!("duplicate seed"),
    }
}

#[test]
fn browser_follows_progress_and_state_reasons_live() {
    use fichier_queue::{QueueStore, Selector, State};
    let Some(d) = driver() else { return };
    let env = Env::logged_in();
    let server = start(&env, &["dashboard", "--serve", "--no-open"]);
    // The test plays the runner on the same store, through the store's own runner calls.
    let store = QueueStore::open(&data_dir(&env).join("queue.sqlite")).unwrap();
    let lease = Duration::from_secs(600);
    let mib = 1u64 << 20;
    let film = seed(&store, "seedfilm01", "holiday-film.mkv", 1400 * mib);
    let photos = seed(&store, "seedphoto1", "photos.zip", 300 * mib);
    let notes = seed(&store, "seednotes1", "notes.pdf", 2 * mib);
    let gone = seed(&store, "seedgone01", "old-backup.tar", 80 * mib);
    let later = seed(&store, "seedlater1", "extras.iso", 700 * mib);
    store.pause(&Selector::Id(later)).unwrap();
    let claim = |want: i64| {
        let item = store.claim_next("test", lease).unwrap().expect("a claim");
        assert_eq!(item.id, want);
    };
    claim(film);
    store
        .set_state(film, "test", State::Downloading, None, None, false)
        .unwrap();
    store
        .set_progress(film, "test", 100 * mib, 12 * mib, Some(108))
        .unwrap();
    claim(photos);
    let until = jiff::Timestamp::now() + jiff::SignedDuration::from_mins(4);
    store
        .set_state(
            photos,
            "test",
            State::Waiting,
            Some("flood cooldown: 1fichier asked to wait"),
            Some(until),
            true,
        )
        .unwrap();
    claim(notes);
    store
        .finish(notes, "test", Path::new("/srv/downloads/notes.pdf"))
        .unwrap();
    claim(gone);
    store
        .set_state(
            gone,
            "test",
            State::Offline,
            Some("the file was deleted from 1fichier"),
            None,
            false,
        )
        .unwrap();

    env.rt.block_on(async {
        let b = browser(&d).await;
        open(&b, &server, "").await;
        wait_for(&b, "#live:not([hidden])").await;
        let row = wait_for(&b, &format!("#item-{film}[data-state=downloading]")).await;
        let text = row.text().await.unwrap();
        assert!(text.contains("7%") && text.contains("12.0 MiB/s"), "{text}");
        assert!(text.contains("1m 48s"), "{text}");
        let waiting = b
            .find(Locator::Css(&format!("#item-{photos} .reason")))
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(
            waiting.contains("flood cooldown") && waiting.contains("until"),
            "{waiting}"
        );

        shot(&b, "queue.png").await;
        b.set_window_size(390, 844).await.unwrap();
        b.refresh().await.unwrap();
        wait_for(&b, "#live:not([hidden])").await;
        shot(&b, "queue-phone.png").await;
        b.set_window_size(1200, 860).await.unwrap();
        b.refresh().await.unwrap();
        wait_for(&b, "#live:not([hidden])").await;

        // The runner moves on: the open page follows without reloading.
        let marker: serde_json::Value = b
            .execute("window.__same_page = 1; return 1;", vec![])
            .await
            .unwrap();
        assert_eq!(marker, 1);
        store
            .set_progress(film, "test", 700 * mib, 20 * mib, Some(35))
            .unwrap();
        let deadline = Instant::now() + WAIT;
        loop {
            let text = b
                .find(Locator::Css(&format!("#item-{film}")))
                .await
                .unwrap()
                .text()
                .await
                .unwrap();
            if text.contains("50%") && text.contains("20.0 MiB/s") && text.contains("35s") {
                break;
            }
            assert!(Instant::now() < deadline, "progress never updated: {text}");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        store
            .set_state(
                film,
                "test",
                State::Failed,
                Some("the connection was reset 5 times"),
                None,
                true,
            )
            .unwrap();
        wait_for(&b, &format!("#item-{film}[data-state=failed]")).await;
        let reason = b
            .find(Locator::Css(&format!("#item-{film} .reason")))
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert_eq!(reason, "the connection was reset 5 times");
        let same: serde_json::Value = b
            .execute("return window.__same_page || 0;", vec![])
            .await
            .unwrap();
        assert_eq!(same, 1, "the page reloaded instead of updating");
        // Retry from the page: back to queued.
        b.find(Locator::Css(&format!("#item-{film} .b-retry")))
            .await
            .unwrap()
            .click()
            .await
            .unwrap();
        wait_for(&b, &format!("#item-{film}[data-state=queued]")).await;
        // Reorder: the paused item to the top.
        b.find(Locator::Css(&format!("#item-{later} .b-move[value=top]")))
            .await
            .unwrap()
            .click()
            .await
            .unwrap();
        let deadline = Instant::now() + WAIT;
        loop {
            let first = b
                .find(Locator::Css("#queue tbody tr"))
                .await
                .unwrap()
                .attr("id")
                .await
                .unwrap();
            if first.as_deref() == Some(format!("item-{later}").as_str()) {
                break;
            }
            assert!(Instant::now() < deadline, "the row never moved: {first:?}");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        b.close().await.unwrap();
    });
}

#[test]
fn the_backups_page_lists_runs_from_the_backup_journal_escaped() {
    let env = Env::logged_in();
    let server = start(&env, &["dashboard", "--serve"]);
    env.rt.block_on(async {
        // Before any backup: said plainly, and the API answers an empty list.
        let page = get(&server, "backups").await.text().await.unwrap();
        assert!(page.contains("No backup has run"), "{page}");
    });

    let src = env.root().join("<b>src</b>");
    std::fs::create_dir_all(&src).unwrap();
    std::fs::write(src.join("a.txt"), b"alpha").unwrap();
    env.run(&["backup", src.to_str().unwrap(), "/Bk"]).ok();

    env.rt.block_on(async {
        let v: serde_json::Value = get(&server, "api/backups").await.json().await.unwrap();
        let run = &v["runs"][0];
        assert_eq!(run["state"], "done", "{v}");
        assert!(
            run["profile"].as_str().unwrap().contains("<b>src</b>=>/Bk"),
            "{v}"
        );
        assert!(
            run["summary"].as_str().unwrap().contains("1 uploaded"),
            "{v}"
        );

        let page = get(&server, "backups").await.text().await.unwrap();
        assert!(page.contains("&lt;b&gt;src&lt;/b&gt;=&gt;/Bk"), "{page}");
        assert!(!page.contains("<b>src</b>"), "the name is shown inert");
        assert!(page.contains("1 uploaded"), "{page}");
        // Without the token: refused like every page.
        let r = http()
            .get(format!("{}backups", server.base))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    });
}
