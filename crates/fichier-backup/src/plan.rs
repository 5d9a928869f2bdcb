//! The backup plan: given the source files (with their whirlpool) and the copies the remote
//! destination holds, what to upload, what to leave, and which remote copies to retire (move
//! into the versions folder, or delete in a plain mirror), with the safety limits checked
//! before anything is touched.
//!
//! The plan is written so that a run killed anywhere converges on the next run: a changed
//! file is uploaded first and its old copy retired after, so an interruption leaves two
//! same-named copies, and the duplicate rule (keep the copy whose whirlpool matches, retire
//! the others) finishes the job without uploading again.

use std::collections::BTreeMap;
use std::fmt;

/// A source file as the plan sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LocalEntry {
    /// Path relative to the source root, `/`-separated.
    pub rel: String,
    /// Size in bytes.
    pub size: u64,
    /// Whirlpool, lowercase hex.
    pub whirlpool: String,
}

/// One remote copy of a file in the live tree of the destination.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RemoteCopy {
    /// The file's link (its identity for moves and deletes).
    pub link: String,
    /// Size in bytes.
    pub size: u64,
    /// Whirlpool as listed, lowercase hex; `None` when the listing did not give it.
    pub whirlpool: Option<String>,
}

impl RemoteCopy {
    fn matches(&self, local: &LocalEntry) -> bool {
        self.size == local.size
            && self
                .whirlpool
                .as_deref()
                .is_some_and(|w| w.eq_ignore_ascii_case(&local.whirlpool))
    }
}

/// The safety rules a plan is checked against.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Safety {
    /// Stop before retiring more files removed from the source than this.
    pub max_delete: Option<MaxDelete>,
    /// Allow an empty source to retire every remote file.
    pub allow_empty_source: bool,
    /// Allow a run without versions to delete files that no backup run put in the
    /// destination (a first run into a folder that already holds files).
    pub delete_unknown: bool,
}

/// `--max-delete N` or `--max-delete P%`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum MaxDelete {
    /// At most this many files.
    Count(u64),
    /// At most this share of the remote files, in percent.
    Percent(f64),
}

impl MaxDelete {
    /// Parses `50` or `10%`.
    pub fn parse(text: &str) -> Result<Self, String> {
        let t = text.trim();
        if let Some(p) = t.strip_suffix('%') {
            let v: f64 = p.trim().parse().map_err(|_| {
                format!("{t:?}: expected a number of files (50) or a percentage (10%)")
            })?;
            if !(0.0..=100.0).contains(&v) || v.is_nan() {
                return Err(format!("{t:?}: a percentage must be between 0% and 100%"));
            }
            return Ok(MaxDelete::Percent(v));
        }
        t.parse()
            .map(MaxDelete::Count)
            .map_err(|_| format!("{t:?}: expected a number of files (50) or a percentage (10%)"))
    }

    fn limit(self, remote_files: u64) -> u64 {
        match self {
            MaxDelete::Count(n) => n,
            MaxDelete::Percent(p) => ((remote_files as f64) * p / 100.0).floor() as u64,
        }
    }
}

impl fmt::Display for MaxDelete {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            MaxDelete::Count(n) => write!(f, "{n}"),
            MaxDelete::Percent(p) => write!(f, "{p}%"),
        }
    }
}

/// Why a remote copy leaves the live tree.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum RetireReason {
    /// The local file changed; the old copy goes after the new one is uploaded.
    Changed,
    /// The local file is gone.
    Removed,
    /// Another copy with the same name holds the local content.
    Duplicate,
}

impl fmt::Display for RetireReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            RetireReason::Changed => "changed",
            RetireReason::Removed => "removed locally",
            RetireReason::Duplicate => "duplicate",
        })
    }
}

/// A remote copy to move to the versions folder (or delete, with `--no-versions`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Retire {
    /// Its path in the live tree.
    pub rel: String,
    /// The copy.
    pub copy: RemoteCopy,
    /// Why.
    pub reason: RetireReason,
}

/// What a run will do.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Plan {
    /// Files to upload (new or changed), by path.
    pub upload: Vec<LocalEntry>,
    /// Files already there with the same size and whirlpool.
    pub unchanged: Vec<String>,
    /// Copies to retire. `Changed` ones only after the upload of the same path succeeded.
    pub retire: Vec<Retire>,
    /// Empty local files: 1fichier does not store them; the run records them in its manifest
    /// so a restore recreates them.
    pub empty: Vec<String>,
}

impl Plan {
    /// Bytes to upload.
    pub fn upload_bytes(&self) -> u64 {
        self.upload.iter().map(|u| u.size).sum()
    }

    /// Copies retired because their local file is gone (what `--max-delete` limits).
    pub fn removals(&self) -> usize {
        self.retire
            .iter()
            .filter(|r| r.reason == RetireReason::Removed)
            .count()
    }
}

/// A plan refused by the safety rules; nothing has been touched.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum PlanError {
    /// The source has no file while the destination has some.
    #[error(
        "the source is empty but the destination holds {remote_files} files; refusing to retire them all"
    )]
    EmptySource {
        /// Files in the destination's live tree.
        remote_files: u64,
    },
    /// More removals than the removal limit ([`Safety::max_delete`]) allows.
    #[error(
        "{removals} files were removed from the source, more than the removal limit {limit} allows ({allowed} of {remote_files}); nothing was changed"
    )]
    TooManyRemovals {
        /// Removals the plan holds.
        removals: u64,
        /// The limit as given.
        limit: MaxDelete,
        /// The limit in files.
        allowed: u64,
        /// Files in the destination's live tree.
        remote_files: u64,
    },
    /// A run without versions would delete files no backup run put in the destination.
    #[error(
        "the destination holds {unknown} files that no backup run put there; a run without versions would delete them"
    )]
    UnknownFiles {
        /// Files the run would delete.
        unknown: u64,
    },
}

/// Compares `local` with `remote` (path -> every live copy under that path) and checks the
/// result against `safety`.
pub fn plan(
    local: &[LocalEntry],
    remote: &BTreeMap<String, Vec<RemoteCopy>>,
    safety: &Safety,
) -> Result<Plan, PlanError> {
    let remote_files: u64 = remote.values().map(|v| v.len() as u64).sum();
    if local.is_empty() && remote_files > 0 && !safety.allow_empty_source {
        return Err(PlanError::EmptySource { remote_files });
    }
    let mut out = Plan::default();
    let mut local_paths = std::collections::BTreeSet::new();
    for entry in local {
        local_paths.insert(entry.rel.as_str());
        let copies = remote.get(&entry.rel).map(Vec::as_slice).unwrap_or(&[]);
        if entry.size == 0 {
            out.empty.push(entry.rel.clone());
            // An empty file cannot be stored, so a non-empty remote copy is stale content.
            for c in copies {
                out.retire.push(Retire {
                    rel: entry.rel.clone(),
                    copy: c.clone(),
                    reason: RetireReason::Changed,
                });
            }
            continue;
        }
        match copies.iter().position(|c| c.matches(entry)) {
            Some(keep) => {
                out.unchanged.push(entry.rel.clone());
                for (i, c) in copies.iter().enumerate() {
                    if i != keep {
                        out.retire.push(Retire {
                            rel: entry.rel.clone(),
                            copy: c.clone(),
                            reason: RetireReason::Duplicate,
                        });
                    }
                }
            }
            None => {
                out.upload.push(entry.clone());
                for c in copies {
                    out.retire.push(Retire {
                        rel: entry.rel.clone(),
                        copy: c.clone(),
                        reason: RetireReason::Changed,
                    });
                }
            }
        }
    }
    for (rel, copies) in remote {
        if !local_paths.contains(rel.as_str()) {
            for c in copies {
                out.retire.push(Retire {
                    rel: rel.clone(),
                    copy: c.clone(),
                    reason: RetireReason::Removed,
                });
            }
        }
    }
    if let Some(limit) = safety.max_delete {
        let removals = out.removals() as u64;
        let allowed = limit.limit(remote_files);
        if removals > allowed {
            return Err(PlanError::TooManyRemovals {
                removals,
                limit,
                allowed,
                remote_files,
            });
        }
    }
    out.retire
        .sort_by(|a, b| (a.reason, &a.rel).cmp(&(b.reason, &b.rel)));
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn local(rel: &str, size: u64, w: &str) -> LocalEntry {
        LocalEntry {
            rel: rel.into(),
            size,
            whirlpool: w.into(),
        }
    }

    fn copy(link: &str, size: u64, w: &str) -> RemoteCopy {
        RemoteCopy {
            link: link.into(),
            size,
            whirlpool: Some(w.into()),
        }
    }

    fn remote(entries: &[(&str, RemoteCopy)]) -> BTreeMap<String, Vec<RemoteCopy>> {
        let mut m: BTreeMap<String, Vec<RemoteCopy>> = BTreeMap::new();
        for (rel, c) in entries {
            m.entry(rel.to_string()).or_default().push(c.clone());
        }
        m
    }

    #[test]
    fn new_changed_unchanged_and_removed_files() {
        let l = [
            local("new", 1, "aa"),
            local("same", 2, "bb"),
            local("changed", 3, "cc"),
        ];
        let r = remote(&[
            ("same", copy("L1", 2, "BB")),
            ("changed", copy("L2", 3, "zz")),
            ("gone", copy("L3", 4, "dd")),
        ]);
        let p = plan(&l, &r, &Safety::default()).unwrap();
        assert_eq!(
            p.upload.iter().map(|u| u.rel.as_str()).collect::<Vec<_>>(),
            ["new", "changed"]
        );
        assert_eq!(p.unchanged, ["same"]);
        let retire: Vec<_> = p
            .retire
            .iter()
            .map(|r| (r.rel.as_str(), r.copy.link.as_str(), r.reason))
            .collect();
        assert_eq!(
            retire,
            [
                ("changed", "L2", RetireReason::Changed),
                ("gone", "L3", RetireReason::Removed)
            ]
        );
        assert_eq!(p.upload_bytes(), 4);
    }

    #[test]
    fn an_interrupted_replacement_converges_without_uploading_again() {
        // Killed after uploading the new copy and before retiring the old one: two copies.
        let l = [local("f", 3, "new")];
        let r = remote(&[("f", copy("OLD", 3, "old")), ("f", copy("NEW", 3, "new"))]);
        let p = plan(&l, &r, &Safety::default()).unwrap();
        assert!(p.upload.is_empty());
        assert_eq!(p.unchanged, ["f"]);
        assert_eq!(p.retire.len(), 1);
        assert_eq!(
            (p.retire[0].copy.link.as_str(), p.retire[0].reason),
            ("OLD", RetireReason::Duplicate)
        );
    }

    #[test]
    fn an_empty_source_is_refused_unless_allowed() {
        let r = remote(&[("a", copy("L", 1, "aa"))]);
        assert_eq!(
            plan(&[], &r, &Safety::default()),
            Err(PlanError::EmptySource { remote_files: 1 })
        );
        let p = plan(
            &[],
            &r,
            &Safety {
                allow_empty_source: true,
                ..Default::default()
            },
        )
        .unwrap();
        assert_eq!(p.removals(), 1);
        // An empty source and an empty destination is simply nothing to do.
        assert_eq!(
            plan(&[], &BTreeMap::new(), &Safety::default()).unwrap(),
            Plan::default()
        );
    }

    #[test]
    fn max_delete_counts_only_removals_and_stops_before_anything_is_touched() {
        let l = [local("keep", 1, "aa"), local("changed", 1, "new")];
        let r = remote(&[
            ("keep", copy("K", 1, "aa")),
            ("changed", copy("C", 1, "old")),
            ("x", copy("X", 1, "x")),
            ("y", copy("Y", 1, "y")),
        ]);
        let count = Safety {
            max_delete: Some(MaxDelete::Count(1)),
            ..Default::default()
        };
        let err = plan(&l, &r, &count).unwrap_err();
        assert!(
            matches!(
                err,
                PlanError::TooManyRemovals {
                    removals: 2,
                    allowed: 1,
                    ..
                }
            ),
            "{err:?}"
        );
        assert!(err.to_string().contains("more than the removal limit"));
        let half = Safety {
            max_delete: Some(MaxDelete::Percent(50.0)),
            ..Default::default()
        };
        assert_eq!(plan(&l, &r, &half).unwrap().removals(), 2);
    }

    #[test]
    fn empty_local_files_are_recorded_not_uploaded() {
        let l = [local("empty", 0, "")];
        let r = remote(&[("empty", copy("OLD", 5, "aa"))]);
        let p = plan(&l, &r, &Safety::default()).unwrap();
        assert_eq!(p.empty, ["empty"]);
        assert!(p.upload.is_empty());
        assert_eq!(p.retire[0].reason, RetireReason::Changed);
    }

    #[test]
    fn a_copy_without_a_listed_whirlpool_is_not_trusted() {
        let l = [local("f", 1, "aa")];
        let r = remote(&[(
            "f",
            RemoteCopy {
                link: "L".into(),
                size: 1,
                whirlpool: None,
            },
        )]);
        let p = plan(&l, &r, &Safety::default()).unwrap();
        assert_eq!(p.upload.len(), 1);
    }

    #[test]
    fn max_delete_parsing() {
        assert_eq!(MaxDelete::parse("50"), Ok(MaxDelete::Count(50)));
        assert_eq!(MaxDelete::parse("10%"), Ok(MaxDelete::Percent(10.0)));
        assert!(
            MaxDelete::parse("150%")
                .unwrap_err()
                .contains("between 0% and 100%")
        );
        assert!(
            MaxDelete::parse("lots")
                .unwrap_err()
                .contains("expected a number")
        );
        assert!(MaxDelete::parse("-1").is_err());
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        /// Running the plan, then planning again against the result, finds nothing to do:
        /// the plan converges in one run.
        #[test]
        fn a_plan_applied_leaves_nothing_to_do(
            locals in proptest::collection::btree_map("[a-d]{1,2}", (0u64..4, "[xyz]"), 0..8),
            remotes in proptest::collection::vec(("[a-d]{1,2}", 0u64..4, "[xyz]"), 0..10),
        ) {
            let l: Vec<LocalEntry> = locals.iter().map(|(rel, (size, w))| local(rel, *size, w)).collect();
            let mut r: BTreeMap<String, Vec<RemoteCopy>> = BTreeMap::new();
            for (i, (rel, size, w)) in remotes.iter().enumerate() {
                r.entry(rel.clone()).or_default().push(copy(&format!("L{i}"), *size, w));
            }
            let safety = Safety { allow_empty_source: true, ..Default::default() };
            let p = plan(&l, &r, &safety).unwrap();
            // Apply: retire, then add the uploads.
            let mut after = r.clone();
            for ret in &p.retire {
                let v = after.get_mut(&ret.rel).unwrap();
                v.retain(|c| c.link != ret.copy.link);
            }
            after.retain(|_, v| !v.is_empty());
            for u in &p.upload {
                after.entry(u.rel.clone()).or_default().push(copy(&format!("N-{}", u.rel), u.size, &u.whirlpool));
            }
            let again = plan(&l, &after, &safety).unwrap();
            prop_assert!(again.upload.is_empty());
            prop_assert!(again.retire.is_empty());
            // Every remote copy is either kept once or retired.
            let kept: usize = p.unchanged.len();
            let total: usize = r.values().map(Vec::len).sum();
            prop_assert_eq!(kept + p.retire.len(), total);
        }
    }
}
