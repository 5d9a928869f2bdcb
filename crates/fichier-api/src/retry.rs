//! The retry policy and the one attempt loop ([`AttemptLoop`]) every retried request or
//! transfer of the workspace goes through: the client's API calls, the `end.pl` report, and
//! the transfer engine's file, upload and segment attempts. It decides which failures are
//! tried again, how often, after how long (on the pacer's clock), and gives the final error
//! its account of the attempts (count and elapsed time). Classification (what an answer
//! means) lives in `error`; what a caller's own error means to the loop is its [`Retryable`]
//! impl.
//!
//! One cap rule: `max_attempts` counts every attempt, the first included, and the loop stops
//! when that many have failed. Only temporary errors are retried. Reads (listings, info,
//! tokens) may be re-sent after a timeout; mutations are never blindly re-sent after an
//! ambiguous failure: the client first checks the account's state (see `Client` docs). Every
//! retry logs one line and calls the caller's `on_retry` (the engine emits its events there).
//! The shape follows object_store's `RetryConfig`: a doubling backoff with jitter, a cap, a
//! number of attempts and an overall time limit; transfer loops ([`AttemptLoop::for_transfer`])
//! have no time limit, since an attempt lasts as long as its bytes take, and start a new count
//! after an attempt that moved bytes forward ([`AttemptLoop::restart`]). Not requests, and so
//! not here: the queue's per-item backoff (hours between whole items, `queue/schedule.rs`) and
//! SQLite's busy wait.

use std::fmt::Display;
use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use tokio::time::Instant;

use crate::error::{Attempts, Error};
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

    /// Runs `op` (given the attempt number, from 1) until it succeeds, fails for good, or the
    /// policy gives up, sleeping on `clock` between attempts; `on_retry` hears of each retry
    /// before its wait. Only errors that say [`Retryable::is_retryable`] are tried again; the
    /// final error tells how many attempts were made over how long.
    pub async fn run<T, E, F, Fut, R>(
        &self,
        clock: Arc<dyn Clock>,
        what: &str,
        op: F,
        on_retry: R,
    ) -> std::result::Result<T, E>
    where
        E: Retryable + Display,
        F: FnMut(u32) -> Fut,
        Fut: Future<Output = std::result::Result<T, E>>,
        R: FnMut(&Retry<'_, E>),
    {
        AttemptLoop::new(self.clone(), clock)
            .run(what, op, on_retry)
            .await
    }
}

/// What the attempt loop needs to know about a caller's error.
pub trait Retryable: Sized {
    /// Whether a later attempt may succeed.
    fn is_retryable(&self) -> bool;
    /// A flood lock the pacer already waits out: retried up to
    /// [`RetryPolicy::flood_retries`] times, without a backoff of its own.
    fn is_flood(&self) -> bool {
        false
    }
    /// The request never reached the service (connection refused, DNS): at most 3 attempts.
    fn never_sent(&self) -> bool {
        false
    }
    /// The final error, annotated with the attempts made (called only when there were more
    /// than one).
    fn with_attempts(self, made: Attempts) -> Self;
}

impl Retryable for Error {
    fn is_retryable(&self) -> bool {
        Error::is_retryable(self)
    }
    fn is_flood(&self) -> bool {
        matches!(self, Error::FloodLocked { .. })
    }
    fn never_sent(&self) -> bool {
        Error::never_sent(self)
    }
    fn with_attempts(self, made: Attempts) -> Self {
        Error::with_attempts(self, made)
    }
}

/// A retry about to happen, as told to `on_retry`.
#[derive(Debug)]
#[non_exhaustive]
pub struct Retry<'a, E> {
    /// The attempt that failed (from 1).
    pub attempt: u32,
    /// The wait before the next one.
    pub delay: Duration,
    /// Why it failed.
    pub error: &'a E,
}

/// What to do after a failed attempt (exhaustive on purpose: a loop handles both).
#[derive(Debug)]
pub enum Next<E> {
    /// Try again after this delay (zero after a flood answer: the pacer holds the next call
    /// for the cooldown). The error is handed back for the log line.
    Retry(Duration, E),
    /// Give up with this error (annotated with the attempts made).
    Stop(E),
}

/// The attempts of one call or transfer: counts them, decides on each failure, and sleeps on
/// the pacer's clock. [`AttemptLoop::run`] drives a whole loop; callers with state between
/// attempts (a segment that resumes) call [`AttemptLoop::start`] and [`AttemptLoop::after`].
#[derive(Debug)]
pub struct AttemptLoop {
    policy: RetryPolicy,
    clock: Arc<dyn Clock>,
    started: Instant,
    attempt: u32,
    floods: u32,
    time_limit: bool,
}

impl AttemptLoop {
    /// The loop of one API call: attempts and [`RetryPolicy::retry_timeout`] both bound it.
    pub fn new(policy: RetryPolicy, clock: Arc<dyn Clock>) -> Self {
        let started = clock.now();
        AttemptLoop {
            policy,
            clock,
            started,
            attempt: 0,
            floods: 0,
            time_limit: true,
        }
    }

    /// The loop of a transfer (a file, a segment): bounded by the attempts only, since one
    /// attempt lasts as long as its bytes take.
    pub fn for_transfer(policy: RetryPolicy, clock: Arc<dyn Clock>) -> Self {
        AttemptLoop {
            time_limit: false,
            ..AttemptLoop::new(policy, clock)
        }
    }

    /// Counts a new attempt and returns its number (from 1).
    pub fn start(&mut self) -> u32 {
        self.attempt += 1;
        self.attempt
    }

    /// The current attempt's number (0 before the first).
    pub fn attempt(&self) -> u32 {
        self.attempt
    }

    /// The attempt under way moved the transfer forward: it counts as the first of a new
    /// series (attempts and elapsed time start again from it).
    pub fn restart(&mut self) {
        self.attempt = self.attempt.min(1);
        self.floods = 0;
        self.started = self.clock.now();
    }

    /// How long since the first attempt (of the series).
    pub fn elapsed(&self) -> Duration {
        self.clock.now().saturating_duration_since(self.started)
    }

    /// Decides after a failure. `may_resend` is false when re-sending is not safe (a
    /// mutation's ambiguous failure): then the error is final.
    pub fn after<E: Retryable>(&mut self, err: E, may_resend: bool) -> Next<E> {
        let in_time = !self.time_limit || self.elapsed() < self.policy.retry_timeout;
        if err.is_flood() {
            if self.floods < self.policy.flood_retries && in_time {
                self.floods += 1;
                return Next::Retry(Duration::ZERO, err);
            }
            return Next::Stop(self.finish(err));
        }
        let cap = if err.never_sent() {
            self.policy.max_attempts.min(3)
        } else {
            self.policy.max_attempts
        };
        if !may_resend || !err.is_retryable() || self.attempt >= cap {
            return Next::Stop(self.finish(err));
        }
        let delay = self.policy.delay(self.attempt);
        if self.time_limit && self.elapsed() + delay >= self.policy.retry_timeout {
            return Next::Stop(self.finish(err));
        }
        Next::Retry(delay, err)
    }

    /// The final error, with the attempts made when there was more than one.
    pub fn finish<E: Retryable>(&self, err: E) -> E {
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
    pub async fn sleep(&self, d: Duration) {
        let until = self.clock.now() + d;
        self.clock.sleep_until(until).await;
    }

    /// Runs `op` (given the attempt number, from 1) until it succeeds, fails for good, or the
    /// loop gives up; logs each retry and tells `on_retry` before the wait.
    pub async fn run<T, E, F, Fut, R>(
        mut self,
        what: &str,
        mut op: F,
        mut on_retry: R,
    ) -> std::result::Result<T, E>
    where
        E: Retryable + Display,
        F: FnMut(u32) -> Fut,
        Fut: Future<Output = std::result::Result<T, E>>,
        R: FnMut(&Retry<'_, E>),
    {
        loop {
            let n = self.start();
            match op(n).await {
                Ok(v) => return Ok(v),
                Err(e) => match self.after(e, true) {
                    Next::Retry(delay, e) => {
                        tracing::warn!(
                            what,
                            attempt = n,
                            delay_ms = delay.as_millis() as u64,
                            "retrying {what}: {e}"
                        );
                        on_retry(&Retry {
                            attempt: n,
                            delay,
                            error: &e,
                        });
                        self.sleep(delay).await;
                    }
                    Next::Stop(e) => return Err(e),
                },
            }
        }
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
            .run(
                clock,
                "test",
                |_| async { Err::<(), _>(server_error()) },
                |_| {},
            )
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
            .run(
                clock,
                "test",
                |_| async { Err::<(), _>(server_error()) },
                |_| {},
            )
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
            .run(
                clock,
                "test",
                |_| {
                    n += 1;
                    async { Err::<(), _>(crate::error::classify(404, None, b"")) }
                },
                |_| {},
            )
            .await
            .unwrap_err();
        assert_eq!(n, 1);
        assert!(err.attempts().is_none());
    }

    #[tokio::test(start_paused = true)]
    async fn failures_then_success_retry_exactly_as_the_policy_says() {
        let clock: Arc<dyn Clock> = Arc::new(crate::pacer::TokioClock::default());
        for fails in 0..4u32 {
            let mut calls = 0;
            let mut told = Vec::new();
            let got = RetryPolicy::default()
                .run(
                    clock.clone(),
                    "test",
                    |n| {
                        calls += 1;
                        async move {
                            if n <= fails {
                                Err(server_error())
                            } else {
                                Ok(n)
                            }
                        }
                    },
                    |r| told.push(r.attempt),
                )
                .await;
            assert_eq!(got.unwrap(), fails + 1);
            assert_eq!(calls, fails + 1);
            assert_eq!(told, (1..=fails).collect::<Vec<_>>());
        }
        // One failure more than the cap allows: `max_attempts` attempts, then the error.
        let mut calls = 0;
        let err = RetryPolicy::default()
            .run(
                clock,
                "test",
                |_| {
                    calls += 1;
                    async { Err::<(), _>(server_error()) }
                },
                |_| {},
            )
            .await
            .unwrap_err();
        assert_eq!(calls, 4);
        assert_eq!(err.attempts().map(|a| a.count), Some(4));
    }

    #[tokio::test(start_paused = true)]
    async fn a_transfer_loop_has_no_time_limit_and_restarts_its_count_on_progress() {
        let clock: Arc<dyn Clock> = Arc::new(crate::pacer::TokioClock::default());
        let policy = RetryPolicy {
            retry_timeout: Duration::from_secs(1),
            ..RetryPolicy::default()
        };
        let mut tries = AttemptLoop::for_transfer(policy.clone(), clock.clone());
        let mut made = 0;
        loop {
            let n = tries.start();
            made += 1;
            // Every attempt takes longer than the whole time limit (a long transfer).
            tries.sleep(Duration::from_secs(5)).await;
            if made <= 3 {
                // The first three attempts each moved bytes before being cut.
                tries.restart();
            }
            match tries.after(server_error(), true) {
                Next::Retry(d, _) => {
                    assert!(n <= 4);
                    tries.sleep(d).await;
                }
                Next::Stop(e) => {
                    assert_eq!(e.attempts().map(|a| a.count), Some(4));
                    break;
                }
            }
        }
        assert_eq!(
            made,
            3 + 4 - 1,
            "three moving attempts, then four without progress"
        );
        // The same slow attempt in a call's loop stops at the time limit.
        let mut call = AttemptLoop::new(policy, clock);
        call.start();
        call.sleep(Duration::from_secs(5)).await;
        assert!(matches!(call.after(server_error(), true), Next::Stop(_)));
    }
}
