//! `connect_links`: a page where an agency's client connects their own
//! accounts into the workspace, under their customer, without a login.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "connect_links")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub workspace_id: Uuid,
    pub customer_id: Uuid,
    /// SHA-256 (hex) of the URL's token.
    pub token_hash: String,
    /// Platform ids offered; `None` for every platform.
    pub platforms: Option<Json>,
    /// The member who made the link: connections are made in their name.
    pub created_by: Uuid,
    pub expires_at: DateTimeUtc,
    pub revoked_at: Option<DateTimeUtc>,
    /// Accounts connected through it so far.
    pub connections: i32,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
