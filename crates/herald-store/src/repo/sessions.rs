//! Signed-in sessions. A session token is valid only while its row exists,
//! is not revoked and has not expired: ending a session is one write here.

use chrono::{DateTime, Duration, Utc};
use sea_orm::sea_query::Expr;
use sea_orm::{ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, ExprTrait, QueryFilter, Set};
use uuid::Uuid;

use crate::entity::session;
use crate::{SessionRow, StoreResult};

/// Ended sessions are kept this long (a request in flight still finds its
/// row and is told the session ended), then deleted.
const KEEP_ENDED: Duration = Duration::days(1);

pub struct Sessions<'a, C>(pub &'a C);

impl<C: ConnectionTrait> Sessions<'_, C> {
    pub async fn create(
        &self,
        user_id: Uuid,
        created_at: DateTime<Utc>,
        expires_at: DateTime<Utc>,
    ) -> StoreResult<SessionRow> {
        Ok(session::ActiveModel {
            id: Set(Uuid::now_v7()),
            user_id: Set(user_id),
            created_at: Set(created_at),
            expires_at: Set(expires_at),
            revoked_at: Set(None),
            workspace_id: Set(None),
        }
        .insert(self.0)
        .await?)
    }

    /// The session, if it is the user's and still running at `now`.
    pub async fn active(&self, id: Uuid, user_id: Uuid, now: DateTime<Utc>) -> StoreResult<Option<SessionRow>> {
        Ok(session::Entity::find_by_id(id)
            .filter(session::Column::UserId.eq(user_id))
            .filter(session::Column::RevokedAt.is_null())
            .filter(session::Column::ExpiresAt.gt(now))
            .one(self.0)
            .await?)
    }

    /// Ends one session; false when it had already ended or never existed.
    pub async fn revoke(&self, id: Uuid, now: DateTime<Utc>) -> StoreResult<bool> {
        let result = session::Entity::update_many()
            .col_expr(session::Column::RevokedAt, Expr::value(now))
            .filter(session::Column::Id.eq(id))
            .filter(session::Column::RevokedAt.is_null())
            .exec(self.0)
            .await?;
        Ok(result.rows_affected > 0)
    }

    /// Ends every running session of a user but `keep`; how many ended.
    pub async fn revoke_all(&self, user_id: Uuid, keep: Option<Uuid>, now: DateTime<Utc>) -> StoreResult<u64> {
        let mut update = session::Entity::update_many()
            .col_expr(session::Column::RevokedAt, Expr::value(now))
            .filter(session::Column::UserId.eq(user_id))
            .filter(session::Column::RevokedAt.is_null());
        if let Some(keep) = keep {
            update = update.filter(session::Column::Id.ne(keep));
        }
        Ok(update.exec(self.0).await?.rows_affected)
    }

    /// Makes the UI act in another workspace for this session.
    pub async fn select_workspace(&self, id: Uuid, workspace_id: Uuid) -> StoreResult<()> {
        session::Entity::update_many()
            .col_expr(session::Column::WorkspaceId, Expr::value(workspace_id))
            .filter(session::Column::Id.eq(id))
            .exec(self.0)
            .await?;
        Ok(())
    }

    /// Ends the user's sessions that act in a workspace they were removed
    /// from; how many ended.
    pub async fn revoke_in_workspace(&self, user_id: Uuid, workspace_id: Uuid, now: DateTime<Utc>) -> StoreResult<u64> {
        Ok(session::Entity::update_many()
            .col_expr(session::Column::RevokedAt, Expr::value(now))
            .filter(session::Column::UserId.eq(user_id))
            .filter(session::Column::WorkspaceId.eq(workspace_id))
            .filter(session::Column::RevokedAt.is_null())
            .exec(self.0)
            .await?
            .rows_affected)
    }

    /// Deletes sessions that ended (expired or revoked) over a day ago.
    pub async fn delete_ended(&self, now: DateTime<Utc>) -> StoreResult<u64> {
        let before = now - KEEP_ENDED;
        let result = session::Entity::delete_many()
            .filter(session::Column::ExpiresAt.lt(before).or(session::Column::RevokedAt.lt(before)))
            .exec(self.0)
            .await?;
        Ok(result.rows_affected)
    }
}
