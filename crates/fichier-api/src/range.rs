//! The ranged GET primitive: one `GET` of a download token URL for bytes `[start, end)`, the
//! answer validated (`Content-Range`, `Content-Length`, a `200` usable only from byte 0), then
//! a body that yields exactly the announced bytes chunk by chunk to a per-chunk observer.
//! The one place in the workspace that builds a `Range` header. The token URL is never
//! logged or put in an error.

use bytes::Bytes;
use futures_util::StreamExt;
use reqwest::header::{CONTENT_LENGTH, CONTENT_RANGE, RANGE};

use crate::api::download::DownloadToken;
use crate::client::Client;
use crate::error::{Error, Result};
use crate::progress::Progress;

/// What a download answer's error messages call the token URL.
const WHAT: &str = "download URL";

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
    /// Parses a `Content-Range` header value (`bytes a-b/total` or `bytes a-b/*`). Anything
    /// else, a range ending before it starts, or one reaching past the total is `None`.
    pub fn parse(v: &str) -> Option<ContentRange> {
        let rest = v.trim().strip_prefix("bytes")?;
        if !rest.starts_with([' ', '\t']) {
            return None;
        }
        let (range, total) = rest.trim_start().split_once('/')?;
        let (a, b) = range.trim().split_once('-')?;
        let start = digits(a.trim())?;
        let end = digits(b.trim())?;
        let total = match total.trim() {
            "*" => None,
            t => Some(digits(t)?),
        };
        if end < start || total.is_some_and(|t| end >= t) {
            return None;
        }
        Some(ContentRange { start, end, total })
    }

    /// Bytes in the range.
    pub fn len(&self) -> u64 {
        self.end - self.start + 1
    }

    /// Never true: a valid range holds at least one byte.
    pub fn is_empty(&self) -> bool {
        false
    }
}

/// Only ASCII digits (no sign, no spaces inside), as HTTP allows.
fn digits(s: &str) -> Option<u64> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

/// How one ranged GET answered.
#[derive(Debug)]
#[non_exhaustive]
pub enum RangeAnswer {
    /// The server sends the bytes: read them from the body.
    Body(RangeBody),
    /// A temporary failure before any byte (connection, 5xx, 429): resume later with the
    /// same token.
    Cut(Error),
    /// The token URL was refused: [`Error::TokenExpired`] for a bare refusal (renew the token
    /// and resume), or the service's classified KO message (flood, not allowed…).
    Refused(Error),
}

/// The body of a validated range answer: yields exactly [`RangeBody::len`] bytes from
/// [`RangeBody::start`], or an error saying where it was cut.
pub struct RangeBody {
    stream: std::pin::Pin<Box<dyn futures_util::Stream<Item = reqwest::Result<Bytes>> + Send>>,
    start: u64,
    len: u64,
    total: Option<u64>,
    received: u64,
}

impl std::fmt::Debug for RangeBody {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RangeBody")
            .field("start", &self.start)
            .field("len", &self.len)
            .field("total", &self.total)
            .field("received", &self.received)
            .finish_non_exhaustive()
    }
}

impl RangeBody {
    /// The first byte the body holds.
    pub fn start(&self) -> u64 {
        self.start
    }
    /// How many bytes the body holds (never past the requested end).
    pub fn len(&self) -> u64 {
        self.len
    }
    /// True when the body holds no bytes (a request from the file's end).
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
    /// The full size of the file, when the server said it.
    pub fn total(&self) -> Option<u64> {
        self.total
    }
    /// Bytes yielded so far.
    pub fn received(&self) -> u64 {
        self.received
    }

    /// The next chunk, reported to `observer` (`bytes`). `Ok(None)` once every announced byte
    /// arrived. A cut connection or an early end is a temporary error: resume from
    /// `start + received`.
    pub async fn next_chunk(&mut self, observer: &dyn Progress) -> Result<Option<Bytes>> {
        if self.received >= self.len {
            return Ok(None);
        }
        match self.stream.next().await {
            Some(Ok(chunk)) => {
                let take = (chunk.len() as u64).min(self.len - self.received) as usize;
                let chunk = chunk.slice(..take);
                self.received += take as u64;
                observer.bytes(take as u64);
                Ok(Some(chunk))
            }
            Some(Err(e)) => Err(Error::transport(WHAT, e)),
            None => Err(Error::protocol_transient(
                WHAT,
                format!(
                    "the connection ended after {} of {} bytes",
                    self.received, self.len
                ),
                b"",
            )),
        }
    }
}

impl Client {
    /// One `GET` of `token` for bytes `[start, end)` (`end` `None`: to the end of the file).
    ///
    /// Sends a `Range` header unless the whole file is asked for. A `206` must carry a
    /// `Content-Range` starting at `start` and ending inside the request; a `200` (the whole
    /// file) is accepted only when `start` is 0, and read no further than `end`; `416` from
    /// the file's end is an empty body. Errors in the answer's shape are `Err` (temporary
    /// [`Error::Protocol`]); a cut or server error before the body is [`RangeAnswer::Cut`];
    /// a refused token is [`RangeAnswer::Refused`].
    pub async fn range_get(
        &self,
        token: &DownloadToken,
        start: u64,
        end: Option<u64>,
    ) -> Result<RangeAnswer> {
        if end.is_some_and(|e| e <= start) {
            return Err(Error::invalid_input(format!(
                "the range [{start}, {}) is empty",
                end.unwrap_or_default()
            )));
        }
        let ranged = start > 0 || end.is_some();
        let mut http = self.inner.http.get(token.expose_url());
        if ranged {
            let range = match end {
                Some(e) => format!("bytes={start}-{}", e - 1),
                None => format!("bytes={start}-"),
            };
            http = http.header(RANGE, range);
        }
        let resp = match http.send().await {
            Ok(r) => r,
            Err(e) if e.is_timeout() || e.is_connect() || e.is_request() => {
                return Ok(RangeAnswer::Cut(Error::transport(WHAT, e)));
            }
            Err(e) => return Err(Error::transport(WHAT, e)),
        };
        let status = resp.status().as_u16();
        let header = |name| {
            resp.headers()
                .get(name)
                .and_then(|v: &reqwest::header::HeaderValue| v.to_str().ok())
                .map(str::to_owned)
        };
        let bad = |what: String| Error::protocol_transient(WHAT, what, b"");
        let content_length = header(CONTENT_LENGTH).and_then(|v| v.parse::<u64>().ok());
        let (len, total) = match status {
            206 => {
                let raw = header(CONTENT_RANGE)
                    .ok_or_else(|| bad("the server answered 206 without Content-Range".into()))?;
                let cr = ContentRange::parse(&raw)
                    .ok_or_else(|| bad(format!("invalid Content-Range {raw:?}")))?;
                if cr.start != start || end.is_some_and(|e| cr.end >= e) {
                    return Err(bad(format!(
                        "asked for bytes {start}-{}, got Content-Range {raw:?}",
                        end.map(|e| (e - 1).to_string()).unwrap_or_default()
                    )));
                }
                if let Some(cl) = content_length
                    && cl != cr.len()
                {
                    return Err(bad(format!(
                        "Content-Length {cl} does not match Content-Range {raw:?}"
                    )));
                }
                (cr.len(), cr.total)
            }
            200 if start == 0 => {
                // The whole file (the Range header was ignored): usable from byte 0.
                let cl = content_length
                    .ok_or_else(|| bad("the server answered 200 without Content-Length".into()))?;
                (end.map_or(cl, |e| e.min(cl)), Some(cl))
            }
            200 => {
                return Err(bad(
                    "the server ignored the Range header (200, whole file); refusing to write the whole file at an offset"
                        .into(),
                ));
            }
            416 => {
                // Asking past the end: fine only when the request starts exactly at the end.
                let t = header(CONTENT_RANGE).and_then(|v| {
                    v.rsplit('/')
                        .next()
                        .and_then(|t| t.trim().parse::<u64>().ok())
                });
                if t != Some(start) {
                    return Err(bad(format!(
                        "the range from byte {start} is not satisfiable (size {t:?})"
                    )));
                }
                (0, t)
            }
            401 | 403 | 404 | 410 => {
                // A JSON KO (flood, not allowed…) keeps its meaning; a bare refusal of the
                // token URL means it expired or was used up.
                let body = resp.bytes().await.unwrap_or_default();
                let msg = serde_json::from_slice::<serde_json::Value>(&body)
                    .ok()
                    .and_then(|v| v.get("message").and_then(|m| m.as_str()).map(str::to_owned))
                    .filter(|m| !m.trim().is_empty());
                let err = match msg {
                    Some(m) => crate::error::classify(status, Some(&m), &self.redact_bytes(&body)),
                    None => Error::TokenExpired { status },
                };
                return Ok(RangeAnswer::Refused(err));
            }
            s if s == 429 || s >= 500 => {
                let body = resp.bytes().await.unwrap_or_default();
                return Ok(RangeAnswer::Cut(crate::error::classify(
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
        Ok(RangeAnswer::Body(RangeBody {
            stream: Box::pin(resp.bytes_stream()),
            start,
            len,
            total,
            received: 0,
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

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
        assert_eq!(ContentRange::parse("bytes0-1/2"), None);
        assert_eq!(ContentRange::parse("bytes +0-1/2"), None);
        assert_eq!(ContentRange::parse("bytes 0-1/-2"), None);
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        /// A well-formed header round-trips; the parsed range is inside the total.
        #[test]
        fn content_range_round_trips(start in 0u64..u64::MAX / 4, len in 1u64..1 << 40, extra in 0u64..1 << 40, star in any::<bool>()) {
            let end = start + len - 1;
            let total = end + 1 + extra;
            let raw = if star { format!("bytes {start}-{end}/*") } else { format!("bytes {start}-{end}/{total}") };
            let cr = ContentRange::parse(&raw).expect("well formed");
            prop_assert_eq!(cr.start, start);
            prop_assert_eq!(cr.end, end);
            prop_assert_eq!(cr.len(), len);
            prop_assert_eq!(cr.total, (!star).then_some(total));
        }

        /// Arbitrary text never panics, and whatever parses is a consistent range.
        #[test]
        fn content_range_never_accepts_inconsistent_ranges(raw in "\\PC{0,40}|bytes [0-9 -]{0,12}/[0-9*]{0,6}") {
            if let Some(cr) = ContentRange::parse(&raw) {
                prop_assert!(cr.start <= cr.end);
                prop_assert!(cr.total.is_none_or(|t| cr.end < t));
            }
        }
    }
}
