//! The test environment: an emulator on 127.0.0.1:0 (with its own tokio runtime, so tests
//! are plain `#[test]`s that run the real binary), temp HOME/XDG dirs, the file-backed mock
//! keyring, and a check on every run that the account key never reaches argv or output.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;

use fichier_api::{
    ApiKey, Client, FileLink, FolderId, NoProgress, NodeAnswer, NodeFields, NodeFile, PacerConfig,
};
use fichier_testkit::{Config, TestEmu};

/// The binary under test.
pub const BIN: &str = env!("CARGO_BIN_EXE_fichier");

/// What a run produced.
#[derive(Debug)]
pub struct Out {
    /// Exit code.
    pub code: i32,
    /// Standard output.
    pub stdout: String,
    /// Standard error.
    pub stderr: String,
}

/// Runs `c` with `stdin` piped in and collects what it wrote and how it exited.
pub fn output(mut c: Command, stdin: &str) -> Out {
    c.stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = c.spawn().expect("spawn the command");
    {
        let mut input = child.stdin.take().unwrap();
        let _ = input.write_all(stdin.as_bytes());
    }
    let out = child.wait_with_output().expect("wait for fichier");
    Out {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

impl Out {
    /// Asserts `secret` reached neither stdout nor stderr of the run of `args`.
    #[track_caller]
    pub fn assert_hides(&self, secret: &str, args: &[&str]) {
        assert!(
            !self.stdout.contains(secret),
            "a secret leaked to stdout of {args:?}"
        );
        assert!(
            !self.stderr.contains(secret),
            "a secret leaked to stderr of {args:?}"
        );
    }

    /// Asserts success and returns stdout.
    #[track_caller]
    pub fn ok(&self) -> &str {
        assert_eq!(
            self.code, 0,
            "expected success\nstdout:\n{}\nstderr:\n{}",
            self.stdout, self.stderr
        );
        &self.stdout
    }

    /// Asserts this exit code.
    #[track_caller]
    pub fn code(&self, code: i32) -> &Self {
        assert_eq!(
            self.code, code,
            "unexpected exit code\nstdout:\n{}\nstderr:\n{}",
            self.stdout, self.stderr
        );
        self
    }

    /// Parses stdout as JSON.
    #[track_caller]
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.stdout).unwrap_or_else(|e| {
            panic!(
                "stdout is not JSON ({e}):\n{}\nstderr:\n{}",
                self.stdout, self.stderr
            )
        })
    }
}

/// One isolated environment.
pub struct Env {
    /// The runtime serving the emulator while the binary runs.
    pub rt: tokio::runtime::Runtime,
    /// The emulator.
    pub emu: TestEmu,
    /// Temp dir holding HOME and the XDG dirs.
    pub dir: tempfile::TempDir,
    /// Extra environment for every run.
    pub env: Vec<(String, String)>,
}

impl std::fmt::Debug for Env {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Env").finish_non_exhaustive()
    }
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("test runtime")
}

impl Env {
    /// An emulator with a Premium account, no key stored yet.
    pub fn new() -> Env {
        Env::with(|_| {})
    }

    /// Like `new`, adjusting the emulator config first.
    pub fn with(f: impl FnOnce(&mut Config)) -> Env {
        let rt = runtime();
        let emu = rt.block_on(TestEmu::start_with(f));
        let dir = tempfile::tempdir().expect("temp dir");
        for d in ["home", "config", "data", "cache"] {
            std::fs::create_dir_all(dir.path().join(d)).unwrap();
        }
        Env {
            rt,
            emu,
            dir,
            env: Vec::new(),
        }
    }

    /// An environment whose key is already stored (through `auth login`, in the mock keyring).
    pub fn logged_in() -> Env {
        let env = Env::new();
        env.login();
        env
    }

    /// An environment without a keyring whose key was stored in the credentials file by
    /// `auth login --store file`.
    pub fn logged_in_to_file() -> Env {
        let mut env = Env::new();
        env.env.push(("FICHIER_KEYRING".into(), "none".into()));
        env.run_stdin(&["auth", "login", "--store", "file"], env.key())
            .ok();
        env
    }

    /// Creates a second Premium account (`second@example.com`) and returns its key.
    pub fn second_account_key(&self) -> String {
        self.emu
            .emu
            .create_account("second@example.com", fichier_testkit::Offer::Premium)
            .unwrap()
            .api_key
    }

    /// The account's key (the canary: it must never appear in output).
    pub fn key(&self) -> &str {
        self.emu.key()
    }

    /// The emulator's API URL.
    pub fn api_url(&self) -> String {
        self.emu.api_url()
    }

    /// `$XDG_CONFIG_HOME/fichier`.
    pub fn config_dir(&self) -> PathBuf {
        self.dir.path().join("config/fichier")
    }

    /// Root of all the CLI's files (HOME and XDG dirs).
    pub fn root(&self) -> &Path {
        self.dir.path()
    }

    /// A command for the binary with the isolated environment.
    pub fn command(&self, args: &[&str]) -> Command {
        for a in args {
            assert!(!a.contains(self.key()), "a test passed the key on argv");
        }
        let mut c = self.base(BIN);
        c.args(args);
        c
    }

    /// The binary with `args`, started by `/bin/sh` under `umask` (e.g. "022", a new user's
    /// usual one), so the modes of what it creates do not depend on the test runner's umask.
    pub fn command_under_umask(&self, umask: &str, args: &[&str]) -> Command {
        for a in args {
            assert!(!a.contains(self.key()), "a test passed the key on argv");
        }
        let mut c = self.base("/bin/sh");
        c.arg("-c")
            .arg(format!("umask {umask} && exec \"$0\" \"$@\""))
            .arg(BIN)
            .args(args);
        c
    }

    /// `program` with the isolated environment.
    fn base(&self, program: &str) -> Command {
        let mut c = Command::new(program);
        c.env_clear();
        c.env("PATH", std::env::var_os("PATH").unwrap_or_default());
        let root = self.dir.path();
        c.env("HOME", root.join("home"))
            .env("XDG_CONFIG_HOME", root.join("config"))
            .env("XDG_DATA_HOME", root.join("data"))
            .env("XDG_CACHE_HOME", root.join("cache"))
            .env("FICHIER_KEYRING", "mock")
            .env("FICHIER_TEST_PACER", "1")
            .env("FICHIER_API_URL", self.api_url())
            .env("NO_COLOR", "1")
            .env("TZ", "UTC");
        for (k, v) in &self.env {
            c.env(k, v);
        }
        c
    }

    /// Runs the binary on a pseudo-terminal (through util-linux `script`), feeding `stdin`.
    /// stdout and stderr arrive merged, as on a terminal. A missing `script` fails the test:
    /// terminal behaviour untested must not look like terminal behaviour tested.
    pub fn run_pty(&self, args: &[&str], stdin: &str) -> Out {
        for a in args {
            assert!(!a.contains(self.key()), "a test passed the key on argv");
        }
        assert!(
            Path::new("/usr/bin/script").exists(),
            "terminal tests need util-linux `script` at /usr/bin/script (install util-linux)"
        );
        let quote = |s: &str| format!("'{}'", s.replace('\'', "'\\''"));
        let line = std::iter::once(BIN)
            .chain(args.iter().copied())
            .map(quote)
            .collect::<Vec<_>>()
            .join(" ");
        let mut c = self.base("/usr/bin/script");
        c.args(["-qec", &line, "/dev/null"]);
        c.env("TERM", "xterm");
        let mut out = output(c, stdin);
        out.stdout = out.stdout.replace("\r\n", "\n");
        assert!(
            !out.stdout.contains(self.key()),
            "the key leaked to the terminal of {args:?}"
        );
        out
    }

    /// Runs with empty stdin.
    pub fn run(&self, args: &[&str]) -> Out {
        self.run_stdin(args, "")
    }

    /// Runs with `stdin` piped in.
    pub fn run_stdin(&self, args: &[&str], stdin: &str) -> Out {
        let out = output(self.command(args), stdin);
        // The canary: whatever the command, the key never reaches the terminal.
        out.assert_hides(self.key(), args);
        out
    }

    /// Stores the account key with `auth login` (key on stdin).
    pub fn login(&self) {
        self.run_stdin(&["auth", "login"], &format!("{}\n", self.key()))
            .ok();
    }

    /// A library client for seeding data (never the code under test).
    pub fn client(&self) -> Client {
        Client::builder()
            .api_url(self.api_url())
            .api_key(ApiKey::parse(self.key()).unwrap())
            .pacer_config(PacerConfig::unthrottled())
            .build()
            .unwrap()
    }

    /// Uploads a small file named `name` into `folder` and returns its link.
    pub fn upload(&self, name: &str, bytes: &[u8], folder: FolderId) -> FileLink {
        let local = self
            .dir
            .path()
            .join("upload")
            .join(format!("{}-{name}", rand_suffix()));
        std::fs::create_dir_all(local.parent().unwrap()).unwrap();
        std::fs::write(&local, bytes).unwrap();
        let file = NodeFile {
            path: local.clone(),
            name: name.to_owned(),
            len: bytes.len() as u64,
        };
        let client = self.client();
        let sent = self
            .rt
            .block_on(client.upload_to_node(
                &NodeFields::new(folder),
                &[file],
                Arc::new(NoProgress),
            ))
            .expect("seed upload");
        let _ = std::fs::remove_file(&local);
        let NodeAnswer::Report(report) = sent.answer else {
            panic!("seed upload of {name}: {:?}", sent.answer);
        };
        let stored = report
            .links
            .iter()
            .find(|l| l.filename == name)
            .expect("the report lists the seeded file");
        assert_eq!(stored.size, bytes.len() as u64, "seeded size");
        stored.download.clone()
    }

    /// The id of a folder, by path, through the CLI.
    pub fn folder_id(&self, path: &str) -> FolderId {
        self.run(&["info", path, "--json"]).json()["id"]
            .as_u64()
            .unwrap()
    }

    /// Number of calls the emulator logged for an endpoint (e.g. `folder/ls`).
    pub fn calls(&self, endpoint: &str) -> usize {
        self.emu
            .emu
            .request_log()
            .iter()
            .filter(|r| r.endpoint == endpoint)
            .count()
    }
}

fn rand_suffix() -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(0);
    format!(
        "{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    )
}

/// insta settings that hide what changes between runs: ports, temp paths, links, ids, times.
pub fn snapshot_settings(env: &Env) -> insta::Settings {
    let mut s = insta::Settings::clone_current();
    s.set_prepend_module_to_snapshot(false);
    let root = regex_escape(&env.dir.path().display().to_string());
    s.add_filter(&root, "[TMP]");
    s.add_filter(r"127\.0\.0\.1:\d+", "127.0.0.1:[PORT]");
    s.add_filter(r"https://([a-z0-9.]+)/\?[a-z0-9]{5,20}", "https://$1/?[ID]");
    s.add_filter(r"\(id \d+\)", "(id [ID])");
    s.add_filter(r"\d{2}:\d{2}:\d{2} UTC", "[TIME] UTC");
    s
}

fn regex_escape(s: &str) -> String {
    let mut out = String::new();
    for c in s.chars() {
        if "\\.+*?()|[]{}^$".contains(c) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// Writes `content` to `path` with `mode` (unix).
pub fn write_mode(path: &Path, content: &str, mode: u32) {
    std::fs::write(path, content).unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
    }
    let _ = mode;
}

/// Every `.rs` file under `dir`, for the tests that read the workspace's sources to pin a rule
/// (the key header, advice only in the CLI, typed JSON outputs).
pub fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let p = entry.unwrap().path();
        if p.is_dir() {
            rust_files(&p, out);
        } else if p.extension().is_some_and(|e| e == "rs") {
            out.push(p);
        }
    }
}
