//! The request bodies of post endpoints (and MCP tools), before validation.

use std::collections::BTreeMap;

use herald_core::recurrence::{EvergreenInput, RecurrenceInput};
use serde::Deserialize;
use uuid::Uuid;

/// One follow-up item of a thread (a reply to the previous item).
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema, schemars::JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ThreadItemInput {
    pub content: String,
    /// Uploaded media published with this reply (ids from `POST /media`),
    /// checked against each platform's media rules like the post's own.
    #[serde(default)]
    pub media_ids: Vec<Uuid>,
    /// Outside media URLs published with this reply.
    #[serde(default)]
    pub media_urls: Vec<String>,
}

/// What to change for one integration.
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema, schemars::JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct OverrideInput {
    /// Text for this integration instead of the post's `content`.
    pub content: Option<String>,
    /// Platform-specific settings (visibility, title, community …): the
    /// platform's `settingsSchema` says which.
    #[schema(value_type = Option<Object>)]
    #[serde(default, deserialize_with = "crate::schema::object::option")]
    pub settings: Option<serde_json::Value>,
}

/// `POST /posts` and `POST /posts/validate`. Unknown fields are refused: a
/// misspelt `scheduledFor` must not turn a scheduled post into "publish now".
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CreatePostInput {
    #[serde(default)]
    pub content: String,
    /// Integration ids to publish to. Drafts may have none.
    #[serde(default)]
    pub platforms: Vec<Uuid>,
    /// ISO 8601 with an offset, e.g. `2026-12-01T09:00:00+01:00`.
    pub scheduled_for: Option<String>,
    /// `DRAFT`, `SCHEDULED`, `NOW`, or `QUEUE` (each account's next free
    /// posting slot, after what is already queued; no `scheduledFor`).
    /// Without it: `SCHEDULED` when `scheduledFor` is given, otherwise `NOW`.
    pub status: Option<String>,
    #[serde(default)]
    pub media_urls: Vec<String>,
    #[serde(default)]
    pub media_ids: Vec<Uuid>,
    /// Follow-up items, published in order as replies.
    #[serde(default, deserialize_with = "crate::schema::objects::vec")]
    pub thread: Vec<ThreadItemInput>,
    /// Integration id → what to change for that integration.
    #[serde(default, deserialize_with = "crate::schema::objects::map")]
    pub overrides: BTreeMap<String, OverrideInput>,
    #[serde(default)]
    pub tags: Vec<String>,
    /// Repeat the post by an RFC 5545 RRULE; the series starts at this
    /// post's time and each occurrence is a post of its own.
    pub recurrence: Option<RecurrenceInput>,
    /// Publish the post again every N days after it went out.
    pub evergreen: Option<EvergreenInput>,
    /// A saved set (`GET /sets`): its accounts when `platforms` is empty,
    /// and its settings for each account the post's `overrides` give none.
    pub set_id: Option<Uuid>,
}

/// `PUT /posts/{id}`: every field optional; what is given replaces the
/// stored value. `scheduledFor: null` clears the time (drafts only).
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct UpdatePostInput {
    pub content: Option<String>,
    pub platforms: Option<Vec<Uuid>>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>)]
    pub scheduled_for: Option<Option<String>>,
    /// `DRAFT`, `SCHEDULED` or `NOW`; omitted keeps the post a draft or scheduled as it is.
    pub status: Option<String>,
    pub media_urls: Option<Vec<String>>,
    pub media_ids: Option<Vec<Uuid>>,
    #[serde(default, deserialize_with = "crate::schema::objects::option_vec")]
    pub thread: Option<Vec<ThreadItemInput>>,
    #[serde(default, deserialize_with = "crate::schema::objects::option_map")]
    pub overrides: Option<BTreeMap<String, OverrideInput>>,
    pub tags: Option<Vec<String>>,
    /// A new rule for the series this post starts; `null` stops it.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<RecurrenceInput>)]
    pub recurrence: Option<Option<RecurrenceInput>>,
    /// `null` stops re-publishing.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<EvergreenInput>)]
    pub evergreen: Option<Option<EvergreenInput>>,
}

/// Distinguishes a field set to `null` (`Some(None)`) from a missing one (`None`).
fn double_option<'de, D: serde::Deserializer<'de>, T: Deserialize<'de>>(
    deserializer: D,
) -> Result<Option<Option<T>>, D::Error> {
    Option::<T>::deserialize(deserializer).map(Some)
}

/// Filters of `GET /posts`.
#[derive(Debug, Clone, Default, Deserialize, utoipa::IntoParams)]
#[serde(rename_all = "camelCase")]
#[into_params(parameter_in = Query)]
pub struct ListPostsQuery {
    /// `DRAFT`, `SCHEDULED`, `PUBLISHING`, `PUBLISHED` or `FAILED`.
    #[param(value_type = Option<herald_core::post::PostStatus>)]
    pub status: Option<String>,
    /// Only posts scheduled at or after this time (ISO 8601 with offset).
    #[param(value_type = Option<String>, format = DateTime)]
    pub from: Option<String>,
    /// Only posts scheduled before this time (ISO 8601 with offset).
    #[param(value_type = Option<String>, format = DateTime)]
    pub to: Option<String>,
    /// Only posts that target this integration id.
    #[param(value_type = Option<uuid::Uuid>)]
    pub integration: Option<String>,
    /// Only posts that target an account of this customer.
    #[param(value_type = Option<uuid::Uuid>)]
    pub customer: Option<String>,
    /// Only posts carrying this tag (its exact name).
    #[param(max_length = 50)]
    pub tag: Option<String>,
    /// `REQUESTED` is the approval queue; `APPROVED` or `REJECTED`.
    #[param(value_type = Option<herald_core::post::ApprovalState>)]
    pub approval: Option<String>,
    /// Page size, 1–100 (default 50).
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<u64>,
    /// `nextCursor` of the previous page.
    #[param(pattern = r"^[0-9]{1,16}\.[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")]
    pub cursor: Option<String>,
}
