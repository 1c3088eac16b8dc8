//! `oauth_states`: an OAuth connection in progress, from the redirect to the
//! platform until its callback — single-use, bound to a user and workspace.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "oauth_states")]
pub struct Model {
    /// SHA-256 (hex) of the `state` sent to the platform.
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub platform: String,
    pub user_id: Uuid,
    pub workspace_id: Uuid,
    /// AES-256-GCM ciphertext of the PKCE verifier and the flow's context.
    pub sealed: String,
    pub expires_at: DateTimeUtc,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
