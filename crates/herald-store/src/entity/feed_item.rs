//! `feed_items`: each item a feed has shown, once; the key is what makes
//! an item go out once across restarts and processes.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "feed_items")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub feed_id: Uuid,
    /// The item's guid/id, else its link.
    #[sea_orm(primary_key, auto_increment = false)]
    pub item_key: String,
    pub title: Option<String>,
    /// The post it became; `None` for items seen on the first poll or not postable.
    pub post_id: Option<Uuid>,
    pub seen_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
