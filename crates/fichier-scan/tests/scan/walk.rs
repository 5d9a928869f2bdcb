//! Directory walks: .gitignore and .fichier-scan-ignore respected, hidden files scanned, `.git`
//! skipped, symlinks never followed out of the tree, explicit files always scanned.

use std::path::Path;
use std::process::Command;

use crate::common::Rng;
use fichier_scan::{ScanOptions, Scanner};

fn write(root: &Path, rel: &str, text: &str) {
    let p = root.join(rel);
    std::fs::create_dir_all(p.parent().expect("parent")).expect("mkdir");
    std::fs::write(p, text).expect("write");
}

fn found_paths(scanner: &Scanner, paths: &[&Path], root: &Path) -> Vec<String> {
    let report = scanner.scan_paths(paths).expect("scan");
    let prefix = format!("{}/", root.to_string_lossy());
    report
        .findings
        .iter()
        .map(|f| f.path.strip_prefix(&prefix).unwrap_or(&f.path).to_owned())
        .collect()
}

#[test]
fn walk_rules() {
    let (mut rng, _) = Rng::from_env();
    let line = |rng: &mut Rng| format!("FICHIER_API_KEY={}\n", rng.key());
    let tmp = tempfile::tempdir().expect("tempdir");
    let root = tmp.path().join("tree");
    let outside = tmp.path().join("outside");
    write(&outside, "secret.env", &line(&mut rng));
    write(&root, ".env", &line(&mut rng));
    write(&root, "ignored/keys.env", &line(&mut rng));
    write(&root, "vendor/keys.env", &line(&mut rng));
    write(&root, ".gitignore", "ignored/\n");
    write(&root, ".fichier-scan-ignore", "vendor/\n");
    write(&root, ".git/config.env", &line(&mut rng));
    let ok = Command::new("git")
        .arg("init")
        .arg("-q")
        .arg(&root)
        .status()
        .expect("git")
        .success();
    assert!(ok);
    #[cfg(unix)]
    {
        std::os::unix::fs::symlink(&outside, root.join("link-to-outside")).expect("symlink");
        std::os::unix::fs::symlink(outside.join("secret.env"), root.join("linked.env"))
            .expect("symlink");
    }
    let scanner = Scanner::default();
    assert_eq!(found_paths(&scanner, &[&root], &root), [".env"]);
    // Without git ignore rules the gitignored directory is scanned; the scanner's own ignore
    // file still applies, and .git and symlinks are never read.
    let all = Scanner::new(ScanOptions {
        respect_gitignore: false,
        ..ScanOptions::default()
    });
    assert_eq!(
        found_paths(&all, &[&root], &root),
        [".env", "ignored/keys.env"]
    );
    // A file named explicitly is scanned even when ignored.
    let explicit = root.join("ignored/keys.env");
    assert_eq!(
        found_paths(&scanner, &[&explicit], &root),
        ["ignored/keys.env"]
    );
}

#[test]
fn overlapping_paths_report_once() {
    let (mut rng, _) = Rng::from_env();
    let tmp = tempfile::tempdir().expect("tempdir");
    let root = tmp.path();
    write(
        root,
        "sub/.env",
        &format!("FICHIER_API_KEY={}\n", rng.key()),
    );
    let sub = root.join("sub");
    let report = Scanner::default().scan_paths(&[root, sub.as_path(), sub.join(".env").as_path()]);
    // The same file reached three ways (tree, subtree, explicit path) is reported once.
    let report = report.expect("scan");
    assert_eq!(report.findings.len(), 1, "{:?}", report.findings);
}
