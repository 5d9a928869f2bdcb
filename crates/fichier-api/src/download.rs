//! Whole-file downloads into any `AsyncWrite`: a token, then ranged GETs (each one
//! [`Client::range_get`], which validates the answer) resumed after cuts, the token renewed
//! when it expires or is refused, progress reported per chunk. The token URL is never logged
//! or put in an error. Segmented, resumable downloads to disk are `fichier-transfer`'s.

use std::time::Duration;

use tokio::io::{AsyncWrite, AsyncWriteExt};
use tokio::time::Instant;

use crate::client::Client;
use crate::error::{Error, Result};
use crate::hash::HashPipe;
use crate::progress::Progress;
use crate::range::RangeAnswer;
use crate::types::{DownloadToken, DownloadTokenRequest, FileLink, Password};

/// What to download.
#[derive(Debug, Clone)]
pub struct DownloadRequest {
    /// The file.
    pub link: FileLink,
    /// Its password, when protected.
    pub password: Option<Password>,
    /// Bytes already written (resume point); the writer must be positioned at its end.
    pub offset: u64,
    /// Stop after this byte (exclusive); `None` for the end of the file.
    pub end: Option<u64>,
    /// Spend CDN credits for the token.
    pub cdn: bool,
    /// Renew the token after this age even if it still works (default 4 min 30 s; tokens
    /// are valid about 5 min).
    pub token_max_age: Duration,
}

impl DownloadRequest {
    /// Downloads a whole file from the start.
    pub fn new(link: FileLink) -> Self {
        DownloadRequest {
            link,
            password: None,
            offset: 0,
            end: None,
            cdn: false,
            token_max_age: Duration::from_secs(270),
        }
    }
}

/// How a download ended.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct DownloadOutcome {
    /// Bytes written by this call.
    pub bytes_written: u64,
    /// Where the writer now ends (offset + bytes written).
    pub end_offset: u64,
    /// Full size of the file, as the server reported it.
    pub total_size: Option<u64>,
    /// Whirlpool of the bytes written, when the download started at 0 and reached the end
    /// of the file (otherwise hash the file yourself).
    pub whirlpool: Option<String>,
    /// Tokens requested (1 unless one expired).
    pub tokens_used: u32,
}

/// How one [`Client::download_range`] call ended.
#[derive(Debug)]
#[non_exhaustive]
pub struct RangeOutcome {
    /// Bytes written.
    pub written: u64,
    /// Full size of the file, as the server reported it.
    pub total_size: Option<u64>,
    /// Why the range stopped early (cut connection, server error); `None` when complete.
    pub interrupted: Option<Error>,
}

/// Why one GET stopped.
enum Leg {
    /// Reached the end.
    Complete,
    /// The body was cut; resume from the current offset.
    Cut(Error),
    /// The token no longer works.
    TokenRefused(Error),
}

impl Client {
    /// Downloads `req.link` into `writer`, starting at `req.offset`.
    ///
    /// Gets a token, streams ranged GETs into the writer, resumes after cut connections (as
    /// long as each try makes progress, up to the retry policy's attempts otherwise), renews
    /// the token when it is old or refused, and validates every `Content-Range`.
    pub async fn download_to<W>(
        &self,
        req: &DownloadRequest,
        writer: &mut W,
        progress: &dyn Progress,
    ) -> Result<DownloadOutcome>
    where
        W: AsyncWrite + Unpin + Send + ?Sized,
    {
        let result = self.download_to_inner(req, writer, progress).await;
        progress.finish(result.is_ok());
        result
    }

    async fn download_to_inner<W>(
        &self,
        req: &DownloadRequest,
        writer: &mut W,
        progress: &dyn Progress,
    ) -> Result<DownloadOutcome>
    where
        W: AsyncWrite + Unpin + Send + ?Sized,
    {
        if let Some(end) = req.end {
            if end < req.offset {
                return Err(Error::invalid_input(format!(
                    "the download range ends ({end}) before it starts ({})",
                    req.offset
                )));
            }
            if end == req.offset {
                return Ok(DownloadOutcome {
                    bytes_written: 0,
                    end_offset: end,
                    total_size: None,
                    whirlpool: None,
                    tokens_used: 0,
                });
            }
        }
        let token_req = DownloadTokenRequest {
            cdn: req.cdn.then_some(true),
            ..DownloadTokenRequest::new(req.link.clone(), req.password.clone())
        };
        let policy = self.inner.retry.clone();
        let mut offset = req.offset;
        let mut total: Option<u64> = None;
        let mut tokens = 0u32;
        let mut token: Option<(DownloadToken, Instant)> = None;
        let mut failures = 0u32;
        let mut just_renewed = false;
        let hasher = (req.offset == 0).then(HashPipe::start);
        let mut started = false;
        loop {
            if let Some(t) = total
                && offset >= req.end.map_or(t, |e| e.min(t))
            {
                break;
            }
            let fresh = token.as_ref().is_some_and(|(_, at)| {
                self.inner.clock.now().saturating_duration_since(*at) < req.token_max_age
            });
            if !fresh {
                let t = self.download_token(&token_req).await?;
                tokens += 1;
                just_renewed = true;
                token = Some((t, self.inner.clock.now()));
            }
            let (tok, _) = token.as_ref().expect("token set above");
            let before = offset;
            let leg = self
                .download_leg(
                    tok,
                    req,
                    &mut offset,
                    &mut total,
                    writer,
                    progress,
                    hasher.as_ref(),
                    &mut started,
                )
                .await?;
            match leg {
                Leg::Complete => break,
                Leg::Cut(e) => {
                    if offset > before {
                        failures = 0;
                    } else {
                        failures += 1;
                    }
                    if failures >= policy.max_attempts {
                        return Err(e);
                    }
                    let delay = policy.delay(failures.max(1));
                    tracing::warn!(
                        offset,
                        delay_ms = delay.as_millis() as u64,
                        "download cut; resuming: {e}"
                    );
                    self.sleep(delay).await;
                }
                Leg::TokenRefused(e) => {
                    if just_renewed && offset == before {
                        // A brand-new token refused outright: not an expiry.
                        return Err(e);
                    }
                    tracing::info!(
                        offset,
                        "download token expired or refused; requesting a new one"
                    );
                    token = None;
                    continue;
                }
            }
            just_renewed = false;
        }
        writer.flush().await.map_err(|e| Error::io(None, e))?;
        let reached_end = total.is_some_and(|t| offset == t);
        let whirlpool = match hasher {
            Some(h) => {
                let hex = h.finish().await?;
                reached_end.then_some(hex)
            }
            None => None,
        };
        Ok(DownloadOutcome {
            bytes_written: offset - req.offset,
            end_offset: offset,
            total_size: total,
            whirlpool,
            tokens_used: tokens,
        })
    }

    /// One ranged GET through [`Client::range_get`], written to `writer` (and the hasher).
    #[allow(clippy::too_many_arguments)]
    async fn download_leg<W>(
        &self,
        token: &DownloadToken,
        req: &DownloadRequest,
        offset: &mut u64,
        total: &mut Option<u64>,
        writer: &mut W,
        progress: &dyn Progress,
        hasher: Option<&HashPipe>,
        started: &mut bool,
    ) -> Result<Leg>
    where
        W: AsyncWrite + Unpin + Send + ?Sized,
    {
        let mut body = match self.range_get(token, *offset, req.end).await? {
            RangeAnswer::Body(b) => b,
            RangeAnswer::Cut(e) => return Ok(Leg::Cut(e)),
            RangeAnswer::Refused(e) => return Ok(Leg::TokenRefused(e)),
        };
        if let (Some(t), Some(prev)) = (body.total(), *total)
            && t != prev
        {
            return Err(Error::protocol(
                "download URL",
                format!("the file size changed from {prev} to {t} during the download"),
                b"",
            ));
        }
        if body.total().is_some() {
            *total = body.total();
        }
        if !*started {
            progress.start(*total, *offset);
            *started = true;
        }
        loop {
            let chunk = match body.next_chunk(progress).await {
                Ok(Some(c)) => c,
                Ok(None) => break,
                Err(e) => return Ok(Leg::Cut(e)),
            };
            writer
                .write_all(&chunk)
                .await
                .map_err(|e| Error::io(None, e))?;
            *offset += chunk.len() as u64;
            if let Some(h) = hasher {
                h.feed(chunk).await;
            }
        }
        let stop = match (req.end, *total) {
            (Some(e), Some(t)) => e.min(t),
            (Some(e), None) => e,
            (None, Some(t)) => t,
            (None, None) => *offset,
        };
        if *offset >= stop {
            Ok(Leg::Complete)
        } else {
            Ok(Leg::Cut(Error::protocol_transient(
                "download URL",
                "short range answer",
                b"",
            )))
        }
    }

    /// One ranged GET of a token URL into `writer`: bytes `[start, end)` (`end` `None` = to
    /// the end of the file). For segmented downloads that reuse one token for several ranges.
    ///
    /// Validates `Content-Range` (a `200` to a ranged request is a protocol error). Returns
    /// how far it got; a cut connection is reported in [`RangeOutcome::interrupted`] with the
    /// bytes already written, so the caller resumes from `start + written`. A refused token is
    /// [`Error::TokenExpired`].
    pub async fn download_range<W>(
        &self,
        token: &DownloadToken,
        start: u64,
        end: Option<u64>,
        writer: &mut W,
        progress: &dyn Progress,
    ) -> Result<RangeOutcome>
    where
        W: AsyncWrite + Unpin + Send + ?Sized,
    {
        if end.is_some_and(|e| e <= start) {
            return Err(Error::invalid_input(format!(
                "the range [{start}, {}) is empty",
                end.unwrap_or_default()
            )));
        }
        let mut req = DownloadRequest::new(FileLink::from_service(""));
        req.offset = start;
        req.end = end;
        let mut offset = start;
        let mut total = None;
        let mut started = false;
        let leg = self
            .download_leg(
                token,
                &req,
                &mut offset,
                &mut total,
                writer,
                progress,
                None,
                &mut started,
            )
            .await?;
        writer.flush().await.map_err(|e| Error::io(None, e))?;
        let interrupted = match leg {
            Leg::Complete => None,
            Leg::Cut(e) => Some(e),
            Leg::TokenRefused(e) => {
                if offset == start {
                    return Err(e);
                }
                Some(e)
            }
        };
        Ok(RangeOutcome {
            written: offset - start,
            total_size: total,
            interrupted,
        })
    }
}
