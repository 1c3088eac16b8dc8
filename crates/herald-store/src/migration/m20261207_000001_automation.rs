//! Content automation: recurring series on posts (the rule, each
//! occurrence's parent and time, when the next one is due), `externalId`
//! for idempotent imports, and RSS/Atom feeds with the items already seen.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261207_000001_automation"
    }
}

#[derive(DeriveIden)]
enum Posts {
    Table,
    WorkspaceId,
    Recurrence,
    SeriesId,
    OccurrenceAt,
    NextOccurrenceAt,
    ExternalId,
}

#[derive(DeriveIden)]
enum Feeds {
    Table,
    Id,
    WorkspaceId,
    CreatedBy,
    Url,
    Platforms,
    Template,
    Mode,
    PollMinutes,
    Etag,
    LastModified,
    Primed,
    NextPollAt,
    LeaseUntil,
    LastPolledAt,
    LastStatus,
    LastError,
    ItemsPosted,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum FeedItems {
    Table,
    FeedId,
    ItemKey,
    Title,
    PostId,
    SeenAt,
}

#[derive(DeriveIden)]
enum Workspaces {
    Table,
    Id,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // SQLite adds one column per ALTER TABLE.
        let columns = [
            json_binary_null(Posts::Recurrence),
            uuid_null(Posts::SeriesId),
            timestamp_with_time_zone_null(Posts::OccurrenceAt),
            timestamp_with_time_zone_null(Posts::NextOccurrenceAt),
            string_null(Posts::ExternalId),
        ];
        for mut column in columns {
            manager.alter_table(Table::alter().table(Posts::Table).add_column(&mut column).take()).await?;
        }
        // One post per occurrence of a series, whichever process got there first.
        manager
            .create_index(
                Index::create()
                    .name("idx_posts_series_occurrence")
                    .table(Posts::Table)
                    .col(Posts::SeriesId)
                    .col(Posts::OccurrenceAt)
                    .unique()
                    .take(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_posts_next_occurrence")
                    .table(Posts::Table)
                    .col(Posts::NextOccurrenceAt)
                    .take(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_posts_workspace_external")
                    .table(Posts::Table)
                    .col(Posts::WorkspaceId)
                    .col(Posts::ExternalId)
                    .unique()
                    .take(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(Feeds::Table)
                    .col(pk_uuid(Feeds::Id))
                    .col(uuid(Feeds::WorkspaceId))
                    .col(uuid(Feeds::CreatedBy))
                    .col(text(Feeds::Url))
                    .col(json_binary(Feeds::Platforms))
                    .col(text(Feeds::Template))
                    .col(string(Feeds::Mode))
                    .col(integer(Feeds::PollMinutes))
                    .col(text_null(Feeds::Etag))
                    .col(text_null(Feeds::LastModified))
                    // False until the first poll marked what was already there as seen.
                    .col(boolean(Feeds::Primed).default(false))
                    .col(timestamp_with_time_zone(Feeds::NextPollAt))
                    .col(timestamp_with_time_zone_null(Feeds::LeaseUntil))
                    .col(timestamp_with_time_zone_null(Feeds::LastPolledAt))
                    .col(integer_null(Feeds::LastStatus))
                    .col(text_null(Feeds::LastError))
                    .col(integer(Feeds::ItemsPosted).default(0))
                    .col(timestamp_with_time_zone(Feeds::CreatedAt))
                    .col(timestamp_with_time_zone(Feeds::UpdatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_feeds_workspace")
                            .from(Feeds::Table, Feeds::WorkspaceId)
                            .to(Workspaces::Table, Workspaces::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .take(),
            )
            .await?;
        manager
            .create_index(
                Index::create().name("idx_feeds_workspace").table(Feeds::Table).col(Feeds::WorkspaceId).take(),
            )
            .await?;
        manager
            .create_index(Index::create().name("idx_feeds_due").table(Feeds::Table).col(Feeds::NextPollAt).take())
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(FeedItems::Table)
                    .col(uuid(FeedItems::FeedId))
                    // The item's guid/id, else its link.
                    .col(text(FeedItems::ItemKey))
                    .col(text_null(FeedItems::Title))
                    .col(uuid_null(FeedItems::PostId))
                    .col(timestamp_with_time_zone(FeedItems::SeenAt))
                    // The key is what makes an item go out once, across
                    // restarts and processes.
                    .primary_key(Index::create().col(FeedItems::FeedId).col(FeedItems::ItemKey))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_feed_items_feed")
                            .from(FeedItems::Table, FeedItems::FeedId)
                            .to(Feeds::Table, Feeds::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .take(),
            )
            .await
    }
}
