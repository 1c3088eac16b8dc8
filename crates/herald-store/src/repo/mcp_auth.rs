//! Herald's OAuth authorization server for MCP clients: registered
//! clients, authorization codes (redeemed once: the update that marks one
//! used succeeds for exactly one caller) and the tokens of each grant.

use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Expr, Query};
use sea_orm::{ActiveModelTrait, ColumnTrait, Condition, ConnectionTrait, EntityTrait, IntoActiveModel, QueryFilter};
use uuid::Uuid;

use super::LAST_USED_RESOLUTION;
use crate::entity::{api_key, mcp_client, mcp_code, mcp_token};
use crate::{McpClientRow, McpCodeRow, McpTokenRow, StoreResult};

/// `mcp_tokens.kind` values.
pub const ACCESS: &str = "ACCESS";
pub const REFRESH: &str = "REFRESH";

pub struct McpClients<'a, C>(pub &'a C);

impl<C: ConnectionTrait> McpClients<'_, C> {
    pub async fn insert(&self, row: McpClientRow) -> StoreResult<()> {
        row.into_active_model().reset_all().insert(self.0).await?;
        Ok(())
    }

    pub async fn by_id(&self, id: &str) -> StoreResult<Option<McpClientRow>> {
        Ok(mcp_client::Entity::find_by_id(id.to_string()).one(self.0).await?)
    }

    /// The clients with these ids (to name the apps a user connected).
    pub async fn by_ids(&self, ids: &[String]) -> StoreResult<Vec<McpClientRow>> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        Ok(mcp_client::Entity::find().filter(mcp_client::Column::Id.is_in(ids.iter().cloned())).all(self.0).await?)
    }

    pub async fn touch(&self, id: &str, at: DateTime<Utc>) -> StoreResult<()> {
        mcp_client::Entity::update_many()
            .col_expr(mcp_client::Column::LastUsedAt, Expr::value(at))
            .filter(mcp_client::Column::Id.eq(id))
            .filter(
                Condition::any()
                    .add(mcp_client::Column::LastUsedAt.is_null())
                    .add(mcp_client::Column::LastUsedAt.lt(at - LAST_USED_RESOLUTION)),
            )
            .exec(self.0)
            .await?;
        Ok(())
    }
}

pub struct McpCodes<'a, C>(pub &'a C);

impl<C: ConnectionTrait> McpCodes<'_, C> {
    pub async fn insert(&self, row: McpCodeRow) -> StoreResult<()> {
        row.into_active_model().reset_all().insert(self.0).await?;
        Ok(())
    }

    pub async fn by_hash(&self, code_hash: &str) -> StoreResult<Option<McpCodeRow>> {
        Ok(mcp_code::Entity::find_by_id(code_hash.to_string()).one(self.0).await?)
    }

    /// Marks the code redeemed for `api_key_id`: true for exactly one caller.
    pub async fn redeem(&self, code_hash: &str, api_key_id: Uuid, at: DateTime<Utc>) -> StoreResult<bool> {
        let result = mcp_code::Entity::update_many()
            .col_expr(mcp_code::Column::UsedAt, Expr::value(at))
            .col_expr(mcp_code::Column::ApiKeyId, Expr::value(api_key_id))
            .filter(mcp_code::Column::CodeHash.eq(code_hash))
            .filter(mcp_code::Column::UsedAt.is_null())
            .exec(self.0)
            .await?;
        Ok(result.rows_affected == 1)
    }
}

pub struct McpTokens<'a, C>(pub &'a C);

impl<C: ConnectionTrait> McpTokens<'_, C> {
    pub async fn insert(&self, row: McpTokenRow) -> StoreResult<()> {
        row.into_active_model().reset_all().insert(self.0).await?;
        Ok(())
    }

    pub async fn by_hash(&self, token_hash: &str) -> StoreResult<Option<McpTokenRow>> {
        Ok(mcp_token::Entity::find_by_id(token_hash.to_string()).one(self.0).await?)
    }

    /// Marks a refresh token exchanged: true for exactly one caller.
    pub async fn use_once(&self, token_hash: &str, at: DateTime<Utc>) -> StoreResult<bool> {
        let result = mcp_token::Entity::update_many()
            .col_expr(mcp_token::Column::UsedAt, Expr::value(at))
            .filter(mcp_token::Column::TokenHash.eq(token_hash))
            .filter(mcp_token::Column::UsedAt.is_null())
            .exec(self.0)
            .await?;
        Ok(result.rows_affected == 1)
    }

    /// Deletes every token of a grant (it was revoked).
    pub async fn delete_for_grant(&self, api_key_id: Uuid) -> StoreResult<u64> {
        Ok(mcp_token::Entity::delete_many()
            .filter(mcp_token::Column::ApiKeyId.eq(api_key_id))
            .exec(self.0)
            .await?
            .rows_affected)
    }

    /// Housekeeping: deletes codes and tokens that expired before `now`,
    /// then ends the grants left without any token (their app can no
    /// longer act, so they stop showing as connected).
    pub async fn sweep(&self, now: DateTime<Utc>) -> StoreResult<u64> {
        let codes = mcp_code::Entity::delete_many().filter(mcp_code::Column::ExpiresAt.lt(now)).exec(self.0).await?;
        let tokens = mcp_token::Entity::delete_many().filter(mcp_token::Column::ExpiresAt.lt(now)).exec(self.0).await?;
        let grants = api_key::Entity::update_many()
            .col_expr(api_key::Column::IsActive, Expr::value(false))
            .filter(api_key::Column::McpClientId.is_not_null())
            .filter(api_key::Column::IsActive.eq(true))
            .filter(api_key::Column::Id.not_in_subquery(
                Query::select().column(mcp_token::Column::ApiKeyId).from(mcp_token::Entity).to_owned(),
            ))
            .exec(self.0)
            .await?;
        Ok(codes.rows_affected + tokens.rows_affected + grants.rows_affected)
    }
}
