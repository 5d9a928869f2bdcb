//! Direct downloads: `GET|HEAD /dl/<token>` streams the file from disk, with single-range
//! `Range` support (206 / 416), `Content-Disposition`, token expiry and `single` tokens.

use std::io::SeekFrom;
use std::sync::Arc;
use std::time::Instant;

use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use tokio::io::{AsyncReadExt, AsyncSeekExt};
use tokio_util::io::ReaderStream;

use crate::reply::{expired, page};
use crate::state::App;
use crate::store::FileRow;

/// Read size for streaming files (large reads keep loopback throughput high).
const CHUNK: usize = 256 * 1024;

/// A parsed `Range` header against a size.
#[derive(Debug, PartialEq, Eq)]
enum Range {
    Full,
    Part(u64, u64),
    Unsatisfiable,
}

fn parse_range(h: Option<&str>, size: u64) -> Range {
    let Some(spec) = h.and_then(|v| v.trim().strip_prefix("bytes=")) else {
        return Range::Full;
    };
    // Several ranges: serve the whole file (allowed by RFC 9110).
    if spec.contains(',') {
        return Range::Full;
    }
    let Some((a, b)) = spec.trim().split_once('-') else {
        return Range::Full;
    };
    let (a, b) = (a.trim(), b.trim());
    if a.is_empty() {
        // Suffix range: the last N bytes.
        return match b.parse::<u64>() {
            Ok(0) => Range::Unsatisfiable,
            Ok(n) if size == 0 => {
                let _ = n;
                Range::Unsatisfiable
            }
            Ok(n) => Range::Part(size.saturating_sub(n), size - 1),
            Err(_) => Range::Full,
        };
    }
    let Ok(start) = a.parse::<u64>() else {
        return Range::Full;
    };
    let end = if b.is_empty() {
        size.saturating_sub(1)
    } else {
        match b.parse::<u64>() {
            Ok(e) if e >= start => e.min(size.saturating_sub(1)),
            Ok(_) => return Range::Full,
            Err(_) => return Range::Full,
        }
    };
    if start >= size {
        return Range::Unsatisfiable;
    }
    Range::Part(start, end)
}

fn disposition(f: &FileRow, inline: bool) -> HeaderValue {
    let kind = if inline { "inline" } else { "attachment" };
    let ascii: String = f
        .filename
        .chars()
        .map(|c| {
            if c.is_ascii() && !c.is_ascii_control() && c != '"' && c != '\\' {
                c
            } else {
                '_'
            }
        })
        .collect();
    let mut v = format!("{kind}; filename=\"{ascii}\"");
    if ascii != f.filename {
        let enc =
            percent_encoding::utf8_percent_encode(&f.filename, percent_encoding::NON_ALPHANUMERIC);
        v.push_str(&format!("; filename*=UTF-8''{enc}"));
    }
    HeaderValue::from_str(&v).unwrap_or_else(|_| HeaderValue::from_static("attachment"))
}

/// `GET|HEAD /dl/<token>`.
pub async fn download(
    State(app): State<Arc<App>>,
    Path(token): Path<String>,
    method: Method,
    headers: HeaderMap,
) -> Response {
    let tok = {
        let mut tokens = app.tokens.lock().unwrap_or_else(|p| p.into_inner());
        let now = Instant::now();
        tokens.retain(|_, t| t.expires > now);
        match tokens.get_mut(&token) {
            None => None,
            Some(t) if t.single && t.used => return expired(),
            Some(t) => {
                if method == Method::GET && t.single {
                    t.used = true;
                }
                Some(t.clone())
            }
        }
    };
    let Some(tok) = tok else {
        // Unknown and expired tokens look alike once swept: answer "expired" for both, since a
        // client holding a token URL most likely held it too long.
        return expired();
    };
    let app2 = app.clone();
    let id = tok.file_id.clone();
    let file = tokio::task::spawn_blocking(move || app2.store.file(&id))
        .await
        .ok()
        .and_then(Result::ok)
        .flatten();
    let Some(f) = file else {
        return page(StatusCode::NOT_FOUND, "File not found");
    };
    let size = f.size as u64;
    let range_header = headers.get(header::RANGE).and_then(|v| v.to_str().ok());
    let (status, start, len) = match parse_range(range_header, size) {
        Range::Full => (StatusCode::OK, 0, size),
        Range::Part(a, b) => (StatusCode::PARTIAL_CONTENT, a, b - a + 1),
        Range::Unsatisfiable => {
            let mut r = (StatusCode::RANGE_NOT_SATISFIABLE, "").into_response();
            if let Ok(v) = HeaderValue::from_str(&format!("bytes */{size}")) {
                r.headers_mut().insert(header::CONTENT_RANGE, v);
            }
            return r;
        }
    };
    let ctype = if tok.inline {
        f.content_type.clone()
    } else {
        "application/octet-stream".to_string()
    };
    let mut builder = Response::builder()
        .status(status)
        .header(header::CONTENT_TYPE, ctype)
        .header(header::CONTENT_DISPOSITION, disposition(&f, tok.inline))
        .header(header::ACCEPT_RANGES, "bytes")
        .header(header::CONTENT_LENGTH, len.to_string());
    if status == StatusCode::PARTIAL_CONTENT {
        builder = builder.header(
            header::CONTENT_RANGE,
            format!("bytes {}-{}/{}", start, start + len - 1, size),
        );
    }
    let body = if method == Method::HEAD || len == 0 {
        Body::empty()
    } else {
        let mut file = match tokio::fs::File::open(app.store.blob_path(&f.blob)).await {
            Ok(f) => f,
            Err(e) => return crate::error::Ko::internal(e).into_response(),
        };
        if start > 0
            && let Err(e) = file.seek(SeekFrom::Start(start)).await
        {
            return crate::error::Ko::internal(e).into_response();
        }
        Body::from_stream(ReaderStream::with_capacity(file.take(len), CHUNK))
    };
    builder
        .body(body)
        .unwrap_or_else(|_| StatusCode::INTERNAL_SERVER_ERROR.into_response())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        /// Any header and size: a range inside the file, the whole file, or 416.
        #[test]
        fn any_range_header_stays_inside_the_file(h in "\\PC{0,24}", size in 0u64..1 << 40) {
            match parse_range(Some(&h), size) {
                Range::Part(a, b) => prop_assert!(a <= b && b < size, "{h} {size}: {a}-{b}"),
                Range::Full | Range::Unsatisfiable => {}
            }
        }

        /// `bytes=a-b` and `bytes=-n` mean what RFC 9110 says.
        #[test]
        fn well_formed_ranges_are_read_exactly(size in 1u64..1 << 40, x in any::<u64>(), y in any::<u64>()) {
            let a = x % size;
            let b = a + y % (size - a);
            prop_assert_eq!(parse_range(Some(&format!("bytes={a}-{b}")), size), Range::Part(a, b));
            prop_assert_eq!(parse_range(Some(&format!("bytes={a}-")), size), Range::Part(a, size - 1));
            let n = 1 + y % size;
            prop_assert_eq!(
                parse_range(Some(&format!("bytes=-{n}")), size),
                Range::Part(size - n, size - 1)
            );
            prop_assert_eq!(
                parse_range(Some(&format!("bytes={}-", size + x % 1000)), size),
                Range::Unsatisfiable
            );
        }
    }

    #[test]
    fn ranges() {
        assert_eq!(parse_range(None, 34), Range::Full);
        assert_eq!(parse_range(Some("bytes=0-15"), 34), Range::Part(0, 15));
        assert_eq!(parse_range(Some("bytes=30-"), 34), Range::Part(30, 33));
        assert_eq!(parse_range(Some("bytes=-4"), 34), Range::Part(30, 33));
        assert_eq!(parse_range(Some("bytes=10-999"), 34), Range::Part(10, 33));
        assert_eq!(parse_range(Some("bytes=34-"), 34), Range::Unsatisfiable);
        assert_eq!(parse_range(Some("bytes=0-1,5-6"), 34), Range::Full);
        assert_eq!(parse_range(Some("items=0-1"), 34), Range::Full);
    }
}
