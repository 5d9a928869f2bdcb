//! The per-run context: settings, printer, the API client (built lazily, from the credential
//! chain or the sandbox), and name resolution of paths with a per-run listing cache.

use std::collections::HashMap;
use std::sync::Arc;

use fichier_api::{
    ApiKey, Client, FileEntry, FileLink, FolderId, FolderListing, FolderLsRequest, ROOT_FOLDER,
};

use crate::credentials::{self, KeySource};
use crate::error::Failure;
use crate::paths::{Target, display_path};
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

/// A target resolved to something on the account.
#[derive(Debug, Clone)]
pub enum Resolved {
    /// A folder.
    Folder {
        /// Its id (0 = root).
        id: FolderId,
        /// Its path components from the root.
        path: Vec<String>,
    },
    /// A file.
    File {
        /// Its link (identity).
        link: FileLink,
        /// Its listing entry, when it was found by path.
        entry: Option<Box<FileEntry>>,
        /// Its path components, when it was found by path.
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
    client: Option<Client>,
    sandbox: Option<Sandbox>,
    listings: HashMap<FolderId, Arc<FolderListing>>,
}

fn candidate_lines(
    folders: &[&fichier_api::SubFolder],
    files: &[&FileEntry],
    parent: &[String],
) -> Vec<String> {
    let mut out = Vec::new();
    for f in folders {
        let mut p = parent.to_vec();
        p.push(f.name.clone());
        out.push(format!("folder {}  (id {})", display_path(&p), f.id));
    }
    for f in files {
        let mut p = parent.to_vec();
        p.push(f.filename.clone());
        out.push(format!("file   {}  {}", display_path(&p), f.link));
    }
    out
}

impl Context {
    /// A context; nothing is contacted until a command asks for the client.
    pub fn new(settings: Settings, printer: Printer) -> Context {
        Context {
            settings,
            printer,
            client: None,
            sandbox: None,
            listings: HashMap::new(),
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
            let dir = self.settings.dirs.data.join("sandbox");
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

    /// The API client, built on first use.
    pub async fn client(&mut self) -> anyhow::Result<&Client> {
        if self.client.is_none() {
            let (url, key, source) = self.key().await?;
            self.printer
                .verbose(&format!("using the API key from the {}", source.describe()));
            let client = self.build_client(&url, key)?;
            self.client = Some(client);
        }
        Ok(self.client.as_ref().expect("built above"))
    }

    /// A folder's listing with its files (one `folder/ls` call per folder per run).
    pub async fn listing(&mut self, id: FolderId) -> anyhow::Result<Arc<FolderListing>> {
        if let Some(l) = self.listings.get(&id) {
            return Ok(l.clone());
        }
        let listing = self
            .client()
            .await?
            .folder_ls(&FolderLsRequest::with_files(id))
            .await?;
        let listing = Arc::new(listing);
        self.listings.insert(id, listing.clone());
        Ok(listing)
    }

    /// Forgets cached listings after a change.
    pub fn invalidate(&mut self, ids: &[FolderId]) {
        for id in ids {
            self.listings.remove(id);
        }
    }

    /// Records a folder created in this run, so later lookups need no new listing (1fichier
    /// allows one listing per folder per 30 s; a new folder is known to be empty).
    pub fn note_created_folder(&mut self, parent: FolderId, id: FolderId, name: &str) {
        let sub = serde_json::from_value::<fichier_api::SubFolder>(
            serde_json::json!({ "id": id, "name": name }),
        );
        match (self.listings.get_mut(&parent), sub) {
            (Some(listing), Ok(sub)) => Arc::make_mut(listing).sub_folders.push(sub),
            _ => {
                self.listings.remove(&parent);
            }
        }
        if let Ok(empty) = serde_json::from_value::<FolderListing>(
            serde_json::json!({ "folder_id": id, "name": name }),
        ) {
            self.listings.insert(id, Arc::new(empty));
        }
    }

    /// Applies a change this run made to a folder to its cached listing, instead of listing
    /// it again (see `note_created_folder`).
    pub fn update_listing(&mut self, id: FolderId, f: impl FnOnce(&mut FolderListing)) {
        if let Some(listing) = self.listings.get_mut(&id) {
            f(Arc::make_mut(listing));
        }
    }

    /// Forgets every cached listing (after moves, which touch several folders).
    pub fn invalidate_all(&mut self) {
        self.listings.clear();
    }

    /// Resolves a target typed by the user.
    pub async fn resolve(&mut self, target: &Target, want: Want) -> anyhow::Result<Resolved> {
        let components = match target {
            Target::Link(link) => {
                if want == Want::Folder {
                    return Err(Failure::usage(format!(
                        "{link} is a file link, but a folder is expected here"
                    ))
                    .with_hint("name folders by path, e.g. /Backups/2026")
                    .into());
                }
                return Ok(Resolved::File {
                    link: link.clone(),
                    entry: None,
                    path: None,
                });
            }
            Target::Path(c) => c.clone(),
        };
        if components.is_empty() {
            if want == Want::File {
                return Err(
                    Failure::usage("/ is the root folder, but a file is expected here")
                        .with_hint("name a file, e.g. /Backups/db.tar, or a file link")
                        .into(),
                );
            }
            return Ok(Resolved::Folder {
                id: ROOT_FOLDER,
                path: Vec::new(),
            });
        }
        let mut current = ROOT_FOLDER;
        let last = components.len() - 1;
        for (i, name) in components.iter().enumerate() {
            let listing = self.listing(current).await?;
            let parent = &components[..i];
            let folders: Vec<_> = listing
                .sub_folders
                .iter()
                .filter(|f| &f.name == name)
                .collect();
            let files: Vec<_> = listing
                .items
                .iter()
                .filter(|f| &f.filename == name)
                .collect();
            let here = &components[..=i];
            let want_here = if i < last { Want::Folder } else { want };
            let pick_folder = match want_here {
                Want::Folder => true,
                Want::File => false,
                Want::FolderFirst => !folders.is_empty(),
                Want::Any => !folders.is_empty(),
            };
            if want_here == Want::Any && folders.len() + files.len() > 1 {
                return Err(ambiguous(here, &folders, &files, parent));
            }
            if pick_folder {
                match folders.len() {
                    1 => {
                        current = folders[0].id;
                        if i == last {
                            return Ok(Resolved::Folder {
                                id: current,
                                path: components,
                            });
                        }
                    }
                    0 if !files.is_empty() => {
                        return Err(Failure::usage(format!(
                            "{} is a file, not a folder",
                            display_path(here)
                        ))
                        .with_hint(if i < last {
                            "a file cannot contain anything: check the path".to_owned()
                        } else {
                            "name a folder here (`fichier ls` shows which entries are folders)"
                                .to_owned()
                        })
                        .into());
                    }
                    0 => return Err(not_found(here, &listing)),
                    _ => return Err(ambiguous(here, &folders, &[], parent)),
                }
            } else {
                return match files.len() {
                    1 => Ok(Resolved::File {
                        link: files[0].link.clone(),
                        entry: Some(Box::new(files[0].clone())),
                        path: Some(components),
                    }),
                    0 if !folders.is_empty() => Err(Failure::usage(format!(
                        "{} is a folder, not a file",
                        display_path(here)
                    ))
                    .with_hint("name a file here, or use a command that works on folders")
                    .into()),
                    0 => Err(not_found(here, &listing)),
                    _ => Err(ambiguous(here, &[], &files, parent)),
                };
            }
        }
        unreachable!("the loop returns on the last component")
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

fn ambiguous(
    here: &[String],
    folders: &[&fichier_api::SubFolder],
    files: &[&FileEntry],
    parent: &[String],
) -> anyhow::Error {
    let mut f = Failure::usage(format!(
        "{} is ambiguous: {} entries have that name",
        display_path(here),
        folders.len() + files.len()
    ))
    .with_hint("name the file by its link instead (fichier never picks one of several)");
    for line in candidate_lines(folders, files, parent) {
        f = f.with_detail(line);
    }
    f.into()
}

fn not_found(here: &[String], listing: &FolderListing) -> anyhow::Error {
    let name = here.last().map(String::as_str).unwrap_or("");
    let parent = display_path(&here[..here.len() - 1]);
    let close: Vec<String> = listing
        .sub_folders
        .iter()
        .map(|f| f.name.clone())
        .chain(listing.items.iter().map(|f| f.filename.clone()))
        .filter(|n| n.eq_ignore_ascii_case(name))
        .collect();
    let hint = match close.first() {
        Some(c) => format!("did you mean `{c}`? (names are case-sensitive)"),
        None => format!("`fichier ls {parent}` shows what {parent} contains"),
    };
    Failure::fatal(format!("{}: no such file or folder", display_path(here)))
        .with_hint(hint)
        .into()
}
