//! `fichier info PATH|URL`: one file (`file/info`) or folder (`folder/ls`) in detail.

use fichier_api::{Acl, FolderId};
use serde::Serialize;

use super::{date_human, date_json, read_password};
use crate::cli::InfoArgs;
use crate::context::{Context, Resolved, Want};
use crate::error::Exit;
use crate::paths::{display_path, parse_target};
use crate::printer::human_size;

/// JSON of `info` for a file.
#[derive(Serialize)]
struct FileInfoJson {
    #[serde(rename = "type")]
    kind: &'static str,
    name: String,
    path: Option<String>,
    folder_id: Option<FolderId>,
    link: String,
    size: u64,
    date: Option<String>,
    content_type: Option<String>,
    checksum: Option<String>,
    description: Option<String>,
    password: bool,
    inline: bool,
    cdn: bool,
    no_ssl: bool,
    acl: Option<AclJson>,
}

/// An access list in JSON (booleans, unlike the 0/1 of the wire). Shared with `attr`.
#[derive(Serialize)]
pub struct AclJson {
    /// Allowed IP ranges (CIDR).
    pub ip: Vec<String>,
    /// Allowed countries (ISO-2).
    pub country: Vec<String>,
    /// Allowed registered users.
    pub email: Vec<String>,
    /// Premium users only.
    pub premium: bool,
}

impl From<&Acl> for AclJson {
    fn from(a: &Acl) -> AclJson {
        AclJson {
            ip: a.ip.clone(),
            country: a.country.clone(),
            email: a.email.clone(),
            premium: a.premium,
        }
    }
}

/// JSON of `info` for a folder (also used by `share`).
#[derive(Serialize)]
pub struct FolderInfoJson {
    #[serde(rename = "type")]
    kind: &'static str,
    /// Name ("" for the root).
    pub name: String,
    /// Full path.
    pub path: String,
    /// Folder id.
    pub id: FolderId,
    /// Creation date.
    pub created: Option<String>,
    /// Password-protected.
    pub password: bool,
    /// Public share URL, when shared publicly.
    pub public_url: Option<String>,
    /// Groupware shares.
    pub shares: Vec<ShareJson>,
    /// Number of files directly inside.
    pub files: u64,
    /// Their total size in bytes.
    pub size: u64,
    /// Number of sub-folders.
    pub sub_folders: usize,
}

/// A user share in JSON (booleans, unlike the 0/1 of the wire).
#[derive(Serialize)]
pub struct ShareJson {
    /// The registered user's e-mail.
    pub email: String,
    /// May write.
    pub rw: bool,
    /// Sees names only, not links.
    pub hide_links: bool,
}

/// The folder's details, from one listing.
pub async fn folder_info(
    ctx: &mut Context,
    id: FolderId,
    path: &[String],
) -> anyhow::Result<FolderInfoJson> {
    let l = ctx.listing(id).await?;
    Ok(FolderInfoJson {
        kind: "folder",
        name: path.last().cloned().unwrap_or_default(),
        path: display_path(path),
        id,
        created: date_json(l.create_date.as_ref()),
        password: l.password,
        public_url: l.shared.clone(),
        shares: l
            .shares
            .iter()
            .map(|s| ShareJson {
                email: s.email.clone(),
                rw: s.rw,
                hide_links: s.hide_links,
            })
            .collect(),
        files: l.file_count.unwrap_or(l.items.len() as u64),
        size: l
            .size
            .unwrap_or_else(|| l.items.iter().map(|f| f.size).sum()),
        sub_folders: l.sub_folders.len(),
    })
}

/// Prints folder details for humans (also used by `share`).
pub fn print_folder(ctx: &Context, f: &FolderInfoJson) {
    let mut fields = vec![
        ("folder", f.path.clone()),
        ("id", f.id.to_string()),
        ("files", format!("{} ({})", f.files, human_size(f.size))),
        ("sub-folders", f.sub_folders.to_string()),
        ("password", yes_no(f.password)),
        (
            "public link",
            f.public_url.clone().unwrap_or_else(|| "-".to_owned()),
        ),
    ];
    let shares = if f.shares.is_empty() {
        "-".to_owned()
    } else {
        f.shares
            .iter()
            .map(|s| {
                let mode = if s.rw {
                    "rw"
                } else if s.hide_links {
                    "ro, links hidden"
                } else {
                    "ro"
                };
                format!("{} ({mode})", s.email)
            })
            .collect::<Vec<_>>()
            .join(", ")
    };
    fields.push(("shared with", shares));
    ctx.printer.fields(&fields);
}

fn yes_no(b: bool) -> String {
    if b { "yes" } else { "no" }.to_owned()
}

/// Shows a file or folder.
pub async fn run(ctx: &mut Context, args: InfoArgs) -> anyhow::Result<Exit> {
    let target = parse_target(&args.target)?;
    let password = read_password(&args.password, "file password", 1)?;
    match ctx.resolve(&target, Want::Any).await? {
        Resolved::Folder { id, path } => {
            let f = folder_info(ctx, id, &path).await?;
            if ctx.printer.json_mode() {
                ctx.printer.json(&f);
            } else {
                print_folder(ctx, &f);
            }
        }
        Resolved::File { link, path, .. } => {
            let info = ctx
                .client()
                .await?
                .file_info(&link, password.as_ref())
                .await?;
            let full_path = path.as_deref().map(display_path).or_else(|| {
                // Files of this account report their folder path; others have none.
                info.folder_id.map(|_| {
                    let folder = info.path.clone().unwrap_or_default();
                    let folder = folder.trim_matches('/');
                    if folder.is_empty() {
                        format!("/{}", info.filename)
                    } else {
                        format!("/{folder}/{}", info.filename)
                    }
                })
            });
            let json = FileInfoJson {
                kind: "file",
                name: info.filename.clone(),
                path: full_path.clone(),
                folder_id: info.folder_id,
                link: info.link.to_string(),
                size: info.size,
                date: date_json(info.date.as_ref()),
                content_type: info.content_type.clone(),
                checksum: info.checksum.clone(),
                description: info.description.clone(),
                password: info.password,
                inline: info.inline,
                cdn: info.cdn,
                no_ssl: info.no_ssl,
                acl: info.acl.as_ref().map(AclJson::from),
            };
            if ctx.printer.json_mode() {
                ctx.printer.json(&json);
            } else {
                let acl = match &info.acl {
                    None => "-".to_owned(),
                    Some(a) => {
                        let mut parts = Vec::new();
                        if !a.ip.is_empty() {
                            parts.push(format!("ip {}", a.ip.join(" ")));
                        }
                        if !a.country.is_empty() {
                            parts.push(format!("country {}", a.country.join(" ")));
                        }
                        if !a.email.is_empty() {
                            parts.push(format!("email {}", a.email.join(" ")));
                        }
                        if a.premium {
                            parts.push("premium only".to_owned());
                        }
                        parts.join("; ")
                    }
                };
                let dash = |o: &Option<String>| o.clone().unwrap_or_else(|| "-".to_owned());
                ctx.printer.fields(&[
                    ("file", info.filename.clone()),
                    ("path", dash(&full_path)),
                    ("link", info.link.to_string()),
                    (
                        "size",
                        format!("{} ({} bytes)", human_size(info.size), info.size),
                    ),
                    ("uploaded", date_human(info.date.as_ref())),
                    ("type", dash(&info.content_type)),
                    ("whirlpool", dash(&info.checksum)),
                    ("description", dash(&info.description)),
                    ("password", yes_no(info.password)),
                    ("inline", yes_no(info.inline)),
                    ("cdn", yes_no(info.cdn)),
                    ("access list", acl),
                ]);
            }
        }
    }
    Ok(Exit::Ok)
}
