//! Where the web side is set up and keeps its files: ports and addresses ([`WebConfig`]), the
//! data-dir files (access token, running address) and how they are written (private, atomic).

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// Default dashboard port.
pub const DEFAULT_PORT: u16 = 9667;
/// The Click'n'Load port browsers' pages post to.
pub const DEFAULT_CNL_PORT: u16 = 9666;

/// How the web side is set up.
#[derive(Clone, Debug)]
pub struct WebConfig {
    /// Address of the dashboard listener (`127.0.0.1` unless `--listen`).
    pub listen: IpAddr,
    /// Dashboard port; 0 picks a free one (written to [`addr_path`]).
    pub port: u16,
    /// Click'n'Load port (always on 127.0.0.1); `None` with `--no-cnl`.
    pub cnl_port: Option<u16>,
    /// The data dir: access token, origins file, address file.
    pub data_dir: PathBuf,
    /// Where links added without a target folder are downloaded.
    pub download_dir: PathBuf,
    /// The API key masked (`ab…yz`), shown in the account panel; never the key.
    pub key_hint: Option<String>,
    /// The backup journal (`fichier backup`'s runs), shown on the Backups page when it exists.
    pub backup_journal: Option<PathBuf>,
}

impl WebConfig {
    /// Loopback, default ports.
    pub fn new(data_dir: PathBuf, download_dir: PathBuf) -> WebConfig {
        WebConfig {
            listen: IpAddr::V4(Ipv4Addr::LOCALHOST),
            port: DEFAULT_PORT,
            cnl_port: Some(DEFAULT_CNL_PORT),
            data_dir,
            download_dir,
            key_hint: None,
            backup_journal: None,
        }
    }
}

/// The access token file in the data dir.
pub fn token_path(data_dir: &Path) -> PathBuf {
    data_dir.join("dashboard-token")
}

/// The one-time sign-in code `fichier dashboard` writes for its link.
pub fn login_path(data_dir: &Path) -> PathBuf {
    data_dir.join("dashboard-login")
}

/// The file where a running daemon writes its dashboard address (for `fichier dashboard`).
pub fn addr_path(data_dir: &Path) -> PathBuf {
    data_dir.join("dashboard.json")
}

/// Contents of [`addr_path`].
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Running {
    /// The dashboard's base URL (`http://127.0.0.1:9667/`).
    pub url: String,
    /// The Click'n'Load listener, when on.
    pub cnl: Option<SocketAddr>,
    /// The daemon's process id.
    pub pid: u32,
}

/// Writes `bytes` to `path` with mode `0600` (in a `0700` directory), through a temporary file
/// renamed into place: the one private-file rule of `fichier-state`.
pub fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    fichier_state::write_private(path, bytes)
}
