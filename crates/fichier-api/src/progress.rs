//! The observers the two transfer primitives report through, with no-op defaults: [`Progress`]
//! (the chunks of one ranged GET) and [`PartObserver`] (the parts of a multi-file node upload,
//! which may also pace the stream). The library never draws anything.

use std::future::Future;
use std::pin::Pin;

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

/// Receives progress of the parts of one multi-file node upload
/// ([`crate::Client::upload_to_node`]), and may pace the stream. Every method has a default.
pub trait PartObserver: Send + Sync {
    /// Part `index` (declared `len` bytes) is in the request.
    fn part_started(&self, index: usize, len: u64) {
        let _ = (index, len);
    }
    /// `n` more bytes of part `index` were handed to the request.
    fn part_bytes(&self, index: usize, n: u64) {
        let _ = (index, n);
    }
    /// Called before each chunk of `n` bytes is sent; the stream waits for the returned
    /// future (a bandwidth limit sleeps here).
    fn pace(&self, n: u64) -> Pin<Box<dyn Future<Output = ()> + Send + '_>> {
        let _ = n;
        Box::pin(std::future::ready(()))
    }
}

impl PartObserver for NoProgress {}
