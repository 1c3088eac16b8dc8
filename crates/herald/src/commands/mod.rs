//! One module per subcommand.

pub mod apikey;
pub mod backup;
pub mod doctor;
pub mod mcp;
pub mod migrate;
pub mod restore;
pub mod serve;
pub mod transfer;
pub mod user;

use anyhow::{Context, Result};
use herald_app::AppSettings;
use herald_core::vault::Vault;
use herald_server::{Herald, Parts};
use herald_store::{Store, StoreOptions};

use crate::config::{Config, Secrets, load_or_create_secrets};

/// Opens the database named by the config (creating the SQLite file and
/// data directory on first use).
pub async fn open_store(config: &Config) -> Result<Store> {
    let url = config.database_url();
    if url.starts_with("sqlite:") {
        crate::private::create_dir(&config.data_dir).context("creating the data directory")?;
        if let Some(file) = config.sqlite_file() {
            crate::private::create_sqlite_file(&file)?;
        }
    }
    let mut options = StoreOptions::new(url.clone());
    options.max_connections = config.database_max_connections;
    Store::connect(&options).await.with_context(|| format!("opening the database {}", herald_store::redact_url(&url)))
}

/// Herald wired from the config (the database migrated), as every command
/// needs it, and the secrets it was built with.
pub async fn open_app(config: &Config) -> Result<(Herald, Secrets)> {
    let store = open_store(config).await?;
    let applied = store.migrate().await.context("applying database migrations")?;
    if !applied.is_empty() {
        tracing::info!(migrations = ?applied, "database migrated");
    }
    let secrets = load_or_create_secrets(config)?;
    if let Some(path) = &secrets.generated_in {
        tracing::info!(path = %path.display(), "generated JWT_SECRET and ENCRYPTION_KEY (mode 0600); back this file up");
    }
    let herald = Herald::assemble(Parts {
        store,
        app: AppSettings {
            disable_registration: config.disable_registration,
            allow_private_targets: config.allow_private_targets,
            main_url: config.main_url(),
            email: config.mail().is_some(),
            ai: config.ai(),
            mcp_token_ttl_seconds: config.mcp_token_ttl_seconds,
        },
        jwt_secret: secrets.jwt_secret.expose().as_bytes().to_vec(),
        vault: Vault::from_hex(secrets.encryption_key.expose()).context("ENCRYPTION_KEY")?,
        providers: config.providers(),
        media: config.media_store()?,
        engine: config.engine(),
    });
    Ok((herald, secrets))
}
