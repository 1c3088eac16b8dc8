use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, IntoActiveModel, QueryFilter, QueryOrder, QuerySelect,
    Set,
};
use uuid::Uuid;

use super::sql::pow2_chunks;
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

    /// Appends several events in one statement, in order.
    pub async fn append_many(&self, new: Vec<NewEvent>) -> StoreResult<Vec<EventRow>> {
        let rows: Vec<EventRow> = new
            .into_iter()
            .map(|new| EventRow {
                id: Uuid::now_v7(),
                workspace_id: new.workspace_id,
                kind: new.kind.to_string(),
                post_id: new.post_id,
                integration_id: new.integration_id,
                actor_type: new.actor_type.to_string(),
                actor_id: new.actor_id,
                data: new.data,
                created_at: now(),
            })
            .collect();
        // Power-of-two chunks (few statement shapes, see `padded`), within
        // both backends' parameter limits (9 columns a row).
        for range in pow2_chunks(rows.len(), 1024) {
            let models = rows[range].iter().map(|row| row.clone().into_active_model());
            // The rows are known: nothing to read back.
            event::Entity::insert_many(models).exec_without_returning(self.0).await?;
        }
        Ok(rows)
    }

    /// Events with these ids (for relaying other nodes' events).
    pub async fn by_ids(&self, ids: &[Uuid]) -> StoreResult<Vec<EventRow>> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        Ok(event::Entity::find()
            .filter(event::Column::Id.is_in(ids.iter().copied()))
            .order_by_asc(event::Column::CreatedAt)
            .order_by_asc(event::Column::Id)
            .all(self.0)
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
