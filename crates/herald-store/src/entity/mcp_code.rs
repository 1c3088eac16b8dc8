//! `mcp_codes`: an authorization code a person granted on the consent
//! page, until the client redeems it (once) at the token endpoint.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "mcp_codes")]
pub struct Model {
    /// SHA-256 of the code.
    #[sea_orm(primary_key, auto_increment = false)]
    pub code_hash: String,
    pub client_id: String,
    pub user_id: Uuid,
    pub workspace_id: Uuid,
    pub redirect_uri: String,
    /// The PKCE S256 challenge the verifier must match.
    pub code_challenge: String,
    pub scopes: Json,
    pub resource: String,
    pub expires_at: DateTimeUtc,
    pub used_at: Option<DateTimeUtc>,
    /// The grant the code was redeemed for.
    pub api_key_id: Option<Uuid>,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
