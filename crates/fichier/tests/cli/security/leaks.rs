//! The workspace-wide leak test: one canary key driven through the CLI (every key-handling
//! command at `RUST_LOG=trace`, `scan --verify`, `auth rotate`), the `fichier-api` library
//! (calls, errors, `Debug`, panic payloads) and the emulator (request log, trace logs), then
//! searched for everywhere it must not be: stdout, stderr, log lines, panic messages, the
//! argv of processes fichier spawns, every file under the temp HOME/XDG dirs and the
//! emulator's data dir, and the repository's snapshots (which must also scan clean with
//! `fichier-scan` itself, as must the whole repository).
//!
//! Allowed holders of the key, and only these: the credentials store (`credentials.toml` or
//! the test keyring `mock-keyring.json`) and the emulator's own account database
//! (`emulator.sqlite3` and its `-wal`/`-shm` journal files), which legitimately holds the key
//! it issued, as 1fichier's servers do. Test inputs planted on purpose (files to scan) live in
//! a separate temp dir that is not searched.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};

use fichier_api::{ApiKey, Client, FileLink, PacerConfig};
use fichier_testkit::TEST_EMAIL;

use super::scan::{git, repo_with_key, run_in};
use crate::harness::Env;

/// Every log line of this test process (library and emulator), at trace level.
fn captured_logs() -> &'static Arc<Mutex<Vec<u8>>> {
    static LOGS: OnceLock<Arc<Mutex<Vec<u8>>>> = OnceLock::new();
    LOGS.get_or_init(|| {
        let buf = Arc::new(Mutex::new(Vec::new()));
        let sink = buf.clone();
        let _ = tracing_subscriber::fmt()
            .with_max_level(tracing::Level::TRACE)
            .with_ansi(false)
            .with_writer(move || Sink(sink.clone()))
            .try_init();
        buf
    })
}

struct Sink(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Sink {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        self.0
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .extend_from_slice(b);
        Ok(b.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn contains(hay: &[u8], needle: &str) -> bool {
    hay.windows(needle.len()).any(|w| w == needle.as_bytes())
}

fn files_under(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let p = e.path();
        if p.is_dir() && !p.is_symlink() {
            files_under(&p, out);
        } else {
            out.push(p);
        }
    }
}

/// Files under `dir` holding any of `keys` (by content or by name), except `allowed(path)`.
fn leaked_files(dir: &Path, keys: &[&str], allowed: impl Fn(&Path) -> bool) -> Vec<String> {
    let mut files = Vec::new();
    files_under(dir, &mut files);
    let mut bad = Vec::new();
    for f in files {
        let bytes = std::fs::read(&f).unwrap_or_default();
        let name = f.to_string_lossy();
        for k in keys {
            if name.contains(k) || (contains(&bytes, k) && !allowed(&f)) {
                bad.push(f.display().to_string());
            }
        }
    }
    bad
}

/// A `git` on PATH that records its argv (one line per run) and runs the real git.
fn git_spy(dir: &Path) -> (PathBuf, PathBuf) {
    let bin = dir.join("spy-bin");
    std::fs::create_dir_all(&bin).unwrap();
    let log = dir.join("git-argv.log");
    let real = std::process::Command::new("sh")
        .args(["-c", "command -v git"])
        .output()
        .unwrap();
    let real = String::from_utf8_lossy(&real.stdout).trim().to_owned();
    let script = bin.join("git");
    let mut f = std::fs::File::create(&script).unwrap();
    writeln!(
        f,
        "#!/bin/sh\nprintf '%s ' \"$@\" >> '{}'\necho >> '{}'\nexec '{real}' \"$@\"",
        log.display(),
        log.display()
    )
    .unwrap();
    drop(f);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    (bin, log)
}

/// What a caller holding a failed call has, to panic on with `expect`.
fn as_result(err: fichier_api::Error) -> Result<(), fichier_api::Error> {
    Err(err)
}

#[test]
fn canary_key_never_leaks_anywhere() {
    let logs = captured_logs();
    let mut env = Env::new();
    let canary = env.key().to_owned();
    let inputs = tempfile::tempdir().unwrap();

    // --- The library, against the emulator (both in this process, logging at trace).
    let client = Client::builder()
        .api_url(env.api_url())
        .api_key(ApiKey::parse(&canary).unwrap())
        .pacer_config(PacerConfig::unthrottled())
        .build()
        .unwrap();
    let mut shown = Vec::new();
    env.rt.block_on(async {
        shown.push(format!("{:?}", client.user_info().await));
        shown.push(format!("{:?}", client.file_ls(0).await));
        let missing = FileLink::parse("https://1fichier.com/?zzzzzzzzzz9").unwrap();
        let err = client.file_info(&missing, None).await.unwrap_err();
        shown.push(format!("{err} {err:?}"));
        shown.push(format!("{:?}", anyhow::Error::from(err)));
    });
    let link = env.upload("canary.txt", b"canary", 0);
    shown.push(format!("{client:?} {link:?}"));

    // --- The CLI, every key path at trace level, with a spy on the processes it spawns.
    let (spy, argv_log) = git_spy(inputs.path());
    let path = format!(
        "{}:{}",
        spy.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    env.env.push(("PATH".into(), path));
    env.env.push(("RUST_LOG".into(), "trace".into()));
    env.run_stdin(&["-vv", "auth", "login"], &canary).ok();
    for args in [
        &["-vv", "auth", "status"][..],
        &["-vv", "account"],
        &["-vv", "ls", "-l"],
        &["-vv", "info", "/canary.txt", "--json"],
        &["-vv", "mkdir", "/x"],
    ] {
        env.run(args).ok();
    }
    // The key given through the environment and stdin.
    env.env.push(("FICHIER_API_KEY".into(), canary.clone()));
    env.run(&["-vv", "ls"]).ok();
    env.env.pop();
    env.run_stdin(&["-vv", "--api-key-file", "-", "ls"], &canary)
        .ok();
    // The scanner: the canary in files, in git history and staged, verified with the API.
    let repo = inputs.path().join("repo");
    repo_with_key(&repo, "a.env", &canary);
    std::fs::write(repo.join("b.env"), format!("FICHIER_API_KEY={canary}\n")).unwrap();
    git(&repo, &["add", "b.env"]);
    for args in [
        &["-vv", "scan", "--verify=a.env:1"][..],
        &["-vv", "scan", "--verify=b.env:1", "--json"],
        &["-vv", "scan", "--sarif"],
        &["-vv", "scan", "--git", "--verify=a.env:1"],
        &["-vv", "scan", "--staged"],
    ] {
        run_in(&env, &repo, args, "", &[&canary]).code(1);
    }
    run_in(&env, &repo, &["scan", "install-hook"], "", &[&canary]).ok();
    let base = inputs.path().join("base.json");
    run_in(
        &env,
        &repo,
        &["scan", "--write-baseline", base.to_str().unwrap()],
        "",
        &[&canary],
    )
    .ok();
    // Rotation: the canary is revoked on the "site", replaced by a second canary.
    let second = env.emu.emu.regenerate_key(TEST_EMAIL).unwrap();
    let out = env.run_stdin(&["-vv", "auth", "rotate"], &second);
    out.ok();
    assert!(!out.stdout.contains(&second) && !out.stderr.contains(&second));
    let out = env.run(&["-vv", "auth", "status"]);
    assert!(!out.stdout.contains(&second) && !out.stderr.contains(&second));
    // A failing library call with the now revoked canary: error text and a panic payload.
    let err = env.rt.block_on(client.user_info()).unwrap_err();
    shown.push(format!("{err} {err:?}"));
    let payload = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        as_result(err).expect("user/info with the old key");
    }))
    .unwrap_err();
    let panic_text = payload
        .downcast_ref::<String>()
        .cloned()
        .or_else(|| payload.downcast_ref::<&str>().map(|s| s.to_string()))
        .unwrap_or_default();
    assert!(panic_text.contains("user/info"), "{panic_text}");
    shown.push(panic_text);
    env.run(&["auth", "logout"]).ok();

    // --- Where it must not be.
    for s in &shown {
        assert!(
            !s.contains(&canary),
            "the key leaked into Debug/Display/panic text: {s}"
        );
        assert!(
            !s.contains(&second),
            "the key leaked into Debug/Display/panic text: {s}"
        );
    }
    let log_text = logs.lock().unwrap_or_else(|p| p.into_inner()).clone();
    // The library's per-call log lines were captured (so the search below means something).
    assert!(
        contains(&log_text, "api answer"),
        "the trace subscriber captured no library log line"
    );
    assert!(
        !contains(&log_text, &canary),
        "the key leaked into a log line"
    );
    assert!(
        !contains(&log_text, &second),
        "the key leaked into a log line"
    );
    let request_log = format!("{:?}", env.emu.emu.request_log());
    assert!(!request_log.contains(&canary) && !request_log.contains(&second));
    let argv = std::fs::read_to_string(&argv_log).expect("fichier ran git");
    assert!(argv.contains("cat-file"), "{argv}");
    assert!(
        !argv.contains(&canary),
        "the key reached the argv of a process"
    );

    let keys = [canary.as_str(), second.as_str()];
    // The CLI's files: the key store only (after logout, not even that).
    let bad = leaked_files(env.root(), &keys, |_| false);
    assert!(bad.is_empty(), "the key leaked into {bad:?}");
    // The emulator's files: only its account database holds the keys it issued.
    let bad = leaked_files(&env.emu.data_dir(), &keys, |p| {
        p.file_name()
            .is_some_and(|n| n.to_string_lossy().starts_with("emulator.sqlite3"))
    });
    assert!(bad.is_empty(), "the key leaked into {bad:?}");
    // The baseline written by scan holds fingerprints only.
    assert!(!std::fs::read_to_string(&base).unwrap().contains(&canary));
}

/// Before logout, the key store is the one place in HOME/XDG holding the key.
#[test]
fn only_the_key_store_holds_the_key() {
    for mock in [true, false] {
        let mut env = Env::new();
        if !mock {
            env.env.push(("FICHIER_KEYRING".into(), "none".into()));
        }
        env.login();
        env.run(&["-vv", "account"]).ok();
        let store = if mock {
            "mock-keyring.json"
        } else {
            "credentials.toml"
        };
        let bad = leaked_files(env.root(), &[env.key()], |p| p.ends_with(store));
        assert!(bad.is_empty(), "the key leaked into {bad:?}");
        let held = std::fs::read_to_string(env.config_dir().join(store)).unwrap();
        assert!(held.contains(env.key()));
    }
}

/// The repository's snapshots hold no key shape (strict mode, no context needed), and the
/// whole repository scans clean with `fichier scan`.
#[test]
fn snapshots_and_repository_scan_clean() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let mut dirs = Vec::new();
    let mut all = Vec::new();
    files_under(&root.join("crates"), &mut all);
    for f in &all {
        if let Some(dir) = f.parent()
            && dir.file_name().is_some_and(|n| n == "snapshots")
            && !dirs.contains(&dir.to_path_buf())
        {
            dirs.push(dir.to_path_buf());
        }
    }
    assert!(!dirs.is_empty(), "no snapshot directory found");
    let scanner = fichier_scan::Scanner::new(fichier_scan::ScanOptions {
        strict: true,
        ..fichier_scan::ScanOptions::default()
    });
    let report = scanner.scan_paths(&dirs).unwrap();
    assert!(
        report.findings.is_empty(),
        "key-shaped values in snapshots:\n{}",
        fichier_scan::render_text(&report)
    );
    let env = Env::new();
    let out = run_in(&env, &root, &["scan", "."], "", &[]);
    assert_eq!(
        out.code, 0,
        "the repository does not scan clean:\n{}",
        out.stdout
    );
}
