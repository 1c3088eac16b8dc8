//! Engagement metrics of published targets: which targets are due for a
//! fresh reading (recently published ones more often), and the latest
//! counters per target.

use chrono::{DateTime, Utc};
use herald_core::integration::IntegrationStatus;
use herald_core::post::TargetStatus;
use sea_orm::sea_query::OnConflict;
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, IntoActiveModel, QueryFilter, QueryOrder, QuerySelect};
use uuid::Uuid;

use crate::entity::{integration, post_target, target_metric};
use crate::{IntegrationRow, StoreResult, TargetMetricRow, TargetRow};

/// Engagement metrics of published targets.
pub struct Engagement<'a, C>(pub &'a C);

impl<C: ConnectionTrait> Engagement<'_, C> {
    /// Published targets on `platforms` since `published_since` whose
    /// metrics are missing or older than `fetched_before`, least recently
    /// fetched first, with their integration.
    pub async fn due(
        &self,
        platforms: &[&str],
        published_since: DateTime<Utc>,
        fetched_before: DateTime<Utc>,
        limit: usize,
    ) -> StoreResult<Vec<(TargetRow, IntegrationRow, Option<TargetMetricRow>)>> {
        if platforms.is_empty() {
            return Ok(Vec::new());
        }
        let integrations = integration::Entity::find()
            .filter(integration::Column::Platform.is_in(platforms.iter().copied()))
            .filter(integration::Column::Status.eq(IntegrationStatus::Active))
            .all(self.0)
            .await?;
        if integrations.is_empty() {
            return Ok(Vec::new());
        }
        let targets = post_target::Entity::find()
            .filter(post_target::Column::Status.eq(TargetStatus::Published))
            .filter(post_target::Column::PublishedAt.gte(published_since))
            .filter(post_target::Column::IntegrationId.is_in(integrations.iter().map(|i| i.id)))
            .order_by_desc(post_target::Column::PublishedAt)
            .limit(5000)
            .all(self.0)
            .await?;
        let known = self.for_targets(&targets.iter().map(|t| t.id).collect::<Vec<_>>()).await?;
        let mut due: Vec<_> = targets
            .into_iter()
            .filter_map(|target| {
                let metrics = known.iter().find(|m| m.target_id == target.id).cloned();
                if metrics.as_ref().is_some_and(|m| m.fetched_at >= fetched_before) {
                    return None;
                }
                let integration = integrations.iter().find(|i| i.id == target.integration_id)?.clone();
                Some((target, integration, metrics))
            })
            .collect();
        due.sort_by_key(|(_, _, metrics)| metrics.as_ref().map(|m| m.fetched_at));
        due.truncate(limit);
        Ok(due)
    }

    pub async fn for_targets(&self, ids: &[Uuid]) -> StoreResult<Vec<TargetMetricRow>> {
        let mut rows = Vec::new();
        // Bounded IN lists: SQLite caps the number of bound parameters.
        for chunk in ids.chunks(500) {
            rows.extend(
                target_metric::Entity::find()
                    .filter(target_metric::Column::TargetId.is_in(chunk.iter().copied()))
                    .all(self.0)
                    .await?,
            );
        }
        Ok(rows)
    }

    pub async fn save(&self, row: TargetMetricRow) -> StoreResult<()> {
        target_metric::Entity::insert(row.into_active_model())
            .on_conflict(
                OnConflict::column(target_metric::Column::TargetId)
                    .update_columns([
                        target_metric::Column::Metrics,
                        target_metric::Column::FetchedAt,
                        target_metric::Column::LastError,
                    ])
                    .to_owned(),
            )
            .exec(self.0)
            .await?;
        Ok(())
    }
}
