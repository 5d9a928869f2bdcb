//! `fichier backup`: resolve a profile and flags into one backup job, run it through the
//! transfer crate's backup run, and render the summary; `backup ls` and `backup schedule`.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use fichier_api::RemotePath;
use fichier_backup::journal::{Journal, RunRecord};
use fichier_backup::plan::{MaxDelete, Safety};
use fichier_backup::remote::EngineRemote;
use fichier_backup::retention::{KeepWithin, Retention};
use fichier_backup::run::{BackupJob, RemoteError, RunSummary, run_backup};
use fichier_backup::source::{SkipReason, SourceFilter};
use fichier_transfer::{EngineConfig, Timetable};

use super::backup_log::{LoggedRemote, Step, StepLog};
use super::backup_notify::Notify;
use super::backup_report::{FailedRun, FinishedRun, RunReport};
use super::transfer::engine;
use crate::cli::{BackupAction, BackupCommand, BackupRunArgs, BackupScheduleArgs, ProgressMode};
use crate::context::Context;
use crate::error::{Exit, Failure, backup_failure, exit_for_kind, remote_failure};
use crate::printer::human_size;
use crate::progress::{Mode, Reporter, Verb};
use crate::settings::BackupProfile;
use crate::units::{DailyAt, crontab_line, service_unit, timer_unit, unit_name_part};

/// Runs `fichier backup ...`.
pub async fn run(ctx: &mut Context, cmd: BackupCommand) -> anyhow::Result<Exit> {
    match cmd.action {
        Some(BackupAction::Ls) => list(ctx),
        Some(BackupAction::Schedule(a)) => schedule(ctx, a),
        None => run_job(ctx, cmd.run).await,
    }
}

/// The state directory of backups (locks, index, journal, scratch; the sandbox's own).
fn state_dir(ctx: &Context) -> PathBuf {
    ctx.settings.paths.backup_dir()
}

/// Profile name, source and destination from the positional arguments.
fn target(ctx: &Context, args: &BackupRunArgs) -> anyhow::Result<(String, BackupProfile)> {
    match args.target.as_slice() {
        [name] => {
            let profile = ctx.settings.backup_profiles.get(name).cloned().ok_or_else(|| {
                let known: Vec<&str> = ctx.settings.backup_profiles.keys().map(String::as_str).collect();
                Failure::usage(format!("no backup profile named `{name}` in the config file"))
                    .with_hint(if known.is_empty() {
                        "add a [backup.NAME] table with source and destination to the config file, or give SOURCE DEST".to_string()
                    } else {
                        format!("known profiles: {}; or give SOURCE DEST", known.join(", "))
                    })
            })?;
            // A relative `source` in the config file means the file's own directory: a timer
            // or cron job starts elsewhere, and must back up the same tree.
            let mut profile = profile;
            let config = ctx
                .settings
                .config_path
                .clone()
                .unwrap_or_else(|| ctx.settings.dirs.config.join("config.toml"));
            if let Some(src) = &profile.source
                && src.is_relative()
            {
                let base = std::path::absolute(&config)
                    .ok()
                    .and_then(|c| c.parent().map(std::path::Path::to_path_buf))
                    .unwrap_or_default();
                profile.source = Some(base.join(src));
            }
            Ok((name.clone(), profile))
        }
        [source, dest] => {
            let source = PathBuf::from(source);
            // Ad-hoc runs get a profile name of their own, so their index and lock are theirs;
            // it is made of the canonical source and the normalised destination, so every
            // spelling of one backup (`src /CC`, `./src/ /CC/`, `$PWD/src //CC`) shares one
            // lock, one index and one journal.
            let canon = std::fs::canonicalize(&source)
                .or_else(|_| std::path::absolute(&source))
                .unwrap_or_else(|_| source.clone());
            let dest_norm = fichier_api::RemotePath::parse(dest)
                .map(|p| p.to_string())
                .unwrap_or_else(|_| dest.clone());
            let name = format!("{}=>{}", canon.display(), dest_norm);
            Ok((
                name,
                BackupProfile {
                    source: Some(source),
                    destination: Some(dest.clone()),
                    ..Default::default()
                },
            ))
        }
        _ => Err(Failure::usage("give a profile name, or SOURCE and DEST").into()),
    }
}

fn usage(e: String) -> anyhow::Error {
    Failure::usage(e).into()
}

/// `30d`, `12h`, `10m` (minutes), `2w`, `45s` as a duration ([`crate::cli::parse_duration`]).
fn parse_age(text: &str, flag: &str) -> anyhow::Result<Duration> {
    crate::cli::parse_duration(text).map_err(|e| usage(format!("{flag}: {e}")))
}

/// `500k`, `10M`, `4G` as bytes ([`crate::cli::parse_size`]).
fn parse_size(text: &str, flag: &str) -> anyhow::Result<u64> {
    crate::cli::parse_size(text).map_err(|e| usage(format!("{flag}: {e}")))
}

/// Flags over the profile: the job a run executes.
fn job(
    ctx: &Context,
    name: String,
    p: BackupProfile,
    a: &BackupRunArgs,
) -> anyhow::Result<(BackupJob, String, usize)> {
    let source = p.source.clone().ok_or_else(|| {
        Failure::usage(format!("backup profile `{name}` has no `source`"))
            .with_hint("add source = \"/path\" to its table")
    })?;
    let dest = p.destination.clone().ok_or_else(|| {
        Failure::usage(format!("backup profile `{name}` has no `destination`"))
            .with_hint("add destination = \"/Backups/NAME\" to its table")
    })?;
    let size =
        |cli: &Option<String>, cfg: &Option<String>, flag: &str| -> anyhow::Result<Option<u64>> {
            cli.as_ref()
                .or(cfg.as_ref())
                .map(|v| parse_size(v, flag))
                .transpose()
        };
    let age = |cli: &Option<String>,
               cfg: &Option<String>,
               flag: &str|
     -> anyhow::Result<Option<Duration>> {
        cli.as_ref()
            .or(cfg.as_ref())
            .map(|v| parse_age(v, flag))
            .transpose()
    };
    let filter = SourceFilter {
        exclude: p.exclude.iter().chain(&a.exclude).cloned().collect(),
        include: p.include.iter().chain(&a.include).cloned().collect(),
        exclude_from: p
            .exclude_from
            .iter()
            .chain(&a.exclude_from)
            .cloned()
            .collect(),
        exclude_if_present: p
            .exclude_if_present
            .iter()
            .chain(&a.exclude_if_present)
            .cloned()
            .collect(),
        min_size: size(&a.min_size, &p.min_size, "--min-size")?,
        max_size: size(&a.max_size, &p.max_size, "--max-size")?,
        max_age: age(&a.max_age, &p.max_age, "--max-age")?,
        min_age: age(&a.min_age, &p.min_age, "--min-age")?,
        follow_symlinks: a.follow_symlinks || p.follow_symlinks.unwrap_or(false),
    };
    let within = a
        .keep_within
        .as_ref()
        .or(p.keep_within.as_ref())
        .map(|w| KeepWithin::parse(w))
        .transpose()
        .map_err(|e| usage(format!("--keep-within {e}")))?;
    let retention = Retention {
        daily: a.keep_daily.or(p.keep_daily).unwrap_or(0),
        weekly: a.keep_weekly.or(p.keep_weekly).unwrap_or(0),
        monthly: a.keep_monthly.or(p.keep_monthly).unwrap_or(0),
        within,
    };
    let max_delete = a
        .max_delete
        .as_ref()
        .or(p.max_delete.as_ref())
        .map(|m| MaxDelete::parse(m))
        .transpose()
        .map_err(|e| usage(format!("--max-delete {e}")))?;
    let job = BackupJob {
        profile: name,
        source,
        filter,
        safety: Safety {
            max_delete,
            allow_empty_source: a.allow_empty_source || p.allow_empty_source.unwrap_or(false),
            delete_unknown: a.delete_unknown || p.delete_unknown.unwrap_or(false),
        },
        retention,
        versions: !a.no_versions && p.versions.unwrap_or(true),
        dry_run: a.dry_run,
        state_dir: state_dir(ctx),
    };
    let jobs = a.jobs.or(p.jobs).unwrap_or(2);
    if !(1..=30).contains(&jobs) {
        return Err(usage(format!(
            "jobs = {jobs} in profile `{}`: files uploaded at once must be 1 to 30",
            job.profile
        )));
    }
    for list in &job.filter.exclude_from {
        if let Err(e) = std::fs::metadata(list) {
            return Err(
                Failure::usage(format!("exclude_from {}: {e}", list.display()))
                    .with_hint("name a readable file of patterns, one a line")
                    .into(),
            );
        }
    }
    Ok((job, dest, usize::from(jobs)))
}

async fn run_job(ctx: &mut Context, args: BackupRunArgs) -> anyhow::Result<Exit> {
    let (name, profile) = target(ctx, &args)?;
    let notify = Notify::new(
        args.notify_url.as_deref().or(profile.notify_url.as_deref()),
        args.on_success.as_deref().or(profile.on_success.as_deref()),
        args.on_failure.as_deref().or(profile.on_failure.as_deref()),
    )?;
    let log_file = args.log_file.clone().or(profile.log_file.clone());
    let bwlimit = args
        .bwlimit
        .as_deref()
        .or(profile.bwlimit.as_deref())
        .map(|t| Timetable::parse(t).map_err(|e| usage(format!("--bwlimit: {e}"))))
        .transpose()?;
    let (job, dest, jobs) = job(ctx, name, profile, &args)?;
    let log = log_file
        .map(|p| StepLog::open(&p, &job.profile))
        .transpose()?;
    let started = std::time::Instant::now();
    let mut counts = None;
    let watch = Watch::new(ctx, args.progress, bwlimit);
    let result = execute(ctx, &job, &dest, jobs, log.as_ref(), &watch, &mut counts).await;
    if let Some(r) = &watch.reporter {
        r.close();
    }
    let (success, summary) = match &result {
        Ok((exit, summary)) => (*exit == Exit::Ok, summary.clone()),
        Err(e) => {
            let rendered = crate::error::render(e, false);
            let message = rendered.text.lines().next().unwrap_or("").to_string();
            let message = message.strip_prefix("error: ").unwrap_or(&message);
            let summary = RunReport::Failed(FailedRun {
                profile: job.profile.clone(),
                outcome: outcome_of_exit(rendered.exit),
                error: message.to_string(),
                exit_code: rendered.exit.code(),
                seconds: started.elapsed().as_secs_f64(),
                api_calls: counts.map(|(calls, _)| calls),
                flood_answers: counts.map(|(_, floods)| floods),
            });
            (false, summary)
        }
    };
    // A run that ended before its summary still answers `--json` (and `--progress json`)
    // with a document on stdout, so a script reads why instead of nothing.
    if result.is_err() {
        if watch.ndjson {
            let line = SummaryEvent {
                event: "summary",
                summary: &summary,
            };
            if let Ok(text) = serde_json::to_string(&line) {
                ctx.printer.json_text(&text);
            }
        } else if ctx.printer.json_mode() {
            ctx.printer.json(&summary);
        }
    }
    if log.is_none() && (job.dry_run || notify.is_empty()) {
        return result.map(|(exit, _)| exit);
    }
    if let Some(log) = &log {
        log.write(&ctx.printer, &Step::Summary(&summary));
    }
    if !job.dry_run {
        notify.fire(&ctx.printer, &summary, success).await;
    }
    result.map(|(exit, _)| exit)
}

/// The `outcome` of a run that ended with an error before its summary.
fn outcome_of_exit(exit: Exit) -> &'static str {
    match exit {
        Exit::Locked => "locked",
        Exit::Refused => "refused",
        Exit::Flood => "flood",
        Exit::Auth => "auth",
        _ => "failed",
    }
}

/// Runs the job: its exit code and its JSON summary, or the error that stopped it.
async fn execute(
    ctx: &mut Context,
    job: &BackupJob,
    dest: &str,
    jobs: usize,
    log: Option<&StepLog>,
    watch: &Watch,
    counts: &mut Option<(u64, u64)>,
) -> anyhow::Result<(Exit, RunReport)> {
    let dest_path =
        RemotePath::parse(dest).map_err(|e| Failure::usage(format!("destination: {e}")))?;
    if dest_path.is_root() {
        return Err(Failure::usage("the backup destination cannot be the root folder")
            .with_hint("back up into a folder of its own, e.g. /Backups/photos: old versions go into DEST/.versions")
            .into());
    }
    if dest_path
        .segments()
        .iter()
        .any(|s| matches!(s, fichier_api::Segment::Name(n) if n == fichier_backup::VERSIONS_DIR))
    {
        return Err(Failure::usage(format!(
            "{dest_path} is inside a {} folder, where a backup keeps its old versions and \
             manifests",
            fichier_backup::VERSIONS_DIR
        ))
        .with_hint(
            "back up into a folder of its own; a run there would retire another backup's history",
        )
        .into());
    }
    let engine = engine(ctx, EngineConfig::default()).await?;
    // A destination inside another backup's destination would have the two runs retire each
    // other's files: refuse it when an ancestor holds a backup's manifests.
    let mut ancestor = dest_path.parent();
    while let Some(a) = ancestor.filter(|a| !a.is_root()) {
        let manifests = a
            .join(fichier_backup::VERSIONS_DIR)
            .join(fichier_backup::manifest::MANIFESTS_DIR);
        if let Ok(fichier_api::Node::Folder { .. }) = engine
            .tree()
            .resolve(&manifests, fichier_api::Expect::Folder)
            .await
        {
            return Err(Failure::usage(format!(
                "{dest_path} is inside {a}, the destination of another backup"
            ))
            .with_hint("back up into a folder outside every other backup's destination")
            .into());
        }
        ancestor = a.parent();
    }
    let _bandwidth = watch.follow_bwlimit(&engine, now(ctx));
    let pacer = engine.client().pacer();
    let calls_before = pacer.calls_sent().await;
    let floods_before = pacer.floods_seen().await;
    let started = std::time::Instant::now();
    let scratch = job
        .state_dir
        .join("scratch")
        .join(std::process::id().to_string());
    let mut engine_remote = EngineRemote::new(&engine, dest_path, jobs, scratch.clone());
    if let Some(r) = &watch.reporter {
        engine_remote = engine_remote.with_watcher(r.clone());
    }
    let mut remote = LoggedRemote::new(engine_remote, log, &ctx.printer);
    let result = run_backup(job, &mut remote, now(ctx)).await;
    let _ = std::fs::remove_dir_all(&scratch);
    let pacer = engine.client().pacer();
    let calls = pacer.calls_sent().await.saturating_sub(calls_before);
    let floods = pacer.floods_seen().await.saturating_sub(floods_before);
    *counts = Some((calls, floods));
    let summary = match result {
        Ok(s) => s,
        Err(e) => return Err(backup_failure(e).into()),
    };
    let exit = if summary.stopped.is_some() {
        exit_for_kind(summary.stopped_kind)
    } else if summary.failed.is_empty() {
        Exit::Ok
    } else {
        Exit::Partial
    };
    if let Some(r) = &watch.reporter {
        r.close();
    }
    let json = render(
        ctx,
        &summary,
        calls,
        floods,
        exit,
        started.elapsed(),
        watch.ndjson,
    );
    Ok((exit, json))
}

/// The run's clock: the real one, or `FICHIER_TEST_NOW` (seconds since the epoch) for tests
/// of retention, honoured only where the hidden test pacer is (a loopback emulator).
fn now(ctx: &Context) -> SystemTime {
    let fake = ctx
        .settings
        .unthrottled
        .then(|| std::env::var("FICHIER_TEST_NOW").ok())
        .flatten()
        .and_then(|v| v.parse::<u64>().ok());
    match fake {
        Some(secs) => SystemTime::UNIX_EPOCH + Duration::from_secs(secs),
        None => SystemTime::now(),
    }
}

/// The failure for a backup, restore or verify that the destination refused or stopped
/// (the table is `error::remote_failure`).
pub(crate) fn stop_failure(what: &str, e: &RemoteError, resumable: bool) -> anyhow::Error {
    remote_failure(what, e, resumable).into()
}

/// A `--progress json` line that ends the stream: the summary tagged `"event": "summary"`,
/// like the event lines before it.
#[derive(Debug, serde::Serialize)]
struct SummaryEvent<'a> {
    event: &'static str,
    #[serde(flatten)]
    summary: &'a RunReport,
}

/// What a person (or a script reading NDJSON) sees while a backup runs.
struct Watch {
    reporter: Option<Arc<Reporter>>,
    /// `--progress json`: events and then the summary, one JSON object a line on stdout.
    ndjson: bool,
    /// `--bwlimit`: the upload rate by time of day.
    bwlimit: Option<Timetable>,
}

/// Stops following the timetable when the run ends.
struct Following(Option<tokio::task::JoinHandle<()>>);

impl Drop for Following {
    fn drop(&mut self) {
        if let Some(t) = self.0.take() {
            t.abort();
        }
    }
}

impl Watch {
    /// Applies the timetable's rate now and again at every minute a run may cross an entry.
    /// `start` is the run's clock (the test clock in tests).
    fn follow_bwlimit(&self, engine: &fichier_transfer::Engine, start: SystemTime) -> Following {
        let Some(table) = self.bwlimit.clone() else {
            return Following(None);
        };
        let engine = engine.clone();
        let began = std::time::Instant::now();
        Following(Some(tokio::spawn(async move {
            loop {
                let at = jiff::Timestamp::try_from(start + began.elapsed())
                    .unwrap_or(jiff::Timestamp::UNIX_EPOCH)
                    .to_zoned_datetime(jiff::tz::TimeZone::system());
                let rate = table.rate_at(at.time());
                if engine.limit_rate() != rate {
                    tracing::info!("upload bandwidth limit now {rate:?} bytes/s");
                    engine.set_limit_rate(rate);
                }
                tokio::time::sleep(Duration::from_secs(20)).await;
            }
        })))
    }

    fn new(ctx: &Context, mode: ProgressMode, bwlimit: Option<Timetable>) -> Watch {
        let out = ctx.printer.settings();
        let mode = match mode {
            ProgressMode::Auto if out.progress && !out.json => Some(Mode::Bars),
            ProgressMode::Auto | ProgressMode::None => None,
            ProgressMode::Bars => Some(Mode::Bars),
            ProgressMode::Json => Some(Mode::Json),
        };
        Watch {
            reporter: mode.map(|m| Reporter::with_mode(&ctx.printer, Verb::Backup, m)),
            ndjson: mode == Some(Mode::Json),
            bwlimit,
        }
    }
}

/// Prints the summary (a line, or the JSON object) and returns it for the log and notifications.
fn render(
    ctx: &Context,
    s: &RunSummary,
    calls: u64,
    floods: u64,
    exit: Exit,
    elapsed: Duration,
    ndjson: bool,
) -> RunReport {
    let p = &ctx.printer;
    let changed = s.uploaded + s.versioned + s.deleted + s.pruned_versions > 0;
    let value = RunReport::Finished(Box::new(FinishedRun {
        run: s.clone(),
        outcome: s.outcome(),
        changed,
        api_calls: calls,
        flood_answers: floods,
        exit_code: exit.code(),
        seconds: elapsed.as_secs_f64(),
    }));
    if ndjson {
        let line = SummaryEvent {
            event: "summary",
            summary: &value,
        };
        if let Ok(text) = serde_json::to_string(&line) {
            p.json_text(&text);
        }
        return value;
    }
    if p.json_mode() {
        p.json(&value);
        return value;
    }
    for k in &s.skipped {
        p.warn(&format!("skipped {}: {}", k.path, k.reason));
    }
    let not_followed = SkipReason::SymlinkNotFollowed.to_string();
    if s.skipped.iter().any(|k| k.reason == not_followed) {
        p.warn("symbolic links are skipped: add --follow-symlinks to back up what they point to");
    }
    for f in &s.failed {
        p.warn(&format!("failed {}: {}", f.path, f.reason));
    }
    if let Some(plan) = &s.plan {
        p.line(&format!("dry run of {} (nothing changed):", s.profile));
        for u in &plan.upload {
            p.line(&format!("  upload   {u}"));
        }
        for (path, why) in &plan.retire {
            p.line(&format!("  version  {path} ({why})"));
        }
        for v in &plan.prune {
            p.line(&format!("  prune    .versions/{v}"));
        }
        p.line(&format!(
            "{} to upload ({}), {} unchanged, {} to move to versions, {} version folders to prune",
            plan.upload.len(),
            human_size(s.uploaded_bytes),
            s.unchanged,
            plan.retire.len(),
            plan.prune.len()
        ));
        return value;
    }
    let mut line = format!(
        "backup {}: {} uploaded ({}), {} unchanged, {} hashed",
        s.profile,
        s.uploaded,
        human_size(s.uploaded_bytes),
        s.unchanged,
        s.hashed
    );
    if s.versioned > 0 {
        line.push_str(&format!(", {} versioned", s.versioned));
    }
    if s.deleted > 0 {
        line.push_str(&format!(", {} deleted", s.deleted));
    }
    if s.pruned_versions > 0 {
        line.push_str(&format!(", {} old versions pruned", s.pruned_versions));
    }
    if s.empty > 0 {
        line.push_str(&format!(", {} empty recorded", s.empty));
    }
    if !s.skipped.is_empty() {
        line.push_str(&format!(", {} skipped", s.skipped.len()));
    }
    if !s.failed.is_empty() {
        line.push_str(&format!(", {} failed", s.failed.len()));
    }
    line.push_str(&format!(
        ", {calls} API calls, {floods} flood answers, {:.1} s",
        elapsed.as_secs_f64()
    ));
    if s.resumed {
        line.push_str(" (resumed an interrupted run)");
    }
    if !changed && s.failed.is_empty() {
        line.push_str(" - nothing to do");
    }
    if !p.settings().quiet {
        p.line(&line);
    }
    if let Some(why) = &s.stopped {
        p.warn(&format!("stopped early: {why}; the next run resumes"));
    }
    value
}

/// JSON of `backup ls`.
#[derive(serde::Serialize)]
struct ProfilesJson<'a> {
    profiles: Vec<ProfileJson<'a>>,
}

/// One profile of the config file in `backup ls --json`.
#[derive(serde::Serialize)]
struct ProfileJson<'a> {
    profile: &'a str,
    source: Option<&'a std::path::Path>,
    destination: Option<&'a str>,
    /// Null when the profile never ran.
    last_run: Option<LastRunJson<'a>>,
}

/// The journal's record of a profile's last run.
#[derive(serde::Serialize)]
struct LastRunJson<'a> {
    stamp: &'a str,
    /// `running`, `done`, `partial` or `failed`.
    state: &'a str,
    /// One line of counts.
    summary: &'a str,
    /// Seconds since the epoch.
    started: i64,
    finished: Option<i64>,
}

/// `fichier backup ls`: profiles and their last run.
fn list(ctx: &Context) -> anyhow::Result<Exit> {
    let journal_path = ctx.settings.paths.backup_journal();
    let journal = if journal_path.exists() {
        Journal::open(&journal_path, Duration::from_secs(5)).ok()
    } else {
        None
    };
    // One journal read per profile, for both outputs.
    let profiles: Vec<(&String, &BackupProfile, Option<RunRecord>)> = ctx
        .settings
        .backup_profiles
        .iter()
        .map(|(name, p)| {
            let last = journal
                .as_ref()
                .and_then(|j| j.last_run(name).ok().flatten());
            (name, p, last)
        })
        .collect();
    if ctx.printer.json_mode() {
        let profiles = profiles
            .iter()
            .map(|(name, p, last)| ProfileJson {
                profile: name,
                source: p.source.as_deref(),
                destination: p.destination.as_deref(),
                last_run: last.as_ref().map(|r| LastRunJson {
                    stamp: &r.stamp,
                    state: &r.state,
                    summary: &r.summary,
                    started: r.started,
                    finished: r.finished,
                }),
            })
            .collect();
        ctx.printer.json(&ProfilesJson { profiles });
        return Ok(Exit::Ok);
    }
    if profiles.is_empty() {
        ctx.printer.line(
            "no backup profile: add a [backup.NAME] table to the config file (see docs/backup.md)",
        );
        return Ok(Exit::Ok);
    }
    for (name, p, last) in &profiles {
        let when = last
            .as_ref()
            .map(|r| format!("{} {} ({})", r.stamp, r.state, r.summary))
            .unwrap_or_else(|| "never run".into());
        ctx.printer.line(&format!(
            "{name}: {} -> {}  last: {when}",
            p.source
                .as_ref()
                .map(|s| s.display().to_string())
                .unwrap_or_else(|| "(no source)".into()),
            p.destination.as_deref().unwrap_or("(no destination)")
        ));
    }
    Ok(Exit::Ok)
}

/// `fichier backup schedule PROFILE --daily HH:MM`.
fn schedule(ctx: &Context, a: BackupScheduleArgs) -> anyhow::Result<Exit> {
    if !ctx.settings.backup_profiles.contains_key(&a.profile) {
        return Err(Failure::usage(format!(
            "no backup profile named `{}` in the config file",
            a.profile
        ))
        .with_hint("schedule a profile defined as [backup.NAME] in the config file")
        .into());
    }
    let at = DailyAt::parse(&a.daily).map_err(usage)?;
    let mut exec = super::unit_command(ctx)?;
    exec.extend([
        "--quiet".to_string(),
        "backup".to_string(),
        a.profile.clone(),
    ]);
    let base = format!("fichier-backup-{}", unit_name_part(&a.profile));
    let service = service_unit(&format!("fichier backup {}", a.profile), &exec, true);
    let timer = timer_unit(
        &format!("Nightly fichier backup {}", a.profile),
        &format!("{base}.service"),
        at,
    );
    let cron = crontab_line(at, &exec).map_err(usage)?;
    let systemd = std::path::Path::new("/run/systemd/system").exists();
    if a.print || !systemd {
        if !systemd && !a.print {
            ctx.printer
                .warn("systemd is not running here: add this line with `crontab -e` instead");
        }
        let text =
            format!("# {base}.service\n{service}\n# {base}.timer\n{timer}\n# crontab\n{cron}");
        for line in text.lines() {
            ctx.printer.line(line);
        }
        return Ok(Exit::Ok);
    }
    super::install_units(
        ctx,
        &[
            (format!("{base}.service"), service),
            (format!("{base}.timer"), timer),
        ],
        a.force,
        &format!(
            "enable it with: systemctl --user daemon-reload && systemctl --user enable --now {base}.timer"
        ),
        &format!(
            "check it with: systemctl --user list-timers {base}.timer; journalctl --user -u {base}.service"
        ),
    )?;
    Ok(Exit::Ok)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn summary_line_of_the_log_names_the_profile_once_and_keeps_the_summary_keys() {
        let log_path = std::env::temp_dir().join(format!("fichier-log-{}", std::process::id()));
        let log = StepLog::open(&log_path, "nightly").unwrap();
        let printer = crate::printer::Printer::new(crate::printer::OutputSettings {
            json: false,
            quiet: true,
            verbose: 0,
            progress: false,
            color_stdout: false,
            color_stderr: false,
            stdin_tty: false,
        });
        let failed = RunReport::Failed(FailedRun {
            profile: "nightly".into(),
            outcome: "refused",
            error: "the source is empty".into(),
            exit_code: 6,
            seconds: 0.5,
            api_calls: None,
            flood_answers: None,
        });
        let finished = RunReport::Finished(Box::new(FinishedRun {
            run: RunSummary {
                profile: "nightly".into(),
                uploaded: 2,
                ..RunSummary::default()
            },
            outcome: "done",
            changed: true,
            api_calls: 7,
            flood_answers: 0,
            exit_code: 0,
            seconds: 1.0,
        }));
        log.write(&printer, &Step::Summary(&failed));
        log.write(&printer, &Step::Summary(&finished));
        let text = std::fs::read_to_string(&log_path).unwrap();
        let _ = std::fs::remove_file(&log_path);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 2, "{text}");
        for l in &lines {
            assert_eq!(l.matches("\"profile\"").count(), 1, "{l}");
            assert_eq!(l.matches("\"step\":\"summary\"").count(), 1, "{l}");
        }
        let v: serde_json::Value = serde_json::from_str(lines[0]).unwrap();
        let keys: Vec<&str> = v.as_object().unwrap().keys().map(String::as_str).collect();
        assert_eq!(
            keys,
            [
                "error",
                "exit_code",
                "outcome",
                "profile",
                "seconds",
                "step",
                "time"
            ],
            "no api_calls/flood_answers before the service was reached"
        );
        let v: serde_json::Value = serde_json::from_str(lines[1]).unwrap();
        for key in [
            "profile",
            "stamp",
            "uploaded",
            "failed",
            "stopped",
            "outcome",
            "changed",
            "api_calls",
            "flood_answers",
            "exit_code",
            "seconds",
        ] {
            assert!(v.get(key).is_some(), "{key} missing from {v}");
        }
    }

    #[test]
    fn ages_and_their_mistakes() {
        assert_eq!(
            parse_age("30d", "--max-age").unwrap(),
            Duration::from_secs(30 * 86_400)
        );
        assert_eq!(
            parse_age("10m", "--min-age").unwrap(),
            Duration::from_secs(600)
        );
        assert!(
            parse_age("ten", "--max-age")
                .unwrap_err()
                .to_string()
                .contains("number and a unit")
        );
        assert!(
            parse_age("3y", "--max-age")
                .unwrap_err()
                .to_string()
                .contains("unknown unit")
        );
        let bare = parse_age("30", "--max-age").unwrap_err().to_string();
        assert!(
            bare.contains("has no unit") && bare.contains("30d"),
            "{bare}"
        );
        assert_eq!(parse_age("0", "--min-age").unwrap(), Duration::ZERO);
    }

    #[test]
    fn sizes_and_their_mistakes_say_size_not_rate() {
        assert_eq!(parse_size("4G", "--max-size").unwrap(), 4 << 30);
        assert_eq!(parse_size("1.5k", "--max-size").unwrap(), 1536);
        assert_eq!(parse_size("10MiB", "--max-size").unwrap(), 10 << 20);
        assert_eq!(parse_size("100", "--min-size").unwrap(), 100);
        assert_eq!(parse_size("0", "--min-size").unwrap(), 0);
        for bad in ["10x", "5M/s", "", "-1k", "k"] {
            let e = parse_size(bad, "--max-size").unwrap_err().to_string();
            assert!(e.starts_with("--max-size: "), "{e}");
            assert!(e.contains("is not a size"), "{e}");
            assert!(!e.contains("rate") && !e.contains("per second"), "{e}");
        }
    }
}
