//! `fichier ftp ...` and `fichier voucher ...` against the emulator: the happy paths, JSON,
//! bad input (names, passwords, codes, addresses) and exit codes; FTP passwords never in argv.

use crate::harness::{Env, write_mode};

const OWNER: &str = "owner@example.com";

#[test]
fn ftp_users_add_ls_rm() {
    let env = Env::logged_in();
    env.run(&["mkdir", "/Incoming"]).ok();
    let out = env.run(&["ftp", "users", "ls", "--json"]);
    assert_eq!(out.json()["users"], serde_json::json!([]));
    env.run(&["ftp", "users", "ls"]).ok();

    // The password from a file (first line), the folder by path.
    let pass = env.root().join("ftp-pass");
    write_mode(&pass, "s3cret-pass\nignored\n", 0o600);
    let out = env.run(&[
        "ftp",
        "users",
        "add",
        "uploader",
        "--folder",
        "/Incoming",
        "--password-file",
        pass.to_str().unwrap(),
        "--json",
    ]);
    let j = out.json();
    assert_eq!(j["user"], "uploader");
    assert_eq!(j["folder"], "/Incoming");
    let folder_id = env.folder_id("/Incoming");
    assert_eq!(j["folder_id"], folder_id);

    // From stdin with --password.
    env.run_stdin(
        &["ftp", "users", "add", "second", "--password"],
        "another-pass\n",
    )
    .ok();
    let out = env.run(&["ftp", "users", "ls", "--json"]);
    let users = out.json()["users"].clone();
    assert_eq!(users.as_array().unwrap().len(), 2, "{users}");
    assert!(
        users
            .as_array()
            .unwrap()
            .iter()
            .any(|u| u["user"] == "uploader" && u["folder_id"] == folder_id)
    );
    let out = env.run(&["ftp", "users", "ls"]);
    assert!(out.ok().contains("uploader"), "{}", out.stdout);
    assert!(!out.stdout.contains("s3cret-pass"));

    // Already there: refused before anything is sent, with what to do.
    let calls = env.calls("ftp/users/add");
    let out = env.run_stdin(
        &["ftp", "users", "add", "second", "--password"],
        "x-pass-long\n",
    );
    out.code(2);
    assert!(out.stderr.contains("already exists"), "{}", out.stderr);
    assert!(out.stderr.contains("ftp users rm second"), "{}", out.stderr);
    assert_eq!(env.calls("ftp/users/add"), calls);

    env.run(&["ftp", "users", "rm", "second"]).ok();
    let out = env.run(&["ftp", "users", "rm", "second"]);
    out.code(2);
    assert!(out.stderr.contains("no FTP user second"), "{}", out.stderr);
    assert!(out.stderr.contains("hint:"), "{}", out.stderr);
}

#[test]
fn ftp_users_add_bad_input() {
    let env = Env::logged_in();
    // No password source and no terminal: refused, nothing sent.
    let out = env.run(&["ftp", "users", "add", "bob"]);
    out.code(2);
    assert!(out.stderr.contains("--password-file"), "{}", out.stderr);
    // Bad names.
    for bad in ["", "a b", "../x", "x\u{1b}[2J", &"n".repeat(65)] {
        let out = env.run_stdin(&["ftp", "users", "add", bad, "--password"], "long-enough\n");
        out.code(2);
        assert!(
            out.stderr.contains("not a valid FTP user name"),
            "{}",
            out.stderr
        );
        assert!(!out.stderr.contains('\u{1b}'), "control characters escaped");
    }
    // Short and empty passwords.
    let out = env.run_stdin(&["ftp", "users", "add", "bob", "--password"], "abc\n");
    out.code(2);
    assert!(out.stderr.contains("too short"), "{}", out.stderr);
    env.run_stdin(&["ftp", "users", "add", "bob", "--password"], "\n")
        .code(2);
    // A folder that does not exist.
    let out = env.run_stdin(
        &[
            "ftp",
            "users",
            "add",
            "bob",
            "--password",
            "--folder",
            "/Nope",
        ],
        "long-enough\n",
    );
    out.code(2);
    assert!(
        out.stderr.contains("/Nope: no such file or folder"),
        "{}",
        out.stderr
    );
    // A missing password file.
    let out = env.run(&[
        "ftp",
        "users",
        "add",
        "bob",
        "--password-file",
        "/nonexistent/p",
    ]);
    out.code(2);
    assert!(
        out.stderr.contains("cannot read the FTP password"),
        "{}",
        out.stderr
    );
    assert_eq!(env.calls("ftp/users/add"), 0);
}

#[test]
fn ftp_process_and_mode() {
    let env = Env::logged_in();
    env.run(&["ftp", "process"]).ok();
    assert_eq!(
        env.run(&["ftp", "process", "--json"]).json()["processed"],
        true
    );
    assert_eq!(env.calls("ftp/process"), 2);

    env.run(&["mkdir", "/Ftp"]).ok();
    let id = env.folder_id("/Ftp");
    let out = env.run(&[
        "ftp", "mode", "manual", "--folder", "/Ftp", "--report", "on", "--json",
    ]);
    let j = out.json();
    assert_eq!(j["mode"], "manual");
    assert_eq!(j["folder_id"], id);
    assert_eq!(j["report"], true);
    let out = env.run(&["ftp", "mode"]);
    assert!(out.ok().contains("manual"), "{}", out.stdout);
    env.run(&["ftp", "mode", "sometimes"]).code(2);
}

#[test]
fn ftp_without_a_key_exits_3() {
    let env = Env::new();
    for args in [
        &["ftp", "process"][..],
        &["ftp", "users", "ls"],
        &["voucher", "ls"],
    ] {
        let out = env.run(args);
        out.code(3);
        assert!(
            out.stderr.contains("hint: run `fichier auth login`"),
            "{}",
            out.stderr
        );
    }
}

#[test]
fn vouchers_ls_check_use() {
    let env = Env::logged_in();
    let emu = &env.emu.emu;
    let code = emu.create_voucher(OWNER, "premium-1m").unwrap();
    emu.create_account("friend@example.com", fichier_testkit::Offer::Free)
        .unwrap();

    let out = env.run(&["voucher", "ls", "--json"]);
    let list = out.json()["vouchers"].clone();
    assert_eq!(list[0]["voucher"], code.as_str());
    assert_eq!(list[0]["service"], "premium-1m");
    // `ls` is how a reseller gets the codes to hand out: shown in full.
    let out = env.run(&["voucher", "ls"]);
    assert!(out.ok().contains("premium-1m"));
    assert!(out.stdout.contains(&code), "{}", out.stdout);

    // Check: 0 when valid, 1 when not; the code from stdin too.
    let out = env.run(&["voucher", "check", &code, "--json"]);
    out.code(0);
    assert_eq!(out.json()["valid"], true);
    assert_eq!(out.json()["service"], "premium-1m");
    env.run_stdin(&["voucher", "check", "-"], &format!("{code}\n"))
        .code(0);
    let unknown = "Q".repeat(16) + &"7".repeat(16);
    let out = env.run(&["voucher", "check", &unknown]);
    out.code(1);
    assert!(out.stdout.contains("not valid"));

    // Use: bad address, unknown account, then credit it; a second use is refused.
    let out = env.run(&["voucher", "use", &code, "--to", "not-an-address"]);
    out.code(2);
    assert!(
        out.stderr.contains("not an e-mail address"),
        "{}",
        out.stderr
    );
    let out = env.run(&["voucher", "use", &code, "--to", "nobody@example.com"]);
    out.code(2);
    assert!(
        out.stderr
            .contains("no account with the address nobody@example.com"),
        "{}",
        out.stderr
    );
    let out = env.run(&[
        "voucher",
        "use",
        &code,
        "--to",
        "friend@example.com",
        "--json",
    ]);
    assert_eq!(out.json()["used"], true);
    let out = env.run(&["voucher", "use", &code, "--to", "friend@example.com"]);
    out.code(2);
    assert!(out.stderr.contains("already used"), "{}", out.stderr);
    assert_eq!(
        env.calls("vouchers/use"),
        2,
        "an invalid code is never sent to use"
    );

    // Codes with characters a code cannot have.
    for bad in ["", "abc def", "x;rm -rf", "é"] {
        let out = env.run(&["voucher", "check", bad]);
        out.code(2);
        assert!(out.stderr.contains("voucher"), "{}", out.stderr);
    }
}

#[test]
fn ftp_users_add_asks_for_the_password_on_a_terminal() {
    let env = Env::logged_in();
    let out = env.run_pty(&["ftp", "users", "add", "ttyuser"], "tty-pass-123\n");
    assert_eq!(out.code, 0, "{}", out.stdout);
    assert!(
        out.stdout.contains("FTP password (input hidden)"),
        "{}",
        out.stdout
    );
    // (`script` types the input ahead of the prompt, so the terminal may echo it before the
    // prompt hides input: echo is not checked here.)
    let users = env.run(&["ftp", "users", "ls", "--json"]).json();
    assert_eq!(users["users"][0]["user"], "ttyuser");
}
