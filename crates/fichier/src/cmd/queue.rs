//! `fichier queue add|ls|pause|resume|retry|rm|move|clear|export`: the user side of the
//! persistent download queue (`<data dir>/queue.sqlite`, shared with the daemon). `add` turns
//! links, shared folders and account paths into items, learning name, size and whirlpool
//! where 1fichier tells them; the rest edits the store. Downloading is `queue run`'s job.

use std::collections::BTreeMap;
use std::io::Read as _;
use std::path::{Path, PathBuf};

use fichier_api::{ErrorKind, Expect, FileLink, Node, NotAllowedReason, RemotePath};
use fichier_queue::{
    AddOutcome, CrawlJob, Item, ItemId, NewItem, Position, QueueStore, Selector, State, crawljob,
};
use fichier_transfer::{input_lines, safe_local_name};
use serde::Serialize;

use super::Batch;
use crate::cli::{
    QueueAddArgs, QueueClearArgs, QueueCommand, QueueExportArgs, QueueMoveArgs, QueueSelectArgs,
};
use crate::context::{Context, tree_failure};
use crate::error::{Exit, Failure, queue_failure};
use crate::paths::path_failure;
use crate::printer::{Align, Style, human_size};
use crate::settings::Settings;

/// Runs a `queue` subcommand.
pub async fn run(ctx: &mut Context, cmd: QueueCommand) -> anyhow::Result<Exit> {
    match cmd {
        QueueCommand::Add(a) => add(ctx, a).await,
        QueueCommand::Ls => ls(ctx),
        QueueCommand::Pause(a) => select(ctx, &a, Edit::Pause),
        QueueCommand::Resume(a) => select(ctx, &a, Edit::Resume),
        QueueCommand::Retry(a) => select(ctx, &a, Edit::Retry),
        QueueCommand::Rm(a) => select(ctx, &a, Edit::Remove),
        QueueCommand::Move(a) => move_item(ctx, &a),
        QueueCommand::Clear(a) => clear(ctx, &a),
        QueueCommand::Export(a) => export(ctx, &a),
        QueueCommand::Run(a) => {
            let store = queue_path(&ctx.settings);
            super::queue_run::run(ctx, a, store).await
        }
    }
}

/// The queue file of these settings: `<data dir>/queue.sqlite` (under `sandbox/` with
/// `--sandbox`, so test links never reach the real queue).
pub fn queue_path(settings: &Settings) -> PathBuf {
    settings.paths.queue()
}

/// Opens the queue of these settings, errors worded for a person.
pub fn open_store(settings: &Settings) -> anyhow::Result<QueueStore> {
    Ok(QueueStore::open(&queue_path(settings)).map_err(queue_failure)?)
}

// ------------------------------------------------------------------------------------ add

/// One thing to add, with the options it came with (flags, or its crawljob job).
struct Request {
    text: String,
    target: PathBuf,
    package: Option<String>,
    priority: i32,
    password: Option<String>,
    name: Option<String>,
    comment: Option<String>,
    starts: bool,
    origin: String,
}

/// An item added, in `queue add --json`.
#[derive(Serialize)]
struct AddedJson {
    input: String,
    item: Item,
}

/// A refused duplicate, in `queue add --json`.
#[derive(Serialize)]
struct DuplicateJson {
    input: String,
    source: String,
    existing: ItemId,
    why: String,
}

/// An input that could not be added, in `queue add --json`.
#[derive(Serialize)]
struct FailedJson {
    input: String,
    error: String,
}

/// JSON of `queue add`.
#[derive(Serialize)]
struct AddJson {
    added: Vec<AddedJson>,
    duplicates: Vec<DuplicateJson>,
    failed: Vec<FailedJson>,
    warnings: Vec<String>,
}

async fn add(ctx: &mut Context, args: QueueAddArgs) -> anyhow::Result<Exit> {
    let to = args.to.clone().unwrap_or_else(|| PathBuf::from("."));
    let base = std::path::absolute(&to).map_err(|e| {
        Failure::usage(format!("{}: not a usable directory", to.display()))
            .with_cause(e.to_string())
    })?;
    if base.exists() && !base.is_dir() {
        return Err(
            Failure::usage(format!("{} is not a directory", base.display()))
                .with_hint("give --to a directory (it is created when the download starts)")
                .into(),
        );
    }
    let password = super::read_password(&args.password, "download password", 1)?
        .map(|p| p.expose().to_owned());
    let request = |text: &str| Request {
        text: text.to_owned(),
        target: base.clone(),
        package: args.package.clone(),
        priority: args.priority,
        password: password.clone(),
        name: None,
        comment: None,
        starts: true,
        origin: "cli".to_owned(),
    };
    // An unset variable (`queue add "$URL"`) must not stand for the account root, which is
    // queued only when spelled `/`.
    if args.targets.iter().any(|t| t.trim().is_empty()) {
        return Err(
            Failure::usage("an empty link or path was given (an unset variable?)")
                .with_hint(
                    "give a 1fichier link or a path of your account; the whole account is `/`",
                )
                .into(),
        );
    }
    let mut requests: Vec<Request> = args.targets.iter().map(|t| request(t)).collect();
    let mut warnings = Vec::new();
    if let Some(input) = &args.input {
        let text = read_input(input)?;
        let is_crawljob = input
            .extension()
            .is_some_and(|e| e.eq_ignore_ascii_case("crawljob"));
        if is_crawljob {
            let parsed = crawljob::parse(&text).map_err(|e| {
                Failure::usage(format!("{}: {e}", input.display())).with_hint(
                    "fix the file (JSON array of jobs, or key=value lines with a blank line \
                     between jobs; see docs/queue.md); nothing was added",
                )
            })?;
            for w in parsed.warnings {
                warnings.push(format!("{}: {w}", input.display()));
            }
            for job in &parsed.jobs {
                let target = fichier_queue::watch::job_target(job, &base).map_err(|e| {
                    Failure::usage(format!("{}: {e}", input.display()))
                        .with_hint("nothing was added")
                })?;
                for link in job.links() {
                    requests.push(Request {
                        text: link.to_owned(),
                        target: target.clone(),
                        package: job.package_name.clone().or_else(|| args.package.clone()),
                        priority: job.priority.unwrap_or(args.priority),
                        password: job.download_password.clone().or_else(|| password.clone()),
                        name: job.filename.clone(),
                        comment: job.comment.clone(),
                        starts: job.starts(),
                        origin: "cli".to_owned(),
                    });
                }
            }
        } else {
            requests.extend(input_lines(&text).iter().map(|l| request(l)));
        }
    }
    if requests.is_empty() {
        return Err(Failure::usage("nothing to add")
            .with_hint("give links or paths, or --input FILE with one per line")
            .into());
    }
    for w in &warnings {
        ctx.printer.warn(w);
    }
    let store = open_store(&ctx.settings)?;
    let mut out = AddJson {
        added: Vec::new(),
        duplicates: Vec::new(),
        failed: Vec::new(),
        warnings,
    };
    let mut batch = Batch::default();
    let mut learn = Learn {
        check: !args.no_check,
        warned: false,
    };
    for r in &requests {
        let items = match expand(ctx, r, &mut learn).await {
            Ok(items) => items,
            Err(e) => {
                out.failed.push(FailedJson {
                    input: r.text.clone(),
                    error: crate::error::render(&e, false)
                        .text
                        .lines()
                        .next()
                        .unwrap_or_default()
                        .trim_start_matches("error: ")
                        .to_owned(),
                });
                batch.fail(ctx, e)?;
                continue;
            }
        };
        for item in items {
            let source = item.source.clone();
            match store.add(item).map_err(queue_failure)? {
                AddOutcome::Added(id) => {
                    let Some(item) = store.get(id).map_err(queue_failure)? else {
                        continue; // removed by another process at once
                    };
                    batch.ok();
                    if !ctx.printer.json_mode() {
                        ctx.printer.line(&format!(
                            "added {}  {}{}",
                            item.id,
                            item.name.as_deref().unwrap_or(&item.source),
                            item.size
                                .map(|s| format!("  ({})", human_size(s)))
                                .unwrap_or_default()
                        ));
                    }
                    out.added.push(AddedJson {
                        input: r.text.clone(),
                        item,
                    });
                }
                AddOutcome::Duplicate { existing, why } => {
                    let err = Failure::usage(format!("not added: {why}")).with_hint(format!(
                        "`fichier queue ls` shows item {existing}; `fichier queue rm {existing}` \
                         first to add it again"
                    ));
                    batch.fail(ctx, err.into())?;
                    out.duplicates.push(DuplicateJson {
                        input: r.text.clone(),
                        source,
                        existing,
                        why,
                    });
                }
            }
        }
    }
    let space = space_warnings(&store, &out.added);
    for w in &space {
        ctx.printer.warn(w);
    }
    out.warnings.extend(space);
    if ctx.printer.json_mode() {
        ctx.printer.json(&out);
    } else if !out.added.is_empty() {
        ctx.printer.status(&format!(
            "{} item(s) queued; `fichier queue run` or `fichier daemon` downloads them",
            out.added.len()
        ));
    }
    Ok(batch.exit())
}

fn read_input(input: &Path) -> anyhow::Result<String> {
    if input.as_os_str() == "-" {
        let mut s = String::new();
        std::io::stdin().read_to_string(&mut s).map_err(|e| {
            Failure::fatal("cannot read links from standard input").with_cause(e.to_string())
        })?;
        return Ok(s);
    }
    std::fs::read_to_string(input).map_err(|e| {
        Failure::usage(format!("cannot read {}", input.display()))
            .with_cause(e.to_string())
            .with_hint("check the file name and that it is readable text; nothing was added")
            .into()
    })
}

/// Whether to ask 1fichier about links, and whether the user was told it stopped asking.
struct Learn {
    check: bool,
    warned: bool,
}

impl Learn {
    fn stop(&mut self, ctx: &Context, why: &str) {
        self.check = false;
        if !self.warned {
            self.warned = true;
            ctx.printer.warn(&format!(
                "links are queued without their name and size ({why}); they are learned when \
                 the download starts"
            ));
        }
    }
}

fn new_item(r: &Request, source: String) -> NewItem {
    NewItem {
        source,
        target_dir: r.target.clone(),
        package: r.package.clone(),
        priority: r.priority,
        password: r.password.clone(),
        name: r.name.clone(),
        comment: r.comment.clone(),
        origin: r.origin.clone(),
        paused: !r.starts,
        ..NewItem::default()
    }
}

/// Canonical form of a link the service gave (always a 1fichier link).
fn canonical(link: &FileLink) -> String {
    fichier_queue::normalise_link(link.as_str()).unwrap_or_else(|| link.to_string())
}

fn looks_like_url(text: &str) -> bool {
    let lower = text.to_ascii_lowercase();
    if lower.contains("://") || lower.starts_with("www.") {
        return true;
    }
    // `host.tld/?id` without a scheme; `db.tar` alone is a file name.
    let host_end = lower.find(['/', '?']).unwrap_or(lower.len());
    let (host, rest) = lower.split_at(host_end);
    host.contains('.')
        && !host.starts_with('.')
        && (rest.starts_with('?') || rest.starts_with("/?"))
}

/// The items one request stands for.
async fn expand(ctx: &mut Context, r: &Request, learn: &mut Learn) -> anyhow::Result<Vec<NewItem>> {
    let text = r.text.trim();
    let pass = r.password.as_deref().map(fichier_api::Password::new);
    if let Some(canon) = fichier_queue::normalise_link(text) {
        if fichier_queue::is_folder_link(&canon) {
            let client = ctx.client().await?;
            let files = fichier_queue::intake::shared_folder_items(
                client,
                &canon,
                pass.as_ref(),
                &new_item(r, canon.clone()),
            )
            .await?;
            if files.is_empty() {
                return Err(
                    Failure::usage(format!("{canon}: the shared folder has no files")).into(),
                );
            }
            return Ok(files);
        }
        let mut item = new_item(r, canon.clone());
        if learn.check {
            learn_link(ctx, &canon, pass.as_ref(), &mut item, learn).await?;
        }
        return Ok(vec![item]);
    }
    if looks_like_url(text) {
        return Err(Failure::usage(format!("`{text}` is not a 1fichier link"))
            .with_hint(format!(
                "file links look like https://1fichier.com/?abcde12345 and shared folders like \
                 https://1fichier.com/dir/AbCd1234 (domains: {})",
                fichier_api::DOMAINS.join(", ")
            ))
            .into());
    }
    let path = RemotePath::parse(text).map_err(|e| path_failure(&e))?;
    let node = ctx
        .tree()
        .await?
        .resolve(&path, Expect::Any)
        .await
        .map_err(tree_failure)?;
    match node {
        Node::File { entry, .. } => {
            let mut item = NewItem {
                name: r.name.clone().or_else(|| Some(entry.filename.clone())),
                size: Some(entry.size),
                whirlpool: entry.checksum.clone(),
                ..new_item(r, canonical(&entry.link))
            };
            if item.whirlpool.is_none() && learn.check {
                learn_link(ctx, &item.source.clone(), pass.as_ref(), &mut item, learn).await?;
            }
            Ok(vec![item])
        }
        Node::Folder { id, .. } => {
            let into_contents = text.ends_with('/') || path.is_root();
            let dir = if into_contents {
                r.target.clone()
            } else {
                let name = match path.last_name() {
                    Some(n) => n.to_owned(),
                    None => ctx.listing(id).await?.name.clone(),
                };
                r.target.join(safe_local_name(&name))
            };
            let shown = path.to_string();
            // The one subtree walk, pre-order in the service's order; each file goes into the
            // local folders named after the remote ones on its way.
            let walk = ctx
                .tree()
                .await?
                .walk(
                    id,
                    &RemotePath::from_names(Vec::<String>::new()),
                    &fichier_api::WalkOptions::new(),
                )
                .await?;
            let mut items = Vec::new();
            for e in walk.entries {
                let fichier_api::WalkKind::File(f) = e.kind else {
                    continue;
                };
                let names = e.path.components();
                let folders = &names[..names.len().saturating_sub(1)];
                let target_dir = folders
                    .iter()
                    .fold(dir.clone(), |d, n| d.join(safe_local_name(n)));
                items.push(NewItem {
                    name: Some(f.filename.clone()),
                    size: Some(f.size),
                    whirlpool: f.checksum.clone(),
                    target_dir,
                    ..new_item(r, canonical(&f.link))
                });
            }
            if items.is_empty() {
                return Err(Failure::usage(format!("{shown}: no files in this folder"))
                    .with_hint(format!("`fichier ls -R {shown}` shows what it contains"))
                    .into());
            }
            Ok(items)
        }
        _ => Err(Failure::fatal(format!("{shown}: not a file or folder", shown = path)).into()),
    }
}

/// Asks `file/info` for a link's name, size and whirlpool. A dead link or a wrong password
/// is refused; anything that only says "not now" (no key, flood, network) queues the link
/// unchecked and stops asking for the others.
async fn learn_link(
    ctx: &mut Context,
    canon: &str,
    pass: Option<&fichier_api::Password>,
    item: &mut NewItem,
    learn: &mut Learn,
) -> anyhow::Result<()> {
    let link = match FileLink::parse(canon) {
        Ok(l) => l,
        Err(_) => return Ok(()),
    };
    let client = match ctx.client().await {
        Ok(c) => c.clone(),
        Err(e) => {
            let why = crate::error::render(&e, false)
                .text
                .lines()
                .next()
                .unwrap_or_default()
                .trim_start_matches("error: ")
                .to_owned();
            learn.stop(ctx, &why);
            return Ok(());
        }
    };
    match client.file_info(&link, pass).await {
        Ok(info) => {
            item.name = item.name.take().or(Some(info.filename));
            item.size = Some(info.size);
            item.whirlpool = info.checksum;
            Ok(())
        }
        Err(e) => match e.kind() {
            ErrorKind::NotFound => Err(Failure::usage(format!(
                "{canon}: no such file on 1fichier (deleted, or the link is mistyped)"
            ))
            .with_hint("check the link; --no-check queues links without asking 1fichier")
            .into()),
            ErrorKind::OwnerLocked => Err(anyhow::Error::from(e).context(Failure::fatal(format!(
                "{canon}: the file cannot be downloaded"
            )))),
            ErrorKind::NotAllowed
                if matches!(
                    &e,
                    fichier_api::Error::NotAllowed {
                        reason: NotAllowedReason::PasswordMissing
                            | NotAllowedReason::PasswordInvalid,
                        ..
                    }
                ) =>
            {
                Err(anyhow::Error::from(e).context(format!("{canon}: cannot be queued")))
            }
            ErrorKind::NotAllowed | ErrorKind::InvalidInput | ErrorKind::Rejected => {
                ctx.printer.verbose(&format!(
                    "{canon}: 1fichier does not describe this file before download ({e})"
                ));
                Ok(())
            }
            _ => {
                learn.stop(ctx, &crate::error::failure_for(&e).message);
                Ok(())
            }
        },
    }
}

/// "Not enough free space" warnings for the directories items were just added to: the
/// known sizes of every unfinished item going there, against the free space of the
/// directory (or of its nearest existing parent).
fn space_warnings(store: &QueueStore, added: &[AddedJson]) -> Vec<String> {
    let mut dirs: Vec<&Path> = added.iter().map(|a| a.item.target_dir.as_path()).collect();
    dirs.sort();
    dirs.dedup();
    if dirs.is_empty() {
        return Vec::new();
    }
    let Ok(items) = store.list() else {
        return Vec::new();
    };
    let mut need: BTreeMap<&Path, (u64, usize)> = BTreeMap::new();
    for it in items.iter().filter(|i| !i.state.is_final()) {
        if let Some(&d) = dirs.iter().find(|d| **d == it.target_dir) {
            let e = need.entry(d).or_default();
            match it.size {
                Some(s) => e.0 = e.0.saturating_add(s.saturating_sub(it.bytes_done)),
                None => e.1 += 1,
            }
        }
    }
    let mut out = Vec::new();
    for (dir, (bytes, unknown)) in need {
        let Some(free) = free_space(dir) else {
            continue;
        };
        if bytes > free {
            let more = if unknown > 0 {
                format!(" (and {unknown} item(s) of unknown size)")
            } else {
                String::new()
            };
            out.push(format!(
                "the queue needs {}{more} in {} but only {} is free there",
                human_size(bytes),
                dir.display(),
                human_size(free)
            ));
        }
    }
    out
}

#[cfg(unix)]
fn free_space(dir: &Path) -> Option<u64> {
    let existing = dir.ancestors().find(|a| a.is_dir())?;
    let st = rustix::fs::statvfs(existing).ok()?;
    Some(st.f_bavail.saturating_mul(st.f_frsize))
}

#[cfg(not(unix))]
fn free_space(_dir: &Path) -> Option<u64> {
    None
}

// ------------------------------------------------------------------------------------- ls

/// One item in `queue ls --json`: the stored item and its progress.
#[derive(Serialize)]
struct LsItem<'a> {
    #[serde(flatten)]
    item: &'a Item,
    /// Percent done (0-100, one decimal) when the size is known.
    progress: Option<f64>,
}

/// JSON of `queue ls`.
#[derive(Serialize)]
struct LsJson<'a> {
    /// The store's change counter (see docs/queue.md).
    version: i64,
    items: Vec<LsItem<'a>>,
}

fn percent(item: &Item) -> Option<f64> {
    let size = item.size?;
    if item.state == State::Done {
        return Some(100.0);
    }
    if size == 0 {
        return Some(0.0);
    }
    let p = (item.bytes_done.min(size) as f64) * 100.0 / size as f64;
    Some((p * 10.0).floor() / 10.0)
}

fn duration_short(secs: u64) -> String {
    match secs {
        s if s < 60 => format!("{s}s"),
        s if s < 3600 => format!("{}m{:02}s", s / 60, s % 60),
        s => format!("{}h{:02}m", s / 3600, (s % 3600) / 60),
    }
}

fn note(item: &Item) -> String {
    let mut parts = Vec::new();
    if let Some(r) = &item.reason {
        parts.push(r.clone());
    }
    if let Some(u) = item.until {
        // The time alone when it is within a day, else the date too.
        let soon = u.duration_since(jiff::Timestamp::now()).as_secs() < 86_400;
        let local = u
            .to_zoned_datetime(jiff::tz::TimeZone::system())
            .strftime(if soon { "%H:%M:%S" } else { "%Y-%m-%d %H:%M" })
            .to_string();
        parts.push(format!("until {local}"));
    }
    if item.state == State::Failed {
        parts.push(if item.retryable {
            "retryable".to_owned()
        } else {
            "not retryable".to_owned()
        });
    }
    if item.state == State::Done
        && let Some(p) = &item.path
    {
        parts.push(p.display().to_string());
    }
    parts.join("; ")
}

fn ls(ctx: &mut Context) -> anyhow::Result<Exit> {
    let store = open_store(&ctx.settings)?;
    let version = store.version().map_err(queue_failure)?;
    let items = store.list().map_err(queue_failure)?;
    if ctx.printer.json_mode() {
        ctx.printer.json(&LsJson {
            version,
            items: items
                .iter()
                .map(|item| LsItem {
                    item,
                    progress: percent(item),
                })
                .collect(),
        });
        return Ok(Exit::Ok);
    }
    if items.is_empty() {
        ctx.printer
            .status("the queue is empty: add links with `fichier queue add URL|PATH`");
        return Ok(Exit::Ok);
    }
    let h = |t: &str| (t.to_owned(), Style::Bold);
    let mut rows = vec![vec![
        h("ID"),
        h("STATE"),
        h("SIZE"),
        h("DONE"),
        h("SPEED"),
        h("ETA"),
        h("NAME"),
        h("PACKAGE"),
        h("NOTE"),
    ]];
    for it in &items {
        let plain = |t: String| (t, Style::Plain);
        let dim = |t: String| (t, Style::Dim);
        rows.push(vec![
            plain(it.id.to_string()),
            plain(it.state.as_str().to_owned()),
            plain(it.size.map(human_size).unwrap_or_else(|| "?".into())),
            plain(
                percent(it)
                    .map(|p| format!("{p:.1}%"))
                    .unwrap_or_else(|| "-".into()),
            ),
            plain(if it.state == State::Downloading && it.speed_bps > 0 {
                format!("{}/s", human_size(it.speed_bps))
            } else {
                "-".into()
            }),
            plain(
                it.eta_secs
                    .map(duration_short)
                    .unwrap_or_else(|| "-".into()),
            ),
            plain(it.name.clone().unwrap_or_else(|| it.source.clone())),
            plain(it.package.clone().unwrap_or_else(|| "-".into())),
            dim(note(it)),
        ]);
    }
    ctx.printer.table(
        &[
            Align::Right,
            Align::Left,
            Align::Right,
            Align::Right,
            Align::Right,
            Align::Right,
            Align::Left,
            Align::Left,
            Align::Left,
        ],
        &rows,
    );
    Ok(Exit::Ok)
}

// ------------------------------------------------------------------- pause/resume/retry/rm

#[derive(Clone, Copy)]
enum Edit {
    Pause,
    Resume,
    Retry,
    Remove,
}

/// JSON of the editing commands.
#[derive(Serialize)]
struct ChangedJson {
    changed: usize,
}

fn selector(args: &QueueSelectArgs) -> Selector {
    match (&args.id, &args.package) {
        (Some(id), _) => Selector::Id(*id),
        (None, Some(p)) => Selector::Package(p.clone()),
        (None, None) => Selector::All,
    }
}

fn select(ctx: &mut Context, args: &QueueSelectArgs, edit: Edit) -> anyhow::Result<Exit> {
    let store = open_store(&ctx.settings)?;
    let sel = selector(args);
    if let Selector::Package(p) = &sel {
        let any = store
            .list()
            .map_err(queue_failure)?
            .iter()
            .any(|i| i.package.as_deref() == Some(p.as_str()));
        if !any {
            return Err(Failure::usage(format!("no queue item is in package {p:?}"))
                .with_hint("`fichier queue ls` shows the packages")
                .into());
        }
    }
    let (n, verb, which) = match edit {
        Edit::Pause => (
            store.pause(&sel),
            "paused",
            "not finished or already paused",
        ),
        Edit::Resume => (store.resume(&sel), "resumed", "paused"),
        Edit::Retry => (
            store.retry(&sel),
            "queued again",
            "failed, offline or waiting",
        ),
        Edit::Remove => (store.remove(&sel), "removed", "there"),
    };
    let n = n.map_err(queue_failure)?;
    if ctx.printer.json_mode() {
        ctx.printer.json(&ChangedJson { changed: n });
    } else if n == 0 {
        ctx.printer
            .status(&format!("nothing to do: no selected item is {which}"));
    } else {
        ctx.printer.status(&format!("{verb} {n} item(s)"));
    }
    Ok(Exit::Ok)
}

fn move_item(ctx: &mut Context, args: &QueueMoveArgs) -> anyhow::Result<Exit> {
    let store = open_store(&ctx.settings)?;
    let pos = if args.top {
        Position::Top
    } else {
        Position::Bottom
    };
    store.move_to(args.id, pos).map_err(queue_failure)?;
    if ctx.printer.json_mode() {
        ctx.printer.json(&ChangedJson { changed: 1 });
    } else {
        ctx.printer.status(&format!(
            "item {} moved to the {}",
            args.id,
            if args.top { "top" } else { "bottom" }
        ));
    }
    Ok(Exit::Ok)
}

fn clear(ctx: &mut Context, args: &QueueClearArgs) -> anyhow::Result<Exit> {
    debug_assert!(args.done, "clap requires --done");
    let store = open_store(&ctx.settings)?;
    let n = store.clear_done().map_err(queue_failure)?;
    if ctx.printer.json_mode() {
        ctx.printer.json(&ChangedJson { changed: n });
    } else {
        ctx.printer
            .status(&format!("removed {n} finished item(s) from the list"));
    }
    Ok(Exit::Ok)
}

// ---------------------------------------------------------------------------------- export

/// JSON of `queue export` and `link --crawljob`.
#[derive(Serialize)]
pub struct WrittenJson {
    /// The files written.
    pub files: Vec<WrittenFile>,
}

/// One written `.crawljob` file.
#[derive(Serialize)]
pub struct WrittenFile {
    /// Its path.
    pub path: String,
    /// How many links it holds.
    pub links: usize,
}

fn export(ctx: &mut Context, args: &QueueExportArgs) -> anyhow::Result<Exit> {
    let store = open_store(&ctx.settings)?;
    let items: Vec<Item> = store
        .list()
        .map_err(queue_failure)?
        .into_iter()
        .filter(|i| !matches!(i.state, State::Done | State::Offline))
        .filter(|i| args.package.is_none() || i.package == args.package)
        .collect();
    if items.is_empty() {
        return Err(
            Failure::usage("nothing to export: no unfinished item in the queue")
                .with_hint("`fichier queue ls` shows the queue")
                .into(),
        );
    }
    let mut by_package: BTreeMap<Option<String>, Vec<CrawlJob>> = BTreeMap::new();
    for it in &items {
        let password = if it.has_password {
            store.password(it.id).map_err(queue_failure)?
        } else {
            None
        };
        by_package
            .entry(it.package.clone())
            .or_default()
            .push(CrawlJob {
                text: it.source.clone(),
                package_name: it.package.clone(),
                filename: it.name.clone(),
                download_folder: Some(it.target_dir.to_string_lossy().into_owned()),
                download_password: password,
                comment: it.comment.clone(),
                enabled: Some(true),
                auto_start: Some(it.state != State::Paused),
                priority: (it.priority != 0).then_some(it.priority),
            });
    }
    let mut written = Vec::new();
    for (package, jobs) in by_package {
        let stem = package.as_deref().unwrap_or("fichier-queue");
        let path = write_crawljob(&args.crawljob, stem, &jobs)?;
        written.push(WrittenFile {
            path: path.display().to_string(),
            links: jobs.len(),
        });
    }
    report_written(ctx, written);
    Ok(Exit::Ok)
}

/// Prints what `write_crawljob` wrote.
pub fn report_written(ctx: &Context, files: Vec<WrittenFile>) {
    if ctx.printer.json_mode() {
        ctx.printer.json(&WrittenJson { files });
    } else {
        for f in &files {
            ctx.printer.line(&f.path);
        }
        let links: usize = files.iter().map(|f| f.links).sum();
        ctx.printer.status(&format!(
            "wrote {} .crawljob file(s) with {links} link(s)",
            files.len()
        ));
    }
}

/// Writes `jobs` as `DIR/<stem>.crawljob` (`<stem>-1.crawljob`, ... when taken: an existing
/// file is never replaced), `0600` since it may hold download passwords. Returns the path.
pub fn write_crawljob(dir: &Path, stem: &str, jobs: &[CrawlJob]) -> anyhow::Result<PathBuf> {
    std::fs::create_dir_all(dir).map_err(|e| {
        Failure::fatal(format!("cannot create {}", dir.display())).with_cause(e.to_string())
    })?;
    let stem = safe_local_name(stem);
    let text = crawljob::write(jobs);
    for n in 0u32..10_000 {
        let name = match n {
            0 => format!("{stem}.crawljob"),
            n => format!("{stem}-{n}.crawljob"),
        };
        let path = dir.join(name);
        let mut opts = std::fs::OpenOptions::new();
        opts.write(true).create_new(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt as _;
            opts.mode(0o600);
        }
        match opts.open(&path) {
            Ok(mut f) => {
                use std::io::Write as _;
                f.write_all(text.as_bytes())
                    .and_then(|()| f.sync_all())
                    .map_err(|e| {
                        let _ = std::fs::remove_file(&path);
                        Failure::fatal(format!("cannot write {}", path.display()))
                            .with_cause(e.to_string())
                    })?;
                return Ok(path);
            }
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
            Err(e) => {
                return Err(Failure::fatal(format!("cannot write {}", path.display()))
                    .with_cause(e.to_string())
                    .with_hint("check that the directory is writable")
                    .into());
            }
        }
    }
    Err(Failure::fatal(format!(
        "{}: too many {stem}-N.crawljob files",
        dir.display()
    ))
    .into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_are_told_from_paths() {
        assert!(looks_like_url("https://example.com/x"));
        assert!(looks_like_url("example.com/?abc"));
        assert!(looks_like_url("www.example.com"));
        assert!(!looks_like_url("/Movies/a.mkv"));
        assert!(!looks_like_url("/Movies/"));
        assert!(!looks_like_url("Movies"));
        assert!(!looks_like_url("id:42/x"));
        assert!(!looks_like_url("db.tar"));
        assert!(!looks_like_url("Backups/db.tar"));
    }

    #[test]
    fn durations_and_percent() {
        assert_eq!(duration_short(5), "5s");
        assert_eq!(duration_short(125), "2m05s");
        assert_eq!(duration_short(7260), "2h01m");
    }
}
