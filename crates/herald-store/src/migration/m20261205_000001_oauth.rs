//! OAuth connections: the short-lived `state` of a connection in progress
//! (its PKCE verifier sealed), the accounts a token could post as while the
//! user chooses among them, the apps Herald registered on servers of
//! platforms with many (Mastodon), and on integrations when the tokens were
//! obtained and who is refreshing them (one refresh at a time, across
//! processes).

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261205_000001_oauth"
    }
}

#[derive(DeriveIden)]
enum OauthStates {
    Table,
    Id,
    Platform,
    UserId,
    WorkspaceId,
    Sealed,
    ExpiresAt,
    CreatedAt,
}

#[derive(DeriveIden)]
enum OauthPending {
    Table,
    Id,
    Platform,
    UserId,
    WorkspaceId,
    Sealed,
    ExpiresAt,
    CreatedAt,
}

#[derive(DeriveIden)]
enum OauthClients {
    Table,
    Id,
    Platform,
    Instance,
    ClientId,
    ClientSecret,
    CreatedAt,
}

#[derive(DeriveIden)]
enum Integrations {
    Table,
    TokenObtainedAt,
    RefreshLeaseUntil,
}

#[derive(DeriveIden)]
enum Users {
    Table,
    Id,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(OauthStates::Table)
                    // The SHA-256 of the state: the value itself is never stored.
                    .col(string(OauthStates::Id).primary_key())
                    .col(string(OauthStates::Platform))
                    .col(uuid(OauthStates::UserId))
                    .col(uuid(OauthStates::WorkspaceId))
                    .col(text(OauthStates::Sealed))
                    .col(timestamp_with_time_zone(OauthStates::ExpiresAt))
                    .col(timestamp_with_time_zone(OauthStates::CreatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_oauth_states_user")
                            .from(OauthStates::Table, OauthStates::UserId)
                            .to(Users::Table, Users::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .take(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(OauthPending::Table)
                    .col(pk_uuid(OauthPending::Id))
                    .col(string(OauthPending::Platform))
                    .col(uuid(OauthPending::UserId))
                    .col(uuid(OauthPending::WorkspaceId))
                    .col(text(OauthPending::Sealed))
                    .col(timestamp_with_time_zone(OauthPending::ExpiresAt))
                    .col(timestamp_with_time_zone(OauthPending::CreatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_oauth_pending_user")
                            .from(OauthPending::Table, OauthPending::UserId)
                            .to(Users::Table, Users::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .take(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(OauthClients::Table)
                    // `{platform} {instance}`: one app per server.
                    .col(string(OauthClients::Id).primary_key())
                    .col(string(OauthClients::Platform))
                    .col(string(OauthClients::Instance))
                    .col(string(OauthClients::ClientId))
                    // AES-256-GCM ciphertext.
                    .col(text(OauthClients::ClientSecret))
                    .col(timestamp_with_time_zone(OauthClients::CreatedAt))
                    .take(),
            )
            .await?;
        // One column per statement: SQLite adds one at a time.
        manager
            .alter_table(
                Table::alter()
                    .table(Integrations::Table)
                    .add_column(timestamp_with_time_zone_null(Integrations::TokenObtainedAt))
                    .take(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(Integrations::Table)
                    .add_column(timestamp_with_time_zone_null(Integrations::RefreshLeaseUntil))
                    .take(),
            )
            .await
    }
}
