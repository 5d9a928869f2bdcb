//! Where the API key comes from and where it is stored (DESIGN §5).
//!
//! Sources, first match wins: `--api-key-file PATH|-`, `FICHIER_API_KEY`, the OS keyring when
//! one is reachable, then the `0600` credentials file in the `0700` config dir. The key only
//! ever exists as a `fichier_api::ApiKey`; this module is the one place that exposes it, to
//! hand it to a store. Everything here is blocking (keyring calls may talk D-Bus): async code
//! calls it through `tokio::task::spawn_blocking`.

use std::io::Read as _;
use std::path::{Path, PathBuf};

use fichier_api::ApiKey;

use crate::cli::StoreChoice;
use crate::error::Failure;
use crate::settings::{KeyringMode, Settings};

/// Environment variable holding a key.
pub const ENV_KEY: &str = "FICHIER_API_KEY";
/// Keyring service name.
const KEYRING_SERVICE: &str = "fichier";
/// Keyring user name (one key per user account).
const KEYRING_USER: &str = "api-key";
/// Name of the credentials file in the config dir.
pub const CREDENTIALS_FILE: &str = "credentials.toml";

/// Which account the stored key opens (e-mail and the key's fingerprint, never the key), in
/// the config dir beside the credentials file, whichever store holds the key: `auth rotate`
/// compares a new key's account with it when the old key cannot be asked.
pub const ACCOUNT_FILE: &str = "account.toml";
/// Name of the file-backed mock keyring used by tests (`FICHIER_KEYRING=mock`).
pub const MOCK_KEYRING_FILE: &str = "mock-keyring.json";

/// Where the key in use came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeySource {
    /// `--api-key-file PATH` (or the config file's `api_key_file`).
    KeyFile(PathBuf),
    /// `--api-key-file -`.
    Stdin,
    /// `FICHIER_API_KEY`.
    Env,
    /// The OS keyring (or the mock keyring in tests).
    Keyring(&'static str),
    /// The credentials file.
    CredentialsFile(PathBuf),
    /// The sandbox account, provisioned locally.
    Sandbox,
}

impl KeySource {
    /// A short stable identifier for JSON output.
    pub fn id(&self) -> &'static str {
        match self {
            KeySource::KeyFile(_) => "key-file",
            KeySource::Stdin => "stdin",
            KeySource::Env => "env",
            KeySource::Keyring(_) => "keyring",
            KeySource::CredentialsFile(_) => "credentials-file",
            KeySource::Sandbox => "sandbox",
        }
    }

    /// The file behind the source, when there is one.
    pub fn path(&self) -> Option<&Path> {
        match self {
            KeySource::KeyFile(p) | KeySource::CredentialsFile(p) => Some(p),
            _ => None,
        }
    }

    /// A human description.
    pub fn describe(&self) -> String {
        match self {
            KeySource::KeyFile(p) => format!("key file {}", p.display()),
            KeySource::Stdin => "standard input (--api-key-file -)".to_owned(),
            KeySource::Env => format!("environment variable {ENV_KEY}"),
            KeySource::Keyring(name) => format!("OS keyring ({name})"),
            KeySource::CredentialsFile(p) => format!("credentials file {}", p.display()),
            KeySource::Sandbox => "sandbox account (local emulator)".to_owned(),
        }
    }
}

/// A key and where it came from, plus warnings to show (never containing the key).
#[derive(Debug)]
pub struct ResolvedKey {
    /// The key.
    pub key: ApiKey,
    /// Its source.
    pub source: KeySource,
    /// Warnings (unusual length, file permissions) for the printer.
    pub warnings: Vec<String>,
}

/// A warning when the key does not have the usual length (it may have been cut when pasted).
pub fn length_warning(key: &ApiKey) -> Option<String> {
    (!key.has_usual_length()).then(|| {
        format!(
            "the API key has {} characters instead of the usual {}: it may be truncated or \
             have extra characters",
            key.len(),
            fichier_api::USUAL_KEY_LEN
        )
    })
}

/// The most a key file (or standard input given as one) may hold: a key is 32 characters, so
/// anything this large is not a key file, and is not read whole.
pub const KEY_FILE_MAX: u64 = 4096;

fn too_large(origin: &str) -> anyhow::Error {
    Failure::auth(format!(
        "{origin} holds more than {KEY_FILE_MAX} bytes: a key file holds one key (32 characters)"
    ))
    .with_hint("check the path given to --api-key-file: it should name a file with only the key")
    .into()
}

/// Parses a key read from `origin` (named in the error), never echoing it. A `.env` line
/// (`FICHIER_API_KEY=<key>`) is refused, naming its line and variable: `=` is part of the key
/// alphabet, so it would otherwise pass as a long key holding the variable's name.
pub fn parse_key(raw: &str, origin: &str) -> anyhow::Result<ApiKey> {
    for (i, line) in raw.lines().enumerate() {
        let line = line.trim();
        let line = line.strip_prefix("export ").map_or(line, str::trim_start);
        if let Some(name_len) = crate::printer::env_assignment(line) {
            let name = &line[..name_len - 1];
            return Err(Failure::auth(format!(
                "malformed API key in {origin}: line {} is an assignment to {name} (a .env \
                 line), not the key alone",
                i + 1
            ))
            .with_hint("keep only the key in the file (32 letters and digits, nothing before it)")
            .into());
        }
    }
    ApiKey::parse(raw).map_err(|e| {
        Failure::auth(format!("malformed API key in {origin}"))
            .with_cause(e.to_string())
            .with_hint(
                "copy the key again from https://1fichier.com/console/params.pl (32 letters and \
                 digits), then run `fichier auth login`",
            )
            .into()
    })
}

// ---------------------------------------------------------------------------------------------
// Keyrings

/// A place that holds one key for the current user.
trait Keyring {
    fn name(&self) -> &'static str;
    fn get(&self) -> Result<Option<String>, String>;
    fn set(&self, key: &str) -> Result<(), String>;
    fn delete(&self) -> Result<bool, String>;
}

/// The file-backed stand-in for tests: behaves like a keyring across processes.
struct MockKeyring {
    path: PathBuf,
}

impl Keyring for MockKeyring {
    fn name(&self) -> &'static str {
        "mock"
    }
    fn get(&self) -> Result<Option<String>, String> {
        match std::fs::read_to_string(&self.path) {
            Ok(text) => {
                let v: serde_json::Value =
                    serde_json::from_str(&text).map_err(|e| e.to_string())?;
                Ok(v.get(KEYRING_USER)
                    .and_then(|k| k.as_str())
                    .map(str::to_owned))
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e.to_string()),
        }
    }
    fn set(&self, key: &str) -> Result<(), String> {
        // not an output schema: the test-only mock keyring's store, read back by `get` above
        let doc = serde_json::json!({ KEYRING_USER: key });
        write_private(&self.path, doc.to_string().as_bytes()).map_err(|e| e.to_string())
    }
    fn delete(&self) -> Result<bool, String> {
        remove_if_exists(&self.path).map_err(|e| e.to_string())
    }
}

#[cfg(feature = "os-keyring")]
mod os {
    //! The OS keyring through keyring-core, with the store for this platform.

    use std::sync::Arc;

    use keyring_core::{CredentialStore, Entry, Error};

    /// The platform keyring, seen through keyring-core.
    pub(super) struct OsKeyring {
        store: Arc<CredentialStore>,
    }

    /// Whether a session bus exists at all: without one the Secret Service cannot be reached
    /// and trying would only produce D-Bus errors (headless servers, containers, CI).
    #[cfg(any(target_os = "linux", target_os = "freebsd", target_os = "openbsd"))]
    fn session_bus_present() -> bool {
        use std::os::unix::fs::MetadataExt as _;
        if std::env::var_os("DBUS_SESSION_BUS_ADDRESS").is_some_and(|v| !v.is_empty()) {
            return true;
        }
        let uid = std::fs::metadata("/proc/self").map(|m| m.uid()).ok();
        let runtime = std::env::var_os("XDG_RUNTIME_DIR")
            .map(std::path::PathBuf::from)
            .or_else(|| uid.map(|u| std::path::PathBuf::from(format!("/run/user/{u}"))));
        runtime.is_some_and(|dir| dir.join("bus").exists())
    }

    impl OsKeyring {
        /// The platform keyring, or `None` when none is reachable.
        pub(super) fn open() -> Option<OsKeyring> {
            #[cfg(any(target_os = "linux", target_os = "freebsd", target_os = "openbsd"))]
            {
                if !session_bus_present() {
                    return None;
                }
                // A session bus without a Secret Service daemon can make D-Bus activation wait
                // for a long time: give the connection a few seconds, then fall back.
                let (tx, rx) = std::sync::mpsc::channel();
                std::thread::spawn(move || {
                    let _ = tx.send(zbus_secret_service_keyring_store::Store::new());
                });
                let store = rx
                    .recv_timeout(std::time::Duration::from_secs(3))
                    .ok()?
                    .ok()?;
                Some(OsKeyring { store })
            }
            #[cfg(any(target_os = "macos", target_os = "ios"))]
            {
                let store = apple_native_keyring_store::keychain::Store::new().ok()?;
                Some(OsKeyring { store })
            }
            #[cfg(windows)]
            {
                let store = windows_native_keyring_store::Store::new().ok()?;
                Some(OsKeyring { store })
            }
            #[cfg(not(any(
                target_os = "linux",
                target_os = "freebsd",
                target_os = "openbsd",
                target_os = "macos",
                target_os = "ios",
                windows
            )))]
            {
                None
            }
        }

        /// An adapter over any keyring-core store (tests use keyring-core's mock store).
        #[cfg(test)]
        pub(super) fn with_store(store: Arc<CredentialStore>) -> OsKeyring {
            OsKeyring { store }
        }

        fn entry(&self) -> Result<Entry, String> {
            Entry::new_in_store(&self.store, super::KEYRING_SERVICE, super::KEYRING_USER)
                .map_err(|e| e.to_string())
        }
    }

    impl super::Keyring for OsKeyring {
        fn name(&self) -> &'static str {
            if cfg!(any(target_os = "macos", target_os = "ios")) {
                "Keychain"
            } else if cfg!(windows) {
                "Credential Manager"
            } else {
                "Secret Service"
            }
        }
        fn get(&self) -> Result<Option<String>, String> {
            match self.entry()?.get_password() {
                Ok(k) => Ok(Some(k)),
                Err(Error::NoEntry) => Ok(None),
                Err(e) => Err(e.to_string()),
            }
        }
        fn set(&self, key: &str) -> Result<(), String> {
            self.entry()?.set_password(key).map_err(|e| e.to_string())
        }
        fn delete(&self) -> Result<bool, String> {
            match self.entry()?.delete_credential() {
                Ok(()) => Ok(true),
                Err(Error::NoEntry) => Ok(false),
                Err(e) => Err(e.to_string()),
            }
        }
    }
}

fn open_keyring(settings: &Settings) -> Option<Box<dyn Keyring>> {
    match settings.keyring {
        KeyringMode::None => None,
        KeyringMode::Mock => Some(Box::new(MockKeyring {
            path: settings.dirs.config.join(MOCK_KEYRING_FILE),
        })),
        KeyringMode::Auto => {
            #[cfg(feature = "os-keyring")]
            {
                os::OsKeyring::open().map(|k| Box::new(k) as Box<dyn Keyring>)
            }
            #[cfg(not(feature = "os-keyring"))]
            {
                None
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Files

/// Path of the credentials file.
pub fn credentials_path(settings: &Settings) -> PathBuf {
    settings.dirs.config.join(CREDENTIALS_FILE)
}

#[cfg(unix)]
fn mode_of(path: &Path) -> std::io::Result<u32> {
    use std::os::unix::fs::PermissionsExt as _;
    Ok(std::fs::metadata(path)?.permissions().mode() & 0o777)
}

/// Creates the config dir `0700` (and parents) when missing; warns when it exists more open.
fn ensure_private_dir(dir: &Path, warnings: &mut Vec<String>) -> std::io::Result<()> {
    // A missing config dir is created 0700; an open one is reported here, and narrowed (with
    // its own line) only when a credential is written into it.
    if !dir.exists() {
        fichier_state::private_dir(dir)?;
    }
    #[cfg(unix)]
    if let Ok(mode) = mode_of(dir)
        && mode & 0o077 != 0
    {
        warnings.push(open_dir_warning(dir, mode));
    }
    let _ = warnings;
    Ok(())
}

/// The warning for a credentials directory open to group or others (docs/cli.md §Keys).
fn open_dir_warning(dir: &Path, mode: u32) -> String {
    format!(
        "{} is accessible by other users (mode {mode:o}); run `chmod 700 {}`",
        dir.display(),
        dir.display()
    )
}

/// Writes `bytes` to `path` with mode `0600`, atomically (temp file then rename).
pub fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    fichier_state::write_private(path, bytes)
}

fn remove_if_exists(path: &Path) -> std::io::Result<bool> {
    match std::fs::remove_file(path) {
        Ok(()) => Ok(true),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
        Err(e) => Err(e),
    }
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct CredentialsDoc {
    api_key: String,
}

/// Reads a key file given by the user; refuses files readable by group or others (like ssh).
pub fn read_key_file(path: &Path) -> anyhow::Result<ApiKey> {
    if path == Path::new("-") {
        let mut text = String::new();
        std::io::stdin()
            .take(KEY_FILE_MAX + 1)
            .read_to_string(&mut text)
            .map_err(|e| {
                Failure::fatal("cannot read the API key from standard input")
                    .with_cause(e.to_string())
            })?;
        if text.len() as u64 > KEY_FILE_MAX {
            return Err(too_large("standard input"));
        }
        return parse_key(&text, "standard input");
    }
    // Look before reading: a fifo would block the read, and /dev/null or a directory are
    // no key files whatever their mode (a chmod hint there would be dangerous advice).
    let meta = std::fs::metadata(path).map_err(|e| {
        Failure::auth(format!("cannot read key file {}", path.display()))
            .with_cause(e.to_string())
            .with_hint("check the path given to --api-key-file (or `api_key_file` in the config)")
    })?;
    if !meta.is_file() {
        let what = if meta.is_dir() {
            "a directory"
        } else {
            "not a regular file"
        };
        return Err(Failure::auth(format!(
            "key file {} is {what}",
            path.display()
        ))
        .with_hint(
            "give --api-key-file the path of a regular file (mode 600) holding only the key, \
             or `-` to read it from standard input",
        )
        .into());
    }
    #[cfg(unix)]
    {
        let mode = mode_of(path).unwrap_or(0);
        if mode & 0o077 != 0 {
            return Err(Failure::auth(format!(
                "key file {} is readable by other users (mode {mode:o}); refusing to use it",
                path.display()
            ))
            .with_hint(format!(
                "run `chmod 600 {}` (a key readable by others is as good as leaked)",
                path.display()
            ))
            .into());
        }
    }
    let origin = format!("key file {}", path.display());
    if meta.len() > KEY_FILE_MAX {
        return Err(too_large(&origin));
    }
    let mut text = String::new();
    std::fs::File::open(path)
        .and_then(|f| f.take(KEY_FILE_MAX + 1).read_to_string(&mut text))
        .map_err(|e| {
            Failure::auth(format!("cannot read key file {}", path.display()))
                .with_cause(e.to_string())
                .with_hint("check the path given to --api-key-file")
        })?;
    if text.len() as u64 > KEY_FILE_MAX {
        return Err(too_large(&origin));
    }
    parse_key(&text, &origin)
}

/// The key in the credentials file, if the file exists.
fn read_credentials_file(
    path: &Path,
    warnings: &mut Vec<String>,
) -> anyhow::Result<Option<ApiKey>> {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => {
            return Err(Failure::auth(format!("cannot read {}", path.display()))
                .with_cause(e.to_string())
                .into());
        }
    };
    #[cfg(unix)]
    if let Ok(mode) = mode_of(path)
        && mode & 0o077 != 0
    {
        warnings.push(format!(
            "{} is readable by other users (mode {mode:o}); run `chmod 600 {}`",
            path.display(),
            path.display()
        ));
    }
    // An open directory lets others replace or remove the file even when the file is 0600.
    #[cfg(unix)]
    if let Some(dir) = path.parent()
        && let Ok(mode) = mode_of(dir)
        && mode & 0o077 != 0
    {
        warnings.push(open_dir_warning(dir, mode));
    }
    let _ = &warnings;
    let doc: CredentialsDoc = toml::from_str(&text).map_err(|_| {
        Failure::auth(format!(
            "the credentials file {} is damaged",
            path.display()
        ))
        .with_hint("run `fichier auth logout`, then `fichier auth login`")
    })?;
    Ok(Some(parse_key(
        &doc.api_key,
        &format!("{}", path.display()),
    )?))
}

fn write_credentials_file(
    path: &Path,
    key: &ApiKey,
    warnings: &mut Vec<String>,
) -> anyhow::Result<()> {
    if let Some(dir) = path.parent() {
        ensure_private_dir(dir, warnings).map_err(|e| {
            Failure::fatal(format!("cannot create {}", dir.display())).with_cause(e.to_string())
        })?;
    }
    // toml's string escaping handles every character an ApiKey can hold.
    let mut table = toml::Table::new();
    table.insert(
        "api_key".into(),
        toml::Value::String(key.expose_for_key_store().to_owned()),
    );
    let text = format!(
        "# fichier credentials: keep this file private (mode 0600).\n{}",
        toml::to_string(&table).unwrap_or_default()
    );
    write_private(path, text.as_bytes()).map_err(|e| {
        Failure::fatal(format!("cannot write {}", path.display()))
            .with_cause(e.to_string())
            .into()
    })
}

// ---------------------------------------------------------------------------------------------
// The chain

/// Finds the key to use, following the documented order.
pub fn resolve(settings: &Settings) -> anyhow::Result<ResolvedKey> {
    let mut warnings = Vec::new();
    let (key, source) = if let Some(path) = &settings.api_key_file {
        let key = read_key_file(path)?;
        let source = if path == Path::new("-") {
            KeySource::Stdin
        } else {
            KeySource::KeyFile(path.clone())
        };
        (key, source)
    } else if let Some(raw) = std::env::var(ENV_KEY).ok().filter(|v| !v.trim().is_empty()) {
        (
            parse_key(&raw, &format!("environment variable {ENV_KEY}"))?,
            KeySource::Env,
        )
    } else {
        let mut keyring_error = None;
        let from_keyring = open_keyring(settings).and_then(|k| match k.get() {
            Ok(Some(raw)) => Some((raw, k.name())),
            // An unreachable, locked or damaged keyring is not an error while the file holds
            // a key; when nothing does, it is named (it may be where the key was).
            Ok(None) => None,
            Err(e) => {
                keyring_error = Some(format!(
                    "the {} keyring could not be read: {}",
                    k.name(),
                    crate::printer::sanitize(&e)
                ));
                None
            }
        });
        if let Some((raw, name)) = from_keyring {
            (
                parse_key(&raw, &format!("the {name} keyring"))?,
                KeySource::Keyring(name),
            )
        } else {
            let path = credentials_path(settings);
            match read_credentials_file(&path, &mut warnings)? {
                Some(key) => (key, KeySource::CredentialsFile(path)),
                None => {
                    let failure = match keyring_error {
                        Some(why) => Failure::auth(format!("no API key could be read ({why})")),
                        None => Failure::auth("no API key configured"),
                    };
                    return Err(failure
                        .with_hint(
                            "run `fichier auth login` (or set FICHIER_API_KEY, or pass \
                             --api-key-file PATH); `fichier --sandbox ...` works without a key",
                        )
                        .into());
                }
            }
        }
    };
    warnings.extend(length_warning(&key));
    Ok(ResolvedKey {
        key,
        source,
        warnings,
    })
}

/// Where `store` put the key.
#[derive(Debug)]
pub struct Stored {
    /// The source a later run will read it from.
    pub source: KeySource,
    /// Warnings (permissions, keyring fallback).
    pub warnings: Vec<String>,
}

/// Where a key went and whose it is, as `auth login --json` and `auth rotate --json` say.
#[derive(Debug, serde::Serialize)]
pub struct StoredJson {
    stored_in: &'static str,
    path: Option<String>,
    email: Option<String>,
    offer: Option<String>,
}

impl Stored {
    /// The JSON report of this store for the account `email` with offer `offer`.
    pub fn json(&self, email: Option<String>, offer: Option<String>) -> StoredJson {
        StoredJson {
            stored_in: self.source.id(),
            path: self.source.path().map(|p| p.display().to_string()),
            email,
            offer,
        }
    }
}

/// The key `auth login` and `auth rotate` store: read from `--api-key-file` when given, else
/// from stdin, on a blocking thread.
pub async fn read_key_to_store(settings: &Settings) -> anyhow::Result<ApiKey> {
    let stdin_tty = settings.output.stdin_tty;
    let key_file = settings.api_key_file.clone();
    tokio::task::spawn_blocking(move || match key_file {
        Some(path) => read_key_file(&path),
        None => read_key_for_login(stdin_tty),
    })
    .await
    .map_err(|e| Failure::fatal("reading the key failed").with_cause(e.to_string()))?
}

/// [`store`] on a blocking thread (a keyring call may block).
pub async fn store_off_thread(
    settings: &Settings,
    key: &ApiKey,
    choice: StoreChoice,
    account: Option<&str>,
) -> anyhow::Result<Stored> {
    let (settings, key) = (settings.clone(), key.clone());
    let account = account.map(str::to_owned);
    tokio::task::spawn_blocking(move || store(&settings, &key, choice, account.as_deref()))
        .await
        .map_err(|e| Failure::fatal("storing the key failed").with_cause(e.to_string()))?
}

/// Stores a verified key, replacing any copy in the other store so a stale key can never
/// shadow the new one.
///
/// `account` is the e-mail `user/info` gave for the key (`None`: not checked), recorded so a
/// later `auth rotate` knows whose key it replaces; a record of an earlier key is dropped.
pub fn store(
    settings: &Settings,
    key: &ApiKey,
    choice: StoreChoice,
    account: Option<&str>,
) -> anyhow::Result<Stored> {
    let stored = store_key(settings, key, choice)?;
    record_account(settings, key, account);
    Ok(stored)
}

fn key_fingerprint(key: &ApiKey) -> String {
    fichier_scan::Fingerprint::of_key(key.expose_for_key_store()).to_string()
}

#[derive(serde::Serialize, serde::Deserialize)]
struct AccountDoc {
    email: String,
    key_fingerprint: String,
}

/// Writes (or, with no account, removes) the account record of `key`. Best effort: the key is
/// stored already, and a missing record only makes `auth rotate` ask.
fn record_account(settings: &Settings, key: &ApiKey, account: Option<&str>) {
    let path = settings.dirs.config.join(ACCOUNT_FILE);
    match account {
        Some(email) => {
            let doc = AccountDoc {
                email: email.to_owned(),
                key_fingerprint: key_fingerprint(key),
            };
            let text = toml::to_string(&doc).unwrap_or_default();
            let _ = write_private(&path, text.as_bytes());
        }
        None => {
            let _ = remove_if_exists(&path);
        }
    }
}

/// The account recorded for `key` when it was stored, if the record is about this key.
pub fn recorded_account(settings: &Settings, key: &ApiKey) -> Option<String> {
    let path = settings.dirs.config.join(ACCOUNT_FILE);
    let text = std::fs::read_to_string(path).ok()?;
    let doc: AccountDoc = toml::from_str(&text).ok()?;
    (doc.key_fingerprint == key_fingerprint(key)).then_some(doc.email)
}

fn store_key(settings: &Settings, key: &ApiKey, choice: StoreChoice) -> anyhow::Result<Stored> {
    let mut warnings = Vec::new();
    let file = credentials_path(settings);
    let keyring = if choice == StoreChoice::File {
        None
    } else {
        open_keyring(settings)
    };
    if choice == StoreChoice::Keyring && keyring.is_none() {
        return Err(Failure::fatal("no OS keyring is reachable")
            .with_hint(
                "use `fichier auth login --store file` (a 0600 file in the config dir), or start \
                 a Secret Service daemon (e.g. gnome-keyring)",
            )
            .into());
    }
    if let Some(k) = keyring {
        match k.set(key.expose_for_key_store()) {
            Ok(()) => {
                let _ = remove_if_exists(&file);
                return Ok(Stored {
                    source: KeySource::Keyring(k.name()),
                    warnings,
                });
            }
            Err(e) if choice == StoreChoice::Keyring => {
                return Err(
                    Failure::fatal(format!("the {} keyring refused the key", k.name()))
                        .with_cause(e)
                        .with_hint("use `fichier auth login --store file`")
                        .into(),
                );
            }
            Err(_) => {
                warnings.push(format!(
                    "the {} keyring is not usable; storing the key in {} instead",
                    k.name(),
                    file.display()
                ));
            }
        }
    } else if choice == StoreChoice::File {
        // A keyring entry would take precedence over the file: remove it.
        if let Some(k) = open_keyring(settings) {
            let _ = k.delete();
        }
    }
    write_credentials_file(&file, key, &mut warnings)?;
    Ok(Stored {
        source: KeySource::CredentialsFile(file),
        warnings,
    })
}

/// Removes the key from every store fichier writes; returns the stores it was removed from.
pub fn remove_all(settings: &Settings) -> anyhow::Result<Vec<KeySource>> {
    let mut removed = Vec::new();
    if let Some(k) = open_keyring(settings)
        && let Ok(true) = k.delete()
    {
        removed.push(KeySource::Keyring(k.name()));
    }
    let _ = remove_if_exists(&settings.dirs.config.join(ACCOUNT_FILE));
    let file = credentials_path(settings);
    if remove_if_exists(&file).map_err(|e| {
        Failure::fatal(format!("cannot remove {}", file.display())).with_cause(e.to_string())
    })? {
        removed.push(KeySource::CredentialsFile(file));
    }
    Ok(removed)
}

/// Reads a key for `auth login`: hidden prompt on a terminal, else all of stdin.
pub fn read_key_for_login(stdin_tty: bool) -> anyhow::Result<ApiKey> {
    let raw = if stdin_tty {
        rpassword::prompt_password("Paste your 1fichier API key (input hidden): ").map_err(|e| {
            Failure::fatal("cannot read the key from the terminal").with_cause(e.to_string())
        })?
    } else {
        let mut text = String::new();
        std::io::stdin().read_to_string(&mut text).map_err(|e| {
            Failure::fatal("cannot read the key from standard input").with_cause(e.to_string())
        })?;
        text
    };
    parse_key(
        &raw,
        if stdin_tty {
            "the prompt"
        } else {
            "standard input"
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A key typed in the wrong place is masked in messages exactly as `auth status` shows it.
    #[test]
    fn misplaced_key_is_masked_like_the_stored_one() {
        let raw = fichier_testkit::fake_key();
        let key = ApiKey::parse(&raw).unwrap();
        let text = format!("cannot read key file /tmp/{raw}");
        assert_eq!(
            crate::printer::mask_keys(&text),
            format!("cannot read key file /tmp/{}", key.masked())
        );
    }

    #[test]
    fn malformed_key_error_never_echoes_key() {
        let err = parse_key("abcd efgh", "test").unwrap_err();
        let text = crate::error::render(&err, false).text;
        assert!(!text.contains("abcd"), "{text}");
        assert!(text.contains("position 5"), "{text}");
    }

    /// The keyring adapter against keyring-core's in-memory mock store (never the real one).
    #[cfg(feature = "os-keyring")]
    #[test]
    fn os_keyring_adapter_round_trip() {
        let k = os::OsKeyring::with_store(keyring_core::mock::Store::new().unwrap());
        assert_eq!(k.get().unwrap(), None);
        k.set("abcdefgh").unwrap();
        assert_eq!(k.get().unwrap().as_deref(), Some("abcdefgh"));
        assert!(k.delete().unwrap());
        assert_eq!(k.get().unwrap(), None);
        assert!(!k.delete().unwrap());
    }

    #[cfg(unix)]
    #[test]
    fn group_readable_key_file_is_refused() {
        use std::os::unix::fs::PermissionsExt as _;
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("key");
        std::fs::write(&p, "A".repeat(32)).unwrap();
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o640)).unwrap();
        let err = read_key_file(&p).unwrap_err();
        let r = crate::error::render(&err, false);
        assert_eq!(r.exit, crate::error::Exit::Auth);
        assert!(r.text.contains("chmod 600"), "{}", r.text);
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o600)).unwrap();
        assert!(read_key_file(&p).is_ok());
    }
}
