//! `target_metrics`: the latest engagement counters of a published target
//! and when they were read.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "target_metrics")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub target_id: Uuid,
    /// `{"likes": 3, "reposts": 1, …}` as the platform last reported.
    pub metrics: Json,
    pub fetched_at: DateTimeUtc,
    /// Why the last fetch failed, if it did (the metrics are then older).
    pub last_error: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
