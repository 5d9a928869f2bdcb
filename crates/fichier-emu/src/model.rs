//! Public data types of the emulator: offers, accounts, account settings, configuration.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::faults::FaultPlan;
use crate::limits::Limits;

/// The 11 domains of the service, indexed by domain id (reference §1.7).
pub const DOMAINS: [&str; 11] = [
    "1fichier.com",
    "alterupload.com",
    "cjoint.net",
    "desfichiers.com",
    "dfichiers.com",
    "megadl.fr",
    "mesfichiers.org",
    "piecejointe.net",
    "pjointe.com",
    "tenvoi.com",
    "dl4free.com",
];

/// Account offer, sent on the wire as `"0"`…`"3"` in `user/info`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Offer {
    /// No offer: the API refuses the key with `Must be a customer (Premium, Access) #200`.
    Free,
    /// Premium.
    Premium,
    /// Access.
    Access,
    /// Premium GOLD (offer 3, as JDownloader reads it).
    Gold,
}

impl Offer {
    /// Numeric code used on the wire.
    pub fn code(self) -> i64 {
        match self {
            Offer::Free => 0,
            Offer::Premium => 1,
            Offer::Access => 2,
            Offer::Gold => 3,
        }
    }

    /// From the numeric code; unknown codes are treated as free.
    pub fn from_code(code: i64) -> Offer {
        match code {
            1 => Offer::Premium,
            2 => Offer::Access,
            3 => Offer::Gold,
            _ => Offer::Free,
        }
    }

    /// Whether the key may use the API.
    pub fn is_customer(self) -> bool {
        self != Offer::Free
    }
}

impl std::str::FromStr for Offer {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "free" | "0" => Ok(Offer::Free),
            "premium" | "1" => Ok(Offer::Premium),
            "access" | "2" => Ok(Offer::Access),
            "gold" | "3" => Ok(Offer::Gold),
            _ => Err(format!(
                "unknown offer {s:?}: use free, premium, access or gold"
            )),
        }
    }
}

/// An account and its API key. The key is a fake, generated secret: do not print it.
#[derive(Clone, PartialEq, Eq)]
pub struct Account {
    /// Internal account id.
    pub id: i64,
    /// E-mail address (the account's name).
    pub email: String,
    /// Offer.
    pub offer: Offer,
    /// API key (32 characters `[A-Za-z0-9]` when generated).
    pub api_key: String,
}

impl std::fmt::Debug for Account {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Account")
            .field("id", &self.id)
            .field("email", &self.email)
            .field("offer", &self.offer)
            .field("api_key", &crate::ids::mask(&self.api_key))
            .finish()
    }
}

/// Settings shown and changed by `user/info.cgi`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct UserSettings {
    pub ftp_mode: i64,
    pub ftp_did: i64,
    pub ftp_report: i64,
    pub ru_report: i64,
    pub default_domain: i64,
    pub page_limit: i64,
    pub default_port: i64,
    pub default_port_files: i64,
    pub use_cdn: i64,
    pub download_menu: i64,
}

impl Default for UserSettings {
    fn default() -> Self {
        UserSettings {
            ftp_mode: 0,
            ftp_did: 0,
            ftp_report: 0,
            ru_report: 1,
            default_domain: 0,
            page_limit: 100,
            default_port: 0,
            default_port_files: 0,
            use_cdn: 0,
            download_menu: 1,
        }
    }
}

/// TLS certificate and key (PEM files) for serving HTTPS.
#[derive(Debug, Clone)]
pub struct TlsFiles {
    /// Certificate chain, PEM.
    pub cert: PathBuf,
    /// Private key, PEM.
    pub key: PathBuf,
}

/// Emulator configuration. Every field is public; the setters return `&mut Self` for chaining.
#[derive(Debug, Clone)]
pub struct Config {
    /// File bytes and the SQLite metadata live here.
    pub data_dir: PathBuf,
    /// Listen address; default `127.0.0.1:0` (any free port).
    pub bind: SocketAddr,
    /// Rate limits; default [`Limits::off`].
    pub limits: Limits,
    /// Validity of download tokens; default 5 minutes.
    pub token_ttl: Duration,
    /// How long `end.pl` keeps answering after an upload is finalised; default 2 hours.
    pub upload_report_ttl: Duration,
    /// Serve HTTPS with this certificate and key instead of plain HTTP.
    pub tls: Option<TlsFiles>,
    /// Host (`name` or `name:port`) advertised by `upload/get_upload_server` as the node;
    /// default: the bound address, e.g. `127.0.0.1:PORT`.
    pub node_host: Option<String>,
    /// Host used in download token URLs; default: the bound address.
    pub download_host: Option<String>,
    /// Make uploaded files visible when the upload request ends instead of on the first
    /// `end.pl` request (the service stores files once the client reaches `end.pl`).
    pub finalize_on_upload: bool,
    /// Country code the emulator assumes for every client, for ACL country rules; default `FR`.
    pub client_country: String,
    /// Fault plan active from the start.
    pub fault_plan: Option<FaultPlan>,
    /// Public base URL (`scheme://host[:port]`, no path) put in upload node and download URLs
    /// instead of the bound address and own scheme: for serving plain HTTP behind a TLS
    /// terminator. `node_host` and `download_host` still win where set.
    pub public_url: Option<String>,
    /// Longest wait for a request's headers (also the idle time of a kept-alive connection);
    /// default 30 s.
    pub header_read_timeout: Duration,
    /// Most connections served at once; further clients wait in the listen backlog until one
    /// closes. Default 1024.
    pub max_connections: usize,
}

impl Config {
    /// Defaults: bind `127.0.0.1:0`, limits off, 5-minute tokens, HTTP.
    pub fn new(data_dir: impl Into<PathBuf>) -> Self {
        Config {
            data_dir: data_dir.into(),
            bind: SocketAddr::from(([127, 0, 0, 1], 0)),
            limits: Limits::off(),
            token_ttl: Duration::from_secs(300),
            upload_report_ttl: Duration::from_secs(2 * 3600),
            tls: None,
            node_host: None,
            download_host: None,
            finalize_on_upload: false,
            client_country: "FR".to_string(),
            fault_plan: None,
            public_url: None,
            header_read_timeout: Duration::from_secs(30),
            max_connections: 1024,
        }
    }

    /// Set the listen address.
    pub fn bind(&mut self, addr: SocketAddr) -> &mut Self {
        self.bind = addr;
        self
    }

    /// Set the rate limits.
    pub fn limits(&mut self, limits: Limits) -> &mut Self {
        self.limits = limits;
        self
    }

    /// Set the download token validity.
    pub fn token_ttl(&mut self, ttl: Duration) -> &mut Self {
        self.token_ttl = ttl;
        self
    }

    /// Serve HTTPS.
    pub fn tls(&mut self, cert: impl Into<PathBuf>, key: impl Into<PathBuf>) -> &mut Self {
        self.tls = Some(TlsFiles {
            cert: cert.into(),
            key: key.into(),
        });
        self
    }

    /// Advertise this upload node host.
    pub fn node_host(&mut self, host: impl Into<String>) -> &mut Self {
        self.node_host = Some(host.into());
        self
    }

    /// Put this host in download token URLs.
    pub fn download_host(&mut self, host: impl Into<String>) -> &mut Self {
        self.download_host = Some(host.into());
        self
    }

    /// Advertise this public base URL (`https://emu.example:8443`) in node and download URLs.
    pub fn public_url(&mut self, url: impl Into<String>) -> &mut Self {
        self.public_url = Some(url.into());
        self
    }

    /// Start with this fault plan.
    pub fn fault_plan(&mut self, plan: FaultPlan) -> &mut Self {
        self.fault_plan = Some(plan);
        self
    }
}
