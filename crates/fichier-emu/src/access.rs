//! Who may see or change what: folder and file resolution for a caller (own items, groupware
//! shares, public files with password and ACL), plus name and password rules.

use std::net::IpAddr;

use serde_json::{Value, json};

use crate::error::Ko;
use crate::model::Account;
use crate::state::App;
use crate::store::{FileRow, FolderRow, ShareRow, db};
use crate::time;

/// Most characters in a file or folder name.
pub const MAX_NAME: usize = 250;
/// Fewest characters in a password.
pub const MIN_PASS: usize = 6;

/// A folder as seen by the caller.
#[derive(Debug, Clone)]
pub struct FolderCtx {
    /// Account owning the folder.
    pub owner_id: i64,
    /// The folder; `None` for a root (the caller's, or a share root).
    pub folder: Option<FolderRow>,
    /// Rights when reached through a groupware share; `None` for own folders.
    pub share: Option<ShareRow>,
    /// E-mail of the sharing owner when reached through a share.
    pub sharing_user: Option<String>,
}

impl FolderCtx {
    /// Folder id (0 for a root).
    pub fn id(&self) -> i64 {
        self.folder.as_ref().map_or(0, |f| f.id)
    }

    /// Whether the caller may write here.
    pub fn writable(&self) -> bool {
        self.share.as_ref().is_none_or(|s| s.rw)
    }

    /// Whether file links are hidden from the caller.
    pub fn hide_links(&self) -> bool {
        self.share.as_ref().is_some_and(|s| s.hide_links)
    }
}

/// Resolve `folder_id` (with optional `sharing_user`) for the caller.
pub fn folder_ctx(
    app: &App,
    acct: &Account,
    folder_id: i64,
    sharing_user: Option<&str>,
) -> Result<FolderCtx, Ko> {
    let sharing_user = sharing_user.map(str::trim).filter(|s| !s.is_empty());
    if folder_id == 0 {
        return match sharing_user {
            None => Ok(FolderCtx {
                owner_id: acct.id,
                folder: None,
                share: None,
                sharing_user: None,
            }),
            Some(email) => {
                let owner = db(app.store.account_by_email(email))?.ok_or_else(Ko::not_found)?;
                let shared = db(app.store.shared_with(owner.id, &acct.email))?;
                if shared.is_empty() {
                    return Err(Ko::not_found());
                }
                let rw = shared.iter().any(|(_, s)| s.rw);
                let hide = shared.iter().all(|(_, s)| s.hide_links);
                Ok(FolderCtx {
                    owner_id: owner.id,
                    folder: None,
                    share: Some(ShareRow {
                        email: acct.email.clone(),
                        rw,
                        hide_links: hide,
                    }),
                    sharing_user: Some(owner.email),
                })
            }
        };
    }
    if folder_id < 0 {
        return Err(Ko::not_found());
    }
    let folder = db(app.store.folder(folder_id))?.ok_or_else(Ko::not_found)?;
    if folder.account_id == acct.id {
        return Ok(FolderCtx {
            owner_id: acct.id,
            folder: Some(folder),
            share: None,
            sharing_user: None,
        });
    }
    // Reached through a groupware share of this folder or one of its ancestors.
    let mut cur = Some(folder.clone());
    let mut depth = 0;
    while let Some(f) = cur {
        if let Some(s) = db(app.store.shares(f.id))?
            .into_iter()
            .find(|s| s.email.eq_ignore_ascii_case(&acct.email))
        {
            let owner = db(app.store.account_by_id(folder.account_id))?;
            return Ok(FolderCtx {
                owner_id: folder.account_id,
                folder: Some(folder),
                share: Some(s),
                sharing_user: owner.map(|o| o.email),
            });
        }
        depth += 1;
        if f.parent_id == 0 || depth > 10_000 {
            break;
        }
        cur = db(app.store.folder(f.parent_id))?;
    }
    Err(Ko::not_found())
}

/// `Photos/2024`-style path of a folder (empty for the root).
pub fn folder_path(app: &App, folder_id: i64) -> Result<String, Ko> {
    let mut parts = Vec::new();
    let mut id = folder_id;
    while id != 0 && parts.len() < 10_000 {
        match db(app.store.folder(id))? {
            Some(f) => {
                parts.push(f.name);
                id = f.parent_id;
            }
            None => break,
        }
    }
    parts.reverse();
    Ok(parts.join("/"))
}

/// Extract the file id from a file link (`https://<domain>/?<id>`, `&…` suffixes allowed, or
/// the old `http://<id>.1fichier.com/`).
pub fn file_id_from_url(link: &str) -> Option<String> {
    let u = url::Url::parse(link.trim()).ok()?;
    let host = u.host_str()?.to_ascii_lowercase();
    let host = host.strip_prefix("www.").unwrap_or(&host).to_string();
    let id = if crate::model::DOMAINS.contains(&host.as_str()) {
        u.query()?.split('&').next()?.to_ascii_lowercase()
    } else {
        host.strip_suffix(".1fichier.com")?.to_string()
    };
    let ok = (5..=20).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit());
    ok.then_some(id)
}

/// Whether a link asks for inline display (`&inline=1`).
pub fn url_wants_inline(link: &str) -> bool {
    url::Url::parse(link.trim())
        .ok()
        .and_then(|u| u.query().map(|q| q.split('&').any(|kv| kv == "inline=1")))
        .unwrap_or(false)
}

/// A file by link, whatever its owner (404 if unknown).
pub fn file_by_url(app: &App, link: &str) -> Result<FileRow, Ko> {
    let id = file_id_from_url(link).ok_or_else(Ko::not_found)?;
    db(app.store.file(&id))?.ok_or_else(Ko::not_found)
}

/// How the caller relates to a file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Relation {
    /// The caller owns it.
    Owner,
    /// Reached through a groupware share (`rw` = may change it).
    Shared {
        /// Write access.
        rw: bool,
    },
    /// Someone else's file, public access only.
    Public,
}

/// The caller's relation to a file.
pub fn relation(app: &App, acct: &Account, f: &FileRow) -> Result<Relation, Ko> {
    if f.account_id == Some(acct.id) {
        return Ok(Relation::Owner);
    }
    if f.folder_id != 0
        && let Ok(ctx) = folder_ctx(app, acct, f.folder_id, None)
        && ctx.owner_id != acct.id
        && let Some(s) = ctx.share
    {
        return Ok(Relation::Shared { rw: s.rw });
    }
    Ok(Relation::Public)
}

/// A file the caller may change (owner or read-write share); others get 404.
pub fn writable_file(app: &App, acct: &Account, link: &str) -> Result<FileRow, Ko> {
    let f = file_by_url(app, link)?;
    match relation(app, acct, &f)? {
        Relation::Owner | Relation::Shared { rw: true } => Ok(f),
        _ => Err(Ko::not_found()),
    }
}

/// A file the caller may read: the password applies to everyone (owner included), the ACL
/// to public access only; groupware shares ignore both (reference §2.2).
pub fn readable_file(
    app: &App,
    acct: &Account,
    ip: IpAddr,
    f: FileRow,
    pass: Option<&str>,
) -> Result<FileRow, Ko> {
    let rel = relation(app, acct, &f)?;
    if matches!(rel, Relation::Shared { .. }) {
        return Ok(f);
    }
    if !f.pass.is_empty() {
        match pass {
            None | Some("") => {
                return Err(Ko::forbidden(
                    "Password not provided. Resource not allowed #631",
                ));
            }
            Some(p) if p != f.pass => {
                return Err(Ko::forbidden("Invalid password. Resource not allowed #631"));
            }
            _ => {}
        }
    }
    if rel == Relation::Public && !acl_allows(app, acct, ip, &f.acl) {
        return Err(Ko::forbidden("Resource not allowed #631"));
    }
    Ok(f)
}

fn acl_allows(app: &App, acct: &Account, ip: IpAddr, acl: &Value) -> bool {
    let list = |k: &str| -> Vec<String> {
        acl.get(k)
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(|v| v.as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default()
    };
    let ips = list("ip");
    if !ips.is_empty() && !ips.iter().any(|c| cidr_contains(c, ip)) {
        return false;
    }
    let countries = list("country");
    if !countries.is_empty()
        && !countries
            .iter()
            .any(|c| c.eq_ignore_ascii_case(&app.config.client_country))
    {
        return false;
    }
    let emails = list("email");
    if !emails.is_empty() && !emails.iter().any(|e| e.eq_ignore_ascii_case(&acct.email)) {
        return false;
    }
    let premium = acl
        .get("premium")
        .and_then(crate::params::as_int)
        .unwrap_or(0);
    premium == 0 || acct.offer.is_customer()
}

/// Whether `cidr` (`a.b.c.d/n`, IPv6 too, or a bare address) contains `ip`.
pub fn cidr_contains(cidr: &str, ip: IpAddr) -> bool {
    let (addr, bits) = match cidr.split_once('/') {
        Some((a, b)) => (a, b.parse::<u32>().ok()),
        None => (cidr, None),
    };
    let Ok(net) = addr.trim().parse::<IpAddr>() else {
        return false;
    };
    match (net, ip) {
        (IpAddr::V4(n), IpAddr::V4(i)) => {
            let bits = bits.unwrap_or(32).min(32);
            let mask = if bits == 0 {
                0
            } else {
                u32::MAX << (32 - bits)
            };
            u32::from(n) & mask == u32::from(i) & mask
        }
        (IpAddr::V6(n), IpAddr::V6(i)) => {
            let bits = bits.unwrap_or(128).min(128);
            let mask = if bits == 0 {
                0
            } else {
                u128::MAX << (128 - bits)
            };
            u128::from(n) & mask == u128::from(i) & mask
        }
        _ => false,
    }
}

/// Check a file or folder name.
pub fn check_name(name: &str, what: &str) -> Result<(), Ko> {
    let n = name.chars().count();
    if n == 0 || n > MAX_NAME || name.contains('/') || name.chars().any(char::is_control) {
        return Err(Ko::forbidden(format!("Invalid {what} name #0")));
    }
    Ok(())
}

/// Check a new password (empty is allowed where it means "remove").
pub fn check_pass(pass: &str) -> Result<(), Ko> {
    if !pass.is_empty() && pass.chars().count() < MIN_PASS {
        return Err(Ko::forbidden(format!(
            "Invalid password: at least {MIN_PASS} characters are required #0"
        )));
    }
    Ok(())
}

/// A `file/ls` item.
pub fn ls_item(f: &FileRow, hide_links: bool) -> Value {
    json!({
        "url": if hide_links { String::new() } else { App::file_url(f.domain, &f.id) },
        "filename": f.filename,
        "size": f.size,
        "date": time::fmt_date(f.created),
        "checksum": f.checksum,
        "content-type": f.content_type,
        "pass": i64::from(!f.pass.is_empty()),
        "acl": i64::from(f.has_acl()),
        "cdn": i64::from(f.cdn),
    })
}

/// A `file/info` object (no `status`, like the fixtures).
pub fn info_object(app: &App, f: &FileRow) -> Result<Value, Ko> {
    let acl = if f.has_acl() {
        f.acl.clone()
    } else {
        json!({})
    };
    Ok(json!({
        "url": App::file_url(f.domain, &f.id),
        "filename": f.filename,
        "size": f.size,
        "date": time::fmt_date(f.created),
        "folder_id": f.folder_id,
        "path": folder_path(app, f.folder_id)?,
        "checksum": f.checksum,
        "content-type": f.content_type,
        "description": f.description,
        "pass": i64::from(!f.pass.is_empty()),
        "no_ssl": i64::from(f.no_ssl),
        "inline": i64::from(f.inline),
        "cdn": i64::from(f.cdn),
        "acl": acl,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn links() {
        assert_eq!(
            file_id_from_url("https://1fichier.com/?k3x9q2m7v1p8w4z6t0ab").as_deref(),
            Some("k3x9q2m7v1p8w4z6t0ab")
        );
        assert_eq!(
            file_id_from_url("https://cjoint.net/?n8b6v4c2x0z9l7k5j3h1&inline=1").as_deref(),
            Some("n8b6v4c2x0z9l7k5j3h1")
        );
        assert_eq!(
            file_id_from_url("http://abcde12345.1fichier.com/").as_deref(),
            Some("abcde12345")
        );
        assert!(file_id_from_url("https://example.com/?abcdefghij").is_none());
        assert!(file_id_from_url("not a url").is_none());
        assert!(url_wants_inline(
            "https://1fichier.com/?abcdefghij&inline=1"
        ));
    }

    #[test]
    fn cidr() {
        let ip: IpAddr = "203.0.113.7".parse().unwrap();
        assert!(cidr_contains("203.0.113.0/24", ip));
        assert!(!cidr_contains("198.51.100.0/24", ip));
        assert!(cidr_contains("0.0.0.0/0", ip));
        assert!(!cidr_contains("garbage", ip));
    }
}
