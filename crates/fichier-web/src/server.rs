//! The listeners: the shared state built at start, the dashboard's and Click'n'Load's routers
//! with their guards, and [`Bound`], both ports bound before serving so the caller learns
//! them first.

use std::future::Future;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::middleware::{from_fn, from_fn_with_state};
use tokio::net::TcpListener;
use tokio::sync::watch;

use crate::account::Account;
use crate::config::{Running, WebConfig, addr_path, login_path, token_path, write_private};
use crate::error::ServeError;
use crate::inbox::Inbox;
use crate::log::Log;
use crate::queue::Queue;
use crate::state::App;
use crate::{actions, api, auth, cnl, events, pages};

/// The dashboard's connections: the project's policy, with room for the open pages' live
/// streams (each holds one connection) well below the usual 1024 file descriptors.
const DASHBOARD_POLICY: fichier_listen::Policy = fichier_listen::Policy {
    header_timeout: std::time::Duration::from_secs(10),
    body_min_rate: 1024,
    body_window: std::time::Duration::from_secs(10),
    max_connections: 128,
};

/// Click'n'Load: short hand-offs from pages, so fewer connections.
const CNL_POLICY: fichier_listen::Policy = fichier_listen::Policy {
    max_connections: 32,
    ..DASHBOARD_POLICY
};

/// Builds the shared state and starts the queue watcher (no listener); `stopping` ends the
/// watcher and the live streams. Call inside a Tokio runtime.
fn app(
    config: &WebConfig,
    store_path: &Path,
    client: fichier_api::Client,
    stopping: watch::Receiver<bool>,
    port: u16,
) -> Result<Arc<App>, ServeError> {
    let token_path = token_path(&config.data_dir);
    auth::load_or_mint_token(&token_path).map_err(|source| ServeError::File {
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
        login_path: login_path(&config.data_dir),
        port,
        stopping,
        snapshots: std::sync::OnceLock::new(),
        backup_journal: config.backup_journal.clone(),
    });
    let _ = app.snapshots.set(events::watch_queue(&app));
    Ok(app)
}

/// The dashboard's routes with the token/CSRF guard, host check and security headers.
fn dashboard_router(app: Arc<App>, port: u16, listen: IpAddr) -> Router {
    pages::router()
        .merge(api::router())
        // axum's default 2 MiB would refuse the documented 4 MiB link lists; the multipart
        // framing around the file needs a little more.
        .layer(DefaultBodyLimit::max(actions::MAX_UPLOAD + 64 * 1024))
        .layer(from_fn_with_state(app.clone(), auth::guard))
        .layer(from_fn_with_state((port, listen), auth::check_host))
        .layer(from_fn(auth::security_headers))
        .with_state(app)
}

/// The Click'n'Load routes with the host check and security headers.
fn cnl_router(app: Arc<App>, port: u16) -> Router {
    cnl::router(app)
        .layer(from_fn_with_state(
            (port, IpAddr::V4(Ipv4Addr::LOCALHOST)),
            auth::check_host,
        ))
        .layer(from_fn(auth::security_headers))
}

async fn bind(addr: SocketAddr) -> Result<TcpListener, ServeError> {
    TcpListener::bind(addr)
        .await
        .map_err(|source| ServeError::Bind { addr, source })
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
    pub async fn bind(config: WebConfig) -> Result<Bound, ServeError> {
        let dash = bind(SocketAddr::new(config.listen, config.port)).await?;
        let dash_addr = dash.local_addr().map_err(ServeError::Serve)?;
        let cnl = match config.cnl_port {
            Some(p) => {
                let l = bind(SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), p)).await?;
                let a = l.local_addr().map_err(ServeError::Serve)?;
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
    ) -> Result<(), ServeError> {
        let (stop_tx, stop_rx) = watch::channel(false);
        let app = app(
            &self.config,
            &store_path,
            client,
            stop_rx.clone(),
            self.dash_addr.port(),
        )?;
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
        .map_err(|source| ServeError::File {
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
        let dash_server = fichier_listen::serve(
            self.dash,
            dashboard_router(app.clone(), self.dash_addr.port(), self.config.listen),
            DASHBOARD_POLICY,
            None,
            stopped(stop_rx.clone()),
        );
        match self.cnl {
            Some((l, a)) => {
                let cnl_server = fichier_listen::serve(
                    l,
                    cnl_router(app.clone(), a.port()),
                    CNL_POLICY,
                    None,
                    stopped(stop_rx.clone()),
                );
                tokio::join!(dash_server, cnl_server);
            }
            None => dash_server.await,
        }
        let _ = std::fs::remove_file(&addr_file);
        Ok(())
    }
}
