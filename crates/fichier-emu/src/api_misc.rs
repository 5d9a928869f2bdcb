//! `user/info`, `ftp/*` and `vouchers/*` endpoints.

use serde_json::{Value, json};

use crate::access::{check_pass, folder_ctx};
use crate::error::Ko;
use crate::model::{DOMAINS, Offer};
use crate::reply::Ctx;
use crate::state::App;
use crate::store::db;
use crate::time;

/// Cold-storage quota of every account (2 TiB), as in the fixture.
const QUOTA: i64 = 2_199_023_255_552;

/// `user/info.cgi`: show the account; any setting present in the body is changed first.
pub fn user_info(app: &App, c: &Ctx) -> Result<Value, Ko> {
    let (mut s, cdn) = db(app.store.settings(c.acct.id))?;
    let flag = |k: &str| -> Result<Option<i64>, Ko> { Ok(c.p.opt_flag(k)?.map(i64::from)) };
    // Validate every field before saving any.
    let ftp_mode = flag("ftp_mode")?;
    let ftp_report = flag("ftp_report")?;
    let ru_report = flag("ru_report")?;
    let default_port = flag("default_port")?;
    let default_port_files = flag("default_port_files")?;
    let use_cdn = flag("use_cdn")?;
    let download_menu = flag("download_menu")?;
    let ftp_did = c.p.opt_int("ftp_did")?;
    if let Some(d) = ftp_did {
        let fc = folder_ctx(app, &c.acct, d, None)?;
        if fc.share.is_some() {
            return Err(Ko::not_found());
        }
    }
    let default_domain = c.p.opt_int("default_domain")?;
    if let Some(d) = default_domain
        && !(0..DOMAINS.len() as i64).contains(&d)
    {
        return Err(Ko::bad_type("default_domain", "a domain id from 0 to 10"));
    }
    let page_limit = c.p.opt_int("page_limit")?;
    if let Some(p) = page_limit
        && !(1..=10_000).contains(&p)
    {
        return Err(Ko::bad_type("page_limit", "an integer from 1 to 10000"));
    }
    let mut changed = false;
    for (slot, v) in [
        (&mut s.ftp_mode, ftp_mode),
        (&mut s.ftp_report, ftp_report),
        (&mut s.ru_report, ru_report),
        (&mut s.default_port, default_port),
        (&mut s.default_port_files, default_port_files),
        (&mut s.use_cdn, use_cdn),
        (&mut s.download_menu, download_menu),
        (&mut s.ftp_did, ftp_did),
        (&mut s.default_domain, default_domain),
        (&mut s.page_limit, page_limit),
    ] {
        if let Some(v) = v {
            *slot = v;
            changed = true;
        }
    }
    if changed {
        db(app.store.set_settings(c.acct.id, &s))?;
    }
    let used = db(app.store.used_bytes(c.acct.id))?;
    let now = time::now();
    Ok(json!({
        "status": "OK",
        "email": c.acct.email,
        "offer": c.acct.offer.code().to_string(),
        "2fa": "0",
        "mail_rm": "0",
        "ftp_mode": s.ftp_mode.to_string(),
        "ftp_did": s.ftp_did,
        "ftp_report": s.ftp_report.to_string(),
        "ru_report": s.ru_report.to_string(),
        "default_domain": s.default_domain,
        "page_limit": s.page_limit,
        "default_port": s.default_port.to_string(),
        "default_port_files": s.default_port_files.to_string(),
        "use_cdn": s.use_cdn.to_string(),
        "download_menu": s.download_menu.to_string(),
        "cdn": format!("{}", (cdn * 1000.0).round() / 1000.0),
        "subscription_end": time::fmt_date(now + 365 * 86_400),
        "default_quota": 0,
        "default_cold_storage_quota": 0,
        "hot_storage": 0,
        "cold_storage": used,
        "allowed_cold_storage": QUOTA,
        "available_storage": QUOTA - used,
        "available_cold_storage": QUOTA - used,
        // No cold-storage extension bought: 0 TB, and no end date (empty, as the service
        // writes an absent date).
        "extended_quota": 0,
        "extended_quota_end": "",
        "overquota": i64::from(used > QUOTA),
        "upload_forbidden": if used > QUOTA { "1" } else { "0" },
        "stats_date": time::fmt_date(now),
    }))
}

/// `ftp/process.cgi`: nothing is pending in the emulator; answers OK.
pub fn ftp_process(_app: &App, _c: &Ctx) -> Result<Value, Ko> {
    Ok(json!({"status": "OK"}))
}

/// `ftp/users/ls.cgi` (shape invented by the reference, marked as such).
pub fn ftp_users_ls(app: &App, c: &Ctx) -> Result<Value, Ko> {
    let items: Vec<Value> = db(app.store.ftp_users(c.acct.id))?
        .into_iter()
        .map(|(user, folder_id)| json!({"user": user, "folder_id": folder_id}))
        .collect();
    Ok(json!({"status": "OK", "items": items}))
}

/// `ftp/users/add.cgi`.
pub fn ftp_users_add(app: &App, c: &Ctx) -> Result<Value, Ko> {
    let user = c.p.str("user")?;
    let pass = c.p.str("pass")?;
    let folder = c.p.opt_int("folder_id")?.unwrap_or(0);
    if user.is_empty()
        || user.len() > 64
        || !user
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b))
    {
        return Err(Ko::forbidden(
            "Invalid FTP user name: 1 to 64 characters [A-Za-z0-9._-] #0",
        ));
    }
    if pass.is_empty() {
        return Err(Ko::missing("pass"));
    }
    check_pass(pass)?;
    let fc = folder_ctx(app, &c.acct, folder, None)?;
    if fc.share.is_some() {
        return Err(Ko::not_found());
    }
    if !db(app.store.add_ftp_user(c.acct.id, user, pass, folder))? {
        return Err(Ko::forbidden("FTP user already exists #0"));
    }
    Ok(json!({"status": "OK"}))
}

/// `ftp/users/rm.cgi`.
pub fn ftp_users_rm(app: &App, c: &Ctx) -> Result<Value, Ko> {
    let user = c.p.str("user")?;
    if !db(app.store.rm_ftp_user(c.acct.id, user))? {
        return Err(Ko::forbidden("No such FTP user #0"));
    }
    Ok(json!({"status": "OK"}))
}

/// `vouchers/ls.cgi`: unused vouchers owned by the caller.
pub fn vouchers_ls(app: &App, c: &Ctx) -> Result<Value, Ko> {
    let data: Vec<Value> = db(app.store.vouchers(c.acct.id))?
        .into_iter()
        .map(|(voucher, service)| json!({"voucher": voucher, "service": service}))
        .collect();
    Ok(json!({"status": "OK", "count": data.len(), "data": data}))
}

/// `vouchers/check.cgi`: an invalid or used voucher answers 200 with `status: KO`.
pub fn vouchers_check(app: &App, c: &Ctx) -> Result<Value, Ko> {
    let code = c.p.str("voucher")?;
    Ok(match db(app.store.voucher(code))? {
        Some((service, None)) => json!({"status": "OK", "service": service}),
        _ => json!({"status": "KO", "service": ""}),
    })
}

/// `vouchers/use.cgi`: credit a user; a Premium voucher makes a free account Premium.
pub fn vouchers_use(app: &App, c: &Ctx) -> Result<Value, Ko> {
    let code = c.p.str("voucher")?;
    let email = c.p.str("user_email")?;
    let target =
        db(app.store.account_by_email(email))?.ok_or_else(|| Ko::forbidden("No such user #93"))?;
    match db(app.store.voucher(code))? {
        None => return Err(Ko::forbidden("Invalid voucher #0")),
        Some((_, Some(_))) => return Err(Ko::forbidden("Voucher already used #0")),
        Some((service, None)) => {
            if !db(app.store.use_voucher(code, email))? {
                return Err(Ko::forbidden("Voucher already used #0"));
            }
            if service.starts_with("premium") && target.offer == Offer::Free {
                db(app.store.set_offer(email, Offer::Premium))?;
            }
        }
    }
    Ok(json!({"status": "OK"}))
}
