//! `auth login | status | logout` and the credential chain.

use crate::harness::{Env, write_mode};

#[test]
fn login_status_logout_with_keyring() {
    let env = Env::new();
    let out = env.run_stdin(&["auth", "login"], &format!("  {}\n", env.key()));
    out.ok();
    assert!(
        out.stderr.contains("Logged in as owner@example.com"),
        "{}",
        out.stderr
    );
    assert!(out.stderr.contains("OS keyring (mock)"), "{}", out.stderr);
    // The key went to the keyring, not to the credentials file.
    assert!(env.config_dir().join("mock-keyring.json").exists());
    assert!(!env.config_dir().join("credentials.toml").exists());

    let st = env.run(&["auth", "status", "--json"]).json();
    let key = env.key();
    let masked = format!("{}…{}", &key[..2], &key[key.len() - 2..]);
    assert_eq!(st["source"], "keyring");
    assert_eq!(st["key"], masked.as_str());
    assert_eq!(st["email"], "owner@example.com");
    assert_eq!(st["offer"], "premium");

    let human = env.run(&["auth", "status"]);
    assert!(human.ok().contains(&masked), "{}", human.stdout);

    let lo = env.run(&["auth", "logout", "--json"]).json();
    assert_eq!(lo["removed"], serde_json::json!(["keyring"]));
    assert!(lo["still_configured"].is_null());
    env.run(&["ls"]).code(3);
    // Logging out twice is fine.
    env.run(&["auth", "logout"]).ok();
}

#[cfg(unix)]
#[test]
fn login_to_file_store_is_private() {
    use std::os::unix::fs::PermissionsExt as _;
    let mut env = Env::new();
    env.env.push(("FICHIER_KEYRING".into(), "none".into()));
    let out = env.run_stdin(&["auth", "login", "--json"], env.key());
    let j = out.json();
    assert_eq!(j["stored_in"], "credentials-file");
    let file = env.config_dir().join("credentials.toml");
    let mode = std::fs::metadata(&file).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
    let dmode = std::fs::metadata(env.config_dir())
        .unwrap()
        .permissions()
        .mode()
        & 0o777;
    assert_eq!(dmode, 0o700);
    assert_eq!(
        env.run(&["auth", "status", "--json"]).json()["source"],
        "credentials-file"
    );
    env.run(&["ls"]).ok();

    // A credentials file that became readable by others still works, with a warning.
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o644)).unwrap();
    let out = env.run(&["ls"]);
    out.ok();
    assert!(
        out.stderr.contains("warning:") && out.stderr.contains("chmod 600"),
        "{}",
        out.stderr
    );
    // -q hides warnings.
    assert!(env.run(&["-q", "ls"]).stderr.is_empty());

    let lo = env.run(&["auth", "logout", "--json"]).json();
    assert_eq!(lo["removed"], serde_json::json!(["credentials-file"]));
    assert!(!file.exists());
}

#[test]
fn explicit_store_choices() {
    let mut env = Env::new();
    // --store file while a keyring exists: the file wins and no keyring copy shadows it.
    env.run_stdin(&["auth", "login"], env.key()).ok();
    env.run_stdin(&["auth", "login", "--store", "file"], env.key())
        .ok();
    assert!(!env.config_dir().join("mock-keyring.json").exists());
    assert_eq!(
        env.run(&["auth", "status", "--json"]).json()["source"],
        "credentials-file"
    );
    // --store keyring without any keyring is an error.
    env.env.push(("FICHIER_KEYRING".into(), "none".into()));
    let out = env.run_stdin(&["auth", "login", "--store", "keyring"], env.key());
    out.code(2);
    assert!(
        out.stderr.contains("no OS keyring is reachable"),
        "{}",
        out.stderr
    );
}

#[cfg(unix)]
#[test]
fn key_file_and_env_sources() {
    let mut env = Env::new();
    let kf = env.root().join("key.txt");
    write_mode(&kf, &format!("{}\n", env.key()), 0o600);
    let kfs = kf.display().to_string();
    let st = env
        .run(&["--api-key-file", &kfs, "auth", "status", "--json"])
        .json();
    assert_eq!(st["source"], "key-file");
    assert_eq!(st["path"], kfs.as_str());

    // Group/other-readable key files are refused, like ssh does.
    write_mode(&kf, env.key(), 0o644);
    let out = env.run(&["--api-key-file", &kfs, "ls"]);
    out.code(3);
    assert!(out.stderr.contains("chmod 600"), "{}", out.stderr);

    // `auth login` takes the key from --api-key-file too (permissions checked first).
    env.run(&["--api-key-file", &kfs, "auth", "login"]).code(3);
    write_mode(&kf, env.key(), 0o600);
    let j = env
        .run(&["--api-key-file", &kfs, "auth", "login", "--json"])
        .json();
    assert_eq!(j["stored_in"], "keyring");

    // `-` reads stdin.
    let st = env
        .run_stdin(
            &["--api-key-file", "-", "auth", "status", "--json"],
            env.key(),
        )
        .json();
    assert_eq!(st["source"], "stdin");

    env.env
        .push(("FICHIER_API_KEY".into(), env.key().to_owned()));
    let st = env.run(&["auth", "status", "--json"]).json();
    assert_eq!(st["source"], "env");
    // logout cannot remove an environment key and says so.
    let out = env.run(&["auth", "logout"]);
    out.ok();
    assert!(out.stderr.contains("FICHIER_API_KEY"), "{}", out.stderr);
}

#[test]
fn login_refuses_bad_keys_and_stores_nothing() {
    let env = Env::new();
    // Malformed: a space inside.
    let out = env.run_stdin(&["auth", "login"], "abcd efgh");
    out.code(3);
    assert!(out.stderr.contains("position 5"), "{}", out.stderr);
    // Well-formed but unknown to the service.
    let fake = fichier_testkit::fake_key();
    let out = env.run_stdin(&["auth", "login"], &fake);
    out.code(3);
    assert!(!out.stderr.contains(&fake));
    assert!(out.stderr.contains("not stored"), "{}", out.stderr);
    assert!(!env.config_dir().join("mock-keyring.json").exists());
    assert!(!env.config_dir().join("credentials.toml").exists());
}

#[test]
fn sandbox_has_no_login() {
    let env = Env::new();
    env.run_stdin(&["--sandbox", "auth", "login"], env.key())
        .code(2);
    let st = env.run(&["--sandbox", "auth", "status", "--json"]).json();
    assert_eq!(st["source"], "sandbox");
    assert_eq!(st["offer"], "premium");
}

/// With the real pacer, `user/info` is allowed once per 5 minutes per key across processes:
/// the pacer's shared state file carries the last answer, so later processes inside the window
/// (status, login, account) show it without a second call to the service.
#[test]
fn account_query_window_across_processes() {
    let mut env = Env::logged_in();
    env.env.push(("FICHIER_TEST_PACER".into(), "0".into()));
    let before = env.calls("user/info");
    env.run(&["auth", "status"]).ok();
    let out = env.run(&["auth", "status"]);
    assert!(out.ok().contains("owner@example.com"), "{}", out.stdout);
    let out = env.run_stdin(&["auth", "login", "--json"], env.key());
    assert_eq!(out.json()["email"], "owner@example.com");
    let out = env.run(&["account"]);
    assert!(out.ok().contains("Premium"), "{}", out.stdout);
    assert!(
        env.calls("user/info") - before <= 1,
        "one user/info call per 5 minutes across processes"
    );
}

/// `account` inside the window shows the shared answer, identical to the first one.
#[test]
fn account_is_cached_across_processes() {
    let mut env = Env::logged_in();
    env.env.push(("FICHIER_TEST_PACER".into(), "0".into()));
    let before = env.calls("user/info");
    let first = env.run(&["account", "--json"]).json();
    let out = env.run(&["account", "--json"]);
    assert_eq!(out.json(), first);
    assert!(
        out.stderr.is_empty(),
        "--json keeps stderr quiet: {}",
        out.stderr
    );
    let out = env.run(&["account"]);
    assert!(out.ok().contains("Premium"), "{}", out.stdout);
    assert_eq!(env.calls("user/info") - before, 1);
}
