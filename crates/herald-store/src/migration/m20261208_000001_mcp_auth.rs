//! Herald as an OAuth 2.1 authorization server for MCP clients: the
//! clients that registered themselves (RFC 7591), authorization codes
//! waiting to be redeemed, and the access and refresh tokens of each grant.
//! A grant is an API key row with `mcp_client_id` set, so its scopes,
//! revocation and last use work exactly as a pasted key's.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261208_000001_mcp_auth"
    }
}

#[derive(DeriveIden)]
enum ApiKeys {
    Table,
    Id,
    McpClientId,
}

#[derive(DeriveIden)]
enum McpClients {
    Table,
    Id,
    Name,
    ClientUri,
    RedirectUris,
    TokenEndpointAuthMethod,
    SecretHash,
    Registration,
    CreatedAt,
    LastUsedAt,
}

#[derive(DeriveIden)]
enum McpCodes {
    Table,
    CodeHash,
    ClientId,
    UserId,
    WorkspaceId,
    RedirectUri,
    CodeChallenge,
    Scopes,
    Resource,
    ExpiresAt,
    UsedAt,
    ApiKeyId,
    CreatedAt,
}

#[derive(DeriveIden)]
enum McpTokens {
    Table,
    TokenHash,
    Kind,
    ApiKeyId,
    ExpiresAt,
    UsedAt,
    CreatedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(Table::alter().table(ApiKeys::Table).add_column(string_null(ApiKeys::McpClientId)).take())
            .await?;
        manager
            .create_index(
                Index::create().name("idx_api_keys_mcp_client").table(ApiKeys::Table).col(ApiKeys::McpClientId).take(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(McpClients::Table)
                    .col(string(McpClients::Id).primary_key())
                    .col(text(McpClients::Name))
                    .col(text_null(McpClients::ClientUri))
                    .col(json_binary(McpClients::RedirectUris))
                    .col(string(McpClients::TokenEndpointAuthMethod))
                    .col(string_null(McpClients::SecretHash))
                    // The metadata as registered, echoed back by registration.
                    .col(json_binary(McpClients::Registration))
                    .col(timestamp_with_time_zone(McpClients::CreatedAt))
                    .col(timestamp_with_time_zone_null(McpClients::LastUsedAt))
                    .take(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(McpCodes::Table)
                    .col(string(McpCodes::CodeHash).primary_key())
                    .col(string(McpCodes::ClientId))
                    .col(uuid(McpCodes::UserId))
                    .col(uuid(McpCodes::WorkspaceId))
                    .col(text(McpCodes::RedirectUri))
                    .col(string(McpCodes::CodeChallenge))
                    .col(json_binary(McpCodes::Scopes))
                    .col(text(McpCodes::Resource))
                    .col(timestamp_with_time_zone(McpCodes::ExpiresAt))
                    // Set once redeemed; a second redemption revokes the grant.
                    .col(timestamp_with_time_zone_null(McpCodes::UsedAt))
                    .col(uuid_null(McpCodes::ApiKeyId))
                    .col(timestamp_with_time_zone(McpCodes::CreatedAt))
                    .take(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(McpTokens::Table)
                    .col(string(McpTokens::TokenHash).primary_key())
                    .col(string(McpTokens::Kind))
                    .col(uuid(McpTokens::ApiKeyId))
                    .col(timestamp_with_time_zone(McpTokens::ExpiresAt))
                    // A refresh token is used once; reuse betrays a leak.
                    .col(timestamp_with_time_zone_null(McpTokens::UsedAt))
                    .col(timestamp_with_time_zone(McpTokens::CreatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_mcp_tokens_api_key")
                            .from(McpTokens::Table, McpTokens::ApiKeyId)
                            .to(ApiKeys::Table, ApiKeys::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .take(),
            )
            .await?;
        manager
            .create_index(
                Index::create().name("idx_mcp_tokens_api_key").table(McpTokens::Table).col(McpTokens::ApiKeyId).take(),
            )
            .await?;
        manager
            .create_index(
                Index::create().name("idx_mcp_tokens_expires").table(McpTokens::Table).col(McpTokens::ExpiresAt).take(),
            )
            .await
    }
}
