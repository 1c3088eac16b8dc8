//! `posts`: what the author wrote (content, media, thread, tags), when it is
//! due, and the status derived from its targets.

use herald_core::post::{ApprovalState, CreatedVia, PostStatus};
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "posts")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub workspace_id: Uuid,
    pub created_by: Option<Uuid>,
    pub api_key_id: Option<Uuid>,
    pub created_via: CreatedVia,
    pub content: String,
    /// `[{"url": …}|{"id": …}]` attached to the first item.
    pub media: Json,
    /// `[{"content": …, "media": [...]}]` follow-up items, in order.
    pub thread: Json,
    pub tags: Json,
    /// Derived from the targets by `herald_core::post::aggregate_status`,
    /// stored so lists can filter on it.
    pub status: PostStatus,
    pub scheduled_for: Option<DateTimeUtc>,
    pub published_at: Option<DateTimeUtc>,
    pub error_message: Option<String>,
    /// `REQUESTED|APPROVED|REJECTED` once the post was submitted for approval.
    pub approval_state: Option<ApprovalState>,
    /// `{requestedBy, requestedAt, note?, decidedBy?, decidedAt?}`.
    pub approval: Option<Json>,
    /// The series this post starts (`herald_core::recurrence::Series`).
    pub recurrence: Option<Json>,
    /// The post whose series made this one.
    pub series_id: Option<Uuid>,
    /// Which occurrence of its series this post is (unique per series).
    pub occurrence_at: Option<DateTimeUtc>,
    /// When the series' next occurrence is due; `None` while it is not running.
    pub next_occurrence_at: Option<DateTimeUtc>,
    /// The importer's id for the post (unique per workspace).
    pub external_id: Option<String>,
    /// Posts made together by one request of Postiz's public API, which
    /// deletes them together (`None` for every other post).
    pub group_id: Option<Uuid>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(has_many = "super::post_target::Entity")]
    PostTarget,
}

impl Related<super::post_target::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::PostTarget.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
