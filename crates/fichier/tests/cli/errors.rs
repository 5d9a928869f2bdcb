//! The error table: every error says what went wrong (`error:`), why (`caused by:`) and what
//! to do (`hint:`), with the documented exit code. Snapshots have ports and paths filtered.

use fichier_testkit::{Fault, FaultPlan, Offer};

use crate::harness::{Env, snapshot_settings};

fn snap(env: &Env, name: &str, text: &str) {
    snapshot_settings(env).bind(|| insta::assert_snapshot!(name, text));
}

#[test]
fn no_key_configured() {
    let env = Env::new();
    let out = env.run(&["ls"]);
    out.code(3);
    snap(&env, "no_key", &out.stderr);
}

#[test]
fn malformed_keys() {
    let mut env = Env::new();
    env.env
        .push(("FICHIER_API_KEY".into(), "abcdefgh ijklmnop".into()));
    let out = env.run(&["ls"]);
    out.code(3);
    snap(&env, "malformed_key_space", &out.stderr);

    let out = env.run_stdin(&["auth", "login"], "abcdefgh\"ijklmnopqrstuvwxyz012345");
    out.code(3);
    snap(&env, "malformed_key_char", &out.stderr);

    // Truncated: well-formed, so it is sent once; the service refuses it and the warning says why.
    let truncated = &env.key()[..31];
    let out = env.run_stdin(&["auth", "login"], truncated);
    out.code(3);
    snap(&env, "truncated_key", &out.stderr);
}

#[test]
fn rejected_key_and_free_account() {
    let env = Env::logged_in();
    env.emu
        .emu
        .set_offer(fichier_testkit::TEST_EMAIL, Offer::Free)
        .unwrap();
    let out = env.run(&["account"]);
    out.code(3);
    snap(&env, "free_account", &out.stderr);

    env.emu
        .emu
        .regenerate_key(fichier_testkit::TEST_EMAIL)
        .unwrap();
    let out = env.run(&["ls"]);
    out.code(3);
    snap(&env, "rejected_key", &out.stderr);
    // auth status still says where the (now refused) key comes from.
    let out = env.run(&["auth", "status"]);
    out.code(3);
    assert!(out.stdout.contains("OS keyring (mock)"), "{}", out.stdout);
}

#[test]
fn flood_lock() {
    let env = Env::logged_in();
    env.emu.emu.set_fault_plan(FaultPlan::new().rule(
        "folder/ls",
        1,
        1000,
        Fault::Flood { message: None },
    ));
    let out = env.run(&["ls"]);
    out.code(4);
    assert!(out.stderr.contains("retry in"), "{}", out.stderr);
    let mut s = snapshot_settings(&env);
    s.add_filter(r"\d+s\b", "[N]s");
    s.bind(|| insta::assert_snapshot!("flood", out.stderr));
}

#[test]
fn paths_kinds_and_ambiguity() {
    let env = Env::logged_in();
    env.run(&["mkdir", "-p", "/Backups/2026"]).ok();
    env.upload("a.txt", b"a", 0);
    env.upload("twin.txt", b"1", 0);
    env.upload("twin.txt", b"2", 0);

    let out = env.run(&["ls", "/Backups/2025"]);
    out.code(2);
    snap(&env, "not_found", &out.stderr);

    let out = env.run(&["ls", "/backups"]);
    out.code(2);
    assert!(
        out.stderr.contains("did you mean `Backups`"),
        "{}",
        out.stderr
    );

    // A file where a folder is expected, and the reverse.
    let out = env.run(&["mv", "/Backups", "/a.txt"]);
    out.code(2);
    snap(&env, "file_not_folder", &out.stderr);
    let out = env.run(&["ls", "/a.txt/x"]);
    out.code(2);
    assert!(
        out.stderr.contains("/a.txt is a file, not a folder"),
        "{}",
        out.stderr
    );
    let out = env.run(&["link", "/Backups"]);
    out.code(2);
    snap(&env, "folder_not_file", &out.stderr);

    let out = env.run(&["info", "/twin.txt"]);
    out.code(2);
    snap(&env, "ambiguous", &out.stderr);

    let out = env.run(&["info", "https://example.com/?abcde12345"]);
    out.code(2);
    snap(&env, "not_a_link", &out.stderr);
}

#[test]
fn wrong_file_password() {
    let env = Env::logged_in();
    let link = env.upload("locked.bin", b"zz", 0);
    let pw = env.root().join("pw");
    crate::harness::write_mode(&pw, "right-password\n", 0o600);
    env.run(&[
        "attr",
        link.as_str(),
        "--password-file",
        &pw.display().to_string(),
    ])
    .ok();

    // Someone else opens the protected file.
    let other = env
        .emu
        .emu
        .create_account("other@example.com", Offer::Premium)
        .unwrap();
    let mut env = env;
    env.env
        .push(("FICHIER_API_KEY".into(), other.api_key.clone()));
    let out = env.run(&["info", link.as_str()]);
    out.code(2);
    assert!(out.stderr.contains("--password"), "{}", out.stderr);
    assert!(!out.stderr.contains(&other.api_key));
    let out = env.run_stdin(&["info", link.as_str(), "--password"], "wrong-password\n");
    out.code(2);
    snap(&env, "wrong_password", &out.stderr);
    env.run_stdin(&["info", link.as_str(), "--password"], "right-password\n")
        .ok();
}

#[test]
fn network_unreachable() {
    let mut env = Env::logged_in();
    // A loopback port held closed: the connection is refused at once.
    let closed = fichier_testkit::ClosedPort::new();
    env.env.push(("FICHIER_API_URL".into(), closed.api_url()));
    let out = env.run(&["ls"]);
    out.code(2);
    let mut s = snapshot_settings(&env);
    // The OS's wording of "connection refused" differs between platforms.
    s.add_filter(r"(?s)caused by: .*\nhint", "caused by: [OS ERROR]\nhint");
    // Retry delays are jittered.
    s.add_filter(r"delay_ms=\d+", "delay_ms=[N]");
    s.add_filter(r"over \d+\.\d+s\)", "over [N]s)");
    s.bind(|| insta::assert_snapshot!("network", out.stderr));
    // A non-loopback http URL is refused before anything is sent.
    env.env
        .push(("FICHIER_API_URL".into(), "http://example.com/v1/".into()));
    env.run(&["ls"]).code(2);
}

#[test]
fn sandbox_data_dir_not_writable() {
    let mut env = Env::new();
    let blocker = env.root().join("blocker");
    std::fs::write(&blocker, "a file, not a directory").unwrap();
    env.env.push((
        "XDG_DATA_HOME".into(),
        blocker.join("data").display().to_string(),
    ));
    let out = env.run(&["--sandbox", "ls"]);
    out.code(2);
    let mut s = snapshot_settings(&env);
    s.add_filter(r"caused by: .*", "caused by: [OS ERROR]");
    s.bind(|| insta::assert_snapshot!("sandbox_not_writable", out.stderr));
}
