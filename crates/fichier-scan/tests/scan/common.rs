//! Shared helpers for the integration tests: a seeded random generator and fake keys.

use std::time::{SystemTime, UNIX_EPOCH};

/// SplitMix64: small, seedable, good enough to generate fake keys and look-alikes.
pub struct Rng(u64);

pub const ALNUM: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
const B64: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
const B64URL: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

impl Rng {
    /// Seed from `FICHIER_SCAN_SEED` or the clock; returns the seed so tests can print it.
    pub fn from_env() -> (Rng, u64) {
        let seed = std::env::var("FICHIER_SCAN_SEED")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| {
                SystemTime::now()
                    .duration_since(UNIX_EPOCH)
                    .map(|d| d.as_nanos() as u64)
                    .unwrap_or(42)
            });
        (Rng(seed), seed)
    }

    pub fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    pub fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    pub fn pick(&mut self, alphabet: &[u8], len: usize) -> String {
        (0..len)
            .map(|_| char::from(alphabet[self.below(alphabet.len())]))
            .collect()
    }

    /// A fake 1fichier key: 32 random `[A-Za-z0-9]`, the documented shape.
    pub fn key(&mut self) -> String {
        self.pick(ALNUM, 32)
    }

    pub fn base64(&mut self, bytes: usize) -> String {
        let mut data: Vec<u8> = (0..bytes).map(|_| (self.next() & 0xff) as u8).collect();
        let pad = (3 - bytes % 3) % 3;
        data.extend(std::iter::repeat_n(0, pad));
        let mut out = String::new();
        for c in data.chunks(3) {
            let n = (u32::from(c[0]) << 16) | (u32::from(c[1]) << 8) | u32::from(c[2]);
            for shift in [18, 12, 6, 0] {
                out.push(char::from(B64[((n >> shift) & 63) as usize]));
            }
        }
        out.truncate(out.len() - pad);
        out.extend(std::iter::repeat_n('=', pad));
        out
    }

    pub fn b64url(&mut self, len: usize) -> String {
        self.pick(B64URL, len)
    }
}
