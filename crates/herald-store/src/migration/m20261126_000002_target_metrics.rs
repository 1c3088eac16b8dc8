//! Engagement metrics of published targets (likes, reposts, replies …), as
//! last fetched from the platform.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

pub struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261126_000002_target_metrics"
    }
}

#[derive(DeriveIden)]
enum TargetMetrics {
    Table,
    TargetId,
    Metrics,
    FetchedAt,
    LastError,
}

#[derive(DeriveIden)]
enum PostTargets {
    Table,
    Id,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(TargetMetrics::Table)
                    .col(pk_uuid(TargetMetrics::TargetId))
                    .col(json_binary(TargetMetrics::Metrics))
                    .col(timestamp_with_time_zone(TargetMetrics::FetchedAt))
                    .col(text_null(TargetMetrics::LastError))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_target_metrics_target")
                            .from(TargetMetrics::Table, TargetMetrics::TargetId)
                            .to(PostTargets::Table, PostTargets::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .take(),
            )
            .await
    }
}
