//! What the engine tells its caller while it works: one [`Event`] per file state change (the
//! CLI renders them as bars, progress lines or NDJSON) and a cheap byte counter for progress.

use serde::Serialize;

/// Identifies one file within a run (stable for the run, assigned in queue order).
pub type FileId = u64;

/// A file state change. Serialises as one JSON object tagged by `event`
/// (`{"event":"done","id":3,...}`), which is what `--json` prints, one per line.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "event", rename_all = "snake_case")]
#[non_exhaustive]
pub enum Event {
    /// The file is planned: it will be transferred unless skipped.
    Queued {
        /// File id.
        id: FileId,
        /// What the user knows it by (local path for uploads, remote path or link for
        /// downloads).
        name: String,
        /// Size in bytes, when known.
        size: Option<u64>,
    },
    /// An attempt starts moving bytes.
    Started {
        /// File id.
        id: FileId,
        /// Display name.
        name: String,
        /// Size in bytes.
        size: u64,
        /// Bytes already on disk from an earlier run (resumed downloads).
        resumed_from: u64,
        /// Parallel connections used for this file.
        connections: u32,
    },
    /// The attempt failed in a way that can be retried; the engine retries.
    Retrying {
        /// File id.
        id: FileId,
        /// Display name.
        name: String,
        /// The attempt that failed (1-based).
        attempt: u32,
        /// Why.
        reason: String,
    },
    /// Bytes are in place; the checksum is being compared.
    Verifying {
        /// File id.
        id: FileId,
        /// Display name.
        name: String,
    },
    /// Transferred and verified.
    Done {
        /// File id.
        id: FileId,
        /// Display name.
        name: String,
        /// Size in bytes.
        size: u64,
        /// Where the file now is: the local path (downloads) or the remote path (uploads).
        #[serde(skip_serializing_if = "Option::is_none")]
        path: Option<String>,
        /// File link (uploads).
        #[serde(skip_serializing_if = "Option::is_none")]
        link: Option<String>,
        /// Whirlpool, when verified.
        #[serde(skip_serializing_if = "Option::is_none")]
        whirlpool: Option<String>,
        /// True when a failed attempt turned out to have stored the file after all.
        recovered: bool,
    },
    /// Nothing to do for this file.
    Skipped {
        /// File id.
        id: FileId,
        /// Display name.
        name: String,
        /// Why (e.g. an identical file is already there).
        reason: String,
    },
    /// The file failed for good; the rest of the batch goes on.
    Failed {
        /// File id.
        id: FileId,
        /// Display name.
        name: String,
        /// What went wrong.
        error: String,
        /// How to handle it.
        class: crate::error::ErrorClass,
        /// The problem the engine found, when it found one itself (for the caller's advice).
        #[serde(skip)]
        problem: Option<crate::error::Problem>,
        /// The API error's kind, when it came from the API (for the caller's hints).
        #[serde(skip)]
        api_kind: Option<fichier_api::ErrorKind>,
        /// For a flood lock: when the service accepts calls again.
        #[serde(skip)]
        retry_after: Option<std::time::Duration>,
    },
    /// Something the user should know that is not tied to one file (a flood cooldown, a
    /// folder created, a warning).
    Notice {
        /// The message.
        message: String,
    },
}

impl Event {
    /// The `Failed` event of file `id` for `e`.
    pub fn failed(id: FileId, name: impl Into<String>, e: &crate::error::TransferError) -> Event {
        Event::Failed {
            id,
            name: name.into(),
            error: e.message.clone(),
            class: e.class,
            problem: e.problem.clone(),
            api_kind: e.api_kind,
            retry_after: e.retry_after,
        }
    }

    /// The file id, for per-file events.
    pub fn id(&self) -> Option<FileId> {
        match self {
            Event::Queued { id, .. }
            | Event::Started { id, .. }
            | Event::Retrying { id, .. }
            | Event::Verifying { id, .. }
            | Event::Done { id, .. }
            | Event::Skipped { id, .. }
            | Event::Failed { id, .. } => Some(*id),
            Event::Notice { .. } => None,
        }
    }
}

/// Receives events. Implementations must be cheap and must not block: `bytes` is called for
/// every chunk of every connection.
pub trait EventSink: Send + Sync {
    /// A file changed state.
    fn event(&self, event: Event);
    /// `n` more bytes of file `id` were transferred (or, after a retry, `n` may repeat bytes
    /// already counted: callers that want exact totals use `Started::resumed_from`).
    fn bytes(&self, id: FileId, n: u64) {
        let _ = (id, n);
    }
}

/// An [`EventSink`] that hands every event to two others: a caller that reads the
/// events itself (a backup learning its links) and still lets a person watch.
#[derive(Clone)]
pub struct Tee(
    pub std::sync::Arc<dyn EventSink>,
    pub std::sync::Arc<dyn EventSink>,
);

impl std::fmt::Debug for Tee {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Tee")
    }
}

impl EventSink for Tee {
    fn event(&self, event: Event) {
        self.1.event(event.clone());
        self.0.event(event);
    }
    fn bytes(&self, id: FileId, n: u64) {
        self.0.bytes(id, n);
        self.1.bytes(id, n);
    }
}

/// An [`EventSink`] that drops everything.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoEvents;

impl EventSink for NoEvents {
    fn event(&self, _event: Event) {}
}

/// An [`EventSink`] that records events (tests, scripts embedding the engine).
#[derive(Debug, Default)]
pub struct RecordEvents {
    events: std::sync::Mutex<Vec<Event>>,
    bytes: std::sync::atomic::AtomicU64,
}

impl RecordEvents {
    /// An empty recorder.
    pub fn new() -> Self {
        Self::default()
    }
    /// Every event so far, in order.
    pub fn events(&self) -> Vec<Event> {
        self.events
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }
    /// Sum of all `bytes` calls.
    pub fn bytes_total(&self) -> u64 {
        self.bytes.load(std::sync::atomic::Ordering::Relaxed)
    }
}

impl EventSink for RecordEvents {
    fn event(&self, event: Event) {
        self.events
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(event);
    }
    fn bytes(&self, _id: FileId, n: u64) {
        self.bytes
            .fetch_add(n, std::sync::atomic::Ordering::Relaxed);
    }
}
