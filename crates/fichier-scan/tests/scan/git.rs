//! Git inputs against real repositories made with the `git` program in temp directories:
//! history (deleted files, other branches, one report per blob, the commit that added it),
//! staged changes, the pre-commit hook installer, and the hardening every git call of the
//! scanner shares (scan, `--fix`, hook).

use std::path::Path;
use std::process::Command;

use crate::common::Rng;
use fichier_scan::{
    FixAction, HookOptions, ScanError, ScanOptions, Scanner, install_hook, plan_fixes,
};

fn git(repo: &Path, args: &[&str]) -> String {
    let out = Command::new("git")
        .arg("-C")
        .arg(repo)
        .args([
            "-c",
            "user.name=Test",
            "-c",
            "user.email=test@example.org",
            "-c",
            "commit.gpgsign=false",
        ])
        .args(args)
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .output()
        .expect("git runs");
    assert!(
        out.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

fn new_repo() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    git(dir.path(), &["init", "-q", "-b", "main"]);
    dir
}

fn write(repo: &Path, rel: &str, text: &str) {
    let p = repo.join(rel);
    std::fs::create_dir_all(p.parent().expect("parent")).expect("mkdir");
    std::fs::write(p, text).expect("write");
}

#[test]
fn history_finds_deleted_files_and_other_branches_once_each() {
    let (mut rng, seed) = Rng::from_env();
    println!("seed {seed}");
    let (k1, k2, k3) = (rng.key(), rng.key(), rng.key());
    let tmp = new_repo();
    let repo = tmp.path();
    write(repo, "README.md", "# project\n");
    git(repo, &["add", "."]);
    git(repo, &["commit", "-qm", "init"]);
    write(repo, "deploy/.env", &format!("FICHIER_API_KEY={k1}\n"));
    git(repo, &["add", "."]);
    git(repo, &["commit", "-qm", "add env"]);
    let added_k1 = git(repo, &["rev-parse", "HEAD"]);
    // Same content again under another name: the blob is scanned once.
    write(repo, "copy/.env", &format!("FICHIER_API_KEY={k1}\n"));
    git(repo, &["add", "."]);
    git(repo, &["commit", "-qm", "copy"]);
    git(repo, &["rm", "-q", "-r", "deploy", "copy"]);
    git(repo, &["commit", "-qm", "oops, remove"]);
    git(repo, &["checkout", "-q", "-b", "feature"]);
    write(
        repo,
        "rclone.conf",
        &format!("[f]\ntype = fichier\napi_key = {k2}\n"),
    );
    git(repo, &["add", "."]);
    git(repo, &["commit", "-qm", "rclone"]);
    let added_k2 = git(repo, &["rev-parse", "HEAD"]);
    git(repo, &["checkout", "-q", "main"]);
    // Uncommitted work is not history.
    write(repo, "wip.sh", &format!("export FICHIER_API_KEY={k3}\n"));

    let report = Scanner::new(ScanOptions::default())
        .scan_git_history(repo)
        .expect("history scan");
    let got: Vec<(String, String, Option<String>)> = report
        .findings
        .iter()
        .map(|f| {
            (
                f.path.clone(),
                f.expose_key_for_verification().to_owned(),
                f.commit.clone(),
            )
        })
        .collect();
    assert_eq!(
        got,
        vec![
            ("deploy/.env".to_owned(), k1.clone(), Some(added_k1)),
            ("rclone.conf".to_owned(), k2.clone(), Some(added_k2)),
        ],
        "one finding per blob, with the commit that added it"
    );
    assert!(
        report.stats.commits >= 4,
        "commits walked: {}",
        report.stats.commits
    );
    let text = fichier_scan::render_text(&report);
    assert!(text.contains("  commit "), "{text}");
    assert!(!text.contains(&k1) && !text.contains(&k2));
}

#[test]
fn history_of_an_empty_repository_is_clean_and_a_non_repository_is_an_error() {
    let tmp = new_repo();
    let report = Scanner::default()
        .scan_git_history(tmp.path())
        .expect("empty repo scans");
    assert!(report.findings.is_empty());
    assert_eq!(report.exit_code(), 0);
    let plain = tempfile::tempdir().expect("tempdir");
    let err = Scanner::default()
        .scan_git_history(plain.path())
        .expect_err("not a repository");
    assert!(matches!(err, ScanError::Git { .. }), "{err}");
    assert!(err.to_string().contains("git log"), "{err}");
}

#[test]
fn staged_reports_added_lines_only() {
    let (mut rng, _) = Rng::from_env();
    let (old, new) = (rng.key(), rng.key());
    let tmp = new_repo();
    let repo = tmp.path();
    write(
        repo,
        "config/.env",
        &format!("# 1fichier\nFICHIER_API_KEY={old}\n"),
    );
    git(repo, &["add", "."]);
    git(repo, &["commit", "-qm", "old key, already leaked"]);
    let scanner = Scanner::default();
    assert!(
        scanner
            .scan_staged(repo)
            .expect("staged")
            .findings
            .is_empty(),
        "nothing staged"
    );

    write(
        repo,
        "config/.env",
        &format!("# 1fichier\nFICHIER_API_KEY={old}\nRCLONE_FICHIER_API_KEY={new}\n"),
    );
    write(repo, "notes.txt", "nothing here\n");
    // Unstaged edits are not what the commit will contain.
    write(
        repo,
        "unstaged.env",
        &format!("FICHIER_API_KEY={}\n", rng.key()),
    );
    git(repo, &["add", "config/.env", "notes.txt"]);
    let report = scanner.scan_staged(repo).expect("staged");
    let got: Vec<(&str, usize, &str)> = report
        .findings
        .iter()
        .map(|f| (f.path.as_str(), f.line, f.expose_key_for_verification()))
        .collect();
    assert_eq!(got, vec![("config/.env", 3, new.as_str())]);
    assert_eq!(report.exit_code(), 1);
}

#[test]
fn hook_is_written_once_and_never_overwritten_silently() {
    let tmp = new_repo();
    let repo = tmp.path();
    let hook = install_hook(repo, &HookOptions::default()).expect("install");
    assert!(hook.ends_with("hooks/pre-commit"), "{}", hook.display());
    let text = std::fs::read_to_string(&hook).expect("hook readable");
    assert!(
        text.starts_with("#!/bin/sh\n") && text.contains("exec fichier scan --staged\n"),
        "{text}"
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&hook).expect("meta").permissions().mode();
        assert_eq!(mode & 0o111, 0o111, "hook must be executable");
    }
    let err = install_hook(repo, &HookOptions::default()).expect_err("second install refuses");
    assert!(matches!(err, ScanError::HookExists(_)));
    assert!(err.to_string().contains("--force"), "{err}");
    let opts = HookOptions {
        baseline: Some(".fichier-scan-baseline.json".into()),
        force: true,
        ..HookOptions::default()
    };
    install_hook(repo, &opts).expect("forced reinstall");
    let text = std::fs::read_to_string(&hook).expect("hook readable");
    assert!(
        text.contains("--baseline .fichier-scan-baseline.json"),
        "{text}"
    );
}

#[test]
fn hook_follows_core_hooks_path() {
    let tmp = new_repo();
    let repo = tmp.path();
    git(repo, &["config", "core.hooksPath", ".githooks"]);
    let hook = install_hook(repo, &HookOptions::default()).expect("install");
    assert!(
        hook.starts_with(
            std::fs::canonicalize(repo)
                .expect("canon")
                .join(".githooks")
        ) || hook.starts_with(repo.join(".githooks")),
        "{}",
        hook.display()
    );
}

#[cfg(unix)]
#[test]
fn installed_hook_blocks_commits_when_the_scan_fails() {
    use std::os::unix::fs::PermissionsExt;
    let tmp = new_repo();
    let repo = tmp.path();
    // A stand-in for `fichier`: records its arguments, exits with the code in a file.
    let bin = tempfile::tempdir().expect("tempdir");
    let stub = bin.path().join("fake-fichier");
    let log = bin.path().join("args");
    let code = bin.path().join("code");
    std::fs::write(
        &stub,
        format!(
            "#!/bin/sh\necho \"$@\" > '{}'\nexit $(cat '{}')\n",
            log.display(),
            code.display()
        ),
    )
    .expect("stub");
    std::fs::set_permissions(&stub, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    let opts = HookOptions {
        program: stub.to_string_lossy().into_owned(),
        ..HookOptions::default()
    };
    install_hook(repo, &opts).expect("install");
    write(repo, "a.txt", "a\n");
    git(repo, &["add", "a.txt"]);
    let commit = || {
        Command::new("git")
            .arg("-C")
            .arg(repo)
            .args([
                "-c",
                "user.name=T",
                "-c",
                "user.email=t@example.org",
                "commit",
                "-qm",
                "x",
            ])
            .output()
            .expect("git commit")
    };
    std::fs::write(&code, "1").expect("code");
    let out = commit();
    assert!(!out.status.success(), "a failing scan blocks the commit");
    assert_eq!(
        std::fs::read_to_string(&log).expect("args").trim(),
        "scan --staged"
    );
    std::fs::write(&code, "0").expect("code");
    assert!(
        commit().status.success(),
        "a clean scan lets the commit through"
    );
    // The program missing: the commit is refused with a message naming it.
    std::fs::remove_file(&stub).expect("rm");
    write(repo, "b.txt", "b\n");
    git(repo, &["add", "b.txt"]);
    let out = commit();
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("not found"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn hook_outside_a_repository_is_a_git_error_with_gits_reason() {
    let plain = tempfile::tempdir().expect("tempdir");
    let err = install_hook(plain.path(), &HookOptions::default()).expect_err("not a repository");
    match &err {
        ScanError::Git {
            command, message, ..
        } => {
            assert_eq!(command, "rev-parse");
            assert!(message.contains("not a git repository"), "{message}");
        }
        other => panic!("expected a git error, got {other}"),
    }
}

/// `--fix` asks git whether a dotenv file is tracked and ignored; a name that reads as a glob
/// or a pathspec magic must name only itself, never the files a pattern would match.
#[test]
fn fix_asks_git_about_a_pathspec_looking_dotenv_name_literally() {
    let (mut rng, seed) = Rng::from_env();
    let tmp = new_repo();
    let repo = tmp.path();
    write(repo, "prod.env", "MODE=prod\n");
    write(repo, ".gitignore", "/prod.env\n");
    git(repo, &["add", "-f", "prod.env", ".gitignore"]);
    git(repo, &["commit", "-qm", "prod settings"]);
    let scanner = Scanner::default();
    let mut dotenv = |name: &str| {
        let leak = repo.join(name);
        std::fs::write(&leak, format!("FICHIER_API_KEY={}\n", rng.key())).expect("write");
        let report = scanner.scan_paths(&[&leak]).expect("scan");
        assert_eq!(report.findings.len(), 1, "{name}, seed {seed}");
        match plan_fixes(&report.findings, &scanner).as_slice() {
            [plan] => match plan.action.clone() {
                FixAction::DotEnv {
                    tracked, ignored, ..
                } => (tracked, ignored),
                other => panic!("{name}: expected dotenv advice, got {other:?}"),
            },
            other => panic!("{name}: expected one plan, got {other:?}"),
        }
    };
    // Neither tracked nor ignored, though the tracked and ignored prod.env matches `*.env`.
    assert_eq!(dotenv("*.env"), (false, Some(false)));
    assert_eq!(dotenv(":(glob)*.env"), (false, Some(false)));
    std::fs::write(repo.join(".gitignore"), "/\\*.env\n/:(glob)\\*.env\n").expect("write");
    assert_eq!(dotenv("*.env"), (false, Some(true)));
    assert_eq!(dotenv(":(glob)*.env"), (false, Some(true)));
}

/// A repository's `core.fsmonitor` names a program git runs when it refreshes the index; a
/// scan of someone else's repository must never run it, whichever part asks git.
#[cfg(unix)]
#[test]
fn a_repository_fsmonitor_program_is_never_run_by_scan_fix_or_hook() {
    use std::os::unix::fs::PermissionsExt;
    let (mut rng, seed) = Rng::from_env();
    let tmp = new_repo();
    let repo = tmp.path();
    write(
        repo,
        "deploy.sh",
        &format!("FICHIER_API_KEY={}\n", rng.key()),
    );
    write(repo, ".env", &format!("FICHIER_API_KEY={}\n", rng.key()));
    write(repo, ".gitignore", "/.env\n");
    git(repo, &["add", "deploy.sh"]);
    let bin = tempfile::tempdir().expect("tempdir");
    let marker = bin.path().join("ran");
    let monitor = bin.path().join("fsmonitor");
    std::fs::write(
        &monitor,
        format!("#!/bin/sh\ntouch '{}'\nexit 1\n", marker.display()),
    )
    .expect("monitor");
    std::fs::set_permissions(&monitor, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    git(
        repo,
        &["config", "core.fsmonitor", &monitor.to_string_lossy()],
    );
    // The pin only means something if git would run it unhardened.
    git(
        repo,
        &["diff", "--cached", "--quiet", "--exit-code", "--", "x"],
    );
    assert!(marker.exists(), "git runs the monitor on `diff --cached`");
    std::fs::remove_file(&marker).expect("rm marker");

    let scanner = Scanner::default();
    let staged = scanner.scan_staged(repo).expect("staged scan");
    assert_eq!(staged.findings.len(), 1, "seed {seed}");
    assert!(!marker.exists(), "scan --staged ran the monitor");
    let report = scanner.scan_paths(&[repo.join(".env")]).expect("scan");
    let plans = plan_fixes(&report.findings, &scanner);
    assert!(
        matches!(
            plans[0].action,
            FixAction::DotEnv {
                ignored: Some(true),
                tracked: false,
                ..
            }
        ),
        "{plans:?}"
    );
    assert!(!marker.exists(), "scan --fix ran the monitor");
    install_hook(repo, &HookOptions::default()).expect("install");
    assert!(!marker.exists(), "install-hook ran the monitor");
}
