//! Herald's storage: one schema and one set of repositories for SQLite and
//! PostgreSQL.
//!
//! Repositories are small structs over any `ConnectionTrait`, so the same
//! code runs on the pool or inside a transaction (`Store::begin_write`).

pub mod content;
mod entity;
mod migration;
pub mod repo;
mod signals;

use std::time::Duration;

use chrono::{DateTime, SubsecRound, Utc};
use sea_orm::sqlx::sqlite::{SqliteJournalMode, SqliteSynchronous};
use sea_orm::{
    ConnectOptions, ConnectionTrait, Database, DatabaseConnection, DatabaseTransaction, DbBackend, DbErr, SqlErr,
    SqliteTransactionMode, Statement, TransactionOptions, TransactionTrait,
};
use sea_orm_migration::MigratorTrait;

pub use entity::api_key::Model as ApiKeyRow;
pub use entity::event::Model as EventRow;
pub use entity::integration::Model as IntegrationRow;
pub use entity::media::Model as MediaRow;
pub use entity::post::Model as PostRow;
pub use entity::post_target::Model as TargetRow;
pub use entity::user::Model as UserRow;
pub use entity::workspace::Model as WorkspaceRow;
pub use sea_orm::DatabaseTransaction as Transaction;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A unique constraint refused the write (e.g. an e-mail already taken).
    #[error("conflict: {0}")]
    Conflict(String),
    #[error("database error: {0}")]
    Db(#[source] DbErr),
}

impl From<DbErr> for StoreError {
    fn from(error: DbErr) -> Self {
        match error.sql_err() {
            Some(SqlErr::UniqueConstraintViolation(detail)) => Self::Conflict(detail),
            _ => Self::Db(error),
        }
    }
}

pub type StoreResult<T> = Result<T, StoreError>;

/// Current time at the precision both backends store (microseconds), so a
/// value read back compares equal to the value written.
pub fn now() -> DateTime<Utc> {
    Utc::now().trunc_subsecs(6)
}

/// Which database engine a URL points at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    pub fn of_url(url: &str) -> Option<Self> {
        if url.starts_with("sqlite:") {
            Some(Self::Sqlite)
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Some(Self::Postgres)
        } else {
            None
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Self::Sqlite => "sqlite",
            Self::Postgres => "postgres",
        }
    }
}

/// How to open the database.
#[derive(Debug, Clone)]
pub struct StoreOptions {
    pub url: String,
    pub max_connections: u32,
    /// PostgreSQL schema to use instead of `public` (tests isolate themselves this way).
    pub schema: Option<String>,
}

impl StoreOptions {
    pub fn new(url: impl Into<String>) -> Self {
        Self { url: url.into(), max_connections: 10, schema: None }
    }
}

/// A handle on the database; cheap to clone.
#[derive(Clone)]
pub struct Store {
    db: DatabaseConnection,
    backend: Backend,
    signals: std::sync::Arc<signals::Signals>,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store").field("backend", &self.backend).finish_non_exhaustive()
    }
}

/// Arbitrary, fixed key of the advisory lock held while migrating, so that
/// two nodes starting together do not both run the same migration.
const MIGRATION_LOCK_KEY: i64 = 0x4845_5241_4c44_4d31; // "HERALDM1"

impl Store {
    pub async fn connect(options: &StoreOptions) -> StoreResult<Self> {
        let backend = Backend::of_url(&options.url).ok_or_else(|| {
            StoreError::Db(DbErr::Custom(format!(
                "unsupported DATABASE_URL scheme in `{}`: use sqlite:… or postgres://…",
                redact_url(&options.url)
            )))
        })?;
        let mut connect = ConnectOptions::new(options.url.clone());
        connect
            .max_connections(options.max_connections)
            .min_connections(1)
            .connect_timeout(Duration::from_secs(5))
            .acquire_timeout(Duration::from_secs(10))
            .sqlx_logging(false)
            .map_sqlx_sqlite_opts(|opts| {
                // WAL lets readers run beside the writer; a busy timeout makes
                // concurrent writers wait instead of failing.
                opts.create_if_missing(true)
                    .journal_mode(SqliteJournalMode::Wal)
                    .synchronous(SqliteSynchronous::Normal)
                    .busy_timeout(Duration::from_secs(10))
                    .foreign_keys(true)
            });
        if let Some(schema) = &options.schema {
            connect.set_schema_search_path(schema.clone());
        }
        let db = Database::connect(connect).await?;
        Ok(Self { db, backend, signals: std::sync::Arc::new(signals::Signals::new()) })
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    pub fn conn(&self) -> &DatabaseConnection {
        &self.db
    }

    /// Starts a transaction that writes. On SQLite it takes the write lock at
    /// once (`BEGIN IMMEDIATE`): a deferred transaction that reads and then
    /// writes can fail with SQLITE_BUSY instead of waiting its turn.
    pub async fn begin_write(&self) -> StoreResult<DatabaseTransaction> {
        let options = TransactionOptions {
            sqlite_transaction_mode: Some(SqliteTransactionMode::Immediate),
            ..TransactionOptions::default()
        };
        Ok(self.db.begin_with_options(options).await?)
    }

    /// Takes a lock for a singleton job until `txn` ends; `false` when
    /// another node holds it. On SQLite (one process) the write lock of
    /// `txn` already serialises, so it always succeeds.
    pub async fn try_singleton_lock(&self, txn: &DatabaseTransaction, key: i64) -> StoreResult<bool> {
        if self.backend != Backend::Postgres {
            return Ok(true);
        }
        let statement =
            Statement::from_sql_and_values(DbBackend::Postgres, "SELECT pg_try_advisory_xact_lock($1)", [key.into()]);
        let row = txn.query_one_raw(statement).await?;
        Ok(row.map(|r| r.try_get_by_index::<bool>(0)).transpose()?.unwrap_or(false))
    }

    /// Checks that the database answers.
    pub async fn ping(&self) -> StoreResult<()> {
        self.db.execute_unprepared("SELECT 1").await?;
        Ok(())
    }

    /// Applies pending migrations under a lock; returns the names applied.
    pub async fn migrate(&self) -> StoreResult<Vec<String>> {
        let txn = self.begin_write().await?;
        if self.backend == Backend::Postgres {
            txn.execute_raw(Statement::from_sql_and_values(
                DbBackend::Postgres,
                "SELECT pg_advisory_xact_lock($1)",
                [MIGRATION_LOCK_KEY.into()],
            ))
            .await?;
        }
        let pending = migration::Migrator::get_pending_migrations(&txn).await?;
        let names = pending.iter().map(|m| m.name().to_string()).collect();
        migration::Migrator::up(&txn, None).await?;
        txn.commit().await?;
        Ok(names)
    }

    /// Names of the migrations not yet applied.
    pub async fn pending_migrations(&self) -> StoreResult<Vec<String>> {
        let pending = migration::Migrator::get_pending_migrations(&self.db).await?;
        Ok(pending.iter().map(|m| m.name().to_string()).collect())
    }

    /// Names of every migration this build knows, in order.
    pub fn known_migrations() -> Vec<String> {
        migration::Migrator::migrations().iter().map(|m| m.name().to_string()).collect()
    }

    pub async fn close(self) -> StoreResult<()> {
        Ok(self.db.close().await?)
    }
}

/// A database URL with its password replaced, fit for logs and `doctor`.
pub fn redact_url(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut parsed) if parsed.password().is_some() => {
            let _ = parsed.set_password(Some("****"));
            parsed.to_string()
        }
        _ => url.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_are_redacted_and_classified() {
        assert_eq!(redact_url("postgres://u:secret@db/h"), "postgres://u:****@db/h");
        assert_eq!(redact_url("sqlite://data/herald.db"), "sqlite://data/herald.db");
        assert_eq!(Backend::of_url("postgresql://x"), Some(Backend::Postgres));
        assert_eq!(Backend::of_url("mysql://x"), None);
    }
}
