use chrono::{DateTime, Utc};
use sea_orm::{ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect, Set};
use uuid::Uuid;

use crate::entity::event;
use crate::{EventRow, StoreResult, now};

pub struct NewEvent {
    pub workspace_id: Uuid,
    pub kind: &'static str,
    pub post_id: Option<Uuid>,
    pub integration_id: Option<Uuid>,
    pub actor_type: &'static str,
    pub actor_id: Option<Uuid>,
    pub data: serde_json::Value,
}

/// The append-only event log: audit trail and source of live updates.
pub struct Events<'a, C>(pub &'a C);

impl<C: ConnectionTrait> Events<'_, C> {
    pub async fn append(&self, new: NewEvent) -> StoreResult<EventRow> {
        Ok(event::ActiveModel {
            id: Set(Uuid::now_v7()),
            workspace_id: Set(new.workspace_id),
            kind: Set(new.kind.to_string()),
            post_id: Set(new.post_id),
            integration_id: Set(new.integration_id),
            actor_type: Set(new.actor_type.to_string()),
            actor_id: Set(new.actor_id),
            data: Set(new.data),
            created_at: Set(now()),
        }
        .insert(self.0)
        .await?)
    }

    /// Events recorded at or after `since`, oldest first.
    pub async fn since(&self, since: DateTime<Utc>, limit: u64) -> StoreResult<Vec<EventRow>> {
        Ok(event::Entity::find()
            .filter(event::Column::CreatedAt.gte(since))
            .order_by_asc(event::Column::CreatedAt)
            .order_by_asc(event::Column::Id)
            .limit(limit)
            .all(self.0)
            .await?)
    }

    pub async fn by_id(&self, id: Uuid) -> StoreResult<Option<EventRow>> {
        Ok(event::Entity::find_by_id(id).one(self.0).await?)
    }
}
