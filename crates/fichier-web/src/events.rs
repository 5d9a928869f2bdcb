//! Live updates: one watcher per daemon polls `store.version()` twice a second and publishes
//! the queue when it changed; each open page gets, over server-sent events, only the items that
//! changed since what it has (so a page never polls, and ten pages cost one poll).

use std::collections::HashMap;
use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::{Extension, Query, State};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use fichier_queue::{Item, ItemId};
use futures_util::stream::{self, Stream};
use serde::Deserialize;
use serde_json::json;
use tokio::sync::watch;

use crate::session::{Authorised, current_token};
use crate::state::{App, Snapshot};

/// How often the watcher asks the store whether anything changed.
pub const POLL: Duration = Duration::from_millis(500);

/// Starts the watcher; it ends when `stopping` turns true.
pub fn watch_queue(app: &Arc<App>) -> watch::Receiver<Arc<Snapshot>> {
    let (tx, rx) = watch::channel(Arc::new(Snapshot {
        version: -1,
        ..Snapshot::default()
    }));
    let app = app.clone();
    tokio::spawn(async move {
        let mut stopping = app.stopping.clone();
        loop {
            let current = tx.borrow().clone();
            let inbox = app.inbox.generation();
            match app.queue.version().await {
                Ok(v) if v != current.version || inbox != current.inbox => {
                    if let Ok(items) = app.queue.list().await {
                        let json: HashMap<ItemId, String> = items
                            .iter()
                            .map(|i| (i.id, serde_json::to_string(i).unwrap_or_default()))
                            .collect();
                        log_changes(&app, &current, &items);
                        let _ = tx.send(Arc::new(Snapshot {
                            version: v,
                            inbox,
                            pending: app.inbox.pending_count(),
                            items,
                            json,
                        }));
                    }
                }
                Ok(_) => {}
                Err(e) => tracing::warn!("dashboard cannot read the queue: {e}"),
            }
            tokio::select! {
                () = tokio::time::sleep(POLL) => {}
                _ = stopping.wait_for(|s| *s) => break,
            }
        }
    });
    rx
}

/// Writes state changes to the recent log (not the first read: that is no change).
fn log_changes(app: &App, before: &Snapshot, items: &[Item]) {
    if before.version < 0 {
        return;
    }
    let old: HashMap<ItemId, &Item> = before.items.iter().map(|i| (i.id, i)).collect();
    for item in items {
        if let Some(prev) = old.get(&item.id)
            && prev.state != item.state
        {
            let name = item.name.as_deref().unwrap_or(&item.source);
            let reason = item
                .reason
                .as_deref()
                .map(|r| format!(": {r}"))
                .unwrap_or_default();
            app.log.push(format!(
                "#{} {name} {} → {}{reason}",
                item.id,
                prev.state.as_str(),
                item.state.as_str()
            ));
        }
    }
}

/// The diff a page needs to go from `have` to `now`.
pub fn diff(have: &HashMap<ItemId, String>, now: &Snapshot) -> serde_json::Value {
    let upserts: Vec<&Item> = now
        .items
        .iter()
        .filter(|i| have.get(&i.id) != now.json.get(&i.id))
        .collect();
    let removed: Vec<ItemId> = have
        .keys()
        .filter(|id| !now.json.contains_key(id))
        .copied()
        .collect();
    let order: Vec<ItemId> = now.items.iter().map(|i| i.id).collect();
    json!({
        "version": now.version,
        "pending": now.pending,
        "order": order,
        "upserts": upserts,
        "removed": removed,
    })
}

/// Query of `/api/events`.
#[derive(Debug, Deserialize)]
pub struct Since {
    /// The version the page was rendered at: no first full message when still current.
    pub since: Option<i64>,
}

/// How often an open stream checks that its access token is still the current one.
const REVOKED_CHECK: Duration = Duration::from_secs(1);

/// `GET /api/events`: `queue` events with the changed items, until the stream's token is
/// revoked (a newer `fichier dashboard`) or the daemon stops.
pub async fn stream(
    State(app): State<Arc<App>>,
    Extension(authorised): Extension<Authorised>,
    Query(q): Query<Since>,
) -> Response {
    let Some(rx) = app.snapshots.get().cloned() else {
        return axum::http::StatusCode::SERVICE_UNAVAILABLE.into_response();
    };
    let token_path = app.token_path.clone();
    let revoked = move || current_token(&token_path) != authorised.token;
    Sse::new(updates(rx, q.since, revoked))
        .keep_alive(KeepAlive::default())
        .into_response()
}

fn updates(
    rx: watch::Receiver<Arc<Snapshot>>,
    since: Option<i64>,
    revoked: impl Fn() -> bool + Send + 'static,
) -> impl Stream<Item = Result<Event, Infallible>> {
    let start = {
        let first = rx.borrow().clone();
        // The page already shows this version: start from it without resending it.
        if since.is_some_and(|v| v == first.version) {
            (first.json.clone(), first.pending, false)
        } else {
            (HashMap::new(), usize::MAX, true)
        }
    };
    stream::unfold(
        (rx, start.0, start.1, start.2, revoked),
        |(mut rx, mut have, mut pending, mut send_now, revoked)| async move {
            loop {
                if revoked() {
                    return None;
                }
                if !send_now {
                    tokio::select! {
                        changed = rx.changed() => if changed.is_err() {
                            return None; // the daemon is stopping
                        },
                        () = tokio::time::sleep(REVOKED_CHECK) => continue,
                    }
                }
                send_now = false;
                let now = rx.borrow_and_update().clone();
                if now.version < 0 {
                    continue;
                }
                let d = diff(&have, &now);
                let nothing = d["upserts"].as_array().is_some_and(|a| a.is_empty())
                    && d["removed"].as_array().is_some_and(|a| a.is_empty())
                    && now.pending == pending;
                have.clone_from(&now.json);
                pending = now.pending;
                if nothing {
                    continue;
                }
                let event = Event::default().event("queue").data(d.to_string());
                return Some((Ok(event), (rx, have, pending, false, revoked)));
            }
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_page_gets_only_what_changed() {
        let dir = tempfile::tempdir().unwrap();
        let queue =
            crate::queue::Queue::open(&dir.path().join("q.sqlite"), dir.path().into()).unwrap();
        let links = [
            "https://1fichier.com/?aaaaaaaaaa",
            "https://1fichier.com/?bbbbbbbbbb",
        ];
        queue
            .add_links(
                links.iter().map(|l| (*l).to_owned()).collect(),
                None,
                None,
                "test".to_owned(),
                None,
            )
            .await
            .unwrap();
        let read = |items: Vec<Item>, version| Snapshot {
            version,
            json: items
                .iter()
                .map(|i| (i.id, serde_json::to_string(i).unwrap()))
                .collect(),
            items,
            ..Snapshot::default()
        };
        let first = read(queue.list().await.unwrap(), 1);
        let all = diff(&HashMap::new(), &first);
        assert_eq!(all["upserts"].as_array().unwrap().len(), 2);
        assert_eq!(
            diff(&first.json, &first)["upserts"]
                .as_array()
                .unwrap()
                .len(),
            0
        );

        let id = first.items[1].id;
        queue
            .act(crate::queue::Op::Pause, fichier_queue::Selector::Id(id))
            .await
            .unwrap();
        queue
            .act(
                crate::queue::Op::Remove,
                fichier_queue::Selector::Id(first.items[0].id),
            )
            .await
            .unwrap();
        let second = read(queue.list().await.unwrap(), 2);
        let d = diff(&first.json, &second);
        let upserts = d["upserts"].as_array().unwrap();
        assert_eq!(upserts.len(), 1);
        assert_eq!(upserts[0]["state"], "paused");
        assert_eq!(d["removed"], serde_json::json!([first.items[0].id]));
        assert_eq!(d["order"], serde_json::json!([id]));
    }
}
