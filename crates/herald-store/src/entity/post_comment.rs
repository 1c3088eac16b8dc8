//! `post_comments`: what a team member or a preview page's visitor said
//! about a post, with their verdict.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "post_comments")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub workspace_id: Uuid,
    pub post_id: Uuid,
    /// The preview link a visitor used; `None` for a team member.
    pub preview_link_id: Option<Uuid>,
    pub user_id: Option<Uuid>,
    pub author_name: String,
    pub body: String,
    /// `COMMENT`, `APPROVE` or `REQUEST_CHANGES`.
    pub verdict: String,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
