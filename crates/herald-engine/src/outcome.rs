//! Writing down what happened to a delivery: target, post status and
//! events change in one transaction, and only while the lease is ours.

use chrono::{DateTime, Utc};
use std::collections::{HashMap, HashSet};
use std::time::Duration;

use herald_core::event::{ActorType, EventKind};
use herald_core::integration::IntegrationStatus;
use herald_core::post::{PostStatus, TargetStatus};
use herald_core::retry::next_retry_delay;
use herald_providers::{ErrorClass, ProviderError, Recovery};
use herald_store::repo::{Events, Integrations, NewEvent, Posts, Queue};
use herald_store::{EventRow, IntegrationRow, PostRow, StoreResult, TargetRow, Transaction};
use serde_json::json;
use uuid::Uuid;

use crate::Engine;

/// What a finished delivery has to write: its target as the attempt left
/// it, and the event that records the change — none while the platform is
/// still processing (the post's status has not changed).
pub(crate) struct Outcome {
    pub delivery: Delivery,
    pub kind: Option<EventKind>,
}

/// Outcomes written in a transaction, to announce once it is committed.
pub(crate) struct Recorded {
    events: Vec<EventRow>,
    retrying: bool,
    /// Target, post and event kind of each outcome written.
    written: Vec<(Uuid, Uuid, Option<EventKind>)>,
}

/// A delivery in progress: the claimed target with its post and integration.
pub(crate) struct Delivery {
    pub target: TargetRow,
    pub post: PostRow,
    pub integration: IntegrationRow,
    pub worker: String,
}

fn new_event(delivery: &Delivery, kind: EventKind, data: serde_json::Value, at: DateTime<Utc>) -> NewEvent {
    NewEvent {
        at,
        workspace_id: delivery.post.workspace_id,
        kind,
        post_id: Some(delivery.post.id),
        integration_id: Some(delivery.integration.id),
        actor_type: ActorType::System,
        actor_id: None,
        data,
    }
}

fn target_data(delivery: &Delivery, target: &TargetRow, post_status: Option<PostStatus>) -> serde_json::Value {
    json!({
        "targetId": target.id,
        "platform": delivery.integration.platform,
        "integrationName": delivery.integration.display_name,
        "status": target.status,
        "url": target.url,
        "attempts": target.attempts,
        "error": target.last_error_message,
        "postStatus": post_status,
    })
}

impl Engine {
    /// Records progress (thread items published so far) and renews the
    /// lease. `false`: the lease was lost and the delivery must stop.
    pub(crate) async fn save_progress(&self, delivery: &mut Delivery) -> StoreResult<bool> {
        delivery.target.lease_expires_at = Some(self.now() + chrono_duration(self.config.lease));
        delivery.target.updated_at = self.now();
        Queue(self.store.conn()).write_leased(&delivery.target, &delivery.worker).await
    }

    pub(crate) fn record_published(&self, mut delivery: Delivery) -> Outcome {
        let at = self.now();
        let platform = delivery.integration.platform.clone();
        metrics::counter!("herald_targets_published_total", "platform" => platform.clone()).increment(1);
        if let Some(due) = delivery.post.scheduled_for {
            let latency = (at - due).to_std().unwrap_or_default().as_secs_f64();
            metrics::histogram!("herald_publish_latency_seconds", "platform" => platform).record(latency);
        }
        let target = &mut delivery.target;
        target.status = TargetStatus::Published;
        target.published_at = Some(at);
        target.lease_owner = None;
        target.lease_expires_at = None;
        target.next_attempt_at = None;
        target.last_error_class = None;
        target.last_error_message = None;
        target.updated_at = at;
        Outcome { delivery, kind: Some(EventKind::PostPublished) }
    }

    /// The platform is processing the item: the target waits in the queue
    /// with its handle (see `processing.rs`) and no lease, and the wait does
    /// not count as an attempt.
    pub(crate) fn record_waiting(&self, mut delivery: Delivery, after: Duration) -> Outcome {
        let at = self.now();
        let target = &mut delivery.target;
        target.status = TargetStatus::Queued;
        target.lease_owner = None;
        target.lease_expires_at = None;
        target.next_attempt_at = Some(at + chrono_duration(after));
        target.attempts = (target.attempts - 1).max(0);
        target.updated_at = at;
        Outcome { delivery, kind: None }
    }

    /// Classifies a failure: retry later, fail now, (access revoked) fail
    /// and ask for the account to be reconnected, or (the request may have
    /// arrived) leave it UNCONFIRMED unless the platform drops duplicates.
    /// Revocation is written at once; the other outcomes are returned for the
    /// worker to write.
    pub(crate) async fn record_failure(
        &self,
        mut delivery: Delivery,
        error: &ProviderError,
    ) -> StoreResult<Option<Outcome>> {
        let at = self.now();
        let platform = delivery.integration.platform.clone();
        metrics::counter!("herald_provider_errors_total", "platform" => platform.clone(), "class" => error.class.name()).increment(1);
        let recovery = self.providers.get(&platform).map_or(Recovery::Unconfirmable, |p| p.recovery());
        // A provider that asks the platform first can be called again: it
        // is told the last call may have arrived.
        let resend_is_safe = matches!(recovery, Recovery::ResendWithSameKey | Recovery::AskPlatform);
        if error.class == ErrorClass::MaybeSent && recovery == Recovery::AskPlatform {
            delivery.target.pending = Some(crate::processing::interrupted(&delivery.target, at));
        }
        let retry = match error.class {
            ErrorClass::Retryable { after } => self.retry_delay(delivery.target.attempts, after),
            ErrorClass::Unknown => self.retry_delay(delivery.target.attempts, None),
            ErrorClass::MaybeSent if resend_is_safe => self.retry_delay(delivery.target.attempts, None),
            ErrorClass::MaybeSent | ErrorClass::AuthExpired | ErrorClass::Revoked | ErrorClass::Invalid => None,
        };
        let target = &mut delivery.target;
        target.lease_owner = None;
        target.lease_expires_at = None;
        target.last_error_class = Some(error.class.name().to_string());
        target.updated_at = at;
        match retry {
            Some(delay) => {
                target.status = TargetStatus::Queued;
                target.next_attempt_at = Some(at + chrono_duration(delay));
                target.last_error_message = Some(format!("{} (retrying in {} s)", error.message, delay.as_secs()));
                Ok(Some(Outcome { delivery, kind: Some(EventKind::PostRetrying) }))
            }
            // Sent again it could be published twice; and after the last
            // attempt, even a resend-safe platform may have it. Items already
            // published stay recorded in `platform_post_ids`.
            None if error.class == ErrorClass::MaybeSent => {
                metrics::counter!("herald_targets_unconfirmed_total", "platform" => platform).increment(1);
                target.status = TargetStatus::Unconfirmed;
                target.next_attempt_at = None;
                target.last_error_message = Some(format!(
                    "{}; the platform may have received it: check the account before publishing it again",
                    error.message
                ));
                Ok(Some(Outcome { delivery, kind: Some(EventKind::PostUnconfirmed) }))
            }
            None => {
                metrics::counter!("herald_targets_failed_total", "platform" => platform, "class" => error.class.name())
                    .increment(1);
                target.status = TargetStatus::Failed;
                target.next_attempt_at = None;
                // A handle of a failed item must not be continued later.
                target.pending = None;
                target.last_error_message = Some(match error.class {
                    ErrorClass::Retryable { .. } | ErrorClass::Unknown | ErrorClass::MaybeSent => {
                        format!("gave up after {} attempts: {}", target.attempts, error.message)
                    }
                    _ => error.message.clone(),
                });
                if matches!(error.class, ErrorClass::Revoked | ErrorClass::AuthExpired) {
                    self.record_revoked(delivery, error).await.map(|()| None)
                } else {
                    Ok(Some(Outcome { delivery, kind: Some(EventKind::PostFailed) }))
                }
            }
        }
    }

    fn retry_delay(&self, attempts: i32, after: Option<Duration>) -> Option<Duration> {
        let attempts = u32::try_from(attempts).unwrap_or(u32::MAX);
        next_retry_delay(&self.config.retry, attempts, after, rand::random::<f64>())
    }

    /// Writes finished deliveries within `txn`: each target (if still ours),
    /// the status of their posts, and one event per state change.
    /// Deliveries whose lease was lost are left to the worker that owns
    /// them now. Announce the result once `txn` is committed.
    pub(crate) async fn write_outcomes(&self, txn: &Transaction, outcomes: &[Outcome]) -> StoreResult<Recorded> {
        let mut ours: Vec<&Outcome> = Vec::with_capacity(outcomes.len());
        // One statement per worker (a worker writes only its own outcomes).
        let mut by_worker: HashMap<&str, Vec<&Outcome>> = HashMap::new();
        for outcome in outcomes {
            by_worker.entry(outcome.delivery.worker.as_str()).or_default().push(outcome);
        }
        for (worker, group) in by_worker {
            let rows: Vec<&TargetRow> = group.iter().map(|o| &o.delivery.target).collect();
            let written: HashSet<Uuid> = Queue(txn).write_leased_many(&rows, worker).await?.into_iter().collect();
            for outcome in group {
                if written.contains(&outcome.delivery.target.id) {
                    ours.push(outcome);
                } else {
                    tracing::warn!(target_id = %outcome.delivery.target.id, "lease lost before the outcome was written; another worker owns the target");
                }
            }
        }
        let posts = dedupe(ours.iter().map(|o| o.delivery.post.id).collect());
        let now = self.now();
        let changed = Posts(txn).recompute_statuses(&posts, now).await?;
        let mut events = Vec::with_capacity(ours.len() * 2);
        let mut completed = Vec::new();
        let mut seen = HashSet::new();
        for outcome in &ours {
            let delivery = &outcome.delivery;
            let post_status = changed.get(&delivery.post.id).map(|p| p.status);
            let Some(kind) = outcome.kind else { continue };
            events.push(new_event(delivery, kind, target_data(delivery, &delivery.target, post_status), now));
            if post_status == Some(PostStatus::Published)
                && kind == EventKind::PostPublished
                && seen.insert(delivery.post.id)
            {
                completed.push(new_event(
                    delivery,
                    EventKind::PostCompleted,
                    json!({ "postStatus": PostStatus::Published }),
                    now,
                ));
            }
        }
        // After every target event of the batch, as when written one by one.
        events.extend(completed);
        let events = Events(txn).append_many(events).await?;
        self.store.notify_events_in(txn, &events).await?;
        // A wait for the platform is a retry as far as the queue is concerned.
        let retrying = ours.iter().any(|o| matches!(o.kind, Some(EventKind::PostRetrying) | None));
        let written = ours.iter().map(|o| (o.delivery.target.id, o.delivery.post.id, o.kind)).collect();
        Ok(Recorded { events, retrying, written })
    }

    /// After the commit: live events in this process (other nodes were
    /// notified by the transaction, see `write_outcomes`), and a wake-up
    /// when a retry was queued.
    pub(crate) async fn announce(&self, recorded: Recorded) {
        for (target_id, post_id, kind) in recorded.written {
            match kind {
                Some(kind) => tracing::info!(%target_id, %post_id, %kind, "delivery recorded"),
                None => tracing::info!(%target_id, %post_id, "the platform is processing; asking again later"),
            }
        }
        self.store.announce_events(recorded.events);
        if recorded.retrying {
            self.store.queue_changed().await;
        }
    }

    /// Access was revoked (or could not be refreshed): the integration
    /// needs reconnecting, and its due targets fail with a clear message
    /// instead of silently waiting.
    async fn record_revoked(&self, delivery: Delivery, error: &ProviderError) -> StoreResult<()> {
        let txn = self.store.begin_write().await?;
        if !Queue(&txn).write_leased(&delivery.target, &delivery.worker).await? {
            return Ok(());
        }
        let events =
            self.needs_reconnect_in(&txn, &delivery.integration, &error.message, vec![delivery.post.id]).await?;
        txn.commit().await?;
        self.store.publish_events(events).await;
        Ok(())
    }

    /// Marks an integration `NEEDS_RECONNECT` in `txn`: its due targets
    /// fail with a message that says so, and events tell the user. The
    /// posts in `touched_posts` get their status recomputed too.
    pub(crate) async fn needs_reconnect_in(
        &self,
        txn: &Transaction,
        integration: &IntegrationRow,
        message: &str,
        mut touched_posts: Vec<Uuid>,
    ) -> StoreResult<Vec<EventRow>> {
        let mut events = Vec::new();
        if let Some(mut row) = Integrations(txn).by_id(integration.id).await? {
            row.status = IntegrationStatus::NeedsReconnect;
            row.updated_at = self.now();
            Integrations(txn).update(row).await?;
        }
        let reason = format!(
            "the {} integration \"{}\" needs to be reconnected: {message}",
            integration.platform, integration.display_name
        );
        let queue = Queue(txn);
        for queued in queue.queued_of_integration(integration.id).await? {
            if queued.next_attempt_at.is_some_and(|due| due > self.now()) {
                continue;
            }
            let mut failed = queued.clone();
            failed.status = TargetStatus::Failed;
            failed.next_attempt_at = None;
            failed.last_error_class = Some(ErrorClass::Revoked.name().into());
            failed.last_error_message = Some(reason.clone());
            failed.updated_at = self.now();
            if queue.resolve(&queued, &failed).await? {
                touched_posts.push(queued.post_id);
            }
        }
        let system_event = |kind, post_id, data| NewEvent {
            at: self.now(),
            workspace_id: integration.workspace_id,
            kind,
            post_id,
            integration_id: Some(integration.id),
            actor_type: ActorType::System,
            actor_id: None,
            data,
        };
        let data = json!({ "platform": integration.platform, "reason": reason });
        events.push(Events(txn).append(system_event(EventKind::IntegrationNeedsReconnect, None, data)).await?);
        for post_id in dedupe(touched_posts) {
            let post = Posts(txn).recompute_status(post_id, self.now()).await?;
            let data = json!({ "error": reason, "postStatus": post.map(|p| p.status) });
            events.push(Events(txn).append(system_event(EventKind::PostFailed, Some(post_id), data)).await?);
        }
        tracing::warn!(integration_id = %integration.id, "integration needs reconnecting");
        Ok(events)
    }
}

fn dedupe(mut ids: Vec<Uuid>) -> Vec<Uuid> {
    ids.sort_unstable();
    ids.dedup();
    ids
}

pub(crate) fn chrono_duration(duration: Duration) -> chrono::Duration {
    chrono::Duration::from_std(duration).unwrap_or(chrono::Duration::MAX)
}
