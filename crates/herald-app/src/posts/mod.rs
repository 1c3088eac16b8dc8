//! Posts: create, validate, list, read, edit, delete, publish now.

mod approval;
mod input;
mod prepare;
mod queue;
mod series;
mod transfer;

use herald_core::event::EventKind;
use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use herald_core::ValidationError;
use herald_core::api_key::Scope;
use herald_core::compose::TargetReport;
use herald_core::post::{
    ApprovalState, CreatedVia, PostStatus, PublishMode, TargetState, TargetStatus, aggregate_status,
};
use herald_core::recurrence::{EvergreenInput, RecurrenceInput, Series};
use herald_core::schedule::parse_timestamp;
use herald_store::content::{StoredMedia, StoredThreadItem, decode, thread_of};
use herald_store::repo::{Events, NewEvent, PostCursor, PostFilter, Posts, TargetWithIntegration};
use herald_store::{EventRow, PostRow, StoreResult, TargetRow};
use serde::Serialize;
use uuid::Uuid;

pub use approval::{ApprovalView, ApproveInput, RejectInput, SubmitInput, approval_of};
pub use input::{CreatePostInput, ListPostsQuery, OverrideInput, ThreadItemInput, UpdatePostInput};
pub use prepare::PostWarning;
pub use queue::{QueueView, QueuedPostView, ReorderInput};
pub use series::{OccurrenceView, OccurrencesQuery, OccurrencesView};
pub use transfer::{
    ExportQuery, ImportQuery, ImportReport, ImportRow, PostRecord, TransferFormat, parse_file, write_file,
};

use crate::App;
use crate::caller::Caller;
use crate::error::{AppError, AppResult};
use crate::pages::{Cursor, cut_page, parse_page};
use crate::views::{PostPage, PostView};

/// The answer of `POST /posts/validate`.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ValidationReport {
    pub valid: bool,
    /// What the post would be: `DRAFT`, `SCHEDULED` or `NOW`.
    pub status: Option<PublishMode>,
    pub scheduled_for: Option<DateTime<Utc>>,
    pub errors: Vec<ValidationError>,
    /// What does not stop the post but deserves a look (`DUPLICATE_CONTENT`).
    pub warnings: Vec<PostWarning>,
    pub targets: Vec<TargetReport>,
}

impl App {
    /// Dry run of `create_post`: reports everything, changes nothing.
    pub async fn validate_post(&self, caller: &Caller, input: CreatePostInput) -> AppResult<ValidationReport> {
        caller.require(Scope::PostsRead)?;
        let input = self.apply_set(caller, input).await?;
        let (input, _) = self.resolve_queue(caller, input).await?;
        let prepared = self.prepare(caller, &input, None, self.now()).await?;
        Ok(ValidationReport {
            warnings: prepared.duplicates,
            valid: prepared.errors.is_empty(),
            status: prepared.mode,
            scheduled_for: prepared.publish_at,
            errors: prepared.errors.0,
            targets: prepared.reports,
        })
    }

    #[tracing::instrument(skip_all, fields(workspace_id = %caller.workspace_id, via = %via, post_id = tracing::field::Empty))]
    pub async fn create_post(&self, caller: &Caller, input: CreatePostInput, via: CreatedVia) -> AppResult<PostView> {
        let mut views = self.create_posts(caller, vec![input], via).await?;
        views.pop().ok_or(AppError::NotFound("post"))
    }

    /// Creates several posts in one transaction: all of them or none. More
    /// than one become a group (`posts.group_id`), which Postiz's public API
    /// deletes as a whole. Errors name the fields of the post they are in
    /// (`posts[1].content`) when there is more than one.
    pub async fn create_posts(
        &self,
        caller: &Caller,
        inputs: Vec<CreatePostInput>,
        via: CreatedVia,
    ) -> AppResult<Vec<PostView>> {
        caller.require(Scope::PostsWrite)?;
        let now = self.now();
        let group_id = (inputs.len() > 1).then(Uuid::now_v7);
        let several = inputs.len() > 1;
        let mut planned = Vec::with_capacity(inputs.len());
        let mut all_errors = herald_core::ValidationErrors::default();
        for (index, input) in inputs.into_iter().enumerate() {
            let input = self.apply_set(caller, input).await?;
            let (input, slots) = self.resolve_queue(caller, input).await?;
            let prepared = self.prepare(caller, &input, None, now).await?;
            if !prepared.errors.is_empty() && several {
                for error in prepared.errors.0 {
                    all_errors.push(format!("posts[{index}].{}", error.field), error.message);
                }
                continue;
            }
            planned.push((input, slots, prepared.into_valid()?));
        }
        all_errors.into_result()?;
        let mut rows = Vec::with_capacity(planned.len());
        let mut duplicates = Vec::with_capacity(planned.len());
        for (input, slots, mut prepared) in planned {
            // Below EDITOR in a workspace that requires approval, asking to
            // schedule or publish is asking for approval.
            let submitted = self.submits_instead(caller, prepared.mode).await?;
            if prepared.mode != PublishMode::Draft && !submitted {
                caller.require(Scope::PostsPublish)?;
            }
            let wants_now = prepared.mode == PublishMode::Now;
            if submitted {
                prepared.mode = PublishMode::Draft;
                if wants_now {
                    prepared.publish_at = None;
                }
            }
            let post_id = Uuid::now_v7();
            tracing::Span::current().record("post_id", tracing::field::display(post_id));
            let mut targets = prepared.target_rows(post_id, now);
            // Queued: each account's own next slot.
            for target in &mut targets {
                if let Some(slot) = slots.get(&target.integration_id) {
                    target.next_attempt_at = Some(*slot);
                }
            }
            let row = PostRow {
                id: post_id,
                workspace_id: caller.workspace_id,
                created_by: Some(caller.user_id),
                api_key_id: caller.api_key_id(),
                created_via: via,
                content: input.content,
                media: serde_json::json!(StoredMedia { urls: input.media_urls, ids: input.media_ids }),
                thread: serde_json::json!(stored_thread(input.thread)),
                tags: serde_json::json!(input.tags.iter().map(|t| t.trim()).collect::<Vec<_>>()),
                status: fresh_status(prepared.mode, &targets),
                scheduled_for: prepared.publish_at,
                published_at: None,
                error_message: None,
                approval_state: submitted.then_some(ApprovalState::Requested),
                approval: submitted.then(|| approval::requested(caller, now, None, wants_now)),
                recurrence: prepared.series.as_ref().map(Series::to_json),
                series_id: None,
                occurrence_at: None,
                next_occurrence_at: prepared.next_occurrence(),
                external_id: None,
                group_id,
                created_at: now,
                updated_at: now,
            };
            rows.push((row, targets, prepared.mode, submitted));
            duplicates.push(prepared.duplicates);
        }
        let txn = self.store.begin_write().await?;
        let mut events = Vec::new();
        let mut created = Vec::with_capacity(rows.len());
        let mut all_drafts = true;
        for (row, targets, mode, submitted) in rows {
            let post = Posts(&txn).insert(row, targets).await?;
            events.push(self.record(&txn, caller, EventKind::PostCreated, &post).await?);
            if mode != PublishMode::Draft {
                all_drafts = false;
                events.push(self.record(&txn, caller, EventKind::PostScheduled, &post).await?);
            }
            if submitted {
                events.push(self.record(&txn, caller, EventKind::ApprovalRequested, &post).await?);
            }
            tracing::info!(post_id = %post.id, status = %post.status, "post created");
            created.push(post.id);
        }
        txn.commit().await.map_err(AppError::internal)?;
        if all_drafts {
            self.committed_outside_queue(events).await;
        } else {
            self.committed(events).await;
        }
        let mut views = Vec::with_capacity(created.len());
        for (id, warnings) in created.into_iter().zip(duplicates) {
            let mut view = self.post_view(caller, id).await?;
            view.warnings = warnings;
            views.push(view);
        }
        Ok(views)
    }

    pub async fn get_post(&self, caller: &Caller, id: Uuid) -> AppResult<PostView> {
        caller.require(Scope::PostsRead)?;
        self.post_view(caller, id).await
    }

    pub async fn list_posts(&self, caller: &Caller, query: ListPostsQuery) -> AppResult<PostPage> {
        caller.require(Scope::PostsRead)?;
        let filter = parse_list_query(query)?;
        if let Some(customer_id) = filter.customer_id {
            self.customer(caller, customer_id).await?;
        }
        let posts_repo = Posts(self.store.conn());
        let mut rows =
            posts_repo.list(caller.workspace_id, &PostFilter { limit: filter.limit + 1, ..filter.clone() }).await?;
        let next_cursor = cut_page(&mut rows, filter.limit, |last| Cursor { created_at: last.created_at, id: last.id });
        let posts = self.views_of(&rows).await?;
        Ok(PostPage { posts, next_cursor })
    }

    /// Posts for a page that shows many at once (the calendar): the filters
    /// of [`App::list_posts`] without its cursor, the newest `max` read in
    /// one go where the API pages by 100 — each page cost two statements —
    /// and, with `undated`, only posts without a date yet.
    pub async fn posts_for_view(
        &self,
        caller: &Caller,
        query: ListPostsQuery,
        undated: bool,
        max: u64,
    ) -> AppResult<Vec<PostView>> {
        caller.require(Scope::PostsRead)?;
        let filter = PostFilter { undated, limit: max, after: None, ..parse_list_query(query)? };
        if let Some(customer_id) = filter.customer_id {
            self.customer(caller, customer_id).await?;
        }
        let rows = Posts(self.store.conn()).list(caller.workspace_id, &filter).await?;
        self.views_of(&rows).await
    }

    /// Post views of rows, their targets read in one statement.
    pub(crate) async fn views_of(&self, rows: &[PostRow]) -> AppResult<Vec<PostView>> {
        let ids: Vec<Uuid> = rows.iter().map(|p| p.id).collect();
        let targets = Posts(self.store.conn()).targets_of(&ids).await?;
        let mut by_post: BTreeMap<Uuid, Vec<&TargetWithIntegration>> = BTreeMap::new();
        for target in &targets {
            by_post.entry(target.target.post_id).or_default().push(target);
        }
        Ok(rows
            .iter()
            .map(|post| PostView::from_rows(post, by_post.get(&post.id).map(Vec::as_slice).unwrap_or_default()))
            .collect::<Result<_, _>>()?)
    }

    /// Edits a draft or a scheduled post; refused once publishing started.
    /// Editing an approved post sends it back for approval.
    #[tracing::instrument(skip_all, fields(workspace_id = %caller.workspace_id, post_id = %id))]
    pub async fn update_post(&self, caller: &Caller, id: Uuid, input: UpdatePostInput) -> AppResult<PostView> {
        self.edit_post(caller, id, input, ApprovalChange::AfterEdit).await
    }

    async fn edit_post(
        &self,
        caller: &Caller,
        id: Uuid,
        mut input: UpdatePostInput,
        change: ApprovalChange,
    ) -> AppResult<PostView> {
        caller.require(Scope::PostsWrite)?;
        let now = self.now();
        let txn = self.store.begin_write().await?;
        let posts = Posts(&txn);
        let existing = posts.get(caller.workspace_id, id).await?.ok_or(AppError::NotFound("post"))?;
        let back_to_requested =
            change == ApprovalChange::AfterEdit && existing.approval_state == Some(ApprovalState::Approved);
        if back_to_requested {
            // What was approved is not what it is now: it goes out only
            // once someone approves it again.
            input.status = Some(PublishMode::Draft.as_str().to_string());
        }
        if !matches!(existing.status, PostStatus::Draft | PostStatus::Scheduled) {
            return Err(AppError::Conflict(format!(
                "this post is {} and can no longer be edited",
                existing.status.as_str().to_lowercase()
            )));
        }
        if existing.status != PostStatus::Draft {
            caller.require(Scope::PostsPublish)?;
        }
        let current_targets = posts.targets_of(&[id]).await?;
        let merged = merge_update(&existing, &current_targets, input)?;
        if existing.series_id.is_some() && (merged.recurrence.is_some() || merged.evergreen.is_some()) {
            return Err(herald_core::ValidationError::new(
                "recurrence",
                "this post is one occurrence of a series: change the series on its first post",
            )
            .into());
        }
        let mut prepared = self.prepare(caller, &merged, Some(id), now).await?.into_valid()?;
        let submitted = change == ApprovalChange::AfterEdit && self.submits_instead(caller, prepared.mode).await?;
        if prepared.mode != PublishMode::Draft && !submitted {
            caller.require(Scope::PostsPublish)?;
        }
        let wants_now = prepared.mode == PublishMode::Now;
        if submitted {
            prepared.mode = PublishMode::Draft;
            if wants_now {
                prepared.publish_at = None;
            }
        }
        let (approval_state, approval) = match change {
            _ if back_to_requested || submitted => {
                (Some(ApprovalState::Requested), Some(approval::requested(caller, now, None, wants_now)))
            }
            ApprovalChange::Approve => {
                (Some(ApprovalState::Approved), Some(approval::decided(&existing, caller, now, None)))
            }
            // A client's verdict was on what they saw; after an edit they look again.
            ApprovalChange::AfterEdit => (existing.approval_state, approval::without_client_verdict(&existing)),
            ApprovalChange::Keep => (existing.approval_state, existing.approval.clone()),
        };
        let requested_now = approval_state == Some(ApprovalState::Requested)
            && (existing.approval_state != Some(ApprovalState::Requested) || submitted);
        let targets = prepared.target_rows(id, now);
        if posts.replace_targets(id, targets.clone()).await?.is_err() {
            return Err(in_flight());
        }
        let rescheduled = prepared.publish_at != existing.scheduled_for || existing.status == PostStatus::Draft;
        let row = PostRow {
            content: merged.content,
            media: serde_json::json!(StoredMedia { urls: merged.media_urls, ids: merged.media_ids }),
            thread: serde_json::json!(stored_thread(merged.thread)),
            tags: serde_json::json!(merged.tags.iter().map(|t| t.trim()).collect::<Vec<_>>()),
            status: fresh_status(prepared.mode, &targets),
            scheduled_for: prepared.publish_at,
            error_message: None,
            approval_state,
            approval,
            recurrence: prepared.series.as_ref().map(Series::to_json),
            next_occurrence_at: prepared.next_occurrence(),
            updated_at: now,
            ..existing
        };
        let post = posts.update(row).await?;
        let mut events = Vec::new();
        match change {
            ApprovalChange::Approve => {
                events.push(self.record(&txn, caller, EventKind::ApprovalApproved, &post).await?);
            }
            _ => events.push(self.record(&txn, caller, EventKind::PostUpdated, &post).await?),
        }
        if prepared.mode != PublishMode::Draft && rescheduled {
            events.push(self.record(&txn, caller, EventKind::PostScheduled, &post).await?);
        }
        if requested_now {
            events.push(self.record(&txn, caller, EventKind::ApprovalRequested, &post).await?);
        }
        txn.commit().await.map_err(AppError::internal)?;
        self.committed(events).await;
        let mut view = self.post_view(caller, id).await?;
        view.warnings = prepared.duplicates;
        Ok(view)
    }

    /// Deletes a post; its pending targets are cancelled in the same
    /// transaction, so a deleted post never goes out.
    #[tracing::instrument(skip_all, fields(workspace_id = %caller.workspace_id, post_id = %id))]
    pub async fn delete_post(&self, caller: &Caller, id: Uuid) -> AppResult<()> {
        caller.require(Scope::PostsWrite)?;
        let txn = self.store.begin_write().await?;
        let posts = Posts(&txn);
        let existing = posts.get(caller.workspace_id, id).await?.ok_or(AppError::NotFound("post"))?;
        if existing.status != PostStatus::Draft {
            caller.require(Scope::PostsPublish)?;
        }
        match posts.delete(caller.workspace_id, id).await? {
            None => return Err(AppError::NotFound("post")),
            Some(Err(_)) => return Err(in_flight()),
            Some(Ok(())) => {}
        }
        // Deleting the post that starts a series stops it: the occurrences
        // not yet out go too; published ones stay as history.
        if posts.delete_pending_occurrences(caller.workspace_id, id).await?.is_err() {
            return Err(in_flight());
        }
        let event = self.record(&txn, caller, EventKind::PostDeleted, &existing).await?;
        txn.commit().await.map_err(AppError::internal)?;
        self.committed(vec![event]).await;
        tracing::info!(post_id = %id, "post deleted");
        Ok(())
    }

    /// Moves a draft or scheduled post to "now".
    #[tracing::instrument(skip_all, fields(workspace_id = %caller.workspace_id, post_id = %id))]
    pub async fn publish_post_now(&self, caller: &Caller, id: Uuid) -> AppResult<PostView> {
        caller.require(Scope::PostsPublish)?;
        let update = UpdatePostInput { status: Some("NOW".into()), scheduled_for: Some(None), ..Default::default() };
        self.edit_post(caller, id, update, ApprovalChange::Keep).await
    }

    async fn post_view(&self, caller: &Caller, id: Uuid) -> AppResult<PostView> {
        let post = Posts(self.store.conn()).get(caller.workspace_id, id).await?.ok_or(AppError::NotFound("post"))?;
        self.views_of(std::slice::from_ref(&post)).await?.pop().ok_or(AppError::NotFound("post"))
    }

    async fn record(
        &self,
        txn: &herald_store::Transaction,
        caller: &Caller,
        kind: EventKind,
        post: &PostRow,
    ) -> AppResult<EventRow> {
        let (actor_type, actor_id) = caller.actor();
        Ok(Events(txn)
            .append(NewEvent {
                at: self.now(),
                workspace_id: post.workspace_id,
                kind,
                post_id: Some(post.id),
                integration_id: None,
                actor_type,
                actor_id: Some(actor_id),
                data: event_data(kind, post),
            })
            .await?)
    }
}

/// What an edit does to the post's approval.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ApprovalChange {
    /// An author's edit: an approved post goes back to `REQUESTED`.
    AfterEdit,
    /// Publishing now by someone who may: nothing to approve again.
    Keep,
    /// The edit is the approval itself (it schedules the post).
    Approve,
}

/// The payload of a post's event: its status and time, and for approval
/// events what the reviewer needs (note, who asked).
fn event_data(kind: EventKind, post: &PostRow) -> serde_json::Value {
    let mut data = serde_json::json!({ "status": post.status, "scheduledFor": post.scheduled_for });
    if matches!(kind, EventKind::ApprovalRequested | EventKind::ApprovalApproved | EventKind::ApprovalRejected)
        && let (Some(object), Some(approval)) = (data.as_object_mut(), &post.approval)
    {
        object.insert("approval".into(), approval.clone());
    }
    data
}

impl App {
    /// `status: "QUEUE"` is scheduling at the accounts' next free slots:
    /// the post is due at the earliest, each target at its own.
    async fn resolve_queue(
        &self,
        caller: &Caller,
        mut input: CreatePostInput,
    ) -> AppResult<(CreatePostInput, BTreeMap<Uuid, DateTime<Utc>>)> {
        if !input.status.as_deref().is_some_and(|s| s.eq_ignore_ascii_case("QUEUE")) {
            return Ok((input, BTreeMap::new()));
        }
        if input.scheduled_for.is_some() {
            return Err(herald_core::ValidationError::new(
                "scheduledFor",
                "a queued post takes its accounts' next free slots: leave scheduledFor out",
            )
            .into());
        }
        let slots = self.queue_slots(caller, &input.platforms).await?;
        input.status = Some(PublishMode::Scheduled.as_str().to_string());
        input.scheduled_for = slots.values().min().map(|at| at.to_rfc3339());
        if input.scheduled_for.is_none() {
            return Err(herald_core::ValidationError::new("platforms", "name at least one account to queue on").into());
        }
        Ok((input, slots))
    }
}

fn in_flight() -> AppError {
    AppError::Conflict("this post is being published right now; it can no longer be changed".into())
}

/// Status of a post whose targets were all just (re)created.
fn fresh_status(mode: PublishMode, targets: &[TargetRow]) -> PostStatus {
    let states: Vec<TargetState> =
        targets.iter().map(|_| TargetState { status: TargetStatus::Queued, attempted: false }).collect();
    aggregate_status(mode == PublishMode::Draft, &states)
}

fn stored_thread(items: Vec<ThreadItemInput>) -> Vec<StoredThreadItem> {
    items
        .into_iter()
        .map(|item| StoredThreadItem { content: item.content, media_ids: item.media_ids, media_urls: item.media_urls })
        .collect()
}

/// The full post an update asks for: stored values, replaced by the given ones.
fn merge_update(
    existing: &PostRow,
    targets: &[TargetWithIntegration],
    input: UpdatePostInput,
) -> StoreResult<CreatePostInput> {
    let media = StoredMedia::of_post(&existing.media, existing.id)?;
    let thread = thread_of(&existing.thread, existing.id)?;
    let stored = existing.recurrence.as_ref().and_then(Series::from_json);
    let platforms = input.platforms.unwrap_or_else(|| targets.iter().map(|t| t.target.integration_id).collect());
    // Stored overrides follow their integration: dropping a platform drops its override.
    let current_overrides = targets
        .iter()
        .filter(|t| platforms.contains(&t.target.integration_id))
        .filter(|t| t.target.content_override.is_some() || t.target.settings.as_object().is_some_and(|o| !o.is_empty()))
        .map(|t| {
            let settings = Some(t.target.settings.clone()).filter(|s| s.as_object().is_some_and(|o| !o.is_empty()));
            (
                t.target.integration_id.to_string(),
                OverrideInput { content: t.target.content_override.clone(), settings },
            )
        })
        .collect();
    let status = input.status.or_else(|| {
        let mode = if existing.status == PostStatus::Draft { PublishMode::Draft } else { PublishMode::Scheduled };
        Some(mode.as_str().to_string())
    });
    let scheduled_for = match input.scheduled_for {
        Some(new) => new,
        None => existing.scheduled_for.map(|t| t.to_rfc3339()),
    };
    let tags = match input.tags {
        Some(tags) => tags,
        None => decode(&existing.tags, "posts.tags", existing.id)?,
    };
    Ok(CreatePostInput {
        content: input.content.unwrap_or_else(|| existing.content.clone()),
        platforms,
        // Publishing now ignores any stored time.
        scheduled_for: if status.as_deref() == Some(PublishMode::Now.as_str()) { None } else { scheduled_for },
        status,
        media_urls: input.media_urls.unwrap_or(media.urls),
        media_ids: input.media_ids.unwrap_or(media.ids),
        thread: input.thread.unwrap_or_else(|| {
            thread
                .into_iter()
                .map(|t| ThreadItemInput { content: t.content, media_ids: t.media_ids, media_urls: t.media_urls })
                .collect()
        }),
        overrides: input.overrides.unwrap_or(current_overrides),
        tags,
        recurrence: input.recurrence.unwrap_or_else(|| stored.as_ref().and_then(recurrence_input)),
        evergreen: input.evergreen.unwrap_or_else(|| stored.as_ref().and_then(evergreen_input)),
        set_id: None,
    })
}

/// A stored series as the request that would make it again.
fn recurrence_input(series: &Series) -> Option<RecurrenceInput> {
    match series {
        Series::Rule(rule) => Some(RecurrenceInput {
            rule: rule.rule.clone(),
            timezone: Some(rule.timezone.clone()),
            until: rule.until.map(|t| t.to_rfc3339()),
            count: rule.count,
        }),
        Series::Evergreen(_) => None,
    }
}

fn evergreen_input(series: &Series) -> Option<EvergreenInput> {
    match series {
        Series::Evergreen(evergreen) => {
            Some(EvergreenInput { every_days: evergreen.every_days, until: evergreen.until.map(|t| t.to_rfc3339()) })
        }
        Series::Rule(_) => None,
    }
}

fn parse_list_query(query: ListPostsQuery) -> AppResult<PostFilter> {
    let mut errors = herald_core::ValidationErrors::default();
    let status = query.status.as_deref().and_then(|raw| {
        let parsed = PostStatus::parse(&raw.to_uppercase());
        if parsed.is_none() {
            errors.push("status", format!("`{raw}` is not one of DRAFT, SCHEDULED, PUBLISHING, PUBLISHED, FAILED"));
        }
        parsed
    });
    let from = query.from.as_deref().and_then(|raw| errors.collect(parse_timestamp("from", raw)));
    let to = query.to.as_deref().and_then(|raw| errors.collect(parse_timestamp("to", raw)));
    let integration_id = query.integration.as_deref().and_then(|raw| {
        let parsed = Uuid::parse_str(raw).ok();
        if parsed.is_none() {
            errors.push("integration", format!("`{raw}` is not an integration id (UUID)"));
        }
        parsed
    });
    let customer_id = query.customer.as_deref().and_then(|raw| {
        let parsed = Uuid::parse_str(raw).ok();
        if parsed.is_none() {
            errors.push("customer", format!("`{raw}` is not a customer id (UUID)"));
        }
        parsed
    });
    let tag = query.tag.map(|tag| tag.trim().to_string()).filter(|tag| !tag.is_empty());
    if tag.as_ref().is_some_and(|tag| tag.chars().count() > 50) {
        errors.push("tag", "tags are at most 50 characters");
    }
    let approval = query.approval.as_deref().and_then(|raw| {
        let parsed = ApprovalState::parse(&raw.to_uppercase());
        if parsed.is_none() {
            errors.push("approval", format!("`{raw}` is not one of REQUESTED, APPROVED, REJECTED"));
        }
        parsed
    });
    let (limit, after) = parse_page(query.limit, query.cursor.as_deref(), &mut errors);
    errors.into_result()?;
    let after = after.map(|Cursor { created_at, id }| PostCursor { created_at, id });
    Ok(PostFilter { status, from, to, integration_id, customer_id, tag, approval, after, undated: false, limit })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn list_query_errors_name_their_fields() {
        let query = ListPostsQuery {
            status: Some("LOST".into()),
            from: Some("yesterday".into()),
            limit: Some(0),
            integration: Some("x".into()),
            ..Default::default()
        };
        let AppError::Validation { errors, .. } = parse_list_query(query).unwrap_err() else { panic!() };
        let fields: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, vec!["status", "from", "integration", "limit"]);
        assert_eq!(parse_list_query(ListPostsQuery::default()).unwrap().limit, 50);
    }
}
