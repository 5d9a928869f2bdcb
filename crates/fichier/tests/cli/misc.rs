//! Help, completions, man page, account, the sandbox, the config file and output switches.

use crate::harness::Env;

#[test]
fn help_completions_man() {
    let env = Env::new();
    let help = env.run(&["--help"]);
    let text = help.ok();
    for word in ["auth", "ls", "remote", "--sandbox", "--json", "Exit codes"] {
        assert!(text.contains(word), "--help lacks {word}");
    }
    // The help is the reference: any change to it shows up in review.
    crate::harness::snapshot_settings(&env).bind(|| {
        insta::assert_snapshot!("help", text);
        insta::assert_snapshot!("help_share", env.run(&["share", "--help"]).ok());
    });
    // Usage errors exit 2 (clap's convention, documented).
    env.run(&["ls", "--nope"]).code(2);
    env.run(&["mv", "/only-one"]).code(2);
    for shell in ["bash", "zsh", "fish"] {
        let out = env.run(&["completions", shell]);
        assert!(out.ok().contains("fichier"), "{shell}");
        assert!(out.stdout.len() > 1000, "{shell} completion too short");
    }
    let man = env.run(&["man"]);
    assert!(
        man.ok().starts_with(".ie") || man.stdout.contains(".TH"),
        "not roff"
    );
    assert!(
        man.stdout.contains("FICHIER REMOTE"),
        "subcommands missing from the man page"
    );
}

#[test]
fn account_json_schema() {
    let env = Env::logged_in();
    let j = env.run(&["account", "--json"]).json();
    assert_eq!(j["email"], "owner@example.com");
    assert_eq!(j["offer"], "premium");
    for k in ["hot_used", "cold_used", "cold_allowed", "available"] {
        assert!(j["storage"].get(k).is_some(), "storage.{k} missing");
    }
    for k in [
        "cdn_credits_gb",
        "subscription_end",
        "overquota",
        "upload_forbidden",
    ] {
        assert!(j.get(k).is_some(), "{k} missing");
    }
    let human = env.run(&["account"]);
    assert!(human.ok().contains("offer:") && human.stdout.contains("Premium"));
}

#[test]
fn sandbox_works_offline_and_keeps_state() {
    let mut env = Env::new();
    // No API URL and no key: the sandbox needs neither.
    env.env.push((
        "FICHIER_API_URL".into(),
        "https://unused.invalid/v1/".into(),
    ));
    env.run(&["--sandbox", "mkdir", "-p", "/Backups/2026"]).ok();
    let out = env.run(&["--sandbox", "ls", "-R"]);
    assert_eq!(
        out.ok(),
        "/:\nBackups/\n\n/Backups:\n2026/\n\n/Backups/2026:\n"
    );
    // FICHIER_SANDBOX=1 is the same as --sandbox; state survives between runs.
    env.env.push(("FICHIER_SANDBOX".into(), "1".into()));
    let j = env.run(&["info", "/Backups/2026", "--json"]).json();
    assert_eq!(j["type"], "folder");
    assert!(env.root().join("data/fichier/sandbox").is_dir());
    let acct = env.run(&["account", "--json"]).json();
    assert_eq!(acct["offer"], "premium");
}

#[test]
fn config_file_and_output_switches() {
    let env = Env::logged_in();
    // A config file pointing at a dead URL is overridden by the environment (flags > env > config).
    let cfg = env.root().join("config/fichier/config.toml");
    let closed = fichier_testkit::ClosedPort::new();
    let dead = closed.api_url();
    std::fs::write(&cfg, format!("api_url = \"{dead}\"\nmin_gap_ms = 100\n")).unwrap();
    env.run(&["ls"]).ok();
    // A flag beats the environment: a dead --api-url fails although FICHIER_API_URL works.
    env.run(&["--api-url", &dead, "ls"]).code(2);
    // Unknown keys are errors.
    std::fs::write(&cfg, "api_ulr = \"x\"\n").unwrap();
    let out = env.run(&["ls"]);
    out.code(2);
    assert!(out.stderr.contains("invalid config file"), "{}", out.stderr);
    // --config picks another file; a missing explicit file is an error.
    let other = env.root().join("other.toml");
    std::fs::write(&other, "progress = false\n").unwrap();
    env.run(&["--config", &other.display().to_string(), "ls"])
        .ok();
    env.run(&["--config", "/nonexistent/fichier.toml", "ls"])
        .code(2);
    std::fs::remove_file(&cfg).unwrap();

    // Status lines go to stderr, never stdout; -q silences them; --json keeps stdout pure JSON.
    let out = env.run(&["mkdir", "/q"]);
    assert!(out.ok().is_empty());
    assert!(out.stderr.contains("Created /q"));
    let out = env.run(&["-q", "mkdir", "/q2"]);
    assert!(out.ok().is_empty() && out.stderr.is_empty());
    let out = env.run(&["mkdir", "/q3", "--json"]);
    out.json();
    assert!(out.stderr.is_empty());
    // -v says where the key came from (never the key).
    let out = env.run(&["-v", "ls"]);
    assert!(
        out.stderr.contains("using the API key from the OS keyring"),
        "{}",
        out.stderr
    );
    env.run(&["-q", "-v", "ls"]).code(2);
}

fn keys(v: &serde_json::Value) -> Vec<&str> {
    let mut k: Vec<&str> = v.as_object().unwrap().keys().map(String::as_str).collect();
    k.sort_unstable();
    k
}

/// The documented JSON schemas (docs/cli.md): fields may be added, never renamed or dropped.
#[test]
fn json_schemas_are_stable() {
    let env = Env::logged_in();
    env.run(&["mkdir", "/d"]).ok();
    env.upload("f.txt", b"f", 0);
    let ls = env.run(&["ls", "--json"]).json();
    assert_eq!(keys(&ls), ["entries", "folder_id", "path", "recursive"]);
    let folder = &ls["entries"][0];
    assert_eq!(
        keys(folder),
        ["created", "id", "name", "password", "path", "type"]
    );
    let file = &ls["entries"][1];
    assert_eq!(
        keys(file),
        [
            "acl",
            "cdn",
            "checksum",
            "content_type",
            "date",
            "link",
            "name",
            "password",
            "path",
            "size",
            "type"
        ]
    );
    let info = env.run(&["info", "/f.txt", "--json"]).json();
    assert_eq!(
        keys(&info),
        [
            "acl",
            "cdn",
            "checksum",
            "content_type",
            "date",
            "description",
            "folder_id",
            "inline",
            "link",
            "name",
            "no_ssl",
            "password",
            "path",
            "size",
            "type"
        ]
    );
    let finfo = env.run(&["info", "/d", "--json"]).json();
    assert_eq!(
        keys(&finfo),
        [
            "created",
            "files",
            "id",
            "name",
            "password",
            "path",
            "public_url",
            "shares",
            "size",
            "sub_folders",
            "type"
        ]
    );
    let acct = env.run(&["account", "--json"]).json();
    assert_eq!(
        keys(&acct),
        [
            "cdn_credits_gb",
            "email",
            "offer",
            "overquota",
            "stats_date",
            "storage",
            "subscription_end",
            "upload_forbidden"
        ]
    );
    let st = env.run(&["auth", "status", "--json"]).json();
    assert_eq!(
        keys(&st),
        ["email", "key", "offer", "path", "source", "source_detail"]
    );
    let mk = env.run(&["mkdir", "/e", "--json"]).json();
    assert_eq!(keys(&mk["folders"][0]), ["created", "id", "path"]);
    let link = env.run(&["link", "/f.txt", "--json"]).json();
    assert_eq!(keys(&link["links"][0]), ["link", "path"]);
    let rl = env.run(&["remote", "ls", "--json"]).json();
    assert_eq!(keys(&rl), ["jobs"]);
    // Dates are RFC 3339 UTC.
    assert!(
        file["date"].as_str().unwrap().ends_with('Z'),
        "{}",
        file["date"]
    );
    // Boolean environment switches accept 1/0.
    let mut env = env;
    env.env.push(("FICHIER_NO_PROGRESS".into(), "1".into()));
    env.env.push(("FICHIER_SANDBOX".into(), "0".into()));
    env.run(&["ls"]).ok();
}
