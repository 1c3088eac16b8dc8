//! Herald's composition root: parse the command line, read the
//! configuration, and run the command.

mod backup;
mod cli;
mod commands;
mod config;
mod heap;
mod logging;
mod private;

use std::process::ExitCode;

use clap::Parser;

use crate::cli::{Cli, Command};
use crate::config::{Config, Overrides};

#[tokio::main]
async fn main() -> ExitCode {
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
        Command::Export(args) => commands::transfer::export(config, args).await,
        Command::Import(args) => commands::transfer::import(config, args).await,
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
