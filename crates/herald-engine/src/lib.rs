//! The publishing engine: the scheduler and delivery workers that take due
//! `post_targets` rows from the store and hand them to providers.
//!
//! Guarantees (DESIGN §6): a target is claimed with a lease in one
//! statement and the attempt is recorded before the platform is called;
//! outcomes are written only while the lease is still ours; a delivery a
//! crashed worker may have sent is sent again only when the platform drops
//! duplicates by idempotency key, and is otherwise marked UNCONFIRMED.

mod deliver;
mod media;
mod outcome;
mod sweeper;
mod worker;

use std::time::Duration;

use herald_core::retry::RetryPolicy;
use herald_core::vault::Vault;
use herald_providers::Registry;
use herald_store::Store;
use tokio::sync::watch;

pub use media::MediaSource;
pub use worker::Worker;

/// Tunables, with the defaults a production instance wants.
#[derive(Debug, Clone)]
pub struct EngineConfig {
    /// How long a claim holds a target before another worker may recover it.
    /// Renewed before each thread item; must exceed the provider timeout.
    pub lease: Duration,
    /// Due targets older than this are failed as MISSED instead of going out late.
    pub missed_grace: Duration,
    pub retry: RetryPolicy,
    /// Deliveries in flight per process.
    pub concurrency: usize,
    /// Longest sleep between two looks at the queue (wake-ups usually come sooner).
    pub poll_interval: Duration,
    /// How often expired leases and missed windows are looked for.
    pub sweep_interval: Duration,
    /// How long shutdown waits for deliveries in flight.
    pub shutdown_grace: Duration,
}

impl Default for EngineConfig {
    fn default() -> Self {
        Self {
            lease: Duration::from_secs(60),
            missed_grace: Duration::from_secs(24 * 3600),
            retry: RetryPolicy::default(),
            concurrency: 16,
            poll_interval: Duration::from_secs(5),
            sweep_interval: Duration::from_secs(5),
            shutdown_grace: Duration::from_secs(10),
        }
    }
}

/// What every part of the engine shares.
#[derive(Clone)]
pub struct Engine {
    pub store: Store,
    pub providers: Registry,
    pub vault: Vault,
    pub config: EngineConfig,
    pub media: MediaSource,
}

impl Engine {
    pub fn new(store: Store, providers: Registry, vault: Vault, config: EngineConfig, media: MediaSource) -> Self {
        Self { store, providers, vault, config, media }
    }

    /// Runs delivery workers until `shutdown` turns true, then finishes or
    /// releases what is in flight.
    pub async fn run_worker(&self, shutdown: watch::Receiver<bool>) {
        Worker::new(self.clone()).run(shutdown).await;
    }

    /// Runs the singleton sweeps (expired leases, missed windows) until
    /// `shutdown` turns true. On PostgreSQL only one node sweeps at a time.
    pub async fn run_scheduler(&self, shutdown: watch::Receiver<bool>) {
        sweeper::run(self.clone(), shutdown).await;
    }

    /// One sweep, for tests and for start-up.
    pub async fn sweep_once(&self) -> Result<usize, herald_store::StoreError> {
        sweeper::sweep(self).await
    }
}
