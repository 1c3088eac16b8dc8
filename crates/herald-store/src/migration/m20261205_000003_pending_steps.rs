//! A target whose platform is still processing its media (a container, an
//! upload session, a publish id): the handle to ask about, stored before
//! the worker lets go of the target, so no restart starts a second one.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261205_000003_pending_steps"
    }
}

#[derive(DeriveIden)]
enum PostTargets {
    Table,
    Pending,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter().table(PostTargets::Table).add_column(json_binary_null(PostTargets::Pending)).take(),
            )
            .await
    }
}
