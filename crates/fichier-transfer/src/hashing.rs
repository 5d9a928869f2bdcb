//! Whirlpool computed off the async threads while bytes move, so verification costs no
//! second pass: uploads feed what they send to [`StreamHashers`]; segmented downloads run a
//! [`FrontierHasher`] that reads the `.part` file right behind the contiguous written prefix.

use std::io::Read;
use std::path::PathBuf;
use std::sync::{Arc, Condvar, Mutex};

use bytes::Bytes;
use fichier_api::WhirlpoolHasher as Whirlpool;

/// Hashes several streams (the parts of one multipart upload) on one blocking thread. Each
/// digest is published as soon as its stream delivered all its bytes, so a caller never waits
/// for the HTTP stack to drop the request body.
#[derive(Debug)]
pub(crate) struct StreamHashers {
    tx: tokio::sync::mpsc::Sender<(usize, Bytes)>,
    done: Arc<Mutex<Vec<Option<String>>>>,
}

impl StreamHashers {
    /// One hasher per stream, with the stream lengths.
    pub(crate) fn start(lens: Vec<u64>) -> StreamHashers {
        // A small bound keeps memory flat when hashing is slower than the network.
        let (tx, mut rx) = tokio::sync::mpsc::channel::<(usize, Bytes)>(32);
        let done = Arc::new(Mutex::new(vec![None; lens.len()]));
        let out = done.clone();
        tokio::task::spawn_blocking(move || {
            let mut hs: Vec<Option<Whirlpool>> =
                lens.iter().map(|_| Some(Whirlpool::new())).collect();
            let mut seen = vec![0u64; lens.len()];
            let mut left = lens.len();
            while left > 0 {
                let Some((i, chunk)) = rx.blocking_recv() else {
                    break;
                };
                let Some(Some(h)) = hs.get_mut(i) else {
                    continue;
                };
                h.update(&chunk);
                seen[i] += chunk.len() as u64;
                if seen[i] >= lens[i] {
                    let h = hs[i].take().expect("present above");
                    let hex = h.finish_hex();
                    out.lock().unwrap_or_else(|p| p.into_inner())[i] = Some(hex);
                    left -= 1;
                }
            }
        });
        StreamHashers { tx, done }
    }

    /// A feeder for `'static` streams.
    pub(crate) fn sender(&self) -> tokio::sync::mpsc::Sender<(usize, Bytes)> {
        self.tx.clone()
    }

    /// The digests of the streams marked `complete` (the others are `None`). A stream is
    /// complete once its last chunk was sent, so its digest arrives shortly.
    pub(crate) async fn finish(self, complete: &[bool]) -> Vec<Option<String>> {
        drop(self.tx);
        loop {
            {
                let done = self.done.lock().unwrap_or_else(|p| p.into_inner());
                if complete
                    .iter()
                    .zip(done.iter())
                    .all(|(c, d)| !*c || d.is_some())
                {
                    return done
                        .iter()
                        .zip(complete)
                        .map(|(d, c)| if *c { d.clone() } else { None })
                        .collect();
                }
            }
            tokio::time::sleep(std::time::Duration::from_millis(2)).await;
        }
    }
}

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

/// Whirlpool of a local file (blocking thread, 1 MiB reads), lowercase hex.
pub(crate) async fn whirlpool_file(path: PathBuf) -> std::io::Result<String> {
    tokio::task::spawn_blocking(move || {
        let f = std::fs::File::open(&path)?;
        fichier_api::whirlpool_reader(f)
    })
    .await
    .map_err(std::io::Error::other)?
}
