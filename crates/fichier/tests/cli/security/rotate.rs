//! `auth rotate`: the new key replaces the old one in the store it came from, and the old
//! key's fate is reported (revoked, still live, or unknown inside the 5-minute window).

use fichier_testkit::TEST_EMAIL;

use crate::harness::{Env, Out, write_mode};

/// Asserts that neither key reached the output.
fn clean(out: Out, keys: &[&str]) -> Out {
    for k in keys {
        assert!(!out.stdout.contains(k), "a key leaked to stdout");
        assert!(!out.stderr.contains(k), "a key leaked to stderr");
    }
    out
}

#[test]
fn rotate_in_keyring_reports_old_key_revoked() {
    let env = Env::logged_in();
    // The user regenerated the key on the site: the old one is now refused.
    let new = env.emu.emu.regenerate_key(TEST_EMAIL).unwrap();
    let out = clean(
        env.run_stdin(&["auth", "rotate", "--json"], &format!("{new}\n")),
        &[&new],
    );
    let j = out.json();
    assert_eq!(j["stored_in"], "keyring");
    assert_eq!(j["email"], "owner@example.com");
    assert_eq!(j["old_key"], "revoked");
    let st = clean(env.run(&["auth", "status", "--json"]), &[&new]).json();
    assert_eq!(st["key"], format!("{}…{}", &new[..2], &new[30..]).as_str());
    assert_eq!(st["email"], "owner@example.com");
    // Human output says so too.
    let newer = env.emu.emu.regenerate_key(TEST_EMAIL).unwrap();
    let out = clean(env.run_stdin(&["auth", "rotate"], &newer), &[&new, &newer]);
    out.ok();
    assert!(out.stderr.contains("old key is revoked"), "{}", out.stderr);
}

#[test]
fn rotate_in_file_store_warns_when_old_key_still_works() {
    let env = Env::logged_in_to_file();
    let other = env.second_account_key();
    // Another account: only with --force when stdin is not a terminal.
    let out = clean(
        env.run_stdin(&["auth", "rotate", "--force"], &other),
        &[&other],
    );
    out.ok();
    assert!(out.stderr.contains("still live"), "{}", out.stderr);
    assert!(
        out.stderr
            .contains("https://1fichier.com/console/params.pl"),
        "{}",
        out.stderr
    );
    let file = std::fs::read_to_string(env.config_dir().join("credentials.toml")).unwrap();
    assert!(file.contains(&other) && !file.contains(env.key()));
    assert!(!env.config_dir().join("mock-keyring.json").exists());
}

#[test]
fn rotate_refuses_env_keys_and_bad_keys_and_stores_nothing() {
    let mut env = Env::logged_in();
    let new = env.emu.emu.regenerate_key(TEST_EMAIL).unwrap();
    // A refused new key: nothing changes.
    let bad = fichier_testkit::fake_key();
    let out = clean(env.run_stdin(&["auth", "rotate"], &bad), &[&bad]);
    out.code(3);
    assert!(out.stderr.contains("not stored"), "{}", out.stderr);
    // Same key as the stored one.
    clean(env.run_stdin(&["auth", "rotate"], env.key()), &[]).code(2);
    let keyring = std::fs::read_to_string(env.config_dir().join("mock-keyring.json")).unwrap();
    assert!(
        keyring.contains(env.key()),
        "the old key must still be stored"
    );
    // No stored key to rotate.
    env.run(&["auth", "logout"]).ok();
    clean(env.run_stdin(&["auth", "rotate"], &new), &[&new]).code(3);
    // The key in use comes from the environment: fichier cannot replace it there.
    env.env
        .push(("FICHIER_API_KEY".into(), env.key().to_owned()));
    let out = clean(env.run_stdin(&["auth", "rotate"], &new), &[&new]);
    out.code(2);
    assert!(out.stderr.contains("FICHIER_API_KEY"), "{}", out.stderr);
    assert!(out.stderr.contains("nothing was stored"), "{}", out.stderr);
    let keyring =
        std::fs::read_to_string(env.config_dir().join("mock-keyring.json")).unwrap_or_default();
    assert!(!keyring.contains(&new));
    assert!(!env.config_dir().join("credentials.toml").exists());
    // The sandbox has nothing to rotate.
    env.env.pop();
    clean(
        env.run_stdin(&["--sandbox", "auth", "rotate"], &new),
        &[&new],
    )
    .code(2);
}

/// With the real pacer: the old key was queried by `auth login` less than 5 minutes ago, so
/// its fate cannot be checked now; the rotation still happens and says so.
#[test]
fn rotate_inside_the_user_info_window() {
    let mut env = Env::new();
    env.env.push(("FICHIER_TEST_PACER".into(), "0".into()));
    env.login();
    let new = env.emu.emu.regenerate_key(TEST_EMAIL).unwrap();
    let out = clean(env.run_stdin(&["auth", "rotate", "--json"], &new), &[&new]);
    let j = out.json();
    assert_eq!(j["old_key"], "unknown");
    assert_eq!(j["email"], "owner@example.com");
    assert!(out.stderr.contains("5 minutes"), "{}", out.stderr);
}

/// A key file named in the config file is the key in use: fichier cannot replace it there.
#[test]
fn rotate_refuses_a_configured_key_file() {
    let env = Env::logged_in();
    let key_file = env.root().join("key.txt");
    write_mode(&key_file, env.key(), 0o600);
    write_mode(
        &env.config_dir().join("config.toml"),
        &format!("api_key_file = {:?}\n", key_file.display().to_string()),
        0o600,
    );
    let new = env.emu.emu.regenerate_key(TEST_EMAIL).unwrap();
    let out = clean(env.run_stdin(&["auth", "rotate"], &new), &[&new]);
    out.code(2);
    assert!(out.stderr.contains("key file"), "{}", out.stderr);
    assert!(out.stderr.contains("nothing was stored"), "{}", out.stderr);
    let keyring = std::fs::read_to_string(env.config_dir().join("mock-keyring.json")).unwrap();
    assert!(!keyring.contains(&new));
}

/// `auth rotate` once stored another account's key, unchecked, when the old key could not be
/// asked (revoked, or inside 1fichier's 5-minute window on another machine's cache): the store
/// now records the account of its key, an old account nobody can name counts as a possible
/// change, and a new key that cannot be checked is stored only with --force (exit 4).
#[test]
fn rotate_never_switches_accounts_or_stores_an_unchecked_key_silently() {
    let env = Env::logged_in();
    let other = env.second_account_key();
    let keyring = env.config_dir().join("mock-keyring.json");
    // The old key revoked: its account comes from the record `auth login` wrote.
    env.emu.emu.regenerate_key(TEST_EMAIL).unwrap();
    let out = clean(env.run_stdin(&["auth", "rotate"], &other), &[&other]);
    out.code(2);
    assert!(out.stderr.contains("another account"), "{}", out.stderr);
    assert!(out.stderr.contains(TEST_EMAIL), "{}", out.stderr);
    assert!(!std::fs::read_to_string(&keyring).unwrap().contains(&other));

    // No record either (a key stored by an older version): unknown is a possible change.
    std::fs::remove_file(env.config_dir().join("account.toml")).unwrap();
    let out = clean(env.run_stdin(&["auth", "rotate"], &other), &[&other]);
    out.code(2);
    assert!(out.stderr.contains("is unknown"), "{}", out.stderr);
    assert!(!std::fs::read_to_string(&keyring).unwrap().contains(&other));
    let out = clean(
        env.run_stdin(&["auth", "rotate", "--force"], &other),
        &[&other],
    );
    out.ok();
    assert!(std::fs::read_to_string(&keyring).unwrap().contains(&other));
    let record = std::fs::read_to_string(env.config_dir().join("account.toml")).unwrap();
    assert!(record.contains("second@example.com") && !record.contains(&other));
}

#[test]
fn rotate_refuses_a_new_key_it_cannot_check_without_force() {
    let mut env = Env::new();
    env.env.push(("FICHIER_TEST_PACER".into(), "0".into()));
    env.login();
    let other = env.emu.emu.regenerate_key(TEST_EMAIL).unwrap();
    let key_file = env.root().join("new.key");
    write_mode(&key_file, &other, 0o600);
    let file = key_file.to_str().unwrap();
    // The new key's account query is used up inside the 5 minutes by a command whose answer
    // was an error (so no answer is cached to show instead).
    env.emu
        .emu
        .set_fault_plan(fichier_emu::FaultPlan::new().rule(
            "user/info",
            1,
            1,
            fichier_emu::Fault::Ko {
                message: "Temporary failure".into(),
                status: None,
            },
        ));
    let out = clean(env.run(&["--api-key-file", file, "account"]), &[&other]);
    assert_ne!(out.code, 0, "{}", out.stderr);
    env.emu.emu.set_fault_plan(fichier_emu::FaultPlan::new());
    let keyring = env.config_dir().join("mock-keyring.json");
    let out = clean(
        env.run(&["--api-key-file", file, "auth", "rotate"]),
        &[&other],
    );
    out.code(4);
    assert!(out.stderr.contains("retry in"), "{}", out.stderr);
    assert!(out.stderr.contains("Nothing was stored"), "{}", out.stderr);
    assert!(!std::fs::read_to_string(&keyring).unwrap().contains(&other));
    let out = clean(
        env.run(&["--api-key-file", file, "auth", "rotate", "--force"]),
        &[&other],
    );
    out.ok();
    assert!(std::fs::read_to_string(&keyring).unwrap().contains(&other));
}
