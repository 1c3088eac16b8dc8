//! `post_targets`: one post on one account, and the publishing queue itself:
//! status, attempts, lease, what was published and the last error.

use herald_core::post::TargetStatus;
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "post_targets")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub post_id: Uuid,
    pub integration_id: Uuid,
    pub content_override: Option<String>,
    /// `herald_core::compose::duplicate_key` of the text this target
    /// publishes: the override, else the post's content.
    pub content_key: Option<String>,
    pub settings: Json,
    pub status: TargetStatus,
    pub attempts: i32,
    /// When the target is due; `None` while its post is a draft.
    pub next_attempt_at: Option<DateTimeUtc>,
    pub lease_owner: Option<String>,
    pub lease_expires_at: Option<DateTimeUtc>,
    /// Platform ids of the items published so far, in thread order.
    pub platform_post_ids: Json,
    pub url: Option<String>,
    pub last_error_class: Option<String>,
    pub last_error_message: Option<String>,
    pub published_at: Option<DateTimeUtc>,
    /// The item the platform is still processing and the handle to ask
    /// about it (`{item, handle, stage, since, polls}`), or `None`.
    pub pending: Option<Json>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(belongs_to = "super::post::Entity", from = "Column::PostId", to = "super::post::Column::Id")]
    Post,
    #[sea_orm(
        belongs_to = "super::integration::Entity",
        from = "Column::IntegrationId",
        to = "super::integration::Column::Id"
    )]
    Integration,
}

impl Related<super::post::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Post.def()
    }
}

impl Related<super::integration::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Integration.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
