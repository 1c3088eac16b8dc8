//! Users, workspaces, API keys, integrations, media, posts and their
//! targets, and the event log.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261126_000001_initial"
    }
}

#[derive(DeriveIden)]
enum Users {
    Table,
    Id,
    Email,
    PasswordHash,
    Name,
    Role,
    Timezone,
    IsDisabled,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum Workspaces {
    Table,
    Id,
    Name,
    CreatedAt,
}

#[derive(DeriveIden)]
enum WorkspaceMembers {
    Table,
    WorkspaceId,
    UserId,
    Role,
    CreatedAt,
}

#[derive(DeriveIden)]
enum ApiKeys {
    Table,
    Id,
    UserId,
    WorkspaceId,
    Name,
    KeyHash,
    Prefix,
    Scopes,
    LastUsedAt,
    ExpiresAt,
    IsActive,
    CreatedAt,
}

#[derive(DeriveIden)]
enum Integrations {
    Table,
    Id,
    WorkspaceId,
    CreatedBy,
    Platform,
    PlatformAccountId,
    PlatformUsername,
    DisplayName,
    AvatarUrl,
    Credentials,
    TokenExpiresAt,
    Scopes,
    Status,
    PostingTimes,
    Timezone,
    Settings,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum Media {
    Table,
    Id,
    WorkspaceId,
    CreatedBy,
    StorageKey,
    Mime,
    Size,
    Width,
    Height,
    AltText,
    CreatedAt,
}

#[derive(DeriveIden)]
enum Posts {
    Table,
    Id,
    WorkspaceId,
    CreatedBy,
    ApiKeyId,
    CreatedVia,
    Content,
    Media,
    Thread,
    Tags,
    Status,
    ScheduledFor,
    PublishedAt,
    ErrorMessage,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum PostTargets {
    Table,
    Id,
    PostId,
    IntegrationId,
    ContentOverride,
    Settings,
    Status,
    Attempts,
    NextAttemptAt,
    LeaseOwner,
    LeaseExpiresAt,
    PlatformPostIds,
    Url,
    LastErrorClass,
    LastErrorMessage,
    PublishedAt,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum Events {
    Table,
    Id,
    WorkspaceId,
    Kind,
    PostId,
    IntegrationId,
    ActorType,
    ActorId,
    Data,
    CreatedAt,
}

fn fk(
    name: &str,
    from: (impl IntoIden, impl IntoIden),
    to: (impl IntoIden, impl IntoIden),
    on_delete: ForeignKeyAction,
) -> ForeignKeyCreateStatement {
    ForeignKey::create().name(name).from(from.0, from.1).to(to.0, to.1).on_delete(on_delete).take()
}

fn index(name: &str, table: impl IntoIden, cols: &[&'static str]) -> IndexCreateStatement {
    let mut index = Index::create().name(name).table(table).take();
    for col in cols {
        index.col(Alias::new(*col));
    }
    index
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        use ForeignKeyAction::{Cascade, SetNull};

        manager
            .create_table(
                Table::create()
                    .table(Users::Table)
                    .col(pk_uuid(Users::Id))
                    .col(string_len_uniq(Users::Email, 254))
                    .col(string(Users::PasswordHash))
                    .col(string_len(Users::Name, 100))
                    .col(string_len(Users::Role, 16))
                    .col(string_len(Users::Timezone, 64))
                    .col(boolean(Users::IsDisabled).default(false))
                    .col(timestamp_with_time_zone(Users::CreatedAt))
                    .col(timestamp_with_time_zone(Users::UpdatedAt))
                    .take(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(Workspaces::Table)
                    .col(pk_uuid(Workspaces::Id))
                    .col(string_len(Workspaces::Name, 100))
                    .col(timestamp_with_time_zone(Workspaces::CreatedAt))
                    .take(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(WorkspaceMembers::Table)
                    .col(uuid(WorkspaceMembers::WorkspaceId))
                    .col(uuid(WorkspaceMembers::UserId))
                    .col(string_len(WorkspaceMembers::Role, 16))
                    .col(timestamp_with_time_zone(WorkspaceMembers::CreatedAt))
                    .primary_key(Index::create().col(WorkspaceMembers::WorkspaceId).col(WorkspaceMembers::UserId))
                    .foreign_key(&mut fk(
                        "fk_members_workspace",
                        (WorkspaceMembers::Table, WorkspaceMembers::WorkspaceId),
                        (Workspaces::Table, Workspaces::Id),
                        Cascade,
                    ))
                    .foreign_key(&mut fk(
                        "fk_members_user",
                        (WorkspaceMembers::Table, WorkspaceMembers::UserId),
                        (Users::Table, Users::Id),
                        Cascade,
                    ))
                    .take(),
            )
            .await?;
        manager.create_index(index("idx_members_user", WorkspaceMembers::Table, &["user_id"])).await?;

        manager
            .create_table(
                Table::create()
                    .table(ApiKeys::Table)
                    .col(pk_uuid(ApiKeys::Id))
                    .col(uuid(ApiKeys::UserId))
                    .col(uuid(ApiKeys::WorkspaceId))
                    .col(string_len(ApiKeys::Name, 100))
                    .col(string_len_uniq(ApiKeys::KeyHash, 64))
                    .col(string_len(ApiKeys::Prefix, 16))
                    .col(json_binary(ApiKeys::Scopes))
                    .col(timestamp_with_time_zone_null(ApiKeys::LastUsedAt))
                    .col(timestamp_with_time_zone_null(ApiKeys::ExpiresAt))
                    .col(boolean(ApiKeys::IsActive).default(true))
                    .col(timestamp_with_time_zone(ApiKeys::CreatedAt))
                    .foreign_key(&mut fk(
                        "fk_api_keys_user",
                        (ApiKeys::Table, ApiKeys::UserId),
                        (Users::Table, Users::Id),
                        Cascade,
                    ))
                    .foreign_key(&mut fk(
                        "fk_api_keys_workspace",
                        (ApiKeys::Table, ApiKeys::WorkspaceId),
                        (Workspaces::Table, Workspaces::Id),
                        Cascade,
                    ))
                    .take(),
            )
            .await?;
        manager.create_index(index("idx_api_keys_user", ApiKeys::Table, &["user_id"])).await?;

        manager
            .create_table(
                Table::create()
                    .table(Integrations::Table)
                    .col(pk_uuid(Integrations::Id))
                    .col(uuid(Integrations::WorkspaceId))
                    .col(uuid_null(Integrations::CreatedBy))
                    .col(string_len(Integrations::Platform, 32))
                    .col(string(Integrations::PlatformAccountId))
                    .col(string(Integrations::PlatformUsername))
                    .col(string_len(Integrations::DisplayName, 100))
                    .col(text_null(Integrations::AvatarUrl))
                    .col(text_null(Integrations::Credentials))
                    .col(timestamp_with_time_zone_null(Integrations::TokenExpiresAt))
                    .col(json_binary(Integrations::Scopes))
                    .col(string_len(Integrations::Status, 24))
                    .col(json_binary(Integrations::PostingTimes))
                    .col(string_len(Integrations::Timezone, 64))
                    .col(json_binary(Integrations::Settings))
                    .col(timestamp_with_time_zone(Integrations::CreatedAt))
                    .col(timestamp_with_time_zone(Integrations::UpdatedAt))
                    .foreign_key(&mut fk(
                        "fk_integrations_workspace",
                        (Integrations::Table, Integrations::WorkspaceId),
                        (Workspaces::Table, Workspaces::Id),
                        Cascade,
                    ))
                    .foreign_key(&mut fk(
                        "fk_integrations_creator",
                        (Integrations::Table, Integrations::CreatedBy),
                        (Users::Table, Users::Id),
                        SetNull,
                    ))
                    .take(),
            )
            .await?;
        manager
            .create_index(
                index(
                    "uq_integrations_account",
                    Integrations::Table,
                    &["workspace_id", "platform", "platform_account_id"],
                )
                .unique()
                .take(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(Media::Table)
                    .col(pk_uuid(Media::Id))
                    .col(uuid(Media::WorkspaceId))
                    .col(uuid_null(Media::CreatedBy))
                    .col(string_uniq(Media::StorageKey))
                    .col(string_len(Media::Mime, 100))
                    .col(big_integer(Media::Size))
                    .col(integer_null(Media::Width))
                    .col(integer_null(Media::Height))
                    .col(text_null(Media::AltText))
                    .col(timestamp_with_time_zone(Media::CreatedAt))
                    .foreign_key(&mut fk(
                        "fk_media_workspace",
                        (Media::Table, Media::WorkspaceId),
                        (Workspaces::Table, Workspaces::Id),
                        Cascade,
                    ))
                    .foreign_key(&mut fk(
                        "fk_media_creator",
                        (Media::Table, Media::CreatedBy),
                        (Users::Table, Users::Id),
                        SetNull,
                    ))
                    .take(),
            )
            .await?;
        manager.create_index(index("idx_media_workspace", Media::Table, &["workspace_id", "created_at"])).await?;

        manager
            .create_table(
                Table::create()
                    .table(Posts::Table)
                    .col(pk_uuid(Posts::Id))
                    .col(uuid(Posts::WorkspaceId))
                    .col(uuid_null(Posts::CreatedBy))
                    .col(uuid_null(Posts::ApiKeyId))
                    .col(string_len(Posts::CreatedVia, 16))
                    .col(text(Posts::Content))
                    .col(json_binary(Posts::Media))
                    .col(json_binary(Posts::Thread))
                    .col(json_binary(Posts::Tags))
                    .col(string_len(Posts::Status, 16))
                    .col(timestamp_with_time_zone_null(Posts::ScheduledFor))
                    .col(timestamp_with_time_zone_null(Posts::PublishedAt))
                    .col(text_null(Posts::ErrorMessage))
                    .col(timestamp_with_time_zone(Posts::CreatedAt))
                    .col(timestamp_with_time_zone(Posts::UpdatedAt))
                    .foreign_key(&mut fk(
                        "fk_posts_workspace",
                        (Posts::Table, Posts::WorkspaceId),
                        (Workspaces::Table, Workspaces::Id),
                        Cascade,
                    ))
                    .foreign_key(&mut fk(
                        "fk_posts_creator",
                        (Posts::Table, Posts::CreatedBy),
                        (Users::Table, Users::Id),
                        SetNull,
                    ))
                    .foreign_key(&mut fk(
                        "fk_posts_api_key",
                        (Posts::Table, Posts::ApiKeyId),
                        (ApiKeys::Table, ApiKeys::Id),
                        SetNull,
                    ))
                    .take(),
            )
            .await?;
        manager
            .create_index(index("idx_posts_workspace_created", Posts::Table, &["workspace_id", "created_at", "id"]))
            .await?;
        manager
            .create_index(index("idx_posts_workspace_scheduled", Posts::Table, &["workspace_id", "scheduled_for"]))
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(PostTargets::Table)
                    .col(pk_uuid(PostTargets::Id))
                    .col(uuid(PostTargets::PostId))
                    .col(uuid(PostTargets::IntegrationId))
                    .col(text_null(PostTargets::ContentOverride))
                    .col(json_binary(PostTargets::Settings))
                    .col(string_len(PostTargets::Status, 16))
                    .col(integer(PostTargets::Attempts).default(0))
                    .col(timestamp_with_time_zone_null(PostTargets::NextAttemptAt))
                    .col(string_len_null(PostTargets::LeaseOwner, 64))
                    .col(timestamp_with_time_zone_null(PostTargets::LeaseExpiresAt))
                    .col(json_binary(PostTargets::PlatformPostIds))
                    .col(text_null(PostTargets::Url))
                    .col(string_len_null(PostTargets::LastErrorClass, 24))
                    .col(text_null(PostTargets::LastErrorMessage))
                    .col(timestamp_with_time_zone_null(PostTargets::PublishedAt))
                    .col(timestamp_with_time_zone(PostTargets::CreatedAt))
                    .col(timestamp_with_time_zone(PostTargets::UpdatedAt))
                    .foreign_key(&mut fk(
                        "fk_targets_post",
                        (PostTargets::Table, PostTargets::PostId),
                        (Posts::Table, Posts::Id),
                        Cascade,
                    ))
                    .foreign_key(&mut fk(
                        "fk_targets_integration",
                        (PostTargets::Table, PostTargets::IntegrationId),
                        (Integrations::Table, Integrations::Id),
                        Cascade,
                    ))
                    .take(),
            )
            .await?;
        manager
            .create_index(
                index("uq_targets_post_integration", PostTargets::Table, &["post_id", "integration_id"])
                    .unique()
                    .take(),
            )
            .await?;
        // The publishing queue: due targets are found by (status, next_attempt_at).
        manager.create_index(index("idx_targets_queue", PostTargets::Table, &["status", "next_attempt_at"])).await?;
        manager.create_index(index("idx_targets_integration", PostTargets::Table, &["integration_id"])).await?;

        manager
            .create_table(
                Table::create()
                    .table(Events::Table)
                    .col(pk_uuid(Events::Id))
                    .col(uuid(Events::WorkspaceId))
                    .col(string_len(Events::Kind, 48))
                    .col(uuid_null(Events::PostId))
                    .col(uuid_null(Events::IntegrationId))
                    .col(string_len(Events::ActorType, 16))
                    .col(uuid_null(Events::ActorId))
                    .col(json_binary(Events::Data))
                    .col(timestamp_with_time_zone(Events::CreatedAt))
                    .foreign_key(&mut fk(
                        "fk_events_workspace",
                        (Events::Table, Events::WorkspaceId),
                        (Workspaces::Table, Workspaces::Id),
                        Cascade,
                    ))
                    .take(),
            )
            .await?;
        manager
            .create_index(index("idx_events_workspace_created", Events::Table, &["workspace_id", "created_at"]))
            .await?;
        Ok(())
    }
}
