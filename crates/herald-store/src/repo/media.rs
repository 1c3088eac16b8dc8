use sea_orm::{ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, IntoActiveModel, QueryFilter, Set};
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
