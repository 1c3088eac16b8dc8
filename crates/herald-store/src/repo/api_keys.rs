//! API keys: created with only their hash stored, found by hash when a request
//! presents one, listed and revoked by their owner (or any by an admin), and
//! stamped with their last use.

use chrono::{DateTime, Utc};
use sea_orm::sea_query::Expr;
use sea_orm::{ActiveModelTrait, ColumnTrait, Condition, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, Set};
use uuid::Uuid;

use super::LAST_USED_RESOLUTION;
use crate::entity::api_key;
use crate::{ApiKeyRow, StoreResult};

pub struct NewApiKeyRow {
    pub user_id: Uuid,
    pub workspace_id: Uuid,
    pub name: String,
    pub key_hash: String,
    pub prefix: String,
    pub scopes: Vec<String>,
    pub expires_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    /// Set for the grant of a connected MCP app.
    pub mcp_client_id: Option<String>,
}

pub struct ApiKeys<'a, C>(pub &'a C);

impl<C: ConnectionTrait> ApiKeys<'_, C> {
    pub async fn create(&self, new: NewApiKeyRow) -> StoreResult<ApiKeyRow> {
        Ok(api_key::ActiveModel {
            id: Set(Uuid::now_v7()),
            user_id: Set(new.user_id),
            workspace_id: Set(new.workspace_id),
            name: Set(new.name),
            key_hash: Set(new.key_hash),
            prefix: Set(new.prefix),
            scopes: Set(serde_json::json!(new.scopes)),
            last_used_at: Set(None),
            expires_at: Set(new.expires_at),
            is_active: Set(true),
            created_at: Set(new.created_at),
            mcp_client_id: Set(new.mcp_client_id),
        }
        .insert(self.0)
        .await?)
    }

    pub async fn by_hash(&self, key_hash: &str) -> StoreResult<Option<ApiKeyRow>> {
        Ok(api_key::Entity::find().filter(api_key::Column::KeyHash.eq(key_hash)).one(self.0).await?)
    }

    pub async fn by_id(&self, id: Uuid) -> StoreResult<Option<ApiKeyRow>> {
        Ok(api_key::Entity::find_by_id(id).one(self.0).await?)
    }

    /// The keys a user created (connected apps' grants are listed apart).
    pub async fn list_for_user(&self, user_id: Uuid) -> StoreResult<Vec<ApiKeyRow>> {
        Ok(api_key::Entity::find()
            .filter(api_key::Column::UserId.eq(user_id))
            .filter(api_key::Column::McpClientId.is_null())
            .order_by_desc(api_key::Column::CreatedAt)
            .all(self.0)
            .await?)
    }

    /// Deactivates one of the user's keys; false when there is no such key.
    pub async fn revoke(&self, user_id: Uuid, id: Uuid) -> StoreResult<bool> {
        let result = api_key::Entity::update_many()
            .col_expr(api_key::Column::IsActive, Expr::value(false))
            .filter(api_key::Column::Id.eq(id))
            .filter(api_key::Column::UserId.eq(user_id))
            .filter(api_key::Column::McpClientId.is_null())
            .exec(self.0)
            .await?;
        Ok(result.rows_affected > 0)
    }

    /// The user's live grants to MCP apps, newest first.
    pub async fn connected_apps(&self, user_id: Uuid) -> StoreResult<Vec<ApiKeyRow>> {
        Ok(api_key::Entity::find()
            .filter(api_key::Column::UserId.eq(user_id))
            .filter(api_key::Column::McpClientId.is_not_null())
            .filter(api_key::Column::IsActive.eq(true))
            .order_by_desc(api_key::Column::CreatedAt)
            .all(self.0)
            .await?)
    }

    /// Ends one of the user's grants to an MCP app; false when there is none.
    pub async fn revoke_connected_app(&self, user_id: Uuid, id: Uuid) -> StoreResult<bool> {
        let result = api_key::Entity::update_many()
            .col_expr(api_key::Column::IsActive, Expr::value(false))
            .filter(api_key::Column::Id.eq(id))
            .filter(api_key::Column::UserId.eq(user_id))
            .filter(api_key::Column::McpClientId.is_not_null())
            .filter(api_key::Column::IsActive.eq(true))
            .exec(self.0)
            .await?;
        Ok(result.rows_affected > 0)
    }

    /// Ends earlier grants of a client to a user in a workspace: consenting
    /// again replaces them rather than piling up connected apps.
    pub async fn end_grants_of(&self, client_id: &str, user_id: Uuid, workspace_id: Uuid) -> StoreResult<u64> {
        Ok(api_key::Entity::update_many()
            .col_expr(api_key::Column::IsActive, Expr::value(false))
            .filter(api_key::Column::McpClientId.eq(client_id))
            .filter(api_key::Column::UserId.eq(user_id))
            .filter(api_key::Column::WorkspaceId.eq(workspace_id))
            .filter(api_key::Column::IsActive.eq(true))
            .exec(self.0)
            .await?
            .rows_affected)
    }

    /// Deactivates a key whoever owns it (local administration, the CLI).
    pub async fn revoke_any(&self, id: Uuid) -> StoreResult<bool> {
        let result = api_key::Entity::update_many()
            .col_expr(api_key::Column::IsActive, Expr::value(false))
            .filter(api_key::Column::Id.eq(id))
            .exec(self.0)
            .await?;
        Ok(result.rows_affected > 0)
    }

    /// Deactivates every key a user holds in a workspace (they left it).
    pub async fn deactivate_in_workspace(&self, user_id: Uuid, workspace_id: Uuid) -> StoreResult<u64> {
        Ok(api_key::Entity::update_many()
            .col_expr(api_key::Column::IsActive, Expr::value(false))
            .filter(api_key::Column::UserId.eq(user_id))
            .filter(api_key::Column::WorkspaceId.eq(workspace_id))
            .filter(api_key::Column::IsActive.eq(true))
            .exec(self.0)
            .await?
            .rows_affected)
    }

    /// Records a use of the key, at most once a minute. The key as just
    /// read tells whether a write is due: most requests make none (on
    /// SQLite even an UPDATE that matches nothing takes the write lock).
    pub async fn touch(&self, key: &ApiKeyRow, at: DateTime<Utc>) -> StoreResult<()> {
        if key.last_used_at.is_some_and(|last| last >= at - LAST_USED_RESOLUTION) {
            return Ok(());
        }
        let id = key.id;
        api_key::Entity::update_many()
            .col_expr(api_key::Column::LastUsedAt, Expr::value(at))
            .filter(api_key::Column::Id.eq(id))
            .filter(
                Condition::any()
                    .add(api_key::Column::LastUsedAt.is_null())
                    .add(api_key::Column::LastUsedAt.lt(at - LAST_USED_RESOLUTION)),
            )
            .exec(self.0)
            .await?;
        Ok(())
    }
}
