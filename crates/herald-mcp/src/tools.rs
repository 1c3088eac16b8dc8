//! The MCP tools: their names, argument schemas, descriptions and
//! annotations, and how each call maps onto the application's use cases —
//! the same ones the REST API calls, so validation, scopes and events are
//! identical.

use std::collections::BTreeMap;
use std::sync::Arc;

use herald_app::feeds::CreateFeedInput;
use herald_app::posts::{CreatePostInput, ListPostsQuery, OverrideInput, ThreadItemInput, UpdatePostInput};
use herald_app::{App, AppError, Caller, Credential};
use herald_core::api_key::Scope;
use herald_core::post::{CreatedVia, PostStatus, PublishMode};
use herald_core::recurrence::{EvergreenInput, RecurrenceInput};
use rmcp::handler::server::common::schema_for_type;
use rmcp::model::{Tool, ToolAnnotations};
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::times::with_local_times;

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NoArgs {}

#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ListIntegrationsArgs {
    /// Only the accounts of this customer (from list_customers).
    pub customer_id: Option<Uuid>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PreviewLinkArgs {
    pub post_id: Uuid,
    /// How long the link works: 1–90 days (default 14).
    pub expires_in_days: Option<i64>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PlatformArgs {
    /// A platform id such as `mastodon` or `bluesky`; omit for all.
    pub platform: Option<String>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PostArgs {
    /// The text of the post (the first item of a thread).
    #[serde(default)]
    pub content: String,
    /// Integration ids to publish to (from list_integrations). Drafts may have none.
    #[serde(default)]
    pub integration_ids: Vec<Uuid>,
    /// Default: SCHEDULED when scheduledFor is given, else NOW.
    pub status: Option<PublishMode>,
    /// When to publish: ISO 8601 with a UTC offset, e.g. 2026-12-01T09:00:00+01:00.
    pub scheduled_for: Option<String>,
    /// Follow-up items published as replies, in order.
    #[serde(default)]
    pub thread: Vec<ThreadItemInput>,
    /// Per-integration changes, keyed by integration id.
    #[serde(default)]
    pub overrides: BTreeMap<String, OverrideInput>,
    /// Public http(s) URLs of images or videos to attach.
    #[serde(default)]
    pub media_urls: Vec<String>,
    /// Ids returned by upload_media_from_url.
    #[serde(default)]
    pub media_ids: Vec<Uuid>,
    #[serde(default)]
    pub tags: Vec<String>,
    /// Repeat by an RFC 5545 RRULE (e.g. FREQ=WEEKLY;BYDAY=MO) from scheduledFor;
    /// each occurrence becomes its own post.
    pub recurrence: Option<RecurrenceInput>,
    /// Publish again every N days after it went out, until a date.
    pub evergreen: Option<EvergreenInput>,
    /// A saved set of accounts with their settings (from the web UI's sets):
    /// used when integrationIds is empty.
    pub set_id: Option<Uuid>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct QueueArgs {
    /// The text of the post (the first item of a thread).
    pub content: String,
    /// Integration ids whose queues it joins (from list_integrations).
    pub integration_ids: Vec<Uuid>,
    /// Follow-up items published as replies, in order.
    #[serde(default)]
    pub thread: Vec<ThreadItemInput>,
    /// Per-integration changes, keyed by integration id.
    #[serde(default)]
    pub overrides: BTreeMap<String, OverrideInput>,
    /// Public http(s) URLs of images or videos to attach.
    #[serde(default)]
    pub media_urls: Vec<String>,
    /// Ids returned by upload_media_from_url.
    #[serde(default)]
    pub media_ids: Vec<Uuid>,
    #[serde(default)]
    pub tags: Vec<String>,
}

impl PostArgs {
    fn into_input(self) -> CreatePostInput {
        CreatePostInput {
            content: self.content,
            platforms: self.integration_ids,
            scheduled_for: self.scheduled_for,
            status: self.status.map(|mode| mode.as_str().to_string()),
            media_urls: self.media_urls,
            media_ids: self.media_ids,
            thread: self.thread,
            overrides: self.overrides,
            tags: self.tags,
            recurrence: self.recurrence,
            evergreen: self.evergreen,
            set_id: self.set_id,
        }
    }
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ListPostsArgs {
    pub status: Option<PostStatus>,
    /// Only posts scheduled at or after this time (ISO 8601 with offset).
    pub from: Option<String>,
    /// Only posts scheduled before this time (ISO 8601 with offset).
    pub to: Option<String>,
    /// Only posts that target this integration.
    pub integration_id: Option<Uuid>,
    /// Only posts to the accounts of this customer (from list_customers).
    pub customer_id: Option<Uuid>,
    /// Only posts carrying this tag.
    pub tag: Option<String>,
    /// REQUESTED: the approval queue (also APPROVED, REJECTED).
    pub approval: Option<herald_core::post::ApprovalState>,
    /// Page size 1–100 (default 50).
    pub limit: Option<u64>,
    /// nextCursor of the previous page.
    pub cursor: Option<String>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PostIdArgs {
    pub post_id: Uuid,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SubmitArgs {
    pub post_id: Uuid,
    /// A word for the reviewer.
    pub note: Option<String>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ApproveArgs {
    pub post_id: Uuid,
    /// When to publish (ISO 8601 with offset); default: the post's own time
    /// if still ahead, else the next free posting slot.
    pub scheduled_for: Option<String>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RejectArgs {
    pub post_id: Uuid,
    /// Why, for the author.
    pub note: String,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct UpdatePostArgs {
    pub post_id: Uuid,
    pub content: Option<String>,
    pub integration_ids: Option<Vec<Uuid>>,
    /// New time (ISO 8601 with offset).
    pub scheduled_for: Option<String>,
    pub status: Option<PublishMode>,
    pub thread: Option<Vec<ThreadItemInput>>,
    pub overrides: Option<BTreeMap<String, OverrideInput>>,
    pub media_urls: Option<Vec<String>>,
    pub media_ids: Option<Vec<Uuid>>,
    pub tags: Option<Vec<String>>,
    /// A new RRULE series for this post.
    pub recurrence: Option<RecurrenceInput>,
    pub evergreen: Option<EvergreenInput>,
    /// True ends the post's series (recurrence or evergreen).
    #[serde(default)]
    pub stop_repeating: bool,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct IntegrationIdArgs {
    pub integration_id: Uuid,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct IntegrationAnalyticsArgs {
    pub integration_id: Uuid,
    /// How many days back, 1–365 (default 30).
    pub days: Option<u32>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct MediaArgs {
    /// Public http(s) URL of an image or video.
    pub url: String,
    /// Description for people who cannot see it.
    pub alt_text: Option<String>,
}

/// How a tool behaves, for the annotations clients show and for filtering
/// the list by the key's scopes.
struct Spec {
    name: &'static str,
    title: &'static str,
    description: &'static str,
    schema: fn() -> Arc<rmcp::model::JsonObject>,
    scope: Scope,
    read_only: bool,
    destructive: bool,
    idempotent: bool,
    /// Reaches outside Herald (social platforms, the web).
    open_world: bool,
}

const TIMES: &str = " Times are ISO 8601 with an offset (2026-12-01T09:00:00+01:00); results give them in UTC and in the user's time zone (`…Local`).";

const SPECS: &[Spec] = &[
    Spec {
        name: "list_integrations",
        title: "List connected accounts",
        description: "Lists the social accounts connected to Herald (id, platform, name, status, customerId). Use the ids as integrationIds when creating posts. Only ACTIVE integrations can be scheduled to. With customerId: only that customer's accounts (an agency's client, from list_customers).",
        schema: schema_for_type::<ListIntegrationsArgs>,
        scope: Scope::IntegrationsRead,
        read_only: true,
        destructive: false,
        idempotent: true,
        open_world: false,
    },
    Spec {
        name: "get_platform_rules",
        title: "Platform rules",
        description: "What each platform accepts: maximum length as that platform counts it (Mastodon counts URLs as 23, Bluesky counts graphemes, X weighs CJK and emoji double), media limits, whether threads are supported, and `settingsSchema`: the JSON Schema of the settings it takes under overrides.<integrationId>.settings. Check before writing a post.",
        schema: schema_for_type::<PlatformArgs>,
        scope: Scope::PostsRead,
        read_only: true,
        destructive: false,
        idempotent: true,
        open_world: false,
    },
    Spec {
        name: "validate_post",
        title: "Check a post",
        description: "Dry run of create_post: per-integration lengths, errors and warnings. Saves nothing. Takes the same arguments as create_post.",
        schema: schema_for_type::<PostArgs>,
        scope: Scope::PostsRead,
        read_only: true,
        destructive: false,
        idempotent: true,
        open_world: false,
    },
    Spec {
        name: "create_post",
        title: "Create a post",
        description: "Creates a post for one or more integrations: status DRAFT (saved, not published), SCHEDULED (needs scheduledFor) or NOW. Optional thread (replies, in order), per-integration overrides, media URLs and tags. Scheduling or publishing needs the posts:publish scope; without it only drafts can be made, for a person to approve.",
        schema: schema_for_type::<PostArgs>,
        scope: Scope::PostsWrite,
        read_only: false,
        destructive: false,
        idempotent: false,
        open_world: true,
    },
    Spec {
        name: "list_posts",
        title: "List posts",
        description: "Lists posts newest first, filtered by status, scheduled time window or integration; pass nextCursor as cursor for more.",
        schema: schema_for_type::<ListPostsArgs>,
        scope: Scope::PostsRead,
        read_only: true,
        destructive: false,
        idempotent: true,
        open_world: false,
    },
    Spec {
        name: "get_post",
        title: "Get a post",
        description: "One post with the status of each target (QUEUED, PUBLISHING, PUBLISHED, FAILED, UNCONFIRMED), published URLs and errors.",
        schema: schema_for_type::<PostIdArgs>,
        scope: Scope::PostsRead,
        read_only: true,
        destructive: false,
        idempotent: true,
        open_world: false,
    },
    Spec {
        name: "update_post",
        title: "Edit or reschedule a post",
        description: "Changes a draft or scheduled post: only the fields given are replaced. Refused once publishing started. Changing a scheduled post needs posts:publish.",
        schema: schema_for_type::<UpdatePostArgs>,
        scope: Scope::PostsWrite,
        read_only: false,
        destructive: false,
        idempotent: true,
        open_world: true,
    },
    Spec {
        name: "delete_post",
        title: "Delete a post",
        description: "Deletes a post from Herald and cancels its pending deliveries. Does not remove anything already published on a platform.",
        schema: schema_for_type::<PostIdArgs>,
        scope: Scope::PostsWrite,
        read_only: false,
        destructive: true,
        idempotent: true,
        open_world: false,
    },
    Spec {
        name: "publish_post",
        title: "Publish now",
        description: "Publishes a draft or scheduled post right away. Needs posts:publish.",
        schema: schema_for_type::<PostIdArgs>,
        scope: Scope::PostsPublish,
        read_only: false,
        destructive: false,
        idempotent: false,
        open_world: true,
    },
    Spec {
        name: "add_to_queue",
        title: "Add to the queue",
        description: "Schedules a post at each integration's next free posting slot, after the posts already queued there (the integration's daily posting times, in its time zone). Needs posts:publish.",
        schema: schema_for_type::<QueueArgs>,
        scope: Scope::PostsPublish,
        read_only: false,
        destructive: false,
        idempotent: false,
        open_world: true,
    },
    Spec {
        name: "list_customers",
        title: "List customers",
        description: "Lists the workspace's customers — an agency's clients — each grouping some connected accounts (id, name, integrationCount). Pass a customer's id to list_integrations or list_posts to work on that client's accounts only.",
        schema: schema_for_type::<NoArgs>,
        scope: Scope::IntegrationsRead,
        read_only: true,
        destructive: false,
        idempotent: true,
        open_world: false,
    },
    Spec {
        name: "create_preview_link",
        title: "Create a preview link",
        description: "Makes a public link to a post for a client: the page shows the post as each platform will and lets the client comment, approve, or ask for changes (which blocks the post's approval until it is edited). The URL is shown once; it expires (default 14 days). Needs posts:write.",
        schema: schema_for_type::<PreviewLinkArgs>,
        scope: Scope::PostsWrite,
        read_only: false,
        destructive: false,
        idempotent: false,
        open_world: false,
    },
    Spec {
        name: "submit_for_approval",
        title: "Submit for approval",
        description: "Submits a draft for a person to approve (the approval queue). This is how a draft-only key or a contributor gets a post published: a member who may publish approves it, which schedules it. Needs posts:write.",
        schema: schema_for_type::<SubmitArgs>,
        scope: Scope::PostsWrite,
        read_only: false,
        destructive: false,
        idempotent: true,
        open_world: false,
    },
    Spec {
        name: "approve_post",
        title: "Approve a post",
        description: "Approves a post waiting for approval: it is scheduled for scheduledFor, its own time if still ahead, or the next free posting slot. Needs posts:publish and the EDITOR or OWNER role.",
        schema: schema_for_type::<ApproveArgs>,
        scope: Scope::PostsPublish,
        read_only: false,
        destructive: false,
        idempotent: false,
        open_world: true,
    },
    Spec {
        name: "reject_post",
        title: "Reject a post",
        description: "Sends a post waiting for approval back to its author with a note. Needs posts:publish and the EDITOR or OWNER role.",
        schema: schema_for_type::<RejectArgs>,
        scope: Scope::PostsPublish,
        read_only: false,
        destructive: false,
        idempotent: false,
        open_world: false,
    },
    Spec {
        name: "find_next_slot",
        title: "Next free slot",
        description: "The next posting slot of an integration (its daily posting times, in its time zone) that no queued post occupies.",
        schema: schema_for_type::<IntegrationIdArgs>,
        scope: Scope::PostsRead,
        read_only: true,
        destructive: false,
        idempotent: true,
        open_world: false,
    },
    Spec {
        name: "get_post_analytics",
        title: "Post analytics",
        description: "How a post did on each platform: delivery status, URL, publish time and the engagement metrics the platform reports.",
        schema: schema_for_type::<PostIdArgs>,
        scope: Scope::AnalyticsRead,
        read_only: true,
        destructive: false,
        idempotent: true,
        open_world: false,
    },
    Spec {
        name: "get_integration_analytics",
        title: "Account activity",
        description: "An integration's daily activity over the last `days` days (default 30): posts published and failed per day.",
        schema: schema_for_type::<IntegrationAnalyticsArgs>,
        scope: Scope::AnalyticsRead,
        read_only: true,
        destructive: false,
        idempotent: true,
        open_world: false,
    },
    Spec {
        name: "list_feeds",
        title: "List feeds",
        description: "The RSS/Atom feeds this workspace posts automatically: URL, accounts, template, mode (DRAFT, QUEUE or NOW), poll interval, when each was last polled, its last error, and how many items became posts.",
        schema: schema_for_type::<NoArgs>,
        scope: Scope::PostsRead,
        read_only: true,
        destructive: false,
        idempotent: true,
        open_world: false,
    },
    Spec {
        name: "create_feed",
        title: "Auto-post a feed",
        description: "Adds an RSS 2.0 or Atom feed whose new items become posts on the given integrations: the template uses {title}, {link}, {summary}, {author} and is shortened to each platform's limit without cutting the link; mode DRAFT (drafts), QUEUE (each account's next free slot, the default) or NOW; polled every pollMinutes (≥ 5, default 30). The first poll only marks the items already there as seen. Needs posts:write, and posts:publish for QUEUE or NOW.",
        schema: schema_for_type::<CreateFeedInput>,
        scope: Scope::PostsWrite,
        read_only: false,
        destructive: false,
        idempotent: false,
        open_world: true,
    },
    Spec {
        name: "upload_media_from_url",
        title: "Upload media from a URL",
        description: "Downloads an image or video from a public http(s) URL into Herald's media library (type checked from the bytes, size limited, no private addresses) and returns its id for mediaIds.",
        schema: schema_for_type::<MediaArgs>,
        scope: Scope::PostsWrite,
        read_only: false,
        destructive: false,
        idempotent: false,
        open_world: true,
    },
];

/// The tools a caller may use. A key sees only the tools its scopes allow,
/// so a read-only assistant is never offered a write.
pub fn tools_for(caller: &Caller) -> Vec<Tool> {
    SPECS
        .iter()
        .filter(|spec| match &caller.credential {
            Credential::ApiKey { scopes, .. } => scopes.contains(spec.scope),
            Credential::Session { .. } => true,
        })
        .map(|spec| {
            let mut description = spec.description.to_string();
            if !spec.read_only || spec.name.contains("post") {
                description.push_str(TIMES);
            }
            Tool::new(spec.name, description, (spec.schema)())
                .with_title(spec.title)
                .with_raw_output_schema(output_schema(spec.name))
                .with_annotations(
                    ToolAnnotations::with_title(spec.title)
                        .read_only(spec.read_only)
                        .destructive(spec.destructive)
                        .idempotent(spec.idempotent)
                        .open_world(spec.open_world),
                )
        })
        .collect()
}

/// What a tool's `structuredContent` holds (MCP output schemas): the
/// fields an assistant relies on, leaving the rest open so the answer can
/// grow without breaking a client that validates it.
fn output_schema(name: &str) -> Arc<rmcp::model::JsonObject> {
    let object = |properties: Value, required: &[&str]| json!({"type": "object", "properties": properties, "required": required});
    let uuid = json!({"type": "string", "format": "uuid"});
    let array = json!({"type": "array"});
    let schema = match name {
        "create_post"
        | "get_post"
        | "update_post"
        | "publish_post"
        | "add_to_queue"
        | "submit_for_approval"
        | "approve_post"
        | "reject_post" => object(
            json!({
                "id": uuid,
                "status": {"type": "string", "enum": PostStatus::ALL.iter().map(|s| s.as_str()).collect::<Vec<_>>()},
                "content": {"type": "string"},
                "scheduledFor": {"type": ["string", "null"]},
                "scheduledForLocal": {"type": "string"},
                "targets": array,
            }),
            &["id", "status", "content", "targets"],
        ),
        "validate_post" => object(
            json!({"valid": {"type": "boolean"}, "errors": array, "warnings": array, "targets": array}),
            &["valid", "errors", "warnings", "targets"],
        ),
        "list_posts" => object(json!({"posts": array, "nextCursor": {"type": ["string", "null"]}}), &["posts"]),
        "list_integrations" => object(json!({"integrations": array}), &["integrations"]),
        "list_customers" => object(json!({"customers": array}), &["customers"]),
        "create_preview_link" => object(
            json!({"id": uuid, "url": {"type": "string"}, "expiresAt": {"type": "string"}}),
            &["id", "url", "expiresAt"],
        ),
        "get_platform_rules" => object(json!({"platforms": array}), &["platforms"]),
        "delete_post" => object(json!({"deleted": {"type": "boolean"}, "postId": uuid}), &["deleted", "postId"]),
        "list_feeds" => object(json!({"feeds": array}), &["feeds"]),
        "create_feed" => {
            object(json!({"id": uuid, "url": {"type": "string"}, "mode": {"type": "string"}}), &["id", "url", "mode"])
        }
        "upload_media_from_url" => object(json!({"id": uuid, "url": {"type": "string"}}), &["id", "url"]),
        _ => json!({"type": "object"}),
    };
    match schema {
        Value::Object(map) => Arc::new(map),
        _ => Arc::new(rmcp::model::JsonObject::new()),
    }
}

pub fn is_known(name: &str) -> bool {
    SPECS.iter().any(|spec| spec.name == name)
}

/// A failed call: the REST error code and message, or bad arguments.
pub enum CallError {
    App(AppError),
    Arguments(String),
}

impl From<AppError> for CallError {
    fn from(error: AppError) -> Self {
        Self::App(error)
    }
}

fn args<T: for<'de> Deserialize<'de>>(raw: Value) -> Result<T, CallError> {
    serde_json::from_value(raw).map_err(|e| CallError::Arguments(e.to_string()))
}

fn to_json<T: serde::Serialize>(value: &T) -> Result<Value, CallError> {
    serde_json::to_value(value).map_err(|e| CallError::App(AppError::internal(e)))
}

/// Runs a tool as `caller`.
pub async fn call(app: &App, caller: &Caller, timezone: &str, name: &str, raw: Value) -> Result<Value, CallError> {
    let post = |value: Value| with_local_times(value, timezone);
    Ok(match name {
        "list_integrations" => {
            let a: ListIntegrationsArgs = args(raw)?;
            json!({ "integrations": to_json(&app.list_integrations_of(caller, a.customer_id).await?)? })
        }
        "list_customers" => {
            let _: NoArgs = args(raw)?;
            json!({ "customers": to_json(&app.list_customers(caller).await?)? })
        }
        "create_preview_link" => {
            let a: PreviewLinkArgs = args(raw)?;
            let input = herald_app::agency::previews::CreatePreviewLinkInput { expires_in_days: a.expires_in_days };
            to_json(&app.create_preview_link(caller, a.post_id, input).await?)?
        }
        "get_platform_rules" => {
            let PlatformArgs { platform } = args(raw)?;
            caller.require(Scope::PostsRead)?;
            let mut rules = Vec::new();
            for view in app.platforms().into_iter().filter(|v| platform.as_deref().is_none_or(|p| p == v.id)) {
                let mut row = to_json(&view.rules)?;
                row["settingsSchema"] = view.settings_schema;
                rules.push(row);
            }
            if rules.is_empty() {
                return Err(AppError::from(herald_core::ValidationError::new("platform", "unknown platform")).into());
            }
            json!({ "platforms": rules })
        }
        "validate_post" => {
            let input: PostArgs = args(raw)?;
            to_json(&app.validate_post(caller, input.into_input()).await?)?
        }
        "create_post" => {
            let input: PostArgs = args(raw)?;
            post(to_json(&app.create_post(caller, input.into_input(), CreatedVia::Mcp).await?)?)
        }
        "list_posts" => {
            let a: ListPostsArgs = args(raw)?;
            let query = ListPostsQuery {
                status: a.status.map(|status| status.as_str().to_string()),
                from: a.from,
                to: a.to,
                integration: a.integration_id.map(|id| id.to_string()),
                customer: a.customer_id.map(|id| id.to_string()),
                tag: a.tag,
                approval: a.approval.map(|state| state.as_str().to_string()),
                limit: a.limit,
                cursor: a.cursor,
            };
            let mut page = to_json(&app.list_posts(caller, query).await?)?;
            if let Some(posts) = page.get_mut("posts").and_then(Value::as_array_mut) {
                for item in posts.iter_mut() {
                    *item = with_local_times(item.take(), timezone);
                }
            }
            page
        }
        "get_post" => {
            let PostIdArgs { post_id } = args(raw)?;
            post(to_json(&app.get_post(caller, post_id).await?)?)
        }
        "update_post" => {
            let a: UpdatePostArgs = args(raw)?;
            let input = UpdatePostInput {
                content: a.content,
                platforms: a.integration_ids,
                scheduled_for: a.scheduled_for.map(Some),
                status: a.status.map(|mode| mode.as_str().to_string()),
                media_urls: a.media_urls,
                media_ids: a.media_ids,
                thread: a.thread,
                overrides: a.overrides,
                tags: a.tags,
                recurrence: if a.stop_repeating { Some(None) } else { a.recurrence.map(Some) },
                evergreen: if a.stop_repeating { Some(None) } else { a.evergreen.map(Some) },
            };
            post(to_json(&app.update_post(caller, a.post_id, input).await?)?)
        }
        "delete_post" => {
            let PostIdArgs { post_id } = args(raw)?;
            app.delete_post(caller, post_id).await?;
            json!({ "deleted": true, "postId": post_id })
        }
        "publish_post" => {
            let PostIdArgs { post_id } = args(raw)?;
            post(to_json(&app.publish_post_now(caller, post_id).await?)?)
        }
        "add_to_queue" => {
            let a: QueueArgs = args(raw)?;
            let input = CreatePostInput {
                content: a.content,
                platforms: a.integration_ids,
                scheduled_for: None,
                status: Some("QUEUE".into()),
                media_urls: a.media_urls,
                media_ids: a.media_ids,
                thread: a.thread,
                overrides: a.overrides,
                tags: a.tags,
                ..Default::default()
            };
            post(to_json(&app.create_post(caller, input, CreatedVia::Mcp).await?)?)
        }
        "submit_for_approval" => {
            let a: SubmitArgs = args(raw)?;
            let input = herald_app::posts::SubmitInput { note: a.note };
            post(to_json(&app.submit_post(caller, a.post_id, input).await?)?)
        }
        "approve_post" => {
            let a: ApproveArgs = args(raw)?;
            let input = herald_app::posts::ApproveInput { scheduled_for: a.scheduled_for };
            post(to_json(&app.approve_post(caller, a.post_id, input).await?)?)
        }
        "reject_post" => {
            let a: RejectArgs = args(raw)?;
            let input = herald_app::posts::RejectInput { note: a.note };
            post(to_json(&app.reject_post(caller, a.post_id, input).await?)?)
        }
        "find_next_slot" => {
            let IntegrationIdArgs { integration_id } = args(raw)?;
            to_json(&app.next_slot(caller, integration_id).await?)?
        }
        "get_post_analytics" => {
            let PostIdArgs { post_id } = args(raw)?;
            to_json(&app.post_analytics(caller, post_id).await?)?
        }
        "get_integration_analytics" => {
            let a: IntegrationAnalyticsArgs = args(raw)?;
            to_json(&app.integration_analytics(caller, a.integration_id, a.days).await?)?
        }
        "list_feeds" => {
            let _: NoArgs = args(raw)?;
            json!({ "feeds": to_json(&app.list_feeds(caller).await?)? })
        }
        "create_feed" => {
            let input: CreateFeedInput = args(raw)?;
            to_json(&app.create_feed(caller, input).await?)?
        }
        "upload_media_from_url" => {
            let a: MediaArgs = args(raw)?;
            to_json(&app.upload_media_from_url(caller, &a.url, a.alt_text).await?)?
        }
        other => return Err(CallError::Arguments(format!("unknown tool `{other}`"))),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn schema_of(name: &str) -> Value {
        let spec = SPECS.iter().find(|spec| spec.name == name).expect("a tool");
        Value::Object((*(spec.schema)()).clone())
    }

    /// An enum anywhere in the schema, inline or under `$defs`.
    fn enums(schema: &Value) -> Vec<Value> {
        match schema {
            Value::Object(object) => {
                let own = object.get("enum").cloned().into_iter();
                own.chain(object.values().flat_map(enums)).collect()
            }
            Value::Array(items) => items.iter().flat_map(enums).collect(),
            _ => Vec::new(),
        }
    }

    #[test]
    fn statuses_are_enums_a_client_can_validate() {
        let publish_modes = json!(PublishMode::ALL.iter().map(|mode| mode.as_str()).collect::<Vec<_>>());
        for tool in ["create_post", "validate_post", "update_post"] {
            assert!(enums(&schema_of(tool)).contains(&publish_modes), "{tool}: {}", schema_of(tool));
        }
        let statuses = json!(PostStatus::ALL.iter().map(|status| status.as_str()).collect::<Vec<_>>());
        assert!(enums(&schema_of("list_posts")).contains(&statuses), "{}", schema_of("list_posts"));
        // Thread items and overrides are the REST API's own input types.
        let create = schema_of("create_post").to_string();
        assert!(create.contains("mediaIds") && create.contains("settingsSchema"), "{create}");
    }
}
