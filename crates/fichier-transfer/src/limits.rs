//! Shared limits every connection of a run obeys: a global bandwidth limiter (token bucket,
//! honoured across all connections and files) and the global connection cap (a semaphore).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio::time::Instant;

/// A token bucket in bytes per second shared by every connection of a run.
///
/// Callers take what they are about to send or have just received; a taker that overdraws the
/// bucket sleeps until the debt is repaid, so the long-run rate is exact whatever the chunk
/// sizes and however many connections take concurrently. The rate can change while transfers
/// run ([`RateLimiter::set_rate`], for a time-of-day timetable); `None` means unlimited.
#[derive(Debug)]
pub struct RateLimiter {
    /// The rate in bytes per second; 0 = unlimited (checked before taking the lock).
    limit: AtomicU64,
    state: Mutex<(f64, Instant)>,
}

impl RateLimiter {
    /// A limiter of `bytes_per_sec` (at least 1). The burst is a quarter second of traffic
    /// (at least 64 KiB) so short bursts do not exceed the rate noticeably.
    pub fn new(bytes_per_sec: u64) -> RateLimiter {
        RateLimiter::with_rate(Some(bytes_per_sec.max(1)))
    }

    /// A limiter of `rate` bytes per second, or an unlimited one for `None`.
    pub fn with_rate(rate: Option<u64>) -> RateLimiter {
        let limiter = RateLimiter {
            limit: AtomicU64::new(0),
            state: Mutex::new((0.0, Instant::now())),
        };
        limiter.set_rate(rate);
        limiter
    }

    /// Changes the rate (`None`: unlimited). Takers sleeping on the old rate finish their
    /// sleep; the next take uses the new rate with a full burst.
    pub fn set_rate(&self, rate: Option<u64>) {
        let r = rate.map_or(0, |r| r.max(1));
        if self.limit.swap(r, Ordering::Relaxed) != r {
            let mut st = self.state.lock().unwrap_or_else(|p| p.into_inner());
            *st = (Self::burst_of(r as f64), Instant::now());
        }
    }

    fn burst_of(rate: f64) -> f64 {
        (rate / 4.0).max(64.0 * 1024.0)
    }

    /// The configured rate in bytes per second (0: unlimited).
    pub fn rate(&self) -> u64 {
        self.limit.load(Ordering::Relaxed)
    }

    /// Accounts for `n` bytes, sleeping as long as the bucket is in debt.
    pub async fn take(&self, n: u64) {
        let limit = self.limit.load(Ordering::Relaxed);
        if limit == 0 {
            return;
        }
        let rate = limit as f64;
        let wait = {
            let mut st = self.state.lock().unwrap_or_else(|p| p.into_inner());
            let now = Instant::now();
            let refill = now.saturating_duration_since(st.1).as_secs_f64() * rate;
            st.0 = (st.0 + refill).min(Self::burst_of(rate)) - n as f64;
            st.1 = now;
            if st.0 >= 0.0 {
                Duration::ZERO
            } else {
                Duration::from_secs_f64(-st.0 / rate)
            }
        };
        if !wait.is_zero() {
            tokio::time::sleep(wait).await;
        }
    }
}

/// The global cap on simultaneous transfer connections (1fichier allows 30 per account).
#[derive(Debug, Clone)]
pub struct ConnectionCap(Arc<Semaphore>, usize);

impl ConnectionCap {
    /// At most `n` (at least 1) connections at a time.
    pub fn new(n: usize) -> ConnectionCap {
        let n = n.max(1);
        ConnectionCap(Arc::new(Semaphore::new(n)), n)
    }
    /// The cap.
    pub fn limit(&self) -> usize {
        self.1
    }
    /// Waits for a free connection slot; the slot is released when the permit drops.
    pub async fn acquire(&self) -> OwnedSemaphorePermit {
        self.0
            .clone()
            .acquire_owned()
            .await
            .expect("the semaphore is never closed")
    }
    /// Connections in use right now.
    pub fn in_use(&self) -> usize {
        self.1 - self.0.available_permits()
    }
}

/// Parses a rate as users write it: `500k`, `10M`, `1.5MiB`, `2m/s`, `750KB/s`, `1000`
/// (bytes). `k`/`m`/`g` are binary multiples (1024), like curl's `--limit-rate`.
pub fn parse_rate(text: &str) -> Result<u64, String> {
    let t = text.trim();
    let lower = t.to_ascii_lowercase();
    let body = lower.strip_suffix("/s").unwrap_or(&lower).trim();
    let body = body
        .strip_suffix("ib")
        .or_else(|| body.strip_suffix('b'))
        .unwrap_or(body);
    let split = body
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(body.len());
    let (num, unit) = body.split_at(split);
    let mult: f64 = match unit.trim() {
        "" => 1.0,
        "k" => 1024.0,
        "m" => 1024.0 * 1024.0,
        "g" => 1024.0 * 1024.0 * 1024.0,
        _ => {
            return Err(format!(
                "`{t}` is not a rate: use e.g. 500k, 10M or 1G (bytes per second)"
            ));
        }
    };
    let n: f64 = num
        .parse()
        .map_err(|_| format!("`{t}` is not a rate: use e.g. 500k, 10M or 1G (bytes per second)"))?;
    let v = (n * mult).round();
    if !(v >= 1.0 && v.is_finite()) {
        return Err(format!(
            "`{t}` is too small: the rate must be at least 1 byte per second"
        ));
    }
    Ok(v as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rates() {
        assert_eq!(parse_rate("1000"), Ok(1000));
        assert_eq!(parse_rate("500k"), Ok(512_000));
        assert_eq!(parse_rate("10M"), Ok(10 * 1024 * 1024));
        assert_eq!(parse_rate("1.5MiB/s"), Ok(1_572_864));
        assert_eq!(parse_rate("2 m/s"), Ok(2 * 1024 * 1024));
        assert_eq!(parse_rate("750KB/s"), Ok(768_000));
        assert!(parse_rate("fast").is_err());
        assert!(parse_rate("0").is_err());
        assert!(parse_rate("10x").is_err());
    }

    #[tokio::test(start_paused = true)]
    async fn limiter_spreads_debt() {
        let l = RateLimiter::new(1024 * 1024);
        let start = Instant::now();
        // The first quarter second is the burst; the rest must take about 3 s.
        for _ in 0..13 {
            l.take(256 * 1024).await;
        }
        let took = start.elapsed();
        assert!(took >= Duration::from_millis(2900), "{took:?}");
        assert!(took <= Duration::from_millis(3100), "{took:?}");
    }
}
