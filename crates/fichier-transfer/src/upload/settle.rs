//! Settling one upload attempt: a verified copy is done; a copy that does not match the
//! local file (or was taken while the file changed) is removed before anything is retried,
//! so no duplicate or damaged copy is left behind.

use std::collections::HashSet;
use std::sync::atomic::AtomicBool;
use std::sync::{Arc, Mutex};

use fichier_api::{FileLink, FileRmRequest};

use crate::engine::Engine;
use crate::error::{ErrorClass, Problem, TransferError};
use crate::events::{Event, EventSink};
use crate::upload::plan::{Job, UploadOptions};

/// Where one file stands after an attempt.
pub(crate) enum JobState {
    Verified {
        link: FileLink,
        whirlpool: String,
        recovered: bool,
    },
    /// Copies stored by this attempt that do not match the local file.
    Bad(Vec<FileLink>),
    /// Verified, but the local file changed while it was read: the copy is not a snapshot.
    Changed(FileLink, String),
    /// Nothing stored.
    Missing,
    /// A local problem; retrying will not help.
    Local(TransferError),
}

/// Shared state of one upload run.
pub(crate) struct Run {
    pub(crate) events: Arc<dyn EventSink>,
    pub(crate) opts: UploadOptions,
    /// Links this run uploaded successfully: never treated as stray copies.
    pub(crate) done_links: Mutex<HashSet<String>>,
    /// Set on an error every other file would hit too.
    pub(crate) abort: Mutex<Option<TransferError>>,
    pub(crate) aborted: AtomicBool,
}

/// What finished, per job.
pub(crate) type Finished = (String, Result<Option<u64>, TransferError>);

pub(crate) enum Settled {
    Done(Result<Option<u64>, TransferError>),
    Retry(TransferError),
}

impl Engine {
    /// Turns an attempt's state into a result or a reason to retry; removes stray copies.
    pub(crate) async fn settle(&self, job: &Job, state: JobState, run: &Run) -> Settled {
        match state {
            JobState::Verified {
                link,
                whirlpool,
                recovered,
            } => {
                run.done_links
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .insert(link.as_str().to_owned());
                run.events.event(Event::Done {
                    id: job.id,
                    name: job.display.clone(),
                    size: job.size,
                    path: Some(job.remote.clone()),
                    link: Some(link.to_string()),
                    whirlpool: Some(whirlpool),
                    recovered,
                });
                Settled::Done(Ok(Some(job.size)))
            }
            JobState::Changed(link, why) => {
                let removed = self.remove_copies(std::slice::from_ref(&link)).await;
                let mut e = TransferError::new(
                    ErrorClass::Local,
                    format!(
                        "{} changed while it was being uploaded ({why})",
                        job.display
                    ),
                )
                .problem(Problem::Changed {
                    path: job.local.clone(),
                });
                if !removed {
                    e.message.push_str(&format!(
                        "; the inconsistent copy {link} could not be removed"
                    ));
                }
                run.events
                    .event(Event::failed(job.id, job.display.clone(), &e));
                Settled::Done(Err(e))
            }
            JobState::Bad(links) => {
                let removed = self.remove_copies(&links).await;
                if removed {
                    Settled::Retry(TransferError::new(
                        ErrorClass::Retryable,
                        "the stored copy did not match the local file (size or whirlpool); it was removed",
                    ))
                } else {
                    Settled::Retry(
                        TransferError::new(
                            ErrorClass::Permanent,
                            format!(
                                "the stored copy does not match the local file and could not be removed: {}",
                                links.iter().map(|l| l.to_string()).collect::<Vec<_>>().join(" ")
                            ),
                        )
                        .problem(Problem::BadCopyKept {
                            links: links.iter().map(|l| l.to_string()).collect(),
                        }),
                    )
                }
            }
            JobState::Missing => Settled::Retry(TransferError::new(
                ErrorClass::Retryable,
                "the upload did not store the file",
            )),
            JobState::Local(e) => Settled::Retry(e),
        }
    }

    pub(crate) async fn remove_copies(&self, links: &[FileLink]) -> bool {
        if links.is_empty() {
            return true;
        }
        tracing::warn!("removing {} damaged upload copies", links.len());
        self.client()
            .file_rm(&FileRmRequest::new(links.iter().cloned()))
            .await
            .is_ok()
    }
}
