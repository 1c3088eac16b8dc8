//! Backups and restores. A backup is one `herald-YYYYMMDD-HHMMSS.tar.gz`:
//! a consistent snapshot of the database taken while Herald keeps serving,
//! the uploaded media, the secrets file (without it restored integrations
//! cannot be decrypted) and `manifest.json` with a checksum of every file.
//! A restore checks all of it before it touches anything, and moves what it
//! replaces aside instead of deleting it.

mod archive;
mod create;
mod database;
mod files;
mod manifest;
mod restore;
mod retention;
pub mod schedule;

use std::sync::Arc;

use tokio::sync::watch;

pub use create::{BackupOptions, create};
pub use database::sqlite_path as sqlite_file;
pub use restore::{RestoreOptions, restore};
pub use schedule::run_scheduled_backups;

/// Where progress lines go: the terminal, the log, or nowhere.
pub type Progress = Arc<dyn Fn(&str) + Send + Sync>;

pub fn silent() -> Progress {
    Arc::new(|_| {})
}

/// Lets `herald serve` stop a backup in progress at shutdown.
#[derive(Clone, Default)]
pub struct Cancel(Option<watch::Receiver<bool>>);

impl Cancel {
    pub fn never() -> Self {
        Self(None)
    }

    pub fn on(shutdown: watch::Receiver<bool>) -> Self {
        Self(Some(shutdown))
    }

    pub fn requested(&self) -> bool {
        self.0.as_ref().is_some_and(|rx| *rx.borrow())
    }

    /// Completes when cancellation is requested (or its sender is gone).
    pub async fn wait(&mut self) {
        match &mut self.0 {
            Some(rx) => {
                let _ = rx.wait_for(|stop| *stop).await;
            }
            None => std::future::pending().await,
        }
    }
}

/// The encryption key fingerprint in effect, when it can be known without
/// side effects (`load_or_create_secrets` generates a file when none exists
/// and the environment lacks a secret).
fn key_fingerprint(config: &crate::config::Config) -> Option<String> {
    let known = config.secrets_file().exists() || (config.jwt_secret.is_some() && config.encryption_key.is_some());
    known.then(|| crate::config::load_or_create_secrets(config).ok()).flatten().map(|s| s.key_fingerprint())
}
