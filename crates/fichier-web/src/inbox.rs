//! Links handed over by web pages (Click'n'Load): a page origin seen for the first time waits
//! in the "pending approval" list; approved origins queue directly from then on; refused
//! origins are dropped quietly. The origin decisions persist in `cnl-origins.json` (`0600`).

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use serde::{Deserialize, Serialize};

use crate::error::WebError;
use crate::log::Log;
use crate::queue::{AddReport, Queue};

/// At most this many entries wait for approval; a new one then pushes out the oldest, so
/// that a page rotating origins cannot lock every other site out.
pub const MAX_PENDING: usize = 100;
/// At most this many 1fichier links wait in one origin's entry (further hand-offs from that
/// origin alone are refused until it is handled).
pub const MAX_ENTRY_LINKS: usize = 1000;
/// At most this many ignored (not 1fichier) links are listed per entry.
pub const MAX_ENTRY_IGNORED: usize = 100;
/// At most this many separate entries from one anonymous origin (see [`is_anonymous`]).
pub const MAX_ANONYMOUS_ENTRIES: usize = 10;
/// The origin of a request that carried neither `Origin` nor `Referer`.
pub const LOCAL: &str = "local (no origin)";

/// Origins that do not name one site: `null` (sandboxed frames, `file:` pages, redirects; any
/// site can send it) and [`LOCAL`]. They are never remembered as approved, and their
/// hand-offs are neither merged nor approved together: each is asked about on its own.
pub fn is_anonymous(origin: &str) -> bool {
    origin == "null" || origin == LOCAL
}

/// Why an anonymous origin's hand-offs are asked about one by one (shown on the page).
pub const ANONYMOUS_WHY: &str = "Any site can send this origin (a sandboxed frame or a \
                                 redirect sends \"null\"; programs send none), so approving \
                                 queues this request alone and is not remembered.";

/// What one Click'n'Load request carried.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Batch {
    /// The page that sent it (`Origin`, else `Referer`), as the browser reported it.
    pub origin: String,
    /// The links, as sent.
    pub links: Vec<String>,
    /// Package name proposed by the page.
    pub package: Option<String>,
    /// `source` field (the page's own claim of where it is; shown, not trusted).
    pub source: Option<String>,
    /// `dir` field: shown only; the target folder is always the daemon's download folder.
    pub dir: Option<String>,
    /// `comment` field.
    pub comment: Option<String>,
    /// The page sent archive passwords (not used: they are not download passwords).
    pub has_passwords: bool,
}

/// A batch waiting in the dashboard.
#[derive(Clone, Debug, Serialize)]
pub struct Pending {
    /// Its number in this daemon's life.
    pub id: u64,
    /// The request.
    pub batch: Batch,
    /// The 1fichier links it holds, normalised: what approval queues.
    pub fichier: Vec<String>,
    /// The other links, listed as ignored.
    pub ignored: Vec<String>,
    /// When it came (the latest hand-off merged into it).
    #[serde(serialize_with = "crate::log::ser_ts")]
    pub received_at: jiff::Timestamp,
    /// Set for an anonymous origin: why approving it is not remembered.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub not_remembered: Option<&'static str>,
}

#[derive(Debug, Default, Serialize, Deserialize)]
struct Origins {
    approved: BTreeSet<String>,
    refused: BTreeSet<String>,
}

#[derive(Debug, Default)]
struct State {
    pending: Vec<Pending>,
    origins: Origins,
}

/// The pending list and the remembered origin decisions.
#[derive(Debug)]
pub struct Inbox {
    state: Mutex<State>,
    path: PathBuf,
    next_id: AtomicU64,
    generation: AtomicU64,
    queue: Queue,
    log: std::sync::Arc<Log>,
}

/// What the dashboard shows of the inbox.
#[derive(Clone, Debug, Serialize)]
pub struct InboxView {
    /// Batches waiting for a decision, oldest first.
    pub pending: Vec<Pending>,
    /// Origins whose links are queued without asking.
    pub approved: Vec<String>,
    /// Origins whose links are dropped.
    pub refused: Vec<String>,
}

/// Splits links into normalised 1fichier links (deduplicated) and the others.
pub fn classify(links: &[String]) -> (Vec<String>, Vec<String>) {
    let mut fichier: Vec<String> = Vec::new();
    let mut ignored = Vec::new();
    for link in links {
        match fichier_queue::links::normalise_link(link) {
            Some(n) if !fichier.contains(&n) => fichier.push(n),
            Some(_) => {}
            None => ignored.push(link.clone()),
        }
    }
    (fichier, ignored)
}

impl Inbox {
    /// Loads the remembered origins from `path` (a missing or unreadable file means none).
    pub fn new(path: PathBuf, queue: Queue, log: std::sync::Arc<Log>) -> Inbox {
        let mut origins: Origins = std::fs::read(&path)
            .ok()
            .and_then(|b| serde_json::from_slice(&b).ok())
            .unwrap_or_default();
        // An older version could remember `null` as approved: that approved every site.
        origins.approved.retain(|o| !is_anonymous(o));
        Inbox {
            state: Mutex::new(State {
                pending: Vec::new(),
                origins,
            }),
            path,
            next_id: AtomicU64::new(1),
            generation: AtomicU64::new(0),
            queue,
            log,
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Changes each time the pending list or the origins change (for the live page).
    pub fn generation(&self) -> u64 {
        self.generation.load(Ordering::Relaxed)
    }

    fn bump(&self) {
        self.generation.fetch_add(1, Ordering::Relaxed);
    }

    /// Takes a request: queued at once for an approved origin, dropped for a refused one,
    /// else kept for approval. The error is the reason sent back after `failed `.
    pub async fn receive(&self, batch: Batch) -> Result<(), WebError> {
        let (fichier, ignored) = classify(&batch.links);
        enum Decision {
            Queue,
            Drop,
            Keep,
        }
        let decision = {
            let state = self.lock();
            if state.origins.refused.contains(&batch.origin) {
                Decision::Drop
            } else if state.origins.approved.contains(&batch.origin) && !is_anonymous(&batch.origin)
            {
                Decision::Queue
            } else {
                Decision::Keep
            }
        };
        match decision {
            Decision::Drop => Err(WebError::Refused),
            Decision::Queue => {
                let report = self.enqueue(&batch, &fichier).await?;
                self.log.push(format!(
                    "Click'n'Load from {}: {}, {} ignored",
                    batch.origin,
                    report.summary(),
                    ignored.len()
                ));
                Ok(())
            }
            Decision::Keep => self.keep(batch, fichier, ignored),
        }
    }

    /// Holds a hand-off for approval: merged into its origin's entry (one entry per origin,
    /// at most [`MAX_ENTRY_LINKS`] links), or a new entry, which pushes out the oldest when
    /// [`MAX_PENDING`] wait. A full entry refuses only its own origin.
    fn keep(
        &self,
        mut batch: Batch,
        fichier: Vec<String>,
        mut ignored: Vec<String>,
    ) -> Result<(), WebError> {
        let anonymous = is_anonymous(&batch.origin);
        let mut state = self.lock();
        if !anonymous
            && let Some(entry) = state
                .pending
                .iter_mut()
                .find(|p| p.batch.origin == batch.origin)
        {
            let new: Vec<String> = fichier
                .into_iter()
                .filter(|l| !entry.fichier.contains(l))
                .collect();
            if entry.fichier.len() + new.len() > MAX_ENTRY_LINKS {
                return Err(WebError::TooManyPending);
            }
            entry.fichier.extend(new);
            let room = MAX_ENTRY_IGNORED.saturating_sub(entry.ignored.len());
            entry.ignored.extend(ignored.into_iter().take(room));
            let room = MAX_ENTRY_LINKS.saturating_sub(entry.batch.links.len());
            entry.batch.links.extend(batch.links.into_iter().take(room));
            entry.batch.has_passwords |= batch.has_passwords;
            for (field, value) in [
                (&mut entry.batch.package, batch.package),
                (&mut entry.batch.source, batch.source),
                (&mut entry.batch.dir, batch.dir),
                (&mut entry.batch.comment, batch.comment),
            ] {
                if field.is_none() {
                    *field = value;
                }
            }
            entry.received_at = jiff::Timestamp::now();
            drop(state);
            self.bump();
            return Ok(());
        }
        if anonymous
            && state
                .pending
                .iter()
                .filter(|p| p.batch.origin == batch.origin)
                .count()
                >= MAX_ANONYMOUS_ENTRIES
        {
            return Err(WebError::TooManyPending);
        }
        let evicted = if state.pending.len() >= MAX_PENDING {
            Some(state.pending.remove(0).batch.origin)
        } else {
            None
        };
        ignored.truncate(MAX_ENTRY_IGNORED);
        batch.links.truncate(MAX_ENTRY_LINKS);
        let message = format!(
            "Click'n'Load from {}: {} link(s) wait for approval",
            batch.origin,
            batch.links.len()
        );
        state.pending.push(Pending {
            id: self.next_id.fetch_add(1, Ordering::Relaxed),
            batch,
            fichier,
            ignored,
            received_at: jiff::Timestamp::now(),
            not_remembered: anonymous.then_some(ANONYMOUS_WHY),
        });
        drop(state);
        if let Some(origin) = evicted {
            self.log.push(format!(
                "Click'n'Load: {MAX_PENDING} origins wait; dropped the oldest (from {origin})"
            ));
        }
        self.log.push(message);
        self.bump();
        Ok(())
    }

    /// Queues one anonymous hand-off, remembering nothing (see [`is_anonymous`]).
    async fn approve_once(&self, pending: Pending) -> Result<AddReport, WebError> {
        let report = self.enqueue(&pending.batch, &pending.fichier).await?;
        self.log.push(format!(
            "Approved one Click'n'Load request from {} (not remembered): {}",
            pending.batch.origin,
            report.summary()
        ));
        self.bump();
        Ok(report)
    }

    async fn enqueue(&self, batch: &Batch, fichier: &[String]) -> Result<AddReport, WebError> {
        self.queue
            .add_links(
                fichier.to_vec(),
                None,
                batch.package.clone(),
                format!("cnl:{}", batch.origin),
                batch.comment.clone(),
            )
            .await
    }

    /// Queues a pending batch and remembers its origin as approved (an anonymous origin:
    /// that batch alone, remembered for nothing).
    pub async fn approve(&self, id: u64) -> Result<AddReport, WebError> {
        let pending = self.take(id)?;
        if is_anonymous(&pending.batch.origin) {
            return self.approve_once(pending).await;
        }
        {
            let mut state = self.lock();
            state.origins.refused.remove(&pending.batch.origin);
            state.origins.approved.insert(pending.batch.origin.clone());
            // Later batches from the same origin were waiting too: they go along.
        }
        let mut report = self.enqueue(&pending.batch, &pending.fichier).await?;
        let same: Vec<Pending> = {
            let mut state = self.lock();
            let (same, rest) = std::mem::take(&mut state.pending)
                .into_iter()
                .partition(|p| p.batch.origin == pending.batch.origin);
            state.pending = rest;
            same
        };
        for p in same {
            report.merge(self.enqueue(&p.batch, &p.fichier).await?);
        }
        self.save();
        self.log.push(format!(
            "Approved Click'n'Load origin {}: {}",
            pending.batch.origin,
            report.summary()
        ));
        self.bump();
        Ok(report)
    }

    /// Drops a pending batch and every other one from its origin, and remembers the origin
    /// as refused.
    pub fn refuse(&self, id: u64) -> Result<(), WebError> {
        let pending = self.take(id)?;
        {
            let mut state = self.lock();
            let origin = pending.batch.origin.clone();
            state.pending.retain(|p| p.batch.origin != origin);
            state.origins.approved.remove(&origin);
            state.origins.refused.insert(origin);
        }
        self.save();
        self.log.push(format!(
            "Refused Click'n'Load origin {}",
            pending.batch.origin
        ));
        self.bump();
        Ok(())
    }

    /// Forgets a remembered decision: the origin's next links wait for approval again.
    pub fn forget(&self, origin: &str) -> bool {
        let removed = {
            let mut state = self.lock();
            let a = state.origins.approved.remove(origin);
            let r = state.origins.refused.remove(origin);
            a || r
        };
        if removed {
            self.save();
            self.bump();
        }
        removed
    }

    fn take(&self, id: u64) -> Result<Pending, WebError> {
        let mut state = self.lock();
        let at = state
            .pending
            .iter()
            .position(|p| p.id == id)
            .ok_or_else(|| WebError::NotFound(format!("no pending Click'n'Load request #{id}")))?;
        Ok(state.pending.remove(at))
    }

    /// The pending list and remembered origins.
    pub fn view(&self) -> InboxView {
        let state = self.lock();
        InboxView {
            pending: state.pending.clone(),
            approved: state.origins.approved.iter().cloned().collect(),
            refused: state.origins.refused.iter().cloned().collect(),
        }
    }

    /// How many batches wait.
    pub fn pending_count(&self) -> usize {
        self.lock().pending.len()
    }

    fn save(&self) {
        let json = {
            let state = self.lock();
            serde_json::to_vec_pretty(&state.origins).unwrap_or_default()
        };
        if let Err(e) = crate::config::write_private(&self.path, &json) {
            tracing::warn!(path = %self.path.display(), "cannot save Click'n'Load origins: {e}");
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;

    fn batch(origin: &str, links: &[&str]) -> Batch {
        Batch {
            origin: origin.to_owned(),
            links: links.iter().map(|l| (*l).to_owned()).collect(),
            package: Some("pkg".to_owned()),
            ..Batch::default()
        }
    }

    fn inbox(dir: &std::path::Path) -> (Inbox, Queue) {
        let queue = Queue::open(&dir.join("queue.sqlite"), dir.join("dl")).unwrap();
        let inbox = Inbox::new(
            dir.join("cnl-origins.json"),
            queue.clone(),
            Arc::new(Log::default()),
        );
        (inbox, queue)
    }

    #[tokio::test]
    async fn a_new_origin_waits_an_approved_one_queues_a_refused_one_is_dropped() {
        let dir = tempfile::tempdir().unwrap();
        let (inbox, queue) = inbox(dir.path());
        let page = "https://links.example";
        inbox
            .receive(batch(
                page,
                &["https://1fichier.com/?aaaaaaaaaa", "https://x.example/y"],
            ))
            .await
            .unwrap();
        inbox
            .receive(batch(page, &["https://megadl.fr/?bbbbbbbbbb"]))
            .await
            .unwrap();
        assert!(queue.list().await.unwrap().is_empty());
        let view = inbox.view();
        assert_eq!(view.pending.len(), 1, "one entry per origin");
        assert_eq!(view.pending[0].fichier.len(), 2);
        assert_eq!(view.pending[0].ignored, ["https://x.example/y"]);

        // Approving approves the origin: both of its requests are queued.
        let report = inbox.approve(view.pending[0].id).await.unwrap();
        assert_eq!(report.added.len(), 2);
        assert_eq!(inbox.pending_count(), 0);
        let items = queue.list().await.unwrap();
        assert_eq!(items[0].origin, "cnl:https://links.example");
        assert_eq!(items[1].source, "https://1fichier.com/?bbbbbbbbbb");
        inbox
            .receive(batch(page, &["https://1fichier.com/?cccccccccc"]))
            .await
            .unwrap();
        assert_eq!(queue.list().await.unwrap().len(), 3);

        let other = "http://127.0.0.1:8000";
        inbox
            .receive(batch(other, &["https://1fichier.com/?dddddddddd"]))
            .await
            .unwrap();
        let id = inbox.view().pending[0].id;
        inbox.refuse(id).unwrap();
        let again = inbox
            .receive(batch(other, &["https://1fichier.com/?eeeeeeeeee"]))
            .await;
        assert!(matches!(again, Err(WebError::Refused)), "{again:?}");
        assert_eq!(inbox.pending_count(), 0);
        assert_eq!(queue.list().await.unwrap().len(), 3);

        // The decisions outlive the process; forgetting makes the origin ask again.
        let (reloaded, _) = self::inbox(dir.path());
        let view = reloaded.view();
        assert_eq!(view.approved, [page]);
        assert_eq!(view.refused, [other]);
        assert!(reloaded.forget(other));
        reloaded
            .receive(batch(other, &["https://1fichier.com/?ffffffffff"]))
            .await
            .unwrap();
        assert_eq!(reloaded.pending_count(), 1);
    }

    #[tokio::test]
    async fn a_full_pending_list_pushes_out_the_oldest_instead_of_refusing_new_sites() {
        let dir = tempfile::tempdir().unwrap();
        let (inbox, _) = inbox(dir.path());
        for i in 0..MAX_PENDING {
            inbox
                .receive(batch(
                    &format!("http://p{i}.example"),
                    &["https://1fichier.com/?a"],
                ))
                .await
                .unwrap();
        }
        inbox
            .receive(batch("http://late.example", &["https://1fichier.com/?a"]))
            .await
            .unwrap();
        let view = inbox.view();
        assert_eq!(view.pending.len(), MAX_PENDING);
        assert_eq!(view.pending[0].batch.origin, "http://p1.example");
        assert_eq!(
            view.pending.last().unwrap().batch.origin,
            "http://late.example"
        );
    }
}
