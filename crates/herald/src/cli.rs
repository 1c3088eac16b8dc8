//! The command line: `herald serve | migrate | user | apikey | mcp | export | import | backup | restore | doctor`.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(name = "herald", version, about = "Self-hosted social media scheduler with a built-in MCP server")]
pub struct Cli {
    /// Configuration file (default: ./herald.toml when it exists).
    #[arg(long, global = true, env = "HERALD_CONFIG")]
    pub config: Option<PathBuf>,
    /// Data directory: SQLite database, secrets, uploads (default ./data).
    #[arg(long, global = true)]
    pub data_dir: Option<PathBuf>,
    /// Database URL: sqlite://path or postgres://user@host/db.
    #[arg(long, global = true)]
    pub database_url: Option<String>,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run Herald: web UI, REST API, MCP, scheduler and workers.
    Serve(ServeArgs),
    /// Apply pending database migrations.
    Migrate {
        /// List pending migrations without applying them.
        #[arg(long)]
        dry_run: bool,
    },
    /// Manage user accounts.
    #[command(subcommand)]
    User(UserCommand),
    /// Manage API keys.
    #[command(subcommand)]
    Apikey(ApiKeyCommand),
    /// Serve MCP on stdin/stdout (for Claude Desktop and other local clients).
    Mcp {
        /// The API key the assistant acts with (or $HERALD_API_KEY).
        #[arg(long, env = "HERALD_API_KEY", hide_env_values = true)]
        api_key: String,
    },
    /// Write every post to a CSV or YAML file (stdout unless --output).
    Export(ExportArgs),
    /// Check posts from a CSV/YAML file or a folder of them, and with --apply import them.
    Import(ImportArgs),
    /// Back up the database, media and secrets into one archive (Herald may keep running).
    Backup(BackupArgs),
    /// Restore an archive made by `herald backup` (stop Herald first).
    Restore(RestoreArgs),
    /// Check configuration and database; exit non-zero on a problem.
    Doctor {
        /// Machine-readable output.
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Address to listen on (default 0.0.0.0).
    #[arg(long)]
    pub host: Option<String>,
    /// Port to listen on (default 5000, or $PORT).
    #[arg(long)]
    pub port: Option<u16>,
}

#[derive(Debug, Args)]
pub struct BackupArgs {
    /// Directory to write `herald-YYYYMMDD-HHMMSS.tar.gz` into (default
    /// $HERALD_BACKUP_DIR, else <data dir>/backups).
    #[arg(long)]
    pub dir: Option<PathBuf>,
    /// Delete backups in that directory older than this many days (never
    /// the newest; default $HERALD_BACKUP_KEEP_DAYS, else 7).
    #[arg(long)]
    pub keep_days: Option<u32>,
    /// Print one JSON summary on stdout and nothing else.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct RestoreArgs {
    /// The backup archive (`herald-….tar.gz`).
    pub file: PathBuf,
    /// Restore even though the database already has users or posts (the
    /// current data is moved aside, not deleted).
    #[arg(long)]
    pub force: bool,
    /// Print one JSON summary on stdout and nothing else.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Create an account (with its personal workspace).
    Create {
        #[arg(long)]
        email: String,
        #[arg(long)]
        name: Option<String>,
        /// IANA time zone, e.g. Europe/Paris (default UTC).
        #[arg(long)]
        timezone: Option<String>,
        /// Make the account an instance administrator.
        #[arg(long)]
        admin: bool,
        /// Read the password from the first line of standard input
        /// (otherwise it is asked for on the terminal).
        #[arg(long)]
        password_stdin: bool,
    },
    /// List accounts.
    List,
}

#[derive(Debug, Subcommand)]
pub enum ApiKeyCommand {
    /// Create a key; it is printed once.
    Create {
        /// E-mail of the account the key acts as.
        #[arg(long)]
        user: String,
        #[arg(long)]
        name: String,
        /// Comma-separated scopes (default: all). Known: posts:read,
        /// posts:write, posts:publish, analytics:read, integrations:read.
        #[arg(long, value_delimiter = ',')]
        scopes: Option<Vec<String>>,
        /// Days until the key expires (default: never).
        #[arg(long)]
        expires_in_days: Option<i64>,
        /// Print only the key (for scripts).
        #[arg(long)]
        quiet: bool,
    },
    /// List the keys of an account.
    List {
        #[arg(long)]
        user: String,
        #[arg(long)]
        json: bool,
    },
    /// Revoke a key by id.
    Revoke { id: String },
}

#[derive(Debug, Args)]
pub struct ExportArgs {
    /// The API key whose workspace is exported (or $HERALD_API_KEY).
    #[arg(long, env = "HERALD_API_KEY", hide_env_values = true)]
    pub api_key: String,
    /// `yaml` or `csv` (default: from the output's extension, else yaml).
    #[arg(long)]
    pub format: Option<String>,
    /// File to write (default: stdout).
    #[arg(long, short)]
    pub output: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct ImportArgs {
    /// A .yaml/.yml/.csv file, or a folder of them (read in name order).
    pub path: PathBuf,
    /// The API key whose workspace receives the posts (or $HERALD_API_KEY).
    #[arg(long, env = "HERALD_API_KEY", hide_env_values = true)]
    pub api_key: String,
    /// `yaml` or `csv` (default: from each file's extension).
    #[arg(long)]
    pub format: Option<String>,
    /// Save the posts; without it the rows are only checked.
    #[arg(long)]
    pub apply: bool,
}
