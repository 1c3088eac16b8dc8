//! What use cases return: serializable views in the API's camelCase shape,
//! shared by REST, MCP and the web UI.

use herald_core::account::UserRole;
use herald_core::event::{ActorType, EventKind};
use herald_core::integration::IntegrationStatus;
use herald_core::post::{CreatedVia, PostStatus, TargetStatus};
use herald_core::recurrence::Series;
use herald_store::StoreResult;
use herald_store::content::{StoredMedia, decode, thread_of};
use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use herald_core::account::WorkspaceRole;
use herald_store::repo::TargetWithIntegration;
use herald_store::{ApiKeyRow, EventRow, IntegrationRow, PostRow, UserRow};
use serde::Serialize;
use uuid::Uuid;

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct UserView {
    pub id: Uuid,
    pub email: String,
    pub name: String,
    pub role: UserRole,
    pub timezone: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub workspace_id: Option<Uuid>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub workspace_role: Option<WorkspaceRole>,
    /// Present when the request was made with an API key.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub api_key_scopes: Option<Vec<String>>,
    pub created_at: DateTime<Utc>,
}

impl UserView {
    pub fn from_row(row: &UserRow) -> Self {
        Self {
            id: row.id,
            email: row.email.clone(),
            name: row.name.clone(),
            role: row.role,
            timezone: row.timezone.clone(),
            workspace_id: None,
            workspace_role: None,
            api_key_scopes: None,
            created_at: row.created_at,
        }
    }
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ApiKeyView {
    pub id: Uuid,
    pub name: String,
    /// The first 8 characters of the key, to recognise it.
    pub prefix: String,
    pub scopes: Vec<String>,
    pub last_used_at: Option<DateTime<Utc>>,
    pub expires_at: Option<DateTime<Utc>>,
    pub is_active: bool,
    pub created_at: DateTime<Utc>,
}

impl ApiKeyView {
    pub fn from_row(row: &ApiKeyRow) -> StoreResult<Self> {
        Ok(Self {
            id: row.id,
            name: row.name.clone(),
            prefix: row.prefix.clone(),
            scopes: decode(&row.scopes, "api_keys.scopes", row.id)?,
            last_used_at: row.last_used_at,
            expires_at: row.expires_at,
            is_active: row.is_active,
            created_at: row.created_at,
        })
    }
}

/// A key just created: the only response that ever contains the key itself.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CreatedApiKeyView {
    /// The full key (`ptz_…`). Shown once; store it now.
    pub key: String,
    #[serde(flatten)]
    pub api_key: ApiKeyView,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct IntegrationView {
    pub id: Uuid,
    pub platform: String,
    pub platform_account_id: String,
    pub platform_username: String,
    pub name: String,
    pub avatar_url: Option<String>,
    pub status: IntegrationStatus,
    pub is_active: bool,
    /// Daily posting slots, in minutes after local midnight.
    pub posting_times: Vec<u16>,
    pub timezone: String,
    #[schema(value_type = Object)]
    pub settings: serde_json::Value,
    pub scopes: Vec<String>,
    pub token_expires_at: Option<DateTime<Utc>>,
    /// When the account must be reconnected, where its access cannot be
    /// renewed past a known end (`integration_expiring` events come 7 days
    /// and 1 day ahead).
    pub access_ends_at: Option<DateTime<Utc>>,
    /// The customer (agency client) the account belongs to.
    pub customer_id: Option<Uuid>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl IntegrationView {
    pub fn from_row(row: &IntegrationRow) -> StoreResult<Self> {
        Ok(Self {
            id: row.id,
            platform: row.platform.clone(),
            platform_account_id: row.platform_account_id.clone(),
            platform_username: row.platform_username.clone(),
            name: row.display_name.clone(),
            avatar_url: row.avatar_url.clone(),
            status: row.status,
            is_active: row.status == IntegrationStatus::Active,
            posting_times: decode(&row.posting_times, "integrations.posting_times", row.id)?,
            timezone: row.timezone.clone(),
            settings: row.settings.clone(),
            scopes: decode(&row.scopes, "integrations.scopes", row.id)?,
            token_expires_at: row.token_expires_at,
            access_ends_at: row.access_ends_at,
            customer_id: row.customer_id,
            created_at: row.created_at,
            updated_at: row.updated_at,
        })
    }
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TargetErrorView {
    /// `RETRYABLE`, `MAYBE_SENT` (sent, no answer: the platform may have it),
    /// `AUTH_EXPIRED`, `REVOKED`, `INVALID`, `UNKNOWN` or `MISSED`.
    pub class: String,
    pub message: String,
}

/// An item the platform is still processing (a video, a container).
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ProcessingView {
    /// Which item of the thread (0: the post itself).
    pub item: u32,
    /// What the platform is doing, e.g. `processing video`.
    pub stage: String,
    pub since: DateTime<Utc>,
    /// How many times the platform was asked so far.
    pub polls: u32,
}

impl ProcessingView {
    /// The stored state without the platform handle, which is Herald's own business.
    fn of(stored: Option<&serde_json::Value>) -> Option<Self> {
        let stored = stored?;
        Some(Self {
            item: u32::try_from(stored["item"].as_u64()?).ok()?,
            stage: stored["stage"].as_str()?.to_string(),
            since: stored["since"].as_str()?.parse().ok()?,
            polls: u32::try_from(stored["polls"].as_u64().unwrap_or(0)).unwrap_or(u32::MAX),
        })
    }
}

/// One (post, integration) delivery.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TargetView {
    pub id: Uuid,
    pub integration_id: Uuid,
    pub platform: String,
    pub integration_name: String,
    pub status: TargetStatus,
    /// Text used for this integration instead of the post's content.
    pub content: Option<String>,
    #[schema(value_type = Object)]
    pub settings: serde_json::Value,
    /// Platform ids of the published items, in thread order.
    pub platform_post_ids: Vec<String>,
    pub url: Option<String>,
    pub attempts: i32,
    pub next_attempt_at: Option<DateTime<Utc>>,
    pub last_error: Option<TargetErrorView>,
    pub published_at: Option<DateTime<Utc>>,
    /// Set while the platform is processing an item Herald handed it.
    pub processing: Option<ProcessingView>,
}

impl TargetView {
    pub fn from_row(row: &TargetWithIntegration) -> StoreResult<Self> {
        let t = &row.target;
        Ok(Self {
            id: t.id,
            integration_id: t.integration_id,
            platform: row.platform.clone(),
            integration_name: row.integration_name.clone(),
            status: t.status,
            content: t.content_override.clone(),
            settings: t.settings.clone(),
            platform_post_ids: decode(&t.platform_post_ids, "post_targets.platform_post_ids", t.id)?,
            url: t.url.clone(),
            attempts: t.attempts,
            next_attempt_at: t.next_attempt_at,
            last_error: t.last_error_message.clone().map(|message| TargetErrorView {
                class: t.last_error_class.clone().unwrap_or_else(|| "UNKNOWN".into()),
                message,
            }),
            published_at: t.published_at,
            processing: ProcessingView::of(t.pending.as_ref()),
        })
    }
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ThreadItemView {
    pub content: String,
    pub media_ids: Vec<Uuid>,
    pub media_urls: Vec<String>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PostView {
    pub id: Uuid,
    pub content: String,
    pub media_urls: Vec<String>,
    pub media_ids: Vec<Uuid>,
    pub status: PostStatus,
    pub scheduled_for: Option<DateTime<Utc>>,
    pub published_at: Option<DateTime<Utc>>,
    /// Integration ids this post goes to.
    pub platforms: Vec<Uuid>,
    /// Integration id → platform id of the first published item.
    pub platform_post_ids: BTreeMap<Uuid, String>,
    pub error_message: Option<String>,
    pub thread: Vec<ThreadItemView>,
    pub tags: Vec<String>,
    pub created_via: CreatedVia,
    pub created_by: Option<Uuid>,
    pub api_key_id: Option<Uuid>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// Set once the post was submitted for approval.
    pub approval: Option<crate::posts::ApprovalView>,
    /// The RRULE series this post starts (`GET /posts/{id}/occurrences` lists it).
    pub recurrence: Option<herald_core::recurrence::RuleSeries>,
    /// Published again every N days after it went out.
    pub evergreen: Option<herald_core::recurrence::Evergreen>,
    /// When the series' next occurrence is due; `null` once it ended.
    pub next_occurrence_at: Option<DateTime<Utc>>,
    /// The post that started the series this one is an occurrence of.
    pub series_id: Option<Uuid>,
    /// The importer's id (`externalId` of import/export).
    pub external_id: Option<String>,
    /// On create and update only: what does not stop the post but deserves
    /// a look (`DUPLICATE_CONTENT`, naming the earlier post).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<crate::posts::PostWarning>,
    pub targets: Vec<TargetView>,
}

impl PostView {
    pub fn from_rows(post: &PostRow, targets: &[&TargetWithIntegration]) -> StoreResult<Self> {
        let media = StoredMedia::of_post(&post.media, post.id)?;
        let thread = thread_of(&post.thread, post.id)?;
        let targets = targets.iter().map(|t| TargetView::from_row(t)).collect::<StoreResult<Vec<_>>>()?;
        let series = post.recurrence.as_ref().and_then(Series::from_json);
        Ok(Self {
            id: post.id,
            content: post.content.clone(),
            media_urls: media.urls,
            media_ids: media.ids,
            status: post.status,
            scheduled_for: post.scheduled_for,
            published_at: post.published_at,
            platforms: targets
                .iter()
                .filter(|t| t.status != TargetStatus::Cancelled)
                .map(|t| t.integration_id)
                .collect(),
            platform_post_ids: targets
                .iter()
                .filter_map(|t| t.platform_post_ids.first().map(|id| (t.integration_id, id.clone())))
                .collect(),
            error_message: post.error_message.clone(),
            thread: thread
                .into_iter()
                .map(|item| ThreadItemView {
                    content: item.content,
                    media_ids: item.media_ids,
                    media_urls: item.media_urls,
                })
                .collect(),
            tags: decode(&post.tags, "posts.tags", post.id)?,
            created_via: post.created_via,
            created_by: post.created_by,
            api_key_id: post.api_key_id,
            created_at: post.created_at,
            updated_at: post.updated_at,
            approval: crate::posts::approval_of(post),
            recurrence: match &series {
                Some(Series::Rule(rule)) => Some(rule.clone()),
                _ => None,
            },
            evergreen: match series {
                Some(Series::Evergreen(evergreen)) => Some(evergreen),
                _ => None,
            },
            next_occurrence_at: post.next_occurrence_at,
            series_id: post.series_id,
            external_id: post.external_id.clone(),
            warnings: Vec::new(),
            targets,
        })
    }
}

/// A page of posts.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PostPage {
    pub posts: Vec<PostView>,
    /// Pass as `cursor` to get the next page; `null` on the last page.
    pub next_cursor: Option<String>,
}

/// One entry of the event log, as `GET /events` streams it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct EventView {
    pub id: Uuid,
    pub kind: EventKind,
    pub post_id: Option<Uuid>,
    pub integration_id: Option<Uuid>,
    pub actor_type: ActorType,
    pub actor_id: Option<Uuid>,
    #[schema(value_type = Object)]
    pub data: serde_json::Value,
    pub created_at: DateTime<Utc>,
}

impl EventView {
    pub fn from_row(row: &EventRow) -> Self {
        Self {
            id: row.id,
            kind: row.kind,
            post_id: row.post_id,
            integration_id: row.integration_id,
            actor_type: row.actor_type,
            actor_id: row.actor_id,
            data: row.data.clone(),
            created_at: row.created_at,
        }
    }
}
