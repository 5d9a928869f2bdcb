//! Whirlpool of downloads computed off the async threads while bytes move, so verification
//! costs no second pass: segmented downloads run a [`FrontierHasher`] that reads the `.part`
//! file right behind the contiguous written prefix. (Uploads are hashed by the library's node
//! primitive from the bytes it sends.)

use std::io::Read;
use std::path::PathBuf;
use std::sync::{Arc, Condvar, Mutex};

use fichier_api::WhirlpoolHasher as Whirlpool;

#[derive(Debug)]
struct Frontier {
    /// Bytes from 0 known to be written.
    prefix: u64,
    cancelled: bool,
}

/// Hashes a file that is being written out of order, reading it from disk right behind the
/// contiguous written prefix (which is in the page cache, so the read is cheap).
#[derive(Debug, Clone)]
pub(crate) struct FrontierHasher {
    shared: Arc<(Mutex<Frontier>, Condvar)>,
}

impl FrontierHasher {
    /// Starts hashing `path` up to `total` bytes; `prefix` bytes are already written.
    pub(crate) fn start(
        path: PathBuf,
        total: u64,
        prefix: u64,
    ) -> (
        FrontierHasher,
        tokio::task::JoinHandle<std::io::Result<String>>,
    ) {
        let shared = Arc::new((
            Mutex::new(Frontier {
                prefix,
                cancelled: false,
            }),
            Condvar::new(),
        ));
        let s2 = shared.clone();
        let handle = tokio::task::spawn_blocking(move || {
            let mut file = std::fs::File::open(&path)?;
            let mut h = Whirlpool::new();
            let mut buf = vec![0u8; 1 << 20];
            let mut hashed = 0u64;
            while hashed < total {
                let upto = {
                    let (lock, cv) = &*s2;
                    let mut st = lock.lock().unwrap_or_else(|p| p.into_inner());
                    while st.prefix <= hashed && !st.cancelled {
                        st = cv.wait(st).unwrap_or_else(|p| p.into_inner());
                    }
                    if st.cancelled && st.prefix <= hashed {
                        return Err(std::io::Error::new(
                            std::io::ErrorKind::Interrupted,
                            "download stopped before the end",
                        ));
                    }
                    st.prefix.min(total)
                };
                while hashed < upto {
                    let n = ((upto - hashed) as usize).min(buf.len());
                    file.read_exact(&mut buf[..n])?;
                    h.update(&buf[..n]);
                    hashed += n as u64;
                }
            }
            Ok(h.finish_hex())
        });
        (FrontierHasher { shared }, handle)
    }

    /// The contiguous written prefix grew to `prefix` bytes.
    pub(crate) fn advance(&self, prefix: u64) {
        let (lock, cv) = &*self.shared;
        let mut st = lock.lock().unwrap_or_else(|p| p.into_inner());
        if prefix > st.prefix {
            st.prefix = prefix;
            cv.notify_one();
        }
    }

    /// No more bytes will come (the download failed): the thread ends.
    pub(crate) fn cancel(&self) {
        let (lock, cv) = &*self.shared;
        let mut st = lock.lock().unwrap_or_else(|p| p.into_inner());
        st.cancelled = true;
        cv.notify_one();
    }
}

/// Whirlpool of a local file through [`fichier_api::whirlpool_file`], as an I/O result so
/// callers word the error about their own file.
pub(crate) async fn hash_local_file(path: PathBuf) -> std::io::Result<String> {
    fichier_api::whirlpool_file(&path)
        .await
        .map_err(|e| match e {
            fichier_api::Error::Io { source, .. } => source,
            other => std::io::Error::other(other.to_string()),
        })
}
