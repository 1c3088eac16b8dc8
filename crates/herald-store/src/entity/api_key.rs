//! `api_keys`: an API key's hash, prefix (to recognise it), scopes, owner
//! and workspace, last use and revocation. A connected MCP app's grant is
//! a row here too, with `mcp_client_id` set.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "api_keys")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub user_id: Uuid,
    pub workspace_id: Uuid,
    pub name: String,
    pub key_hash: String,
    pub prefix: String,
    pub scopes: Json,
    pub last_used_at: Option<DateTimeUtc>,
    pub expires_at: Option<DateTimeUtc>,
    pub is_active: bool,
    pub created_at: DateTimeUtc,
    /// Set when the key is an MCP client's grant (a "connected app"), not
    /// a key someone pasted.
    pub mcp_client_id: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
