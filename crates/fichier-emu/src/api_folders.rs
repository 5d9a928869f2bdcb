//! `folder/*` endpoints: ls, mkdir, mv, rm, share.

use serde_json::{Value, json};

use crate::access::{check_name, check_pass, folder_ctx, ls_item};
use crate::error::Ko;
use crate::ids;
use crate::reply::Ctx;
use crate::state::App;
use crate::store::{ShareRow, db};
use crate::time;

/// Public URL of a folder share.
pub fn share_url(share_id: &str) -> String {
    format!("https://1fichier.com/dir/{share_id}")
}

/// `folder/ls.cgi`: describe a folder, its sub-folders and (with `files: 1`) its files.
pub fn ls(app: &App, c: &Ctx) -> Result<Value, Ko> {
    let folder_id = c.p.opt_int("folder_id")?.unwrap_or(0);
    let sharing_user = c.p.opt_str("sharing_user")?;
    let with_files = c.p.opt_flag("files")?.unwrap_or(false);
    let fc = folder_ctx(app, &c.acct, folder_id, sharing_user)?;
    let mut out = serde_json::Map::new();
    out.insert("status".into(), json!("OK"));
    out.insert("folder_id".into(), json!(fc.id()));
    let subs: Vec<_> = match (&fc.folder, &fc.share) {
        // Root of a share: the folders shared with the caller.
        (None, Some(_)) => db(app.store.shared_with(fc.owner_id, &c.acct.email))?
            .into_iter()
            .map(|(f, _)| f)
            .collect(),
        _ => db(app.store.subfolders(fc.owner_id, fc.id()))?,
    };
    match &fc.folder {
        None => {
            out.insert("name".into(), json!(""));
        }
        Some(f) => {
            out.insert("name".into(), json!(f.name));
            out.insert("create_date".into(), json!(time::fmt_date(f.created)));
            out.insert("pass".into(), json!(i64::from(!f.pass.is_empty())));
            if let Some(sid) = &f.share_id {
                out.insert("shared".into(), json!(share_url(sid)));
            }
            if fc.share.is_none() {
                let shares = db(app.store.shares(f.id))?;
                if !shares.is_empty() {
                    let list: Vec<Value> = shares
                        .iter()
                        .map(|s| {
                            json!({"email": s.email, "rw": i64::from(s.rw), "hide_links": i64::from(s.hide_links)})
                        })
                        .collect();
                    out.insert("shares".into(), json!(list));
                }
            }
            let (count, size) = db(app.store.folder_stats(fc.owner_id, f.id))?;
            out.insert("files".into(), json!(count));
            out.insert("size".into(), json!(size));
        }
    }
    if let (Some(s), Some(owner)) = (&fc.share, &fc.sharing_user) {
        out.insert("user".into(), json!(owner));
        out.insert("rw".into(), json!(i64::from(s.rw)));
        out.insert("hide_links".into(), json!(i64::from(s.hide_links)));
    }
    let subs: Vec<Value> = subs
        .iter()
        .map(|f| {
            json!({
                "id": f.id,
                "name": f.name,
                "create_date": time::fmt_date(f.created),
                "pass": i64::from(!f.pass.is_empty()),
            })
        })
        .collect();
    out.insert("sub_folders".into(), json!(subs));
    if with_files {
        let files = if fc.folder.is_none() && fc.share.is_some() {
            Vec::new()
        } else {
            let max = app
                .limits
                .read()
                .unwrap_or_else(|p| p.into_inner())
                .file_ls_max_results;
            db(app.store.files(fc.owner_id, Some(fc.id()), None, None, max))?
        };
        let items: Vec<Value> = files.iter().map(|f| ls_item(f, fc.hide_links())).collect();
        out.insert("items".into(), json!(items));
    }
    Ok(Value::Object(out))
}

/// `folder/mkdir.cgi`: create a folder.
pub fn mkdir(app: &App, c: &Ctx) -> Result<Value, Ko> {
    let name = c.p.str("name")?;
    let parent = c.p.opt_int("folder_id")?.unwrap_or(0);
    let sharing_user = c.p.opt_str("sharing_user")?;
    check_name(name, "folder")?;
    let fc = folder_ctx(app, &c.acct, parent, sharing_user)?;
    if !fc.writable() || (fc.folder.is_none() && fc.share.is_some()) {
        return Err(Ko::forbidden("Resource not allowed #631"));
    }
    let id = db(app.store.mkdir(fc.owner_id, fc.id(), name))?;
    Ok(json!({"status": "OK", "folder_id": id, "name": name}))
}

/// `folder/mv.cgi`: move a folder, or rename it in place when `rename` is given.
pub fn mv(app: &App, c: &Ctx) -> Result<Value, Ko> {
    let folder_id = c.p.int("folder_id")?;
    let rename = c.p.opt_str("rename")?.filter(|s| !s.is_empty());
    let dest = c.p.opt_int("destination_folder_id")?;
    let dest_user = c.p.opt_str("destination_user")?;
    if folder_id == 0 {
        return Err(Ko::forbidden("The root folder cannot be moved #0"));
    }
    let fc = folder_ctx(app, &c.acct, folder_id, None)?;
    let folder = fc.folder.clone().ok_or_else(Ko::not_found)?;
    if fc.share.is_some() {
        return Err(Ko::forbidden("Resource not allowed #631"));
    }
    if let Some(new) = rename {
        // The doc's rule: a rename ignores the destination fields.
        check_name(new, "folder")?;
        db(app.store.update_folder(folder.id, folder.parent_id, new))?;
        return Ok(json!({"status": "OK", "old_name": folder.name, "new_name": new}));
    }
    // rclone omits destination_folder_id when it is 0 (the root) and works against the real
    // service, so absent means the root.
    let dest = dest.unwrap_or(0);
    let dc = folder_ctx(app, &c.acct, dest, dest_user)?;
    if dc.owner_id != c.acct.id || !dc.writable() {
        return Err(Ko::forbidden("Resource not allowed #631"));
    }
    // Refuse moving a folder into itself or one of its descendants.
    let mut cur = dc.id();
    while cur != 0 {
        if cur == folder.id {
            return Err(Ko::forbidden(
                "Cannot move a folder into itself or one of its sub-folders #0",
            ));
        }
        cur = db(app.store.folder(cur))?.map_or(0, |f| f.parent_id);
    }
    db(app.store.update_folder(folder.id, dc.id(), &folder.name))?;
    Ok(json!({"status": "OK", "old_name": folder.name, "new_name": folder.name}))
}

/// `folder/rm.cgi`: delete an empty folder.
pub fn rm(app: &App, c: &Ctx) -> Result<Value, Ko> {
    let folder_id = c.p.int("folder_id")?;
    if folder_id == 0 {
        return Err(Ko::forbidden("The root folder cannot be removed #0"));
    }
    let fc = folder_ctx(app, &c.acct, folder_id, None)?;
    if fc.share.is_some() {
        return Err(Ko::forbidden("Resource not allowed #631"));
    }
    if !db(app.store.folder_is_empty(folder_id))? {
        return Err(Ko::forbidden("Folder not empty #0"));
    }
    db(app.store.delete_folder(folder_id))?;
    Ok(json!({"status": "OK", "message": "Folder removed"}))
}

/// `folder/share.cgi`: public share (with optional password) and groupware shares.
pub fn share(app: &App, c: &Ctx) -> Result<Value, Ko> {
    let folder_id = c.p.int("folder_id")?;
    let public = c.p.opt_flag("share")?;
    let pass = c.p.opt_str("pass")?;
    let shares = c.p.opt_array("shares")?;
    if folder_id == 0 {
        return Err(Ko::forbidden("The root folder cannot be shared #0"));
    }
    let fc = folder_ctx(app, &c.acct, folder_id, None)?;
    let folder = fc.folder.clone().ok_or_else(Ko::not_found)?;
    if fc.share.is_some() {
        return Err(Ko::forbidden("Resource not allowed #631"));
    }
    if let Some(p) = pass {
        check_pass(p)?;
    }
    // Validate everything before changing anything.
    let parsed = match shares {
        None => None,
        Some(list) => {
            let mut out = Vec::new();
            for s in list {
                let email = s
                    .get("email")
                    .and_then(Value::as_str)
                    .filter(|e| e.contains('@'))
                    .ok_or_else(|| Ko::bad_type("shares[].email", "an e-mail address"))?;
                let flag = |k: &str| -> Result<bool, Ko> {
                    match s.get(k) {
                        None | Some(Value::Null) => Ok(false),
                        Some(v) => match crate::params::as_int(v) {
                            Some(0) => Ok(false),
                            Some(1) => Ok(true),
                            _ => Err(Ko::bad_type(&format!("shares[].{k}"), "0 or 1")),
                        },
                    }
                };
                let hide_links = flag("hide_links")?;
                // hide_links implies read-only.
                let rw = flag("rw")? && !hide_links;
                out.push(ShareRow {
                    email: email.to_string(),
                    rw,
                    hide_links,
                });
            }
            Some(out)
        }
    };
    let mut url = folder.share_id.clone().map(|s| share_url(&s));
    match public {
        Some(true) => {
            let sid = folder.share_id.clone().unwrap_or_else(ids::share_id);
            db(app.store.set_public_share(
                folder.id,
                Some(&sid),
                pass.unwrap_or(&folder.share_pass),
            ))?;
            url = Some(share_url(&sid));
        }
        Some(false) => {
            db(app.store.set_public_share(folder.id, None, ""))?;
            url = None;
        }
        None => {
            if let (Some(p), Some(sid)) = (pass, &folder.share_id) {
                db(app.store.set_public_share(folder.id, Some(sid), p))?;
            }
        }
    }
    if let Some(list) = parsed {
        db(app.store.set_shares(folder.id, &list))?;
    }
    Ok(match url {
        Some(u) => json!({"status": "OK", "url": u}),
        None => json!({"status": "OK"}),
    })
}
