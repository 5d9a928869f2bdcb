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

use crate::intake;
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
                self.requeue_failed(&rq)?;
            }
            let version = inner.store.version()?;
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
                        self.park_needs_premium()?;
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
                            let Some(item) = inner
                                .store
                                .claim_next(&inner.cfg.runner_id, inner.cfg.lease)?
                            else {
                                break;
                            };
                            let me = self.clone();
                            workers.spawn(async move { me.work(item).await });
                        }
                        next_claim = Instant::now() + Duration::from_secs(10);
                        if workers.is_empty() && inner.cfg.until_empty {
                            match self.idle_wait()? {
                                Idle::Done => break,
                                Idle::Until(t) => next_claim = t,
                                Idle::GiveUp(reason) => {
                                    stopped = Some(reason);
                                    break;
                                }
                            }
                        } else if workers.is_empty() {
                            next_claim = next_claim.min(self.next_wake()?);
                        }
                    }
                    None => {}
                }
                // Our own writes bump the version too: only others' changes should wake us.
                last_version = inner.store.version()?;
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
            for item in self.inner.store.list().map_err(store_err)? {
                if item.state == State::Waiting && item.reason.as_deref() == Some(NEEDS_PREMIUM) {
                    self.inner
                        .store
                        .retry(&crate::store::Selector::Id(item.id))
                        .map_err(store_err)?;
                }
            }
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

    /// Works one claimed item to its next state.
    async fn work(self, item: Item) {
        let inner = &self.inner;
        let runner = inner.cfg.runner_id.clone();
        let id = item.id;
        if is_folder_link(&item.source) {
            // Queued by a way in that does not list folders (dashboard, Click'n'Load, a
            // `.crawljob`): the same rule as `queue add`, applied now.
            let outcome = match self.expand_folder(&item).await {
                Ok(()) => return,
                Err(e) => Outcome::Finished(Err(e)),
            };
            if let Err(e) = self.conclude(&item, &runner, outcome).await {
                tracing::warn!("queue item {id}: cannot record its state: {e}");
            }
            return;
        }
        let mut ctl = inner.ctl.subscribe();
        // A pause already under way (another worker hit it) stops this one at once.
        let seen_epoch = inner.pause_epoch.load(Ordering::SeqCst);
        let progress = Arc::new(ItemProgress::new(inner.events.clone(), item.size));
        let outcome = {
            let download = self.download(&item, progress.clone());
            let ticker = self.ticker(&item, progress.clone());
            tokio::pin!(download);
            tokio::pin!(ticker);
            let stop = async {
                loop {
                    match ctl.borrow_and_update().clone() {
                        Ctl::Shutdown => return Outcome::Shutdown,
                        Ctl::Pause(e) if e > seen_epoch => return Outcome::Paused,
                        _ => {}
                    }
                    if ctl.changed().await.is_err() {
                        std::future::pending::<()>().await;
                    }
                }
            };
            tokio::select! {
                r = &mut download => Outcome::Finished(r),
                () = &mut ticker => Outcome::Lost,
                o = stop => o,
            }
        };
        let name = item.name.clone().unwrap_or_else(|| item.source.clone());
        let result = self.conclude(&item, &runner, outcome).await;
        if let Err(e) = result {
            tracing::warn!("queue item {id} ({name}): cannot record its state: {e}");
        }
    }

    /// Records how an item's work ended.
    async fn conclude(
        &self,
        item: &Item,
        runner: &str,
        outcome: Outcome,
    ) -> Result<(), QueueError> {
        let inner = &self.inner;
        let store = &inner.store;
        let id = item.id;
        let fid = id as FileId;
        let name = item.name.clone().unwrap_or_else(|| item.source.clone());
        match outcome {
            Outcome::Lost => {
                inner.events.event(Event::Notice {
                    message: format!(
                        "{name}: removed or paused in the queue; stopped (the .part file is kept)"
                    ),
                });
            }
            Outcome::Shutdown => store.release(id, runner)?,
            Outcome::Paused => {
                let p = inner
                    .pause
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .clone();
                match p {
                    Some(p) => {
                        store.set_state(
                            id,
                            runner,
                            State::Waiting,
                            Some(&p.reason),
                            Some(p.until),
                            true,
                        )?;
                        inner
                            .observer
                            .item_state(item, State::Waiting, &p.reason, Some(p.until));
                    }
                    None => store.release(id, runner)?,
                }
            }
            Outcome::Finished(Ok((path, size, whirlpool))) => {
                inner.unreachable.store(0, Ordering::SeqCst);
                inner
                    .failures
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .remove(&id);
                if let Some(w) = &whirlpool
                    && item.whirlpool.is_none()
                {
                    store.set_learned(id, None, None, Some(w))?;
                }
                let ours = store.finish(id, runner, &path)?;
                inner.events.event(Event::Done {
                    id: fid,
                    name: name.clone(),
                    size,
                    path: Some(path.display().to_string()),
                    link: Some(item.source.clone()),
                    whirlpool: whirlpool.clone(),
                    recovered: false,
                });
                {
                    let mut r = inner.report.lock().unwrap_or_else(|p| p.into_inner());
                    r.done += 1;
                    r.bytes += size;
                }
                if ours {
                    let fresh = store.get(id)?.unwrap_or_else(|| item.clone());
                    inner
                        .observer
                        .item_done(&fresh, &path, whirlpool.as_deref());
                    if let Some(pkg) = &fresh.package {
                        let members: Vec<Item> = store
                            .list()?
                            .into_iter()
                            .filter(|i| i.package.as_deref() == Some(pkg.as_str()))
                            .collect();
                        if members.iter().all(|i| i.state == State::Done) {
                            inner.observer.package_done(pkg, &members);
                        }
                    }
                }
            }
            Outcome::Finished(Err(e)) => {
                // Connection failures one after another with no success in between look like
                // a network that is down, not a bad file: the whole queue waits (backing off)
                // and the items keep their attempts. The first one of a streak counts for its
                // item, so a file that alone always fails still ends up failed.
                let streak = if e.api_kind == Some(fichier_api::ErrorKind::Transport) {
                    inner.unreachable.fetch_add(1, Ordering::SeqCst) + 1
                } else {
                    0
                };
                let failures = {
                    let mut f = inner.failures.lock().unwrap_or_else(|p| p.into_inner());
                    let n = f.entry(id).or_insert(0);
                    if streak <= 1 {
                        *n += 1;
                    }
                    *n
                };
                let verdict = if streak > 1 {
                    Verdict::PauseQueue {
                        kind: PauseKind::Unavailable,
                        reason: format!(
                            "1fichier cannot be reached (is the network down?): {}; the queue tries again later",
                            e.message
                        ),
                        wait: inner.cfg.retry.backoff(streak - 1),
                    }
                } else {
                    schedule::verdict(&e, failures, &inner.cfg.retry)
                };
                match verdict {
                    Verdict::PauseQueue { kind, reason, wait } => {
                        let until = self.pause_queue(kind, &reason, wait).await;
                        // A pause is not this item's fault.
                        inner
                            .failures
                            .lock()
                            .unwrap_or_else(|p| p.into_inner())
                            .remove(&id);
                        store.set_state(
                            id,
                            runner,
                            State::Waiting,
                            Some(&reason),
                            Some(until),
                            true,
                        )?;
                        inner
                            .observer
                            .item_state(item, State::Waiting, &reason, Some(until));
                    }
                    Verdict::NeedsPremium => {
                        self.set_tier(Tier::Free);
                        let until = now_plus(inner.cfg.tier_ttl);
                        store.set_state(
                            id,
                            runner,
                            State::Waiting,
                            Some(NEEDS_PREMIUM),
                            Some(until),
                            true,
                        )?;
                        inner
                            .observer
                            .item_state(item, State::Waiting, NEEDS_PREMIUM, Some(until));
                    }
                    Verdict::Offline(reason) => {
                        store.set_state(id, runner, State::Offline, Some(&reason), None, false)?;
                        inner
                            .report
                            .lock()
                            .unwrap_or_else(|p| p.into_inner())
                            .offline += 1;
                        inner.events.event(Event::failed(fid, name.clone(), &e));
                        inner
                            .observer
                            .item_state(item, State::Offline, &reason, None);
                    }
                    Verdict::Retry { reason, wait } => {
                        let until = now_plus(wait);
                        store.set_state(
                            id,
                            runner,
                            State::Waiting,
                            Some(&reason),
                            Some(until),
                            true,
                        )?;
                        inner.events.event(Event::Retrying {
                            id: fid,
                            name: name.clone(),
                            attempt: failures,
                            reason: reason.clone(),
                        });
                        inner
                            .observer
                            .item_state(item, State::Waiting, &reason, Some(until));
                    }
                    Verdict::Failed { reason, retryable } => {
                        store.set_state(
                            id,
                            runner,
                            State::Failed,
                            Some(&reason),
                            None,
                            retryable,
                        )?;
                        inner
                            .report
                            .lock()
                            .unwrap_or_else(|p| p.into_inner())
                            .failed += 1;
                        inner.events.event(Event::failed(fid, name.clone(), &e));
                        inner
                            .observer
                            .item_state(item, State::Failed, &reason, None);
                    }
                }
            }
        }
        Ok(())
    }

    /// Renews the lease and writes progress until the item is no longer ours (returns then).
    async fn ticker(&self, item: &Item, progress: Arc<ItemProgress>) {
        let inner = &self.inner;
        let runner = &inner.cfg.runner_id;
        let every = inner.cfg.progress_every;
        let renew_every = (inner.cfg.lease / 4).max(Duration::from_millis(100));
        let mut last_renew = Instant::now();
        let mut last = (Instant::now(), 0u64);
        let mut speed = 0f64;
        let mut verifying_told = false;
        loop {
            tokio::time::sleep(every).await;
            let ours = if progress.verifying.load(Ordering::Relaxed) && !verifying_told {
                verifying_told = true;
                inner
                    .store
                    .set_state(item.id, runner, State::Verifying, None, None, false)
            } else if progress.started.load(Ordering::Relaxed) {
                let done = progress.done();
                let now = Instant::now();
                let dt = now.saturating_duration_since(last.0).as_secs_f64();
                if dt > 0.0 {
                    let inst = done.saturating_sub(last.1) as f64 / dt;
                    speed = if speed == 0.0 {
                        inst
                    } else {
                        0.6 * speed + 0.4 * inst
                    };
                }
                last = (now, done);
                let size = progress.size.load(Ordering::Relaxed);
                let eta = (speed >= 1.0 && size > 0)
                    .then(|| (size.saturating_sub(done) as f64 / speed).ceil() as u64);
                inner
                    .store
                    .set_progress(item.id, runner, done, speed as u64, eta)
            } else {
                Ok(true)
            };
            let ours = match ours {
                Ok(true) if last_renew.elapsed() >= renew_every => {
                    last_renew = Instant::now();
                    inner.store.renew_lease(item.id, runner, inner.cfg.lease)
                }
                other => other,
            };
            match ours {
                Ok(true) => {}
                Ok(false) => return,
                Err(e) => tracing::warn!("queue item {}: cannot write progress: {e}", item.id),
            }
        }
    }

    /// Resolves an item to a file, then downloads it.
    async fn download(
        &self,
        item: &Item,
        progress: Arc<ItemProgress>,
    ) -> Result<(PathBuf, u64, Option<String>), TransferError> {
        let inner = &self.inner;
        let store_err = |e: QueueError| TransferError::new(ErrorClass::Local, e.to_string());
        let password = inner
            .store
            .password(item.id)
            .map_err(store_err)?
            .map(Password::new);
        let (link, name, size, whirlpool) = self.resolve(item, password.as_ref()).await?;
        if item.name.as_deref() != Some(name.as_str())
            || item.size != Some(size)
            || (item.whirlpool.is_none() && whirlpool.is_some())
        {
            inner
                .store
                .set_learned(item.id, Some(&name), Some(size), whirlpool.as_deref())
                .map_err(store_err)?;
        }
        progress.size.store(size, Ordering::Relaxed);
        let local = safe_local_name(&name);
        let dest =
            join_inside(&item.target_dir, std::slice::from_ref(&local)).ok_or_else(|| {
                TransferError::new(
                    ErrorClass::Permanent,
                    format!("unusable file name {name:?}"),
                )
            })?;
        let _guard = TargetGuard::take(&inner.targets, &dest).ok_or_else(|| {
            TransferError::new(
                ErrorClass::Local,
                format!(
                    "another process is downloading into {} (another item of the queue has the same name)",
                    dest.display()
                ),
            )
        })?;
        if !inner
            .store
            .set_state(
                item.id,
                &inner.cfg.runner_id,
                State::Downloading,
                None,
                None,
                false,
            )
            .map_err(store_err)?
        {
            return Err(TransferError::new(
                ErrorClass::Local,
                "the item was taken away",
            ));
        }
        let job = FileJob {
            id: item.id as FileId,
            display: name.clone(),
            link,
            password,
            size,
            checksum: whirlpool.clone(),
            dest: dest.clone(),
            root: item.target_dir.clone(),
        };
        let opts = FetchOpts {
            segments: inner.cfg.segments,
            verify: inner.cfg.verify,
            overwrite: false,
            token_max_age: inner.cfg.token_max_age,
        };
        inner.events.event(Event::Queued {
            id: job.id,
            name: name.clone(),
            size: Some(size),
        });
        let sink: Arc<dyn EventSink> = progress.clone();
        match inner.engine.fetch_file(&job, &opts, sink).await? {
            Fetched::Done { whirlpool: got } => Ok((dest, size, got.or(whirlpool))),
            // The same file is already there (e.g. renamed into place just before a kill).
            Fetched::Skipped(_) => Ok((dest, size, whirlpool)),
        }
    }

    /// Replaces a shared-folder item with the items of its files (one transaction), by the
    /// one rule of [`crate::intake`].
    async fn expand_folder(&self, item: &Item) -> Result<(), TransferError> {
        let inner = &self.inner;
        let store_err = |e: QueueError| TransferError::new(ErrorClass::Local, e.to_string());
        let password = inner.store.password(item.id).map_err(store_err)?;
        let template = intake::template_of(item, password.clone());
        let files = intake::shared_folder_items(
            inner.engine.client(),
            &item.source,
            password.map(Password::new).as_ref(),
            &template,
        )
        .await?;
        if files.is_empty() {
            return Err(TransferError::new(
                ErrorClass::Permanent,
                format!("{}: the shared folder has no files", item.source),
            ));
        }
        inner.store.replace(item.id, files).map_err(store_err)?;
        Ok(())
    }

    /// The link, name, size and whirlpool of an item: known from the add, or asked once
    /// (`file/info` for a link, the listing of its folder for an own path).
    async fn resolve(
        &self,
        item: &Item,
        password: Option<&Password>,
    ) -> Result<(FileLink, String, u64, Option<String>), TransferError> {
        let engine = &self.inner.engine;
        let src = item.source.trim();
        if src.starts_with('/') || src.starts_with("id:") {
            let path = RemotePath::parse(src)
                .map_err(|e| TransferError::new(ErrorClass::Permanent, format!("{src:?}: {e}")))?;
            // The engine's listing memo lives as long as the engine, days for a daemon: a path
            // is resolved from the shared listings (fresh within the API's window), not from it.
            engine.tree().forget_all();
            return match engine.tree().resolve(&path, Expect::File).await? {
                Node::File { entry, .. } => Ok((
                    entry.link.clone(),
                    entry.filename.clone(),
                    entry.size,
                    entry.checksum.clone(),
                )),
                _ => Err(TransferError::new(
                    ErrorClass::Permanent,
                    format!("{src} is not a file"),
                )),
            };
        }
        let link = FileLink::parse(src)
            .map_err(|e| TransferError::new(ErrorClass::Permanent, e.to_string()))?;
        if let (Some(name), Some(size)) = (&item.name, item.size) {
            return Ok((link, name.clone(), size, item.whirlpool.clone()));
        }
        let info = engine.client().file_info(&link, password).await?;
        // A name the item already has was given when it was added (a crawljob's `filename`)
        // or learned before: either way it names the local file, not the remote one.
        let name = item.name.clone().unwrap_or(info.filename);
        Ok((link, name, info.size, info.checksum))
    }
}

enum Idle {
    Done,
    Until(Instant),
    GiveUp(StopReason),
}

/// Claims a local target (and its `.part`, `.part.state`) for one worker of this runner.
struct TargetGuard<'a> {
    set: &'a Mutex<HashSet<PathBuf>>,
    paths: [PathBuf; 3],
}

impl<'a> TargetGuard<'a> {
    fn take(set: &'a Mutex<HashSet<PathBuf>>, dest: &Path) -> Option<TargetGuard<'a>> {
        let part = part_path(dest);
        let paths = [dest.to_path_buf(), state_path(&part), part];
        let mut s = set.lock().unwrap_or_else(|p| p.into_inner());
        if paths.iter().any(|p| s.contains(p)) {
            return None;
        }
        for p in &paths {
            s.insert(p.clone());
        }
        Some(TargetGuard { set, paths })
    }
}

impl Drop for TargetGuard<'_> {
    fn drop(&mut self) {
        let mut s = self.set.lock().unwrap_or_else(|p| p.into_inner());
        for p in &self.paths {
            s.remove(p);
        }
    }
}

/// One item's progress, fed by the engine's events (and forwarded to the caller's sink).
struct ItemProgress {
    outer: Arc<dyn EventSink>,
    size: AtomicU64,
    /// Bytes on disk when the current attempt started.
    base: AtomicU64,
    /// Bytes received since.
    moved: AtomicU64,
    started: AtomicBool,
    verifying: AtomicBool,
}

impl ItemProgress {
    fn new(outer: Arc<dyn EventSink>, size: Option<u64>) -> ItemProgress {
        ItemProgress {
            outer,
            size: AtomicU64::new(size.unwrap_or(0)),
            base: AtomicU64::new(0),
            moved: AtomicU64::new(0),
            started: AtomicBool::new(false),
            verifying: AtomicBool::new(false),
        }
    }

    fn done(&self) -> u64 {
        let d = self.base.load(Ordering::Relaxed) + self.moved.load(Ordering::Relaxed);
        match self.size.load(Ordering::Relaxed) {
            0 => d,
            s => d.min(s),
        }
    }
}

impl EventSink for ItemProgress {
    fn event(&self, event: Event) {
        match &event {
            Event::Started {
                resumed_from, size, ..
            } => {
                self.base.store(*resumed_from, Ordering::Relaxed);
                self.moved.store(0, Ordering::Relaxed);
                self.size.store(*size, Ordering::Relaxed);
                self.started.store(true, Ordering::Relaxed);
            }
            Event::Verifying { .. } => self.verifying.store(true, Ordering::Relaxed),
            _ => {}
        }
        self.outer.event(event);
    }

    fn bytes(&self, id: FileId, n: u64) {
        self.moved.fetch_add(n, Ordering::Relaxed);
        self.outer.bytes(id, n);
    }
}
