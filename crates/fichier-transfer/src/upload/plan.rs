//! Upload planning: walking local sources into files and folders (symbolic links to
//! directories only on request, each directory once), the per-file checks before queueing
//! (size, name, an identical copy already there), the destination folders (through the run's
//! remote tree), and the grouping of small files into batched requests.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use fichier_api::{Domain, FolderId, Password, RemotePath, same_whirlpool};

use crate::engine::Engine;
use crate::error::{ErrorClass, Problem, TransferError};
use crate::events::FileId;
use crate::hashing::hash_local_file;
use crate::names::remote_name_problem;

/// How to upload.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct UploadOptions {
    /// Files uploaded in parallel (each worker holds one request at a time).
    pub jobs: usize,
    /// Upload directories as folder trees.
    pub recursive: bool,
    /// Upload even when an identical file (same name, size, whirlpool) is already there.
    pub force: bool,
    /// Password protecting the uploaded files (`dpass`).
    pub password: Option<Password>,
    /// Domain of the resulting links.
    pub domain: Option<Domain>,
    /// Addresses to notify (`mails`, at most 20).
    pub mails: Vec<String>,
    /// Text of the notification (`message`, at most 2000 characters).
    pub message: Option<String>,
    /// Files up to this size are batched into one request (default 4 MiB).
    pub small_file: u64,
    /// Most files in one batched request (default 32; the service takes up to 500).
    pub batch_files: usize,
    /// Most bytes in one batched request (default 16 MiB).
    pub batch_bytes: u64,
    /// With `recursive`: follow symbolic links to directories (each directory is walked once,
    /// by device and inode, so link loops end). Off: such links are skipped with a notice.
    /// Links to files are always followed (the file's bytes are uploaded).
    pub follow_symlinks: bool,
}

impl Default for UploadOptions {
    fn default() -> Self {
        UploadOptions {
            jobs: 2,
            recursive: false,
            force: false,
            password: None,
            domain: None,
            mails: Vec::new(),
            message: None,
            small_file: 4 << 20,
            batch_files: 32,
            batch_bytes: 16 << 20,
            follow_symlinks: false,
        }
    }
}

/// The destination folder of an upload (it must exist; see [`Engine::ensure_folder_path`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UploadDest {
    /// Folder id (0 = root).
    pub folder: FolderId,
    /// Its path components, for display (`[]` = root).
    pub path: Vec<String>,
}

impl UploadDest {
    /// The root folder.
    pub fn root() -> Self {
        UploadDest {
            folder: 0,
            path: Vec::new(),
        }
    }
}

pub(crate) fn display_remote(components: &[String]) -> String {
    format!("/{}", components.join("/"))
}

/// A file found while planning.
#[derive(Debug, Clone)]
pub(crate) struct Planned {
    pub(crate) local: PathBuf,
    pub(crate) display: String,
    pub(crate) rel_dir: Vec<String>,
    pub(crate) name: String,
}

/// What planning found.
#[derive(Debug, Default)]
pub(crate) struct Plan {
    pub(crate) files: Vec<Planned>,
    pub(crate) dirs: BTreeSet<Vec<String>>,
    pub(crate) bad: Vec<(String, TransferError)>,
    /// Skipped symbolic links, one message each.
    pub(crate) notices: Vec<String>,
    /// Directories walked in the current source tree, by identity, so a followed link never
    /// walks one twice.
    pub(crate) visited: HashSet<DirId>,
}

/// A directory's identity: (device, inode) on Unix, the canonical path elsewhere.
#[cfg(unix)]
pub(crate) type DirId = (u64, u64);
#[cfg(not(unix))]
pub(crate) type DirId = PathBuf;

#[cfg(unix)]
pub(crate) fn dir_id(_path: &Path, meta: &std::fs::Metadata) -> DirId {
    use std::os::unix::fs::MetadataExt;
    (meta.dev(), meta.ino())
}
#[cfg(not(unix))]
pub(crate) fn dir_id(path: &Path, _meta: &std::fs::Metadata) -> DirId {
    std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf())
}

pub(crate) fn utf8_name(p: &Path) -> Result<String, TransferError> {
    p.file_name()
        .and_then(|n| n.to_str())
        .map(str::to_owned)
        .ok_or_else(|| {
            TransferError::new(
                ErrorClass::Local,
                format!(
                    "{}: the name is not valid UTF-8, which 1fichier cannot store",
                    p.display()
                ),
            )
            .problem(Problem::BadName {
                path: p.to_path_buf(),
            })
        })
}

/// Walks the sources (blocking). Directories need `recursive`; `dir/` (trailing slash) means
/// the directory's contents, `dir` the directory itself, as with rsync. Sources named on the
/// command line are followed when they are links; inside a tree, links to directories are
/// followed only with `follow` (see [`UploadOptions::follow_symlinks`]).
pub(crate) fn walk(sources: &[PathBuf], recursive: bool, follow: bool) -> Plan {
    let mut plan = Plan::default();
    for src in sources {
        let display = src.display().to_string();
        let meta = match std::fs::metadata(src) {
            Ok(m) => m,
            Err(e) => {
                plan.bad.push((
                    display.clone(),
                    TransferError::io(&format!("cannot read {display}"), &e),
                ));
                continue;
            }
        };
        if meta.is_file() {
            match utf8_name(src) {
                Ok(name) => plan.files.push(Planned {
                    local: src.clone(),
                    display,
                    rel_dir: Vec::new(),
                    name,
                }),
                Err(e) => plan.bad.push((display, e)),
            }
        } else if meta.is_dir() {
            if !recursive {
                plan.bad.push((
                    display.clone(),
                    TransferError::new(ErrorClass::Local, format!("{display} is a directory"))
                        .problem(Problem::LocalDirectory { path: src.clone() }),
                ));
                continue;
            }
            let contents_only =
                display.ends_with('/') || display.ends_with(std::path::MAIN_SEPARATOR);
            let root_rel = if contents_only {
                Vec::new()
            } else {
                let canonical = std::fs::canonicalize(src).unwrap_or_else(|_| src.clone());
                match utf8_name(&canonical) {
                    Ok(n) => vec![n],
                    Err(e) => {
                        plan.bad.push((display, e));
                        continue;
                    }
                }
            };
            // Each source is its own tree (the same directory may go to two places).
            plan.visited.clear();
            plan.visited.insert(dir_id(src, &meta));
            walk_dir(src, root_rel, follow, &mut plan);
        } else {
            plan.bad.push((
                display.clone(),
                TransferError::new(
                    ErrorClass::Local,
                    format!("{display} is not a regular file (device, socket or pipe)"),
                ),
            ));
        }
    }
    plan
}

pub(crate) fn walk_dir(dir: &Path, rel: Vec<String>, follow: bool, plan: &mut Plan) {
    if !rel.is_empty() {
        if let Some(problem) = rel.last().and_then(|n| remote_name_problem(n)) {
            plan.bad.push((
                dir.display().to_string(),
                TransferError::new(
                    ErrorClass::Local,
                    format!("{}: folder name cannot be stored: {problem}", dir.display()),
                ),
            ));
            return;
        }
        plan.dirs.insert(rel.clone());
    }
    let entries = match std::fs::read_dir(dir) {
        Ok(rd) => {
            let mut v: Vec<_> = rd.filter_map(Result::ok).collect();
            v.sort_by_key(|e| e.file_name());
            v
        }
        Err(e) => {
            let d = dir.display().to_string();
            plan.bad.push((
                d.clone(),
                TransferError::io(&format!("cannot read directory {d}"), &e),
            ));
            return;
        }
    };
    for entry in entries {
        let path = entry.path();
        let display = path.display().to_string();
        let is_link = entry.file_type().is_ok_and(|t| t.is_symlink());
        let meta = match std::fs::metadata(&path) {
            Ok(m) => m,
            Err(e) => {
                plan.bad.push((
                    display.clone(),
                    TransferError::io(&format!("cannot read {display}"), &e),
                ));
                continue;
            }
        };
        let name = match utf8_name(&path) {
            Ok(n) => n,
            Err(e) => {
                plan.bad.push((display, e));
                continue;
            }
        };
        if meta.is_dir() {
            if is_link && !follow {
                plan.notices.push(format!(
                    "skipped {display}: it is a symbolic link to a directory, and links to directories are not followed"
                ));
                continue;
            }
            if !plan.visited.insert(dir_id(&path, &meta)) {
                plan.notices.push(format!(
                    "skipped {display}: it leads to a directory already uploaded in this run (symbolic link loop)"
                ));
                continue;
            }
            let mut sub = rel.clone();
            sub.push(name);
            walk_dir(&path, sub, follow, plan);
        } else if meta.is_file() {
            plan.files.push(Planned {
                local: path,
                display,
                rel_dir: rel.clone(),
                name,
            });
        } else {
            plan.bad.push((
                display.clone(),
                TransferError::new(
                    ErrorClass::Local,
                    format!("{display} is not a regular file (device, socket or pipe)"),
                ),
            ));
        }
    }
}

/// One file to upload.
#[derive(Debug)]
pub(crate) struct Job {
    pub(crate) id: FileId,
    pub(crate) local: PathBuf,
    pub(crate) display: String,
    pub(crate) remote: String,
    pub(crate) name: String,
    pub(crate) folder: FolderId,
    pub(crate) size: u64,
    /// Links of files with the same name that were there before this run.
    pub(crate) before: HashSet<String>,
}

/// The local file's identity at the start of an attempt, to detect changes while reading.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Stamp {
    pub(crate) len: u64,
    pub(crate) modified: Option<SystemTime>,
}

pub(crate) async fn stamp(path: &Path) -> std::io::Result<Stamp> {
    let m = tokio::fs::metadata(path).await?;
    Ok(Stamp {
        len: m.len(),
        modified: m.modified().ok(),
    })
}

pub(crate) enum Check {
    Upload { size: u64, before: HashSet<String> },
    Skip(String),
}

pub(crate) fn make_units(jobs: Vec<Job>, opts: &UploadOptions) -> Vec<Vec<Job>> {
    let mut units: Vec<Vec<Job>> = Vec::new();
    let mut open: HashMap<FolderId, (Vec<Job>, u64, HashSet<String>)> = HashMap::new();
    for job in jobs {
        if job.size > opts.small_file || opts.batch_files <= 1 {
            units.push(vec![job]);
            continue;
        }
        let entry = open.entry(job.folder).or_default();
        let full = entry.0.len() >= opts.batch_files
            || entry.1 + job.size > opts.batch_bytes
            || entry.2.contains(&job.name);
        if full && !entry.0.is_empty() {
            units.push(std::mem::take(&mut entry.0));
            entry.1 = 0;
            entry.2.clear();
        }
        entry.1 += job.size;
        entry.2.insert(job.name.clone());
        entry.0.push(job);
    }
    let mut rest: Vec<_> = open
        .into_values()
        .filter(|(v, _, _)| !v.is_empty())
        .collect();
    rest.sort_by_key(|(v, _, _)| v[0].id);
    units.extend(rest.into_iter().map(|(v, _, _)| v));
    units.sort_by_key(|u| u[0].id);
    units
}

impl Engine {
    /// Finds the folder at `components` from the root, creating what is missing (the
    /// library's `mkdir -p`: never picks one of two same-named folders, never creates a
    /// duplicate).
    pub async fn ensure_folder_path(
        &self,
        components: &[String],
    ) -> Result<FolderId, TransferError> {
        for name in components {
            if let Some(problem) = remote_name_problem(name) {
                return Err(TransferError::new(
                    ErrorClass::Permanent,
                    format!("folder name {name:?} cannot be stored: {problem}"),
                ));
            }
        }
        let path = RemotePath::from_names(components.iter().cloned());
        Ok(self.tree().ensure_folder(&path).await?.id)
    }

    pub(crate) async fn child_folder(
        &self,
        parent: FolderId,
        name: &str,
        created: &mut HashSet<FolderId>,
        dest: &UploadDest,
        rel: &[String],
    ) -> Result<FolderId, TransferError> {
        let mut parent_path = dest.path.clone();
        parent_path.extend(rel[..rel.len().saturating_sub(1)].iter().cloned());
        let parent_path = RemotePath::from_names(parent_path);
        let (id, made) = self
            .tree()
            .ensure_child(parent, &parent_path, name)
            .await
            .map_err(|e| {
                let e = TransferError::from(e);
                TransferError {
                    message: format!(
                        "cannot create folder {}: {}",
                        parent_path.join(name),
                        e.message
                    ),
                    ..e
                }
            })?;
        if made {
            created.insert(id);
        }
        Ok(id)
    }

    /// The checks before a file is queued: size, name, readability, identical copy present.
    pub(crate) async fn check_file(
        &self,
        f: &Planned,
        folder: FolderId,
        remote: &str,
        folder_is_new: bool,
        opts: &UploadOptions,
    ) -> Result<Check, TransferError> {
        let meta = tokio::fs::metadata(&f.local)
            .await
            .map_err(|e| TransferError::io(&format!("cannot read {}", f.display), &e))?;
        if meta.len() == 0 {
            // The reference: 1fichier refuses empty files (rclone does not send them either).
            return Ok(Check::Skip(format!(
                "{} is empty: 1fichier does not store zero-byte files; not sent",
                f.display
            )));
        }
        if let Some(problem) = remote_name_problem(&f.name) {
            return Err(TransferError::new(
                ErrorClass::Local,
                format!(
                    "{}: name cannot be stored on 1fichier: {problem}",
                    f.display
                ),
            )
            .problem(Problem::BadName {
                path: f.local.clone(),
            }));
        }
        if let Err(e) = tokio::fs::File::open(&f.local).await {
            return Err(TransferError::io(&format!("cannot read {}", f.display), &e));
        }
        let mut before = HashSet::new();
        if !folder_is_new {
            let listing = self.listing(folder).await?;
            let same: Vec<_> = listing
                .items
                .iter()
                .filter(|e| e.filename == f.name)
                .collect();
            if !opts.force && same.iter().any(|e| e.size == meta.len()) {
                let local = hash_local_file(f.local.clone())
                    .await
                    .map_err(|e| TransferError::io(&format!("cannot read {}", f.display), &e))?;
                if same.iter().any(|e| {
                    e.size == meta.len()
                        && e.checksum
                            .as_deref()
                            .is_some_and(|c| same_whirlpool(c, &local))
                }) {
                    return Ok(Check::Skip(format!(
                        "an identical file is already at {remote}"
                    )));
                }
            }
            before = same.iter().map(|e| e.link.as_str().to_owned()).collect();
        }
        Ok(Check::Upload {
            size: meta.len(),
            before,
        })
    }
}
