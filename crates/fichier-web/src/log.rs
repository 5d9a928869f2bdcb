//! The recent log shown in the dashboard: what the web side did (adds, actions, Click'n'Load)
//! and the queue's state changes it saw, newest last, bounded.

use std::collections::VecDeque;
use std::sync::Mutex;

use serde::Serialize;

/// Entries kept.
pub const KEEP: usize = 500;

/// One line of the log.
#[derive(Clone, Debug, Serialize)]
pub struct Entry {
    /// When (RFC 3339 in JSON).
    #[serde(serialize_with = "ser_ts")]
    pub at: jiff::Timestamp,
    /// What happened, for a person (escaped when shown).
    pub message: String,
}

/// A bounded, shared log.
#[derive(Debug, Default)]
pub struct Log {
    entries: Mutex<VecDeque<Entry>>,
}

impl Log {
    /// Appends a line, dropping the oldest past [`KEEP`].
    pub fn push(&self, message: String) {
        tracing::info!(target: "fichier_web", "{message}");
        let mut e = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        if e.len() == KEEP {
            e.pop_front();
        }
        e.push_back(Entry {
            at: jiff::Timestamp::now(),
            message,
        });
    }

    /// The last `n` lines, newest first.
    pub fn recent(&self, n: usize) -> Vec<Entry> {
        let e = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        e.iter().rev().take(n).cloned().collect()
    }
}

/// A timestamp as RFC 3339 text.
pub fn ser_ts<S: serde::Serializer>(t: &jiff::Timestamp, s: S) -> Result<S::Ok, S::Error> {
    s.collect_str(t)
}
