//! `herald migrate [--dry-run]`.

use std::process::ExitCode;

use anyhow::{Context, Result};

use super::open_store;
use crate::config::Config;

pub async fn run(config: Config, dry_run: bool) -> Result<ExitCode> {
    let store = open_store(&config).await?;
    if dry_run {
        let pending = store.pending_migrations().await.context("reading applied migrations")?;
        if pending.is_empty() {
            println!("No pending migrations.");
        } else {
            println!("Pending migrations ({}):", pending.len());
            for name in pending {
                println!("  {name}");
            }
        }
        return Ok(ExitCode::SUCCESS);
    }
    let applied = store.migrate().await.context("applying migrations")?;
    if applied.is_empty() {
        println!("Database is up to date.");
    } else {
        for name in &applied {
            println!("Applied {name}");
        }
    }
    Ok(ExitCode::SUCCESS)
}
