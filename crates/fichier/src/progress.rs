//! Renders transfer events: on a terminal one bar per active file plus a total bar (bytes,
//! speed, ETA) with log lines printed above them; elsewhere a periodic progress line; with
//! `--json` one NDJSON event per file state change and a final summary object; with `-q`
//! nothing but errors. The engine (`fichier-transfer`) only emits events; all drawing is here.

use std::collections::HashMap;
use std::io::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use fichier_transfer::{Event, EventSink, FileId, Summary};
use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::error::{Via, error_block, transfer_hint};
use crate::printer::{Printer, Tag, human_size, sanitize, tagged};

/// The bars currently drawn, if any: the log writer prints above them instead of through them.
fn active_bars() -> &'static Mutex<Option<MultiProgress>> {
    static BARS: OnceLock<Mutex<Option<MultiProgress>>> = OnceLock::new();
    BARS.get_or_init(|| Mutex::new(None))
}

/// Writes one block of text on stderr without tearing the progress bars.
pub fn stderr_line(text: &str) {
    let bars = active_bars()
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .clone();
    let write = || {
        let mut err = std::io::stderr().lock();
        let _ = err.write_all(text.as_bytes());
        if !text.ends_with('\n') {
            let _ = err.write_all(b"\n");
        }
    };
    match bars {
        Some(mp) => mp.suspend(write),
        None => write(),
    }
}

/// A `tracing` writer that prints each log event above the bars (see `app::init_logging`).
#[derive(Debug, Clone, Copy, Default)]
pub struct LogWriter;

/// One log event being formatted; written out when dropped.
#[derive(Debug, Default)]
pub struct LogLine(Vec<u8>);

impl std::io::Write for LogLine {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Drop for LogLine {
    fn drop(&mut self) {
        if !self.0.is_empty() {
            stderr_line(&String::from_utf8_lossy(&self.0));
        }
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for LogWriter {
    type Writer = LogLine;
    fn make_writer(&'a self) -> LogLine {
        LogLine::default()
    }
}

/// How events are shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Bars on a terminal.
    Bars,
    /// A progress line every few seconds (stderr is not a terminal, or bars are off).
    Lines,
    /// NDJSON on stdout.
    Json,
    /// Errors only.
    Quiet,
}

/// What the transfer is, for wording.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verb {
    /// `fichier upload`.
    Upload,
    /// `fichier download`.
    Download,
    /// `fichier backup`: bars and phases only; the run prints its own summary.
    Backup,
    /// The download queue (`queue run`, `daemon`).
    Queue,
}

impl Verb {
    fn past(self) -> &'static str {
        match self {
            Verb::Upload | Verb::Backup => "uploaded",
            Verb::Download | Verb::Queue => "downloaded",
        }
    }

    /// Whose advice a failure gets (the queue has other means than `download`'s flags).
    fn via(self) -> Via {
        match self {
            Verb::Upload => Via::Upload,
            Verb::Download => Via::Download,
            Verb::Backup => Via::Backup,
            Verb::Queue => Via::Queue,
        }
    }
}

#[derive(Default)]
struct Counts {
    files: usize,
    done: usize,
    skipped: usize,
    failed: usize,
    total_bytes: u64,
}

/// The CLI's [`EventSink`].
pub struct Reporter {
    mode: Mode,
    verb: Verb,
    printer: Printer,
    mp: Option<MultiProgress>,
    total: Option<ProgressBar>,
    bars: Mutex<HashMap<FileId, ProgressBar>>,
    counts: Mutex<Counts>,
    moved: AtomicU64,
    started: Instant,
    ticker: Mutex<Option<tokio::task::JoinHandle<()>>>,
}

impl std::fmt::Debug for Reporter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Reporter")
            .field("mode", &self.mode)
            .finish_non_exhaustive()
    }
}

fn file_style() -> ProgressStyle {
    ProgressStyle::with_template(
        "{prefix:>12} {wide_msg} {bytes:>10}/{total_bytes:<10} {bytes_per_sec:>12} {eta:>4}",
    )
    .unwrap_or_else(|_| ProgressStyle::default_bar())
}

fn total_style() -> ProgressStyle {
    ProgressStyle::with_template(
        "{prefix:>12} [{bar:30}] {bytes:>10}/{total_bytes:<10} {bytes_per_sec:>12} ETA {eta}  {msg}",
    )
    .unwrap_or_else(|_| ProgressStyle::default_bar())
    .progress_chars("=> ")
}

fn short(name: &str) -> String {
    let n: Vec<char> = name.chars().collect();
    if n.len() <= 48 {
        name.to_owned()
    } else {
        format!("…{}", n[n.len() - 47..].iter().collect::<String>())
    }
}

impl Reporter {
    /// A reporter for this run's output settings.
    pub fn new(printer: &Printer, verb: Verb) -> Arc<Reporter> {
        let s = printer.settings();
        let mode = if s.json {
            Mode::Json
        } else if s.quiet {
            Mode::Quiet
        } else if s.progress {
            Mode::Bars
        } else {
            Mode::Lines
        };
        Reporter::with_mode(printer, verb, mode)
    }

    /// A reporter in a mode the command chose (`backup --progress`).
    pub fn with_mode(printer: &Printer, verb: Verb, mode: Mode) -> Arc<Reporter> {
        let (mp, total) = if mode == Mode::Bars {
            let mp = MultiProgress::with_draw_target(ProgressDrawTarget::stderr_with_hz(8));
            let total = mp.add(ProgressBar::new(0).with_style(total_style()));
            total.set_prefix("total");
            *active_bars().lock().unwrap_or_else(|p| p.into_inner()) = Some(mp.clone());
            (Some(mp), Some(total))
        } else {
            (None, None)
        };
        let r = Arc::new(Reporter {
            mode,
            verb,
            printer: printer.clone(),
            mp,
            total,
            bars: Mutex::new(HashMap::new()),
            counts: Mutex::new(Counts::default()),
            moved: AtomicU64::new(0),
            started: Instant::now(),
            ticker: Mutex::new(None),
        });
        if mode == Mode::Lines {
            let weak = Arc::downgrade(&r);
            let handle = tokio::spawn(async move {
                let mut every = tokio::time::interval(Duration::from_secs(5));
                every.tick().await;
                loop {
                    every.tick().await;
                    match weak.upgrade() {
                        Some(r) => r.progress_line(),
                        None => break,
                    }
                }
            });
            *r.ticker.lock().unwrap_or_else(|p| p.into_inner()) = Some(handle);
        }
        r
    }

    fn progress_line(&self) {
        let c = self.counts.lock().unwrap_or_else(|p| p.into_inner());
        let moved = self.moved.load(Ordering::Relaxed);
        let secs = self.started.elapsed().as_secs_f64().max(0.001);
        stderr_line(&format!(
            "progress: {}/{} files, {} of {} ({}/s)",
            c.done + c.skipped + c.failed,
            c.files,
            human_size(moved),
            human_size(c.total_bytes),
            human_size((moved as f64 / secs) as u64),
        ));
    }

    fn json_line(&self, value: &impl serde::Serialize) {
        if let Ok(text) = serde_json::to_string(value) {
            let mut out = std::io::stdout().lock();
            let _ = writeln!(out, "{text}");
            let _ = out.flush();
        }
    }

    /// Data on stdout (printed above the bars).
    fn data_line(&self, text: &str) {
        let write = || self.printer.line(text);
        match &self.mp {
            Some(mp) => mp.suspend(write),
            None => write(),
        }
    }

    fn drop_bar(&self, id: FileId) {
        if let Some(b) = self
            .bars
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(&id)
        {
            b.finish_and_clear();
            if let Some(mp) = &self.mp {
                mp.remove(&b);
            }
        }
    }

    /// Ends the display without a summary (the command prints its own).
    pub fn close(&self) {
        if let Some(t) = self.ticker.lock().unwrap_or_else(|p| p.into_inner()).take() {
            t.abort();
        }
        for (_, b) in self.bars.lock().unwrap_or_else(|p| p.into_inner()).drain() {
            b.finish_and_clear();
        }
        if let Some(t) = &self.total {
            t.finish_and_clear();
        }
        *active_bars().lock().unwrap_or_else(|p| p.into_inner()) = None;
    }

    /// Ends the display and prints the summary (human on stderr, or the JSON object).
    pub fn finish(&self, summary: &Summary) {
        self.close();
        match self.mode {
            Mode::Json => {
                let mut v = serde_json::to_value(summary).unwrap_or_default();
                let via = self.verb.via();
                if let Some(failures) = v.get_mut("failures").and_then(|f| f.as_array_mut()) {
                    for (json, f) in failures.iter_mut().zip(&summary.failures) {
                        let hint = transfer_hint(f.problem.as_ref(), f.api_kind, None, via);
                        with_hint(json, hint);
                    }
                }
                if let (Some(json), Some(stop)) = (v.get_mut("stopped"), &summary.stopped) {
                    let hint =
                        transfer_hint(stop.problem.as_ref(), stop.api_kind, stop.retry_after, via);
                    with_hint(json, hint);
                }
                if let Some(o) = v.as_object_mut() {
                    o.insert("event".into(), "summary".into());
                }
                self.json_line(&v);
            }
            Mode::Quiet => {}
            Mode::Bars | Mode::Lines => {
                let mut line = format!(
                    "{} {} file{} ({}) in {:.1}s",
                    self.verb.past(),
                    summary.done,
                    if summary.done == 1 { "" } else { "s" },
                    human_size(summary.bytes),
                    summary.seconds
                );
                if summary.skipped > 0 {
                    line.push_str(&format!(", {} already there", summary.skipped));
                }
                if summary.failed > 0 {
                    line.push_str(&format!(", {} failed:", summary.failed));
                }
                stderr_line(&line);
                for f in &summary.failures {
                    if f.error.contains(&f.name) {
                        stderr_line(&format!("  {}", sanitize(&f.error)));
                    } else {
                        stderr_line(&format!("  {}: {}", sanitize(&f.name), sanitize(&f.error)));
                    }
                }
            }
        }
    }

    fn error(&self, name: &str, error: &str, hint: Option<&str>) {
        let message = if error.contains(name) {
            error.to_owned()
        } else {
            format!("{name}: {error}")
        };
        let color = self.printer.settings().color_stderr;
        stderr_line(&error_block(&message, hint, color));
    }

    /// The hint for a failed file, worded for this run's command.
    fn hint(&self, event: &Event) -> Option<String> {
        match event {
            Event::Failed {
                problem,
                api_kind,
                retry_after,
                ..
            } => transfer_hint(problem.as_ref(), *api_kind, *retry_after, self.verb.via()),
            _ => None,
        }
    }
}

/// Adds `"hint"` to a failure's JSON object (the engine's events carry kinds, not advice).
fn with_hint(json: &mut serde_json::Value, hint: Option<String>) {
    if let (Some(o), Some(h)) = (json.as_object_mut(), hint) {
        o.insert("hint".into(), h.into());
    }
}

impl Drop for Reporter {
    fn drop(&mut self) {
        *active_bars().lock().unwrap_or_else(|p| p.into_inner()) = None;
    }
}

impl EventSink for Reporter {
    fn event(&self, event: Event) {
        {
            let mut c = self.counts.lock().unwrap_or_else(|p| p.into_inner());
            match &event {
                Event::Queued { size, .. } => {
                    c.files += 1;
                    c.total_bytes += size.unwrap_or(0);
                    if let Some(t) = &self.total {
                        t.set_length(c.total_bytes);
                    }
                }
                Event::Done { .. } => c.done += 1,
                Event::Skipped { .. } => {
                    c.skipped += 1;
                    c.files += 1;
                }
                Event::Failed { .. } => {
                    c.failed += 1;
                    c.files += 1;
                }
                _ => {}
            }
            if let Some(t) = &self.total {
                t.set_message(format!(
                    "{}/{} files",
                    c.done + c.skipped,
                    c.files.max(c.done + c.skipped + c.failed)
                ));
            }
        }
        let hint = self.hint(&event);
        match self.mode {
            Mode::Json => {
                if hint.is_some() {
                    let mut json = serde_json::to_value(&event).unwrap_or_default();
                    with_hint(&mut json, hint);
                    self.json_line(&json);
                } else {
                    self.json_line(&event);
                }
                return;
            }
            Mode::Quiet => {
                if let Event::Failed { name, error, .. } = &event {
                    self.error(name, error, hint.as_deref());
                }
                return;
            }
            Mode::Bars | Mode::Lines => {}
        }
        match event {
            Event::Started {
                id,
                name,
                size,
                resumed_from,
                connections,
            } => {
                if let Some(mp) = &self.mp {
                    let mut bars = self.bars.lock().unwrap_or_else(|p| p.into_inner());
                    let bar = bars.entry(id).or_insert_with(|| {
                        let b = mp.insert_before(
                            self.total.as_ref().expect("bars mode has a total"),
                            ProgressBar::new(size).with_style(file_style()),
                        );
                        b.set_message(short(&sanitize(&name)));
                        b
                    });
                    bar.set_length(size);
                    bar.set_position(resumed_from);
                    bar.set_prefix(if connections > 1 {
                        format!("{connections} conns")
                    } else {
                        self.verb.past().trim_end_matches("ed").to_owned() + "ing"
                    });
                    bar.reset_eta();
                }
                if let Some(t) = &self.total
                    && resumed_from > 0
                {
                    t.inc(resumed_from);
                }
                if resumed_from > 0 {
                    stderr_line(&format!(
                        "resuming {} from {}",
                        sanitize(&name),
                        human_size(resumed_from)
                    ));
                }
            }
            Event::Retrying {
                name,
                attempt,
                reason,
                ..
            } if self.printer.settings().verbose > 0 || attempt > 1 => {
                self.printer_warn(&format!("{name}: {reason} (retry {attempt})"));
            }
            Event::Verifying { id, .. } => {
                if let Some(b) = self.bars.lock().unwrap_or_else(|p| p.into_inner()).get(&id) {
                    b.set_prefix("verifying");
                }
            }
            Event::Done {
                id,
                name,
                path,
                link,
                recovered,
                ..
            } => {
                self.drop_bar(id);
                match self.verb {
                    Verb::Upload => {
                        self.data_line(&format!(
                            "{}  {}",
                            link.unwrap_or_default(),
                            path.unwrap_or(name)
                        ));
                        if recovered {
                            stderr_line("  (found stored after a failed attempt; not re-sent)");
                        }
                    }
                    Verb::Download | Verb::Queue => self.data_line(&path.unwrap_or(name)),
                    Verb::Backup => {}
                }
            }
            Event::Skipped { id, reason, .. } => {
                self.drop_bar(id);
                stderr_line(&format!("skipped: {}", sanitize(&reason)));
            }
            Event::Failed {
                id, name, error, ..
            } => {
                self.drop_bar(id);
                self.error(&name, &error, hint.as_deref());
            }
            Event::Notice { message } => stderr_line(&sanitize(&message)),
            Event::Queued { .. } => {}
            _ => {}
        }
    }

    fn bytes(&self, id: FileId, n: u64) {
        self.moved.fetch_add(n, Ordering::Relaxed);
        if self.mode != Mode::Bars {
            return;
        }
        if let Some(t) = &self.total {
            t.inc(n);
        }
        if let Some(b) = self.bars.lock().unwrap_or_else(|p| p.into_inner()).get(&id) {
            b.inc(n);
        }
    }
}

impl Reporter {
    fn printer_warn(&self, text: &str) {
        stderr_line(&tagged(
            Tag::Warning,
            text,
            self.printer.settings().color_stderr,
        ));
    }
}
