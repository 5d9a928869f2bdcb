//! How an item's work ends: the state, reason and wake-up time it is given in the store, the
//! counts of the run, and what the event sink and the observer are told.

use super::*;

impl Runner {
    /// Gives the item its next state in the store and tells the observer: the one place both
    /// happen, so they cannot disagree.
    async fn record(
        &self,
        item: &Item,
        runner: &str,
        state: State,
        reason: &str,
        until: Option<Timestamp>,
        retryable: bool,
    ) -> Result<(), QueueError> {
        let (id, who, why) = (item.id, runner.to_owned(), reason.to_owned());
        self.blocking(move |r| {
            r.inner
                .store
                .set_state(id, &who, state, Some(&why), until, retryable)
        })
        .await?;
        self.inner.observer.item_state(item, state, reason, until);
        Ok(())
    }

    /// Gives a claimed item back to the queue as it was.
    async fn release(&self, id: ItemId, runner: &str) -> Result<(), QueueError> {
        let who = runner.to_owned();
        self.blocking(move |r| r.inner.store.release(id, &who))
            .await
    }

    /// Records how an item's work ended.
    pub(super) async fn conclude(
        &self,
        item: &Item,
        runner: &str,
        outcome: Outcome,
    ) -> Result<(), QueueError> {
        let inner = &self.inner;
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
            Outcome::Shutdown => self.release(id, runner).await?,
            Outcome::Paused => {
                let p = inner
                    .pause
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .clone();
                match p {
                    Some(p) => {
                        self.record(item, runner, State::Waiting, &p.reason, Some(p.until), true)
                            .await?;
                    }
                    None => self.release(id, runner).await?,
                }
            }
            Outcome::Finished(Ok((path, size, whirlpool))) => {
                inner.unreachable.store(0, Ordering::SeqCst);
                inner
                    .failures
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .remove(&id);
                // One trip to the blocking pool: what was learned, the finish, and (when the
                // item is still ours) its fresh row and its package's members.
                let learned = whirlpool.clone().filter(|_| item.whirlpool.is_none());
                let (who, at) = (runner.to_owned(), path.clone());
                let (ours, fresh, members) = self
                    .blocking(move |r| {
                        let store = &r.inner.store;
                        if let Some(w) = &learned {
                            store.set_learned(id, None, None, Some(w))?;
                        }
                        if !store.finish(id, &who, &at)? {
                            return Ok((false, None, Vec::new()));
                        }
                        let fresh = store.get(id)?;
                        let members = match fresh.as_ref().and_then(|f| f.package.clone()) {
                            Some(pkg) => store
                                .list()?
                                .into_iter()
                                .filter(|i| i.package.as_deref() == Some(pkg.as_str()))
                                .collect(),
                            None => Vec::new(),
                        };
                        Ok((true, fresh, members))
                    })
                    .await?;
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
                    let fresh = fresh.unwrap_or_else(|| item.clone());
                    inner
                        .observer
                        .item_done(&fresh, &path, whirlpool.as_deref());
                    if let Some(pkg) = &fresh.package
                        && members.iter().all(|i| i.state == State::Done)
                    {
                        inner.observer.package_done(pkg, &members);
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
                        self.record(item, runner, State::Waiting, &reason, Some(until), true)
                            .await?;
                    }
                    Verdict::NeedsPremium => {
                        self.set_tier(Tier::Free);
                        let until = now_plus(inner.cfg.tier_ttl);
                        self.record(
                            item,
                            runner,
                            State::Waiting,
                            NEEDS_PREMIUM,
                            Some(until),
                            true,
                        )
                        .await?;
                    }
                    Verdict::Offline(reason) => {
                        self.record(item, runner, State::Offline, &reason, None, false)
                            .await?;
                        inner
                            .report
                            .lock()
                            .unwrap_or_else(|p| p.into_inner())
                            .offline += 1;
                        inner.events.event(Event::failed(fid, name.clone(), &e));
                    }
                    Verdict::Retry { reason, wait } => {
                        let until = now_plus(wait);
                        self.record(item, runner, State::Waiting, &reason, Some(until), true)
                            .await?;
                        inner.events.event(Event::Retrying {
                            id: fid,
                            name: name.clone(),
                            attempt: failures,
                            reason: reason.clone(),
                        });
                    }
                    Verdict::Failed { reason, retryable } => {
                        self.record(item, runner, State::Failed, &reason, None, retryable)
                            .await?;
                        inner
                            .report
                            .lock()
                            .unwrap_or_else(|p| p.into_inner())
                            .failed += 1;
                        inner.events.event(Event::failed(fid, name.clone(), &e));
                    }
                }
            }
        }
        Ok(())
    }
}
