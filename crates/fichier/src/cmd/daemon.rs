//! `fichier daemon` (work the queue continuously, folder watch, `daemon install`) and the
//! queue-working core `fichier queue run` shares with it: the runner lock (one runner per data
//! dir), the runner's settings, the hooks, the progress display and the exit code.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use fichier_queue::runner::{QueueObserver, RunReport, Runner, RunnerConfig};
use fichier_queue::schedule::{Requeue, RetryRules};
use fichier_queue::{Item, QueueStore, State};
use fichier_transfer::{EngineConfig, ErrorClass, Event, EventSink, Summary};

use crate::cli::{
    DaemonArgs, DaemonCommand, DaemonInstallArgs, DaemonRunArgs, ProgressMode, QueueWorkArgs,
};
use crate::context::Context;
use crate::error::{Exit, Failure, Via, error_block, queue_stop, transfer_hint};
use crate::printer::{Printer, Tag, sanitize, tagged};
use crate::progress::{Reporter, Verb, stderr_line};
use crate::units::{service_unit, shell_quote};

/// The runner name every runner of this data dir uses: the lock makes it unique, so a
/// restarted runner may take back what a killed one left at once.
const RUNNER_ID: &str = "local";

/// Rounds a daemon queues a retryable failure again by itself (`--requeue-failed-after`).
const REQUEUE_ROUNDS: u32 = 3;

/// How often watched folders are read.
const WATCH_EVERY: Duration = Duration::from_secs(3);

/// Runs `fichier daemon` on the queue at `store` (the caller knows where `queue add` keeps
/// it; this module does not import `queue`, which dispatches `queue run` back here).
pub async fn run(ctx: &mut Context, args: DaemonArgs, store: PathBuf) -> anyhow::Result<Exit> {
    match args.action {
        Some(DaemonCommand::Install(a)) => install(ctx, a),
        None => daemon(ctx, args.run, store).await,
    }
}

/// The exclusive lock of the queue runner of one data dir (held while it lives).
pub struct RunnerLock {
    _lock: fichier_state::PidLock,
}

impl RunnerLock {
    /// Takes the lock or says who holds it.
    pub fn take(data_dir: &Path) -> anyhow::Result<RunnerLock> {
        use fichier_state::{PidLock, PidLockError};
        match PidLock::try_take(&data_dir.join("queue-runner.lock")) {
            Ok(lock) => Ok(RunnerLock { _lock: lock }),
            Err(PidLockError::Held { holder, .. }) => Err(Failure::locked(format!(
                "another fichier daemon or queue run ({}) is already working the queue of {}",
                sanitize(&holder),
                data_dir.display()
            ))
            .with_hint(
                "one runner per queue: it downloads what you add (`fichier queue add`); see it \
                 with `fichier queue ls`, or stop it first",
            )
            .into()),
            Err(PidLockError::Io { path, source }) => {
                Err(Failure::fatal(format!("cannot lock {}", path.display()))
                    .with_cause(source.to_string())
                    .into())
            }
        }
    }
}

/// The runner's settings from the flags and the resolved settings.
fn runner_config(ctx: &Context, work: &QueueWorkArgs, until_empty: bool) -> RunnerConfig {
    let mut cfg = RunnerConfig::default();
    cfg.runner_id = RUNNER_ID.to_owned();
    cfg.files = usize::from(work.jobs);
    cfg.segments = work.segments;
    cfg.verify = !work.no_verify;
    cfg.limit_rate = work.limit_rate;
    cfg.timetable = work.timetable.clone();
    cfg.until_empty = until_empty;
    cfg.retry = RetryRules {
        base: ctx.settings.queue_retry_base,
        max: ctx.settings.queue_retry_base * 60,
        flood_pause: ctx.settings.queue_flood_pause,
        ..RetryRules::default()
    };
    cfg
}

/// Everything a queue-working command needs, set up.
pub struct Worker {
    runner: Runner,
    reporter: Option<Arc<Reporter>>,
    hooks: Arc<Hooks>,
    store: Arc<QueueStore>,
    /// The one API client of the process (the runner's engine's), shared with the dashboard.
    client: fichier_api::Client,
    /// The key in its masked form, for the dashboard's account page.
    key_hint: String,
    _lock: RunnerLock,
}

/// Takes the lock, opens the store, builds the engine and the runner.
pub async fn setup(
    ctx: &mut Context,
    path: &Path,
    work: &QueueWorkArgs,
    until_empty: Option<Duration>,
    daemon: bool,
    requeue: Option<Requeue>,
) -> anyhow::Result<(Worker, RunnerConfig)> {
    // The lock lives beside the queue file (`--sandbox` has its own queue, its own runner).
    let lock = RunnerLock::take(path.parent().unwrap_or(&ctx.settings.dirs.data))?;
    let store = Arc::new(QueueStore::open(path).map_err(|e| {
        Failure::fatal(format!("cannot open the queue {}", path.display()))
            .with_cause(e.to_string())
    })?);
    let mut config = EngineConfig::default();
    config.connections = usize::from(work.connections);
    let (url, key, _) = ctx.key().await?;
    let key_hint = key.masked();
    let client = crate::client::build_for_queue(&ctx.settings, &url, key)?;
    let engine = fichier_transfer::Engine::new(client.clone(), config);
    let mut cfg = runner_config(ctx, work, until_empty.is_some());
    if let Some(wait) = until_empty {
        cfg.max_idle_wait = wait;
    }
    cfg.requeue = requeue;
    let mut output = ctx.settings.output.clone();
    match work.progress {
        ProgressMode::Json => {
            output.json = true;
            output.progress = false;
        }
        ProgressMode::None => output.quiet = true,
        ProgressMode::Bars => output.progress = !output.quiet,
        ProgressMode::Auto => {}
    }
    if daemon {
        // A daemon runs for days, often without a terminal: it logs a line per event instead.
        if work.progress == ProgressMode::Bars {
            ctx.printer
                .warn("the daemon draws no progress bars (it logs a line per event); `--progress json` gives NDJSON events");
        }
        output.progress = false;
    }
    let printer = Printer::new(output.clone());
    let reporter =
        (!daemon || output.json || output.quiet).then(|| Reporter::new(&printer, Verb::Queue));
    let hooks = Arc::new(Hooks {
        on_done: work.on_done.clone().filter(|c| !c.trim().is_empty()),
        on_package_done: work
            .on_package_done
            .clone()
            .filter(|c| !c.trim().is_empty()),
        running: Mutex::new(Vec::new()),
        printer: printer.clone(),
        failures: Mutex::new(Vec::new()),
        log: daemon && !output.json && !output.quiet,
    });
    let sink: Arc<dyn EventSink> = match &reporter {
        Some(r) => r.clone(),
        None => Arc::new(DaemonLog {
            color: printer.settings().color_stderr,
        }),
    };
    let runner = Runner::new(store.clone(), engine, cfg.clone(), sink, hooks.clone());
    let n = runner
        .reclaim_own()
        .map_err(|e| Failure::fatal(e.to_string()))?;
    if n > 0 {
        tracing::info!("{n} item(s) left in progress by a stopped runner are queued again");
    }
    Ok((
        Worker {
            runner,
            reporter,
            hooks,
            store,
            client,
            key_hint,
            _lock: lock,
        },
        cfg,
    ))
}

/// SIGTERM and SIGINT (Ctrl-C), caught from the start of the command: a signal that
/// arrives while the runner is being set up (the lock already taken) must stop it cleanly too,
/// not kill it.
pub struct StopSignal {
    #[cfg(unix)]
    streams: Option<(tokio::signal::unix::Signal, tokio::signal::unix::Signal)>,
}

impl StopSignal {
    /// Starts catching the signals.
    pub fn install() -> StopSignal {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{SignalKind, signal};
            StopSignal {
                streams: signal(SignalKind::terminate())
                    .ok()
                    .zip(signal(SignalKind::interrupt()).ok()),
            }
        }
        #[cfg(not(unix))]
        StopSignal {}
    }

    /// Resolves on the first signal.
    pub async fn wait(self) {
        #[cfg(unix)]
        if let Some((mut term, mut int)) = self.streams {
            tokio::select! {
                _ = term.recv() => {}
                _ = int.recv() => {}
            }
            return;
        }
        let _ = tokio::signal::ctrl_c().await;
    }
}

impl Worker {
    /// Works the queue until `shutdown`, then waits for the hooks still running.
    pub async fn run(
        &self,
        shutdown: impl std::future::Future<Output = ()>,
    ) -> anyhow::Result<RunReport> {
        let report = self
            .runner
            .run(shutdown)
            .await
            .map_err(|e| Failure::fatal(format!("the queue failed: {e}")))?;
        self.hooks.drain().await;
        Ok(report)
    }

    /// Ends the display with a summary and gives the exit code of `queue run`.
    pub fn conclude(&self, ctx: &Context, report: &RunReport) -> Exit {
        let failures = self
            .hooks
            .failures
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone();
        let mut summary = Summary::default();
        summary.done = report.done;
        summary.failed = report.failed + report.offline;
        summary.bytes = report.bytes;
        summary.seconds = report.seconds;
        summary.failures = failures;
        if let Some(r) = &self.reporter {
            r.finish(&summary);
        }
        let Some(stop) = &report.stopped else {
            return if summary.failed > 0 {
                Exit::Partial
            } else {
                Exit::Ok
            };
        };
        let (text, hint, exit) = queue_stop(stop);
        ctx.printer.error_text(&error_block(
            &text,
            Some(&hint),
            ctx.printer.settings().color_stderr,
        ));
        exit
    }
}

fn show_time(t: jiff::Timestamp) -> String {
    t.strftime("%H:%M:%S UTC").to_string()
}

/// `fichier daemon`: the runner, the folder watch and the signals.
async fn daemon(ctx: &mut Context, args: DaemonRunArgs, path: PathBuf) -> anyhow::Result<Exit> {
    let to = match &args.to {
        Some(d) => std::path::absolute(d).unwrap_or_else(|_| d.clone()),
        None => std::env::current_dir().map_err(|e| {
            Failure::fatal("cannot read the current directory").with_cause(e.to_string())
        })?,
    };
    let mut watch = Vec::new();
    for d in &args.watch {
        if !d.is_dir() {
            return Err(
                Failure::usage(format!("--watch {}: not a directory", d.display()))
                    .with_hint("create it first, or give an existing folder")
                    .into(),
            );
        }
        watch.push(std::path::absolute(d).unwrap_or_else(|_| d.clone()));
    }
    let signals = StopSignal::install();
    let requeue = (!args.requeue_failed_after.is_zero()).then_some(Requeue {
        after: args.requeue_failed_after,
        rounds: REQUEUE_ROUNDS,
    });
    let (worker, _cfg) = setup(ctx, &path, &args.work, None, true, requeue).await?;
    // After the runner lock: a second daemon is refused before it touches the ports.
    let (web_stop, web_stop_rx) = tokio::sync::watch::channel(false);
    // The dashboard asks the service through the runner's client: one key look-up, one
    // client, one pacer for the whole daemon.
    let web = crate::web::start_for_daemon(
        ctx,
        &args.web,
        to.clone(),
        path.clone(),
        (worker.client.clone(), worker.key_hint.clone()),
        web_stop_rx,
    )
    .await?;
    if !ctx.settings.output.quiet && !ctx.settings.output.json {
        stderr_line(&format!(
            "fichier daemon: working the queue {} (pid {}); stop with Ctrl-C or SIGTERM",
            path.display(),
            std::process::id()
        ));
    }
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let watcher = (!watch.is_empty()).then(|| {
        let store = worker.store.clone();
        let printer = ctx.printer.clone();
        let mut stop = stop_rx.clone();
        tokio::spawn(async move {
            loop {
                for dir in &watch {
                    watch_once(&store, dir, &to, &printer);
                }
                tokio::select! {
                    _ = tokio::time::sleep(WATCH_EVERY) => {}
                    _ = stop.changed() => break,
                }
            }
        })
    });
    let shutdown = async move {
        signals.wait().await;
        let _ = stop_tx.send(true);
    };
    let report = worker.run(shutdown).await;
    if let Some(w) = watcher {
        w.abort();
    }
    let _ = web_stop.send(true);
    if let Some(w) = web {
        let _ = w.await;
    }
    let report = report?;
    if !ctx.settings.output.quiet && !ctx.settings.output.json {
        stderr_line(&format!(
            "fichier daemon: stopped ({} done, {} failed, {} offline); .part files are kept for resume",
            report.done, report.failed, report.offline
        ));
    }
    Ok(Exit::Ok)
}

/// Imports what was dropped into one watched folder.
fn watch_once(store: &QueueStore, dir: &Path, to: &Path, printer: &Printer) {
    match fichier_queue::watch::import_dir(store, dir, to) {
        Ok(r) => {
            for (file, n) in &r.imported {
                stderr_line(&format!(
                    "imported {n} link(s) from {}",
                    sanitize(&file.display().to_string())
                ));
            }
            for (file, why) in &r.failed {
                printer.warn(&format!(
                    "{}: not imported ({}); moved to failed/",
                    sanitize(&file.display().to_string()),
                    sanitize(why)
                ));
            }
            for w in &r.warnings {
                printer.warn(&sanitize(w));
            }
        }
        Err(e) => printer.warn(&format!("watching {}: {e}", dir.display())),
    }
}

/// `fichier daemon install`: a systemd user unit (or how to start it elsewhere).
fn install(ctx: &Context, a: DaemonInstallArgs) -> anyhow::Result<Exit> {
    let mut exec = super::unit_command(ctx)?;
    exec.push("daemon".into());
    let w = &a.run.work;
    exec.extend(["--jobs".into(), w.jobs.to_string()]);
    exec.extend(["--connections".into(), w.connections.to_string()]);
    if let Some(s) = w.segments {
        exec.extend(["--segments".into(), s.to_string()]);
    }
    if let Some(r) = w.limit_rate {
        exec.extend(["--limit-rate".into(), r.to_string()]);
    }
    if let Some(t) = &w.timetable {
        exec.extend(["--timetable".into(), t.describe()]);
    }
    if w.no_verify {
        exec.push("--no-verify".into());
    }
    if let Some(c) = &w.on_done {
        exec.extend(["--on-done".into(), c.clone()]);
    }
    if let Some(c) = &w.on_package_done {
        exec.extend(["--on-package-done".into(), c.clone()]);
    }
    exec.extend([
        "--requeue-failed-after".into(),
        format!("{}s", a.run.requeue_failed_after.as_secs()),
    ]);
    for d in &a.run.watch {
        let d = std::path::absolute(d).unwrap_or_else(|_| d.clone());
        exec.extend(["--watch".into(), d.display().to_string()]);
    }
    let to = match &a.run.to {
        Some(d) => std::path::absolute(d).unwrap_or_else(|_| d.clone()),
        None => std::env::current_dir().unwrap_or_default(),
    };
    exec.extend(["--to".into(), to.display().to_string()]);
    exec.extend(crate::web::web_flags(&a.run.web));
    let name = "fichier-daemon.service";
    let unit = service_unit("fichier download queue daemon", &exec, false);
    let systemd = Path::new("/run/systemd/system").exists();
    let shell: Vec<String> = exec.iter().map(|s| shell_quote(s)).collect();
    if a.print || !systemd {
        if !systemd && !a.print {
            ctx.printer.warn(
                "systemd is not running here: start the daemon another way, e.g. \
                 `nohup CMD >>~/fichier-daemon.log 2>&1 &` or from your init system",
            );
        }
        for line in format!("# {name}\n{unit}\n# without systemd:\n{}", shell.join(" ")).lines() {
            ctx.printer.line(line);
        }
        return Ok(Exit::Ok);
    }
    super::install_units(
        ctx,
        &[(name.to_owned(), unit)],
        a.force,
        &format!(
            "start it with: systemctl --user daemon-reload && systemctl --user enable --now {name}"
        ),
        &format!(
            "check it with: systemctl --user status {name}; journalctl --user -u {name} -f; fichier queue ls"
        ),
    )?;
    ctx.printer
        .line("to keep it running after you log out: loginctl enable-linger $USER");
    Ok(Exit::Ok)
}

/// The daemon's display without bars: one line per finished, failed or waiting item.
struct DaemonLog {
    /// Colour the `hint:` tags (stderr is a terminal).
    color: bool,
}

impl EventSink for DaemonLog {
    fn event(&self, event: Event) {
        let line = match &event {
            Event::Done { name, path, .. } => format!(
                "done: {} -> {}",
                sanitize(name),
                sanitize(path.as_deref().unwrap_or(""))
            ),
            Event::Failed {
                name,
                error,
                problem,
                api_kind,
                retry_after,
                ..
            } => {
                let mut l = format!("failed: {}: {}\n", sanitize(name), sanitize(error));
                let hint = transfer_hint(problem.as_ref(), *api_kind, *retry_after, Via::Queue);
                if let Some(h) = hint {
                    l.push_str(&tagged(Tag::Hint, &h, self.color));
                }
                l
            }
            Event::Retrying { name, reason, .. } => {
                format!("retrying: {}: {}", sanitize(name), sanitize(reason))
            }
            Event::Started {
                name, resumed_from, ..
            } if *resumed_from > 0 => {
                format!("resuming: {} from byte {resumed_from}", sanitize(name))
            }
            Event::Started { name, .. } => format!("downloading: {}", sanitize(name)),
            Event::Notice { message } => sanitize(message),
            _ => return,
        };
        stderr_line(&line);
    }
}

/// The `--on-done` / `--on-package-done` hooks, and the failures for the summary.
struct Hooks {
    on_done: Option<String>,
    on_package_done: Option<String>,
    running: Mutex<Vec<tokio::task::JoinHandle<()>>>,
    printer: Printer,
    failures: Mutex<Vec<fichier_transfer::FailedFile>>,
    /// Log waiting items and pauses on stderr (daemon without JSON).
    log: bool,
}

impl Hooks {
    fn spawn(&self, which: &'static str, cmd: &str, env: Vec<(String, String)>) {
        let cmd = cmd.to_owned();
        let printer = self.printer.clone();
        let h = tokio::spawn(async move {
            if let Err(e) = crate::hook::run(&cmd, env).await {
                printer.warn(&format!("{which} hook failed: {e}; the queue goes on"));
            }
        });
        let mut running = self.running.lock().unwrap_or_else(|p| p.into_inner());
        running.retain(|h| !h.is_finished());
        running.push(h);
    }

    async fn drain(&self) {
        let hs: Vec<_> =
            std::mem::take(&mut *self.running.lock().unwrap_or_else(|p| p.into_inner()));
        for h in hs {
            let _ = h.await;
        }
    }
}

impl QueueObserver for Hooks {
    fn item_done(&self, item: &Item, path: &Path, whirlpool: Option<&str>) {
        let Some(cmd) = &self.on_done else { return };
        let env = vec![
            ("FICHIER_ITEM_ID".into(), item.id.to_string()),
            ("FICHIER_ITEM_PATH".into(), path.display().to_string()),
            (
                "FICHIER_ITEM_NAME".into(),
                item.name.clone().unwrap_or_default(),
            ),
            (
                "FICHIER_ITEM_SIZE".into(),
                item.size.unwrap_or(0).to_string(),
            ),
            (
                "FICHIER_ITEM_WHIRLPOOL".into(),
                whirlpool
                    .or(item.whirlpool.as_deref())
                    .unwrap_or("")
                    .to_owned(),
            ),
            (
                "FICHIER_ITEM_PACKAGE".into(),
                item.package.clone().unwrap_or_default(),
            ),
            ("FICHIER_ITEM_SOURCE".into(), item.source.clone()),
        ];
        self.spawn("--on-done", cmd, env);
    }

    fn package_done(&self, package: &str, items: &[Item]) {
        let Some(cmd) = &self.on_package_done else {
            return;
        };
        let paths: Vec<String> = items
            .iter()
            .filter_map(|i| i.path.as_ref().map(|p| p.display().to_string()))
            .collect();
        let bytes: u64 = items.iter().filter_map(|i| i.size).sum();
        let env = vec![
            ("FICHIER_PACKAGE".into(), package.to_owned()),
            ("FICHIER_PACKAGE_FILES".into(), items.len().to_string()),
            ("FICHIER_PACKAGE_PATHS".into(), paths.join("\n")),
            ("FICHIER_PACKAGE_BYTES".into(), bytes.to_string()),
        ];
        self.spawn("--on-package-done", cmd, env);
    }

    fn item_state(&self, item: &Item, state: State, reason: &str, until: Option<jiff::Timestamp>) {
        let name = item.name.clone().unwrap_or_else(|| item.source.clone());
        if matches!(state, State::Failed | State::Offline) {
            self.failures
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .push(fichier_transfer::FailedFile {
                    name: name.clone(),
                    error: format!("{}: {reason}", state.as_str()),
                    class: ErrorClass::Permanent,
                    problem: None,
                    api_kind: None,
                });
        }
        if self.log && state == State::Waiting {
            let until = until
                .map(|t| format!(" until {}", show_time(t)))
                .unwrap_or_default();
            stderr_line(&format!(
                "waiting{until}: {}: {}",
                sanitize(&name),
                sanitize(reason)
            ));
        }
    }

    fn queue_paused(&self, reason: Option<&str>, until: Option<jiff::Timestamp>) {
        if self.log
            && let (Some(r), Some(t)) = (reason, until)
        {
            stderr_line(&format!(
                "queue paused until {}: {}",
                show_time(t),
                sanitize(r)
            ));
        }
    }
}
