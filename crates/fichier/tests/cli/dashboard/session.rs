//! How a browser signs in and what its session reaches: the one-time link, the cookie kept
//! for the dashboard's own `*.localhost` name (never sent to, nor replaced by, another server
//! on 127.0.0.1), streams ending with their token, refusals the page can act on, and
//! `dashboard --serve` beside a daemon.

use std::io::{Read as _, Write as _};
use std::net::{SocketAddr, TcpListener};
use std::sync::{Arc, Mutex};

use fantoccini::Locator;

use super::browser::{browser, driver, open, wait_for};
use super::{daemon_on, data_dir, port_of, start_daemon, start_dashboard};
use crate::harness::Env;

/// Another HTTP server on 127.0.0.1, as a hostile local user would run one: it records every
/// request it gets and answers with cookies named like the dashboard's.
struct Hostile {
    addr: SocketAddr,
    seen: Arc<Mutex<Vec<String>>>,
}

fn hostile_server() -> Hostile {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let log = seen.clone();
    std::thread::spawn(move || {
        for conn in listener.incoming() {
            let Ok(mut s) = conn else { continue };
            let mut buf = vec![0u8; 16384];
            let n = s.read(&mut buf).unwrap_or(0);
            log.lock()
                .unwrap()
                .push(String::from_utf8_lossy(&buf[..n]).into_owned());
            let body = "<!doctype html><title>other</title><p id=other>another server";
            let _ = write!(
                s,
                "HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nSet-Cookie: fichier_session=junk; Path=/\r\n\
                 Set-Cookie: fichier_dashboard=junk; Path=/\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
        }
    });
    Hostile { addr, seen }
}

#[test]
fn browser_session_never_reaches_another_loopback_server_which_cannot_sign_the_user_out() {
    let Some(d) = driver() else { return };
    let env = Env::logged_in();
    let server = start_dashboard(&env, &env.root().join("dl"));
    let other = hostile_server();
    env.rt.block_on(async {
        let b = browser(&d).await;
        open(&b, &server, "").await;
        wait_for(&b, "#queue").await;
        let here = b.current_url().await.unwrap();
        // The link's code is spent, and the address bar shows neither it nor the token.
        assert!(!here.as_str().contains("code="), "{here}");
        assert!(!here.as_str().contains(&server.token), "{here}");
        let session = b
            .get_named_cookie("fichier_session")
            .await
            .unwrap()
            .value()
            .to_owned();
        assert!(!session.contains(&server.token));

        // The same browser visits the other server by every name of the machine's loopback.
        let port = other.addr.port();
        for url in [
            format!("http://127.0.0.1:{port}/a"),
            format!("http://localhost:{port}/b"),
        ] {
            b.goto(&url).await.unwrap();
            wait_for(&b, "#other").await;
        }
        let seen = other.seen.lock().unwrap().clone();
        assert!(seen.len() >= 2, "{seen:?}");
        for request in &seen {
            assert!(
                !request.contains(&session),
                "the session reached it:\n{request}"
            );
            assert!(
                !request.contains(&server.token),
                "the token reached it:\n{request}"
            );
        }

        // Its look-alike cookies did not replace the session: the dashboard still opens.
        b.goto(here.as_str()).await.unwrap();
        wait_for(&b, "#queue").await;
        let title = b.find(Locator::Css("h1, title")).await.unwrap();
        assert!(!title.text().await.unwrap().contains("Refused"));
        b.close().await.unwrap();
    });
}

#[test]
fn dashboard_serve_beside_a_running_daemon_is_refused_and_leaves_its_files() {
    let env = Env::logged_in();
    let server = start_daemon(&env, &env.root().join("dl"));
    let addr_file = data_dir(&env).join("dashboard.json");
    let before = std::fs::read(&addr_file).unwrap();
    let token = std::fs::read(data_dir(&env).join("dashboard-token")).unwrap();
    let out = env.run(&[
        "dashboard",
        "--serve",
        "--no-open",
        "--port",
        "0",
        "--no-cnl",
    ]);
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(
        out.stderr.contains("already serves the dashboard"),
        "{}",
        out.stderr
    );
    assert_eq!(std::fs::read(&addr_file).unwrap(), before);
    assert_eq!(
        std::fs::read(data_dir(&env).join("dashboard-token")).unwrap(),
        token
    );
    let out = env.run(&["dashboard", "--no-open"]);
    assert!(out.ok().starts_with(&format!("{}login?code=", server.base)));
}

#[test]
fn browser_page_says_when_the_daemon_is_down_recovers_after_a_restart_and_is_signed_out_by_a_new_link()
 {
    let Some(d) = driver() else { return };
    let env = Env::logged_in();
    let dl = env.root().join("dl");
    let server = start_daemon(&env, &dl);
    let server = env.rt.block_on(async {
        let b = browser(&d).await;
        open(&b, &server, "").await;
        wait_for(&b, "#live:not([hidden])").await;

        // Down: said plainly, not "Failed to fetch".
        let port = port_of(&server);
        drop(server);
        let notice = wait_for(&b, "#notice.error").await;
        let text = notice.text().await.unwrap();
        assert!(text.contains("Daemon not reachable"), "{text}");
        let server = daemon_on(&env, &dl, port);
        // Back: the stream reconnects on its own and a button works, although the new
        // process has another CSRF token (the page fetches it again).
        wait_for(&b, "#live:not([hidden])").await;
        b.find(Locator::Css("form.bulk button[value=pause]"))
            .await
            .unwrap()
            .click()
            .await
            .unwrap();
        let notice = wait_for(&b, "#notice.ok").await;
        assert!(notice.text().await.unwrap().contains("changed"));

        // A new link signs this page out: its stream ends and it says how to get back in.
        env.run(&["dashboard", "--no-open"]).ok();
        let notice = wait_for(&b, "#notice.error").await;
        let text = notice.text().await.unwrap();
        assert!(
            text.contains("Signed out") && text.contains("fichier dashboard"),
            "{text}"
        );
        b.close().await.unwrap();
        server
    });
    drop(server);
}

#[test]
fn dashboard_serve_stops_promptly_on_sigint_with_a_live_stream_open_and_removes_its_address() {
    let env = Env::logged_in();
    let mut server = start_dashboard(&env, &env.root().join("dl"));
    let addr_file = data_dir(&env).join("dashboard.json");
    env.rt.block_on(async {
        // A live page's stream holds a connection open.
        let stream = super::http()
            .get(format!("{}api/events", server.base))
            .header(super::TOKEN, &server.token)
            .send()
            .await
            .unwrap();
        assert!(stream.status().is_success());
        let sent = std::process::Command::new("kill")
            .args(["-INT", &server.child.id().to_string()])
            .status()
            .unwrap();
        assert!(sent.success());
        let started = std::time::Instant::now();
        let status = loop {
            if let Some(s) = server.child.try_wait().unwrap() {
                break s;
            }
            assert!(
                started.elapsed() < std::time::Duration::from_secs(10),
                "still running 10 s after SIGINT"
            );
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        };
        let took = started.elapsed();
        eprintln!("dashboard --serve stopped in {took:?}");
        assert!(status.success(), "{status}");
        assert!(took < std::time::Duration::from_secs(3), "{took:?}");
        drop(stream);
    });
    assert!(!addr_file.exists());
}
