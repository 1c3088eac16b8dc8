//! `post_targets.content_key`: a hash of the target's normalised text
//! (`herald_core::compose::duplicate_key`), indexed with the account (key
//! first: `idx_targets_integration` already serves lookups by account), so
//! the duplicate-content warning finds earlier posts with the same text in
//! one index lookup instead of reading every post of a ±30-day window.
//! Existing targets get their key here. `idx_posts_workspace_published`,
//! which served the window scan this replaces, goes.

use herald_core::compose::duplicate_key;
use sea_orm::{ConnectionTrait, FromQueryResult};
use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;
use uuid::Uuid;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261210_000001_target_content_key"
    }
}

#[derive(DeriveIden)]
enum PostTargets {
    Table,
    Id,
    IntegrationId,
    ContentKey,
}

#[derive(DeriveIden)]
enum Posts {
    Table,
    WorkspaceId,
    PublishedAt,
}

const INDEX: &str = "idx_post_targets_integration_content_key";
const SUPERSEDED_INDEX: &str = "idx_posts_workspace_published";

/// Targets keyed per statement while filling the column.
const BATCH: u64 = 500;

#[derive(FromQueryResult)]
struct Unkeyed {
    id: Uuid,
    text: String,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter().table(PostTargets::Table).add_column(string_null(PostTargets::ContentKey)).take(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name(INDEX)
                    .table(PostTargets::Table)
                    .col(PostTargets::ContentKey)
                    .col(PostTargets::IntegrationId)
                    .to_owned(),
            )
            .await?;
        manager.drop_index(Index::drop().name(SUPERSEDED_INDEX).table(Posts::Table).to_owned()).await?;
        fill_keys(manager).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_index(
                Index::create()
                    .name(SUPERSEDED_INDEX)
                    .table(Posts::Table)
                    .col(Posts::WorkspaceId)
                    .col(Posts::PublishedAt)
                    .to_owned(),
            )
            .await?;
        manager.drop_index(Index::drop().name(INDEX).table(PostTargets::Table).to_owned()).await?;
        manager.alter_table(Table::alter().table(PostTargets::Table).drop_column(PostTargets::ContentKey).take()).await
    }
}

/// Keys every existing target, a batch at a time in id order. A text that
/// normalises to nothing keeps no key and is never a duplicate.
async fn fill_keys(manager: &SchemaManager<'_>) -> Result<(), DbErr> {
    let db = manager.get_connection();
    let backend = manager.get_database_backend();
    let mut after: Option<Uuid> = None;
    loop {
        let mut select = Query::select();
        select
            .column((PostTargets::Table, PostTargets::Id))
            .expr_as(
                Func::coalesce([
                    Expr::col((PostTargets::Table, Alias::new("content_override"))),
                    Expr::col((Alias::new("posts"), Alias::new("content"))),
                ]),
                Alias::new("text"),
            )
            .from(PostTargets::Table)
            .inner_join(
                Alias::new("posts"),
                Expr::col((Alias::new("posts"), Alias::new("id"))).equals((PostTargets::Table, Alias::new("post_id"))),
            )
            .order_by((PostTargets::Table, PostTargets::Id), Order::Asc)
            .limit(BATCH);
        if let Some(after) = after {
            select.and_where(Expr::col((PostTargets::Table, PostTargets::Id)).gt(after));
        }
        let rows = Unkeyed::find_by_statement(backend.build(&select)).all(db).await?;
        let Some(last) = rows.last() else { return Ok(()) };
        after = Some(last.id);
        for row in &rows {
            let Some(key) = duplicate_key(&row.text) else { continue };
            let update = Query::update()
                .table(PostTargets::Table)
                .value(PostTargets::ContentKey, key)
                .and_where(Expr::col(PostTargets::Id).eq(row.id))
                .to_owned();
            db.execute(&update).await?;
        }
    }
}
