//! The progress trait transfers report through (start, bytes, finish), with a no-op default.
//!
//! The library never draws anything; a CLI implements [`Progress`] with its own bars.

/// Receives progress of one transfer. Every method has a no-op default, so implement only
/// what you need. Implementations must be cheap: `bytes` is called for every chunk.
pub trait Progress: Send + Sync {
    /// A transfer (or a new attempt of it) starts. `total` is the full size when known;
    /// `already` is the number of bytes already done (a resumed download's offset).
    fn start(&self, total: Option<u64>, already: u64) {
        let _ = (total, already);
    }
    /// `n` more bytes were transferred.
    fn bytes(&self, n: u64) {
        let _ = n;
    }
    /// The transfer ended (successfully or not); `ok` says which.
    fn finish(&self, ok: bool) {
        let _ = ok;
    }
}

/// A [`Progress`] that ignores everything.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoProgress;

impl Progress for NoProgress {}
