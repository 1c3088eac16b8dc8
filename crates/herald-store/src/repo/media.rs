//! The media library: uploaded files' rows (the bytes live in the blob
//! store), scoped to a workspace, newest first, with editable alt text.

use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, ConnectionTrait, EntityTrait, IntoActiveModel, QueryFilter, QueryOrder,
    QuerySelect, Set,
};
use uuid::Uuid;

use crate::entity::media;
use crate::{MediaRow, StoreResult};

/// Uploaded media. Every read is scoped by workspace.
pub struct Media<'a, C>(pub &'a C);

impl<C: ConnectionTrait> Media<'_, C> {
    pub async fn insert(&self, row: MediaRow) -> StoreResult<MediaRow> {
        Ok(row.into_active_model().reset_all().insert(self.0).await?)
    }

    /// The media items among `ids` that belong to the workspace.
    pub async fn find_many(&self, workspace_id: Uuid, ids: &[Uuid]) -> StoreResult<Vec<MediaRow>> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        Ok(media::Entity::find()
            .filter(media::Column::WorkspaceId.eq(workspace_id))
            .filter(media::Column::Id.is_in(ids.iter().copied()))
            .all(self.0)
            .await?)
    }

    /// The media items stored under `keys` that belong to the workspace.
    pub async fn find_by_keys(&self, workspace_id: Uuid, keys: &[String]) -> StoreResult<Vec<MediaRow>> {
        if keys.is_empty() {
            return Ok(Vec::new());
        }
        Ok(media::Entity::find()
            .filter(media::Column::WorkspaceId.eq(workspace_id))
            .filter(media::Column::StorageKey.is_in(keys.iter().cloned()))
            .all(self.0)
            .await?)
    }

    /// The workspace's media, newest first: up to `limit` items created
    /// before `before` (the `(created_at, id)` of the previous page's last item).
    pub async fn list(
        &self,
        workspace_id: Uuid,
        before: Option<(DateTime<Utc>, Uuid)>,
        limit: u64,
    ) -> StoreResult<Vec<MediaRow>> {
        let mut query = media::Entity::find().filter(media::Column::WorkspaceId.eq(workspace_id));
        if let Some((created_at, id)) = before {
            query = query.filter(
                Condition::any()
                    .add(media::Column::CreatedAt.lt(created_at))
                    .add(Condition::all().add(media::Column::CreatedAt.eq(created_at)).add(media::Column::Id.lt(id))),
            );
        }
        Ok(query
            .order_by_desc(media::Column::CreatedAt)
            .order_by_desc(media::Column::Id)
            .limit(limit)
            .all(self.0)
            .await?)
    }

    /// Replaces the alt text of one of the workspace's media items; `None`
    /// when there is no such item in that workspace.
    pub async fn set_alt_text(
        &self,
        workspace_id: Uuid,
        id: Uuid,
        alt_text: Option<String>,
    ) -> StoreResult<Option<MediaRow>> {
        let Some(row) = self.find_many(workspace_id, &[id]).await?.into_iter().next() else {
            return Ok(None);
        };
        let mut active = row.into_active_model();
        active.alt_text = Set(alt_text);
        Ok(Some(active.update(self.0).await?))
    }
}
