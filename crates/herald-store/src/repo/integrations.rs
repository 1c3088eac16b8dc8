//! Connected accounts, always looked up within a workspace for callers; the
//! engine's reads (active ones, those with a rate budget, pending profiles)
//! span workspaces.

use chrono::{DateTime, Utc};
use herald_core::integration::IntegrationStatus;
use sea_orm::ActiveValue::NotSet;
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, ConnectionTrait, DbBackend, EntityTrait, ExprTrait, IntoActiveModel,
    QueryFilter, QueryOrder, QuerySelect,
};
use uuid::Uuid;

use super::sql::padded;
use crate::entity::integration;
use crate::{IntegrationRow, StoreResult};

/// Connected social accounts. Every read is scoped by workspace.
pub struct Integrations<'a, C>(pub &'a C);

impl<C: ConnectionTrait> Integrations<'_, C> {
    pub async fn insert(&self, row: IntegrationRow) -> StoreResult<IntegrationRow> {
        let active = row.into_active_model().reset_all();
        Ok(active.insert(self.0).await?)
    }

    pub async fn list(&self, workspace_id: Uuid) -> StoreResult<Vec<IntegrationRow>> {
        Ok(integration::Entity::find()
            .filter(integration::Column::WorkspaceId.eq(workspace_id))
            .order_by_asc(integration::Column::CreatedAt)
            .all(self.0)
            .await?)
    }

    pub async fn get(&self, workspace_id: Uuid, id: Uuid) -> StoreResult<Option<IntegrationRow>> {
        Ok(integration::Entity::find_by_id(id)
            .filter(integration::Column::WorkspaceId.eq(workspace_id))
            .one(self.0)
            .await?)
    }

    /// The integration of a platform account in a workspace, if connected.
    pub async fn find_account(
        &self,
        workspace_id: Uuid,
        platform: &str,
        account_id: &str,
    ) -> StoreResult<Option<IntegrationRow>> {
        Ok(integration::Entity::find()
            .filter(integration::Column::WorkspaceId.eq(workspace_id))
            .filter(integration::Column::Platform.eq(platform))
            .filter(integration::Column::PlatformAccountId.eq(account_id))
            .one(self.0)
            .await?)
    }

    /// Every active integration, in any workspace (for the engine).
    pub async fn all_active(&self) -> StoreResult<Vec<IntegrationRow>> {
        Ok(integration::Entity::find()
            .filter(integration::Column::Status.eq(IntegrationStatus::Active))
            .all(self.0)
            .await?)
    }

    /// Active integrations that may have a rate budget: those of `platforms`
    /// (whose provider sets one) and those whose settings mention
    /// `rateBudget`. The engine reads them again whenever the queue changed,
    /// so it must not load every integration there is.
    pub async fn active_with_budget(&self, platforms: &[&str]) -> StoreResult<Vec<IntegrationRow>> {
        // jsonb has no LIKE; its text form does.
        let settings_text = match self.0.get_database_backend() {
            DbBackend::Postgres => "CAST(settings AS TEXT) LIKE '%\"rateBudget\"%'",
            _ => "settings LIKE '%\"rateBudget\"%'",
        };
        let mut any = Condition::any().add(Expr::cust(settings_text));
        if !platforms.is_empty() {
            any = any.add(integration::Column::Platform.is_in(platforms.iter().copied()));
        }
        Ok(integration::Entity::find()
            .filter(integration::Column::Status.eq(IntegrationStatus::Active))
            .filter(any)
            .all(self.0)
            .await?)
    }

    /// Active integrations whose profile is still to be read, any workspace.
    pub async fn profile_pending(&self, limit: u64) -> StoreResult<Vec<IntegrationRow>> {
        Ok(integration::Entity::find()
            .filter(integration::Column::ProfilePending.eq(true))
            .filter(integration::Column::Status.eq(IntegrationStatus::Active))
            .limit(limit)
            .all(self.0)
            .await?)
    }

    /// Records a profile read late: the avatar, and the name unless the
    /// user named the integration themselves meanwhile.
    pub async fn complete_profile(
        &self,
        id: Uuid,
        name: Option<&str>,
        avatar: Option<&str>,
        at: chrono::DateTime<chrono::Utc>,
    ) -> StoreResult<()> {
        let mut update = integration::Entity::update_many()
            .col_expr(integration::Column::ProfilePending, Expr::value(false))
            .col_expr(integration::Column::UpdatedAt, Expr::value(at))
            .filter(integration::Column::Id.eq(id));
        if let Some(avatar) = avatar {
            update = update.col_expr(integration::Column::AvatarUrl, Expr::value(avatar));
        }
        update.exec(self.0).await?;
        if let Some(name) = name {
            let name: String = name.chars().take(100).collect();
            integration::Entity::update_many()
                .col_expr(integration::Column::DisplayName, Expr::value(name))
                .filter(integration::Column::Id.eq(id))
                .filter(
                    Expr::col(integration::Column::DisplayName).eq(Expr::col(integration::Column::PlatformUsername)),
                )
                .exec(self.0)
                .await?;
        }
        Ok(())
    }

    /// Integrations of every workspace that must be reconnected (for `doctor`).
    pub async fn needing_reconnect(&self) -> StoreResult<Vec<IntegrationRow>> {
        Ok(integration::Entity::find()
            .filter(integration::Column::Status.eq(IntegrationStatus::NeedsReconnect))
            .all(self.0)
            .await?)
    }

    /// Any integration by id, whatever its workspace (for the engine).
    /// The account `account_id` of `platform`, in whichever workspace: for
    /// what Herald serves publicly by an account's own id (feed channels).
    pub async fn by_platform_account(&self, platform: &str, account_id: &str) -> StoreResult<Option<IntegrationRow>> {
        Ok(integration::Entity::find()
            .filter(integration::Column::Platform.eq(platform))
            .filter(integration::Column::PlatformAccountId.eq(account_id))
            .one(self.0)
            .await?)
    }

    pub async fn by_id(&self, id: Uuid) -> StoreResult<Option<IntegrationRow>> {
        Ok(integration::Entity::find_by_id(id).one(self.0).await?)
    }

    /// Integrations by id, whatever their workspace (for the engine).
    pub async fn by_ids(&self, ids: &[Uuid]) -> StoreResult<Vec<IntegrationRow>> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        Ok(integration::Entity::find().filter(integration::Column::Id.is_in(padded(ids))).all(self.0).await?)
    }

    /// The integrations among `ids` that belong to the workspace.
    pub async fn find_many(&self, workspace_id: Uuid, ids: &[Uuid]) -> StoreResult<Vec<IntegrationRow>> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        Ok(integration::Entity::find()
            .filter(integration::Column::WorkspaceId.eq(workspace_id))
            .filter(integration::Column::Id.is_in(ids.iter().copied()))
            .all(self.0)
            .await?)
    }

    /// Writes `row` back, all but its tokens: those change only through
    /// [`Integrations::store_tokens`], so an edit made from a row read
    /// before a refresh cannot bring a spent refresh token back.
    pub async fn update(&self, row: IntegrationRow) -> StoreResult<IntegrationRow> {
        let mut active = row.into_active_model().reset_all();
        active.credentials = NotSet;
        active.token_expires_at = NotSet;
        active.token_obtained_at = NotSet;
        active.refresh_lease_until = NotSet;
        Ok(active.update(self.0).await?)
    }

    /// Stores new tokens (sealed) and ends any refresh lease, in one write.
    pub async fn store_tokens(
        &self,
        id: Uuid,
        sealed: String,
        expires_at: Option<DateTime<Utc>>,
        access: AccessEnd,
        now: DateTime<Utc>,
    ) -> StoreResult<bool> {
        let result = integration::Entity::update_many()
            .col_expr(integration::Column::Credentials, Expr::value(sealed))
            .col_expr(integration::Column::TokenExpiresAt, Expr::value(expires_at))
            .col_expr(integration::Column::AccessEndsAt, Expr::value(access.at))
            .col_expr(integration::Column::ExpiryNoticeDays, Expr::value(access.notice_days))
            .col_expr(integration::Column::TokenObtainedAt, Expr::value(now))
            .col_expr(integration::Column::RefreshLeaseUntil, Expr::value(Option::<DateTime<Utc>>::None))
            .col_expr(integration::Column::UpdatedAt, Expr::value(now))
            .filter(integration::Column::Id.eq(id))
            .exec(self.0)
            .await?;
        Ok(result.rows_affected == 1)
    }

    /// Takes the right to refresh an integration's tokens until `until`:
    /// true for one caller at a time, in any process. A lease left by a
    /// crashed process lapses at its end.
    pub async fn take_refresh_lease(&self, id: Uuid, now: DateTime<Utc>, until: DateTime<Utc>) -> StoreResult<bool> {
        let result = integration::Entity::update_many()
            .col_expr(integration::Column::RefreshLeaseUntil, Expr::value(until))
            .filter(integration::Column::Id.eq(id))
            .filter(
                Condition::any()
                    .add(integration::Column::RefreshLeaseUntil.is_null())
                    .add(integration::Column::RefreshLeaseUntil.lte(now)),
            )
            .exec(self.0)
            .await?;
        Ok(result.rows_affected == 1)
    }

    /// Ends a refresh lease without new tokens (the refresh failed).
    pub async fn release_refresh_lease(&self, id: Uuid) -> StoreResult<()> {
        integration::Entity::update_many()
            .col_expr(integration::Column::RefreshLeaseUntil, Expr::value(Option::<DateTime<Utc>>::None))
            .filter(integration::Column::Id.eq(id))
            .exec(self.0)
            .await?;
        Ok(())
    }

    /// Active integrations, in any workspace, whose tokens expire before
    /// `before` (for the refresh job).
    pub async fn expiring_before(&self, before: DateTime<Utc>) -> StoreResult<Vec<IntegrationRow>> {
        Ok(integration::Entity::find()
            .filter(integration::Column::Status.eq(IntegrationStatus::Active))
            .filter(integration::Column::TokenExpiresAt.lt(before))
            .order_by_asc(integration::Column::TokenExpiresAt)
            .all(self.0)
            .await?)
    }

    /// Active integrations whose access ends before `before`.
    pub async fn access_ending_before(&self, before: DateTime<Utc>) -> StoreResult<Vec<IntegrationRow>> {
        Ok(integration::Entity::find()
            .filter(integration::Column::Status.eq(IntegrationStatus::Active))
            .filter(integration::Column::AccessEndsAt.lt(before))
            .order_by_asc(integration::Column::AccessEndsAt)
            .all(self.0)
            .await?)
    }

    /// Records that the `days`-ahead notice of an integration's end was given.
    pub async fn set_expiry_notice(&self, id: Uuid, days: i32) -> StoreResult<()> {
        integration::Entity::update_many()
            .col_expr(integration::Column::ExpiryNoticeDays, Expr::value(days))
            .filter(integration::Column::Id.eq(id))
            .exec(self.0)
            .await?;
        Ok(())
    }

    pub async fn delete(&self, workspace_id: Uuid, id: Uuid) -> StoreResult<bool> {
        let result = integration::Entity::delete_many()
            .filter(integration::Column::Id.eq(id))
            .filter(integration::Column::WorkspaceId.eq(workspace_id))
            .exec(self.0)
            .await?;
        Ok(result.rows_affected > 0)
    }
}

/// When an integration's access ends for good, and the notice already given
/// for that end (kept only while the end stays the same).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct AccessEnd {
    pub at: Option<DateTime<Utc>>,
    pub notice_days: Option<i32>,
}

impl AccessEnd {
    /// The end `at`, after `previous` (the row before new tokens were stored).
    pub fn after(previous: Option<&IntegrationRow>, at: Option<DateTime<Utc>>) -> Self {
        let notice_days = previous.filter(|row| row.access_ends_at == at).and_then(|row| row.expiry_notice_days);
        Self { at, notice_days }
    }
}
