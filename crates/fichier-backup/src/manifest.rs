//! The manifest a backup run writes into its destination (`.versions/manifests/<stamp>.jsonl.gz`):
//! every path with size, whirlpool, link, mtime and mode, gzip-compressed JSON lines, so a
//! restore on a new machine needs nothing but the key. Also what restore and verify compute
//! from a manifest: which copy to fetch for each path, and how the live tree differs from it.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};

use serde::{Deserialize, Serialize};

use crate::journal::ManifestEntry;
use crate::plan::RemoteCopy;

/// The folder under the versions folder that holds the manifests.
pub const MANIFESTS_DIR: &str = "manifests";
/// The format name in a manifest's first line.
pub const FORMAT: &str = "fichier-backup-manifest";
/// Refuse manifests larger than this once decompressed (a hostile or corrupt file must not
/// exhaust memory): 1 GiB is ~5 million entries.
const MAX_DECOMPRESSED: u64 = 1 << 30;

/// The first line of a manifest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ManifestHeader {
    /// Always [`FORMAT`].
    pub format: String,
    /// Format version (1).
    pub version: u32,
    /// Profile name.
    pub profile: String,
    /// Run stamp.
    pub stamp: String,
    /// Number of entries that follow.
    pub entries: u64,
}

#[derive(Debug, Serialize, Deserialize)]
struct Line {
    path: String,
    size: u64,
    #[serde(default)]
    whirlpool: String,
    #[serde(default)]
    link: String,
    #[serde(default)]
    mtime_ns: String,
    #[serde(default = "default_mode")]
    mode: u32,
}

fn default_mode() -> u32 {
    0o644
}

/// The name of the manifest file of run `stamp`.
pub fn manifest_file_name(stamp: &str) -> String {
    format!("{stamp}.jsonl.gz")
}

/// Serialises and compresses a manifest.
pub fn encode(profile: &str, stamp: &str, entries: &[ManifestEntry]) -> Vec<u8> {
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    let header = ManifestHeader {
        format: FORMAT.into(),
        version: 1,
        profile: profile.into(),
        stamp: stamp.into(),
        entries: entries.len() as u64,
    };
    // Writing into a Vec cannot fail.
    let _ = serde_json::to_writer(&mut gz, &header);
    let _ = gz.write_all(b"\n");
    for e in entries {
        let line = Line {
            path: e.rel.clone(),
            size: e.size,
            whirlpool: e.whirlpool.clone(),
            link: e.link.clone(),
            mtime_ns: e.mtime_ns.to_string(),
            mode: e.mode,
        };
        let _ = serde_json::to_writer(&mut gz, &line);
        let _ = gz.write_all(b"\n");
    }
    gz.finish().unwrap_or_default()
}

/// Reads a manifest back, refusing anything that is not one (wrong format, cut, a path that
/// climbs out of the restore target, more entries than announced).
pub fn decode(bytes: &[u8]) -> Result<(ManifestHeader, Vec<ManifestEntry>), String> {
    let gz = flate2::read::GzDecoder::new(bytes).take(MAX_DECOMPRESSED + 1);
    let mut lines = BufReader::new(gz).lines();
    let first = lines
        .next()
        .ok_or("the manifest is empty")?
        .map_err(|e| format!("the manifest is not gzip data or is cut: {e}"))?;
    let header: ManifestHeader =
        serde_json::from_str(&first).map_err(|e| format!("not a backup manifest: {e}"))?;
    if header.format != FORMAT || header.version != 1 {
        return Err(format!(
            "unsupported manifest format {:?} version {}",
            header.format, header.version
        ));
    }
    let mut entries = Vec::new();
    let mut read = first.len() as u64;
    for (n, line) in lines.enumerate() {
        let line =
            line.map_err(|e| format!("the manifest is cut after {} entries: {e}", entries.len()))?;
        read += line.len() as u64 + 1;
        if read > MAX_DECOMPRESSED {
            return Err("the manifest is larger than 1 GiB once decompressed".into());
        }
        if line.trim().is_empty() {
            continue;
        }
        let l: Line =
            serde_json::from_str(&line).map_err(|e| format!("manifest line {}: {e}", n + 2))?;
        if !safe_relative(&l.path) {
            return Err(format!("manifest line {}: unsafe path {:?}", n + 2, l.path));
        }
        entries.push(ManifestEntry {
            rel: l.path,
            size: l.size,
            whirlpool: l.whirlpool,
            link: l.link,
            mtime_ns: l.mtime_ns.parse().unwrap_or(0),
            mode: l.mode & 0o7777,
        });
    }
    if entries.len() as u64 != header.entries {
        return Err(format!(
            "the manifest announces {} entries but holds {}; it is cut",
            header.entries,
            entries.len()
        ));
    }
    Ok((header, entries))
}

/// A relative path that stays inside its root: no empty, `.` or `..` segment, no leading
/// `/`, no NUL or backslash.
pub fn safe_relative(path: &str) -> bool {
    !path.is_empty()
        && !path.starts_with('/')
        && !path.contains('\0')
        && !path.contains('\\')
        && path
            .split('/')
            .all(|seg| !seg.is_empty() && seg != "." && seg != "..")
}

/// How the destination differs from a manifest, by listings alone.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct VerifyReport {
    /// Entries whose copy is there with the recorded size and whirlpool.
    pub ok: usize,
    /// Entries with no copy at their path.
    pub missing: Vec<String>,
    /// Entries whose copy at their path has another size or whirlpool.
    pub changed: Vec<String>,
    /// Live paths the manifest does not know.
    pub unknown: Vec<String>,
}

impl VerifyReport {
    /// True when the destination matches the manifest.
    pub fn clean(&self) -> bool {
        self.missing.is_empty() && self.changed.is_empty()
    }
}

/// Compares a manifest with the live tree (path -> copies). Empty files are not stored
/// remotely and always count as present.
pub fn verify(entries: &[ManifestEntry], live: &BTreeMap<String, Vec<RemoteCopy>>) -> VerifyReport {
    let mut report = VerifyReport::default();
    for e in entries {
        if e.size == 0 {
            report.ok += 1;
            continue;
        }
        match live.get(&e.rel) {
            None => report.missing.push(e.rel.clone()),
            Some(copies) => {
                let same = copies.iter().any(|c| {
                    c.size == e.size
                        && c.whirlpool
                            .as_deref()
                            .is_some_and(|w| w.eq_ignore_ascii_case(&e.whirlpool))
                });
                if same {
                    report.ok += 1;
                } else {
                    report.changed.push(e.rel.clone());
                }
            }
        }
    }
    let known: std::collections::BTreeSet<&str> = entries.iter().map(|e| e.rel.as_str()).collect();
    report.unknown = live
        .keys()
        .filter(|k| !known.contains(k.as_str()))
        .cloned()
        .collect();
    report
}

/// One file a restore fetches.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RestoreItem {
    /// The manifest entry (path, size, whirlpool, mtime, mode).
    pub entry: ManifestEntry,
    /// The link to download from; empty for an empty file (created locally).
    pub link: String,
}

/// What to fetch to rebuild the tree of a manifest, limited to `only` (paths or folders, as
/// given on the command line; empty = everything). Every copy in the destination, live or in
/// versions, is a candidate: the recorded link first, then any copy with the same size and
/// whirlpool. Entries with no usable copy are returned apart.
pub fn restore_plan(
    entries: &[ManifestEntry],
    all_copies: &[RemoteCopy],
    only: &[String],
) -> (Vec<RestoreItem>, Vec<ManifestEntry>) {
    let by_link: BTreeMap<&str, &RemoteCopy> =
        all_copies.iter().map(|c| (c.link.as_str(), c)).collect();
    let mut by_content: BTreeMap<(u64, String), &RemoteCopy> = BTreeMap::new();
    for c in all_copies {
        if let Some(w) = &c.whirlpool {
            by_content
                .entry((c.size, w.to_ascii_lowercase()))
                .or_insert(c);
        }
    }
    let wanted = |rel: &str| {
        only.is_empty()
            || only.iter().any(|o| {
                let o = o.trim_matches('/');
                o.is_empty() || rel == o || rel.starts_with(&format!("{o}/"))
            })
    };
    let mut items = Vec::new();
    let mut lost = Vec::new();
    for e in entries.iter().filter(|e| wanted(&e.rel)) {
        if e.size == 0 {
            items.push(RestoreItem {
                entry: e.clone(),
                link: String::new(),
            });
            continue;
        }
        let matches = |c: &&RemoteCopy| {
            c.size == e.size
                && c.whirlpool
                    .as_deref()
                    .is_some_and(|w| w.eq_ignore_ascii_case(&e.whirlpool))
        };
        let copy = by_link
            .get(e.link.as_str())
            .copied()
            .filter(matches)
            .or_else(|| {
                by_content
                    .get(&(e.size, e.whirlpool.to_ascii_lowercase()))
                    .copied()
            });
        match copy {
            Some(c) => items.push(RestoreItem {
                entry: e.clone(),
                link: c.link.clone(),
            }),
            None => lost.push(e.clone()),
        }
    }
    (items, lost)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn entry(rel: &str, size: u64, w: &str, link: &str) -> ManifestEntry {
        ManifestEntry {
            rel: rel.into(),
            size,
            whirlpool: w.into(),
            link: link.into(),
            mtime_ns: 1_700_000_000_000_000_001,
            mode: 0o600,
        }
    }

    fn copy(link: &str, size: u64, w: &str) -> RemoteCopy {
        RemoteCopy {
            link: link.into(),
            size,
            whirlpool: Some(w.into()),
        }
    }

    #[test]
    fn a_manifest_round_trips_and_a_cut_one_is_refused() {
        let entries = vec![entry("a/b c.txt", 3, "ab", "L1"), entry("empty", 0, "", "")];
        let bytes = encode("photos", "2026-12-01T020000Z", &entries);
        let (header, back) = decode(&bytes).unwrap();
        assert_eq!((header.profile.as_str(), header.entries), ("photos", 2));
        assert_eq!(back, entries);
        assert!(decode(&bytes[..bytes.len() / 2]).is_err());
        assert!(decode(b"not gzip").unwrap_err().contains("gzip"));
    }

    #[test]
    fn a_manifest_with_a_climbing_path_is_refused() {
        let bytes = encode("p", "s", &[entry("../etc/passwd", 1, "aa", "L")]);
        assert!(decode(&bytes).unwrap_err().contains("unsafe path"));
        for bad in ["", "/abs", "a//b", "a/./b", "a/../b", "a\\b", "a\0b"] {
            assert!(!safe_relative(bad), "{bad:?}");
        }
        assert!(safe_relative("a/b c/é.txt"));
    }

    #[test]
    fn verify_names_missing_changed_and_unknown_paths() {
        let entries = [
            entry("ok", 1, "aa", "L1"),
            entry("gone", 1, "bb", "L2"),
            entry("edited", 1, "cc", "L3"),
            entry("e", 0, "", ""),
        ];
        let mut live = BTreeMap::new();
        live.insert("ok".to_string(), vec![copy("L1", 1, "AA")]);
        live.insert("edited".to_string(), vec![copy("L9", 1, "zz")]);
        live.insert("new".to_string(), vec![copy("L8", 1, "dd")]);
        let r = verify(&entries, &live);
        assert_eq!(
            (
                r.ok,
                r.missing.as_slice(),
                r.changed.as_slice(),
                r.unknown.as_slice()
            ),
            (
                2,
                &["gone".to_string()][..],
                &["edited".to_string()][..],
                &["new".to_string()][..]
            )
        );
        assert!(!r.clean());
    }

    #[test]
    fn restore_takes_the_recorded_link_or_any_copy_with_the_content() {
        let entries = [
            entry("a", 1, "aa", "L1"),
            entry("d/b", 2, "bb", "OLD"),
            entry("d/c", 3, "cc", "L3"),
            entry("e", 0, "", ""),
        ];
        let copies = [copy("L1", 1, "aa"), copy("MOVED", 2, "bb")];
        let (items, lost) = restore_plan(&entries, &copies, &[]);
        let got: Vec<(&str, &str)> = items
            .iter()
            .map(|i| (i.entry.rel.as_str(), i.link.as_str()))
            .collect();
        assert_eq!(got, [("a", "L1"), ("d/b", "MOVED"), ("e", "")]);
        assert_eq!(
            lost.iter().map(|e| e.rel.as_str()).collect::<Vec<_>>(),
            ["d/c"]
        );
        let (items, _) = restore_plan(&entries, &copies, &["/d/".to_string()]);
        assert_eq!(items.len(), 1);
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(128))]

        #[test]
        fn decoding_arbitrary_bytes_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
            let _ = decode(&bytes);
        }

        #[test]
        fn any_safe_entries_round_trip(paths in proptest::collection::btree_set("[a-z ]{1,5}(/[a-z.]{1,4}){0,2}", 0..10)) {
            let entries: Vec<ManifestEntry> = paths.iter().filter(|p| safe_relative(p)).map(|p| entry(p, 5, "ab", "L")).collect();
            let (_, back) = decode(&encode("p", "s", &entries)).unwrap();
            prop_assert_eq!(back, entries);
        }
    }
}
