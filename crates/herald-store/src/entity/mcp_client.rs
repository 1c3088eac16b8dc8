//! `mcp_clients`: an MCP client that registered itself (RFC 7591).

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "mcp_clients")]
pub struct Model {
    /// The `client_id` handed out.
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub name: String,
    pub client_uri: Option<String>,
    pub redirect_uris: Json,
    /// `none`, `client_secret_post` or `client_secret_basic`.
    pub token_endpoint_auth_method: String,
    /// SHA-256 of the client secret, for confidential clients.
    pub secret_hash: Option<String>,
    /// The registered metadata, as answered to the client.
    pub registration: Json,
    pub created_at: DateTimeUtc,
    pub last_used_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
