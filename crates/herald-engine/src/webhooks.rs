//! Outbound webhooks (DESIGN §11): every event of a workspace, as JSON
//! `{id, type, occurredAt, data}`, POSTed to each active webhook that asked
//! for its type, signed `X-Herald-Signature: sha256=<hex HMAC of the body>`.
//!
//! The fan-out reads the event log after its own cursor (like the
//! notification job, under a singleton lock, rows unique per (webhook,
//! event)) and queues deliveries; the sender claims due ones with a lease,
//! retries failures with backoff kept in the database and logs each
//! attempt. Twenty failed attempts in a row turn the webhook off, with an
//! event saying so. URLs go through the SSRF guard at every request.

use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use herald_core::event::{ActorType, EventKind};
use herald_providers::{HttpClient, ProviderSettings};
use herald_store::repo::{DELIVERY_FAILED, DELIVERY_SUCCEEDED, Events, JobCursors, NewDelivery, NewEvent, Webhooks};
use herald_store::{EventRow, StoreResult, WebhookDeliveryRow, WebhookRow};
use serde_json::json;
use uuid::Uuid;

use crate::Engine;

const CURSOR: &str = "webhooks";
const FAN_OUT_LOCK: i64 = 0x4845_5241_4c44_5748;
const BATCH: u64 = 200;
const SEND_BATCH: u64 = 20;
const LEASE: chrono::Duration = chrono::Duration::minutes(2);
const TIMEOUT: Duration = Duration::from_secs(10);
/// Attempts of one delivery before it is given up on.
pub const MAX_ATTEMPTS: i32 = 8;
/// Failed attempts in a row that turn a webhook off.
pub const DISABLE_AFTER: i32 = 20;
/// How much of a receiver's answer the log keeps.
const EXCERPT_CHARS: usize = 500;

/// One round of the fan-out; how many events were read.
pub(crate) async fn fan_out(engine: &Engine) -> StoreResult<usize> {
    let now = engine.now();
    let txn = engine.store.begin_write().await?;
    if !engine.store.try_singleton_lock(&txn, FAN_OUT_LOCK).await? {
        txn.commit().await?;
        return Ok(0);
    }
    let cursors = JobCursors(&txn);
    // A first run starts now: webhooks created later have no past to send.
    let cursor = cursors.get(CURSOR).await?.unwrap_or((now, Uuid::nil()));
    let settle = chrono::Duration::from_std(engine.config.notify_settle).unwrap_or_default();
    let events = Events(&txn).after(Some(cursor), EventKind::ALL, now - settle, BATCH).await?;
    let Some(last) = events.last().map(|e| (e.created_at, e.id)) else {
        if cursors.get(CURSOR).await?.is_none() {
            cursors.set(CURSOR, cursor.0, cursor.1).await?;
        }
        txn.commit().await?;
        return Ok(0);
    };
    let mut workspaces: Vec<Uuid> = events.iter().map(|e| e.workspace_id).collect();
    workspaces.sort();
    workspaces.dedup();
    let hooks = Webhooks(&txn).active_in(&workspaces).await?;
    let mut deliveries = Vec::new();
    for event in &events {
        for hook in hooks.iter().filter(|h| h.workspace_id == event.workspace_id && wants(h, event.kind)) {
            deliveries.push(NewDelivery {
                webhook_id: hook.id,
                workspace_id: event.workspace_id,
                event_id: event.id,
                event_type: event.kind.as_str().to_string(),
                payload: payload(event),
                at: now,
            });
        }
    }
    Webhooks(&txn).enqueue(deliveries).await?;
    cursors.set(CURSOR, last.0, last.1).await?;
    txn.commit().await?;
    Ok(events.len())
}

fn wants(hook: &WebhookRow, kind: EventKind) -> bool {
    hook.events.as_array().is_some_and(|events| events.iter().any(|e| e == "*" || e == kind.as_str()))
}

/// The body of a delivery: the event as the API shows it.
pub fn payload(event: &EventRow) -> String {
    json!({
        "id": event.id,
        "type": event.kind,
        "occurredAt": event.created_at,
        "data": {
            "workspaceId": event.workspace_id,
            "postId": event.post_id,
            "integrationId": event.integration_id,
            "actor": { "type": event.actor_type, "id": event.actor_id },
            "details": event.data,
        },
    })
    .to_string()
}

/// One round of sending; how many deliveries succeeded.
pub(crate) async fn send_due(engine: &Engine) -> StoreResult<usize> {
    let now = engine.now();
    let txn = engine.store.begin_write().await?;
    let due = Webhooks(&txn).claim_due(now, now + LEASE, SEND_BATCH).await?;
    txn.commit().await?;
    if due.is_empty() {
        return Ok(0);
    }
    let client = HttpClient::new(&ProviderSettings {
        allow_private_targets: engine.config.allow_private_targets,
        request_timeout: TIMEOUT,
        ..ProviderSettings::default()
    });
    let mut succeeded = 0;
    for (delivery, hook) in due {
        if attempt(engine, &client, delivery, &hook).await? {
            succeeded += 1;
        }
    }
    Ok(succeeded)
}

/// Sends one delivery and records the attempt; whether it went through.
async fn attempt(
    engine: &Engine,
    client: &HttpClient,
    mut delivery: WebhookDeliveryRow,
    hook: &WebhookRow,
) -> StoreResult<bool> {
    let started = Instant::now();
    let outcome = post(engine, client, &delivery, hook).await;
    let now = engine.now();
    let elapsed = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
    delivery.attempts += 1;
    delivery.lease_until = None;
    delivery.updated_at = now;
    let (ok, entry) = match &outcome {
        Ok((status, body)) => {
            let ok = (200..300).contains(status);
            delivery.last_status = Some(i32::from(*status));
            delivery.last_error = (!ok).then(|| format!("the receiver answered {status}"));
            (ok, json!({ "at": now, "status": status, "response": excerpt(body), "ms": elapsed }))
        }
        Err(error) => {
            delivery.last_status = None;
            delivery.last_error = Some(error.clone());
            (false, json!({ "at": now, "error": error, "ms": elapsed }))
        }
    };
    if let Some(log) = delivery.log.as_array_mut() {
        log.push(entry);
    }
    let webhooks = Webhooks(engine.store.conn());
    if ok {
        delivery.status = DELIVERY_SUCCEEDED.into();
        delivery.next_attempt_at = None;
        webhooks.save_delivery(delivery).await?;
        webhooks.succeeded(hook.id).await?;
        return Ok(true);
    }
    if delivery.attempts >= MAX_ATTEMPTS {
        delivery.status = DELIVERY_FAILED.into();
        delivery.next_attempt_at = None;
    } else {
        delivery.next_attempt_at = Some(retry_at(delivery.attempts, now));
    }
    let event_type = delivery.event_type.clone();
    webhooks.save_delivery(delivery).await?;
    let streak = webhooks.failed(hook.id).await?;
    tracing::warn!(webhook_id = %hook.id, event = %event_type, streak, "a webhook delivery failed");
    if streak >= DISABLE_AFTER {
        disable(engine, hook, streak).await?;
    }
    Ok(false)
}

async fn post(
    engine: &Engine,
    client: &HttpClient,
    delivery: &WebhookDeliveryRow,
    hook: &WebhookRow,
) -> Result<(u16, String), String> {
    let secret = engine
        .vault
        .decrypt(&hook.secret, hook.id.as_bytes())
        .map_err(|_| "the signing secret cannot be decrypted (was ENCRYPTION_KEY changed?)".to_string())?;
    let secret = String::from_utf8(secret).map_err(|_| "the signing secret is unreadable".to_string())?;
    let signature =
        herald_providers::webhook::signature(&secret, delivery.payload.as_bytes()).map_err(|e| e.message)?;
    let request = client
        .inner()
        .post(&hook.url)
        .header("content-type", "application/json")
        .header("user-agent", concat!("Herald/", env!("CARGO_PKG_VERSION")))
        .header("x-herald-event", &delivery.event_type)
        .header("x-herald-delivery", delivery.id.to_string())
        .header(herald_providers::webhook::SIGNATURE_HEADER, signature)
        .body(delivery.payload.clone());
    let response = client.send(request).await.map_err(|e| e.message)?;
    let status = response.status().as_u16();
    let body = response.text().await.unwrap_or_default();
    Ok((status, body))
}

/// 30 s, 1, 2, 4 … minutes after an attempt, at most an hour.
fn retry_at(attempts: i32, now: DateTime<Utc>) -> DateTime<Utc> {
    let exponent = u32::try_from((attempts - 1).clamp(0, 7)).unwrap_or(7);
    now + chrono::Duration::seconds((30 * 2_i64.pow(exponent)).min(3600))
}

fn excerpt(body: &str) -> String {
    let text: String = body.chars().take(EXCERPT_CHARS).collect();
    if body.chars().count() > EXCERPT_CHARS { format!("{text}…") } else { text }
}

async fn disable(engine: &Engine, hook: &WebhookRow, streak: i32) -> StoreResult<()> {
    let reason = format!("{streak} deliveries failed in a row");
    let txn = engine.store.begin_write().await?;
    if !Webhooks(&txn).disable(hook.id, &reason, engine.now()).await? {
        txn.commit().await?;
        return Ok(());
    }
    let event = Events(&txn)
        .append(NewEvent {
            at: engine.now(),
            workspace_id: hook.workspace_id,
            kind: EventKind::WebhookDisabled,
            post_id: None,
            integration_id: None,
            actor_type: ActorType::System,
            actor_id: None,
            data: json!({ "webhookId": hook.id, "reason": reason }),
        })
        .await?;
    txn.commit().await?;
    engine.store.publish_events(vec![event]).await;
    tracing::error!(webhook_id = %hook.id, streak, "a webhook was turned off after failing again and again");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retries_back_off_to_an_hour() {
        let now = Utc::now();
        assert_eq!(retry_at(1, now) - now, chrono::Duration::seconds(30));
        assert_eq!(retry_at(3, now) - now, chrono::Duration::seconds(120));
        assert_eq!(retry_at(20, now) - now, chrono::Duration::seconds(3600));
        assert_eq!(excerpt(&"x".repeat(600)).chars().count(), EXCERPT_CHARS + 1);
    }
}
