//! The publishing engine: the scheduler and delivery workers that take due
//! `post_targets` rows from the store and hand them to providers.
//!
//! Guarantees (DESIGN §6): a target is claimed with a lease in one
//! statement and the attempt is recorded before the platform is called;
//! outcomes are written only while the lease is still ours; a delivery a
//! crashed worker may have sent is sent again only when the platform drops
//! duplicates by idempotency key, and is otherwise marked UNCONFIRMED.

mod deliver;
mod engagement;
pub mod mailer;
mod media;
mod notify;
mod outcome;
mod processing;
mod profiles;
mod sweeper;
mod tokens;
pub mod webhooks;
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
    /// Deliveries in flight per process for one platform, where set
    /// (`HERALD_PROVIDER_<ID>_CONCURRENCY`); otherwise the provider's own limit.
    pub platform_concurrency: std::collections::BTreeMap<String, usize>,
    /// Write quota per account of one platform, where the operator set one
    /// (`HERALD_PROVIDER_<ID>_RATE_BUDGET`, e.g. X's free tier); an
    /// account's own `settings.rateBudget` still comes first.
    pub platform_budgets: std::collections::BTreeMap<String, herald_providers::RateBudget>,
    /// Longest sleep between two looks at the queue (wake-ups usually come sooner).
    pub poll_interval: Duration,
    /// How often expired leases and missed windows are looked for.
    pub sweep_interval: Duration,
    /// How long shutdown waits for deliveries in flight.
    pub shutdown_grace: Duration,
    /// How often a published post's engagement metrics are refreshed.
    pub metrics_interval: Duration,
    /// Posts older than this are no longer refreshed.
    pub metrics_window: Duration,
    /// Pause between two rounds of the upkeep job (metrics, profiles,
    /// token renewal, notices of ending access).
    pub metrics_poll: Duration,
    /// Public base URL, for links in e-mails.
    pub main_url: String,
    /// SMTP, when configured: notifications are also e-mailed.
    pub mail: Option<mailer::MailSettings>,
    /// Pause between two rounds of notifications and e-mail.
    pub notify_interval: Duration,
    /// Age an event must reach before it is notified (see `notify`).
    pub notify_settle: Duration,
    /// Webhook URLs may be private, loopback or link-local addresses.
    pub allow_private_targets: bool,
}

impl Default for EngineConfig {
    fn default() -> Self {
        Self {
            lease: Duration::from_secs(60),
            missed_grace: Duration::from_secs(24 * 3600),
            retry: RetryPolicy::default(),
            concurrency: 16,
            platform_concurrency: std::collections::BTreeMap::new(),
            platform_budgets: std::collections::BTreeMap::new(),
            poll_interval: Duration::from_secs(5),
            sweep_interval: Duration::from_secs(5),
            shutdown_grace: Duration::from_secs(10),
            metrics_interval: Duration::from_secs(3600),
            metrics_window: Duration::from_secs(30 * 24 * 3600),
            metrics_poll: Duration::from_secs(60),
            main_url: "http://localhost:5000".into(),
            mail: None,
            notify_interval: Duration::from_secs(5),
            notify_settle: Duration::from_secs(10),
            allow_private_targets: false,
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

    /// "Now" by the clock the composition root gave the store.
    pub fn now(&self) -> chrono::DateTime<chrono::Utc> {
        self.store.now()
    }

    /// Deliveries of a platform one process may have in flight: the
    /// configured override, else the provider's limit (1 for an unknown one).
    pub fn platform_concurrency(&self, platform: &str) -> usize {
        self.config
            .platform_concurrency
            .get(platform)
            .copied()
            .or_else(|| self.providers.get(platform).map(|p| p.max_concurrency()))
            .unwrap_or(1)
            .max(1)
    }

    /// Runs delivery workers until `shutdown` turns true, then finishes or
    /// releases what is in flight.
    pub async fn run_worker(&self, shutdown: watch::Receiver<bool>) {
        Worker::new(self.clone()).run(shutdown).await;
    }

    /// Runs the singleton sweeps (expired leases, missed windows) until
    /// `shutdown` turns true. On PostgreSQL only one node sweeps at a time.
    pub async fn run_scheduler(&self, shutdown: watch::Receiver<bool>) {
        let sweep_phase = self.config.sweep_interval / 4;
        let notify_phase = self.config.notify_interval / 2;
        let (mut sweep_shutdown, mut notify_shutdown) = (shutdown.clone(), shutdown.clone());
        tokio::join!(
            async {
                if start_out_of_step(sweep_phase, &mut sweep_shutdown).await {
                    sweeper::run(self.clone(), sweep_shutdown).await;
                }
            },
            engagement::run(self.clone(), shutdown),
            async {
                if start_out_of_step(notify_phase, &mut notify_shutdown).await {
                    notify::run(self.clone(), notify_shutdown).await;
                }
            }
        );
    }

    /// One round of reading the profiles connecting could not read.
    pub async fn refresh_profiles_once(&self) -> Result<usize, herald_store::StoreError> {
        profiles::refresh(self).await
    }

    /// One round of the token refresh job, for tests.
    pub async fn renew_tokens_once(&self) -> Result<usize, herald_store::StoreError> {
        tokens::renew_due(self).await
    }

    /// One round of the notices of accounts whose access ends, for tests.
    pub async fn warn_expiring_once(&self) -> Result<usize, herald_store::StoreError> {
        tokens::warn_expiring(self).await
    }

    /// One round of the notification job, for tests.
    pub async fn notify_once(&self) -> Result<usize, herald_store::StoreError> {
        notify::notify(self).await
    }

    /// One round of the webhook fan-out and sender, for tests.
    pub async fn webhooks_once(&self) -> Result<usize, herald_store::StoreError> {
        webhooks::fan_out(self).await?;
        webhooks::send_due(self).await
    }

    /// One round of the mailer, for tests.
    pub async fn send_mail_once(&self) -> Result<usize, herald_store::StoreError> {
        mailer::send_due(self).await
    }

    /// One round of the engagement metrics job, for tests.
    pub async fn refresh_metrics_once(&self) -> Result<usize, herald_store::StoreError> {
        engagement::refresh(self).await
    }

    /// The decrypted credentials of an integration (sealed with its id as
    /// associated data, so a row copied onto another id cannot be read).
    pub(crate) fn decrypt_credentials(
        &self,
        integration: &herald_store::IntegrationRow,
    ) -> Result<serde_json::Value, herald_providers::ProviderError> {
        let Some(sealed) = &integration.credentials else {
            return Ok(serde_json::Value::Null);
        };
        let unreadable = || {
            herald_providers::ProviderError::new(
                herald_providers::ErrorClass::Revoked,
                "the stored credentials cannot be decrypted (was ENCRYPTION_KEY changed?); reconnect the account",
            )
        };
        let plain = self.vault.decrypt(sealed, integration.id.as_bytes()).map_err(|_| unreadable())?;
        serde_json::from_slice(&plain).map_err(|_| unreadable())
    }

    /// One sweep, for tests and for start-up.
    pub async fn sweep_once(&self) -> Result<usize, herald_store::StoreError> {
        sweeper::sweep(self).await
    }
}

/// Waits `phase` before a periodic loop's first round; false when shutdown
/// came first. The loops that wake every few seconds (delivery, sweep,
/// notifications, automation) start a quarter period apart: woken
/// together, each held its own database connection while SQLite made
/// them take turns, so an idle server kept four or five connections —
/// a thread and a page cache each — open for good.
pub async fn start_out_of_step(phase: Duration, shutdown: &mut watch::Receiver<bool>) -> bool {
    let stopped = tokio::select! {
        () = tokio::time::sleep(phase) => false,
        _ = shutdown.wait_for(|stop| *stop) => true,
    };
    !stopped && !*shutdown.borrow()
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use tokio::sync::watch;

    use super::start_out_of_step;

    #[tokio::test]
    async fn a_loop_starts_after_its_phase() {
        let (_stop, mut stopped) = watch::channel(false);
        assert!(start_out_of_step(Duration::from_millis(1), &mut stopped).await);
    }

    #[tokio::test]
    async fn shutdown_during_the_phase_means_the_loop_never_starts() {
        let (stop, mut stopped) = watch::channel(false);
        let waiting = tokio::spawn(async move { start_out_of_step(Duration::from_secs(3600), &mut stopped).await });
        stop.send(true).unwrap();
        assert!(!waiting.await.unwrap());
    }

    #[tokio::test]
    async fn a_server_already_stopping_starts_no_loop() {
        let (stop, mut stopped) = watch::channel(false);
        stop.send(true).unwrap();
        assert!(!start_out_of_step(Duration::ZERO, &mut stopped).await);
    }
}
