//! The real binary against an API URL where nothing listens: it must fail within seconds
//! with the network hint, and the calls that never reached a server must take no rate window
//! (issue: an unreachable API took 90 s to fail, waiting for listing windows between retries).

use std::time::{Duration, Instant};

use crate::harness::Env;

/// A loopback port with nothing listening: bound, read, released.
fn closed_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap().port()
}

#[test]
fn an_unreachable_api_fails_fast_with_the_network_hint() {
    let mut env = Env::logged_in();
    // The real pacer (documented windows, shared state file), as a user runs it.
    env.env.push(("FICHIER_TEST_PACER".into(), "0".into()));
    let url = format!("http://127.0.0.1:{}/v1/", closed_port());
    env.env.push(("FICHIER_API_URL".into(), url));
    for _ in 0..2 {
        let started = Instant::now();
        let out = env.run(&["ls", "/"]);
        let took = started.elapsed();
        assert_eq!(out.code, 2, "{}", out.stderr);
        assert!(
            out.stderr.contains("cannot reach 1fichier"),
            "{}",
            out.stderr
        );
        assert!(
            out.stderr.contains("hint: check the network connection"),
            "{}",
            out.stderr
        );
        assert!(out.stderr.contains("attempts over"), "{}", out.stderr);
        assert!(
            took < Duration::from_secs(8),
            "took {took:?}: {}",
            out.stderr
        );
    }
}
