//! Settings resolution: flags > environment > config file > defaults, done once per run.
//!
//! Commands never look at the environment or the config file themselves; they receive the
//! `Settings` built here. Environment variables with a flag form are read by clap (so `--help`
//! shows them); the few without one (key store mode, pacer gap for tests) are read here.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

use crate::cli::GlobalArgs;
use crate::error::Failure;

/// The built-in API base URL.
pub const DEFAULT_API_URL: &str = "https://api.1fichier.com/v1/";

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

/// How output is written.
#[derive(Debug, Clone)]
pub struct OutputSettings {
    /// JSON documents on stdout instead of human output.
    pub json: bool,
    /// Suppress status lines and warnings.
    pub quiet: bool,
    /// Verbosity level (count of -v).
    pub verbose: u8,
    /// Draw progress bars (only ever on a terminal).
    pub progress: bool,
    /// Colour on stdout.
    pub color_stdout: bool,
    /// Colour on stderr.
    pub color_stderr: bool,
    /// stdin is a terminal (prompts are possible).
    pub stdin_tty: bool,
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
    /// Output options.
    pub output: OutputSettings,
    /// Directories.
    pub dirs: Dirs,
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

fn load_config(path: &Path, explicit: bool) -> anyhow::Result<ConfigFile> {
    match std::fs::read_to_string(path) {
        Ok(text) => toml::from_str(&text).map_err(|e| {
            Failure::fatal(format!("invalid config file {}", path.display()))
                .with_cause(e.to_string().trim_end().to_owned())
                .with_hint("fix the file; keys are documented in docs/cli.md")
                .into()
        }),
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

fn is_loopback(url: &url::Url) -> bool {
    match url.host() {
        Some(url::Host::Domain(d)) => d == "localhost",
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    }
}

/// Checks an API base URL: https anywhere, plain http only for loopback hosts.
pub fn parse_api_url(raw: &str) -> anyhow::Result<url::Url> {
    let bad = || {
        Failure::usage(format!("invalid API URL `{raw}`"))
            .with_hint("use https://HOST/v1/ (plain http only for 127.0.0.1, ::1 or localhost)")
    };
    let mut url = url::Url::parse(raw).map_err(|_| bad())?;
    if url.host().is_none() {
        return Err(bad().into());
    }
    let loopback = is_loopback(&url);
    match url.scheme() {
        "https" => {}
        "http" if loopback => {}
        _ => return Err(bad().into()),
    }
    if !url.path().ends_with('/') {
        let path = format!("{}/", url.path());
        url.set_path(&path);
    }
    Ok(url)
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
        let unthrottled =
            env_nonempty("FICHIER_TEST_PACER").is_some_and(|v| v == "1") && is_loopback(&api_url);

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
            api_key_file: global.api_key_file.clone().or(config.api_key_file),
            output,
            dirs,
            keyring,
            min_gap,
            unthrottled,
            fresh: global.fresh,
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
}
