//! An item's progress while it downloads: bytes counted as they arrive, written to the store
//! about once a second with speed and ETA, and the lease renewed, until the item is no longer
//! this runner's.

use super::*;

impl Runner {
    /// Renews the lease and writes progress until the item is no longer ours (returns then).
    pub(super) async fn ticker(&self, item: &Item, progress: Arc<ItemProgress>) {
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
                let (id, who) = (item.id, runner.to_owned());
                self.blocking(move |r| {
                    r.inner
                        .store
                        .set_state(id, &who, State::Verifying, None, None, false)
                })
                .await
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
                let (id, who) = (item.id, runner.to_owned());
                self.blocking(move |r| {
                    r.inner
                        .store
                        .set_progress(id, &who, done, speed as u64, eta)
                })
                .await
            } else {
                Ok(true)
            };
            let ours = match ours {
                Ok(true) if last_renew.elapsed() >= renew_every => {
                    last_renew = Instant::now();
                    let (id, who) = (item.id, runner.to_owned());
                    self.blocking(move |r| r.inner.store.renew_lease(id, &who, r.inner.cfg.lease))
                        .await
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
}

/// One item's progress, fed by the engine's events (and forwarded to the caller's sink).
pub(super) struct ItemProgress {
    outer: Arc<dyn EventSink>,
    pub(super) size: AtomicU64,
    /// Bytes on disk when the current attempt started.
    base: AtomicU64,
    /// Bytes received since.
    moved: AtomicU64,
    started: AtomicBool,
    verifying: AtomicBool,
}

impl ItemProgress {
    pub(super) fn new(outer: Arc<dyn EventSink>, size: Option<u64>) -> ItemProgress {
        ItemProgress {
            outer,
            size: AtomicU64::new(size.unwrap_or(0)),
            base: AtomicU64::new(0),
            moved: AtomicU64::new(0),
            started: AtomicBool::new(false),
            verifying: AtomicBool::new(false),
        }
    }

    pub(super) fn done(&self) -> u64 {
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
