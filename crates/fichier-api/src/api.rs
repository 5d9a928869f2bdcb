//! One typed method per JSON endpoint of the reference (user, download token, file, folder,
//! shared folder, remote upload, upload server, FTP, vouchers), with each endpoint's pacing
//! rules and, for mutations, the state check that runs before any re-send.

use serde::Serialize;
use serde_json::{Value, json};

use crate::client::{Check, Client, Ep, Kind, Rules};
use crate::error::{Error, Result};
use crate::pacer::Window;
use crate::types::*;

pub(crate) const USER_INFO: Ep = Ep::read("user/info.cgi");
pub(crate) const USER_INFO_SET: Ep = Ep::mutation("user/info.cgi");
pub(crate) const GET_TOKEN: Ep = Ep::read("download/get_token.cgi");
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
pub(crate) const FOLDER_LS: Ep = Ep::read("folder/ls.cgi");
pub(crate) const FOLDER_MKDIR: Ep = Ep::mutation("folder/mkdir.cgi");
pub(crate) const FOLDER_MV: Ep = Ep::mutation("folder/mv.cgi");
pub(crate) const FOLDER_RM: Ep = Ep::mutation("folder/rm.cgi");
pub(crate) const FOLDER_SHARE: Ep = Ep::mutation("folder/share.cgi");
pub(crate) const REMOTE_LS: Ep = Ep::read("remote/ls.cgi");
pub(crate) const REMOTE_INFO: Ep = Ep::read("remote/info.cgi");
pub(crate) const REMOTE_REQUEST: Ep = Ep::mutation("remote/request.cgi");
pub(crate) const UPLOAD_SERVER: Ep = Ep {
    path: "upload/get_upload_server.cgi",
    kind: Kind::Read,
    auth: false,
    ko_is_answer: false,
};
pub(crate) const FTP_PROCESS: Ep = Ep::mutation("ftp/process.cgi");
pub(crate) const FTP_USERS_LS: Ep = Ep::read("ftp/users/ls.cgi");
pub(crate) const FTP_USERS_ADD: Ep = Ep::mutation("ftp/users/add.cgi");
pub(crate) const FTP_USERS_RM: Ep = Ep::mutation("ftp/users/rm.cgi");
pub(crate) const VOUCHERS_LS: Ep = Ep::read("vouchers/ls.cgi");
pub(crate) const VOUCHERS_CHECK: Ep = Ep {
    path: "vouchers/check.cgi",
    kind: Kind::Read,
    auth: true,
    ko_is_answer: true,
};
pub(crate) const VOUCHERS_USE: Ep = Ep::mutation("vouchers/use.cgi");

#[derive(Serialize)]
struct Empty {}

impl Client {
    fn listing_rules(&self, endpoint: &str, folder: i64, extra: &str) -> Rules {
        let cfg = self.inner.pacer.config();
        let window = if folder < 0 {
            cfg.all_files_window
        } else {
            cfg.listing_window
        };
        // Answers are reused for as long as a new call would have to wait anyway.
        let cache_ttl = window;
        Rules {
            window: (!window.is_zero()).then(|| Window {
                key: format!("{endpoint}:{folder}:{extra}"),
                window,
            }),
            cache_ttl,
        }
    }

    fn user_info_rules(&self) -> Rules {
        let w = self.inner.pacer.config().user_info_window;
        Rules {
            window: (!w.is_zero()).then(|| Window {
                key: "user/info".into(),
                window: w,
            }),
            cache_ttl: w,
        }
    }

    // ----- user -------------------------------------------------------------------------

    /// `user/info.cgi`: the account and its settings. Cached for 5 minutes (the service allows
    /// one call per 5 minutes per user).
    pub async fn user_info(&self) -> Result<UserInfo> {
        self.call(USER_INFO, &Empty {}, self.user_info_rules())
            .await
    }

    /// `user/info.cgi` with fields: changes account settings and returns the new state.
    pub async fn user_settings_set(&self, settings: &UserSettings) -> Result<UserInfo> {
        if settings.is_empty() {
            return Err(Error::invalid_input("no setting to change was given"));
        }
        // Only the minimum gap applies: the 5-minute window is for reading the account.
        let rules = self.user_info_rules();
        let value = self
            .call_value(USER_INFO_SET, settings, Rules::default())
            .await?;
        // The answer echoes the account: it refreshes the user/info cache.
        if !rules.cache_ttl.is_zero() && value.get("email").is_some() {
            let key = format!("{}|{{}}", USER_INFO.path);
            self.inner
                .pacer
                .store(
                    &key,
                    rules.cache_ttl,
                    serde_json::to_vec(&value).unwrap_or_default(),
                )
                .await;
        }
        self.decode(USER_INFO_SET.path, value)
    }

    // ----- download token ------------------------------------------------------------------

    /// `download/get_token.cgi`: a one-shot direct URL, valid about 5 minutes.
    pub async fn download_token(&self, req: &DownloadTokenRequest) -> Result<DownloadToken> {
        if req.url.is_none() && req.filename.is_none() {
            return Err(Error::invalid_input(
                "a download token needs a file link (or folder_id + filename)",
            ));
        }
        let answer: TokenAnswer = self.call(GET_TOKEN, req, Rules::default()).await?;
        if answer.url.trim().is_empty() {
            return Err(Error::protocol(
                GET_TOKEN.path,
                "the answer has an empty url",
                b"",
            ));
        }
        Ok(DownloadToken::new(answer.url))
    }

    // ----- files -----------------------------------------------------------------------------

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
        self.mutate(FILE_RM, req, move || async move {
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
        self.mutate(FILE_MV, req, move || async move {
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
        self.mutate(FILE_CP, req, move || async move { Ok(Check::Unknown) })
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
        self.mutate(FILE_RENAME, req, move || async move {
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
        self.mutate(
            FILE_CHATTR,
            req,
            move || async move { Ok(Check::NotApplied) },
        )
        .await
    }

    // ----- folders ---------------------------------------------------------------------------

    /// `folder/ls.cgi`: a folder, its sub-folders, and (with `files: true`) its files in one
    /// call. Cached 30 s; one real listing per folder per 30 s.
    pub async fn folder_ls(&self, req: &FolderLsRequest) -> Result<FolderListing> {
        let extra = serde_json::to_string(req).unwrap_or_default();
        let rules = self.listing_rules("folder/ls", req.folder_id as i64, &extra);
        self.call(FOLDER_LS, req, rules).await
    }

    /// `folder/mkdir.cgi`. After an ambiguous failure, a sub-folder of that name in the parent
    /// counts as created.
    pub async fn folder_mkdir(&self, req: &FolderMkdirRequest) -> Result<FolderCreated> {
        let name = req.name.trim();
        if name.is_empty() {
            return Err(Error::invalid_input("the folder name is empty"));
        }
        if req.name.chars().count() > 250 {
            return Err(Error::invalid_input(
                "folder names are limited to 250 characters",
            ));
        }
        self.mutate(FOLDER_MKDIR, req, move || async move {
            let parent = FolderLsRequest {
                folder_id: req.folder_id,
                sharing_user: req.sharing_user.clone(),
                files: false,
            };
            match self.folder_ls_fresh(&parent).await {
                Ok(l) => Ok(match l.sub_folders.iter().find(|f| f.name == req.name) {
                    Some(f) => Check::Applied(FolderCreated {
                        folder_id: f.id,
                        name: f.name.clone(),
                    }),
                    None => Check::NotApplied,
                }),
                Err(_) => Ok(Check::Unknown),
            }
        })
        .await
    }

    /// `folder/mv.cgi`: move, or rename in place ([`FolderMvRequest::rename`]).
    pub async fn folder_mv(&self, req: &FolderMvRequest) -> Result<FolderMoved> {
        if req.rename.as_deref().is_some_and(|n| n.trim().is_empty()) {
            return Err(Error::invalid_input("the new folder name is empty"));
        }
        if req.rename.is_none() && req.folder_id == req.destination_folder_id {
            return Err(Error::invalid_input("a folder cannot be moved into itself"));
        }
        self.mutate(FOLDER_MV, req, move || async move {
            if let Some(new) = &req.rename {
                match self
                    .folder_ls_fresh(&FolderLsRequest::new(req.folder_id))
                    .await
                {
                    Ok(l) if l.name == *new => Ok(Check::Applied(FolderMoved {
                        old_name: None,
                        new_name: Some(l.name),
                        message: None,
                    })),
                    Ok(_) => Ok(Check::NotApplied),
                    Err(_) => Ok(Check::Unknown),
                }
            } else {
                let dest = FolderLsRequest {
                    folder_id: req.destination_folder_id,
                    sharing_user: req.destination_user.clone(),
                    files: false,
                };
                match self.folder_ls_fresh(&dest).await {
                    Ok(l) => Ok(match l.sub_folders.iter().find(|f| f.id == req.folder_id) {
                        Some(f) => Check::Applied(FolderMoved {
                            old_name: Some(f.name.clone()),
                            new_name: Some(f.name.clone()),
                            message: None,
                        }),
                        None => Check::NotApplied,
                    }),
                    Err(_) => Ok(Check::Unknown),
                }
            }
        })
        .await
    }

    /// `folder/rm.cgi`. After an ambiguous failure, a folder that no longer lists counts as
    /// removed.
    pub async fn folder_rm(&self, folder_id: FolderId) -> Result<Done> {
        if folder_id == ROOT_FOLDER {
            return Err(Error::invalid_input("the root folder cannot be removed"));
        }
        self.mutate(
            FOLDER_RM,
            &json!({ "folder_id": folder_id }),
            move || async move {
                match self.folder_ls_fresh(&FolderLsRequest::new(folder_id)).await {
                    Err(Error::NotFound { .. }) => Ok(Check::Applied(Done { message: None })),
                    Ok(_) => Ok(Check::NotApplied),
                    Err(_) => Ok(Check::Unknown),
                }
            },
        )
        .await
    }

    /// `folder/share.cgi`: public share on/off with password, groupware shares.
    pub async fn folder_share(&self, req: &FolderShareRequest) -> Result<FolderShared> {
        if let Some(p) = &req.pass
            && p.len() < 6
        {
            return Err(Error::invalid_input(
                "a share password needs at least 6 characters",
            ));
        }
        // Setting the same shares twice gives the same result: safe to re-send.
        self.mutate(
            FOLDER_SHARE,
            req,
            move || async move { Ok(Check::NotApplied) },
        )
        .await
    }

    /// A `folder/ls` that skips the cache (state checks must see the truth).
    pub(crate) async fn folder_ls_fresh(&self, req: &FolderLsRequest) -> Result<FolderListing> {
        let extra = serde_json::to_string(req).unwrap_or_default();
        let rules = Rules {
            cache_ttl: Default::default(),
            ..self.listing_rules("folder/ls", req.folder_id as i64, &extra)
        };
        self.call(FOLDER_LS, req, rules).await
    }

    /// A `file/ls` of one folder that skips the cache (state checks must see the truth).
    pub(crate) async fn file_ls_fresh(&self, folder_id: FolderId) -> Result<FileList> {
        let req = FileLsRequest::folder(folder_id);
        let extra = serde_json::to_string(&req).unwrap_or_default();
        let rules = Rules {
            cache_ttl: Default::default(),
            ..self.listing_rules("file/ls", req.folder_id, &extra)
        };
        self.call(FILE_LS, &req, rules).await
    }

    /// Public shared folder listing (website `dir/<id>?json=1`, no key). `share` is the share
    /// id or its full URL; `pass` the share password when it has one.
    pub async fn shared_folder_ls(
        &self,
        share: &str,
        pass: Option<&Password>,
    ) -> Result<Vec<SharedFile>> {
        let id = share
            .trim()
            .trim_end_matches('/')
            .rsplit('/')
            .next()
            .unwrap_or("");
        let id = id.split('?').next().unwrap_or("");
        if id.is_empty()
            || !id
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        {
            return Err(Error::invalid_input(format!(
                "{share:?} is not a shared folder: expected https://1fichier.com/dir/<id> or the id"
            )));
        }
        let mut url = self
            .inner
            .website_base
            .join(&format!("dir/{id}"))
            .map_err(|e| Error::invalid_input(e.to_string()))?;
        url.set_query(Some("json=1"));
        let what = "shared folder listing";
        self.inner.pacer.acquire(what).await?;
        let req = match pass {
            None => self.inner.http.get(url),
            Some(p) => {
                let body = format!("json=1&pass={}", percent_encode(p.expose()));
                self.inner
                    .http
                    .post(url)
                    .header(
                        reqwest::header::CONTENT_TYPE,
                        "application/x-www-form-urlencoded",
                    )
                    .body(body)
            }
        };
        let resp = req
            .timeout(self.inner.request_timeout)
            .send()
            .await
            .map_err(|e| Error::transport(what, e))?;
        let status = resp.status().as_u16();
        let bytes = resp.bytes().await.map_err(|e| Error::transport(what, e))?;
        if status == 404 {
            return Err(Error::NotFound {
                message: crate::error::ServiceMessage {
                    text: format!("shared folder {id} not found"),
                    code: None,
                    http_status: 404,
                },
            });
        }
        match serde_json::from_slice::<Value>(&bytes) {
            Ok(v @ Value::Array(_)) => self.decode(what, v),
            Ok(v) => Err(self
                .decode_envelope(
                    Ep::read("dir"),
                    status,
                    &serde_json::to_vec(&v).unwrap_or_default(),
                )
                .err()
                .unwrap_or_else(|| {
                    Error::protocol(what, "expected a JSON list", &self.redact_bytes(&bytes))
                })),
            Err(_) if (200..300).contains(&status) => Err(Error::NotAllowed {
                reason: if pass.is_some() {
                    crate::error::NotAllowedReason::PasswordInvalid
                } else {
                    crate::error::NotAllowedReason::PasswordMissing
                },
                message: crate::error::ServiceMessage {
                    text: "the shared folder answered with its password page".into(),
                    code: None,
                    http_status: status,
                },
            }),
            Err(_) => Err(crate::error::classify(
                status,
                None,
                &self.redact_bytes(&bytes),
            )),
        }
    }

    // ----- remote upload ---------------------------------------------------------------------

    /// `remote/ls.cgi`: remote-upload jobs.
    pub async fn remote_ls(&self) -> Result<Vec<RemoteJob>> {
        let l: ListData<RemoteJob> = self.call(REMOTE_LS, &Empty {}, Rules::default()).await?;
        Ok(l.data)
    }

    /// `remote/info.cgi`: one job and its per-URL results.
    pub async fn remote_info(&self, id: RemoteJobId) -> Result<RemoteJobInfo> {
        self.call(REMOTE_INFO, &json!({ "id": id }), Rules::default())
            .await
    }

    /// `remote/request.cgi`: asks the service to fetch URLs into a folder. After an ambiguous
    /// failure the outcome cannot be checked (jobs carry no client id): [`Error::OutcomeUnknown`].
    pub async fn remote_request(&self, req: &RemoteRequest) -> Result<RemoteRequested> {
        if req.urls.is_empty() {
            return Err(Error::invalid_input("no URL to fetch was given"));
        }
        for u in &req.urls {
            let ok =
                url::Url::parse(u).is_ok_and(|p| matches!(p.scheme(), "http" | "https" | "ftp"));
            if !ok {
                return Err(Error::invalid_input(format!(
                    "{u:?} is not an http(s) or ftp URL"
                )));
            }
        }
        self.mutate(
            REMOTE_REQUEST,
            req,
            move || async move { Ok(Check::Unknown) },
        )
        .await
    }

    // ----- upload server ---------------------------------------------------------------------

    /// `upload/get_upload_server.cgi`: a node and an upload id (no key needed).
    pub async fn upload_server(&self) -> Result<UploadServer> {
        let s: UploadServer = self
            .call(UPLOAD_SERVER, &Empty {}, Rules::default())
            .await?;
        let host_ok = !s.host.is_empty()
            && s.host.bytes().all(|b| {
                b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b':' | b'[' | b']')
            });
        let id_ok =
            !s.id.is_empty() && s.id.len() <= 64 && s.id.bytes().all(|b| b.is_ascii_alphanumeric());
        if !host_ok || !id_ok {
            return Err(Error::protocol(
                UPLOAD_SERVER.path,
                "the node host or upload id has an unexpected form",
                b"",
            ));
        }
        Ok(s)
    }

    // ----- FTP ---------------------------------------------------------------------------

    /// `ftp/process.cgi`: processes files sent by FTP (manual mode).
    pub async fn ftp_process(&self) -> Result<Done> {
        self.mutate(FTP_PROCESS, &Empty {}, move || async move {
            Ok(Check::NotApplied)
        })
        .await
    }

    /// `ftp/users/ls.cgi`: FTP sub-accounts.
    pub async fn ftp_users_ls(&self) -> Result<Vec<FtpUser>> {
        let l: FtpUsers = self.call(FTP_USERS_LS, &Empty {}, Rules::default()).await?;
        Ok(l.items)
    }

    /// `ftp/users/add.cgi`: creates an FTP sub-account.
    pub async fn ftp_users_add(&self, req: &FtpUserAddRequest) -> Result<Done> {
        if req.user.trim().is_empty() {
            return Err(Error::invalid_input("the FTP user name is empty"));
        }
        self.mutate(FTP_USERS_ADD, req, move || async move {
            match self.ftp_users_ls().await {
                Ok(users) if users.iter().any(|u| u.user == req.user) => {
                    Ok(Check::Applied(Done::default()))
                }
                Ok(_) => Ok(Check::NotApplied),
                Err(_) => Ok(Check::Unknown),
            }
        })
        .await
    }

    /// `ftp/users/rm.cgi`: deletes an FTP sub-account.
    pub async fn ftp_users_rm(&self, user: &str) -> Result<Done> {
        self.mutate(FTP_USERS_RM, &json!({ "user": user }), move || async move {
            match self.ftp_users_ls().await {
                Ok(users) if !users.iter().any(|u| u.user == user) => {
                    Ok(Check::Applied(Done::default()))
                }
                Ok(_) => Ok(Check::NotApplied),
                Err(_) => Ok(Check::Unknown),
            }
        })
        .await
    }

    // ----- vouchers ------------------------------------------------------------------------

    /// `vouchers/ls.cgi`: unused vouchers owned (resellers).
    pub async fn vouchers_ls(&self) -> Result<Vec<Voucher>> {
        let l: ListData<Voucher> = self.call(VOUCHERS_LS, &Empty {}, Rules::default()).await?;
        Ok(l.data)
    }

    /// `vouchers/check.cgi`: whether a voucher is valid.
    pub async fn vouchers_check(&self, voucher: &str) -> Result<VoucherCheck> {
        let v = self
            .call_value(
                VOUCHERS_CHECK,
                &json!({ "voucher": voucher }),
                Rules::default(),
            )
            .await?;
        let valid = v
            .get("status")
            .and_then(Value::as_str)
            .is_some_and(|s| s.eq_ignore_ascii_case("OK"));
        let service = v
            .get("service")
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
            .map(str::to_owned);
        Ok(VoucherCheck { valid, service })
    }

    /// `vouchers/use.cgi`: credits a voucher to a user. Not re-sent after an ambiguous failure.
    pub async fn vouchers_use(&self, voucher: &str, user_email: &str) -> Result<Done> {
        self.mutate(
            VOUCHERS_USE,
            &json!({ "voucher": voucher, "user_email": user_email }),
            move || async move { Ok(Check::Unknown) },
        )
        .await
    }
}

/// Percent-encodes a form value (RFC 3986 unreserved characters kept).
fn percent_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}
