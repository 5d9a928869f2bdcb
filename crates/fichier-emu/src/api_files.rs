//! `file/*` endpoints and `download/get_token`.

use std::io::Read;

use serde_json::{Value, json};

use crate::access::{
    self, Relation, check_name, check_pass, file_by_url, folder_ctx, info_object, ls_item,
    readable_file, writable_file,
};
use crate::error::Ko;
use crate::ids;
use crate::reply::Ctx;
use crate::state::App;
use crate::state::Token;
use crate::store::{FileRow, db};
use crate::time;

/// Files of at least this size are not scanned (reference §1.8).
const SCAN_MAX: i64 = 5_000_000_000;
/// A scan result is reused for this long.
const SCAN_CACHE_SECS: i64 = 6 * 3600;
/// The EICAR test signature, which the emulator's "antivirus" detects.
const EICAR: &[u8] = b"X5O!P%@AP[4\\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*";

fn parse_date_param(c: &Ctx, k: &str) -> Result<Option<i64>, Ko> {
    match c.p.opt_str(k)? {
        None | Some("") => Ok(None),
        Some(s) => time::parse_date(s)
            .map(Some)
            .ok_or_else(|| Ko::bad_type(k, "a date YYYY-MM-DD HH:MM:SS")),
    }
}

/// `file/ls.cgi`: files of a folder (`-1`: the whole account), oldest first, capped.
pub fn ls(app: &App, c: &Ctx) -> Result<Value, Ko> {
    let folder_id = c.p.opt_int("folder_id")?.unwrap_or(0);
    let sharing_user = c.p.opt_str("sharing_user")?;
    let after = parse_date_param(c, "sent_after")?;
    let before = parse_date_param(c, "sent_before")?;
    let max = app
        .limits
        .read()
        .unwrap_or_else(|p| p.into_inner())
        .file_ls_max_results;
    let (files, hide) = if folder_id == -1 {
        (
            db(app.store.files(c.acct.id, None, after, before, max))?,
            false,
        )
    } else {
        let fc = folder_ctx(app, &c.acct, folder_id, sharing_user)?;
        if fc.folder.is_none() && fc.share.is_some() {
            (Vec::new(), false)
        } else {
            (
                db(app
                    .store
                    .files(fc.owner_id, Some(fc.id()), after, before, max))?,
                fc.hide_links(),
            )
        }
    };
    let items: Vec<Value> = files.iter().map(|f| ls_item(f, hide)).collect();
    Ok(json!({"status": "OK", "count": items.len(), "items": items}))
}

/// Find the file a request designates: `url`, or `folder_id` + `filename` (+ `sharing_user`),
/// and whether its link is hidden from the caller (reached through a `hide_links` share).
fn designated(app: &App, c: &Ctx) -> Result<(FileRow, bool), Ko> {
    if let Some(u) = c.p.opt_str("url")? {
        return Ok((file_by_url(app, u)?, false));
    }
    let (Some(folder), Some(name)) = (c.p.opt_int("folder_id")?, c.p.opt_str("filename")?) else {
        return Err(Ko::missing("url"));
    };
    let fc = folder_ctx(app, &c.acct, folder, c.p.opt_str("sharing_user")?)?;
    // At the root of a share, the files are those of the folders shared with the caller.
    let folders: Vec<(i64, bool)> = if fc.folder.is_none() && fc.share.is_some() {
        db(app.store.shared_with(fc.owner_id, &c.acct.email))?
            .into_iter()
            .map(|(f, s)| (f.id, s.hide_links))
            .collect()
    } else {
        vec![(fc.id(), fc.hide_links())]
    };
    for (id, hide) in folders {
        if let Some(f) = db(app
            .store
            .files(fc.owner_id, Some(id), None, None, i64::MAX as usize))?
        .into_iter()
        .find(|f| f.filename == name)
        {
            return Ok((f, hide));
        }
    }
    Err(Ko::not_found())
}

/// `file/info.cgi`: one file's details (a bare object, no `status`). Through a `hide_links`
/// share the link stays empty, as in `file/ls` and `folder/ls`.
pub fn info(app: &App, c: &Ctx) -> Result<Value, Ko> {
    let (f, hide) = designated(app, c)?;
    let f = readable_file(app, &c.acct, c.ip, f, c.p.opt_str("pass")?)?;
    let mut v = info_object(app, &f)?;
    if hide {
        v["url"] = json!("");
    }
    Ok(v)
}

/// `download/get_token.cgi`: a temporary direct URL for one file.
pub fn get_token(app: &App, c: &Ctx) -> Result<Value, Ko> {
    let inline = c.p.opt_flag("inline")?;
    let cdn = c.p.opt_flag("cdn")?.unwrap_or(false);
    let single = c.p.opt_flag("single")?.unwrap_or(false);
    c.p.opt_int("restrict_ip")?;
    c.p.opt_flag("no_ssl")?;
    let (f, _) = designated(app, c)?;
    let f = readable_file(app, &c.acct, c.ip, f, c.p.opt_str("pass")?)?;
    let url_inline = c.p.opt_str("url")?.is_some_and(access::url_wants_inline);
    if cdn {
        let (_, credits) = db(app.store.settings(c.acct.id))?;
        let need = f.size as f64 / 1e9;
        if credits < need {
            return Err(Ko::forbidden("Not enough CDN credits #0"));
        }
        db(app.store.add_cdn(c.acct.id, -need))?;
    }
    let token = ids::token();
    let t = Token {
        file_id: f.id.clone(),
        expires: std::time::Instant::now() + app.config.token_ttl,
        single,
        used: false,
        inline: inline.unwrap_or(url_inline) || (inline.is_none() && f.inline),
    };
    app.tokens
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .insert(token.clone(), t);
    Ok(json!({"status": "OK", "url": format!("{}/{}", app.download_base(), token)}))
}

/// `file/scan.cgi`: antivirus scan (the EICAR test string counts as a virus).
pub fn scan(app: &App, c: &Ctx) -> Result<Value, Ko> {
    let f = writable_file(app, &c.acct, c.p.str("url")?)?;
    if f.size >= SCAN_MAX {
        return Err(Ko::forbidden(
            "File too big for an antivirus scan (5 GB max) #0",
        ));
    }
    let now = time::now();
    if let Some(d) = f.scan_date
        && now - d < SCAN_CACHE_SECS
    {
        return Ok(json!({"status": "OK", "date": time::fmt_date(d)}));
    }
    if contains_eicar(&app.store.blob_path(&f.blob))? {
        db(app.store.delete_file(&f))?;
        return Ok(json!({"status": "KO", "message": "Virus detected: Eicar-Test-Signature"}));
    }
    let mut f = f;
    f.scan_date = Some(now);
    db(app.store.update_file(&f))?;
    Ok(json!({"status": "OK"}))
}

fn contains_eicar(path: &std::path::Path) -> Result<bool, Ko> {
    let mut file = std::fs::File::open(path)?;
    let mut buf = vec![0u8; 1 << 20];
    let mut carry: Vec<u8> = Vec::new();
    loop {
        let n = file.read(&mut buf)?;
        if n == 0 {
            return Ok(false);
        }
        carry.extend_from_slice(&buf[..n]);
        if carry.windows(EICAR.len()).any(|w| w == EICAR) {
            return Ok(true);
        }
        let keep = carry.len().min(EICAR.len());
        carry.drain(..carry.len() - keep);
    }
}

/// `file/rm.cgi`: delete own files (or anonymous uploads with their removal code).
pub fn rm(app: &App, c: &Ctx) -> Result<Value, Ko> {
    let list = c.p.array("files")?;
    let mut targets = Vec::new();
    for item in list {
        let url = item
            .get("url")
            .and_then(Value::as_str)
            .ok_or_else(|| Ko::bad_type("files[].url", "a string"))?;
        let code = item.get("code").and_then(Value::as_str);
        let f = file_by_url(app, url)?;
        let allowed = match f.account_id {
            None => code.is_some_and(|c| !c.is_empty() && c == f.remove_code),
            Some(_) => matches!(
                access::relation(app, &c.acct, &f)?,
                Relation::Owner | Relation::Shared { rw: true }
            ),
        };
        if !allowed {
            return Err(Ko::not_found());
        }
        targets.push(f);
    }
    let mut urls = Vec::new();
    for f in &targets {
        db(app.store.delete_file(f))?;
        urls.push(App::file_url(f.domain, &f.id));
    }
    Ok(json!({"status": "OK", "removed": urls.len(), "urls": urls}))
}

fn single_rename<'a>(c: &'a Ctx, urls: &[String]) -> Result<Option<&'a str>, Ko> {
    let rename = c.p.opt_str("rename")?.filter(|s| !s.is_empty());
    if let Some(r) = rename {
        if urls.len() != 1 {
            return Err(Ko::forbidden("rename is only allowed with a single URL #0"));
        }
        check_name(r, "file")?;
    }
    Ok(rename)
}

/// `file/mv.cgi`: move files to another folder (optionally renaming a single one).
pub fn mv(app: &App, c: &Ctx) -> Result<Value, Ko> {
    let urls = c.p.strings("urls")?;
    let dest = c.p.int("destination_folder_id")?;
    let dest_user = c.p.opt_str("destination_user")?;
    let rename = single_rename(c, &urls)?;
    let dc = folder_ctx(app, &c.acct, dest, dest_user)?;
    if !dc.writable() || (dc.folder.is_none() && dc.share.is_some()) {
        return Err(Ko::forbidden("Resource not allowed #631"));
    }
    let files = urls
        .iter()
        .map(|u| writable_file(app, &c.acct, u))
        .collect::<Result<Vec<_>, _>>()?;
    if let (Some(r), Some(f)) = (rename, files.first())
        && f.filename == r
    {
        return Err(Ko::forbidden("No file has been renamed #312"));
    }
    let mut out = Vec::new();
    for mut f in files {
        f.folder_id = dc.id();
        f.account_id = Some(dc.owner_id);
        if let Some(r) = rename {
            f.filename = r.to_string();
        }
        db(app.store.update_file(&f))?;
        out.push(App::file_url(f.domain, &f.id));
    }
    let mut v = json!({"status": "OK", "moved": out.len(), "urls": out});
    if let Some(r) = rename {
        v["filename"] = json!(r);
    }
    Ok(v)
}

/// `file/cp.cgi`: copy files (own or public) into a folder; copies get new links.
pub fn cp(app: &App, c: &Ctx) -> Result<Value, Ko> {
    let urls = c.p.strings("urls")?;
    let dest = c.p.opt_int("folder_id")?.unwrap_or(0);
    let pass = c.p.opt_str("pass")?;
    let rename = single_rename(c, &urls)?;
    let dc = folder_ctx(app, &c.acct, dest, c.p.opt_str("sharing_user")?)?;
    if !dc.writable() || (dc.folder.is_none() && dc.share.is_some()) {
        return Err(Ko::forbidden("Resource not allowed #631"));
    }
    let files = urls
        .iter()
        .map(|u| readable_file(app, &c.acct, c.ip, file_by_url(app, u)?, pass))
        .collect::<Result<Vec<_>, _>>()?;
    let mut out = Vec::new();
    for src in files {
        let mut f = src.clone();
        f.id = ids::file_id();
        f.account_id = Some(dc.owner_id);
        f.folder_id = dc.id();
        f.created = time::now();
        f.upload_xid = None;
        f.remove_code = String::new();
        f.visible = true;
        if let Some(r) = rename {
            f.filename = r.to_string();
        }
        // Copies share the blob; the store deletes it with the last row using it.
        db(app.store.insert_file(&f))?;
        out.push(json!({
            "from_url": App::file_url(src.domain, &src.id),
            "to_url": App::file_url(f.domain, &f.id),
        }));
    }
    let mut v = json!({"status": "OK", "copied": out.len(), "urls": out});
    if let Some(r) = rename {
        v["filename"] = json!(r);
    }
    Ok(v)
}

/// `file/rename.cgi`: rename files in place.
pub fn rename(app: &App, c: &Ctx) -> Result<Value, Ko> {
    let list = c.p.array("urls")?;
    let mut plan = Vec::new();
    for item in list {
        let url = item
            .get("url")
            .and_then(Value::as_str)
            .ok_or_else(|| Ko::bad_type("urls[].url", "a string"))?;
        let name = item
            .get("filename")
            .and_then(Value::as_str)
            .ok_or_else(|| Ko::bad_type("urls[].filename", "a string"))?;
        check_name(name, "file")?;
        let f = writable_file(app, &c.acct, url)?;
        plan.push((f, name.to_string()));
    }
    let mut out = Vec::new();
    for (mut f, name) in plan {
        if f.filename == name {
            continue;
        }
        let old = std::mem::replace(&mut f.filename, name.clone());
        db(app.store.update_file(&f))?;
        out.push(json!({"url": App::file_url(f.domain, &f.id), "old_filename": old, "new_filename": name}));
    }
    if out.is_empty() {
        return Err(Ko::forbidden("No file has been renamed #312"));
    }
    Ok(json!({"status": "OK", "renamed": out.len(), "urls": out}))
}

fn parse_acl(m: &serde_json::Map<String, Value>) -> Result<Value, Ko> {
    let mut out = serde_json::Map::new();
    for (k, v) in m {
        match k.as_str() {
            "ip" | "country" | "email" => {
                let arr = v
                    .as_array()
                    .ok_or_else(|| Ko::bad_type(&format!("acl.{k}"), "an array of strings"))?;
                let mut list = Vec::new();
                for item in arr {
                    let s = item
                        .as_str()
                        .ok_or_else(|| Ko::bad_type(&format!("acl.{k}"), "an array of strings"))?;
                    let ok = match k.as_str() {
                        "ip" => {
                            let (a, bits) = s.split_once('/').unwrap_or((s, "32"));
                            a.parse::<std::net::IpAddr>().is_ok() && bits.parse::<u8>().is_ok()
                        }
                        "country" => s.len() == 2 && s.bytes().all(|b| b.is_ascii_alphabetic()),
                        _ => s.contains('@'),
                    };
                    if !ok {
                        return Err(Ko::forbidden(format!("Invalid ACL {k} entry {s:?} #0")));
                    }
                    list.push(json!(if k == "country" {
                        s.to_ascii_uppercase()
                    } else {
                        s.to_string()
                    }));
                }
                if !list.is_empty() {
                    out.insert(k.clone(), Value::Array(list));
                }
            }
            "premium" => match crate::params::as_int(v) {
                Some(0) => {}
                Some(1) => {
                    out.insert("premium".into(), json!(1));
                }
                _ => return Err(Ko::bad_type("acl.premium", "0 or 1")),
            },
            other => {
                return Err(Ko::forbidden(format!(
                    "Invalid ACL key {other:?}: use ip, country, email or premium #0"
                )));
            }
        }
    }
    Ok(Value::Object(out))
}

/// `file/chattr.cgi`: name (single file), description, password, flags, ACL.
pub fn chattr(app: &App, c: &Ctx) -> Result<Value, Ko> {
    let urls = c.p.strings("urls")?;
    let filename = c.p.opt_str("filename")?;
    let description = c.p.opt_str("description")?;
    let pass = c.p.opt_str("pass")?;
    let no_ssl = c.p.opt_flag("no_ssl")?;
    let inline = c.p.opt_flag("inline")?;
    let cdn = c.p.opt_flag("cdn")?;
    let acl = c.p.opt_object("acl")?.map(parse_acl).transpose()?;
    if let Some(n) = filename {
        if urls.len() != 1 {
            return Err(Ko::forbidden(
                "filename is only allowed with a single URL #0",
            ));
        }
        check_name(n, "file")?;
    }
    if let Some(p) = pass {
        check_pass(p)?;
    }
    if let Some(d) = description
        && d.chars().count() > 2000
    {
        return Err(Ko::forbidden("Invalid description: 2000 characters max #0"));
    }
    let files = urls
        .iter()
        .map(|u| writable_file(app, &c.acct, u))
        .collect::<Result<Vec<_>, _>>()?;
    let mut out = Vec::new();
    for mut f in files {
        if let Some(n) = filename {
            f.filename = n.to_string();
        }
        if let Some(d) = description {
            f.description = d.to_string();
        }
        if let Some(p) = pass {
            f.pass = p.to_string();
        }
        if let Some(v) = no_ssl {
            f.no_ssl = v;
        }
        if let Some(v) = inline {
            f.inline = v;
        }
        if let Some(v) = cdn {
            f.cdn = v;
        }
        if let Some(a) = &acl {
            f.acl = a.clone();
        }
        db(app.store.update_file(&f))?;
        out.push(App::file_url(f.domain, &f.id));
    }
    Ok(json!({"status": "OK", "updated": out.len(), "urls": out}))
}
