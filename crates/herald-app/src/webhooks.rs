//! Outbound webhooks (DESIGN §11): a workspace's events POSTed, signed, to
//! URLs its owners and editors register; each delivery and its attempts
//! can be read, and a delivery sent again. The engine sends them
//! (`herald_engine::webhooks`).

use chrono::{DateTime, Utc};
use herald_core::ValidationErrors;
use herald_core::event::EventKind;
use herald_store::repo::{DELIVERY_PENDING, Webhooks};
use herald_store::{WebhookDeliveryRow, WebhookRow};
use rand::distr::{Alphanumeric, SampleString};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::App;
use crate::caller::Caller;
use crate::error::{AppError, AppResult};

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CreateWebhookInput {
    /// Where to POST: an http(s) URL on a public address.
    pub url: String,
    /// Event types (`post_published`, `approval_requested` …), or `["*"]`.
    pub events: Vec<String>,
    /// Signing secret (16–256 characters); one is generated when left out.
    pub secret: Option<String>,
}

#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct UpdateWebhookInput {
    pub url: Option<String>,
    pub events: Option<Vec<String>>,
    /// `true` turns a webhook back on (and forgets its failures).
    pub active: Option<bool>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct WebhookView {
    pub id: Uuid,
    /// As far as its host (`https://hooks.example.com/…`): the rest may be secret.
    pub url: String,
    pub events: Vec<String>,
    pub active: bool,
    /// Failed attempts in a row (20 turn it off).
    pub consecutive_failures: i32,
    pub disabled_reason: Option<String>,
    pub created_at: DateTime<Utc>,
}

/// A new webhook: the secret is shown here once.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CreatedWebhookView {
    #[serde(flatten)]
    pub webhook: WebhookView,
    pub secret: String,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct DeliveryView {
    pub id: Uuid,
    pub event_id: Uuid,
    #[serde(rename = "type")]
    pub kind: String,
    /// `PENDING`, `SUCCEEDED` or `FAILED`.
    pub status: String,
    pub attempts: i32,
    pub next_attempt_at: Option<DateTime<Utc>>,
    /// The receiver's last HTTP status.
    pub status_code: Option<i32>,
    pub last_error: Option<String>,
    /// Every attempt: `{at, status?, response?, error?, ms}`.
    #[schema(value_type = Vec<Object>)]
    pub attempts_log: serde_json::Value,
    /// The body sent.
    pub payload: String,
    pub created_at: DateTime<Utc>,
}

fn view(row: &WebhookRow) -> WebhookView {
    WebhookView {
        id: row.id,
        // Webhook URLs often carry a token in their path: shown as far as the host.
        url: herald_core::redact::url(&row.url),
        events: serde_json::from_value(row.events.clone()).unwrap_or_default(),
        active: row.is_active,
        consecutive_failures: row.consecutive_failures,
        disabled_reason: row.disabled_reason.clone(),
        created_at: row.created_at,
    }
}

fn delivery_view(row: WebhookDeliveryRow) -> DeliveryView {
    DeliveryView {
        id: row.id,
        event_id: row.event_id,
        kind: row.event_type,
        status: row.status,
        attempts: row.attempts,
        next_attempt_at: row.next_attempt_at,
        status_code: row.last_status,
        last_error: row.last_error,
        attempts_log: row.log,
        payload: row.payload,
        created_at: row.created_at,
    }
}

impl App {
    pub async fn list_webhooks(&self, caller: &Caller) -> AppResult<Vec<WebhookView>> {
        caller.require_account_manager("managing webhooks")?;
        Ok(Webhooks(self.store.conn()).list(caller.workspace_id).await?.iter().map(view).collect())
    }

    pub async fn create_webhook(&self, caller: &Caller, input: CreateWebhookInput) -> AppResult<CreatedWebhookView> {
        caller.require_account_manager("managing webhooks")?;
        let mut errors = ValidationErrors::default();
        let url = errors.collect(self.check_public_url(&input.url).await);
        let events = errors.collect(check_events(&input.events));
        let secret = match input.secret.map(|s| s.trim().to_string()) {
            Some(secret) if !(16..=256).contains(&secret.chars().count()) => {
                errors.push("secret", "must be 16 to 256 characters");
                None
            }
            Some(secret) => Some(secret),
            None => Some(Alphanumeric.sample_string(&mut rand::rng(), 40)),
        };
        errors.clone().into_result()?;
        let (Some(url), Some(events), Some(secret)) = (url, events, secret) else { return Err(errors.into()) };
        let now = self.now();
        let id = Uuid::now_v7();
        let row = WebhookRow {
            id,
            workspace_id: caller.workspace_id,
            url,
            events: serde_json::json!(events),
            secret: self.vault.encrypt(secret.as_bytes(), id.as_bytes()),
            is_active: true,
            consecutive_failures: 0,
            disabled_reason: None,
            created_by: Some(caller.user_id),
            created_at: now,
            updated_at: now,
        };
        let row = Webhooks(self.store.conn()).insert(row).await?;
        tracing::info!(webhook_id = %row.id, "webhook created");
        Ok(CreatedWebhookView { webhook: view(&row), secret })
    }

    pub async fn update_webhook(&self, caller: &Caller, id: Uuid, input: UpdateWebhookInput) -> AppResult<WebhookView> {
        caller.require_account_manager("managing webhooks")?;
        let repo = Webhooks(self.store.conn());
        let mut row = repo.get(caller.workspace_id, id).await?.ok_or(AppError::NotFound("webhook"))?;
        if let Some(url) = &input.url {
            row.url = self.check_public_url(url).await?;
        }
        if let Some(events) = &input.events {
            row.events = serde_json::json!(check_events(events)?);
        }
        match input.active {
            Some(true) => {
                row.is_active = true;
                row.consecutive_failures = 0;
                row.disabled_reason = None;
            }
            Some(false) => {
                row.is_active = false;
                row.disabled_reason = Some("turned off".into());
            }
            None => {}
        }
        row.updated_at = self.now();
        Ok(view(&repo.save(row).await?))
    }

    pub async fn delete_webhook(&self, caller: &Caller, id: Uuid) -> AppResult<()> {
        caller.require_account_manager("managing webhooks")?;
        if !Webhooks(self.store.conn()).delete(caller.workspace_id, id).await? {
            return Err(AppError::NotFound("webhook"));
        }
        Ok(())
    }

    /// A webhook's latest deliveries (up to 100), newest first.
    pub async fn webhook_deliveries(&self, caller: &Caller, id: Uuid) -> AppResult<Vec<DeliveryView>> {
        caller.require_account_manager("managing webhooks")?;
        let repo = Webhooks(self.store.conn());
        repo.get(caller.workspace_id, id).await?.ok_or(AppError::NotFound("webhook"))?;
        Ok(repo.deliveries(id, 100).await?.into_iter().map(delivery_view).collect())
    }

    /// Sends a delivery again, now, whatever became of it.
    pub async fn redeliver(&self, caller: &Caller, id: Uuid, delivery_id: Uuid) -> AppResult<DeliveryView> {
        caller.require_account_manager("managing webhooks")?;
        let repo = Webhooks(self.store.conn());
        repo.get(caller.workspace_id, id).await?.ok_or(AppError::NotFound("webhook"))?;
        let mut delivery = repo.delivery(id, delivery_id).await?.ok_or(AppError::NotFound("delivery"))?;
        delivery.status = DELIVERY_PENDING.into();
        delivery.next_attempt_at = Some(self.now());
        delivery.lease_until = None;
        delivery.updated_at = self.now();
        let saved = repo.save_delivery(delivery).await?;
        self.store.queue_changed().await;
        Ok(delivery_view(saved))
    }
}

fn check_events(events: &[String]) -> Result<Vec<String>, herald_core::ValidationError> {
    if events.is_empty() {
        return Err(herald_core::ValidationError::new("events", "name at least one event type, or \"*\" for all"));
    }
    let mut out = Vec::new();
    for event in events {
        let event = event.trim();
        if event != "*" && EventKind::parse(event).is_none() {
            return Err(herald_core::ValidationError::new(
                "events",
                format!("`{event}` is not an event type (see the README's list)"),
            ));
        }
        if !out.iter().any(|e: &String| e == event) {
            out.push(event.to_string());
        }
    }
    Ok(out)
}
