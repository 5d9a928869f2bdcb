//! The listing cache shared by every process of one user: `folder/ls` and `file/ls` answers
//! kept in a file beside the pacer state file (`0600`, atomic replace, bounded), and the edits
//! that the library's own mutations make to them so the next command sees its changes.
//!
//! Answers are kept as the service's JSON (`Value`), so an edit works on every cached shape
//! (a folder with or without its files, a `file/ls` page) without decoding them.

use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Most listings kept in the shared file; the oldest go first.
pub(crate) const MAX_ENTRIES: usize = 256;
/// Most bytes of JSON kept in the shared file; the oldest listings go first.
pub(crate) const MAX_BYTES: usize = 8 << 20;

/// Whether a cache key (`endpoint|request body`) is a listing this module handles.
pub(crate) fn is_listing_key(key: &str) -> bool {
    key.starts_with("folder/ls.cgi|") || key.starts_with("file/ls.cgi|")
}

/// The cache key of a plain `folder/ls` (the request body as `FolderLsRequest` serialises it).
pub(crate) fn folder_key(id: u64, files: bool) -> String {
    if files {
        format!("folder/ls.cgi|{{\"folder_id\":{id},\"files\":1}}")
    } else {
        format!("folder/ls.cgi|{{\"folder_id\":{id}}}")
    }
}

/// The cache key of a plain `file/ls` of one folder (as `FileLsRequest::folder` serialises).
pub(crate) fn file_key(id: u64) -> String {
    format!("file/ls.cgi|{{\"folder_id\":{id}}}")
}

/// What a cache key says about its listing: which folder, and whether edits can keep it
/// exact (a plain listing of one's own folder) or must drop it (shares, filters, the
/// whole-account listing).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct KeyInfo {
    pub(crate) folder: i64,
    pub(crate) plain: bool,
    /// Whether the answer holds the folder's files (`file/ls`, or `folder/ls` with `files`).
    pub(crate) has_files: bool,
    /// Whether the answer holds the folder's sub-folders (`folder/ls`).
    pub(crate) has_folders: bool,
}

/// Reads the request body inside a cache key.
pub(crate) fn key_info(key: &str) -> Option<KeyInfo> {
    let (ep, body) = key.split_once('|')?;
    let req: serde_json::Map<String, Value> = serde_json::from_str(body).ok()?;
    let folder = req.get("folder_id").and_then(Value::as_i64).unwrap_or(0);
    match ep {
        "folder/ls.cgi" => Some(KeyInfo {
            folder,
            plain: req.keys().all(|k| k == "folder_id" || k == "files") && folder >= 0,
            has_files: req.get("files").and_then(Value::as_i64) == Some(1),
            has_folders: true,
        }),
        "file/ls.cgi" => Some(KeyInfo {
            folder,
            plain: req.keys().all(|k| k == "folder_id") && folder >= 0,
            has_files: true,
            has_folders: false,
        }),
        _ => None,
    }
}

/// A change the library made and the listings it affects.
#[derive(Debug, Clone)]
pub(crate) enum Edit {
    /// `folder/mkdir`: a new, empty folder under `parent`.
    FolderCreated { parent: u64, id: u64, name: String },
    /// `folder/rm`: the folder (and everything under it) is gone.
    FolderRemoved { id: u64 },
    /// `folder/mv` (and rename): the folder moved under `to`, maybe with a new name.
    FolderMoved {
        id: u64,
        to: u64,
        rename: Option<String>,
    },
    /// A change to a folder's own fields (share, password): its listings are dropped.
    FolderChanged { id: u64 },
    /// Files uploaded into `folder` (entries in the wire shape of `file/ls` items).
    FilesAdded { folder: u64, entries: Vec<Value> },
    /// Files may have been added to `folder` but which is not known (an upload whose report
    /// does not name each file once, or whose outcome is unknown): its listings are dropped.
    FilesUnknown { folder: u64 },
    /// `file/rm`.
    FilesRemoved { urls: Vec<String> },
    /// `file/rename` or a `chattr` of the name: `(url, new name)`.
    FilesRenamed { renames: Vec<(String, String)> },
    /// `file/mv`: `(old url, new url)` moved under `to`, maybe renamed.
    FilesMoved {
        moves: Vec<(String, String)>,
        to: u64,
        rename: Option<String>,
    },
    /// `file/cp`: `(source url, copy url)` under `to`, maybe renamed.
    FilesCopied {
        copies: Vec<(String, String)>,
        to: u64,
        rename: Option<String>,
    },
    /// A change to files' listed fields that is not reproduced here: the listings holding
    /// them are dropped.
    FilesChanged { urls: Vec<String> },
    /// The outcome is unknown: every listing is dropped.
    Everything,
}

/// One cached answer.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Entry {
    /// Wall-clock time of the answer, ms since the Unix epoch.
    pub(crate) at_ms: u64,
    /// The answer as sent by the service (or as edited since).
    pub(crate) body: Value,
}

/// Applies `edit` to a set of cached listings, keyed by cache key. Listings that cannot be
/// kept exact are removed.
pub(crate) fn apply(entries: &mut BTreeMap<String, Entry>, edit: &Edit, now_ms: u64) {
    let infos: Vec<(String, Option<KeyInfo>)> =
        entries.keys().map(|k| (k.clone(), key_info(k))).collect();
    // Anything not plain is dropped by every edit: it cannot be kept exact.
    for (k, info) in &infos {
        if !info.as_ref().is_some_and(|i| i.plain) || matches!(edit, Edit::Everything) {
            entries.remove(k);
        }
    }
    let keys_of = |entries: &BTreeMap<String, Entry>, folder: u64| -> Vec<String> {
        entries
            .keys()
            .filter(|k| key_info(k).is_some_and(|i| i.folder == folder as i64))
            .cloned()
            .collect()
    };
    match edit {
        Edit::Everything => {}
        Edit::FolderCreated { parent, id, name } => {
            for k in keys_of(entries, *parent) {
                if let Some(e) = entries.get_mut(&k)
                    && key_info(&k).is_some_and(|i| i.has_folders)
                {
                    push(
                        &mut e.body,
                        "sub_folders",
                        serde_json::json!({"id": id, "name": name}),
                    );
                }
            }
            // A new folder is known to be empty: both its listings are known without a call.
            for key in [folder_key(*id, false), folder_key(*id, true), file_key(*id)] {
                let answer = if key.starts_with("file/") {
                    serde_json::json!({"status": "OK", "count": 0, "items": []})
                } else {
                    serde_json::json!({"status": "OK", "folder_id": id, "name": name,
                        "files": 0, "size": 0, "sub_folders": [], "items": []})
                };
                entries.insert(
                    key,
                    Entry {
                        at_ms: now_ms,
                        body: answer,
                    },
                );
            }
        }
        Edit::FolderRemoved { id } => {
            for k in keys_of(entries, *id) {
                entries.remove(&k);
            }
            for e in entries.values_mut() {
                retain(&mut e.body, "sub_folders", |s| sub_id(s) != Some(*id));
            }
        }
        Edit::FolderMoved { id, to, rename } => {
            let mut found: Option<Value> = None;
            let mut holders = 0;
            for e in entries.values_mut() {
                if let Some(sub) = take(&mut e.body, "sub_folders", |s| sub_id(s) == Some(*id)) {
                    found.get_or_insert(sub);
                    holders += 1;
                }
            }
            let _ = holders;
            if let Some(name) = rename {
                for k in keys_of(entries, *id) {
                    if let Some(Value::Object(m)) = entries.get_mut(&k).map(|e| &mut e.body)
                        && m.contains_key("name")
                    {
                        m.insert("name".into(), Value::String(name.clone()));
                    }
                }
            }
            for k in keys_of(entries, *to) {
                if !key_info(&k).is_some_and(|i| i.has_folders) {
                    continue;
                }
                match &found {
                    Some(sub) => {
                        let mut sub = sub.clone();
                        if let (Some(name), Value::Object(m)) = (rename, &mut sub) {
                            m.insert("name".into(), Value::String(name.clone()));
                        }
                        if let Some(e) = entries.get_mut(&k) {
                            push(&mut e.body, "sub_folders", sub);
                        }
                    }
                    None => {
                        entries.remove(&k);
                    }
                }
            }
        }
        Edit::FolderChanged { id } => {
            for k in keys_of(entries, *id) {
                entries.remove(&k);
            }
            // Parents list the folder's password flag too.
            for (k, e) in entries.clone() {
                if has(&e.body, "sub_folders", |s| sub_id(s) == Some(*id)) {
                    entries.remove(&k);
                }
            }
        }
        Edit::FilesAdded {
            folder,
            entries: new,
        } => {
            for k in keys_of(entries, *folder) {
                let info = key_info(&k);
                if let Some(e) = entries.get_mut(&k) {
                    // A listing fetched while the upload ran may already hold the file.
                    let unlisted: Vec<&Value> = new
                        .iter()
                        .filter(|i| {
                            !url_of(i)
                                .is_some_and(|u| has(&e.body, "items", |x| url_of(x) == Some(u)))
                        })
                        .collect();
                    for item in unlisted {
                        add_file(
                            &mut e.body,
                            item,
                            info.as_ref().is_some_and(|i| i.has_files),
                        );
                    }
                }
            }
        }
        Edit::FilesUnknown { folder } => {
            for k in keys_of(entries, *folder) {
                entries.remove(&k);
            }
        }
        Edit::FilesRemoved { urls } => {
            let set: HashSet<&str> = urls.iter().map(String::as_str).collect();
            for e in entries.values_mut() {
                while let Some(item) = take(&mut e.body, "items", |i| {
                    url_of(i).is_some_and(|u| set.contains(u))
                }) {
                    count_file(&mut e.body, &item, -1);
                }
            }
        }
        Edit::FilesRenamed { renames } => {
            for e in entries.values_mut() {
                for_items(&mut e.body, |item| {
                    if let Some((_, name)) = renames
                        .iter()
                        .find(|(u, _)| url_of(item) == Some(u.as_str()))
                        && let Value::Object(m) = item
                    {
                        m.insert("filename".into(), Value::String(name.clone()));
                    }
                });
            }
        }
        Edit::FilesMoved { moves, to, rename }
        | Edit::FilesCopied {
            copies: moves,
            to,
            rename,
        } => {
            let moving = matches!(edit, Edit::FilesMoved { .. });
            let mut found = Vec::new();
            let mut complete = true;
            for (from, new_url) in moves {
                let mut item = None;
                for e in entries.values_mut() {
                    let got = if moving {
                        let got = take(&mut e.body, "items", |i| url_of(i) == Some(from.as_str()));
                        if let Some(g) = &got {
                            count_file(&mut e.body, g, -1);
                        }
                        got
                    } else {
                        find(&e.body, "items", |i| url_of(i) == Some(from.as_str()))
                    };
                    if got.is_some() {
                        item = got;
                    }
                }
                match item {
                    Some(Value::Object(mut m)) => {
                        m.insert("url".into(), Value::String(new_url.clone()));
                        if let Some(name) = rename {
                            m.insert("filename".into(), Value::String(name.clone()));
                        }
                        found.push(Value::Object(m));
                    }
                    _ => complete = false,
                }
            }
            for k in keys_of(entries, *to) {
                let info = key_info(&k);
                if !complete {
                    entries.remove(&k);
                    continue;
                }
                if let Some(e) = entries.get_mut(&k) {
                    for item in &found {
                        add_file(
                            &mut e.body,
                            item,
                            info.as_ref().is_some_and(|i| i.has_files),
                        );
                    }
                }
            }
        }
        Edit::FilesChanged { urls } => {
            let set: HashSet<&str> = urls.iter().map(String::as_str).collect();
            for (k, e) in entries.clone() {
                if has(&e.body, "items", |i| {
                    url_of(i).is_some_and(|u| set.contains(u))
                }) {
                    entries.remove(&k);
                }
            }
        }
    }
}

fn sub_id(v: &Value) -> Option<u64> {
    match v.get("id")? {
        Value::Number(n) => n.as_u64(),
        Value::String(s) => s.parse().ok(),
        _ => None,
    }
}

fn url_of(v: &Value) -> Option<&str> {
    v.get("url").and_then(Value::as_str)
}

fn push(body: &mut Value, field: &str, item: Value) {
    if let Value::Object(m) = body {
        match m.get_mut(field) {
            Some(Value::Array(a)) => a.push(item),
            _ => {
                m.insert(field.into(), Value::Array(vec![item]));
            }
        }
    }
}

fn retain(body: &mut Value, field: &str, keep: impl Fn(&Value) -> bool) {
    if let Some(Value::Array(a)) = body.get_mut(field) {
        a.retain(keep);
    }
}

fn take(body: &mut Value, field: &str, pick: impl Fn(&Value) -> bool) -> Option<Value> {
    let Some(Value::Array(a)) = body.get_mut(field) else {
        return None;
    };
    let i = a.iter().position(pick)?;
    Some(a.remove(i))
}

fn find(body: &Value, field: &str, pick: impl Fn(&Value) -> bool) -> Option<Value> {
    body.get(field)?
        .as_array()?
        .iter()
        .find(|v| pick(v))
        .cloned()
}

fn has(body: &Value, field: &str, pick: impl Fn(&Value) -> bool) -> bool {
    body.get(field)
        .and_then(Value::as_array)
        .is_some_and(|a| a.iter().any(pick))
}

fn for_items(body: &mut Value, mut f: impl FnMut(&mut Value)) {
    if let Some(Value::Array(a)) = body.get_mut("items") {
        a.iter_mut().for_each(&mut f);
    }
}

/// Adds a file to a listing: into `items` when the listing holds files, and into the
/// folder's `files`/`size`/`count` totals either way.
fn add_file(body: &mut Value, item: &Value, has_files: bool) {
    if has_files {
        push(body, "items", item.clone());
    }
    count_file(body, item, 1);
}

fn count_file(body: &mut Value, item: &Value, sign: i64) {
    let size = match item.get("size") {
        Some(Value::Number(n)) => n.as_i64().unwrap_or(0),
        Some(Value::String(s)) => s.parse().unwrap_or(0),
        _ => 0,
    };
    let Value::Object(m) = body else { return };
    for (field, delta) in [("files", sign), ("count", sign), ("size", sign * size)] {
        let current = match m.get(field) {
            Some(Value::Number(n)) => n.as_i64(),
            Some(Value::String(s)) => s.parse().ok(),
            _ => None,
        };
        if let Some(c) = current {
            m.insert(field.into(), Value::from((c + delta).max(0)));
        }
    }
}

/// The shared file: every cached listing of one key's account.
#[derive(Debug, Default, Serialize, Deserialize)]
pub(crate) struct SharedListings {
    #[serde(default)]
    pub(crate) entries: BTreeMap<String, Entry>,
}

impl SharedListings {
    /// Drops listings older than `max_age_ms`, then the oldest until both bounds hold.
    pub(crate) fn bound(&mut self, now_ms: u64, max_age_ms: u64) {
        self.entries.retain(|_, e| {
            now_ms.saturating_sub(e.at_ms) <= max_age_ms && e.at_ms <= now_ms + 1000
        });
        let mut sizes: Vec<(u64, String, usize)> = self
            .entries
            .iter()
            .map(|(k, e)| (e.at_ms, k.clone(), k.len() + e.body.to_string().len()))
            .collect();
        sizes.sort();
        let mut total: usize = sizes.iter().map(|s| s.2).sum();
        let mut count = sizes.len();
        for (_, k, size) in sizes {
            if count <= MAX_ENTRIES && total <= MAX_BYTES {
                break;
            }
            self.entries.remove(&k);
            count -= 1;
            total -= size;
        }
    }
}

/// The listing file beside a pacer state file: `pacer-X.json` → `listings-X.json` (any other
/// name: `NAME.listings.json`).
pub(crate) fn path_beside(state_file: &Path) -> PathBuf {
    let stem = state_file
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "pacer".into());
    let name = match stem.strip_prefix("pacer-") {
        Some(rest) => format!("listings-{rest}.json"),
        None => format!("{stem}.listings.json"),
    };
    state_file.with_file_name(name)
}

/// Reads the shared listings (an unreadable or damaged file counts as empty).
pub(crate) fn read(path: &Path) -> SharedListings {
    match std::fs::read(path) {
        Ok(bytes) => serde_json::from_slice(&bytes).unwrap_or_default(),
        Err(_) => SharedListings::default(),
    }
}

/// Replaces the shared listings atomically (a temporary file renamed over the old one), with
/// mode `0600`. The caller holds the state file's lock, so writers do not interleave.
pub(crate) fn write(path: &Path, listings: &SharedListings) -> std::io::Result<()> {
    let bytes = serde_json::to_vec(listings).map_err(std::io::Error::other)?;
    fichier_state::write_private(path, &bytes)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn key(ep: &str, body: Value) -> String {
        format!("{ep}|{body}")
    }

    fn entry(body: Value) -> Entry {
        Entry { at_ms: 1, body }
    }

    #[test]
    fn mkdir_adds_the_folder_to_its_parent_and_knows_it_empty() {
        let mut e = BTreeMap::new();
        let root = folder_key(0, true);
        e.insert(
            root.clone(),
            entry(json!({"folder_id": 0, "sub_folders": [], "items": []})),
        );
        apply(
            &mut e,
            &Edit::FolderCreated {
                parent: 0,
                id: 7,
                name: "X".into(),
            },
            5,
        );
        assert_eq!(e[&root].body["sub_folders"][0]["id"], 7);
        let child = folder_key(7, true);
        assert_eq!(e[&child].body["items"], json!([]));
    }

    #[test]
    fn rm_mv_rename_keep_listings_exact() {
        let mut e = BTreeMap::new();
        let a = key("folder/ls.cgi", json!({"folder_id": 1, "files": 1}));
        let b = key("file/ls.cgi", json!({"folder_id": 2}));
        e.insert(
            a.clone(),
            entry(json!({"files": 2, "size": 30, "items": [
                {"url": "u1", "filename": "f1", "size": 10},
                {"url": "u2", "filename": "f2", "size": 20}]})),
        );
        e.insert(b.clone(), entry(json!({"count": 0, "items": []})));
        apply(
            &mut e,
            &Edit::FilesRenamed {
                renames: vec![("u1".into(), "g1".into())],
            },
            2,
        );
        assert_eq!(e[&a].body["items"][0]["filename"], "g1");
        apply(
            &mut e,
            &Edit::FilesMoved {
                moves: vec![("u2".into(), "u2".into())],
                to: 2,
                rename: None,
            },
            3,
        );
        assert_eq!(e[&a].body["items"].as_array().unwrap().len(), 1);
        assert_eq!(e[&a].body["size"], 10);
        assert_eq!(e[&b].body["items"][0]["filename"], "f2");
        assert_eq!(e[&b].body["count"], 1);
        apply(
            &mut e,
            &Edit::FilesRemoved {
                urls: vec!["u1".into()],
            },
            4,
        );
        assert_eq!(e[&a].body["items"], json!([]));
        assert_eq!(e[&a].body["files"], 0);
    }

    #[test]
    fn uploads_are_added_once_and_unknown_uploads_drop_their_folder() {
        let mut e = BTreeMap::new();
        let dest = key("folder/ls.cgi", json!({"folder_id": 3, "files": 1}));
        let other = file_key(4);
        e.insert(
            dest.clone(),
            entry(json!({"files": 0, "size": 0, "items": []})),
        );
        e.insert(other.clone(), entry(json!({"count": 0, "items": []})));
        let added = Edit::FilesAdded {
            folder: 3,
            entries: vec![json!({"url": "u1", "filename": "f", "size": 5})],
        };
        apply(&mut e, &added, 2);
        // Twice: a listing fetched during the upload already holds it.
        apply(&mut e, &added, 3);
        assert_eq!(e[&dest].body["items"].as_array().unwrap().len(), 1);
        assert_eq!(
            (&e[&dest].body["files"], &e[&dest].body["size"]),
            (&json!(1), &json!(5))
        );
        apply(&mut e, &Edit::FilesUnknown { folder: 3 }, 4);
        assert!(!e.contains_key(&dest));
        assert_eq!(e[&other].body["count"], 0, "other folders are kept");
    }

    #[test]
    fn unknown_sources_drop_the_destination_and_shares_are_dropped() {
        let mut e = BTreeMap::new();
        let dest = key("folder/ls.cgi", json!({"folder_id": 3, "files": 1}));
        let share = key(
            "folder/ls.cgi",
            json!({"folder_id": 0, "sharing_user": "a@b"}),
        );
        e.insert(dest.clone(), entry(json!({"items": []})));
        e.insert(share.clone(), entry(json!({"items": []})));
        apply(
            &mut e,
            &Edit::FilesCopied {
                copies: vec![("zz".into(), "yy".into())],
                to: 3,
                rename: None,
            },
            2,
        );
        assert!(e.is_empty(), "{e:?}");
    }

    #[test]
    fn the_shared_file_stays_bounded() {
        let mut s = SharedListings::default();
        for i in 0..(MAX_ENTRIES as u64 + 50) {
            s.entries.insert(
                key("file/ls.cgi", json!({"folder_id": i})),
                Entry {
                    at_ms: 1000 + i,
                    body: json!({"items": []}),
                },
            );
        }
        s.bound(2000, 10_000);
        assert_eq!(s.entries.len(), MAX_ENTRIES);
        // The oldest went first.
        assert!(
            !s.entries
                .contains_key(&key("file/ls.cgi", json!({"folder_id": 0})))
        );
        s.bound(1_000_000, 10_000);
        assert!(s.entries.is_empty());
    }
}
