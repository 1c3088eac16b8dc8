//! The singleton sweeps: deliveries whose worker vanished (expired lease)
//! and windows missed while Herald was down.

use herald_core::event::{ActorType, EventKind};
use herald_core::post::TargetStatus;
use herald_providers::Recovery;
use herald_store::repo::{Events, NewEvent, Posts, Queue};
use herald_store::{EventRow, StoreResult, TargetRow, Transaction};
use serde_json::json;
use tokio::sync::watch;

use crate::Engine;
use crate::processing::Processing;

/// Advisory lock key of the sweep ("HERALDSW").
const SWEEP_LOCK: i64 = 0x4845_5241_4c44_5357;
const BATCH: u64 = 500;

pub(crate) async fn run(engine: Engine, mut shutdown: watch::Receiver<bool>) {
    tracing::info!("scheduler started");
    while !*shutdown.borrow() {
        if let Err(error) = sweep(&engine).await {
            tracing::error!(%error, "sweep failed; retrying at the next interval");
        }
        tokio::select! {
            _ = shutdown.changed() => {}
            () = tokio::time::sleep(engine.config.sweep_interval) => {}
        }
    }
    tracing::info!("scheduler stopped");
}

pub(crate) async fn sweep(engine: &Engine) -> StoreResult<usize> {
    let txn = engine.store.begin_write().await?;
    if !engine.store.try_singleton_lock(&txn, SWEEP_LOCK).await? {
        txn.commit().await?;
        return Ok(0);
    }
    let queue = Queue(&txn);
    let expired = queue.expired_leases(engine.now(), BATCH).await?;
    let (mut resolved, mut events, requeued) = engine.recover(&txn, expired).await?;
    let missed_before = engine.now() - crate::outcome::chrono_duration(engine.config.missed_grace);
    for read in queue.missed(missed_before, BATCH).await? {
        let mut failed = read.clone();
        failed.status = TargetStatus::Failed;
        failed.next_attempt_at = None;
        failed.last_error_class = Some("MISSED".into());
        failed.last_error_message = Some(format!(
            "missed its publishing window: it was due at {} and Herald was not running; it was not sent late",
            read.next_attempt_at.map_or_else(String::new, |t| t.to_rfc3339())
        ));
        failed.updated_at = engine.now();
        if queue.resolve(&read, &failed).await? {
            metrics::counter!("herald_targets_failed_total", "platform" => "any", "class" => "MISSED").increment(1);
            resolved += 1;
            events.push(target_event(&txn, &failed, EventKind::PostFailed).await?);
        }
    }
    txn.commit().await?;
    if resolved > 0 {
        tracing::info!(resolved, "sweep resolved targets");
    }
    engine.store.publish_events(events).await;
    if requeued {
        engine.store.queue_changed().await;
    }
    Ok(resolved)
}

impl Engine {
    /// Decides what happens to targets whose delivery stopped midway:
    /// continued from the stored handle when the platform had taken the
    /// item, handed back to a provider that can look on the platform first,
    /// sent again with the same idempotency key where the platform drops
    /// duplicates, otherwise UNCONFIRMED — never blindly re-sent.
    async fn recover(&self, txn: &Transaction, targets: Vec<TargetRow>) -> StoreResult<(usize, Vec<EventRow>, bool)> {
        let mut resolved = 0;
        let mut events = Vec::new();
        let mut requeued = false;
        for read in targets {
            let platform = herald_store::repo::Integrations(txn).by_id(read.integration_id).await?.map(|i| i.platform);
            let recovery =
                platform.and_then(|p| self.providers.get(&p)).map_or(Recovery::Unconfirmable, |p| p.recovery());
            let mut next = read.clone();
            next.lease_owner = None;
            next.lease_expires_at = None;
            next.updated_at = self.now();
            // An unreadable state counts as none: the delivery fails when it reads it.
            let has_handle =
                Processing::read(read.pending.as_ref()).ok().flatten().is_some_and(|p| p.handle().is_some());
            let kind = match (has_handle, recovery) {
                // The platform holds the item: ask it about the handle.
                (true, _) => {
                    next.pending = Some(crate::processing::interrupted(&read, self.now()));
                    next.status = TargetStatus::Queued;
                    next.next_attempt_at = Some(self.now());
                    next.last_error_class = Some("RETRYABLE".into());
                    next.last_error_message = Some(
                        "the delivery was interrupted while the platform processed it; continuing from where it stopped"
                            .into(),
                    );
                    EventKind::PostRetrying
                }
                (false, Recovery::AskPlatform) => {
                    next.pending = Some(crate::processing::interrupted(&read, self.now()));
                    next.status = TargetStatus::Queued;
                    next.next_attempt_at = Some(self.now());
                    next.last_error_class = Some("RETRYABLE".into());
                    next.last_error_message = Some(
                        "the delivery was interrupted; the platform is asked whether it arrived before anything is sent again"
                            .into(),
                    );
                    EventKind::PostRetrying
                }
                (false, Recovery::ResendWithSameKey) => {
                    next.status = TargetStatus::Queued;
                    next.next_attempt_at = Some(self.now());
                    next.last_error_class = Some("RETRYABLE".into());
                    next.last_error_message =
                        Some("the delivery was interrupted; sending again with the same idempotency key".into());
                    EventKind::PostRetrying
                }
                (false, Recovery::Unconfirmable) => {
                    next.status = TargetStatus::Unconfirmed;
                    next.next_attempt_at = None;
                    next.last_error_class = Some("UNKNOWN".into());
                    next.last_error_message = Some(
                        "the delivery was interrupted and the platform cannot tell whether it arrived; check the account and publish again if it is missing"
                            .into(),
                    );
                    EventKind::PostUnconfirmed
                }
            };
            if Queue(txn).resolve(&read, &next).await? {
                metrics::counter!("herald_interrupted_deliveries_total", "outcome" => kind.as_str()).increment(1);
                resolved += 1;
                requeued |= next.status == TargetStatus::Queued;
                events.push(target_event(txn, &next, kind).await?);
                tracing::warn!(target_id = %next.id, status = %next.status, "recovered an interrupted delivery");
            }
        }
        Ok((resolved, events, requeued))
    }

    /// On shutdown: resolve the targets this worker still holds, now rather
    /// than after their leases expire.
    pub(crate) async fn release_leases_of(&self, worker: &str) -> StoreResult<usize> {
        let txn = self.store.begin_write().await?;
        let held = Queue(&txn).leased_by(worker).await?;
        let (resolved, events, requeued) = self.recover(&txn, held).await?;
        txn.commit().await?;
        self.store.publish_events(events).await;
        if requeued {
            self.store.queue_changed().await;
        }
        Ok(resolved)
    }
}

/// Records a target's new state and re-derives its post's status.
async fn target_event(txn: &Transaction, target: &TargetRow, kind: EventKind) -> StoreResult<EventRow> {
    let post = Posts(txn).recompute_status(target.post_id, target.updated_at).await?;
    let workspace_id = match &post {
        Some(post) => post.workspace_id,
        None => Posts(txn).by_id(target.post_id).await?.map(|p| p.workspace_id).unwrap_or_default(),
    };
    Events(txn)
        .append(NewEvent {
            at: target.updated_at,
            workspace_id,
            kind,
            post_id: Some(target.post_id),
            integration_id: Some(target.integration_id),
            actor_type: ActorType::System,
            actor_id: None,
            data: json!({
                "targetId": target.id,
                "status": target.status,
                "error": target.last_error_message,
                "postStatus": post.map(|p| p.status),
            }),
        })
        .await
}
