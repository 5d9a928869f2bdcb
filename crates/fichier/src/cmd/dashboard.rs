//! `fichier dashboard`: mints a fresh access token and prints (and opens) the running
//! daemon's dashboard URL; with `--serve`, runs the dashboard and Click'n'Load here.

use std::io::IsTerminal as _;
use std::path::Path;

use fichier_web::{Bound, Running};

use crate::cli::DashboardArgs;
use crate::context::Context;
use crate::error::{Exit, Failure};
use crate::printer::Printer;

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
    let path = fichier_web::token_path(ctx.settings.paths.data());
    fichier_web::mint_token(&path).map_err(|e| {
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
    let data = ctx.settings.paths.data().to_path_buf();
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
    let config = crate::web::web_config(ctx, &args.web, download_dir);
    let (_, key, _) = ctx.key().await?;
    let mut config = config;
    config.key_hint = Some(key.masked());
    let client = ctx.client().await?.clone();
    let store = super::queue::queue_path(&ctx.settings);
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
