//! Integrations whose profile (display name, avatar) could not be read when
//! they were connected: connecting did not fail for it, and the lookup is
//! tried again later.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261204_000002_integration_profile_pending"
    }
}

#[derive(DeriveIden)]
enum Integrations {
    Table,
    ProfilePending,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(Integrations::Table)
                    .add_column(boolean(Integrations::ProfilePending).default(false))
                    .take(),
            )
            .await
    }
}
