//! Invites to a workspace: created by an owner, accepted once by a
//! signed-in person before they expire, revocable until then.

use chrono::{DateTime, Utc};
use herald_core::account::WorkspaceRole;
use sea_orm::sea_query::Expr;
use sea_orm::{ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, Set};
use uuid::Uuid;

use crate::entity::invite;
use crate::{InviteRow, StoreResult};

pub struct NewInvite {
    pub workspace_id: Uuid,
    pub email: String,
    pub role: WorkspaceRole,
    pub token_hash: String,
    pub created_by: Uuid,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
}

pub struct Invites<'a, C>(pub &'a C);

impl<C: ConnectionTrait> Invites<'_, C> {
    pub async fn create(&self, new: NewInvite) -> StoreResult<InviteRow> {
        Ok(invite::ActiveModel {
            id: Set(Uuid::now_v7()),
            workspace_id: Set(new.workspace_id),
            email: Set(new.email),
            role: Set(new.role),
            token_hash: Set(new.token_hash),
            created_by: Set(new.created_by),
            created_at: Set(new.created_at),
            expires_at: Set(new.expires_at),
            accepted_at: Set(None),
            accepted_by: Set(None),
            revoked_at: Set(None),
        }
        .insert(self.0)
        .await?)
    }

    pub async fn by_token_hash(&self, token_hash: &str) -> StoreResult<Option<InviteRow>> {
        Ok(invite::Entity::find().filter(invite::Column::TokenHash.eq(token_hash)).one(self.0).await?)
    }

    /// Invites of a workspace not yet accepted, revoked or expired, newest first.
    pub async fn open(&self, workspace_id: Uuid, now: DateTime<Utc>) -> StoreResult<Vec<InviteRow>> {
        Ok(invite::Entity::find()
            .filter(invite::Column::WorkspaceId.eq(workspace_id))
            .filter(invite::Column::AcceptedAt.is_null())
            .filter(invite::Column::RevokedAt.is_null())
            .filter(invite::Column::ExpiresAt.gt(now))
            .order_by_desc(invite::Column::CreatedAt)
            .all(self.0)
            .await?)
    }

    /// Marks an open invite used; false when it was used or revoked meanwhile
    /// (the guard makes a single use hold between concurrent accepts).
    pub async fn accept(&self, id: Uuid, user_id: Uuid, now: DateTime<Utc>) -> StoreResult<bool> {
        let result = invite::Entity::update_many()
            .col_expr(invite::Column::AcceptedAt, Expr::value(now))
            .col_expr(invite::Column::AcceptedBy, Expr::value(user_id))
            .filter(invite::Column::Id.eq(id))
            .filter(invite::Column::AcceptedAt.is_null())
            .filter(invite::Column::RevokedAt.is_null())
            .exec(self.0)
            .await?;
        Ok(result.rows_affected > 0)
    }

    pub async fn revoke(&self, workspace_id: Uuid, id: Uuid, now: DateTime<Utc>) -> StoreResult<Option<InviteRow>> {
        let result = invite::Entity::update_many()
            .col_expr(invite::Column::RevokedAt, Expr::value(now))
            .filter(invite::Column::Id.eq(id))
            .filter(invite::Column::WorkspaceId.eq(workspace_id))
            .filter(invite::Column::AcceptedAt.is_null())
            .filter(invite::Column::RevokedAt.is_null())
            .exec(self.0)
            .await?;
        if result.rows_affected == 0 {
            return Ok(None);
        }
        Ok(invite::Entity::find_by_id(id).one(self.0).await?)
    }
}
