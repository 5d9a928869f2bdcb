//! Whirlpool helpers: the checksum 1fichier reports (128 lowercase hex characters).
//!
//! Hashing is CPU-bound (about the speed of a disk), so [`whirlpool_file`] hashes in a
//! blocking thread with large buffers, and streaming transfers feed [`WhirlpoolHasher`] as
//! bytes pass so the file is read only once.

use std::io::Read;
use std::path::Path;

use whirlpool::{Digest, Whirlpool};

use crate::error::{Error, Result};

/// Buffer size for file hashing: large reads amortise syscalls.
pub const HASH_BUFFER: usize = 64 * 1024;

/// An incremental whirlpool hasher.
#[derive(Clone, Default)]
pub struct WhirlpoolHasher(Whirlpool);

impl std::fmt::Debug for WhirlpoolHasher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("WhirlpoolHasher")
    }
}

impl WhirlpoolHasher {
    /// A fresh hasher.
    pub fn new() -> Self {
        Self::default()
    }
    /// Feeds bytes.
    pub fn update(&mut self, data: &[u8]) {
        self.0.update(data);
    }
    /// The digest as 128 lowercase hex characters.
    pub fn finish_hex(self) -> String {
        hex::encode(self.0.finalize())
    }
}

/// Whirlpool of a byte slice, lowercase hex.
pub fn whirlpool_hex(data: &[u8]) -> String {
    let mut h = WhirlpoolHasher::new();
    h.update(data);
    h.finish_hex()
}

/// Whirlpool of any reader (blocking), lowercase hex.
pub fn whirlpool_reader(mut reader: impl Read) -> std::io::Result<String> {
    let mut h = WhirlpoolHasher::new();
    let mut buf = vec![0u8; HASH_BUFFER];
    loop {
        let n = reader.read(&mut buf)?;
        if n == 0 {
            break;
        }
        h.update(&buf[..n]);
    }
    Ok(h.finish_hex())
}

/// Whirlpool of a file, computed on a blocking thread so the async runtime keeps running.
pub async fn whirlpool_file(path: impl AsRef<Path>) -> Result<String> {
    let path = path.as_ref().to_path_buf();
    let p2 = path.clone();
    tokio::task::spawn_blocking(move || {
        let f = std::fs::File::open(&p2)?;
        whirlpool_reader(f)
    })
    .await
    .map_err(|e| Error::io(Some(path.clone()), std::io::Error::other(e)))?
    .map_err(|e| Error::io(Some(path), e))
}

/// Compares two whirlpool hex strings, ignoring case and surrounding whitespace.
pub fn same_whirlpool(a: &str, b: &str) -> bool {
    a.trim().eq_ignore_ascii_case(b.trim())
}

/// Hashes chunks on a dedicated blocking thread so hashing overlaps network and disk I/O.
///
/// Feed `Bytes` (cheap reference-counted clones of what is being sent or written) with
/// [`HashPipe::feed`], then [`HashPipe::finish`] for the hex digest.
#[derive(Debug)]
pub struct HashPipe {
    tx: Option<std::sync::mpsc::SyncSender<bytes::Bytes>>,
    handle: tokio::task::JoinHandle<String>,
}

impl HashPipe {
    /// Starts the hashing thread.
    pub fn start() -> HashPipe {
        // A small bound keeps memory flat when the hasher is slower than the transfer.
        let (tx, rx) = std::sync::mpsc::sync_channel::<bytes::Bytes>(16);
        let handle = tokio::task::spawn_blocking(move || {
            let mut h = WhirlpoolHasher::new();
            for chunk in rx {
                h.update(&chunk);
            }
            h.finish_hex()
        });
        HashPipe {
            tx: Some(tx),
            handle,
        }
    }

    /// Queues a chunk (blocks briefly when the hasher is 16 chunks behind).
    pub fn feed(&self, chunk: bytes::Bytes) {
        if let Some(tx) = &self.tx {
            // A send error means the thread is gone; finish() reports it.
            let _ = tx.send(chunk);
        }
    }

    /// A cloneable handle that feeds this pipe (for `'static` streams).
    pub(crate) fn sender(&self) -> Option<std::sync::mpsc::SyncSender<bytes::Bytes>> {
        self.tx.clone()
    }

    /// Waits for the digest of everything fed.
    pub async fn finish(mut self) -> Result<String> {
        drop(self.tx.take());
        (&mut self.handle).await.map_err(|e| {
            Error::io(
                None,
                std::io::Error::other(format!("hashing thread failed: {e}")),
            )
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iso_vector_and_fixture() {
        assert!(whirlpool_hex(b"").starts_with("19fa61d75522a466"));
        assert_eq!(
            whirlpool_hex(b"Emulator fixture file number one.\n"),
            "75f66cddc52ca7c98f7c3652efeba2a9fdd499874d6d8ad59f30fe7f0a7e4166430ab39794b4d8574f3d50ffa482468c7c85139b43dccb2cceff53330280ee64"
        );
    }
}
