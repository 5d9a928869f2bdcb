//! The resume state of a segmented download: `NAME.part.state`, a small JSON file next to
//! `NAME.part`, replaced atomically (write a temporary file, then rename) so that a `kill -9`
//! at any instant leaves either the old or the new state, never a torn one.
//!
//! A segment's `done` counter only ever counts bytes whose `write` to the `.part` file has
//! returned, so after a crash the bytes it claims are in the file (the page cache survives
//! the process). Every download keeps one (a single connection too): a `.part` is resumed
//! only when its state names the same remote file, so stray or foreign bytes are never
//! adopted.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// Format version of the state file.
const VERSION: u32 = 1;

/// One byte range `[start, end)` of the file and how much of it, from `start`, is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Segment {
    pub(crate) start: u64,
    pub(crate) end: u64,
    pub(crate) done: u64,
}

impl Segment {
    pub(crate) fn len(&self) -> u64 {
        self.end - self.start
    }
    pub(crate) fn complete(&self) -> bool {
        self.done >= self.len()
    }
}

/// The state file's content.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct PartState {
    pub(crate) version: u32,
    /// The file link the bytes come from.
    pub(crate) link: String,
    /// Its size.
    pub(crate) size: u64,
    /// Its whirlpool, when known (a different checksum means a different file).
    pub(crate) checksum: Option<String>,
    pub(crate) segments: Vec<Segment>,
}

impl PartState {
    pub(crate) fn new(
        link: &str,
        size: u64,
        checksum: Option<&str>,
        segments: Vec<Segment>,
    ) -> Self {
        PartState {
            version: VERSION,
            link: link.to_owned(),
            size,
            checksum: checksum.map(str::to_ascii_lowercase),
            segments,
        }
    }

    /// True when this state describes the same remote file.
    pub(crate) fn matches(&self, link: &str, size: u64, checksum: Option<&str>) -> bool {
        self.version == VERSION
            && self.link == link
            && self.size == size
            && match (&self.checksum, checksum) {
                (Some(a), Some(b)) => a.eq_ignore_ascii_case(b),
                (None, None) => true,
                _ => false,
            }
            && self
                .segments
                .iter()
                .all(|s| s.start <= s.end && s.end <= size && s.done <= s.len())
    }
}

/// `NAME.part.state` for `NAME.part`.
pub fn state_path(part: &Path) -> PathBuf {
    let mut s = part.as_os_str().to_owned();
    s.push(".state");
    PathBuf::from(s)
}

/// Reads a state file; `None` when absent or unreadable (then the `.part` is treated as a
/// plain prefix).
pub(crate) fn load(path: &Path) -> Option<PartState> {
    let text = std::fs::read(path).ok()?;
    serde_json::from_slice(&text).ok()
}

/// Replaces the state file atomically.
pub(crate) fn save(path: &Path, state: &PartState) -> std::io::Result<()> {
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(".tmp");
    let tmp = PathBuf::from(tmp);
    let text = serde_json::to_vec(state).map_err(std::io::Error::other)?;
    // A fresh file, never through whatever (a link…) sits at the temporary name.
    match std::fs::remove_file(&tmp) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(e),
    }
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&tmp)?;
    std::io::Write::write_all(&mut f, &text)?;
    drop(f);
    std::fs::rename(&tmp, path)
}

/// Splits `[start, end)` into `n` nearly equal segments (at least one).
pub(crate) fn split(start: u64, end: u64, n: u32) -> Vec<Segment> {
    let len = end.saturating_sub(start);
    let n = u64::from(n.max(1)).min(len.max(1));
    let step = len / n;
    (0..n)
        .map(|i| {
            let s = start + i * step;
            let e = if i + 1 == n { end } else { s + step };
            Segment {
                start: s,
                end: e,
                done: 0,
            }
        })
        .collect()
}

/// Bytes from 0 that are written without a gap.
pub(crate) fn prefix(segments: &[Segment]) -> u64 {
    let mut p = 0;
    for s in segments {
        if s.start != p {
            break;
        }
        p = s.start + s.done;
        if !s.complete() {
            break;
        }
    }
    p
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn split_and_prefix() {
        let segs = split(0, 10, 3);
        assert_eq!(
            segs.iter().map(|s| (s.start, s.end)).collect::<Vec<_>>(),
            vec![(0, 3), (3, 6), (6, 10)]
        );
        assert_eq!(split(0, 2, 5).len(), 2);
        let mut segs = segs;
        assert_eq!(prefix(&segs), 0);
        segs[1].done = 3;
        assert_eq!(prefix(&segs), 0);
        segs[0].done = 3;
        assert_eq!(prefix(&segs), 6);
        segs[2].done = 1;
        assert_eq!(prefix(&segs), 7);
    }

    #[test]
    fn atomic_save_roundtrip() {
        let dir = tempfile::tempdir().unwrap();
        let p = state_path(&dir.path().join("f.part"));
        let st = PartState::new(
            "https://1fichier.com/?abcde",
            10,
            Some("AB"),
            split(0, 10, 2),
        );
        save(&p, &st).unwrap();
        let back = load(&p).unwrap();
        assert_eq!(back, st);
        assert!(back.matches("https://1fichier.com/?abcde", 10, Some("ab")));
        assert!(!back.matches("https://1fichier.com/?abcde", 11, Some("ab")));
        std::fs::write(&p, b"{torn").unwrap();
        assert!(load(&p).is_none());
    }
}
