//! Approvals (DESIGN §11): a draft is submitted, waits in the queue
//! (`GET /posts?approval=REQUESTED`), and someone who may publish approves
//! it — which schedules it — or rejects it with a note. An approved post
//! that is edited waits for approval again.

use chrono::{DateTime, Utc};
use herald_core::api_key::Scope;
use herald_core::event::EventKind;
use herald_core::post::{ApprovalState, PostStatus, PublishMode};
use herald_core::schedule::parse_timestamp;
use herald_store::PostRow;
use herald_store::repo::{Integrations, Posts, Users};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::{ApprovalChange, UpdatePostInput};
use crate::App;
use crate::caller::Caller;
use crate::error::{AppError, AppResult};
use crate::views::PostView;

/// Longest note on a submission or a rejection.
const MAX_NOTE_CHARS: usize = 2000;

/// A post's place in the approval workflow, as `PostView.approval` shows it.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ApprovalView {
    pub state: ApprovalState,
    /// The user who submitted it.
    pub requested_by: Uuid,
    pub requested_at: DateTime<Utc>,
    /// The submitter's note, or the reviewer's once decided.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub decided_by: Option<Uuid>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub decided_at: Option<DateTime<Utc>>,
    /// The author asked to publish as soon as it is approved.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub wants_now: bool,
    /// The latest verdict a client gave on a preview page while the post
    /// waited; `REQUEST_CHANGES` blocks approval until the post is edited.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_verdict: Option<crate::agency::previews::ClientVerdict>,
}

/// `POST /posts/{id}/submit`.
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SubmitInput {
    /// A word for the reviewer (at most 2000 characters).
    #[schema(max_length = 2000)]
    pub note: Option<String>,
}

/// `POST /posts/{id}/approve`.
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ApproveInput {
    /// When to publish (ISO 8601 with offset). Without it: the post's own
    /// time if still ahead, else the next free posting slot.
    #[schema(format = DateTime)]
    pub scheduled_for: Option<String>,
}

/// `POST /posts/{id}/reject`.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RejectInput {
    /// Why, for the author (1–2000 characters, not only spaces).
    #[schema(min_length = 1, max_length = 2000, pattern = r"\S")]
    pub note: String,
}

pub(super) fn requested(
    caller: &Caller,
    now: DateTime<Utc>,
    note: Option<String>,
    wants_now: bool,
) -> serde_json::Value {
    serde_json::json!(ApprovalView {
        state: ApprovalState::Requested,
        requested_by: caller.user_id,
        requested_at: now,
        note,
        decided_by: None,
        decided_at: None,
        wants_now,
        client_verdict: None,
    })
}

pub(super) fn decided(post: &PostRow, caller: &Caller, now: DateTime<Utc>, note: Option<String>) -> serde_json::Value {
    let mut view = approval_of(post).unwrap_or(ApprovalView {
        state: ApprovalState::Requested,
        requested_by: caller.user_id,
        requested_at: now,
        note: None,
        decided_by: None,
        decided_at: None,
        wants_now: false,
        client_verdict: None,
    });
    view.decided_by = Some(caller.user_id);
    view.decided_at = Some(now);
    view.wants_now = false;
    if note.is_some() {
        view.note = note;
    }
    serde_json::json!(view)
}

/// The stored approval without a client's verdict.
pub(super) fn without_client_verdict(post: &PostRow) -> Option<serde_json::Value> {
    let mut approval = post.approval.clone()?;
    if let Some(map) = approval.as_object_mut() {
        map.remove("clientVerdict");
    }
    Some(approval)
}

/// The approval of a post, if it was ever submitted.
pub fn approval_of(post: &PostRow) -> Option<ApprovalView> {
    let state = post.approval_state?;
    let mut view: ApprovalView = serde_json::from_value(post.approval.clone()?).ok()?;
    view.state = state;
    Some(view)
}

fn note_of(raw: Option<String>, required: bool) -> AppResult<Option<String>> {
    let note = raw.map(|n| n.trim().to_string()).filter(|n| !n.is_empty());
    match &note {
        None if required => Err(herald_core::ValidationError::new("note", "say why, for the author").into()),
        Some(n) if n.chars().count() > MAX_NOTE_CHARS => {
            Err(herald_core::ValidationError::new("note", format!("at most {MAX_NOTE_CHARS} characters")).into())
        }
        _ => Ok(note),
    }
}

impl App {
    /// Whether asking to schedule or publish becomes asking for approval:
    /// the caller may not publish and the workspace requires approval.
    pub(super) async fn submits_instead(&self, caller: &Caller, mode: PublishMode) -> AppResult<bool> {
        if mode == PublishMode::Draft || caller.require(Scope::PostsPublish).is_ok() {
            return Ok(false);
        }
        self.requires_approval(caller.workspace_id).await
    }

    pub(crate) async fn requires_approval(&self, workspace_id: Uuid) -> AppResult<bool> {
        Ok(Users(self.store.conn()).workspace(workspace_id).await?.is_some_and(|w| w.require_approval))
    }

    /// Submits a draft for approval. Anyone who may write drafts may.
    #[tracing::instrument(skip_all, fields(workspace_id = %caller.workspace_id, post_id = %id))]
    pub async fn submit_post(&self, caller: &Caller, id: Uuid, input: SubmitInput) -> AppResult<PostView> {
        caller.require(Scope::PostsWrite)?;
        let note = note_of(input.note, false)?;
        let now = self.now();
        let txn = self.store.begin_write().await?;
        let posts = Posts(&txn);
        let existing = posts.get(caller.workspace_id, id).await?.ok_or(AppError::NotFound("post"))?;
        if existing.status != PostStatus::Draft {
            return Err(AppError::Conflict(format!(
                "this post is {}; only drafts are submitted for approval",
                existing.status.as_str().to_lowercase()
            )));
        }
        if existing.approval_state == Some(ApprovalState::Requested) {
            txn.commit().await.map_err(AppError::internal)?;
            return self.post_view(caller, id).await;
        }
        let row = PostRow {
            approval_state: Some(ApprovalState::Requested),
            approval: Some(requested(caller, now, note, false)),
            updated_at: now,
            ..existing
        };
        let post = posts.update(row).await?;
        let event = self.record(&txn, caller, EventKind::ApprovalRequested, &post).await?;
        txn.commit().await.map_err(AppError::internal)?;
        self.committed(vec![event]).await;
        tracing::info!(post_id = %id, "submitted for approval");
        self.post_view(caller, id).await
    }

    /// Approves a submitted post: it is scheduled for the given time, its
    /// own time if still ahead (now, if its author asked for now), or the
    /// next free posting slot. Needs `posts:publish` and EDITOR or OWNER.
    #[tracing::instrument(skip_all, fields(workspace_id = %caller.workspace_id, post_id = %id))]
    pub async fn approve_post(&self, caller: &Caller, id: Uuid, input: ApproveInput) -> AppResult<PostView> {
        caller.require(Scope::PostsPublish)?;
        let posts = Posts(self.store.conn());
        let existing = posts.get(caller.workspace_id, id).await?.ok_or(AppError::NotFound("post"))?;
        if existing.approval_state != Some(ApprovalState::Requested) || existing.status != PostStatus::Draft {
            return Err(AppError::Conflict("this post is not waiting for approval".into()));
        }
        if let Some(client) = approval_of(&existing).and_then(|a| a.client_verdict)
            && client.verdict == crate::agency::previews::Verdict::RequestChanges
        {
            return Err(AppError::Conflict(format!(
                "{} asked for changes on the preview page ({}): edit the post, which lets them look again, or reject it",
                client.by,
                client.at.format("%Y-%m-%d %H:%M UTC")
            )));
        }
        let now = self.now();
        let wants_now = approval_of(&existing).is_some_and(|a| a.wants_now);
        let (status, at) = match input.scheduled_for.as_deref() {
            Some(raw) => (PublishMode::Scheduled, Some(parse_timestamp("scheduledFor", raw)?)),
            None if wants_now => (PublishMode::Now, None),
            None => match existing.scheduled_for.filter(|at| *at > now) {
                Some(at) => (PublishMode::Scheduled, Some(at)),
                None => (PublishMode::Scheduled, Some(self.next_common_slot(caller.workspace_id, id).await?)),
            },
        };
        let update = UpdatePostInput {
            status: Some(status.as_str().to_string()),
            scheduled_for: Some(at.map(|at| at.to_rfc3339())),
            ..Default::default()
        };
        let view = self.edit_post(caller, id, update, ApprovalChange::Approve).await?;
        tracing::info!(post_id = %id, scheduled_for = ?view.scheduled_for, "approved");
        Ok(view)
    }

    /// Sends a submitted post back to its author with a note.
    #[tracing::instrument(skip_all, fields(workspace_id = %caller.workspace_id, post_id = %id))]
    pub async fn reject_post(&self, caller: &Caller, id: Uuid, input: RejectInput) -> AppResult<PostView> {
        caller.require(Scope::PostsPublish)?;
        let note = note_of(Some(input.note), true)?;
        let now = self.now();
        let txn = self.store.begin_write().await?;
        let posts = Posts(&txn);
        let existing = posts.get(caller.workspace_id, id).await?.ok_or(AppError::NotFound("post"))?;
        if existing.approval_state != Some(ApprovalState::Requested) || existing.status != PostStatus::Draft {
            return Err(AppError::Conflict("this post is not waiting for approval".into()));
        }
        let approval = decided(&existing, caller, now, note);
        let row = PostRow {
            approval_state: Some(ApprovalState::Rejected),
            approval: Some(approval),
            updated_at: now,
            ..existing
        };
        let post = posts.update(row).await?;
        let event = self.record(&txn, caller, EventKind::ApprovalRejected, &post).await?;
        txn.commit().await.map_err(AppError::internal)?;
        self.committed(vec![event]).await;
        tracing::info!(post_id = %id, "rejected");
        self.post_view(caller, id).await
    }

    /// The next posting slot free on every integration of the post (the
    /// latest of their next free slots).
    async fn next_common_slot(&self, workspace_id: Uuid, post_id: Uuid) -> AppResult<DateTime<Utc>> {
        let conn = self.store.conn();
        let targets = Posts(conn).targets_of(&[post_id]).await?;
        let ids: Vec<Uuid> = targets.iter().map(|t| t.target.integration_id).collect();
        let mut latest: Option<DateTime<Utc>> = None;
        for row in Integrations(conn).find_many(workspace_id, &ids).await? {
            let taken = Posts(conn).queued_times(row.id).await?;
            let slot = crate::integrations::free_slot(&row, self.now(), &taken)?;
            latest = Some(latest.map_or(slot, |l| l.max(slot)));
        }
        latest.ok_or_else(|| AppError::Conflict("this post has no account to publish to".into()))
    }
}
