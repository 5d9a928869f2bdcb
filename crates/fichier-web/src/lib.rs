//! The `fichier daemon`'s local web side: the dashboard (queue, add, account, Click'n'Load
//! approvals, log; HTML readable without JS, a JSON API and server-sent events for the live
//! page) and the Click'n'Load 2 receiver. Both listen on loopback by default; the dashboard
//! needs the access token, the receiver only queues links from origins the user approved.
//!
//! Security rules (see `docs/dashboard.md`): token on every request, CSRF token on every
//! state change, `Host` checked against loopback names, strict CSP (no inline script), every
//! remote name escaped, the API key never sent to the page.

pub mod account;
pub mod actions;
pub mod api;
pub mod auth;
pub mod backups;
pub mod cnl;
pub mod events;
pub mod html;
pub mod inbox;
pub mod log;
pub mod pages;
pub mod queue;

use std::future::Future;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use axum::Router;
use axum::middleware::{from_fn, from_fn_with_state};
use serde::{Deserialize, Serialize};
use tokio::net::TcpListener;
use tokio::sync::watch;

use crate::account::Account;
use crate::inbox::Inbox;
use crate::log::Log;
use crate::queue::Queue;

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

/// Why the web side could not start or stopped.
#[derive(Debug, thiserror::Error)]
pub enum WebError {
    /// A port is taken or the address is not ours.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// The OS error.
        source: std::io::Error,
    },
    /// The queue store could not be opened.
    #[error("queue store: {0}")]
    Store(String),
    /// Token or address file.
    #[error("{path}: {source}")]
    File {
        /// The file.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// The server failed while running.
    #[error("web server: {0}")]
    Serve(std::io::Error),
}

/// The access token file in the data dir.
pub fn token_path(data_dir: &Path) -> PathBuf {
    data_dir.join("dashboard-token")
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

/// Writes `bytes` to `path` with mode `0600`, through a temporary file renamed into place.
pub fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write as _;
    let dir = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir)?;
    let tmp = dir.join(format!(
        ".{}.{}.tmp",
        path.file_name().and_then(|n| n.to_str()).unwrap_or("file"),
        std::process::id()
    ));
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        options.mode(0o600);
    }
    let mut f = options.open(&tmp)?;
    f.write_all(bytes)?;
    f.sync_all()?;
    std::fs::rename(&tmp, path)
}

/// What every handler shares.
#[derive(Debug)]
pub struct App {
    /// The queue store.
    pub queue: Queue,
    /// Click'n'Load pending list and origins.
    pub inbox: Inbox,
    /// Cached account data.
    pub account: Account,
    /// The recent log.
    pub log: Arc<Log>,
    /// This process's CSRF token.
    pub csrf: String,
    /// Where the access token is (re-read on each request so a fresh `fichier dashboard`
    /// link works at once and the old one stops).
    pub token_path: PathBuf,
    /// Becomes true at shutdown so live streams end.
    pub stopping: watch::Receiver<bool>,
    /// The queue as the watcher last read it (set once the watcher runs).
    pub snapshots: std::sync::OnceLock<watch::Receiver<Arc<events::Snapshot>>>,
    /// The backup journal, if backups run here.
    pub backup_journal: Option<PathBuf>,
}

/// Builds the shared state and starts the queue watcher (no listener); `stopping` ends the
/// watcher and the live streams. Call inside a Tokio runtime.
pub fn app(
    config: &WebConfig,
    store_path: &Path,
    client: fichier_api::Client,
    stopping: watch::Receiver<bool>,
) -> Result<Arc<App>, WebError> {
    let token_path = token_path(&config.data_dir);
    auth::load_or_mint_token(&token_path).map_err(|source| WebError::File {
        path: token_path.clone(),
        source,
    })?;
    let queue = Queue::open(store_path, config.download_dir.clone())?;
    let log = Arc::new(Log::default());
    let inbox = Inbox::new(
        config.data_dir.join("cnl-origins.json"),
        queue.clone(),
        log.clone(),
    );
    let app = Arc::new(App {
        queue,
        inbox,
        account: Account::new(client, config.key_hint.clone()),
        log,
        csrf: auth::random_token(),
        token_path,
        stopping,
        snapshots: std::sync::OnceLock::new(),
        backup_journal: config.backup_journal.clone(),
    });
    let _ = app.snapshots.set(events::watch_queue(&app));
    Ok(app)
}

/// The dashboard's routes with the token/CSRF guard, host check and security headers.
pub fn dashboard_router(app: Arc<App>, port: u16, listen: IpAddr) -> Router {
    pages::router()
        .merge(api::router())
        .layer(from_fn_with_state(app.clone(), auth::guard))
        .layer(from_fn_with_state((port, listen), auth::check_host))
        .layer(from_fn(auth::security_headers))
        .with_state(app)
}

/// The Click'n'Load routes with the host check and security headers.
pub fn cnl_router(app: Arc<App>, port: u16) -> Router {
    cnl::router(app)
        .layer(from_fn_with_state(
            (port, IpAddr::V4(Ipv4Addr::LOCALHOST)),
            auth::check_host,
        ))
        .layer(from_fn(auth::security_headers))
}

async fn bind(addr: SocketAddr) -> Result<TcpListener, WebError> {
    TcpListener::bind(addr)
        .await
        .map_err(|source| WebError::Bind { addr, source })
}

/// Both listeners, bound and not serving yet (so the caller learns the ports first).
#[derive(Debug)]
pub struct Bound {
    config: WebConfig,
    dash: TcpListener,
    dash_addr: SocketAddr,
    cnl: Option<(TcpListener, SocketAddr)>,
}

impl Bound {
    /// Binds the dashboard on `config.listen:config.port` and Click'n'Load on
    /// `127.0.0.1:cnl_port`.
    pub async fn bind(config: WebConfig) -> Result<Bound, WebError> {
        let dash = bind(SocketAddr::new(config.listen, config.port)).await?;
        let dash_addr = dash.local_addr().map_err(WebError::Serve)?;
        let cnl = match config.cnl_port {
            Some(p) => {
                let l = bind(SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), p)).await?;
                let a = l.local_addr().map_err(WebError::Serve)?;
                Some((l, a))
            }
            None => None,
        };
        Ok(Bound {
            config,
            dash,
            dash_addr,
            cnl,
        })
    }

    /// The dashboard's base URL (`http://127.0.0.1:9667/`).
    pub fn url(&self) -> String {
        let ip = self.dash_addr.ip();
        let host = if ip.is_unspecified() || ip.is_loopback() {
            "127.0.0.1".to_owned()
        } else if ip.is_ipv6() {
            format!("[{ip}]")
        } else {
            ip.to_string()
        };
        format!("http://{host}:{}/", self.dash_addr.port())
    }

    /// The Click'n'Load listener's address, when on.
    pub fn cnl_addr(&self) -> Option<SocketAddr> {
        self.cnl.as_ref().map(|(_, a)| *a)
    }

    /// Serves until `shutdown` completes. Writes [`Running`] to [`addr_path`] once serving
    /// and removes it at the end.
    pub async fn serve(
        self,
        store_path: PathBuf,
        client: fichier_api::Client,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> Result<(), WebError> {
        let (stop_tx, stop_rx) = watch::channel(false);
        let app = app(&self.config, &store_path, client, stop_rx.clone())?;
        let running = Running {
            url: self.url(),
            cnl: self.cnl_addr(),
            pid: std::process::id(),
        };
        let addr_file = addr_path(&self.config.data_dir);
        write_private(
            &addr_file,
            &serde_json::to_vec_pretty(&running).unwrap_or_default(),
        )
        .map_err(|source| WebError::File {
            path: addr_file.clone(),
            source,
        })?;
        tracing::info!(url = %running.url, cnl = ?running.cnl, "dashboard listening");

        tokio::spawn(async move {
            shutdown.await;
            let _ = stop_tx.send(true);
        });
        let stopped = |mut rx: watch::Receiver<bool>| async move {
            let _ = rx.wait_for(|s| *s).await;
        };
        let dash_server = axum::serve(
            self.dash,
            dashboard_router(app.clone(), self.dash_addr.port(), self.config.listen),
        )
        .with_graceful_shutdown(stopped(stop_rx.clone()));
        let result = match self.cnl {
            Some((l, a)) => {
                let cnl_server = axum::serve(l, cnl_router(app.clone(), a.port()))
                    .with_graceful_shutdown(stopped(stop_rx.clone()));
                tokio::try_join!(async { dash_server.await }, async { cnl_server.await })
                    .map(|_| ())
            }
            None => dash_server.await,
        };
        let _ = std::fs::remove_file(&addr_file);
        result.map_err(WebError::Serve)
    }
}

/// Serves the dashboard (and the Click'n'Load receiver unless `cnl_port` is `None`) until
/// `shutdown` completes: [`Bound::bind`] then [`Bound::serve`].
pub async fn serve(
    config: WebConfig,
    store_path: PathBuf,
    client: fichier_api::Client,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), WebError> {
    Bound::bind(config)
        .await?
        .serve(store_path, client, shutdown)
        .await
}
