//! Fault plan: deterministic failures injected in front of the handlers (flood on the Nth
//! call, 429, 5xx, malformed JSON, slow or truncated bodies, connection resets, expired
//! tokens) and a per-connection bandwidth cap for downloads. The data only: `middleware`
//! applies it.

use serde::{Deserialize, Serialize};

/// One injected failure.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Fault {
    /// Answer 403 with a flood message (default `Flood detected: IP Locked #374`).
    Flood {
        /// Message to send instead of the default.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        message: Option<String>,
    },
    /// Answer 403 with a flood message and lock the API for `lock_ms`: every `/v1` call
    /// until then gets the same answer (downloads and the upload node are not locked, as with
    /// the limits' locks). A client that respects the cooldown sends nothing meanwhile; one
    /// that does not shows up in the request log as 403s inside the lock.
    FloodLock {
        /// How long the lock lasts, in milliseconds.
        lock_ms: u64,
        /// Message to send instead of the default.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        message: Option<String>,
    },
    /// Answer this HTTP status (e.g. 429, 500, 503) with a KO body or the given text.
    Status {
        /// HTTP status code.
        status: u16,
        /// Raw body; default a KO JSON envelope.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        body: Option<String>,
    },
    /// Answer a KO with this exact message (e.g. `Owner locked #620`,
    /// `Only 1 location allowed at a time #887`), HTTP 403 unless `status` says otherwise.
    Ko {
        /// Message text.
        message: String,
        /// HTTP status (default 403).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        status: Option<u16>,
    },
    /// Answer 200 with a body that is not valid JSON.
    MalformedJson,
    /// Run the request, then send its body at this rate.
    SlowBody {
        /// Bytes per second.
        bytes_per_sec: u64,
    },
    /// Run the request, then stop the body after this many bytes (Content-Length unchanged).
    Truncate {
        /// Bytes sent before the body ends.
        after_bytes: u64,
    },
    /// Run the request, then abort the connection after this many body bytes.
    Reset {
        /// Bytes sent before the connection is dropped.
        after_bytes: u64,
    },
    /// Treat the download token as expired (answer 410).
    ExpiredToken,
    /// Let an upload's file part fail like a full disk (ENOSPC) once this many bytes of it
    /// are written (`upload` endpoint).
    DiskFull {
        /// Bytes written before the disk is "full".
        after_bytes: u64,
    },
}

/// Request extension set by the fault plan: the blob writer of this request has this much
/// room per file part before it fails like a full disk.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DiskSpace(pub u64);

/// A rule: which calls of which endpoint get the fault.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FaultRule {
    /// Endpoint name (`file/ls`, `download/get_token`, `upload`, `end`, `download`, `dir`)
    /// or `*` for every request.
    pub endpoint: String,
    /// First matching call (1-based) that fails.
    #[serde(default = "one")]
    pub on_call: u64,
    /// How many consecutive calls fail from `on_call` on.
    #[serde(default = "one")]
    pub times: u64,
    /// The failure.
    pub fault: Fault,
}

fn one() -> u64 {
    1
}

/// A whole fault plan, loadable from JSON:
/// `{"rules":[{"endpoint":"file/ls","on_call":3,"fault":{"kind":"flood"}}],
///   "download_bytes_per_sec":1048576}`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FaultPlan {
    /// Rules, checked in order; the first that fires wins.
    #[serde(default)]
    pub rules: Vec<FaultRule>,
    /// Per-connection bandwidth cap for downloads, in bytes per second.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub download_bytes_per_sec: Option<u64>,
}

impl FaultPlan {
    /// An empty plan.
    pub fn new() -> Self {
        FaultPlan::default()
    }

    /// Add a rule failing `times` calls of `endpoint` starting at call `on_call` (1-based).
    pub fn rule(mut self, endpoint: &str, on_call: u64, times: u64, fault: Fault) -> Self {
        self.rules.push(FaultRule {
            endpoint: endpoint.to_string(),
            on_call: on_call.max(1),
            times: times.max(1),
            fault,
        });
        self
    }

    /// Add a rule failing only call number `n` of `endpoint`.
    pub fn on_call(self, endpoint: &str, n: u64, fault: Fault) -> Self {
        self.rule(endpoint, n, 1, fault)
    }

    /// Cap every download response at this many bytes per second.
    pub fn download_bandwidth(mut self, bytes_per_sec: u64) -> Self {
        self.download_bytes_per_sec = Some(bytes_per_sec.max(1));
        self
    }

    /// Parse a plan from JSON text.
    pub fn from_json(text: &str) -> Result<Self, serde_json::Error> {
        serde_json::from_str(text)
    }
}

impl Fault {
    /// The default flood answer.
    pub fn flood() -> Self {
        Fault::Flood { message: None }
    }

    /// A 403 KO with this message (service errors the emulator does not produce by itself).
    pub fn ko(message: &str) -> Self {
        Fault::Ko {
            message: message.to_string(),
            status: None,
        }
    }

    /// An HTTP status with a KO body.
    pub fn status(status: u16) -> Self {
        Fault::Status { status, body: None }
    }
}

/// Plan plus per-rule call counters, and the API lock a `flood_lock` fault started.
#[derive(Debug, Default)]
pub struct FaultState {
    plan: FaultPlan,
    counts: Vec<u64>,
    lock: Option<(std::time::Instant, Option<String>)>,
}

impl FaultState {
    /// Replace the plan and reset counters.
    pub fn set(&mut self, plan: FaultPlan) {
        self.counts = vec![0; plan.rules.len()];
        self.plan = plan;
        self.lock = None;
    }

    /// Starts an API lock of `lock_ms` answering `message` (`None`: the default flood text).
    pub fn lock_api(&mut self, lock_ms: u64, message: Option<String>) {
        let until = std::time::Instant::now() + std::time::Duration::from_millis(lock_ms);
        self.lock = Some((until, message));
    }

    /// While an API lock lasts: the message every API call gets (`None`: the default).
    pub fn locked(&mut self) -> Option<Option<String>> {
        match &self.lock {
            Some((until, m)) if std::time::Instant::now() < *until => Some(m.clone()),
            Some(_) => {
                self.lock = None;
                None
            }
            None => None,
        }
    }

    /// The active plan.
    pub fn plan(&self) -> &FaultPlan {
        &self.plan
    }

    /// Count a call of `endpoint`; return the fault it must suffer, if any.
    pub fn take(&mut self, endpoint: &str) -> Option<Fault> {
        let mut hit = None;
        for (i, rule) in self.plan.rules.iter().enumerate() {
            if rule.endpoint != "*" && rule.endpoint != endpoint {
                continue;
            }
            self.counts[i] += 1;
            let n = self.counts[i];
            if hit.is_none() && n >= rule.on_call && n < rule.on_call.saturating_add(rule.times) {
                hit = Some(rule.fault.clone());
            }
        }
        hit
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nth_call_fires_once() {
        let mut s = FaultState::default();
        s.set(FaultPlan::new().on_call("file/ls", 2, Fault::flood()));
        assert_eq!(s.take("file/ls"), None);
        assert_eq!(s.take("folder/ls"), None);
        assert_eq!(s.take("file/ls"), Some(Fault::flood()));
        assert_eq!(s.take("file/ls"), None);
    }

    #[test]
    fn flood_lock_parses_and_locks() {
        let plan = FaultPlan::from_json(
            r#"{"rules":[{"endpoint":"download/get_token","fault":{"kind":"flood_lock","lock_ms":5000}}]}"#,
        )
        .unwrap();
        assert_eq!(
            plan.rules[0].fault,
            Fault::FloodLock {
                lock_ms: 5000,
                message: None
            }
        );
        let mut s = FaultState::default();
        s.set(plan);
        assert_eq!(s.locked(), None);
        s.lock_api(60_000, None);
        assert_eq!(s.locked(), Some(None));
        s.lock_api(0, None);
        assert_eq!(s.locked(), None);
    }

    #[test]
    fn plan_json_round_trip() {
        let text = r#"{"rules":[{"endpoint":"download","on_call":1,"times":2,"fault":{"kind":"reset","after_bytes":100}}],"download_bytes_per_sec":1000}"#;
        let plan = FaultPlan::from_json(text).unwrap();
        assert_eq!(plan.rules[0].fault, Fault::Reset { after_bytes: 100 });
        assert_eq!(plan.download_bytes_per_sec, Some(1000));
        let again = FaultPlan::from_json(&serde_json::to_string(&plan).unwrap()).unwrap();
        assert_eq!(plan, again);
    }
}
