//! What Postiz's public API answers, in its own shapes (the official
//! `postiz` CLI prints and parses them).

use serde::{Deserialize, Serialize};
use serde_json::Value;
use uuid::Uuid;

/// An entry of `GET /public/v1/integrations`.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PostizIntegration {
    pub id: Uuid,
    pub name: String,
    /// The provider, as Postiz names it (`x`, `linkedin-page`, `reddit` …).
    pub identifier: String,
    pub picture: Option<String>,
    /// Paused, or waiting to be reconnected.
    pub disabled: bool,
    /// The account's handle on the platform.
    pub profile: String,
    /// Herald's own status (`ACTIVE`, `NEEDS_RECONNECT`, `DISABLED`).
    pub status: String,
    /// The customer (agency client) the account belongs to.
    pub customer: Option<PostizCustomer>,
}

/// A customer, as Postiz shows it on an integration.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PostizCustomer {
    pub id: Uuid,
    pub name: String,
}

/// The account of a listed post.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PostizPostIntegration {
    pub id: Uuid,
    pub provider_identifier: String,
    pub name: String,
    pub picture: Option<String>,
}

/// A post on one account, as `GET /public/v1/posts` lists them: Herald's
/// delivery of a post to that account (its id is the delivery's id).
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PostizPost {
    pub id: Uuid,
    /// The posts made together; `DELETE /public/v1/posts/{id}` deletes them all.
    pub group: Uuid,
    pub content: String,
    /// When it goes, or went, out (ISO 8601, UTC); `null` for an undated draft.
    pub publish_date: Option<String>,
    /// `QUEUE`, `PUBLISHED`, `ERROR` or `DRAFT`.
    pub state: &'static str,
    #[serde(rename = "releaseURL")]
    pub release_url: Option<String>,
    /// The platform's id of the published post.
    pub release_id: Option<String>,
    pub error: Option<String>,
    #[schema(value_type = Object)]
    pub settings: Value,
    pub tags: Vec<PostizTagView>,
    /// Days between repeats (Herald's evergreen), if it repeats.
    pub interval_in_days: Option<u32>,
    /// The post's media (of its first item).
    pub image: Vec<PostizImageView>,
    pub integration: PostizPostIntegration,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct PostizTagView {
    pub value: String,
    pub label: String,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct PostizImageView {
    pub id: String,
    pub path: String,
}

/// `GET /public/v1/posts`.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct PostizPostList {
    pub posts: Vec<PostizPost>,
}

/// Filters of `GET /public/v1/posts`.
#[derive(Debug, Clone, Default, Deserialize, utoipa::IntoParams)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct PostizPostsQuery {
    /// Posts due at or after this time (ISO 8601; default 30 days ago).
    #[param(format = DateTime)]
    pub start_date: Option<String>,
    /// Posts due before this time (ISO 8601; default 30 days ahead).
    #[param(format = DateTime)]
    pub end_date: Option<String>,
    /// Only the posts of this customer's accounts (a customer id; empty
    /// for all, as Postiz clients may send it).
    #[param(pattern = r"^([0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12})?$")]
    pub customer: Option<String>,
}

/// An entry of the answer of `POST /public/v1/posts`: one per account.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PostizCreated {
    /// The id of this account's post (list, analytics, delete).
    pub post_id: Uuid,
    /// The integration id.
    pub integration: Uuid,
    pub group: Uuid,
    /// Set when the request asked for something Herald does differently
    /// (`shortLink: true`: links are posted as written).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub notice: Option<&'static str>,
}

/// The answer of `DELETE /public/v1/posts/{id}`.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct PostizDeleted {
    pub success: bool,
    pub message: String,
    pub group: Uuid,
    /// How many posts of the group went.
    pub deleted: usize,
}

/// `POST /public/v1/upload` and `/upload-from-url`.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PostizMedia {
    pub id: Uuid,
    pub name: String,
    /// Public URL: use it as `image[].path` in posts.
    pub path: String,
    /// MIME type.
    #[serde(rename = "type")]
    pub kind: String,
    pub size: i64,
    pub alt: Option<String>,
    pub thumbnail: Option<String>,
    pub created_at: chrono::DateTime<chrono::Utc>,
}

/// `POST /public/v1/upload-from-url`.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PostizUploadFromUrl {
    /// Public http(s) URL of a PNG, JPEG, GIF, WebP, MP4, MOV or WebM file.
    #[schema(format = "uri")]
    pub url: String,
}

/// `PUT /public/v1/posts/{id}/release-id`.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PostizReleaseId {
    /// The platform's id of the post.
    #[schema(min_length = 1, max_length = 256, pattern = r"\S")]
    pub release_id: String,
}

/// `POST /public/v1/integration-trigger/{id}`.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PostizTrigger {
    /// A `methodName` of the account's `tools` (integration-settings).
    #[schema(min_length = 1, max_length = 64)]
    pub method_name: String,
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    pub data: Option<Value>,
}

/// `GET /public/v1/find-slot/{id}`.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct PostizSlot {
    /// The account's next free posting slot (ISO 8601, UTC).
    pub date: String,
}

/// `GET /public/v1/is-connected`.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct PostizConnected {
    pub connected: bool,
}

/// `?date=` of the analytics routes: days to look back.
#[derive(Debug, Clone, Default, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct PostizAnalyticsQuery {
    /// Days to look back, 1–365 (default 7).
    #[param(pattern = r"^(36[0-5]|3[0-5][0-9]|[12][0-9]{2}|[1-9][0-9]?)$")]
    pub date: Option<String>,
}

/// One metric of the analytics answers.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PostizMetric {
    pub label: String,
    pub data: Vec<PostizPoint>,
    /// Change from the first to the last point, in percent.
    pub percentage_change: f64,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct PostizPoint {
    pub total: i64,
    /// `YYYY-MM-DD`.
    pub date: String,
}

/// An item of `GET /public/v1/posts/{id}/missing`.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct PostizMissingItem {
    pub id: String,
    pub url: String,
}
