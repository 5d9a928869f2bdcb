//! `fichier dashboard`: mints a fresh access token and prints (and opens) the running
//! daemon's dashboard URL; with `--serve`, runs the dashboard and Click'n'Load here.

use std::io::IsTerminal as _;
use std::net::{IpAddr, Ipv4Addr};
use std::path::Path;

use fichier_web::{Bound, Running, WebConfig};

use crate::cli::{DashboardArgs, WebArgs};
use crate::context::Context;
use crate::error::{Exit, Failure};
use crate::printer::Printer;

/// The web settings of `fichier daemon` and `fichier dashboard --serve`, with a warning
/// printed for a non-loopback `--listen`.
pub fn web_config(ctx: &Context, web: &WebArgs, download_dir: std::path::PathBuf) -> WebConfig {
    let mut config = WebConfig::new(ctx.settings.dirs.data.clone(), download_dir);
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

/// Opens `url` in the desktop's browser, where there is one (never in tests: they pass
/// --no-open and have no terminal).
fn open_browser(printer: &Printer, url: &str) {
    let opener = if cfg!(target_os = "macos") {
        "open"
    } else {
        "xdg-open"
    };
    let spawned = std::process::Command::new(opener)
        .arg(url)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn();
    if spawned.is_err() {
        printer.status(&format!(
            "no browser opener ({opener}) here: open the URL above yourself"
        ));
    }
}

fn mint(ctx: &Context) -> anyhow::Result<String> {
    let path = fichier_web::token_path(&ctx.settings.dirs.data);
    fichier_web::auth::mint_token(&path).map_err(|e| {
        Failure::fatal(format!(
            "cannot write the dashboard token {}: {e}",
            path.display()
        ))
        .with_hint("check that the data directory is writable")
        .into()
    })
}

/// Runs the command.
pub async fn run(ctx: &mut Context, args: DashboardArgs) -> anyhow::Result<Exit> {
    if args.serve {
        return serve(ctx, args).await;
    }
    let data = ctx.settings.dirs.data.clone();
    let running: Option<Running> = std::fs::read(fichier_web::addr_path(&data))
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok());
    let base = match (&running, args.web.port) {
        (_, Some(port)) => format!("http://127.0.0.1:{port}/"),
        (Some(r), None) => {
            // kill -9 leaves the file behind: say so instead of handing out a dead link.
            if cfg!(target_os = "linux") && !Path::new(&format!("/proc/{}", r.pid)).exists() {
                ctx.printer.warn(&format!(
                    "the daemon that served {} (pid {}) is not running: start `fichier daemon`",
                    r.url, r.pid
                ));
            }
            r.url.clone()
        }
        (None, None) => {
            ctx.printer.warn(
                "no running daemon wrote its address: start `fichier daemon` (or \
                 `fichier dashboard --serve`), then open this URL",
            );
            format!("http://127.0.0.1:{}/", fichier_web::DEFAULT_PORT)
        }
    };
    let token = mint(ctx)?;
    let url = format!("{base}?token={token}");
    ctx.printer.line(&url);
    if !args.no_open && std::io::stdout().is_terminal() {
        open_browser(&ctx.printer, &url);
    }
    Ok(Exit::Ok)
}

async fn serve(ctx: &mut Context, args: DashboardArgs) -> anyhow::Result<Exit> {
    let download_dir = match args.to.clone() {
        Some(d) => std::path::absolute(&d)
            .map_err(|e| Failure::usage(format!("--to {}: {e}", d.display())))?,
        None => std::env::current_dir()
            .map_err(|e| Failure::fatal(format!("cannot read the current directory: {e}")))?,
    };
    let config = web_config(ctx, &args.web, download_dir);
    let (_, key, _) = ctx.key().await?;
    let mut config = config;
    config.key_hint = Some(key.masked());
    let client = ctx.client().await?.clone();
    let store = ctx.settings.dirs.data.join("queue.sqlite");
    let bound = Bound::bind(config).await.map_err(|e| {
        Failure::fatal(e.to_string())
            .with_hint("another daemon or dashboard may be running: pick another --port/--cnl-port")
    })?;
    let token = mint(ctx)?;
    let url = format!("{}?token={token}", bound.url());
    ctx.printer.line(&url);
    if let Some(cnl) = bound.cnl_addr() {
        ctx.printer
            .status(&format!("Click'n'Load receiver on http://{cnl}/"));
    }
    if !args.no_open && std::io::stdout().is_terminal() {
        open_browser(&ctx.printer, &url);
    }
    bound
        .serve(store, client, stop_signal())
        .await
        .map_err(|e| Failure::fatal(e.to_string()))?;
    Ok(Exit::Ok)
}

/// Starts the daemon's dashboard and Click'n'Load receiver beside the runner; they stop when
/// `stop` turns true. A default port already taken (another daemon, JDownloader on 9666) only
/// warns, the downloads matter more; a port given with --port/--cnl-port is an error.
pub async fn start_for_daemon(
    ctx: &mut Context,
    web: &WebArgs,
    download_dir: std::path::PathBuf,
    mut stop: tokio::sync::watch::Receiver<bool>,
) -> anyhow::Result<Option<tokio::task::JoinHandle<()>>> {
    let mut config = web_config(ctx, web, download_dir);
    let (_, key, _) = ctx.key().await?;
    config.key_hint = Some(key.masked());
    let client = ctx.client().await?.clone();
    let store = ctx.settings.dirs.data.join("queue.sqlite");
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

/// Completes on Ctrl-C or SIGTERM.
pub async fn stop_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = term.recv() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}
