//! `fichier dashboard`: mints a fresh access token and a one-time sign-in link, prints it and
//! opens it through a private file (never on a command line); with `--serve`, runs the
//! dashboard and Click'n'Load here unless a daemon already does.

use std::io::IsTerminal as _;
use std::path::Path;

use fichier_web::{Bound, Running};

use crate::cli::DashboardArgs;
use crate::context::Context;
use crate::error::{Exit, Failure};

/// Opens `url` in the desktop's browser, where there is one (never in tests: they pass
/// --no-open and have no terminal). The opener gets a `0600` page in the data dir that
/// forwards to the link, as Jupyter does: any local user can read a process's argv, and the
/// link's code must reach the browser alone.
fn open_browser(ctx: &Context, url: &str) {
    let printer = &ctx.printer;
    let opener = if cfg!(target_os = "macos") {
        "open"
    } else {
        "xdg-open"
    };
    let page = ctx.settings.paths.data().join("dashboard-open.html");
    let html = format!(
        "<!doctype html><meta charset=utf-8><meta http-equiv=refresh content=\"0;url={url}\">\
         <title>fichier dashboard</title><a href=\"{url}\">Open the dashboard</a>"
    );
    if let Err(e) = fichier_web::write_private(&page, html.as_bytes()) {
        printer.status(&format!(
            "cannot write {}: {e}; open the URL above yourself",
            page.display()
        ));
        return;
    }
    let spawned = std::process::Command::new(opener)
        .arg(&page)
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

/// A fresh access token (older sessions end at once) and the one-time sign-in link to `base`.
fn mint(ctx: &Context, base: &str) -> anyhow::Result<String> {
    let data = ctx.settings.paths.data();
    let cannot = |path: std::path::PathBuf, e: std::io::Error| -> anyhow::Error {
        Failure::fatal(format!(
            "cannot write the dashboard token {}: {e}",
            path.display()
        ))
        .with_hint("check that the data directory is writable")
        .into()
    };
    let token_path = fichier_web::token_path(data);
    fichier_web::mint_token(&token_path).map_err(|e| cannot(token_path, e))?;
    let login_path = fichier_web::login_path(data);
    let code = fichier_web::mint_login(&login_path).map_err(|e| cannot(login_path, e))?;
    Ok(format!(
        "{}{}?code={code}",
        base.trim_end_matches('/'),
        fichier_web::LOGIN_PATH
    ))
}

/// The running daemon's address file, when the process that wrote it still runs and its
/// dashboard still accepts connections (`kill -9` leaves the file behind).
fn live_server(data: &Path) -> Option<Running> {
    let r: Running = std::fs::read(fichier_web::addr_path(data))
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())?;
    let process = !cfg!(target_os = "linux") || Path::new(&format!("/proc/{}", r.pid)).exists();
    let listening = url::Url::parse(&r.url)
        .ok()
        .and_then(|u| u.socket_addrs(|| None).ok())
        .and_then(|a| a.first().copied())
        .is_some_and(|a| {
            std::net::TcpStream::connect_timeout(&a, std::time::Duration::from_millis(500)).is_ok()
        });
    (process && listening && r.pid != std::process::id()).then_some(r)
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
    let url = mint(ctx, &base)?;
    ctx.printer.line(&url);
    if !args.no_open && std::io::stdout().is_terminal() {
        open_browser(ctx, &url);
    }
    Ok(Exit::Ok)
}

async fn serve(ctx: &mut Context, args: DashboardArgs) -> anyhow::Result<Exit> {
    // A second server would take over the daemon's address file and token, and remove the
    // file when it stops: `fichier dashboard` would then point nowhere.
    if let Some(r) = live_server(ctx.settings.paths.data()) {
        return Err(Failure::usage(format!(
            "a daemon (pid {}) already serves the dashboard on {}",
            r.pid, r.url
        ))
        .with_hint("run `fichier dashboard` to open it")
        .into());
    }
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
    let url = mint(ctx, &bound.url())?;
    ctx.printer.line(&url);
    if let Some(cnl) = bound.cnl_addr() {
        ctx.printer
            .status(&format!("Click'n'Load receiver on http://{cnl}/"));
    }
    if !args.no_open && std::io::stdout().is_terminal() {
        open_browser(ctx, &url);
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
