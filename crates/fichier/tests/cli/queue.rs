//! `fichier queue add|ls|pause|resume|retry|rm|move|clear|export` and `link --crawljob` end
//! to end: the real binary against the emulator, the queue file on disk (a runner is played
//! through the library's store where a state needs one), duplicates, `--input` lists and
//! `.crawljob` files, folder expansion, bad input, and two processes adding at once.

use std::path::{Path, PathBuf};
use std::process::Stdio;

use fichier_queue::{QueueStore, State};
use serde_json::Value;

use crate::harness::{Env, output};

fn queue_file(env: &Env) -> PathBuf {
    env.root().join("data/fichier/queue.sqlite")
}

fn items(env: &Env) -> Vec<Value> {
    let j = env.run(&["queue", "ls", "--json"]).json();
    j["items"].as_array().unwrap().clone()
}

fn field(items: &[Value], key: &str) -> Vec<String> {
    items
        .iter()
        .map(|i| match &i[key] {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        })
        .collect()
}

fn s(p: &Path) -> String {
    p.display().to_string()
}

/// Seeds `/Movies/a.mkv`, `/Movies/sub/b.mkv` and `/Other/a.mkv` (same name as the first).
fn seed(env: &Env) -> (String, String, String) {
    env.run(&["mkdir", "-p", "/Movies/sub"]).ok();
    env.run(&["mkdir", "-p", "/Other"]).ok();
    let movies = env.folder_id("/Movies");
    let sub = env.folder_id("/Movies/sub");
    let other = env.folder_id("/Other");
    let a = env.upload("a.mkv", &[1u8; 3000], movies);
    let b = env.upload("b.mkv", &[2u8; 5000], sub);
    let c = env.upload("a.mkv", &[3u8; 700], other);
    (a.to_string(), b.to_string(), c.to_string())
}

#[test]
fn add_learns_and_every_edit_command_works() {
    let env = Env::logged_in();
    let (a, b, _) = seed(&env);
    let dl = env.root().join("dl");
    // Any domain, with a tracking suffix: stored in the canonical form.
    let foreign = a.replace("https://1fichier.com/", "http://www.megadl.fr/") + "&af=42";
    let out = env.run(&[
        "queue",
        "add",
        &foreign,
        &b,
        "--to",
        &s(&dl),
        "--package",
        "P",
        "--json",
    ]);
    let j = out.ok();
    let j: Value = serde_json::from_str(j).unwrap();
    assert_eq!(j["added"].as_array().unwrap().len(), 2, "{j}");
    let first = &j["added"][0]["item"];
    assert_eq!(first["source"], a.as_str());
    assert_eq!(first["name"], "a.mkv");
    assert_eq!(first["size"], 3000);
    let info = env.run(&["info", "/Movies/a.mkv", "--json"]).json();
    assert_eq!(
        first["whirlpool"], info["checksum"],
        "whirlpool learned at add time"
    );
    assert_eq!(first["target_dir"], s(&dl).as_str());
    assert_eq!(first["state"], "queued");
    assert_eq!(first["origin"], "cli");

    let list = items(&env);
    assert_eq!(field(&list, "name"), vec!["a.mkv", "b.mkv"]);
    let ids = field(&list, "id");
    let (id1, id2) = (ids[0].clone(), ids[1].clone());

    // Human listing: a header and one row per item.
    let human = env.run(&["queue", "ls"]);
    let text = human.ok();
    assert!(text.starts_with("ID  STATE"), "{text}");
    assert!(text.contains("a.mkv") && text.contains("2.9 KiB"), "{text}");

    // move
    env.run(&["queue", "move", &id2, "--top"]).ok();
    assert_eq!(field(&items(&env), "id"), vec![id2.clone(), id1.clone()]);
    env.run(&["queue", "move", &id2, "--bottom"]).ok();
    assert_eq!(field(&items(&env), "id"), vec![id1.clone(), id2.clone()]);

    // pause / resume by id, package and all
    env.run(&["queue", "pause", &id1]).ok();
    assert_eq!(field(&items(&env), "state"), vec!["paused", "queued"]);
    let j = env.run(&["queue", "resume", "--all", "--json"]).json();
    assert_eq!(j["changed"], 1);
    env.run(&["queue", "pause", "--package", "P"]).ok();
    assert_eq!(field(&items(&env), "state"), vec!["paused", "paused"]);
    env.run(&["queue", "resume", "--package", "P"]).ok();

    // A runner (played through the library) fails one and finishes the other.
    let store = QueueStore::open(&queue_file(&env)).unwrap();
    let lease = std::time::Duration::from_secs(60);
    let x = store.claim_next("test", lease).unwrap().unwrap();
    store
        .set_state(x.id, "test", State::Failed, Some("server busy"), None, true)
        .unwrap();
    let y = store.claim_next("test", lease).unwrap().unwrap();
    store
        .set_state(y.id, "test", State::Downloading, None, None, false)
        .unwrap();
    store
        .set_progress(y.id, "test", 2500, 1000, Some(2))
        .unwrap();
    let list = items(&env);
    assert_eq!(list[0]["reason"], "server busy");
    assert_eq!(list[1]["progress"], 50.0);
    assert_eq!(list[1]["speed_bps"], 1000);
    let text = env.run(&["queue", "ls"]).ok().to_owned();
    assert!(
        text.contains("server busy") && text.contains("50.0%"),
        "{text}"
    );
    store.finish(y.id, "test", &dl.join("b.mkv")).unwrap();

    // retry brings the failed one back; clear --done drops the finished one.
    let j = env.run(&["queue", "retry", "--all", "--json"]).json();
    assert_eq!(j["changed"], 1);
    assert_eq!(field(&items(&env), "state"), vec!["queued", "done"]);
    let j = env.run(&["queue", "clear", "--done", "--json"]).json();
    assert_eq!(j["changed"], 1);
    assert_eq!(field(&items(&env), "id"), vec![id1.clone()]);

    // rm
    env.run(&["queue", "rm", &id1]).ok();
    assert!(items(&env).is_empty());
    let text = env.run(&["queue", "ls"]);
    assert!(
        text.stderr.contains("the queue is empty"),
        "{}",
        text.stderr
    );
}

#[test]
fn the_queue_file_is_private_and_holds_no_key() {
    use std::os::unix::fs::PermissionsExt as _;
    let env = Env::logged_in();
    let (a, _, _) = seed(&env);
    let pw = env.root().join("pw");
    std::fs::write(&pw, "file-pass-42\n").unwrap();
    let out = env.run(&["queue", "add", &a, "--password-file", &s(&pw), "--json"]);
    let j: Value = serde_json::from_str(out.ok()).unwrap();
    assert_eq!(j["added"][0]["item"]["has_password"], true);
    assert!(!out.stdout.contains("file-pass-42"));
    let ls = env.run(&["queue", "ls", "--json"]);
    assert!(!ls.stdout.contains("file-pass-42"));
    let f = queue_file(&env);
    assert_eq!(
        std::fs::metadata(&f).unwrap().permissions().mode() & 0o777,
        0o600
    );
    for p in [f.clone(), f.with_extension("sqlite-wal")] {
        if let Ok(bytes) = std::fs::read(&p) {
            let text = String::from_utf8_lossy(&bytes);
            assert!(
                !text.contains(env.key()),
                "the API key is in {}",
                p.display()
            );
        }
    }
}

#[test]
fn duplicates_are_refused_by_link_and_by_target_path() {
    let env = Env::logged_in();
    let (a, _, c) = seed(&env);
    let dl = env.root().join("dl");
    env.run(&["queue", "add", &a, "--to", &s(&dl)]).ok();

    // The same link again (even on another domain): refused, exit 2, nothing added.
    let again = a.replace("1fichier.com", "alterupload.com");
    let out = env.run(&["queue", "add", &again, "--to", &s(&dl)]);
    out.code(2);
    assert!(
        out.stderr.contains("already queued as item"),
        "{}",
        out.stderr
    );
    assert!(out.stderr.contains("hint: "), "{}", out.stderr);

    // Another file with the same name into the same directory: refused.
    let out = env.run(&["queue", "add", &c, "--to", &s(&dl)]);
    out.code(2);
    assert!(
        out.stderr
            .contains(&format!("already downloads to {}", s(&dl.join("a.mkv")))),
        "{}",
        out.stderr
    );
    // One new and one duplicate: the new one is added, exit 1 (partial).
    let other = env.root().join("other");
    let out = env.run(&["queue", "add", &c, &a, "--to", &s(&other), "--json"]);
    out.code(1);
    let j = out.json();
    assert_eq!(j["added"].as_array().unwrap().len(), 1);
    assert_eq!(j["duplicates"][0]["source"], a.as_str());
    assert_eq!(items(&env).len(), 2);
}

#[test]
fn own_folders_expand_into_their_files() {
    let env = Env::logged_in();
    seed(&env);
    let dl = env.root().join("dl");
    // Without a trailing slash: the folder itself, into DIR/Movies.
    let j = env
        .run(&["queue", "add", "/Movies", "--to", &s(&dl), "--json"])
        .json();
    let dirs: Vec<_> = j["added"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| (a["item"]["name"].clone(), a["item"]["target_dir"].clone()))
        .collect();
    assert_eq!(
        dirs,
        vec![
            (Value::from("a.mkv"), Value::from(s(&dl.join("Movies")))),
            (Value::from("b.mkv"), Value::from(s(&dl.join("Movies/sub")))),
        ]
    );
    assert!(j["added"][1]["item"]["whirlpool"].as_str().unwrap().len() == 128);
    env.run(&["queue", "rm", "--all"]).ok();
    // With one: its contents, into DIR.
    let j = env
        .run(&["queue", "add", "/Movies/", "--to", &s(&dl), "--json"])
        .json();
    assert_eq!(j["added"][0]["item"]["target_dir"], s(&dl).as_str());
    assert_eq!(
        j["added"][1]["item"]["target_dir"],
        s(&dl.join("sub")).as_str()
    );
    // A single file by path: stored by its link.
    env.run(&["queue", "rm", "--all"]).ok();
    let j = env
        .run(&[
            "queue",
            "add",
            "/Movies/sub/b.mkv",
            "--to",
            &s(&dl),
            "--json",
        ])
        .json();
    assert!(
        j["added"][0]["item"]["source"]
            .as_str()
            .unwrap()
            .starts_with("https://1fichier.com/?")
    );
    // An empty folder and a missing path are errors naming them.
    env.run(&["mkdir", "/Empty"]).ok();
    let out = env.run(&["queue", "add", "/Empty"]);
    out.code(2);
    assert!(out.stderr.contains("/Empty: no files"), "{}", out.stderr);
    let out = env.run(&["queue", "add", "/Nope/x.bin"]);
    out.code(2);
    assert!(
        out.stderr.contains("no such file or folder"),
        "{}",
        out.stderr
    );
}

#[test]
fn shared_folder_links_expand_into_their_files() {
    let env = Env::logged_in();
    seed(&env);
    let url = env
        .run(&["share", "/Movies", "--public"])
        .ok()
        .trim()
        .to_owned();
    let dl = env.root().join("dl");
    let j = env
        .run(&["queue", "add", &url, "--to", &s(&dl), "--json"])
        .json();
    let added = j["added"].as_array().unwrap();
    assert_eq!(added.len(), 1, "{j}");
    assert_eq!(added[0]["item"]["name"], "a.mkv");
    assert_eq!(added[0]["item"]["size"], 3000);
}

#[test]
fn input_lists_and_crawljobs() {
    let env = Env::logged_in();
    let (a, b, c) = seed(&env);
    let dl = env.root().join("dl");
    let list = env.root().join("list.txt");
    std::fs::write(
        &list,
        format!("# my links\n\n  {a}  \n# {b}\n/Movies/sub/b.mkv\n"),
    )
    .unwrap();
    let j = env
        .run(&[
            "queue",
            "add",
            "--input",
            &s(&list),
            "--to",
            &s(&dl),
            "--json",
        ])
        .json();
    assert_eq!(j["added"].as_array().unwrap().len(), 2, "{j}");
    env.run(&["queue", "rm", "--all"]).ok();

    // key=value syntax, two jobs, unknown field warned about, autoStart=FALSE -> paused.
    let job = env.root().join("jobs.crawljob");
    std::fs::write(
        &job,
        format!(
            "text={a}\npackageName=Holiday\ndownloadFolder=sub/dir\npriority=HIGHER\n\
             autoStart=FALSE\nmystery=1\n\ntext={c}\ndownloadFolder=/abs/elsewhere\n"
        ),
    )
    .unwrap();
    let out = env.run(&[
        "queue",
        "add",
        "--input",
        &s(&job),
        "--to",
        &s(&dl),
        "--json",
    ]);
    let j: Value = serde_json::from_str(out.ok()).unwrap();
    assert!(
        out.stderr.contains("unknown field `mystery`"),
        "{}",
        out.stderr
    );
    let list = items(&env);
    assert_eq!(field(&list, "package"), vec!["Holiday", "null"]);
    assert_eq!(field(&list, "state"), vec!["paused", "queued"]);
    assert_eq!(list[0]["priority"], 2);
    assert_eq!(list[0]["target_dir"], s(&dl.join("sub/dir")).as_str());
    assert_eq!(list[1]["target_dir"], "/abs/elsewhere");
    assert_eq!(j["warnings"].as_array().unwrap().len(), 1);
    env.run(&["queue", "rm", "--all"]).ok();

    // JSON syntax.
    let job = env.root().join("jobs2.crawljob");
    std::fs::write(
        &job,
        format!(r#"[{{"text": "{a} {b}", "packageName": "J", "enabled": "TRUE"}}]"#),
    )
    .unwrap();
    env.run(&["queue", "add", "--input", &s(&job), "--to", &s(&dl)])
        .ok();
    assert_eq!(field(&items(&env), "package"), vec!["J", "J"]);

    // Malformed: the error names the file, line and field; nothing is added.
    let bad = env.root().join("bad.crawljob");
    std::fs::write(&bad, format!("text={c}\nenabled=perhaps\n")).unwrap();
    let out = env.run(&["queue", "add", "--input", &s(&bad), "--to", &s(&dl)]);
    out.code(2);
    assert!(
        out.stderr.contains("bad.crawljob: line 2: field `enabled`"),
        "{}",
        out.stderr
    );
    assert_eq!(items(&env).len(), 2, "nothing added, nothing lost");

    // Unreadable input.
    let out = env.run(&[
        "queue",
        "add",
        "--input",
        &s(&env.root().join("missing.txt")),
    ]);
    out.code(2);
    assert!(out.stderr.contains("cannot read") && out.stderr.contains("missing.txt"));
    assert_eq!(items(&env).len(), 2);
}

#[test]
fn bad_input_is_refused_with_a_reason() {
    let env = Env::logged_in();
    let (a, _, _) = seed(&env);
    let out = env.run(&["queue", "add", "https://example.com/?abcde12345"]);
    out.code(2);
    assert!(
        out.stderr.contains("is not a 1fichier link"),
        "{}",
        out.stderr
    );
    let dead = "https://1fichier.com/?zzzzzzzzzz";
    let out = env.run(&["queue", "add", dead]);
    out.code(2);
    assert!(
        out.stderr.contains("no such file on 1fichier"),
        "{}",
        out.stderr
    );
    // --no-check queues it without asking.
    env.run(&["queue", "add", dead, "--no-check"]).ok();
    for cmd in ["pause", "resume", "retry", "rm"] {
        let out = env.run(&["queue", cmd, "999"]);
        out.code(2);
        assert!(
            out.stderr.contains("no queue item 999"),
            "{cmd}: {}",
            out.stderr
        );
    }
    let out = env.run(&["queue", "move", "999", "--top"]);
    out.code(2);
    let out = env.run(&["queue", "pause", "--package", "nope"]);
    out.code(2);
    assert!(
        out.stderr.contains("no queue item is in package"),
        "{}",
        out.stderr
    );
    // Selector flags are exclusive and one is required.
    env.run(&["queue", "pause"]).code(2);
    env.run(&["queue", "pause", "1", "--all"]).code(2);
    let out = env.run(&["queue", "add", &a, "--to", &s(&env.root().join("f.txt"))]);
    out.ok(); // a missing directory is created at download time
    std::fs::write(env.root().join("file"), b"x").unwrap();
    let out = env.run(&["queue", "add", &a, "--to", &s(&env.root().join("file"))]);
    out.code(2);
    assert!(out.stderr.contains("is not a directory"), "{}", out.stderr);
    assert_eq!(items(&env).len(), 2);
}

#[test]
fn without_a_key_links_are_queued_unchecked() {
    let env = Env::new();
    let out = env.run(&["queue", "add", "https://1fichier.com/?abcde12345", "--json"]);
    let j: Value = serde_json::from_str(out.ok()).unwrap();
    assert!(j["added"][0]["item"]["name"].is_null());
    assert!(
        out.stderr.contains("queued without their name"),
        "{}",
        out.stderr
    );
    // A path needs the account: refused, exit 3.
    let out = env.run(&["queue", "add", "/Movies/a.mkv"]);
    out.code(3);
}

#[test]
fn two_processes_adding_at_once_lose_nothing_and_duplicate_nothing() {
    let env = Env::new();
    let links = |from: usize, to: usize| -> Vec<String> {
        (from..to)
            .map(|i| format!("https://1fichier.com/?link{i:06}"))
            .collect()
    };
    // 0..40 and 20..60: 20 links in common.
    let spawn = |ls: Vec<String>| {
        let mut args = vec![
            "queue".to_owned(),
            "add".to_owned(),
            "--no-check".to_owned(),
        ];
        args.extend(ls);
        let refs: Vec<&str> = args.iter().map(String::as_str).collect();
        let mut c = env.command(&refs);
        c.stdout(Stdio::piped()).stderr(Stdio::piped());
        c.spawn().unwrap()
    };
    let p1 = spawn(links(0, 40));
    let p2 = spawn(links(20, 60));
    let o1 = p1.wait_with_output().unwrap();
    let o2 = p2.wait_with_output().unwrap();
    let err = |o: &std::process::Output| String::from_utf8_lossy(&o.stderr).into_owned();
    assert!(!err(&o1).contains("busy") && !err(&o2).contains("busy"));
    let list = items(&env);
    let mut sources = field(&list, "source");
    sources.sort();
    let mut want = links(0, 60);
    want.sort();
    assert_eq!(sources, want, "every link once");
    let dups =
        err(&o1).matches("already queued").count() + err(&o2).matches("already queued").count();
    assert_eq!(dups, 20, "each common link refused exactly once");
}

#[test]
fn export_writes_crawljobs_that_read_back() {
    let env = Env::logged_in();
    let (a, b, _) = seed(&env);
    let dl = env.root().join("dl");
    let pw = env.root().join("pw");
    std::fs::write(&pw, "pw-for-b\n").unwrap();
    env.run(&["queue", "add", &a, "--to", &s(&dl), "--package", "P"])
        .ok();
    env.run(&[
        "queue",
        "add",
        &b,
        "--to",
        &s(&dl),
        "--password-file",
        &s(&pw),
    ])
    .ok();
    env.run(&["queue", "pause", "--package", "P"]).ok();
    let out_dir = env.root().join("jd");
    let j = env
        .run(&["queue", "export", "--crawljob", &s(&out_dir), "--json"])
        .json();
    let files: Vec<String> = j["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["path"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(files.len(), 2, "one file per package: {files:?}");
    {
        use std::os::unix::fs::PermissionsExt as _;
        for f in &files {
            let mode = std::fs::metadata(f).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, 0o600, "{f}");
        }
    }
    let before: Vec<_> = files.iter().map(|f| std::fs::read(f).unwrap()).collect();
    // Again: new names, the first files untouched.
    let j = env
        .run(&["queue", "export", "--crawljob", &s(&out_dir), "--json"])
        .json();
    for f in j["files"].as_array().unwrap() {
        assert!(f["path"].as_str().unwrap().ends_with("-1.crawljob"), "{f}");
    }
    for (f, b) in files.iter().zip(&before) {
        assert_eq!(&std::fs::read(f).unwrap(), b);
    }
    // Read back in a fresh queue: same links, packages, folders, paused state, password.
    let env2 = Env::logged_in();
    for f in &files {
        env2.run(&["queue", "add", "--input", f, "--no-check"]).ok();
    }
    let mut got: Vec<(String, String, String, String, bool)> = items(&env2)
        .iter()
        .map(|i| {
            (
                i["source"].as_str().unwrap().to_owned(),
                i["package"].to_string(),
                i["target_dir"].as_str().unwrap().to_owned(),
                i["state"].as_str().unwrap().to_owned(),
                i["has_password"].as_bool().unwrap(),
            )
        })
        .collect();
    got.sort();
    let mut want = vec![
        (
            a.clone(),
            "\"P\"".to_owned(),
            s(&dl),
            "paused".to_owned(),
            false,
        ),
        (
            b.clone(),
            "null".to_owned(),
            s(&dl),
            "queued".to_owned(),
            true,
        ),
    ];
    want.sort();
    assert_eq!(got, want);
    // Nothing to export is an error.
    env2.run(&["queue", "rm", "--all"]).ok();
    env2.run(&["queue", "export", "--crawljob", &s(&out_dir)])
        .code(2);
}

#[test]
fn link_crawljob_writes_a_remote_folder() {
    let env = Env::logged_in();
    let (a, b, _) = seed(&env);
    let dir = env.root().join("jd");
    let out = env.run(&["link", "/Movies", "--crawljob", &s(&dir)]);
    let path = out.ok().trim().to_owned();
    assert!(path.ends_with("Movies.crawljob"), "{path}");
    let text = std::fs::read_to_string(&path).unwrap();
    let parsed = fichier_queue::crawljob::parse(&text).unwrap();
    let got: Vec<_> = parsed
        .jobs
        .iter()
        .map(|j| (j.text.clone(), j.package_name.clone().unwrap()))
        .collect();
    assert_eq!(
        got,
        vec![(a, "Movies".to_owned()), (b, "Movies/sub".to_owned())]
    );
    // A second run never overwrites.
    let out = env.run(&["link", "/Movies", "--crawljob", &s(&dir)]);
    assert!(out.ok().trim().ends_with("Movies-1.crawljob"));
    // A missing folder: error naming it, exit 2.
    env.run(&["link", "/Nope", "--crawljob", &s(&dir)]).code(2);
}

#[test]
fn stdin_input_and_hostile_names_are_shown_escaped() {
    let env = Env::logged_in();
    env.run(&["mkdir", "/H"]).ok();
    let h = env.folder_id("/H");
    env.upload("h.bin", b"hello", h);
    let hostile = "x\u{1b}[2J<b>/../..\n.bin";
    assert_eq!(env.emu.force_name("h.bin", hostile), 1);
    let dl = env.root().join("dl");
    let out = output(
        env.command(&["queue", "add", "--input", "-", "--to", &s(&dl)]),
        "# from a pipe\n/H/\n",
    );
    out.ok();
    assert!(!out.stdout.contains('\u{1b}'), "{}", out.stdout);
    let ls = env.run(&["queue", "ls"]);
    assert!(!ls.stdout.contains('\u{1b}'), "{}", ls.stdout);
    assert!(
        ls.stdout.contains("\\e[2J<b>/../..\\n.bin"),
        "{}",
        ls.stdout
    );
    // JSON keeps the name as it is; the local file stays inside the directory.
    let list = items(&env);
    assert_eq!(list[0]["name"], hostile);
    assert_eq!(list[0]["target_dir"], s(&dl).as_str());
}

#[test]
fn a_directory_without_room_for_the_known_sizes_is_warned_about() {
    let env = Env::logged_in();
    let (a, _, _) = seed(&env);
    let dl = env.root().join("dl");
    // Something already queued there that no disk can hold (through the library's store).
    let store = QueueStore::open(&queue_file(&env)).unwrap();
    store
        .add(fichier_queue::NewItem {
            source: "https://1fichier.com/?hugehugehuge".into(),
            target_dir: dl.clone(),
            name: Some("huge.iso".into()),
            size: Some(1 << 60),
            origin: "test".into(),
            ..Default::default()
        })
        .unwrap();
    let out = env.run(&["queue", "add", &a, "--to", &s(&dl)]);
    out.ok();
    assert!(
        out.stderr.contains(&format!("in {} but only", s(&dl))),
        "{}",
        out.stderr
    );
    // Elsewhere there is room: no warning.
    let out = env.run(&[
        "queue",
        "add",
        "/Movies/sub/b.mkv",
        "--to",
        &s(&env.root().join("x")),
    ]);
    out.ok();
    assert!(!out.stderr.contains("warning"), "{}", out.stderr);
}

#[test]
fn waiting_items_show_their_reason_and_until_when() {
    let env = Env::new();
    env.run(&[
        "queue",
        "add",
        "--no-check",
        "https://1fichier.com/?abcde12345",
    ])
    .ok();
    let store = QueueStore::open(&queue_file(&env)).unwrap();
    let it = store
        .claim_next("test", std::time::Duration::from_secs(60))
        .unwrap()
        .unwrap();
    let until = jiff::Timestamp::now() + jiff::SignedDuration::from_mins(10);
    store
        .set_state(
            it.id,
            "test",
            State::Waiting,
            Some("flood cooldown"),
            Some(until),
            true,
        )
        .unwrap();
    let text = env.run(&["queue", "ls"]).ok().to_owned();
    assert!(
        text.contains("waiting") && text.contains("flood cooldown; until "),
        "{text}"
    );
    let list = items(&env);
    assert_eq!(list[0]["state"], "waiting");
    let shown: jiff::Timestamp = list[0]["until"].as_str().unwrap().parse().unwrap();
    assert_eq!(shown.as_second(), until.as_second());
}

#[test]
fn a_damaged_queue_file_is_reported_and_left_alone() {
    let env = Env::new();
    let f = queue_file(&env);
    std::fs::create_dir_all(f.parent().unwrap()).unwrap();
    let junk = "this is not a database, but someone's notes\n".repeat(20);
    std::fs::write(&f, &junk).unwrap();
    let out = env.run(&["queue", "ls"]);
    out.code(2);
    assert!(
        out.stderr.contains("file is not a database"),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr.contains("hint: the queue file is damaged"),
        "{}",
        out.stderr
    );
    env.run(&[
        "queue",
        "add",
        "--no-check",
        "https://1fichier.com/?abcde12345",
    ])
    .code(2);
    assert_eq!(
        std::fs::read_to_string(&f).unwrap(),
        junk,
        "nothing overwritten"
    );
}

#[test]
fn an_add_killed_midway_leaves_a_whole_queue_and_running_it_again_completes_it() {
    use std::time::{Duration, Instant};
    let env = Env::new();
    let total = 5_000;
    let list = env.root().join("links.txt");
    let text: String = (0..total)
        .map(|i| format!("https://1fichier.com/?kill{i:08}\n"))
        .collect();
    std::fs::write(&list, text).unwrap();
    let args = ["queue", "add", "--no-check", "-q", "--input", &s(&list)];
    let mut child = env
        .command(&args)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // Kill it once some items are in (or let it be if it finished first).
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if child.try_wait().unwrap().is_some() {
            break;
        }
        if queue_file(&env).exists()
            && QueueStore::open(&queue_file(&env))
                .unwrap()
                .version()
                .unwrap()
                > 100
        {
            break;
        }
        assert!(Instant::now() < deadline, "queue add made no progress");
        std::thread::sleep(Duration::from_millis(10));
    }
    let _ = child.kill();
    child.wait().unwrap();
    let store = QueueStore::open(&queue_file(&env)).unwrap();
    let partial = store.list().unwrap().len();
    assert!(partial <= total);
    // The same command again adds the rest; what was there is refused, not doubled.
    let out = env.run(&args);
    assert!(matches!(out.code, 0..=2), "{}", out.stderr);
    let items = store.list().unwrap();
    assert_eq!(items.len(), total, "killed after {partial} items");
    let unique: std::collections::HashSet<_> = items.iter().map(|i| &i.source).collect();
    assert_eq!(unique.len(), total);
}
