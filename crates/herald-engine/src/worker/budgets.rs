//! Rate budgets at claim time: which integrations have a write quota (from
//! their settings or their platform), cached until the queue changes, and
//! how much of it the current window has left.

use std::time::{Duration, Instant};

use herald_providers::RateBudget;
use herald_store::repo::{Integrations, Queue};
use herald_store::{StoreResult, Transaction};
use uuid::Uuid;

use super::Worker;
use crate::outcome::chrono_duration;

/// The rate-budgeted integrations, read again once the queue changed (an
/// integration update signals it, on every node) or after `BUDGETS_FRESH`.
pub(super) struct Budgets {
    epoch: u64,
    read_at: Instant,
    list: Vec<Budgeted>,
}

/// An integration whose claims are counted: its own budget, if any, and
/// its platform, whose app-wide budget (if any) it shares.
#[derive(Debug, Clone)]
pub(super) struct Budgeted {
    pub integration: Uuid,
    pub platform: String,
    pub own: Option<RateBudget>,
}

/// A change whose signal was lost (a PostgreSQL listener reconnecting)
/// applies after this long at most.
const BUDGETS_FRESH: Duration = Duration::from_secs(5);

impl Worker {
    /// Active integrations with a write quota (from their settings or their
    /// platform). Read again whenever the queue changed, so a changed budget
    /// applies at the next claim.
    pub(super) async fn budgeted(&mut self) -> StoreResult<Vec<Budgeted>> {
        let epoch = self.engine.store.queue_epoch();
        if let Some(budgets) = &self.budgets
            && budgets.epoch == epoch
            && budgets.read_at.elapsed() < BUDGETS_FRESH
        {
            return Ok(budgets.list.clone());
        }
        let list = self.read_budgets().await?;
        self.budgets = Some(Budgets { epoch, read_at: Instant::now(), list: list.clone() });
        Ok(list)
    }

    pub(super) async fn read_budgets(&self) -> StoreResult<Vec<Budgeted>> {
        let mut list = Vec::new();
        let overrides = &self.engine.config.platform_budgets;
        let platforms: Vec<&str> = self
            .engine
            .providers
            .all()
            .filter(|p| p.rate_budget().is_some() || p.app_budget().is_some() || overrides.contains_key(p.id()))
            .map(|p| p.id())
            .collect();
        for integration in Integrations(self.engine.store.conn()).active_with_budget(&platforms).await? {
            let provider = self.engine.providers.get(&integration.platform);
            let from_platform = overrides
                .get(&integration.platform)
                .copied()
                .or_else(|| provider.as_ref().and_then(|p| p.rate_budget()));
            let own = budget_from_settings(&integration.settings).or(from_platform);
            let shared = provider.is_some_and(|p| p.app_budget().is_some());
            if own.is_some() || shared {
                list.push(Budgeted { integration: integration.id, platform: integration.platform, own });
            }
        }
        Ok(list)
    }

    /// What is left of a platform's app-wide budget: what every one of its
    /// integrations (`all`) used in the window, taken from the quota.
    pub(super) async fn remaining_app_budget(
        &self,
        txn: &Transaction,
        all: &[Uuid],
        budget: RateBudget,
    ) -> StoreResult<usize> {
        let since = self.engine.now() - chrono_duration(budget.window);
        let used: i64 = Queue(txn).budget_used(all, since).await?.iter().map(|(_, n)| n).sum();
        Ok(usize::try_from(i64::from(budget.max) - used).unwrap_or(0))
    }

    /// What is left of an integration's budget in the current window.
    pub(super) async fn remaining_budget(
        &self,
        txn: &Transaction,
        integration: Uuid,
        budget: RateBudget,
    ) -> StoreResult<usize> {
        let since = self.engine.now() - chrono_duration(budget.window);
        let used = Queue(txn).budget_used(&[integration], since).await?.first().map_or(0, |(_, n)| *n);
        Ok(usize::try_from(i64::from(budget.max) - used).unwrap_or(0))
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
