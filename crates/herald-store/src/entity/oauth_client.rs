//! `oauth_clients`: the app Herald registered on one server of a platform
//! with many servers (Mastodon's `POST /api/v1/apps`), reused for every
//! account connected there.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "oauth_clients")]
pub struct Model {
    /// `{platform} {instance}`.
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub platform: String,
    /// The server's base URL, e.g. `https://mastodon.social`.
    pub instance: String,
    pub client_id: String,
    /// AES-256-GCM ciphertext of the client secret.
    pub client_secret: String,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
