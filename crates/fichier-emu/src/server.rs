//! The running server: router, accept loop (HTTP or HTTPS), and the public [`Emulator`]
//! handle with its admin operations. The top layer: it imports the handlers, never the reverse.

use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, RwLock};

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::routing::{any, get, post};
use tokio::net::TcpListener;
use tokio::task::JoinSet;

use crate::accounts as admin_ops;
use crate::error::EmuError;
use crate::faults::{FaultPlan, FaultState};
use crate::ids;
use crate::limits::{Limiter, Limits};
use crate::log::LoggedRequest;
use crate::model::{Account, Config, Offer};
use crate::state::{App, PublicBase};
use crate::store::Store;

fn router(app: Arc<App>) -> Router {
    Router::new()
        .route("/v1/{*path}", any(crate::api::dispatch))
        .route(
            "/upload.cgi",
            post(crate::node::upload).layer(DefaultBodyLimit::disable()),
        )
        .route("/end.pl", get(crate::node::end).post(crate::node::end))
        .route(
            "/dl/{token}",
            get(crate::download::download).head(crate::download::download),
        )
        .route(
            "/dir/{id}",
            get(crate::share::listing).post(crate::share::listing),
        )
        .nest("/admin", crate::admin::router())
        .layer(axum::middleware::from_fn_with_state(
            app.clone(),
            crate::middleware::apply,
        ))
        .layer(axum::middleware::from_fn_with_state(
            app.clone(),
            crate::middleware::record,
        ))
        .with_state(app)
}

/// A running emulator. Dropping it (or [`Emulator::shutdown`]) stops the server.
#[derive(Debug)]
pub struct Emulator {
    app: Arc<App>,
    server: tokio::task::JoinHandle<()>,
}

impl Emulator {
    /// Open the data directory, bind, and serve in the background.
    pub async fn start(config: Config) -> Result<Emulator, EmuError> {
        let public = config
            .public_url
            .as_deref()
            .map(PublicBase::parse)
            .transpose()?;
        if config.max_connections == 0 {
            return Err(EmuError::Invalid(
                "max_connections is 0: allow at least one connection".into(),
            ));
        }
        let store = Store::open(&config.data_dir)?;
        let tls = match &config.tls {
            Some(files) => Some(crate::tls::acceptor(files)?),
            None => None,
        };
        let listener = TcpListener::bind(config.bind).await?;
        let addr = listener.local_addr()?;
        let mut faults = FaultState::default();
        if let Some(plan) = &config.fault_plan {
            faults.set(plan.clone());
        }
        let http = reqwest::Client::builder()
            .no_proxy()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| EmuError::Invalid(format!("HTTP client: {e}")))?;
        let app = Arc::new_cyclic(|me| App {
            me: me.clone(),
            store,
            limits: RwLock::new(config.limits.clone()),
            config,
            limiter: Mutex::new(Limiter::default()),
            faults: Mutex::new(faults),
            log: Mutex::new(VecDeque::new()),
            tokens: Mutex::new(HashMap::new()),
            addr,
            scheme: if tls.is_some() { "https" } else { "http" },
            public,
            tasks: Mutex::new(JoinSet::new()),
            http,
        });
        // Remote-upload jobs interrupted by a restart run again.
        crate::remote::resume(&app);
        // A fault plan stored by the admin CLI applies while the server runs.
        let watcher = Arc::downgrade(&app);
        app.spawn(async move {
            let mut last = None;
            if let Some(app) = watcher.upgrade()
                && app.config.fault_plan.is_some()
            {
                // A plan given in the config wins until the stored one changes.
                last = app.store.meta("fault_plan").ok().flatten();
            }
            loop {
                match watcher.upgrade() {
                    Some(app) => app.reload_stored_plan(&mut last),
                    None => return,
                }
                tokio::time::sleep(std::time::Duration::from_millis(500)).await;
            }
        });
        // The policy every listener of the project follows; the emulator's limits are its own
        // settings (`--header-timeout`, `--max-connections`).
        let policy = fichier_listen::Policy {
            header_timeout: app.config.header_read_timeout,
            body_window: app.config.header_read_timeout,
            max_connections: app.config.max_connections,
            ..fichier_listen::Policy::default()
        };
        let server = tokio::spawn(fichier_listen::serve(
            listener,
            router(app.clone()),
            policy,
            tls,
            std::future::pending(),
        ));
        Ok(Emulator { app, server })
    }

    /// Bound address.
    pub fn addr(&self) -> SocketAddr {
        self.app.addr
    }

    /// `http://127.0.0.1:PORT` (or `https://…` with TLS).
    pub fn base_url(&self) -> String {
        format!("{}://{}", self.app.scheme, self.app.addr)
    }

    /// API base with trailing slash: `http://127.0.0.1:PORT/v1/`.
    pub fn api_url(&self) -> String {
        format!("{}/v1/", self.base_url())
    }

    /// Data directory.
    pub fn data_dir(&self) -> &std::path::Path {
        &self.app.config.data_dir
    }

    /// Create an account with a generated 32-character key.
    pub fn create_account(&self, email: &str, offer: Offer) -> Result<Account, EmuError> {
        self.create_account_with_key(email, offer, &ids::api_key())
    }

    /// Create an account with the given key.
    pub fn create_account_with_key(
        &self,
        email: &str,
        offer: Offer,
        key: &str,
    ) -> Result<Account, EmuError> {
        admin_ops::create_account(&self.app.store, email, offer, key)
    }

    /// The account with this e-mail, created (Premium or the given offer) if missing.
    pub fn ensure_account(&self, email: &str, offer: Offer) -> Result<Account, EmuError> {
        match self.app.store.account_by_email(email)? {
            Some(a) => Ok(a),
            None => self.create_account(email, offer),
        }
    }

    /// Look up an account.
    pub fn account(&self, email: &str) -> Result<Account, EmuError> {
        self.app
            .store
            .account_by_email(email)?
            .ok_or_else(|| EmuError::NoAccount(email.to_string()))
    }

    /// Replace an account's key; the old key then answers `No such user #93`.
    pub fn regenerate_key(&self, email: &str) -> Result<String, EmuError> {
        admin_ops::regenerate_key(&self.app.store, email)
    }

    /// Change an account's offer.
    pub fn set_offer(&self, email: &str, offer: Offer) -> Result<(), EmuError> {
        admin_ops::set_offer(&self.app.store, email, offer)
    }

    /// Give an account CDN credits (GB).
    pub fn add_cdn_credits(&self, email: &str, gb: f64) -> Result<(), EmuError> {
        let a = self.account(email)?;
        self.app.store.add_cdn(a.id, gb)?;
        Ok(())
    }

    /// Create a voucher owned by `email` for `service`; returns its 32-character code.
    pub fn create_voucher(&self, email: &str, service: &str) -> Result<String, EmuError> {
        let a = self.account(email)?;
        let code = ids::alnum(32).to_uppercase();
        self.app.store.create_voucher(a.id, &code, service)?;
        Ok(code)
    }

    /// Replace the limits (windows and locks start afresh).
    pub fn set_limits(&self, limits: Limits) {
        *self.app.limits.write().unwrap_or_else(|p| p.into_inner()) = limits;
        self.app
            .limiter
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .reset();
    }

    /// Install a fault plan (counters start at zero).
    pub fn set_fault_plan(&self, plan: FaultPlan) {
        self.app
            .faults
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .set(plan);
    }

    /// Remove every fault.
    pub fn clear_faults(&self) {
        self.set_fault_plan(FaultPlan::default());
    }

    /// Requests served by this process, oldest first (keys masked).
    pub fn request_log(&self) -> Vec<LoggedRequest> {
        self.app
            .log
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .iter()
            .cloned()
            .collect()
    }

    /// Stop serving and wait for the server task to end.
    pub async fn shutdown(mut self) {
        self.stop();
        let handle = std::mem::replace(&mut self.server, tokio::spawn(async {}));
        let _ = handle.await;
    }

    fn stop(&self) {
        self.server.abort();
        self.app
            .tasks
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .abort_all();
    }
}

impl Drop for Emulator {
    fn drop(&mut self) {
        self.stop();
    }
}
