//! `file/*`: listing, info, scan and the file mutations with their state checks.

use jiff::ZonedDateTime;
use serde::{Deserialize, Serialize, Serializer};
use serde_json::{Value, json};

use crate::client::{Check, Client, Ep, Kind, Rules};
use crate::error::{Error, Result};
use crate::listing_cache::Edit;
use crate::values::*;
use crate::wire::{
    de_flag, de_opt_date, de_opt_nonempty, de_opt_u64, de_u64, de_vec, format_date, ser_opt_date,
    ser_opt_flag,
};

pub(crate) const FILE_LS: Ep = Ep::read("file/ls.cgi");
pub(crate) const FILE_INFO: Ep = Ep::read("file/info.cgi");
pub(crate) const FILE_SCAN: Ep = Ep {
    path: "file/scan.cgi",
    kind: Kind::Read,
    auth: true,
    ko_is_answer: true,
};
pub(crate) const FILE_RM: Ep = Ep::mutation("file/rm.cgi");
pub(crate) const FILE_MV: Ep = Ep::mutation("file/mv.cgi");
pub(crate) const FILE_CP: Ep = Ep::mutation("file/cp.cgi");
pub(crate) const FILE_RENAME: Ep = Ep::mutation("file/rename.cgi");
pub(crate) const FILE_CHATTR: Ep = Ep::mutation("file/chattr.cgi");

/// `file/ls.cgi` request.
#[derive(Debug, Clone, Default, Serialize)]
pub struct FileLsRequest {
    /// Folder to list (`-1` = every file of the account, see [`FileLsRequest::all_files`]).
    pub folder_id: i64,
    /// E-mail of the user sharing a folder with you.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sharing_user: Option<String>,
    /// Only files uploaded before this date.
    #[serde(
        skip_serializing_if = "Option::is_none",
        serialize_with = "ser_req_date"
    )]
    pub sent_before: Option<ZonedDateTime>,
    /// Only files uploaded after this date.
    #[serde(
        skip_serializing_if = "Option::is_none",
        serialize_with = "ser_req_date"
    )]
    pub sent_after: Option<ZonedDateTime>,
}

fn ser_req_date<S: Serializer>(
    v: &Option<ZonedDateTime>,
    s: S,
) -> std::result::Result<S::Ok, S::Error> {
    match v {
        Some(z) => s.serialize_str(&format_date(z)),
        None => s.serialize_none(),
    }
}

impl FileLsRequest {
    /// Lists the files of one folder.
    pub fn folder(folder_id: FolderId) -> Self {
        FileLsRequest {
            folder_id: folder_id as i64,
            ..Default::default()
        }
    }
    /// Lists every file of the account (the service allows this about once per hour).
    pub fn all_files() -> Self {
        FileLsRequest {
            folder_id: -1,
            ..Default::default()
        }
    }
}

/// One file in a listing (`file/ls`, `folder/ls` with `files: 1`).
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[non_exhaustive]
pub struct FileEntry {
    /// File link (identity).
    #[serde(rename(deserialize = "url"))]
    pub link: FileLink,
    /// Name.
    pub filename: String,
    /// Size in bytes.
    #[serde(deserialize_with = "de_u64")]
    pub size: u64,
    /// Upload date.
    #[serde(
        default,
        deserialize_with = "de_opt_date",
        serialize_with = "ser_opt_date"
    )]
    pub date: Option<ZonedDateTime>,
    /// Whirlpool, 128 lowercase hex.
    #[serde(default, deserialize_with = "de_opt_nonempty")]
    pub checksum: Option<String>,
    /// MIME type.
    #[serde(
        rename(deserialize = "content-type"),
        alias = "content_type",
        default,
        deserialize_with = "de_opt_nonempty"
    )]
    pub content_type: Option<String>,
    /// Password protected.
    #[serde(rename(deserialize = "pass"), default, deserialize_with = "de_flag")]
    pub password: bool,
    /// Access-control list active.
    #[serde(default, deserialize_with = "de_flag")]
    pub acl: bool,
    /// Flagged for CDN.
    #[serde(default, deserialize_with = "de_flag")]
    pub cdn: bool,
}

/// `file/ls.cgi` answer.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[non_exhaustive]
pub struct FileList {
    /// Number of items, as reported.
    #[serde(default, deserialize_with = "de_opt_u64")]
    pub count: Option<u64>,
    /// The files.
    #[serde(default, deserialize_with = "de_vec")]
    pub items: Vec<FileEntry>,
}

/// `file/info.cgi` request.
#[derive(Debug, Clone, Default, Serialize)]
pub struct FileInfoRequest {
    /// File link.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub url: Option<FileLink>,
    /// Password, if protected.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pass: Option<Password>,
    /// Groupware share with hidden links: folder.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub folder_id: Option<FolderId>,
    /// Groupware share with hidden links: exact name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub filename: Option<String>,
    /// Sharing account's e-mail.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sharing_user: Option<String>,
}

impl FileInfoRequest {
    /// Info for a file link, with an optional password.
    pub fn new(url: FileLink, pass: Option<Password>) -> Self {
        FileInfoRequest {
            url: Some(url),
            pass,
            ..Default::default()
        }
    }
}

/// `file/info.cgi` answer.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[non_exhaustive]
pub struct FileInfo {
    /// File link.
    #[serde(rename(deserialize = "url"))]
    pub link: FileLink,
    /// Name.
    pub filename: String,
    /// Size in bytes.
    #[serde(deserialize_with = "de_u64")]
    pub size: u64,
    /// Upload date.
    #[serde(
        default,
        deserialize_with = "de_opt_date",
        serialize_with = "ser_opt_date"
    )]
    pub date: Option<ZonedDateTime>,
    /// Containing folder (absent for files of other accounts).
    #[serde(default, deserialize_with = "de_opt_u64")]
    pub folder_id: Option<FolderId>,
    /// Folder path without leading slash (`Photos/2024`); `None` at the root.
    #[serde(default, deserialize_with = "de_opt_nonempty")]
    pub path: Option<String>,
    /// Whirlpool, 128 lowercase hex.
    #[serde(default, deserialize_with = "de_opt_nonempty")]
    pub checksum: Option<String>,
    /// MIME type.
    #[serde(
        rename(deserialize = "content-type"),
        alias = "content_type",
        default,
        deserialize_with = "de_opt_nonempty"
    )]
    pub content_type: Option<String>,
    /// Owner's description.
    #[serde(default, deserialize_with = "de_opt_nonempty")]
    pub description: Option<String>,
    /// Password protected.
    #[serde(rename(deserialize = "pass"), default, deserialize_with = "de_flag")]
    pub password: bool,
    /// Default link without TLS.
    #[serde(default, deserialize_with = "de_flag")]
    pub no_ssl: bool,
    /// Inline display flag.
    #[serde(default, deserialize_with = "de_flag")]
    pub inline: bool,
    /// Flagged for CDN.
    #[serde(default, deserialize_with = "de_flag")]
    pub cdn: bool,
    /// Access restrictions; `None` when there are none.
    #[serde(default, deserialize_with = "de_opt_acl")]
    pub acl: Option<Acl>,
}

/// `file/scan.cgi` answer.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[non_exhaustive]
pub enum ScanResult {
    /// No virus found; `cached_at` is the date of an earlier scan when the result is cached.
    Clean {
        /// Date of the cached scan.
        #[serde(serialize_with = "ser_opt_date")]
        cached_at: Option<ZonedDateTime>,
    },
    /// A virus was found (the service removes the file); the message says which.
    Infected {
        /// The service's message.
        message: String,
    },
}

/// One file to delete in `file/rm.cgi`.
#[derive(Debug, Clone, Serialize)]
pub struct FileToRemove {
    /// File link.
    pub url: FileLink,
    /// Removal code, only for anonymous uploads.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub code: Option<Password>,
}

/// `file/rm.cgi` request.
#[derive(Debug, Clone, Default, Serialize)]
pub struct FileRmRequest {
    /// Files to delete.
    pub files: Vec<FileToRemove>,
}

impl FileRmRequest {
    /// Deletes the given own files.
    pub fn new(urls: impl IntoIterator<Item = FileLink>) -> Self {
        FileRmRequest {
            files: urls
                .into_iter()
                .map(|url| FileToRemove { url, code: None })
                .collect(),
        }
    }
}

/// `file/rm.cgi` answer.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[non_exhaustive]
pub struct FilesRemoved {
    /// Number removed.
    #[serde(default, deserialize_with = "de_opt_u64")]
    pub removed: Option<u64>,
    /// Links removed (not always sent).
    #[serde(default, deserialize_with = "de_vec")]
    pub urls: Vec<FileLink>,
}

/// `file/mv.cgi` request.
#[derive(Debug, Clone, Default, Serialize)]
pub struct FileMvRequest {
    /// Links to move.
    pub urls: Vec<FileLink>,
    /// Target folder; 0 = root.
    pub destination_folder_id: FolderId,
    /// Sharing user's e-mail when the destination is the root of a share.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub destination_user: Option<String>,
    /// New name (single URL only; send only when it changes).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rename: Option<String>,
}

impl FileMvRequest {
    /// Moves files into a folder.
    pub fn new(urls: impl IntoIterator<Item = FileLink>, destination: FolderId) -> Self {
        FileMvRequest {
            urls: urls.into_iter().collect(),
            destination_folder_id: destination,
            ..Default::default()
        }
    }
}

/// `file/mv.cgi` answer.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[non_exhaustive]
pub struct FilesMoved {
    /// Number moved.
    #[serde(default, deserialize_with = "de_opt_u64")]
    pub moved: Option<u64>,
    /// The links (they keep their identity).
    #[serde(default, deserialize_with = "de_vec")]
    pub urls: Vec<FileLink>,
    /// New name, only if renamed.
    #[serde(default, deserialize_with = "de_opt_nonempty")]
    pub filename: Option<String>,
}

/// `file/cp.cgi` request.
#[derive(Debug, Clone, Default, Serialize)]
pub struct FileCpRequest {
    /// Files to copy.
    pub urls: Vec<FileLink>,
    /// Destination folder; 0 = root.
    pub folder_id: FolderId,
    /// Access password of the source.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pass: Option<Password>,
    /// Sharing user when the destination is the root of a share.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sharing_user: Option<String>,
    /// New name (single URL only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rename: Option<String>,
}

impl FileCpRequest {
    /// Copies files into a folder.
    pub fn new(urls: impl IntoIterator<Item = FileLink>, folder_id: FolderId) -> Self {
        FileCpRequest {
            urls: urls.into_iter().collect(),
            folder_id,
            ..Default::default()
        }
    }
}

/// A source/copy pair in `file/cp` answers.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
pub struct CopiedFile {
    /// The source link.
    pub from_url: FileLink,
    /// The new link of the copy.
    pub to_url: FileLink,
}

/// `file/cp.cgi` answer.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[non_exhaustive]
pub struct FilesCopied {
    /// Number copied.
    #[serde(default, deserialize_with = "de_opt_u64")]
    pub copied: Option<u64>,
    /// Source and copy links.
    #[serde(default, deserialize_with = "de_vec")]
    pub urls: Vec<CopiedFile>,
    /// New name, only if renamed.
    #[serde(default, deserialize_with = "de_opt_nonempty")]
    pub filename: Option<String>,
}

/// One rename in `file/rename.cgi`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RenameItem {
    /// File link.
    pub url: FileLink,
    /// New name.
    pub filename: String,
}

/// `file/rename.cgi` request.
#[derive(Debug, Clone, Default, Serialize)]
pub struct FileRenameRequest {
    /// Renames to perform.
    pub urls: Vec<RenameItem>,
}

impl FileRenameRequest {
    /// Renames one file.
    pub fn one(url: FileLink, new_name: impl Into<String>) -> Self {
        FileRenameRequest {
            urls: vec![RenameItem {
                url,
                filename: new_name.into(),
            }],
        }
    }
}

/// One renamed file in `file/rename` answers.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
pub struct RenamedFile {
    /// File link.
    pub url: FileLink,
    /// Previous name.
    #[serde(default)]
    pub old_filename: String,
    /// New name.
    #[serde(default)]
    pub new_filename: String,
}

/// `file/rename.cgi` answer.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[non_exhaustive]
pub struct FilesRenamed {
    /// Number renamed.
    #[serde(default, deserialize_with = "de_opt_u64")]
    pub renamed: Option<u64>,
    /// Details.
    #[serde(default, deserialize_with = "de_vec")]
    pub urls: Vec<RenamedFile>,
}

/// `file/chattr.cgi` request: only `Some` fields are changed.
#[derive(Debug, Clone, Default, Serialize)]
pub struct FileChattrRequest {
    /// Files to change.
    pub urls: Vec<FileLink>,
    /// New name (single file only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub filename: Option<String>,
    /// Description; may be empty.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Password (≥ 6 chars); [`Password::none`] removes it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pass: Option<Password>,
    /// Default link without TLS.
    #[serde(
        skip_serializing_if = "Option::is_none",
        serialize_with = "ser_opt_flag"
    )]
    pub no_ssl: Option<bool>,
    /// Inline access.
    #[serde(
        skip_serializing_if = "Option::is_none",
        serialize_with = "ser_opt_flag"
    )]
    pub inline: Option<bool>,
    /// CDN flag.
    #[serde(
        skip_serializing_if = "Option::is_none",
        serialize_with = "ser_opt_flag"
    )]
    pub cdn: Option<bool>,
    /// Access restrictions; an empty [`Acl`] removes them.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub acl: Option<Acl>,
}

impl FileChattrRequest {
    /// A request changing nothing yet on these files.
    pub fn new(urls: impl IntoIterator<Item = FileLink>) -> Self {
        FileChattrRequest {
            urls: urls.into_iter().collect(),
            ..Default::default()
        }
    }
}

/// `file/chattr.cgi` answer.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[non_exhaustive]
pub struct FilesUpdated {
    /// Number updated.
    #[serde(default, deserialize_with = "de_opt_u64")]
    pub updated: Option<u64>,
    /// Links updated.
    #[serde(default, deserialize_with = "de_vec")]
    pub urls: Vec<FileLink>,
}

#[derive(Debug, Clone, Deserialize)]
pub(crate) struct ScanAnswer {
    #[serde(default, deserialize_with = "de_opt_date")]
    pub(crate) date: Option<ZonedDateTime>,
}

impl FileEntry {
    /// A listing entry, as a listing shows a file just uploaded.
    pub fn new(link: FileLink, filename: impl Into<String>, size: u64) -> FileEntry {
        FileEntry {
            link,
            filename: filename.into(),
            size,
            date: None,
            checksum: None,
            content_type: None,
            password: false,
            acl: false,
            cdn: false,
        }
    }

    /// The listing entry of a file known through `file/info`.
    pub fn from_info(info: &FileInfo) -> FileEntry {
        FileEntry {
            date: info.date.clone(),
            checksum: info.checksum.clone(),
            content_type: info.content_type.clone(),
            password: info.password,
            acl: info.acl.is_some(),
            cdn: info.cdn,
            ..FileEntry::new(info.link.clone(), info.filename.clone(), info.size)
        }
    }
}

impl Client {
    /// `file/ls.cgi` of one folder (0 = root). Cached 30 s; the same folder is listed at most
    /// once per 30 s (the call waits for the window).
    pub async fn file_ls(&self, folder_id: FolderId) -> Result<FileList> {
        self.file_ls_with(&FileLsRequest::folder(folder_id)).await
    }

    /// `file/ls.cgi` with every option (share, date filters, whole account).
    pub async fn file_ls_with(&self, req: &FileLsRequest) -> Result<FileList> {
        let extra = serde_json::to_string(req).unwrap_or_default();
        let rules = self.listing_rules("file/ls", req.folder_id, &extra);
        self.call(FILE_LS, req, rules).await
    }

    /// `file/info.cgi` for a file link, with its password when protected.
    pub async fn file_info(&self, url: &FileLink, pass: Option<&Password>) -> Result<FileInfo> {
        self.file_info_with(&FileInfoRequest::new(url.clone(), pass.cloned()))
            .await
    }

    /// `file/info.cgi` with every option (groupware hidden links).
    pub async fn file_info_with(&self, req: &FileInfoRequest) -> Result<FileInfo> {
        self.call(FILE_INFO, req, Rules::default()).await
    }

    /// `file/scan.cgi`: antivirus scan (files under 5 GB; the service deletes infected files).
    pub async fn file_scan(&self, url: &FileLink) -> Result<ScanResult> {
        let value = self
            .call_value(FILE_SCAN, &json!({ "url": url }), Rules::default())
            .await?;
        let ko = value
            .get("status")
            .and_then(Value::as_str)
            .is_some_and(|s| s.eq_ignore_ascii_case("KO"));
        if ko {
            let message = value
                .get("message")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_owned();
            return Ok(ScanResult::Infected { message });
        }
        let answer: ScanAnswer = self.decode(FILE_SCAN.path, value)?;
        Ok(ScanResult::Clean {
            cached_at: answer.date,
        })
    }

    /// `file/rm.cgi`. After an ambiguous failure, files whose `file/info` says "not found" count
    /// as removed; the rest is re-sent.
    pub async fn file_rm(&self, req: &FileRmRequest) -> Result<FilesRemoved> {
        if req.files.is_empty() {
            return Err(Error::invalid_input("no file to remove was given"));
        }
        let result = self
            .mutate(FILE_RM, req, move || async move {
                let mut removed = Vec::new();
                for f in &req.files {
                    match self.file_info(&f.url, None).await {
                        Err(Error::NotFound { .. }) => removed.push(f.url.clone()),
                        // Still there (a password-protected file refuses info but exists).
                        Ok(_) | Err(Error::NotAllowed { .. }) => return Ok(Check::NotApplied),
                        Err(_) => return Ok(Check::Unknown),
                    }
                }
                Ok(Check::Applied(FilesRemoved {
                    removed: Some(removed.len() as u64),
                    urls: removed,
                }))
            })
            .await;
        self.after_change(result, |_| Edit::FilesRemoved {
            urls: req
                .files
                .iter()
                .map(|f| f.url.as_str().to_owned())
                .collect(),
        })
        .await
    }

    /// `file/mv.cgi`. After an ambiguous failure, `file/info` of each file decides.
    pub async fn file_mv(&self, req: &FileMvRequest) -> Result<FilesMoved> {
        if req.urls.is_empty() {
            return Err(Error::invalid_input("no file to move was given"));
        }
        if req.rename.is_some() && req.urls.len() != 1 {
            return Err(Error::invalid_input(
                "rename is allowed only when moving a single file",
            ));
        }
        let result = self
            .mutate(FILE_MV, req, move || async move {
                for u in &req.urls {
                    let info = match self.file_info(u, None).await {
                        Ok(i) => i,
                        Err(_) => return Ok(Check::Unknown),
                    };
                    let in_place = info.folder_id == Some(req.destination_folder_id);
                    let named = req.rename.as_ref().is_none_or(|n| *n == info.filename);
                    if !(in_place && named) {
                        return Ok(Check::NotApplied);
                    }
                }
                Ok(Check::Applied(FilesMoved {
                    moved: Some(req.urls.len() as u64),
                    urls: req.urls.clone(),
                    filename: req.rename.clone(),
                }))
            })
            .await;
        self.after_change(result, |a| {
            if req.destination_user.is_some() {
                Edit::FilesRemoved {
                    urls: req.urls.iter().map(|u| u.as_str().to_owned()).collect(),
                }
            } else {
                Edit::FilesMoved {
                    moves: pairs(&req.urls, &a.urls),
                    to: req.destination_folder_id,
                    rename: req.rename.clone(),
                }
            }
        })
        .await
    }

    /// `file/cp.cgi`. A copy makes a new link, so an ambiguous failure cannot be checked
    /// reliably: it is reported as [`Error::OutcomeUnknown`].
    pub async fn file_cp(&self, req: &FileCpRequest) -> Result<FilesCopied> {
        if req.urls.is_empty() {
            return Err(Error::invalid_input("no file to copy was given"));
        }
        if req.rename.is_some() && req.urls.len() != 1 {
            return Err(Error::invalid_input(
                "rename is allowed only when copying a single file",
            ));
        }
        let result = self
            .mutate(FILE_CP, req, move || async move { Ok(Check::Unknown) })
            .await;
        self.after_change(result, |a: &FilesCopied| Edit::FilesCopied {
            copies: a
                .urls
                .iter()
                .map(|c| (c.from_url.as_str().to_owned(), c.to_url.as_str().to_owned()))
                .collect(),
            to: req.folder_id,
            rename: req.rename.clone(),
        })
        .await
    }

    /// `file/rename.cgi`. After an ambiguous failure, `file/info` names decide.
    pub async fn file_rename(&self, req: &FileRenameRequest) -> Result<FilesRenamed> {
        if req.urls.is_empty() {
            return Err(Error::invalid_input("no file to rename was given"));
        }
        if let Some(bad) = req.urls.iter().find(|i| i.filename.trim().is_empty()) {
            return Err(Error::invalid_input(format!(
                "the new name for {} is empty",
                bad.url
            )));
        }
        let result = self
            .mutate(FILE_RENAME, req, move || async move {
                let mut done = Vec::new();
                for item in &req.urls {
                    match self.file_info(&item.url, None).await {
                        Ok(i) if i.filename == item.filename => done.push(RenamedFile {
                            url: item.url.clone(),
                            old_filename: String::new(),
                            new_filename: i.filename,
                        }),
                        Ok(_) => return Ok(Check::NotApplied),
                        Err(_) => return Ok(Check::Unknown),
                    }
                }
                Ok(Check::Applied(FilesRenamed {
                    renamed: Some(done.len() as u64),
                    urls: done,
                }))
            })
            .await;
        self.after_change(result, |_| Edit::FilesRenamed {
            renames: req
                .urls
                .iter()
                .map(|i| (i.url.as_str().to_owned(), i.filename.clone()))
                .collect(),
        })
        .await
    }

    /// `file/chattr.cgi`: description, password, flags, ACL, name.
    pub async fn file_chattr(&self, req: &FileChattrRequest) -> Result<FilesUpdated> {
        if req.urls.is_empty() {
            return Err(Error::invalid_input("no file to change was given"));
        }
        if let Some(p) = &req.pass
            && !p.is_empty()
            && p.len() < 6
        {
            return Err(Error::invalid_input(
                "a file password needs at least 6 characters",
            ));
        }
        // Setting attributes twice gives the same result: safe to re-send.
        let result = self
            .mutate(
                FILE_CHATTR,
                req,
                move || async move { Ok(Check::NotApplied) },
            )
            .await;
        self.after_change(result, |_| Edit::FilesChanged {
            urls: req.urls.iter().map(|u| u.as_str().to_owned()).collect(),
        })
        .await
    }
}

/// Each moved link with its link after the move (the answer's, when it gives one per file).
fn pairs(before: &[FileLink], after: &[FileLink]) -> Vec<(String, String)> {
    before
        .iter()
        .enumerate()
        .map(|(i, b)| {
            let a = if after.len() == before.len() {
                &after[i]
            } else {
                b
            };
            (b.as_str().to_owned(), a.as_str().to_owned())
        })
        .collect()
}
