//! Local state end to end: what a new user's first commands leave on disk is private, the
//! sandbox keeps its state apart, and another program reading the queue database beside a
//! running daemon changes nothing for the daemon.

use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use crate::harness::{Env, Out, output};

const WAIT: Duration = Duration::from_secs(60);

fn data_dir(env: &Env) -> PathBuf {
    env.root().join("data/fichier")
}

#[track_caller]
fn wait_for(what: &str, mut f: impl FnMut() -> bool) {
    let deadline = Instant::now() + WAIT;
    while !f() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Runs the binary under umask 022 (a new user's usual one).
fn run022(env: &Env, args: &[&str]) -> Out {
    let out = output(env.command_under_umask("022", args), "");
    out.assert_hides(env.key(), args);
    out
}

/// A `fichier daemon` with its dashboard on free ports, under umask 022; killed on drop.
struct Daemon(Child);

impl Daemon {
    fn start(env: &Env, dl: &Path) -> Daemon {
        let info = data_dir(env).join("dashboard.json");
        let _ = std::fs::remove_file(&info);
        let child = env
            .command_under_umask(
                "022",
                &[
                    "daemon",
                    "--to",
                    dl.to_str().unwrap(),
                    "--port",
                    "0",
                    "--cnl-port",
                    "0",
                ],
            )
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start the daemon");
        let mut d = Daemon(child);
        // The dashboard (a second user of the queue in the daemon) is up once it wrote where
        // it listens.
        wait_for("the daemon's dashboard", || {
            if let Ok(Some(status)) = d.0.try_wait() {
                panic!("the daemon exited early: {status}");
            }
            info.exists()
        });
        d
    }

    fn stop(&mut self) {
        let _ = std::process::Command::new("kill")
            .args(["-TERM", &self.0.id().to_string()])
            .status();
        let deadline = Instant::now() + Duration::from_secs(30);
        while self.0.try_wait().unwrap().is_none() {
            assert!(Instant::now() < deadline, "the daemon did not stop");
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn downloaded(path: &Path, bytes: &[u8]) -> bool {
    std::fs::read(path).is_ok_and(|b| b == bytes)
}

/// Every path under `root` whose mode is not `0700` (directories) or `0600` (files).
#[cfg(unix)]
fn open_modes(root: &Path) -> Vec<String> {
    use std::os::unix::fs::PermissionsExt;
    let mut bad = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(p) = stack.pop() {
        let meta = std::fs::symlink_metadata(&p).unwrap();
        let mode = meta.permissions().mode() & 0o777;
        let want = if meta.is_dir() { 0o700 } else { 0o600 };
        if mode != want {
            bad.push(format!("{} is {mode:o}", p.display()));
        }
        if meta.is_dir() {
            for e in std::fs::read_dir(&p).unwrap() {
                stack.push(e.unwrap().path());
            }
        }
    }
    bad
}

#[cfg(unix)]
#[test]
fn a_new_users_backup_queue_daemon_and_dashboard_leave_only_private_state() {
    let env = Env::logged_in();
    let src = env.root().join("src");
    std::fs::create_dir_all(src.join("sub")).unwrap();
    std::fs::write(src.join("a.txt"), b"alpha").unwrap();
    std::fs::write(src.join("sub/b.txt"), b"beta").unwrap();
    run022(&env, &["backup", src.to_str().unwrap(), "/Backups/src"]).ok();

    let body = b"queued bytes".repeat(100);
    let link = env.upload("q.bin", &body, 0);
    let dl = env.root().join("dl");
    std::fs::create_dir_all(&dl).unwrap();
    run022(
        &env,
        &["queue", "add", link.as_str(), "--to", dl.to_str().unwrap()],
    )
    .ok();
    let mut daemon = Daemon::start(&env, &dl);
    wait_for("the queued file", || downloaded(&dl.join("q.bin"), &body));
    run022(&env, &["dashboard", "--no-open"]).ok();
    daemon.stop();

    let mut bad = Vec::new();
    for dir in ["data/fichier", "config/fichier", "cache/fichier"] {
        let root = env.root().join(dir);
        if root.exists() {
            bad.extend(open_modes(&root));
        }
    }
    assert!(
        bad.is_empty(),
        "state open to other users:\n{}",
        bad.join("\n")
    );
    assert!(data_dir(&env).join("backup/backup-journal.db").exists());
    assert!(data_dir(&env).join("queue.sqlite").exists());
}

#[cfg(unix)]
#[test]
fn state_files_an_older_version_left_open_are_narrowed_on_first_use() {
    use std::os::unix::fs::PermissionsExt;
    let env = Env::logged_in();
    let src = env.root().join("src");
    std::fs::create_dir_all(&src).unwrap();
    std::fs::write(src.join("a.txt"), b"alpha").unwrap();
    run022(&env, &["backup", src.to_str().unwrap(), "/B"]).ok();
    let journal = data_dir(&env).join("backup/backup-journal.db");
    let open = std::fs::Permissions::from_mode(0o644);
    std::fs::set_permissions(&journal, open.clone()).unwrap();
    std::fs::set_permissions(
        data_dir(&env).join("backup"),
        std::fs::Permissions::from_mode(0o755),
    )
    .unwrap();
    let out = run022(&env, &["backup", src.to_str().unwrap(), "/B"]);
    out.ok();
    assert!(
        out.stderr.contains("narrowed"),
        "one line says so: {}",
        out.stderr
    );
    let bad = open_modes(&data_dir(&env).join("backup"));
    assert!(bad.is_empty(), "{bad:?}");
}

#[test]
fn a_sandbox_backup_writes_no_real_backup_state() {
    let env = Env::new();
    let src = env.root().join("src");
    std::fs::create_dir_all(&src).unwrap();
    std::fs::write(src.join("a.txt"), b"alpha").unwrap();
    env.run(&["--sandbox", "backup", src.to_str().unwrap(), "/Demo"])
        .ok();
    assert!(
        !data_dir(&env).join("backup").exists(),
        "a sandbox run wrote the real backup state"
    );
    assert!(
        data_dir(&env)
            .join("sandbox/backup/backup-journal.db")
            .exists()
    );
    // And the real journal, once made, is not the sandbox's: a real run does not see the
    // sandbox's runs (it starts from nothing).
    assert!(!data_dir(&env).join("queue.sqlite").exists());
}

#[test]
fn a_reader_beside_the_running_daemon_leaves_it_working_the_one_queue() {
    if !Path::new("/usr/bin/sqlite3").exists() {
        fichier_testkit::cannot_run(
            "the sqlite3 command is missing (Debian package sqlite3; .ci/run installs it)",
        );
        return;
    }
    let env = Env::logged_in();
    let dl = env.root().join("dl");
    std::fs::create_dir_all(&dl).unwrap();
    let first = b"first file".repeat(50);
    let link1 = env.upload("one.bin", &first, 0);
    env.run(&["queue", "add", link1.as_str(), "--to", dl.to_str().unwrap()])
        .ok();
    let _daemon = Daemon::start(&env, &dl);
    wait_for("the first file", || downloaded(&dl.join("one.bin"), &first));

    // Another program reads the database and exits: as the only connection it knows of, it
    // would checkpoint and delete the -wal/-shm files if the daemon's locks had been dropped.
    let db = data_dir(&env).join("queue.sqlite");
    let q = std::process::Command::new("/usr/bin/sqlite3")
        .arg(&db)
        .arg("select count(*) from items;")
        .output()
        .unwrap();
    assert!(q.status.success(), "{}", String::from_utf8_lossy(&q.stderr));
    assert_eq!(String::from_utf8_lossy(&q.stdout).trim(), "1");
    assert!(
        PathBuf::from(format!("{}-wal", db.display())).exists(),
        "the reader deleted the daemon's write-ahead log from under it"
    );

    // A link added afterwards reaches the same daemon.
    let second = b"second file".repeat(50);
    let link2 = env.upload("two.bin", &second, 0);
    env.run(&["queue", "add", link2.as_str(), "--to", dl.to_str().unwrap()])
        .ok();
    wait_for("the file added after the reader", || {
        downloaded(&dl.join("two.bin"), &second)
    });
}
