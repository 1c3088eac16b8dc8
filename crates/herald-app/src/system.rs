//! Instance health, as `GET /health` and `herald doctor` report it.

use std::time::Duration;

use herald_store::repo::Posts;
use serde::Serialize;

use crate::App;

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SchedulerHealth {
    /// Targets due now and not yet claimed.
    pub due: u64,
    /// How late the oldest due target is, in seconds.
    pub late_seconds: i64,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Health {
    /// `ok` or `unavailable`.
    pub status: &'static str,
    pub version: &'static str,
    /// `ok` or `unreachable`.
    pub database: &'static str,
    pub scheduler: Option<SchedulerHealth>,
}

impl Health {
    pub fn is_ok(&self) -> bool {
        self.status == "ok"
    }
}

/// The database connection pool, as `/metrics` reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PoolUsage {
    /// Connections open.
    pub open: u32,
    /// Of those, connections idle.
    pub idle: usize,
}

/// A health check must answer even when the database hangs.
const HEALTH_TIMEOUT: Duration = Duration::from_secs(3);

impl App {
    pub fn database_pool(&self) -> PoolUsage {
        let (open, idle) = self.store.pool_stats();
        PoolUsage { open, idle }
    }

    pub async fn health(&self) -> Health {
        let check = async {
            self.store.ping().await?;
            Posts(self.store.conn()).due_summary(self.now()).await
        };
        match tokio::time::timeout(HEALTH_TIMEOUT, check).await {
            Ok(Ok((due, oldest))) => Health {
                status: "ok",
                version: env!("CARGO_PKG_VERSION"),
                database: "ok",
                scheduler: Some(SchedulerHealth {
                    due,
                    late_seconds: oldest.map_or(0, |t| (self.now() - t).num_seconds().max(0)),
                }),
            },
            Ok(Err(error)) => {
                tracing::warn!(error = %error, "health check: database unreachable");
                unavailable()
            }
            Err(_) => {
                tracing::warn!("health check: database timed out");
                unavailable()
            }
        }
    }
}

fn unavailable() -> Health {
    Health { status: "unavailable", version: env!("CARGO_PKG_VERSION"), database: "unreachable", scheduler: None }
}
