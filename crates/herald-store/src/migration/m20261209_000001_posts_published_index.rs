//! Posts by workspace and publication time: duplicate warnings look up
//! what was published in a window around a new post, beside what is
//! scheduled in it (`idx_posts_workspace_scheduled`).

use sea_orm_migration::prelude::*;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261209_000001_posts_published_index"
    }
}

#[derive(DeriveIden)]
enum Posts {
    Table,
    WorkspaceId,
    PublishedAt,
}

const INDEX: &str = "idx_posts_workspace_published";

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_index(
                Index::create()
                    .name(INDEX)
                    .table(Posts::Table)
                    .col(Posts::WorkspaceId)
                    .col(Posts::PublishedAt)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_index(Index::drop().name(INDEX).table(Posts::Table).to_owned()).await
    }
}
