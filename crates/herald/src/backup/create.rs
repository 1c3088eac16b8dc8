//! Taking a backup. The database is snapshotted first and the uploads are
//! read after: a media row in the snapshot always has its file on disk
//! already (files are stored before their row), so the archive never refers
//! to a file it lacks; at worst it holds a file no row refers to yet.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Context, Result, bail};
use chrono::{DateTime, SubsecRound, Utc};
use herald_store::{Backend, Store, StoreOptions};
use serde::Serialize;

use super::archive::{ArchiveWriter, list_files};
use super::files::Cleanup;
use super::manifest::{self, FORMAT, Manifest, PG_DATABASE, SECRETS, SQLITE_DATABASE, UPLOADS};
use super::{Cancel, Progress, database, key_fingerprint, retention};
use crate::config::Config;

pub struct BackupOptions {
    pub dir: PathBuf,
    pub keep_days: u32,
    pub progress: Progress,
    pub cancel: Cancel,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct BackupSummary {
    pub path: PathBuf,
    pub size_bytes: u64,
    pub created_at: DateTime<Utc>,
    pub backend: String,
    pub schema_version: Vec<String>,
    pub row_counts: BTreeMap<String, i64>,
    /// Files in the archive besides the manifest.
    pub files: usize,
    pub media_files: usize,
    pub secrets_included: bool,
    /// Old archives deleted by retention.
    pub pruned: Vec<PathBuf>,
    pub warnings: Vec<String>,
    pub duration_ms: u64,
}

/// What the snapshot step learned about the database.
struct Snapshot {
    file: PathBuf,
    archive_name: &'static str,
    schema_version: Vec<String>,
    row_counts: BTreeMap<String, i64>,
}

pub async fn create(config: &Config, store: &Store, options: &BackupOptions) -> Result<BackupSummary> {
    let started = Instant::now();
    let progress = &options.progress;
    let created_at = Utc::now().trunc_subsecs(0);
    // Backups hold the secrets.
    crate::private::create_dir(&options.dir).context("creating the backup directory")?;
    let path = retention::archive_path(&options.dir, created_at);
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("herald-backup.tar.gz").to_string();
    let partial = options.dir.join(format!(".{name}.part"));
    let staging = options.dir.join(format!(".{name}.staging"));
    // Removed whatever happens; after the final rename the partial file is gone already.
    let mut cleanup = Cleanup::default();
    cleanup.add(partial.clone());
    cleanup.add(staging.clone());
    std::fs::create_dir(&staging).with_context(|| format!("creating {}", staging.display()))?;

    progress(&format!("Snapshotting the {} database…", store.backend().name()));
    let snapshot = snapshot_database(config, store, &staging, &options.cancel).await?;
    if snapshot.schema_version.is_empty() {
        bail!("the database has no Herald schema yet (no migration applied): there is nothing to back up");
    }
    let uploads = config.uploads_dir();
    let media = list_files(&uploads, Some(&options.dir))?;
    progress(&format!("Archiving the database snapshot and {} media file(s) from {}…", media.len(), uploads.display()));

    let secrets = config.secrets_file();
    let secrets_included = secrets.exists();
    let mut manifest = Manifest {
        format: FORMAT,
        herald_version: env!("CARGO_PKG_VERSION").to_string(),
        created_at,
        backend: store.backend().name().to_string(),
        schema_version: snapshot.schema_version.clone(),
        row_counts: snapshot.row_counts.clone(),
        files: BTreeMap::new(),
        secrets_included,
        encryption_key_fingerprint: key_fingerprint(config),
        notes: manifest::notes(secrets_included, config.encryption_key.is_some()),
    };
    let (writer_partial, cancel) = (partial.clone(), options.cancel.clone());
    let database_file = snapshot.file.clone();
    let manifest = tokio::task::spawn_blocking(move || -> Result<Manifest> {
        let mut writer = ArchiveWriter::create(&writer_partial, cancel)?;
        writer.add_file(snapshot.archive_name, &database_file)?;
        for (relative, full) in &media {
            writer.add_file(&format!("{UPLOADS}/{relative}"), full)?;
        }
        if secrets_included {
            writer.add_file(SECRETS, &secrets)?;
        }
        manifest.files = writer.files().clone();
        writer.finish(&manifest)?;
        Ok(manifest)
    })
    .await
    .context("the archive writer stopped unexpectedly")??;
    std::fs::rename(&partial, &path)
        .with_context(|| format!("renaming {} to {}", partial.display(), path.display()))?;
    drop(cleanup);
    // Absolute, so that the summary names the file wherever it is read.
    let path = std::fs::canonicalize(&path).unwrap_or(path);
    let size_bytes = std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
    progress(&format!("Wrote {} ({})", path.display(), human_size(size_bytes)));

    let (pruned, warnings) = match retention::prune(&options.dir, options.keep_days, Utc::now()) {
        Ok(result) => result,
        Err(error) => (Vec::new(), vec![format!("retention skipped: {error:#}")]),
    };
    for old in &pruned {
        progress(&format!("Deleted {} (older than {} days)", old.display(), options.keep_days));
    }
    Ok(BackupSummary {
        path,
        size_bytes,
        created_at,
        backend: manifest.backend.clone(),
        schema_version: manifest.schema_version.clone(),
        row_counts: manifest.row_counts.clone(),
        files: manifest.files.len(),
        media_files: manifest.media_files(),
        secrets_included,
        pruned,
        warnings,
        duration_ms: u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
    })
}

async fn snapshot_database(config: &Config, store: &Store, staging: &Path, cancel: &Cancel) -> Result<Snapshot> {
    match store.backend() {
        Backend::Sqlite => {
            let file = staging.join("herald.db");
            store.snapshot_sqlite_into(&file).await.context("snapshotting the SQLite database (VACUUM INTO)")?;
            // Counted in the snapshot itself, so the manifest describes exactly what is archived.
            let snapshot = Store::connect(&StoreOptions {
                max_connections: 1,
                ..StoreOptions::new(format!("sqlite://{}", file.display()))
            })
            .await
            .context("opening the database snapshot")?;
            let schema_version = snapshot.applied_migrations().await.context("reading the snapshot's migrations");
            let row_counts = snapshot.row_counts().await.context("counting rows in the snapshot");
            snapshot.close().await.context("closing the database snapshot")?;
            Ok(Snapshot {
                file,
                archive_name: SQLITE_DATABASE,
                schema_version: schema_version?,
                row_counts: row_counts?.into_iter().collect(),
            })
        }
        Backend::Postgres => {
            // Fail before opening anything when the tool is missing.
            database::find_tool("pg_dump")?;
            let file = staging.join("herald.pgdump");
            let snapshot = store.export_pg_snapshot().await.context("exporting a PostgreSQL snapshot")?;
            let result = async {
                let schema_version = snapshot.applied_migrations().await.context("reading the applied migrations")?;
                let row_counts = snapshot.row_counts().await.context("counting rows")?;
                database::pg_dump(&config.database_url(), Some(snapshot.id()), &file, cancel).await?;
                anyhow::Ok((schema_version, row_counts))
            }
            .await;
            // The snapshot must stay open until pg_dump has read it.
            if let Err(error) = snapshot.release().await {
                tracing::warn!(%error, "could not end the snapshot transaction");
            }
            let (schema_version, row_counts) = result?;
            Ok(Snapshot {
                file,
                archive_name: PG_DATABASE,
                schema_version,
                row_counts: row_counts.into_iter().collect(),
            })
        }
    }
}

pub fn human_size(bytes: u64) -> String {
    const UNITS: &[&str] = &["B", "KiB", "MiB", "GiB", "TiB"];
    let mut value = bytes as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit + 1 < UNITS.len() {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 { format!("{bytes} B") } else { format!("{value:.1} {}", UNITS[unit]) }
}
