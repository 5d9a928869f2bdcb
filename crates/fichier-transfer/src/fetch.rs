//! One file's download: `.part` plus resume state, fixed-offset segments over parallel
//! connections sharing one download token (renewed when it expires), every `Range` answer
//! validated, whirlpool computed right behind the written prefix, and the rename into place
//! only after the whirlpool matches `file/info`.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use fichier_api::{
    DownloadToken, DownloadTokenRequest, FileLink, Next, Password, Progress, RangeAnswer,
    same_whirlpool,
};
use tokio::time::Instant;

use crate::engine::Engine;
use crate::error::{ErrorClass, Problem, TransferError};
use crate::events::{Event, EventSink, FileId};
use crate::hashing::{FrontierHasher, hash_local_file};
use crate::names;
use crate::state::{self, PartState, Segment};

/// Reports the chunks of a range to the file's events.
struct EventBytes<'a> {
    events: &'a dyn EventSink,
    id: FileId,
}

impl Progress for EventBytes<'_> {
    fn bytes(&self, n: u64) {
        self.events.bytes(self.id, n);
    }
}

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

/// A file to download, fully resolved (link, size and expected whirlpool known), for
/// [`Engine::fetch_file`].
#[derive(Debug, Clone)]
pub struct FileJob {
    /// The id its events carry.
    pub id: FileId,
    /// What the user knows it by, in events.
    pub display: String,
    /// The file's link.
    pub link: FileLink,
    /// Its download password, if it has one.
    pub password: Option<Password>,
    /// Its size in bytes.
    pub size: u64,
    /// Its whirlpool (hex), checked before the file is named when known.
    pub checksum: Option<String>,
    /// Where it goes (through `NAME.part`).
    pub dest: PathBuf,
    /// The directory the user named (`-o`, the queue item's target, the restore target):
    /// nothing below it is reached through a symbolic link.
    pub root: PathBuf,
}

/// Download settings one file needs.
#[derive(Debug, Clone)]
pub struct FetchOpts {
    /// Ranged connections for the file; `None` picks by size.
    pub segments: Option<u32>,
    /// Check the whirlpool before naming the file.
    pub verify: bool,
    /// Replace a different local file of the same name.
    pub overwrite: bool,
    /// How old a download token may be before a new one is asked for.
    pub token_max_age: Duration,
}

/// How a file ended.
#[derive(Debug)]
pub enum Fetched {
    /// Downloaded (and verified when asked); the whirlpool computed, if any.
    Done {
        /// The whirlpool of the bytes written.
        whirlpool: Option<String>,
    },
    /// Not downloaded, and why (the same file is already there).
    Skipped(String),
}

/// `NAME.part` for `NAME`.
pub fn part_path(dest: &Path) -> PathBuf {
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

/// A download dropped half-way (its queue item was removed, the process is stopping) must
/// not leave the hashing thread waiting for bytes that will never come.
impl Drop for FileCtx {
    fn drop(&mut self) {
        if let Some(h) = &self.hasher {
            h.cancel();
        }
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
    /// Downloads one resolved file to `job.dest` (through `NAME.part`, resumed, segmented,
    /// verified, renamed into place) and says how it ended: the call for callers that need
    /// each file's result (the queue runner, restore) rather than a [`Summary`](crate::Summary).
    pub async fn fetch_file(
        &self,
        job: &FileJob,
        opts: &FetchOpts,
        events: Arc<dyn EventSink>,
    ) -> Result<Fetched, TransferError> {
        self.fetch(job, opts, events).await
    }

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
        // The whole file again (after a checksum mismatch, a lost token…): the client's
        // attempt loop, bounded by attempts only since one attempt is a whole transfer.
        self.client()
            .transfer_attempts()
            .run(
                "download",
                |_| self.fetch_once(job, opts, events.clone()),
                |r| {
                    events.event(Event::Retrying {
                        id: job.id,
                        name: job.display.clone(),
                        attempt: r.attempt,
                        reason: r.error.message.clone(),
                    })
                },
            )
            .await
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
            .problem(Problem::NotAFile {
                path: job.dest.clone(),
            }));
        }
        if meta.len() == job.size {
            match (&job.checksum, opts.verify) {
                (Some(expected), true) => {
                    let local = hash_local_file(job.dest.clone())
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
        .problem(Problem::DestinationExists {
            path: job.dest.clone(),
        }))
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
            let (root, dir) = (job.root.clone(), parent.to_path_buf());
            tokio::task::spawn_blocking(move || names::ensure_dir_inside(&root, &dir))
                .await
                .map_err(|e| TransferError::new(ErrorClass::Local, e.to_string()))?
                .map_err(|e| {
                    TransferError::io(&format!("cannot create {}", parent.display()), &e)
                })?;
        }
        let link = job.link.as_str().to_owned();
        let checksum = job.checksum.clone();
        let size = job.size;
        let wanted = segments_for(size, opts.segments);
        let (p2, s2) = (part.clone(), state_file.clone());
        // Decide where to resume from (blocking file work).
        let (file, segments) = tokio::task::spawn_blocking(move || {
            prepare(&p2, &s2, &link, size, checksum.as_deref(), wanted)
        })
        .await
        .map_err(|e| TransferError::new(ErrorClass::Local, e.to_string()))??;
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
        let saver = {
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
        };

        let results = futures_util::future::join_all(
            todo.iter()
                .map(|&i| self.run_segment(ctx.clone(), i))
                .collect::<Vec<_>>(),
        )
        .await;
        let _ = stop_tx.send(true);
        let _ = saver.await;
        let failure = results
            .into_iter()
            .filter_map(Result::err)
            .min_by_key(|e| match e.class {
                ErrorClass::DiskFull => 0,
                ErrorClass::Auth => 1,
                ErrorClass::Permanent => 2,
                _ => 3,
            });
        {
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
        // Consecutive cuts without progress are bounded by the policy's attempts; a leg that
        // moved bytes starts a new count (a long download survives many separate cuts).
        let mut tries = self.client().transfer_attempts();
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
                    tries.start();
                    if progressed {
                        tries.restart();
                    }
                    match tries.after(e, true) {
                        Next::Retry(delay, e) => {
                            ctx.events.event(Event::Retrying {
                                id: ctx.job.id,
                                name: ctx.job.display.clone(),
                                attempt: tries.attempt(),
                                reason: format!(
                                    "{}; resuming at byte {}",
                                    e.message,
                                    seg.start + ctx.segment(i).done
                                ),
                            });
                            tries.sleep(delay).await;
                        }
                        Next::Stop(e) => return Err(e),
                    }
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

    /// One ranged GET for the rest of segment `i` ([`fichier_api::Client::range_get`]).
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
        let mut body = match self.client().range_get(token, pos, Some(end)).await {
            Ok(RangeAnswer::Body(b)) => b,
            Ok(RangeAnswer::Cut(e)) => return Ok(Leg::Cut(e.into())),
            Ok(RangeAnswer::Refused(e)) => {
                let e = TransferError::from(e);
                return Ok(Leg::Refused(TransferError {
                    message: format!("the download link was refused: {}", e.message),
                    ..e
                }));
            }
            Ok(_) => {
                return Ok(Leg::Cut(TransferError::new(
                    ErrorClass::Retryable,
                    "unexpected download answer",
                )));
            }
            Err(e) => return Err(e.into()),
        };
        if let Some(t) = body.total()
            && t != size
        {
            return Err(TransferError::new(
                ErrorClass::Permanent,
                format!("the file size changed on the server ({t} instead of {size} bytes)"),
            ));
        }
        let expected = body.len();
        ctx.tokens.worked(generation).await;
        let mut buf = BytesMut::with_capacity(WRITE_BUFFER);
        let mut offset = pos; // where `buf` goes
        let mut received = 0u64;
        let mut cut: Option<TransferError> = None;
        // One write in flight while the next buffer fills: reading the socket and writing the
        // disk overlap instead of taking turns.
        let mut pending: Option<PendingWrite> = None;
        let observer = EventBytes {
            events: ctx.events.as_ref(),
            id: ctx.job.id,
        };
        while received < expected {
            let chunk = match body.next_chunk(&observer).await {
                Ok(Some(c)) => c,
                Ok(None) => break,
                Err(e) => {
                    cut = Some(e.into());
                    break;
                }
            };
            let take = chunk.len();
            self.throttle(take as u64).await;
            received += take as u64;
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

/// `O_NOFOLLOW` where its value is known without libc: opening `.part` then fails on a
/// symbolic link instead of writing through it (the `symlink_metadata` check before the open
/// covers the other platforms, minus the race).
#[cfg(unix)]
const O_NOFOLLOW: i32 = if cfg!(any(target_os = "macos", target_os = "ios")) {
    0x100
} else if cfg!(all(
    target_os = "linux",
    any(target_arch = "aarch64", target_arch = "arm")
)) {
    0o100000
} else if cfg!(target_os = "linux") {
    0o400000
} else {
    0
};

/// Opens `.part` for this download and works out the segments. Data safety first:
///
/// - a symbolic link (or anything but a regular file) at `.part` is refused, and the open
///   itself does not follow links;
/// - the `.part` is locked exclusively for the whole download: a second process writing the
///   same target is refused instead of mixing its bytes in;
/// - an existing `.part` is resumed only when its `.part.state` names the same remote file
///   (link, size, whirlpool) and its length is the one the state implies; anything else is
///   refused and left untouched.
///
/// A new `.part` gets its state first, then its full length (so a crash never leaves bytes
/// without the state that says which are valid).
pub(crate) fn prepare(
    part: &Path,
    state_file: &Path,
    link: &str,
    size: u64,
    checksum: Option<&str>,
    wanted: u32,
) -> Result<(std::fs::File, Vec<Segment>), TransferError> {
    let shown = part.display();
    let io = |e: std::io::Error| TransferError::io(&format!("cannot open {shown}"), &e);
    let existed = match std::fs::symlink_metadata(part) {
        Ok(m) if m.file_type().is_symlink() => {
            return Err(TransferError::new(
                ErrorClass::Local,
                format!("{shown} is a symbolic link; refusing to write through it"),
            )
            .problem(Problem::PartIsSymlink {
                path: part.to_path_buf(),
            }));
        }
        Ok(m) if !m.is_file() => {
            return Err(TransferError::new(
                ErrorClass::Local,
                format!("{shown} exists and is not a regular file"),
            )
            .problem(Problem::NotAFile {
                path: part.to_path_buf(),
            }));
        }
        Ok(_) => true,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => false,
        Err(e) => return Err(io(e)),
    };
    let mut options = std::fs::OpenOptions::new();
    options.read(true).write(true).create(true).truncate(false);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.custom_flags(O_NOFOLLOW);
    }
    let file = options.open(part).map_err(|e| {
        if e.raw_os_error() == Some(40) || e.raw_os_error() == Some(62) {
            // ELOOP (Linux 40, macOS 62): a link appeared after the check.
            TransferError::new(
                ErrorClass::Local,
                format!("{shown} is a symbolic link; refusing to write through it"),
            )
            .problem(Problem::PartIsSymlink {
                path: part.to_path_buf(),
            })
        } else {
            io(e)
        }
    })?;
    match file.try_lock() {
        Ok(()) => {}
        Err(std::fs::TryLockError::WouldBlock) => {
            return Err(TransferError::new(
                ErrorClass::Local,
                format!("another process is downloading into {shown}"),
            )
            .problem(Problem::PartBusy {
                path: part.to_path_buf(),
            }));
        }
        Err(std::fs::TryLockError::Error(e)) => return Err(io(e)),
    }
    let meta = file.metadata().map_err(io)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        // A `.part` with another name elsewhere (a hard link out of the target) or another
        // owner (a shared sticky directory) would make the verified file another inode, or
        // another user's to change after the check.
        if meta.nlink() > 1 || meta.uid() != rustix::process::geteuid().as_raw() {
            return Err(TransferError::new(
                ErrorClass::Local,
                format!("{shown} has other hard links or another owner; it was left untouched"),
            ));
        }
    }
    let len = meta.len();
    if existed && len > 0 {
        return match state::load(state_file) {
            Some(st) if st.matches(link, size, checksum) && len == size => {
                Ok((file, st.segments))
            }
            Some(_) => Err(TransferError::new(
                ErrorClass::Local,
                format!(
                    "{shown} holds the bytes of another download (its resume state names another file or size); it was left untouched"
                ),
            )
            .problem(Problem::PartForeign {
                path: part.to_path_buf(),
                has_state: true,
            })),
            None => Err(TransferError::new(
                ErrorClass::Local,
                format!(
                    "{shown} exists but has no resume state saying which file its bytes belong to; it was left untouched"
                ),
            )
            .problem(Problem::PartForeign {
                path: part.to_path_buf(),
                has_state: false,
            })),
        };
    }
    // A new (or empty) .part: nothing to lose.
    let segments = state::split(0, size, segments_for(size, Some(wanted)).min(wanted.max(1)));
    let st = PartState::new(link, size, checksum, segments.clone());
    state::save(state_file, &st)
        .map_err(|e| TransferError::io(&format!("cannot write {}", state_file.display()), &e))?;
    file.set_len(size)
        .map_err(|e| TransferError::io(&format!("cannot extend {shown}"), &e))?;
    Ok((file, segments))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg(unix)]
    #[test]
    fn a_hard_linked_empty_part_is_refused_and_left_untouched() {
        let dir = tempfile::tempdir().unwrap();
        let victim = dir.path().join("victim");
        std::fs::write(&victim, b"").unwrap();
        let part = dir.path().join("o.part");
        std::fs::hard_link(&victim, &part).unwrap();
        let st = state::state_path(&part);
        let e = prepare(&part, &st, "l", 1 << 20, None, 1).unwrap_err();
        assert!(e.to_string().contains("other hard links"), "{e}");
        assert_eq!(std::fs::metadata(&victim).unwrap().len(), 0);
        assert!(!st.exists());
    }

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
    fn part_resumes_only_with_its_own_state() {
        let dir = tempfile::tempdir().unwrap();
        let part = dir.path().join("f.part");
        let st = state::state_path(&part);
        let (f, segs) = prepare(&part, &st, "l", 9 << 20, Some("AB"), 3).unwrap();
        assert_eq!(segs.len(), 3);
        assert_eq!(std::fs::metadata(&part).unwrap().len(), 9 << 20);
        drop(f);
        // Reopening with the same file uses the state.
        let (f, again) = prepare(&part, &st, "l", 9 << 20, Some("ab"), 3).unwrap();
        assert_eq!(again, segs);
        drop(f);
        // Another file (size, whirlpool or link) is refused and the .part kept.
        for (link, size, sum) in [
            ("l", 2 << 20, Some("ab")),
            ("l", 9 << 20, Some("cd")),
            ("m", 9 << 20, Some("ab")),
        ] {
            let e = prepare(&part, &st, link, size, sum, 1).unwrap_err();
            assert_eq!(e.class, ErrorClass::Local, "{e}");
            assert!(e.message.contains("left untouched"), "{e}");
            assert_eq!(std::fs::metadata(&part).unwrap().len(), 9 << 20);
        }
    }

    #[test]
    fn part_without_state_is_refused_and_kept() {
        let dir = tempfile::tempdir().unwrap();
        let part = dir.path().join("g.part");
        std::fs::write(&part, b"foreign bytes").unwrap();
        let e = prepare(&part, &state::state_path(&part), "l", 13, None, 1).unwrap_err();
        assert!(e.message.contains("no resume state"), "{e}");
        assert_eq!(std::fs::read(&part).unwrap(), b"foreign bytes");
    }

    #[cfg(unix)]
    #[test]
    fn symlinked_part_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let victim = dir.path().join("victim");
        std::fs::write(&victim, b"VICTIM").unwrap();
        let part = dir.path().join("b.part");
        std::os::unix::fs::symlink(&victim, &part).unwrap();
        let e = prepare(&part, &state::state_path(&part), "l", 100, None, 1).unwrap_err();
        assert!(e.message.contains("symbolic link"), "{e}");
        assert_eq!(std::fs::read(&victim).unwrap(), b"VICTIM");
    }

    #[test]
    fn locked_part_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let part = dir.path().join("c.part");
        let st = state::state_path(&part);
        let (_held, _) = prepare(&part, &st, "l", 10, None, 1).unwrap();
        let e = prepare(&part, &st, "l", 10, None, 1).unwrap_err();
        assert!(e.message.contains("another process"), "{e}");
    }
}
