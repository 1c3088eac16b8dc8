//! MCP resources and prompts. Resources let an assistant read Herald's
//! state as context without a tool call: `herald://integrations` (the
//! accounts) and `herald://posts/{id}` (one post, recent ones listed).
//! Prompts start common jobs the right way: plan a week of posts, adapt a
//! text for each account. Both go through the same use cases and checks
//! as the tools.

use herald_app::posts::ListPostsQuery;
use herald_app::{App, AppError, Caller};
use rmcp::ErrorData as McpError;
use rmcp::model::{
    GetPromptResult, Prompt, PromptArgument, PromptMessage, ReadResourceResult, Resource, ResourceContents,
    ResourceTemplate, Role,
};
use serde_json::Value;
use uuid::Uuid;

use crate::times::with_local_times;

const INTEGRATIONS_URI: &str = "herald://integrations";
const POST_PREFIX: &str = "herald://posts/";
/// Recent posts listed as resources (all are readable by the template).
const LISTED_POSTS: u64 = 20;

fn failure(error: AppError) -> McpError {
    match error {
        AppError::NotFound(what) => McpError::resource_not_found(format!("{what} not found"), None),
        AppError::Internal(source) => {
            tracing::error!(error = %source, "internal error in an MCP resource");
            McpError::internal_error("something went wrong on our side", None)
        }
        other => McpError::invalid_request(format!("{}: {other}", other.code()), None),
    }
}

fn json_contents(uri: &str, value: &Value) -> ReadResourceResult {
    ReadResourceResult::new(vec![ResourceContents::TextResourceContents {
        uri: uri.to_string(),
        mime_type: Some("application/json".into()),
        text: serde_json::to_string_pretty(value).unwrap_or_default(),
        meta: None,
    }])
}

/// The accounts, then the latest posts the caller may read.
pub async fn list_resources(app: &App, caller: &Caller) -> Result<Vec<Resource>, McpError> {
    let mut resources = vec![
        Resource::new(INTEGRATIONS_URI, "integrations")
            .with_title("Connected accounts")
            .with_description(
                "Every account (integration) of the workspace: id, platform, name, status, posting times.",
            )
            .with_mime_type("application/json"),
    ];
    if let Ok(page) = app.list_posts(caller, ListPostsQuery { limit: Some(LISTED_POSTS), ..Default::default() }).await {
        resources.extend(page.posts.iter().map(|post| {
            let excerpt: String = post.content.chars().take(60).collect();
            Resource::new(format!("{POST_PREFIX}{}", post.id), format!("post {}", post.id))
                .with_title(format!("{} post: {excerpt}", post.status.as_str().to_lowercase()))
                .with_mime_type("application/json")
        }));
    }
    Ok(resources)
}

pub fn resource_templates() -> Vec<ResourceTemplate> {
    vec![
        ResourceTemplate::new(format!("{POST_PREFIX}{{id}}"), "post")
            .with_title("A post")
            .with_description("One post by id: text, thread, accounts, status per account, times in UTC and local.")
            .with_mime_type("application/json"),
    ]
}

pub async fn read_resource(
    app: &App,
    caller: &Caller,
    timezone: &str,
    uri: &str,
) -> Result<ReadResourceResult, McpError> {
    if uri == INTEGRATIONS_URI {
        let integrations = app.list_integrations(caller).await.map_err(failure)?;
        let value = serde_json::json!({ "integrations": integrations });
        return Ok(json_contents(uri, &value));
    }
    if let Some(id) = uri.strip_prefix(POST_PREFIX) {
        let id = Uuid::parse_str(id).map_err(|_| McpError::resource_not_found(format!("no resource {uri}"), None))?;
        let post = app.get_post(caller, id).await.map_err(failure)?;
        let value = serde_json::to_value(&post).map_err(|e| McpError::internal_error(e.to_string(), None))?;
        return Ok(json_contents(uri, &with_local_times(value, timezone)));
    }
    Err(McpError::resource_not_found(format!("no resource {uri}; try {INTEGRATIONS_URI} or {POST_PREFIX}{{id}}"), None))
}

pub fn prompts() -> Vec<Prompt> {
    vec![
        Prompt::new(
            "plan_week",
            Some("Plan a week of posts on a topic: one draft per day and account, each checked against the platform's rules."),
            Some(vec![
                PromptArgument::new("topic").with_description("What the week is about").with_required(true),
                PromptArgument::new("accounts")
                    .with_description("Which accounts, by name or platform (default: all)")
                    .with_required(false),
                PromptArgument::new("tone").with_description("How it should sound").with_required(false),
            ]),
        )
        .with_title("Plan a week of posts"),
        Prompt::new(
            "adapt_for_each_account",
            Some("Adapt one text for each account: within each platform's limit, in its style, validated."),
            Some(vec![PromptArgument::new("text").with_description("The text to adapt").with_required(true)]),
        )
        .with_title("Adapt a text for each account"),
    ]
}

pub fn get_prompt(name: &str, arguments: &serde_json::Map<String, Value>) -> Result<GetPromptResult, McpError> {
    let argument = |key: &str| arguments.get(key).and_then(Value::as_str).map(str::trim).filter(|v| !v.is_empty());
    let required = |key: &str| {
        argument(key).ok_or_else(|| McpError::invalid_params(format!("the prompt needs the argument `{key}`"), None))
    };
    let text = match name {
        "plan_week" => {
            let topic = required("topic")?;
            let accounts = argument("accounts").unwrap_or("all connected accounts");
            let tone = argument("tone").map(|t| format!(" The tone: {t}.")).unwrap_or_default();
            format!(
                "Plan a week of social media posts about: {topic}.{tone}\n\n\
                 1. Call list_integrations and pick these accounts: {accounts}.\n\
                 2. Call get_platform_rules for their platforms (length limits, media, settings).\n\
                 3. For each of the next 7 days, call find_next_slot for each account to get a free posting time.\n\
                 4. Write one post per day and account, suited to the platform; call validate_post and fix what it reports.\n\
                 5. Create each with create_post as a DRAFT with its scheduledFor, then show me the plan as a table \
                 (day, time in my time zone, account, text). If I approve and your key may publish, schedule them with \
                 update_post (status SCHEDULED); otherwise submit them with submit_for_approval."
            )
        }
        "adapt_for_each_account" => {
            let source = required("text")?;
            format!(
                "Adapt this text for each of my accounts:\n\n{source}\n\n\
                 Call list_integrations, then get_platform_rules for their platforms. Write one version per account \
                 within its limit and in the platform's style (hashtags where they help, no hashtags on LinkedIn \
                 company-style posts unless fitting). Call validate_post with the main text as content and the \
                 per-account versions in overrides (keyed by integration id); fix what it reports; show me the \
                 versions before creating anything."
            )
        }
        other => return Err(McpError::invalid_params(format!("unknown prompt `{other}`"), None)),
    };
    Ok(GetPromptResult::new(vec![PromptMessage::new_text(Role::User, text)]))
}
