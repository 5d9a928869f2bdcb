//! The retry policy, kept apart from classification: which failures are tried again, how
//! often, and after how long. Classification (what an answer means) lives in `error`.
//!
//! Only temporary errors are retried. Reads (listings, info, tokens) may be re-sent after a
//! timeout; mutations are never blindly re-sent after an ambiguous failure: the client first
//! checks the account's state (see `Client` docs). Every retry logs one line.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// How many times and how fast to retry temporary failures.
#[derive(Debug, Clone)]
pub struct RetryPolicy {
    /// Attempts per call for server/network errors, the first included (default 4).
    pub max_attempts: u32,
    /// Delay before the first retry; doubles each time, with ±25 % jitter (default 1 s).
    pub base_delay: Duration,
    /// Cap of the delay (default 30 s).
    pub max_delay: Duration,
    /// How many flood answers one call sits out (waiting the pacer's cooldown each time)
    /// before failing with [`crate::Error::FloodLocked`] (default 2). `0` fails at the
    /// first flood answer (the cooldown still applies to the next call).
    pub flood_retries: u32,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_attempts: 4,
            base_delay: Duration::from_secs(1),
            max_delay: Duration::from_secs(30),
            flood_retries: 2,
        }
    }
}

impl RetryPolicy {
    /// Never retry anything.
    pub fn none() -> Self {
        RetryPolicy {
            max_attempts: 1,
            flood_retries: 0,
            ..Default::default()
        }
    }

    /// Fast retries for tests against a local emulator (10 ms base delay).
    pub fn fast() -> Self {
        RetryPolicy {
            max_attempts: 4,
            base_delay: Duration::from_millis(10),
            max_delay: Duration::from_millis(100),
            flood_retries: 2,
        }
    }

    /// The delay before retry number `retry` (1 for the first retry).
    pub fn delay(&self, retry: u32) -> Duration {
        let exp = self
            .base_delay
            .saturating_mul(1u32 << retry.saturating_sub(1).min(16));
        let capped = exp.min(self.max_delay);
        // Jitter from the clock's nanoseconds: enough to de-synchronise parallel workers.
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or(0);
        let factor = 0.75 + f64::from(nanos % 1000) / 2000.0;
        capped.mul_f64(factor).min(self.max_delay)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_grow_and_cap() {
        let p = RetryPolicy::default();
        let d1 = p.delay(1);
        assert!(d1 >= Duration::from_millis(750) && d1 <= Duration::from_millis(1250));
        let d3 = p.delay(3);
        assert!(d3 >= Duration::from_secs(3) && d3 <= Duration::from_secs(5));
        assert!(p.delay(30) <= Duration::from_secs(30));
    }
}
