//! Restoring a backup. Everything is checked first — checksums, format,
//! backend, schema version, whether the database already holds data — and
//! only then is the current data moved aside (`<data dir>/pre-restore-…/`)
//! and the backup put in its place. Herald must not be running meanwhile.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use chrono::{DateTime, Utc};
use herald_store::{Backend, Store};
use serde::Serialize;

use super::archive::extract_and_verify;
use super::files::{Cleanup, has_entries, move_path};
use super::manifest::{FORMAT, Manifest, SECRETS, UPLOADS};
use super::{Progress, database, key_fingerprint};
use crate::config::Config;

pub struct RestoreOptions {
    pub archive: PathBuf,
    pub force: bool,
    pub progress: Progress,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RestoreSummary {
    pub restored_from: PathBuf,
    pub backup_created_at: DateTime<Utc>,
    pub backup_herald_version: String,
    pub backend: String,
    /// Migrations applied after the restore (the backup was older).
    pub migrations_applied: Vec<String>,
    pub schema_version: Vec<String>,
    /// Counted in the restored database.
    pub row_counts: BTreeMap<String, i64>,
    pub media_files: usize,
    pub secrets_restored: bool,
    /// Where the data that was replaced went, if there was any.
    pub previous_data: Option<PathBuf>,
    pub warnings: Vec<String>,
}

pub async fn restore(config: &Config, options: &RestoreOptions) -> Result<RestoreSummary> {
    let progress = &options.progress;
    let url = config.database_url();
    let backend = Backend::of_url(&url).with_context(|| {
        format!("unsupported DATABASE_URL `{}`: use sqlite:… or postgres://…", herald_store::redact_url(&url))
    })?;
    if !options.archive.is_file() {
        bail!("no backup at {}", options.archive.display());
    }
    if backend == Backend::Postgres {
        database::find_tool("pg_restore")?;
    }
    crate::private::create_dir(&config.data_dir).context("creating the data directory")?;
    let stamp = Utc::now().format("%Y%m%d-%H%M%S").to_string();
    let staging = config.data_dir.join(format!(".restore-{stamp}-{}", std::process::id()));
    let mut cleanup = Cleanup::default();
    cleanup.add(staging.clone());
    std::fs::create_dir(&staging).with_context(|| format!("creating {}", staging.display()))?;

    progress(&format!("Verifying {}…", options.archive.display()));
    let (archive, into) = (options.archive.clone(), staging.clone());
    let manifest = tokio::task::spawn_blocking(move || extract_and_verify(&archive, &into))
        .await
        .context("the archive reader stopped unexpectedly")??;
    check_manifest(&manifest, backend)?;
    progress(&format!(
        "Backup of {} taken {} by Herald {}: {} file(s), checksums verified",
        manifest.backend,
        manifest.created_at.to_rfc3339(),
        manifest.herald_version,
        manifest.files.len()
    ));

    let sqlite_file = match backend {
        Backend::Sqlite => {
            Some(database::sqlite_path(&url).context("cannot restore into an in-memory SQLite database")?)
        }
        Backend::Postgres => None,
    };
    let current = current_contents(config, sqlite_file.as_deref()).await?;
    if (current.users > 0 || current.posts > 0) && !options.force {
        bail!(
            "the database already holds {} user(s) and {} post(s); refusing to overwrite it. Pass --force to \
             restore anyway (the current data is first set aside in {}/pre-restore-…/)",
            current.users,
            current.posts,
            config.data_dir.display()
        );
    }
    if backend == Backend::Postgres && current.has_schema {
        database::find_tool("pg_dump").context("saving the current database before replacing it")?;
    }

    let previous = unique_dir(&config.data_dir.join(format!("pre-restore-{stamp}")));
    let result =
        replace_data(config, &manifest, &staging, sqlite_file.as_deref(), &previous, current.has_schema, progress)
            .await;
    let moved_aside = has_entries(&previous);
    let secrets_restored = match result {
        Ok(secrets_restored) => secrets_restored,
        Err(error) if moved_aside => {
            return Err(error.context(format!(
                "the restore did not complete; the data that was in place before is in {}",
                previous.display()
            )));
        }
        Err(error) => return Err(error),
    };
    drop(cleanup);

    progress("Applying migrations…");
    let store = crate::commands::open_store(config).await?;
    let outcome = async {
        let applied = store.migrate().await.context("applying migrations to the restored database")?;
        let schema = store.applied_migrations().await.context("reading the restored schema")?;
        let counts = store.row_counts().await.context("counting rows in the restored database")?;
        anyhow::Ok((applied, schema, counts))
    }
    .await;
    store.close().await.context("closing the database")?;
    let (migrations_applied, schema_version, row_counts) = outcome?;

    let mut warnings = Vec::new();
    let now_fingerprint = key_fingerprint(config);
    if let Some(expected) = &manifest.encryption_key_fingerprint
        && now_fingerprint.as_ref() != Some(expected)
    {
        warnings.push(format!(
            "the encryption key in effect ({}) is not the one of the backup ({expected}): connected integrations \
             cannot be decrypted until ENCRYPTION_KEY is set to that key",
            now_fingerprint.as_deref().unwrap_or("none yet")
        ));
    }
    if !manifest.secrets_included {
        warnings.push(if config.secrets_file().exists() || config.encryption_key.is_some() {
            "the backup holds no secrets.toml: the secrets configured here are kept".to_string()
        } else {
            "the backup holds no secrets.toml and there is none here: Herald will generate new secrets, and \
             integrations connected before the backup cannot be decrypted unless ENCRYPTION_KEY is set to the old key"
                .to_string()
        });
    }
    Ok(RestoreSummary {
        restored_from: options.archive.clone(),
        backup_created_at: manifest.created_at,
        backup_herald_version: manifest.herald_version.clone(),
        backend: manifest.backend.clone(),
        migrations_applied,
        schema_version,
        row_counts: row_counts.into_iter().collect(),
        media_files: manifest.media_files(),
        secrets_restored,
        previous_data: moved_aside.then(|| std::fs::canonicalize(&previous).unwrap_or(previous)),
        warnings,
    })
}

fn check_manifest(manifest: &Manifest, backend: Backend) -> Result<()> {
    if manifest.format > FORMAT {
        bail!(
            "this backup was written by Herald {} in archive format {}, which this Herald ({}) cannot read; upgrade Herald first",
            manifest.herald_version,
            manifest.format,
            env!("CARGO_PKG_VERSION")
        );
    }
    if manifest.backend != backend.name() {
        bail!(
            "this is a backup of a {} database but DATABASE_URL points at {}: restore it into the same kind of database",
            manifest.backend,
            backend.name()
        );
    }
    let known = Store::known_migrations();
    let unknown: Vec<&str> =
        manifest.schema_version.iter().filter(|m| !known.contains(m)).map(String::as_str).collect();
    if !unknown.is_empty() {
        bail!(
            "this backup's schema is newer than this Herald ({}): it has migration(s) {} that this build does not \
             know. Restore it with Herald {} or newer",
            env!("CARGO_PKG_VERSION"),
            unknown.join(", "),
            manifest.herald_version
        );
    }
    if !manifest.files.contains_key(manifest.database_file()) {
        bail!("the backup has no database file ({})", manifest.database_file());
    }
    Ok(())
}

struct Contents {
    users: i64,
    posts: i64,
    /// Any Herald table exists (a PostgreSQL database worth saving aside).
    has_schema: bool,
}

async fn current_contents(config: &Config, sqlite_file: Option<&Path>) -> Result<Contents> {
    if sqlite_file.is_some_and(|file| !file.exists()) {
        return Ok(Contents { users: 0, posts: 0, has_schema: false });
    }
    let store = crate::commands::open_store(config).await?;
    let outcome = async {
        let counts: BTreeMap<String, i64> = store.row_counts().await?.into_iter().collect();
        let applied = store.applied_migrations().await?;
        herald_store::StoreResult::Ok(Contents {
            users: counts.get("users").copied().unwrap_or(0),
            posts: counts.get("posts").copied().unwrap_or(0),
            has_schema: !applied.is_empty() || counts.values().any(|n| *n > 0),
        })
    }
    .await;
    store.close().await.context("closing the database")?;
    outcome.context("reading what the database holds now")
}

/// Moves the current data aside into `previous` and puts the backup's in
/// place. Returns whether a secrets file was restored.
async fn replace_data(
    config: &Config,
    manifest: &Manifest,
    staging: &Path,
    sqlite_file: Option<&Path>,
    previous: &Path,
    has_schema: bool,
    progress: &Progress,
) -> Result<bool> {
    let staged_db = staging.join(manifest.database_file());
    match sqlite_file {
        Some(file) => {
            let mut moved = false;
            for path in std::iter::once(file.to_path_buf()).chain(database::sqlite_companions(file)) {
                if path.exists() {
                    let name = path.file_name().context("the database path has no file name")?;
                    move_path(&path, &previous.join(name))?;
                    moved = true;
                }
            }
            if moved {
                progress(&format!("Moved the current database to {}", previous.display()));
            }
            move_path(&staged_db, file)?;
            progress(&format!("Restored the database to {}", file.display()));
        }
        None => {
            let url = config.database_url();
            if has_schema {
                std::fs::create_dir_all(previous).with_context(|| format!("creating {}", previous.display()))?;
                let saved = previous.join("database.pgdump");
                database::pg_dump(&url, None, &saved, &super::Cancel::never())
                    .await
                    .context("saving the current database before replacing it")?;
                progress(&format!("Saved the current database to {}", saved.display()));
            }
            database::pg_restore(&url, &staged_db).await?;
            progress(&format!("Restored the database into {}", herald_store::redact_url(&url)));
        }
    }

    let uploads = config.uploads_dir();
    if uploads.exists() {
        if has_entries(&uploads) {
            move_path(&uploads, &previous.join(UPLOADS))?;
            progress(&format!("Moved the current media to {}", previous.join(UPLOADS).display()));
        } else {
            std::fs::remove_dir(&uploads).with_context(|| format!("replacing {}", uploads.display()))?;
        }
    }
    let staged_uploads = staging.join(UPLOADS);
    if staged_uploads.exists() {
        move_path(&staged_uploads, &uploads)?;
    } else {
        std::fs::create_dir_all(&uploads).with_context(|| format!("creating {}", uploads.display()))?;
    }
    progress(&format!("Restored {} media file(s) to {}", manifest.media_files(), uploads.display()));

    if !manifest.secrets_included {
        return Ok(false);
    }
    let secrets = config.secrets_file();
    let staged_secrets = staging.join(SECRETS);
    if secrets.exists() {
        let same = std::fs::read(&secrets).ok() == std::fs::read(&staged_secrets).ok();
        if same {
            return Ok(true);
        }
        move_path(&secrets, &previous.join(SECRETS))?;
        progress(&format!("Moved the current secrets file to {}", previous.join(SECRETS).display()));
    }
    move_path(&staged_secrets, &secrets)?;
    progress(&format!("Restored the secrets to {}", secrets.display()));
    Ok(true)
}

/// `path`, or `path-2`, `path-3`… when it exists already.
fn unique_dir(path: &Path) -> PathBuf {
    let mut candidate = path.to_path_buf();
    let mut n = 2;
    while candidate.exists() {
        candidate = PathBuf::from(format!("{}-{n}", path.display()));
        n += 1;
    }
    candidate
}
