//! Herald's composition root: parse the command line, read the
//! configuration, and run the command.

mod backup;
mod cli;
mod commands;
mod config;
mod logging;

use std::process::ExitCode;

use clap::Parser;

use crate::cli::{Cli, Command};
use crate::config::{Config, Overrides};

/// Delivery moves many small buffers between threads (rows built on the
/// SQLite thread, requests and responses on the runtime's): glibc's
/// allocator spent an eighth of the worker's CPU on that; mimalloc's
/// thread-local free lists don't. See `main` for its idle memory.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    // 2 MiB transparent huge pages where mimalloc's arenas use a few KiB
    // took the idle heap from 7 to 28 MB. It is built not to ask for them
    // (`no_thp`); this also keeps a system set to `always` from giving them.
    #[cfg(target_os = "linux")]
    if let Err(error) = rustix::thread::disable_transparent_huge_pages(true) {
        eprintln!("herald: could not turn transparent huge pages off ({error}); idle memory will be higher");
    }
    match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(runtime) => runtime.block_on(run()),
        Err(error) => {
            eprintln!("herald: cannot start the async runtime: {error}");
            ExitCode::FAILURE
        }
    }
}

async fn run() -> ExitCode {
    let cli = Cli::parse();
    let overrides = Overrides {
        data_dir: cli.data_dir.clone(),
        database_url: cli.database_url.clone(),
        host: match &cli.command {
            Command::Serve(args) => args.host.clone(),
            _ => None,
        },
        port: match &cli.command {
            Command::Serve(args) => args.port,
            _ => None,
        },
    };
    let config = match Config::load(cli.config.as_deref(), &overrides) {
        Ok(config) => config,
        Err(error) => {
            eprintln!("herald: {error:#}");
            return ExitCode::from(2);
        }
    };
    // stdout belongs to the MCP protocol under `herald mcp`; logs go to stderr anyway.
    logging::init(&config.log_format, matches!(cli.command, Command::Serve(_)));
    let result = match cli.command {
        Command::Serve(_) => commands::serve::run(config).await,
        Command::Migrate { dry_run } => commands::migrate::run(config, dry_run).await,
        Command::User(command) => commands::user::run(config, command).await,
        Command::Apikey(command) => commands::apikey::run(config, command).await,
        Command::Backup(args) => commands::backup::run(config, args).await,
        Command::Restore(args) => commands::restore::run(config, args).await,
        Command::Doctor { json } => commands::doctor::run(config, json).await,
        Command::Mcp { api_key } => commands::mcp::run(config, api_key).await,
    };
    match result {
        Ok(code) => code,
        Err(error) => {
            tracing::error!(error = format!("{error:#}"), "herald failed");
            eprintln!("herald: {error:#}");
            ExitCode::FAILURE
        }
    }
}
