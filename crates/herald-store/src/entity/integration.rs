//! `integrations`: a connected social account, its encrypted credentials,
//! status, posting times and settings.

use herald_core::integration::IntegrationStatus;
use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "integrations")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub workspace_id: Uuid,
    pub created_by: Option<Uuid>,
    pub platform: String,
    pub platform_account_id: String,
    pub platform_username: String,
    pub display_name: String,
    pub avatar_url: Option<String>,
    /// AES-256-GCM ciphertext of the credentials JSON; never plaintext.
    pub credentials: Option<String>,
    pub token_expires_at: Option<DateTimeUtc>,
    /// When the stored tokens were obtained (connect or refresh): with the
    /// expiry, it says how long they live, so refreshes come in time.
    pub token_obtained_at: Option<DateTimeUtc>,
    /// A process is refreshing the tokens until then; no other may.
    pub refresh_lease_until: Option<DateTimeUtc>,
    /// When the account must be reconnected, where that is known: a token
    /// without a refresh token, or a refresh token's own end.
    pub access_ends_at: Option<DateTimeUtc>,
    /// The advance notice already given for `access_ends_at` (7, then 1 days).
    pub expiry_notice_days: Option<i32>,
    pub scopes: Json,
    pub status: IntegrationStatus,
    pub posting_times: Json,
    pub timezone: String,
    pub settings: Json,
    /// The profile (name, avatar) could not be read yet; it is asked again.
    pub profile_pending: bool,
    /// The agency's client this account belongs to, if any.
    pub customer_id: Option<Uuid>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(has_many = "super::post_target::Entity")]
    PostTarget,
}

impl Related<super::post_target::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::PostTarget.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
