//! One connection policy for every listener fichier runs (the emulator, the dashboard and
//! the Click'n'Load receiver): a header timeout, a minimum request-body rate, a cap on open
//! connections ([`Policy`], applied by [`serve`]), and the rule that says which `Host` names
//! a loopback server ([`is_loopback_host`]).
//!
//! A client that trickles its headers or its body would otherwise hold a task and a socket
//! for as long as it likes; enough of them exhaust file descriptors and lock everyone out.

use std::future::Future;
use std::net::IpAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::Router;
use axum::extract::ConnectInfo;
use bytes::Bytes;
use http_body::{Body, Frame, SizeHint};
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tokio::task::JoinSet;
use tokio::time::{Instant, Sleep};
use tower::ServiceExt as _;

/// How long a connection may take to send what it must.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Policy {
    /// Time to send a request's headers (and the TLS handshake); a kept-alive connection
    /// left idle this long is closed too.
    pub header_timeout: Duration,
    /// Every window of `body_window` must bring at least `body_min_rate` bytes per second of
    /// a request body that is still coming.
    pub body_min_rate: u64,
    /// See `body_min_rate`.
    pub body_window: Duration,
    /// Open connections at most; past it, clients wait in the listen backlog (no socket or
    /// task is spent on them, so `accept` never runs out of file descriptors).
    pub max_connections: usize,
}

impl Default for Policy {
    /// Suits a local web page or a test client: 10 s for headers, 1 KiB/s over 10 s for a
    /// body, 256 connections.
    fn default() -> Policy {
        Policy {
            header_timeout: Duration::from_secs(10),
            body_min_rate: 1024,
            body_window: Duration::from_secs(10),
            max_connections: 256,
        }
    }
}

/// Whether a `Host` header's name (port removed) names this machine's loopback without DNS:
/// `localhost`, one label under it (`abc.localhost`, which browsers and the system resolver
/// keep on loopback), or a loopback address literal. A DNS name that merely resolves to
/// 127.0.0.1 (DNS rebinding) is not one.
pub fn is_loopback_host(name: &str) -> bool {
    let name = name.to_ascii_lowercase();
    if name == "localhost" {
        return true;
    }
    if let Some(label) = name.strip_suffix(".localhost") {
        return !label.is_empty()
            && label.len() <= 63
            && label
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-');
    }
    let bare = name.trim_start_matches('[').trim_end_matches(']');
    bare.parse::<IpAddr>()
        .is_ok_and(|ip| ip.to_canonical().is_loopback())
}

/// Serves `router` on `listener` under `policy` (TLS first when `tls` is given) until
/// `shutdown` completes; open connections are closed then. Each request carries
/// [`ConnectInfo`] with the peer's address.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    policy: Policy,
    tls: Option<tokio_rustls::TlsAcceptor>,
    shutdown: impl Future<Output = ()> + Send,
) {
    tokio::select! {
        () = accept_loop(listener, router, policy, tls) => {}
        () = shutdown => {}
    }
}

async fn accept_loop(
    listener: TcpListener,
    router: Router,
    policy: Policy,
    tls: Option<tokio_rustls::TlsAcceptor>,
) {
    // Connections live in this set: leaving the loop drops it and closes them all.
    let mut conns = JoinSet::new();
    let slots = Arc::new(tokio::sync::Semaphore::new(policy.max_connections.max(1)));
    loop {
        let permit = tokio::select! {
            p = slots.clone().acquire_owned() => match p {
                Ok(p) => p,
                Err(_) => return,
            },
            Some(_) = conns.join_next(), if !conns.is_empty() => continue,
        };
        let (stream, peer) = tokio::select! {
            r = listener.accept() => match r {
                Ok(v) => v,
                Err(e) => {
                    tracing::warn!("accept failed: {e}");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            Some(_) = conns.join_next(), if !conns.is_empty() => continue,
        };
        let _ = stream.set_nodelay(true);
        let svc =
            router
                .clone()
                .map_request(move |req: axum::http::Request<hyper::body::Incoming>| {
                    let mut req = req.map(|b| axum::body::Body::new(MinRate::new(b, policy)));
                    req.extensions_mut().insert(ConnectInfo(peer));
                    req
                });
        let tls = tls.clone();
        conns.spawn(async move {
            let _permit = permit;
            let hyper_svc = TowerToHyperService::new(svc);
            let mut builder = hyper::server::conn::http1::Builder::new();
            builder
                .keep_alive(true)
                .max_buf_size(1 << 20)
                .timer(TokioTimer::new())
                .header_read_timeout(policy.header_timeout);
            let result = match tls {
                Some(acceptor) => {
                    match tokio::time::timeout(policy.header_timeout, acceptor.accept(stream)).await
                    {
                        Ok(Ok(s)) => builder.serve_connection(TokioIo::new(s), hyper_svc).await,
                        Ok(Err(e)) => {
                            tracing::debug!("TLS handshake with {peer} failed: {e}");
                            return;
                        }
                        Err(_) => {
                            tracing::debug!("TLS handshake with {peer} timed out");
                            return;
                        }
                    }
                }
                None => {
                    builder
                        .serve_connection(TokioIo::new(stream), hyper_svc)
                        .await
                }
            };
            if let Err(e) = result {
                tracing::debug!("connection from {peer} ended: {e}");
            }
        });
    }
}

/// A request body that fails once a window of [`Policy::body_window`] brings less than
/// [`Policy::body_min_rate`] bytes per second; the handler then sees a body error and the
/// connection closes. Data already received is always handed over first, so a handler that
/// was busy is never blamed on the client.
struct MinRate<B> {
    inner: B,
    need: u64,
    window: Duration,
    got: u64,
    deadline: Pin<Box<Sleep>>,
}

impl<B> MinRate<B> {
    fn new(inner: B, policy: Policy) -> MinRate<B> {
        MinRate {
            inner,
            need: policy
                .body_min_rate
                .saturating_mul(policy.body_window.as_secs().max(1)),
            window: policy.body_window,
            got: 0,
            deadline: Box::pin(tokio::time::sleep(policy.body_window)),
        }
    }
}

/// Why a request body was cut off.
#[derive(Debug)]
struct TooSlow(u64);

impl std::fmt::Display for TooSlow {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "request body slower than {} bytes per second", self.0)
    }
}

impl std::error::Error for TooSlow {}

impl<B> Body for MinRate<B>
where
    B: Body<Data = Bytes> + Unpin,
    B::Error: Into<axum::BoxError>,
{
    type Data = Bytes;
    type Error = axum::BoxError;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        let this = self.get_mut();
        match Pin::new(&mut this.inner).poll_frame(cx) {
            Poll::Ready(Some(Ok(frame))) => {
                if let Some(data) = frame.data_ref() {
                    this.got += data.len() as u64;
                    if this.got >= this.need {
                        this.got = 0;
                        let next = Instant::now() + this.window;
                        this.deadline.as_mut().reset(next);
                    }
                }
                Poll::Ready(Some(Ok(frame)))
            }
            Poll::Ready(Some(Err(e))) => Poll::Ready(Some(Err(e.into()))),
            Poll::Ready(None) => Poll::Ready(None),
            Poll::Pending => match this.deadline.as_mut().poll(cx) {
                Poll::Ready(()) => {
                    let rate = this.need / this.window.as_secs().max(1);
                    Poll::Ready(Some(Err(Box::new(TooSlow(rate)))))
                }
                Poll::Pending => Poll::Pending,
            },
        }
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_names_are_told_from_rebinding_names() {
        for ok in [
            "localhost",
            "LOCALHOST",
            "a1b2.localhost",
            "127.0.0.1",
            "127.8.9.1",
            "[::1]",
        ] {
            assert!(is_loopback_host(ok), "{ok}");
        }
        for bad in [
            "evil.example",
            "localhost.evil.example",
            "127.0.0.1.nip.io",
            "a.b.localhost",
            ".localhost",
            "192.168.1.5",
            "",
        ] {
            assert!(!is_loopback_host(bad), "{bad}");
        }
    }
}
