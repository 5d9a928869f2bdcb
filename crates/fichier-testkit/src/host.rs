//! What a test may assume about the machine it runs on: whether this is CI (where a test that
//! cannot run must fail, never pass as skipped), and loopback ports held closed for tests of an
//! unreachable service (rather than a port guessed to be unused).

use std::net::SocketAddr;

/// Whether the `CI` environment variable says this is a CI run: set, and not empty, `false`
/// or `0` (what GitHub Actions, GitLab CI and `.ci/run` set).
pub fn on_ci() -> bool {
    ci_means_on(std::env::var("CI").ok().as_deref())
}

fn ci_means_on(value: Option<&str>) -> bool {
    value
        .map(str::trim)
        .is_some_and(|v| !v.is_empty() && v != "0" && !v.eq_ignore_ascii_case("false"))
}

/// For a test that cannot run here (a tool it drives is missing): under [`on_ci`] the test
/// fails with `reason`; elsewhere this says `SKIPPED: reason` on stderr and returns, and the
/// caller returns at once. A test skipped on CI would report `ok` for behaviour never checked.
#[track_caller]
pub fn cannot_run(reason: &str) {
    assert!(!on_ci(), "this test cannot run, and CI is set: {reason}");
    eprintln!("SKIPPED: {reason} (with CI=true this fails)");
}

/// A loopback port that refuses connections for as long as this value lives: the socket is
/// bound, so no other process can take the port, but it never listens.
#[derive(Debug)]
pub struct ClosedPort {
    _socket: tokio::net::TcpSocket,
    addr: SocketAddr,
}

impl ClosedPort {
    /// Binds `127.0.0.1:0` without listening.
    pub fn new() -> ClosedPort {
        let socket = tokio::net::TcpSocket::new_v4().expect("create a TCP socket");
        socket
            .bind(SocketAddr::from(([127, 0, 0, 1], 0)))
            .expect("bind a loopback port");
        let addr = socket.local_addr().expect("the bound address");
        ClosedPort {
            _socket: socket,
            addr,
        }
    }

    /// `127.0.0.1:PORT`.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://127.0.0.1:PORT/v1/`: an API URL where nothing answers.
    pub fn api_url(&self) -> String {
        format!("http://{}/v1/", self.addr)
    }
}

impl Default for ClosedPort {
    fn default() -> Self {
        ClosedPort::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ci_is_on_unless_unset_empty_false_or_zero() {
        for on in ["true", "1", "yes", "TRUE"] {
            assert!(ci_means_on(Some(on)), "{on}");
        }
        for off in [
            None,
            Some(""),
            Some(" "),
            Some("0"),
            Some("false"),
            Some("False"),
        ] {
            assert!(!ci_means_on(off), "{off:?}");
        }
    }

    #[test]
    fn a_closed_port_refuses_connections_while_held() {
        let port = ClosedPort::new();
        let err = std::net::TcpStream::connect(port.addr()).unwrap_err();
        assert_eq!(err.kind(), std::io::ErrorKind::ConnectionRefused);
        // Held: nobody else can listen on it meanwhile.
        assert!(std::net::TcpListener::bind(port.addr()).is_err());
    }
}
