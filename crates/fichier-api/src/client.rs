//! `Client` and its builder: configuration (base URL, key, timeouts, user agent, pacer, retry
//! policy) and the one request path every API call goes through (pace, send, classify, retry,
//! check-before-resend for mutations).

use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use reqwest::header::{CONTENT_TYPE, HeaderValue};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;
use tracing::Instrument;
use url::Url;

use crate::error::{Error, Result, classify};
use crate::key::ApiKey;
use crate::pacer::{Clock, Pacer, PacerConfig, Window};
use crate::retry::{AttemptLoop, Next, RetryPolicy};

/// The real service's API base.
pub const DEFAULT_API_URL: &str = "https://api.1fichier.com/v1/";
/// The real service's website (public shared folders live there).
pub const DEFAULT_WEBSITE_URL: &str = "https://1fichier.com/";
/// The user agent sent by default.
pub const DEFAULT_USER_AGENT: &str = concat!("fichier/", env!("CARGO_PKG_VERSION"));

/// Builds a [`Client`]. Every setting has a sensible default; only the key is usually set.
#[derive(Debug, Clone)]
pub struct ClientBuilder {
    api_url: String,
    website_url: Option<String>,
    key: Option<ApiKey>,
    pacer: Option<Pacer>,
    pacer_config: PacerConfig,
    clock: Option<Arc<dyn Clock>>,
    retry: RetryPolicy,
    connect_timeout: Duration,
    request_timeout: Duration,
    read_timeout: Duration,
    user_agent: String,
    use_env_proxy: bool,
    fresh: bool,
}

impl Default for ClientBuilder {
    fn default() -> Self {
        ClientBuilder {
            api_url: DEFAULT_API_URL.to_owned(),
            website_url: None,
            key: None,
            pacer: None,
            pacer_config: PacerConfig::default(),
            clock: None,
            retry: RetryPolicy::default(),
            connect_timeout: Duration::from_secs(20),
            request_timeout: Duration::from_secs(60),
            read_timeout: Duration::from_secs(120),
            user_agent: DEFAULT_USER_AGENT.to_owned(),
            use_env_proxy: true,
            fresh: false,
        }
    }
}

impl ClientBuilder {
    /// A builder with the defaults (real service, 500 ms gap, no key).
    pub fn new() -> Self {
        Self::default()
    }

    /// API base URL (default `https://api.1fichier.com/v1/`). Must be `https://`, except for
    /// loopback hosts (`127.0.0.1`, `::1`, `localhost`) where `http://` is accepted.
    pub fn api_url(mut self, url: impl Into<String>) -> Self {
        self.api_url = url.into();
        self
    }

    /// Website base used for public shared folders (`/dir/<id>?json=1`). Default:
    /// `https://1fichier.com/` for the real API, the API URL's origin otherwise (emulator).
    pub fn website_url(mut self, url: impl Into<String>) -> Self {
        self.website_url = Some(url.into());
        self
    }

    /// The API key. Calls needing one fail with [`Error::NotAuthenticated`] without it.
    pub fn api_key(mut self, key: ApiKey) -> Self {
        self.key = Some(key);
        self
    }

    /// Minimum gap between API calls (default 500 ms).
    pub fn min_gap(mut self, gap: Duration) -> Self {
        self.pacer_config.min_gap = gap;
        self
    }

    /// Replaces every pacer setting.
    pub fn pacer_config(mut self, config: PacerConfig) -> Self {
        self.pacer_config = config;
        self
    }

    /// Shares the call budget with other processes through this state file (one per key).
    pub fn pacer_state_file(mut self, path: impl Into<PathBuf>) -> Self {
        self.pacer_config.state_file = Some(path.into());
        self
    }

    /// Uses an existing pacer (shared with other clients of the same key). Overrides
    /// `min_gap`, `pacer_config`, `pacer_state_file` and `clock`.
    pub fn pacer(mut self, pacer: Pacer) -> Self {
        self.pacer = Some(pacer);
        self
    }

    /// The clock of the pacer and retry delays (tests inject one).
    pub fn clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = Some(clock);
        self
    }

    /// Retry policy (default: 4 attempts, 1 s doubling, 2 flood cooldowns).
    pub fn retry_policy(mut self, policy: RetryPolicy) -> Self {
        self.retry = policy;
        self
    }

    /// TCP/TLS connect timeout (default 20 s).
    pub fn connect_timeout(mut self, t: Duration) -> Self {
        self.connect_timeout = t;
        self
    }

    /// Total timeout of one JSON API call (default 60 s). Transfers are not bounded in total.
    pub fn request_timeout(mut self, t: Duration) -> Self {
        self.request_timeout = t;
        self
    }

    /// Longest silence between two reads of a transfer (default 120 s).
    pub fn read_timeout(mut self, t: Duration) -> Self {
        self.read_timeout = t;
        self
    }

    /// User agent (default `fichier/<version>`).
    pub fn user_agent(mut self, ua: impl Into<String>) -> Self {
        self.user_agent = ua.into();
        self
    }

    /// Whether to honour `HTTPS_PROXY`/`HTTP_PROXY`/`ALL_PROXY`/`NO_PROXY` (default true;
    /// always off for a loopback API URL).
    pub fn env_proxy(mut self, on: bool) -> Self {
        self.use_env_proxy = on;
        self
    }

    /// Fresh listings (default false): listings are never answered from the cache (this
    /// process's or the one shared with the user's other processes); the client waits for the
    /// listing window when one applies and asks the service. Answers still refresh the cache.
    pub fn fresh(mut self, on: bool) -> Self {
        self.fresh = on;
        self
    }

    /// Validates the settings and builds the client.
    pub fn build(self) -> Result<Client> {
        let api_base = parse_base(&self.api_url, "API URL")?;
        let website_base = match &self.website_url {
            Some(u) => parse_base(u, "website URL")?,
            None if api_base.host_str() == Some("api.1fichier.com") => {
                Url::parse(DEFAULT_WEBSITE_URL).expect("constant URL")
            }
            None => {
                let mut u = api_base.clone();
                u.set_path("/");
                u.set_query(None);
                u
            }
        };
        let ua = HeaderValue::from_str(&self.user_agent).map_err(|_| {
            Error::invalid_input("the user agent contains characters not allowed in an HTTP header")
        })?;
        let mut http = reqwest::Client::builder()
            .user_agent(ua)
            .connect_timeout(self.connect_timeout)
            .read_timeout(self.read_timeout)
            // upload.cgi answers 302 to end.pl; the flow handles it, never blindly follows it.
            .redirect(reqwest::redirect::Policy::none());
        // Loopback (the emulator) never goes through a proxy.
        if !self.use_env_proxy || is_loopback_url(&api_base) {
            http = http.no_proxy();
        }
        let http = http
            .build()
            .map_err(|e| Error::transport("client setup", e))?;
        let pacer = match self.pacer {
            Some(p) => p,
            None => match self.clock.clone() {
                Some(c) => Pacer::with_clock(self.pacer_config, c),
                None => Pacer::new(self.pacer_config),
            },
        };
        let clock = self
            .clock
            .unwrap_or_else(|| Arc::new(crate::pacer::TokioClock::default()));
        Ok(Client {
            inner: Arc::new(Inner {
                http,
                api_base,
                website_base,
                key: self.key,
                pacer,
                clock,
                retry: self.retry,
                request_timeout: self.request_timeout,
                fresh: self.fresh,
            }),
        })
    }
}

/// Whether a URL's host is a loopback host (`127.0.0.0/8`, `::1`, `localhost`): the only
/// hosts plain `http://` is accepted for.
pub fn is_loopback_url(url: &Url) -> bool {
    match url.host() {
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        None => false,
    }
}

/// The API URL rule, the one the client applies to its base URL: `https://` anywhere, plain
/// `http://` only for loopback hosts (the emulator), a host required, and a trailing slash
/// added to the path. A CLI can check a user's URL with it before building a client.
pub fn parse_api_url(raw: &str) -> Result<Url> {
    parse_base(raw, "API URL")
}

/// Parses a base URL (`what` names it in errors) by the API URL rule.
pub(crate) fn parse_base(raw: &str, what: &str) -> Result<Url> {
    let mut url = Url::parse(raw.trim()).map_err(|e| {
        Error::invalid_input(format!("the {what} {raw:?} is not a valid URL ({e})"))
    })?;
    if url.host().is_none() {
        return Err(Error::invalid_input(format!(
            "the {what} {raw:?} has no host"
        )));
    }
    match url.scheme() {
        "https" => {}
        "http" if is_loopback_url(&url) => {}
        "http" => {
            return Err(Error::invalid_input(format!(
                "the {what} {raw:?} uses plain http: only https is allowed, except for \
                 loopback hosts such as http://127.0.0.1:PORT (the emulator)"
            )));
        }
        other => {
            return Err(Error::invalid_input(format!(
                "the {what} {raw:?} has scheme {other:?}; use https://"
            )));
        }
    }
    if !url.path().ends_with('/') {
        let p = format!("{}/", url.path());
        url.set_path(&p);
    }
    Ok(url)
}

/// A 1fichier API client. Cheap to clone; clones share the connection pool and the pacer.
///
/// See the crate docs for the list of calls.
#[derive(Clone)]
pub struct Client {
    pub(crate) inner: Arc<Inner>,
}

pub(crate) struct Inner {
    pub(crate) http: reqwest::Client,
    pub(crate) api_base: Url,
    pub(crate) website_base: Url,
    pub(crate) key: Option<ApiKey>,
    pub(crate) pacer: Pacer,
    pub(crate) clock: Arc<dyn Clock>,
    pub(crate) retry: RetryPolicy,
    pub(crate) request_timeout: Duration,
    /// Listings are always fetched live (see [`ClientBuilder::fresh`]).
    pub(crate) fresh: bool,
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Client")
            .field("api_base", &self.inner.api_base.as_str())
            .field("website_base", &self.inner.website_base.as_str())
            .field("key", &self.inner.key)
            .field("pacer", &self.inner.pacer)
            .field("retry", &self.inner.retry)
            .finish()
    }
}

/// Whether a call changes state (mutations are never blindly re-sent).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Read,
    Mutation,
}

/// Static description of an endpoint.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Ep {
    pub(crate) path: &'static str,
    pub(crate) kind: Kind,
    pub(crate) auth: bool,
    /// A `KO` answer with HTTP 200 is a normal answer (file/scan, vouchers/check).
    pub(crate) ko_is_answer: bool,
}

impl Ep {
    pub(crate) const fn read(path: &'static str) -> Ep {
        Ep {
            path,
            kind: Kind::Read,
            auth: true,
            ko_is_answer: false,
        }
    }
    pub(crate) const fn mutation(path: &'static str) -> Ep {
        Ep {
            path,
            kind: Kind::Mutation,
            auth: true,
            ko_is_answer: false,
        }
    }
}

/// Pacer rules for one call: its window and cache lifetime.
#[derive(Debug, Clone, Default)]
pub(crate) struct Rules {
    pub(crate) window: Option<Window>,
    pub(crate) cache_ttl: Duration,
}

/// Outcome of checking the service's state after an ambiguous mutation failure.
#[derive(Debug)]
pub(crate) enum Check<R> {
    /// The mutation is visible: here is the equivalent answer.
    Applied(R),
    /// The mutation is not visible: re-sending is safe.
    NotApplied,
    /// Cannot tell.
    Unknown,
}

impl Client {
    /// Starts a builder.
    pub fn builder() -> ClientBuilder {
        ClientBuilder::new()
    }

    /// A client for the real service with this key and default settings.
    pub fn new(key: ApiKey) -> Result<Client> {
        ClientBuilder::new().api_key(key).build()
    }

    /// The API base URL in use.
    pub fn api_url(&self) -> &str {
        self.inner.api_base.as_str()
    }

    /// The pacer (shared by every call of this client and its clones).
    pub fn pacer(&self) -> &Pacer {
        &self.inner.pacer
    }

    /// Whether a key is configured.
    pub fn has_key(&self) -> bool {
        self.inner.key.is_some()
    }

    /// The retry policy of this client.
    pub fn retry_policy(&self) -> &RetryPolicy {
        &self.inner.retry
    }

    /// A fresh attempt loop for one call of the caller's own (the client's policy, on the
    /// pacer's clock): attempts and the policy's time limit bound it.
    pub fn attempts(&self) -> AttemptLoop {
        AttemptLoop::new(self.inner.retry.clone(), self.inner.clock.clone())
    }

    /// A fresh attempt loop for a transfer (a file, a segment), bounded by attempts only.
    pub fn transfer_attempts(&self) -> AttemptLoop {
        AttemptLoop::for_transfer(self.inner.retry.clone(), self.inner.clock.clone())
    }

    /// Redacts the key from a text (bodies kept in errors).
    pub(crate) fn redact(&self, text: &str) -> String {
        match &self.inner.key {
            Some(k) if k.occurs_in(text) => k.redact(text),
            _ => text.to_owned(),
        }
    }

    pub(crate) fn redact_bytes(&self, body: &[u8]) -> Vec<u8> {
        self.redact(&String::from_utf8_lossy(body)).into_bytes()
    }

    /// Typed call: serialise, go through [`Client::call_value`], decode.
    pub(crate) async fn call<Req: Serialize + ?Sized, Resp: DeserializeOwned>(
        &self,
        ep: Ep,
        body: &Req,
        rules: Rules,
    ) -> Result<Resp> {
        let value = self.call_value(ep, body, rules).await?;
        self.decode(ep.path, value)
    }

    pub(crate) fn decode<Resp: DeserializeOwned>(&self, what: &str, value: Value) -> Result<Resp> {
        match serde_json::from_value::<Resp>(value.clone()) {
            Ok(r) => Ok(r),
            Err(e) => {
                let body = serde_json::to_vec(&value).unwrap_or_default();
                Err(Error::protocol(
                    what,
                    format!("answer has an unexpected shape: {e}"),
                    &self.redact_bytes(&body),
                ))
            }
        }
    }

    /// The request path of every JSON API call: cache, pace, send, classify, retry.
    /// Mutations come back with their ambiguous failures un-retried (see [`Client::mutate`]).
    pub(crate) async fn call_value<Req: Serialize + ?Sized>(
        &self,
        ep: Ep,
        body: &Req,
        rules: Rules,
    ) -> Result<Value> {
        let body = serde_json::to_vec(body)
            .map_err(|e| Error::invalid_input(format!("cannot encode the request: {e}")))?;
        let cache_key = format!("{}|{}", ep.path, String::from_utf8_lossy(&body));
        let listing = crate::listing_cache::key_info(&cache_key);
        let use_cache = !(self.inner.fresh && listing.is_some());
        if use_cache
            && let Some((hit, age)) = self.inner.pacer.cached(&cache_key, rules.cache_ttl).await
            && let Ok(v) = serde_json::from_slice::<Value>(&hit)
        {
            match &listing {
                Some(l) => tracing::info!(
                    endpoint = ep.path,
                    folder = l.folder,
                    age_s = age.as_secs(),
                    "listing of folder {} from cache, {} s old",
                    l.folder,
                    age.as_secs()
                ),
                None => tracing::debug!(
                    endpoint = ep.path,
                    age_s = age.as_secs(),
                    "answered from the pacer cache, {} s old",
                    age.as_secs()
                ),
            }
            return Ok(v);
        }
        let mut attempts = self.attempts();
        loop {
            let attempt = attempts.start();
            let stamp = self
                .inner
                .pacer
                .acquire_window(ep.path, rules.window.as_ref())
                .await?;
            let outcome = self.send_json(ep, &body).await;
            let err = match outcome {
                Ok(value) => {
                    self.inner.pacer.on_success().await;
                    if ep.kind == Kind::Read && !rules.cache_ttl.is_zero() {
                        let bytes = serde_json::to_vec(&value).unwrap_or_default();
                        self.inner
                            .pacer
                            .store(&cache_key, rules.cache_ttl, bytes)
                            .await;
                    }
                    return Ok(value);
                }
                Err(Error::FloodLocked { message, .. }) => {
                    let retry_after = self.inner.pacer.on_flood().await;
                    Error::FloodLocked {
                        message,
                        retry_after,
                    }
                }
                Err(e) => {
                    // Nothing reached the service: the window it took is given back.
                    if e.never_sent()
                        && let Some(stamp) = stamp
                    {
                        self.inner.pacer.release(stamp).await;
                    }
                    e
                }
            };
            // Reads may be re-sent after anything temporary; mutations only when the failure
            // proves nothing was applied (connect errors, `KO` answers).
            let may_resend = !(ep.kind == Kind::Mutation && err.is_ambiguous());
            match attempts.after(err, may_resend) {
                Next::Retry(delay, e) => {
                    if let Error::FloodLocked { retry_after, .. } = &e {
                        tracing::warn!(
                            endpoint = ep.path,
                            attempt,
                            delay_s = retry_after.as_secs_f64(),
                            "retrying after the flood cooldown ({e})"
                        );
                    } else {
                        tracing::warn!(
                            endpoint = ep.path,
                            attempt,
                            delay_ms = delay.as_millis() as u64,
                            "retrying: {e}"
                        );
                    }
                    // After a flood the pacer holds the next acquire until the cooldown ends.
                    attempts.sleep(delay).await;
                }
                Next::Stop(e) => {
                    // An ambiguous mutation failure goes back un-annotated to `mutate`,
                    // which checks the account and counts its own attempts.
                    return Err(e);
                }
            }
        }
    }

    /// Runs a mutation; after an ambiguous failure (timeout, reset, 5xx) asks `check` whether
    /// the service applied it, and re-sends only when it clearly did not.
    pub(crate) async fn mutate<Req, Resp, F, Fut>(
        &self,
        ep: Ep,
        body: &Req,
        check: F,
    ) -> Result<Resp>
    where
        Req: Serialize + ?Sized,
        Resp: DeserializeOwned,
        // A plain closure returning a future (not an async closure): keeps the futures `Send`.
        F: Fn() -> Fut,
        Fut: std::future::Future<Output = Result<Check<Resp>>>,
    {
        let mut attempts = self.attempts();
        loop {
            let attempt = attempts.start();
            match self.call(ep, body, Rules::default()).await {
                Ok(r) => return Ok(r),
                Err(e) if e.is_ambiguous() => {
                    tracing::warn!(
                        endpoint = ep.path,
                        attempt,
                        "ambiguous failure ({e}); checking the account before any re-send"
                    );
                    match check().await {
                        Ok(Check::Applied(r)) => {
                            tracing::info!(
                                endpoint = ep.path,
                                "the change is visible: it was applied"
                            );
                            return Ok(r);
                        }
                        Ok(Check::NotApplied) => match attempts.after(e, true) {
                            Next::Retry(delay, _) => {
                                tracing::warn!(
                                    endpoint = ep.path,
                                    attempt,
                                    delay_ms = delay.as_millis() as u64,
                                    "retrying: the change is not visible, re-sending is safe"
                                );
                                attempts.sleep(delay).await;
                            }
                            Next::Stop(e) => return Err(e),
                        },
                        Ok(Check::Unknown) | Err(_) => {
                            return Err(Error::OutcomeUnknown {
                                endpoint: ep.path,
                                source: Box::new(attempts.finish(e)),
                            });
                        }
                    }
                }
                Err(e) => return Err(e),
            }
        }
    }

    /// One POST of a JSON body; returns the decoded success object or the classified error.
    async fn send_json(&self, ep: Ep, body: &[u8]) -> Result<Value> {
        let url = self
            .inner
            .api_base
            .join(ep.path)
            .map_err(|e| Error::invalid_input(format!("bad endpoint path {}: {e}", ep.path)))?;
        let mut req = self
            .inner
            .http
            .post(url)
            .header(CONTENT_TYPE, "application/json")
            .timeout(self.inner.request_timeout)
            .body(body.to_vec());
        if ep.auth {
            req = self.authorized(req)?;
        }
        let span = tracing::debug_span!("api_call", endpoint = ep.path);
        let (status, bytes) = async {
            let resp = req.send().await.map_err(|e| Error::transport(ep.path, e))?;
            let status = resp.status().as_u16();
            let bytes = resp
                .bytes()
                .await
                .map_err(|e| Error::transport(ep.path, e))?;
            Ok::<_, Error>((status, bytes))
        }
        .instrument(span)
        .await?;
        tracing::debug!(endpoint = ep.path, status, "api answer");
        self.decode_envelope(ep, status, &bytes)
    }

    /// Adds the key's `Authorization` header (through [`ApiKey::authorize`]).
    pub(crate) fn authorized(
        &self,
        req: reqwest::RequestBuilder,
    ) -> Result<reqwest::RequestBuilder> {
        match &self.inner.key {
            Some(k) => Ok(k.authorize(req)),
            None => Err(Error::NotAuthenticated {
                message: crate::error::ServiceMessage {
                    text: "no API key configured".into(),
                    code: None,
                    http_status: 0,
                },
            }),
        }
    }

    /// Decodes the OK/KO envelope; KO and error statuses go through [`classify`].
    pub(crate) fn decode_envelope(&self, ep: Ep, status: u16, bytes: &[u8]) -> Result<Value> {
        let parsed: Option<Value> = serde_json::from_slice(bytes).ok();
        let redacted = || self.redact_bytes(bytes);
        let Some(value) = parsed else {
            if (200..300).contains(&status) {
                return Err(Error::protocol_transient(
                    ep.path,
                    "answer is not JSON",
                    &redacted(),
                ));
            }
            return Err(with_endpoint(classify(status, None, &redacted()), ep.path));
        };
        let (is_ko, message) = match &value {
            Value::Object(map) => {
                let st = map
                    .get("status")
                    .or_else(|| map.get("Status"))
                    .and_then(Value::as_str);
                let msg = map
                    .get("message")
                    .or_else(|| map.get("Message"))
                    .and_then(Value::as_str);
                (st.is_some_and(|s| s.eq_ignore_ascii_case("KO")), msg)
            }
            _ => (false, None),
        };
        if is_ko && ep.ko_is_answer && (200..300).contains(&status) {
            // Normal negative answer for this endpoint, unless it is one of the general errors.
            let err = classify(status, message, &redacted());
            return match err {
                Error::Rejected { .. } | Error::InvalidInput { .. } | Error::Protocol { .. } => {
                    Ok(value)
                }
                other => Err(other),
            };
        }
        if is_ko || !(200..300).contains(&status) {
            return Err(with_endpoint(
                classify(status, message, &redacted()),
                ep.path,
            ));
        }
        Ok(value)
    }
}

fn with_endpoint(err: Error, endpoint: &str) -> Error {
    match err {
        Error::Protocol {
            endpoint: e,
            what,
            excerpt,
            transient,
            attempts,
        } if e.is_empty() => Error::Protocol {
            endpoint: endpoint.to_owned(),
            what,
            excerpt,
            transient,
            attempts,
        },
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base_url_rules() {
        assert!(
            parse_base("https://api.1fichier.com/v1", "API URL")
                .unwrap()
                .as_str()
                .ends_with("/v1/")
        );
        assert!(parse_base("http://127.0.0.1:8080/v1/", "API URL").is_ok());
        assert!(parse_base("http://localhost:8080/v1/", "API URL").is_ok());
        assert!(parse_base("http://[::1]:8080/v1/", "API URL").is_ok());
        let err = parse_base("http://api.1fichier.com/v1/", "API URL").unwrap_err();
        assert!(err.to_string().contains("only https"), "{err}");
        assert!(parse_base("ftp://x/", "API URL").is_err());
        assert!(parse_api_url("http://LOCALHOST:1/v1").is_ok());
        assert!(parse_base("not a url", "API URL").is_err());
    }
}
