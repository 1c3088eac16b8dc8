//! `herald restore FILE [--force] [--json]`: puts a backup made by
//! `herald backup` in place after checking it. See `crate::backup`.

use std::process::ExitCode;

use anyhow::Result;

use super::backup::progress;
use crate::backup::{self, RestoreOptions};
use crate::cli::RestoreArgs;
use crate::config::Config;

pub async fn run(config: Config, args: RestoreArgs) -> Result<ExitCode> {
    let options = RestoreOptions { archive: args.file, force: args.force, progress: progress(args.json) };
    let summary = backup::restore(&config, &options).await?;
    if args.json {
        println!("{}", serde_json::to_string(&summary)?);
        return Ok(ExitCode::SUCCESS);
    }
    let counts: Vec<String> = summary.row_counts.iter().map(|(table, n)| format!("{n} {table}")).collect();
    println!(
        "Restored {} (taken {} by Herald {})",
        summary.restored_from.display(),
        summary.backup_created_at.to_rfc3339(),
        summary.backup_herald_version
    );
    println!("  {}, {} media file(s)", counts.join(", "), summary.media_files);
    if !summary.migrations_applied.is_empty() {
        println!("  migrations applied: {}", summary.migrations_applied.join(", "));
    }
    if let Some(previous) = &summary.previous_data {
        println!("  the data it replaced is in {}", previous.display());
    }
    for warning in &summary.warnings {
        println!("  warning: {warning}");
    }
    Ok(ExitCode::SUCCESS)
}
