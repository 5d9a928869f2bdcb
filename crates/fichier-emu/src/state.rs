//! Shared state of a running emulator: [`App`] (store, config, limits, faults, log, tokens,
//! background tasks) and the download [`Token`]s it holds. Everything above reads it; it
//! imports nothing that serves requests.

use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;
use std::sync::{Mutex, RwLock, Weak};
use std::time::Instant;

use tokio::task::JoinSet;

use crate::error::EmuError;
use crate::faults::{FaultPlan, FaultState};
use crate::limits::{Limiter, Limits};
use crate::log::LoggedRequest;
use crate::model::{Config, DOMAINS};
use crate::store::Store;

/// A download token handed out by `download/get_token`.
#[derive(Debug, Clone)]
pub struct Token {
    /// File served.
    pub file_id: String,
    /// End of validity.
    pub expires: Instant,
    /// Only one GET allowed.
    pub single: bool,
    /// A GET already consumed a single-use token.
    pub used: bool,
    /// Serve inline instead of as an attachment.
    pub inline: bool,
}

/// The public base URL clients reach the emulator at (behind a TLS terminator, say).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublicBase {
    /// `http` or `https`.
    pub scheme: &'static str,
    /// `host` or `host:port`.
    pub host: String,
}

impl PublicBase {
    /// Read `scheme://host[:port]` (a trailing `/` allowed); anything else is refused with
    /// what to write instead.
    pub fn parse(text: &str) -> Result<PublicBase, EmuError> {
        let bad = |why: &str| {
            EmuError::Invalid(format!(
                "public URL {text:?} {why}: give scheme and host only, like https://emu.example:8443"
            ))
        };
        let u = url::Url::parse(text.trim()).map_err(|e| bad(&format!("is not a URL ({e})")))?;
        let scheme = match u.scheme() {
            "http" => "http",
            "https" => "https",
            _ => return Err(bad("must use http or https")),
        };
        if !u.username().is_empty() || u.password().is_some() {
            return Err(bad("must not carry credentials"));
        }
        if u.path() != "/" || u.query().is_some() || u.fragment().is_some() {
            return Err(bad("must not have a path, query or fragment"));
        }
        let host = u
            .host_str()
            .filter(|h| !h.is_empty())
            .ok_or_else(|| bad("has no host"))?;
        let host = match u.port() {
            Some(p) => format!("{host}:{p}"),
            None => host.to_string(),
        };
        Ok(PublicBase { scheme, host })
    }
}

/// State shared by every handler.
#[derive(Debug)]
pub struct App {
    /// Metadata and blobs.
    pub store: Store,
    /// Configuration given at start.
    pub config: Config,
    /// Current limits (changeable at run time).
    pub limits: RwLock<Limits>,
    /// Limiter windows and locks.
    pub limiter: Mutex<Limiter>,
    /// Fault plan and counters.
    pub faults: Mutex<FaultState>,
    /// Recent requests.
    pub log: Mutex<VecDeque<LoggedRequest>>,
    /// Live download tokens.
    pub tokens: Mutex<HashMap<String, Token>>,
    /// Bound address.
    pub addr: SocketAddr,
    /// `http` or `https`.
    pub scheme: &'static str,
    /// Scheme and `host[:port]` of [`Config::public_url`], when given.
    pub public: Option<PublicBase>,
    /// Background work (remote-upload jobs, watchers), stopped with the server.
    pub tasks: Mutex<JoinSet<()>>,
    /// HTTP client used by remote-upload jobs (loopback only).
    pub http: reqwest::Client,
    pub(crate) me: Weak<App>,
}

impl App {
    /// A weak handle to this state, for background tasks that must not keep it alive.
    pub fn self_ref(&self) -> Weak<App> {
        self.me.clone()
    }

    /// Host advertised as upload node.
    pub fn node_host(&self) -> String {
        self.config
            .node_host
            .clone()
            .or_else(|| self.public.as_ref().map(|p| p.host.clone()))
            .unwrap_or_else(|| self.addr.to_string())
    }

    /// Base of download token URLs, without trailing slash.
    pub fn download_base(&self) -> String {
        let host = self
            .config
            .download_host
            .clone()
            .or_else(|| self.public.as_ref().map(|p| p.host.clone()))
            .unwrap_or_else(|| self.addr.to_string());
        let scheme = self.public.as_ref().map_or(self.scheme, |p| p.scheme);
        format!("{scheme}://{host}/dl")
    }

    /// Public link of a file on its domain.
    pub fn file_url(domain: i64, id: &str) -> String {
        let d = DOMAINS
            .get(usize::try_from(domain).unwrap_or(0))
            .copied()
            .unwrap_or(DOMAINS[0]);
        format!("https://{d}/?{id}")
    }

    /// Spawn background work tied to the server's life.
    pub fn spawn(&self, fut: impl std::future::Future<Output = ()> + Send + 'static) {
        let mut t = self.tasks.lock().unwrap_or_else(|p| p.into_inner());
        // Reap finished tasks so the set does not grow without bound.
        while t.try_join_next().is_some() {}
        t.spawn(fut);
    }

    /// Reload the fault plan stored in the data dir by `fichier-emu faults load`, if changed.
    pub(crate) fn reload_stored_plan(&self, last: &mut Option<String>) {
        let stored = self.store.meta("fault_plan").ok().flatten();
        if stored != *last {
            let plan = stored
                .as_deref()
                .and_then(|t| FaultPlan::from_json(t).ok())
                .unwrap_or_default();
            self.faults
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .set(plan);
            *last = stored;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        /// Host and port come back as given; any text parses or is refused, no panic.
        #[test]
        fn public_base_round_trips(host in "[a-z][a-z0-9-]{0,10}(\\.[a-z]{2,5}){0,2}", port in 1u16.., https in any::<bool>(), junk in "\\PC{0,30}") {
            let scheme = if https { "https" } else { "http" };
            let p = PublicBase::parse(&format!("{scheme}://{host}:{port}")).unwrap();
            prop_assert_eq!(p.scheme, scheme);
            let default = if https { 443 } else { 80 };
            let want = if port == default { host.clone() } else { format!("{host}:{port}") };
            prop_assert_eq!(p.host, want);
            let _ = PublicBase::parse(&junk);
        }
    }

    #[test]
    fn public_base_takes_scheme_and_host_only() {
        let p = PublicBase::parse("https://emu.example:8443/").unwrap();
        assert_eq!((p.scheme, p.host.as_str()), ("https", "emu.example:8443"));
        let p = PublicBase::parse("http://[::1]").unwrap();
        assert_eq!((p.scheme, p.host.as_str()), ("http", "[::1]"));
        for bad in [
            "emu.example",
            "ftp://emu.example",
            "https://emu.example/api",
            "https://u:p@emu.example",
            "https://emu.example/?q=1",
        ] {
            let e = PublicBase::parse(bad).unwrap_err().to_string();
            assert!(e.contains("like https://emu.example:8443"), "{bad}: {e}");
        }
    }
}
