//! The event log: one row per thing that happened (a post created, a
//! delivery published or failed, an account connected), appended in the same
//! transaction as the change and read in order by the notification fan-out.

use chrono::{DateTime, Utc};
use herald_core::event::{ActorType, EventKind};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, ConnectionTrait, DbBackend, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect, Set, Statement,
};
use uuid::Uuid;

use super::sql::sqlite_json;
use crate::entity::event;
use crate::{EventRow, StoreResult};

/// The columns `append_many` writes, in the order of its JSON rows.
const COLUMNS: &str = "id, workspace_id, kind, post_id, integration_id, actor_type, actor_id, data, created_at";

/// Filters of the audit trail.
#[derive(Debug, Clone, Default)]
pub struct AuditFilter {
    pub kinds: Vec<EventKind>,
    pub actor_type: Option<ActorType>,
    pub actor_id: Option<Uuid>,
    pub from: Option<DateTime<Utc>>,
    pub to: Option<DateTime<Utc>>,
    pub before: Option<(DateTime<Utc>, Uuid)>,
    pub limit: u64,
}

pub struct NewEvent {
    pub at: DateTime<Utc>,
    pub workspace_id: Uuid,
    pub kind: EventKind,
    pub post_id: Option<Uuid>,
    pub integration_id: Option<Uuid>,
    pub actor_type: ActorType,
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
            kind: Set(new.kind),
            post_id: Set(new.post_id),
            integration_id: Set(new.integration_id),
            actor_type: Set(new.actor_type),
            actor_id: Set(new.actor_id),
            data: Set(new.data),
            created_at: Set(new.at),
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
                kind: new.kind,
                post_id: new.post_id,
                integration_id: new.integration_id,
                actor_type: new.actor_type,
                actor_id: new.actor_id,
                data: new.data,
                created_at: new.at,
            })
            .collect();
        if rows.is_empty() {
            return Ok(rows);
        }
        // The rows are known: nothing to read back. They travel as one JSON
        // parameter: one statement shape, prepared once, whatever the batch
        // size, and no per-value statement building (see `sqlite_json`).
        let statement = match self.0.get_database_backend() {
            DbBackend::Postgres => {
                let batch: Vec<serde_json::Value> = rows
                    .iter()
                    .map(|e| {
                        serde_json::json!({
                            "id": e.id, "workspace_id": e.workspace_id, "kind": e.kind, "post_id": e.post_id,
                            "integration_id": e.integration_id, "actor_type": e.actor_type, "actor_id": e.actor_id,
                            "data": e.data, "created_at": e.created_at,
                        })
                    })
                    .collect();
                Statement::from_sql_and_values(
                    DbBackend::Postgres,
                    format!(
                        "INSERT INTO events ({COLUMNS}) SELECT {COLUMNS} FROM jsonb_to_recordset($1::jsonb) AS e(\
                         id uuid, workspace_id uuid, kind text, post_id uuid, integration_id uuid, actor_type text, \
                         actor_id uuid, data jsonb, created_at timestamptz)"
                    ),
                    [serde_json::Value::Array(batch).into()],
                )
            }
            backend => {
                let batch: Vec<serde_json::Value> = rows
                    .iter()
                    .map(|e| {
                        serde_json::json!([
                            sqlite_json::uuid(e.id),
                            sqlite_json::uuid(e.workspace_id),
                            e.kind,
                            sqlite_json::opt_uuid(e.post_id),
                            sqlite_json::opt_uuid(e.integration_id),
                            e.actor_type,
                            sqlite_json::opt_uuid(e.actor_id),
                            sqlite_json::json(&e.data),
                            sqlite_json::time(e.created_at),
                        ])
                    })
                    .collect();
                Statement::from_sql_and_values(
                    backend,
                    format!(
                        "INSERT INTO events ({COLUMNS}) SELECT unhex(value->>0), unhex(value->>1), value->>2, \
                         unhex(value->>3), unhex(value->>4), value->>5, unhex(value->>6), value->>7, value->>8 \
                         FROM json_each(?)"
                    ),
                    [serde_json::Value::Array(batch).to_string().into()],
                )
            }
        };
        self.0.execute_raw(statement).await?;
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

    /// Events of the given kinds after a cursor and up to `until`, oldest
    /// first, across workspaces (for the notification job).
    pub async fn after(
        &self,
        cursor: Option<(DateTime<Utc>, Uuid)>,
        kinds: &[EventKind],
        until: DateTime<Utc>,
        limit: u64,
    ) -> StoreResult<Vec<EventRow>> {
        let mut query = event::Entity::find()
            .filter(event::Column::Kind.is_in(kinds.iter().copied()))
            .filter(event::Column::CreatedAt.lte(until));
        if let Some((at, id)) = cursor {
            query = query.filter(
                Condition::any()
                    .add(event::Column::CreatedAt.gt(at))
                    .add(Condition::all().add(event::Column::CreatedAt.eq(at)).add(event::Column::Id.gt(id))),
            );
        }
        Ok(query
            .order_by_asc(event::Column::CreatedAt)
            .order_by_asc(event::Column::Id)
            .limit(limit)
            .all(self.0)
            .await?)
    }

    /// A workspace's audit trail, newest first (`GET /api/audit`).
    pub async fn audit(&self, workspace_id: Uuid, filter: &AuditFilter) -> StoreResult<Vec<EventRow>> {
        let mut query = event::Entity::find().filter(event::Column::WorkspaceId.eq(workspace_id));
        if !filter.kinds.is_empty() {
            query = query.filter(event::Column::Kind.is_in(filter.kinds.iter().copied()));
        }
        if let Some(actor) = filter.actor_id {
            query = query.filter(event::Column::ActorId.eq(actor));
        }
        if let Some(actor_type) = filter.actor_type {
            query = query.filter(event::Column::ActorType.eq(actor_type));
        }
        if let Some(from) = filter.from {
            query = query.filter(event::Column::CreatedAt.gte(from));
        }
        if let Some(to) = filter.to {
            query = query.filter(event::Column::CreatedAt.lt(to));
        }
        if let Some((at, id)) = filter.before {
            query = query.filter(
                Condition::any()
                    .add(event::Column::CreatedAt.lt(at))
                    .add(Condition::all().add(event::Column::CreatedAt.eq(at)).add(event::Column::Id.lt(id))),
            );
        }
        Ok(query
            .order_by_desc(event::Column::CreatedAt)
            .order_by_desc(event::Column::Id)
            .limit(filter.limit)
            .all(self.0)
            .await?)
    }

    pub async fn by_id(&self, id: Uuid) -> StoreResult<Option<EventRow>> {
        Ok(event::Entity::find_by_id(id).one(self.0).await?)
    }
}
