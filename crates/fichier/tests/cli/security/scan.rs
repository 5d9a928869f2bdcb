//! `fichier scan`: files, stdin, baselines, git history, the pre-commit hook, and `--verify`
//! against the emulator. Every key the tests plant is generated and checked never to reach
//! stdout or stderr.

use std::path::Path;
use std::process::{Command, Stdio};

use crate::harness::{BIN, Env, Out, output};

/// Runs the binary in `dir`, feeding `stdin`; asserts none of `secrets` reaches the output.
pub fn run_in(env: &Env, dir: &Path, args: &[&str], stdin: &str, secrets: &[&str]) -> Out {
    let mut c = env.command(args);
    c.current_dir(dir);
    let out = output(c, stdin);
    for s in secrets.iter().chain([&env.key()]) {
        out.assert_hides(s, args);
    }
    out
}

/// `git commit -m msg` in `repo` with the pre-commit hook finding `fichier` on `path`, in the
/// environment's home.
fn hooked_commit(env: &Env, repo: &Path, path: &str, msg: &str) -> std::process::Output {
    Command::new("git")
        .args(["-c", "user.name=t", "-c", "user.email=t@example.com"])
        .args(["commit", "-qm", msg])
        .current_dir(repo)
        .env("PATH", path)
        .env("FICHIER_KEYRING", "none")
        .env("HOME", env.root().join("home"))
        .env("XDG_CONFIG_HOME", env.root().join("config"))
        .env("XDG_CACHE_HOME", env.root().join("cache"))
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

/// A new git repository at `repo` whose first commit adds `file` assigning `key` to
/// `FICHIER_API_KEY`.
pub fn repo_with_key(repo: &Path, file: &str, key: &str) {
    std::fs::create_dir_all(repo).unwrap();
    git(repo, &["init", "-q"]);
    std::fs::write(repo.join(file), format!("FICHIER_API_KEY={key}\n")).unwrap();
    git(repo, &["add", file]);
    git(repo, &["commit", "-qm", "leak"]);
}

/// `git` with a fixed identity, in `dir`.
pub fn git(dir: &Path, args: &[&str]) {
    let out = Command::new("git")
        .args(["-c", "user.name=t", "-c", "user.email=t@example.com"])
        .args([
            "-c",
            "init.defaultBranch=main",
            "-c",
            "commit.gpgsign=false",
        ])
        .args(args)
        .current_dir(dir)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("HOME", dir)
        .stdin(Stdio::null())
        .output()
        .expect("run git");
    assert!(
        out.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn masked(key: &str) -> String {
    format!("{}…{}", &key[..2], &key[key.len() - 2..])
}

#[test]
fn scan_files_formats_and_exit_codes() {
    let env = Env::new();
    let key = fichier_testkit::fake_key();
    let tree = env.root().join("tree");
    std::fs::create_dir_all(tree.join("src")).unwrap();
    std::fs::write(tree.join(".env"), format!("FICHIER_API_KEY={key}\n")).unwrap();
    std::fs::write(tree.join("src/clean.rs"), "fn main() {}\n").unwrap();

    // No key is configured: scanning needs none.
    let out = run_in(&env, &tree, &["scan"], "", &[&key]);
    out.code(1);
    let want = format!(".env:1:17  fichier-named-key  high  {}", masked(&key));
    assert!(out.stdout.starts_with(&want), "{}", out.stdout);
    assert!(out.stderr.contains("1 finding"), "{}", out.stderr);

    let j = run_in(&env, &tree, &["scan", "--json", "."], "", &[&key]).json();
    assert_eq!(j["version"], 1);
    assert_eq!(j["findings"][0]["rule"], "fichier-named-key");
    assert_eq!(j["findings"][0]["masked"], masked(&key).as_str());
    assert_eq!(j["findings"][0]["fingerprint"].as_str().unwrap().len(), 32);

    let sarif = run_in(&env, &tree, &["scan", "--sarif"], "", &[&key]);
    let s: serde_json::Value = serde_json::from_str(&sarif.stdout).unwrap();
    assert_eq!(s["version"], "2.1.0");
    assert_eq!(
        s["runs"][0]["results"][0]["ruleId"], "fichier-named-key",
        "{}",
        sarif.stdout
    );
    run_in(&env, &tree, &["scan", "--sarif", "--json"], "", &[&key]).code(2);

    // Clean inputs, a missing path, and standard input.
    run_in(&env, &tree, &["scan", "src"], "", &[]).ok();
    let out = run_in(&env, &tree, &["scan", "nope"], "", &[]);
    out.code(2);
    assert!(out.stderr.contains("nope"), "{}", out.stderr);
    let out = run_in(
        &env,
        &tree,
        &["scan", "-"],
        &format!("export RCLONE_FICHIER_API_KEY=\"{key}\"\n"),
        &[&key],
    );
    out.code(1);
    assert!(out.stdout.starts_with("-:1:"), "{}", out.stdout);
    // A bare random string is reported only with --strict.
    std::fs::write(tree.join("src/data.txt"), format!("value {key}\n")).unwrap();
    run_in(&env, &tree, &["scan", "src"], "", &[&key]).ok();
    run_in(&env, &tree, &["scan", "--strict", "src"], "", &[&key]).code(1);
}

#[test]
fn baseline_accepts_findings_without_storing_keys() {
    let env = Env::new();
    let key = fichier_testkit::fake_key();
    let tree = env.root().join("tree");
    std::fs::create_dir_all(&tree).unwrap();
    std::fs::write(tree.join(".env"), format!("FICHIER_API_KEY={key}\n")).unwrap();
    let base = env.root().join("baseline.json");
    let b = base.to_str().unwrap();
    let out = run_in(&env, &tree, &["scan", "--write-baseline", b], "", &[&key]);
    out.ok();
    let text = std::fs::read_to_string(&base).unwrap();
    assert!(!text.contains(&key), "the baseline holds the key");
    let j = run_in(
        &env,
        &tree,
        &["scan", "--json", "--baseline", b],
        "",
        &[&key],
    )
    .json();
    assert_eq!(j["findings"], serde_json::json!([]));
    assert_eq!(j["stats"]["suppressed_by_baseline"], 1);
    // A new key is still reported.
    let other = fichier_testkit::fake_key();
    std::fs::write(tree.join("b.env"), format!("FICHIER_API_KEY={other}\n")).unwrap();
    run_in(&env, &tree, &["scan", "--baseline", b], "", &[&key, &other]).code(1);
    // A damaged baseline is an error (exit 2) naming the file.
    std::fs::write(&base, "{").unwrap();
    let out = run_in(&env, &tree, &["scan", "--baseline", b], "", &[&key]);
    out.code(2);
    assert!(out.stderr.contains("baseline.json"), "{}", out.stderr);
}

#[test]
fn git_history_and_pre_commit_hook() {
    let env = Env::new();
    let key = fichier_testkit::fake_key();
    let repo = env.root().join("repo");
    repo_with_key(&repo, "deploy.sh", &key);
    git(&repo, &["rm", "-q", "deploy.sh"]);
    git(&repo, &["commit", "-qm", "remove"]);
    // The working tree is clean; the history is not.
    run_in(&env, &repo, &["scan"], "", &[&key]).ok();
    let j = run_in(&env, &repo, &["scan", "--git", "--json"], "", &[&key]).json();
    assert_eq!(j["findings"][0]["path"], "deploy.sh");
    assert_eq!(j["findings"][0]["commit"].as_str().unwrap().len(), 40);
    run_in(&env, &env.root().join("home"), &["scan", "--git"], "", &[]).code(2);

    // The hook: installed once, refused twice, replaced with --force.
    let out = run_in(&env, &repo, &["scan", "install-hook"], "", &[]);
    out.ok();
    let hook = repo.join(".git/hooks/pre-commit");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(&hook).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o755);
    }
    let out = run_in(&env, &repo, &["scan", "install-hook"], "", &[]);
    out.code(2);
    assert!(out.stderr.contains("--force"), "{}", out.stderr);
    run_in(&env, &repo, &["scan", "install-hook", "--force"], "", &[]).ok();

    // Staged changes: the key is refused, a clean change passes.
    std::fs::write(repo.join(".env"), format!("FICHIER_API_KEY={key}\n")).unwrap();
    git(&repo, &["add", ".env"]);
    run_in(&env, &repo, &["scan", "--staged"], "", &[&key]).code(1);
    // The real hook, run by git with this binary first on PATH, blocks the commit.
    let bin_dir = Path::new(BIN).parent().unwrap();
    let path = format!(
        "{}:{}",
        bin_dir.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let commit = hooked_commit(&env, &repo, &path, "leak");
    assert!(!commit.status.success(), "the hook let the key through");
    let stdout = String::from_utf8_lossy(&commit.stdout);
    let stderr = String::from_utf8_lossy(&commit.stderr);
    // git sends a hook's stdout to stderr.
    assert!(
        stdout.contains(".env:1:17") || stderr.contains(".env:1:17"),
        "{stdout}\n{stderr}"
    );
    assert!(!stdout.contains(&key) && !stderr.contains(&key));
    git(&repo, &["rm", "-q", "--cached", ".env"]);
    std::fs::write(repo.join("README"), "hello\n").unwrap();
    git(&repo, &["add", "README"]);
    let commit = hooked_commit(&env, &repo, &path, "clean");
    assert!(
        commit.status.success(),
        "{}",
        String::from_utf8_lossy(&commit.stderr)
    );
}

/// `--verify` once sent every found key to 1fichier: a scanned tree may hold anyone's keys.
/// Only the finding named as the user's (`--verify=PATH:LINE`, or a yes on a terminal) is
/// checked, one `user/info` per run, against the configured API (the emulator); the result is
/// recorded on every finding of that key.
#[test]
fn verify_checks_only_the_key_named_as_yours() {
    let env = Env::new();
    let live = env.key().to_owned();
    let dead = fichier_testkit::fake_key();
    let tree = env.root().join("tree");
    std::fs::create_dir_all(&tree).unwrap();
    // The live key leaked twice: one check covers both findings.
    std::fs::write(tree.join("a.env"), format!("FICHIER_API_KEY={live}\n")).unwrap();
    std::fs::write(tree.join("b.env"), format!("FICHIER_API_KEY={live}\n")).unwrap();
    std::fs::write(tree.join("c.env"), format!("FICHIER_API_KEY={dead}\n")).unwrap();
    let before = env.calls("user/info");
    let status = |j: &serde_json::Value, path: &str| {
        j["findings"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["path"] == path)
            .map(|f| f["verification"]["status"].clone())
            .unwrap()
    };
    // Nobody said which key is theirs: nothing is sent.
    let out = run_in(
        &env,
        &tree,
        &["scan", "--verify", "--json"],
        "",
        &[&live, &dead],
    );
    out.code(1);
    assert_eq!(env.calls("user/info"), before);
    assert!(out.stderr.contains("--verify=PATH:LINE"), "{}", out.stderr);
    assert_eq!(status(&out.json(), "a.env"), serde_json::Value::Null);

    let out = run_in(
        &env,
        &tree,
        &["scan", "--verify=c.env:1", "--json"],
        "",
        &[&live, &dead],
    );
    out.code(1);
    assert_eq!(env.calls("user/info") - before, 1, "one call per run");
    let j = out.json();
    assert_eq!(status(&j, "c.env"), "dead");
    assert_eq!(status(&j, "a.env"), serde_json::Value::Null);

    let out = run_in(
        &env,
        &tree,
        &["scan", "--verify=a.env:1"],
        "",
        &[&live, &dead],
    );
    assert_eq!(env.calls("user/info") - before, 2);
    assert_eq!(out.stdout.matches("[live]").count(), 2, "{}", out.stdout);
    assert!(out.stderr.contains("console/params.pl"), "{}", out.stderr);

    // Something that is not a finding there, or a key typed in its place: exit 2, no call,
    // and the typed key is not echoed.
    run_in(
        &env,
        &tree,
        &["scan", "--verify=a.env:7"],
        "",
        &[&live, &dead],
    )
    .code(2);
    let typed = fichier_testkit::fake_key();
    let arg = format!("--verify={typed}");
    run_in(&env, &tree, &["scan", &arg], "", &[&live, &dead, &typed]).code(2);
    assert_eq!(env.calls("user/info") - before, 2);

    // On a terminal each key is asked about; the first yes is the one checked.
    let t = tree.to_str().unwrap();
    let out = env.run_pty(&["scan", "--verify", t], "n\ny\n");
    assert!(!out.stdout.contains(&dead));
    assert_eq!(out.stdout.matches("yours?").count(), 2, "{}", out.stdout);
    assert_eq!(env.calls("user/info") - before, 3);
    assert!(out.stdout.contains("[dead]"), "{}", out.stdout);
}

/// With the real pacer, `--verify=FINDING` keeps 1fichier's 5-minute `user/info` window per key
/// across processes: a second run inside it sends nothing, and says why a key is unknown.
#[test]
fn verify_respects_the_user_info_window() {
    let mut env = Env::new();
    env.env.push(("FICHIER_TEST_PACER".into(), "0".into()));
    let live = env.key().to_owned();
    let dead = fichier_testkit::fake_key();
    let tree = env.root().join("tree");
    std::fs::create_dir_all(&tree).unwrap();
    std::fs::write(tree.join("a.env"), format!("FICHIER_API_KEY={live}\n")).unwrap();
    std::fs::write(tree.join("c.env"), format!("FICHIER_API_KEY={dead}\n")).unwrap();
    let args = ["scan", "--verify=c.env:1", "--json"];
    let first = run_in(&env, &tree, &args, "", &[&live, &dead]).json();
    assert_eq!(first["findings"][1]["verification"]["status"], "dead");
    let calls = env.calls("user/info");
    assert_eq!(calls, 1);
    let out = run_in(&env, &tree, &args, "", &[&live, &dead]);
    assert_eq!(
        env.calls("user/info"),
        calls,
        "a second run sent user/info again"
    );
    let second = out.json();
    assert_eq!(second["findings"][1]["verification"]["status"], "unknown");
    let reason = second["findings"][1]["verification"]["reason"]
        .as_str()
        .unwrap();
    assert!(reason.contains("5 minutes"), "{reason}");
    assert!(out.stderr.contains("5 minutes"), "{}", out.stderr);
}
