//! The queue runner's rules: what the account's tier allows (files at once, segments, one
//! connection cap), how one item's error becomes its next state or a pause of the whole
//! queue, and the retry backoff. Pure decisions, no I/O: the runner acts on them.

use std::time::Duration;

use fichier_api::{ErrorKind, Offer};

use crate::store::{Item, State};
use fichier_transfer::{ErrorClass, Problem, TransferError};

/// Files downloaded at once by default on Premium and GOLD.
pub const DEFAULT_FILES: usize = 3;
/// Most files at once.
pub const MAX_FILES: usize = 10;
/// Connections across every file of the queue by default.
pub const DEFAULT_CONNECTIONS: usize = 12;
/// Most connections (1fichier's documented per-account limit).
pub const MAX_CONNECTIONS: usize = 30;

/// What the account may do, from `user/info`'s offer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tier {
    /// Premium or Premium GOLD: several files at once, segmented.
    Premium,
    /// Access (or an offer this version does not know): one file at a time.
    Limited,
    /// Free: the API gives no download tokens; links wait in "needs Premium".
    Free,
}

impl Tier {
    /// The tier of an offer.
    pub fn from_offer(offer: Offer) -> Tier {
        match offer {
            Offer::Premium | Offer::Gold => Tier::Premium,
            Offer::Free => Tier::Free,
            _ => Tier::Limited,
        }
    }

    /// Files worked at once for this tier with `asked` configured.
    pub fn files_at_once(self, asked: usize) -> usize {
        match self {
            Tier::Premium => asked.clamp(1, MAX_FILES),
            Tier::Limited => 1,
            Tier::Free => 0,
        }
    }
}

/// The reason given to items while the account is not Premium.
pub const NEEDS_PREMIUM: &str = "needs Premium: a free 1fichier account gets no API download links; \
     upgrade the account (https://1fichier.com/tarifs.html) and the queue starts by itself";

/// Why the whole queue stops for a while.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PauseKind {
    /// Flood protection: no request at all until the cooldown ends.
    Flood,
    /// The account is used from too many places (`Only N locations allowed`, #887).
    Location,
    /// Premium refused from this IP (VPN or datacenter, #913).
    Vpn,
    /// The key is refused.
    Auth,
    /// The local disk is full.
    DiskFull,
    /// 1fichier (or the network) cannot be reached.
    Unavailable,
}

/// What to do with an item after an error.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Stop the whole queue for `wait` (the item waits with it).
    PauseQueue {
        /// Why.
        kind: PauseKind,
        /// For a person: what happened and what to do.
        reason: String,
        /// How long.
        wait: Duration,
    },
    /// The account is not Premium.
    NeedsPremium,
    /// The file is gone.
    Offline(String),
    /// Try this item again after `wait`.
    Retry {
        /// Why.
        reason: String,
        /// How long.
        wait: Duration,
    },
    /// Give up on this item.
    Failed {
        /// Why.
        reason: String,
        /// Whether `queue retry` may help.
        retryable: bool,
    },
}

/// Retry rules for temporary errors of one item.
#[derive(Debug, Clone)]
pub struct RetryRules {
    /// Failed attempts before the item is marked failed (retryable).
    pub max_failures: u32,
    /// First wait; doubles each time.
    pub base: Duration,
    /// Longest wait.
    pub max: Duration,
    /// Shortest whole-queue pause after a flood answer (the pacer's cooldown may be longer).
    pub flood_pause: Duration,
    /// Pause after a location or VPN refusal.
    pub refusal_pause: Duration,
}

impl Default for RetryRules {
    fn default() -> Self {
        RetryRules {
            max_failures: 5,
            base: Duration::from_secs(30),
            max: Duration::from_secs(30 * 60),
            flood_pause: Duration::from_secs(60),
            refusal_pause: Duration::from_secs(5 * 60),
        }
    }
}

impl RetryRules {
    /// The wait before retry number `failures` (1-based).
    pub fn backoff(&self, failures: u32) -> Duration {
        let exp = self
            .base
            .saturating_mul(1u32 << failures.saturating_sub(1).min(16));
        exp.min(self.max)
    }
}

/// When a daemon takes a failed item back by itself: a retryable failure (trouble on the
/// service's side that outlasted the item's retries) is queued again after `after`, doubled
/// at each new round, at most `rounds` times; then it stays failed for `queue retry`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Requeue {
    /// Wait after the first failure of an item.
    pub after: Duration,
    /// Rounds of retries after the first.
    pub rounds: u32,
}

impl Requeue {
    /// Whether `item` is due again at `now`; `per_round` is how many attempts a round makes
    /// (the retry rules' `max_failures`). The item's `attempts` (claims so far) tells which
    /// round it failed in.
    pub fn due(&self, item: &Item, per_round: u32, now: jiff::Timestamp) -> bool {
        if item.state != State::Failed || !item.retryable || self.after.is_zero() {
            return false;
        }
        let per_round = per_round.max(1);
        let round = item.attempts.div_ceil(per_round).max(1);
        if round > self.rounds {
            return false;
        }
        let wait = self.after.saturating_mul(1u32 << (round - 1).min(16));
        let waited = now.duration_since(item.updated_at);
        waited.is_positive() && waited.unsigned_abs() >= wait
    }

    /// How often a daemon looks for due items.
    pub fn sweep_every(&self) -> Duration {
        self.after
            .clamp(Duration::from_secs(1), Duration::from_secs(60))
    }
}

/// How an item's error is handled; `failures` counts this one.
pub fn verdict(e: &TransferError, failures: u32, rules: &RetryRules) -> Verdict {
    let msg = e.message.clone();
    match e.api_kind {
        Some(ErrorKind::FloodLocked | ErrorKind::Paced) => {
            return Verdict::PauseQueue {
                kind: PauseKind::Flood,
                reason: format!(
                    "1fichier flood protection: the whole queue waits, sending nothing, until the cooldown ends ({msg})"
                ),
                wait: e.retry_after.unwrap_or_default().max(rules.flood_pause),
            };
        }
        Some(ErrorKind::LocationLimit) => {
            return Verdict::PauseQueue {
                kind: PauseKind::Location,
                reason: format!(
                    "1fichier refuses downloads: the account is in use from too many locations ({msg}); \
                     stop downloads with this account on other devices or IPs; the queue tries again later"
                ),
                wait: rules.refusal_pause,
            };
        }
        Some(ErrorKind::CdnRequired) => {
            return Verdict::PauseQueue {
                kind: PauseKind::Vpn,
                reason: format!(
                    "1fichier refuses Premium downloads from this IP (VPN or datacenter: {msg}); \
                     turn the VPN off or download from a residential connection, or buy CDN credits; \
                     the queue tries again later"
                ),
                wait: rules.refusal_pause,
            };
        }
        Some(ErrorKind::NotCustomer) => return Verdict::NeedsPremium,
        Some(ErrorKind::BadKey | ErrorKind::NotAuthenticated) => {
            return Verdict::PauseQueue {
                kind: PauseKind::Auth,
                reason: format!("the API key was refused ({msg})"),
                wait: rules.refusal_pause,
            };
        }
        Some(ErrorKind::NotFound) => {
            return Verdict::Offline(format!("the file is gone from 1fichier ({msg})"));
        }
        _ => {}
    }
    match e.class {
        ErrorClass::Flood => Verdict::PauseQueue {
            kind: PauseKind::Flood,
            reason: format!("1fichier flood protection: the whole queue waits ({msg})"),
            wait: e.retry_after.unwrap_or_default().max(rules.flood_pause),
        },
        ErrorClass::Auth => Verdict::PauseQueue {
            kind: PauseKind::Auth,
            reason: format!("the API key was refused ({msg})"),
            wait: rules.refusal_pause,
        },
        ErrorClass::DiskFull => Verdict::PauseQueue {
            kind: PauseKind::DiskFull,
            reason: format!("{msg}; free some space: the queue resumes from the .part files"),
            wait: rules.refusal_pause,
        },
        _ if matches!(e.problem, Some(Problem::PartBusy { .. })) => {
            // Never two writers: the other one finishes (or dies and frees the lock).
            Verdict::Retry {
                reason: msg,
                wait: rules.base,
            }
        }
        ErrorClass::Retryable if failures < rules.max_failures => Verdict::Retry {
            wait: rules.backoff(failures),
            reason: format!("retrying after: {msg}"),
        },
        ErrorClass::Retryable => Verdict::Failed {
            reason: format!("{msg} (after {failures} attempts)"),
            retryable: true,
        },
        _ => Verdict::Failed {
            reason: msg,
            retryable: false,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn api(kind: ErrorKind, class: ErrorClass) -> TransferError {
        TransferError {
            api_kind: Some(kind),
            ..TransferError::new(class, "m #1")
        }
    }

    #[test]
    fn tiers() {
        assert_eq!(Tier::from_offer(Offer::Gold), Tier::Premium);
        assert_eq!(
            Tier::from_offer(Offer::Premium).files_at_once(50),
            MAX_FILES
        );
        assert_eq!(Tier::from_offer(Offer::Access).files_at_once(5), 1);
        assert_eq!(Tier::from_offer(Offer::Free).files_at_once(5), 0);
    }

    #[test]
    fn errors_become_states() {
        let r = RetryRules::default();
        let mut flood = api(ErrorKind::FloodLocked, ErrorClass::Flood);
        flood.retry_after = Some(Duration::from_secs(120));
        assert!(matches!(
            verdict(&flood, 1, &r),
            Verdict::PauseQueue { kind: PauseKind::Flood, wait, .. } if wait == Duration::from_secs(120)
        ));
        flood.retry_after = Some(Duration::from_millis(50));
        assert!(matches!(
            verdict(&flood, 1, &r),
            Verdict::PauseQueue { wait, .. } if wait == r.flood_pause
        ));
        assert!(matches!(
            verdict(&api(ErrorKind::LocationLimit, ErrorClass::Retryable), 1, &r),
            Verdict::PauseQueue {
                kind: PauseKind::Location,
                ..
            }
        ));
        assert!(matches!(
            verdict(&api(ErrorKind::CdnRequired, ErrorClass::Permanent), 1, &r),
            Verdict::PauseQueue { kind: PauseKind::Vpn, reason, .. } if reason.contains("VPN")
        ));
        assert_eq!(
            verdict(&api(ErrorKind::NotCustomer, ErrorClass::Auth), 1, &r),
            Verdict::NeedsPremium
        );
        assert!(matches!(
            verdict(&api(ErrorKind::NotFound, ErrorClass::Permanent), 1, &r),
            Verdict::Offline(_)
        ));
        let busy = api(ErrorKind::Server, ErrorClass::Retryable);
        assert_eq!(
            verdict(&busy, 2, &r),
            Verdict::Retry {
                reason: "retrying after: m #1".into(),
                wait: Duration::from_secs(60)
            }
        );
        assert!(matches!(
            verdict(&busy, 5, &r),
            Verdict::Failed {
                retryable: true,
                ..
            }
        ));
        assert!(matches!(
            verdict(&TransferError::new(ErrorClass::Permanent, "x"), 1, &r),
            Verdict::Failed {
                retryable: false,
                ..
            }
        ));
        assert!(matches!(
            verdict(&TransferError::new(ErrorClass::DiskFull, "x"), 1, &r),
            Verdict::PauseQueue {
                kind: PauseKind::DiskFull,
                ..
            }
        ));
    }

    #[test]
    fn failed_items_come_back_after_a_doubling_wait_for_a_few_rounds() {
        let rq = Requeue {
            after: Duration::from_secs(60),
            rounds: 2,
        };
        let at = jiff::Timestamp::from_second(1_780_000_000).unwrap();
        let item = |state: State, retryable: bool, attempts: u32| Item {
            id: 1,
            source: "https://1fichier.com/?abcdefghij".into(),
            target_dir: "/tmp".into(),
            package: None,
            priority: 0,
            position: 0,
            name: None,
            size: None,
            whirlpool: None,
            state,
            reason: None,
            retryable,
            until: None,
            bytes_done: 0,
            speed_bps: 0,
            eta_secs: None,
            attempts,
            path: None,
            origin: "cli".into(),
            comment: None,
            added_at: at,
            updated_at: at,
            has_password: false,
        };
        let later = |s: i64| at + jiff::SignedDuration::from_secs(s);
        // Round 1 (5 attempts): due after 60 s, not before.
        assert!(!rq.due(&item(State::Failed, true, 5), 5, later(59)));
        assert!(rq.due(&item(State::Failed, true, 5), 5, later(60)));
        // Round 2: after 120 s.
        assert!(!rq.due(&item(State::Failed, true, 10), 5, later(119)));
        assert!(rq.due(&item(State::Failed, true, 10), 5, later(120)));
        // Past the rounds, not retryable, or not failed: never.
        assert!(!rq.due(&item(State::Failed, true, 11), 5, later(100_000)));
        assert!(!rq.due(&item(State::Failed, false, 5), 5, later(100_000)));
        assert!(!rq.due(&item(State::Offline, true, 5), 5, later(100_000)));
        assert!(!rq.due(&item(State::Queued, true, 5), 5, later(100_000)));
        assert_eq!(rq.sweep_every(), Duration::from_secs(60));
    }

    #[test]
    fn backoff_doubles_to_the_cap() {
        let r = RetryRules::default();
        assert_eq!(r.backoff(1), Duration::from_secs(30));
        assert_eq!(r.backoff(3), Duration::from_secs(120));
        assert_eq!(r.backoff(30), r.max);
    }
}
