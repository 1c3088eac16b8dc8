//! Herald's storage: one schema and one set of repositories for SQLite and
//! PostgreSQL.
//!
//! Repositories are small structs over any `ConnectionTrait`, so the same
//! code runs on the pool or inside a transaction (`Store::begin_write`).

pub mod blobs;
pub mod content;
mod entity;
mod migration;
pub mod repo;
mod signals;

use std::time::Duration;

use chrono::{DateTime, Utc};
use herald_core::clock::Clock;
use sea_orm::sqlx::sqlite::{SqliteJournalMode, SqliteSynchronous};
use sea_orm::{
    ConnectOptions, ConnectionTrait, Database, DatabaseConnection, DatabaseTransaction, DbBackend, DbErr, SqlErr,
    SqliteTransactionMode, Statement, TransactionOptions, TransactionTrait,
};
use sea_orm_migration::MigratorTrait;

pub use entity::api_key::Model as ApiKeyRow;
pub use entity::connect_link::Model as ConnectLinkRow;
pub use entity::customer::Model as CustomerRow;
pub use entity::email_outbox::Model as EmailRow;
pub use entity::event::Model as EventRow;
pub use entity::feed::Model as FeedRow;
pub use entity::feed_item::Model as FeedItemRow;
pub use entity::integration::Model as IntegrationRow;
pub use entity::invite::Model as InviteRow;
pub use entity::mcp_client::Model as McpClientRow;
pub use entity::mcp_code::Model as McpCodeRow;
pub use entity::mcp_token::Model as McpTokenRow;
pub use entity::media::Model as MediaRow;
pub use entity::notification::Model as NotificationRow;
pub use entity::oauth_client::Model as OAuthClientRow;
pub use entity::oauth_pending::Model as OAuthPendingRow;
pub use entity::oauth_state::Model as OAuthStateRow;
pub use entity::post::Model as PostRow;
pub use entity::post_comment::Model as PostCommentRow;
pub use entity::post_set::Model as PostSetRow;
pub use entity::post_target::Model as TargetRow;
pub use entity::preview_link::Model as PreviewLinkRow;
pub use entity::session::Model as SessionRow;
pub use entity::signature::Model as SignatureRow;
pub use entity::tag::Model as TagRow;
pub use entity::target_metric::Model as TargetMetricRow;
pub use entity::user::Model as UserRow;
pub use entity::webhook::Model as WebhookRow;
pub use entity::webhook_delivery::Model as WebhookDeliveryRow;
pub use entity::workspace::Model as WorkspaceRow;
pub use sea_orm::DatabaseTransaction as Transaction;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A unique constraint refused the write (e.g. an e-mail already taken).
    #[error("conflict: {0}")]
    Conflict(String),
    #[error("database error: {0}")]
    Db(#[source] DbErr),
    /// A stored JSON value does not have the shape Herald writes.
    #[error("corrupt row: {column} of {row} cannot be read ({reason})")]
    Corrupt { column: &'static str, row: uuid::Uuid, reason: String },
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
    /// Where "now" comes from for everything that shares this store.
    pub clock: Clock,
}

impl StoreOptions {
    pub fn new(url: impl Into<String>) -> Self {
        Self { url: url.into(), max_connections: 10, schema: None, clock: Clock::system() }
    }
}

/// A handle on the database; cheap to clone.
#[derive(Clone)]
pub struct Store {
    db: DatabaseConnection,
    backend: Backend,
    clock: Clock,
    signals: std::sync::Arc<signals::Signals>,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store").field("backend", &self.backend).finish_non_exhaustive()
    }
}

/// See [`Store::connect`]: short enough that an idle server returns a
/// burst's connections within minutes, long enough that reopening costs
/// nothing measurable under load.
const SQLITE_CONNECTION_LIFETIME: Duration = Duration::from_secs(60);

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
            // Connections opened for a burst close once it has passed; on
            // SQLite each holds a thread, a page cache and its prepared
            // statements (memory returned to an idle server).
            .idle_timeout(Duration::from_secs(30))
            .sqlx_logging(false)
            .map_sqlx_sqlite_opts(|opts| {
                // WAL lets readers run beside the writer; a busy timeout makes
                // concurrent writers wait instead of failing.
                opts.create_if_missing(true)
                    .journal_mode(SqliteJournalMode::Wal)
                    .synchronous(SqliteSynchronous::Normal)
                    .busy_timeout(Duration::from_secs(10))
                    .foreign_keys(true)
                    // Pages read through a shared mapping instead of being
                    // copied into each connection's 2 MB page cache: a busy
                    // queue's working set is larger than that, and misses
                    // cost a read() each (a fifth of the worker's CPU).
                    .pragma("mmap_size", "268435456")
            });
        // A pooled connection is checked with a ping before use only when it
        // sat idle: one in use a moment ago is alive, and a ping before each
        // transaction is a round trip more on the delivery loop's hot path.
        // A connection to a local SQLite file cannot drop at all.
        match backend {
            Backend::Sqlite => connect.test_before_acquire(false),
            Backend::Postgres => connect.test_before_acquire_if_idle_for(Duration::from_secs(10)),
        };
        if backend == Backend::Sqlite {
            // The idle timeout alone never closes anything here: the pool
            // hands out its connections in turn (first in, first out) and
            // the background loops' few statements a second touch every
            // one of them well within it, so the eight connections start-up
            // opens (and the ten of a burst) stayed open for good. A
            // connection past this age is closed when it is given back and
            // reopened only when one is wanted (a millisecond on SQLite), so
            // the pool shrinks to what is used at the same time.
            connect.max_lifetime(SQLITE_CONNECTION_LIFETIME);
        }
        if let Some(schema) = &options.schema {
            connect.set_schema_search_path(schema.clone());
        }
        if backend == Backend::Postgres && is_loopback_without_sslmode(&options.url) {
            // TLS to a database on the same machine protects nothing, and
            // preparing it costs ~0.3 s per start; an explicit sslmode wins.
            connect.map_sqlx_postgres_opts(|opts| opts.ssl_mode(sea_orm::sqlx::postgres::PgSslMode::Disable));
        }
        let mut db = Database::connect(connect).await?;
        // Statements and transactions are counted so that round trips per
        // unit of work (bench/engine.sh: per delivery) can be read off
        // `/metrics`; a counter increment costs nanoseconds.
        db.set_metric_callback(|_| metrics::counter!("herald_db_statements_total").increment(1));
        Ok(Self { db, backend, clock: options.clock.clone(), signals: std::sync::Arc::new(signals::Signals::new()) })
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// The clock everything sharing this store reads "now" from (the
    /// system clock in production, a manual one in tests).
    pub fn clock(&self) -> &Clock {
        &self.clock
    }

    /// Current time by [`Store::clock`], at the precision both backends store.
    pub fn now(&self) -> DateTime<Utc> {
        self.clock.now()
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
        metrics::counter!("herald_db_transactions_total").increment(1);
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

    /// Connections open in the pool, and how many of them are idle.
    pub fn pool_stats(&self) -> (u32, usize) {
        match self.backend {
            Backend::Postgres => {
                let pool = self.db.get_postgres_connection_pool();
                (pool.size(), pool.num_idle())
            }
            Backend::Sqlite => {
                let pool = self.db.get_sqlite_connection_pool();
                (pool.size(), pool.num_idle())
            }
        }
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

    /// Writes a consistent copy of a SQLite database to `dest` while other
    /// connections keep reading and writing (`VACUUM INTO` runs in one read
    /// transaction). `dest` must not exist.
    pub async fn snapshot_sqlite_into(&self, dest: &std::path::Path) -> StoreResult<()> {
        if self.backend != Backend::Sqlite {
            return Err(StoreError::Db(DbErr::Custom("VACUUM INTO is SQLite only".into())));
        }
        let path = dest
            .to_str()
            .ok_or_else(|| StoreError::Db(DbErr::Custom(format!("{} is not valid UTF-8", dest.display()))))?;
        // A string literal rather than a bound parameter: the statement is not
        // prepared by every driver version, and quoting is all it needs.
        self.db.execute_unprepared(&format!("VACUUM INTO '{}'", path.replace('\'', "''"))).await?;
        Ok(())
    }

    /// Row counts of the main tables, as a backup manifest reports them; a
    /// table that does not exist yet counts 0.
    pub async fn row_counts(&self) -> StoreResult<Vec<(String, i64)>> {
        row_counts(&self.db, self.backend).await
    }

    /// Names of the migrations recorded as applied, in order (including any
    /// this build does not know, written by a newer Herald).
    pub async fn applied_migrations(&self) -> StoreResult<Vec<String>> {
        applied_migrations(&self.db, self.backend).await
    }

    /// PostgreSQL: opens a read-only repeatable-read transaction and exports
    /// its snapshot, so that `pg_dump --snapshot` and the row counts see the
    /// very same data.
    pub async fn export_pg_snapshot(&self) -> StoreResult<PgSnapshot> {
        if self.backend != Backend::Postgres {
            return Err(StoreError::Db(DbErr::Custom("snapshots are exported on PostgreSQL only".into())));
        }
        let options = TransactionOptions {
            isolation_level: Some(sea_orm::IsolationLevel::RepeatableRead),
            access_mode: Some(sea_orm::AccessMode::ReadOnly),
            ..TransactionOptions::default()
        };
        let txn = self.db.begin_with_options(options).await?;
        let row = txn.query_one_raw(Statement::from_string(DbBackend::Postgres, "SELECT pg_export_snapshot()")).await?;
        let id = row
            .map(|r| r.try_get_by_index::<String>(0))
            .transpose()?
            .ok_or_else(|| StoreError::Db(DbErr::Custom("pg_export_snapshot() returned nothing".into())))?;
        Ok(PgSnapshot { txn, id })
    }
}

/// Tables whose row counts a backup records.
pub const COUNTED_TABLES: &[&str] = &["users", "posts", "post_targets", "integrations", "media", "events"];

/// An exported PostgreSQL snapshot; valid until `release`.
pub struct PgSnapshot {
    txn: DatabaseTransaction,
    id: String,
}

impl PgSnapshot {
    /// The id to pass to `pg_dump --snapshot`.
    pub fn id(&self) -> &str {
        &self.id
    }

    pub async fn row_counts(&self) -> StoreResult<Vec<(String, i64)>> {
        row_counts(&self.txn, Backend::Postgres).await
    }

    pub async fn applied_migrations(&self) -> StoreResult<Vec<String>> {
        applied_migrations(&self.txn, Backend::Postgres).await
    }

    pub async fn release(self) -> StoreResult<()> {
        Ok(self.txn.commit().await?)
    }
}

async fn table_exists<C: ConnectionTrait>(conn: &C, backend: Backend, table: &str) -> StoreResult<bool> {
    let statement = match backend {
        Backend::Sqlite => Statement::from_sql_and_values(
            DbBackend::Sqlite,
            "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = ?",
            [table.into()],
        ),
        Backend::Postgres => Statement::from_sql_and_values(
            DbBackend::Postgres,
            "SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = current_schema() AND table_name = $1",
            [table.into()],
        ),
    };
    let row = conn.query_one_raw(statement).await?;
    Ok(row.map(|r| r.try_get_by_index::<i64>(0)).transpose()?.unwrap_or(0) > 0)
}

async fn row_counts<C: ConnectionTrait>(conn: &C, backend: Backend) -> StoreResult<Vec<(String, i64)>> {
    let mut counts = Vec::new();
    for table in COUNTED_TABLES {
        let count = if table_exists(conn, backend, table).await? {
            // Table names come from the constant above, never from input.
            let sql = format!("SELECT COUNT(*) FROM {table}");
            let row = conn.query_one_raw(Statement::from_string(conn.get_database_backend(), sql)).await?;
            row.map(|r| r.try_get_by_index::<i64>(0)).transpose()?.unwrap_or(0)
        } else {
            0
        };
        counts.push((table.to_string(), count));
    }
    Ok(counts)
}

async fn applied_migrations<C: ConnectionTrait>(conn: &C, backend: Backend) -> StoreResult<Vec<String>> {
    if !table_exists(conn, backend, "seaql_migrations").await? {
        return Ok(Vec::new());
    }
    let rows = conn
        .query_all_raw(Statement::from_string(
            conn.get_database_backend(),
            "SELECT version FROM seaql_migrations ORDER BY version",
        ))
        .await?;
    rows.iter().map(|r| r.try_get_by_index::<String>(0).map_err(StoreError::from)).collect()
}

/// A PostgreSQL URL to this machine that does not choose an `sslmode`.
fn is_loopback_without_sslmode(url: &str) -> bool {
    let Ok(parsed) = url::Url::parse(url) else { return false };
    // `postgres:` is not a special scheme, so IP hosts arrive as text.
    let loopback = match parsed.host() {
        Some(url::Host::Domain(name)) => {
            name == "localhost"
                || name.trim_matches(['[', ']']).parse::<std::net::IpAddr>().is_ok_and(|ip| ip.is_loopback())
        }
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    };
    loopback && !parsed.query_pairs().any(|(key, _)| key == "sslmode")
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
        assert!(is_loopback_without_sslmode("postgres://u@127.0.0.1:5432/h"));
        assert!(is_loopback_without_sslmode("postgres://u@localhost/h"));
        assert!(!is_loopback_without_sslmode("postgres://u@127.0.0.1/h?sslmode=require"));
        assert!(!is_loopback_without_sslmode("postgres://u@db.example.com/h"));
    }
}
