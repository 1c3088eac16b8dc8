//! `herald backup [--dir DIR] [--keep-days N] [--json]`: one archive with a
//! consistent database snapshot, the media and the secrets, taken while
//! Herald keeps serving. See `crate::backup`.

use std::io::IsTerminal;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{Context, Result, bail};

use super::open_store;
use crate::backup::{self, BackupOptions, Cancel};
use crate::cli::BackupArgs;
use crate::config::Config;

pub async fn run(config: Config, args: BackupArgs) -> Result<ExitCode> {
    let url = config.database_url();
    // Opening a missing SQLite file would create an empty database to back up.
    if let Some(file) = crate::backup::sqlite_file(&url)
        && !file.exists()
    {
        bail!("no database at {}: nothing to back up (is --data-dir or DATABASE_URL right?)", file.display());
    }
    let options = BackupOptions {
        dir: args.dir.unwrap_or_else(|| config.backup_dir()),
        keep_days: args.keep_days.unwrap_or(config.backup_keep_days),
        progress: progress(args.json),
        cancel: Cancel::never(),
    };
    let store = open_store(&config).await?;
    let result = backup::create(&config, &store, &options).await;
    store.close().await.context("closing the database")?;
    let summary = result?;
    if args.json {
        println!("{}", serde_json::to_string(&summary)?);
    } else {
        let counts: Vec<String> = summary.row_counts.iter().map(|(table, n)| format!("{n} {table}")).collect();
        println!("Backup written: {}", summary.path.display());
        println!(
            "  {}, {} media file(s), secrets {}",
            counts.join(", "),
            summary.media_files,
            if summary.secrets_included { "included" } else { "not found (not included)" }
        );
        for old in &summary.pruned {
            println!("  deleted old backup {}", old.display());
        }
        for warning in &summary.warnings {
            println!("  warning: {warning}");
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// Progress lines on stderr when it is a terminal; never with `--json`.
pub(crate) fn progress(json: bool) -> backup::Progress {
    if json || !std::io::stderr().is_terminal() {
        return backup::silent();
    }
    Arc::new(|line: &str| eprintln!("{line}"))
}
