//! `fichier scan --fix` on copies of every positive fixture of the scanner's corpus: diffs
//! shown with the key masked, files written only when asked, rewritten files scanning clean
//! and still parsing (Python's `ast`, `node --check`, `sh -n`, YAML and rclone sections), mode
//! and CRLF kept, symlinks refused, `.env` files checked for being git-ignored, history
//! findings answered with "regenerate", and only a key named as the user's checked and stored.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::harness::Env;
use crate::security::scan::git;

fn corpus() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../fichier-scan/corpus/positives")
}

fn templates(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        let p = e.path();
        if p.is_dir() {
            templates(&p, out);
        } else if p.extension().is_some_and(|x| x == "tmpl") {
            out.push(p);
        }
    }
}

/// Writes every positive fixture under `root` with `key` in place of `{{KEY}}`; returns the
/// relative paths written.
fn materialize(root: &Path, key: &str) -> Vec<String> {
    let mut files = Vec::new();
    templates(&corpus(), &mut files);
    files.sort();
    let mut rels = Vec::new();
    for t in files {
        let rel = t
            .strip_prefix(corpus())
            .unwrap()
            .to_string_lossy()
            .trim_end_matches(".tmpl")
            .to_owned();
        let dest = root.join(&rel);
        std::fs::create_dir_all(dest.parent().unwrap()).unwrap();
        let text = std::fs::read_to_string(&t).unwrap().replace("{{KEY}}", key);
        std::fs::write(&dest, text).unwrap();
        rels.push(rel);
    }
    rels
}

/// The fixtures `--fix` rewrites (every other one gets advice only).
const REWRITTEN: &[&str] = &[
    ".github/workflows/backup.yml",
    "js/config.ts",
    "js/upload.js",
    "python/client.py",
    "python/settings.py",
    "rclone/rclone-env.sh",
    "rclone/rclone.conf",
    "shell/upload.sh",
    "yaml/config.yaml",
    "yaml/docker-compose.yml",
];

fn snapshot(root: &Path, rels: &[String]) -> Vec<(String, Vec<u8>)> {
    rels.iter()
        .map(|r| (r.clone(), std::fs::read(root.join(r)).unwrap()))
        .collect()
}

/// Whether `python3` parses `path` as Python (`ast`) or YAML (`yaml.safe_load`).
fn python_parses(kind: &str, path: &Path) -> bool {
    let code = match kind {
        "py" => "import ast,sys; ast.parse(open(sys.argv[1]).read())",
        _ => "import yaml,sys; yaml.safe_load(open(sys.argv[1]))",
    };
    let out = Command::new("python3")
        .args(["-c", code])
        .arg(path)
        .output()
        .expect("these tests need python3 (with PyYAML) to check that rewritten files parse");
    out.status.success()
}

fn js_parses(path: &Path) -> bool {
    // ES module syntax (`export`): checked as .mjs.
    let copy = path.with_extension("check.mjs");
    std::fs::copy(path, &copy).unwrap();
    let out = Command::new("node")
        .arg("--check")
        .arg(&copy)
        .output()
        .expect("these tests need node to check that rewritten JavaScript parses");
    let _ = std::fs::remove_file(&copy);
    out.status.success()
}

fn sh_parses(path: &Path) -> bool {
    Command::new("bash")
        .arg("-n")
        .arg(path)
        .status()
        .unwrap()
        .success()
}

#[test]
fn fix_shows_masked_diffs_and_writes_only_when_asked() {
    let env = Env::new();
    let key = fichier_testkit::fake_key();
    let root = env.root().join("tree");
    let rels = materialize(&root, &key);
    let before = snapshot(&root, &rels);
    let masked = format!("{}…{}", &key[..2], &key[key.len() - 2..]);

    let out = env.run(&["scan", "--fix", root.to_str().unwrap()]);
    out.assert_hides(&key, &["scan", "--fix"]);
    out.code(1);
    for rel in REWRITTEN {
        assert!(
            out.stdout
                .contains(&format!("+++ b/{}", root.join(rel).display())),
            "no diff for {rel}:\n{}",
            out.stdout
        );
        assert!(
            out.stderr
                .contains(&format!("{}: not written", root.join(rel).display())),
            "{rel}: {}",
            out.stderr
        );
    }
    assert!(
        out.stdout.contains(&format!("-API_KEY = \"{masked}\"")),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout
            .contains("+API_KEY = os.environ[\"FICHIER_API_KEY\"]")
    );
    assert!(out.stderr.contains("must be regenerated"), "{}", out.stderr);
    assert!(out.stderr.contains("fichier auth rotate"), "{}", out.stderr);
    assert_eq!(
        snapshot(&root, &rels),
        before,
        "nothing written without --yes"
    );
}

#[test]
fn fix_yes_rewrites_files_that_then_scan_clean_and_still_parse() {
    let env = Env::new();
    let key = fichier_testkit::fake_key();
    let root = env.root().join("tree");
    let rels = materialize(&root, &key);
    let before = snapshot(&root, &rels);

    let out = env.run(&["scan", "--fix", "--yes", root.to_str().unwrap()]);
    out.code(1); // advice-only files still hold the key
    for rel in REWRITTEN {
        assert!(
            out.stderr
                .contains(&format!("Rewrote {}.", root.join(rel).display())),
            "{rel}: {}",
            out.stderr
        );
    }
    // The rewritten files scan clean; the others are untouched.
    let after = env.run(&["scan", "--json", root.to_str().unwrap()]);
    let still: Vec<String> = after.json()["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["path"].as_str().unwrap().to_owned())
        .collect();
    for rel in REWRITTEN {
        let p = root.join(rel).display().to_string();
        assert!(!still.contains(&p), "{rel} still has a finding");
        let text = std::fs::read_to_string(root.join(rel)).unwrap();
        assert!(!text.contains(&key), "{rel} still holds the key");
    }
    for (rel, old) in &before {
        if !REWRITTEN.contains(&rel.as_str()) {
            assert_eq!(
                &std::fs::read(root.join(rel)).unwrap(),
                old,
                "{rel} changed"
            );
        }
    }
    // Still parses: each checked with a real parser when the original parsed.
    let old_copy = env.root().join("orig");
    for (rel, old) in &before {
        if !REWRITTEN.contains(&rel.as_str()) {
            continue;
        }
        let new = root.join(rel);
        let orig = old_copy.join(rel);
        std::fs::create_dir_all(orig.parent().unwrap()).unwrap();
        std::fs::write(&orig, old).unwrap();
        let ext = new.extension().unwrap().to_string_lossy().into_owned();
        match ext.as_str() {
            "py" => assert!(python_parses("py", &new), "{rel} no longer parses"),
            "js" => assert!(js_parses(&new), "{rel} no longer parses"),
            "sh" => assert!(sh_parses(&new), "{rel} no longer parses"),
            "yml" | "yaml" => assert_eq!(
                python_parses("yaml", &new),
                python_parses("yaml", &orig),
                "{rel}: YAML parse result changed"
            ),
            "conf" => {
                for line in std::fs::read_to_string(&new).unwrap().lines() {
                    let l = line.trim();
                    assert!(
                        l.is_empty() || l.starts_with('[') || l.contains('='),
                        "{rel}: {line}"
                    );
                }
            }
            "ts" => {
                let text = std::fs::read_to_string(&new).unwrap();
                assert!(text.contains("key: process.env.FICHIER_API_KEY,"), "{text}");
            }
            other => panic!("no parse check for .{other}"),
        }
    }
    let conf = std::fs::read_to_string(root.join("rclone/rclone.conf")).unwrap();
    assert!(!conf.contains("api_key"), "{conf}");
    assert!(conf.contains("[1f]\ntype = fichier\n"), "{conf}");
    assert!(
        out.stderr.contains("fichier exec --rclone"),
        "{}",
        out.stderr
    );
    // The .env file is left where it is, with advice.
    assert!(out.stderr.contains(".env"), "{}", out.stderr);
}

#[cfg(unix)]
#[test]
fn fix_keeps_mode_and_crlf_and_refuses_symlinks() {
    use std::os::unix::fs::PermissionsExt as _;
    let env = Env::new();
    let key = fichier_testkit::fake_key();
    let dir = env.root().join("crlf");
    std::fs::create_dir_all(&dir).unwrap();
    let sh = dir.join("job.sh");
    std::fs::write(
        &sh,
        format!("#!/bin/sh\r\nexport FICHIER_API_KEY={key}\r\nfichier upload a /b\r\n"),
    )
    .unwrap();
    std::fs::set_permissions(&sh, std::fs::Permissions::from_mode(0o750)).unwrap();
    let py = dir.join("job.py");
    std::fs::write(
        &py,
        format!("# 1fichier job\r\nFICHIER_API_KEY = \"{key}\"\r\nprint(1)\r\n"),
    )
    .unwrap();
    std::fs::set_permissions(&py, std::fs::Permissions::from_mode(0o600)).unwrap();

    // A symlink named on the command line: refused, the target untouched.
    let outside = env.root().join("outside.sh");
    std::fs::write(&outside, format!("export FICHIER_API_KEY={key}\n")).unwrap();
    let link = dir.join("link.sh");
    std::os::unix::fs::symlink(&outside, &link).unwrap();
    let out = env.run(&["scan", "--fix", "--yes", link.to_str().unwrap()]);
    out.code(1);
    assert!(out.stderr.contains("symbolic link"), "{}", out.stderr);
    assert!(
        std::fs::symlink_metadata(&link)
            .unwrap()
            .file_type()
            .is_symlink()
    );
    assert!(std::fs::read_to_string(&outside).unwrap().contains(&key));
    std::fs::remove_file(&link).unwrap();

    env.run(&["scan", "--fix", "--yes", dir.to_str().unwrap()])
        .ok();
    let text = std::fs::read_to_string(&sh).unwrap();
    assert_eq!(
        text,
        "#!/bin/sh\r\nexport FICHIER_API_KEY=\"${FICHIER_API_KEY}\"\r\nfichier upload a /b\r\n"
    );
    let mode = std::fs::metadata(&sh).unwrap().permissions().mode() & 0o7777;
    assert_eq!(mode, 0o750);
    let text = std::fs::read_to_string(&py).unwrap();
    assert_eq!(
        text,
        "# 1fichier job\r\nimport os\r\nFICHIER_API_KEY = os.environ[\"FICHIER_API_KEY\"]\r\nprint(1)\r\n"
    );
    let mode = std::fs::metadata(&py).unwrap().permissions().mode() & 0o7777;
    assert_eq!(mode, 0o600);
    // No temporary file left beside them.
    let names: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names.len(), 2, "{names:?}");
}

#[test]
fn dotenv_files_are_checked_for_being_git_ignored() {
    let env = Env::new();
    let key = fichier_testkit::fake_key();
    let repo = env.root().join("repo");
    std::fs::create_dir_all(repo.join("app")).unwrap();
    git(&repo, &["init", "-q"]);
    let dotenv = repo.join("app/.env");
    std::fs::write(&dotenv, format!("FICHIER_API_KEY={key}\n")).unwrap();
    let out = env.run(&["scan", "--fix", "--yes", dotenv.to_str().unwrap()]);
    out.code(1);
    assert!(out.stderr.contains("is not git-ignored"), "{}", out.stderr);
    assert!(out.stderr.contains("`/app/.env`"), "{}", out.stderr);
    assert!(std::fs::read_to_string(&dotenv).unwrap().contains(&key));

    std::fs::write(repo.join(".gitignore"), "/app/.env\n").unwrap();
    let out = env.run(&["scan", "--fix", "--yes", dotenv.to_str().unwrap()]);
    out.code(0);
    assert!(out.stderr.contains("git ignores it"), "{}", out.stderr);
}

#[test]
fn history_findings_are_not_rewritten_and_say_regenerate() {
    let env = Env::new();
    let key = fichier_testkit::fake_key();
    let repo = env.root().join("hist");
    std::fs::create_dir_all(&repo).unwrap();
    git(&repo, &["init", "-q"]);
    std::fs::write(repo.join("run.sh"), format!("FICHIER_API_KEY={key}\n")).unwrap();
    git(&repo, &["add", "run.sh"]);
    git(&repo, &["commit", "-qm", "leak"]);
    let out = env.run(&["scan", "--git", "--fix", "--yes", repo.to_str().unwrap()]);
    out.code(1);
    assert!(out.stderr.contains("does not un-leak"), "{}", out.stderr);
    assert!(
        std::fs::read_to_string(repo.join("run.sh"))
            .unwrap()
            .contains(&key)
    );
}

/// `scan --fix --yes` once sent every key it found to 1fichier (one `user/info` each) and
/// stored the first one that worked, a stranger's key included. `--fix` never contacts the
/// service; a key is checked (once) and offered to the store only when named as the user's.
#[test]
fn fix_sends_no_found_key_and_stores_only_the_key_named_as_yours() {
    let env = Env::new();
    let dir = env.root().join("keys");
    std::fs::create_dir_all(&dir).unwrap();
    let strangers = [fichier_testkit::fake_key(), env.second_account_key()];
    let write = || {
        std::fs::write(
            dir.join("A.sh"),
            format!("export FICHIER_API_KEY=\"{}\"\n", env.key()),
        )
        .unwrap();
        for (i, k) in strangers.iter().enumerate() {
            std::fs::write(
                dir.join(format!("S{i}.sh")),
                format!("export FICHIER_API_KEY=\"{k}\"\n"),
            )
            .unwrap();
        }
    };
    let d = dir.to_str().unwrap();
    let hide = |out: &crate::harness::Out, args: &[&str]| {
        for k in &strangers {
            out.assert_hides(k, args);
        }
    };

    // --fix --yes: files rewritten, no account query, nothing stored.
    write();
    let before = env.calls("user/info");
    let out = env.run(&["scan", "--fix", "--yes", d]);
    hide(&out, &["scan", "--fix", "--yes"]);
    out.ok();
    assert_eq!(
        env.calls("user/info"),
        before,
        "--fix contacted the service"
    );
    assert!(!out.stderr.contains("Stored the key"), "{}", out.stderr);
    assert!(out.stderr.contains("--verify=PATH:LINE"), "{}", out.stderr);
    env.run(&["auth", "status"]).code(3);

    // Bare --verify off a terminal: nobody said which key is theirs, so none is checked.
    write();
    let out = env.run(&["scan", "--verify", d]);
    hide(&out, &["scan", "--verify"]);
    out.code(1);
    assert_eq!(
        env.calls("user/info"),
        before,
        "--verify checked keys nobody claimed"
    );

    // The finding named as the user's: one account query, for that key only; stored with
    // --yes.
    let mine = format!("--verify={}:1", dir.join("A.sh").display());
    let out = env.run(&["scan", "--fix", "--yes", &mine, d]);
    hide(&out, &["scan", "--fix", "--yes", "--verify"]);
    out.ok();
    assert_eq!(env.calls("user/info"), before + 1, "one query per run");
    assert!(out.stdout.contains("[live]"), "{}", out.stdout);
    assert!(out.stderr.contains("Stored the key"), "{}", out.stderr);
    assert!(out.stderr.contains("must be regenerated"), "{}", out.stderr);
    env.run(&["auth", "status"]).ok();
    let stored = std::fs::read_to_string(env.config_dir().join("mock-keyring.json")).unwrap();
    assert!(stored.contains(env.key()));
    assert!(strangers.iter().all(|k| !stored.contains(k.as_str())));

    // Once stored, the same key found again is recognised without any account query.
    write();
    let calls = env.calls("user/info");
    let out = env.run(&["scan", "--fix", d]);
    hide(&out, &["scan", "--fix"]);
    assert!(
        out.stderr.contains("is the key fichier uses"),
        "{}",
        out.stderr
    );
    assert_eq!(env.calls("user/info"), calls);
}

/// A key named as the user's but not stored without --yes off a terminal: told how.
#[test]
fn a_key_named_as_yours_is_stored_only_when_asked() {
    let env = Env::new();
    let dir = env.root().join("live");
    std::fs::create_dir_all(&dir).unwrap();
    let script = dir.join("backup.sh");
    std::fs::write(&script, format!("export FICHIER_API_KEY={}\n", env.key())).unwrap();
    let mine = format!("--verify={}:1", script.display());
    let out = env.run(&["scan", "--fix", &mine, script.to_str().unwrap()]);
    out.code(1);
    assert!(
        out.stderr.contains("works and fichier has no key"),
        "{}",
        out.stderr
    );
    env.run(&["auth", "status"]).code(3);
}

#[test]
fn fix_refuses_json_output() {
    let env = Env::new();
    let out = env.run(&["scan", "--fix", "--json", "."]);
    out.code(2);
    assert!(out.stderr.contains("--fix"), "{}", out.stderr);
    env.run(&["scan", "--yes", "."]).code(2);
    // Standard input has no file to rewrite: the finding stays (exit 1).
    let key = fichier_testkit::fake_key();
    let out = env.run_stdin(
        &["scan", "--fix", "--yes", "-"],
        &format!("FICHIER_API_KEY={key}\n"),
    );
    out.assert_hides(&key, &["scan", "--fix", "-"]);
    out.code(1);
    assert!(out.stderr.contains("standard input"), "{}", out.stderr);
}

#[test]
fn fix_asks_before_writing_on_a_terminal() {
    let env = Env::new();
    let key = fichier_testkit::fake_key();
    let dir = env.root().join("tty");
    std::fs::create_dir_all(&dir).unwrap();
    let script = dir.join("job.sh");
    let text = format!("#!/bin/sh\nexport FICHIER_API_KEY={key}\n");
    std::fs::write(&script, &text).unwrap();
    let out = env.run_pty(&["scan", "--fix", dir.to_str().unwrap()], "n\n");
    out.assert_hides(&key, &["scan", "--fix"]);
    assert_eq!(out.code, 1, "{}", out.stdout);
    assert!(
        out.stdout.contains("Write this change to"),
        "{}",
        out.stdout
    );
    assert_eq!(std::fs::read_to_string(&script).unwrap(), text);
    let out = env.run_pty(&["scan", "--fix", dir.to_str().unwrap()], "y\n");
    assert_eq!(out.code, 0, "{}", out.stdout);
    assert!(out.stdout.contains("Rewrote"), "{}", out.stdout);
    assert_eq!(
        std::fs::read_to_string(&script).unwrap(),
        "#!/bin/sh\nexport FICHIER_API_KEY=\"${FICHIER_API_KEY}\"\n"
    );
}

/// The whole loop: scripts holding the account's key are rewritten by `scan --fix --yes` (the
/// live key stored first), then run under `fichier exec` and still reach the API.
#[test]
fn fixed_scripts_work_under_fichier_exec() {
    let env = Env::new();
    let dir = env.root().join("loop");
    std::fs::create_dir_all(&dir).unwrap();
    let api = env.api_url();
    let sh = dir.join("info.sh");
    std::fs::write(
        &sh,
        format!(
            "#!/bin/sh\n# 1fichier account check\ncurl -s -X POST -H 'Authorization: Bearer {}' \
             -H 'Content-Type: application/json' -d '{{}}' '{api}user/info.cgi'\n",
            env.key()
        ),
    )
    .unwrap();
    let py = dir.join("info.py");
    std::fs::write(
        &py,
        format!(
            "import json, urllib.request\n\nAPI_KEY = \"{}\"  # 1fichier\n\
             req = urllib.request.Request(\"{api}user/info.cgi\", data=b\"{{}}\", headers={{\
             \"Authorization\": \"Bearer \" + API_KEY, \"Content-Type\": \"application/json\"}})\n\
             print(json.load(urllib.request.urlopen(req))[\"email\"])\n",
            env.key()
        ),
    )
    .unwrap();
    let mine = format!("--verify={}:3", sh.display());
    env.run(&["scan", "--fix", "--yes", &mine, dir.to_str().unwrap()])
        .ok();
    for f in [&sh, &py] {
        let text = std::fs::read_to_string(f).unwrap();
        assert!(!text.contains(env.key()), "{}", f.display());
    }
    let out = env.run(&["exec", "--", "sh", sh.to_str().unwrap()]);
    assert!(out.ok().contains("owner@example.com"), "{}", out.stdout);
    let out = env.run(&["exec", "--", "python3", py.to_str().unwrap()]);
    assert_eq!(out.ok(), "owner@example.com\n");
    // Without fichier exec the rewritten script has no key (and says so, in Python).
    let out = crate::harness::output(
        {
            let mut c = std::process::Command::new("python3");
            c.arg(&py).env_remove("FICHIER_API_KEY");
            c
        },
        "",
    );
    assert_ne!(out.code, 0);
    assert!(
        out.stderr.contains("KeyError: 'FICHIER_API_KEY'"),
        "{}",
        out.stderr
    );
}

/// The diff once showed `\\` for each backslash of the file (its lines were escaped as names
/// are); it shows the text as written, control characters still escaped.
#[test]
fn fix_diff_shows_backslashes_as_written_and_escapes_control_characters() {
    let env = Env::new();
    let key = fichier_testkit::fake_key();
    let masked = format!("{}…{}", &key[..2], &key[key.len() - 2..]);
    let dir = env.root().join("backslash");
    std::fs::create_dir_all(&dir).unwrap();
    let script = dir.join("call.sh");
    std::fs::write(
        &script,
        format!(
            "#!/bin/sh\n# \u{1b}[31mred\ncurl -H \"Authorization: Bearer {key}\" \\\n  \
             https://api.1fichier.com/v1/user/info.cgi\n"
        ),
    )
    .unwrap();
    let out = env.run(&["scan", "--fix", script.to_str().unwrap()]);
    out.assert_hides(&key, &["scan", "--fix"]);
    let stdout = &out.stdout;
    assert!(
        stdout.contains(&format!(
            "\n-curl -H \"Authorization: Bearer {masked}\" \\\n"
        )),
        "{stdout}"
    );
    assert!(
        stdout.contains("\n+curl -H \"Authorization: Bearer ${FICHIER_API_KEY}\" \\\n"),
        "{stdout}"
    );
    assert!(!stdout.contains("\\\\"), "a backslash doubled: {stdout}");
    assert!(stdout.contains("\n # \\e[31mred\n"), "{stdout}");
    assert!(!stdout.contains('\u{1b}'), "a raw ESC reached the terminal");
}

/// A file named with ESC and a newline once printed raw in the text output: the newline split
/// the finding line, so a crafted name could forge findings. Each finding is one line, escaped.
#[test]
fn scan_text_output_escapes_newlines_and_escapes_in_paths() {
    let env = Env::new();
    let key = fichier_testkit::fake_key();
    let dir = env.root().join("names");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("a\u{1b}[2Jb\nc.env"),
        format!("FICHIER_API_KEY={key}\n"),
    )
    .unwrap();
    let out = env.run(&["scan", dir.to_str().unwrap()]);
    out.assert_hides(&key, &["scan"]);
    out.code(1);
    let lines: Vec<&str> = out.stdout.lines().collect();
    assert_eq!(lines.len(), 1, "{:?}", out.stdout);
    assert!(lines[0].contains("a\\e[2Jb\\nc.env:1:17"), "{:?}", lines[0]);
    assert!(!out.stdout.contains('\u{1b}'));
}

/// Skipped inputs were invisible: "no 1fichier key found in 0 inputs", exit 0.
#[test]
fn scan_says_what_it_skipped() {
    let env = Env::new();
    let key = fichier_testkit::fake_key();
    let dir = env.root().join("skips");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("blob.bin"), format!("\0FICHIER_API_KEY={key}\n")).unwrap();
    let out = env.run(&["scan", dir.to_str().unwrap()]);
    out.assert_hides(&key, &["scan"]);
    assert!(
        out.stderr.contains("1 input skipped (binary"),
        "{}",
        out.stderr
    );
    // Standard input past the size limit is not read whole, and is said skipped.
    let big = "\n".repeat(65 * 1024 * 1024);
    let out = env.run_stdin(&["scan", "-"], &big);
    assert!(
        out.stderr.contains("skipped (over the size limit"),
        "{}",
        out.stderr
    );
}

/// `${FICHIER_API_KEY:-<key>}` was missed (the `-` joined the key's run).
#[test]
fn scan_finds_keys_in_shell_fallbacks() {
    let env = Env::new();
    let key = fichier_testkit::fake_key();
    for (name, text) in [
        (
            "d1.sh",
            format!("KEY=${{FICHIER_API_KEY:-{key}}}  # 1fichier\n"),
        ),
        ("d2.sh", format!("KEY=${{FICHIER_API_KEY-{key}}}\n")),
    ] {
        let path = env.root().join(name);
        std::fs::write(&path, text).unwrap();
        for strict in [false, true] {
            let mut args = vec!["scan", path.to_str().unwrap()];
            if strict {
                args.push("--strict");
            }
            let out = env.run(&args);
            out.assert_hides(&key, &args);
            out.code(1);
        }
    }
}

/// `nom_fichier = "<random>"` (French: "file name") was reported, and blocked commits.
#[test]
fn scan_ignores_french_identifiers_holding_random_values() {
    let env = Env::new();
    let value = fichier_testkit::fake_key();
    let path = env.root().join("models.py");
    let text: String = [
        "nom_fichier",
        "id_fichier",
        "hash_fichier",
        "fichier_uuid",
        "fichierId",
        "cleFichier",
    ]
    .iter()
    .map(|n| format!("{n} = \"{value}\"\n"))
    .collect();
    std::fs::write(&path, text).unwrap();
    let out = env.run(&["scan", path.to_str().unwrap()]);
    out.assert_hides(&value, &["scan"]);
    out.ok();
}
