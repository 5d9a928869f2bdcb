//! `fichier upload` and `fichier download` end to end: the real binary against an emulator on
//! 127.0.0.1:0, with NDJSON events, exit codes, `--input` files, and a download killed with
//! SIGKILL then resumed by running the same command again.

#[allow(dead_code)]
#[path = "cli/harness.rs"]
mod harness;

use std::process::Stdio;
use std::time::{Duration, Instant};

use fichier_emu::FaultPlan;
use harness::Env;

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

    // One empty file: the rest is uploaded, exit 1 and the summary says what failed.
    let out = env.run(&["upload", "-r", &src_s, "/Archive", "--json", "-j", "2"]);
    out.code(1);
    let events = ndjson(&out.stdout);
    let done = events.iter().filter(|e| e["event"] == "done").count();
    assert_eq!(done, 2, "{}", out.stdout);
    let summary = events.last().unwrap();
    assert_eq!(summary["event"], "summary");
    assert_eq!(summary["failed"], 1);
    assert!(
        summary["failures"][0]["error"]
            .as_str()
            .unwrap()
            .contains("zero-byte")
    );

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
