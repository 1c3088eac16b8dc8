//! The HTTP transports: Streamable HTTP at `/api/mcp` (key in the
//! `Authorization` header) and `/api/mcp/{apiKey}`, and the seed's legacy
//! SSE endpoint at `/api/mcp/{apiKey}/sse`. The key is checked before the
//! request reaches rmcp, so an invalid or revoked key never opens a session.

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::{Path, Request};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get, post};
use herald_app::{App, AppError, Caller};
use rmcp::transport::streamable_http_server::session::local::LocalSessionManager;
use rmcp::transport::streamable_http_server::{StreamableHttpServerConfig, StreamableHttpService};
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

use crate::HeraldMcp;
use crate::sse::{self, Sessions};

#[derive(Clone)]
pub struct McpConfig {
    /// Host names (or `host:port`) the Streamable HTTP endpoint answers to:
    /// loopback, `MAIN_URL`'s host, and `HERALD_MCP_ALLOWED_HOSTS`.
    pub allowed_hosts: Vec<String>,
    /// Turns true at shutdown: open streams end so the server can stop.
    pub shutdown: watch::Receiver<bool>,
}

type McpService = StreamableHttpService<HeraldMcp, LocalSessionManager>;

#[derive(Clone)]
pub(crate) struct McpState {
    pub app: App,
    pub service: Arc<McpService>,
    pub sessions: Arc<Sessions>,
    pub shutdown: watch::Receiver<bool>,
}

pub fn router(app: App, config: McpConfig) -> Router {
    let cancel = CancellationToken::new();
    let mut watch_shutdown = config.shutdown.clone();
    let on_shutdown = cancel.clone();
    tokio::spawn(async move {
        let _ = watch_shutdown.wait_for(|stop| *stop).await;
        on_shutdown.cancel();
    });
    let mut server_config = StreamableHttpServerConfig::default();
    server_config.allowed_hosts = config.allowed_hosts.clone();
    server_config.legacy_session_mode = true;
    server_config.sse_keep_alive = Some(Duration::from_secs(15));
    server_config.cancellation_token = cancel;
    let factory_app = app.clone();
    let service = StreamableHttpService::new(
        move || Ok(HeraldMcp::new(factory_app.clone(), None)),
        Arc::new(LocalSessionManager::default()),
        server_config,
    );
    let state = McpState {
        app,
        service: Arc::new(service),
        sessions: Arc::new(Sessions::default()),
        shutdown: config.shutdown,
    };
    let header_state = state.clone();
    let path_state = state.clone();
    let sse_state = state.clone();
    Router::new()
        .route("/api/mcp", any(move |request: Request| streamable(header_state.clone(), None, request)))
        .route(
            "/api/mcp/{key}",
            any(move |Path(key): Path<String>, request: Request| streamable(path_state.clone(), Some(key), request)),
        )
        .route("/api/mcp/{key}/sse", get(move |Path(key): Path<String>| sse::connect(sse_state.clone(), key)))
        .route(
            "/api/mcp/{key}/messages",
            post(
                move |Path(key): Path<String>,
                      query: axum::extract::Query<sse::SessionQuery>,
                      body: axum::body::Bytes| { sse::message(state.clone(), key, query.0, body) },
            ),
        )
}

/// Resolves an API key into a caller acting through MCP.
pub(crate) async fn authenticate(app: &App, key: &str) -> Result<Caller, Response> {
    app.authenticate_api_key(key, true).await.map_err(|error| refuse(&error))
}

pub(crate) fn refuse(error: &AppError) -> Response {
    let status = match error {
        AppError::Unauthorized(_) => StatusCode::UNAUTHORIZED,
        AppError::Forbidden { .. } => StatusCode::FORBIDDEN,
        _ => StatusCode::INTERNAL_SERVER_ERROR,
    };
    let body = serde_json::json!({ "error": { "code": error.code(), "message": error.to_string(), "timestamp": chrono::Utc::now() } });
    (status, [(header::WWW_AUTHENTICATE, "Bearer")], axum::Json(body)).into_response()
}

async fn streamable(state: McpState, path_key: Option<String>, mut request: Request) -> Response {
    let key = match path_key {
        Some(key) => key,
        None => match bearer(&request) {
            Some(key) => key,
            None => {
                return refuse(&AppError::Unauthorized(
                    "send your Herald API key as `Authorization: Bearer ptz_…`, or use /api/mcp/{apiKey}".into(),
                ));
            }
        },
    };
    let caller = match authenticate(&state.app, &key).await {
        Ok(caller) => caller,
        Err(response) => return response,
    };
    request.extensions_mut().insert(caller);
    state.service.handle(request).await.map(Body::new)
}

fn bearer(request: &Request) -> Option<String> {
    let value = request.headers().get(header::AUTHORIZATION)?.to_str().ok()?.trim();
    let token = match value.split_once(' ') {
        Some((scheme, rest)) if scheme.eq_ignore_ascii_case("bearer") => rest.trim(),
        Some(_) => return None,
        None => value,
    };
    Some(token.to_string()).filter(|t| !t.is_empty())
}
