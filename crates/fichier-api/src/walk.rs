//! The one subtree walk over a [`RemoteTree`] (rclone's `fs/walk` idea): every folder and
//! file under a folder, as typed entries with their [`RemotePath`], in a documented order,
//! one listing per folder, and an explicit list of the folders that could not be listed
//! (never taken as empty, so a caller that deletes or retires knows what it did not see).

use std::collections::HashSet;

use crate::remote_path::RemotePath;
use crate::remote_tree::RemoteTree;
use crate::{Error, FileEntry, FolderId, SubFolder};

/// Where a folder's own entry comes relative to its contents.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum WalkOrder {
    /// A folder before everything inside it (listing, copying).
    #[default]
    Pre,
    /// A folder after everything inside it (deleting: children before parents).
    Post,
}

/// How to walk.
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct WalkOptions {
    /// Pre- or post-order (see [`RemoteTree::walk`]).
    pub order: WalkOrder,
    /// Sort each folder's files and sub-folders by name (byte order, stable, so same-named
    /// entries keep the service's order); otherwise the service's order.
    pub sorted: bool,
    /// When a folder cannot be listed, record it in [`Walk::failed`] and go on with the rest;
    /// otherwise the walk stops with that error.
    pub continue_on_failed_listing: bool,
    /// Descend at most this many levels below the root (`Some(0)`: the root's own entries
    /// only); `None` for the whole subtree.
    pub max_depth: Option<usize>,
    /// Folders (by their path in the walk) neither listed nor given as entries: a subtree the
    /// caller keeps apart (a backup's `.versions`), so walking the rest costs no call for it.
    pub prune: Vec<RemotePath>,
    /// Every folder listed live, not from the memo or the shared listings (before deleting).
    pub fresh: bool,
}

impl WalkOptions {
    /// The whole subtree, pre-order, in the service's order, stopping at the first folder
    /// that cannot be listed.
    pub fn new() -> WalkOptions {
        WalkOptions::default()
    }
    /// With this order.
    pub fn order(mut self, order: WalkOrder) -> WalkOptions {
        self.order = order;
        self
    }
    /// Sorted by name within each folder.
    pub fn sorted(mut self, on: bool) -> WalkOptions {
        self.sorted = on;
        self
    }
    /// Going on past folders that cannot be listed (they are reported in [`Walk::failed`]).
    pub fn continue_on_failed_listing(mut self, on: bool) -> WalkOptions {
        self.continue_on_failed_listing = on;
        self
    }
    /// At most `depth` levels below the root.
    pub fn max_depth(mut self, depth: Option<usize>) -> WalkOptions {
        self.max_depth = depth;
        self
    }

    /// Leaving out the folder at `path` and everything in it.
    pub fn prune(mut self, path: RemotePath) -> WalkOptions {
        self.prune.push(path);
        self
    }

    /// Listing every folder live.
    pub fn fresh(mut self, on: bool) -> WalkOptions {
        self.fresh = on;
        self
    }
}

/// What an entry of a walk is.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum WalkKind {
    /// A folder (its contents follow or precede it, by the order).
    Folder(SubFolder),
    /// A file.
    File(FileEntry),
}

/// One folder or file under the walk's root.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct WalkEntry {
    /// Its path: the root's path joined with the names on the way.
    pub path: RemotePath,
    /// The folder that lists it.
    pub parent: FolderId,
    /// 0 for the root's own entries.
    pub depth: usize,
    /// Folder or file.
    pub kind: WalkKind,
}

/// A folder the walk could not list (only with
/// [`WalkOptions::continue_on_failed_listing`]): what is inside it is unknown, not absent.
#[derive(Debug)]
#[non_exhaustive]
pub struct FailedListing {
    /// The folder.
    pub id: FolderId,
    /// Its path.
    pub path: RemotePath,
    /// Why its listing failed.
    pub error: Error,
}

/// The result of a walk.
#[derive(Debug, Default)]
#[non_exhaustive]
pub struct Walk {
    /// Every folder and file seen, in the walk's order.
    pub entries: Vec<WalkEntry>,
    /// Folders whose listing failed (the root included), in the order they were met.
    pub failed: Vec<FailedListing>,
}

impl Walk {
    /// True when every folder could be listed.
    pub fn is_complete(&self) -> bool {
        self.failed.is_empty()
    }
}

impl RemoteTree {
    /// Walks the subtree of folder `root` (named `root_path` in the entries' paths), one
    /// listing per folder (memoised like [`RemoteTree::listing`]).
    ///
    /// The order is depth-first and deterministic for a given set of listings: in each folder
    /// its files come first, then its sub-folders, each in the service's order or by name
    /// ([`WalkOptions::sorted`]). In [`WalkOrder::Pre`] a sub-folder's entry comes right
    /// before its contents; in [`WalkOrder::Post`] right after them (files keep their place,
    /// so the two orders differ only in where folder entries sit). The root itself is not an
    /// entry. A folder met twice (a cycle in a broken listing) is entered once.
    pub async fn walk(
        &self,
        root: FolderId,
        root_path: &RemotePath,
        opts: &WalkOptions,
    ) -> Result<Walk, Error> {
        let mut walk = Walk::default();
        let mut seen = HashSet::from([root]);
        self.walk_into(root, root_path, 0, opts, &mut seen, &mut walk)
            .await?;
        Ok(walk)
    }

    async fn walk_into(
        &self,
        id: FolderId,
        path: &RemotePath,
        depth: usize,
        opts: &WalkOptions,
        seen: &mut HashSet<FolderId>,
        walk: &mut Walk,
    ) -> Result<(), Error> {
        let listed = if opts.fresh {
            self.listing_fresh(id).await
        } else {
            self.listing(id).await
        };
        let listing = match listed {
            Ok(l) => l,
            Err(error) if opts.continue_on_failed_listing => {
                walk.failed.push(FailedListing {
                    id,
                    path: path.clone(),
                    error,
                });
                return Ok(());
            }
            Err(e) => return Err(e),
        };
        let mut files = listing.items.clone();
        let mut folders = listing.sub_folders.clone();
        if opts.sorted {
            files.sort_by(|a, b| a.filename.cmp(&b.filename));
            folders.sort_by(|a, b| a.name.cmp(&b.name));
        }
        for f in files {
            walk.entries.push(WalkEntry {
                path: path.join(f.filename.clone()),
                parent: id,
                depth,
                kind: WalkKind::File(f),
            });
        }
        let descend = opts.max_depth.is_none_or(|m| depth < m);
        for f in folders {
            let sub = path.join(f.name.clone());
            if opts.prune.contains(&sub) {
                continue;
            }
            let entry = WalkEntry {
                path: sub.clone(),
                parent: id,
                depth,
                kind: WalkKind::Folder(f.clone()),
            };
            if opts.order == WalkOrder::Pre {
                walk.entries.push(entry.clone());
            }
            if descend && seen.insert(f.id) {
                Box::pin(self.walk_into(f.id, &sub, depth + 1, opts, seen, walk)).await?;
            }
            if opts.order == WalkOrder::Post {
                walk.entries.push(entry);
            }
        }
        Ok(())
    }
}

/// Against the emulator over a real loopback socket.
#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use fichier_testkit::{Fault, FaultPlan, TestEmu};

    use super::*;
    use crate::{
        ApiKey, Client, ErrorKind, FolderMkdirRequest, NoProgress, NodeAnswer, NodeFields,
        NodeFile, PacerConfig, ROOT_FOLDER, RetryPolicy,
    };

    fn client(t: &TestEmu) -> Client {
        Client::builder()
            .api_url(t.api_url())
            .api_key(ApiKey::parse(t.key()).unwrap())
            .pacer_config(PacerConfig::unthrottled())
            // A failed listing stays failed: the walk, not the retry loop, is under test.
            .retry_policy(RetryPolicy::none())
            .build()
            .unwrap()
    }

    async fn mkdir(c: &Client, name: &str, parent: FolderId) -> FolderId {
        c.folder_mkdir(&FolderMkdirRequest::new(name.to_owned(), parent))
            .await
            .unwrap()
            .folder_id
    }

    async fn upload(c: &Client, dir: &std::path::Path, name: &str, folder: FolderId) {
        let local = dir.join(format!("{folder}-{name}"));
        std::fs::write(&local, name).unwrap();
        let file = NodeFile {
            len: std::fs::metadata(&local).unwrap().len(),
            path: local,
            name: name.to_owned(),
        };
        let sent = c
            .upload_to_node(&NodeFields::new(folder), &[file], Arc::new(NoProgress))
            .await
            .unwrap();
        assert!(matches!(sent.answer, NodeAnswer::Report(_)));
    }

    /// `/top` holding `z.txt`, `a.txt`, `B/` (with `b.txt` and `B/C/` with `c.txt`) and `A/`
    /// (empty), created in that order so the service's order is not the sorted one.
    async fn seed(c: &Client) -> FolderId {
        let tmp = tempfile::tempdir().unwrap();
        let top = mkdir(c, "top", ROOT_FOLDER).await;
        upload(c, tmp.path(), "z.txt", top).await;
        upload(c, tmp.path(), "a.txt", top).await;
        let b = mkdir(c, "B", top).await;
        upload(c, tmp.path(), "b.txt", b).await;
        let cc = mkdir(c, "C", b).await;
        upload(c, tmp.path(), "c.txt", cc).await;
        mkdir(c, "A", top).await;
        top
    }

    fn shown(walk: &Walk) -> Vec<String> {
        walk.entries
            .iter()
            .map(|e| match &e.kind {
                WalkKind::Folder(_) => format!("{}/", e.path),
                WalkKind::File(_) => e.path.to_string(),
            })
            .collect()
    }

    #[tokio::test]
    async fn walks_pre_and_post_order_sorted_with_one_listing_per_folder() {
        let t = TestEmu::start().await;
        let c = client(&t);
        let top = seed(&c).await;
        let root = RemotePath::parse("/top").unwrap();
        let before = t.calls("folder/ls");
        let tree = RemoteTree::new(c.clone());
        let pre = tree
            .walk(top, &root, &WalkOptions::new().sorted(true))
            .await
            .unwrap();
        assert_eq!(
            shown(&pre),
            [
                "/top/a.txt",
                "/top/z.txt",
                "/top/A/",
                "/top/B/",
                "/top/B/b.txt",
                "/top/B/C/",
                "/top/B/C/c.txt",
            ]
        );
        assert!(pre.is_complete());
        assert_eq!(t.calls("folder/ls") - before, 4, "one listing per folder");
        let depths: Vec<usize> = pre.entries.iter().map(|e| e.depth).collect();
        assert_eq!(depths, [0, 0, 0, 0, 1, 1, 2]);

        let post = tree
            .walk(
                top,
                &root,
                &WalkOptions::new().sorted(true).order(WalkOrder::Post),
            )
            .await
            .unwrap();
        assert_eq!(
            shown(&post),
            [
                "/top/a.txt",
                "/top/z.txt",
                "/top/A/",
                "/top/B/b.txt",
                "/top/B/C/c.txt",
                "/top/B/C/",
                "/top/B/",
            ]
        );
        // Memoised: the second walk listed nothing again.
        assert_eq!(t.calls("folder/ls") - before, 4);

        // Unsorted keeps the service's order; depth 0 lists the root only.
        let flat = RemoteTree::new(c)
            .walk(top, &root, &WalkOptions::new().max_depth(Some(0)))
            .await
            .unwrap();
        assert_eq!(
            shown(&flat),
            ["/top/z.txt", "/top/a.txt", "/top/B/", "/top/A/"]
        );
    }

    #[tokio::test]
    async fn a_folder_that_cannot_be_listed_is_reported_never_taken_as_empty() {
        let t = TestEmu::start().await;
        let c = client(&t);
        let top = seed(&c).await;
        let root = RemotePath::parse("/top").unwrap();
        // The walk lists /top, then /top/A, then /top/B: B's listing fails.
        // (A plan's call numbers count from when it is set.)
        let fail_b = || {
            t.emu
                .set_fault_plan(FaultPlan::new().on_call("folder/ls", 3, Fault::status(500)));
        };
        let opts = WalkOptions::new().sorted(true);

        fail_b();
        let err = RemoteTree::new(c.clone())
            .walk(top, &root, &opts)
            .await
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Server, "{err}");

        fail_b();
        let walk = RemoteTree::new(c.clone())
            .walk(top, &root, &opts.clone().continue_on_failed_listing(true))
            .await
            .unwrap();
        assert_eq!(
            shown(&walk),
            ["/top/a.txt", "/top/z.txt", "/top/A/", "/top/B/"]
        );
        assert_eq!(walk.failed.len(), 1);
        assert_eq!(walk.failed[0].path.to_string(), "/top/B");
        assert_eq!(walk.failed[0].error.kind(), ErrorKind::Server);
        assert!(!walk.is_complete());

        // The root itself failing is reported the same way.
        t.emu
            .set_fault_plan(FaultPlan::new().on_call("folder/ls", 1, Fault::status(500)));
        let walk = RemoteTree::new(c)
            .walk(top, &root, &opts.continue_on_failed_listing(true))
            .await
            .unwrap();
        assert!(walk.entries.is_empty());
        assert_eq!(walk.failed[0].path.to_string(), "/top");
    }
}
