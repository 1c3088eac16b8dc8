//! People and their workspaces: a user is created with a personal workspace
//! they own, and their membership (workspace and role) is read on every
//! request.

use herald_core::account::{UserRole, WorkspaceRole};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, IntoActiveModel, PaginatorTrait, QueryFilter,
    QueryOrder, Set,
};
use uuid::Uuid;

use crate::entity::{user, workspace, workspace_member};
use crate::{StoreResult, UserRow};

pub struct NewUser {
    pub email: String,
    pub password_hash: String,
    pub name: String,
    pub role: UserRole,
    pub timezone: String,
    pub created_at: chrono::DateTime<chrono::Utc>,
}

/// A user's place in a workspace.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Membership {
    pub workspace_id: Uuid,
    pub role: WorkspaceRole,
}

pub struct Users<'a, C>(pub &'a C);

impl<C: ConnectionTrait> Users<'_, C> {
    /// Creates a user and their personal workspace, owned by them. Call it
    /// inside a transaction so neither exists without the other.
    pub async fn create_with_workspace(&self, new: NewUser) -> StoreResult<(UserRow, Membership)> {
        let now = new.created_at;
        let user = user::ActiveModel {
            id: Set(Uuid::now_v7()),
            email: Set(new.email),
            password_hash: Set(new.password_hash),
            name: Set(new.name.clone()),
            role: Set(new.role),
            timezone: Set(new.timezone),
            is_disabled: Set(false),
            created_at: Set(now),
            updated_at: Set(now),
        }
        .insert(self.0)
        .await?;
        let workspace = workspace::ActiveModel {
            id: Set(Uuid::now_v7()),
            name: Set(format!("{}'s workspace", new.name).chars().take(100).collect()),
            created_at: Set(now),
        }
        .insert(self.0)
        .await?;
        let role = WorkspaceRole::Owner;
        workspace_member::ActiveModel {
            workspace_id: Set(workspace.id),
            user_id: Set(user.id),
            role: Set(role),
            created_at: Set(now),
        }
        .insert(self.0)
        .await?;
        Ok((user, Membership { workspace_id: workspace.id, role }))
    }

    /// Writes a user back whole (profile, password, role, disabled flag).
    pub async fn save(&self, row: UserRow) -> StoreResult<UserRow> {
        Ok(row.into_active_model().reset_all().update(self.0).await?)
    }

    pub async fn count(&self) -> StoreResult<u64> {
        Ok(user::Entity::find().count(self.0).await?)
    }

    pub async fn by_email(&self, email: &str) -> StoreResult<Option<UserRow>> {
        Ok(user::Entity::find().filter(user::Column::Email.eq(email)).one(self.0).await?)
    }

    pub async fn by_id(&self, id: Uuid) -> StoreResult<Option<UserRow>> {
        Ok(user::Entity::find_by_id(id).one(self.0).await?)
    }

    pub async fn list(&self) -> StoreResult<Vec<UserRow>> {
        Ok(user::Entity::find().order_by_asc(user::Column::CreatedAt).all(self.0).await?)
    }

    /// The workspace a session acts in: the user's oldest membership.
    pub async fn default_membership(&self, user_id: Uuid) -> StoreResult<Option<Membership>> {
        let member = workspace_member::Entity::find()
            .filter(workspace_member::Column::UserId.eq(user_id))
            .order_by_asc(workspace_member::Column::CreatedAt)
            .one(self.0)
            .await?;
        Ok(member.map(|m| Membership { workspace_id: m.workspace_id, role: m.role }))
    }

    pub async fn membership(&self, user_id: Uuid, workspace_id: Uuid) -> StoreResult<Option<Membership>> {
        let member = workspace_member::Entity::find_by_id((workspace_id, user_id)).one(self.0).await?;
        Ok(member.map(|m| Membership { workspace_id: m.workspace_id, role: m.role }))
    }
}
