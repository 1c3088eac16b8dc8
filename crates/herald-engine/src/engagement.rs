//! Engagement metrics: a periodic job that asks the platforms that expose
//! them (Mastodon, Bluesky …) how recently published posts are doing, and
//! keeps the latest figures for `GET /analytics/{postId}`.
//!
//! Rows are claimed by stamping `fetched_at` before the platform is asked,
//! in a short transaction, so several scheduler nodes never fetch the same
//! post twice in one interval and no lock is held across network calls.

use herald_store::content::decode;
use std::collections::HashMap;

use herald_providers::{ErrorClass, ProviderError, PublishedItem};
use herald_store::repo::Engagement;
use herald_store::{StoreResult, TargetMetricRow};
use serde_json::Value;
use tokio::sync::watch;
use uuid::Uuid;

use crate::Engine;

/// Targets refreshed per round.
const BATCH: usize = 100;

pub(crate) async fn run(engine: Engine, mut shutdown: watch::Receiver<bool>) {
    while !*shutdown.borrow() {
        match refresh(&engine).await {
            Ok(0) => {}
            Ok(fetched) => tracing::info!(fetched, "engagement metrics refreshed"),
            Err(error) => tracing::error!(%error, "refreshing engagement metrics failed; retrying later"),
        }
        // Same rhythm for the profiles connecting could not read.
        match crate::profiles::refresh(&engine).await {
            Ok(0) => {}
            Ok(completed) => tracing::info!(completed, "profiles read"),
            Err(error) => tracing::error!(%error, "reading pending profiles failed; retrying later"),
        }
        match crate::tokens::renew_due(&engine).await {
            Ok(0) => {}
            Ok(renewed) => tracing::info!(renewed, "tokens renewed ahead of expiry"),
            Err(error) => tracing::error!(%error, "renewing tokens failed; retrying later"),
        }
        if let Err(error) = crate::tokens::warn_expiring(&engine).await {
            tracing::error!(%error, "telling of accounts whose access ends failed; retrying later");
        }
        tokio::select! {
            _ = shutdown.changed() => {}
            // A round finds the stalest rows first, so a short pause between
            // rounds spreads a large backlog without a burst.
            () = tokio::time::sleep(engine.config.metrics_poll) => {}
        }
    }
}

/// One round: claims the targets whose metrics are due, asks each platform,
/// stores what it said. Returns how many were asked.
pub(crate) async fn refresh(engine: &Engine) -> StoreResult<usize> {
    let platforms: Vec<&'static str> = engine.providers.all().filter(|p| p.has_metrics()).map(|p| p.id()).collect();
    let started = engine.now();
    let window = chrono::Duration::from_std(engine.config.metrics_window).unwrap_or(chrono::Duration::days(30));
    let interval = chrono::Duration::from_std(engine.config.metrics_interval).unwrap_or(chrono::Duration::hours(1));

    let txn = engine.store.begin_write().await?;
    let due = Engagement(&txn).due(&platforms, started - window, started - interval, BATCH).await?;
    for (target, _, previous) in &due {
        let claim = TargetMetricRow {
            target_id: target.id,
            metrics: previous.as_ref().map_or_else(|| Value::Object(Default::default()), |p| p.metrics.clone()),
            fetched_at: started,
            last_error: previous.as_ref().and_then(|p| p.last_error.clone()),
        };
        Engagement(&txn).save(claim).await?;
    }
    txn.commit().await?;

    // Credentials per integration for this round: decrypted once, and
    // refreshed at most once when the platform says they expired (Bluesky
    // sessions last two hours; refreshing per post would churn tokens).
    let mut credentials: HashMap<Uuid, (Result<Value, ProviderError>, bool)> = HashMap::new();
    for (target, integration, previous) in &due {
        let Some(provider) = engine.providers.get(&integration.platform) else { continue };
        let ids: Vec<String> = match decode(&target.platform_post_ids, "post_targets.platform_post_ids", target.id) {
            Ok(ids) => ids,
            Err(error) => {
                tracing::error!(%error, "cannot read a published target's platform ids; its metrics are not refreshed");
                continue;
            }
        };
        let Some(first) = ids.first() else { continue };
        let item = PublishedItem { id: first.clone(), url: target.url.clone() };
        let entry =
            credentials.entry(integration.id).or_insert_with(|| (engine.decrypt_credentials(integration), false));
        let mut result = match &entry.0 {
            Ok(current) => provider.fetch_metrics(current, &item).await,
            Err(error) => Err(error.clone()),
        };
        if let (Err(error), (Ok(_), refreshed @ false)) = (&result, &mut *entry)
            && error.class == ErrorClass::AuthExpired
        {
            *refreshed = true;
            result = match engine.renew_tokens(provider.as_ref(), integration).await {
                Ok(fresh) => {
                    let answer = provider.fetch_metrics(&fresh, &item).await;
                    entry.0 = Ok(fresh);
                    answer
                }
                Err(error) => Err(error),
            };
        }
        let row = match result {
            Ok(metrics) => TargetMetricRow {
                target_id: target.id,
                metrics: serde_json::to_value(&metrics).unwrap_or_default(),
                fetched_at: engine.now(),
                last_error: None,
            },
            Err(error) => {
                if !matches!(error.class, ErrorClass::Retryable { .. }) {
                    tracing::warn!(target_id = %target.id, class = error.class.name(), %error, "metrics unavailable");
                }
                TargetMetricRow {
                    target_id: target.id,
                    metrics: previous.as_ref().map_or_else(|| serde_json::json!({}), |p| p.metrics.clone()),
                    fetched_at: engine.now(),
                    last_error: Some(error.message),
                }
            }
        };
        Engagement(engine.store.conn()).save(row).await?;
    }
    Ok(due.len())
}
