//! The queue runner: claims queued items with a lease, downloads each through the engine
//! (resume from `.part`, one token per attempt renewed on expiry, whirlpool or size check,
//! atomic rename), writes progress to the store about once a second, and applies the
//! scheduling rules of [`crate::schedule`]: files at once by tier, one global connection cap,
//! whole-queue pauses (flood, location, VPN), "needs Premium" on a free account, offline and
//! failed items. It draws nothing: callers get engine [`Event`]s (file id = item id) and
//! [`QueueObserver`] calls.

use std::collections::{HashMap, HashSet};
use std::future::Future;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use fichier_api::{Expect, FileLink, Node, Password, RemotePath};
use jiff::{SignedDuration, Timestamp};
use tokio::sync::watch;
use tokio::task::JoinSet;
use tokio::time::Instant;

use crate::links::is_folder_link;
use crate::schedule::{self, NEEDS_PREMIUM, PauseKind, Requeue, RetryRules, Tier, Verdict};
use crate::store::{Item, ItemId, QueueError, QueueStore, State};
use fichier_transfer::Engine;
use fichier_transfer::Timetable;
use fichier_transfer::state_path;
use fichier_transfer::{ErrorClass, TransferError};
use fichier_transfer::{Event, EventSink, FileId};
use fichier_transfer::{FetchOpts, Fetched, FileJob, part_path};
use fichier_transfer::{join_inside, safe_local_name};

mod item;
mod progress;
mod verdict;

use progress::ItemProgress;

/// How the runner works. `Default` gives the documented defaults.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct RunnerConfig {
    /// This runner's name in the store (who holds a lease).
    pub runner_id: String,
    /// Lease of a claimed item; renewed every quarter of it while the item is worked.
    pub lease: Duration,
    /// Files at once on Premium/GOLD (Access: 1, Free: 0).
    pub files: usize,
    /// Connections per file (`None`: 3 for files of 64 MiB and more, else 1).
    pub segments: Option<u32>,
    /// Compare the whirlpool when the service gives one (the size is always checked).
    pub verify: bool,
    /// Renew a download token after this age even if it still works.
    pub token_max_age: Duration,
    /// Global bandwidth limit (ignored when a timetable is given).
    pub limit_rate: Option<u64>,
    /// Time-of-day bandwidth limits, in the local time zone.
    pub timetable: Option<Timetable>,
    /// How long the account's tier (`user/info`) is trusted.
    pub tier_ttl: Duration,
    /// Retry, backoff and pause rules.
    pub retry: RetryRules,
    /// Stop when nothing is left to do (`queue run`) instead of waiting for new items
    /// (`daemon`).
    pub until_empty: bool,
    /// With `until_empty`: the longest wait for a waiting item before giving up on it.
    pub max_idle_wait: Duration,
    /// How often the store's version is polled for changes made by other processes.
    pub poll: Duration,
    /// How often progress is written to the store.
    pub progress_every: Duration,
    /// A daemon takes retryable failures back by itself (`None`: they wait for `queue retry`).
    pub requeue: Option<Requeue>,
}

impl Default for RunnerConfig {
    fn default() -> Self {
        RunnerConfig {
            runner_id: format!("runner-{}", std::process::id()),
            lease: Duration::from_secs(60),
            files: schedule::DEFAULT_FILES,
            segments: None,
            verify: true,
            token_max_age: Duration::from_secs(270),
            limit_rate: None,
            timetable: None,
            tier_ttl: Duration::from_secs(300),
            retry: RetryRules::default(),
            until_empty: true,
            max_idle_wait: Duration::from_secs(15 * 60),
            poll: Duration::from_secs(1),
            progress_every: Duration::from_secs(1),
            requeue: None,
        }
    }
}

/// What the runner tells its caller besides the engine's per-file events.
pub trait QueueObserver: Send + Sync {
    /// An item is done: its file is complete at `path` (verified with `whirlpool` when
    /// known).
    fn item_done(&self, item: &Item, path: &Path, whirlpool: Option<&str>) {
        let _ = (item, path, whirlpool);
    }
    /// Every item of `package` is done.
    fn package_done(&self, package: &str, items: &[Item]) {
        let _ = (package, items);
    }
    /// An item left the running states: waiting, offline, failed or paused (with why).
    fn item_state(&self, item: &Item, state: State, reason: &str, until: Option<Timestamp>) {
        let _ = (item, state, reason, until);
    }
    /// The whole queue pauses until `until` (flood, location, VPN, key, disk), or resumes
    /// (`None`).
    fn queue_paused(&self, reason: Option<&str>, until: Option<Timestamp>) {
        let _ = (reason, until);
    }
}

/// An observer that ignores everything.
#[derive(Debug, Default, Clone, Copy)]
pub struct NoObserver;
impl QueueObserver for NoObserver {}

/// Why a run ended before the queue was empty.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StopReason {
    /// Asked to stop (signal): items were released, `.part` files kept.
    Shutdown,
    /// The account is not Premium: the items wait in "needs Premium".
    NeedsPremium,
    /// The whole queue is paused for longer than a foreground run waits.
    Paused {
        /// What kind of pause.
        kind: PauseKind,
        /// Why.
        reason: String,
        /// Until when.
        until: Timestamp,
    },
    /// Items wait longer than a foreground run waits (retries with backoff).
    Waiting {
        /// How many.
        items: usize,
        /// The earliest.
        until: Timestamp,
    },
}

/// What a run did.
#[derive(Debug, Clone, Default)]
pub struct RunReport {
    /// Items finished.
    pub done: usize,
    /// Items failed.
    pub failed: usize,
    /// Items found offline.
    pub offline: usize,
    /// Bytes of the finished items.
    pub bytes: u64,
    /// Why the run ended early (`None`: nothing left to do).
    pub stopped: Option<StopReason>,
    /// Wall time.
    pub seconds: f64,
}

/// A whole-queue pause.
#[derive(Debug, Clone)]
struct Pause {
    kind: PauseKind,
    reason: String,
    until: Timestamp,
    deadline: Instant,
}

/// What every worker listens to.
#[derive(Debug, Clone, PartialEq)]
enum Ctl {
    Run,
    /// Stop work, release items, keep `.part`.
    Shutdown,
    /// Stop work: the queue pauses (epoch, so each pause is seen once).
    Pause(u64),
}

struct Inner {
    store: Arc<QueueStore>,
    engine: Engine,
    cfg: RunnerConfig,
    events: Arc<dyn EventSink>,
    observer: Arc<dyn QueueObserver>,
    tier: Mutex<Option<(Tier, Instant)>>,
    pause: Mutex<Option<Pause>>,
    pause_epoch: AtomicU64,
    ctl: watch::Sender<Ctl>,
    /// Local paths (target, `.part`, `.part.state`) being written by this runner.
    targets: Mutex<HashSet<PathBuf>>,
    /// Failed attempts per item in this run (retry backoff).
    failures: Mutex<HashMap<ItemId, u32>>,
    /// Connection failures since the last finished item (a network that is down).
    unreachable: std::sync::atomic::AtomicU32,
    report: Mutex<RunReport>,
}

/// The queue runner. Cheap to clone.
#[derive(Clone)]
pub struct Runner {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for Runner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Runner")
            .field("config", &self.inner.cfg)
            .finish_non_exhaustive()
    }
}

/// How one item's work ended.
enum Outcome {
    Finished(Result<(PathBuf, u64, Option<String>), TransferError>),
    /// Removed or paused by someone else, or the lease was lost.
    Lost,
    Shutdown,
    Paused,
}

fn now_plus(d: Duration) -> Timestamp {
    Timestamp::now()
        .checked_add(SignedDuration::try_from(d).unwrap_or(SignedDuration::MAX))
        .unwrap_or(Timestamp::MAX)
}

impl Runner {
    /// Runs `f` (store work: SQLite, which waits up to its busy timeout while another process
    /// writes) on tokio's blocking pool, so no runtime worker (which the daemon's dashboard
    /// shares) ever waits on the database.
    async fn blocking<T: Send + 'static>(
        &self,
        f: impl FnOnce(&Runner) -> Result<T, QueueError> + Send + 'static,
    ) -> Result<T, QueueError> {
        let me = self.clone();
        match tokio::task::spawn_blocking(move || f(&me)).await {
            Ok(r) => r,
            Err(e) => Err(QueueError::Io {
                path: self.inner.store.path().to_owned(),
                source: std::io::Error::other(format!("store work did not finish: {e}")),
            }),
        }
    }

    /// A runner over `store`, downloading through `engine` (whose client, pacer, connection
    /// cap and bandwidth limiter every item shares).
    pub fn new(
        store: Arc<QueueStore>,
        engine: Engine,
        cfg: RunnerConfig,
        events: Arc<dyn EventSink>,
        observer: Arc<dyn QueueObserver>,
    ) -> Runner {
        let (ctl, _) = watch::channel(Ctl::Run);
        Runner {
            inner: Arc::new(Inner {
                store,
                engine,
                cfg,
                events,
                observer,
                tier: Mutex::new(None),
                pause: Mutex::new(None),
                pause_epoch: AtomicU64::new(0),
                ctl,
                targets: Mutex::new(HashSet::new()),
                failures: Mutex::new(HashMap::new()),
                unreachable: std::sync::atomic::AtomicU32::new(0),
                report: Mutex::new(RunReport::default()),
            }),
        }
    }

    /// Puts back items a previous run of this same runner id left active (it was killed):
    /// they are claimable at once instead of after their lease. Only for a runner id no
    /// other live process uses (the daemon lock guarantees it).
    pub fn reclaim_own(&self) -> Result<usize, QueueError> {
        let mut n = 0;
        for item in self.inner.store.list()? {
            if matches!(
                item.state,
                State::Checking | State::Downloading | State::Verifying
            ) {
                self.inner
                    .store
                    .release(item.id, &self.inner.cfg.runner_id)?;
                n += 1;
            }
        }
        Ok(n)
    }

    /// Works the queue until `shutdown` resolves (or, with `until_empty`, until nothing is
    /// left to do). On shutdown every item in progress is released with its `.part` kept.
    pub async fn run(&self, shutdown: impl Future<Output = ()>) -> Result<RunReport, QueueError> {
        let started = std::time::Instant::now();
        let inner = &self.inner;
        tokio::pin!(shutdown);
        let mut workers: JoinSet<()> = JoinSet::new();
        let mut active: usize;
        let mut last_version = i64::MIN;
        let mut next_claim = Instant::now();
        let mut stopped: Option<StopReason> = None;
        let mut next_sweep = Instant::now();
        loop {
            while let Some(r) = workers.try_join_next() {
                if let Err(e) = r
                    && e.is_panic()
                {
                    std::panic::resume_unwind(e.into_panic());
                }
                next_claim = Instant::now();
            }
            active = workers.len();
            self.apply_rate();
            // A whole-queue pause: nothing is claimed and nothing is sent until it ends.
            if let Some(p) = self.current_pause() {
                if inner.cfg.until_empty
                    && (matches!(p.kind, PauseKind::Auth | PauseKind::DiskFull)
                        || p.deadline.saturating_duration_since(Instant::now())
                            > inner.cfg.max_idle_wait)
                {
                    stopped = Some(StopReason::Paused {
                        kind: p.kind,
                        reason: p.reason.clone(),
                        until: p.until,
                    });
                    break;
                }
                let wake = p.deadline.min(Instant::now() + inner.cfg.poll);
                tokio::select! {
                    _ = &mut shutdown => { stopped = Some(StopReason::Shutdown); break; }
                    _ = tokio::time::sleep_until(wake) => {}
                    Some(_) = workers.join_next(), if active > 0 => {}
                }
                continue;
            }
            if let Some(rq) = inner.cfg.requeue
                && Instant::now() >= next_sweep
            {
                next_sweep = Instant::now() + rq.sweep_every();
                self.blocking(move |r| r.requeue_failed(&rq)).await?;
            }
            let version = self.blocking(|r| r.inner.store.version()).await?;
            let changed = version != last_version;
            last_version = version;
            if changed || Instant::now() >= next_claim {
                let tier = match self.tier().await {
                    Ok(t) => Some(t),
                    Err(e) => {
                        self.tier_failed(&e).await;
                        None
                    }
                };
                match tier {
                    Some(Tier::Free) => {
                        self.blocking(|r| r.park_needs_premium()).await?;
                        if inner.cfg.until_empty && active == 0 {
                            stopped = Some(StopReason::NeedsPremium);
                            break;
                        }
                        next_claim =
                            Instant::now() + inner.cfg.tier_ttl.min(Duration::from_secs(60));
                    }
                    Some(tier) => {
                        let slots = tier.files_at_once(inner.cfg.files);
                        while workers.len() < slots {
                            let Some(item) = self
                                .blocking(|r| {
                                    r.inner
                                        .store
                                        .claim_next(&r.inner.cfg.runner_id, r.inner.cfg.lease)
                                })
                                .await?
                            else {
                                break;
                            };
                            let me = self.clone();
                            workers.spawn(async move { me.work(item).await });
                        }
                        next_claim = Instant::now() + Duration::from_secs(10);
                        if workers.is_empty() && inner.cfg.until_empty {
                            match self.blocking(|r| r.idle_wait()).await? {
                                Idle::Done => break,
                                Idle::Until(t) => next_claim = t,
                                Idle::GiveUp(reason) => {
                                    stopped = Some(reason);
                                    break;
                                }
                            }
                        } else if workers.is_empty() {
                            next_claim = next_claim.min(self.blocking(|r| r.next_wake()).await?);
                        }
                    }
                    None => {}
                }
                // Our own writes bump the version too: only others' changes should wake us.
                last_version = self.blocking(|r| r.inner.store.version()).await?;
            }
            active = workers.len();
            let wake = next_claim.min(Instant::now() + inner.cfg.poll);
            tokio::select! {
                _ = &mut shutdown => { stopped = Some(StopReason::Shutdown); break; }
                _ = tokio::time::sleep_until(wake) => {}
                Some(r) = workers.join_next(), if active > 0 => {
                    if let Err(e) = r && e.is_panic() {
                        std::panic::resume_unwind(e.into_panic());
                    }
                    next_claim = Instant::now();
                }
            }
        }
        if !workers.is_empty() {
            inner.ctl.send_replace(Ctl::Shutdown);
            while let Some(r) = workers.join_next().await {
                if let Err(e) = r
                    && e.is_panic()
                {
                    std::panic::resume_unwind(e.into_panic());
                }
            }
        }
        let mut report = inner
            .report
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone();
        report.stopped = stopped;
        report.seconds = started.elapsed().as_secs_f64();
        Ok(report)
    }

    /// Queues again the retryable failures whose wait is over (a daemon left alone overnight
    /// gets past a service outage longer than one item's retries).
    fn requeue_failed(&self, rq: &Requeue) -> Result<(), QueueError> {
        let inner = &self.inner;
        let now = Timestamp::now();
        for item in inner.store.list()? {
            if !rq.due(&item, inner.cfg.retry.max_failures, now) {
                continue;
            }
            if inner.store.retry(&crate::store::Selector::Id(item.id))? > 0 {
                // A new round of retries, with the backoff from its start.
                inner
                    .failures
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .remove(&item.id);
                tracing::info!(
                    "queued #{} again after a failure: {}",
                    item.id,
                    item.reason.as_deref().unwrap_or("")
                );
            }
        }
        Ok(())
    }

    /// Sets the engine's bandwidth limit from the timetable (or the fixed limit).
    fn apply_rate(&self) {
        let cfg = &self.inner.cfg;
        let rate = match &cfg.timetable {
            Some(t) => t.rate_at(jiff::ZonedDateTime::now().time()),
            None => cfg.limit_rate,
        };
        if self.inner.engine.limit_rate() != rate {
            if let Some(r) = rate {
                tracing::info!("bandwidth limit now {r} bytes/s");
            }
            self.inner.engine.set_limit_rate(rate);
        }
    }

    fn current_pause(&self) -> Option<Pause> {
        let mut p = self.inner.pause.lock().unwrap_or_else(|p| p.into_inner());
        if p.as_ref().is_some_and(|p| p.deadline <= Instant::now()) {
            *p = None;
            drop(p);
            self.inner.observer.queue_paused(None, None);
            self.inner.ctl.send_replace(Ctl::Run);
            return None;
        }
        p.clone()
    }

    /// Pauses the whole queue: every worker stops (its item waits with the same reason).
    async fn pause_queue(&self, kind: PauseKind, reason: &str, wait: Duration) -> Timestamp {
        let mut wait = wait;
        if kind == PauseKind::Flood
            && let Some(d) = self
                .inner
                .engine
                .client()
                .pacer()
                .cooldown_remaining()
                .await
        {
            wait = wait.max(d);
        }
        if kind == PauseKind::Flood {
            // One cooldown for the process: the pacer holds calls as long as the queue waits,
            // so the account panel and other commands see the same wait.
            self.inner.engine.client().pacer().hold_for(wait).await;
        }
        if kind == PauseKind::Flood {
            // One cooldown for the process: the pacer holds calls as long as the queue waits,
            // so the account panel and other commands see the same wait.
            self.inner.engine.client().pacer().hold_for(wait).await;
        }
        let deadline = Instant::now() + wait;
        let until = now_plus(wait);
        let epoch = {
            let mut p = self.inner.pause.lock().unwrap_or_else(|p| p.into_inner());
            if let Some(cur) = p.as_ref()
                && cur.deadline >= deadline
            {
                return cur.until;
            }
            *p = Some(Pause {
                kind,
                reason: reason.to_owned(),
                until,
                deadline,
            });
            self.inner.pause_epoch.fetch_add(1, Ordering::SeqCst) + 1
        };
        self.inner.observer.queue_paused(Some(reason), Some(until));
        self.inner.events.event(Event::Notice {
            message: format!(
                "queue paused until {}: {reason}",
                until.strftime("%H:%M:%S UTC")
            ),
        });
        self.inner.ctl.send_replace(Ctl::Pause(epoch));
        until
    }

    /// The account's tier, from `user/info` at most once per `tier_ttl`. When it is read
    /// afresh and allows downloads, items parked in "needs Premium" are queued again (the
    /// account was upgraded).
    async fn tier(&self) -> Result<Tier, TransferError> {
        if let Some((t, at)) = *self.inner.tier.lock().unwrap_or_else(|p| p.into_inner())
            && at.elapsed() < self.inner.cfg.tier_ttl
        {
            return Ok(t);
        }
        let tier = match self.inner.engine.client().user_info().await {
            Ok(u) => Tier::from_offer(u.offer),
            Err(e) if e.kind() == fichier_api::ErrorKind::NotCustomer => Tier::Free,
            Err(e) => return Err(e.into()),
        };
        self.set_tier(tier);
        if tier != Tier::Free {
            let store_err = |e: QueueError| TransferError::new(ErrorClass::Local, e.to_string());
            self.blocking(|r| {
                for item in r.inner.store.list()? {
                    if item.state == State::Waiting && item.reason.as_deref() == Some(NEEDS_PREMIUM)
                    {
                        r.inner.store.retry(&crate::store::Selector::Id(item.id))?;
                    }
                }
                Ok(())
            })
            .await
            .map_err(store_err)?;
        }
        Ok(tier)
    }

    fn set_tier(&self, tier: Tier) {
        *self.inner.tier.lock().unwrap_or_else(|p| p.into_inner()) = Some((tier, Instant::now()));
    }

    /// `user/info` failed: pause as its error says (flood, key), or retry shortly.
    async fn tier_failed(&self, e: &TransferError) {
        let (kind, reason, wait) = match schedule::verdict(e, 1, &self.inner.cfg.retry) {
            Verdict::PauseQueue { kind, reason, wait } => (kind, reason, wait),
            _ => (
                PauseKind::Unavailable,
                format!("cannot read the account's offer (user/info): {}", e.message),
                self.inner.cfg.retry.base.min(Duration::from_secs(30)),
            ),
        };
        self.pause_queue(kind, &reason, wait).await;
    }

    /// A free account: every claimable item waits in "needs Premium" until the next check.
    fn park_needs_premium(&self) -> Result<(), QueueError> {
        let inner = &self.inner;
        let until = now_plus(inner.cfg.tier_ttl);
        while let Some(item) = inner
            .store
            .claim_next(&inner.cfg.runner_id, inner.cfg.lease)?
        {
            inner.store.set_state(
                item.id,
                &inner.cfg.runner_id,
                State::Waiting,
                Some(NEEDS_PREMIUM),
                Some(until),
                true,
            )?;
            inner
                .observer
                .item_state(&item, State::Waiting, NEEDS_PREMIUM, Some(until));
        }
        Ok(())
    }

    /// When the earliest waiting item becomes claimable.
    fn next_wake(&self) -> Result<Instant, QueueError> {
        let now = Timestamp::now();
        let soonest = self
            .inner
            .store
            .list()?
            .into_iter()
            .filter(|i| i.state == State::Waiting)
            .filter_map(|i| i.until)
            .min();
        Ok(match soonest {
            Some(t) => {
                let d = t.duration_since(now).max(SignedDuration::ZERO);
                Instant::now() + Duration::try_from(d).unwrap_or(Duration::MAX / 4)
            }
            None => Instant::now() + Duration::from_secs(3600),
        })
    }

    /// `until_empty` and nothing claimable: done, wait for a waiting item, or give up.
    fn idle_wait(&self) -> Result<Idle, QueueError> {
        let items = self.inner.store.list()?;
        let waiting: Vec<&Item> = items
            .iter()
            .filter(|i| i.state == State::Waiting && i.until.is_some())
            .collect();
        if items
            .iter()
            .any(|i| i.state == State::Waiting && i.reason.as_deref() == Some(NEEDS_PREMIUM))
        {
            return Ok(Idle::GiveUp(StopReason::NeedsPremium));
        }
        let Some(until) = waiting.iter().filter_map(|i| i.until).min() else {
            return Ok(Idle::Done);
        };
        let d = until
            .duration_since(Timestamp::now())
            .max(SignedDuration::ZERO);
        let d = Duration::try_from(d).unwrap_or(Duration::MAX / 4);
        if d > self.inner.cfg.max_idle_wait {
            return Ok(Idle::GiveUp(StopReason::Waiting {
                items: waiting.len(),
                until,
            }));
        }
        Ok(Idle::Until(Instant::now() + d))
    }
}

enum Idle {
    Done,
    Until(Instant),
    GiveUp(StopReason),
}
