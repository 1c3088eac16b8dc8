//! Outbound webhooks and their deliveries. Deliveries are unique per
//! (webhook, event), claimed with a lease, and keep a log of attempts.

use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Expr, ExprTrait, OnConflict};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, ConnectionTrait, EntityTrait, IntoActiveModel, QueryFilter, QueryOrder,
    QuerySelect, Set,
};
use uuid::Uuid;

use crate::entity::{webhook, webhook_delivery};
use crate::{StoreResult, WebhookDeliveryRow, WebhookRow};

pub const PENDING: &str = "PENDING";
pub const SUCCEEDED: &str = "SUCCEEDED";
pub const FAILED: &str = "FAILED";

pub struct NewDelivery {
    pub webhook_id: Uuid,
    pub workspace_id: Uuid,
    pub event_id: Uuid,
    pub event_type: String,
    pub payload: String,
    pub at: DateTime<Utc>,
}

pub struct Webhooks<'a, C>(pub &'a C);

impl<C: ConnectionTrait> Webhooks<'_, C> {
    pub async fn insert(&self, row: WebhookRow) -> StoreResult<WebhookRow> {
        Ok(row.into_active_model().reset_all().insert(self.0).await?)
    }

    pub async fn save(&self, row: WebhookRow) -> StoreResult<WebhookRow> {
        Ok(row.into_active_model().reset_all().update(self.0).await?)
    }

    pub async fn list(&self, workspace_id: Uuid) -> StoreResult<Vec<WebhookRow>> {
        Ok(webhook::Entity::find()
            .filter(webhook::Column::WorkspaceId.eq(workspace_id))
            .order_by_asc(webhook::Column::CreatedAt)
            .all(self.0)
            .await?)
    }

    /// Active webhooks of several workspaces (for the fan-out).
    pub async fn active_in(&self, workspace_ids: &[Uuid]) -> StoreResult<Vec<WebhookRow>> {
        Ok(webhook::Entity::find()
            .filter(webhook::Column::WorkspaceId.is_in(workspace_ids.iter().copied()))
            .filter(webhook::Column::IsActive.eq(true))
            .all(self.0)
            .await?)
    }

    pub async fn get(&self, workspace_id: Uuid, id: Uuid) -> StoreResult<Option<WebhookRow>> {
        Ok(webhook::Entity::find_by_id(id).filter(webhook::Column::WorkspaceId.eq(workspace_id)).one(self.0).await?)
    }

    pub async fn by_id(&self, id: Uuid) -> StoreResult<Option<WebhookRow>> {
        Ok(webhook::Entity::find_by_id(id).one(self.0).await?)
    }

    pub async fn delete(&self, workspace_id: Uuid, id: Uuid) -> StoreResult<bool> {
        let result = webhook::Entity::delete_many()
            .filter(webhook::Column::Id.eq(id))
            .filter(webhook::Column::WorkspaceId.eq(workspace_id))
            .exec(self.0)
            .await?;
        Ok(result.rows_affected > 0)
    }

    /// A delivery went through: the failure streak ends.
    pub async fn succeeded(&self, id: Uuid) -> StoreResult<()> {
        webhook::Entity::update_many()
            .col_expr(webhook::Column::ConsecutiveFailures, Expr::value(0))
            .filter(webhook::Column::Id.eq(id))
            .exec(self.0)
            .await?;
        Ok(())
    }

    /// One more failure in a row; the streak's length.
    pub async fn failed(&self, id: Uuid) -> StoreResult<i32> {
        webhook::Entity::update_many()
            .col_expr(webhook::Column::ConsecutiveFailures, Expr::col(webhook::Column::ConsecutiveFailures).add(1))
            .filter(webhook::Column::Id.eq(id))
            .exec(self.0)
            .await?;
        Ok(self.by_id(id).await?.map_or(0, |w| w.consecutive_failures))
    }

    /// Turns a webhook off; false when it already was.
    pub async fn disable(&self, id: Uuid, reason: &str, now: DateTime<Utc>) -> StoreResult<bool> {
        let result = webhook::Entity::update_many()
            .col_expr(webhook::Column::IsActive, Expr::value(false))
            .col_expr(webhook::Column::DisabledReason, Expr::value(reason))
            .col_expr(webhook::Column::UpdatedAt, Expr::value(now))
            .filter(webhook::Column::Id.eq(id))
            .filter(webhook::Column::IsActive.eq(true))
            .exec(self.0)
            .await?;
        Ok(result.rows_affected > 0)
    }

    /// Queues deliveries, skipping any already queued for that event.
    pub async fn enqueue(&self, new: Vec<NewDelivery>) -> StoreResult<u64> {
        if new.is_empty() {
            return Ok(0);
        }
        let models = new.into_iter().map(|d| webhook_delivery::ActiveModel {
            id: Set(Uuid::now_v7()),
            webhook_id: Set(d.webhook_id),
            workspace_id: Set(d.workspace_id),
            event_id: Set(d.event_id),
            event_type: Set(d.event_type),
            payload: Set(d.payload),
            status: Set(PENDING.into()),
            attempts: Set(0),
            next_attempt_at: Set(Some(d.at)),
            lease_until: Set(None),
            last_status: Set(None),
            last_error: Set(None),
            log: Set(serde_json::json!([])),
            created_at: Set(d.at),
            updated_at: Set(d.at),
        });
        Ok(webhook_delivery::Entity::insert_many(models)
            .on_conflict(
                OnConflict::columns([webhook_delivery::Column::WebhookId, webhook_delivery::Column::EventId])
                    .do_nothing()
                    .to_owned(),
            )
            .exec_without_returning(self.0)
            .await?)
    }

    /// Claims due deliveries of active webhooks until `lease_until`. Call
    /// it in a write transaction.
    pub async fn claim_due(
        &self,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
        limit: u64,
    ) -> StoreResult<Vec<(WebhookDeliveryRow, WebhookRow)>> {
        let due = webhook_delivery::Entity::find()
            .filter(webhook_delivery::Column::Status.eq(PENDING))
            .filter(webhook_delivery::Column::NextAttemptAt.lte(now))
            .filter(
                Condition::any()
                    .add(webhook_delivery::Column::LeaseUntil.is_null())
                    .add(webhook_delivery::Column::LeaseUntil.lt(now)),
            )
            .order_by_asc(webhook_delivery::Column::NextAttemptAt)
            .limit(limit)
            .lock_exclusive()
            .all(self.0)
            .await?;
        let hooks = self.active_by_ids(&due.iter().map(|d| d.webhook_id).collect::<Vec<_>>()).await?;
        let claimed: Vec<(WebhookDeliveryRow, WebhookRow)> = due
            .into_iter()
            .filter_map(|d| hooks.iter().find(|h| h.id == d.webhook_id).map(|h| (d, h.clone())))
            .collect();
        if !claimed.is_empty() {
            webhook_delivery::Entity::update_many()
                .col_expr(webhook_delivery::Column::LeaseUntil, Expr::value(lease_until))
                .filter(webhook_delivery::Column::Id.is_in(claimed.iter().map(|(d, _)| d.id)))
                .exec(self.0)
                .await?;
        }
        Ok(claimed)
    }

    async fn active_by_ids(&self, ids: &[Uuid]) -> StoreResult<Vec<WebhookRow>> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        Ok(webhook::Entity::find()
            .filter(webhook::Column::Id.is_in(ids.iter().copied()))
            .filter(webhook::Column::IsActive.eq(true))
            .all(self.0)
            .await?)
    }

    /// Writes a delivery back after an attempt.
    pub async fn save_delivery(&self, row: WebhookDeliveryRow) -> StoreResult<WebhookDeliveryRow> {
        Ok(row.into_active_model().reset_all().update(self.0).await?)
    }

    /// A webhook's deliveries, newest first.
    pub async fn deliveries(&self, webhook_id: Uuid, limit: u64) -> StoreResult<Vec<WebhookDeliveryRow>> {
        Ok(webhook_delivery::Entity::find()
            .filter(webhook_delivery::Column::WebhookId.eq(webhook_id))
            .order_by_desc(webhook_delivery::Column::CreatedAt)
            .order_by_desc(webhook_delivery::Column::Id)
            .limit(limit)
            .all(self.0)
            .await?)
    }

    pub async fn delivery(&self, webhook_id: Uuid, id: Uuid) -> StoreResult<Option<WebhookDeliveryRow>> {
        Ok(webhook_delivery::Entity::find_by_id(id)
            .filter(webhook_delivery::Column::WebhookId.eq(webhook_id))
            .one(self.0)
            .await?)
    }
}
