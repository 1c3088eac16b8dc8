//! People and their workspaces: a user is created with a personal workspace
//! they own, and their membership (workspace and role) is read on every
//! request.

use herald_core::account::{UserRole, WorkspaceRole};
use sea_orm::sea_query::{Expr, IntoCondition};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, IntoActiveModel, JoinType, PaginatorTrait,
    QueryFilter, QueryOrder, QuerySelect, RelationDef, Set,
};
use uuid::Uuid;

use crate::entity::{user, workspace, workspace_member};
use crate::{StoreResult, UserRow, WorkspaceRow};

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

/// What every authenticated request needs to know about its user, read
/// in one statement: whether the account is disabled, and its membership
/// of the workspace asked for (or of its oldest one) — `None` when it is
/// not a member.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Standing {
    pub is_disabled: bool,
    pub membership: Option<Membership>,
}

/// A member of a workspace, as the team page lists them.
#[derive(Debug, Clone)]
pub struct Member {
    pub user: UserRow,
    pub role: WorkspaceRole,
    pub joined_at: chrono::DateTime<chrono::Utc>,
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
            notification_prefs: Set(None),
        }
        .insert(self.0)
        .await?;
        let name: String = format!("{}'s workspace", new.name).chars().take(100).collect();
        let workspace = self.create_workspace(&name, user.id, now).await?;
        Ok((user, Membership { workspace_id: workspace.id, role: WorkspaceRole::Owner }))
    }

    /// A new workspace owned by `owner`.
    pub async fn create_workspace(
        &self,
        name: &str,
        owner: Uuid,
        now: chrono::DateTime<chrono::Utc>,
    ) -> StoreResult<WorkspaceRow> {
        let workspace = workspace::ActiveModel {
            id: Set(Uuid::now_v7()),
            name: Set(name.to_string()),
            created_at: Set(now),
            require_approval: Set(false),
        }
        .insert(self.0)
        .await?;
        self.add_member(workspace.id, owner, WorkspaceRole::Owner, now).await?;
        Ok(workspace)
    }

    pub async fn add_member(
        &self,
        workspace_id: Uuid,
        user_id: Uuid,
        role: WorkspaceRole,
        now: chrono::DateTime<chrono::Utc>,
    ) -> StoreResult<()> {
        workspace_member::ActiveModel {
            workspace_id: Set(workspace_id),
            user_id: Set(user_id),
            role: Set(role),
            created_at: Set(now),
        }
        .insert(self.0)
        .await?;
        Ok(())
    }

    pub async fn workspace(&self, id: Uuid) -> StoreResult<Option<WorkspaceRow>> {
        Ok(workspace::Entity::find_by_id(id).one(self.0).await?)
    }

    pub async fn save_workspace(&self, row: WorkspaceRow) -> StoreResult<WorkspaceRow> {
        Ok(row.into_active_model().reset_all().update(self.0).await?)
    }

    /// The workspaces a user belongs to, oldest membership first.
    pub async fn workspaces_of(&self, user_id: Uuid) -> StoreResult<Vec<(WorkspaceRow, WorkspaceRole)>> {
        let members = workspace_member::Entity::find()
            .filter(workspace_member::Column::UserId.eq(user_id))
            .order_by_asc(workspace_member::Column::CreatedAt)
            .all(self.0)
            .await?;
        let ids: Vec<Uuid> = members.iter().map(|m| m.workspace_id).collect();
        let workspaces = workspace::Entity::find().filter(workspace::Column::Id.is_in(ids)).all(self.0).await?;
        Ok(members
            .into_iter()
            .filter_map(|m| workspaces.iter().find(|w| w.id == m.workspace_id).map(|w| (w.clone(), m.role)))
            .collect())
    }

    /// The members of a workspace with their role and when they joined.
    pub async fn members(&self, workspace_id: Uuid) -> StoreResult<Vec<Member>> {
        let members = workspace_member::Entity::find()
            .filter(workspace_member::Column::WorkspaceId.eq(workspace_id))
            .order_by_asc(workspace_member::Column::CreatedAt)
            .all(self.0)
            .await?;
        let ids: Vec<Uuid> = members.iter().map(|m| m.user_id).collect();
        let users = user::Entity::find().filter(user::Column::Id.is_in(ids)).all(self.0).await?;
        Ok(members
            .into_iter()
            .filter_map(|m| {
                users.iter().find(|u| u.id == m.user_id).map(|u| Member {
                    user: u.clone(),
                    role: m.role,
                    joined_at: m.created_at,
                })
            })
            .collect())
    }

    pub async fn set_role(&self, workspace_id: Uuid, user_id: Uuid, role: WorkspaceRole) -> StoreResult<bool> {
        let result = workspace_member::Entity::update_many()
            .col_expr(workspace_member::Column::Role, Expr::value(role.as_str()))
            .filter(workspace_member::Column::WorkspaceId.eq(workspace_id))
            .filter(workspace_member::Column::UserId.eq(user_id))
            .exec(self.0)
            .await?;
        Ok(result.rows_affected > 0)
    }

    pub async fn remove_member(&self, workspace_id: Uuid, user_id: Uuid) -> StoreResult<bool> {
        let result = workspace_member::Entity::delete_by_id((workspace_id, user_id)).exec(self.0).await?;
        Ok(result.rows_affected > 0)
    }

    pub async fn owner_count(&self, workspace_id: Uuid) -> StoreResult<u64> {
        Ok(workspace_member::Entity::find()
            .filter(workspace_member::Column::WorkspaceId.eq(workspace_id))
            .filter(workspace_member::Column::Role.eq(WorkspaceRole::Owner))
            .count(self.0)
            .await?)
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

    /// A user's [`Standing`] in `workspace_id`, or in their oldest workspace
    /// when `None`; `None` when there is no such user. One statement where
    /// reading the user and then the membership took two, on every request.
    pub async fn standing(&self, user_id: Uuid, workspace_id: Option<Uuid>) -> StoreResult<Option<Standing>> {
        let membership: RelationDef = user::Entity::belongs_to(workspace_member::Entity)
            .from(user::Column::Id)
            .to(workspace_member::Column::UserId)
            .on_condition(move |_, _| match workspace_id {
                Some(id) => workspace_member::Column::WorkspaceId.eq(id).into_condition(),
                None => sea_orm::Condition::all(),
            })
            .into();
        let row: Option<(bool, Option<Uuid>, Option<WorkspaceRole>)> = user::Entity::find_by_id(user_id)
            .select_only()
            .column(user::Column::IsDisabled)
            .column(workspace_member::Column::WorkspaceId)
            .column(workspace_member::Column::Role)
            .join(JoinType::LeftJoin, membership)
            .order_by_asc(workspace_member::Column::CreatedAt)
            .into_tuple()
            .one(self.0)
            .await?;
        Ok(row.map(|(is_disabled, workspace_id, role)| Standing {
            is_disabled,
            membership: workspace_id.zip(role).map(|(workspace_id, role)| Membership { workspace_id, role }),
        }))
    }

    pub async fn membership(&self, user_id: Uuid, workspace_id: Uuid) -> StoreResult<Option<Membership>> {
        let member = workspace_member::Entity::find_by_id((workspace_id, user_id)).one(self.0).await?;
        Ok(member.map(|m| Membership { workspace_id: m.workspace_id, role: m.role }))
    }
}
