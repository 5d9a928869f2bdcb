//! The backup destination on 1fichier: [`BackupRemote`] over the engine (uploads, verified)
//! and its [`RemoteTree`](fichier_api::RemoteTree) (listings, folders), plus the library's file
//! moves and deletes. Listings come through the tree, so each folder is listed at most once a
//! run and the cross-process listing cache serves back-to-back runs.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;

use fichier_api::{
    ErrorKind, Expect, FileLink, FileMvRequest, FileRmRequest, FolderId, Node, RemotePath,
    TreeError, WalkKind, WalkOptions, WalkOrder,
};

use crate::manifest::MANIFESTS_DIR;
use crate::plan::{LocalEntry, RemoteCopy};
use crate::run::{BackupRemote, RemoteError, VERSIONS_DIR};
use fichier_transfer::Engine;
use fichier_transfer::{ErrorClass, TransferError};
use fichier_transfer::{Event, EventSink, RecordEvents, Tee};
use fichier_transfer::{UploadDest, UploadOptions};

/// The destination folder of a backup, reached through an engine.
pub struct EngineRemote<'a> {
    engine: &'a Engine,
    dest: RemotePath,
    jobs: usize,
    scratch: PathBuf,
    watcher: Option<Arc<dyn EventSink>>,
}

impl std::fmt::Debug for EngineRemote<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EngineRemote")
            .field("dest", &self.dest)
            .field("jobs", &self.jobs)
            .finish_non_exhaustive()
    }
}

impl<'a> EngineRemote<'a> {
    /// The destination `dest` (created when missing by the first upload), `jobs` files
    /// uploaded in parallel, `scratch` a private directory for manifest files.
    pub fn new(engine: &'a Engine, dest: RemotePath, jobs: usize, scratch: PathBuf) -> Self {
        EngineRemote {
            engine,
            dest,
            jobs: jobs.max(1),
            scratch,
            watcher: None,
        }
    }

    /// Shows the run's phases and every upload's events (progress bars, NDJSON) to `sink`.
    pub fn with_watcher(mut self, sink: Arc<dyn EventSink>) -> Self {
        self.watcher = Some(sink);
        self
    }

    fn path(&self, rel_dir: &str) -> RemotePath {
        let mut p = self.dest.clone();
        for part in rel_dir.split('/').filter(|s| !s.is_empty()) {
            p = p.join(part);
        }
        p
    }

    /// The folder at `rel_dir` under the destination, if it exists.
    async fn find_folder(&self, rel_dir: &str) -> Result<Option<FolderId>, RemoteError> {
        match self
            .engine
            .tree()
            .resolve(&self.path(rel_dir), Expect::Folder)
            .await
        {
            Ok(Node::Folder { id, .. }) => Ok(Some(id)),
            Ok(_) => Err(RemoteError {
                message: format!("{} is a file, not a folder", self.path(rel_dir)),
                stop_run: true,
                kind: None,
            }),
            Err(TreeError::NotFound { .. }) => Ok(None),
            Err(e) => Err(tree_error(e)),
        }
    }

    async fn ensure(&self, rel_dir: &str) -> Result<FolderId, RemoteError> {
        self.engine
            .tree()
            .ensure_folder(&self.path(rel_dir))
            .await
            .map(|e| e.id)
            .map_err(tree_error)
    }

    fn not_planned(&self) -> Result<FolderId, RemoteError> {
        Err(RemoteError {
            message: "folder not prepared".into(),
            stop_run: false,
            kind: None,
        })
    }

    async fn files_in(&self, id: FolderId) -> Result<Vec<fichier_api::FileEntry>, RemoteError> {
        let listing = self.engine.tree().listing(id).await.map_err(api_error)?;
        Ok(listing.items.clone())
    }

    async fn remove_links(&self, links: Vec<String>) -> Result<(), RemoteError> {
        for chunk in links.chunks(100) {
            let parsed: Vec<FileLink> = chunk
                .iter()
                .filter_map(|l| FileLink::parse(l).ok())
                .collect();
            if parsed.is_empty() {
                continue;
            }
            self.engine
                .client()
                .file_rm(&FileRmRequest::new(parsed))
                .await
                .map_err(api_error)?;
        }
        Ok(())
    }

    /// Empties and removes a folder, children first (the service refuses a non-empty one),
    /// through the one subtree walk: post-order, live listings.
    async fn remove_tree(&self, id: FolderId) -> Result<(), RemoteError> {
        let opts = WalkOptions::new().order(WalkOrder::Post).fresh(true);
        let walk = self
            .engine
            .tree()
            .walk(id, &RemotePath::from_names(Vec::<String>::new()), &opts)
            .await
            .map_err(api_error)?;
        let mut files: BTreeMap<FolderId, Vec<String>> = BTreeMap::new();
        let mut folders = Vec::new();
        for e in walk.entries {
            match e.kind {
                WalkKind::File(f) => files.entry(e.parent).or_default().push(f.link.to_string()),
                WalkKind::Folder(sub) => folders.push(sub.id),
                _ => {}
            }
        }
        // Post-order puts every folder after its contents; the root goes last.
        folders.push(id);
        for folder in folders {
            self.remove_links(files.remove(&folder).unwrap_or_default())
                .await?;
            self.engine
                .client()
                .folder_rm(folder)
                .await
                .map_err(api_error)?;
            self.engine.tree().forget(folder);
        }
        Ok(())
    }
}

impl EngineRemote<'_> {
    /// Every file under the destination, live and in versions (not the manifests), as
    /// (path relative to the destination, copy): what a restore can fetch from.
    pub async fn all_copies(&mut self) -> Result<Vec<(String, RemoteCopy)>, RemoteError> {
        let Some(root) = self.find_folder("").await? else {
            return Ok(Vec::new());
        };
        let manifests = RemotePath::from_names([VERSIONS_DIR, MANIFESTS_DIR]);
        let files = self
            .files_under(root, WalkOptions::new().prune(manifests))
            .await?;
        Ok(files
            .into_iter()
            .map(|(names, f)| {
                let rel = names.join("/");
                let copy = RemoteCopy {
                    link: f.link.to_string(),
                    size: f.size,
                    whirlpool: f.checksum.clone(),
                };
                (rel, copy)
            })
            .collect())
    }

    /// Every file under `root` by the one subtree walk, with the names of its path relative
    /// to `root`.
    async fn files_under(
        &self,
        root: FolderId,
        opts: WalkOptions,
    ) -> Result<Vec<(Vec<String>, fichier_api::FileEntry)>, RemoteError> {
        let walk = self
            .engine
            .tree()
            .walk(root, &RemotePath::from_names(Vec::<String>::new()), &opts)
            .await
            .map_err(api_error)?;
        Ok(walk
            .entries
            .into_iter()
            .filter_map(|e| match e.kind {
                WalkKind::File(f) => Some((e.path.components(), f)),
                _ => None,
            })
            .collect())
    }

    /// Downloads a manifest file and returns its bytes (at most 256 MiB).
    pub async fn read_manifest(&mut self, name: &str) -> Result<Vec<u8>, RemoteError> {
        let missing = || RemoteError {
            message: format!("no manifest {name} in {VERSIONS_DIR}/{MANIFESTS_DIR}"),
            stop_run: true,
            kind: None,
        };
        let id = self
            .find_folder(&format!("{VERSIONS_DIR}/{MANIFESTS_DIR}"))
            .await?
            .ok_or_else(missing)?;
        let file = self
            .files_in(id)
            .await?
            .into_iter()
            .find(|f| f.filename == name)
            .ok_or_else(missing)?;
        if file.size > 256 << 20 {
            return Err(RemoteError {
                message: format!("manifest {name} is {} bytes, more than 256 MiB", file.size),
                stop_run: true,
                kind: None,
            });
        }
        let dir = self.scratch.join("manifest");
        let _ = std::fs::remove_dir_all(&dir);
        fichier_state::private_dir(&dir).map_err(local_error)?;
        // The listing gave size and whirlpool: no `file/info` needed, and the bytes are
        // checked against them.
        let path = crate::fetch::fetch_to(
            self.engine,
            file.link.clone(),
            file.size,
            file.checksum.clone(),
            &dir,
            name,
        )
        .await
        .map_err(|e| RemoteError {
            message: e.to_string(),
            stop_run: stops(e.class),
            kind: e.api_kind,
        })?;
        let bytes = std::fs::read(&path).map_err(local_error)?;
        let _ = std::fs::remove_dir_all(&dir);
        Ok(bytes)
    }
}

impl BackupRemote for EngineRemote<'_> {
    fn notice(&mut self, message: &str) {
        if let Some(w) = &self.watcher {
            w.event(Event::Notice {
                message: message.to_string(),
            });
        }
    }

    async fn live_files(&mut self) -> Result<BTreeMap<String, Vec<RemoteCopy>>, RemoteError> {
        let mut out: BTreeMap<String, Vec<RemoteCopy>> = BTreeMap::new();
        let Some(root) = self.find_folder("").await? else {
            return Ok(out);
        };
        let versions = RemotePath::from_names([VERSIONS_DIR]);
        for (names, f) in self
            .files_under(root, WalkOptions::new().prune(versions))
            .await?
        {
            // A name no local file can have (a `/`, `.`, `..`, written by another tool or a
            // hostile share), on the file or any folder above it, must never stand for a
            // local path: it is left alone.
            if !names.iter().all(|n| storable_name(n)) {
                continue;
            }
            out.entry(names.join("/")).or_default().push(RemoteCopy {
                link: f.link.to_string(),
                size: f.size,
                whirlpool: f.checksum.clone(),
            });
        }
        Ok(out)
    }

    async fn upload(
        &mut self,
        files: &[(PathBuf, LocalEntry)],
    ) -> Vec<Result<RemoteCopy, RemoteError>> {
        let mut results: Vec<Option<Result<RemoteCopy, RemoteError>>> = vec![None; files.len()];
        let mut by_dir: BTreeMap<String, Vec<usize>> = BTreeMap::new();
        for (i, (_, e)) in files.iter().enumerate() {
            let dir = e
                .rel
                .rsplit_once('/')
                .map(|(d, _)| d.to_string())
                .unwrap_or_default();
            by_dir.entry(dir).or_default().push(i);
        }
        let mut stop: Option<RemoteError> = None;
        // Every folder first: each is created once under the tree's lock, and the uploads that
        // follow find their ancestors in the engine's memo.
        let mut folders: BTreeMap<String, Result<FolderId, RemoteError>> = BTreeMap::new();
        for dir in by_dir.keys() {
            let result = match &stop {
                Some(s) => Err(s.clone()),
                None => self.ensure(dir).await,
            };
            if let Err(e) = &result
                && e.stop_run
            {
                stop = Some(e.clone());
            }
            folders.insert(dir.clone(), result);
        }
        for (dir, idx) in by_dir {
            if let Some(s) = &stop {
                for i in idx {
                    results[i] = Some(Err(s.clone()));
                }
                continue;
            }
            let folder = match folders.remove(&dir).unwrap_or_else(|| self.not_planned()) {
                Ok(id) => id,
                Err(e) => {
                    for i in idx {
                        results[i] = Some(Err(e.clone()));
                    }
                    continue;
                }
            };
            let paths: Vec<PathBuf> = idx.iter().map(|&i| files[i].0.clone()).collect();
            let dest = UploadDest {
                folder,
                path: self.path(&dir).components(),
            };
            // The plan already compared contents: upload without the engine's own re-check.
            // A backup sends many small files per folder, and each batch costs an
            // `upload/get_upload_server` on the API's pace: batch up to 100 files (the
            // service takes 500; an older SDK splits at 100) and 64 MiB.
            let mut opts = UploadOptions::default();
            opts.jobs = self.jobs;
            opts.force = true;
            opts.batch_files = 100;
            opts.batch_bytes = 64 << 20;
            let rec = Arc::new(RecordEvents::new());
            let sink: Arc<dyn EventSink> = match &self.watcher {
                Some(w) => Arc::new(Tee(rec.clone(), w.clone())),
                None => rec.clone(),
            };
            let summary = self.engine.upload(&paths, &dest, &opts, sink).await;
            let mut names: BTreeMap<u64, String> = BTreeMap::new();
            let mut done: BTreeMap<String, RemoteCopy> = BTreeMap::new();
            let mut failed: BTreeMap<String, RemoteError> = BTreeMap::new();
            for ev in rec.events() {
                match ev {
                    Event::Queued { id, name, .. } => {
                        names.insert(id, name);
                    }
                    Event::Done {
                        id,
                        name,
                        size,
                        link,
                        whirlpool,
                        ..
                    } => {
                        let name = names.get(&id).cloned().unwrap_or(name);
                        if let Some(link) = link {
                            done.insert(
                                name,
                                RemoteCopy {
                                    link,
                                    size,
                                    whirlpool,
                                },
                            );
                        }
                    }
                    Event::Failed {
                        name,
                        error,
                        class,
                        api_kind,
                        ..
                    } => {
                        failed.insert(
                            name,
                            RemoteError {
                                message: error,
                                stop_run: stops(class),
                                kind: api_kind,
                            },
                        );
                    }
                    _ => {}
                }
            }
            if let Some(s) = &summary.stopped {
                stop = Some(transfer_error(s));
            }
            for (&i, p) in idx.iter().zip(&paths) {
                let key = p.display().to_string();
                results[i] = Some(match (done.remove(&key), failed.remove(&key)) {
                    (Some(copy), _) => Ok(copy),
                    (None, Some(e)) => Err(e),
                    (None, None) => Err(stop.clone().unwrap_or(RemoteError {
                        message: "the upload ended without a verdict for this file".into(),
                        stop_run: false,
                        kind: None,
                    })),
                });
            }
        }
        results
            .into_iter()
            .map(|r| {
                r.unwrap_or(Err(RemoteError {
                    message: "not attempted".into(),
                    stop_run: false,
                    kind: None,
                }))
            })
            .collect()
    }

    async fn move_into(&mut self, copies: &[RemoteCopy], dir: &str) -> Result<(), RemoteError> {
        let folder = self.ensure(dir).await?;
        let links = copies
            .iter()
            .map(|c| FileLink::parse(&c.link).map_err(api_error))
            .collect::<Result<Vec<_>, _>>()?;
        self.engine
            .client()
            .file_mv(&FileMvRequest::new(links, folder))
            .await
            .map(|_| ())
            .map_err(api_error)
    }

    async fn delete(&mut self, copies: &[RemoteCopy]) -> Result<(), RemoteError> {
        self.remove_links(copies.iter().map(|c| c.link.clone()).collect())
            .await
    }

    async fn version_folders(&mut self) -> Result<Vec<String>, RemoteError> {
        let Some(id) = self.find_folder(VERSIONS_DIR).await? else {
            return Ok(Vec::new());
        };
        let listing = self.engine.tree().listing(id).await.map_err(api_error)?;
        Ok(listing.sub_folders.iter().map(|s| s.name.clone()).collect())
    }

    async fn remove_version_folder(&mut self, name: &str) -> Result<(), RemoteError> {
        match self.find_folder(&format!("{VERSIONS_DIR}/{name}")).await? {
            Some(id) => self.remove_tree(id).await,
            None => Ok(()),
        }
    }

    async fn manifests(&mut self) -> Result<Vec<String>, RemoteError> {
        let Some(id) = self
            .find_folder(&format!("{VERSIONS_DIR}/{MANIFESTS_DIR}"))
            .await?
        else {
            return Ok(Vec::new());
        };
        Ok(self
            .files_in(id)
            .await?
            .into_iter()
            .map(|f| f.filename)
            .collect())
    }

    async fn put_manifest(&mut self, name: &str, bytes: Vec<u8>) -> Result<(), RemoteError> {
        let dir = format!("{VERSIONS_DIR}/{MANIFESTS_DIR}");
        let folder = self.ensure(&dir).await?;
        let before: Vec<String> = self
            .files_in(folder)
            .await?
            .into_iter()
            .filter(|f| f.filename == name)
            .map(|f| f.link.to_string())
            .collect();
        let path = self.scratch.join(name);
        // A manifest names every backed-up file: private like the rest of the state.
        fichier_state::write_private(&path, &bytes).map_err(local_error)?;
        let entry = LocalEntry {
            rel: format!("{dir}/{name}"),
            size: bytes.len() as u64,
            whirlpool: fichier_api::whirlpool_hex(&bytes),
        };
        // The manifest is the run's own bookkeeping, not a file of the source: a phase line,
        // not a file event named after a scratch path.
        let watcher = self.watcher.take();
        if let Some(w) = &watcher {
            w.event(Event::Notice {
                message: format!("writing the manifest {dir}/{name}"),
            });
        }
        let result = self.upload(&[(path.clone(), entry)]).await.pop();
        self.watcher = watcher;
        let _ = std::fs::remove_file(&path);
        let copy = result.unwrap_or(Err(RemoteError {
            message: "manifest not uploaded".into(),
            stop_run: false,
            kind: None,
        }))?;
        // A rerun of the same stamp (resumed run) replaces its manifest: the new copy is in
        // place before the old one goes.
        let old: Vec<String> = before.into_iter().filter(|l| *l != copy.link).collect();
        self.remove_links(old).await
    }

    async fn remove_manifest(&mut self, name: &str) -> Result<(), RemoteError> {
        let Some(id) = self
            .find_folder(&format!("{VERSIONS_DIR}/{MANIFESTS_DIR}"))
            .await?
        else {
            return Ok(());
        };
        let links = self
            .files_in(id)
            .await?
            .into_iter()
            .filter(|f| f.filename == name)
            .map(|f| f.link.to_string())
            .collect();
        self.remove_links(links).await
    }
}

/// A remote name that is one path segment, as every local name the source walk yields is.
fn storable_name(name: &str) -> bool {
    !name.is_empty() && name != "." && name != ".." && !name.contains('/') && !name.contains('\0')
}

fn stops(class: ErrorClass) -> bool {
    matches!(
        class,
        ErrorClass::Auth | ErrorClass::Flood | ErrorClass::DiskFull
    )
}

fn transfer_error(e: &TransferError) -> RemoteError {
    RemoteError {
        message: e.message.clone(),
        stop_run: stops(e.class),
        kind: e.api_kind,
    }
}

/// Errors after which nothing more should be sent this run: the key, a flood lock, the
/// network. Everything else fails one item.
pub(crate) fn api_error(e: fichier_api::Error) -> RemoteError {
    let stop_run = matches!(
        e.kind(),
        ErrorKind::FloodLocked
            | ErrorKind::Paced
            | ErrorKind::BadKey
            | ErrorKind::NotAuthenticated
            | ErrorKind::NotCustomer
            | ErrorKind::Transport
            | ErrorKind::OwnerLocked
            | ErrorKind::LocationLimit
    );
    RemoteError {
        message: e.to_string(),
        stop_run,
        kind: Some(e.kind()),
    }
}

fn tree_error(e: TreeError) -> RemoteError {
    match e {
        TreeError::Api(api) => api_error(api),
        other => RemoteError {
            message: other.to_string(),
            stop_run: true,
            kind: None,
        },
    }
}

fn local_error(e: std::io::Error) -> RemoteError {
    RemoteError {
        message: format!("local scratch file: {e}"),
        stop_run: true,
        kind: None,
    }
}
