//! The real binary against an API URL where nothing listens: it must fail within seconds
//! with the network hint, and the calls that never reached a server must take no rate window
//! (issue: an unreachable API took 90 s to fail, waiting for listing windows between retries).

use std::time::{Duration, Instant};

use crate::harness::Env;

#[test]
fn an_unreachable_api_fails_fast_with_the_network_hint() {
    let mut env = Env::logged_in();
    // The real pacer (documented windows, shared state file), as a user runs it.
    env.env.push(("FICHIER_TEST_PACER".into(), "0".into()));
    // Held closed for the whole test: a released port could be taken by a parallel test.
    let closed = fichier_testkit::ClosedPort::new();
    env.env.push(("FICHIER_API_URL".into(), closed.api_url()));
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
