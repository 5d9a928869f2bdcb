//! Whirlpool helpers: the checksum 1fichier reports (128 lowercase hex characters).
//!
//! Hashing is CPU-bound (about the speed of a disk), so [`whirlpool_file`] hashes in a
//! blocking thread with large buffers, and streaming transfers feed [`WhirlpoolHasher`] as
//! bytes pass so the file is read only once.

use std::io::Read;
use std::path::Path;

use crate::error::{Error, Result};

/// Buffer size for file hashing: large reads amortise syscalls.
pub const HASH_BUFFER: usize = 256 * 1024;

/// An incremental whirlpool hasher (ISO/IEC 10118-3, the version 1fichier reports).
///
/// A table-driven implementation of our own: about 20 % faster than the RustCrypto crate on
/// this machine (see `bench/whirlpool.sh`); the tests check it against that crate and the
/// ISO test vectors.
#[derive(Clone)]
pub struct WhirlpoolHasher {
    state: [u64; 8],
    buf: [u8; 64],
    buf_len: usize,
    total: u128,
}

impl Default for WhirlpoolHasher {
    fn default() -> Self {
        WhirlpoolHasher {
            state: [0; 8],
            buf: [0; 64],
            buf_len: 0,
            total: 0,
        }
    }
}

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
    pub fn update(&mut self, mut data: &[u8]) {
        self.total += data.len() as u128;
        if self.buf_len > 0 {
            let take = (64 - self.buf_len).min(data.len());
            self.buf[self.buf_len..self.buf_len + take].copy_from_slice(&data[..take]);
            self.buf_len += take;
            data = &data[take..];
            if self.buf_len < 64 {
                return;
            }
            let block = self.buf;
            compress(&mut self.state, &block);
            self.buf_len = 0;
        }
        let mut blocks = data.chunks_exact(64);
        for block in &mut blocks {
            compress(
                &mut self.state,
                block.try_into().expect("chunks of 64 bytes"),
            );
        }
        let rest = blocks.remainder();
        self.buf[..rest.len()].copy_from_slice(rest);
        self.buf_len = rest.len();
    }

    /// The digest as 128 lowercase hex characters.
    pub fn finish_hex(mut self) -> String {
        // Padding: a 1 bit, zeros up to 32 bytes before a block end, the 256-bit bit length.
        let bits = self.total.wrapping_mul(8);
        let mut tail = [0u8; 128];
        let n = self.buf_len;
        tail[..n].copy_from_slice(&self.buf[..n]);
        tail[n] = 0x80;
        let len = if n < 32 { 64 } else { 128 };
        tail[len - 16..len].copy_from_slice(&bits.to_be_bytes());
        for block in tail[..len].chunks_exact(64) {
            compress(
                &mut self.state,
                block.try_into().expect("chunks of 64 bytes"),
            );
        }
        let mut out = [0u8; 64];
        for (o, w) in out.chunks_exact_mut(8).zip(self.state) {
            o.copy_from_slice(&w.to_be_bytes());
        }
        hex::encode(out)
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

/// Whirlpool of a file: one blocking thread reads while another hashes, so disk time and
/// hashing time overlap and the async runtime keeps running.
pub async fn whirlpool_file(path: impl AsRef<Path>) -> Result<String> {
    let path = path.as_ref().to_path_buf();
    let pipe = HashPipe::start();
    let sender = pipe.sender();
    let p2 = path.clone();
    let read = tokio::task::spawn_blocking(move || -> std::io::Result<()> {
        let mut f = std::fs::File::open(&p2)?;
        loop {
            let mut buf = vec![0u8; HASH_BUFFER];
            let n = f.read(&mut buf)?;
            if n == 0 {
                return Ok(());
            }
            buf.truncate(n);
            if let Some(tx) = &sender {
                // On a blocking thread: waiting for room in the queue is fine here.
                if tx.blocking_send(bytes::Bytes::from(buf)).is_err() {
                    return Ok(()); // the hasher is gone; finish() reports it
                }
            }
        }
    })
    .await
    .map_err(|e| Error::io(Some(path.clone()), std::io::Error::other(e)))?;
    let digest = pipe.finish().await;
    read.map_err(|e| Error::io(Some(path), e))?;
    digest
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
    tx: Option<tokio::sync::mpsc::Sender<bytes::Bytes>>,
    handle: tokio::task::JoinHandle<String>,
}

impl HashPipe {
    /// Starts the hashing thread.
    pub fn start() -> HashPipe {
        // A small bound keeps memory flat when the hasher is slower than the transfer; a full
        // queue makes `feed` wait (asynchronously), which slows the transfer to the hasher.
        let (tx, mut rx) = tokio::sync::mpsc::channel::<bytes::Bytes>(16);
        let handle = tokio::task::spawn_blocking(move || {
            let mut h = WhirlpoolHasher::new();
            while let Some(chunk) = rx.blocking_recv() {
                h.update(&chunk);
            }
            h.finish_hex()
        });
        HashPipe {
            tx: Some(tx),
            handle,
        }
    }

    /// Queues a chunk; waits without blocking the runtime when the hasher is 16 chunks behind.
    pub async fn feed(&self, chunk: bytes::Bytes) {
        if let Some(tx) = &self.tx {
            // A send error means the thread is gone; finish() reports it.
            let _ = tx.send(chunk).await;
        }
    }

    /// A cloneable handle that feeds this pipe (for `'static` streams and blocking readers).
    pub(crate) fn sender(&self) -> Option<tokio::sync::mpsc::Sender<bytes::Bytes>> {
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

/// Hashes several streams (the parts of one multipart upload) on one blocking thread. Each
/// digest is published as soon as its stream delivered all its bytes, so a caller never waits
/// for the HTTP stack to drop the request body.
#[derive(Debug)]
pub(crate) struct MultiHashPipe {
    tx: tokio::sync::mpsc::Sender<(usize, bytes::Bytes)>,
    done: std::sync::Arc<std::sync::Mutex<Vec<Option<String>>>>,
    finished: std::sync::Arc<tokio::sync::Notify>,
}

impl MultiHashPipe {
    /// One hasher per stream, with the stream lengths.
    pub(crate) fn start(lens: Vec<u64>) -> MultiHashPipe {
        // A small bound keeps memory flat when hashing is slower than the network.
        let (tx, mut rx) = tokio::sync::mpsc::channel::<(usize, bytes::Bytes)>(32);
        let done = std::sync::Arc::new(std::sync::Mutex::new(vec![None; lens.len()]));
        let finished = std::sync::Arc::new(tokio::sync::Notify::new());
        let (out, note) = (done.clone(), finished.clone());
        tokio::task::spawn_blocking(move || {
            let mut hs: Vec<Option<WhirlpoolHasher>> =
                lens.iter().map(|_| Some(WhirlpoolHasher::new())).collect();
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
                    out.lock().unwrap_or_else(|p| p.into_inner())[i] = Some(h.finish_hex());
                    note.notify_waiters();
                    left -= 1;
                }
            }
            note.notify_waiters();
        });
        MultiHashPipe { tx, done, finished }
    }

    /// A feeder for `'static` streams: `(stream index, chunk)`.
    pub(crate) fn sender(&self) -> tokio::sync::mpsc::Sender<(usize, bytes::Bytes)> {
        self.tx.clone()
    }

    /// The digests of the streams marked `complete` (the others are `None`). A stream is
    /// complete once its last chunk was sent, so its digest arrives shortly.
    pub(crate) async fn finish(self, complete: &[bool]) -> Vec<Option<String>> {
        drop(self.tx);
        loop {
            let wait = self.finished.notified();
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
            // Bounded wait: a notification between the check and here is not lost for long.
            let _ = tokio::time::timeout(std::time::Duration::from_millis(20), wait).await;
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The block function. Tables are computed at compile time from the S-box definition (mini-boxes
// E, E^-1, R) and the circulant MDS matrix (1, 1, 4, 1, 8, 5, 2, 9) over GF(2^8) mod 0x11D.
// ---------------------------------------------------------------------------------------------

const fn gf_mul(mut a: u8, mut b: u8) -> u8 {
    let mut p = 0u8;
    while b != 0 {
        if b & 1 != 0 {
            p ^= a;
        }
        let carry = a & 0x80;
        a <<= 1;
        if carry != 0 {
            a ^= 0x1d;
        }
        b >>= 1;
    }
    p
}

const fn sbox() -> [u8; 256] {
    let e: [u8; 16] = [
        0x1, 0xB, 0x9, 0xC, 0xD, 0x6, 0xF, 0x3, 0xE, 0x8, 0x7, 0x4, 0xA, 0x2, 0x5, 0x0,
    ];
    let r: [u8; 16] = [
        0x7, 0xC, 0xB, 0xD, 0xE, 0x4, 0x9, 0xF, 0x6, 0x3, 0x8, 0xA, 0x2, 0x5, 0x1, 0x0,
    ];
    let mut e_inv = [0u8; 16];
    let mut i = 0;
    while i < 16 {
        e_inv[e[i] as usize] = i as u8;
        i += 1;
    }
    let mut s = [0u8; 256];
    let mut u = 0;
    while u < 256 {
        let a = e[u >> 4];
        let b = e_inv[u & 15];
        let t = r[(a ^ b) as usize];
        s[u] = (e[(a ^ t) as usize] << 4) | e_inv[(b ^ t) as usize];
        u += 1;
    }
    s
}

const fn tables() -> [[u64; 256]; 8] {
    let s = sbox();
    let coef: [u8; 8] = [1, 1, 4, 1, 8, 5, 2, 9];
    let mut t = [[0u64; 256]; 8];
    let mut x = 0;
    while x < 256 {
        let mut w = 0u64;
        let mut j = 0;
        while j < 8 {
            w = (w << 8) | gf_mul(s[x], coef[j]) as u64;
            j += 1;
        }
        let mut k = 0;
        while k < 8 {
            t[k][x] = w.rotate_right(8 * k as u32);
            k += 1;
        }
        x += 1;
    }
    t
}

const fn round_constants() -> [u64; 10] {
    let s = sbox();
    let mut rc = [0u64; 10];
    let mut r = 0;
    while r < 10 {
        let mut w = 0u64;
        let mut j = 0;
        while j < 8 {
            w = (w << 8) | s[8 * r + j] as u64;
            j += 1;
        }
        rc[r] = w;
        r += 1;
    }
    rc
}

static T: [[u64; 256]; 8] = tables();
static RC: [u64; 10] = round_constants();

/// One round's linear layer with the S-box (γ, π, θ fused through the tables).
#[inline(always)]
fn round(x: &[u64; 8]) -> [u64; 8] {
    let t = &T;
    let mut o = [0u64; 8];
    for (i, out) in o.iter_mut().enumerate() {
        *out = t[0][(x[i] >> 56) as usize]
            ^ t[1][((x[(i + 7) & 7] >> 48) & 0xff) as usize]
            ^ t[2][((x[(i + 6) & 7] >> 40) & 0xff) as usize]
            ^ t[3][((x[(i + 5) & 7] >> 32) & 0xff) as usize]
            ^ t[4][((x[(i + 4) & 7] >> 24) & 0xff) as usize]
            ^ t[5][((x[(i + 3) & 7] >> 16) & 0xff) as usize]
            ^ t[6][((x[(i + 2) & 7] >> 8) & 0xff) as usize]
            ^ t[7][(x[(i + 1) & 7] & 0xff) as usize];
    }
    o
}

/// Miyaguchi–Preneel compression of one 64-byte block.
fn compress(h: &mut [u64; 8], block: &[u8; 64]) {
    let mut m = [0u64; 8];
    for (w, b) in m.iter_mut().zip(block.chunks_exact(8)) {
        *w = u64::from_be_bytes(b.try_into().expect("8 bytes"));
    }
    let mut k = *h;
    let mut s = [0u64; 8];
    for i in 0..8 {
        s[i] = m[i] ^ k[i];
    }
    for rc in RC {
        let mut nk = round(&k);
        nk[0] ^= rc;
        let mut ns = round(&s);
        for i in 0..8 {
            ns[i] ^= nk[i];
        }
        k = nk;
        s = ns;
    }
    for i in 0..8 {
        h[i] ^= s[i] ^ m[i];
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_the_rustcrypto_crate_on_every_split() {
        use whirlpool::{Digest, Whirlpool};
        let data: Vec<u8> = (0..5000u32)
            .map(|i| (i.wrapping_mul(2654435761) >> 13) as u8)
            .collect();
        for len in [0usize, 1, 31, 32, 33, 63, 64, 65, 127, 128, 129, 1000, 5000] {
            let expected = hex::encode(Whirlpool::digest(&data[..len]));
            assert_eq!(whirlpool_hex(&data[..len]), expected, "len {len}");
            // Fed in uneven pieces.
            let mut h = WhirlpoolHasher::new();
            for piece in data[..len].chunks(7 + len % 13) {
                h.update(piece);
            }
            assert_eq!(h.finish_hex(), expected, "len {len} in pieces");
        }
    }

    #[test]
    fn iso_vectors() {
        assert_eq!(
            whirlpool_hex(b"abc"),
            "4e2448a4c6f486bb16b6562c73b4020bf3043e3a731bce721ae1b303d97e6d4c7181eebdb6c57e277d0e34957114cbd6c797fc9d95d8b582d225292076d4eef5"
        );
        assert_eq!(
            whirlpool_hex(b"The quick brown fox jumps over the lazy dog"),
            "b97de512e91e3828b40d2b0fdce9ceb3c4a71f9bea8d88e75c4fa854df36725fd2b52eb6544edcacd6f8beddfea403cb55ae31f03ad62a5ef54e42ee82c3fb35"
        );
    }

    #[test]
    fn iso_vector_and_fixture() {
        assert!(whirlpool_hex(b"").starts_with("19fa61d75522a466"));
        assert_eq!(
            whirlpool_hex(b"Emulator fixture file number one.\n"),
            "75f66cddc52ca7c98f7c3652efeba2a9fdd499874d6d8ad59f30fe7f0a7e4166430ab39794b4d8574f3d50ffa482468c7c85139b43dccb2cceff53330280ee64"
        );
    }
}
