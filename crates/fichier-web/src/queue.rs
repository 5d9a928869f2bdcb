//! The dashboard's side of the queue store: every SQLite call runs on the blocking pool, and
//! adds from the dashboard and Click'n'Load share one path (normalise, split, add, report).

use std::path::{Component, Path, PathBuf};
use std::sync::Arc;

use fichier_queue::{
    AddOutcome, Item, ItemId, NewItem, Position, QueueError, QueueStore, Selector,
};
use serde::Serialize;

use crate::error::WebError;

/// A handle on the store, cheap to clone.
#[derive(Clone, Debug)]
pub struct Queue {
    store: Arc<QueueStore>,
    download_dir: PathBuf,
}

/// What an add did, link by link.
#[derive(Clone, Debug, Default, Serialize)]
pub struct AddReport {
    /// Ids of the new items.
    pub added: Vec<ItemId>,
    /// Links already in the queue: the link, the existing item, why it is a duplicate.
    pub duplicates: Vec<Duplicate>,
    /// Lines that are not 1fichier links (not queued).
    pub ignored: Vec<String>,
}

/// A link not added because the queue already has it.
#[derive(Clone, Debug, Serialize)]
pub struct Duplicate {
    /// The link.
    pub link: String,
    /// The item that has it.
    pub existing: ItemId,
    /// Same link, or same target path.
    pub why: String,
}

impl AddReport {
    /// `2 added, 1 already queued`.
    pub fn summary(&self) -> String {
        let mut s = format!("{} added", self.added.len());
        if !self.duplicates.is_empty() {
            s.push_str(&format!(", {} already queued", self.duplicates.len()));
        }
        if !self.ignored.is_empty() {
            s.push_str(&format!(
                ", {} not 1fichier links ignored",
                self.ignored.len()
            ));
        }
        s
    }

    /// Adds another report's lines to this one.
    pub fn merge(&mut self, other: AddReport) {
        self.added.extend(other.added);
        self.duplicates.extend(other.duplicates);
        self.ignored.extend(other.ignored);
    }
}

/// One line to add: the text as given, the item (`None`: not a 1fichier link), and whether
/// it starts (`false`: added paused).
pub type ToAdd = (String, Option<NewItem>, bool);

/// A user action on items.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Op {
    /// Stop working on it until resumed.
    Pause,
    /// Back to the queue.
    Resume,
    /// Try a failed/offline/waiting item again now.
    Retry,
    /// Forget it (a partial download stays on disk).
    Remove,
    /// First in line.
    Top,
    /// Last in line.
    Bottom,
}

impl Op {
    /// The word in forms and the API.
    pub fn parse(text: &str) -> Option<Op> {
        serde_json::from_value(serde_json::Value::String(text.to_owned())).ok()
    }
}

impl Queue {
    /// Opens the store at `path`; adds without a target folder go to `download_dir`.
    pub fn open(path: &Path, download_dir: PathBuf) -> Result<Queue, QueueError> {
        let store = QueueStore::open(path)?;
        Ok(Queue {
            store: Arc::new(store),
            download_dir,
        })
    }

    /// The default target folder.
    pub fn download_dir(&self) -> &Path {
        &self.download_dir
    }

    async fn with<T: Send + 'static>(
        &self,
        f: impl FnOnce(&QueueStore) -> Result<T, WebError> + Send + 'static,
    ) -> Result<T, WebError> {
        let store = self.store.clone();
        tokio::task::spawn_blocking(move || f(&store)).await?
    }

    /// The store's change counter.
    pub async fn version(&self) -> Result<i64, WebError> {
        self.with(|s| Ok(s.version()?)).await
    }

    /// Every item, in work order.
    pub async fn list(&self) -> Result<Vec<Item>, WebError> {
        self.with(|s| Ok(s.list()?)).await
    }

    /// Resolves the target folder a person typed: empty means the download folder; a
    /// relative path is under it; `..` is refused so a typo cannot climb out.
    pub fn target_dir(&self, typed: Option<&str>) -> Result<PathBuf, WebError> {
        let typed = typed.map(str::trim).filter(|t| !t.is_empty());
        let Some(typed) = typed else {
            return Ok(self.download_dir.clone());
        };
        let path = Path::new(typed);
        if path.components().any(|c| c == Component::ParentDir) {
            return Err(WebError::BadInput(format!(
                "target folder {typed:?} contains '..': give an absolute path or one inside {}",
                self.download_dir.display()
            )));
        }
        Ok(if path.is_absolute() {
            path.to_path_buf()
        } else {
            self.download_dir.join(path)
        })
    }

    /// Adds links (any text lines; the non-1fichier ones are reported as ignored).
    pub async fn add_links(
        &self,
        links: Vec<String>,
        target: Option<PathBuf>,
        package: Option<String>,
        origin: String,
        comment: Option<String>,
    ) -> Result<AddReport, WebError> {
        let target = target.unwrap_or_else(|| self.download_dir.clone());
        let items: Vec<ToAdd> = links
            .into_iter()
            .map(|link| {
                let item = fichier_queue::links::normalise_link(&link).map(|source| NewItem {
                    source,
                    target_dir: target.clone(),
                    package: package.clone(),
                    origin: origin.clone(),
                    comment: comment.clone(),
                    ..NewItem::default()
                });
                (link, item, true)
            })
            .collect();
        self.add_items(items).await
    }

    /// Adds prepared items: `(line, item, starts)`; `None` marks a line that is not a
    /// 1fichier link; `starts == false` adds the item paused.
    pub async fn add_items(&self, items: Vec<ToAdd>) -> Result<AddReport, WebError> {
        self.with(move |s| {
            let mut report = AddReport::default();
            for (link, item, starts) in items {
                let Some(mut item) = item else {
                    report.ignored.push(link);
                    continue;
                };
                // Paused in the same transaction as the add: a running daemon cannot claim
                // it in between.
                item.paused |= !starts;
                match s.add(item)? {
                    AddOutcome::Added(id) => report.added.push(id),
                    AddOutcome::Duplicate { existing, why } => report.duplicates.push(Duplicate {
                        link,
                        existing,
                        why,
                    }),
                }
            }
            Ok(report)
        })
        .await
    }

    /// Applies a user action to an item, a package or everything; returns how many changed.
    pub async fn act(&self, op: Op, selector: Selector) -> Result<usize, WebError> {
        self.with(move |s| {
            let r = match op {
                Op::Pause => s.pause(&selector),
                Op::Resume => s.resume(&selector),
                Op::Retry => s.retry(&selector),
                Op::Remove => s.remove(&selector),
                Op::Top | Op::Bottom => {
                    let Selector::Id(id) = selector else {
                        return Err(WebError::BadInput(
                            "moving works on one item at a time".to_owned(),
                        ));
                    };
                    let pos = if op == Op::Top {
                        Position::Top
                    } else {
                        Position::Bottom
                    };
                    s.move_to(id, pos).map(|()| 1)
                }
            };
            Ok(r?)
        })
        .await
    }

    /// Removes the finished items from the list (their files stay).
    pub async fn clear_done(&self) -> Result<usize, WebError> {
        self.with(|s| Ok(s.clear_done()?)).await
    }
}

/// Items of a `.crawljob` file (either syntax; qstore's parser), ready to add: the job's
/// folder (relative ones under `target`), package (the form's wins), password, priority,
/// file name and comment; a job with `enabled`/`autoStart` false is added paused.
///
/// A file handed to the dashboard is only as trusted as whoever handed it over, so an
/// absolute `downloadFolder` must lie inside `root` (the folder the form names, else the
/// download folder): a job naming `~/.config/autostart` would otherwise plant a program that
/// runs at the next login.
pub fn crawljob_items(
    text: &str,
    target: &Path,
    root: &Path,
    package: Option<String>,
    origin: &str,
) -> Result<Vec<ToAdd>, WebError> {
    use fichier_queue::{crawljob, watch};
    let parsed = crawljob::parse(text).map_err(|e| WebError::BadInput(e.to_string()))?;
    let mut items = Vec::new();
    for (n, job) in parsed.jobs.iter().enumerate() {
        let dir = watch::job_target(job, target)
            .map_err(|e| WebError::BadInput(format!("job {}: {e}", n + 1)))?;
        let inside = dir.starts_with(root)
            && !dir
                .components()
                .any(|c| c == std::path::Component::ParentDir);
        if !inside {
            return Err(WebError::BadInput(format!(
                "job {}: `downloadFolder` {} is outside the download folder {}",
                n + 1,
                dir.display(),
                root.display()
            )));
        }
        for link in job.links() {
            let item = fichier_queue::links::normalise_link(link).map(|source| {
                let mut item = job.item(source, dir.clone(), origin);
                if package.is_some() {
                    item.package = package.clone();
                }
                item
            });
            items.push((link.to_owned(), item, job.starts()));
        }
    }
    Ok(items)
}
