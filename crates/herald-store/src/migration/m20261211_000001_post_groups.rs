//! `posts.group_id`: posts made by one request of Postiz's public API
//! (`POST /public/v1/posts`) when its accounts got different media or
//! replies, which one Herald post cannot carry. Postiz deletes such a
//! group as a whole; the index finds its posts.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261211_000001_post_groups"
    }
}

#[derive(DeriveIden)]
enum Posts {
    Table,
    WorkspaceId,
    GroupId,
}

const INDEX: &str = "idx_posts_workspace_group";

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.alter_table(Table::alter().table(Posts::Table).add_column(uuid_null(Posts::GroupId)).take()).await?;
        manager
            .create_index(
                Index::create().name(INDEX).table(Posts::Table).col(Posts::WorkspaceId).col(Posts::GroupId).to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_index(Index::drop().name(INDEX).table(Posts::Table).to_owned()).await?;
        manager.alter_table(Table::alter().table(Posts::Table).drop_column(Posts::GroupId).take()).await
    }
}
