//! The pacer: one call budget shared by every API call of a client (and, through an optional
//! state file, by every process of one user), so the service's flood protection never trips.
//!
//! It enforces a minimum gap between calls, per-endpoint windows (`file/ls` of a folder at most
//! once per 30 s, `user/info` once per 5 min), serves answers from a cache (listings shared
//! with the other processes through the listing file beside the state file), and after a flood
//! answer stops everything for a cooldown (60 s, doubling, capped). Time comes from an
//! injectable [`Clock`], so tests run with paused tokio time. State read from the file that
//! points further ahead than the longest documented lock is treated as damaged and reset.

use std::collections::HashMap;
use std::fmt;
use std::future::Future;
use std::io::{Read, Seek, Write};
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};
use tokio::time::Instant;

use crate::error::{Error, Result};
use crate::listing_cache::{self, Edit, SharedListings, is_listing_key};

/// The longest lock the service is known to impose (reference §1.9: one hour). A wait read
/// from the state file further ahead than this is damaged state (a clock stepped back, a
/// hand-edited file), not a reason to hang.
pub(crate) const MAX_LOCK: Duration = Duration::from_secs(3600);

/// A source of time for the pacer. The default, [`TokioClock`], follows tokio's clock, so
/// `tokio::time::pause()` controls it in tests.
pub trait Clock: Send + Sync + fmt::Debug {
    /// The current monotonic instant.
    fn now(&self) -> Instant;
    /// Sleeps until `deadline`.
    fn sleep_until(&self, deadline: Instant) -> Pin<Box<dyn Future<Output = ()> + Send>>;
    /// The current wall-clock time (used only in the shared state file).
    fn wall_now(&self) -> SystemTime;
}

/// The default clock: tokio's `Instant` and `sleep_until`; wall time advances with it.
#[derive(Debug, Clone)]
pub struct TokioClock {
    base_instant: Instant,
    base_wall: SystemTime,
}

impl Default for TokioClock {
    fn default() -> Self {
        TokioClock {
            base_instant: Instant::now(),
            base_wall: SystemTime::now(),
        }
    }
}

impl Clock for TokioClock {
    fn now(&self) -> Instant {
        Instant::now()
    }
    fn sleep_until(&self, deadline: Instant) -> Pin<Box<dyn Future<Output = ()> + Send>> {
        Box::pin(tokio::time::sleep_until(deadline))
    }
    fn wall_now(&self) -> SystemTime {
        self.base_wall + Instant::now().saturating_duration_since(self.base_instant)
    }
}

/// Pacer settings. The defaults follow the documented limits with a margin.
#[derive(Debug, Clone)]
pub struct PacerConfig {
    /// Minimum gap between two API calls (default 500 ms; the documented pace is 3/s).
    pub min_gap: Duration,
    /// How long a `user/info` answer is reused, and the minimum interval between two real
    /// `user/info` calls (default 5 min).
    pub user_info_window: Duration,
    /// How long a folder listing (`file/ls`, `folder/ls` of one folder) is reused by this
    /// process and the others of the user (default 30 s), and the minimum interval between two
    /// real `file/ls` calls on the same folder (the documented rule; `folder/ls` has none).
    pub listing_window: Duration,
    /// Minimum interval between two whole-account listings (`file/ls` of folder -1; 1 h).
    pub all_files_window: Duration,
    /// Longest wait the pacer accepts for a window; above it the call fails with
    /// [`Error::Paced`] instead of sleeping (default 60 s).
    pub max_window_wait: Duration,
    /// First cooldown after a flood answer (default 60 s).
    pub flood_cooldown_start: Duration,
    /// Cap of the doubling cooldown (default 16 min).
    pub flood_cooldown_max: Duration,
    /// Optional JSON state file shared by every process using the same key, so they share
    /// one budget. Use one file per key (the library does not know which key it is for). It
    /// holds times, cooldowns, window keys and the last `user/info` answer (no secret).
    pub state_file: Option<PathBuf>,
}

impl Default for PacerConfig {
    fn default() -> Self {
        PacerConfig {
            min_gap: Duration::from_millis(500),
            user_info_window: Duration::from_secs(300),
            listing_window: Duration::from_secs(30),
            all_files_window: Duration::from_secs(3600),
            max_window_wait: Duration::from_secs(60),
            flood_cooldown_start: Duration::from_secs(60),
            flood_cooldown_max: Duration::from_secs(16 * 60),
            state_file: None,
        }
    }
}

impl PacerConfig {
    /// Settings for tests against a local emulator: a 1 ms gap, no windows, no caches,
    /// 50 ms flood cooldown. Never use against the real service.
    pub fn unthrottled() -> Self {
        PacerConfig {
            min_gap: Duration::from_millis(1),
            user_info_window: Duration::ZERO,
            listing_window: Duration::ZERO,
            all_files_window: Duration::ZERO,
            max_window_wait: Duration::from_secs(60),
            flood_cooldown_start: Duration::from_millis(50),
            flood_cooldown_max: Duration::from_millis(400),
            state_file: None,
        }
    }
}

/// A per-endpoint window: calls with the same `key` are spaced by `window`, and answers are
/// cached for that long when `cache` is set.
#[derive(Debug, Clone)]
pub(crate) struct Window {
    pub(crate) key: String,
    pub(crate) window: Duration,
}

#[derive(Debug)]
struct State {
    last_sent: Option<Instant>,
    cooldown_until: Option<Instant>,
    next_cooldown: Duration,
    windows: HashMap<String, Instant>,
    cache: HashMap<String, (Instant, Vec<u8>)>,
    calls_sent: u64,
    floods_seen: u64,
    /// Whether damaged state was already reported (once per pacer).
    reported_corrupt: bool,
}

/// What one `acquire` took from a window, so a call that never reached the service can give
/// it back (see [`Pacer::release`]).
#[derive(Debug, Clone)]
pub(crate) struct Stamp {
    key: String,
    at: Instant,
    previous: Option<Instant>,
}

/// The shared call budget. Cheap to clone (an `Arc` inside); clones share one budget.
#[derive(Clone)]
pub struct Pacer {
    inner: Arc<PacerInner>,
}

struct PacerInner {
    config: PacerConfig,
    clock: Arc<dyn Clock>,
    /// Held (never across an await) for every read or change of the state.
    state: std::sync::Mutex<State>,
    /// Held across the wait of `acquire`, so callers are served in order.
    queue: tokio::sync::Mutex<()>,
}

impl fmt::Debug for Pacer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Pacer")
            .field("config", &self.inner.config)
            .finish_non_exhaustive()
    }
}

/// What the state file holds (wall-clock times in ms since the Unix epoch).
#[derive(Debug, Default, Serialize, Deserialize)]
struct SharedState {
    #[serde(default)]
    last_sent_ms: u64,
    #[serde(default)]
    cooldown_until_ms: u64,
    #[serde(default)]
    next_cooldown_ms: u64,
    #[serde(default)]
    windows: HashMap<String, u64>,
    /// Answers shared between processes: only `user/info` (account e-mail, offer, quotas; no
    /// secret), whose 5-minute window would otherwise refuse a second process outright.
    #[serde(default)]
    answers: HashMap<String, SharedAnswer>,
}

#[derive(Debug, Serialize, Deserialize)]
struct SharedAnswer {
    at_ms: u64,
    body: String,
}

/// Whether an answer under this cache key is shared through the state file.
fn is_shared_answer(key: &str) -> bool {
    key.starts_with("user/info")
}

fn ms(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

impl Pacer {
    /// A pacer on tokio's clock.
    pub fn new(config: PacerConfig) -> Pacer {
        Pacer::with_clock(config, Arc::new(TokioClock::default()))
    }

    /// A pacer on a custom clock.
    pub fn with_clock(config: PacerConfig, clock: Arc<dyn Clock>) -> Pacer {
        let next_cooldown = config.flood_cooldown_start;
        Pacer {
            inner: Arc::new(PacerInner {
                config,
                clock,
                queue: tokio::sync::Mutex::new(()),
                state: std::sync::Mutex::new(State {
                    last_sent: None,
                    cooldown_until: None,
                    next_cooldown,
                    windows: HashMap::new(),
                    cache: HashMap::new(),
                    calls_sent: 0,
                    floods_seen: 0,
                    reported_corrupt: false,
                }),
            }),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        // A panic while holding the lock cannot leave the state inconsistent (plain fields).
        self.inner.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The settings.
    pub fn config(&self) -> &PacerConfig {
        &self.inner.config
    }

    /// Number of calls this pacer let through (for tests and statistics).
    pub async fn calls_sent(&self) -> u64 {
        self.lock().calls_sent
    }

    /// Number of flood answers this pacer was told about (for statistics).
    pub async fn floods_seen(&self) -> u64 {
        self.lock().floods_seen
    }

    /// Time left in the current flood cooldown, if one is running.
    pub async fn cooldown_remaining(&self) -> Option<Duration> {
        let mut st = self.lock();
        self.merge_file(&mut st);
        let now = self.inner.clock.now();
        st.cooldown_until.filter(|u| *u > now).map(|u| u - now)
    }

    /// Waits for the right to send one API call, then records it as sent.
    ///
    /// Waits for the minimum gap, any flood cooldown, and the endpoint's window (failing with
    /// [`Error::Paced`] when that would take longer than `max_window_wait`).
    pub async fn acquire(&self, endpoint: &'static str) -> Result<()> {
        self.acquire_window(endpoint, None).await.map(|_| ())
    }

    /// Like [`Pacer::acquire`], also taking `window`; returns what was taken from it.
    pub(crate) async fn acquire_window(
        &self,
        endpoint: &'static str,
        window: Option<&Window>,
    ) -> Result<Option<Stamp>> {
        let cfg = &self.inner.config;
        let _turn = self.inner.queue.lock().await;
        loop {
            // Decide under the state lock; sleep without it.
            let ready = {
                let mut st = self.lock();
                self.merge_file(&mut st);
                let now = self.inner.clock.now();
                let mut ready = now;
                if let Some(last) = st.last_sent {
                    ready = ready.max(last + cfg.min_gap);
                }
                if let Some(until) = st.cooldown_until {
                    ready = ready.max(until);
                }
                if let Some(w) = window
                    && let Some(last) = st.windows.get(&w.key)
                {
                    let allowed = *last + w.window;
                    if allowed > now && allowed - now > cfg.max_window_wait {
                        return Err(Error::Paced {
                            endpoint,
                            retry_after: allowed - now,
                        });
                    }
                    ready = ready.max(allowed);
                }
                if ready <= now {
                    st.last_sent = Some(now);
                    let stamp = window.map(|w| Stamp {
                        key: w.key.clone(),
                        at: now,
                        previous: st.windows.insert(w.key.clone(), now),
                    });
                    st.calls_sent += 1;
                    self.write_file(&st);
                    return Ok(stamp);
                }
                let wait = ready - now;
                if wait >= Duration::from_secs(2) {
                    // Long waits (flood cooldown, per-folder window) are worth telling the user.
                    tracing::info!(
                        endpoint,
                        wait_s = wait.as_secs_f64(),
                        "waiting {:.0}s for 1fichier's rate limit",
                        wait.as_secs_f64()
                    );
                } else {
                    tracing::trace!(endpoint, wait_ms = wait.as_millis() as u64, "pacer wait");
                }
                ready
            };
            // The queue stays held: calls wait in order behind the sleeping one, while
            // flood answers and caches can still update the state.
            self.inner.clock.sleep_until(ready).await;
        }
    }

    /// Gives back a window taken by a call that never reached the service (connection
    /// refused, DNS failure): the next call of that window need not wait for it.
    pub(crate) async fn release(&self, stamp: Stamp) {
        let mut st = self.lock();
        if st.windows.get(&stamp.key) == Some(&stamp.at) {
            match stamp.previous {
                Some(p) => st.windows.insert(stamp.key.clone(), p),
                None => st.windows.remove(&stamp.key),
            };
        }
        let Some(path) = &self.inner.config.state_file else {
            return;
        };
        let at = self.instant_to_wall(stamp.at);
        let previous = stamp.previous.map(|p| self.instant_to_wall(p));
        let result = with_locked_file(path, |f| {
            let mut shared = read_shared(f).unwrap_or_default();
            // Only our own stamp is given back; a later one from another process stays.
            if shared
                .windows
                .get(&stamp.key)
                .is_some_and(|w| w.abs_diff(at) <= 1)
            {
                match previous {
                    Some(p) => shared.windows.insert(stamp.key.clone(), p),
                    None => shared.windows.remove(&stamp.key),
                };
                write_shared(f, &shared)?;
            }
            Ok(())
        });
        if let Err(e) = result {
            tracing::debug!(error = %e, "could not update the pacer state file");
        }
    }

    /// Records a flood answer: starts (or keeps) the cooldown and returns its length from now.
    /// Logs one line per cooldown started.
    pub async fn on_flood(&self) -> Duration {
        let mut st = self.lock();
        st.floods_seen += 1;
        self.merge_file(&mut st);
        let now = self.inner.clock.now();
        if let Some(until) = st.cooldown_until
            && until > now
        {
            // Answers to calls sent before the cooldown started: do not double again.
            return until - now;
        }
        let len = st.next_cooldown;
        st.cooldown_until = Some(now + len);
        st.next_cooldown = (len * 2).min(self.inner.config.flood_cooldown_max);
        tracing::warn!(
            cooldown_s = len.as_secs_f64(),
            "1fichier flood protection answered; pausing all API calls for {:.0}s",
            len.as_secs_f64()
        );
        self.write_file(&st);
        len
    }

    /// Holds every API call back for `wait` from now: for a caller that decided on a flood
    /// pause itself (the queue runner waits at least its own flood pause). The cooldown
    /// becomes the later of the running one and this, so whatever reads the pacer (the
    /// dashboard's account panel, the other processes) sees the wait the caller obeys.
    pub async fn hold_for(&self, wait: Duration) {
        let mut st = self.lock();
        self.merge_file(&mut st);
        let until = self.inner.clock.now() + wait;
        if st.cooldown_until.is_some_and(|u| u >= until) {
            return;
        }
        st.cooldown_until = Some(until);
        self.write_file(&st);
    }

    /// Records a successful answer: the next flood starts again from the first cooldown.
    pub async fn on_success(&self) {
        let mut st = self.lock();
        if st.next_cooldown != self.inner.config.flood_cooldown_start {
            st.next_cooldown = self.inner.config.flood_cooldown_start;
            self.write_file(&st);
        }
    }

    /// A cached answer younger than `ttl`, with its age. Listings come from the shared
    /// listing file when there is one (another process may have fetched or edited them).
    pub(crate) async fn cached(&self, key: &str, ttl: Duration) -> Option<(Vec<u8>, Duration)> {
        if ttl.is_zero() {
            return None;
        }
        let now = self.inner.clock.now();
        if is_listing_key(key)
            && let Some(path) = self.listings_file()
        {
            let listings = self.with_listings(&path, |l| {
                Ok(l.entries.get(key).map(|e| (e.at_ms, e.body.to_string())))
            });
            let (at_ms, body) = listings.ok().flatten()?;
            let at = self.wall_to_instant(at_ms)?;
            let age = now.saturating_duration_since(at);
            return (age < ttl).then(|| (body.into_bytes(), age));
        }
        {
            let st = self.lock();
            if let Some((at, b)) = st
                .cache
                .get(key)
                .filter(|(at, _)| now.saturating_duration_since(*at) < ttl)
            {
                return Some((b.clone(), now.saturating_duration_since(*at)));
            }
        }
        // Another process may have fetched it recently.
        let path = self
            .inner
            .config
            .state_file
            .as_ref()
            .filter(|_| is_shared_answer(key))?;
        let shared = with_locked_file(path, read_shared).ok()?;
        let answer = shared.answers.get(key)?;
        let at = self.wall_to_instant(answer.at_ms)?;
        let age = now.saturating_duration_since(at);
        if age >= ttl {
            return None;
        }
        let body = answer.body.clone().into_bytes();
        self.lock().cache.insert(key.to_owned(), (at, body.clone()));
        Some((body, age))
    }

    pub(crate) async fn store(&self, key: &str, ttl: Duration, body: Vec<u8>) {
        if ttl.is_zero() {
            return;
        }
        let now = self.inner.clock.now();
        if is_listing_key(key)
            && let Some(path) = self.listings_file()
        {
            let Ok(value) = serde_json::from_slice::<serde_json::Value>(&body) else {
                return;
            };
            let at_ms = self.instant_to_wall(now);
            let max_age = ttl.as_millis() as u64;
            let result = self.with_listings(&path, |l| {
                l.entries
                    .insert(key.to_owned(), listing_cache::Entry { at_ms, body: value });
                l.bound(at_ms, max_age);
                Ok(())
            });
            if let Err(e) = result {
                tracing::debug!(error = %e, "could not share a listing through the listing file");
            }
            return;
        }
        if let Some(path) = self
            .inner
            .config
            .state_file
            .as_ref()
            .filter(|_| is_shared_answer(key))
        {
            let at_ms = self.instant_to_wall(now);
            let text = String::from_utf8_lossy(&body).into_owned();
            let result = with_locked_file(path, |f| {
                let mut shared = read_shared(f).unwrap_or_default();
                shared
                    .answers
                    .insert(key.to_owned(), SharedAnswer { at_ms, body: text });
                write_shared(f, &shared)
            });
            if let Err(e) = result {
                tracing::debug!(error = %e, "could not share an answer through the state file");
            }
        }
        self.lock().cache.insert(key.to_owned(), (now, body));
    }

    /// Applies a change the library made to the cached listings it affects (in this process
    /// and in the shared listing file), so later listings show it without a call.
    pub(crate) async fn edit_listings(&self, edit: &Edit) {
        let now_ms = ms(self.inner.clock.wall_now());
        {
            let mut st = self.lock();
            let now = self.inner.clock.now();
            let mut entries: std::collections::BTreeMap<String, listing_cache::Entry> = st
                .cache
                .iter()
                .filter(|(k, _)| is_listing_key(k))
                .filter_map(|(k, (at, b))| {
                    let body = serde_json::from_slice(b).ok()?;
                    let age = now.saturating_duration_since(*at).as_millis() as u64;
                    Some((
                        k.clone(),
                        listing_cache::Entry {
                            at_ms: now_ms.saturating_sub(age),
                            body,
                        },
                    ))
                })
                .collect();
            listing_cache::apply(&mut entries, edit, now_ms);
            st.cache.retain(|k, _| !is_listing_key(k));
            for (k, e) in entries {
                let at = now
                    .checked_sub(Duration::from_millis(now_ms.saturating_sub(e.at_ms)))
                    .unwrap_or(now);
                st.cache.insert(k, (at, e.body.to_string().into_bytes()));
            }
        }
        if let Some(path) = self.listings_file() {
            let result = self.with_listings(&path, |l| {
                listing_cache::apply(&mut l.entries, edit, now_ms);
                Ok(())
            });
            if let Err(e) = result {
                tracing::debug!(error = %e, "could not update the shared listings");
            }
        }
    }

    /// Forgets cached listings (after a change whose effect is unknown). The windows still
    /// apply.
    pub(crate) async fn invalidate_listings(&self) {
        self.edit_listings(&Edit::Everything).await;
    }

    fn listings_file(&self) -> Option<PathBuf> {
        self.inner
            .config
            .state_file
            .as_deref()
            .map(listing_cache::path_beside)
    }

    /// Read-modify-write of the shared listings under the state file's lock; written back
    /// (atomically) only when `f` changed them.
    fn with_listings<T>(
        &self,
        path: &Path,
        f: impl FnOnce(&mut SharedListings) -> std::io::Result<T>,
    ) -> std::io::Result<T> {
        let state = self
            .inner
            .config
            .state_file
            .as_ref()
            .expect("listings need a state file");
        with_locked_file(state, |_| {
            let mut listings = listing_cache::read(path);
            let before = serde_json::to_vec(&listings).unwrap_or_default();
            let out = f(&mut listings)?;
            if serde_json::to_vec(&listings).unwrap_or_default() != before {
                listing_cache::write(path, &listings)?;
            }
            Ok(out)
        })
    }

    fn wall_to_instant(&self, wall_ms: u64) -> Option<Instant> {
        if wall_ms == 0 {
            return None;
        }
        let now = self.inner.clock.now();
        let wall_now = ms(self.inner.clock.wall_now());
        if wall_ms >= wall_now {
            Some(now + Duration::from_millis(wall_ms - wall_now))
        } else {
            now.checked_sub(Duration::from_millis(wall_now - wall_ms))
        }
    }

    fn instant_to_wall(&self, at: Instant) -> u64 {
        let now = self.inner.clock.now();
        let wall_now = ms(self.inner.clock.wall_now());
        if at >= now {
            wall_now + (at - now).as_millis() as u64
        } else {
            wall_now.saturating_sub((now - at).as_millis() as u64)
        }
    }

    /// Folds the other processes' view (the state file) into ours: the later of each time.
    fn merge_file(&self, st: &mut State) {
        let Some(path) = &self.inner.config.state_file else {
            return;
        };
        let mut shared = match with_locked_file(path, read_shared) {
            Ok(s) => s,
            Err(e) => {
                tracing::debug!(error = %e, "pacer state file unreadable; using local state");
                return;
            }
        };
        if self.sanitise(&mut shared) {
            if !st.reported_corrupt {
                st.reported_corrupt = true;
                tracing::warn!(
                    file = %path.display(),
                    "the pacer state file asks to wait longer than the longest documented \
                     lock (1 h); treating it as damaged (clock stepped back?) and resetting it"
                );
            }
            let result = with_locked_file(path, |f| {
                let mut again = read_shared(f).unwrap_or_default();
                self.sanitise(&mut again);
                write_shared(f, &again)
            });
            if let Err(e) = result {
                tracing::debug!(error = %e, "could not reset the pacer state file");
            }
        }
        if let Some(t) = self.wall_to_instant(shared.last_sent_ms) {
            st.last_sent = Some(st.last_sent.map_or(t, |l| l.max(t)));
        }
        if let Some(t) = self.wall_to_instant(shared.cooldown_until_ms) {
            st.cooldown_until = Some(st.cooldown_until.map_or(t, |l| l.max(t)));
        }
        if shared.next_cooldown_ms > 0 {
            st.next_cooldown = st
                .next_cooldown
                .max(Duration::from_millis(shared.next_cooldown_ms));
        }
        for (k, v) in shared.windows {
            if let Some(t) = self.wall_to_instant(v) {
                let e = st.windows.entry(k).or_insert(t);
                *e = (*e).max(t);
            }
        }
    }

    /// Drops times further ahead than [`MAX_LOCK`] (and a cooldown step above the cap).
    /// Returns whether anything was damaged.
    fn sanitise(&self, shared: &mut SharedState) -> bool {
        let limit = ms(self.inner.clock.wall_now()) + MAX_LOCK.as_millis() as u64;
        let mut damaged = false;
        for t in [&mut shared.last_sent_ms, &mut shared.cooldown_until_ms] {
            if *t > limit {
                *t = 0;
                damaged = true;
            }
        }
        let cap = self
            .inner
            .config
            .flood_cooldown_max
            .max(MAX_LOCK)
            .as_millis() as u64;
        if shared.next_cooldown_ms > cap {
            shared.next_cooldown_ms = 0;
            damaged = true;
        }
        let before = shared.windows.len() + shared.answers.len();
        shared.windows.retain(|_, v| *v <= limit);
        shared.answers.retain(|_, a| a.at_ms <= limit);
        damaged || before != shared.windows.len() + shared.answers.len()
    }

    fn write_file(&self, st: &State) {
        let Some(path) = &self.inner.config.state_file else {
            return;
        };
        let now_wall = ms(self.inner.clock.wall_now());
        let horizon = self
            .inner
            .config
            .all_files_window
            .max(self.inner.config.user_info_window);
        let result = with_locked_file(path, |f| {
            let mut shared = read_shared(f).unwrap_or_default();
            if let Some(l) = st.last_sent {
                shared.last_sent_ms = shared.last_sent_ms.max(self.instant_to_wall(l));
            }
            if let Some(c) = st.cooldown_until {
                shared.cooldown_until_ms = shared.cooldown_until_ms.max(self.instant_to_wall(c));
            }
            shared.next_cooldown_ms = st.next_cooldown.as_millis() as u64;
            for (k, v) in &st.windows {
                let w = self.instant_to_wall(*v);
                let e = shared.windows.entry(k.clone()).or_insert(w);
                *e = (*e).max(w);
            }
            // Drop windows long past so the file stays small.
            shared
                .windows
                .retain(|_, v| now_wall.saturating_sub(*v) <= horizon.as_millis() as u64);
            write_shared(f, &shared)
        });
        if let Err(e) = result {
            tracing::debug!(error = %e, "could not write the pacer state file");
        }
    }
}

fn write_shared(f: &mut std::fs::File, shared: &SharedState) -> std::io::Result<()> {
    let bytes = serde_json::to_vec(shared).map_err(std::io::Error::other)?;
    f.set_len(0)?;
    f.seek(std::io::SeekFrom::Start(0))?;
    f.write_all(&bytes)
}

fn read_shared(f: &mut std::fs::File) -> std::io::Result<SharedState> {
    let mut s = String::new();
    f.seek(std::io::SeekFrom::Start(0))?;
    f.read_to_string(&mut s)?;
    if s.trim().is_empty() {
        return Ok(SharedState::default());
    }
    Ok(serde_json::from_str(&s).unwrap_or_default())
}

/// Opens (creating) the state file, holds an exclusive OS lock during `f`, then unlocks.
/// The lock is held only for a read-modify-write, never across a sleep.
fn with_locked_file<T>(
    path: &Path,
    f: impl FnOnce(&mut std::fs::File) -> std::io::Result<T>,
) -> std::io::Result<T> {
    let mut file = fichier_state::open_private(path, false)?;
    file.lock()?;
    let out = f(&mut file);
    let _ = file.unlock();
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg() -> PacerConfig {
        PacerConfig {
            min_gap: Duration::from_millis(500),
            flood_cooldown_start: Duration::from_secs(60),
            flood_cooldown_max: Duration::from_secs(300),
            ..PacerConfig::default()
        }
    }

    #[tokio::test(start_paused = true)]
    async fn min_gap_spaces_calls() {
        let p = Pacer::new(cfg());
        let t0 = Instant::now();
        for _ in 0..4 {
            p.acquire("file/ls.cgi").await.unwrap();
        }
        assert_eq!(Instant::now() - t0, Duration::from_millis(1500));
        assert_eq!(p.calls_sent().await, 4);
    }

    #[tokio::test(start_paused = true)]
    async fn flood_cooldown_doubles_capped_and_resets() {
        let p = Pacer::new(cfg());
        p.acquire("x").await.unwrap();
        assert_eq!(p.on_flood().await, Duration::from_secs(60));
        // A second flood answer during the cooldown does not double it.
        assert_eq!(p.on_flood().await, Duration::from_secs(60));
        // ...but it is counted.
        assert_eq!(p.floods_seen().await, 2);
        let t0 = Instant::now();
        p.acquire("x").await.unwrap();
        assert_eq!(Instant::now() - t0, Duration::from_secs(60));
        assert_eq!(p.on_flood().await, Duration::from_secs(120));
        p.acquire("x").await.unwrap();
        assert_eq!(p.on_flood().await, Duration::from_secs(240));
        p.acquire("x").await.unwrap();
        assert_eq!(p.on_flood().await, Duration::from_secs(300));
        p.acquire("x").await.unwrap();
        p.on_success().await;
        assert_eq!(p.on_flood().await, Duration::from_secs(60));
    }

    #[tokio::test(start_paused = true)]
    async fn windows_wait_or_refuse() {
        let p = Pacer::new(cfg());
        let w = Window {
            key: "file/ls:7".into(),
            window: Duration::from_secs(30),
        };
        let t0 = Instant::now();
        p.acquire_window("file/ls.cgi", Some(&w)).await.unwrap();
        p.acquire_window("file/ls.cgi", Some(&w)).await.unwrap();
        assert_eq!(Instant::now() - t0, Duration::from_secs(30));
        let long = Window {
            key: "file/ls:-1".into(),
            window: Duration::from_secs(3600),
        };
        p.acquire_window("file/ls.cgi", Some(&long)).await.unwrap();
        let err = p
            .acquire_window("file/ls.cgi", Some(&long))
            .await
            .unwrap_err();
        assert!(matches!(err, Error::Paced { .. }), "{err:?}");
        assert!(err.retry_after().unwrap() > Duration::from_secs(3500));
    }

    #[tokio::test(start_paused = true)]
    async fn state_file_shares_budget_between_pacers() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("pacer.json");
        let mk = || {
            Pacer::new(PacerConfig {
                state_file: Some(file.clone()),
                ..cfg()
            })
        };
        let a = mk();
        let b = mk();
        a.acquire("x").await.unwrap();
        let t0 = Instant::now();
        b.acquire("x").await.unwrap();
        assert!(Instant::now() - t0 >= Duration::from_millis(499));
        a.on_flood().await;
        assert!(b.cooldown_remaining().await.unwrap() > Duration::from_secs(59));
    }
}
