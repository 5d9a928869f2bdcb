//! The retry policy and the one attempt loop every retrying call goes through: which failures
//! are tried again, how often, after how long (on the pacer's clock), and the final error's
//! account of the attempts. Classification (what an answer means) lives in `error`.
//!
//! Only temporary errors are retried. Reads (listings, info, tokens) may be re-sent after a
//! timeout; mutations are never blindly re-sent after an ambiguous failure: the client first
//! checks the account's state (see `Client` docs). Every retry logs one line. The shape follows
//! object_store's `RetryConfig`: a doubling backoff with jitter, a cap, a number of attempts
//! and an overall time limit.

use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use tokio::time::Instant;

use crate::error::{Attempts, Error, Result};
use crate::pacer::Clock;

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
    /// Longest time one call keeps retrying, from its first attempt: no new attempt starts
    /// after it (default 3 min). Flood cooldowns count too.
    pub retry_timeout: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_attempts: 4,
            base_delay: Duration::from_secs(1),
            max_delay: Duration::from_secs(30),
            flood_retries: 2,
            retry_timeout: Duration::from_secs(180),
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
            retry_timeout: Duration::from_secs(30),
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

    /// Attempts allowed for a call that failed with `err`. A request that never reached the
    /// service (connection refused, DNS failure) gets at most 3: the service is down or the
    /// URL is wrong, and the user should learn it in seconds, not minutes.
    pub fn max_attempts_for(&self, err: &Error) -> u32 {
        if err.never_sent() {
            self.max_attempts.min(3)
        } else {
            self.max_attempts
        }
    }

    /// Runs `op` (given the attempt number, from 1) until it succeeds, fails for good, or the
    /// policy gives up, sleeping on `clock` between attempts. Only errors that
    /// [`Error::is_retryable`] are tried again; the final error tells how many attempts
    /// were made over how long.
    pub async fn run<T, F, Fut>(&self, clock: Arc<dyn Clock>, what: &str, mut op: F) -> Result<T>
    where
        F: FnMut(u32) -> Fut,
        Fut: Future<Output = Result<T>>,
    {
        let mut attempts = AttemptLoop::new(self.clone(), clock);
        loop {
            let n = attempts.start();
            match op(n).await {
                Ok(v) => return Ok(v),
                Err(e) => match attempts.after(e, true) {
                    Next::Retry(delay, e) => {
                        tracing::warn!(
                            what,
                            attempt = n,
                            delay_ms = delay.as_millis() as u64,
                            "retrying: {e}"
                        );
                        attempts.sleep(delay).await;
                    }
                    Next::Stop(e) => return Err(e),
                },
            }
        }
    }
}

/// What to do after a failed attempt.
#[derive(Debug)]
pub(crate) enum Next {
    /// Try again after this delay (zero after a flood answer: the pacer holds the next call
    /// for the cooldown). The error is handed back for the log line.
    Retry(Duration, Error),
    /// Give up with this error (annotated with the attempts made).
    Stop(Error),
}

/// The attempts of one call: counts them, decides on each failure, and sleeps on the
/// pacer's clock.
pub(crate) struct AttemptLoop {
    policy: RetryPolicy,
    clock: Arc<dyn Clock>,
    started: Instant,
    attempt: u32,
    floods: u32,
}

impl AttemptLoop {
    pub(crate) fn new(policy: RetryPolicy, clock: Arc<dyn Clock>) -> Self {
        let started = clock.now();
        AttemptLoop {
            policy,
            clock,
            started,
            attempt: 0,
            floods: 0,
        }
    }

    /// Counts a new attempt and returns its number (from 1).
    pub(crate) fn start(&mut self) -> u32 {
        self.attempt += 1;
        self.attempt
    }

    /// How long since the first attempt.
    pub(crate) fn elapsed(&self) -> Duration {
        self.clock.now().saturating_duration_since(self.started)
    }

    /// Decides after a failure. `may_resend` is false when re-sending is not safe (a
    /// mutation's ambiguous failure): then the error is final.
    pub(crate) fn after(&mut self, err: Error, may_resend: bool) -> Next {
        let in_time = self.elapsed() < self.policy.retry_timeout;
        if matches!(err, Error::FloodLocked { .. }) {
            if self.floods < self.policy.flood_retries && in_time {
                self.floods += 1;
                return Next::Retry(Duration::ZERO, err);
            }
            return Next::Stop(self.finish(err));
        }
        if !may_resend || !err.is_retryable() || self.attempt >= self.policy.max_attempts_for(&err)
        {
            return Next::Stop(self.finish(err));
        }
        let delay = self.policy.delay(self.attempt);
        if self.elapsed() + delay >= self.policy.retry_timeout {
            return Next::Stop(self.finish(err));
        }
        Next::Retry(delay, err)
    }

    /// The final error, with the attempts made when there was more than one.
    pub(crate) fn finish(&self, err: Error) -> Error {
        if self.attempt > 1 {
            err.with_attempts(Attempts {
                count: self.attempt,
                elapsed: self.elapsed(),
            })
        } else {
            err
        }
    }

    /// Sleeps on the pacer's clock.
    pub(crate) async fn sleep(&self, d: Duration) {
        let until = self.clock.now() + d;
        self.clock.sleep_until(until).await;
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

    fn server_error() -> Error {
        crate::error::classify(502, None, b"bad gateway")
    }

    #[tokio::test(start_paused = true)]
    async fn final_error_counts_attempts_and_time_on_the_clock() {
        let clock: Arc<dyn Clock> = Arc::new(crate::pacer::TokioClock::default());
        let p = RetryPolicy::default();
        let t0 = Instant::now();
        let err = p
            .run(clock, "test", |_| async { Err::<(), _>(server_error()) })
            .await
            .unwrap_err();
        let text = err.to_string();
        assert!(text.contains("after 4 attempts over"), "{text}");
        assert_eq!(err.attempts().map(|a| a.count), Some(4));
        // 1 + 2 + 4 s of backoff, with ±25 % jitter, on the paused clock.
        let took = Instant::now() - t0;
        assert!(took >= Duration::from_millis(5250) && took <= Duration::from_millis(8750));
        assert!(err.is_retryable());
    }

    #[tokio::test(start_paused = true)]
    async fn retry_timeout_stops_before_the_attempts_run_out() {
        let clock: Arc<dyn Clock> = Arc::new(crate::pacer::TokioClock::default());
        let p = RetryPolicy {
            max_attempts: 100,
            retry_timeout: Duration::from_secs(10),
            ..RetryPolicy::default()
        };
        let t0 = Instant::now();
        let err = p
            .run(clock, "test", |_| async { Err::<(), _>(server_error()) })
            .await
            .unwrap_err();
        assert!(Instant::now() - t0 < Duration::from_secs(10));
        assert!(err.attempts().unwrap().count < 100);
    }

    #[tokio::test(start_paused = true)]
    async fn permanent_errors_are_not_retried() {
        let clock: Arc<dyn Clock> = Arc::new(crate::pacer::TokioClock::default());
        let mut n = 0;
        let err = RetryPolicy::default()
            .run(clock, "test", |_| {
                n += 1;
                async { Err::<(), _>(crate::error::classify(404, None, b"")) }
            })
            .await
            .unwrap_err();
        assert_eq!(n, 1);
        assert!(err.attempts().is_none());
    }
}
