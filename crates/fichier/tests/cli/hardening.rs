//! Hostile input and faults: a key typed in the wrong place never comes back in full, remote
//! names and server messages cannot drive the terminal, every command reports a flood lock
//! with exit 4 and the retry time, key files and stores say precisely what is wrong with them,
//! and `auth rotate` does not switch accounts silently.

use fichier_testkit::{Fault, FaultPlan, TEST_EMAIL};

use crate::harness::{Env, Out, write_mode};

/// The masked form every message must use instead of the key (`ab…yz`).
fn masked(key: &str) -> String {
    format!("{}…{}", &key[..2], &key[key.len() - 2..])
}

/// Asserts that `key` appears nowhere in the run's output (without printing the output, which
/// would put the key in the test log).
#[track_caller]
fn never_in_full(out: &Out, key: &str) {
    assert!(!out.stdout.contains(key), "the key reached stdout");
    assert!(!out.stderr.contains(key), "the key reached stderr");
}

/// True when `text` holds a control character other than the newlines separating records.
fn has_control(text: &str) -> bool {
    text.chars().any(|c| c.is_control() && c != '\n')
}

#[test]
fn key_given_as_an_argument_is_masked_in_usage_errors() {
    let env = Env::new();
    let key = fichier_testkit::fake_key();
    for args in [
        vec!["auth", "login", key.as_str()],
        vec!["auth", "rotate", key.as_str()],
        vec!["auth", "status", "--api-key", key.as_str()],
    ] {
        let out = env.run(&args);
        out.code(2);
        never_in_full(&out, &key);
        if args[2] == key {
            // clap's "unexpected argument" quotes it: masked.
            assert!(out.stderr.contains(&masked(&key)), "{}", out.stderr);
        }
        assert!(
            out.stderr
                .contains("never pass the key on the command line"),
            "{}",
            out.stderr
        );
        assert!(out.stderr.contains("fichier auth login"), "{}", out.stderr);
    }
}

#[test]
fn usage_errors_escape_what_the_argument_holds() {
    let env = Env::new();
    let out = env.run(&["\u{1b}]0;owned\u{7}\u{1b}[2J"]);
    out.code(2);
    // clap drops the escape sequences it recognises; whatever is left is escaped.
    assert!(!has_control(&out.stderr), "{:?}", out.stderr);
    let out = env.run(&["ls", "--bogus\u{7}\u{9b}31m"]);
    out.code(2);
    assert!(!has_control(&out.stderr), "{:?}", out.stderr);
}

#[test]
fn key_given_as_a_key_file_path_is_masked() {
    let env = Env::new();
    let key = fichier_testkit::fake_key();
    let out = env.run(&["--api-key-file", &key, "ls"]);
    out.code(3);
    never_in_full(&out, &key);
    assert!(
        out.stderr.contains("cannot read key file"),
        "{}",
        out.stderr
    );
    assert!(out.stderr.contains(&masked(&key)), "{}", out.stderr);
    // A key typed as a path of a command that reaches the service: the not-found error.
    let env = Env::logged_in();
    let out = env.run(&["ls", &format!("/{key}")]);
    out.code(2);
    never_in_full(&out, &key);
}

#[test]
fn key_in_the_config_file_is_masked_and_told_where_keys_belong() {
    let env = Env::new();
    std::fs::create_dir_all(env.config_dir()).unwrap();
    let config = env.config_dir().join("config.toml");
    let key = fichier_testkit::fake_key();
    // The rclone habit: the key itself in the config file.
    for text in [
        format!("api_key = \"{key}\"\n"),
        format!("sandbox = false\napi_key = '{key}'\n"),
    ] {
        write_mode(&config, &text, 0o600);
        let out = env.run(&["ls"]);
        out.code(2);
        never_in_full(&out, &key);
        assert!(
            out.stderr.contains("does not belong in the config file"),
            "{}",
            out.stderr
        );
        for place in ["fichier auth login", "--api-key-file", "FICHIER_API_KEY"] {
            assert!(out.stderr.contains(place), "{}", out.stderr);
        }
    }
    // A bare key line, and key-shaped values in fields of every type.
    for text in [
        format!("{key}\n"),
        format!("sandbox = \"{key}\"\n"),
        format!("min_gap_ms = \"{key}\"\n"),
        format!("progress = true\n{key} = 1\n"),
    ] {
        write_mode(&config, &text, 0o600);
        let out = env.run(&["ls"]);
        out.code(2);
        never_in_full(&out, &key);
        assert!(out.stderr.contains("fichier auth login"), "{}", out.stderr);
    }
    // A key-shaped key file name in the config: the error names it masked.
    write_mode(
        &config,
        &format!("api_key_file = \"/nonexistent/{key}\"\n"),
        0o600,
    );
    let out = env.run(&["ls"]);
    out.code(3);
    never_in_full(&out, &key);
    assert!(out.stderr.contains(&masked(&key)), "{}", out.stderr);
}

#[test]
fn key_file_that_is_not_a_regular_file_is_named_so_without_a_chmod_hint() {
    let env = Env::new();
    let dir = env.root().join("keys");
    std::fs::create_dir_all(&dir).unwrap();
    let fifo = env.root().join("key.fifo");
    let made = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .expect("mkfifo (coreutils) runs");
    assert!(made.success());
    for (path, what) in [
        ("/dev/null", "not a regular file"),
        (dir.to_str().unwrap(), "a directory"),
        // A fifo would block a read: it is refused before any read.
        (fifo.to_str().unwrap(), "not a regular file"),
    ] {
        let out = env.run(&["--api-key-file", path, "ls"]);
        out.code(3);
        assert!(out.stderr.contains(what), "{}", out.stderr);
        assert!(!out.stderr.contains("chmod"), "{}", out.stderr);
    }
}

#[cfg(unix)]
#[test]
fn open_credentials_directory_is_warned_even_when_the_file_is_private() {
    use std::os::unix::fs::PermissionsExt as _;
    let env = Env::logged_in_to_file();
    let dir = env.config_dir();
    let file = dir.join("credentials.toml");
    let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&file), 0o600);
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).unwrap();
    let out = env.run(&["ls"]);
    out.ok();
    assert!(
        out.stderr
            .contains("is accessible by other users (mode 755)"),
        "{}",
        out.stderr
    );
    assert!(out.stderr.contains("chmod 700"), "{}", out.stderr);
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700)).unwrap();
    let out = env.run(&["ls"]);
    out.ok();
    assert!(!out.stderr.contains("accessible"), "{}", out.stderr);
}

#[test]
fn flood_lock_exits_4_with_the_retry_time_for_every_command() {
    let env = Env::logged_in();
    env.run(&["mkdir", "/F"]).ok();
    env.upload("a.txt", b"a", 0);
    env.emu
        .emu
        .set_fault_plan(FaultPlan::new().rule("*", 1, 100_000, Fault::flood()));
    for args in [
        vec!["ls", "-l"],
        vec!["info", "/a.txt"],
        vec!["mv", "/a.txt", "/F"],
        vec!["cp", "/a.txt", "/F"],
        vec!["rename", "/a.txt", "b.txt"],
        vec!["rm", "-f", "/a.txt"],
        vec!["mkdir", "/N"],
        vec!["link", "/a.txt"],
        vec!["attr", "/a.txt", "--inline", "on"],
        vec!["share", "/F", "--public"],
        vec!["remote", "ls"],
        vec!["account"],
        vec!["auth", "status"],
    ] {
        let out = env.run(&args);
        assert_eq!(out.code, 4, "{args:?}: {}", out.stderr);
        assert!(out.stderr.contains("retry in"), "{args:?}: {}", out.stderr);
    }
}

#[test]
fn http_410_without_a_message_names_no_empty_endpoint_and_gives_a_hint() {
    let env = Env::logged_in();
    env.emu.emu.set_fault_plan(FaultPlan::new().rule(
        "*",
        1,
        100_000,
        Fault::Status {
            status: 410,
            body: Some(String::new()),
        },
    ));
    let out = env.run(&["ls"]);
    out.code(2);
    assert!(!out.stderr.contains("from :"), "{}", out.stderr);
    assert!(out.stderr.contains("\nhint: "), "{}", out.stderr);
}

#[test]
fn hostile_names_and_server_messages_are_escaped_in_human_output() {
    let env = Env::logged_in();
    let red = "\u{1b}[31mRED\u{1b}]0;PWNED\u{7}\u{1b}[2J.txt";
    let two = "two\nlines\r.txt";
    let dir = "D\u{1b}[1mir\u{9b}";
    env.run(&["mkdir", "/Dplain"]).ok();
    env.upload("red.txt", b"r", 0);
    let inner = env.folder_id("/Dplain");
    env.upload("two.txt", b"2", inner);
    assert_eq!(env.emu.force_name("red.txt", red), 1);
    assert_eq!(env.emu.force_name("two.txt", two), 1);
    assert_eq!(env.emu.force_name("Dplain", dir), 1);
    let shown_red = "\\e[31mRED\\e]0;PWNED\\a\\e[2J.txt";
    let shown_two = "two\\nlines\\r.txt";
    let shown_dir = "D\\e[1mir\\u{9b}";

    for args in [
        vec!["ls"],
        vec!["ls", "-l"],
        vec!["ls", "-R"],
        vec!["ls", "-lR"],
    ] {
        let out = env.run(&args);
        let stdout = out.ok();
        assert!(!has_control(stdout), "{args:?}: {stdout:?}");
        assert!(!has_control(&out.stderr), "{args:?}: {:?}", out.stderr);
        assert!(stdout.contains(shown_red), "{args:?}: {stdout}");
        assert!(stdout.contains(shown_dir), "{args:?}: {stdout}");
        if args.contains(&"-R") || args.contains(&"-lR") {
            assert!(stdout.contains(shown_two), "{args:?}: {stdout}");
            // One record per line: the name with a newline is one line.
            assert!(
                stdout.lines().any(|l| l.contains(shown_two)),
                "{args:?}: {stdout}"
            );
        }
    }
    // JSON stays exact.
    let j = env.run(&["ls", "-R", "--json"]).json();
    let names: Vec<&str> = j["entries"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| e["name"].as_str())
        .collect();
    for raw in [red, two, dir] {
        assert!(names.contains(&raw), "{names:?}");
    }
    // info, human and JSON.
    let path = format!("/{red}");
    let out = env.run(&["info", &path]);
    assert!(!has_control(out.ok()), "{:?}", out.stdout);
    assert!(out.stdout.contains(shown_red), "{}", out.stdout);
    assert_eq!(env.run(&["info", &path, "--json"]).json()["name"], red);
    // Error lines quote the name escaped.
    let out = env.run(&["ls", &format!("/{dir}/{two}/nothing")]);
    out.code(2);
    assert!(!has_control(&out.stderr), "{:?}", out.stderr);
    // A server message holding ESC and BEL (through the fault plan).
    env.emu.emu.set_fault_plan(FaultPlan::new().rule(
        "*",
        1,
        100_000,
        Fault::ko("Denied \u{1b}]0;owned\u{7}\u{1b}[2J now"),
    ));
    let out = env.run(&["ls"]);
    assert_ne!(out.code, 0);
    // clap drops the escape sequences it recognises; whatever is left is escaped.
    assert!(!has_control(&out.stderr), "{:?}", out.stderr);
    let out = env.run(&["ls", "--bogus\u{7}\u{9b}31m"]);
    out.code(2);
    assert!(!has_control(&out.stderr), "{:?}", out.stderr);
}

#[test]
fn rotate_to_another_account_is_refused_without_force_when_not_a_terminal() {
    let env = Env::logged_in();
    let other = env.second_account_key();
    let out = env.run_stdin(&["auth", "rotate"], &other);
    never_in_full(&out, &other);
    out.code(2);
    assert!(out.stderr.contains("another account"), "{}", out.stderr);
    assert!(out.stderr.contains("second@example.com"), "{}", out.stderr);
    assert!(out.stderr.contains(TEST_EMAIL), "{}", out.stderr);
    assert!(out.stderr.contains("--force"), "{}", out.stderr);
    assert!(out.stderr.contains("nothing was stored"), "{}", out.stderr);
    let keyring = std::fs::read_to_string(env.config_dir().join("mock-keyring.json")).unwrap();
    assert!(keyring.contains(env.key()) && !keyring.contains(&other));

    let out = env.run_stdin(&["auth", "rotate", "--force", "--json"], &other);
    never_in_full(&out, &other);
    let j = out.json();
    assert_eq!(j["account_changed"], true);
    assert_eq!(j["email"], "second@example.com");
    assert!(out.stderr.contains("another account"), "{}", out.stderr);
    let keyring = std::fs::read_to_string(env.config_dir().join("mock-keyring.json")).unwrap();
    assert!(keyring.contains(&other));
}

#[test]
fn rotate_to_another_account_asks_on_a_terminal() {
    let env = Env::logged_in();
    let other = env.second_account_key();
    let key_file = env.root().join("new.key");
    write_mode(&key_file, &other, 0o600);
    let file = key_file.to_str().unwrap();
    let out = env.run_pty(&["--api-key-file", file, "auth", "rotate"], "n\n");
    assert!(!out.stdout.contains(&other), "the key reached the terminal");
    assert_eq!(out.code, 2, "{}", out.stdout);
    assert!(
        out.stdout.contains("Replace the stored key? [y/N]"),
        "{}",
        out.stdout
    );
    let keyring = std::fs::read_to_string(env.config_dir().join("mock-keyring.json")).unwrap();
    assert!(!keyring.contains(&other));
    let out = env.run_pty(&["--api-key-file", file, "auth", "rotate"], "y\n");
    assert!(!out.stdout.contains(&other), "the key reached the terminal");
    assert_eq!(out.code, 0, "{}", out.stdout);
    let keyring = std::fs::read_to_string(env.config_dir().join("mock-keyring.json")).unwrap();
    assert!(keyring.contains(&other));
}

/// `--config` names the config file for every command, `auth rotate` included: a key file
/// named there is the key in use and is not replaced.
#[test]
fn rotate_honours_the_config_flag() {
    let env = Env::logged_in();
    let new = env.emu.emu.regenerate_key(TEST_EMAIL).unwrap();
    let key_file = env.root().join("key.txt");
    write_mode(&key_file, &new, 0o600);
    let config = env.root().join("elsewhere.toml");
    write_mode(
        &config,
        &format!("api_key_file = {:?}\n", key_file.display().to_string()),
        0o600,
    );
    let out = env.run(&["--config", config.to_str().unwrap(), "auth", "rotate"]);
    never_in_full(&out, &new);
    out.code(2);
    assert!(out.stderr.contains("key file"), "{}", out.stderr);
    assert!(out.stderr.contains("nothing was stored"), "{}", out.stderr);
    let keyring = std::fs::read_to_string(env.config_dir().join("mock-keyring.json")).unwrap();
    assert!(!keyring.contains(&new));
}
