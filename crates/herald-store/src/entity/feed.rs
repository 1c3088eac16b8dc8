//! `feeds`: an RSS/Atom feed whose new items become posts.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "feeds")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub workspace_id: Uuid,
    /// Whose posts the items become (and whose rights they are made with).
    pub created_by: Uuid,
    pub url: String,
    /// Integration ids.
    pub platforms: Json,
    pub template: String,
    /// `DRAFT`, `QUEUE` or `NOW`.
    pub mode: String,
    pub poll_minutes: i32,
    pub etag: Option<String>,
    pub last_modified: Option<String>,
    /// Set once the first poll marked what was already there as seen.
    pub primed: bool,
    pub next_poll_at: DateTimeUtc,
    /// Held by the process polling it now.
    pub lease_until: Option<DateTimeUtc>,
    pub last_polled_at: Option<DateTimeUtc>,
    pub last_status: Option<i32>,
    /// Why the last poll failed, shown on the feed; `None` after a good one.
    pub last_error: Option<String>,
    pub items_posted: i32,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
