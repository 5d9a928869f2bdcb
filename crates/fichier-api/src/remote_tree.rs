//! The account's folder tree as users name it: resolving remote paths (typed in
//! `remote_path.rs`) by name against listings memoised for one run, creating
//! missing folders (`mkdir -p`) under a cross-process lock, and the one ambiguity rule
//! (never pick one of several same-named entries: refuse and list them with their ids).
//!
//! Every walker of the workspace (CLI commands, upload, download) goes through here so that
//! `.`/`..`, duplicates and the `id:N` form mean the same thing everywhere:
//!
//! - a typed path: [`RemotePath::parse`]; local names: [`RemotePath::from_names`] / `join`;
//! - a path to a folder or file: [`RemoteTree::resolve`] with an [`Expect`]; to a folder id:
//!   [`RemoteTree::resolve_folder`];
//! - `mkdir -p`: [`RemoteTree::ensure_folder`]; one child folder: [`RemoteTree::ensure_child`]
//!   (create folders only through these two, so that other processes see the creation count);
//! - a folder's listing (with files) once per run: [`RemoteTree::listing`]; the run's own
//!   changes: [`RemoteTree::note_created`], [`RemoteTree::note_removed`], [`RemoteTree::forget`];
//! - everything under a folder: [`RemoteTree::walk`] (in `walk.rs`; the only subtree walk).
//!
//! One tree per run, shared by clones (its memo and in-process locks go with it).

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, MutexGuard};

use crate::remote_path::{PathError, RemotePath, Segment};
use crate::{
    Client, Error, FileEntry, FileLink, FolderId, FolderListing, FolderLsRequest,
    FolderMkdirRequest, ROOT_FOLDER, SubFolder,
};

/// What a caller expects a path to name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Expect {
    /// A file or a folder; a name shared by several entries is ambiguous.
    Any,
    /// A file.
    File,
    /// A folder.
    Folder,
    /// A folder if exactly one has that name, else a file (`ls`).
    FolderFirst,
}

/// What a path resolved to.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum Node {
    /// A folder.
    Folder {
        /// Its id (0 = root).
        id: FolderId,
        /// Its parent, when the path went through it (`None` for the root or a lone `id:N`).
        parent: Option<FolderId>,
        /// The path that named it.
        path: RemotePath,
    },
    /// A file.
    File {
        /// The folder holding it.
        parent: FolderId,
        /// Its listing entry.
        entry: Box<FileEntry>,
        /// The path that named it.
        path: RemotePath,
    },
}

impl Node {
    /// The path that named it.
    pub fn path(&self) -> &RemotePath {
        match self {
            Node::Folder { path, .. } | Node::File { path, .. } => path,
        }
    }
}

/// One of several entries sharing a name.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Candidate {
    /// A folder; `path` names it unambiguously (its last segment is `id:N`).
    Folder {
        /// Its id.
        id: FolderId,
        /// Its name.
        name: String,
        /// An unambiguous path to it.
        path: RemotePath,
    },
    /// A file; its link names it unambiguously.
    File {
        /// Its link.
        link: FileLink,
        /// Its name.
        name: String,
    },
}

impl Candidate {
    /// How a user names exactly this entry: `.../id:N` for a folder, the link for a file.
    pub fn handle(&self) -> String {
        match self {
            Candidate::Folder { path, .. } => path.to_string(),
            Candidate::File { link, .. } => link.to_string(),
        }
    }
}

/// Why a path could not be resolved or created.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TreeError {
    /// The path cannot be read.
    #[error(transparent)]
    Path(#[from] PathError),
    /// Nothing has this name (or no child folder has this id); `path` ends at the missing
    /// segment.
    #[error("{path}: no such file or folder")]
    NotFound {
        /// The path up to the missing segment.
        path: RemotePath,
        /// Names in that folder equal to the missing one but for case.
        similar: Vec<String>,
    },
    /// Several entries have this name; nothing was picked.
    #[error("{path} is ambiguous: {} entries have that name", candidates.len())]
    Ambiguous {
        /// The path up to the ambiguous segment.
        path: RemotePath,
        /// The entries, each with an unambiguous way to name it.
        candidates: Vec<Candidate>,
    },
    /// A file where a folder is needed.
    #[error("{path} is a file, not a folder")]
    NotAFolder {
        /// The path up to the file.
        path: RemotePath,
        /// Whether the path went on below the file.
        inside: bool,
    },
    /// A folder where a file is needed.
    #[error("{path} is a folder, not a file")]
    NotAFile {
        /// The path of the folder.
        path: RemotePath,
    },
    /// The cross-process lock around folder creation could not be taken.
    #[error("cannot lock {}: {source}", path.display())]
    Lock {
        /// The lock file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The API call failed.
    #[error(transparent)]
    Api(#[from] Error),
}

/// A child to record in its parent's memoised listing.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum Child {
    /// A folder.
    Folder(SubFolder),
    /// A file.
    File(FileEntry),
}

/// A child to drop from its parent's memoised listing.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ChildRef {
    /// A folder, by id.
    Folder(FolderId),
    /// A file, by link.
    File(FileLink),
}

/// One folder on the way of [`RemoteTree::ensure_folder`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnsuredStep {
    /// Its path.
    pub path: RemotePath,
    /// Its id.
    pub id: FolderId,
    /// Whether this call created it.
    pub created: bool,
}

/// The result of [`RemoteTree::ensure_folder`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ensured {
    /// The folder at the path.
    pub id: FolderId,
    /// Every folder named by the path, from the top (the start of the path is not listed).
    pub steps: Vec<EnsuredStep>,
}

/// The account's tree for one run: listings (with files) memoised per folder on top of the
/// client's pacer, path resolution, and folder creation. Cheap to clone; clones share the
/// memo. The run's own changes are recorded with [`RemoteTree::note_created`] /
/// [`RemoteTree::note_removed`] so later lookups see them without listing again.
#[derive(Debug, Clone)]
pub struct RemoteTree {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    client: Client,
    memo: Mutex<HashMap<FolderId, Memo>>,
    lock_dir: Option<PathBuf>,
    /// Creation locks of this process, per parent: tasks of one run (and clones of the tree)
    /// take turns here before the file lock, which also covers trees without a lock dir.
    local_locks: Mutex<HashMap<FolderId, Arc<tokio::sync::Mutex<()>>>>,
}

/// One memoised listing.
#[derive(Debug, Clone)]
struct Memo {
    listing: Arc<FolderListing>,
    /// The folder's creation generation (counted in its lock file) when this listing was
    /// known complete: fetched live after reading it, or made by this run's own creation.
    /// `None` for a listing that may come from a cache. Under the lock, an equal generation
    /// means no fichier process created a folder there since, so no live re-list is needed.
    generation: Option<u64>,
}

impl Memo {
    fn new(listing: Arc<FolderListing>, generation: Option<u64>) -> Memo {
        Memo {
            listing,
            generation,
        }
    }
}

impl RemoteTree {
    /// A tree over `client`. Folder creation is locked across processes in the directory of
    /// the pacer's state file, when the client has one (see [`RemoteTree::with_lock_dir`]).
    pub fn new(client: Client) -> RemoteTree {
        let lock_dir = client
            .pacer()
            .config()
            .state_file
            .as_ref()
            .and_then(|p| p.parent().map(PathBuf::from));
        RemoteTree::build(client, lock_dir)
    }

    /// A tree over `client` whose folder creation is locked across processes with lock files
    /// in `dir` (created `0700` if missing): use the same directory as the pacer's state.
    pub fn with_lock_dir(client: Client, dir: impl Into<PathBuf>) -> RemoteTree {
        RemoteTree::build(client, Some(dir.into()))
    }

    fn build(client: Client, lock_dir: Option<PathBuf>) -> RemoteTree {
        RemoteTree {
            inner: Arc::new(Inner {
                client,
                memo: Mutex::new(HashMap::new()),
                lock_dir,
                local_locks: Mutex::new(HashMap::new()),
            }),
        }
    }

    /// The client.
    pub fn client(&self) -> &Client {
        &self.inner.client
    }

    fn memo(&self) -> MutexGuard<'_, HashMap<FolderId, Memo>> {
        self.inner.memo.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// A folder's listing with its files: once per folder per run (the client's pacer may
    /// also answer from its cache).
    pub async fn listing(&self, id: FolderId) -> Result<Arc<FolderListing>, Error> {
        if let Some(m) = self.memo().get(&id) {
            return Ok(m.listing.clone());
        }
        let listing = Arc::new(
            self.inner
                .client
                .folder_ls(&FolderLsRequest::with_files(id))
                .await?,
        );
        self.memo().insert(id, Memo::new(listing.clone(), None));
        Ok(listing)
    }

    /// A live listing (never a cached answer), which replaces the memoised one.
    pub async fn listing_fresh(&self, id: FolderId) -> Result<Arc<FolderListing>, Error> {
        // Read before listing: a creation after this read shows in the listing or bumps it.
        let generation = self.generation(id);
        let listing = Arc::new(
            self.inner
                .client
                .folder_ls_fresh(&FolderLsRequest::with_files(id))
                .await?,
        );
        self.memo()
            .insert(id, Memo::new(listing.clone(), generation));
        Ok(listing)
    }

    /// The memoised listing, if this run has one (no call).
    pub fn memoised(&self, id: FolderId) -> Option<Arc<FolderListing>> {
        self.memo().get(&id).map(|m| m.listing.clone())
    }

    /// Forgets one folder's memoised listing.
    pub fn forget(&self, id: FolderId) {
        self.memo().remove(&id);
    }

    /// Forgets every memoised listing (after changes touching several folders).
    pub fn forget_all(&self) {
        self.memo().clear();
    }

    /// Applies a change this run made to a folder to its memoised listing, if any.
    pub fn update(&self, id: FolderId, f: impl FnOnce(&mut FolderListing)) {
        if let Some(m) = self.memo().get_mut(&id) {
            f(Arc::make_mut(&mut m.listing));
        }
    }

    /// Records a child this run created in `parent`. A new folder is known to be empty, so
    /// looking into it needs no listing (1fichier allows one listing per folder per 30 s).
    pub fn note_created(&self, parent: FolderId, child: Child) {
        let mut memo = self.memo();
        match child {
            Child::Folder(sub) => {
                memo.insert(
                    sub.id,
                    Memo::new(Arc::new(FolderListing::empty(sub.id, &sub.name)), None),
                );
                if let Some(m) = memo.get_mut(&parent) {
                    let l = Arc::make_mut(&mut m.listing);
                    l.sub_folders.retain(|f| f.id != sub.id);
                    l.sub_folders.push(sub);
                }
            }
            Child::File(entry) => {
                if let Some(m) = memo.get_mut(&parent) {
                    let l = Arc::make_mut(&mut m.listing);
                    l.items.retain(|f| f.link != entry.link);
                    l.items.push(entry);
                }
            }
        }
    }

    /// Records a child this run removed from `parent`.
    pub fn note_removed(&self, parent: FolderId, child: &ChildRef) {
        let mut memo = self.memo();
        if let ChildRef::Folder(id) = child {
            memo.remove(id);
        }
        if let Some(m) = memo.get_mut(&parent) {
            let l = Arc::make_mut(&mut m.listing);
            match child {
                ChildRef::Folder(id) => l.sub_folders.retain(|f| f.id != *id),
                ChildRef::File(link) => l.items.retain(|f| f.link != *link),
            }
        }
    }

    /// Resolves `path` to a folder or a file, as `expect` says. Never picks one of several
    /// entries with the same name: [`TreeError::Ambiguous`] lists them.
    pub async fn resolve(&self, path: &RemotePath, expect: Expect) -> Result<Node, TreeError> {
        let segs = path.segments();
        let (mut current, start) = match segs.first() {
            Some(Segment::Id(id)) => (*id, 1),
            _ => (ROOT_FOLDER, 0),
        };
        if start == segs.len() {
            if expect == Expect::File {
                return Err(TreeError::NotAFile { path: path.clone() });
            }
            if current != ROOT_FOLDER {
                self.check_exists(current, path).await?;
            }
            return Ok(Node::Folder {
                id: current,
                parent: None,
                path: path.clone(),
            });
        }
        let last = segs.len() - 1;
        for (i, seg) in segs.iter().enumerate().skip(start) {
            let listing = self.listing(current).await?;
            let parent_path = path.prefix(i);
            let here = path.prefix(i + 1);
            let want = if i < last { Expect::Folder } else { expect };
            let parent = current;
            let name = match seg {
                Segment::Id(id) => {
                    if !listing.sub_folders.iter().any(|f| f.id == *id) {
                        return Err(TreeError::NotFound {
                            path: here,
                            similar: Vec::new(),
                        });
                    }
                    current = *id;
                    if i == last {
                        if expect == Expect::File {
                            return Err(TreeError::NotAFile { path: here });
                        }
                        return Ok(Node::Folder {
                            id: current,
                            parent: Some(parent),
                            path: here,
                        });
                    }
                    continue;
                }
                Segment::Name(n) => n,
            };
            let folders: Vec<&SubFolder> = listing
                .sub_folders
                .iter()
                .filter(|f| &f.name == name)
                .collect();
            let files: Vec<&FileEntry> = listing
                .items
                .iter()
                .filter(|f| &f.filename == name)
                .collect();
            if want == Expect::Any && folders.len() + files.len() > 1 {
                return Err(ambiguous(here, &parent_path, &folders, &files));
            }
            let pick_folder = match want {
                Expect::Folder => true,
                Expect::File => false,
                Expect::Any | Expect::FolderFirst => !folders.is_empty(),
            };
            if pick_folder {
                match folders.as_slice() {
                    [one] => {
                        current = one.id;
                        if i == last {
                            return Ok(Node::Folder {
                                id: current,
                                parent: Some(parent),
                                path: here,
                            });
                        }
                    }
                    [] if !files.is_empty() => {
                        return Err(TreeError::NotAFolder {
                            path: here,
                            inside: i < last,
                        });
                    }
                    [] => return Err(not_found(here, &listing, name)),
                    _ => return Err(ambiguous(here, &parent_path, &folders, &[])),
                }
            } else {
                return match files.as_slice() {
                    [one] => Ok(Node::File {
                        parent,
                        entry: Box::new((*one).clone()),
                        path: here,
                    }),
                    [] if !folders.is_empty() => Err(TreeError::NotAFile { path: here }),
                    [] => Err(not_found(here, &listing, name)),
                    _ => Err(ambiguous(here, &parent_path, &[], &files)),
                };
            }
        }
        unreachable!("the loop returns on the last segment")
    }

    /// Resolves `path` to a folder id.
    pub async fn resolve_folder(&self, path: &RemotePath) -> Result<FolderId, TreeError> {
        match self.resolve(path, Expect::Folder).await? {
            Node::Folder { id, .. } => Ok(id),
            Node::File { path, .. } => Err(TreeError::NotAFolder {
                path,
                inside: false,
            }),
        }
    }

    /// The folder at `path`, creating what is missing (`mkdir -p`). Never creates a
    /// duplicate: each creation happens under a lock per (account, parent) shared by every
    /// process, after listing the parent live.
    pub async fn ensure_folder(&self, path: &RemotePath) -> Result<Ensured, TreeError> {
        let segs = path.segments();
        let (mut current, start) = match segs.first() {
            Some(Segment::Id(id)) => (*id, 1),
            _ => (ROOT_FOLDER, 0),
        };
        if start == segs.len() && current != ROOT_FOLDER {
            self.check_exists(current, path).await?;
        }
        let mut steps = Vec::new();
        for (i, seg) in segs.iter().enumerate().skip(start) {
            let here = path.prefix(i + 1);
            let (id, created) = match seg {
                Segment::Id(id) => {
                    let listing = self.listing(current).await?;
                    if !listing.sub_folders.iter().any(|f| f.id == *id) {
                        return Err(TreeError::NotFound {
                            path: here,
                            similar: Vec::new(),
                        });
                    }
                    (*id, false)
                }
                Segment::Name(name) => self.ensure_child(current, &path.prefix(i), name).await?,
            };
            current = id;
            steps.push(EnsuredStep {
                path: here,
                id,
                created,
            });
        }
        Ok(Ensured { id: current, steps })
    }

    /// The child folder `name` of `parent` (whose path is `parent_path`, for messages),
    /// created when missing; `true` when this call created it.
    ///
    /// Creation happens under a lock per (account, parent) shared by every process, after a
    /// live listing of the parent, unless this run holds a listing known complete since the
    /// last creation any fichier process made there (the lock file counts them). So
    /// concurrent `mkdir -p` / `upload -r` never make two, and a run that creates a whole
    /// tree lists each parent at most once.
    pub async fn ensure_child(
        &self,
        parent: FolderId,
        parent_path: &RemotePath,
        name: &str,
    ) -> Result<(FolderId, bool), TreeError> {
        let here = parent_path.join(name);
        if let Some(listing) = self.memoised(parent)
            && let Some(id) = single_folder(&listing, name, &here, parent_path)?
        {
            return Ok((id, false));
        }
        let local = self
            .inner
            .local_locks
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .entry(parent)
            .or_default()
            .clone();
        let _local = local.lock().await;
        let mut lock = self.lock_parent(parent).await?;
        let generation = lock.as_mut().map(read_generation);
        let known = self
            .memo()
            .get(&parent)
            .filter(|m| m.generation.is_some() && m.generation == generation)
            .map(|m| m.listing.clone());
        let listing = match known {
            Some(l) => l,
            None => {
                let l = Arc::new(
                    self.inner
                        .client
                        .folder_ls_fresh(&FolderLsRequest::with_files(parent))
                        .await?,
                );
                self.memo().insert(parent, Memo::new(l.clone(), generation));
                l
            }
        };
        if let Some(id) = single_folder(&listing, name, &here, parent_path)? {
            return Ok((id, false));
        }
        let made = self
            .inner
            .client
            .folder_mkdir(&FolderMkdirRequest::new(name.to_owned(), parent))
            .await?;
        let bumped = match (lock.as_mut(), generation) {
            (Some(f), Some(g)) => write_generation(f, g + 1).then_some(g + 1),
            _ => None,
        };
        // Read while the parent is still locked: nobody can have found the new folder yet.
        let child_generation = self.generation(made.folder_id);
        self.note_created(parent, Child::Folder(SubFolder::new(made.folder_id, name)));
        let mut memo = self.memo();
        if let Some(m) = memo.get_mut(&parent) {
            m.generation = bumped;
        }
        if let Some(m) = memo.get_mut(&made.folder_id) {
            m.generation = child_generation;
        }
        Ok((made.folder_id, true))
    }

    /// A folder's creation generation, read without the lock (0 when never created in).
    fn generation(&self, folder: FolderId) -> Option<u64> {
        let path = self.lock_file(folder)?;
        match std::fs::read_to_string(&path) {
            Ok(text) => Some(text.trim().parse().unwrap_or(0)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Some(0),
            Err(_) => None,
        }
    }

    /// Checks that a folder named by id exists (its listing is memoised for what follows).
    async fn check_exists(&self, id: FolderId, path: &RemotePath) -> Result<(), TreeError> {
        match self.listing(id).await {
            Ok(_) => Ok(()),
            Err(Error::NotFound { .. }) => Err(TreeError::NotFound {
                path: path.clone(),
                similar: Vec::new(),
            }),
            Err(e) => Err(e.into()),
        }
    }

    /// The lock file for creating folders in `parent`, one per account and parent.
    pub fn lock_file(&self, parent: FolderId) -> Option<PathBuf> {
        let dir = self.inner.lock_dir.as_ref()?;
        let account = self
            .inner
            .client
            .inner
            .key
            .as_ref()
            .map(|k| k.fingerprint())
            .unwrap_or_else(|| "nokey".to_owned());
        Some(dir.join(format!("tree-{account}-{parent}.lock")))
    }

    /// Takes the creation lock of `parent` (waiting for another process to release it).
    /// Without a lock directory, nothing is locked.
    async fn lock_parent(&self, parent: FolderId) -> Result<Option<std::fs::File>, TreeError> {
        let Some(path) = self.lock_file(parent) else {
            return Ok(None);
        };
        let p = path.clone();
        let taken = tokio::task::spawn_blocking(move || -> std::io::Result<std::fs::File> {
            let f = fichier_state::open_private(&p, false)?;
            f.lock()?;
            Ok(f)
        })
        .await
        .map_err(|e| TreeError::Lock {
            path: path.clone(),
            source: std::io::Error::other(e.to_string()),
        })?;
        taken
            .map(Some)
            .map_err(|source| TreeError::Lock { path, source })
    }
}

/// The generation counted in a locked lock file (0 when empty or unreadable).
fn read_generation(f: &mut std::fs::File) -> u64 {
    use std::io::{Read, Seek};
    let mut text = String::new();
    if f.rewind().is_err() || f.read_to_string(&mut text).is_err() {
        return 0;
    }
    text.trim().parse().unwrap_or(0)
}

/// Records a new generation in a locked lock file; `false` when it could not be written
/// (then the next creator re-lists live).
fn write_generation(f: &mut std::fs::File, generation: u64) -> bool {
    use std::io::{Seek, Write};
    f.set_len(0).is_ok()
        && f.rewind().is_ok()
        && f.write_all(generation.to_string().as_bytes()).is_ok()
}

/// The one folder named `name` in `listing`, `None` when there is none.
fn single_folder(
    listing: &FolderListing,
    name: &str,
    here: &RemotePath,
    parent_path: &RemotePath,
) -> Result<Option<FolderId>, TreeError> {
    let found: Vec<&SubFolder> = listing
        .sub_folders
        .iter()
        .filter(|f| f.name == name)
        .collect();
    match found.as_slice() {
        [] => Ok(None),
        [one] => Ok(Some(one.id)),
        _ => Err(ambiguous(here.clone(), parent_path, &found, &[])),
    }
}

fn ambiguous(
    here: RemotePath,
    parent_path: &RemotePath,
    folders: &[&SubFolder],
    files: &[&FileEntry],
) -> TreeError {
    let candidates = folders
        .iter()
        .map(|f| Candidate::Folder {
            id: f.id,
            name: f.name.clone(),
            path: parent_path.join_id(f.id),
        })
        .chain(files.iter().map(|f| Candidate::File {
            link: f.link.clone(),
            name: f.filename.clone(),
        }))
        .collect();
    TreeError::Ambiguous {
        path: here,
        candidates,
    }
}

fn not_found(here: RemotePath, listing: &FolderListing, name: &str) -> TreeError {
    let similar = listing
        .sub_folders
        .iter()
        .map(|f| f.name.as_str())
        .chain(listing.items.iter().map(|f| f.filename.as_str()))
        .filter(|n| n.eq_ignore_ascii_case(name))
        .map(str::to_owned)
        .collect();
    TreeError::NotFound {
        path: here,
        similar,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> RemotePath {
        RemotePath::parse(s).unwrap()
    }

    #[test]
    fn candidates_name_each_entry_unambiguously() {
        let c = Candidate::Folder {
            id: 42,
            name: "X".into(),
            path: p("/A").join_id(42),
        };
        assert_eq!(c.handle(), "/A/id:42");
        assert_eq!(RemotePath::parse(&c.handle()).unwrap(), p("/A/id:42"));
    }
}

/// Against the emulator over a real loopback socket.
#[cfg(test)]
mod emu_tests {
    use std::sync::Arc;

    use fichier_testkit::TestEmu;

    use super::*;
    use crate::{ApiKey, NoProgress, NodeAnswer, NodeFields, NodeFile, PacerConfig, RetryPolicy};

    fn client(t: &TestEmu) -> Client {
        Client::builder()
            .api_url(t.api_url())
            .api_key(ApiKey::parse(t.key()).unwrap())
            .pacer_config(PacerConfig::unthrottled())
            .retry_policy(RetryPolicy::fast())
            .build()
            .unwrap()
    }

    fn p(s: &str) -> RemotePath {
        RemotePath::parse(s).unwrap()
    }

    async fn upload(c: &Client, dir: &std::path::Path, name: &str, folder: FolderId) -> FileLink {
        let local = dir.join(name);
        std::fs::write(&local, format!("bytes of {name}")).unwrap();
        let file = NodeFile {
            len: std::fs::metadata(&local).unwrap().len(),
            path: local,
            name: name.to_owned(),
        };
        let sent = c
            .upload_to_node(&NodeFields::new(folder), &[file], Arc::new(NoProgress))
            .await
            .unwrap();
        let NodeAnswer::Report(report) = sent.answer else {
            panic!("upload of {name}: {:?}", sent.answer)
        };
        report.links[0].download.clone()
    }

    async fn mkdir(c: &Client, name: &str, parent: FolderId) -> FolderId {
        c.folder_mkdir(&FolderMkdirRequest::new(name.to_owned(), parent))
            .await
            .unwrap()
            .folder_id
    }

    #[tokio::test]
    async fn resolves_folders_and_files_by_name() {
        let t = TestEmu::start().await;
        let c = client(&t);
        let tmp = tempfile::tempdir().unwrap();
        let a = mkdir(&c, "A", ROOT_FOLDER).await;
        let b = mkdir(&c, "b", a).await;
        let link = upload(&c, tmp.path(), "f.txt", b).await;
        let tree = RemoteTree::new(c.clone());

        match tree
            .resolve(&p("/A/./b/../b/f.txt"), Expect::Any)
            .await
            .unwrap()
        {
            Node::File {
                parent,
                entry,
                path,
            } => {
                assert_eq!(parent, b);
                assert_eq!(entry.link, link);
                assert_eq!(path.to_string(), "/A/b/f.txt");
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(tree.resolve_folder(&p("/A/b/")).await.unwrap(), b);
        assert_eq!(
            tree.resolve_folder(&p(&format!("id:{a}/b"))).await.unwrap(),
            b
        );

        match tree.resolve(&p("/A/B"), Expect::Any).await {
            Err(TreeError::NotFound { path, similar }) => {
                assert_eq!(path.to_string(), "/A/B");
                assert_eq!(similar, vec!["b".to_owned()]);
            }
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            tree.resolve(&p("/A/b/f.txt/x"), Expect::Any).await,
            Err(TreeError::NotAFolder { inside: true, .. })
        ));
        assert!(matches!(
            tree.resolve(&p("/A/b"), Expect::File).await,
            Err(TreeError::NotAFile { .. })
        ));
        assert!(matches!(
            tree.resolve(&RemotePath::root(), Expect::File).await,
            Err(TreeError::NotAFile { .. })
        ));
        assert!(matches!(
            tree.resolve(&p("id:987654"), Expect::Folder).await,
            Err(TreeError::NotFound { .. })
        ));
    }

    #[tokio::test]
    async fn duplicate_names_are_refused_with_candidates_and_reachable_by_id() {
        let t = TestEmu::start().await;
        let c = client(&t);
        let a = mkdir(&c, "A", ROOT_FOLDER).await;
        let x1 = mkdir(&c, "X", a).await;
        let x2 = mkdir(&c, "X", a).await;
        let tree = RemoteTree::new(c.clone());
        for expect in [Expect::Any, Expect::Folder, Expect::FolderFirst] {
            match tree.resolve(&p("/A/X/sub"), expect).await {
                Err(TreeError::Ambiguous { path, candidates }) => {
                    assert_eq!(path.to_string(), "/A/X");
                    let handles: Vec<String> = candidates.iter().map(Candidate::handle).collect();
                    assert_eq!(handles, vec![format!("/A/id:{x1}"), format!("/A/id:{x2}")]);
                }
                other => panic!("{other:?}"),
            }
        }
        assert!(matches!(
            tree.ensure_folder(&p("/A/X/new")).await,
            Err(TreeError::Ambiguous { .. })
        ));
        for x in [x1, x2] {
            let by_child = p(&format!("/A/id:{x}"));
            assert_eq!(tree.resolve_folder(&by_child).await.unwrap(), x);
            let ensured = tree.ensure_folder(&by_child.join("sub")).await.unwrap();
            assert!(ensured.steps.last().unwrap().created);
            let whole = p(&format!("id:{x}/sub"));
            assert_eq!(tree.resolve_folder(&whole).await.unwrap(), ensured.id);
        }
        // An id that is not a child of that folder is not found there.
        assert!(matches!(
            tree.resolve(&p(&format!("/id:{x1}")), Expect::Folder).await,
            Ok(Node::Folder { .. })
        ));
        assert!(matches!(
            tree.resolve(&p(&format!("/A/id:{a}")), Expect::Folder)
                .await,
            Err(TreeError::NotFound { .. })
        ));
    }

    #[tokio::test]
    async fn ensure_folder_creates_once_and_remembers_what_it_made() {
        let t = TestEmu::start().await;
        let c = client(&t);
        let locks = tempfile::tempdir().unwrap();
        let tree = RemoteTree::with_lock_dir(c.clone(), locks.path());
        let made = tree.ensure_folder(&p("/A/B/C")).await.unwrap();
        assert_eq!(
            made.steps.iter().map(|s| s.created).collect::<Vec<_>>(),
            vec![true, true, true]
        );
        let before = c.pacer().calls_sent().await;
        // Known from this run's own creations: no call needed.
        assert_eq!(tree.resolve_folder(&p("/A/B/C")).await.unwrap(), made.id);
        assert_eq!(c.pacer().calls_sent().await, before);
        let again = tree.ensure_folder(&p("A/B/C/")).await.unwrap();
        assert_eq!(again.id, made.id);
        assert!(again.steps.iter().all(|s| !s.created));
        // A fresh tree (another run) finds the same folders.
        let other = RemoteTree::new(c.clone());
        assert_eq!(other.ensure_folder(&p("/A/B/C")).await.unwrap().id, made.id);
        assert!(tree.lock_file(0).unwrap().starts_with(locks.path()));
        assert!(other.lock_file(0).is_none(), "no state file, no lock dir");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn concurrent_ensure_folder_never_creates_duplicates() {
        let t = TestEmu::start().await;
        let locks = tempfile::tempdir().unwrap();
        for round in 0..4 {
            let top = format!("R{round}");
            // Independent clients and trees, as separate processes would have (only the lock
            // dir is shared), each having already seen the parent without the folder.
            let mut trees = Vec::new();
            for _ in 0..8 {
                let tree = RemoteTree::with_lock_dir(client(&t), locks.path());
                tree.listing(ROOT_FOLDER).await.unwrap();
                trees.push(tree);
            }
            let mut tasks = Vec::new();
            for tree in trees {
                let path = p(&format!("/{top}/B/C"));
                tasks.push(tokio::spawn(async move {
                    tree.ensure_folder(&path).await.unwrap().id
                }));
            }
            let mut ids = Vec::new();
            for task in tasks {
                ids.push(task.await.unwrap());
            }
            assert!(ids.windows(2).all(|w| w[0] == w[1]), "{ids:?}");
            let c = client(&t);
            let mut folder = ROOT_FOLDER;
            for name in [top.as_str(), "B", "C"] {
                let l = c.folder_ls(&FolderLsRequest::new(folder)).await.unwrap();
                let same: Vec<_> = l.sub_folders.iter().filter(|f| f.name == name).collect();
                assert_eq!(same.len(), 1, "{name}: {:?}", l.sub_folders);
                folder = same[0].id;
            }
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn tasks_sharing_one_tree_never_create_duplicates() {
        let t = TestEmu::start().await;
        // No lock dir: the in-process lock alone keeps the tasks of one run in turn.
        let tree = RemoteTree::new(client(&t));
        let mut tasks = Vec::new();
        for _ in 0..8 {
            let tree = tree.clone();
            tasks.push(tokio::spawn(async move {
                tree.ensure_folder(&p("/S/T")).await.unwrap().id
            }));
        }
        let mut ids = Vec::new();
        for task in tasks {
            ids.push(task.await.unwrap());
        }
        assert!(ids.windows(2).all(|w| w[0] == w[1]), "{ids:?}");
        let c = client(&t);
        let root = c
            .folder_ls(&FolderLsRequest::new(ROOT_FOLDER))
            .await
            .unwrap();
        assert_eq!(root.sub_folders.iter().filter(|f| f.name == "S").count(), 1);
    }

    #[tokio::test]
    async fn the_run_sees_its_own_changes() {
        let t = TestEmu::start().await;
        let c = client(&t);
        let tmp = tempfile::tempdir().unwrap();
        let a = mkdir(&c, "A", ROOT_FOLDER).await;
        let tree = RemoteTree::new(c.clone());
        tree.resolve_folder(&p("/A")).await.unwrap();
        tree.listing(a).await.unwrap();
        let link = upload(&c, tmp.path(), "new.bin", a).await;
        let entry = c.file_ls(a).await.unwrap().items.remove(0);
        tree.note_created(a, Child::File(entry));
        let before = c.pacer().calls_sent().await;
        match tree.resolve(&p("/A/new.bin"), Expect::File).await.unwrap() {
            Node::File { entry, .. } => assert_eq!(entry.link, link),
            other => panic!("{other:?}"),
        }
        tree.note_removed(a, &ChildRef::File(link));
        assert!(matches!(
            tree.resolve(&p("/A/new.bin"), Expect::File).await,
            Err(TreeError::NotFound { .. })
        ));
        tree.note_removed(ROOT_FOLDER, &ChildRef::Folder(a));
        assert!(matches!(
            tree.resolve(&p("/A"), Expect::Folder).await,
            Err(TreeError::NotFound { .. })
        ));
        assert_eq!(c.pacer().calls_sent().await, before);
    }
}
