//! `fichier backup`, `restore` and `verify` end to end: the real binary against an emulator on
//! 127.0.0.1:0, real trees on disk, every safety rule with its exit code, `kill -9` in the
//! middle of a run, duplicates on the remote, retention with the test clock, and the
//! scheduler files.

use std::os::unix::fs::PermissionsExt as _;
use std::path::Path;
use std::time::{Duration, Instant};

use fichier_emu::{Fault, FaultPlan};

use crate::harness::Env;

fn write(root: &Path, rel: &str, body: &[u8]) {
    let p = root.join(rel);
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(p, body).unwrap();
}

/// Every file under `root` as (relative path, bytes, mode), sorted.
fn snapshot(root: &Path) -> Vec<(String, Vec<u8>, u32)> {
    let mut out = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let e = e.unwrap();
            let p = e.path();
            let meta = std::fs::symlink_metadata(&p).unwrap();
            if meta.is_dir() {
                stack.push(p);
            } else {
                let rel = p.strip_prefix(root).unwrap().to_string_lossy().into_owned();
                out.push((
                    rel,
                    std::fs::read(&p).unwrap(),
                    meta.permissions().mode() & 0o777,
                ));
            }
        }
    }
    out.sort();
    out
}

/// Live and versioned paths of the destination, through `ls -R --json`.
fn remote_files(env: &Env, dest: &str) -> Vec<String> {
    let out = env.run(&["ls", "-R", "--json", dest]);
    let v = out.json();
    let mut files = Vec::new();
    collect(&v, &mut files);
    files.sort();
    files
}

fn collect(v: &serde_json::Value, out: &mut Vec<String>) {
    match v {
        serde_json::Value::Object(m) => {
            if let (Some(path), Some(kind)) = (
                m.get("path").and_then(|p| p.as_str()),
                m.get("type").and_then(|t| t.as_str()),
            ) && kind == "file"
            {
                out.push(path.to_string());
            }
            for x in m.values() {
                collect(x, out);
            }
        }
        serde_json::Value::Array(a) => a.iter().for_each(|x| collect(x, out)),
        _ => {}
    }
}

fn config(env: &Env, text: &str) {
    std::fs::create_dir_all(env.config_dir()).unwrap();
    std::fs::write(env.config_dir().join("config.toml"), text).unwrap();
}

#[test]
fn nightly_runs_hash_only_changes_keep_versions_and_restore_byte_identical() {
    let env = Env::logged_in();
    let src = env.root().join("src");
    write(&src, "a.txt", b"first");
    write(&src, "photos/2026/IMG 1 (été).jpg", &vec![7u8; 300_000]);
    write(&src, "empty.cfg", b"");
    std::fs::set_permissions(src.join("a.txt"), std::fs::Permissions::from_mode(0o640)).unwrap();
    let s = src.to_str().unwrap();

    let first = env.run(&["backup", s, "/Backups/home", "--json"]).json();
    assert_eq!(
        (
            first["uploaded"].as_u64(),
            first["empty"].as_u64(),
            first["outcome"].as_str()
        ),
        (Some(2), Some(1), Some("done"))
    );

    let again = env.run(&["backup", s, "/Backups/home", "--json"]).json();
    assert_eq!(
        (
            again["uploaded"].as_u64(),
            again["hashed"].as_u64(),
            again["changed"].as_bool()
        ),
        (Some(0), Some(0), Some(false))
    );

    write(&src, "a.txt", b"second version");
    std::fs::remove_file(src.join("photos/2026/IMG 1 (été).jpg")).unwrap();
    write(&src, "new/b.bin", b"bbb");
    let third = env.run(&["backup", s, "/Backups/home", "--json"]).json();
    assert_eq!(
        (
            third["uploaded"].as_u64(),
            third["versioned"].as_u64(),
            third["hashed"].as_u64()
        ),
        (Some(2), Some(2), Some(2))
    );
    let stamp = third["stamp"].as_str().unwrap().to_string();
    let files = remote_files(&env, "/Backups/home");
    assert!(
        files.contains(&format!("/Backups/home/.versions/{stamp}/a.txt")),
        "{files:?}"
    );
    assert!(
        files.contains(&format!(
            "/Backups/home/.versions/{stamp}/photos/2026/IMG 1 (été).jpg"
        )),
        "{files:?}"
    );

    let out = env.root().join("restored");
    let (info_before, tokens_before) = (env.calls("file/info"), env.calls("download/get_token"));
    env.run(&["restore", "/Backups/home", out.to_str().unwrap()])
        .code(0);
    assert_eq!(
        snapshot(&out),
        snapshot(&src),
        "the latest run comes back byte for byte, with modes and empty files"
    );
    assert_eq!(
        env.calls("file/info"),
        info_before,
        "the manifest gives size and whirlpool: no file/info"
    );
    assert_eq!(
        env.calls("download/get_token") - tokens_before,
        3,
        "one token per stored file and one for the manifest"
    );

    // The first run, from the live tree and the versions.
    let old = env.root().join("old");
    let first_stamp = first["stamp"].as_str().unwrap();
    let at = format!(
        "{}-{}-{}T{}:{}:{}Z",
        &first_stamp[0..4],
        &first_stamp[5..7],
        &first_stamp[8..10],
        &first_stamp[11..13],
        &first_stamp[13..15],
        &first_stamp[15..17]
    );
    env.run(&[
        "restore",
        "/Backups/home",
        old.to_str().unwrap(),
        "--at",
        &at,
    ])
    .code(0);
    let names: Vec<String> = snapshot(&old).into_iter().map(|f| f.0).collect();
    assert_eq!(names, ["a.txt", "empty.cfg", "photos/2026/IMG 1 (été).jpg"]);
    assert_eq!(std::fs::read(old.join("a.txt")).unwrap(), b"first");

    // Restoring over an existing tree keeps every local file.
    write(&out, "a.txt", b"local edit");
    let r = env.run(&["restore", "/Backups/home", out.to_str().unwrap(), "--json"]);
    r.code(1);
    assert_eq!(r.json()["conflicts"][0], "a.txt");
    assert_eq!(std::fs::read(out.join("a.txt")).unwrap(), b"local edit");
}

#[test]
fn safety_rules_refuse_with_their_exit_codes_and_change_nothing() {
    let env = Env::logged_in();
    let src = env.root().join("src");
    for i in 0..4 {
        write(&src, &format!("f{i}"), format!("file {i}").as_bytes());
    }
    config(
        &env,
        &format!(
            "[backup.docs]\nsource = {:?}\ndestination = \"/B\"\nmax_delete = \"50%\"\n",
            src
        ),
    );
    env.run(&["backup", "docs"]).code(0);
    let before = remote_files(&env, "/B");

    // A source disk that failed to mount: missing, then empty.
    let gone = env.root().join("not-mounted");
    let out = env.run(&["backup", gone.to_str().unwrap(), "/B"]);
    out.code(6);
    assert!(out.stderr.contains("is the disk mounted"), "{}", out.stderr);
    for i in 0..4 {
        std::fs::remove_file(src.join(format!("f{i}"))).unwrap();
    }
    let out = env.run(&["backup", "docs"]);
    out.code(6);
    assert!(
        out.stderr.contains("--allow-empty-source"),
        "{}",
        out.stderr
    );

    // Three of four removed: more than 50%.
    write(&src, "f0", b"file 0");
    let out = env.run(&["backup", "docs"]);
    out.code(6);
    assert!(out.stderr.contains("--max-delete"), "{}", out.stderr);
    assert_eq!(remote_files(&env, "/B"), before, "nothing was touched");

    // Another run of the profile holds its lock: exit 5 at once.
    let lock_dir = env.root().join("data/fichier/backup/locks");
    std::fs::create_dir_all(&lock_dir).unwrap();
    let held = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(lock_dir.join("docs.lock"))
        .unwrap();
    held.lock().unwrap();
    let started = Instant::now();
    let out = env.run(&["backup", "docs", "--max-delete", "100%"]);
    out.code(5);
    assert!(started.elapsed() < Duration::from_secs(20));
    assert!(
        out.stderr.contains("another backup of profile"),
        "{}",
        out.stderr
    );
    held.unlock().unwrap();
    env.run(&["backup", "docs", "--max-delete", "100%"]).code(0);

    // Usage mistakes name themselves.
    let out = env.run(&["backup", "nope"]);
    out.code(2);
    assert!(
        out.stderr.contains("known profiles: docs"),
        "{}",
        out.stderr
    );
    env.run(&["backup", src.to_str().unwrap(), "/"]).code(2);
    env.run(&["backup", "docs", "--keep-within", "30"]).code(2);
}

#[test]
fn duplicates_on_the_remote_are_resolved_keeping_the_matching_copy() {
    let env = Env::logged_in();
    let src = env.root().join("src");
    write(&src, "doc.txt", b"the real content");
    let s = src.to_str().unwrap();
    env.run(&["backup", s, "/D"]).code(0);
    // Another copy with the same name and other content appears (another tool, a crash).
    let folder = env.folder_id("/D");
    env.upload("doc.txt", b"a stale copy", folder);
    let out = env.run(&["backup", s, "/D", "--json"]).json();
    assert_eq!(
        (out["uploaded"].as_u64(), out["versioned"].as_u64()),
        (Some(0), Some(1))
    );
    let live: Vec<String> = remote_files(&env, "/D")
        .into_iter()
        .filter(|p| !p.contains("/.versions/"))
        .collect();
    assert_eq!(live, ["/D/doc.txt"]);
    let verify = env.run(&["verify", "/D", "--read-data", "--json"]);
    verify.code(0);
    assert_eq!(verify.json()["read"], 1);
}

#[test]
fn verify_catches_a_file_changed_on_the_remote() {
    let env = Env::logged_in();
    let src = env.root().join("src");
    write(&src, "a", b"aaaa");
    write(&src, "b", b"bbbb");
    env.run(&["backup", src.to_str().unwrap(), "/V"]).code(0);
    env.run(&["verify", "/V"]).code(0);
    env.run(&["rm", "/V/a"]).code(0);
    let folder = env.folder_id("/V");
    env.upload("a", b"tampered", folder);
    let out = env.run(&["verify", "/V", "--json"]);
    out.code(1);
    let v = out.json();
    assert_eq!(v["changed"][0], "a");
    assert_eq!(v["ok"], 1);
}

#[test]
fn retention_prunes_old_versions_on_the_test_clock() {
    let mut env = Env::logged_in();
    let src = env.root().join("src");
    let s = src.to_str().unwrap().to_string();
    for day in 0..5u64 {
        write(&src, "f.txt", format!("day {day}").as_bytes());
        env.env = vec![(
            "FICHIER_TEST_NOW".into(),
            (1_780_000_000 + day * 86_400).to_string(),
        )];
        env.run(&["backup", &s, "/R", "--keep-daily", "2"]).code(0);
    }
    let out = env.run(&["ls", "/R/.versions", "--json"]).json();
    let mut names: Vec<String> = out["entries"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| e["name"].as_str().map(String::from))
        .collect();
    names.sort();
    assert_eq!(
        names.len(),
        3,
        "two version folders and the manifests: {names:?}"
    );
    assert_eq!(names[2], "manifests");
    let manifests = env.run(&["ls", "/R/.versions/manifests", "--json"]).json();
    assert_eq!(manifests["entries"].as_array().unwrap().len(), 2);
}

#[test]
fn a_run_killed_at_any_point_converges_without_duplicates() {
    let env = Env::logged_in();
    // Slow end.pl reports: kills land between an upload and its confirmation, the case that
    // leaves an unconfirmed copy behind.
    env.emu.emu.set_fault_plan(FaultPlan::new().rule(
        "end",
        1,
        100_000,
        Fault::SlowBody {
            bytes_per_sec: 2_000,
        },
    ));
    let src = env.root().join("src");
    for i in 0..12 {
        write(
            &src,
            &format!("dir{}/file{i}.bin", i % 3),
            &vec![i as u8; 150_000],
        );
    }
    let s = src.to_str().unwrap();
    let mut killed = 0;
    for delay_ms in [400u64, 1200, 2500] {
        let mut child = env.command(&["backup", s, "/K", "-q"]).spawn().unwrap();
        std::thread::sleep(Duration::from_millis(delay_ms));
        if child.try_wait().unwrap().is_none() {
            child.kill().unwrap();
            killed += 1;
        }
        child.wait().unwrap();
    }
    let out = env.run(&["backup", s, "/K", "--json"]);
    out.code(0);
    let live: Vec<String> = remote_files(&env, "/K")
        .into_iter()
        .filter(|p| !p.contains("/.versions/"))
        .collect();
    let mut unique = live.clone();
    unique.dedup();
    assert_eq!(live, unique, "no same-name duplicate left in the live tree");
    assert_eq!(live.len(), 12, "{live:?}");
    assert!(killed >= 1, "at least one run was killed mid-way");
    env.run(&["verify", "/K"]).code(0);
}

#[test]
fn schedule_writes_a_timer_and_a_service() {
    let env = Env::logged_in();
    config(
        &env,
        "[backup.photos]\nsource = \"/srv/photos\"\ndestination = \"/Backups/photos\"\n",
    );
    let out = env.run(&[
        "backup", "schedule", "photos", "--daily", "02:30", "--print",
    ]);
    out.code(0);
    assert!(
        out.stdout.contains("OnCalendar=*-*-* 02:30:00"),
        "{}",
        out.stdout
    );
    assert!(out.stdout.contains("backup photos"), "{}", out.stdout);
    assert!(out.stdout.contains("30 2 * * * "), "{}", out.stdout);
    check_units(&env, &out.stdout);
    env.run(&["backup", "schedule", "photos", "--daily", "25:00"])
        .code(2);
    env.run(&["backup", "schedule", "other", "--daily", "02:30"])
        .code(2);
    let listed = env.run(&["backup", "ls", "--json"]).json();
    assert_eq!(listed["profiles"][0]["profile"], "photos");
}

/// Splits the printed `# NAME` blocks into unit files and checks them: with
/// `systemd-analyze verify` where it is installed (it parses every setting, the calendar
/// expression and that ExecStart exists), otherwise by reading their sections and keys.
fn check_units(env: &Env, printed: &str) {
    let dir = env.root().join("units");
    std::fs::create_dir_all(&dir).unwrap();
    let mut units: Vec<(String, String)> = Vec::new();
    for line in printed.lines() {
        if let Some(name) = line.strip_prefix("# ") {
            units.push((name.to_string(), String::new()));
        } else if let Some((_, text)) = units.last_mut() {
            text.push_str(line);
            text.push('\n');
        }
    }
    let files: Vec<_> = units
        .iter()
        .filter(|(n, _)| n.ends_with(".service") || n.ends_with(".timer"))
        .map(|(n, t)| {
            let p = dir.join(n);
            std::fs::write(&p, t).unwrap();
            (p, t.clone())
        })
        .collect();
    assert_eq!(files.len(), 2, "{printed}");
    let analyze = std::path::Path::new("/usr/bin/systemd-analyze");
    if analyze.exists() {
        let out = std::process::Command::new(analyze)
            .arg("verify")
            .args(files.iter().map(|(p, _)| p))
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "systemd-analyze verify refused the units:\n{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    } else {
        eprintln!("systemd-analyze not installed: checking the units by parsing them");
    }
    for (path, text) in &files {
        let mut section = "";
        let mut keys = Vec::new();
        for line in text.lines().map(str::trim).filter(|l| !l.is_empty()) {
            if line.starts_with('[') {
                assert!(line.ends_with(']'), "{}: {line}", path.display());
                section = line;
            } else {
                let (k, v) = line
                    .split_once('=')
                    .unwrap_or_else(|| panic!("{}: {line}", path.display()));
                assert!(!v.is_empty(), "{}: {line}", path.display());
                keys.push(format!("{section}{k}"));
            }
        }
        let want: &[&str] = if path.extension().unwrap() == "timer" {
            &[
                "[Timer]OnCalendar",
                "[Timer]Persistent",
                "[Install]WantedBy",
            ]
        } else {
            &["[Service]Type", "[Service]ExecStart"]
        };
        for k in want {
            assert!(
                keys.iter().any(|x| x == k),
                "{} lacks {k}: {keys:?}",
                path.display()
            );
        }
    }
}

/// A one-shot HTTP server on 127.0.0.1: answers each request with `status` and hands over the
/// bodies it received.
fn loopback_server(status: u16) -> (String, std::sync::mpsc::Receiver<String>) {
    use std::io::{BufRead as _, BufReader, Read as _, Write as _};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!(
        "http://{}/hooks/backup?token=t0k",
        listener.local_addr().unwrap()
    );
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { return };
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut len = 0usize;
            let mut request_line = String::new();
            reader.read_line(&mut request_line).unwrap();
            loop {
                let mut line = String::new();
                reader.read_line(&mut line).unwrap();
                let l = line.to_ascii_lowercase();
                if let Some(v) = l.strip_prefix("content-length:") {
                    len = v.trim().parse().unwrap();
                }
                if line == "\r\n" || line.is_empty() {
                    break;
                }
            }
            let mut body = vec![0u8; len];
            reader.read_exact(&mut body).unwrap();
            let _ = write!(
                stream,
                "HTTP/1.1 {status} X\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
            );
            let _ = tx.send(format!(
                "{}\n{}",
                request_line.trim_end(),
                String::from_utf8_lossy(&body)
            ));
        }
    });
    (url, rx)
}

#[test]
fn notify_url_receives_the_json_summary_and_a_failing_endpoint_is_only_a_warning() {
    let env = Env::logged_in();
    let src = env.root().join("src");
    write(&src, "a.txt", b"notify me");
    let s = src.to_str().unwrap();

    let (url, rx) = loopback_server(200);
    let out = env.run(&["backup", s, "/N", "--notify-url", &url, "--json"]);
    out.code(0);
    let got = rx.recv_timeout(Duration::from_secs(30)).unwrap();
    let (request_line, body) = got.split_once('\n').unwrap();
    assert!(
        request_line.starts_with("POST /hooks/backup?token=t0k "),
        "{request_line}"
    );
    let posted: serde_json::Value = serde_json::from_str(body).unwrap();
    assert_eq!(
        posted,
        out.json(),
        "the POSTed summary is the --json summary"
    );
    assert_eq!(
        (posted["outcome"].as_str(), posted["uploaded"].as_u64()),
        (Some("done"), Some(1))
    );

    // An endpoint answering 500, then none at all: warnings; the outcome stays success, and the
    // token of the URL is never printed.
    let (url, rx) = loopback_server(500);
    let out = env.run(&["backup", s, "/N", "--notify-url", &url]);
    out.code(0);
    rx.recv_timeout(Duration::from_secs(30)).unwrap();
    assert!(
        out.stderr.contains("notification to http://127.0.0.1:"),
        "{}",
        out.stderr
    );
    assert!(out.stderr.contains("500"), "{}", out.stderr);
    assert!(!out.stderr.contains("t0k"), "{}", out.stderr);
    // Held closed while the backup runs: a released port could be taken by a parallel test.
    let closed = fichier_testkit::ClosedPort::new();
    let dead = format!("http://{}/x", closed.addr());
    let out = env.run(&["backup", s, "/N", "--notify-url", &dead]);
    out.code(0);
    assert!(out.stderr.contains("cannot connect"), "{}", out.stderr);

    // A malformed URL is a usage error before anything runs.
    let out = env.run(&["backup", s, "/N", "--notify-url", "ftp://x/y"]);
    out.code(2);
    assert!(out.stderr.contains("--notify-url"), "{}", out.stderr);
}

#[test]
fn hooks_get_the_summary_in_environment_variables_never_the_key_and_never_change_the_outcome() {
    let env = Env::logged_in();
    let src = env.root().join("src");
    write(&src, "a.txt", b"hooked");
    write(&src, "b.txt", b"hooked too");
    let hook_out = env.root().join("hook.env");
    let (url, rx) = loopback_server(200);
    config(
        &env,
        &format!(
            "[backup.h]\nsource = {:?}\ndestination = \"/H\"\nnotify_url = {url:?}\n\
             on_success = \"env > '{}'\"\non_failure = \"env > '{}.failure'; exit 9\"\n",
            src.to_str().unwrap(),
            hook_out.display(),
            hook_out.display()
        ),
    );
    // The key reaches fichier through the environment: the hook must not inherit it.
    let mut c = env.command(&["backup", "h"]);
    c.env("FICHIER_API_KEY", env.key());
    let out = c.output().unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let vars = std::fs::read_to_string(&hook_out).unwrap();
    for want in [
        "FICHIER_BACKUP_PROFILE=h\n",
        "FICHIER_BACKUP_OUTCOME=done\n",
        "FICHIER_BACKUP_UPLOADED=2\n",
        "FICHIER_BACKUP_EXIT_CODE=0\n",
        "FICHIER_BACKUP_FLOOD_ANSWERS=0\n",
    ] {
        assert!(vars.contains(want), "{want} missing from:\n{vars}");
    }
    assert!(vars.contains("FICHIER_BACKUP_SUMMARY={"), "{vars}");
    assert!(!vars.contains(env.key()), "the hook saw the key");
    assert!(!vars.contains("FICHIER_API_KEY"), "{vars}");
    assert!(
        rx.recv_timeout(Duration::from_secs(30)).is_ok(),
        "profile notify_url used"
    );

    // A refused run (empty source) runs on_failure; the hook's own failure (exit 9) is a
    // warning and the exit code stays the refusal's.
    std::fs::remove_file(src.join("a.txt")).unwrap();
    std::fs::remove_file(src.join("b.txt")).unwrap();
    let out = env.run(&["backup", "h"]);
    out.code(6);
    assert!(
        out.stderr.contains("--on-failure hook failed"),
        "{}",
        out.stderr
    );
    let vars = std::fs::read_to_string(format!("{}.failure", hook_out.display())).unwrap();
    assert!(vars.contains("FICHIER_BACKUP_OUTCOME=refused\n"), "{vars}");
    assert!(vars.contains("FICHIER_BACKUP_EXIT_CODE=6\n"), "{vars}");
    let posted = rx.recv_timeout(Duration::from_secs(30)).unwrap();
    assert!(posted.contains("\"outcome\":\"refused\""), "{posted}");

    // A failing success hook leaves a successful run successful; flags win over the profile.
    write(&src, "c.txt", b"back");
    let out = env.run(&["backup", "h", "--on-success", "exit 4", "--json"]);
    out.code(0);
    assert!(
        out.stderr
            .contains("--on-success hook failed: it exited with status 4"),
        "{}",
        out.stderr
    );
    assert_eq!(
        out.json()["outcome"],
        "done",
        "hook output never pollutes --json stdout"
    );
}

/// The JSON lines of a log file.
fn log_lines(path: &Path) -> Vec<serde_json::Value> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

#[test]
fn log_file_gets_one_json_line_per_step_and_the_summary_appended_and_private() {
    let env = Env::logged_in();
    let src = env.root().join("src");
    write(&src, "a.txt", b"one");
    write(&src, "d/b #1.txt", b"two");
    let s = src.to_str().unwrap();
    let log = env.root().join("backup.log");
    let l = log.to_str().unwrap();

    env.run(&["backup", s, "/L", "--log-file", l]).code(0);
    let mode = std::fs::metadata(&log).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600, "the log is private");
    let lines = log_lines(&log);
    let steps: Vec<(&str, &str)> = lines
        .iter()
        .filter(|v| v["step"] == "upload")
        .map(|v| (v["step"].as_str().unwrap(), v["path"].as_str().unwrap()))
        .collect();
    assert_eq!(steps.len(), 2, "{lines:?}");
    assert!(steps.contains(&("upload", "d/b #1.txt")), "{steps:?}");
    let last = lines.last().unwrap();
    assert_eq!(
        (
            last["step"].as_str(),
            last["outcome"].as_str(),
            last["uploaded"].as_u64()
        ),
        (Some("summary"), Some("done"), Some(2))
    );
    assert!(
        lines
            .iter()
            .all(|v| v["time"].is_string() && v["profile"].is_string())
    );

    // The next run appends: a changed file is uploaded and its old copy retired, by name.
    write(&src, "a.txt", b"one, changed");
    std::fs::remove_file(src.join("d/b #1.txt")).unwrap();
    env.run(&["backup", s, "/L", "--log-file", l, "--max-delete", "100%"])
        .code(0);
    let all = log_lines(&log);
    assert!(all.len() > lines.len());
    let new = &all[lines.len()..];
    let retired: Vec<&str> = new
        .iter()
        .filter(|v| v["step"] == "retire")
        .map(|v| v["path"].as_str().unwrap())
        .collect();
    assert_eq!(retired.len(), 2, "{new:?}");
    assert!(
        retired.contains(&"a.txt") && retired.contains(&"d/b #1.txt"),
        "{retired:?}"
    );
    assert!(
        new.iter()
            .filter(|v| v["step"] == "retire")
            .all(|v| v["into"].as_str().unwrap().starts_with(".versions/")),
        "{new:?}"
    );
    assert_eq!(new.last().unwrap()["step"], "summary");
    let text = std::fs::read_to_string(&log).unwrap();
    assert!(!text.contains("1fichier.com/?"), "no file link in the log");

    // A refused run still logs its summary, with the reason.
    std::fs::remove_file(src.join("a.txt")).unwrap();
    env.run(&["backup", s, "/L", "--log-file", l]).code(6);
    let last = log_lines(&log).pop().unwrap();
    assert_eq!(
        (last["step"].as_str(), last["outcome"].as_str()),
        (Some("summary"), Some("refused"))
    );
    assert!(last["error"].as_str().unwrap().contains("empty"), "{last}");

    // An unwritable log path is a usage error before anything runs.
    let out = env.run(&["backup", s, "/L", "--log-file", "/nonexistent-dir/x.log"]);
    out.code(2);
    assert!(out.stderr.contains("--log-file"), "{}", out.stderr);
}

#[test]
fn summary_counts_the_flood_answers_the_run_received() {
    let env = Env::logged_in();
    let src = env.root().join("src");
    write(&src, "a.txt", b"flood");
    let s = src.to_str().unwrap();
    let quiet = env.run(&["backup", s, "/F", "--json"]).json();
    assert_eq!(quiet["flood_answers"], 0);

    // One flood answer on the next listing: the client pauses, retries, and the run counts it.
    write(&src, "b.txt", b"more");
    env.emu.emu.set_fault_plan(FaultPlan::new().rule(
        "folder/ls",
        1,
        1,
        Fault::Flood { message: None },
    ));
    let out = env.run(&["backup", s, "/F", "--json"]);
    out.code(0);
    let v = out.json();
    assert_eq!(
        (v["flood_answers"].as_u64(), v["uploaded"].as_u64()),
        (Some(1), Some(1)),
        "{v}"
    );
    let human = env.run(&["backup", s, "/F"]);
    assert!(human.stdout.contains("0 flood answers"), "{}", human.stdout);
}

#[test]
fn a_run_stopped_by_a_flood_lock_reports_its_flood_answers_to_the_failure_hook_and_the_log() {
    let env = Env::logged_in();
    let src = env.root().join("src");
    write(&src, "a.txt", b"locked out");
    let s = src.to_str().unwrap();
    let log = env.root().join("flood.log");
    let hook_out = env.root().join("hook.env");
    env.emu.emu.set_fault_plan(FaultPlan::new().rule(
        "folder/ls",
        1,
        1000,
        Fault::Flood { message: None },
    ));
    let hook = format!("env > '{}'", hook_out.display());
    let out = env.run(&[
        "backup",
        s,
        "/FL",
        "--log-file",
        log.to_str().unwrap(),
        "--on-failure",
        &hook,
    ]);
    out.code(4);
    let last = log_lines(&log).pop().unwrap();
    assert_eq!(
        (last["step"].as_str(), last["outcome"].as_str()),
        (Some("summary"), Some("flood")),
        "{last}"
    );
    let floods = last["flood_answers"].as_u64().unwrap();
    assert!(floods >= 1, "{last}");
    let vars = std::fs::read_to_string(&hook_out).unwrap();
    assert!(
        vars.contains(&format!("FICHIER_BACKUP_FLOOD_ANSWERS={floods}\n")),
        "{vars}"
    );
    assert!(vars.contains("FICHIER_BACKUP_EXIT_CODE=4\n"), "{vars}");
}

#[test]
fn a_run_stopped_by_the_service_exits_by_the_error_kind_not_its_wording() {
    let env = Env::logged_in();
    let src = env.root().join("src");
    write(&src, "a", b"aaaa");
    let s = src.to_str().unwrap();
    env.run(&["backup", s, "/O"]).code(0);
    write(&src, "b", b"bbbb");
    // "Owner locked" holds the word "locked" but is not a flood lock: no exit 4.
    let ko = Fault::Ko {
        message: "Owner locked #620".into(),
        status: None,
    };
    env.emu
        .emu
        .set_fault_plan(FaultPlan::new().rule("folder/ls", 1, 1000, ko));
    let out = env.run(&["backup", s, "/O", "--fresh"]);
    assert_ne!(out.code, 4, "{}", out.stderr);
    assert!(out.stderr.contains("Owner locked"), "{}", out.stderr);
    assert!(out.stderr.contains("hint:"), "{}", out.stderr);
    // A real flood answer is exit 4 with the retry time.
    env.emu
        .emu
        .set_fault_plan(FaultPlan::new().rule("folder/ls", 1, 1000, Fault::flood()));
    let out = env.run(&["backup", s, "/O", "--fresh"]);
    out.code(4);
    assert!(out.stderr.contains("retry in"), "{}", out.stderr);
}

#[test]
fn a_hostile_remote_name_never_stands_for_a_local_path() {
    let env = Env::logged_in();
    let src = env.root().join("src");
    write(&src, "x/a", b"the real file");
    // The destination already holds a file literally named "x/a" (another tool, a hostile
    // share) with the same content: it must not count as the backup of x/a.
    let folder = env.client();
    let dest = env
        .rt
        .block_on(folder.folder_mkdir(&fichier_api::FolderMkdirRequest::new(
            "H",
            fichier_api::ROOT_FOLDER,
        )))
        .unwrap()
        .folder_id;
    env.upload("hostile-placeholder", b"the real file", dest);
    assert_eq!(env.emu.force_name("hostile-placeholder", "x/a"), 1);
    let out = env.run(&["backup", src.to_str().unwrap(), "/H", "--json", "--fresh"]);
    out.code(0);
    assert_eq!(out.json()["uploaded"], 1, "x/a was uploaded into folder x");
    let inside = env.run(&["ls", "/H/x", "--json"]).json();
    assert_eq!(inside["entries"][0]["name"], "a");
}

#[test]
fn progress_json_streams_phases_and_files_then_the_summary_and_cron_runs_stay_quiet() {
    let env = Env::logged_in();
    let src = env.root().join("src");
    write(&src, "a.txt", b"alpha");
    write(&src, "deep/b <i>.bin", &vec![3u8; 70_000]);
    let s = src.to_str().unwrap();

    let out = env.run(&["backup", s, "/Backups/p", "--progress", "json"]);
    out.ok();
    let lines: Vec<serde_json::Value> = out
        .stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect();
    let kinds: Vec<&str> = lines.iter().map(|v| v["event"].as_str().unwrap()).collect();
    assert_eq!(kinds.first(), Some(&"notice"), "{kinds:?}");
    assert_eq!(kinds.last(), Some(&"summary"), "{kinds:?}");
    let done: Vec<&str> = lines
        .iter()
        .filter(|v| v["event"] == "done")
        .map(|v| v["path"].as_str().unwrap())
        .collect();
    assert_eq!(
        done.len(),
        2,
        "one done event per source file, none for the manifest: {done:?}"
    );
    assert!(done.contains(&"/Backups/p/deep/b <i>.bin"), "{done:?}");
    let summary = lines.last().unwrap();
    assert_eq!(
        (summary["uploaded"].as_u64(), summary["outcome"].as_str()),
        (Some(2), Some("done"))
    );
    assert!(
        lines.iter().any(|v| v["event"] == "notice"
            && v["message"]
                .as_str()
                .is_some_and(|m| m.contains("manifest"))),
        "the manifest is a phase line"
    );

    // Under cron (no terminal): the default shows no progress, only the summary line.
    write(&src, "a.txt", b"alpha changed");
    let quiet = env.run(&["backup", s, "/Backups/p"]);
    quiet.ok();
    assert!(!quiet.stdout.contains("\"event\""), "{}", quiet.stdout);
    assert!(!quiet.stderr.contains("progress:"), "{}", quiet.stderr);
    let text = format!("{}{}", quiet.stdout, quiet.stderr);
    assert_eq!(
        text.lines().filter(|l| l.starts_with("backup ")).count(),
        1,
        "one summary line:\n{text}"
    );
}

#[test]
fn bwlimit_follows_the_timetable_on_the_run_clock_and_bad_tables_are_refused() {
    let mut env = Env::logged_in();
    let src = env.root().join("src");
    write(&src, "big.bin", &vec![9u8; 450_000]);
    let s = src.to_str().unwrap().to_string();

    let bad = env.run(&["backup", &s, "/BW", "--bwlimit", "08:00,2M 25:00,off"]);
    bad.code(2);
    assert!(
        bad.stderr.contains("--bwlimit") && bad.stderr.contains("25:00,off"),
        "names the flag and the bad entry: {}",
        bad.stderr
    );

    // 1_780_000_000 is 20:26:40 UTC: inside the 150 KiB/s slot, so 450 KB take at least
    // (450 KB - the 64 KiB burst) / 150 KiB/s, about 2.5 s (a lower bound: load only adds).
    env.env = vec![
        ("FICHIER_TEST_NOW".into(), "1780000000".into()),
        ("TZ".into(), "UTC".into()),
    ];
    let started = Instant::now();
    let out = env.run(&[
        "backup",
        &s,
        "/BW",
        "--json",
        "--bwlimit",
        "00:00,off 20:00,150k 21:00,off",
    ]);
    let took = started.elapsed();
    assert_eq!(out.json()["uploaded"].as_u64(), Some(1), "{}", out.stderr);
    assert!(
        took >= Duration::from_secs(2),
        "the 150k slot applied: took {took:?}"
    );
}

#[test]
fn every_spelling_of_one_backup_is_one_profile_with_one_index() {
    let env = Env::logged_in();
    let src = env.root().join("src");
    write(&src, "a.txt", b"alpha");
    write(&src, "sub/b.txt", b"beta");
    let first = env
        .run(&["--json", "backup", src.to_str().unwrap(), "/CC"])
        .json();
    assert_eq!(first["uploaded"].as_u64(), Some(2), "{first}");
    let files = remote_files(&env, "/CC").len();
    let spelled = format!("{}/", src.display());
    let again = env.run(&["--json", "backup", &spelled, "//CC/"]).json();
    assert_eq!(
        (again["uploaded"].as_u64(), again["hashed"].as_u64()),
        (Some(0), Some(0)),
        "the same index answered: {again}"
    );
    // One more manifest, no second copy of any file.
    assert_eq!(remote_files(&env, "/CC").len(), files + 1);
}

#[test]
fn a_destination_inside_versions_or_inside_another_backup_is_refused() {
    let env = Env::logged_in();
    let s1 = env.root().join("s1");
    write(&s1, "a.txt", b"v1");
    env.run(&["backup", s1.to_str().unwrap(), "/X"]).ok();
    let s2 = env.root().join("s2");
    write(&s2, "o.txt", b"other");
    for dest in ["/X/.versions", "/X/.versions/sub"] {
        let out = env.run(&["backup", s2.to_str().unwrap(), dest, "--no-versions"]);
        out.code(2);
        assert!(
            out.stderr.contains("inside a .versions folder"),
            "{}",
            out.stderr
        );
    }
    let out = env.run(&["backup", s2.to_str().unwrap(), "/X/sub"]);
    out.code(2);
    assert!(
        out.stderr
            .contains("inside /X, the destination of another backup"),
        "{}",
        out.stderr
    );
    // Nothing of /X was touched: it still restores.
    let r = env.root().join("r");
    env.run(&["restore", "/X", r.to_str().unwrap()]).ok();
    assert_eq!(std::fs::read(r.join("a.txt")).unwrap(), b"v1");
}

#[test]
fn a_first_mirror_run_into_a_folder_of_other_files_is_refused_until_told() {
    let env = Env::logged_in();
    let photos = env.root().join("photos");
    for i in 0..5 {
        write(
            &photos,
            &format!("p{i}.jpg"),
            format!("photo {i}").as_bytes(),
        );
    }
    env.run(&["upload", "-r", &format!("{}/", photos.display()), "/Photos"])
        .ok();
    let before = remote_files(&env, "/Photos");
    assert_eq!(before.len(), 5);
    let src = env.root().join("src");
    write(&src, "new.jpg", b"new");
    let s = src.to_str().unwrap();
    let out = env.run(&["backup", s, "/Photos", "--no-versions"]);
    out.code(6);
    assert!(
        out.stderr
            .contains("holds 5 files that no backup run put there"),
        "{}",
        out.stderr
    );
    assert!(out.stderr.contains("--delete-unknown"), "{}", out.stderr);
    assert_eq!(remote_files(&env, "/Photos"), before, "nothing was touched");
    // With versions the old files are kept under .versions; told explicitly, they go.
    let j = env
        .run(&[
            "--json",
            "backup",
            s,
            "/Photos",
            "--no-versions",
            "--delete-unknown",
        ])
        .json();
    assert_eq!(j["deleted"].as_u64(), Some(5), "{j}");
}

#[test]
fn verify_names_files_the_manifest_does_not_know_and_fails() {
    let env = Env::logged_in();
    let src = env.root().join("src");
    write(&src, "a.txt", b"alpha");
    env.run(&["backup", src.to_str().unwrap(), "/TP"]).ok();
    let extra = env.root().join("e.txt");
    std::fs::write(&extra, b"stray").unwrap();
    env.run(&["upload", extra.to_str().unwrap(), "/TP"]).ok();
    let out = env.run(&["verify", "/TP"]);
    out.code(1);
    assert!(
        out.stderr.contains("not in the manifest: e.txt"),
        "{}",
        out.stderr
    );
}

#[test]
fn restore_of_a_path_the_manifest_does_not_hold_is_an_error_that_restores_nothing() {
    let env = Env::logged_in();
    let src = env.root().join("src");
    write(&src, "a.txt", b"alpha");
    env.run(&["backup", src.to_str().unwrap(), "/RP"]).ok();
    let r = env.root().join("r");
    for path in ["nosuch.txt", "../x"] {
        let out = env.run(&["restore", "/RP", r.to_str().unwrap(), path]);
        out.code(2);
        assert!(
            out.stderr.contains("no such path in the manifest"),
            "{}",
            out.stderr
        );
    }
    assert!(
        std::fs::read_dir(&r).map_or(true, |mut d| d.next().is_none()),
        "nothing left in the target"
    );
}

#[test]
fn max_size_is_parsed_as_a_size_and_its_mistakes_say_so() {
    let env = Env::logged_in();
    let src = env.root().join("src");
    write(&src, "small.txt", b"tiny");
    write(&src, "big.bin", &vec![7u8; 3000]);
    let s = src.to_str().unwrap();
    let doc = env
        .run(&["backup", s, "/Sz", "--max-size", "2k", "--json"])
        .json();
    assert_eq!(doc["uploaded"], 1, "the 3000-byte file is left out: {doc}");

    let out = env.run(&["backup", s, "/Sz", "--max-size", "10x"]);
    out.code(2);
    assert!(
        out.stderr.contains("--max-size: `10x` is not a size"),
        "{}",
        out.stderr
    );
    assert!(
        !out.stderr.contains("rate") && !out.stderr.contains("per second"),
        "a size is not a rate: {}",
        out.stderr
    );
}

#[test]
fn durations_share_one_grammar_and_a_bare_number_asks_for_a_unit() {
    let env = Env::logged_in();
    let src = env.root().join("src");
    write(&src, "a.txt", b"aged");
    let s = src.to_str().unwrap();
    // Days and weeks are durations everywhere, minutes too.
    env.run(&["backup", s, "/Du", "--max-age", "2w", "--min-age", "0"])
        .code(0);
    let out = env.run(&["queue", "run", "--max-wait", "1d", "--json"]);
    out.code(0);
    for args in [
        &["backup", s, "/Du", "--max-age", "30"][..],
        &["queue", "run", "--max-wait", "30"][..],
    ] {
        let out = env.run(args);
        out.code(2);
        assert!(
            out.stderr.contains("`30` has no unit") && out.stderr.contains("30m (minutes)"),
            "{args:?}: {}",
            out.stderr
        );
    }
}

#[test]
fn profile_values_are_read_as_what_they_are_and_a_relative_source_is_the_config_files() {
    let env = Env::logged_in();
    let src = env.config_dir().join("photos");
    write(&src, "a.jpg", b"alpha");
    config(
        &env,
        "[backup.rel]\nsource = \"photos\"\ndestination = \"/Rel\"\n\
         [backup.zero]\nsource = \"photos\"\ndestination = \"/Z\"\njobs = 0\n\
         [backup.list]\nsource = \"photos\"\ndestination = \"/L\"\nexclude_from = [\"/nonexistent/list\"]\n",
    );
    // Run from a directory that holds no `photos`: the config file's directory counts.
    let doc = env.run(&["--json", "backup", "rel"]).json();
    assert_eq!(doc["uploaded"].as_u64(), Some(1), "{doc}");
    let out = env.run(&["backup", "zero"]);
    out.code(2);
    assert!(out.stderr.contains("jobs = 0"), "{}", out.stderr);
    let out = env.run(&["backup", "list"]);
    out.code(2);
    assert!(
        out.stderr.contains("exclude_from /nonexistent/list"),
        "{}",
        out.stderr
    );
}

#[test]
fn a_refused_backup_still_answers_json_on_stdout() {
    let env = Env::logged_in();
    let src = env.root().join("src");
    write(&src, "a.txt", b"alpha");
    env.run(&["backup", src.to_str().unwrap(), "/RJ"]).ok();
    let empty = env.root().join("empty");
    std::fs::create_dir_all(&empty).unwrap();
    let out = env.run(&["--json", "backup", empty.to_str().unwrap(), "/RJ"]);
    out.code(6);
    let doc = out.json();
    assert_eq!(doc["outcome"], "refused", "{doc}");
    assert_eq!(doc["exit_code"], 6, "{doc}");
    assert!(
        doc["error"].as_str().unwrap().contains("source is empty"),
        "{doc}"
    );
}

#[cfg(unix)]
#[test]
fn restore_and_download_r_never_write_through_a_link_inside_the_target() {
    let env = Env::logged_in();
    let src = env.root().join("src");
    write(&src, "sub/two.txt", b"two");
    write(&src, "top.txt", b"top");
    env.run(&["backup", src.to_str().unwrap(), "/RS"]).ok();
    let outside = env.root().join("outside");
    std::fs::create_dir_all(&outside).unwrap();

    let t = env.root().join("t");
    std::fs::create_dir_all(&t).unwrap();
    std::os::unix::fs::symlink(&outside, t.join("sub")).unwrap();
    let out = env.run(&["restore", "/RS", t.to_str().unwrap()]);
    out.code(1);
    assert!(out.stderr.contains("symbolic link"), "{}", out.stderr);
    assert_eq!(std::fs::read(t.join("top.txt")).unwrap(), b"top");
    assert!(
        !outside.join("two.txt").exists(),
        "restore wrote outside its target"
    );

    // `download -r /RS -o o` fills `o/RS/`: the link sits where `sub` goes.
    let o = env.root().join("o");
    std::fs::create_dir_all(o.join("RS")).unwrap();
    std::os::unix::fs::symlink(&outside, o.join("RS/sub")).unwrap();
    let out = env.run(&["download", "-r", "/RS", "-o", o.to_str().unwrap()]);
    assert_ne!(out.code, 0, "{}", out.stderr);
    assert!(out.stderr.contains("symbolic link"), "{}", out.stderr);
    assert!(
        !outside.join("two.txt").exists(),
        "download -r wrote outside its target"
    );
    assert_eq!(std::fs::read(o.join("RS/top.txt")).unwrap(), b"top");
}
