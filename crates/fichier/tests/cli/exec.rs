//! `fichier exec`: the child sees the key under each asked name and nowhere else, never in
//! its command line; exit codes and signals pass through; no key means exit 3 and no child.
//! Children print a SHA-256 of what they see, never the key (the harness checks every run's
//! output for the key itself).

use sha2::Digest as _;

use crate::harness::{Env, output};

fn sha256_hex(s: &str) -> String {
    hex(&sha2::Sha256::digest(s.as_bytes()))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// A shell snippet printing `NAME=<sha256 of its value>` or `NAME=unset`.
fn digest_of(name: &str) -> String {
    format!(
        "if [ -n \"${{{name}+x}}\" ]; then printf '{name}=%s\\n' \"$(printf %s \"${name}\" | sha256sum | cut -d' ' -f1)\"; else echo {name}=unset; fi; "
    )
}

fn seen(stdout: &str, name: &str) -> String {
    stdout
        .lines()
        .find_map(|l| l.strip_prefix(&format!("{name}=")))
        .unwrap_or_else(|| panic!("{name} not reported in {stdout:?}"))
        .to_owned()
}

#[test]
fn the_child_sees_the_key_under_each_asked_name_only() {
    let env = Env::logged_in();
    let want = sha256_hex(env.key());
    let script: String = [
        "FICHIER_API_KEY",
        "RCLONE_FICHIER_API_KEY",
        "MY_KEY",
        "OTHER",
    ]
    .iter()
    .map(|n| digest_of(n))
    .collect();

    let out = env.run(&["exec", "--", "sh", "-c", &script]);
    let s = out.ok();
    assert_eq!(seen(s, "FICHIER_API_KEY"), want);
    assert_eq!(seen(s, "RCLONE_FICHIER_API_KEY"), "unset");
    assert_eq!(seen(s, "MY_KEY"), "unset");

    let s = env.run(&["exec", "--rclone", "--", "sh", "-c", &script]);
    let s = s.ok();
    assert_eq!(seen(s, "RCLONE_FICHIER_API_KEY"), want);
    assert_eq!(seen(s, "FICHIER_API_KEY"), "unset");

    let out = env.run(&[
        "exec", "--env", "MY_KEY", "--env", "OTHER", "--", "sh", "-c", &script,
    ]);
    let s = out.ok();
    assert_eq!(seen(s, "MY_KEY"), want);
    assert_eq!(seen(s, "OTHER"), want);
    assert_eq!(seen(s, "FICHIER_API_KEY"), "unset");
    assert_eq!(seen(s, "RCLONE_FICHIER_API_KEY"), "unset");
}

#[test]
fn a_key_from_the_environment_is_moved_not_copied() {
    let mut env = Env::new();
    env.env
        .push(("FICHIER_API_KEY".into(), env.key().to_owned()));
    let script = format!("{}{}", digest_of("FICHIER_API_KEY"), digest_of("MY_KEY"));
    let out = env.run(&["exec", "--env", "MY_KEY", "--", "sh", "-c", &script]);
    let s = out.ok();
    assert_eq!(seen(s, "MY_KEY"), sha256_hex(env.key()));
    assert_eq!(seen(s, "FICHIER_API_KEY"), "unset");
    // Our other settings are passed on, unchanged: a `fichier` run by the child must reach the
    // same API.
    let out = env.run(&["exec", "--", "sh", "-c", "echo \"url=$FICHIER_API_URL\""]);
    assert!(out.ok().contains(&format!("url={}", env.api_url())));
}

#[test]
fn the_key_is_not_in_the_childs_command_line_and_the_child_is_fichier_itself() {
    let env = Env::logged_in();
    let dir = env.root().join("exec-cmdline");
    std::fs::create_dir_all(&dir).unwrap();
    // The child reads its own /proc entries: its command line, and its environment (where the
    // key belongs), reporting the environment only as a yes/no.
    let script = "tr '\\0' ' ' < /proc/$$/cmdline; echo; \
                  if tr '\\0' '\\n' < /proc/$$/environ | grep -qx \"FICHIER_API_KEY=$FICHIER_API_KEY\"; \
                  then echo environ=has-key; fi; echo pid=$$";
    let mut c = env.command(&["exec", "--", "sh", "-c", script, "arg-one"]);
    c.stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    let child = c.spawn().unwrap();
    let fichier_pid = child.id();
    let out = child.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}");
    assert!(!stdout.contains(env.key()), "the key leaked");
    let cmdline = stdout.lines().next().unwrap();
    assert!(
        cmdline.starts_with("sh -c ") && cmdline.contains("arg-one"),
        "{cmdline}"
    );
    assert!(stdout.contains("environ=has-key"), "{stdout}");
    // Replaced, not spawned: the child has fichier's pid, so signals sent to fichier reach it.
    assert!(
        stdout.contains(&format!("pid={fichier_pid}\n")),
        "{stdout} vs {fichier_pid}"
    );
}

#[test]
fn exit_codes_and_signals_pass_through() {
    let env = Env::logged_in();
    for code in [0, 3, 42] {
        let out = env.run(&["exec", "--", "sh", "-c", &format!("echo ran; exit {code}")]);
        out.code(code);
        assert_eq!(out.stdout, "ran\n");
        assert_eq!(out.stderr, "", "fichier adds nothing to the child's output");
    }
    #[cfg(unix)]
    {
        use std::os::unix::process::ExitStatusExt as _;
        let status = env
            .command(&["exec", "--", "sh", "-c", "kill -TERM $$"])
            .status()
            .unwrap();
        assert_eq!(status.signal(), Some(15), "{status:?}");
    }
}

#[test]
fn no_key_exits_3_and_runs_nothing() {
    let env = Env::new();
    let marker = env.root().join("child-ran");
    let out = env.run(&["exec", "--", "touch", marker.to_str().unwrap()]);
    out.code(3);
    assert!(
        out.stderr.contains("no API key configured"),
        "{}",
        out.stderr
    );
    assert!(!marker.exists(), "the child ran without a key");

    // A malformed key is an auth problem too.
    let mut env = env;
    env.env
        .push(("FICHIER_API_KEY".into(), "not a key!".into()));
    env.run(&["exec", "--", "touch", marker.to_str().unwrap()])
        .code(3);
    assert!(!marker.exists());
}

#[test]
fn bad_names_and_programs_are_refused_clearly() {
    let env = Env::logged_in();
    let marker = env.root().join("child-ran");
    let m = marker.to_str().unwrap();
    for bad in ["1KEY", "MY-KEY", "A=B", "", "PATH", "LD_PRELOAD"] {
        let out = env.run(&["exec", "--env", bad, "--", "touch", m]);
        out.code(2);
        assert!(out.stderr.contains("--env"), "{bad:?}: {}", out.stderr);
        assert!(!marker.exists());
    }
    let out = env.run(&["exec", "--", "no-such-program-here"]);
    out.code(127);
    assert!(
        out.stderr
            .contains("no-such-program-here: command not found"),
        "{}",
        out.stderr
    );
    let not_exec = env.root().join("script.sh");
    std::fs::write(&not_exec, "#!/bin/sh\necho hi\n").unwrap();
    let out = env.run(&["exec", "--", not_exec.to_str().unwrap()]);
    out.code(126);
    assert!(out.stderr.contains("cannot be run"), "{}", out.stderr);
    // No command at all is a usage error.
    env.run(&["exec"]).code(2);
    // The sandbox's key lives in this process: refused rather than handed out dead.
    env.run(&["--sandbox", "exec", "--", "true"]).code(2);
}

#[test]
fn verbose_logs_name_the_source_never_the_key() {
    let env = Env::logged_in();
    let out = output(env.command(&["-vv", "exec", "--", "true"]), "");
    out.assert_hides(env.key(), &["-vv", "exec"]);
    assert_eq!(out.code, 0);
    assert!(out.stderr.contains("keyring"), "{}", out.stderr);
}

#[test]
fn a_key_file_or_stdin_source_works_and_stdin_is_read_whole_first() {
    let env = Env::new();
    let file = env.root().join("key");
    crate::harness::write_mode(&file, &format!("{}\n", env.key()), 0o600);
    let script = digest_of("FICHIER_API_KEY");
    let out = env.run(&[
        "--api-key-file",
        file.to_str().unwrap(),
        "exec",
        "--",
        "sh",
        "-c",
        &script,
    ]);
    assert_eq!(seen(out.ok(), "FICHIER_API_KEY"), sha256_hex(env.key()));
    // A key file others can read is refused as for every command: no child.
    crate::harness::write_mode(&file, &format!("{}\n", env.key()), 0o644);
    env.run(&[
        "--api-key-file",
        file.to_str().unwrap(),
        "exec",
        "--",
        "true",
    ])
    .code(3);
    // `-`: standard input is the key, read whole before the child starts (which then reads
    // an empty input).
    let out = env.run_stdin(
        &[
            "--api-key-file",
            "-",
            "exec",
            "--",
            "sh",
            "-c",
            &format!("{script} cat; echo end"),
        ],
        &format!("{}\n", env.key()),
    );
    let s = out.ok();
    assert_eq!(seen(s, "FICHIER_API_KEY"), sha256_hex(env.key()));
    assert!(s.ends_with("\nend\n"), "{s}");
}

/// `--env PYTHONHOME` made Python print the key, `--env https_proxy` made curl print it: names
/// a program reads when it starts are refused, and so is the key typed where the name goes,
/// without being echoed.
#[test]
fn env_names_read_at_program_start_and_key_shaped_names_are_refused() {
    let env = Env::logged_in();
    let marker = env.root().join("child-ran");
    let m = marker.to_str().unwrap();
    for name in [
        "PYTHONHOME",
        "https_proxy",
        "HTTP_PROXY",
        "NODE_OPTIONS",
        "PERL5OPT",
        "RUBYOPT",
        "GIT_SSH_COMMAND",
        "GCONV_PATH",
        "GLIBC_TUNABLES",
        "PS4",
        "SHELLOPTS",
        "PROMPT_COMMAND",
        "FICHIER_API_URL",
    ] {
        let out = env.run(&["exec", "--env", name, "--", "touch", m]);
        out.code(2);
        assert!(out.stderr.contains(name), "{name}: {}", out.stderr);
        assert!(!marker.exists(), "{name}: the child ran");
    }
    // A key typed in place of the name: refused, and not shown.
    let typed = fichier_testkit::fake_key();
    let out = env.run(&["exec", "--env", &typed, "--", "touch", m]);
    out.assert_hides(&typed, &["exec", "--env"]);
    out.code(2);
    assert!(
        out.stderr.contains("shaped like an API key"),
        "{}",
        out.stderr
    );
    assert!(!marker.exists());
}

/// The edge cases of starting CMD each get their own message: a missing `#!` interpreter is
/// named, a `.env` line or a huge file is not taken as a key, a damaged keyring store is
/// named, and a missing CMD shows a plain usage line.
#[test]
fn exec_names_what_kept_the_program_from_starting() {
    let env = Env::logged_in();
    // A script whose interpreter does not exist: named, not "command not found".
    let script = env.root().join("job.sh");
    std::fs::write(&script, "#!/no/such/interpreter -x\necho hi\n").unwrap();
    let mut perms = std::fs::metadata(&script).unwrap().permissions();
    std::os::unix::fs::PermissionsExt::set_mode(&mut perms, 0o755);
    std::fs::set_permissions(&script, perms).unwrap();
    let out = env.run(&["exec", "--", script.to_str().unwrap()]);
    out.code(127);
    assert!(
        out.stderr.contains("interpreter /no/such/interpreter"),
        "{}",
        out.stderr
    );

    // No CMD: a usage error whose usage line lists no settings from the environment.
    let out = env.run(&["exec"]);
    out.code(2);
    assert!(out.stderr.contains("no command to run"), "{}", out.stderr);
    assert!(!out.stderr.contains("--api-url"), "{}", out.stderr);

    // A key file holding a .env line: refused at its line, the key never shown.
    let dotenv = env.root().join("dotenv.key");
    crate::harness::write_mode(&dotenv, &format!("FICHIER_API_KEY={}\n", env.key()), 0o600);
    let marker = env.root().join("child-ran");
    let m = marker.to_str().unwrap();
    let out = env.run(&[
        "--api-key-file",
        dotenv.to_str().unwrap(),
        "exec",
        "--",
        "touch",
        m,
    ]);
    out.code(3);
    assert!(out.stderr.contains("line 1"), "{}", out.stderr);
    assert!(out.stderr.contains("FICHIER_API_KEY"), "{}", out.stderr);
    assert!(!marker.exists());

    // A huge key file: refused without being read whole.
    let huge = env.root().join("huge.key");
    crate::harness::write_mode(&huge, &"A".repeat(10 << 20), 0o600);
    let out = env.run(&[
        "--api-key-file",
        huge.to_str().unwrap(),
        "exec",
        "--",
        "touch",
        m,
    ]);
    out.code(3);
    assert!(
        out.stderr.contains("more than 4096 bytes"),
        "{}",
        out.stderr
    );
    assert!(!marker.exists());

    // A damaged keyring store is named when it is where the key was.
    let store = env.config_dir().join("mock-keyring.json");
    std::fs::write(&store, "{ not json").unwrap();
    let out = env.run(&["exec", "--", "touch", m]);
    out.code(3);
    assert!(
        out.stderr.contains("mock keyring could not be read"),
        "{}",
        out.stderr
    );
    assert!(!marker.exists());
}

/// E2BIG was reported as "cannot be run … chmod +x": the key under enough names makes CMD's
/// environment too large while fichier's own command line still fits.
#[test]
fn an_oversized_environment_is_named_as_e2big() {
    let env = Env::logged_in();
    let names: Vec<String> = (0..60_000).map(|i| format!("K{i:05}")).collect();
    let mut args: Vec<&str> = vec!["exec"];
    for n in &names {
        args.push("--env");
        args.push(n);
    }
    args.extend(["--", "true"]);
    let out = env.run(&args);
    out.code(126);
    assert!(out.stderr.contains("E2BIG"), "{}", out.stderr);
    assert!(!out.stderr.contains("chmod"), "{}", out.stderr);
}
