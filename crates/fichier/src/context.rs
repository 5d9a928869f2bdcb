//! The per-run context: settings, printer, the API client (built lazily, from the credential
//! chain or the sandbox), and the run's [`RemoteTree`] (paths resolved by name, listings
//! memoised for the run). The tree decides; this module only turns its errors into messages
//! with hints.

use std::sync::Arc;

use fichier_api::{
    ApiKey, Candidate, Client, Expect, FileEntry, FileLink, FolderId, FolderListing, Node,
    RemoteTree, TreeError,
};

use crate::credentials::{self, KeySource};
use crate::error::Failure;
use crate::paths::{Target, display_path, path_failure};
use crate::printer::Printer;
use crate::sandbox::Sandbox;
use crate::settings::Settings;

/// What kind of thing a command expects a target to be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Want {
    /// A file or a folder (an ambiguous name is an error).
    Any,
    /// A file.
    File,
    /// A folder.
    Folder,
    /// A folder if one has that name, else a file (`ls`).
    FolderFirst,
}

impl Want {
    fn expect(self) -> Expect {
        match self {
            Want::Any => Expect::Any,
            Want::File => Expect::File,
            Want::Folder => Expect::Folder,
            Want::FolderFirst => Expect::FolderFirst,
        }
    }
}

/// A target resolved to something on the account.
#[derive(Debug, Clone)]
pub enum Resolved {
    /// A folder.
    Folder {
        /// Its id (0 = root).
        id: FolderId,
        /// Its path segments as typed (normalised; `id:N` for a folder named by id).
        path: Vec<String>,
    },
    /// A file.
    File {
        /// Its link (identity).
        link: FileLink,
        /// Its listing entry, when it was found by path.
        entry: Option<Box<FileEntry>>,
        /// Its path segments, when it was found by path.
        path: Option<Vec<String>>,
    },
}

impl Resolved {
    /// How to show it: the path when known, else the link.
    pub fn display(&self) -> String {
        match self {
            Resolved::Folder { path, .. } => display_path(path),
            Resolved::File {
                path: Some(path), ..
            } => display_path(path),
            Resolved::File { link, .. } => link.to_string(),
        }
    }
}

/// Everything a command works with.
#[derive(Debug)]
pub struct Context {
    /// The resolved settings.
    pub settings: Settings,
    /// The printer.
    pub printer: Printer,
    tree: Option<RemoteTree>,
    sandbox: Option<Sandbox>,
}

impl Context {
    /// A context; nothing is contacted until a command asks for the client.
    pub fn new(settings: Settings, printer: Printer) -> Context {
        Context {
            settings,
            printer,
            tree: None,
            sandbox: None,
        }
    }

    /// Stops the sandbox emulator, if one was started.
    pub async fn close(&mut self) {
        if let Some(sb) = self.sandbox.take() {
            sb.shutdown().await;
        }
    }

    /// Starts the sandbox emulator (once) and returns its API URL and key.
    async fn sandbox_key(&mut self) -> anyhow::Result<(url::Url, ApiKey)> {
        if self.sandbox.is_none() {
            let dir = self.settings.paths.sandbox_emulator();
            // The emulator keeps its own files; the directories above them are fichier's state
            // and private like the rest (a first `--sandbox` run creates them). A failure here
            // surfaces as the sandbox's own "not writable" error just below.
            let _ = fichier_state::private_dir(&dir);
            let sb = Sandbox::start(dir).await?;
            self.printer.verbose(&format!(
                "sandbox: emulator at {} with state in {}",
                sb.api_url(),
                sb.data_dir().display()
            ));
            self.sandbox = Some(sb);
        }
        let sb = self.sandbox.as_ref().expect("started above");
        let url = url::Url::parse(&sb.api_url()).map_err(|e| {
            Failure::fatal("the sandbox gave an invalid URL").with_cause(e.to_string())
        })?;
        let key = ApiKey::parse(sb.api_key()).map_err(|e| {
            Failure::fatal("the sandbox account has an invalid key").with_cause(e.to_string())
        })?;
        Ok((url, key))
    }

    /// The key to use and its source, from the sandbox or the credential chain.
    pub async fn key(&mut self) -> anyhow::Result<(url::Url, ApiKey, KeySource)> {
        if self.settings.sandbox {
            let (url, key) = self.sandbox_key().await?;
            return Ok((url, key, KeySource::Sandbox));
        }
        let settings = self.settings.clone();
        let resolved = tokio::task::spawn_blocking(move || credentials::resolve(&settings))
            .await
            .map_err(|e| Failure::fatal("the key lookup failed").with_cause(e.to_string()))??;
        for w in &resolved.warnings {
            self.printer.warn(w);
        }
        Ok((self.settings.api_url.clone(), resolved.key, resolved.source))
    }

    /// Builds a client for `key` at `url` with this run's pacer settings.
    pub fn build_client(&self, url: &url::Url, key: ApiKey) -> anyhow::Result<Client> {
        crate::client::build(&self.settings, url, key)
    }

    /// The run's remote tree (and its client), built on first use. Folder creation is locked
    /// across processes in the cache dir, beside the pacer's state.
    pub async fn tree(&mut self) -> anyhow::Result<&RemoteTree> {
        if self.tree.is_none() {
            let (url, key, source) = self.key().await?;
            self.printer
                .verbose(&format!("using the API key from the {}", source.describe()));
            let client = self.build_client(&url, key)?;
            // Like the pacer state: without a usable cache dir the run still works, only
            // without the guard against another process creating the same folder.
            let cache = self.settings.paths.cache();
            let tree = if fichier_state::private_dir(cache).is_ok() {
                RemoteTree::with_lock_dir(client, cache.to_path_buf())
            } else {
                self.printer.verbose(&format!(
                    "{} cannot be created: folders are created without the cross-process lock",
                    cache.display()
                ));
                RemoteTree::new(client)
            };
            self.tree = Some(tree);
        }
        Ok(self.tree.as_ref().expect("built above"))
    }

    /// The API client, built on first use.
    pub async fn client(&mut self) -> anyhow::Result<&Client> {
        Ok(self.tree().await?.client())
    }

    /// A folder's listing with its files (one `folder/ls` call per folder per run).
    pub async fn listing(&mut self, id: FolderId) -> anyhow::Result<Arc<FolderListing>> {
        Ok(self.tree().await?.listing(id).await?)
    }

    /// Forgets memoised listings after a change.
    pub fn invalidate(&mut self, ids: &[FolderId]) {
        if let Some(tree) = &self.tree {
            for id in ids {
                tree.forget(*id);
            }
        }
    }

    /// Applies a change this run made to a folder to its memoised listing, instead of listing
    /// it again (see `note_created_folder`).
    pub fn update_listing(&mut self, id: FolderId, f: impl FnOnce(&mut FolderListing)) {
        if let Some(tree) = &self.tree {
            tree.update(id, f);
        }
    }

    /// Forgets every memoised listing (after moves, which touch several folders).
    pub fn invalidate_all(&mut self) {
        if let Some(tree) = &self.tree {
            tree.forget_all();
        }
    }

    /// Parses and resolves one remote argument as typed by the user (a path or a link).
    pub async fn resolve_arg(&mut self, raw: &str, want: Want) -> anyhow::Result<Resolved> {
        let target = crate::paths::parse_target(raw)?;
        self.resolve(&target, want).await
    }

    /// Resolves a target typed by the user.
    pub async fn resolve(&mut self, target: &Target, want: Want) -> anyhow::Result<Resolved> {
        let path = match target {
            Target::Link(link) => {
                if want == Want::Folder {
                    return Err(Failure::usage(format!(
                        "{link} is a file link, but a folder is expected here"
                    ))
                    .with_hint("name folders by path, e.g. /Backups/2026, or by id, e.g. id:12345")
                    .into());
                }
                return Ok(Resolved::File {
                    link: link.clone(),
                    entry: None,
                    path: None,
                });
            }
            Target::Path(p) => p,
        };
        let node = self
            .tree()
            .await?
            .resolve(path, want.expect())
            .await
            .map_err(tree_failure)?;
        Ok(match node {
            Node::File { entry, path, .. } => Resolved::File {
                link: entry.link.clone(),
                entry: Some(entry),
                path: Some(path.components()),
            },
            Node::Folder { id, path, .. } => Resolved::Folder {
                id,
                path: path.components(),
            },
            _ => unreachable!("a tree node is a folder or a file"),
        })
    }

    /// Resolves a destination folder, creating nothing.
    pub async fn resolve_folder(&mut self, raw: &str) -> anyhow::Result<(FolderId, Vec<String>)> {
        let target = crate::paths::parse_target(raw)?;
        match self.resolve(&target, Want::Folder).await? {
            Resolved::Folder { id, path } => Ok((id, path)),
            Resolved::File { .. } => unreachable!("Want::Folder never yields a file"),
        }
    }
}

/// The message and hint for a path the tree could not resolve or create.
pub fn tree_failure(e: TreeError) -> anyhow::Error {
    match e {
        TreeError::Path(e) => path_failure(&e).into(),
        TreeError::NotFound { path, similar } => {
            let parent = path.parent().unwrap_or_default();
            let hint = match (similar.first(), path.last()) {
                (Some(c), _) => format!("did you mean `{c}`? (names are case-sensitive)"),
                (None, Some(fichier_api::Segment::Id(id)))
                    if parent.is_root() && path.segments().len() == 1 =>
                {
                    format!(
                        "no folder of this account has id {id}: `fichier ls -l` shows folder ids"
                    )
                }
                (None, Some(fichier_api::Segment::Id(id))) => format!(
                    "{parent} has no sub-folder with id {id}: `fichier ls -l {parent}` shows their ids"
                ),
                (None, _) => format!("`fichier ls {parent}` shows what {parent} contains"),
            };
            Failure::fatal(format!("{path}: no such file or folder"))
                .with_hint(hint)
                .into()
        }
        TreeError::Ambiguous { path, candidates } => {
            let folders = candidates
                .iter()
                .filter(|c| matches!(c, Candidate::Folder { .. }))
                .count();
            let hint = match (folders, candidates.len() - folders) {
                (0, _) => "name the file by its link instead (fichier never picks one of several)"
                    .to_owned(),
                (_, 0) => format!(
                    "name the folder by id instead, e.g. {} (fichier never picks one of several)",
                    candidates[0].handle()
                ),
                _ => "name a file by its link or a folder by its id:N form (fichier never picks one of several)".to_owned(),
            };
            let mut f = Failure::usage(format!(
                "{path} is ambiguous: {} entries have that name",
                candidates.len()
            ))
            .with_hint(hint);
            for c in &candidates {
                f = f.with_detail(match c {
                    Candidate::Folder { .. } => format!("folder {path}  {}", c.handle()),
                    _ => format!("file   {path}  {}", c.handle()),
                });
            }
            f.into()
        }
        TreeError::NotAFolder { path, inside } => {
            Failure::usage(format!("{path} is a file, not a folder"))
                .with_hint(if inside {
                    "a file cannot contain anything: check the path"
                } else {
                    "name a folder here (`fichier ls` shows which entries are folders)"
                })
                .into()
        }
        TreeError::NotAFile { path } if path.is_root() => {
            Failure::usage("/ is the root folder, but a file is expected here")
                .with_hint("name a file, e.g. /Backups/db.tar, or a file link")
                .into()
        }
        TreeError::NotAFile { path } => Failure::usage(format!("{path} is a folder, not a file"))
            .with_hint("name a file here, or use a command that works on folders")
            .into(),
        TreeError::Lock { path, source } => Failure::fatal(format!(
            "cannot take the folder-creation lock {}",
            path.display()
        ))
        .with_cause(source.to_string())
        .with_hint(format!(
            "check that {} is a writable directory",
            path.parent()
                .map(|d| d.display().to_string())
                .unwrap_or_default()
        ))
        .into(),
        TreeError::Api(e) => e.into(),
        other => Failure::fatal(other.to_string()).into(),
    }
}
