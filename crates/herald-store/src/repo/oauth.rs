//! OAuth connections in progress: states (single-use: taking one deletes
//! it, so two callbacks with one state cannot both succeed), the accounts
//! waiting for the user's choice, and the apps registered per server.

use chrono::{DateTime, Utc};
use sea_orm::{ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, IntoActiveModel, QueryFilter};
use uuid::Uuid;

use crate::entity::{oauth_client, oauth_pending, oauth_state};
use crate::{OAuthClientRow, OAuthPendingRow, OAuthStateRow, StoreResult};

pub struct OAuthStates<'a, C>(pub &'a C);

impl<C: ConnectionTrait> OAuthStates<'_, C> {
    pub async fn insert(&self, row: OAuthStateRow) -> StoreResult<()> {
        row.into_active_model().reset_all().insert(self.0).await?;
        Ok(())
    }

    /// The state, without using it up (to check whose it is first).
    pub async fn get(&self, id: &str) -> StoreResult<Option<OAuthStateRow>> {
        Ok(oauth_state::Entity::find_by_id(id.to_string()).one(self.0).await?)
    }

    /// Uses the state up: true for exactly one caller.
    pub async fn take(&self, id: &str) -> StoreResult<bool> {
        let result = oauth_state::Entity::delete_many().filter(oauth_state::Column::Id.eq(id)).exec(self.0).await?;
        Ok(result.rows_affected == 1)
    }

    /// Deletes states and pending choices that expired before `now`.
    pub async fn delete_expired(&self, now: DateTime<Utc>) -> StoreResult<u64> {
        let states =
            oauth_state::Entity::delete_many().filter(oauth_state::Column::ExpiresAt.lt(now)).exec(self.0).await?;
        let pending =
            oauth_pending::Entity::delete_many().filter(oauth_pending::Column::ExpiresAt.lt(now)).exec(self.0).await?;
        Ok(states.rows_affected + pending.rows_affected)
    }
}

pub struct PendingConnections<'a, C>(pub &'a C);

impl<C: ConnectionTrait> PendingConnections<'_, C> {
    pub async fn insert(&self, row: OAuthPendingRow) -> StoreResult<()> {
        row.into_active_model().reset_all().insert(self.0).await?;
        Ok(())
    }

    /// The user's pending choice in that workspace, if it has not expired.
    pub async fn get(
        &self,
        id: Uuid,
        user_id: Uuid,
        workspace_id: Uuid,
        now: DateTime<Utc>,
    ) -> StoreResult<Option<OAuthPendingRow>> {
        Ok(oauth_pending::Entity::find_by_id(id)
            .filter(oauth_pending::Column::UserId.eq(user_id))
            .filter(oauth_pending::Column::WorkspaceId.eq(workspace_id))
            .filter(oauth_pending::Column::ExpiresAt.gt(now))
            .one(self.0)
            .await?)
    }

    /// Uses the choice up: true for exactly one caller.
    pub async fn take(&self, id: Uuid) -> StoreResult<bool> {
        let result = oauth_pending::Entity::delete_many().filter(oauth_pending::Column::Id.eq(id)).exec(self.0).await?;
        Ok(result.rows_affected == 1)
    }
}

/// Apps Herald registered on servers of platforms with many (Mastodon).
pub struct OAuthClients<'a, C>(pub &'a C);

/// The key of a platform's server in `oauth_clients`.
pub fn oauth_client_id(platform: &str, instance: &str) -> String {
    format!("{platform} {instance}")
}

impl<C: ConnectionTrait> OAuthClients<'_, C> {
    pub async fn get(&self, platform: &str, instance: &str) -> StoreResult<Option<OAuthClientRow>> {
        Ok(oauth_client::Entity::find_by_id(oauth_client_id(platform, instance)).one(self.0).await?)
    }

    /// Keeps a registration; when two connections registered at once, the
    /// first one stored wins and is returned to both.
    pub async fn insert_or_get(&self, row: OAuthClientRow) -> StoreResult<OAuthClientRow> {
        let (platform, instance) = (row.platform.clone(), row.instance.clone());
        oauth_client::Entity::insert(row.into_active_model().reset_all()).on_conflict_do_nothing().exec(self.0).await?;
        self.get(&platform, &instance)
            .await?
            .ok_or_else(|| crate::StoreError::Db(sea_orm::DbErr::RecordNotFound("oauth client".into())))
    }
}
