//! `manifest.json`: what a backup holds and how to check it. It is the last
//! entry of the archive, so every checksum in it is of bytes already written.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// Bumped when the layout changes in a way an older restore cannot read.
pub const FORMAT: u32 = 1;

pub const MANIFEST: &str = "manifest.json";
pub const SQLITE_DATABASE: &str = "database/herald.db";
pub const PG_DATABASE: &str = "database/herald.pgdump";
pub const UPLOADS: &str = "uploads";
pub const SECRETS: &str = "secrets.toml";

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Manifest {
    pub format: u32,
    pub herald_version: String,
    pub created_at: DateTime<Utc>,
    /// `sqlite` or `postgres`.
    pub backend: String,
    /// The migrations applied to the database, in order.
    pub schema_version: Vec<String>,
    pub row_counts: BTreeMap<String, i64>,
    /// Every other file of the archive, by its path in the archive.
    pub files: BTreeMap<String, FileEntry>,
    pub secrets_included: bool,
    /// First 4 bytes of SHA-256 of the encryption key in effect (as
    /// `herald doctor` shows it), to tell whether a restore can decrypt.
    pub encryption_key_fingerprint: Option<String>,
    pub notes: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileEntry {
    pub sha256: String,
    pub size: u64,
}

impl Manifest {
    pub fn database_file(&self) -> &'static str {
        if self.backend == "postgres" { PG_DATABASE } else { SQLITE_DATABASE }
    }

    pub fn media_files(&self) -> usize {
        self.files.keys().filter(|name| name.starts_with(&format!("{UPLOADS}/"))).count()
    }
}

/// What a reader of the archive should know, written into the manifest.
pub fn notes(secrets_included: bool, env_key: bool) -> Vec<String> {
    let mut notes = vec!["Restore with `herald restore <this file>`; stop Herald first.".to_string()];
    if secrets_included {
        notes.push(
            "secrets.toml holds ENCRYPTION_KEY and JWT_SECRET: keep this archive private. Without that key the \
             platform credentials of connected integrations cannot be decrypted."
                .into(),
        );
    } else {
        notes.push(
            "No secrets.toml was in the data directory, so none is included: connected integrations can only be \
             decrypted after a restore if ENCRYPTION_KEY is set to the key in use when this backup was taken."
                .into(),
        );
    }
    if env_key {
        notes.push(
            "ENCRYPTION_KEY was set in the environment (it overrides secrets.toml): set the same value where you \
             restore."
                .into(),
        );
    }
    notes
}
