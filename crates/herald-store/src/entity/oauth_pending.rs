//! `oauth_pending`: accounts a new token can post as (LinkedIn pages,
//! Facebook pages …), kept while the user chooses which to connect.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "oauth_pending")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub platform: String,
    pub user_id: Uuid,
    pub workspace_id: Uuid,
    /// AES-256-GCM ciphertext of the accounts, their tokens included.
    pub sealed: String,
    pub expires_at: DateTimeUtc,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
