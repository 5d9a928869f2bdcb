//! `fichier queue run` and `fichier daemon` end to end: the real binary against the emulator,
//! real files, the real queue database. Items are added through the store library (another
//! process, as `queue add`, the dashboard or the folder watch would) and the runner's work is
//! read back from the store and the disk.

use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use fichier_queue::{AddOutcome, Item, ItemId, NewItem, QueueStore, State};
use fichier_testkit::{Fault, FaultPlan, Offer};

use crate::harness::{Env, Out};

fn data_dir(env: &Env) -> PathBuf {
    env.root().join("data/fichier")
}

fn store(env: &Env) -> QueueStore {
    std::fs::create_dir_all(data_dir(env)).unwrap();
    QueueStore::open(&data_dir(env).join("queue.sqlite")).expect("open the queue")
}

fn out_dir(env: &Env) -> PathBuf {
    let d = env.root().join("downloads");
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// Adds `source` (a link or a remote path) to the queue, downloading into `dir`.
fn add(env: &Env, source: &str, dir: &Path, package: Option<&str>) -> ItemId {
    let item = NewItem {
        source: source.to_owned(),
        target_dir: dir.to_path_buf(),
        package: package.map(str::to_owned),
        origin: "test".into(),
        ..NewItem::default()
    };
    match store(env).add(item).expect("add to the queue") {
        AddOutcome::Added(id) => id,
        other => panic!("not added: {other:?}"),
    }
}

fn item(env: &Env, id: ItemId) -> Item {
    store(env).get(id).unwrap().expect("the item exists")
}

/// Waits (bounded) until `f` holds.
#[track_caller]
fn wait_for(what: &str, timeout: Duration, mut f: impl FnMut() -> bool) {
    let deadline = Instant::now() + timeout;
    while !f() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn bytes(n: usize, seed: u8) -> Vec<u8> {
    (0..n)
        .map(|i| {
            (i as u32)
                .wrapping_mul(2_654_435_761)
                .rotate_left(seed as u32 % 31) as u8
                ^ seed
        })
        .collect()
}

/// A running `fichier daemon` (stdout and stderr go to files, read at the end).
struct Daemon {
    child: Child,
    out: PathBuf,
    err: PathBuf,
}

impl Daemon {
    fn start(env: &Env, args: &[&str]) -> Daemon {
        static N: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
        let n = N.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let out = env.root().join(format!("daemon-{n}.out"));
        let err = env.root().join(format!("daemon-{n}.err"));
        // Port 0 for the dashboard and Click'n'Load: the defaults (9667, 9666) may be taken by
        // a real daemon or JDownloader, or by the daemon of a test running beside this one.
        let mut all = vec!["daemon", "--port", "0", "--cnl-port", "0"];
        all.extend_from_slice(args);
        let mut c = env.command(&all);
        c.stdin(Stdio::null())
            .stdout(std::fs::File::create(&out).unwrap())
            .stderr(std::fs::File::create(&err).unwrap());
        Daemon {
            child: c.spawn().expect("start the daemon"),
            out,
            err,
        }
    }

    fn signal(&self, sig: &str) {
        let s = std::process::Command::new("kill")
            .args([sig, &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(s.success());
    }

    /// SIGTERM, then the exit and the output.
    fn stop(mut self, env: &Env) -> Out {
        self.signal("-TERM");
        self.finish(env)
    }

    fn kill9(mut self) {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
    }

    fn finish(&mut self, env: &Env) -> Out {
        let deadline = Instant::now() + Duration::from_secs(30);
        let status = loop {
            if let Some(s) = self.child.try_wait().unwrap() {
                break s;
            }
            assert!(Instant::now() < deadline, "the daemon did not stop");
            std::thread::sleep(Duration::from_millis(50));
        };
        let out = Out {
            code: status.code().unwrap_or(-1),
            stdout: std::fs::read_to_string(&self.out).unwrap_or_default(),
            stderr: std::fs::read_to_string(&self.err).unwrap_or_default(),
        };
        out.assert_hides(env.key(), &["daemon"]);
        out
    }
}

fn all_in(env: &Env, ids: &[ItemId], state: State) -> bool {
    ids.iter().all(|id| item(env, *id).state == state)
}

fn no_part_left(dir: &Path) {
    for e in std::fs::read_dir(dir).unwrap() {
        let name = e.unwrap().file_name().to_string_lossy().into_owned();
        assert!(!name.contains(".part"), "{name} left behind");
    }
}

#[test]
fn daemon_downloads_links_and_own_paths_byte_identical_and_hooks_see_them() {
    let env = Env::logged_in();
    let a = bytes(200_000, 1);
    let b = bytes(3 << 20, 2);
    let c = bytes(70 << 20, 3);
    let la = env.upload("a.bin", &a, 0);
    env.upload("b.bin", &b, 0);
    let lc = env.upload("c.bin", &c, 0);
    let dir = out_dir(&env);
    let ids = [
        add(&env, la.as_str(), &dir, Some("pkg")),
        add(&env, "/b.bin", &dir, Some("pkg")),
        add(&env, lc.as_str(), &dir, None),
    ];
    let log = env.root().join("hooks.log");
    let on_done = format!(
        "echo \"done $FICHIER_ITEM_ID $FICHIER_ITEM_PATH $FICHIER_ITEM_SIZE $FICHIER_ITEM_WHIRLPOOL pkg=$FICHIER_ITEM_PACKAGE key=${{FICHIER_API_KEY:-none}}\" >> '{}'",
        log.display()
    );
    let on_pkg = format!(
        "echo \"package $FICHIER_PACKAGE $FICHIER_PACKAGE_FILES $FICHIER_PACKAGE_BYTES\" >> '{}'",
        log.display()
    );
    let d = Daemon::start(&env, &["--on-done", &on_done, "--on-package-done", &on_pkg]);
    wait_for("every item done", Duration::from_secs(60), || {
        all_in(&env, &ids, State::Done)
    });
    // The hooks run after the state is written: wait for their lines.
    wait_for("the hooks", Duration::from_secs(10), || {
        std::fs::read_to_string(&log).is_ok_and(|t| t.lines().count() >= 4)
    });
    let out = d.stop(&env);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(std::fs::read(dir.join("a.bin")).unwrap(), a);
    assert_eq!(std::fs::read(dir.join("b.bin")).unwrap(), b);
    assert_eq!(std::fs::read(dir.join("c.bin")).unwrap(), c);
    no_part_left(&dir);
    for id in ids {
        let it = item(&env, id);
        assert!(it.path.is_some(), "{it:?}");
        assert!(it.whirlpool.is_some(), "{it:?}");
        assert_eq!(it.bytes_done, it.size.unwrap());
    }
    let hooks = std::fs::read_to_string(&log).unwrap();
    let wa = item(&env, ids[0]).whirlpool.unwrap();
    assert!(
        hooks.contains(&format!(
            "done {} {} 200000 {wa} pkg=pkg key=none",
            ids[0],
            dir.join("a.bin").display()
        )),
        "{hooks}"
    );
    assert!(
        hooks.contains(&format!("package pkg 2 {}", 200_000 + (3 << 20))),
        "{hooks}"
    );
    assert!(!hooks.contains(env.key()));
}

#[test]
fn a_second_daemon_is_refused_at_once() {
    let env = Env::logged_in();
    let d = Daemon::start(&env, &[]);
    wait_for("the first daemon's lock", Duration::from_secs(20), || {
        std::fs::read_to_string(data_dir(&env).join("queue-runner.lock"))
            .is_ok_and(|t| !t.trim().is_empty())
    });
    let started = Instant::now();
    let out = env.run(&["daemon"]);
    assert_eq!(out.code, 5, "{}", out.stderr);
    assert!(started.elapsed() < Duration::from_secs(10));
    assert!(
        out.stderr.contains("already working the queue"),
        "{}",
        out.stderr
    );
    assert!(out.stderr.contains("pid"), "{}", out.stderr);
    assert_eq!(d.stop(&env).code, 0);
}

#[test]
fn sigterm_keeps_the_part_and_the_next_daemon_resumes_it() {
    let env = Env::logged_in();
    let big = bytes(24 << 20, 4);
    let link = env.upload("slow.bin", &big, 0);
    // 4 MiB/s per connection: about 6 s, so the stop lands mid-file.
    env.emu
        .emu
        .set_fault_plan(FaultPlan::new().download_bandwidth(4 << 20));
    let dir = out_dir(&env);
    let id = add(&env, link.as_str(), &dir, None);
    let d = Daemon::start(&env, &[]);
    wait_for(
        "some bytes, a speed and an ETA",
        Duration::from_secs(30),
        || {
            let it = item(&env, id);
            it.bytes_done >= 2 << 20 && it.speed_bps > 0 && it.eta_secs.is_some()
        },
    );
    let it = item(&env, id);
    assert_eq!(it.state, State::Downloading, "{it:?}");
    // About 4 MiB/s (the emulator's cap), ETA a few seconds.
    assert!(it.speed_bps > 1 << 20 && it.speed_bps < 8 << 20, "{it:?}");
    let out = d.stop(&env);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let it = item(&env, id);
    assert_eq!(it.state, State::Queued, "{it:?}");
    assert!(dir.join("slow.bin.part").exists());
    assert!(!dir.join("slow.bin").exists());
    env.emu.emu.clear_faults();
    let d = Daemon::start(&env, &[]);
    wait_for("done", Duration::from_secs(60), || {
        item(&env, id).state == State::Done
    });
    let out = d.stop(&env);
    assert!(out.stderr.contains("resuming"), "{}", out.stderr);
    assert_eq!(std::fs::read(dir.join("slow.bin")).unwrap(), big);
    no_part_left(&dir);
}

#[test]
fn kill_9_then_restart_completes_without_duplicates() {
    let env = Env::logged_in();
    let files: Vec<Vec<u8>> = (0..3)
        .map(|i| bytes((6 << 20) + i * 1000, 10 + i as u8))
        .collect();
    let dir = out_dir(&env);
    let mut ids = Vec::new();
    for (i, f) in files.iter().enumerate() {
        let l = env.upload(&format!("k{i}.bin"), f, 0);
        ids.push(add(&env, l.as_str(), &dir, None));
    }
    env.emu
        .emu
        .set_fault_plan(FaultPlan::new().download_bandwidth(3 << 20));
    let d = Daemon::start(&env, &[]);
    wait_for("a download under way", Duration::from_secs(30), || {
        ids.iter().any(|id| item(&env, *id).bytes_done > 0)
    });
    d.kill9();
    // The killed runner's items are still "active"; the next runner takes them back at once.
    env.emu.emu.clear_faults();
    let d = Daemon::start(&env, &[]);
    wait_for(
        "all done after the restart",
        Duration::from_secs(60),
        || all_in(&env, &ids, State::Done),
    );
    assert_eq!(d.stop(&env).code, 0);
    for (i, f) in files.iter().enumerate() {
        assert_eq!(&std::fs::read(dir.join(format!("k{i}.bin"))).unwrap(), f);
    }
    no_part_left(&dir);
    let names: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names.len(), 3, "{names:?}");
}

#[test]
fn a_free_account_waits_in_needs_premium_instead_of_failing() {
    let env = Env::logged_in();
    let link = env.upload("f.bin", b"free", 0);
    let dir = out_dir(&env);
    let ids = [
        add(&env, link.as_str(), &dir, None),
        add(&env, "/f.bin", &dir, None),
    ];
    env.emu
        .emu
        .set_offer(fichier_testkit::TEST_EMAIL, Offer::Free)
        .unwrap();
    let d = Daemon::start(&env, &[]);
    wait_for("needs Premium", Duration::from_secs(30), || {
        ids.iter().all(|id| {
            let it = item(&env, *id);
            it.state == State::Waiting
                && it
                    .reason
                    .as_deref()
                    .is_some_and(|r| r.contains("needs Premium"))
                && it.until.is_some()
        })
    });
    let out = d.stop(&env);
    assert_eq!(out.code, 0);
    assert!(out.stderr.contains("needs Premium"), "{}", out.stderr);
    assert_eq!(env.calls("download/get_token"), 0);
}

#[test]
fn a_flood_pauses_the_whole_queue_and_nothing_is_sent_during_the_cooldown() {
    let mut env = Env::logged_in();
    env.env
        .push(("FICHIER_TEST_FLOOD_PAUSE_MS".into(), "3000".into()));
    let dir = out_dir(&env);
    let mut ids = Vec::new();
    for i in 0..4 {
        let l = env.upload(&format!("f{i}.bin"), &bytes(100_000, i), 0);
        ids.push(add(&env, l.as_str(), &dir, None));
    }
    // The second token request is answered with a flood lock of 3 s: the runner must stop
    // everything and send nothing until the lock is over.
    env.emu.emu.set_fault_plan(FaultPlan::new().on_call(
        "download/get_token",
        2,
        Fault::FloodLock {
            lock_ms: 3_000,
            message: None,
        },
    ));
    let d = Daemon::start(&env, &[]);
    wait_for(
        "a waiting item with the flood reason",
        Duration::from_secs(30),
        || {
            ids.iter().any(|id| {
                let it = item(&env, *id);
                it.state == State::Waiting
                    && it.reason.as_deref().is_some_and(|r| r.contains("flood"))
                    && it.until.is_some()
            })
        },
    );
    wait_for(
        "all done after the cooldown",
        Duration::from_secs(60),
        || all_in(&env, &ids, State::Done),
    );
    let out = d.stop(&env);
    assert!(out.stderr.contains("queue paused until"), "{}", out.stderr);
    let log = env.emu.emu.request_log();
    let flood = log
        .iter()
        .find(|r| r.status == 403 && r.endpoint == "download/get_token")
        .expect("the flood answer");
    let t0 = flood.received_ms.unwrap();
    let during: Vec<_> = log
        .iter()
        .filter(|r| {
            let t = r.received_ms.unwrap_or(0);
            t > t0 + 200 && t < t0 + 3_000
        })
        .map(|r| (r.endpoint.clone(), r.received_ms))
        .collect();
    assert!(
        during.is_empty(),
        "requests during the cooldown: {during:?}"
    );
    // Nothing knocked on the locked door after the answer came back (a call already in
    // flight when the flood answer arrived may be answered 403 too, within a moment).
    let late: Vec<_> = log
        .iter()
        .filter(|r| r.status == 403 && r.received_ms.unwrap_or(0) > t0 + 200)
        .map(|r| (r.endpoint.clone(), r.received_ms.unwrap_or(0) - t0))
        .collect();
    assert!(late.is_empty(), "{late:?}");
    for (i, id) in ids.iter().enumerate() {
        assert_eq!(
            std::fs::read(item(&env, *id).path.unwrap()).unwrap(),
            bytes(100_000, i as u8)
        );
    }
}

#[test]
fn offline_location_and_failed_items_get_their_state_and_reason() {
    let env = Env::logged_in();
    let dir = out_dir(&env);
    let gone = env.upload("gone.bin", b"soon gone", 0);
    let ok = env.upload("ok.bin", &bytes(50_000, 7), 0);
    let gone_id = add(&env, gone.as_str(), &dir, None);
    // Deleted before the runner gets to it: offline.
    env.run(&["rm", gone.as_str()]).ok();
    // A file already there with other bytes: failed, not retryable, left untouched.
    std::fs::write(dir.join("ok.bin"), b"local and different").unwrap();
    let ok_id = add(&env, ok.as_str(), &dir, None);
    let d = Daemon::start(&env, &[]);
    wait_for("offline and failed", Duration::from_secs(30), || {
        item(&env, gone_id).state == State::Offline && item(&env, ok_id).state == State::Failed
    });
    let g = item(&env, gone_id);
    assert!(g.reason.as_deref().unwrap().contains("gone"), "{g:?}");
    let f = item(&env, ok_id);
    assert!(!f.retryable, "{f:?}");
    assert!(
        f.reason.as_deref().unwrap().contains("already exists"),
        "{f:?}"
    );
    assert_eq!(
        std::fs::read(dir.join("ok.bin")).unwrap(),
        b"local and different"
    );

    // A location refusal on every token: the whole queue waits with the explanation.
    env.emu.emu.set_fault_plan(FaultPlan::new().rule(
        "download/get_token",
        1,
        1_000,
        Fault::ko("Only 1 location allowed at a time #887"),
    ));
    let loc = env.upload("loc.bin", &bytes(10_000, 8), 0);
    let loc_id = add(&env, loc.as_str(), &dir, None);
    wait_for("the location pause", Duration::from_secs(30), || {
        let it = item(&env, loc_id);
        it.state == State::Waiting
            && it
                .reason
                .as_deref()
                .is_some_and(|r| r.contains("location") && r.contains("other devices"))
    });
    let tokens = env.calls("download/get_token");
    // While paused (5 min), no other token request goes out.
    std::thread::sleep(Duration::from_millis(1500));
    assert_eq!(env.calls("download/get_token"), tokens);
    let out = d.stop(&env);
    assert!(out.stderr.contains("queue paused until"), "{}", out.stderr);
}

#[test]
fn expired_tokens_are_renewed_and_resets_and_truncation_resume() {
    let env = Env::logged_in();
    let dir = out_dir(&env);
    let data = bytes(5 << 20, 9);
    let l = env.upload("t.bin", &data, 0);
    env.emu.emu.set_fault_plan(
        FaultPlan::new()
            .on_call(
                "download",
                1,
                Fault::Reset {
                    after_bytes: 1 << 20,
                },
            )
            .on_call("download", 2, Fault::ExpiredToken)
            .on_call(
                "download",
                3,
                Fault::Truncate {
                    after_bytes: 1 << 20,
                },
            ),
    );
    let id = add(&env, l.as_str(), &dir, None);
    let d = Daemon::start(&env, &[]);
    wait_for("done", Duration::from_secs(60), || {
        item(&env, id).state == State::Done
    });
    d.stop(&env);
    assert_eq!(std::fs::read(dir.join("t.bin")).unwrap(), data);
    assert!(
        env.calls("download/get_token") >= 2,
        "the token was renewed"
    );
}

#[test]
fn removing_or_pausing_a_downloading_item_stops_it_and_keeps_the_part() {
    let env = Env::logged_in();
    let dir = out_dir(&env);
    let a = env.upload("pa.bin", &bytes(16 << 20, 11), 0);
    let b = env.upload("rm.bin", &bytes(16 << 20, 12), 0);
    env.emu
        .emu
        .set_fault_plan(FaultPlan::new().download_bandwidth(2 << 20));
    let pa = add(&env, a.as_str(), &dir, None);
    let rm = add(&env, b.as_str(), &dir, None);
    let d = Daemon::start(&env, &[]);
    wait_for("both downloading", Duration::from_secs(30), || {
        [pa, rm].iter().all(|id| item(&env, *id).bytes_done > 0)
    });
    let s = store(&env);
    s.pause(&fichier_queue::Selector::Id(pa)).unwrap();
    s.remove(&fichier_queue::Selector::Id(rm)).unwrap();
    wait_for(
        "both stopped (no more bytes)",
        Duration::from_secs(10),
        || {
            std::fs::read_to_string(&d.err)
                .is_ok_and(|t| t.matches("removed or paused").count() >= 2)
        },
    );
    let p = item(&env, pa);
    assert_eq!(p.state, State::Paused, "{p:?}");
    assert!(dir.join("pa.bin.part").exists());
    assert!(dir.join("rm.bin.part").exists());
    assert!(!dir.join("pa.bin").exists());
    // Resumed: it finishes from its .part.
    env.emu.emu.clear_faults();
    s.resume(&fichier_queue::Selector::Id(pa)).unwrap();
    wait_for("resumed and done", Duration::from_secs(60), || {
        item(&env, pa).state == State::Done
    });
    let out = d.stop(&env);
    assert!(out.stderr.contains("resuming"), "{}", out.stderr);
    assert_eq!(
        std::fs::read(dir.join("pa.bin")).unwrap(),
        bytes(16 << 20, 11)
    );
}

#[test]
fn the_daemon_sees_items_added_by_another_process_and_imports_watched_folders() {
    let env = Env::logged_in();
    let dir = out_dir(&env);
    let watch = env.root().join("watch");
    std::fs::create_dir_all(&watch).unwrap();
    let d = Daemon::start(
        &env,
        &[
            "--watch",
            watch.to_str().unwrap(),
            "--to",
            dir.to_str().unwrap(),
        ],
    );
    // The daemon is idle; another process adds an item.
    let l = env.upload("late.bin", &bytes(30_000, 13), 0);
    wait_for("the daemon's lock", Duration::from_secs(20), || {
        data_dir(&env).join("queue-runner.lock").exists()
    });
    // `fichier queue add`, another process.
    env.run(&["queue", "add", l.as_str(), "--to", dir.to_str().unwrap()])
        .ok();
    wait_for("the added item done", Duration::from_secs(30), || {
        std::fs::read(dir.join("late.bin")).is_ok_and(|b| b == bytes(30_000, 13))
    });
    // A crawljob dropped into the watched folder.
    let w = env.upload("watched.bin", &bytes(40_000, 14), 0);
    let job = format!(
        "text={}\npackageName=dropped\ndownloadFolder={}\n",
        w.as_str(),
        dir.display()
    );
    std::fs::write(watch.join("job.crawljob.tmp"), job).unwrap();
    std::fs::rename(watch.join("job.crawljob.tmp"), watch.join("job.crawljob")).unwrap();
    wait_for(
        "the watched file downloaded",
        Duration::from_secs(60),
        || std::fs::read(dir.join("watched.bin")).is_ok_and(|b| b == bytes(40_000, 14)),
    );
    assert!(watch.join("added/job.crawljob").exists());
    let out = d.stop(&env);
    assert!(out.stderr.contains("imported 1 link"), "{}", out.stderr);
}

#[test]
fn daemon_install_prints_a_unit_and_how_to_start_it() {
    let env = Env::logged_in();
    let out = env.run(&[
        "daemon",
        "install",
        "--print",
        "--jobs",
        "2",
        "--timetable",
        "08:00,2M 23:00,off",
    ]);
    let text = out.ok();
    assert!(text.contains("[Service]"), "{text}");
    assert!(text.contains("Type=simple"), "{text}");
    assert!(text.contains("daemon --jobs 2"), "{text}");
    assert!(
        text.contains("--timetable \"08:00,2097152 23:00,off\""),
        "{text}"
    );
    assert!(text.contains("WantedBy=default.target"), "{text}");
    assert!(!text.contains(env.key()));
    // A bad timetable names the bad token.
    let out = env.run(&["daemon", "--timetable", "08:00,2M 25:00,off"]);
    assert_eq!(out.code, 2);
    assert!(out.stderr.contains("25:00,off"), "{}", out.stderr);
}

#[test]
fn queue_run_works_until_empty_with_ndjson_progress() {
    let env = Env::logged_in();
    let dir = out_dir(&env);
    let a = bytes(300_000, 21);
    let b = bytes(2 << 20, 22);
    let la = env.upload("qa.bin", &a, 0);
    env.upload("qb.bin", &b, 0);
    env.run(&[
        "queue",
        "add",
        la.as_str(),
        "/qb.bin",
        "--to",
        dir.to_str().unwrap(),
    ])
    .ok();
    let out = env.run(&["queue", "run", "--progress", "json"]);
    out.ok();
    let events: Vec<serde_json::Value> = out
        .stdout
        .lines()
        .map(|l| serde_json::from_str(l).expect("one JSON object a line"))
        .collect();
    assert_eq!(
        events.iter().filter(|e| e["event"] == "done").count(),
        2,
        "{}",
        out.stdout
    );
    let summary = events.last().unwrap();
    assert_eq!(summary["event"], "summary");
    assert_eq!(summary["done"], 2);
    assert_eq!(std::fs::read(dir.join("qa.bin")).unwrap(), a);
    assert_eq!(std::fs::read(dir.join("qb.bin")).unwrap(), b);
    no_part_left(&dir);
    let ls = env.run(&["queue", "ls", "--json"]).json();
    for it in ls["items"].as_array().unwrap() {
        assert_eq!(it["state"], "done", "{it}");
    }
    // Nothing left: a second run ends at once, successfully.
    env.run(&["queue", "run", "-q"]).ok();
}

#[test]
fn queue_run_stops_with_the_reason_when_the_queue_cannot_go_on() {
    let env = Env::logged_in();
    let dir = out_dir(&env);
    let l = env.upload("loc.bin", &bytes(10_000, 23), 0);
    env.run(&["queue", "add", l.as_str(), "--to", dir.to_str().unwrap()])
        .ok();
    env.emu.emu.set_fault_plan(FaultPlan::new().rule(
        "download/get_token",
        1,
        1_000,
        Fault::ko("Premium status is only allowed to be used on residential private and dedicated - internet connexion - 127.0.0.1 -. Use CDN credits. #913"),
    ));
    let out = env.run(&["queue", "run", "--max-wait", "1s"]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(
        out.stderr.contains("the queue is paused until"),
        "{}",
        out.stderr
    );
    assert!(out.stderr.contains("VPN"), "{}", out.stderr);
    let ls = env.run(&["queue", "ls", "--json"]).json();
    let it = &ls["items"][0];
    assert_eq!(it["state"], "waiting", "{it}");
    assert!(
        it["reason"].as_str().unwrap().contains("residential"),
        "{it}"
    );
    assert!(it["until"].is_string(), "{it}");
    assert!(!dir.join("loc.bin").exists());

    // A free account: exit 3, the link waits in "needs Premium", no token asked.
    env.emu.emu.clear_faults();
    env.emu
        .emu
        .set_offer(fichier_testkit::TEST_EMAIL, Offer::Free)
        .unwrap();
    env.run(&["queue", "retry", "--all"]).ok();
    let tokens = env.calls("download/get_token");
    let out = env.run(&["queue", "run"]);
    assert_eq!(out.code, 3, "{}", out.stderr);
    assert!(out.stderr.contains("needs Premium"), "{}", out.stderr);
    assert_eq!(env.calls("download/get_token"), tokens);
    let ls = env.run(&["queue", "ls", "--json"]).json();
    assert!(
        ls["items"][0]["reason"]
            .as_str()
            .unwrap()
            .contains("needs Premium")
    );
    // Upgraded: the next run takes the parked link at once.
    env.emu
        .emu
        .set_offer(fichier_testkit::TEST_EMAIL, Offer::Premium)
        .unwrap();
    env.run(&["queue", "run", "-q"]).ok();
    assert_eq!(
        std::fs::read(dir.join("loc.bin")).unwrap(),
        bytes(10_000, 23)
    );
}

#[test]
fn queue_run_is_refused_while_a_daemon_works_the_queue() {
    let env = Env::logged_in();
    let d = Daemon::start(&env, &[]);
    wait_for("the daemon's lock", Duration::from_secs(20), || {
        std::fs::read_to_string(data_dir(&env).join("queue-runner.lock"))
            .is_ok_and(|t| !t.trim().is_empty())
    });
    let out = env.run(&["queue", "run"]);
    assert_eq!(out.code, 5, "{}", out.stderr);
    assert!(out.stderr.contains("already working the queue"));
    assert_eq!(d.stop(&env).code, 0);
}

#[test]
fn queue_run_on_a_terminal_draws_bars_and_ends_with_a_summary() {
    let env = Env::logged_in();
    let dir = out_dir(&env);
    let l = env.upload("tty.bin", &bytes(1 << 20, 31), 0);
    env.run(&["queue", "add", l.as_str(), "--to", dir.to_str().unwrap()])
        .ok();
    let out = env.run_pty(&["queue", "run"], "");
    assert_eq!(out.code, 0, "{}", out.stdout);
    assert!(out.stdout.contains("downloaded 1 file"), "{}", out.stdout);
    assert_eq!(
        std::fs::read(dir.join("tty.bin")).unwrap(),
        bytes(1 << 20, 31)
    );
}

#[test]
fn a_network_that_keeps_failing_pauses_the_queue_instead_of_failing_the_items() {
    let env = Env::logged_in();
    let dir = out_dir(&env);
    let data = bytes(300_000, 41);
    let l = env.upload("net.bin", &data, 0);
    // Every download connection is cut at once, as when the network is down.
    env.emu.emu.set_fault_plan(FaultPlan::new().rule(
        "download",
        1,
        100_000,
        Fault::Reset { after_bytes: 0 },
    ));
    let id = add(&env, l.as_str(), &dir, None);
    let d = Daemon::start(&env, &[]);
    wait_for(
        "several attempts, the queue paused",
        Duration::from_secs(60),
        || {
            let it = item(&env, id);
            it.attempts >= 4
                && it.state == State::Waiting
                && it
                    .reason
                    .as_deref()
                    .is_some_and(|r| r.contains("cannot be reached"))
        },
    );
    // Still not failed after more attempts than an item gets for a bad file.
    assert_ne!(item(&env, id).state, State::Failed);
    env.emu.emu.clear_faults();
    wait_for(
        "done once the network is back",
        Duration::from_secs(60),
        || item(&env, id).state == State::Done,
    );
    let out = d.stop(&env);
    assert!(out.stderr.contains("cannot be reached"), "{}", out.stderr);
    assert_eq!(std::fs::read(dir.join("net.bin")).unwrap(), data);
}

#[test]
fn the_daemon_queues_a_retryable_failure_again_after_its_wait() {
    let env = Env::logged_in();
    let dir = out_dir(&env);
    let data = bytes(300_000, 11);
    let l = env.upload("later.bin", &data, 0);
    // The service answers every download with 503 for longer than the item's retries.
    env.emu
        .emu
        .set_fault_plan(FaultPlan::new().rule("download", 1, 100_000, Fault::status(503)));
    let id = add(&env, l.as_str(), &dir, None);
    let d = Daemon::start(&env, &["--requeue-failed-after", "2s"]);
    wait_for("a retryable failure", Duration::from_secs(90), || {
        let it = item(&env, id);
        it.state == State::Failed && it.retryable
    });
    // The outage ends; nobody runs `queue retry`: the daemon takes the item back by itself.
    env.emu.emu.clear_faults();
    wait_for("done after the requeue", Duration::from_secs(60), || {
        item(&env, id).state == State::Done
    });
    assert_eq!(std::fs::read(dir.join("later.bin")).unwrap(), data);
    assert_eq!(d.stop(&env).code, 0);
}

#[test]
fn the_daemon_says_it_draws_no_bars_when_asked_for_them() {
    let env = Env::logged_in();
    let d = Daemon::start(&env, &["--progress", "bars"]);
    wait_for("the daemon's lock", Duration::from_secs(20), || {
        std::fs::read_to_string(data_dir(&env).join("queue-runner.lock"))
            .is_ok_and(|t| !t.trim().is_empty())
    });
    // The warning comes from setup, which ends before a SIGTERM is acted on.
    let out = d.stop(&env);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(
        out.stderr.contains("draws no progress bars"),
        "{}",
        out.stderr
    );
}

#[test]
fn a_shared_folder_link_dropped_in_the_watch_folder_becomes_the_items_queue_add_gives() {
    let env = Env::logged_in();
    env.run(&["mkdir", "/Share"]).ok();
    let folder = env.folder_id("/Share");
    let (a, b) = (bytes(3000, 1), bytes(2000, 2));
    env.upload("a.bin", &a, folder);
    env.upload("b.bin", &b, folder);
    let url = env
        .run(&["share", "/Share", "--public"])
        .ok()
        .trim()
        .to_owned();
    let dl = out_dir(&env);
    let items = |env: &Env| {
        let mut v: Vec<(String, Option<String>, Option<u64>)> = store(env)
            .list()
            .unwrap()
            .into_iter()
            .map(|i| (i.source, i.name, i.size))
            .collect();
        v.sort();
        v
    };
    env.run(&["queue", "add", &url, "--to", dl.to_str().unwrap()])
        .ok();
    let from_cli = items(&env);
    assert_eq!(from_cli.len(), 2, "{from_cli:?}");
    env.run(&["queue", "rm", "--all"]).ok();

    // The folder watch (like the dashboard and Click'n'Load) queues the folder link as it is;
    // the daemon's runner lists it by the same rule and queues its files.
    let watch = env.root().join("watch");
    std::fs::create_dir_all(&watch).unwrap();
    std::fs::write(
        watch.join("share.crawljob"),
        format!("text={url}\ndownloadFolder={}\n", dl.display()),
    )
    .unwrap();
    let d = Daemon::start(
        &env,
        &[
            "--watch",
            watch.to_str().unwrap(),
            "--to",
            dl.to_str().unwrap(),
        ],
    );
    wait_for("both files downloaded", Duration::from_secs(60), || {
        std::fs::read(dl.join("a.bin")).is_ok_and(|x| x == a)
            && std::fs::read(dl.join("b.bin")).is_ok_and(|x| x == b)
    });
    d.stop(&env).ok();
    assert_eq!(items(&env), from_cli);
}
