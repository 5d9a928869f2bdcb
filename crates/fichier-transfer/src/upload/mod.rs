//! Uploads: plan local files and trees, create the missing folders, skip identical files,
//! then upload with `-j` parallel workers (small files batched into one multipart request),
//! verify every file against the `end.pl` report and the folder, and retry without ever
//! leaving a duplicate or a damaged copy behind. Planning is in `plan`, the requests in
//! `run`, the verdict on each attempt in `settle`; this module runs the whole.

mod plan;
mod run;
mod settle;

use std::collections::{BTreeSet, HashMap, HashSet};
use std::path::PathBuf;
use std::sync::atomic::AtomicBool;
use std::sync::{Arc, Mutex};

use fichier_api::FolderId;
use futures_util::StreamExt;

use plan::{Check, Job, display_remote, make_units, walk};
pub use plan::{UploadDest, UploadOptions};
use settle::{Finished, Run};

use crate::engine::Engine;
use crate::error::{ErrorClass, TransferError};
use crate::events::{Event, EventSink, FileId};
use crate::summary::Summary;

impl Engine {
    /// Uploads `sources` (files, and directory trees with `opts.recursive`) into `dest`.
    ///
    /// Every file is reported through `events`; the returned summary lists what failed and
    /// why. A file counts as done only when the `end.pl` report (or, after an ambiguous
    /// failure, the folder) shows it with the local name, size and whirlpool.
    pub async fn upload(
        &self,
        sources: &[PathBuf],
        dest: &UploadDest,
        opts: &UploadOptions,
        events: Arc<dyn EventSink>,
    ) -> Summary {
        let started = std::time::Instant::now();
        let calls_before = self.calls_since(0).await;
        let mut summary = Summary::default();
        let srcs = sources.to_vec();
        let (recursive, follow) = (opts.recursive, opts.follow_symlinks);
        let plan = tokio::task::spawn_blocking(move || walk(&srcs, recursive, follow))
            .await
            .unwrap_or_default();
        for message in &plan.notices {
            events.event(Event::Notice {
                message: message.clone(),
            });
        }
        let mut next_id: FileId = 0;
        for (name, e) in &plan.bad {
            let id = next_id;
            next_id += 1;
            events.event(Event::failed(id, name.clone(), e));
            summary.fail(name, e);
        }

        // Folders, parents first (BTreeSet order puts a prefix before its extensions).
        let mut folder_of: HashMap<Vec<String>, Result<FolderId, TransferError>> = HashMap::new();
        folder_of.insert(Vec::new(), Ok(dest.folder));
        let mut created: HashSet<FolderId> = HashSet::new();
        let mut wanted: BTreeSet<Vec<String>> = plan.dirs.clone();
        for f in &plan.files {
            for i in 1..=f.rel_dir.len() {
                wanted.insert(f.rel_dir[..i].to_vec());
            }
        }
        for rel in &wanted {
            let parent = folder_of
                .get(&rel[..rel.len() - 1])
                .cloned()
                .unwrap_or_else(|| {
                    Err(TransferError::new(
                        ErrorClass::Permanent,
                        "parent folder missing",
                    ))
                });
            let result = match parent {
                Err(e) => Err(e),
                Ok(pid) => {
                    self.child_folder(pid, &rel[rel.len() - 1], &mut created, dest, rel)
                        .await
                }
            };
            if let Ok(id) = &result
                && created.contains(id)
            {
                let mut full = dest.path.clone();
                full.extend(rel.iter().cloned());
                events.event(Event::Notice {
                    message: format!("created folder {}", display_remote(&full)),
                });
            }
            if let Err(e) = &result
                && matches!(e.class, ErrorClass::Auth | ErrorClass::Flood)
            {
                summary.stopped = Some(e.clone());
            }
            folder_of.insert(rel.clone(), result);
        }

        // Per-file checks and the skip decision.
        let mut jobs: Vec<Job> = Vec::new();
        for f in plan.files {
            let id = next_id;
            next_id += 1;
            let mut remote_parts = dest.path.clone();
            remote_parts.extend(f.rel_dir.iter().cloned());
            remote_parts.push(f.name.clone());
            let remote = display_remote(&remote_parts);
            let fail = |summary: &mut Summary, e: TransferError| {
                events.event(Event::failed(id, f.display.clone(), &e));
                summary.fail(&f.display, &e);
            };
            if let Some(stop) = summary.stopped.clone() {
                fail(&mut summary, stop);
                continue;
            }
            let folder = match folder_of.get(&f.rel_dir) {
                Some(Ok(id)) => *id,
                Some(Err(e)) => {
                    let e = TransferError {
                        message: format!("folder for {remote} unavailable: {}", e.message),
                        ..e.clone()
                    };
                    fail(&mut summary, e);
                    continue;
                }
                None => {
                    fail(
                        &mut summary,
                        TransferError::new(ErrorClass::Permanent, "folder not planned"),
                    );
                    continue;
                }
            };
            match self
                .check_file(&f, folder, &remote, created.contains(&folder), opts)
                .await
            {
                Ok(Check::Upload { size, before }) => {
                    events.event(Event::Queued {
                        id,
                        name: f.display.clone(),
                        size: Some(size),
                    });
                    jobs.push(Job {
                        id,
                        local: f.local,
                        display: f.display,
                        remote,
                        name: f.name,
                        folder,
                        size,
                        before,
                    });
                }
                Ok(Check::Skip(reason)) => {
                    events.event(Event::Skipped {
                        id,
                        name: f.display.clone(),
                        reason,
                    });
                    summary.skipped += 1;
                }
                Err(e) => {
                    if matches!(e.class, ErrorClass::Auth | ErrorClass::Flood) {
                        summary.stopped = Some(e.clone());
                    }
                    fail(&mut summary, e);
                }
            }
        }

        // The folders this run writes into: their memoised listings are stale afterwards.
        let touched: BTreeSet<FolderId> = jobs.iter().map(|j| j.folder).collect();
        // Units: big files alone, small ones batched per folder.
        let units = make_units(jobs, opts);
        let run = Arc::new(Run {
            events: events.clone(),
            opts: opts.clone(),
            done_links: Mutex::new(HashSet::new()),
            abort: Mutex::new(summary.stopped.clone()),
            aborted: AtomicBool::new(summary.stopped.is_some()),
        });
        let results: Vec<Vec<Finished>> = futures_util::stream::iter(units)
            .map(|unit| {
                let run = run.clone();
                async move { self.run_unit(unit, &run).await }
            })
            .buffer_unordered(opts.jobs.max(1))
            .collect()
            .await;
        for (name, r) in results.into_iter().flatten() {
            match r {
                Ok(Some(bytes)) => {
                    summary.done += 1;
                    summary.bytes += bytes;
                }
                Ok(None) => summary.skipped += 1,
                Err(e) => summary.fail(&name, &e),
            }
        }
        if summary.stopped.is_none() {
            summary.stopped = run.abort.lock().unwrap_or_else(|p| p.into_inner()).clone();
        }
        // Only those: the rest of the memo (ancestors, untouched folders) stays valid, so the
        // next upload through this engine (a backup sends one per folder) lists nothing again.
        for folder in touched {
            self.tree().forget(folder);
        }
        summary.seconds = started.elapsed().as_secs_f64();
        summary.api_calls = self.calls_since(calls_before).await;
        summary
    }
}
