//! The clap definitions: every command, flag and environment variable of `fichier`.
//!
//! This module only describes the surface; `settings` resolves it (with the environment and the
//! config file) into one `Settings` value, and `cmd::*` act on it. Completions and the man page
//! are generated from these same definitions, so the help text here is the reference.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// The 1fichier.com command line.
#[derive(Debug, Parser)]
#[command(
    name = "fichier",
    version,
    about = "The 1fichier.com command line: safe keys, listing and file management by path",
    long_about = "The 1fichier.com command line.\n\nPaths name folders and files from the root of \
                  the account, e.g. /Backups/2026/db.tar. File links (https://1fichier.com/?id on \
                  any of the 11 domains) are accepted wherever a file is expected.\n\nTry it \
                  offline first: `fichier --sandbox ls` runs against an embedded emulator.",
    after_help = "Exit codes: 0 ok, 1 partial failure, 2 usage or fatal error, 3 authentication \
                  problem, 4 flood lock (retry later), 5 backup already running, 6 backup \
                  refused by a safety rule.",
    after_long_help = "Examples:\n  fichier --sandbox mkdir -p /Backups/2026   try everything offline\n  \
                       fichier auth login                         paste the key (hidden)\n  \
                       fichier ls -lR /Backups                    recursive long listing\n  \
                       fichier mv /a.tar /b.tar /Backups/2026     move files into a folder\n  \
                       fichier share /Photos --public --password  public link with a password\n  \
                       fichier backup ~/photos /Backups/photos    nightly, versioned backup\n  \
                       fichier ls --json | jq '.entries[].link'   scripting\n\n\
                       Exit codes: 0 ok, 1 partial failure, 2 usage or fatal error, 3 \
                       authentication problem, 4 flood lock (retry later), 5 backup already \
                       running, 6 backup refused by a safety rule.",
    max_term_width = 100
)]
pub struct Cli {
    /// Options accepted by every command.
    #[command(flatten)]
    pub global: GlobalArgs,

    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// Options accepted before or after any command.
#[derive(Debug, Args)]
pub struct GlobalArgs {
    /// Run against an embedded emulator with local state and a Premium test account.
    #[arg(
        long,
        global = true,
        env = "FICHIER_SANDBOX",
        value_parser = clap::builder::BoolishValueParser::new(),
        help_heading = "Global options"
    )]
    pub sandbox: bool,

    /// API base URL (default https://api.1fichier.com/v1/; http only for loopback hosts).
    #[arg(
        long,
        global = true,
        value_name = "URL",
        env = "FICHIER_API_URL",
        help_heading = "Global options"
    )]
    pub api_url: Option<String>,

    /// Read the API key from this file (must not be readable by group or others), or `-` for stdin.
    #[arg(
        long,
        global = true,
        value_name = "PATH|-",
        help_heading = "Global options"
    )]
    pub api_key_file: Option<PathBuf>,

    /// Print machine-readable JSON on stdout (schemas in docs/cli.md).
    #[arg(long, global = true, help_heading = "Global options")]
    pub json: bool,

    /// Print only data and errors; no status lines or warnings.
    #[arg(
        short,
        long,
        global = true,
        conflicts_with = "verbose",
        help_heading = "Global options"
    )]
    pub quiet: bool,

    /// Fetch live listings instead of reusing those fetched in the last 30 s (-v shows reuse)
    #[arg(long, global = true, help_heading = "Global options")]
    pub fresh: bool,

    /// More detail on stderr (-v: requests, -vv: debug).
    #[arg(short, long, global = true, action = clap::ArgAction::Count, help_heading = "Global options")]
    pub verbose: u8,

    /// Never draw progress bars.
    #[arg(
        long,
        global = true,
        env = "FICHIER_NO_PROGRESS",
        value_parser = clap::builder::BoolishValueParser::new(),
        help_heading = "Global options"
    )]
    pub no_progress: bool,

    /// Config file (default: $XDG_CONFIG_HOME/fichier/config.toml).
    #[arg(
        long,
        global = true,
        value_name = "PATH",
        env = "FICHIER_CONFIG",
        help_heading = "Global options"
    )]
    pub config: Option<PathBuf>,
}

/// Every `fichier` command.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Store, inspect or remove the API key.
    #[command(subcommand)]
    Auth(AuthCommand),
    /// Show the account: offer, storage, CDN credits, subscription end.
    Account,
    /// List a folder (default: the root).
    Ls(LsArgs),
    /// Show one file or folder in detail.
    Info(InfoArgs),
    /// Create a folder.
    Mkdir(MkdirArgs),
    /// Move files or folders into a folder.
    Mv(MvArgs),
    /// Copy files into a folder (copies get new links).
    Cp(CpArgs),
    /// Rename a file or folder in place.
    Rename(RenameArgs),
    /// Delete files, or folders with -r.
    Rm(RmArgs),
    /// Print the download link of files.
    Link(LinkArgs),
    /// Change file attributes: password, inline, CDN, description, access list.
    Attr(AttrArgs),
    /// Share a folder publicly or with other users, or stop sharing it.
    Share(ShareArgs),
    /// Remote uploads: let 1fichier fetch URLs into the account.
    #[command(subcommand)]
    Remote(RemoteCommand),
    /// Upload files and folder trees, verified, skipping identical files already there.
    Upload(UploadArgs),
    /// Download links, paths, folders or shared folders: resumable, segmented, verified.
    Download(DownloadArgs),
    /// Nightly, incremental, verified backups: local is the truth, old copies kept as versions.
    Backup(Box<BackupCommand>),
    /// Rebuild a backed-up tree as of a backup run (verified, with empty files, mtimes, modes).
    Restore(RestoreArgs),
    /// Check a backup destination against its last manifest (listings only, or --read-data).
    Verify(VerifyArgs),
    /// Find leaked 1fichier API keys in files, trees, stdin, git history or staged changes.
    Scan(ScanArgs),
    /// Run a program with the API key in its environment (never on its command line).
    Exec(ExecArgs),
    /// FTP uploads: process them, manage FTP sub-accounts.
    #[command(subcommand)]
    Ftp(FtpCommand),
    /// Vouchers: list those owned, check one, credit one to an account.
    #[command(subcommand)]
    Voucher(VoucherCommand),
    /// List files by upload date: of a folder, a share, or the whole account (`file/ls`).
    Files(FilesArgs),
    /// Ask 1fichier's antivirus to scan files (1fichier deletes a file found infected).
    VirusScan(VirusScanArgs),
    /// Work the download queue continuously (picks up what other processes add, folder
    /// watch); `daemon install` writes a systemd user unit. See docs/daemon.md.
    Daemon(Box<DaemonArgs>),
    /// The persistent download queue: add links, paths and folders, then manage them.
    #[command(subcommand)]
    Queue(QueueCommand),
    /// Open the daemon's web dashboard: print its URL with a fresh access token (and open a
    /// browser), or serve it here with --serve.
    Dashboard(DashboardArgs),
    /// Print a shell completion script.
    Completions(CompletionsArgs),
    /// Print the man page (roff) on stdout.
    Man,
}

/// `fichier auth ...`
#[derive(Debug, Subcommand)]
pub enum AuthCommand {
    /// Read a key (hidden prompt, stdin when it is not a terminal, or --api-key-file), check
    /// it, store it.
    Login(LoginArgs),
    /// Show which key is used, where it comes from, and the account it opens.
    Status,
    /// Remove the stored key from every store fichier wrote to.
    Logout,
    /// Replace the stored key with a new one (read like `auth login`), then check whether the
    /// old key is now refused.
    Rotate(RotateArgs),
}

/// `fichier auth rotate`
#[derive(Debug, Args)]
pub struct RotateArgs {
    /// Replace the key even when the new one opens another account (asked on a terminal;
    /// refused without this flag elsewhere).
    #[arg(long)]
    pub force: bool,
}

/// Where `auth login` stores the key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum StoreChoice {
    /// The OS keyring when one is reachable, else the credentials file.
    Auto,
    /// The OS keyring only (fails when none is reachable).
    Keyring,
    /// The credentials file in the config dir (mode 0600).
    File,
}

/// `fichier auth login`
#[derive(Debug, Args)]
pub struct LoginArgs {
    /// Where to store the key.
    #[arg(long, value_enum, default_value_t = StoreChoice::Auto)]
    pub store: StoreChoice,
}

/// `fichier ls`
#[derive(Debug, Args)]
pub struct LsArgs {
    /// Folder to list (default /).
    pub path: Option<String>,
    /// List sub-folders recursively.
    #[arg(short = 'R', long)]
    pub recursive: bool,
    /// Long format: size, date, flags and link.
    #[arg(short, long)]
    pub long: bool,
}

/// How a password reaches fichier without appearing on the command line.
#[derive(Debug, Args, Clone, Default)]
pub struct PasswordArgs {
    /// Ask for the password (hidden prompt on a terminal, else one line of stdin).
    #[arg(long)]
    pub password: bool,
    /// Read the password from the first line of a file (`-` for stdin).
    #[arg(long, value_name = "PATH|-", conflicts_with = "password")]
    pub password_file: Option<PathBuf>,
}

/// `fichier info`
#[derive(Debug, Args)]
pub struct InfoArgs {
    /// A path (/Photos/a.jpg, /Photos) or a file link.
    pub target: String,
    /// Password of a protected file (asked, never on the command line).
    #[command(flatten)]
    pub password: PasswordArgs,
}

/// `fichier mkdir`
#[derive(Debug, Args)]
pub struct MkdirArgs {
    /// Folders to create.
    #[arg(required = true)]
    pub paths: Vec<String>,
    /// Create missing parents; succeed when the folder exists.
    #[arg(short, long)]
    pub parents: bool,
}

/// `fichier mv`
#[derive(Debug, Args)]
pub struct MvArgs {
    /// Files or folders to move, then the destination folder.
    #[arg(required = true, num_args = 2.., value_name = "SRC.. DST")]
    pub paths: Vec<String>,
}

/// `fichier cp`
#[derive(Debug, Args)]
pub struct CpArgs {
    /// Files (paths or links) to copy, then the destination folder.
    #[arg(required = true, num_args = 2.., value_name = "SRC.. DST")]
    pub paths: Vec<String>,
    /// Password of protected source files.
    #[command(flatten)]
    pub password: PasswordArgs,
}

/// `fichier rename`
#[derive(Debug, Args)]
pub struct RenameArgs {
    /// File or folder to rename.
    pub path: String,
    /// The new name (a name, not a path).
    pub name: String,
}

/// `fichier rm`
#[derive(Debug, Args)]
pub struct RmArgs {
    /// Files or folders to delete.
    #[arg(required = true)]
    pub paths: Vec<String>,
    /// Delete folders and everything inside them.
    #[arg(short, long)]
    pub recursive: bool,
    /// Do not ask for confirmation.
    #[arg(short, long)]
    pub force: bool,
}

/// `fichier link`
#[derive(Debug, Args)]
pub struct LinkArgs {
    /// Files to print the link of (with --crawljob: files or folders).
    #[arg(required = true)]
    pub paths: Vec<String>,
    /// Write a JDownloader .crawljob file per argument into this directory (a folder gives
    /// every file under it) instead of printing links.
    #[arg(long, value_name = "DIR")]
    pub crawljob: Option<PathBuf>,
}

/// An on/off switch value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Switch {
    /// Enable.
    On,
    /// Disable.
    Off,
}

impl Switch {
    /// The 0/1 integer the API expects.
    pub fn as_flag(self) -> bool {
        self == Switch::On
    }
}

/// `fichier attr`
#[derive(Debug, Args)]
pub struct AttrArgs {
    /// Files (paths or links) to change.
    #[arg(required = true)]
    pub paths: Vec<String>,
    /// Set a password (at least 6 characters), asked or read from --password-file.
    #[command(flatten)]
    pub password: PasswordArgs,
    /// Remove the password.
    #[arg(long, conflicts_with_all = ["password", "password_file"])]
    pub clear_password: bool,
    /// Let browsers display the file instead of downloading it.
    #[arg(long, value_enum, value_name = "on|off")]
    pub inline: Option<Switch>,
    /// Flag the file for CDN downloads.
    #[arg(long, value_enum, value_name = "on|off")]
    pub cdn: Option<Switch>,
    /// Set the description (empty string clears it).
    #[arg(long, value_name = "TEXT")]
    pub description: Option<String>,
    /// Access list: allow these IP ranges (CIDR), repeatable; replaces the list.
    #[arg(long = "acl-ip", value_name = "CIDR")]
    pub acl_ip: Vec<String>,
    /// Access list: allow these countries (ISO-2 codes), repeatable.
    #[arg(long = "acl-country", value_name = "CC")]
    pub acl_country: Vec<String>,
    /// Access list: allow these registered users, repeatable.
    #[arg(long = "acl-email", value_name = "EMAIL")]
    pub acl_email: Vec<String>,
    /// Access list: only Premium users.
    #[arg(long = "acl-premium", value_enum, value_name = "on|off")]
    pub acl_premium: Option<Switch>,
    /// Remove every access restriction.
    #[arg(long, conflicts_with_all = ["acl_ip", "acl_country", "acl_email", "acl_premium"])]
    pub acl_clear: bool,
}

/// `fichier share`
#[derive(Debug, Args)]
pub struct ShareArgs {
    /// The folder to share (without options: show how it is shared).
    pub folder: String,
    /// Share publicly (anyone with the link); add --password to protect it.
    #[arg(long)]
    pub public: bool,
    /// Password for the public share, asked or read from --password-file.
    #[command(flatten)]
    pub password: PasswordArgs,
    /// Share with a registered user (repeatable).
    #[arg(long = "user", value_name = "EMAIL")]
    pub users: Vec<String>,
    /// Users given with --user may also write.
    #[arg(long, requires = "users", conflicts_with = "hide_links")]
    pub rw: bool,
    /// Users given with --user see names only, not download links (read-only).
    #[arg(long, requires = "users")]
    pub hide_links: bool,
    /// Stop sharing: with --user only those users, with --public only the public link,
    /// alone everything.
    #[arg(long)]
    pub unshare: bool,
}

/// `fichier remote ...`
#[derive(Debug, Subcommand)]
pub enum RemoteCommand {
    /// Ask 1fichier to fetch URLs into the account.
    Add(RemoteAddArgs),
    /// List remote-upload jobs.
    Ls,
    /// Show one job and its results.
    Info(RemoteInfoArgs),
}

/// `fichier remote add`
#[derive(Debug, Args)]
pub struct RemoteAddArgs {
    /// URLs to fetch (http or https).
    #[arg(required = true)]
    pub urls: Vec<String>,
    /// Destination folder (default /).
    #[arg(long, value_name = "DIR")]
    pub to: Option<String>,
}

/// `fichier remote info`
#[derive(Debug, Args)]
pub struct RemoteInfoArgs {
    /// Job id (from `remote add` or `remote ls`).
    pub id: u64,
    /// Wait until the job has run (polls politely).
    #[arg(long)]
    pub wait: bool,
    /// Give up waiting after this many seconds (default: wait as long as it takes).
    #[arg(long, value_name = "SECS", requires = "wait")]
    pub timeout: Option<u64>,
}

/// `fichier completions`
#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// The shell to generate for.
    #[arg(value_enum)]
    pub shell: clap_complete::Shell,
}

/// `fichier scan`
#[derive(Debug, Args)]
#[command(
    args_conflicts_with_subcommands = true,
    after_help = "Exit codes: 0 nothing found, 1 findings (after the baseline), 2 error. Rules, \
                  output formats and baselines: docs/scan.md."
)]
pub struct ScanArgs {
    /// `install-hook`.
    #[command(subcommand)]
    pub command: Option<ScanCommand>,
    /// Files or directories to scan (`-` for standard input; default `.`). With --git or
    /// --staged: the repository (default `.`).
    #[arg(value_name = "PATH")]
    pub paths: Vec<String>,
    /// Scan every commit of every ref of the repository (files deleted later too).
    #[arg(long, conflicts_with = "staged")]
    pub git: bool,
    /// Scan what is staged for the next commit (what the pre-commit hook runs).
    #[arg(long)]
    pub staged: bool,
    /// Print a SARIF 2.1.0 log (for code-scanning UIs) instead of text.
    #[arg(long)]
    pub sarif: bool,
    /// Also report key-shaped values with no 1fichier context (more false positives).
    #[arg(long)]
    pub strict: bool,
    /// Ignore findings accepted in this baseline file.
    #[arg(long, value_name = "FILE")]
    pub baseline: Option<PathBuf>,
    /// Write every finding to this baseline file (accepting them; never stores a key).
    #[arg(long, value_name = "FILE")]
    pub write_baseline: Option<PathBuf>,
    /// Check one found key that is yours with 1fichier (one paced `user/info` per run):
    /// `--verify=PATH:LINE` (or the finding's fingerprint) names it; bare `--verify` asks per
    /// key on a terminal. Never a key itself.
    #[arg(long, value_name = "FINDING", num_args = 0..=1, require_equals = true)]
    pub verify: Option<Option<String>>,
    /// Propose rewrites that read the key from the environment instead (diff shown; written
    /// with --yes or after a yes on a terminal).
    #[arg(long, conflicts_with_all = ["staged", "write_baseline"])]
    pub fix: bool,
    /// With --fix: write the rewrites without asking (a found key is stored only when
    /// --verify named it as yours).
    #[arg(long, requires = "fix")]
    pub yes: bool,
}

/// `fichier scan ...` subcommands.
#[derive(Debug, Subcommand)]
pub enum ScanCommand {
    /// Write a git pre-commit hook that runs `fichier scan --staged`.
    InstallHook(InstallHookArgs),
}

/// `fichier scan install-hook`
#[derive(Debug, Args)]
pub struct InstallHookArgs {
    /// Replace an existing pre-commit hook.
    #[arg(long)]
    pub force: bool,
    /// Baseline file the hook passes to `fichier scan --staged` (relative to the repository).
    #[arg(long, value_name = "FILE")]
    pub baseline: Option<String>,
}

/// `fichier upload`
#[derive(Debug, Args)]
#[command(
    after_help = "The last argument is the remote folder when it starts with / and is not \
                        a local path (or use --to). Folders are created when missing. A trailing \
                        slash on a local directory uploads its contents, without it the \
                        directory itself. Files already there with the same name, size and \
                        whirlpool are skipped (--force uploads them again)."
)]
pub struct UploadArgs {
    /// Local files and directories, then optionally the remote folder (default /).
    #[arg(required = true, value_name = "LOCAL.. [REMOTE_DIR]")]
    pub paths: Vec<PathBuf>,
    /// Remote folder to upload into (instead of a last argument starting with /).
    #[arg(long, value_name = "REMOTE_DIR")]
    pub to: Option<String>,
    /// Upload directories as folder trees.
    #[arg(short, long)]
    pub recursive: bool,
    /// Files uploaded in parallel.
    #[arg(short, long, default_value_t = 2, value_parser = clap::value_parser!(u16).range(1..=30))]
    pub jobs: u16,
    /// Upload even files already present with the same name, size and whirlpool.
    #[arg(long)]
    pub force: bool,
    /// Protect the uploaded files with a password (asked, or read with --password-file).
    #[command(flatten)]
    pub password: PasswordArgs,
    /// Domain of the links: a name (e.g. megadl.fr) or its number 0-10.
    #[arg(long, value_name = "DOMAIN")]
    pub domain: Option<String>,
    /// Notify this address when the upload is done (repeatable, at most 20).
    #[arg(long = "mail", value_name = "EMAIL")]
    pub mails: Vec<String>,
    /// Text of the notification mail (at most 2000 characters).
    #[arg(long, value_name = "TEXT", requires = "mails")]
    pub message: Option<String>,
    /// Follow symbolic links to directories with -r (loops are detected); without it such
    /// links are skipped with a warning. Links to files are always followed.
    #[arg(long)]
    pub follow_symlinks: bool,
    /// Bandwidth limit across all connections, e.g. 500k, 10M (bytes per second).
    #[arg(long, value_name = "RATE", value_parser = parse_limit_rate)]
    pub limit_rate: Option<u64>,
}

/// `fichier download`
#[derive(Debug, Args)]
#[command(
    after_help = "Files are written as NAME.part and renamed only after their whirlpool \
                        matches; running the same command again resumes any interrupted file \
                        from the bytes on disk. Shared folders: https://1fichier.com/dir/ID \
                        (add --password-file when protected)."
)]
pub struct DownloadArgs {
    /// File links (any 1fichier domain), paths in the account, or shared-folder links.
    #[arg(value_name = "URL|PATH", required_unless_present = "input")]
    pub targets: Vec<String>,
    /// Output directory (created when missing).
    #[arg(short, long, value_name = "DIR", default_value = ".")]
    pub output: PathBuf,
    /// Download folders (paths) with everything inside.
    #[arg(short, long)]
    pub recursive: bool,
    /// Files downloaded in parallel.
    #[arg(short, long, default_value_t = 2, value_parser = clap::value_parser!(u16).range(1..=30))]
    pub jobs: u16,
    /// Connections per file (default: 3 for files of 64 MiB or more, else 1; at most 20).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=fichier_transfer::MAX_SEGMENTS as i64))]
    pub segments: Option<u32>,
    /// Most connections across all files (1fichier allows 30 per account).
    #[arg(long, value_name = "N", default_value_t = 30, value_parser = clap::value_parser!(u16).range(1..=100))]
    pub connections: u16,
    /// Read more links or paths from this file, one per line (`#` comments); `-` for stdin.
    #[arg(long, value_name = "FILE")]
    pub input: Option<PathBuf>,
    /// Replace existing files that differ from the remote ones.
    #[arg(long)]
    pub overwrite: bool,
    /// Do not compare the whirlpool before renaming .part into place (size is still checked).
    #[arg(long)]
    pub no_verify: bool,
    /// Bandwidth limit across all connections, e.g. 500k, 10M (bytes per second).
    #[arg(long, value_name = "RATE", value_parser = parse_limit_rate)]
    pub limit_rate: Option<u64>,
    /// Password of protected files or shared folders (asked, or read with --password-file).
    #[command(flatten)]
    pub password: PasswordArgs,
}

/// Parses `--limit-rate` (e.g. `500k`, `10M`: bytes per second).
fn parse_limit_rate(raw: &str) -> Result<u64, String> {
    fichier_transfer::parse_rate(raw).map_err(|e| format!("{e} (e.g. --limit-rate 10M)"))
}

/// `fichier backup`
#[derive(Debug, Args)]
#[command(
    args_conflicts_with_subcommands = true,
    subcommand_negates_reqs = true,
    after_help = "Run a profile of the config file ([backup.NAME] with source, destination, \
                  filters, retention, limits) with `fichier backup NAME`, or give SOURCE and \
                  DEST. Files are compared by size and whirlpool; a local index re-hashes only \
                  files whose size, mtime or inode changed. Old copies of changed or removed \
                  files move into DEST/.versions/<run>/ (nothing is deleted unless \
                  --no-versions). Exit codes: 0 done (or nothing to do), 1 some files failed, \
                  2 usage error, 3 key problem, 4 flood lock (rerun resumes), 5 another run of \
                  this profile is active, 6 refused by a safety rule (empty or missing source, \
                  --max-delete)."
)]
pub struct BackupCommand {
    /// `ls` or `schedule` instead of a run.
    #[command(subcommand)]
    pub action: Option<BackupAction>,
    /// The run's options.
    #[command(flatten)]
    pub run: BackupRunArgs,
}

/// `fichier backup ls|schedule`
#[derive(Debug, Subcommand)]
pub enum BackupAction {
    /// List the profiles of the config file and their last run.
    Ls,
    /// Write a systemd user timer that runs a profile daily (or print a crontab line).
    Schedule(BackupScheduleArgs),
}

/// `fichier backup schedule`
#[derive(Debug, Args)]
pub struct BackupScheduleArgs {
    /// The profile to run.
    pub profile: String,
    /// Time of day, HH:MM (local time).
    #[arg(long, value_name = "HH:MM")]
    pub daily: String,
    /// Print the unit files and the crontab line instead of writing anything.
    #[arg(long)]
    pub print: bool,
    /// Replace existing unit files with other content.
    #[arg(long)]
    pub force: bool,
}

/// The options of a backup run (each overrides the profile's value).
#[derive(Debug, Args)]
pub struct BackupRunArgs {
    /// A profile name, or SOURCE and DEST.
    #[arg(value_name = "PROFILE | SOURCE DEST", num_args = 1..=2, required = true)]
    pub target: Vec<String>,
    /// Show what would be done; change nothing.
    #[arg(short = 'n', long)]
    pub dry_run: bool,
    /// Leave out paths matching this gitignore-style pattern (repeatable).
    #[arg(long, value_name = "PATTERN")]
    pub exclude: Vec<String>,
    /// Keep paths matching this pattern even when excluded (repeatable).
    #[arg(long, value_name = "PATTERN")]
    pub include: Vec<String>,
    /// Read exclude patterns from a file (repeatable).
    #[arg(long, value_name = "FILE")]
    pub exclude_from: Vec<PathBuf>,
    /// Leave out directories holding a file of this name (repeatable).
    #[arg(long, value_name = "NAME")]
    pub exclude_if_present: Vec<String>,
    /// Leave out files smaller than this (e.g. 1k).
    #[arg(long, value_name = "SIZE")]
    pub min_size: Option<String>,
    /// Leave out files larger than this (e.g. 4G).
    #[arg(long, value_name = "SIZE")]
    pub max_size: Option<String>,
    /// Leave out files not modified within this span (e.g. 30d).
    #[arg(long, value_name = "SPAN")]
    pub max_age: Option<String>,
    /// Leave out files modified within this span (e.g. 10m: still being written).
    #[arg(long, value_name = "SPAN")]
    pub min_age: Option<String>,
    /// Follow symbolic links (loops are detected).
    #[arg(long)]
    pub follow_symlinks: bool,
    /// Keep the newest version of each of the last N days.
    #[arg(long, value_name = "N")]
    pub keep_daily: Option<u32>,
    /// Keep the newest version of each of the last N weeks.
    #[arg(long, value_name = "N")]
    pub keep_weekly: Option<u32>,
    /// Keep the newest version of each of the last N months.
    #[arg(long, value_name = "N")]
    pub keep_monthly: Option<u32>,
    /// Keep every version within this span of the newest (e.g. 30d, 6m, 1y).
    #[arg(long, value_name = "SPAN")]
    pub keep_within: Option<String>,
    /// Plain mirror: delete old copies instead of keeping them as versions.
    #[arg(long)]
    pub no_versions: bool,
    /// Stop before retiring more removed files than this (N or P%).
    #[arg(long, value_name = "N|P%")]
    pub max_delete: Option<String>,
    /// Allow an empty source (otherwise refused: an unmounted disk must not empty the backup).
    #[arg(long)]
    pub allow_empty_source: bool,
    /// With --no-versions, delete files of the destination that no backup run put there
    /// (otherwise refused on a first run into a folder that already holds files).
    #[arg(long)]
    pub delete_unknown: bool,
    /// Files uploaded in parallel.
    #[arg(short, long, value_parser = clap::value_parser!(u16).range(1..=30))]
    pub jobs: Option<u16>,
    /// POST the JSON summary to this URL when the run ends (a failure is only a warning).
    #[arg(long, value_name = "URL")]
    pub notify_url: Option<String>,
    /// Run this shell command after a successful run, with the summary in FICHIER_BACKUP_*
    /// environment variables.
    #[arg(long, value_name = "CMD")]
    pub on_success: Option<String>,
    /// Run this shell command after a run that failed, stopped early or was refused.
    #[arg(long, value_name = "CMD")]
    pub on_failure: Option<String>,
    /// Append one JSON line per step (upload, retire, prune, failure) and the summary to this
    /// file (created 0600).
    #[arg(long, value_name = "PATH")]
    pub log_file: Option<std::path::PathBuf>,
    /// Progress while it runs: auto (bars on a terminal, nothing under cron), bars, json
    /// (NDJSON events on stdout, the summary as the last line), none.
    #[arg(long, value_name = "MODE", value_enum, default_value_t = ProgressMode::Auto)]
    pub progress: ProgressMode,
    /// Upload bandwidth: a rate (`2M`) or a daily timetable (`"08:00,2M 23:00,off"`: 2 MiB/s
    /// from 08:00, unlimited from 23:00), followed while the run goes on.
    #[arg(long, value_name = "RATE|TIMETABLE")]
    pub bwlimit: Option<String>,
}

/// How a long run (backup, queue run, daemon) shows its progress.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ProgressMode {
    /// Bars when stderr is a terminal; otherwise the command's quiet default (a backup
    /// prints its summary only, the queue a line per event).
    Auto,
    /// Bars on stderr.
    Bars,
    /// One JSON object a line on stdout for every phase and file event.
    Json,
    /// Errors and the summary only.
    None,
}

/// `fichier restore`
#[derive(Debug, Args)]
#[command(
    after_help = "Reads the manifest of the chosen run from REMOTE_DIR/.versions/manifests \
                  (so it works on a new machine), fetches each file from the live tree or the \
                  versions, verifies it, and sets mtime and mode. Existing local files are \
                  never overwritten: identical ones are kept, different ones reported."
)]
pub struct RestoreArgs {
    /// The backup destination.
    pub remote: String,
    /// Where to rebuild the tree.
    pub local: PathBuf,
    /// Only these paths or folders (relative to the backup root).
    pub paths: Vec<String>,
    /// The last run at or before this date (YYYY-MM-DD, YYYY-MM-DDTHH:MM, local time).
    #[arg(long, value_name = "DATE")]
    pub at: Option<String>,
    /// Files downloaded in parallel.
    #[arg(short, long, default_value_t = 2, value_parser = clap::value_parser!(u16).range(1..=30))]
    pub jobs: u16,
}

/// `fichier verify`
#[derive(Debug, Args)]
pub struct VerifyArgs {
    /// The backup destination.
    pub remote: String,
    /// Also download files and hash them again.
    #[arg(long)]
    pub read_data: bool,
    /// With --read-data, only this share of the files, picked at random (e.g. 10%).
    #[arg(long, value_name = "P%", requires = "read_data")]
    pub sample: Option<String>,
}

/// `fichier exec`
#[derive(Debug, Args)]
#[command(
    after_help = "The key comes from the usual sources (--api-key-file, FICHIER_API_KEY, \
                  the keyring, the credentials file) and is put in CMD's environment only: \
                  never on its command line. fichier replaces itself with CMD, so CMD's exit \
                  code and signals are the command's own. Exit codes of fichier itself: 2 bad \
                  arguments, 3 no usable key (CMD not started), 126 CMD cannot be run, 127 CMD \
                  not found. See docs/exec.md."
)]
pub struct ExecArgs {
    /// Put the key in this environment variable (repeatable; default FICHIER_API_KEY).
    #[arg(long = "env", value_name = "NAME")]
    pub env: Vec<String>,
    /// Put the key in RCLONE_FICHIER_API_KEY (rclone's fichier backend reads it).
    #[arg(long)]
    pub rclone: bool,
    /// The program to run and its arguments (put them after `--`). Checked by the command,
    /// not by clap: clap's usage line for a missing one listed settings read from the
    /// environment as if they were required options.
    #[arg(
        trailing_var_arg = true,
        allow_hyphen_values = true,
        value_name = "CMD [ARGS]..."
    )]
    pub command: Vec<std::ffi::OsString>,
}

/// `fichier ftp ...`
#[derive(Debug, Subcommand)]
pub enum FtpCommand {
    /// Process the files sent by FTP now (when FTP processing is manual).
    Process,
    /// FTP sub-accounts.
    #[command(subcommand)]
    Users(FtpUsersCommand),
    /// Show or set how FTP uploads are processed (automatic or manual) and where they go.
    Mode(FtpModeArgs),
}

/// `fichier ftp users ...`
#[derive(Debug, Subcommand)]
pub enum FtpUsersCommand {
    /// List the FTP sub-accounts.
    Ls,
    /// Create an FTP sub-account (password asked, or read with --password-file).
    Add(FtpUserAddArgs),
    /// Delete an FTP sub-account.
    Rm(FtpUserRmArgs),
}

/// `fichier ftp users add`
#[derive(Debug, Args)]
pub struct FtpUserAddArgs {
    /// Login of the sub-account (1 to 64 characters: letters, digits, `.`, `_`, `-`).
    pub user: String,
    /// Folder the sub-account's uploads go to (default /).
    #[arg(long, value_name = "DIR")]
    pub folder: Option<String>,
    /// The sub-account's password: asked on a terminal, else --password (one line of stdin)
    /// or --password-file.
    #[command(flatten)]
    pub password: PasswordArgs,
}

/// `fichier ftp users rm`
#[derive(Debug, Args)]
pub struct FtpUserRmArgs {
    /// Login of the sub-account.
    pub user: String,
}

/// How FTP uploads are processed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum FtpMode {
    /// Files sent by FTP are processed as they arrive.
    Auto,
    /// Files wait for `fichier ftp process`.
    Manual,
}

/// `fichier ftp mode`
#[derive(Debug, Args)]
pub struct FtpModeArgs {
    /// The processing mode to set (without it: show the current settings).
    #[arg(value_enum)]
    pub mode: Option<FtpMode>,
    /// Folder FTP uploads go to.
    #[arg(long, value_name = "DIR")]
    pub folder: Option<String>,
    /// E-mail a report after each processing.
    #[arg(long, value_enum, value_name = "on|off")]
    pub report: Option<Switch>,
}

/// `fichier voucher ...`
#[derive(Debug, Subcommand)]
pub enum VoucherCommand {
    /// List the unused vouchers the account owns (resellers).
    Ls,
    /// Check whether a voucher can be used.
    Check(VoucherCheckArgs),
    /// Credit a voucher to an account (cannot be undone).
    Use(VoucherUseArgs),
}

/// `fichier voucher check`
#[derive(Debug, Args)]
pub struct VoucherCheckArgs {
    /// The voucher code, or `-` to read it from standard input.
    pub voucher: String,
}

/// `fichier voucher use`
#[derive(Debug, Args)]
pub struct VoucherUseArgs {
    /// The voucher code, or `-` to read it from standard input.
    pub voucher: String,
    /// E-mail address of the account to credit.
    #[arg(long, value_name = "EMAIL")]
    pub to: String,
}

/// `fichier files`
#[derive(Debug, Args)]
pub struct FilesArgs {
    /// Folder whose files to list (default /); not with --all.
    #[arg(value_name = "DIR", conflicts_with = "all")]
    pub folder: Option<String>,
    /// Every file of the account, whatever its folder (1fichier allows this rarely: about once
    /// an hour).
    #[arg(long)]
    pub all: bool,
    /// Only files uploaded on or after this date (YYYY-MM-DD, local time).
    #[arg(long, value_name = "DATE")]
    pub after: Option<String>,
    /// Only files uploaded before this date (YYYY-MM-DD, local time).
    #[arg(long, value_name = "DATE")]
    pub before: Option<String>,
    /// List the folder DIR (an id:N) that this user shares with you.
    #[arg(long, value_name = "EMAIL", conflicts_with = "all")]
    pub shared_by: Option<String>,
}

/// `fichier virus-scan`
#[derive(Debug, Args)]
pub struct VirusScanArgs {
    /// Files (paths or links) of the account, under 5 GB each.
    #[arg(required = true)]
    pub files: Vec<String>,
}

/// The web side's listeners (`fichier daemon` and `fichier dashboard --serve`).
#[derive(Debug, Clone, clap::Args)]
pub struct WebArgs {
    /// Dashboard port, on 127.0.0.1 unless --listen [default: 9667; 0 picks a free one].
    #[arg(long, value_name = "P")]
    pub port: Option<u16>,
    /// Click'n'Load port, always on 127.0.0.1 (web pages post to 9666) [default: 9666].
    #[arg(long, value_name = "C")]
    pub cnl_port: Option<u16>,
    /// Do not run the Click'n'Load receiver.
    #[arg(long)]
    pub no_cnl: bool,
    /// Serve the dashboard on this address instead of 127.0.0.1 (other machines can then
    /// reach it: the access token is all that protects it).
    #[arg(long, value_name = "ADDR")]
    pub listen: Option<std::net::IpAddr>,
}

/// `fichier dashboard`
#[derive(Debug, clap::Args)]
#[command(after_help = "The dashboard, its JSON API and Click'n'Load: docs/dashboard.md.")]
pub struct DashboardArgs {
    /// Print the URL without opening a browser.
    #[arg(long)]
    pub no_open: bool,
    /// Serve the dashboard (and Click'n'Load) in this process until interrupted, without the
    /// daemon's downloader: for looking at and editing the queue.
    #[arg(long)]
    pub serve: bool,
    /// With --serve: where links added from the dashboard are downloaded (default: the
    /// current directory).
    #[arg(long, value_name = "DIR", requires = "serve")]
    pub to: Option<PathBuf>,
    /// Listeners.
    #[command(flatten)]
    pub web: WebArgs,
}

/// How `queue run` and `daemon` work the queue (docs/daemon.md).
#[derive(Debug, Clone, Args)]
pub struct QueueWorkArgs {
    /// Files downloaded at once on Premium/GOLD, 1-10 (Access: 1; Free: none).
    #[arg(short, long, value_name = "N", default_value_t = 3,
          value_parser = clap::value_parser!(u8).range(1..=10))]
    pub jobs: u8,
    /// Connections per file, 1-20 (default 3 for files of 64 MiB and more, else 1).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=20))]
    pub segments: Option<u32>,
    /// Connections across every file of the queue, 1-30 (1fichier allows 30 per account).
    #[arg(long, value_name = "N", default_value_t = 12,
          value_parser = clap::value_parser!(u8).range(1..=30))]
    pub connections: u8,
    /// Global bandwidth limit shared by every connection (500k, 10M, 1G).
    #[arg(long, value_name = "RATE", value_parser = parse_limit_rate, conflicts_with = "timetable")]
    pub limit_rate: Option<u64>,
    /// Bandwidth by local time of day: "08:00,2M 23:00,off" (off = unlimited).
    #[arg(long, value_name = "TABLE", value_parser = parse_timetable)]
    pub timetable: Option<fichier_transfer::Timetable>,
    /// Do not compare the whirlpool (the size is still checked).
    #[arg(long)]
    pub no_verify: bool,
    /// Run CMD with `sh -c` after each finished file (FICHIER_ITEM_PATH, _SIZE, _WHIRLPOOL,
    /// _PACKAGE, _ID, _NAME, _SOURCE in its environment).
    #[arg(long, value_name = "CMD")]
    pub on_done: Option<String>,
    /// Run CMD with `sh -c` when every file of a package is done (FICHIER_PACKAGE,
    /// FICHIER_PACKAGE_FILES, FICHIER_PACKAGE_PATHS, FICHIER_PACKAGE_BYTES).
    #[arg(long, value_name = "CMD")]
    pub on_package_done: Option<String>,
    /// Progress: auto (bars on a terminal, a line per event elsewhere), bars, json (NDJSON
    /// events on stdout, the summary as the last line), none (errors only).
    #[arg(long, value_name = "MODE", value_enum, default_value_t = ProgressMode::Auto)]
    pub progress: ProgressMode,
}

/// `fichier queue run`
#[derive(Debug, Clone, Args)]
pub struct QueueRunArgs {
    #[command(flatten)]
    pub work: QueueWorkArgs,
    /// Longest wait for items that wait (flood cooldown, retries, location limit) before
    /// giving up and exiting (30s, 15m, 1h; 0 = never wait).
    #[arg(long, value_name = "DURATION", default_value = "15m", value_parser = parse_wait)]
    pub max_wait: std::time::Duration,
}

/// `fichier daemon`
#[derive(Debug, Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct DaemonArgs {
    /// `install` writes a systemd user unit instead of running.
    #[command(subcommand)]
    pub action: Option<DaemonCommand>,
    #[command(flatten)]
    pub run: DaemonRunArgs,
}

/// What a running daemon does.
#[derive(Debug, Clone, Args)]
pub struct DaemonRunArgs {
    #[command(flatten)]
    pub work: QueueWorkArgs,
    /// Import `.crawljob` and `.txt` link files dropped into DIR every few seconds
    /// (repeatable); imported files move to DIR/added/.
    #[arg(long, value_name = "DIR")]
    pub watch: Vec<PathBuf>,
    /// Where links imported from watched folders go when the file names no folder (default:
    /// the current directory).
    #[arg(long, value_name = "DIR")]
    pub to: Option<PathBuf>,
    /// Queue a retryable failure (service trouble that outlasted the item's retries) again
    /// after this wait, doubled each round, three rounds at most (30s, 15m, 1h; 0 = never).
    #[arg(long, value_name = "DURATION", default_value = "30m", value_parser = parse_wait)]
    pub requeue_failed_after: std::time::Duration,
    /// The dashboard and Click'n'Load listeners.
    #[command(flatten)]
    pub web: WebArgs,
}

/// `fichier daemon ...`
#[derive(Debug, Subcommand)]
pub enum DaemonCommand {
    /// Write a systemd user unit running `fichier daemon` with these options (or print it,
    /// and how to start it where systemd is missing).
    Install(DaemonInstallArgs),
}

/// `fichier daemon install`
#[derive(Debug, Args)]
pub struct DaemonInstallArgs {
    #[command(flatten)]
    pub run: DaemonRunArgs,
    /// Print the unit instead of writing it.
    #[arg(long)]
    pub print: bool,
    /// Replace an existing unit with other content.
    #[arg(long)]
    pub force: bool,
}

fn parse_timetable(raw: &str) -> Result<fichier_transfer::Timetable, String> {
    fichier_transfer::Timetable::parse(raw)
}

/// `30s`, `15m`, `1h`, `0`: a [`parse_duration`] for clap.
fn parse_wait(raw: &str) -> Result<std::time::Duration, String> {
    parse_duration(raw)
}

/// The one grammar of durations (`--max-wait`, `--requeue-failed-after`, `--max-age`,
/// `--min-age`): a whole number and a unit, `s`, `m` (minutes), `h`, `d` or `w` (`45s`, `15m`,
/// `12h`, `30d`, `2w`); `0` alone is no time at all. A bare number other than 0 is refused:
/// `30` could be any unit. (`--keep-within` takes calendar spans, where `m` is months: another
/// grammar on purpose.)
pub(crate) fn parse_duration(raw: &str) -> Result<std::time::Duration, String> {
    let t = raw.trim();
    let split = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (n, unit) = t.split_at(split);
    let n: u64 = n.parse().map_err(|_| {
        format!("`{t}` is not a duration: write a number and a unit, e.g. 30s, 15m, 12h, 30d or 2w")
    })?;
    let secs = match unit {
        "" if n == 0 => 0,
        "" => {
            return Err(format!(
                "`{t}` has no unit: write e.g. {n}s, {n}m (minutes), {n}h or {n}d"
            ));
        }
        "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86_400,
        "w" => 7 * 86_400,
        _ => {
            return Err(format!(
                "`{t}`: unknown unit `{unit}`; use s, m (minutes), h, d or w"
            ));
        }
    };
    Ok(std::time::Duration::from_secs(n.saturating_mul(secs)))
}

/// A size in bytes (`--min-size`, `--max-size`): a number, maybe with a fraction, and an
/// optional unit `k`, `M`, `G` or `T` counted in 1024s, with or without `B`/`iB` (`500k`,
/// `1.5G`, `4GiB`, `100`).
pub(crate) fn parse_size(raw: &str) -> Result<u64, String> {
    let t = raw.trim();
    let bad = || {
        format!(
            "`{t}` is not a size: write e.g. 500k, 10M or 4G (bytes; k, M, G and T count in 1024s)"
        )
    };
    let lower = t.to_ascii_lowercase();
    let body = lower
        .strip_suffix("ib")
        .or_else(|| lower.strip_suffix('b'))
        .unwrap_or(&lower);
    let split = body
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(body.len());
    let (num, unit) = body.split_at(split);
    let mult: u64 = match unit.trim() {
        "" => 1,
        "k" => 1 << 10,
        "m" => 1 << 20,
        "g" => 1 << 30,
        "t" => 1 << 40,
        _ => return Err(bad()),
    };
    let n: f64 = num.parse().map_err(|_| bad())?;
    let v = (n * mult as f64).round();
    if !v.is_finite() || v >= u64::MAX as f64 {
        return Err(bad());
    }
    Ok(v as u64)
}

/// `fichier queue ...`
#[derive(Debug, Subcommand)]
pub enum QueueCommand {
    /// Add file links (any 1fichier domain), shared folders, files or folders of the account.
    Add(QueueAddArgs),
    /// List the queue in work order: state, progress, speed, ETA, reason (--json: docs/queue.md).
    Ls,
    /// Pause items (a download in progress stops; its .part is kept for resuming).
    Pause(QueueSelectArgs),
    /// Queue paused items again.
    Resume(QueueSelectArgs),
    /// Queue failed, offline or waiting items again (a waiting one is tried at once).
    Retry(QueueSelectArgs),
    /// Remove items from the queue (files and .part files on disk are kept).
    Rm(QueueSelectArgs),
    /// Move an item to the top or the bottom of its priority.
    Move(QueueMoveArgs),
    /// Remove finished items from the list.
    Clear(QueueClearArgs),
    /// Write the items not yet done as JDownloader .crawljob files.
    Export(QueueExportArgs),
    /// Download what is queued, in the foreground, until nothing is left (docs/daemon.md).
    Run(QueueRunArgs),
}

/// `fichier queue add`
#[derive(Debug, Args)]
#[command(
    after_help = "A path names a file or folder of the account: /Movies/a.mkv, /Movies (the \
                  folder itself, into DIR/Movies) or /Movies/ (its contents, into DIR); \
                  sub-folders become sub-directories. Names, sizes and whirlpools are learned \
                  now where 1fichier tells them; a link already queued, or a second file for \
                  the same local path, is refused."
)]
pub struct QueueAddArgs {
    /// File links, shared-folder links, or paths in the account.
    #[arg(value_name = "URL|PATH", required_unless_present = "input")]
    pub targets: Vec<String>,
    /// Local directory to download into (default: the current directory).
    #[arg(long, value_name = "DIR")]
    pub to: Option<PathBuf>,
    /// Group the items under this package name.
    #[arg(long, value_name = "NAME")]
    pub package: Option<String>,
    /// Higher runs first; a negative priority runs after everything else.
    #[arg(
        long,
        value_name = "N",
        default_value_t = 0,
        allow_negative_numbers = true
    )]
    pub priority: i32,
    /// Read more from this file: one link or path a line (`#` comments), or a JDownloader
    /// .crawljob file; `-` for stdin.
    #[arg(long, value_name = "FILE")]
    pub input: Option<PathBuf>,
    /// Do not ask 1fichier about links now (names and sizes are learned when downloading).
    #[arg(long)]
    pub no_check: bool,
    /// Download password of the files (asked, or read with --password-file).
    #[command(flatten)]
    pub password: PasswordArgs,
}

/// Which queue items a command applies to.
#[derive(Debug, Args)]
#[command(group(clap::ArgGroup::new("which").required(true).args(["id", "package", "all"])))]
pub struct QueueSelectArgs {
    /// The item's id (first column of `fichier queue ls`).
    #[arg(value_name = "ID")]
    pub id: Option<i64>,
    /// Every item of this package.
    #[arg(long, value_name = "NAME")]
    pub package: Option<String>,
    /// Every item.
    #[arg(long)]
    pub all: bool,
}

/// `fichier queue move`
#[derive(Debug, Args)]
#[command(group(clap::ArgGroup::new("where").required(true).args(["top", "bottom"])))]
pub struct QueueMoveArgs {
    /// The item's id.
    #[arg(value_name = "ID")]
    pub id: i64,
    /// Run it first.
    #[arg(long)]
    pub top: bool,
    /// Run it last.
    #[arg(long)]
    pub bottom: bool,
}

/// `fichier queue clear`
#[derive(Debug, Args)]
pub struct QueueClearArgs {
    /// Remove the items that are done (their files stay on disk).
    #[arg(long, required = true)]
    pub done: bool,
}

/// `fichier queue export`
#[derive(Debug, Args)]
pub struct QueueExportArgs {
    /// Directory to write the .crawljob files into (one per package; existing files are
    /// never overwritten). They hold the download passwords: written 0600.
    #[arg(long, value_name = "DIR", required = true)]
    pub crawljob: PathBuf,
    /// Only this package.
    #[arg(long, value_name = "NAME")]
    pub package: Option<String>,
}
