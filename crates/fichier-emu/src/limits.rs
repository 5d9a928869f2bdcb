//! Rate limits and flood locks (reference §1.9): general pace, `user/info` and `file/ls`
//! windows, lock time after a violation. Every window is configurable; presets below.

use std::collections::HashMap;
use std::net::IpAddr;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

/// Flood answer keyed by IP.
pub const IP_LOCKED: &str = "Flood detected: IP Locked #374";
/// Flood answer for `user/info` called too often from one IP.
pub const IP_LOCKED_USER_INFO: &str = "Flood detected: IP Locked #38";
/// Flood answer keyed by account.
pub const USER_LOCKED: &str = "Flood detected: User Locked #223";

/// Rate-limit configuration. `None` disables a rule.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Limits {
    /// Sustained API calls per second per client IP (token bucket).
    pub pace_per_sec: Option<f64>,
    /// Bucket size of the pace rule (calls allowed in a burst).
    pub pace_burst: f64,
    /// Minimum gap between two `user/info` calls from one IP.
    #[serde(with = "opt_ms")]
    pub user_info_ip_window: Option<Duration>,
    /// Minimum gap between two `user/info` calls of one account.
    #[serde(with = "opt_ms")]
    pub user_info_user_window: Option<Duration>,
    /// Minimum gap between two `file/ls` calls on the same folder of one account.
    #[serde(with = "opt_ms")]
    pub file_ls_folder_window: Option<Duration>,
    /// Minimum gap between two whole-account listings (`file/ls` with `folder_id: -1`).
    #[serde(with = "opt_ms")]
    pub file_ls_all_window: Option<Duration>,
    /// Most items one `file/ls` answer returns.
    pub file_ls_max_results: usize,
    /// How long a violation locks the IP or account; repeated violations double it.
    #[serde(with = "ms")]
    pub lock_time: Duration,
    /// Upper bound of the doubled lock time.
    #[serde(with = "ms")]
    pub lock_max: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Limits::off()
    }
}

impl Limits {
    /// No rate limits at all (the 5 000-result cap of `file/ls` stays).
    pub fn off() -> Self {
        Limits {
            pace_per_sec: None,
            pace_burst: 3.0,
            user_info_ip_window: None,
            user_info_user_window: None,
            file_ls_folder_window: None,
            file_ls_all_window: None,
            file_ls_max_results: 5000,
            lock_time: Duration::from_secs(60),
            lock_max: Duration::from_secs(3600),
        }
    }

    /// The documented values: 3 calls/s, `user/info` once a minute per IP and every 5 minutes
    /// per account, a folder listed once per 30 s, the whole account once an hour, 60 s locks.
    pub fn realistic() -> Self {
        Limits {
            pace_per_sec: Some(3.0),
            pace_burst: 3.0,
            user_info_ip_window: Some(Duration::from_secs(60)),
            user_info_user_window: Some(Duration::from_secs(300)),
            file_ls_folder_window: Some(Duration::from_secs(30)),
            file_ls_all_window: Some(Duration::from_secs(3600)),
            file_ls_max_results: 5000,
            lock_time: Duration::from_secs(60),
            lock_max: Duration::from_secs(3600),
        }
    }

    /// The same rules scaled down for fast tests: 30 calls/s (burst 10), `user/info` 1 s per IP
    /// and 2 s per account, a folder every 500 ms, the whole account every 2 s, 1 s locks.
    pub fn scaled() -> Self {
        Limits {
            pace_per_sec: Some(30.0),
            pace_burst: 10.0,
            user_info_ip_window: Some(Duration::from_secs(1)),
            user_info_user_window: Some(Duration::from_secs(2)),
            file_ls_folder_window: Some(Duration::from_millis(500)),
            file_ls_all_window: Some(Duration::from_secs(2)),
            file_ls_max_results: 5000,
            lock_time: Duration::from_secs(1),
            lock_max: Duration::from_secs(4),
        }
    }

    /// A preset by name: `off`, `scaled` or `realistic`.
    pub fn preset(name: &str) -> Option<Self> {
        match name {
            "off" => Some(Limits::off()),
            "scaled" => Some(Limits::scaled()),
            "realistic" => Some(Limits::realistic()),
            _ => None,
        }
    }
}

mod ms {
    use serde::{Deserialize, Deserializer, Serializer};
    use std::time::Duration;

    pub fn serialize<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u64(d.as_millis() as u64)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        Ok(Duration::from_millis(u64::deserialize(d)?))
    }
}

mod opt_ms {
    use serde::{Deserialize, Deserializer, Serializer};
    use std::time::Duration;

    pub fn serialize<S: Serializer>(d: &Option<Duration>, s: S) -> Result<S::Ok, S::Error> {
        match d {
            Some(d) => s.serialize_some(&(d.as_millis() as u64)),
            None => s.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Duration>, D::Error> {
        Ok(Option::<u64>::deserialize(d)?.map(Duration::from_millis))
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Subject {
    Ip(IpAddr),
    User(i64),
}

#[derive(Debug)]
struct Lock {
    until: Instant,
    message: &'static str,
    strikes: u32,
}

/// Mutable limiter state (behind a mutex in the app state).
#[derive(Debug, Default)]
pub struct Limiter {
    buckets: HashMap<IpAddr, (f64, Instant)>,
    last: HashMap<(String, Subject, i64), Instant>,
    locks: HashMap<Subject, Lock>,
}

impl Limiter {
    /// Check one API call; `Err(message)` is the flood answer to send.
    ///
    /// `folder` is the `file/ls` folder (or -1 for the whole account).
    pub fn check(
        &mut self,
        limits: &Limits,
        now: Instant,
        ip: IpAddr,
        account: Option<i64>,
        endpoint: &str,
        folder: Option<i64>,
    ) -> Result<(), &'static str> {
        // An active lock refuses everything from that IP or account.
        for subject in [Some(Subject::Ip(ip)), account.map(Subject::User)]
            .into_iter()
            .flatten()
        {
            if let Some(lock) = self.locks.get(&subject)
                && now < lock.until
            {
                return Err(lock.message);
            }
        }
        if let Some(rate) = limits.pace_per_sec {
            let (tokens, at) = self.buckets.entry(ip).or_insert((limits.pace_burst, now));
            let refill = now.saturating_duration_since(*at).as_secs_f64() * rate;
            *tokens = (*tokens + refill).min(limits.pace_burst);
            *at = now;
            if *tokens < 1.0 {
                return Err(self.violate(limits, now, Subject::Ip(ip), IP_LOCKED));
            }
            *tokens -= 1.0;
        }
        match endpoint {
            "user/info" => {
                self.window(
                    limits.user_info_ip_window,
                    now,
                    (endpoint, Subject::Ip(ip), 0),
                    limits,
                    IP_LOCKED_USER_INFO,
                )?;
                if let Some(a) = account {
                    self.window(
                        limits.user_info_user_window,
                        now,
                        (endpoint, Subject::User(a), 0),
                        limits,
                        USER_LOCKED,
                    )?;
                }
            }
            "file/ls" => {
                if let Some(a) = account {
                    let folder = folder.unwrap_or(0);
                    let w = if folder == -1 {
                        limits.file_ls_all_window
                    } else {
                        limits.file_ls_folder_window
                    };
                    self.window(
                        w,
                        now,
                        (endpoint, Subject::User(a), folder),
                        limits,
                        IP_LOCKED,
                    )?;
                }
            }
            _ => {}
        }
        Ok(())
    }

    fn window(
        &mut self,
        window: Option<Duration>,
        now: Instant,
        key: (&str, Subject, i64),
        limits: &Limits,
        message: &'static str,
    ) -> Result<(), &'static str> {
        let Some(window) = window else { return Ok(()) };
        let k = (key.0.to_string(), key.1, key.2);
        if let Some(prev) = self.last.get(&k)
            && now.saturating_duration_since(*prev) < window
        {
            let subject = key.1;
            return Err(self.violate(limits, now, subject, message));
        }
        self.last.insert(k, now);
        Ok(())
    }

    fn violate(
        &mut self,
        limits: &Limits,
        now: Instant,
        subject: Subject,
        message: &'static str,
    ) -> &'static str {
        let strikes = match self.locks.get(&subject) {
            // A new violation soon after the previous lock ended doubles the lock.
            Some(l) if now.saturating_duration_since(l.until) < limits.lock_max => l.strikes + 1,
            _ => 1,
        };
        let factor = 2u32.saturating_pow(strikes.saturating_sub(1).min(16));
        let time = (limits.lock_time * factor).min(limits.lock_max.max(limits.lock_time));
        self.locks.insert(
            subject,
            Lock {
                until: now + time,
                message,
                strikes,
            },
        );
        message
    }

    /// Forget every lock and window (after a change of limits).
    pub fn reset(&mut self) {
        *self = Limiter::default();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_info_window_locks_then_recovers() {
        let l = Limits::scaled();
        let mut lim = Limiter::default();
        let ip: IpAddr = [127, 0, 0, 1].into();
        let t0 = Instant::now();
        assert!(lim.check(&l, t0, ip, Some(1), "user/info", None).is_ok());
        assert_eq!(
            lim.check(&l, t0, ip, Some(1), "user/info", None),
            Err(IP_LOCKED_USER_INFO)
        );
        // Locked for everything now, until the lock ends.
        assert!(lim.check(&l, t0, ip, Some(1), "folder/ls", None).is_err());
        let later = t0 + Duration::from_secs(3);
        assert!(lim.check(&l, later, ip, Some(1), "folder/ls", None).is_ok());
    }

    #[test]
    fn repeated_violations_double_the_lock() {
        let l = Limits::scaled();
        let mut lim = Limiter::default();
        let ip: IpAddr = [127, 0, 0, 1].into();
        let t0 = Instant::now();
        lim.check(&l, t0, ip, None, "user/info", None).unwrap();
        lim.check(&l, t0, ip, None, "user/info", None).unwrap_err();
        // First lock: 1 s. A new violation right after it ends locks for 2 s.
        let t1 = t0 + Duration::from_millis(1100);
        lim.check(&l, t1, ip, None, "user/info", None).unwrap();
        lim.check(&l, t1, ip, None, "user/info", None).unwrap_err();
        let t2 = t1 + Duration::from_millis(1500);
        assert!(lim.check(&l, t2, ip, None, "folder/ls", None).is_err());
        let t3 = t1 + Duration::from_millis(2100);
        assert!(lim.check(&l, t3, ip, None, "folder/ls", None).is_ok());
    }

    #[test]
    fn pace_bucket_refuses_bursts() {
        let l = Limits::realistic();
        let mut lim = Limiter::default();
        let ip: IpAddr = [127, 0, 0, 1].into();
        let t0 = Instant::now();
        for _ in 0..3 {
            lim.check(&l, t0, ip, Some(1), "folder/ls", None).unwrap();
        }
        assert_eq!(
            lim.check(&l, t0, ip, Some(1), "folder/ls", None),
            Err(IP_LOCKED)
        );
    }

    #[test]
    fn off_never_refuses() {
        let l = Limits::off();
        let mut lim = Limiter::default();
        let ip: IpAddr = [127, 0, 0, 1].into();
        let t = Instant::now();
        for _ in 0..100 {
            assert!(lim.check(&l, t, ip, Some(1), "user/info", None).is_ok());
            assert!(lim.check(&l, t, ip, Some(1), "file/ls", Some(-1)).is_ok());
        }
    }
}
