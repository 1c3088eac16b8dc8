//! Recurring and evergreen posts: each occurrence after the first becomes a
//! post of its own shortly before it is due, made once whichever process
//! gets there first (a unique index on series and occurrence time), then
//! published by the ordinary engine with its exactly-once guarantees.

use chrono::{DateTime, Duration, Utc};
use herald_core::api_key::Scope;
use herald_core::event::{ActorType, EventKind};
use herald_core::post::{PostStatus, TargetStatus};
use herald_core::recurrence::{Evergreen, RuleSeries, Series};
use herald_store::repo::{Events, Integrations, NewEvent, Posts};
use herald_store::{PostRow, TargetRow};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::App;
use crate::caller::Caller;
use crate::error::{AppError, AppResult};
use crate::integrations::free_slot;

/// How early an occurrence becomes a post: it shows in the calendar and the
/// worker finds it on time.
const LEAD: Duration = Duration::minutes(15);
/// An occurrence missed by more than this (Herald was down) is skipped
/// rather than published late in a burst.
const CATCH_UP: Duration = Duration::hours(1);
/// Series handled per round.
const BATCH: u64 = 100;

/// `GET /posts/{id}/occurrences`.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct OccurrencesView {
    pub post_id: Uuid,
    pub recurrence: Option<RuleSeries>,
    pub evergreen: Option<Evergreen>,
    /// When the next occurrence is due; `null` when the series ended or
    /// does not run (a draft).
    pub next_occurrence_at: Option<DateTime<Utc>>,
    /// The first post, the occurrences made so far, then the planned ones.
    pub occurrences: Vec<OccurrenceView>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct OccurrenceView {
    /// 0 is the post itself.
    pub index: usize,
    pub scheduled_for: DateTime<Utc>,
    /// The occurrence's own post, once made.
    pub post_id: Option<Uuid>,
    /// The post's status, `PLANNED` before it is made, or `SKIPPED` when
    /// Herald was not running at its time.
    pub status: String,
    pub published_at: Option<DateTime<Utc>>,
}

/// Query of `GET /posts/{id}/occurrences`.
#[derive(Debug, Clone, Default, Deserialize, utoipa::IntoParams)]
#[serde(rename_all = "camelCase")]
#[into_params(parameter_in = Query)]
pub struct OccurrencesQuery {
    /// How many planned occurrences to list, 1–100 (default 10).
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<u64>,
}

impl App {
    /// The occurrences of the series a post starts (or belongs to).
    pub async fn occurrences(&self, caller: &Caller, id: Uuid, query: OccurrencesQuery) -> AppResult<OccurrencesView> {
        caller.require(Scope::PostsRead)?;
        let limit = match query.limit {
            None => 10,
            Some(n @ 1..=100) => n as usize,
            Some(_) => return Err(herald_core::ValidationError::new("limit", "between 1 and 100").into()),
        };
        let posts = Posts(self.store.conn());
        let mut post = posts.get(caller.workspace_id, id).await?.ok_or(AppError::NotFound("post"))?;
        // An occurrence answers for its whole series, while that still exists.
        if let Some(series_id) = post.series_id
            && let Some(first) = posts.get(caller.workspace_id, series_id).await?
        {
            post = first;
        }
        let series = post.recurrence.as_ref().and_then(Series::from_json);
        let made = posts.occurrences_of(post.id).await?;
        let occurrences = match (&series, post.scheduled_for) {
            (Some(Series::Rule(rule)), Some(start)) => listed_rule(&post, rule, start, &made, limit),
            _ => listed_made(&post, &made),
        };
        Ok(OccurrencesView {
            post_id: post.id,
            recurrence: match &series {
                Some(Series::Rule(rule)) => Some(rule.clone()),
                _ => None,
            },
            evergreen: match series {
                Some(Series::Evergreen(evergreen)) => Some(evergreen),
                _ => None,
            },
            next_occurrence_at: post.next_occurrence_at,
            occurrences,
        })
    }

    /// Makes the posts of the occurrences due soon; returns how many.
    /// Safe to run in any number of processes at once.
    pub async fn run_series_once(&self) -> AppResult<usize> {
        let now = self.now();
        let mut made = 0;
        for first in Posts(self.store.conn()).due_series(now + LEAD, BATCH).await? {
            match self.advance(&first, now).await {
                Ok(true) => made += 1,
                Ok(false) => {}
                Err(error) => tracing::warn!(post_id = %first.id, %error, "series occurrence not made"),
            }
        }
        Ok(made)
    }

    /// Handles the due occurrence of one series: makes its post (or skips a
    /// long-missed one) and moves the series on, in one transaction.
    async fn advance(&self, first: &PostRow, now: DateTime<Utc>) -> AppResult<bool> {
        let Some(due) = first.next_occurrence_at else { return Ok(false) };
        let txn = self.store.begin_write().await?;
        let posts = Posts(&txn);
        let series = first.recurrence.as_ref().and_then(Series::from_json);
        let (Some(series), Some(start)) = (series, first.scheduled_for) else {
            posts.advance_series(first.id, due, None).await?;
            txn.commit().await.map_err(AppError::internal)?;
            return Ok(false);
        };
        let sources = posts.targets_of(&[first.id]).await?;
        if sources.is_empty() {
            // Every account of the series was disconnected: nothing to post to.
            posts.advance_series(first.id, due, None).await?;
            txn.commit().await.map_err(AppError::internal)?;
            return Ok(false);
        }
        let (at, next) = match &series {
            Series::Rule(_) => {
                let next = series.next_after(start, due);
                if due + CATCH_UP < now {
                    tracing::warn!(post_id = %first.id, %due, "series occurrence missed while Herald was down; skipped");
                    posts.advance_series(first.id, due, next).await?;
                    txn.commit().await.map_err(AppError::internal)?;
                    return Ok(false);
                }
                (due, next)
            }
            Series::Evergreen(evergreen) => {
                // Again `everyDays` after the latest time went out; while it
                // has not gone out yet, look again once it should have.
                let made = posts.occurrences_of(first.id).await?;
                let latest = made.last().unwrap_or(first);
                let base = match latest.status {
                    PostStatus::Published => latest.published_at.or(latest.scheduled_for),
                    PostStatus::Failed => latest.scheduled_for,
                    _ => None,
                };
                let Some(base) = base else {
                    let later = latest.scheduled_for.map_or(now, |t| t.max(now)) + Duration::hours(1);
                    posts.advance_series(first.id, due, Some(later)).await?;
                    txn.commit().await.map_err(AppError::internal)?;
                    return Ok(false);
                };
                match series.next_after(start, base) {
                    None => {
                        posts.advance_series(first.id, due, None).await?;
                        txn.commit().await.map_err(AppError::internal)?;
                        return Ok(false);
                    }
                    Some(at) if at > now + LEAD => {
                        posts.advance_series(first.id, due, Some(at)).await?;
                        txn.commit().await.map_err(AppError::internal)?;
                        return Ok(false);
                    }
                    Some(at) => {
                        let check = at + Duration::days(i64::from(evergreen.every_days));
                        (at, evergreen.until.is_none_or(|until| check <= until).then_some(check))
                    }
                }
            }
        };
        if !posts.advance_series(first.id, due, next).await? {
            // Another process handled this occurrence.
            return Ok(false);
        }
        let occurrence_id = Uuid::now_v7();
        let mut targets: Vec<TargetRow> = sources
            .iter()
            .map(|source| TargetRow {
                id: Uuid::now_v7(),
                post_id: occurrence_id,
                integration_id: source.target.integration_id,
                content_override: source.target.content_override.clone(),
                content_key: source.target.content_key.clone(),
                settings: source.target.settings.clone(),
                status: TargetStatus::Queued,
                attempts: 0,
                next_attempt_at: Some(at.max(now)),
                lease_owner: None,
                lease_expires_at: None,
                platform_post_ids: serde_json::json!([]),
                url: None,
                last_error_class: None,
                last_error_message: None,
                published_at: None,
                pending: None,
                created_at: now,
                updated_at: now,
            })
            .collect();
        if matches!(series, Series::Evergreen(_)) {
            // Re-queued: each account's next free posting slot from then on.
            for target in &mut targets {
                if let Some(row) = Integrations(&txn).by_id(target.integration_id).await? {
                    let taken = posts.queued_times(row.id).await?;
                    target.next_attempt_at = Some(free_slot(&row, at.max(now), &taken)?);
                }
            }
        }
        let scheduled_for = targets.iter().filter_map(|t| t.next_attempt_at).min().unwrap_or(at);
        let row = PostRow {
            id: occurrence_id,
            status: PostStatus::Scheduled,
            scheduled_for: Some(scheduled_for),
            published_at: None,
            error_message: None,
            recurrence: None,
            series_id: Some(first.id),
            occurrence_at: Some(at),
            next_occurrence_at: None,
            external_id: None,
            group_id: None,
            created_at: now,
            updated_at: now,
            ..first.clone()
        };
        if !posts.insert_occurrence(row.clone(), targets).await? {
            return Ok(false);
        }
        let event = Events(&txn)
            .append(NewEvent {
                at: now,
                workspace_id: row.workspace_id,
                kind: EventKind::PostScheduled,
                post_id: Some(row.id),
                integration_id: None,
                actor_type: ActorType::System,
                actor_id: None,
                data: serde_json::json!({
                    "status": row.status,
                    "scheduledFor": row.scheduled_for,
                    "seriesId": first.id,
                    "occurrenceAt": at,
                }),
            })
            .await?;
        txn.commit().await.map_err(AppError::internal)?;
        self.committed(vec![event]).await;
        tracing::info!(post_id = %row.id, series_id = %first.id, %at, "series occurrence scheduled");
        Ok(true)
    }
}

fn entry(index: usize, post: &PostRow, at: DateTime<Utc>) -> OccurrenceView {
    OccurrenceView {
        index,
        scheduled_for: at,
        post_id: Some(post.id),
        status: post.status.as_str().to_string(),
        published_at: post.published_at,
    }
}

/// An RRULE series: the rule's times, each with its post when made.
fn listed_rule(
    first: &PostRow,
    rule: &RuleSeries,
    start: DateTime<Utc>,
    made: &[PostRow],
    limit: usize,
) -> Vec<OccurrenceView> {
    let by_time: std::collections::HashMap<DateTime<Utc>, &PostRow> =
        made.iter().filter_map(|p| Some((p.occurrence_at?, p))).collect();
    let mut listed = Vec::new();
    let mut planned = 0;
    for (index, at) in rule.occurrences(start).enumerate() {
        if index == 0 {
            listed.push(entry(0, first, at));
            continue;
        }
        if let Some(post) = by_time.get(&at) {
            listed.push(entry(index, post, post.scheduled_for.unwrap_or(at)));
            continue;
        }
        let status = match first.next_occurrence_at {
            Some(next) if at >= next => "PLANNED",
            // Before the series' position and never made: missed.
            Some(_) => "SKIPPED",
            // Stopped (or a draft): nothing more is coming.
            None => break,
        };
        if status == "PLANNED" {
            if planned == limit {
                break;
            }
            planned += 1;
        }
        listed.push(OccurrenceView {
            index,
            scheduled_for: at,
            post_id: None,
            status: status.to_string(),
            published_at: None,
        });
    }
    listed
}

/// An evergreen post: itself, its re-publications, and the next check.
fn listed_made(first: &PostRow, made: &[PostRow]) -> Vec<OccurrenceView> {
    let mut listed: Vec<OccurrenceView> = Vec::new();
    if let Some(at) = first.scheduled_for {
        listed.push(entry(0, first, at));
    }
    for post in made {
        listed.push(entry(listed.len(), post, post.scheduled_for.or(post.occurrence_at).unwrap_or(post.created_at)));
    }
    if let Some(next) = first.next_occurrence_at {
        listed.push(OccurrenceView {
            index: listed.len(),
            scheduled_for: next,
            post_id: None,
            status: "PLANNED".into(),
            published_at: None,
        });
    }
    listed
}
