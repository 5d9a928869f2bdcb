//! `plan_fixes` and `FixPlan::apply` on real files: a file changed between the scan and the
//! write is never clobbered, a symlink is never followed, and the diff never holds the key.

use fichier_scan::{FixAction, FixError, ScanOptions, Scanner, plan_fixes};

use crate::common::Rng;

fn plan_for(
    text: &str,
) -> (
    tempfile::TempDir,
    std::path::PathBuf,
    Vec<fichier_scan::FixPlan>,
) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("job.sh");
    std::fs::write(&path, text).unwrap();
    let scanner = Scanner::new(ScanOptions::default());
    let report = scanner.scan_paths(&[&path]).unwrap();
    let plans = plan_fixes(&report.findings, &scanner);
    (dir, path, plans)
}

#[test]
fn a_file_changed_after_the_scan_is_not_clobbered() {
    let (mut rng, seed) = Rng::from_env();
    let key = rng.key();
    let (_dir, path, plans) = plan_for(&format!("export FICHIER_API_KEY={key}\n"));
    assert_eq!(plans.len(), 1, "seed {seed}");
    assert_eq!(plans[0].action, FixAction::Rewrite);
    let diff = plans[0].diff().unwrap();
    assert!(!diff.contains(&key), "the diff holds the key");
    assert!(
        diff.contains("+export FICHIER_API_KEY=\"${FICHIER_API_KEY}\""),
        "{diff}"
    );

    // Someone edits the file between the scan and the write.
    let edited = format!("export FICHIER_API_KEY={key}\necho edited\n");
    std::fs::write(&path, &edited).unwrap();
    assert!(matches!(plans[0].apply(), Err(FixError::Changed(_))));
    assert_eq!(std::fs::read_to_string(&path).unwrap(), edited);

    // Removed: not recreated.
    std::fs::remove_file(&path).unwrap();
    assert!(plans[0].apply().is_err());
    assert!(!path.exists());
}

#[cfg(unix)]
#[test]
fn a_file_replaced_by_a_symlink_after_the_scan_is_not_followed() {
    let (mut rng, _) = Rng::from_env();
    let key = rng.key();
    let text = format!("export FICHIER_API_KEY={key}\n");
    let (dir, path, plans) = plan_for(&text);
    let target = dir.path().join("elsewhere");
    std::fs::write(&target, &text).unwrap();
    std::fs::remove_file(&path).unwrap();
    std::os::unix::fs::symlink(&target, &path).unwrap();
    assert!(matches!(plans[0].apply(), Err(FixError::NotRegular(_))));
    assert_eq!(std::fs::read_to_string(&target).unwrap(), text);
    assert!(
        std::fs::symlink_metadata(&path)
            .unwrap()
            .file_type()
            .is_symlink()
    );
}

#[cfg(unix)]
#[test]
fn hard_linked_files_are_left_alone() {
    let (mut rng, _) = Rng::from_env();
    let key = rng.key();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("job.sh");
    std::fs::write(&path, format!("export FICHIER_API_KEY={key}\n")).unwrap();
    std::fs::hard_link(&path, dir.path().join("other-name.sh")).unwrap();
    let scanner = Scanner::new(ScanOptions::default());
    let report = scanner.scan_paths(&[&path]).unwrap();
    let plans = plan_fixes(&report.findings, &scanner);
    assert!(
        matches!(&plans[0].action, FixAction::Manual { reason } if reason.contains("hard links"))
    );
    assert!(!plans[0].has_rewrite());
}

/// Pieces of text the fixers' tokenizers care about, to build hostile inputs from.
const PIECES: &[&str] = &[
    "\"",
    "'",
    "`",
    "\"\"\"",
    "#",
    "//",
    "/*",
    "*/",
    "\\",
    "${",
    "}",
    "{",
    "$((1<<2))",
    "<<EOF",
    "<<-'EOF'",
    "EOF",
    "\n",
    "\r\n",
    " ",
    "=",
    ": ",
    "- ",
    "[",
    "]",
    "api_key = ",
    "f\"",
    "r'",
    "é",
    "FICHIER_API_KEY=",
    "1fichier",
    "Bearer ",
    "import os",
    "os",
    "x",
];

#[test]
fn hostile_inputs_never_panic_and_a_rewrite_never_keeps_the_key() {
    let (mut rng, seed) = Rng::from_env();
    let scanner = Scanner::new(ScanOptions::default());
    let dir = tempfile::tempdir().unwrap();
    let names = [
        "a.sh",
        "a.py",
        "a.js",
        "a.tsx",
        "a.yml",
        "rclone.conf",
        ".env",
        ".github/workflows/w.yml",
    ];
    std::fs::create_dir_all(dir.path().join(".github/workflows")).unwrap();
    let mut rewrites = 0;
    for round in 0..240 {
        let key = rng.key();
        let mut text = String::new();
        for _ in 0..rng.below(40) {
            text.push_str(PIECES[rng.below(PIECES.len())]);
        }
        // The key with fichier context, somewhere in the middle.
        let at = (0..=text.len())
            .filter(|i| text.is_char_boundary(*i))
            .nth(rng.below(text.chars().count() + 1))
            .unwrap_or(0);
        text.insert_str(at, &format!(" FICHIER_API_KEY={key} "));
        for _ in 0..rng.below(20) {
            text.push_str(PIECES[rng.below(PIECES.len())]);
        }
        let name = names[round % names.len()];
        let path = dir.path().join(name);
        std::fs::write(&path, &text).unwrap();
        let report = scanner.scan_paths(&[&path]).unwrap();
        for plan in plan_fixes(&report.findings, &scanner) {
            if let Some(diff) = plan.diff() {
                rewrites += 1;
                assert!(
                    !diff.contains(&key),
                    "seed {seed} round {round}: key in the diff"
                );
                plan.apply().unwrap();
                let new = std::fs::read_to_string(&path).unwrap();
                assert!(!new.contains(&key), "seed {seed} round {round}: {new:?}");
            }
        }
    }
    assert!(rewrites > 30, "seed {seed}: only {rewrites} rewrites");
}

/// Two different keys in one script once both became `${FICHIER_API_KEY}`: the script then
/// silently used one account where it used two.
#[test]
fn two_different_keys_in_one_file_are_left_for_a_manual_edit() {
    let (mut rng, seed) = Rng::from_env();
    let (a, b) = (rng.key(), rng.key());
    let text = format!(
        "#!/bin/sh\nSRC_KEY=\"{a}\"  # 1fichier account A\nDST_KEY=\"{b}\"  # 1fichier account B\n"
    );
    let (_dir, path, plans) = plan_for(&text);
    assert_eq!(plans.len(), 1, "seed {seed}");
    let FixAction::Manual { reason } = &plans[0].action else {
        panic!("rewritten: {:?} (seed {seed})", plans[0].action);
    };
    assert!(reason.contains("2 different keys"), "{reason}");
    assert!(!reason.contains(&a) && !reason.contains(&b));
    assert!(plans[0].apply().is_err());
    assert_eq!(std::fs::read_to_string(&path).unwrap(), text);
}

/// Root fixing a user's script once left it owned by root (the rewrite is a new file renamed
/// into place).
#[cfg(unix)]
#[test]
fn a_rewrite_keeps_the_owner_and_group_of_the_file() {
    use std::os::unix::fs::{MetadataExt as _, PermissionsExt as _};
    let (mut rng, seed) = Rng::from_env();
    let key = rng.key();
    let (_dir, path, plans) = plan_for(&format!("export FICHIER_API_KEY={key}\n"));
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o754)).unwrap();
    let before = std::fs::metadata(&path).unwrap();
    // As root: hand the file to another user first, as a user's script would be.
    let root = before.uid() == 0;
    if root {
        std::os::unix::fs::chown(&path, Some(65534), Some(65534)).unwrap();
    }
    let before = std::fs::metadata(&path).unwrap();
    let plans = if root {
        let scanner = Scanner::new(ScanOptions::default());
        let report = scanner.scan_paths(&[&path]).unwrap();
        plan_fixes(&report.findings, &scanner)
    } else {
        plans
    };
    plans[0]
        .apply()
        .unwrap_or_else(|e| panic!("{e} (seed {seed})"));
    let after = std::fs::metadata(&path).unwrap();
    assert_ne!(
        after.ino(),
        before.ino(),
        "not a rename: the test proves nothing"
    );
    assert_eq!((after.uid(), after.gid()), (before.uid(), before.gid()));
    assert_eq!(after.mode() & 0o7777, 0o754);
    assert!(!std::fs::read_to_string(&path).unwrap().contains(&key));
}
