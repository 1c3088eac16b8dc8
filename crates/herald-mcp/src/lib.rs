//! Herald's MCP server: the tools of `tools.rs` over three transports —
//! Streamable HTTP (`/api/mcp`), the legacy HTTP+SSE endpoint of the seed
//! (`/api/mcp/{apiKey}/sse`) and stdio (`herald mcp`). Every transport
//! authenticates an API key before a session starts, and every tool call
//! runs through the same use cases as the REST API.

// MCP logging notifications are deprecated by SEP-2577, but they are what
// today's clients display.
#![allow(deprecated)]

mod extras;
mod guard;
mod http;
mod notify;
mod oauth;
mod sse;
mod times;
mod tools;

use herald_app::{App, AppError, Caller};
use rmcp::model::{
    CallToolRequestParams, CallToolResponse, CallToolResult, ContentBlock, GetPromptRequestParams, GetPromptResponse,
    Implementation, ListPromptsResult, ListResourceTemplatesResult, ListResourcesResult, ListToolsResult,
    PaginatedRequestParams, ReadResourceRequestParams, ReadResourceResponse, ServerCapabilities, ServerConfig,
    SetLevelRequestParams,
};
use rmcp::service::{NotificationContext, RequestContext};
use rmcp::{ErrorData as McpError, RoleServer, ServerHandler, ServiceExt};

pub use http::{McpConfig, router};

const INSTRUCTIONS: &str = "Herald schedules and publishes social media posts. Start with list_integrations to find \
the accounts (integration ids) to post to, check text with validate_post or get_platform_rules, then create_post as \
DRAFT, SCHEDULED (with scheduledFor, ISO 8601 with offset) or NOW. find_next_slot suggests a time. Posts you create \
are checked exactly like in the web UI; errors name the field to fix. Resources: herald://integrations (the accounts) \
and herald://posts/{id}; prompts: plan_week, adapt_for_each_account.";

/// One MCP session's server. Over HTTP the caller comes with each request
/// (authenticated before the session); over stdio and SSE it is fixed.
#[derive(Clone)]
pub struct HeraldMcp {
    app: App,
    fixed_caller: Option<Caller>,
}

impl HeraldMcp {
    pub fn new(app: App, caller: Option<Caller>) -> Self {
        Self { app, fixed_caller: caller }
    }

    fn caller(&self, extensions: &rmcp::model::Extensions) -> Result<Caller, McpError> {
        if let Some(caller) = &self.fixed_caller {
            return Ok(caller.clone());
        }
        extensions
            .get::<axum::http::request::Parts>()
            .and_then(|parts| parts.extensions.get::<Caller>())
            .cloned()
            .ok_or_else(|| McpError::invalid_request("this session has no authenticated API key", None))
    }
}

impl HeraldMcp {
    /// The caller, still a member with its key or session valid.
    async fn authorized(&self, context: &RequestContext<RoleServer>) -> Result<Caller, McpError> {
        let caller = self.caller(&context.extensions)?;
        self.app.still_authorized(&caller).await.map_err(|error| McpError::invalid_request(error.to_string(), None))?;
        Ok(caller)
    }
}

/// REST field names as the MCP tools call them.
fn tool_field(field: &str) -> String {
    match field.strip_prefix("platforms") {
        Some(rest) => format!("integrationIds{rest}"),
        None => field.to_string(),
    }
}

fn tool_error(error: &AppError) -> CallToolResult {
    let (message, details) = match error {
        AppError::Validation { errors, .. } => {
            let errors: Vec<serde_json::Value> = errors
                .iter()
                .map(|e| serde_json::json!({ "field": tool_field(&e.field), "message": e.message }))
                .collect();
            let message = errors
                .iter()
                .map(|e| {
                    format!(
                        "{}: {}",
                        e["field"].as_str().unwrap_or_default(),
                        e["message"].as_str().unwrap_or_default()
                    )
                })
                .collect::<Vec<_>>()
                .join("; ");
            (message, serde_json::json!({ "errors": errors }))
        }
        AppError::Forbidden { message, required_scope } => {
            (message.clone(), serde_json::json!({ "requiredScope": required_scope }))
        }
        AppError::Internal(source) => {
            tracing::error!(error = %source, "internal error in an MCP tool");
            ("something went wrong on our side".to_string(), serde_json::Value::Null)
        }
        other => (other.to_string(), serde_json::Value::Null),
    };
    let mut result = CallToolResult::error(vec![ContentBlock::text(format!("{}: {message}", error.code()))]);
    result.structured_content =
        Some(serde_json::json!({ "error": { "code": error.code(), "message": message, "details": details } }));
    result
}

impl ServerHandler for HeraldMcp {
    fn get_info(&self) -> ServerConfig {
        ServerConfig::new(
            ServerCapabilities::builder().enable_tools().enable_resources().enable_prompts().enable_logging().build(),
        )
        .with_server_info(Implementation::new("herald", env!("CARGO_PKG_VERSION")).with_title("Herald"))
        .with_instructions(INSTRUCTIONS)
    }

    async fn list_tools(
        &self,
        _request: Option<PaginatedRequestParams>,
        context: RequestContext<RoleServer>,
    ) -> Result<ListToolsResult, McpError> {
        let caller = self.caller(&context.extensions)?;
        if let Err(error) = self.app.still_authorized(&caller).await {
            return Err(McpError::invalid_request(error.to_string(), None));
        }
        Ok(ListToolsResult::with_all_items(tools::tools_for(&caller)))
    }

    async fn call_tool(
        &self,
        request: CallToolRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<CallToolResponse, McpError> {
        if !tools::is_known(&request.name) {
            return Err(McpError::invalid_params(format!("unknown tool `{}`", request.name), None));
        }
        let caller = self.caller(&context.extensions)?;
        if let Err(error) = self.app.still_authorized(&caller).await {
            return Ok(tool_error(&error).into());
        }
        let timezone = match self.app.me(&caller).await {
            Ok(me) => me.timezone,
            Err(error) => return Ok(tool_error(&error).into()),
        };
        let arguments = serde_json::Value::Object(request.arguments.unwrap_or_default());
        let result = match tools::call(&self.app, &caller, &timezone, &request.name, arguments).await {
            Ok(value) => {
                let text = serde_json::to_string_pretty(&value).unwrap_or_default();
                let mut result = CallToolResult::success(vec![ContentBlock::text(text)]);
                result.structured_content = Some(value);
                result
            }
            Err(tools::CallError::App(error)) => tool_error(&error),
            Err(tools::CallError::Arguments(message)) => {
                return Err(McpError::invalid_params(
                    format!("invalid arguments for {}: {message}", request.name),
                    None,
                ));
            }
        };
        Ok(result.into())
    }

    async fn list_resources(
        &self,
        _request: Option<PaginatedRequestParams>,
        context: RequestContext<RoleServer>,
    ) -> Result<ListResourcesResult, McpError> {
        let caller = self.authorized(&context).await?;
        Ok(ListResourcesResult::with_all_items(extras::list_resources(&self.app, &caller).await?))
    }

    async fn list_resource_templates(
        &self,
        _request: Option<PaginatedRequestParams>,
        context: RequestContext<RoleServer>,
    ) -> Result<ListResourceTemplatesResult, McpError> {
        self.authorized(&context).await?;
        Ok(ListResourceTemplatesResult::with_all_items(extras::resource_templates()))
    }

    async fn read_resource(
        &self,
        request: ReadResourceRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<ReadResourceResponse, McpError> {
        let caller = self.authorized(&context).await?;
        let timezone = self.app.me(&caller).await.map(|me| me.timezone).unwrap_or_else(|_| "UTC".into());
        Ok(extras::read_resource(&self.app, &caller, &timezone, &request.uri).await?.into())
    }

    async fn list_prompts(
        &self,
        _request: Option<PaginatedRequestParams>,
        context: RequestContext<RoleServer>,
    ) -> Result<ListPromptsResult, McpError> {
        self.authorized(&context).await?;
        Ok(ListPromptsResult::with_all_items(extras::prompts()))
    }

    async fn get_prompt(
        &self,
        request: GetPromptRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<GetPromptResponse, McpError> {
        self.authorized(&context).await?;
        Ok(extras::get_prompt(&request.name, &request.arguments.unwrap_or_default())?.into())
    }

    async fn set_level(
        &self,
        _request: SetLevelRequestParams,
        _context: RequestContext<RoleServer>,
    ) -> Result<(), McpError> {
        Ok(())
    }

    async fn on_initialized(&self, context: NotificationContext<RoleServer>) {
        match self.caller(&context.extensions) {
            Ok(caller) => notify::forward_events(self.app.clone(), caller, context.peer),
            Err(_) => tracing::debug!("MCP session without a caller: no event notifications"),
        }
    }
}

/// `herald mcp`: serves one session on stdin/stdout until the client leaves.
pub async fn serve_stdio(app: App, caller: Caller) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    let running = HeraldMcp::new(app, Some(caller)).serve(rmcp::transport::stdio()).await?;
    running.waiting().await?;
    Ok(())
}
