//! `attr` (password, inline, cdn, description, ACL) and `share` (public, users, unshare).
//! Passwords come from files or stdin, never argv.

use crate::harness::{Env, write_mode};

#[test]
fn attr_changes_and_file_passwords() {
    let env = Env::logged_in();
    let link = env.upload("secret.pdf", b"%PDF", 0);
    let pw = env.root().join("pw.txt");
    write_mode(&pw, "hunter22\n", 0o600);
    let pws = pw.display().to_string();

    let j = env
        .run(&[
            "attr",
            "/secret.pdf",
            "--password-file",
            &pws,
            "--inline",
            "on",
            "--cdn",
            "on",
            "--description",
            "quarterly",
            "--acl-country",
            "fr",
            "--acl-premium",
            "on",
            "--json",
        ])
        .json();
    assert_eq!(j["updated"][0]["link"], link.as_str());
    assert_eq!(j["changes"]["password"], "set");
    assert_eq!(j["changes"]["acl"]["country"], serde_json::json!(["FR"]));
    // The password itself is never echoed.
    assert!(!serde_json::to_string(&j).unwrap().contains("hunter22"));

    // The emulator asks for the password even from the owner: give it from the file.
    let info = env
        .run(&["info", "/secret.pdf", "--password-file", &pws, "--json"])
        .json();
    assert_eq!(info["password"], true);
    assert_eq!(info["inline"], true);
    assert_eq!(info["cdn"], true);
    assert_eq!(info["description"], "quarterly");
    assert_eq!(info["acl"]["premium"], true);

    // Password from stdin with --password (stdin is not a terminal here).
    env.run_stdin(&["attr", link.as_str(), "--password"], "another1\n")
        .ok();
    // Too short is refused before anything is sent.
    let out = env.run_stdin(&["attr", "/secret.pdf", "--password"], "abc\n");
    out.code(2);
    assert!(out.stderr.contains("at least 6"), "{}", out.stderr);
    // Nothing to change.
    env.run(&["attr", "/secret.pdf"]).code(2);

    env.run(&[
        "attr",
        "/secret.pdf",
        "--clear-password",
        "--acl-clear",
        "--inline",
        "off",
    ])
    .ok();
    let info = env.run(&["info", "/secret.pdf", "--json"]).json();
    assert_eq!(info["password"], false);
    assert!(info["acl"].is_null());
}

#[test]
fn share_public_users_and_unshare() {
    let env = Env::logged_in();
    env.run(&["mkdir", "/Photos"]).ok();
    // Show: not shared.
    let j = env.run(&["share", "/Photos", "--json"]).json();
    assert!(j["public_url"].is_null());
    assert_eq!(j["shares"], serde_json::json!([]));

    // Public with a password read from stdin; the link alone on stdout.
    let out = env.run_stdin(
        &["share", "/Photos", "--public", "--password"],
        "sesame123\n",
    );
    let url = out.ok().trim().to_owned();
    assert!(url.contains("/dir/"), "{url}");
    let j = env.run(&["info", "/Photos", "--json"]).json();
    assert_eq!(j["public_url"], url.as_str());

    // Changing a share lists the folder once per run, not again afterwards.
    let before = env.calls("folder/ls");
    env.run(&["share", "/Photos", "--user", "c@example.com"])
        .ok();
    assert_eq!(env.calls("folder/ls") - before, 2, "root + /Photos");
    env.run(&["share", "/Photos", "--unshare", "--user", "c@example.com"])
        .ok();
    // Users: add two, one read-write; then drop one.
    env.run(&["share", "/Photos", "--user", "a@example.com", "--rw"])
        .ok();
    let j = env
        .run(&[
            "share",
            "/Photos",
            "--user",
            "b@example.com",
            "--hide-links",
            "--json",
        ])
        .json();
    let shares = j["shares"].as_array().unwrap();
    assert_eq!(shares.len(), 2);
    assert!(
        shares
            .iter()
            .any(|s| s["email"] == "a@example.com" && s["rw"] == true)
    );
    assert!(
        shares
            .iter()
            .any(|s| s["email"] == "b@example.com" && s["hide_links"] == true)
    );
    let j = env
        .run(&[
            "share",
            "/Photos",
            "--unshare",
            "--user",
            "a@example.com",
            "--json",
        ])
        .json();
    assert_eq!(j["shares"].as_array().unwrap().len(), 1);
    assert!(
        !j["public_url"].is_null(),
        "removing a user keeps the public link"
    );
    env.run(&[
        "share",
        "/Photos",
        "--unshare",
        "--user",
        "nobody@example.com",
    ])
    .code(2);

    // Unshare everything.
    let j = env.run(&["share", "/Photos", "--unshare", "--json"]).json();
    assert!(j["public_url"].is_null());
    assert_eq!(j["shares"], serde_json::json!([]));
    // A password without --public makes no sense.
    env.run_stdin(&["share", "/Photos", "--password"], "sesame123\n")
        .code(2);
}
