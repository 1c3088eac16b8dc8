//! Analytics: how each post did on each platform, and an integration's
//! daily activity. Delivery facts come from the targets; engagement
//! metrics are added by the platforms that expose them.

use herald_core::post::{PostStatus, TargetStatus};
use herald_store::StoreResult;
use herald_store::content::decode;
use std::collections::BTreeMap;

use chrono::{DateTime, Duration, NaiveDate, Utc};
use herald_core::api_key::Scope;
use herald_store::repo::{Engagement, Integrations, Posts};
use serde::Serialize;
use uuid::Uuid;

use crate::App;
use crate::caller::Caller;
use crate::error::{AppError, AppResult};

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TargetAnalytics {
    pub integration_id: Uuid,
    pub platform: String,
    pub integration_name: String,
    pub status: TargetStatus,
    pub url: Option<String>,
    pub platform_post_ids: Vec<String>,
    pub published_at: Option<DateTime<Utc>>,
    pub attempts: i32,
    /// Engagement reported by the platform (likes, reposts, replies …);
    /// empty until the platform's metrics have been fetched.
    #[schema(value_type = Object)]
    pub metrics: BTreeMap<String, i64>,
    /// When the platform was last asked; `null` before the first time.
    pub metrics_fetched_at: Option<DateTime<Utc>>,
    /// Why the last attempt to read the metrics failed, if it did.
    pub metrics_error: Option<String>,
}

#[derive(Clone)]
struct MetricsView {
    values: BTreeMap<String, i64>,
    fetched_at: DateTime<Utc>,
    last_error: Option<String>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PostAnalytics {
    pub post_id: Uuid,
    pub status: PostStatus,
    pub published_at: Option<DateTime<Utc>>,
    pub targets: Vec<TargetAnalytics>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct DailyActivity {
    pub date: NaiveDate,
    pub published: u32,
    pub failed: u32,
    /// Engagement of the posts published that day, summed (as last fetched).
    #[schema(value_type = Object)]
    pub metrics: BTreeMap<String, i64>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct IntegrationAnalytics {
    pub integration_id: Uuid,
    pub platform: String,
    pub days: u32,
    pub published: u32,
    pub failed: u32,
    /// Engagement over the period, summed.
    #[schema(value_type = Object)]
    pub metrics: BTreeMap<String, i64>,
    /// One entry per day, oldest first, days without activity included.
    pub daily: Vec<DailyActivity>,
}

impl App {
    pub async fn post_analytics(&self, caller: &Caller, post_id: Uuid) -> AppResult<PostAnalytics> {
        caller.require(Scope::AnalyticsRead)?;
        let posts = Posts(self.store.conn());
        let post = posts.get(caller.workspace_id, post_id).await?.ok_or(AppError::NotFound("post"))?;
        let targets = posts.targets_of(&[post_id]).await?;
        let ids: Vec<Uuid> = targets.iter().map(|t| t.target.id).collect();
        let engagement = Engagement(self.store.conn()).for_targets(&ids).await?;
        let mut metrics = BTreeMap::new();
        for m in &engagement {
            let values = decode(&m.metrics, "target_metrics.metrics", m.target_id)?;
            metrics.insert(
                m.target_id,
                MetricsView { values, fetched_at: m.fetched_at, last_error: m.last_error.clone() },
            );
        }
        let metrics_of = |id: Uuid| metrics.get(&id).cloned();
        Ok(PostAnalytics {
            post_id,
            status: post.status,
            published_at: post.published_at,
            targets: targets
                .into_iter()
                .map(|t| -> StoreResult<TargetAnalytics> {
                    Ok(TargetAnalytics {
                        integration_id: t.target.integration_id,
                        platform: t.platform,
                        integration_name: t.integration_name,
                        status: t.target.status,
                        url: t.target.url,
                        platform_post_ids: decode(
                            &t.target.platform_post_ids,
                            "post_targets.platform_post_ids",
                            t.target.id,
                        )?,
                        published_at: t.target.published_at,
                        attempts: t.target.attempts,
                        metrics: metrics_of(t.target.id).map(|m| m.values.clone()).unwrap_or_default(),
                        metrics_fetched_at: metrics_of(t.target.id).map(|m| m.fetched_at),
                        metrics_error: metrics_of(t.target.id).and_then(|m| m.last_error),
                    })
                })
                .collect::<StoreResult<_>>()?,
        })
    }

    pub async fn integration_analytics(
        &self,
        caller: &Caller,
        integration_id: Uuid,
        days: Option<u32>,
    ) -> AppResult<IntegrationAnalytics> {
        caller.require(Scope::AnalyticsRead)?;
        let days = days.unwrap_or(30);
        if !(1..=365).contains(&days) {
            return Err(herald_core::ValidationError::new("days", "must be between 1 and 365").into());
        }
        let integration = Integrations(self.store.conn())
            .get(caller.workspace_id, integration_id)
            .await?
            .ok_or(AppError::NotFound("integration"))?;
        let today = self.now().date_naive();
        let first = today - Duration::days(i64::from(days) - 1);
        let since = first.and_hms_opt(0, 0, 0).unwrap_or_default().and_utc();
        let mut daily: BTreeMap<NaiveDate, DailyActivity> = (0..days)
            .map(|offset| {
                let date = first + Duration::days(i64::from(offset));
                (date, DailyActivity { date, published: 0, failed: 0, metrics: BTreeMap::new() })
            })
            .collect();
        let targets = Posts(self.store.conn()).finished_targets_of(integration_id, since).await?;
        let ids: Vec<Uuid> = targets.iter().filter(|t| t.status == TargetStatus::Published).map(|t| t.id).collect();
        let engagement = Engagement(self.store.conn()).for_targets(&ids).await?;
        for target in targets {
            let day = target.published_at.unwrap_or(target.updated_at).date_naive();
            let Some(entry) = daily.get_mut(&day) else { continue };
            if target.status != TargetStatus::Published {
                entry.failed += 1;
                continue;
            }
            entry.published += 1;
            if let Some(row) = engagement.iter().find(|m| m.target_id == target.id) {
                let values: BTreeMap<String, i64> = decode(&row.metrics, "target_metrics.metrics", row.target_id)?;
                for (name, value) in values {
                    *entry.metrics.entry(name).or_default() += value;
                }
            }
        }
        let daily: Vec<DailyActivity> = daily.into_values().collect();
        Ok(IntegrationAnalytics {
            integration_id,
            platform: integration.platform,
            days,
            published: daily.iter().map(|d| d.published).sum(),
            failed: daily.iter().map(|d| d.failed).sum(),
            metrics: daily.iter().flat_map(|d| &d.metrics).fold(BTreeMap::new(), |mut totals, (name, value)| {
                *totals.entry(name.clone()).or_default() += value;
                totals
            }),
            daily,
        })
    }
}
