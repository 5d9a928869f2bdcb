//! One file's download: `.part` plus resume state, fixed-offset segments over parallel
//! connections sharing one download token (renewed when it expires), every `Range` answer
//! validated, whirlpool computed right behind the written prefix, and the rename into place
//! only after the whirlpool matches `file/info`.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use fichier_api::{
    ContentRange, DownloadToken, DownloadTokenRequest, FileLink, Password, same_whirlpool,
};
use futures_util::StreamExt;
use reqwest::header::{CONTENT_LENGTH, CONTENT_RANGE, RANGE};
use tokio::time::Instant;

use crate::engine::{Engine, ErrorClass, TransferError};
use crate::events::{Event, EventSink, FileId};
use crate::hashing::{FrontierHasher, whirlpool_file};
use crate::state::{self, PartState, Segment};
use crate::upload::without_url;

/// Bytes gathered from the network before one positioned write.
const WRITE_BUFFER: usize = 512 * 1024;

/// A block being written to `.part` on the blocking pool.
struct PendingWrite {
    len: u64,
    task: tokio::task::JoinHandle<std::io::Result<()>>,
}

/// Files at least this big get the default number of segments.
pub(crate) const SEGMENT_THRESHOLD: u64 = 64 << 20;
/// Default segments for big files.
pub(crate) const DEFAULT_SEGMENTS: u32 = 3;
/// Most segments per file.
pub const MAX_SEGMENTS: u32 = 20;
/// Smallest segment worth its own connection.
const MIN_SEGMENT: u64 = 1 << 20;
/// How often a segmented download's state file is rewritten.
const SAVE_EVERY: Duration = Duration::from_millis(500);

/// A file to download, fully resolved.
#[derive(Debug, Clone)]
pub(crate) struct FileJob {
    pub(crate) id: FileId,
    pub(crate) display: String,
    pub(crate) link: FileLink,
    pub(crate) password: Option<Password>,
    pub(crate) size: u64,
    pub(crate) checksum: Option<String>,
    pub(crate) dest: PathBuf,
}

/// Per-run download settings a file needs.
#[derive(Debug, Clone)]
pub(crate) struct FetchOpts {
    pub(crate) segments: Option<u32>,
    pub(crate) verify: bool,
    pub(crate) overwrite: bool,
    pub(crate) token_max_age: Duration,
}

/// How a file ended.
#[derive(Debug)]
pub(crate) enum Fetched {
    Done { whirlpool: Option<String> },
    Skipped(String),
}

/// `NAME.part` for `NAME`.
pub(crate) fn part_path(dest: &Path) -> PathBuf {
    let mut s = dest.as_os_str().to_owned();
    s.push(".part");
    PathBuf::from(s)
}

/// The token of one file attempt, shared by all its segments and renewed only when it
/// expires or gets old.
struct Tokens {
    engine: Engine,
    req: DownloadTokenRequest,
    max_age: Duration,
    state: tokio::sync::Mutex<TokState>,
}

#[derive(Default)]
struct TokState {
    current: Option<(DownloadToken, u64, Instant)>,
    generation: u64,
    /// Whether the current generation served bytes (then a refusal is an expiry).
    worked: bool,
    /// Tokens refused before serving anything, in a row.
    strikes: u32,
    issued: u32,
}

impl Tokens {
    async fn get(&self) -> Result<(DownloadToken, u64), TransferError> {
        let mut st = self.state.lock().await;
        let fresh = st
            .current
            .as_ref()
            .is_some_and(|(_, _, at)| at.elapsed() < self.max_age);
        if !fresh {
            let t = self.engine.client().download_token(&self.req).await?;
            st.generation += 1;
            st.issued += 1;
            st.worked = false;
            let g = st.generation;
            st.current = Some((t, g, Instant::now()));
        }
        let (t, g, _) = st.current.as_ref().expect("set above");
        Ok((t.clone(), *g))
    }

    async fn worked(&self, generation: u64) {
        let mut st = self.state.lock().await;
        if st.generation == generation {
            st.worked = true;
            st.strikes = 0;
        }
    }

    /// The token of `generation` was refused: drop it so the next `get` renews it. Two
    /// brand-new tokens refused in a row mean the file itself is refused.
    async fn refused(&self, generation: u64, err: TransferError) -> Result<(), TransferError> {
        let mut st = self.state.lock().await;
        if st.generation != generation || st.current.is_none() {
            return Ok(());
        }
        if st.worked {
            tracing::info!("download token expired; requesting a new one");
        } else {
            st.strikes += 1;
            if st.strikes >= 2 {
                return Err(err);
            }
        }
        st.current = None;
        Ok(())
    }
}

/// What every segment task of one file shares.
struct FileCtx {
    job: FileJob,
    file: Arc<std::fs::File>,
    segments: Mutex<Vec<Segment>>,
    hasher: Option<FrontierHasher>,
    tokens: Tokens,
    events: Arc<dyn EventSink>,
}

impl FileCtx {
    fn segment(&self, i: usize) -> Segment {
        self.segments.lock().unwrap_or_else(|p| p.into_inner())[i]
    }
    fn advance(&self, i: usize, n: u64) {
        let prefix = {
            let mut segs = self.segments.lock().unwrap_or_else(|p| p.into_inner());
            segs[i].done += n;
            state::prefix(&segs)
        };
        if let Some(h) = &self.hasher {
            h.advance(prefix);
        }
    }
    fn snapshot(&self) -> Vec<Segment> {
        self.segments
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }
}

/// Why one GET stopped.
enum Leg {
    /// The range is complete.
    Complete,
    /// Cut or refused by a temporary server problem; resume from what is written.
    Cut(TransferError),
    /// The token no longer works.
    Refused(TransferError),
}

fn positioned_write(file: &std::fs::File, buf: &[u8], offset: u64) -> std::io::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileExt;
        file.write_all_at(buf, offset)
    }
    #[cfg(windows)]
    {
        use std::os::windows::fs::FileExt;
        let mut done = 0usize;
        while done < buf.len() {
            let n = file.seek_write(&buf[done..], offset + done as u64)?;
            if n == 0 {
                return Err(std::io::ErrorKind::WriteZero.into());
            }
            done += n;
        }
        Ok(())
    }
}

/// How many segments a file of `size` gets.
pub(crate) fn segments_for(size: u64, asked: Option<u32>) -> u32 {
    let n = asked.unwrap_or(if size >= SEGMENT_THRESHOLD {
        DEFAULT_SEGMENTS
    } else {
        1
    });
    let by_size = (size / MIN_SEGMENT).max(1);
    (u64::from(n.clamp(1, MAX_SEGMENTS)).min(by_size)) as u32
}

impl Engine {
    /// Downloads one resolved file (with retries of the whole file after a checksum mismatch).
    pub(crate) async fn fetch(
        &self,
        job: &FileJob,
        opts: &FetchOpts,
        events: Arc<dyn EventSink>,
    ) -> Result<Fetched, TransferError> {
        if let Some(skip) = self.check_existing(job, opts).await? {
            return Ok(Fetched::Skipped(skip));
        }
        let max = self.config().max_attempts.clamp(1, 3);
        let mut attempt = 0;
        loop {
            attempt += 1;
            match self.fetch_once(job, opts, events.clone()).await {
                Err(e) if e.class == ErrorClass::Retryable && attempt < max => {
                    events.event(Event::Retrying {
                        id: job.id,
                        name: job.display.clone(),
                        attempt,
                        reason: e.message.clone(),
                    });
                    tokio::time::sleep(self.config().backoff(attempt)).await;
                }
                other => return other,
            }
        }
    }

    /// An existing destination: identical means nothing to do; different needs `--overwrite`.
    async fn check_existing(
        &self,
        job: &FileJob,
        opts: &FetchOpts,
    ) -> Result<Option<String>, TransferError> {
        let meta = match tokio::fs::symlink_metadata(&job.dest).await {
            Ok(m) => m,
            Err(_) => return Ok(None),
        };
        let dest = job.dest.display();
        if !meta.is_file() {
            return Err(TransferError::new(
                ErrorClass::Local,
                format!("{dest} exists and is not a regular file"),
            )
            .hint("move it away or choose another output dir with -o"));
        }
        if meta.len() == job.size {
            match (&job.checksum, opts.verify) {
                (Some(expected), true) => {
                    let local = whirlpool_file(job.dest.clone())
                        .await
                        .map_err(|e| TransferError::io(&format!("cannot read {dest}"), &e))?;
                    if same_whirlpool(expected, &local) {
                        return Ok(Some(format!("{dest} is already there (same whirlpool)")));
                    }
                }
                _ => {
                    return Ok(Some(format!(
                        "{dest} is already there (same size, not verified)"
                    )));
                }
            }
        }
        if opts.overwrite {
            return Ok(None);
        }
        Err(TransferError::new(
            ErrorClass::Local,
            format!("{dest} already exists and differs from the remote file"),
        )
        .hint("add --overwrite to replace it, or choose another output dir with -o"))
    }

    async fn fetch_once(
        &self,
        job: &FileJob,
        opts: &FetchOpts,
        events: Arc<dyn EventSink>,
    ) -> Result<Fetched, TransferError> {
        let dest = job.dest.clone();
        let part = part_path(&dest);
        let state_file = state::state_path(&part);
        if let Some(parent) = dest.parent() {
            tokio::fs::create_dir_all(parent).await.map_err(|e| {
                TransferError::io(&format!("cannot create {}", parent.display()), &e)
            })?;
        }
        let link = job.link.as_str().to_owned();
        let checksum = job.checksum.clone();
        let size = job.size;
        let wanted = segments_for(size, opts.segments);
        let (p2, s2) = (part.clone(), state_file.clone());
        // Decide where to resume from (blocking file work).
        let prepared = tokio::task::spawn_blocking(move || {
            prepare(&p2, &s2, &link, size, checksum.as_deref(), wanted)
        })
        .await
        .map_err(|e| TransferError::new(ErrorClass::Local, e.to_string()))?
        .map_err(|e| TransferError::io(&format!("cannot prepare {}", part.display()), &e))?;
        let (file, segments, persist) = prepared;
        let resumed_from: u64 = segments.iter().map(|s| s.done).sum();
        let prefix = state::prefix(&segments);
        let (hasher, hash_task) = if opts.verify {
            let (h, t) = FrontierHasher::start(part.clone(), size, prefix);
            (Some(h), Some(t))
        } else {
            (None, None)
        };
        let todo: Vec<usize> = (0..segments.len())
            .filter(|i| !segments[*i].complete())
            .collect();
        events.event(Event::Started {
            id: job.id,
            name: job.display.clone(),
            size,
            resumed_from,
            connections: todo.len().max(1) as u32,
        });
        if resumed_from > 0 {
            tracing::info!(
                "{}: resuming from {resumed_from} bytes on disk",
                job.display
            );
        }
        let ctx = Arc::new(FileCtx {
            job: job.clone(),
            file: Arc::new(file),
            segments: Mutex::new(segments),
            hasher,
            tokens: Tokens {
                engine: self.clone(),
                req: DownloadTokenRequest::new(job.link.clone(), job.password.clone()),
                max_age: opts.token_max_age,
                state: tokio::sync::Mutex::new(TokState::default()),
            },
            events: events.clone(),
        });

        // The state saver: rewrites NAME.part.state while segments run.
        let (stop_tx, mut stop_rx) = tokio::sync::watch::channel(false);
        let saver = persist.then(|| {
            let ctx = ctx.clone();
            let path = state_file.clone();
            let link = job.link.as_str().to_owned();
            let checksum = job.checksum.clone();
            tokio::spawn(async move {
                loop {
                    tokio::select! {
                        _ = tokio::time::sleep(SAVE_EVERY) => {}
                        _ = stop_rx.changed() => break,
                    }
                    let st = PartState::new(&link, size, checksum.as_deref(), ctx.snapshot());
                    let p = path.clone();
                    let _ = tokio::task::spawn_blocking(move || state::save(&p, &st)).await;
                }
            })
        });

        let results = futures_util::future::join_all(
            todo.iter()
                .map(|&i| self.run_segment(ctx.clone(), i))
                .collect::<Vec<_>>(),
        )
        .await;
        let _ = stop_tx.send(true);
        if let Some(s) = saver {
            let _ = s.await;
        }
        let failure = results
            .into_iter()
            .filter_map(Result::err)
            .min_by_key(|e| match e.class {
                ErrorClass::DiskFull => 0,
                ErrorClass::Auth => 1,
                ErrorClass::Permanent => 2,
                _ => 3,
            });
        if persist {
            let st = PartState::new(
                job.link.as_str(),
                size,
                job.checksum.as_deref(),
                ctx.snapshot(),
            );
            let p = state_file.clone();
            let _ = tokio::task::spawn_blocking(move || state::save(&p, &st)).await;
        }
        if let Some(e) = failure {
            if let Some(h) = &ctx.hasher {
                h.cancel();
            }
            return Err(e);
        }

        // Every byte is written: verify, then rename into place.
        events.event(Event::Verifying {
            id: job.id,
            name: job.display.clone(),
        });
        // No fsync before the rename: like curl and rsync, durability against power loss is
        // left to the file system; the whirlpool check on the next run catches a torn file.
        let on_disk = tokio::fs::metadata(&part)
            .await
            .map_err(|e| TransferError::io(&format!("cannot read {}", part.display()), &e))?
            .len();
        if on_disk != size {
            let _ = tokio::fs::remove_file(&state_file).await;
            let _ = tokio::fs::remove_file(&part).await;
            return Err(TransferError::new(
                ErrorClass::Retryable,
                format!(
                    "{} has {on_disk} bytes instead of {size}; starting over",
                    part.display()
                ),
            ));
        }
        let whirlpool = match hash_task {
            Some(t) => Some(
                t.await
                    .map_err(|e| TransferError::new(ErrorClass::Local, e.to_string()))?
                    .map_err(|e| {
                        TransferError::io(&format!("cannot read {}", part.display()), &e)
                    })?,
            ),
            None => None,
        };
        if let (Some(expected), Some(got)) = (&job.checksum, &whirlpool)
            && !same_whirlpool(expected, got)
        {
            // A damaged .part must not be resumed: start over.
            let _ = tokio::fs::remove_file(&state_file).await;
            let _ = tokio::fs::remove_file(&part).await;
            return Err(TransferError::new(
                ErrorClass::Retryable,
                format!(
                    "{}: the whirlpool of the downloaded bytes does not match file/info; the .part was removed",
                    job.display
                ),
            ));
        }
        if opts.verify && job.checksum.is_none() {
            tracing::warn!(
                "{}: the service gave no whirlpool; only the size was checked",
                job.display
            );
        }
        tokio::fs::rename(&part, &dest).await.map_err(|e| {
            TransferError::io(&format!("cannot rename into {}", dest.display()), &e)
        })?;
        let _ = tokio::fs::remove_file(&state_file).await;
        Ok(Fetched::Done { whirlpool })
    }

    /// Downloads one segment to its end, resuming after cuts and renewing the token.
    async fn run_segment(&self, ctx: Arc<FileCtx>, i: usize) -> Result<(), TransferError> {
        let max = self.config().max_attempts.max(1);
        let mut failures = 0u32;
        loop {
            let seg = ctx.segment(i);
            if seg.complete() {
                return Ok(());
            }
            self.wait_cooldown(ctx.events.as_ref()).await;
            let (token, generation) = ctx.tokens.get().await?;
            let before = seg.done;
            let permit = self.inner.conns.acquire().await;
            let leg = self.leg(&ctx, i, &token, generation).await;
            drop(permit);
            let progressed = ctx.segment(i).done > before;
            match leg? {
                Leg::Complete => {}
                Leg::Cut(e) => {
                    failures = if progressed { 1 } else { failures + 1 };
                    if failures > max {
                        return Err(e);
                    }
                    ctx.events.event(Event::Retrying {
                        id: ctx.job.id,
                        name: ctx.job.display.clone(),
                        attempt: failures,
                        reason: format!(
                            "{}; resuming at byte {}",
                            e.message,
                            seg.start + ctx.segment(i).done
                        ),
                    });
                    tokio::time::sleep(self.config().backoff(failures)).await;
                }
                Leg::Refused(e) => {
                    if !progressed {
                        ctx.tokens.refused(generation, e).await?;
                    } else {
                        ctx.tokens.refused(generation, e).await.ok();
                    }
                }
            }
        }
    }

    /// One ranged GET for the rest of segment `i`.
    async fn leg(
        &self,
        ctx: &FileCtx,
        i: usize,
        token: &DownloadToken,
        generation: u64,
    ) -> Result<Leg, TransferError> {
        let seg = ctx.segment(i);
        let pos = seg.start + seg.done;
        let end = seg.end; // exclusive
        let size = ctx.job.size;
        let resp = match self
            .inner
            .http
            .get(token.expose_url())
            .header(RANGE, format!("bytes={pos}-{}", end - 1))
            .send()
            .await
        {
            Ok(r) => r,
            Err(e) => {
                return Ok(Leg::Cut(TransferError::new(
                    ErrorClass::Retryable,
                    format!("download connection failed: {}", without_url(&e)),
                )));
            }
        };
        let status = resp.status().as_u16();
        let header = |name| {
            resp.headers()
                .get(name)
                .and_then(|v: &reqwest::header::HeaderValue| v.to_str().ok())
                .map(str::to_owned)
        };
        let protocol = |msg: String| TransferError::new(ErrorClass::Retryable, msg);
        let expected = match status {
            206 => {
                let raw = header(CONTENT_RANGE).ok_or_else(|| {
                    protocol("the server answered 206 without Content-Range".into())
                })?;
                let cr = ContentRange::parse(&raw)
                    .ok_or_else(|| protocol(format!("invalid Content-Range {raw:?}")))?;
                if cr.total.is_some_and(|t| t != size) {
                    return Err(TransferError::new(
                        ErrorClass::Permanent,
                        format!(
                            "the file size changed on the server ({} instead of {size} bytes)",
                            cr.total.unwrap_or_default()
                        ),
                    ));
                }
                if cr.start != pos || cr.end >= end {
                    return Err(protocol(format!(
                        "asked for bytes {pos}-{}, got Content-Range {raw:?}",
                        end - 1
                    )));
                }
                cr.end + 1 - cr.start
            }
            200 => {
                // The whole file: usable only from byte 0 (we stop reading at `end`).
                let cl = header(CONTENT_LENGTH).and_then(|v| v.parse::<u64>().ok());
                if pos != 0 || cl != Some(size) {
                    return Err(protocol(
                        "the server ignored the Range header; refusing to write the whole file into a segment"
                            .into(),
                    ));
                }
                end
            }
            401 | 403 | 404 | 410 => {
                let body = resp.bytes().await.unwrap_or_default();
                let msg = serde_json::from_slice::<serde_json::Value>(&body)
                    .ok()
                    .and_then(|v| v.get("message").and_then(|m| m.as_str()).map(str::to_owned));
                let e: TransferError = fichier_api::classify(status, msg.as_deref(), b"").into();
                return Ok(Leg::Refused(TransferError {
                    message: format!(
                        "the download link was refused (HTTP {status}): {}",
                        e.message
                    ),
                    ..e
                }));
            }
            s if s == 429 || s >= 500 => {
                return Ok(Leg::Cut(TransferError::new(
                    ErrorClass::Retryable,
                    format!("the download server answered HTTP {s}"),
                )));
            }
            s => {
                return Err(TransferError::new(
                    ErrorClass::Permanent,
                    format!("the download server answered HTTP {s}"),
                ));
            }
        };
        ctx.tokens.worked(generation).await;
        let mut stream = resp.bytes_stream();
        let mut buf = BytesMut::with_capacity(WRITE_BUFFER);
        let mut offset = pos; // where `buf` goes
        let mut received = 0u64;
        let mut cut: Option<TransferError> = None;
        // One write in flight while the next buffer fills: reading the socket and writing the
        // disk overlap instead of taking turns.
        let mut pending: Option<PendingWrite> = None;
        while received < expected {
            let chunk = match stream.next().await {
                Some(Ok(c)) => c,
                Some(Err(e)) => {
                    cut = Some(TransferError::new(
                        ErrorClass::Retryable,
                        format!("the download connection was cut: {}", without_url(&e)),
                    ));
                    break;
                }
                None => break,
            };
            let take = (chunk.len() as u64).min(expected - received) as usize;
            let chunk = chunk.slice(..take);
            self.throttle(take as u64).await;
            received += take as u64;
            ctx.events.bytes(ctx.job.id, take as u64);
            buf.extend_from_slice(&chunk);
            if buf.len() >= WRITE_BUFFER {
                let data = buf.split().freeze();
                if let Some(p) = pending.take() {
                    self.finish_write(ctx, i, p).await?;
                }
                pending = Some(self.start_write(ctx, data, &mut offset));
            }
        }
        if let Some(p) = pending.take() {
            self.finish_write(ctx, i, p).await?;
        }
        if !buf.is_empty() {
            let data = buf.split().freeze();
            let p = self.start_write(ctx, data, &mut offset);
            self.finish_write(ctx, i, p).await?;
        }
        if let Some(e) = cut {
            return Ok(Leg::Cut(e));
        }
        if received < expected {
            return Ok(Leg::Cut(TransferError::new(
                ErrorClass::Retryable,
                format!("the connection ended after {received} of {expected} bytes"),
            )));
        }
        Ok(Leg::Complete)
    }

    /// Starts writing `data` at `offset` on the blocking pool and moves `offset` past it.
    fn start_write(&self, ctx: &FileCtx, data: Bytes, offset: &mut u64) -> PendingWrite {
        let file = ctx.file.clone();
        let at = *offset;
        let len = data.len() as u64;
        *offset += len;
        PendingWrite {
            len,
            task: tokio::task::spawn_blocking(move || positioned_write(&file, &data, at)),
        }
    }

    /// Waits for a write, then counts its bytes as done (so the state never claims bytes
    /// that are not in the file).
    async fn finish_write(
        &self,
        ctx: &FileCtx,
        i: usize,
        write: PendingWrite,
    ) -> Result<(), TransferError> {
        write
            .task
            .await
            .map_err(|e| TransferError::new(ErrorClass::Local, e.to_string()))?
            .map_err(|e| {
                TransferError::io(
                    &format!("cannot write {}", part_path(&ctx.job.dest).display()),
                    &e,
                )
            })?;
        ctx.advance(i, write.len);
        Ok(())
    }
}

/// Opens `.part` and works out the segments: from the state file when it matches, from the
/// `.part` length when there is no state (a plain prefix), or from scratch. Returns the file,
/// the segments and whether a state file is kept (more than one segment).
fn prepare(
    part: &Path,
    state_file: &Path,
    link: &str,
    size: u64,
    checksum: Option<&str>,
    wanted: u32,
) -> std::io::Result<(std::fs::File, Vec<Segment>, bool)> {
    let file = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(part)?;
    let len = file.metadata()?.len();
    if let Some(st) = state::load(state_file)
        && st.matches(link, size, checksum)
        && len == size
        && st.segments.len() > 1
    {
        return Ok((file, st.segments, true));
    }
    // No usable state: the .part (if any) is a prefix written by one connection.
    let _ = std::fs::remove_file(state_file);
    let mut have = len;
    if have > size {
        file.set_len(0)?;
        have = 0;
    }
    let mut segments = Vec::new();
    if have > 0 {
        segments.push(Segment {
            start: 0,
            end: have,
            done: have,
        });
    }
    if have < size {
        let rest = size - have;
        let n = segments_for(rest, Some(wanted)).min(wanted.max(1));
        segments.extend(state::split(have, size, n));
    }
    let persist = segments.iter().filter(|s| !s.complete()).count() > 1;
    if persist {
        // The state goes first, so a crash never leaves a sparse .part without it.
        let st = PartState::new(link, size, checksum, segments.clone());
        state::save(state_file, &st)?;
        file.set_len(size)?;
    } else {
        // One connection: keep the .part a prefix (its length is the resume point).
        segments = vec![Segment {
            start: 0,
            end: size,
            done: have,
        }];
    }
    Ok((file, segments, persist))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn segment_counts() {
        assert_eq!(segments_for(10 << 20, None), 1);
        assert_eq!(segments_for(64 << 20, None), 3);
        assert_eq!(segments_for(10 << 20, Some(4)), 4);
        assert_eq!(segments_for(3 << 20, Some(8)), 3);
        assert_eq!(segments_for(1 << 30, Some(50)), MAX_SEGMENTS);
        assert_eq!(segments_for(0, Some(4)), 1);
    }

    #[test]
    fn prefix_part_becomes_segments() {
        let dir = tempfile::tempdir().unwrap();
        let part = dir.path().join("f.part");
        let st = state::state_path(&part);
        std::fs::write(&part, vec![7u8; 3 << 20]).unwrap();
        let (_f, segs, persist) = prepare(&part, &st, "l", 9 << 20, None, 3).unwrap();
        assert!(persist);
        assert_eq!(
            segs[0],
            Segment {
                start: 0,
                end: 3 << 20,
                done: 3 << 20
            }
        );
        assert_eq!(segs.len(), 4);
        assert_eq!(std::fs::metadata(&part).unwrap().len(), 9 << 20);
        // Reopening uses the state file.
        let (_f, again, _) = prepare(&part, &st, "l", 9 << 20, None, 3).unwrap();
        assert_eq!(again, segs);
        // Another file (size) discards it and starts over.
        let (_f, other, persist) = prepare(&part, &st, "l", 2 << 20, None, 1).unwrap();
        assert!(!persist);
        assert_eq!(
            other,
            vec![Segment {
                start: 0,
                end: 2 << 20,
                done: 0
            }]
        );
    }
}
