//! One style of `--json` output: every document the CLI prints (stdout JSON, NDJSON events, the
//! backup log lines, notification bodies) is a `Serialize` type, listed in docs/cli.md's schema
//! table. This scans the CLI's sources for `json!(` literals, which drift silently, and runs
//! commands with `--json` to check the documented keys and their JSON types.

use std::path::Path;

use serde_json::Value;

use crate::harness::{Env, rust_files};

/// What marks a `json!` that builds no output document, on its line or the line above, with
/// the reason after it.
const MARKER: &str = "not an output schema:";

/// The reason given by a marker on `line`, if any.
fn reason(line: &str) -> Option<&str> {
    let at = line.find("//")?;
    let comment = &line[at..];
    let why = comment[comment.find(MARKER)? + MARKER.len()..].trim();
    (!why.is_empty()).then_some(why)
}

#[test]
fn json_literals_appear_in_the_cli_only_where_marked_as_no_output_schema() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    assert!(files.len() > 20, "the CLI's sources were found");
    let mut offenders = Vec::new();
    let mut allowed = 0;
    for file in files {
        let text = std::fs::read_to_string(&file).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        for (i, line) in lines.iter().enumerate() {
            let code = line.split("//").next().unwrap_or("");
            if !code.contains("json!(") {
                continue;
            }
            let marked = reason(line).is_some() || i > 0 && reason(lines[i - 1]).is_some();
            if marked {
                allowed += 1;
            } else {
                offenders.push(format!("{}:{}: {}", file.display(), i + 1, line.trim()));
            }
        }
    }
    assert!(
        offenders.is_empty(),
        "output documents are built with json! instead of a Serialize type (or mark a \
         non-output use with `// {MARKER} <why>`):\n{}",
        offenders.join("\n")
    );
    // The allow-list stays short: each entry is a reviewed exception.
    assert!(
        allowed <= 2,
        "{allowed} marked json! literals; type them instead"
    );
}

#[test]
fn the_marker_needs_a_reason() {
    assert_eq!(
        reason("// not an output schema: test input"),
        Some("test input")
    );
    assert_eq!(
        reason("let v = json!({}); // not an output schema:   "),
        None
    );
    assert_eq!(reason("let v = json!({});"), None);
}

/// The JSON type of `v`, as the schema table names it.
fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "bool",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// Checks that `doc` has every key of `keys` with one of its types (`"string|null"`).
fn check(what: &str, doc: &Value, keys: &[(&str, &str)]) {
    assert!(doc.is_object(), "{what}: not an object: {doc}");
    for (key, types) in keys {
        let got = doc
            .get(key)
            .unwrap_or_else(|| panic!("{what}: no {key:?} in {doc}"));
        assert!(
            types.split('|').any(|t| t == kind(got)),
            "{what}: {key:?} is {} ({got}), documented as {types}",
            kind(got)
        );
    }
}

/// The row of docs/cli.md's schema table whose first cell names `command` in backticks.
fn doc_row(command: &str) -> String {
    let docs = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/cli.md");
    let text = std::fs::read_to_string(docs).unwrap();
    let table = &text[text.find("## JSON schemas").expect("a schema section")..];
    table
        .lines()
        .find(|l| {
            l.split(" | ")
                .next()
                .is_some_and(|cell| cell.split('`').skip(1).step_by(2).any(|c| c == command))
        })
        .unwrap_or_else(|| panic!("docs/cli.md has no schema row for `{command}`"))
        .to_string()
}

/// Checks the document against its keys and that the docs' row names each key and a Rust type.
fn check_documented(command: &str, doc: &Value, keys: &[(&str, &str)]) {
    check(command, doc, keys);
    let row = doc_row(command);
    for (key, _) in keys {
        assert!(
            row.contains(&format!("\"{key}\"")),
            "docs/cli.md's row for `{command}` does not name {key:?}: {row}"
        );
    }
    let type_cell = row.split(" | ").nth(1).unwrap_or("").trim();
    assert!(
        type_cell.contains('`') && type_cell.contains("::"),
        "docs/cli.md's row for `{command}` names no Rust type: {row}"
    );
}

fn ndjson(text: &str) -> Vec<Value> {
    text.lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect()
}

const SUMMARY_KEYS: [(&str, &str); 8] = [
    ("event", "string"),
    ("done", "number"),
    ("skipped", "number"),
    ("failed", "number"),
    ("bytes", "number"),
    ("seconds", "number"),
    ("api_calls", "number"),
    ("failures", "array"),
];

#[test]
fn upload_and_download_json_events_and_summary_keep_their_documented_keys() {
    let env = Env::logged_in();
    let src = env.root().join("up");
    std::fs::create_dir_all(&src).unwrap();
    std::fs::write(src.join("a.txt"), b"schema").unwrap();
    let out = env.run(&[
        "upload",
        src.join("a.txt").to_str().unwrap(),
        "/S",
        "--json",
    ]);
    out.ok();
    let events = ndjson(&out.stdout);
    let done = events.iter().find(|e| e["event"] == "done").expect("done");
    check(
        "upload done event",
        done,
        &[
            ("id", "number"),
            ("name", "string"),
            ("size", "number"),
            ("path", "string"),
            ("link", "string"),
            ("recovered", "bool"),
        ],
    );
    check_documented("upload", events.last().unwrap(), &SUMMARY_KEYS);
    assert_eq!(events.last().unwrap()["event"], "summary");

    let dir = env.root().join("down");
    let out = env.run(&[
        "download",
        "/S/a.txt",
        "-o",
        dir.to_str().unwrap(),
        "--json",
    ]);
    out.ok();
    let events = ndjson(&out.stdout);
    let done = events.iter().find(|e| e["event"] == "done").expect("done");
    check(
        "download done event",
        done,
        &[
            ("id", "number"),
            ("name", "string"),
            ("size", "number"),
            ("path", "string"),
            ("recovered", "bool"),
        ],
    );
    check_documented("download", events.last().unwrap(), &SUMMARY_KEYS);
}

#[test]
fn ftp_json_documents_keep_their_documented_keys() {
    let env = Env::logged_in();
    let out = env.run(&["ftp", "process", "--json"]);
    check_documented("ftp process", &out.json(), &[("processed", "bool")]);
    env.run(&["mkdir", "/In"]).ok();
    let out = env.run_stdin(
        &[
            "ftp",
            "users",
            "add",
            "up1",
            "--folder",
            "/In",
            "--password",
            "--json",
        ],
        "long-enough-pass\n",
    );
    check_documented(
        "ftp users add",
        &out.json(),
        &[
            ("user", "string"),
            ("folder", "string"),
            ("folder_id", "number"),
        ],
    );
    let out = env.run(&["ftp", "users", "ls", "--json"]);
    let doc = out.json();
    check_documented("ftp users ls", &doc, &[("users", "array")]);
    check(
        "ftp user",
        &doc["users"][0],
        &[("user", "string"), ("folder_id", "number|null")],
    );
    let out = env.run(&["ftp", "users", "rm", "up1", "--json"]);
    check_documented("ftp users rm", &out.json(), &[("removed", "string")]);
}

#[test]
fn voucher_json_documents_keep_their_documented_keys() {
    let env = Env::logged_in();
    let emu = &env.emu.emu;
    let code = emu
        .create_voucher("owner@example.com", "premium-1m")
        .unwrap();
    emu.create_account("friend@example.com", fichier_testkit::Offer::Free)
        .unwrap();
    let doc = env.run(&["voucher", "ls", "--json"]).json();
    check_documented("voucher ls", &doc, &[("vouchers", "array")]);
    check(
        "voucher",
        &doc["vouchers"][0],
        &[("voucher", "string"), ("service", "string")],
    );
    let out = env.run(&[
        "voucher",
        "use",
        &code,
        "--to",
        "friend@example.com",
        "--json",
    ]);
    check_documented(
        "voucher use",
        &out.json(),
        &[("used", "bool"), ("user_email", "string")],
    );
}

#[test]
fn virus_scan_json_keeps_its_documented_keys() {
    let env = Env::logged_in();
    env.upload("clean.txt", b"hello", 0);
    let doc = env.run(&["virus-scan", "/clean.txt", "--json"]).json();
    check_documented("virus-scan", &doc, &[("results", "array")]);
    check(
        "virus-scan result",
        &doc["results"][0],
        &[
            ("path", "string"),
            ("link", "string"),
            ("clean", "bool"),
            ("cached_at", "string|null"),
            ("message", "string|null"),
        ],
    );
}

/// The keys of a backup run's summary, finished or stopped.
const BACKUP_KEYS: [(&str, &str); 21] = [
    ("profile", "string"),
    ("stamp", "string"),
    ("resumed", "bool"),
    ("files", "number"),
    ("hashed", "number"),
    ("uploaded", "number"),
    ("uploaded_bytes", "number"),
    ("unchanged", "number"),
    ("versioned", "number"),
    ("deleted", "number"),
    ("pruned_versions", "number"),
    ("empty", "number"),
    ("skipped", "array"),
    ("failed", "array"),
    ("stopped", "string|null"),
    ("outcome", "string"),
    ("changed", "bool"),
    ("api_calls", "number"),
    ("flood_answers", "number"),
    ("exit_code", "number"),
    ("seconds", "number"),
];

#[test]
fn backup_restore_and_verify_json_keep_their_documented_keys() {
    let env = Env::logged_in();
    let src = env.root().join("src");
    std::fs::create_dir_all(&src).unwrap();
    std::fs::write(src.join("a.txt"), b"backed up").unwrap();
    let s = src.to_str().unwrap();

    let doc = env.run(&["backup", s, "/B", "--json"]).json();
    check_documented("backup", &doc, &BACKUP_KEYS);

    // The NDJSON stream ends with the same summary, tagged like the events.
    std::fs::write(src.join("b.txt"), b"more").unwrap();
    let out = env.run(&["backup", s, "/B", "--progress", "json"]);
    out.ok();
    let last = ndjson(&out.stdout).pop().unwrap();
    check("backup --progress json summary", &last, &BACKUP_KEYS);
    assert_eq!(last["event"], "summary");

    // A run refused before its summary (the source emptied): nothing on stdout, and the short
    // document in the log.
    let other = env.root().join("other");
    std::fs::create_dir_all(&other).unwrap();
    std::fs::write(other.join("x"), b"x").unwrap();
    let o = other.to_str().unwrap();
    env.run(&["backup", o, "/E"]).ok();
    std::fs::remove_file(other.join("x")).unwrap();
    let log = env.root().join("run.log");
    let out = env.run(&[
        "backup",
        o,
        "/E",
        "--json",
        "--log-file",
        log.to_str().unwrap(),
    ]);
    out.code(6);
    // A refused run still answers `--json`: its FailedRun document, as the log has it.
    let doc: Value = serde_json::from_str(out.stdout.trim()).expect("a JSON document on stdout");
    assert_eq!(doc["outcome"], "refused", "{doc}");
    let text = std::fs::read_to_string(&log).unwrap();
    let last: Value = serde_json::from_str(text.lines().last().unwrap()).unwrap();
    check(
        "backup --log-file summary of a refused run",
        &last,
        &[
            ("time", "string"),
            ("step", "string"),
            ("profile", "string"),
            ("outcome", "string"),
            ("error", "string"),
            ("exit_code", "number"),
            ("seconds", "number"),
            ("api_calls", "number"),
            ("flood_answers", "number"),
        ],
    );
    assert_eq!(
        (last["step"].as_str(), last["exit_code"].as_i64()),
        (Some("summary"), Some(6))
    );

    let doc = env.run(&["backup", "ls", "--json"]).json();
    check_documented("backup ls", &doc, &[("profiles", "array")]);

    let into = env.root().join("restored");
    let doc = env
        .run(&["restore", "/B", into.to_str().unwrap(), "--json"])
        .json();
    check_documented(
        "restore",
        &doc,
        &[
            ("stamp", "string"),
            ("restored", "number"),
            ("bytes", "number"),
            ("already_there", "number"),
            ("empty_created", "number"),
            ("conflicts", "array"),
            ("lost", "array"),
            ("failed", "array"),
        ],
    );
    assert_eq!(doc["restored"], 2);

    let doc = env.run(&["verify", "/B", "--read-data", "--json"]).json();
    check_documented(
        "verify",
        &doc,
        &[
            ("stamp", "string"),
            ("ok", "number"),
            ("missing", "array"),
            ("changed", "array"),
            ("unknown", "array"),
            ("read", "number"),
            ("read_failed", "array"),
        ],
    );
    assert_eq!(doc["ok"], 2);
}

#[test]
fn backup_ls_json_lists_profiles_with_their_last_run() {
    let env = Env::logged_in();
    let src = env.root().join("src");
    std::fs::create_dir_all(&src).unwrap();
    std::fs::write(src.join("a.txt"), b"profiled").unwrap();
    std::fs::create_dir_all(env.config_dir()).unwrap();
    std::fs::write(
        env.config_dir().join("config.toml"),
        format!(
            "[backup.nightly]\nsource = {:?}\ndestination = \"/N\"\n\
             [backup.never]\nsource = {:?}\ndestination = \"/Never\"\n",
            src.to_str().unwrap(),
            src.to_str().unwrap()
        ),
    )
    .unwrap();
    env.run(&["backup", "nightly"]).ok();
    let doc = env.run(&["backup", "ls", "--json"]).json();
    let profiles = doc["profiles"].as_array().unwrap();
    assert_eq!(profiles.len(), 2, "{doc}");
    let keys = [
        ("profile", "string"),
        ("source", "string|null"),
        ("destination", "string|null"),
        ("last_run", "object|null"),
    ];
    for p in profiles {
        check("backup ls profile", p, &keys);
    }
    let ran = profiles.iter().find(|p| p["profile"] == "nightly").unwrap();
    check(
        "backup ls last_run",
        &ran["last_run"],
        &[
            ("stamp", "string"),
            ("state", "string"),
            ("summary", "string"),
            ("started", "number"),
            ("finished", "number|null"),
        ],
    );
    let never = profiles.iter().find(|p| p["profile"] == "never").unwrap();
    assert!(never["last_run"].is_null(), "{never}");
}
