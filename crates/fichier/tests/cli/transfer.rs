//! `fichier upload` and `fichier download` end to end: the real binary against an emulator on
//! 127.0.0.1:0, with NDJSON events, exit codes, `--input` files, a download killed with
//! SIGKILL then resumed by running the same command again, and the data-safety guards
//! (symbolic links, foreign `.part` files, concurrent processes, flood locks, local names).

use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

use fichier_emu::{Fault, FaultPlan};

use crate::harness::Env;

fn bytes(seed: u8, len: usize) -> Vec<u8> {
    // A cheap pseudo-random pattern (xorshift) so files are not trivially compressible.
    let mut x: u32 = 0x9e37_79b9 ^ u32::from(seed);
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            x as u8
        })
        .collect()
}

fn ndjson(stdout: &str) -> Vec<serde_json::Value> {
    stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not NDJSON ({e}): {l}")))
        .collect()
}

#[test]
fn upload_tree_then_download_it_with_input_file() {
    let env = Env::logged_in();
    let src = env.root().join("work/My Docs");
    std::fs::create_dir_all(src.join("sub dir")).unwrap();
    std::fs::write(src.join("a & b #1.txt"), bytes(1, 1000)).unwrap();
    std::fs::write(src.join("sub dir/100% été.bin"), bytes(2, 700_000)).unwrap();
    std::fs::write(src.join("empty"), b"").unwrap();
    let src_s = src.display().to_string();

    // One empty file: not sent (1fichier refuses them), skipped with a warning, exit 0.
    let out = env.run(&["upload", "-r", &src_s, "/Archive", "--json", "-j", "2"]);
    out.ok();
    let events = ndjson(&out.stdout);
    let done = events.iter().filter(|e| e["event"] == "done").count();
    assert_eq!(done, 2, "{}", out.stdout);
    let summary = events.last().unwrap();
    assert_eq!(summary["event"], "summary");
    assert_eq!(summary["failed"], 0);
    assert_eq!(summary["skipped"], 1);
    assert!(out.stdout.contains("zero-byte"), "{}", out.stdout);

    // Again: identical files are skipped.
    std::fs::remove_file(src.join("empty")).unwrap();
    let out = env.run(&["upload", "-r", &src_s, "/Archive"]);
    out.ok();
    assert!(out.stderr.contains("already there"), "{}", out.stderr);

    // Download through an --input file with comments and blank lines.
    let list = env.root().join("list.txt");
    std::fs::write(&list, "# my downloads\n\n/Archive/My Docs\n").unwrap();
    let dest = env.root().join("dl");
    let out = env.run(&[
        "download",
        "-r",
        "--input",
        &list.display().to_string(),
        "-o",
        &dest.display().to_string(),
    ]);
    out.ok();
    assert_eq!(
        std::fs::read(dest.join("My Docs/a & b #1.txt")).unwrap(),
        bytes(1, 1000)
    );
    assert_eq!(
        std::fs::read(dest.join("My Docs/sub dir/100% été.bin")).unwrap(),
        bytes(2, 700_000)
    );
}

#[test]
fn download_killed_with_sigkill_resumes_on_rerun() {
    let env = Env::logged_in();
    let data = bytes(7, 12 << 20);
    let link = env.upload("big.bin", &data, 0).to_string();
    // Slow connections so the process is still downloading when it is killed.
    env.emu
        .emu
        .set_fault_plan(FaultPlan::new().download_bandwidth(2 << 20));
    let dest = env.root().join("out");
    let dest_s = dest.display().to_string();
    let args = ["download", &link, "-o", &dest_s, "--segments", "3"];
    let mut child = env
        .command(&args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let part = dest.join("big.bin.part");
    let state = dest.join("big.bin.part.state");
    let start = Instant::now();
    // Wait until the state file records some progress, then kill -9.
    loop {
        let progressed = std::fs::read_to_string(&state)
            .ok()
            .and_then(|t| serde_json::from_str::<serde_json::Value>(&t).ok())
            .is_some_and(|v| {
                v["segments"]
                    .as_array()
                    .is_some_and(|s| s.iter().any(|g| g["done"].as_u64().unwrap_or(0) > 0))
            });
        if progressed {
            break;
        }
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "the download never made progress"
        );
        assert!(child.try_wait().unwrap().is_none(), "finished too early");
        std::thread::sleep(Duration::from_millis(20));
    }
    child.kill().unwrap(); // SIGKILL on unix
    child.wait().unwrap();
    assert!(part.exists() && !dest.join("big.bin").exists());

    env.emu.emu.clear_faults();
    let out = env.run(&args);
    out.ok();
    assert!(out.stderr.contains("resuming"), "{}", out.stderr);
    assert!(std::fs::read(dest.join("big.bin")).unwrap() == data);
    assert!(!part.exists() && !state.exists());
}

#[test]
fn bad_arguments_are_usage_errors() {
    let env = Env::logged_in();
    let out = env.run(&["download", "https://example.com/?abcdef"]);
    out.code(2);
    assert!(
        out.stderr.contains("not a 1fichier file link"),
        "{}",
        out.stderr
    );
    let out = env.run(&["download", "x", "--limit-rate", "fast"]);
    out.code(2);
    assert!(out.stderr.contains("not a rate"), "{}", out.stderr);
    let out = env.run(&["upload", "a", "b", "--domain", "example.com"]);
    out.code(2);
}

/// The child's state file shows bytes written.
fn state_progressed(state: &Path) -> bool {
    std::fs::read_to_string(state)
        .ok()
        .and_then(|t| serde_json::from_str::<serde_json::Value>(&t).ok())
        .is_some_and(|v| {
            v["segments"]
                .as_array()
                .is_some_and(|s| s.iter().any(|g| g["done"].as_u64().unwrap_or(0) > 0))
        })
}

#[test]
fn zero_byte_file_alone_is_skipped_with_a_warning() {
    let env = Env::logged_in();
    let empty = env.root().join("empty.txt");
    std::fs::write(&empty, b"").unwrap();
    let out = env.run(&["upload", &empty.display().to_string(), "--json"]);
    out.ok();
    let summary = ndjson(&out.stdout).pop().unwrap();
    assert_eq!(summary["skipped"], 1, "{}", out.stdout);
    assert_eq!(summary["failed"], 0, "{}", out.stdout);
    assert!(out.stdout.contains("is empty"), "{}", out.stdout);
    // Without --json: a warning line on stderr.
    let out = env.run(&["upload", &empty.display().to_string()]);
    out.ok();
    assert!(out.stderr.contains("is empty"), "{}", out.stderr);
    assert_eq!(env.calls("upload/get_upload_server"), 0);
}

#[cfg(unix)]
#[test]
fn upload_r_does_not_follow_directory_symlinks_unless_asked() {
    let env = Env::logged_in();
    let t = env.root().join("t");
    std::fs::create_dir_all(&t).unwrap();
    std::fs::write(t.join("f"), b"x").unwrap();
    std::os::unix::fs::symlink(".", t.join("l1")).unwrap();
    std::os::unix::fs::symlink(".", t.join("l2")).unwrap();
    let t_s = t.display().to_string();
    // Uploads the tree to `dest`: one `message` per link, and no link in the remote tree.
    let upload = |flags: &[&str], dest: &str, message: &str| {
        let args = [&["upload", "-r"], flags, &[t_s.as_str(), dest]].concat();
        let out = env.run(&args);
        out.ok();
        assert_eq!(out.stderr.matches(message).count(), 2, "{}", out.stderr);
        // By entry name: a random link can hold "l1" or "l2" too.
        let listing = env.run(&["ls", "-R", dest, "--json"]).json();
        let names: Vec<&str> = listing["entries"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|e| e["name"].as_str())
            .collect();
        assert!(
            !names.contains(&"l1") && !names.contains(&"l2"),
            "{names:?}"
        );
    };
    upload(&[], "/T", "symbolic link to a directory");
    // Followed on request: the loops end (each directory once), one message per link.
    upload(&["--follow-symlinks"], "/U", "symbolic link loop");
}

#[cfg(unix)]
#[test]
fn download_refuses_a_symlinked_part_file() {
    let env = Env::logged_in();
    env.run(&["mkdir", "/F"]).ok();
    env.upload("b.bin", &bytes(3, 50_000), env.folder_id("/F"));
    let victim = env.root().join("victim");
    std::fs::write(&victim, b"VICTIM").unwrap();
    let o = env.root().join("o");
    std::fs::create_dir_all(&o).unwrap();
    std::os::unix::fs::symlink("../victim", o.join("b.bin.part")).unwrap();
    for segments in ["1", "3"] {
        let out = env.run(&[
            "download",
            "/F/b.bin",
            "-o",
            &o.display().to_string(),
            "--segments",
            segments,
        ]);
        out.code(1);
        assert!(out.stderr.contains("symbolic link"), "{}", out.stderr);
        assert_eq!(std::fs::read(&victim).unwrap(), b"VICTIM");
        assert!(!o.join("b.bin").exists());
    }
}

#[test]
fn download_never_adopts_or_deletes_a_part_it_did_not_write() {
    let env = Env::logged_in();
    env.run(&["mkdir", "/G"]).ok();
    let g = env.folder_id("/G");
    env.upload("g.txt", &bytes(4, 30_000), g);
    env.upload("m1.bin", &bytes(5, 30_000), g);
    let o = env.root().join("o");
    let o_s = o.display().to_string();
    std::fs::create_dir_all(&o).unwrap();
    // A finished file that happens to be named like the next one's .part.
    std::fs::write(o.join("g.txt.part"), b"a completed download of g.txt.part").unwrap();
    // Stray foreign bytes, with --no-verify.
    std::fs::write(o.join("m1.bin.part"), b"foreign bytes").unwrap();
    let out = env.run(&[
        "download",
        "/G/g.txt",
        "/G/m1.bin",
        "--no-verify",
        "-o",
        &o_s,
    ]);
    out.code(1);
    for part in ["g.txt.part exists", "m1.bin.part exists"] {
        assert!(out.stderr.contains(part), "{}", out.stderr);
    }
    assert!(out.stderr.contains("left untouched"), "{}", out.stderr);
    assert_eq!(
        std::fs::read(o.join("g.txt.part")).unwrap(),
        b"a completed download of g.txt.part"
    );
    assert_eq!(
        std::fs::read(o.join("m1.bin.part")).unwrap(),
        b"foreign bytes"
    );
    assert!(!o.join("g.txt").exists() && !o.join("m1.bin").exists());
}

#[test]
fn second_process_on_the_same_part_is_refused_without_corruption() {
    let env = Env::logged_in();
    env.run(&["mkdir", "-p", "/CC/x", "/CC/y"]).ok();
    let a = bytes(6, 6 << 20);
    env.upload("same.bin", &a, env.folder_id("/CC/x"));
    env.upload("same.bin", &bytes(9, 6 << 20), env.folder_id("/CC/y"));
    env.emu
        .emu
        .set_fault_plan(FaultPlan::new().download_bandwidth(2 << 20));
    let o = env.root().join("o");
    let o_s = o.display().to_string();
    let mut first = env
        .command(&[
            "download",
            "/CC/x/same.bin",
            "--no-verify",
            "-o",
            &o_s,
            "--segments",
            "1",
        ])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let state = o.join("same.bin.part.state");
    let start = Instant::now();
    while !state_progressed(&state) {
        assert!(start.elapsed() < Duration::from_secs(60), "no progress");
        assert!(first.try_wait().unwrap().is_none(), "finished too early");
        std::thread::sleep(Duration::from_millis(20));
    }
    let out = env.run(&["download", "/CC/y/same.bin", "--no-verify", "-o", &o_s]);
    out.code(1);
    assert!(out.stderr.contains("another process"), "{}", out.stderr);
    env.emu.emu.clear_faults();
    assert!(first.wait().unwrap().success());
    assert!(std::fs::read(o.join("same.bin")).unwrap() == a);
}

#[test]
fn flood_lock_exits_4_with_the_retry_time_for_transfers() {
    let env = Env::logged_in();
    let f = env.root().join("f.txt");
    std::fs::write(&f, b"some bytes").unwrap();
    let dir = env.root().join("tree");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("a.txt"), b"a").unwrap();
    let link = env.upload("d.bin", b"download me", 0).to_string();
    let o = env.root().join("o").display().to_string();
    let cases: [(&str, Vec<&str>); 3] = [
        (
            "upload/get_upload_server",
            vec!["upload", f.to_str().unwrap(), "/Up"],
        ),
        (
            "folder/ls",
            vec!["upload", "-r", dir.to_str().unwrap(), "/Tree"],
        ),
        ("download/get_token", vec!["download", &link, "-o", &o]),
    ];
    for (endpoint, args) in cases {
        env.emu
            .emu
            .set_fault_plan(FaultPlan::new().rule(endpoint, 1, 1000, Fault::flood()));
        let out = env.run(&args);
        out.code(4);
        assert!(out.stderr.contains("retry in"), "{args:?}: {}", out.stderr);
    }
    env.emu.emu.clear_faults();
}

#[test]
fn dedup_local_names_are_unique_whatever_the_remote_names() {
    let env = Env::logged_in();
    env.run(&["mkdir", "/D"]).ok();
    let d = env.folder_id("/D");
    env.upload("dup.txt", b"first dup", d);
    let second = env.upload("dup.txt", b"second dup", d);
    let id = second.id().unwrap().to_owned();
    env.upload(&format!("dup ({id}).txt"), b"named like a renamed copy", d);
    for jobs in ["1", "4"] {
        let o = env.root().join(format!("o{jobs}"));
        let out = env.run(&[
            "download",
            "-r",
            "/D",
            "-j",
            jobs,
            "-o",
            &o.display().to_string(),
        ]);
        out.ok();
        let mut got: Vec<Vec<u8>> = std::fs::read_dir(o.join("D"))
            .unwrap()
            .map(|e| std::fs::read(e.unwrap().path()).unwrap())
            .collect();
        got.sort();
        assert_eq!(
            got,
            [
                b"first dup".to_vec(),
                b"named like a renamed copy".to_vec(),
                b"second dup".to_vec()
            ],
            "-j {jobs}"
        );
    }
}

#[test]
fn expired_download_url_is_renewed_or_explained() {
    let env = Env::logged_in();
    let data = bytes(8, 40_000);
    let link = env.upload("t.bin", &data, 0).to_string();
    let o = env.root().join("o");
    let o_s = o.display().to_string();
    let gone = || Fault::Status {
        status: 410,
        body: Some(String::new()),
    };
    // Once: a new token, and the download completes.
    env.emu
        .emu
        .set_fault_plan(FaultPlan::new().rule("download", 1, 1, gone()));
    env.run(&["download", &link, "-o", &o_s]).ok();
    assert!(std::fs::read(o.join("t.bin")).unwrap() == data);
    // Always: a clear message naming the download URL, with a hint.
    std::fs::remove_file(o.join("t.bin")).unwrap();
    env.emu
        .emu
        .set_fault_plan(FaultPlan::new().rule("download", 1, 1000, gone()));
    let out = env.run(&["download", &link, "-o", &o_s]);
    out.code(1);
    assert!(!out.stderr.contains("from :"), "{}", out.stderr);
    assert!(
        out.stderr.contains("download URL expired"),
        "{}",
        out.stderr
    );
    assert!(out.stderr.contains("hint:"), "{}", out.stderr);
    env.emu.emu.clear_faults();
}

#[test]
fn transfers_refuse_ambiguous_folders_like_every_other_command() {
    let env = Env::logged_in();
    let c = env.client();
    for _ in 0..2 {
        env.rt
            .block_on(c.folder_mkdir(&fichier_api::FolderMkdirRequest::new("Twin", 0)))
            .unwrap();
    }
    let f = env.root().join("f.txt");
    std::fs::write(&f, b"payload").unwrap();
    let out = env.run(&["upload", f.to_str().unwrap(), "/Twin"]);
    out.code(2);
    assert!(out.stderr.contains("ambiguous"), "{}", out.stderr);
    assert!(out.stderr.contains("id:"), "{}", out.stderr);
    let o = env.root().join("o").display().to_string();
    let out = env.run(&["download", "-r", "/Twin", "-o", &o]);
    out.code(1);
    assert!(out.stderr.contains("ambiguous"), "{}", out.stderr);
}
