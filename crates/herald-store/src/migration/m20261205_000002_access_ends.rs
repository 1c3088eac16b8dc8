//! When an integration's access ends for good — a token that cannot be
//! refreshed, or a refresh token with a lifetime — and which advance notice
//! (7 days, then 1 day) was already given for it.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261205_000002_access_ends"
    }
}

#[derive(DeriveIden)]
enum Integrations {
    Table,
    AccessEndsAt,
    ExpiryNoticeDays,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(Integrations::Table)
                    .add_column(timestamp_with_time_zone_null(Integrations::AccessEndsAt))
                    .take(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(Integrations::Table)
                    .add_column(integer_null(Integrations::ExpiryNoticeDays))
                    .take(),
            )
            .await
    }
}
