//! Feeds and the items they showed. A poll is claimed with a lease; an item
//! is claimed by inserting its key, so it becomes a post once even if two
//! processes poll at the same moment.

use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Expr, OnConflict};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, ConnectionTrait, EntityTrait, IntoActiveModel, QueryFilter, QueryOrder,
    QuerySelect,
};
use uuid::Uuid;

use crate::entity::{feed, feed_item};
use crate::{FeedItemRow, FeedRow, StoreResult};

pub struct Feeds<'a, C>(pub &'a C);

impl<C: ConnectionTrait> Feeds<'_, C> {
    pub async fn insert(&self, row: FeedRow) -> StoreResult<FeedRow> {
        Ok(row.into_active_model().reset_all().insert(self.0).await?)
    }

    pub async fn save(&self, row: FeedRow) -> StoreResult<FeedRow> {
        Ok(row.into_active_model().reset_all().update(self.0).await?)
    }

    pub async fn list(&self, workspace_id: Uuid) -> StoreResult<Vec<FeedRow>> {
        Ok(feed::Entity::find()
            .filter(feed::Column::WorkspaceId.eq(workspace_id))
            .order_by_asc(feed::Column::CreatedAt)
            .all(self.0)
            .await?)
    }

    pub async fn get(&self, workspace_id: Uuid, id: Uuid) -> StoreResult<Option<FeedRow>> {
        Ok(feed::Entity::find_by_id(id).filter(feed::Column::WorkspaceId.eq(workspace_id)).one(self.0).await?)
    }

    pub async fn delete(&self, workspace_id: Uuid, id: Uuid) -> StoreResult<bool> {
        let result = feed::Entity::delete_many()
            .filter(feed::Column::Id.eq(id))
            .filter(feed::Column::WorkspaceId.eq(workspace_id))
            .exec(self.0)
            .await?;
        Ok(result.rows_affected > 0)
    }

    /// Ids of feeds due for a poll and not being polled.
    pub async fn due(&self, now: DateTime<Utc>, limit: u64) -> StoreResult<Vec<Uuid>> {
        Ok(feed::Entity::find()
            .select_only()
            .column(feed::Column::Id)
            .filter(feed::Column::NextPollAt.lte(now))
            .filter(free(now))
            .order_by_asc(feed::Column::NextPollAt)
            .limit(limit)
            .into_tuple::<Uuid>()
            .all(self.0)
            .await?)
    }

    /// Takes the feed for one poll until `until`; `None` when another
    /// process holds it.
    pub async fn claim(&self, id: Uuid, now: DateTime<Utc>, until: DateTime<Utc>) -> StoreResult<Option<FeedRow>> {
        let result = feed::Entity::update_many()
            .col_expr(feed::Column::LeaseUntil, Expr::value(Some(until)))
            .filter(feed::Column::Id.eq(id))
            .filter(free(now))
            .exec(self.0)
            .await?;
        if result.rows_affected == 0 {
            return Ok(None);
        }
        Ok(feed::Entity::find_by_id(id).one(self.0).await?)
    }

    /// Records items as seen without posting them (the first poll).
    pub async fn mark_seen(&self, feed_id: Uuid, items: &[(String, String)], at: DateTime<Utc>) -> StoreResult<()> {
        for chunk in items.chunks(200) {
            let models = chunk.iter().map(|(key, title)| {
                FeedItemRow { feed_id, item_key: key.clone(), title: Some(title.clone()), post_id: None, seen_at: at }
                    .into_active_model()
                    .reset_all()
            });
            feed_item::Entity::insert_many(models)
                .on_conflict(
                    OnConflict::columns([feed_item::Column::FeedId, feed_item::Column::ItemKey])
                        .do_nothing()
                        .to_owned(),
                )
                .exec_without_returning(self.0)
                .await?;
        }
        Ok(())
    }

    /// Claims one new item; false when it was seen before (by any process).
    pub async fn claim_item(&self, feed_id: Uuid, key: &str, title: &str, at: DateTime<Utc>) -> StoreResult<bool> {
        let row = FeedItemRow {
            feed_id,
            item_key: key.to_string(),
            title: Some(title.to_string()),
            post_id: None,
            seen_at: at,
        };
        let inserted = feed_item::Entity::insert(row.into_active_model().reset_all())
            .on_conflict(
                OnConflict::columns([feed_item::Column::FeedId, feed_item::Column::ItemKey]).do_nothing().to_owned(),
            )
            .exec_without_returning(self.0)
            .await?;
        Ok(inserted > 0)
    }

    pub async fn set_item_post(&self, feed_id: Uuid, key: &str, post_id: Uuid) -> StoreResult<()> {
        feed_item::Entity::update_many()
            .col_expr(feed_item::Column::PostId, Expr::value(Some(post_id)))
            .filter(feed_item::Column::FeedId.eq(feed_id))
            .filter(feed_item::Column::ItemKey.eq(key))
            .exec(self.0)
            .await?;
        Ok(())
    }

    /// The latest items that became posts.
    pub async fn posted_items(&self, feed_id: Uuid, limit: u64) -> StoreResult<Vec<FeedItemRow>> {
        Ok(feed_item::Entity::find()
            .filter(feed_item::Column::FeedId.eq(feed_id))
            .filter(feed_item::Column::PostId.is_not_null())
            .order_by_desc(feed_item::Column::SeenAt)
            .limit(limit)
            .all(self.0)
            .await?)
    }
}

fn free(now: DateTime<Utc>) -> Condition {
    Condition::any().add(feed::Column::LeaseUntil.is_null()).add(feed::Column::LeaseUntil.lt(now))
}
