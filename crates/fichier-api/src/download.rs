//! The download primitive: a token, then streamed `GET`s with `Range` into any `AsyncWrite`.
//!
//! `Content-Range` is validated (a `200` to a ranged request is an error, never silently
//! accepted), a cut connection resumes from the bytes already written, the token is renewed
//! when it expires (or is refused), and progress is reported per chunk. The token URL is never
//! logged or put in an error.

use std::path::{Path, PathBuf};
use std::time::Duration;

use futures_util::StreamExt;
use reqwest::header::{CONTENT_LENGTH, CONTENT_RANGE, RANGE};
use tokio::io::{AsyncWrite, AsyncWriteExt};
use tokio::time::Instant;

use crate::client::Client;
use crate::error::{Error, Result};
use crate::hash::{HashPipe, same_whirlpool};
use crate::progress::Progress;
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

/// A byte range answer, parsed from `Content-Range: bytes a-b/total`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ContentRange {
    /// First byte.
    pub start: u64,
    /// Last byte (inclusive).
    pub end: u64,
    /// Full size, when given (`*` otherwise).
    pub total: Option<u64>,
}

impl ContentRange {
    /// Parses a `Content-Range` header value.
    pub fn parse(v: &str) -> Option<ContentRange> {
        let rest = v.trim().strip_prefix("bytes")?.trim_start();
        let (range, total) = rest.split_once('/')?;
        let (a, b) = range.trim().split_once('-')?;
        let start: u64 = a.trim().parse().ok()?;
        let end: u64 = b.trim().parse().ok()?;
        let total = match total.trim() {
            "*" => None,
            t => Some(t.parse().ok()?),
        };
        if end < start || total.is_some_and(|t| end >= t) {
            return None;
        }
        Some(ContentRange { start, end, total })
    }
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
        let what = "download";
        let ranged = *offset > 0 || req.end.is_some();
        let mut http = self.inner.http.get(token.expose_url());
        if ranged {
            let range = match req.end {
                Some(e) => format!("bytes={}-{}", *offset, e.saturating_sub(1)),
                None => format!("bytes={}-", *offset),
            };
            http = http.header(RANGE, range);
        }
        let resp = match http.send().await {
            Ok(r) => r,
            Err(e) if e.is_timeout() || e.is_connect() || e.is_request() => {
                return Ok(Leg::Cut(Error::transport(what, e)));
            }
            Err(e) => return Err(Error::transport(what, e)),
        };
        let status = resp.status().as_u16();
        let header = |name| {
            resp.headers()
                .get(name)
                .and_then(|v: &reqwest::header::HeaderValue| v.to_str().ok())
                .map(str::to_owned)
        };
        let expected_len: u64 = match status {
            206 => {
                let raw = header(CONTENT_RANGE)
                    .ok_or_else(|| Error::protocol(what, "206 without Content-Range", b""))?;
                let cr = ContentRange::parse(&raw).ok_or_else(|| {
                    Error::protocol(what, format!("invalid Content-Range {raw:?}"), b"")
                })?;
                if cr.start != *offset {
                    return Err(Error::protocol(
                        what,
                        format!(
                            "asked for bytes from {}, got Content-Range {raw:?}",
                            *offset
                        ),
                        b"",
                    ));
                }
                if let (Some(t), Some(prev)) = (cr.total, *total)
                    && t != prev
                {
                    return Err(Error::protocol(
                        what,
                        format!("the file size changed from {prev} to {t} during the download"),
                        b"",
                    ));
                }
                if cr.total.is_some() {
                    *total = cr.total;
                }
                let len = cr.end - cr.start + 1;
                if let Some(cl) = header(CONTENT_LENGTH).and_then(|v| v.parse::<u64>().ok())
                    && cl != len
                {
                    return Err(Error::protocol(
                        what,
                        format!("Content-Length {cl} does not match Content-Range {raw:?}"),
                        b"",
                    ));
                }
                len
            }
            200 if ranged => {
                return Err(Error::protocol(
                    what,
                    "the server answered 200 (whole file) to a ranged request; refusing to append it",
                    b"",
                ));
            }
            200 => {
                let cl = header(CONTENT_LENGTH)
                    .and_then(|v| v.parse::<u64>().ok())
                    .ok_or_else(|| Error::protocol(what, "200 without Content-Length", b""))?;
                if let Some(prev) = *total
                    && prev != cl
                {
                    return Err(Error::protocol(
                        what,
                        "the file size changed during the download",
                        b"",
                    ));
                }
                *total = Some(cl);
                cl
            }
            416 => {
                // Asking past the end: fine only when everything is already there.
                let t = header(CONTENT_RANGE).and_then(|v| {
                    v.rsplit('/')
                        .next()
                        .and_then(|t| t.trim().parse::<u64>().ok())
                });
                if t == Some(*offset) {
                    *total = t;
                    return Ok(Leg::Complete);
                }
                return Err(Error::protocol(
                    what,
                    format!("range from {} not satisfiable (size {t:?})", *offset),
                    b"",
                ));
            }
            401 | 403 | 404 | 410 => {
                // A JSON KO (flood, not allowed…) keeps its meaning; a bare refusal of the
                // token URL means it expired or was used up.
                let body = resp.bytes().await.unwrap_or_default();
                let msg = serde_json::from_slice::<serde_json::Value>(&body)
                    .ok()
                    .and_then(|v| v.get("message").and_then(|m| m.as_str()).map(str::to_owned));
                let err = match msg {
                    Some(m) => crate::error::classify(status, Some(&m), &self.redact_bytes(&body)),
                    None => Error::TokenExpired { status },
                };
                return Ok(Leg::TokenRefused(err));
            }
            s if s >= 500 => {
                let body = resp.bytes().await.unwrap_or_default();
                return Ok(Leg::Cut(crate::error::classify(
                    status,
                    None,
                    &self.redact_bytes(&body),
                )));
            }
            _ => {
                let body = resp.bytes().await.unwrap_or_default();
                return Err(crate::error::classify(
                    status,
                    None,
                    &self.redact_bytes(&body),
                ));
            }
        };
        if !*started {
            progress.start(*total, *offset);
            *started = true;
        }
        let mut received = 0u64;
        let mut stream = resp.bytes_stream();
        while let Some(chunk) = stream.next().await {
            let chunk = match chunk {
                Ok(c) => c,
                Err(e) => return Ok(Leg::Cut(Error::transport(what, e))),
            };
            let n = chunk.len() as u64;
            if received + n > expected_len {
                return Err(Error::protocol(
                    what,
                    "the server sent more bytes than announced",
                    b"",
                ));
            }
            writer
                .write_all(&chunk)
                .await
                .map_err(|e| Error::io(None, e))?;
            if let Some(h) = hasher {
                h.feed(chunk).await;
            }
            received += n;
            *offset += n;
            progress.bytes(n);
        }
        if received < expected_len {
            return Ok(Leg::Cut(Error::protocol_transient(
                what,
                format!("the connection ended after {received} of {expected_len} bytes"),
                b"",
            )));
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
                what,
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

    /// Downloads a file to `dest`, resuming from `dest.part` when present, then checks size
    /// and whirlpool against `file/info` before renaming `.part` into place.
    pub async fn download_file(
        &self,
        link: &FileLink,
        pass: Option<&Password>,
        dest: &Path,
        progress: &dyn Progress,
    ) -> Result<DownloadOutcome> {
        let info = self.file_info(link, pass).await?;
        let part = part_path(dest);
        let mut file = tokio::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&part)
            .await
            .map_err(|e| Error::io(Some(part.clone()), e))?;
        let mut offset = file
            .metadata()
            .await
            .map_err(|e| Error::io(Some(part.clone()), e))?
            .len();
        if offset > info.size {
            // Longer than the file: not a prefix of it. Start over.
            file.set_len(0)
                .await
                .map_err(|e| Error::io(Some(part.clone()), e))?;
            offset = 0;
        }
        let mut req = DownloadRequest::new(link.clone());
        req.password = pass.cloned();
        req.offset = offset;
        let outcome = if offset == info.size {
            DownloadOutcome {
                bytes_written: 0,
                end_offset: offset,
                total_size: Some(info.size),
                whirlpool: None,
                tokens_used: 0,
            }
        } else {
            self.download_to(&req, &mut file, progress).await?
        };
        file.sync_all()
            .await
            .map_err(|e| Error::io(Some(part.clone()), e))?;
        drop(file);
        if outcome.end_offset != info.size {
            return Err(Error::Integrity {
                what: format!("size of {}", dest.display()),
                expected: info.size.to_string(),
                actual: outcome.end_offset.to_string(),
            });
        }
        let local = match &outcome.whirlpool {
            Some(h) => h.clone(),
            None => crate::hash::whirlpool_file(&part).await?,
        };
        if let Some(expected) = &info.checksum
            && !same_whirlpool(expected, &local)
        {
            // A damaged .part must not be resumed again.
            let _ = tokio::fs::remove_file(&part).await;
            return Err(Error::Integrity {
                what: format!("whirlpool of {}", dest.display()),
                expected: expected.clone(),
                actual: local,
            });
        }
        tokio::fs::rename(&part, dest)
            .await
            .map_err(|e| Error::io(Some(dest.to_path_buf()), e))?;
        Ok(DownloadOutcome {
            whirlpool: Some(local),
            ..outcome
        })
    }
}

/// `<dest>.part`: where an unfinished download lives.
pub fn part_path(dest: &Path) -> PathBuf {
    let mut s = dest.as_os_str().to_owned();
    s.push(".part");
    PathBuf::from(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_range() {
        assert_eq!(
            ContentRange::parse("bytes 0-15/34"),
            Some(ContentRange {
                start: 0,
                end: 15,
                total: Some(34)
            })
        );
        assert_eq!(
            ContentRange::parse("bytes 5-9/*"),
            Some(ContentRange {
                start: 5,
                end: 9,
                total: None
            })
        );
        assert_eq!(ContentRange::parse("bytes 9-5/34"), None);
        assert_eq!(ContentRange::parse("bytes 0-34/34"), None);
        assert_eq!(ContentRange::parse("items 0-1/2"), None);
    }
}
