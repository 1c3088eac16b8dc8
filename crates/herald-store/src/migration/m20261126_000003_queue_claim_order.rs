//! The claim takes due targets in `(next_attempt_at, id)` order. With only
//! `(status, next_attempt_at)` indexed, targets due at the same instant
//! (100,000 posts scheduled for one minute) had to be read and sorted in
//! full at every claim; with `id` in the index the claim reads just the rows
//! it takes. The new index covers every query the old one served.

use sea_orm_migration::prelude::*;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261126_000003_queue_claim_order"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_index(
                Index::create()
                    .name("idx_targets_due")
                    .table(Alias::new("post_targets"))
                    .col(Alias::new("status"))
                    .col(Alias::new("next_attempt_at"))
                    .col(Alias::new("id"))
                    .take(),
            )
            .await?;
        manager.drop_index(Index::drop().name("idx_targets_queue").table(Alias::new("post_targets")).to_owned()).await
    }
}
