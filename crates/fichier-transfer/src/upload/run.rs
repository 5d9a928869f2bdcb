//! Running upload units: one multipart request per unit through the library's node primitive
//! (small files batched, big ones alone), file-by-file retries on the client's retry policy,
//! and the checks that decide what each attempt left on the service.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use fichier_api::{
    Next, NodeAnswer, NodeFields, NodeFile, PartObserver, UploadReport, same_whirlpool,
};

use crate::engine::Engine;
use crate::error::{ErrorClass, Problem, TransferError};
use crate::events::{Event, EventSink, FileId};
use crate::hashing::hash_local_file;
use crate::upload::plan::{Job, stamp};
use crate::upload::settle::{Finished, JobState, Run, Settled};

impl Engine {
    pub(crate) async fn run_unit(&self, unit: Vec<Job>, run: &Run) -> Vec<Finished> {
        let mut out = Vec::new();
        let mut singles: Vec<Job> = Vec::new();
        if run.aborted.load(Ordering::Relaxed) {
            return self.not_attempted(unit, run);
        }
        if unit.len() > 1 {
            // One try as a batch; whatever it did not settle is retried file by file.
            let refs: Vec<&Job> = unit.iter().collect();
            let (states, err) = self.attempt(&refs, run).await;
            for (job, state) in unit.into_iter().zip(states) {
                match self.settle(&job, state, run).await {
                    Settled::Done(r) => out.push((job.display.clone(), r)),
                    Settled::Retry(e) => {
                        tracing::debug!("batch left {} unsettled: {}", job.display, e.message);
                        singles.push(job);
                    }
                }
            }
            if let Some(e) = err
                && matches!(e.class, ErrorClass::Auth | ErrorClass::Flood)
            {
                self.stop(run, &e);
            }
        } else {
            singles = unit;
        }
        for job in singles {
            if run.aborted.load(Ordering::Relaxed) {
                out.extend(self.not_attempted(vec![job], run));
                continue;
            }
            let r = self.upload_single(&job, run).await;
            out.push((job.display.clone(), r));
        }
        out
    }

    pub(crate) fn not_attempted(&self, jobs: Vec<Job>, run: &Run) -> Vec<Finished> {
        let stop = run
            .abort
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
            .unwrap_or_else(|| TransferError::new(ErrorClass::Permanent, "stopped"));
        jobs.into_iter()
            .map(|job| {
                let e = TransferError {
                    message: format!("not uploaded: {}", stop.message),
                    ..stop.clone()
                };
                run.events
                    .event(Event::failed(job.id, job.display.clone(), &e));
                (job.display, Err(e))
            })
            .collect()
    }

    pub(crate) fn stop(&self, run: &Run, e: &TransferError) {
        let mut a = run.abort.lock().unwrap_or_else(|p| p.into_inner());
        if a.is_none() {
            *a = Some(e.clone());
        }
        run.aborted.store(true, Ordering::Relaxed);
    }

    pub(crate) async fn upload_single(
        &self,
        job: &Job,
        run: &Run,
    ) -> Result<Option<u64>, TransferError> {
        // Re-sending the file is the client's attempt loop, bounded by attempts only (one
        // attempt is a whole upload); settling first makes a re-send safe (no duplicate).
        let mut tries = self.client().transfer_attempts();
        loop {
            let attempt = tries.start();
            let (mut states, err) = self.attempt(&[job], run).await;
            let state = states.pop().unwrap_or(JobState::Missing);
            let state = match (state, err) {
                (JobState::Missing, Some(e)) => JobState::Local(e),
                (s, _) => s,
            };
            let e = match self.settle(job, state, run).await {
                Settled::Done(r) => return r,
                Settled::Retry(e) => e,
            };
            if matches!(e.class, ErrorClass::Auth | ErrorClass::Flood) {
                self.stop(run, &e);
            }
            match tries.after(e, true) {
                Next::Retry(delay, e) => {
                    run.events.event(Event::Retrying {
                        id: job.id,
                        name: job.display.clone(),
                        attempt,
                        reason: e.message.clone(),
                    });
                    tries.sleep(delay).await;
                }
                Next::Stop(e) => {
                    run.events
                        .event(Event::failed(job.id, job.display.clone(), &e));
                    return Err(e);
                }
            }
        }
    }

    /// One multipart request carrying `jobs` (all in the same folder), then its verification.
    /// Returns one state per job and the request's error, if any.
    pub(crate) async fn attempt(
        &self,
        jobs: &[&Job],
        run: &Run,
    ) -> (Vec<JobState>, Option<TransferError>) {
        let missing = |n: usize| (0..n).map(|_| JobState::Missing).collect::<Vec<_>>();
        self.wait_cooldown(run.events.as_ref()).await;
        if !self.client().has_key() {
            return (
                missing(jobs.len()),
                Some(TransferError::new(
                    ErrorClass::Auth,
                    "uploads need an API key",
                )),
            );
        }
        // The identity of each file now, to notice changes while it is read.
        let mut stamps = Vec::new();
        for job in jobs {
            match stamp(&job.local).await {
                Ok(s) if s.len == 0 => {
                    return (
                        missing(jobs.len()),
                        Some(TransferError::new(
                            ErrorClass::Local,
                            format!("{} became empty", job.display),
                        )),
                    );
                }
                Ok(s) => stamps.push(s),
                Err(e) => {
                    return (
                        missing(jobs.len()),
                        Some(TransferError::io(
                            &format!("cannot read {}", job.display),
                            &e,
                        )),
                    );
                }
            }
        }
        let mut fields = NodeFields::new(jobs[0].folder);
        fields.domain = run.opts.domain;
        fields.password = run.opts.password.clone();
        fields.mails = run.opts.mails.clone();
        fields.message = run.opts.message.clone();
        let files: Vec<NodeFile> = jobs
            .iter()
            .zip(&stamps)
            .map(|(job, st)| NodeFile {
                path: job.local.clone(),
                name: job.name.clone(),
                len: st.len,
            })
            .collect();
        for (i, job) in jobs.iter().enumerate() {
            run.events.event(Event::Started {
                id: job.id,
                name: job.display.clone(),
                size: stamps[i].len,
                resumed_from: 0,
                connections: 1,
            });
        }
        let observer = Arc::new(PartEvents {
            engine: self.clone(),
            ids: jobs.iter().map(|j| j.id).collect(),
            events: run.events.clone(),
        });
        let permit = self.inner.conns.acquire().await;
        let sent = self
            .client()
            .upload_to_node(&fields, &files, observer)
            .await;
        drop(permit);
        let sent = match sent {
            Ok(s) => s,
            Err(e) => return (missing(jobs.len()), Some(e.into())),
        };
        for job in jobs {
            run.events.event(Event::Verifying {
                id: job.id,
                name: job.display.clone(),
            });
        }
        let (report, ambiguous, error): (Option<UploadReport>, bool, Option<TransferError>) =
            match sent.answer {
                NodeAnswer::Report(r) => (Some(r), false, None),
                NodeAnswer::Failed { error, ambiguous } => (None, ambiguous, Some(error.into())),
                _ => (None, true, None),
            };
        let hashes: Vec<Option<String>> = sent.parts.iter().map(|p| p.whirlpool.clone()).collect();
        let local_errs: Vec<Option<(String, bool)>> = sent
            .parts
            .iter()
            .map(|p| p.local_error.clone().map(|m| (m, p.shrank)))
            .collect();

        let mut listing = None;
        let mut states = Vec::with_capacity(jobs.len());
        for (i, job) in jobs.iter().enumerate() {
            if let Some((msg, shrank)) = &local_errs[i] {
                // A file that shrank while being read was cut from the request (the node
                // never gets a short body): try again from the file as it is now.
                let class = if *shrank {
                    ErrorClass::Retryable
                } else {
                    ErrorClass::Local
                };
                states.push(JobState::Local(
                    TransferError::new(class, format!("{}: {msg}", job.display)).problem(
                        Problem::Changed {
                            path: job.local.clone(),
                        },
                    ),
                ));
                continue;
            }
            let hash = hashes.get(i).cloned().flatten();
            let mut state = JobState::Missing;
            if let Some(r) = &report {
                if let Some(entry) = r.links.iter().find(|l| l.filename == job.name) {
                    state = match &hash {
                        Some(h)
                            if entry.size == stamps[i].len
                                && same_whirlpool(&entry.whirlpool, h) =>
                        {
                            JobState::Verified {
                                link: entry.download.clone(),
                                whirlpool: h.clone(),
                                recovered: false,
                            }
                        }
                        _ => JobState::Bad(vec![entry.download.clone()]),
                    };
                } else if ambiguous || r.links.iter().all(|l| l.filename != job.name) {
                    state = JobState::Missing;
                }
            }
            if report.is_none() && ambiguous {
                // Look before re-sending: the folder may hold the file after all.
                if listing.is_none() {
                    listing = Some(self.fresh_listing(job.folder).await);
                }
                if let Some(Ok(l)) = &listing {
                    let done = run
                        .done_links
                        .lock()
                        .unwrap_or_else(|p| p.into_inner())
                        .clone();
                    let new: Vec<_> = l
                        .items
                        .iter()
                        .filter(|e| {
                            e.filename == job.name
                                && !job.before.contains(e.link.as_str())
                                && !done.contains(e.link.as_str())
                        })
                        .collect();
                    let hash = match hash.clone() {
                        Some(h) => Some(h),
                        None if !new.is_empty() => hash_local_file(job.local.clone()).await.ok(),
                        None => None,
                    };
                    let good = new.iter().find(|e| {
                        e.size == stamps[i].len
                            && hash.as_deref().is_some_and(|h| {
                                e.checksum.as_deref().is_some_and(|c| same_whirlpool(c, h))
                            })
                    });
                    state = match (good, hash) {
                        (Some(g), Some(h)) => JobState::Verified {
                            link: g.link.clone(),
                            whirlpool: h,
                            recovered: true,
                        },
                        _ if !new.is_empty() => {
                            JobState::Bad(new.iter().map(|e| e.link.clone()).collect())
                        }
                        _ => JobState::Missing,
                    };
                } else if let Some(Err(e)) = &listing {
                    state = JobState::Local(TransferError {
                        message: format!(
                            "the upload failed and the folder could not be checked ({}); not retrying so no duplicate is left",
                            e.message
                        ),
                        problem: Some(Problem::Unchecked),
                        ..e.clone()
                    });
                }
            }
            if let JobState::Verified { link, .. } = &state {
                match stamp(&job.local).await {
                    Ok(now) if now == stamps[i] => {}
                    Ok(now) => {
                        let why = if now.len != stamps[i].len {
                            format!("size {} then {}", stamps[i].len, now.len)
                        } else {
                            "modified during the read".to_owned()
                        };
                        state = JobState::Changed(link.clone(), why);
                    }
                    Err(e) => state = JobState::Changed(link.clone(), e.to_string()),
                }
            }
            states.push(state);
        }
        (states, error)
    }
}

/// Turns the node primitive's per-part progress into file events, and paces each chunk
/// through the run's bandwidth limit.
struct PartEvents {
    engine: Engine,
    ids: Vec<FileId>,
    events: Arc<dyn EventSink>,
}

impl PartObserver for PartEvents {
    fn part_bytes(&self, index: usize, n: u64) {
        if let Some(id) = self.ids.get(index) {
            self.events.bytes(*id, n);
        }
    }
    fn pace(&self, n: u64) -> Pin<Box<dyn Future<Output = ()> + Send + '_>> {
        Box::pin(self.engine.throttle(n))
    }
}
