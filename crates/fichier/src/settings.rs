//! Settings resolution: flags > environment > config file > defaults, done once per run.
//!
//! Commands never look at the environment or the config file themselves; they receive the
//! `Settings` built here. Environment variables with a flag form are read by clap (so `--help`
//! shows them); the few without one (key store mode, pacer gap for tests) are read here.

use std::collections::BTreeMap;
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

use fichier_api::DEFAULT_API_URL;

use crate::cli::GlobalArgs;
use crate::error::Failure;
use crate::printer::OutputSettings;

/// Which keyring `credentials` talks to (`FICHIER_KEYRING`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyringMode {
    /// The OS keyring when one is reachable (the default).
    Auto,
    /// No keyring at all: only key files, the environment and the credentials file.
    None,
    /// A file-backed stand-in (`mock-keyring.json` in the config dir), for tests: it behaves like
    /// a keyring across processes without ever touching the developer's real one.
    Mock,
}

/// The user's directories for fichier (XDG layout on Linux and macOS, AppData on Windows).
#[derive(Debug, Clone)]
pub struct Dirs {
    /// Config dir: config.toml and the credentials file.
    pub config: PathBuf,
    /// Data dir: the sandbox emulator state.
    pub data: PathBuf,
    /// Cache dir: pacer state shared by processes.
    pub cache: PathBuf,
}

/// Everything a command needs to know about how it was asked to run.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Run against the embedded emulator.
    pub sandbox: bool,
    /// The API base URL (validated: https, or http on loopback).
    pub api_url: url::Url,
    /// `--api-key-file` (or the config file's `api_key_file`); `-` means stdin.
    pub api_key_file: Option<PathBuf>,
    /// The `api_key_file` of the config file in use (`--config`, `FICHIER_CONFIG` or the
    /// default path), whether or not a flag overrides it.
    pub config_key_file: Option<PathBuf>,
    /// Output options.
    pub output: OutputSettings,
    /// Directories.
    pub dirs: Dirs,
    /// Where every state file of this configuration lives (the sandbox's apart).
    pub paths: fichier_state::StatePaths,
    /// Keyring mode.
    pub keyring: KeyringMode,
    /// Minimum gap between API calls, when overridden (config `min_gap_ms`). `None` keeps the
    /// library default.
    pub min_gap: Option<Duration>,
    /// Pacer off (1 ms gap, no windows): the hidden `FICHIER_TEST_PACER=1` used by tests,
    /// honoured only when the API URL is a loopback address (the emulator), never for the
    /// real service.
    pub unthrottled: bool,
    /// `--fresh`: listings are always fetched live, never from the shared cache.
    pub fresh: bool,
    /// The queue runner's shortest whole-queue pause after a flood answer: 60 s, or the
    /// hidden `FICHIER_TEST_FLOOD_PAUSE_MS` in unthrottled test runs (loopback only).
    pub queue_flood_pause: Duration,
    /// The queue runner's first retry delay: 30 s, 200 ms in unthrottled test runs.
    pub queue_retry_base: Duration,
    /// Backup profiles from the config file.
    pub backup_profiles: BTreeMap<String, BackupProfile>,
    /// The config file, when named by `--config` or `FICHIER_CONFIG` (scheduled runs name it
    /// again).
    pub config_path: Option<PathBuf>,
}

/// The config file (`config.toml`). Unknown keys are errors so typos do not go unnoticed.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConfigFile {
    /// API base URL.
    pub api_url: Option<String>,
    /// A key file to use when neither the flag nor the environment gives a key.
    pub api_key_file: Option<PathBuf>,
    /// Always use the sandbox.
    pub sandbox: Option<bool>,
    /// Draw progress bars on a terminal (default true).
    pub progress: Option<bool>,
    /// Minimum gap between API calls in milliseconds (the service asks for ≤ 3 calls/s;
    /// values under 350 are raised to 350).
    pub min_gap_ms: Option<u64>,
    /// Named backup profiles (`[backup.photos]`), run by `fichier backup photos`.
    #[serde(default)]
    pub backup: BTreeMap<String, BackupProfile>,
}

/// One `[backup.NAME]` table of the config file. Command-line flags override these values;
/// list flags (`--exclude`, ...) add to them.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BackupProfile {
    /// The local directory to back up.
    pub source: Option<PathBuf>,
    /// The remote folder to back up into.
    pub destination: Option<String>,
    /// Gitignore-style patterns to leave out.
    #[serde(default)]
    pub exclude: Vec<String>,
    /// Patterns that win over `exclude`.
    #[serde(default)]
    pub include: Vec<String>,
    /// Files of exclude patterns.
    #[serde(default)]
    pub exclude_from: Vec<PathBuf>,
    /// A directory holding a file of this name is left out.
    #[serde(default)]
    pub exclude_if_present: Vec<String>,
    /// Leave out files smaller than this (`10k`, `1M`).
    pub min_size: Option<String>,
    /// Leave out files larger than this.
    pub max_size: Option<String>,
    /// Leave out files not modified within this span (`30d`).
    pub max_age: Option<String>,
    /// Leave out files modified within this span (still being written).
    pub min_age: Option<String>,
    /// Follow symlinks.
    pub follow_symlinks: Option<bool>,
    /// Retention: newest version of each of the last N days.
    pub keep_daily: Option<u32>,
    /// Retention: newest version of each of the last N weeks.
    pub keep_weekly: Option<u32>,
    /// Retention: newest version of each of the last N months.
    pub keep_monthly: Option<u32>,
    /// Retention: every version within this span of the newest (`30d`, `6m`).
    pub keep_within: Option<String>,
    /// Keep old copies as versions (default true); false gives a plain mirror.
    pub versions: Option<bool>,
    /// Stop before retiring more files removed from the source than this (`50`, `10%`).
    pub max_delete: Option<String>,
    /// Allow an empty source.
    pub allow_empty_source: Option<bool>,
    /// Without versions, delete files no backup run put in the destination.
    pub delete_unknown: Option<bool>,
    /// Files uploaded in parallel.
    pub jobs: Option<u16>,
    /// Where the JSON summary is POSTed when a run ends.
    pub notify_url: Option<String>,
    /// Shell command run after a successful run.
    pub on_success: Option<String>,
    /// Shell command run after a run that did not succeed.
    pub on_failure: Option<String>,
    /// JSON-lines log of every run's steps.
    pub log_file: Option<PathBuf>,
    /// Bandwidth limit or daily timetable (`"2M"`, `"08:00,2M 23:00,off"`).
    pub bwlimit: Option<String>,
}

/// The smallest gap the config file may ask for; only the hidden test variable goes lower.
const CONFIG_MIN_GAP_FLOOR_MS: u64 = 350;

fn env_nonempty(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

/// The directories, from the XDG variables (or the platform's conventions).
pub fn dirs() -> anyhow::Result<Dirs> {
    use etcetera::AppStrategy as _;
    let strategy = etcetera::choose_app_strategy(etcetera::AppStrategyArgs {
        top_level_domain: "com".into(),
        author: "fichier".into(),
        app_name: "fichier".into(),
    })
    .map_err(|_| {
        Failure::fatal("cannot find the home directory")
            .with_hint("set HOME (or XDG_CONFIG_HOME and XDG_DATA_HOME)")
    })?;
    Ok(Dirs {
        config: strategy.config_dir(),
        data: strategy.data_dir(),
        cache: strategy.cache_dir(),
    })
}

/// Config keys that would hold the key itself: keys never belong in the config file.
const KEY_FIELDS: &[&str] = &["api_key", "apikey", "key", "fichier_api_key", "token"];

/// Where keys belong, for every message about a key found in the wrong place.
pub const WHERE_KEYS_BELONG: &str = "store the key with `fichier auth login` (OS keyring or a \
     0600 file), or name a 0600 key file with --api-key-file or `api_key_file`, or set \
     FICHIER_API_KEY";

/// Parses the config file text. Errors never show a key-shaped token in full (TOML errors
/// quote the offending line), and a key written into the file gets its own message.
pub fn parse_config(text: &str, path: &Path) -> anyhow::Result<ConfigFile> {
    // A key in the config file (`api_key = "..."`, the rclone habit) is named as such, without
    // quoting the line; so is a bare key-shaped line.
    let table = toml::from_str::<toml::Table>(text).ok();
    let key_field = table
        .as_ref()
        .and_then(|t| KEY_FIELDS.iter().find(|f| t.contains_key(**f)));
    if let Some(field) = key_field {
        return Err(Failure::fatal(format!(
            "the config file {} sets `{field}`: the API key does not belong in the config file",
            path.display()
        ))
        .with_hint(format!(
            "remove that line (and regenerate the key if the file was shared); {WHERE_KEYS_BELONG}"
        ))
        .into());
    }
    toml::from_str(text).map_err(|e| {
        let holds_key = crate::printer::mask_keys(text) != text;
        // The position and the message, not toml's rendering, which quotes the line.
        let at = e
            .span()
            .map(|span| {
                let before = text.get(..span.start).unwrap_or(text);
                let line = before.matches('\n').count() + 1;
                let column = before.rsplit('\n').next().unwrap_or("").chars().count() + 1;
                format!("line {line}, column {column}: ")
            })
            .unwrap_or_default();
        let failure = Failure::fatal(format!("invalid config file {}", path.display()))
            .with_cause(format!("{at}{}", e.message().trim_end()));
        if holds_key {
            failure
                .with_hint(format!(
                    "the file holds something shaped like an API key: remove it; \
                     {WHERE_KEYS_BELONG}"
                ))
                .into()
        } else {
            failure
                .with_hint("fix the file; keys are documented in docs/cli.md")
                .into()
        }
    })
}

fn load_config(path: &Path, explicit: bool) -> anyhow::Result<ConfigFile> {
    match std::fs::read_to_string(path) {
        Ok(text) => parse_config(&text, path),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound && !explicit => {
            Ok(ConfigFile::default())
        }
        Err(e) => Err(
            Failure::fatal(format!("cannot read config file {}", path.display()))
                .with_cause(e.to_string())
                .into(),
        ),
    }
}

/// Checks an API base URL by the library's rule ([`fichier_api::parse_api_url`]: https
/// anywhere, plain http only for loopback hosts), with the CLI's error and hint before any
/// client is built.
pub fn parse_api_url(raw: &str) -> anyhow::Result<url::Url> {
    fichier_api::parse_api_url(raw).map_err(|_| {
        Failure::usage(format!("invalid API URL `{raw}`"))
            .with_hint("use https://HOST/v1/ (plain http only for 127.0.0.1, ::1 or localhost)")
            .into()
    })
}

fn no_color() -> bool {
    // https://no-color.org: any non-empty value disables colour.
    env_nonempty("NO_COLOR").is_some()
}

impl Settings {
    /// Resolves the global flags, the environment and the config file into settings.
    pub fn resolve(global: &GlobalArgs) -> anyhow::Result<Settings> {
        let dirs = dirs()?;
        let (config_path, explicit) = match &global.config {
            Some(p) => (p.clone(), true),
            None => (dirs.config.join("config.toml"), false),
        };
        let config = load_config(&config_path, explicit)?;

        let sandbox = global.sandbox || config.sandbox.unwrap_or(false);
        let raw_url = global
            .api_url
            .clone()
            .or(config.api_url.clone())
            .unwrap_or_else(|| DEFAULT_API_URL.to_owned());
        let api_url = parse_api_url(&raw_url)?;

        let keyring = match env_nonempty("FICHIER_KEYRING").as_deref() {
            None | Some("auto") => KeyringMode::Auto,
            Some("none") => KeyringMode::None,
            Some("mock") => KeyringMode::Mock,
            Some(other) => {
                return Err(
                    Failure::usage(format!("invalid FICHIER_KEYRING value `{other}`"))
                        .with_hint("use auto, none or mock")
                        .into(),
                );
            }
        };

        let min_gap = config
            .min_gap_ms
            .map(|ms| Duration::from_millis(ms.max(CONFIG_MIN_GAP_FLOOR_MS)));
        let unthrottled = env_nonempty("FICHIER_TEST_PACER").is_some_and(|v| v == "1")
            && fichier_api::is_loopback_url(&api_url);

        let queue_flood_pause = env_nonempty("FICHIER_TEST_FLOOD_PAUSE_MS")
            .filter(|_| unthrottled)
            .and_then(|v| v.parse::<u64>().ok())
            .map_or(Duration::from_secs(60), Duration::from_millis);
        let queue_retry_base = if unthrottled {
            Duration::from_millis(200)
        } else {
            Duration::from_secs(30)
        };

        let stderr_tty = std::io::stderr().is_terminal();
        let output = OutputSettings {
            json: global.json,
            quiet: global.quiet,
            verbose: global.verbose,
            progress: !global.no_progress
                && config.progress.unwrap_or(true)
                && stderr_tty
                && !global.quiet
                && global.verbose == 0,
            color_stdout: std::io::stdout().is_terminal() && !no_color(),
            color_stderr: stderr_tty && !no_color(),
            stdin_tty: std::io::stdin().is_terminal(),
        };

        Ok(Settings {
            sandbox,
            api_url,
            api_key_file: global.api_key_file.clone().or(config.api_key_file.clone()),
            config_key_file: config.api_key_file,
            output,
            paths: fichier_state::StatePaths::new(&dirs.data, &dirs.cache, sandbox),
            dirs,
            keyring,
            min_gap,
            unthrottled,
            fresh: global.fresh,
            queue_flood_pause,
            queue_retry_base,
            backup_profiles: config.backup,
            config_path: explicit.then_some(config_path),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn api_url_rules() {
        assert!(parse_api_url("https://api.1fichier.com/v1/").is_ok());
        assert_eq!(
            parse_api_url("http://127.0.0.1:8080/v1").unwrap().as_str(),
            "http://127.0.0.1:8080/v1/"
        );
        assert!(parse_api_url("http://[::1]:1/v1/").is_ok());
        assert!(parse_api_url("http://localhost:1/v1/").is_ok());
        assert!(parse_api_url("http://example.com/v1/").is_err());
        assert!(parse_api_url("ftp://127.0.0.1/").is_err());
        assert!(parse_api_url("not a url").is_err());
    }

    #[test]
    fn config_rejects_unknown_keys() {
        assert!(toml::from_str::<ConfigFile>("sandbox = true\n").is_ok());
        assert!(toml::from_str::<ConfigFile>("sandbx = true\n").is_err());
    }

    #[test]
    fn config_errors_give_the_position_not_the_line() {
        let err =
            parse_config("sandbox = true\nprogress = maybe\n", Path::new("c.toml")).unwrap_err();
        let text = crate::error::render(&err, false).text;
        assert!(text.contains("line 2, column 12"), "{text}");
        assert!(!text.contains("progress = maybe"), "{text}");
    }

    mod props {
        use std::path::Path;

        use proptest::prelude::*;

        use super::super::parse_config;

        /// TOML-ish text: config keys, a key-shaped token, punctuation and arbitrary strings,
        /// glued in any order.
        fn tomlish(key: String) -> impl Strategy<Value = String> {
            proptest::collection::vec(
                prop_oneof![
                    Just("api_key".to_owned()),
                    Just("api_url".to_owned()),
                    Just("api_key_file".to_owned()),
                    Just("sandbox".to_owned()),
                    Just("progress".to_owned()),
                    Just("min_gap_ms".to_owned()),
                    Just(" = ".to_owned()),
                    Just("\"".to_owned()),
                    Just("'".to_owned()),
                    Just("[".to_owned()),
                    Just("]".to_owned()),
                    Just("\n".to_owned()),
                    Just("true".to_owned()),
                    Just("42".to_owned()),
                    Just(key),
                    ".{0,12}",
                ],
                0..24,
            )
            .prop_map(|parts| parts.concat())
        }

        fn case() -> impl Strategy<Value = (String, String)> {
            "[A-Z][a-z][0-9][A-Za-z0-9]{29}".prop_flat_map(|key| (Just(key.clone()), tomlish(key)))
        }

        proptest! {
            #![proptest_config(ProptestConfig::with_cases(512))]

            /// Never panics, and an error never shows a key-shaped token in full.
            #[test]
            fn config_parser_never_echoes_a_key((key, text) in case()) {
                if let Err(err) = parse_config(&text, Path::new("/c/config.toml")) {
                    let rendered = crate::error::render(&err, false).text;
                    prop_assert!(!rendered.contains(&key), "{}", rendered);
                }
            }
        }
    }
}
