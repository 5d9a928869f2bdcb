//! Key shape: finding 32-character candidates in raw bytes and judging whether they look random.
//!
//! The observed key format is 32 characters of `[A-Za-z0-9_=-]` (JDownloader's check; see
//! `docs/1fichier-api-v1.md` §1.3). Candidates are maximal runs of that alphabet, so a key glued
//! to an assignment (`FICHIER_API_KEY=...`, `--fichier-api-key=...`) is split at its last `=`,
//! and URL-encoded forms (`%3D` before or after) are decoded.

use std::sync::LazyLock;

use regex::bytes::Regex;

/// Length of a 1fichier API key.
pub(crate) const KEY_LEN: usize = 32;

/// Runs of the key alphabet at least as long as a key. Leftmost-first + greedy gives maximal runs.
pub(crate) static KEY_RUN: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(?-u)[A-Za-z0-9_=\-]{32,}").expect("constant regex compiles"));

/// Prefixes of other vendors' tokens that can be 32 characters of the same alphabet (Stripe,
/// GitHub, Slack, npm, Hugging Face, DigitalOcean, Shopify...). Real 1fichier keys are
/// alphanumeric, so a prefix with `_` or `-` can never belong to one.
const OTHER_VENDOR_PREFIXES: &[&[u8]] = &[
    b"sk_live_",
    b"sk_test_",
    b"pk_live_",
    b"pk_test_",
    b"rk_live_",
    b"rk_test_",
    b"whsec_",
    b"ghp_",
    b"gho_",
    b"ghu_",
    b"ghs_",
    b"ghr_",
    b"github_pat_",
    b"xoxb-",
    b"xoxp-",
    b"xoxa-",
    b"xoxr-",
    b"xoxs-",
    b"xapp-",
    b"glpat-",
    b"npm_",
    b"hf_",
    b"dop_v1_",
    b"shpat_",
    b"shpss_",
    b"key-",
];

/// A candidate key inside a buffer.
#[derive(Debug, Clone)]
pub(crate) struct Candidate {
    /// Byte offset where the key text starts in the buffer.
    pub start: usize,
    /// Byte offset just past the key text (including any `%3D` padding).
    pub end: usize,
    /// The decoded key (exactly [`KEY_LEN`] bytes).
    pub value: Vec<u8>,
}

fn in_alphabet(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_' || b == b'=' || b == b'-'
}

/// Turns one maximal alphabet run `[s, e)` into at most one candidate.
pub(crate) fn candidate_from_run(buf: &[u8], s: usize, e: usize) -> Option<Candidate> {
    let mut start = s;
    // `%3D` / `%22` etc. right before the run: the run begins with the escape's two hex digits.
    if start >= 1 && buf[start - 1] == b'%' && e - start >= 2 {
        let (a, b) = (buf[start], buf[start + 1]);
        if a.is_ascii_hexdigit() && b.is_ascii_hexdigit() {
            start += 2;
        }
    }
    let run = &buf[start..e];
    // Trailing `=` group is padding, not an assignment.
    let pad = run.iter().rev().take_while(|&&b| b == b'=').count();
    let core = &run[..run.len() - pad];
    // Split at the last assignment `=` inside the run: `NAME=value`.
    let mut value_start = match core.iter().rposition(|&b| b == b'=') {
        Some(i) => start + i + 1,
        None => start,
    };
    // Shell fallbacks split like assignments: `${NAME-KEY}` at the `-` after the name (a
    // shell name has no `-`), `${NAME:-KEY}` by dropping the `-` the run starts with.
    if value_start == start
        && start >= 2
        && &buf[start - 2..start] == b"${"
        && let Some(i) = core.iter().position(|&b| b == b'-')
        && i > 0
        && core[..i]
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || *b == b'_')
    {
        value_start = start + i + 1;
    }
    if value_start < e && buf[value_start] == b'-' && e - value_start == KEY_LEN + 1 {
        value_start += 1;
    }
    let mut value = buf[value_start..e].to_vec();
    // URL-encoded padding after the run: `...%3D%3D`.
    let mut end = e;
    while buf.len() >= end + 3
        && buf[end] == b'%'
        && buf[end + 1] == b'3'
        && buf[end + 2].eq_ignore_ascii_case(&b'd')
    {
        value.push(b'=');
        end += 3;
    }
    if value.len() != KEY_LEN || value.first() == Some(&b'-') || value.first() == Some(&b'=') {
        return None;
    }
    // Boundaries: reject pieces of base64 blobs, paths, URLs, dotted names and e-mail addresses.
    let before = value_start.checked_sub(1).map(|i| buf[i]);
    if matches!(before, Some(b'+' | b'/' | b'.' | b'@' | b'\\')) {
        return None;
    }
    let after = buf.get(end).copied();
    if matches!(after, Some(b'+' | b'/' | b'@')) {
        return None;
    }
    if after == Some(b'.') && buf.get(end + 1).is_some_and(|b| b.is_ascii_alphanumeric()) {
        return None;
    }
    debug_assert!(value.iter().all(|&b| in_alphabet(b)));
    Some(Candidate {
        start: value_start,
        end,
        value,
    })
}

/// Words of 7+ letters that mark documentation and test placeholders
/// (`FAKEkeyForEmulator000…1`, `YourApiKeyGoesHere...`). A random key contains a
/// given one with probability about 1e-9.
const PLACEHOLDER_WORDS: &[&[u8]] = &[
    b"example",
    b"fakekey",
    b"dummykey",
    b"testkey",
    b"yourkey",
    b"yourapikey",
    b"placeholder",
    b"redacted",
    b"changeme",
    b"replaceme",
    b"notarealkey",
];

/// Placeholders: a marker word, or a run of 6+ identical characters (`000000`, `xxxxxx`;
/// about 3e-8 for a random key).
fn is_placeholder(value: &[u8]) -> bool {
    let lower = value.to_ascii_lowercase();
    if PLACEHOLDER_WORDS
        .iter()
        .any(|w| lower.windows(w.len()).any(|x| x == *w))
    {
        return true;
    }
    value.windows(6).any(|w| w.iter().all(|&b| b == w[0]))
}

/// Character statistics of a candidate.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Shape {
    pub upper: usize,
    /// Fraction of characters inside runs of 3+ lower-case letters (camelCase words).
    pub wordy: f64,
    pub digits: usize,
    pub symbols: usize,
    pub entropy: f64,
}

/// Returns the shape if the value could be a random key; `None` for hex digests, single-case
/// words, placeholders, sequences and other vendors' tokens.
pub(crate) fn plausible(value: &[u8]) -> Option<Shape> {
    if OTHER_VENDOR_PREFIXES.iter().any(|p| value.starts_with(p)) {
        return None;
    }
    // Hex digests and ids in any case (`936DA01f9abd...`): a random key is all-hex with
    // probability (22/62)^32, about 4e-15.
    if value.iter().all(u8::is_ascii_hexdigit) {
        return None;
    }
    let upper = value.iter().filter(|b| b.is_ascii_uppercase()).count();
    let lower = value.iter().filter(|b| b.is_ascii_lowercase()).count();
    let digits = value.iter().filter(|b| b.is_ascii_digit()).count();
    let symbols = value.len() - upper - lower - digits;
    if upper == 0 || lower == 0 {
        return None;
    }
    if is_placeholder(value) {
        return None;
    }
    // Identifiers such as `OneFichierAccountValidationError`; a random key spells "fichier"
    // with probability about 1e-12.
    if value.windows(7).any(|w| w.eq_ignore_ascii_case(b"fichier")) {
        return None;
    }
    let ascending = value
        .windows(2)
        .filter(|w| w[1] == w[0].wrapping_add(1))
        .count();
    if ascending >= 8 {
        return None;
    }
    let entropy = shannon_entropy(value);
    if entropy < 3.0 {
        return None;
    }
    let mut wordy_chars = 0;
    let mut run = 0;
    for &b in value.iter().chain(std::iter::once(&b'0')) {
        if b.is_ascii_lowercase() {
            run += 1;
        } else {
            if run >= 3 {
                wordy_chars += run;
            }
            run = 0;
        }
    }
    Some(Shape {
        upper,
        wordy: wordy_chars as f64 / value.len() as f64,
        digits,
        symbols,
        entropy,
    })
}

impl Shape {
    /// Stricter test for values with no secret-like name: what a random alphanumeric key
    /// looks like with overwhelming probability (entropy at least 3.6 bits per character:
    /// the minimum over 200 000 random keys was 3.8; a digit, or else many capitals, unlike
    /// camelCase words; few `_`/`-`).
    pub(crate) fn looks_random(self) -> bool {
        (self.digits >= 1 || self.upper >= 8) && self.symbols <= 2 && self.entropy >= 3.6
    }

    /// The test for a value with no context at all (strict mode's `bare-key-shape`): also
    /// alphanumeric only (every observed key is) and not mostly camelCase words (at most 70%
    /// of characters in lower-case runs of 3+; over 200 000 random keys the maximum was 72%,
    /// the 99.99th percentile 66%), which removes long identifiers such as
    /// `StackBufferManualAlignmentTypes1`.
    pub(crate) fn looks_random_bare(self) -> bool {
        self.looks_random() && self.symbols == 0 && self.wordy <= 0.7
    }
}

fn shannon_entropy(v: &[u8]) -> f64 {
    let mut counts = [0u32; 128];
    for &b in v {
        counts[usize::from(b & 0x7f)] += 1;
    }
    let n = v.len() as f64;
    counts
        .iter()
        .filter(|&&c| c > 0)
        .map(|&c| {
            let p = f64::from(c) / n;
            -p * p.log2()
        })
        .sum()
}

/// A fake key for unit tests, generated from a seed (xorshift) so no key-shaped literal sits
/// in the source and the repository's own scan stays clean.
#[cfg(test)]
pub(crate) fn fake_key(seed: u64) -> String {
    let alphabet = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    let mut state = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    loop {
        let key: String = (0..KEY_LEN)
            .map(|_| {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                char::from(alphabet[(state % 62) as usize])
            })
            .collect();
        // Unit tests want a key every rule accepts.
        if plausible(key.as_bytes()).is_some_and(Shape::looks_random_bare) {
            return key;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn candidates(text: &str) -> Vec<String> {
        let buf = text.as_bytes();
        KEY_RUN
            .find_iter(buf)
            .filter_map(|m| candidate_from_run(buf, m.start(), m.end()))
            .map(|c| String::from_utf8(c.value).unwrap_or_default())
            .collect()
    }

    #[test]
    fn splits_assignments_and_decodes_url_escapes() {
        let k = fake_key(2);
        assert_eq!(candidates(&format!("FICHIER_API_KEY={k}")), [k.as_str()]);
        assert_eq!(
            candidates(&format!("--fichier-api-key={k} x")),
            [k.as_str()]
        );
        assert_eq!(candidates(&format!("a%3D{k}&b")), [k.as_str()]);
        let padded = &k[..30];
        assert_eq!(
            candidates(&format!("k={padded}%3D%3D")),
            [format!("{padded}==")]
        );
        assert_eq!(
            candidates(&format!("k={padded}==")),
            [format!("{padded}==")]
        );
    }

    #[test]
    fn shell_fallback_values_are_split_from_the_operator() {
        let k = fake_key(2);
        for text in [
            format!("KEY=${{FICHIER_API_KEY:-{k}}}"),
            format!("KEY=${{FICHIER_API_KEY-{k}}}"),
            format!("KEY=${{FICHIER_API_KEY:={k}}}"),
            format!("KEY=${{FICHIER_API_KEY={k}}}"),
        ] {
            assert_eq!(candidates(&text), [k.as_str()], "{text}");
        }
        // A longer run is still not a key.
        assert!(candidates(&format!("x --{k}")).is_empty());
    }

    #[test]
    fn rejects_blob_pieces_and_wrong_lengths() {
        let k = fake_key(2);
        assert!(candidates(&format!("x/{k}")).is_empty());
        assert!(candidates(&format!("{k}+abc")).is_empty());
        assert!(candidates(&format!("{k}.example")).is_empty());
        assert!(candidates(&format!("{k}a")).is_empty());
        assert_eq!(candidates(&format!("({k}).")), [k.as_str()]);
    }

    /// Every random alphanumeric key passes the context filter; the bare filter keeps
    /// practically all of them (printed).
    #[test]
    fn random_keys_pass() {
        let mut state = 0x1234_5678_9abc_def0_u64;
        let alphabet = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
        let (n, mut bare) = (20_000, 0);
        for _ in 0..n {
            let key: Vec<u8> = (0..KEY_LEN)
                .map(|_| {
                    state ^= state << 13;
                    state ^= state >> 7;
                    state ^= state << 17;
                    alphabet[(state % 62) as usize]
                })
                .collect();
            let shape = plausible(&key);
            assert!(
                shape.is_some_and(Shape::looks_random),
                "{}",
                String::from_utf8_lossy(&key)
            );
            bare += usize::from(shape.is_some_and(Shape::looks_random_bare));
        }
        println!("bare filter kept {bare}/{n} random keys");
        assert!(bare * 1000 >= n * 999);
    }

    #[test]
    fn plausibility_rejects_lookalikes() {
        let k = fake_key(2);
        assert!(plausible(k.as_bytes()).is_some());
        assert!(plausible(b"d41d8cd98f00b204e9800998ecf8427e").is_none()); // md5
        assert!(plausible(b"D41D8CD98F00B204E9800998ECF8427E").is_none());
        assert!(plausible(b"936DA01f9abd4d9d80c702af85c822a8").is_none()); // mixed-case hex
        let id = plausible(b"StackBufferManualAlignmentTypes1").map(Shape::looks_random_bare);
        assert_eq!(id, Some(false));
        assert!(plausible(b"XXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX").is_none());
        let placeholder = format!("FAKEkeyForEmulator{}1", "0".repeat(13));
        assert!(plausible(placeholder.as_bytes()).is_none());
        let yours = format!("YourApiKeyGoesHere{}abcd", "1234567890");
        assert!(plausible(yours.as_bytes()).is_none());
        assert!(plausible(b"your_api_key_goes_here_000000000").is_none());
        assert!(plausible(b"abcdefghijklmnopqrstuvwxyzABCDEF").is_none());
        let stripe = format!("sk_live_{}", &fake_key(5)[..24]);
        assert!(plausible(stripe.as_bytes()).is_none());
    }
}
