//! The web side's settings shared by `fichier daemon` and `fichier dashboard --serve`
//! (listeners, the non-loopback warning) and the daemon's start of it. Kept out of `cmd/` so
//! the daemon and the dashboard command need not import each other.

use std::net::{IpAddr, Ipv4Addr};

use fichier_web::{Bound, WebConfig};

use crate::cli::WebArgs;
use crate::context::Context;
use crate::error::Failure;

/// The web settings of `fichier daemon` and `fichier dashboard --serve`, with a warning
/// printed for a non-loopback `--listen`.
pub fn web_config(ctx: &Context, web: &WebArgs, download_dir: std::path::PathBuf) -> WebConfig {
    let mut config = WebConfig::new(ctx.settings.paths.data().to_path_buf(), download_dir);
    config.backup_journal = Some(ctx.settings.paths.backup_journal());
    if let Some(port) = web.port {
        config.port = port;
    }
    config.cnl_port = if web.no_cnl {
        None
    } else {
        Some(web.cnl_port.unwrap_or(fichier_web::DEFAULT_CNL_PORT))
    };
    if let Some(addr) = web.listen {
        if !addr.is_loopback() {
            ctx.printer.warn(&format!(
                "the dashboard listens on {addr}: other machines can reach it, and only the \
                 access token protects it (plain HTTP: use it on a network you trust)"
            ));
        }
        config.listen = addr;
    } else {
        config.listen = IpAddr::V4(Ipv4Addr::LOCALHOST);
    }
    config
}

/// The web options as daemon arguments again (for the unit `daemon install` writes).
pub fn web_flags(web: &WebArgs) -> Vec<String> {
    let mut flags = Vec::new();
    if let Some(p) = web.port {
        flags.extend(["--port".to_owned(), p.to_string()]);
    }
    if let Some(c) = web.cnl_port {
        flags.extend(["--cnl-port".to_owned(), c.to_string()]);
    }
    if web.no_cnl {
        flags.push("--no-cnl".to_owned());
    }
    if let Some(a) = web.listen {
        flags.extend(["--listen".to_owned(), a.to_string()]);
    }
    flags
}

/// Starts the daemon's dashboard and Click'n'Load receiver beside the runner; they stop when
/// `stop` turns true. A default port already taken (another daemon, JDownloader on 9666) only
/// warns, the downloads matter more; a port given with --port/--cnl-port is an error.
pub async fn start_for_daemon(
    ctx: &mut Context,
    web: &WebArgs,
    download_dir: std::path::PathBuf,
    store: std::path::PathBuf,
    (client, key_hint): (fichier_api::Client, String),
    mut stop: tokio::sync::watch::Receiver<bool>,
) -> anyhow::Result<Option<tokio::task::JoinHandle<()>>> {
    let mut config = web_config(ctx, web, download_dir);
    config.key_hint = Some(key_hint);
    let bound = match Bound::bind(config).await {
        Ok(b) => b,
        Err(e) if web.port.is_none() && web.cnl_port.is_none() => {
            ctx.printer.warn(&format!(
                "dashboard not started: {e} (another daemon, or JDownloader on 9666?); give \
                 --port P and --cnl-port C, or --no-cnl"
            ));
            return Ok(None);
        }
        Err(e) => {
            return Err(Failure::fatal(e.to_string())
                .with_hint("pick another --port/--cnl-port, or --no-cnl")
                .into());
        }
    };
    ctx.printer.status(&format!(
        "dashboard on {} (open it with `fichier dashboard`){}",
        bound.url(),
        bound
            .cnl_addr()
            .map(|a| format!(", Click'n'Load on {a}"))
            .unwrap_or_default()
    ));
    let printer = ctx.printer.clone();
    Ok(Some(tokio::spawn(async move {
        let shutdown = async move {
            let _ = stop.wait_for(|s| *s).await;
        };
        if let Err(e) = bound.serve(store, client, shutdown).await {
            printer.warn(&format!("dashboard stopped: {e}"));
        }
    })))
}
