//! The dashboard's gate: the access token (link, cookie, header), the `Host` check against
//! DNS rebinding, CSRF and same-origin on state changes, the key never on a page.

use reqwest::StatusCode;
use reqwest::header::{COOKIE, HOST, ORIGIN, SET_COOKIE};

use super::{TOKEN, csrf, data_dir, get, http, mint, queue_json, start_dashboard};
use crate::harness::Env;

#[test]
fn dashboard_refuses_requests_without_the_token_a_foreign_host_or_the_csrf_token() {
    let env = Env::logged_in();
    let dl = env.root().join("dl");
    let server = start_dashboard(&env, &dl);
    env.rt.block_on(async {
        let c = http();
        let base = &server.base;
        let port = base
            .trim_end_matches('/')
            .rsplit(':')
            .next()
            .unwrap()
            .to_owned();
        // No token at all, and a wrong one.
        let r = c.get(base).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
        assert!(r.text().await.unwrap().contains("fichier dashboard"));
        for path in ["api/queue", "api/events", "add", "static/app.js"] {
            let r = c.get(format!("{base}{path}")).send().await.unwrap();
            assert_eq!(r.status(), StatusCode::UNAUTHORIZED, "{path}");
        }
        let r = c
            .get(format!("{base}?token={}", server.token))
            .send()
            .await
            .unwrap();
        assert_eq!(
            r.status(),
            StatusCode::UNAUTHORIZED,
            "a token in the URL is no credential"
        );

        // The one-time link first moves to a secret name of its own under localhost, then
        // trades the code for a strict cookie bound to that name and port.
        let r = c.get(&server.login).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::SEE_OTHER);
        let moved = url::Url::parse(r.headers()["location"].to_str().unwrap()).unwrap();
        let own_host = format!("{}:{}", moved.host_str().unwrap(), moved.port().unwrap());
        assert!(own_host.ends_with(&format!(".localhost:{port}")), "{moved}");
        let sign_in = format!("{base}login?{}", moved.query().unwrap());
        let r = c
            .get(&sign_in)
            .header(HOST, &own_host)
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
        assert!(!set.contains(&server.token), "the cookie is not the token");
        let session = set.split(';').next().unwrap().to_owned();
        let as_page = |host: String| {
            c.get(base.as_str())
                .header(HOST, host)
                .header(COOKIE, session.clone())
                .send()
        };
        assert_eq!(
            as_page(own_host.clone()).await.unwrap().status(),
            StatusCode::OK
        );
        // The code works once; the cookie nowhere but on its own name.
        let r = c
            .get(&sign_in)
            .header(HOST, &own_host)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
        for other in [
            format!("127.0.0.1:{port}"),
            format!("localhost:{port}"),
            format!("x.localhost:{port}"),
        ] {
            assert_eq!(
                as_page(other.clone()).await.unwrap().status(),
                StatusCode::UNAUTHORIZED,
                "{other}"
            );
        }
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

        // DNS rebinding: a foreign name for 127.0.0.1 is refused even with the token.
        for host in ["evil.example", "127.0.0.1.nip.io", "localhost.evil.example"] {
            let r = c
                .get(base)
                .header(HOST, format!("{host}:{port}"))
                .header(TOKEN, &server.token)
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), StatusCode::MISDIRECTED_REQUEST, "{host}");
        }

        // State changes need the CSRF token (header or form field), and a same-origin caller.
        let add = serde_json::json!({ "links": ["https://1fichier.com/?abcdefghij"] });
        let r = c
            .post(format!("{base}api/add"))
            .header(TOKEN, &server.token)
            .json(&add)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::FORBIDDEN);
        let r = c
            .post(format!("{base}add"))
            .header(TOKEN, &server.token)
            .form(&[("links", "https://1fichier.com/?abcdefghij")])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::FORBIDDEN);
        let token = csrf(&server).await;
        let r = c
            .post(format!("{base}api/add"))
            .header(TOKEN, &server.token)
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
            .header(TOKEN, &server.token)
            .header("x-csrf-token", &token)
            .json(&add)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::OK);
        let r = c
            .post(format!("{base}add"))
            .header(TOKEN, &server.token)
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
                .header(TOKEN, &server.token)
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
    let old = server.token.clone();
    let (_, fresh) = mint(&env, &server);
    env.rt.block_on(async {
        let r = http()
            .get(&server.base)
            .header(TOKEN, old)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
        let r = http()
            .get(&server.base)
            .header(TOKEN, fresh)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::OK);
    });
    // kill -9 leaves the address file behind: the next link comes with a warning.
    drop(server);
    let out = env.run(&["dashboard", "--no-open"]);
    assert!(out.ok().contains("login?code="));
    assert!(out.stderr.contains("is not running"), "{}", out.stderr);
    std::fs::remove_file(data_dir(&env).join("dashboard.json")).unwrap();
    let out = env.run(&["dashboard", "--no-open"]);
    assert!(
        out.ok().starts_with("http://127.0.0.1:9667/login?code="),
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
fn dashboard_and_click_n_load_close_connections_that_trickle_their_headers() {
    use std::io::{Read as _, Write as _};
    let env = Env::logged_in();
    let server = start_dashboard(&env, &env.root().join("dl"));
    let port = super::port_of(&server);
    let started = std::time::Instant::now();
    let mut held = Vec::new();
    for addr in [format!("127.0.0.1:{port}"), server.cnl.to_string()] {
        let mut s = std::net::TcpStream::connect(&addr).unwrap();
        s.write_all(b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n")
            .unwrap();
        held.push((addr, s));
    }
    // A header line every 2 s: never a whole request.
    let mut closed = vec![false; held.len()];
    for _ in 0..15 {
        std::thread::sleep(std::time::Duration::from_secs(2));
        for (i, (_, s)) in held.iter_mut().enumerate() {
            if closed[i] {
                continue;
            }
            s.set_read_timeout(Some(std::time::Duration::from_millis(10)))
                .unwrap();
            let mut buf = [0u8; 256];
            let gone = matches!(s.read(&mut buf), Ok(0)) || s.write_all(b"X-Slow: 1\r\n").is_err();
            closed[i] = gone;
        }
        if closed.iter().all(|c| *c) {
            break;
        }
    }
    for ((addr, _), c) in held.iter().zip(&closed) {
        assert!(c, "{addr} kept a connection trickling headers for 30 s");
    }
    assert!(started.elapsed() < std::time::Duration::from_secs(25));
    // The dashboard still answers.
    env.rt.block_on(async {
        assert_eq!(get(&server, "api/csrf").await.status(), StatusCode::OK);
    });
}
