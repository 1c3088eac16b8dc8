//! Scheduled backups inside `herald serve` (the scheduler role), at the
//! times of `HERALD_BACKUP_SCHEDULE`, a cron expression evaluated in UTC.

use std::str::FromStr;

use anyhow::{Result, anyhow};
use chrono::Utc;
use croner::Cron;
use herald_store::Store;
use tokio::sync::watch;

use super::{BackupOptions, Cancel, create};
use crate::config::Config;

/// Checks `HERALD_BACKUP_SCHEDULE` when the configuration is read, so a
/// typo stops Herald at startup rather than silently taking no backups.
pub fn check(schedule: Option<&str>) -> Result<()> {
    match schedule.map(str::trim).filter(|s| !s.is_empty()) {
        Some(expression) => parse(expression).map(|_| ()),
        None => Ok(()),
    }
}

fn parse(expression: &str) -> Result<Cron> {
    Cron::from_str(expression).map_err(|error| {
        anyhow!(
            "HERALD_BACKUP_SCHEDULE: `{expression}` is not a valid cron expression ({error}); for example \
             `0 3 * * *` backs up every day at 03:00 UTC"
        )
    })
}

/// Takes a backup at every time of the schedule until shutdown. A backup in
/// progress at shutdown is abandoned and its partial files removed.
pub async fn run_scheduled_backups(config: Config, store: Store, mut shutdown: watch::Receiver<bool>) {
    let Some(expression) = config.backup_schedule.as_deref().map(str::trim).filter(|s| !s.is_empty()) else {
        return;
    };
    let cron = match parse(expression) {
        Ok(cron) => cron,
        Err(error) => {
            tracing::error!(error = format!("{error:#}"), "scheduled backups disabled");
            return;
        }
    };
    let options = BackupOptions {
        dir: config.backup_dir(),
        keep_days: config.backup_keep_days,
        progress: std::sync::Arc::new(|line: &str| tracing::debug!("backup: {line}")),
        cancel: Cancel::on(shutdown.clone()),
    };
    tracing::info!(schedule = expression, dir = %options.dir.display(), keep_days = options.keep_days, "scheduled backups enabled");
    loop {
        let now = Utc::now();
        let next = match cron.find_next_occurrence(&now, false) {
            Ok(next) => next,
            Err(error) => {
                tracing::error!(%error, schedule = expression, "no next time for scheduled backups; stopping them");
                return;
            }
        };
        let wait = (next - now).to_std().unwrap_or_default();
        tokio::select! {
            () = tokio::time::sleep(wait) => {}
            _ = shutdown.wait_for(|stop| *stop) => return,
        }
        tracing::info!(scheduled_for = %next.to_rfc3339(), "scheduled backup starting");
        match create(&config, &store, &options).await {
            Ok(summary) => {
                tracing::info!(
                    path = %summary.path.display(),
                    size_bytes = summary.size_bytes,
                    media_files = summary.media_files,
                    pruned = summary.pruned.len(),
                    duration_ms = summary.duration_ms,
                    "scheduled backup written"
                );
                for warning in &summary.warnings {
                    tracing::warn!("scheduled backup: {warning}");
                }
            }
            Err(_) if *shutdown.borrow() => {
                tracing::info!("scheduled backup interrupted by shutdown");
                return;
            }
            Err(error) => tracing::error!(error = format!("{error:#}"), "scheduled backup failed"),
        }
    }
}
