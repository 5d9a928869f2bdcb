//! The Click'n'Load receiver: probes, hostile `jk` keys, foreign hosts and oversize bodies
//! refused; a page of another origin hands links over in a real browser, they wait for
//! approval, then queue.

use std::io::{Read as _, Write as _};
use std::net::{SocketAddr, TcpListener};
use std::path::Path;
use std::time::{Duration, Instant};

use fantoccini::Locator;
use reqwest::StatusCode;
use reqwest::header::{HOST, ORIGIN};

use super::browser::{browser, driver, open, shot, wait_for};
use super::{TOKEN, WAIT, csrf, data_dir, get, http, queue_json, start_dashboard};
use crate::harness::Env;

#[test]
fn click_n_load_answers_probes_and_refuses_hostile_keys_foreign_hosts_and_oversize_bodies() {
    let env = Env::logged_in();
    let server = start_dashboard(&env, &env.root().join("dl"));
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
        let crypted = fichier_web::encrypt_links(&["https://1fichier.com/?abcdefghij"], &key);
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
        let big = "a".repeat(fichier_web::CNL_MAX_BODY + 1);
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
            .header(TOKEN, &server.token)
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
    let server = start_dashboard(&env, &dl);
    let key = *b"0123456789abcdef";
    let crypted = fichier_web::encrypt_links(
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
        let crypted = fichier_web::encrypt_links(&["https://1fichier.com/?cnlfile0003"], &key);
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

fn hex(key: &[u8]) -> String {
    key.iter().map(|b| format!("{b:02x}")).collect()
}

/// Posts `urls` to `/flash/add` as a page of `origin` would; the receiver's answer.
async fn hand_off(server: &super::Dashboard, origin: &str, urls: &str) -> String {
    http()
        .post(format!("http://{}/flash/add", server.cnl))
        .header(ORIGIN, origin)
        .form(&[("urls", urls)])
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap()
        .trim()
        .to_owned()
}

#[test]
fn approving_the_null_origin_queues_that_request_alone_and_is_never_remembered() {
    let env = Env::logged_in();
    let server = start_dashboard(&env, &env.root().join("dl"));
    env.rt.block_on(async {
        let c = http();
        // A sandboxed frame on some site: its origin is "null".
        assert_eq!(
            hand_off(&server, "null", "https://1fichier.com/?nullfirst1").await,
            "success"
        );
        let v: serde_json::Value = get(&server, "api/cnl").await.json().await.unwrap();
        let entry = &v["pending"][0];
        assert!(entry["not_remembered"].as_str().unwrap().contains("null"));
        let page = get(&server, "cnl").await.text().await.unwrap();
        assert!(page.contains("Approve and queue this request"), "{page}");
        let id = entry["id"].as_u64().unwrap();
        let r = c
            .post(format!("{}api/cnl/{id}/approve", server.base))
            .header(TOKEN, &server.token)
            .header("x-csrf-token", csrf(&server).await)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::OK);
        assert_eq!(
            queue_json(&server).await["items"].as_array().unwrap().len(),
            1
        );

        // Another site's sandboxed frame (or the same one) is asked about again.
        assert_eq!(
            hand_off(&server, "null", "https://1fichier.com/?nullsecond").await,
            "success"
        );
        let v: serde_json::Value = get(&server, "api/cnl").await.json().await.unwrap();
        assert_eq!(v["pending"].as_array().unwrap().len(), 1);
        assert!(v["approved"].as_array().unwrap().is_empty(), "{v}");
        assert_eq!(
            queue_json(&server).await["items"].as_array().unwrap().len(),
            1
        );
    });
    drop(server);
    // An approval of `null` an older version saved is not honoured either.
    let file = data_dir(&env).join("cnl-origins.json");
    std::fs::write(
        &file,
        r#"{"approved":["null","local (no origin)"],"refused":[]}"#,
    )
    .unwrap();
    let server = start_dashboard(&env, &env.root().join("dl"));
    env.rt.block_on(async {
        assert_eq!(
            hand_off(&server, "null", "https://1fichier.com/?nullthird1").await,
            "success"
        );
        let v: serde_json::Value = get(&server, "api/cnl").await.json().await.unwrap();
        assert_eq!(v["pending"].as_array().unwrap().len(), 1, "{v}");
        assert!(v["approved"].as_array().unwrap().is_empty(), "{v}");
    });
}

#[test]
fn one_page_flooding_click_n_load_cannot_block_it_for_other_sites() {
    let env = Env::logged_in();
    let server = start_dashboard(&env, &env.root().join("dl"));
    let links = |tag: &str, n: usize| -> String {
        (0..n)
            .map(|i| format!("https://1fichier.com/?{tag}{i:06}\n"))
            .collect()
    };
    env.rt.block_on(async {
        // One origin: its hand-offs merge into one entry, capped at 1000 links.
        let flood = "http://127.0.0.1:18004";
        assert_eq!(hand_off(&server, flood, &links("a", 1000)).await, "success");
        assert_eq!(hand_off(&server, flood, &links("a", 1000)).await, "success");
        assert!(
            hand_off(&server, flood, &links("b", 1000))
                .await
                .starts_with("failed too many")
        );
        let legit = "https://legit-link-site.example";
        assert_eq!(
            hand_off(&server, legit, "https://1fichier.com/?legitfile1").await,
            "success"
        );
        let v: serde_json::Value = get(&server, "api/cnl").await.json().await.unwrap();
        let pending = v["pending"].as_array().unwrap();
        assert_eq!(pending.len(), 2, "one entry per origin");
        assert_eq!(pending[0]["fichier"].as_array().unwrap().len(), 1000);

        // Rotating origins: the oldest entries make room, the newest site is never refused.
        for port in 20000..20150 {
            let origin = format!("http://127.0.0.1:{port}");
            assert_eq!(
                hand_off(&server, &origin, "https://1fichier.com/?rotating01").await,
                "success"
            );
        }
        assert_eq!(
            hand_off(&server, legit, "https://1fichier.com/?legitfile2").await,
            "success"
        );
        let v: serde_json::Value = get(&server, "api/cnl").await.json().await.unwrap();
        let pending = v["pending"].as_array().unwrap();
        assert!(pending.len() <= 100, "{}", pending.len());
        let last = pending.last().unwrap();
        assert_eq!(last["batch"]["origin"], legit);
    });
}
