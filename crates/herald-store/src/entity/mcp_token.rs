//! `mcp_tokens`: the access and refresh tokens of a grant (hashes only).

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "mcp_tokens")]
pub struct Model {
    /// SHA-256 of the token.
    #[sea_orm(primary_key, auto_increment = false)]
    pub token_hash: String,
    /// `ACCESS` or `REFRESH`.
    pub kind: String,
    /// The grant: an `api_keys` row with `mcp_client_id` set.
    pub api_key_id: Uuid,
    pub expires_at: DateTimeUtc,
    /// When a refresh token was exchanged (rotation).
    pub used_at: Option<DateTimeUtc>,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
