//! The delivery loop: sleep until the next due time (or a wake-up), claim
//! what is due within the concurrency limits and rate budgets, deliver, and
//! on shutdown finish or release what is in flight.

use std::collections::BTreeMap;
use std::time::Duration;

use herald_providers::RateBudget;
use herald_store::repo::{ClaimRequest, Integrations, Posts, Queue};
use herald_store::{StoreResult, TargetRow, Transaction, now};
use tokio::sync::watch;
use tokio::task::JoinSet;
use uuid::Uuid;

use crate::Engine;
use crate::outcome::chrono_duration;

/// Pause when due work exists but none may be claimed (all platforms busy
/// or budgets spent), so the loop does not spin.
const BLOCKED_PAUSE: Duration = Duration::from_millis(250);

pub struct Worker {
    engine: Engine,
    id: String,
    in_flight: JoinSet<String>,
    per_platform: BTreeMap<String, usize>,
}

impl Worker {
    pub fn new(engine: Engine) -> Self {
        let id = format!("worker-{}", &Uuid::new_v4().simple().to_string()[..12]);
        Self { engine, id, in_flight: JoinSet::new(), per_platform: BTreeMap::new() }
    }

    pub fn id(&self) -> &str {
        &self.id
    }

    pub async fn run(mut self, mut shutdown: watch::Receiver<bool>) {
        tracing::info!(worker = %self.id, concurrency = self.engine.config.concurrency, "delivery worker started");
        let signal = self.engine.store.queue_signal();
        while !*shutdown.borrow() {
            let claimed = match self.claim_and_start().await {
                Ok(claimed) => claimed,
                Err(error) => {
                    tracing::error!(%error, "claiming due targets failed; retrying shortly");
                    0
                }
            };
            let free = self.engine.config.concurrency.saturating_sub(self.in_flight.len());
            if claimed > 0 && free > 0 {
                continue; // more may be due right now
            }
            let wait = self.time_to_next_due(claimed).await;
            tokio::select! {
                _ = shutdown.changed() => {}
                () = signal.notified() => {}
                Some(done) = self.in_flight.join_next(), if !self.in_flight.is_empty() => self.finished(done),
                () = tokio::time::sleep(wait) => {}
            }
        }
        self.drain().await;
    }

    /// Claims what is due and may be taken now, and starts delivering it.
    /// Returns how many targets were claimed.
    pub async fn claim_and_start(&mut self) -> StoreResult<usize> {
        while let Some(done) = self.in_flight.try_join_next() {
            self.finished(done);
        }
        let free = self.engine.config.concurrency.saturating_sub(self.in_flight.len());
        if free == 0 {
            return Ok(0);
        }
        let claimed = self.claim(free).await?;
        let count = claimed.len();
        for target in claimed {
            let platform = self.platform_of(&target).await;
            *self.per_platform.entry(platform.clone()).or_default() += 1;
            let engine = self.engine.clone();
            let worker = self.id.clone();
            self.in_flight.spawn(async move {
                engine.deliver(target, worker).await;
                platform
            });
        }
        Ok(count)
    }

    /// Delivers everything due now and waits for it (tests drive the engine with this).
    pub async fn run_once(&mut self) -> StoreResult<usize> {
        let claimed = self.claim_and_start().await?;
        while let Some(done) = self.in_flight.join_next().await {
            self.finished(done);
        }
        Ok(claimed)
    }

    async fn claim(&mut self, free: usize) -> StoreResult<Vec<TargetRow>> {
        let skip_platforms: Vec<String> = self
            .engine
            .providers
            .all()
            .filter(|p| self.per_platform.get(p.id()).copied().unwrap_or(0) >= p.max_concurrency())
            .map(|p| p.id().to_string())
            .collect();
        let budgets = self.budgeted().await?;
        let budgeted: Vec<Uuid> = budgets.iter().map(|(id, _)| *id).collect();
        let now = now();
        let config = &self.engine.config;
        let mut request = ClaimRequest {
            worker: &self.id,
            now,
            lease_until: now + chrono_duration(config.lease),
            not_before: now - chrono_duration(config.missed_grace),
            limit: free as u64,
            skip_platforms: &skip_platforms,
            skip_integrations: &budgeted,
            only_integration: None,
        };
        let txn = self.engine.store.begin_write().await?;
        let queue = Queue(&txn);
        let mut claimed = queue.claim(&request).await?;
        // Integrations with a write quota are claimed one by one, never
        // more than what is left of their budget.
        for (integration, budget) in budgets {
            let left = free.saturating_sub(claimed.len());
            if left == 0 {
                break;
            }
            let remaining = self.remaining_budget(&txn, integration, budget).await?;
            if remaining == 0 {
                continue;
            }
            request.only_integration = Some(integration);
            request.skip_integrations = &[];
            request.limit = left.min(remaining) as u64;
            claimed.extend(queue.claim(&request).await?);
        }
        let mut posts: Vec<Uuid> = claimed.iter().map(|t| t.post_id).collect();
        posts.sort_unstable();
        posts.dedup();
        for post in posts {
            Posts(&txn).recompute_status(post).await?;
        }
        txn.commit().await?;
        if !claimed.is_empty() {
            metrics::counter!("herald_targets_claimed_total").increment(claimed.len() as u64);
            tracing::debug!(worker = %self.id, count = claimed.len(), "claimed due targets");
        }
        Ok(claimed)
    }

    /// Active integrations with a write quota (from their settings or their
    /// platform). Read at every claim, so a changed budget applies at once.
    async fn budgeted(&self) -> StoreResult<Vec<(Uuid, RateBudget)>> {
        let mut list = Vec::new();
        for integration in Integrations(self.engine.store.conn()).all_active().await? {
            let from_provider = self.engine.providers.get(&integration.platform).and_then(|p| p.rate_budget());
            if let Some(budget) = budget_from_settings(&integration.settings).or(from_provider) {
                list.push((integration.id, budget));
            }
        }
        Ok(list)
    }

    /// What is left of an integration's budget in the current window.
    async fn remaining_budget(&self, txn: &Transaction, integration: Uuid, budget: RateBudget) -> StoreResult<usize> {
        let since = now() - chrono_duration(budget.window);
        let used = Queue(txn).budget_used(&[integration], since).await?.first().map_or(0, |(_, n)| *n);
        Ok(usize::try_from(i64::from(budget.max) - used).unwrap_or(0))
    }

    async fn platform_of(&self, target: &TargetRow) -> String {
        match Integrations(self.engine.store.conn()).by_id(target.integration_id).await {
            Ok(Some(integration)) => integration.platform,
            _ => String::new(),
        }
    }

    fn finished(&mut self, done: Result<String, tokio::task::JoinError>) {
        match done {
            Ok(platform) => {
                if let Some(count) = self.per_platform.get_mut(&platform) {
                    *count = count.saturating_sub(1);
                }
            }
            Err(error) => tracing::error!(%error, "a delivery task panicked; its lease will be recovered"),
        }
    }

    async fn time_to_next_due(&self, claimed: usize) -> Duration {
        let poll = self.engine.config.poll_interval;
        match Queue(self.engine.store.conn()).next_due().await {
            Ok(Some(due)) => {
                let until = (due - now()).to_std().unwrap_or(Duration::ZERO);
                if until.is_zero() && claimed == 0 { BLOCKED_PAUSE } else { until.min(poll) }
            }
            Ok(None) => poll,
            Err(error) => {
                tracing::warn!(%error, "could not read the next due time");
                poll
            }
        }
    }

    /// Stops claiming; gives deliveries in flight the shutdown grace, then
    /// aborts the rest and hands their targets to recovery at once.
    async fn drain(mut self) {
        let grace = self.engine.config.shutdown_grace;
        let deadline = tokio::time::Instant::now() + grace;
        if !self.in_flight.is_empty() {
            tracing::info!(in_flight = self.in_flight.len(), "waiting for deliveries in flight");
        }
        while !self.in_flight.is_empty() {
            match tokio::time::timeout_at(deadline, self.in_flight.join_next()).await {
                Ok(Some(done)) => self.finished(done),
                Ok(None) => break,
                Err(_) => {
                    tracing::warn!(
                        aborted = self.in_flight.len(),
                        "shutdown grace over; releasing unfinished deliveries"
                    );
                    self.in_flight.abort_all();
                    while self.in_flight.join_next().await.is_some() {}
                    break;
                }
            }
        }
        match self.engine.release_leases_of(&self.id).await {
            Ok(0) => {}
            Ok(released) => tracing::info!(released, "released leases of unfinished deliveries"),
            Err(error) => tracing::error!(%error, "could not release leases; they will expire and be recovered"),
        }
        tracing::info!(worker = %self.id, "delivery worker stopped");
    }
}

/// `settings.rateBudget = {"max": 17, "windowSeconds": 86400}` on an integration.
fn budget_from_settings(settings: &serde_json::Value) -> Option<RateBudget> {
    let budget = settings.get("rateBudget")?;
    let max = u32::try_from(budget.get("max")?.as_u64()?).ok()?;
    let window = Duration::from_secs(budget.get("windowSeconds")?.as_u64()?);
    Some(RateBudget { max, window })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn budgets_come_from_integration_settings() {
        let settings = serde_json::json!({"rateBudget": {"max": 17, "windowSeconds": 86400}});
        assert_eq!(budget_from_settings(&settings), Some(RateBudget { max: 17, window: Duration::from_secs(86400) }));
        assert_eq!(budget_from_settings(&serde_json::json!({})), None);
        assert_eq!(budget_from_settings(&serde_json::json!({"rateBudget": {"max": -1, "windowSeconds": 5}})), None);
    }
}
