//! An agency's workspace resources (issue #26): customers and their
//! self-connect links, preview links and the comments they collect,
//! signatures, sets and coloured tags. Every read is scoped by workspace;
//! the public pages find their link by the token's hash alone.

use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, IntoActiveModel, QueryFilter, QueryOrder, QuerySelect,
};
use uuid::Uuid;

use crate::entity::{connect_link, customer, integration, post_comment, post_set, preview_link, signature, tag};
use crate::{
    ConnectLinkRow, CustomerRow, PostCommentRow, PostSetRow, PreviewLinkRow, SignatureRow, StoreResult, TagRow,
};

/// Implements the plain workspace-scoped operations of a resource table.
macro_rules! workspace_resource {
    ($repo:ident, $entity:ident, $row:ty, $order:expr) => {
        pub struct $repo<'a, C>(pub &'a C);

        impl<C: ConnectionTrait> $repo<'_, C> {
            pub async fn insert(&self, row: $row) -> StoreResult<$row> {
                Ok(row.into_active_model().reset_all().insert(self.0).await?)
            }

            pub async fn save(&self, row: $row) -> StoreResult<$row> {
                Ok(row.into_active_model().reset_all().update(self.0).await?)
            }

            pub async fn list(&self, workspace_id: Uuid) -> StoreResult<Vec<$row>> {
                Ok($entity::Entity::find()
                    .filter($entity::Column::WorkspaceId.eq(workspace_id))
                    .order_by_asc($order)
                    .order_by_asc($entity::Column::Id)
                    .all(self.0)
                    .await?)
            }

            pub async fn get(&self, workspace_id: Uuid, id: Uuid) -> StoreResult<Option<$row>> {
                Ok($entity::Entity::find_by_id(id)
                    .filter($entity::Column::WorkspaceId.eq(workspace_id))
                    .one(self.0)
                    .await?)
            }

            pub async fn delete(&self, workspace_id: Uuid, id: Uuid) -> StoreResult<bool> {
                let result = $entity::Entity::delete_many()
                    .filter($entity::Column::Id.eq(id))
                    .filter($entity::Column::WorkspaceId.eq(workspace_id))
                    .exec(self.0)
                    .await?;
                Ok(result.rows_affected > 0)
            }
        }
    };
}

workspace_resource!(Customers, customer, CustomerRow, customer::Column::Name);
workspace_resource!(Tags, tag, TagRow, tag::Column::Name);
workspace_resource!(Signatures, signature, SignatureRow, signature::Column::Name);
workspace_resource!(PostSets, post_set, PostSetRow, post_set::Column::Name);

impl<C: ConnectionTrait> Customers<'_, C> {
    /// Accounts belonging to a deleted customer belong to no one: there is
    /// no foreign key to do it (see the migration).
    pub async fn release_integrations(&self, workspace_id: Uuid, customer_id: Uuid) -> StoreResult<u64> {
        let result = integration::Entity::update_many()
            .col_expr(integration::Column::CustomerId, Expr::value(Option::<Uuid>::None))
            .filter(integration::Column::WorkspaceId.eq(workspace_id))
            .filter(integration::Column::CustomerId.eq(customer_id))
            .exec(self.0)
            .await?;
        Ok(result.rows_affected)
    }

    /// Says which customer an account belongs to; false when the workspace
    /// has no such account. Only that column is written: the engine may be
    /// changing the account's status meanwhile.
    pub async fn assign(
        &self,
        workspace_id: Uuid,
        integration_id: Uuid,
        customer_id: Option<Uuid>,
        now: DateTime<Utc>,
    ) -> StoreResult<bool> {
        let result = integration::Entity::update_many()
            .col_expr(integration::Column::CustomerId, Expr::value(customer_id))
            .col_expr(integration::Column::UpdatedAt, Expr::value(now))
            .filter(integration::Column::WorkspaceId.eq(workspace_id))
            .filter(integration::Column::Id.eq(integration_id))
            .exec(self.0)
            .await?;
        Ok(result.rows_affected > 0)
    }

    /// How many accounts each customer of the workspace has.
    pub async fn account_counts(&self, workspace_id: Uuid) -> StoreResult<Vec<(Uuid, i64)>> {
        Ok(integration::Entity::find()
            .select_only()
            .column(integration::Column::CustomerId)
            .column_as(integration::Column::Id.count(), "n")
            .filter(integration::Column::WorkspaceId.eq(workspace_id))
            .filter(integration::Column::CustomerId.is_not_null())
            .group_by(integration::Column::CustomerId)
            .into_tuple::<(Uuid, i64)>()
            .all(self.0)
            .await?)
    }
}

impl<C: ConnectionTrait> Signatures<'_, C> {
    /// Only one signature adds itself: the others stop when one starts.
    pub async fn clear_auto_add(&self, workspace_id: Uuid, except: Uuid) -> StoreResult<()> {
        signature::Entity::update_many()
            .col_expr(signature::Column::AutoAdd, Expr::value(false))
            .filter(signature::Column::WorkspaceId.eq(workspace_id))
            .filter(signature::Column::Id.ne(except))
            .exec(self.0)
            .await?;
        Ok(())
    }
}

impl<C: ConnectionTrait> Tags<'_, C> {
    pub async fn by_name(&self, workspace_id: Uuid, name: &str) -> StoreResult<Option<TagRow>> {
        Ok(tag::Entity::find()
            .filter(tag::Column::WorkspaceId.eq(workspace_id))
            .filter(tag::Column::Name.eq(name))
            .one(self.0)
            .await?)
    }
}

/// Public preview pages of posts.
pub struct PreviewLinks<'a, C>(pub &'a C);

impl<C: ConnectionTrait> PreviewLinks<'_, C> {
    pub async fn insert(&self, row: PreviewLinkRow) -> StoreResult<PreviewLinkRow> {
        Ok(row.into_active_model().reset_all().insert(self.0).await?)
    }

    /// A link by its token's hash, whatever its state (the page says why
    /// an expired or revoked one shows nothing).
    pub async fn by_token_hash(&self, token_hash: &str) -> StoreResult<Option<PreviewLinkRow>> {
        Ok(preview_link::Entity::find().filter(preview_link::Column::TokenHash.eq(token_hash)).one(self.0).await?)
    }

    pub async fn of_post(&self, workspace_id: Uuid, post_id: Uuid) -> StoreResult<Vec<PreviewLinkRow>> {
        Ok(preview_link::Entity::find()
            .filter(preview_link::Column::WorkspaceId.eq(workspace_id))
            .filter(preview_link::Column::PostId.eq(post_id))
            .order_by_asc(preview_link::Column::CreatedAt)
            .all(self.0)
            .await?)
    }

    /// Revokes a link of a post; false when there is no such live link.
    pub async fn revoke(&self, workspace_id: Uuid, post_id: Uuid, id: Uuid, now: DateTime<Utc>) -> StoreResult<bool> {
        let found = preview_link::Entity::find_by_id(id)
            .filter(preview_link::Column::WorkspaceId.eq(workspace_id))
            .filter(preview_link::Column::PostId.eq(post_id))
            .one(self.0)
            .await?;
        let Some(found) = found else { return Ok(false) };
        if found.revoked_at.is_none() {
            preview_link::Entity::update_many()
                .col_expr(preview_link::Column::RevokedAt, Expr::value(now))
                .filter(preview_link::Column::Id.eq(id))
                .exec(self.0)
                .await?;
        }
        Ok(true)
    }
}

/// Comments on posts, oldest first.
pub struct PostComments<'a, C>(pub &'a C);

impl<C: ConnectionTrait> PostComments<'_, C> {
    pub async fn insert(&self, row: PostCommentRow) -> StoreResult<PostCommentRow> {
        Ok(row.into_active_model().reset_all().insert(self.0).await?)
    }

    pub async fn of_post(&self, workspace_id: Uuid, post_id: Uuid) -> StoreResult<Vec<PostCommentRow>> {
        Ok(post_comment::Entity::find()
            .filter(post_comment::Column::WorkspaceId.eq(workspace_id))
            .filter(post_comment::Column::PostId.eq(post_id))
            .order_by_asc(post_comment::Column::CreatedAt)
            .order_by_asc(post_comment::Column::Id)
            .all(self.0)
            .await?)
    }

    /// Comments of several posts (the approval queue), oldest first.
    pub async fn of_posts(&self, workspace_id: Uuid, post_ids: &[Uuid]) -> StoreResult<Vec<PostCommentRow>> {
        if post_ids.is_empty() {
            return Ok(Vec::new());
        }
        Ok(post_comment::Entity::find()
            .filter(post_comment::Column::WorkspaceId.eq(workspace_id))
            .filter(post_comment::Column::PostId.is_in(post_ids.iter().copied()))
            .order_by_asc(post_comment::Column::CreatedAt)
            .order_by_asc(post_comment::Column::Id)
            .all(self.0)
            .await?)
    }
}

/// Client self-connect links.
pub struct ConnectLinks<'a, C>(pub &'a C);

impl<C: ConnectionTrait> ConnectLinks<'_, C> {
    pub async fn insert(&self, row: ConnectLinkRow) -> StoreResult<ConnectLinkRow> {
        Ok(row.into_active_model().reset_all().insert(self.0).await?)
    }

    /// A link by its token's hash, whatever its state.
    pub async fn by_token_hash(&self, token_hash: &str) -> StoreResult<Option<ConnectLinkRow>> {
        Ok(connect_link::Entity::find().filter(connect_link::Column::TokenHash.eq(token_hash)).one(self.0).await?)
    }

    pub async fn by_id(&self, id: Uuid) -> StoreResult<Option<ConnectLinkRow>> {
        Ok(connect_link::Entity::find_by_id(id).one(self.0).await?)
    }

    pub async fn of_customer(&self, workspace_id: Uuid, customer_id: Uuid) -> StoreResult<Vec<ConnectLinkRow>> {
        Ok(connect_link::Entity::find()
            .filter(connect_link::Column::WorkspaceId.eq(workspace_id))
            .filter(connect_link::Column::CustomerId.eq(customer_id))
            .order_by_asc(connect_link::Column::CreatedAt)
            .all(self.0)
            .await?)
    }

    /// Revokes a link of a customer (again, for one already revoked);
    /// false when the customer has no such link.
    pub async fn revoke(
        &self,
        workspace_id: Uuid,
        customer_id: Uuid,
        id: Uuid,
        now: DateTime<Utc>,
    ) -> StoreResult<bool> {
        let found = connect_link::Entity::find_by_id(id)
            .filter(connect_link::Column::WorkspaceId.eq(workspace_id))
            .filter(connect_link::Column::CustomerId.eq(customer_id))
            .one(self.0)
            .await?;
        let Some(found) = found else { return Ok(false) };
        if found.revoked_at.is_none() {
            connect_link::Entity::update_many()
                .col_expr(connect_link::Column::RevokedAt, Expr::value(now))
                .filter(connect_link::Column::Id.eq(id))
                .exec(self.0)
                .await?;
        }
        Ok(true)
    }

    /// One more account connected through the link.
    pub async fn count_connection(&self, id: Uuid) -> StoreResult<()> {
        connect_link::Entity::update_many()
            .col_expr(connect_link::Column::Connections, Expr::col(connect_link::Column::Connections).add(1))
            .filter(connect_link::Column::Id.eq(id))
            .exec(self.0)
            .await?;
        Ok(())
    }
}
