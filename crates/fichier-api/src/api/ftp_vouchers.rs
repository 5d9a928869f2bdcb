//! `ftp/*` and `vouchers/*`: FTP process and users, vouchers.

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::client::{Check, Client, Ep, Kind, Rules};
use crate::error::{Error, Result};
use crate::values::*;
use crate::wire::{de_opt_u64, de_vec};

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

/// An FTP sub-account (`ftp/users/ls`; shape unconfirmed by any real traffic).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[non_exhaustive]
pub struct FtpUser {
    /// Login.
    pub user: String,
    /// Destination folder.
    #[serde(default, deserialize_with = "de_opt_u64")]
    pub folder_id: Option<FolderId>,
}

/// `ftp/users/ls.cgi` answer.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[non_exhaustive]
pub struct FtpUsers {
    /// The sub-accounts.
    #[serde(default, deserialize_with = "de_vec", alias = "data")]
    pub items: Vec<FtpUser>,
}

/// `ftp/users/add.cgi` request.
#[derive(Debug, Clone, Serialize)]
#[non_exhaustive]
pub struct FtpUserAddRequest {
    /// Login.
    pub user: String,
    /// Password.
    pub pass: Password,
    /// Destination folder of that user's uploads.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub folder_id: Option<FolderId>,
}

impl FtpUserAddRequest {
    /// A sub-account uploading into `folder_id` (root when `None`).
    pub fn new(user: impl Into<String>, pass: Password, folder_id: Option<FolderId>) -> Self {
        FtpUserAddRequest {
            user: user.into(),
            pass,
            folder_id,
        }
    }
}

/// A voucher (`vouchers/ls`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[non_exhaustive]
pub struct Voucher {
    /// 32-char code.
    pub voucher: String,
    /// Service it grants.
    #[serde(default)]
    pub service: String,
}

/// `vouchers/check.cgi` answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct VoucherCheck {
    /// The voucher can be used.
    pub valid: bool,
    /// Service it grants, when known.
    pub service: Option<String>,
}

impl Client {
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
