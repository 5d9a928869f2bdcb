//! The `fichier-emu` binary: `serve` (run the emulator), admin subcommands that work on a
//! data directory (accounts, keys, offers, fault plan, request log), and `demo`.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Parser, Subcommand};
use fichier_emu::admin_store::DataDir;
use fichier_emu::{Config, Emulator, FaultPlan, Limits, Offer};

/// A faithful local emulator of the 1fichier.com API v1.
#[derive(Debug, Parser)]
#[command(name = "fichier-emu", version, about)]
struct Cli {
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Debug, Subcommand)]
enum Cmd {
    /// Run the emulator until interrupted; prints the bound address on stdout.
    Serve(Box<ServeArgs>),
    /// Manage accounts in a data directory.
    #[command(subcommand)]
    Account(AccountCmd),
    /// Load or clear the fault plan of a data directory (a running server applies it within a
    /// second).
    #[command(subcommand)]
    Faults(FaultsCmd),
    /// Show the request log of a data directory (keys masked).
    Log {
        #[command(flatten)]
        dir: DirArg,
        /// Number of most recent requests to show.
        #[arg(long, default_value_t = 50)]
        limit: usize,
        /// Print JSON lines instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Start an emulator on 127.0.0.1:0, provision an account, send one real request and
    /// print the answer.
    Demo {
        /// Keep state in this directory instead of a temporary one.
        #[arg(long)]
        data_dir: Option<PathBuf>,
    },
}

#[derive(Debug, clap::Args)]
struct DirArg {
    /// Data directory (file bytes and SQLite metadata).
    #[arg(long, env = "FICHIER_EMU_DATA", default_value = "fichier-emu-data")]
    data_dir: PathBuf,
}

#[derive(Debug, clap::Args)]
struct ServeArgs {
    #[command(flatten)]
    dir: DirArg,
    /// Listen address (port 0 picks a free port).
    #[arg(long, default_value = "127.0.0.1:0")]
    bind: SocketAddr,
    /// Rate-limit preset: off, scaled (fast tests) or realistic (documented values).
    #[arg(long, default_value = "off", value_parser = ["off", "scaled", "realistic"])]
    limits: String,
    /// Validity of download tokens, in seconds.
    #[arg(long, default_value_t = 300)]
    token_ttl: u64,
    /// PEM certificate chain: serve HTTPS (with --tls-key).
    #[arg(long, requires = "tls_key")]
    tls_cert: Option<PathBuf>,
    /// PEM private key for --tls-cert.
    #[arg(long, requires = "tls_cert")]
    tls_key: Option<PathBuf>,
    /// Upload node host advertised by get_upload_server (e.g. up2.1fichier.com when DNS
    /// points it here); default the bound address.
    #[arg(long)]
    node_host: Option<String>,
    /// Host used in download token URLs (e.g. a-1.1fichier.com); default the bound address.
    #[arg(long)]
    download_host: Option<String>,
    /// Public base URL (scheme://host[:port]) put in upload node and download URLs, for
    /// serving plain HTTP behind a TLS terminator (e.g. https://emu.example:8443).
    #[arg(long, value_name = "URL")]
    public_url: Option<String>,
    /// Seconds a client may take to send a request's headers (also the idle limit of a
    /// kept-alive connection).
    #[arg(long, default_value_t = 30, value_parser = clap::value_parser!(u64).range(1..))]
    header_timeout: u64,
    /// Most connections served at once; more wait in the listen backlog.
    #[arg(long, default_value_t = 1024, value_parser = clap::value_parser!(u64).range(1..=1_000_000))]
    max_connections: u64,
    /// Fault plan (JSON file) active from the start.
    #[arg(long)]
    fault_plan: Option<PathBuf>,
    /// Make uploaded files visible when the upload ends instead of on the first end.pl.
    #[arg(long)]
    finalize_on_upload: bool,
    /// Create this account (Premium) if missing and print its key on stderr.
    #[arg(long)]
    account: Option<String>,
}

#[derive(Debug, Subcommand)]
enum AccountCmd {
    /// Create an account with a generated key and print the key.
    Create {
        #[command(flatten)]
        dir: DirArg,
        /// E-mail address.
        email: String,
        /// Offer: free, premium, access or gold.
        #[arg(long, default_value = "premium")]
        offer: Offer,
    },
    /// Print an account's key (fake, emulator-only).
    Key {
        #[command(flatten)]
        dir: DirArg,
        /// E-mail address.
        email: String,
    },
    /// Change an account's offer.
    SetOffer {
        #[command(flatten)]
        dir: DirArg,
        /// E-mail address.
        email: String,
        /// Offer: free, premium, access or gold.
        offer: Offer,
    },
    /// Replace an account's key and print the new one (the old key stops working).
    RegenerateKey {
        #[command(flatten)]
        dir: DirArg,
        /// E-mail address.
        email: String,
    },
    /// List accounts (keys masked).
    List {
        #[command(flatten)]
        dir: DirArg,
    },
}

#[derive(Debug, Subcommand)]
enum FaultsCmd {
    /// Load a fault plan from a JSON file (`-` for stdin).
    Load {
        #[command(flatten)]
        dir: DirArg,
        /// JSON file, see docs/emulator.md.
        file: PathBuf,
    },
    /// Remove the fault plan.
    Clear {
        #[command(flatten)]
        dir: DirArg,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::from(2);
        }
    };
    match rt.block_on(run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(2)
        }
    }
}

fn read_plan(path: &PathBuf) -> Result<FaultPlan, String> {
    let text = if path.as_os_str() == "-" {
        std::io::read_to_string(std::io::stdin()).map_err(|e| e.to_string())?
    } else {
        std::fs::read_to_string(path)
            .map_err(|e| format!("cannot read fault plan {}: {e}", path.display()))?
    };
    FaultPlan::from_json(&text).map_err(|e| {
        format!(
            "fault plan {} is not valid: {e} (see docs/emulator.md, \"Fault plan\")",
            path.display()
        )
    })
}

async fn run(cli: Cli) -> Result<(), String> {
    let s = |e: fichier_emu::EmuError| e.to_string();
    match cli.cmd {
        Cmd::Serve(a) => serve(*a).await,
        Cmd::Account(cmd) => match cmd {
            AccountCmd::Create { dir, email, offer } => {
                let a = DataDir::open(&dir.data_dir)
                    .map_err(s)?
                    .create_account(&email, offer)
                    .map_err(s)?;
                println!("{}", a.api_key);
                Ok(())
            }
            AccountCmd::Key { dir, email } => {
                println!(
                    "{}",
                    DataDir::open(&dir.data_dir)
                        .map_err(s)?
                        .account(&email)
                        .map_err(s)?
                        .api_key
                );
                Ok(())
            }
            AccountCmd::SetOffer { dir, email, offer } => DataDir::open(&dir.data_dir)
                .map_err(s)?
                .set_offer(&email, offer)
                .map_err(s),
            AccountCmd::RegenerateKey { dir, email } => {
                println!(
                    "{}",
                    DataDir::open(&dir.data_dir)
                        .map_err(s)?
                        .regenerate_key(&email)
                        .map_err(s)?
                );
                Ok(())
            }
            AccountCmd::List { dir } => {
                for a in DataDir::open(&dir.data_dir)
                    .map_err(s)?
                    .accounts()
                    .map_err(s)?
                {
                    println!(
                        "{}\t{:?}\t{}",
                        a.email,
                        a.offer,
                        fichier_emu::mask_secret(&a.api_key)
                    );
                }
                Ok(())
            }
        },
        Cmd::Faults(cmd) => match cmd {
            FaultsCmd::Load { dir, file } => {
                let plan = read_plan(&file)?;
                DataDir::open(&dir.data_dir)
                    .map_err(s)?
                    .set_fault_plan(Some(&plan))
                    .map_err(s)
            }
            FaultsCmd::Clear { dir } => DataDir::open(&dir.data_dir)
                .map_err(s)?
                .set_fault_plan(None)
                .map_err(s),
        },
        Cmd::Log { dir, limit, json } => {
            for r in DataDir::open(&dir.data_dir)
                .map_err(s)?
                .request_log(limit)
                .map_err(s)?
            {
                if json {
                    println!("{}", serde_json::to_string(&r).map_err(|e| e.to_string())?);
                } else {
                    println!(
                        "{}\t{}\t{}\t{}\t{}\t{}",
                        r.at, r.ip, r.method, r.status, r.key, r.path
                    );
                }
            }
            Ok(())
        }
        Cmd::Demo { data_dir } => demo(data_dir).await,
    }
}

async fn serve(a: ServeArgs) -> Result<(), String> {
    let _ = tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .with_writer(std::io::stderr)
        .try_init();
    let mut config = Config::new(&a.dir.data_dir);
    config.bind = a.bind;
    config.limits = Limits::preset(&a.limits).unwrap_or_else(Limits::off);
    config.token_ttl = Duration::from_secs(a.token_ttl);
    config.node_host = a.node_host;
    config.download_host = a.download_host;
    config.finalize_on_upload = a.finalize_on_upload;
    config.public_url = a.public_url;
    config.header_read_timeout = Duration::from_secs(a.header_timeout);
    config.max_connections = usize::try_from(a.max_connections).unwrap_or(usize::MAX);
    if let (Some(c), Some(k)) = (a.tls_cert, a.tls_key) {
        config.tls(c, k);
    }
    if let Some(p) = &a.fault_plan {
        config.fault_plan = Some(read_plan(p)?);
    }
    let emu = Emulator::start(config).await.map_err(|e| e.to_string())?;
    if let Some(email) = &a.account {
        let acct = emu
            .ensure_account(email, Offer::Premium)
            .map_err(|e| e.to_string())?;
        eprintln!("account {} key {}", acct.email, acct.api_key);
    }
    // Scripts read the bound address from this first stdout line.
    println!("{}", emu.base_url());
    eprintln!(
        "fichier-emu serving the API at {} (data in {}); Ctrl-C to stop",
        emu.api_url(),
        emu.data_dir().display()
    );
    let _ = tokio::signal::ctrl_c().await;
    emu.shutdown().await;
    Ok(())
}

async fn demo(data_dir: Option<PathBuf>) -> Result<(), String> {
    let tmp;
    let dir = match data_dir {
        Some(d) => d,
        None => {
            tmp = tempfile::tempdir().map_err(|e| format!("cannot create a temp dir: {e}"))?;
            tmp.path().to_path_buf()
        }
    };
    let emu = Emulator::start(Config::new(&dir))
        .await
        .map_err(|e| e.to_string())?;
    let acct = emu
        .ensure_account("demo@example.com", Offer::Premium)
        .map_err(|e| e.to_string())?;
    println!("emulator listening on {}", emu.base_url());
    println!(
        "account {} (Premium, key {})",
        acct.email,
        fichier_emu::mask_secret(&acct.api_key)
    );
    let url = format!("{}user/info.cgi", emu.api_url());
    println!("POST {url}");
    let client = reqwest::Client::builder()
        .no_proxy()
        .build()
        .map_err(|e| e.to_string())?;
    let resp = client
        .post(&url)
        .bearer_auth(&acct.api_key)
        .header("Content-Type", "application/json")
        .body("{}")
        .send()
        .await
        .map_err(|e| format!("request failed: {e}"))?;
    let status = resp.status();
    let body: serde_json::Value = resp.json().await.map_err(|e| e.to_string())?;
    println!("HTTP {status}");
    println!(
        "{}",
        serde_json::to_string_pretty(&body).map_err(|e| e.to_string())?
    );
    emu.shutdown().await;
    Ok(())
}
