//! The HTTP transports: Streamable HTTP at `/api/mcp` (an OAuth access
//! token or a key in the `Authorization` header) and `/api/mcp/{apiKey}`, and the seed's legacy
//! SSE endpoint at `/api/mcp/{apiKey}/sse`. Every request passes the same
//! Host/Origin checks and the key is checked before the request reaches
//! rmcp, so an invalid or revoked key never opens a session. A session
//! answers only the key that opened it, and ends within seconds of that
//! key being revoked.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::{Path, Request};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::Response;
use axum::routing::{any, get, post};
use herald_app::{App, AppError, Caller};
use rmcp::transport::streamable_http_server::session::SessionManager;
use rmcp::transport::streamable_http_server::session::local::LocalSessionManager;
use rmcp::transport::streamable_http_server::{StreamableHttpServerConfig, StreamableHttpService};
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

use crate::HeraldMcp;
use crate::guard::{error, host_or_origin_refusal, json_errors, refuse};
use crate::sse::{self, Sessions};

/// How often open sessions are checked against their key.
const RECHECK: Duration = Duration::from_secs(2);
const SESSION_HEADER: &str = "mcp-session-id";
/// The most of a refused request's body read to keep its connection open.
const UNREAD_BODY_LIMIT: usize = 256 * 1024;

#[derive(Clone)]
pub struct McpConfig {
    /// Host names (or `host:port`) the MCP endpoints answer to: loopback,
    /// `MAIN_URL`'s host, and `HERALD_MCP_ALLOWED_HOSTS`.
    pub allowed_hosts: Vec<String>,
    /// Turns true at shutdown: open streams end so the server can stop.
    pub shutdown: watch::Receiver<bool>,
}

type McpService = StreamableHttpService<HeraldMcp, LocalSessionManager>;

/// Streamable HTTP sessions and the key each belongs to.
#[derive(Default)]
pub(crate) struct Owners {
    by_session: Mutex<HashMap<String, Caller>>,
}

impl Owners {
    fn owner(&self, session: &str) -> Option<Caller> {
        self.by_session.lock().ok()?.get(session).cloned()
    }

    fn insert(&self, session: String, caller: Caller) {
        if let Ok(mut owners) = self.by_session.lock() {
            owners.insert(session, caller);
        }
    }

    fn remove(&self, session: &str) {
        if let Ok(mut owners) = self.by_session.lock() {
            owners.remove(session);
        }
    }

    fn all(&self) -> Vec<(String, Caller)> {
        self.by_session.lock().map(|o| o.iter().map(|(k, v)| (k.clone(), v.clone())).collect()).unwrap_or_default()
    }
}

#[derive(Clone)]
pub(crate) struct McpState {
    pub app: App,
    pub service: Arc<McpService>,
    pub manager: Arc<LocalSessionManager>,
    pub owners: Arc<Owners>,
    pub sessions: Arc<Sessions>,
    pub shutdown: watch::Receiver<bool>,
    pub allowed_hosts: Arc<[String]>,
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
    // Checked (with the JSON error format) before rmcp sees the request;
    // rmcp checks the same list again.
    server_config.allowed_hosts = config.allowed_hosts.clone();
    server_config.legacy_session_mode = true;
    server_config.sse_keep_alive = Some(Duration::from_secs(15));
    server_config.cancellation_token = cancel;
    let manager = Arc::new(LocalSessionManager::default());
    let factory_app = app.clone();
    let service = StreamableHttpService::new(
        move || Ok(HeraldMcp::new(factory_app.clone(), None)),
        Arc::clone(&manager),
        server_config,
    );
    let state = McpState {
        app,
        service: Arc::new(service),
        manager,
        owners: Arc::new(Owners::default()),
        sessions: Arc::new(Sessions::default()),
        shutdown: config.shutdown,
        allowed_hosts: config.allowed_hosts.into(),
    };
    tokio::spawn(end_sessions_of_revoked_keys(state.clone()));
    let header_state = state.clone();
    let path_state = state.clone();
    let sse_state = state.clone();
    crate::oauth::routes(state.app.clone())
        .route("/api/mcp", any(move |request: Request| streamable(header_state.clone(), None, request)))
        .route(
            "/api/mcp/{key}",
            any(move |Path(key): Path<String>, request: Request| streamable(path_state.clone(), Some(key), request)),
        )
        .route(
            "/api/mcp/{key}/sse",
            get(move |Path(key): Path<String>, headers: HeaderMap| sse::connect(sse_state.clone(), key, headers)),
        )
        .route(
            "/api/mcp/{key}/messages",
            post(
                move |Path(key): Path<String>,
                      headers: HeaderMap,
                      query: axum::extract::Query<sse::SessionQuery>,
                      body: axum::body::Bytes| {
                    sse::message(state.clone(), key, headers, query.0, body)
                },
            ),
        )
}

/// Resolves an API key into a caller acting through MCP.
pub(crate) async fn authenticate(app: &App, key: &str) -> Result<Caller, Response> {
    app.authenticate_api_key(key, true).await.map_err(|error| refuse(&error))
}

/// The caller of a request to `/api/mcp`: an OAuth access token or a
/// pasted key in the `Authorization` header. A refusal points the client
/// at the protected resource metadata, where its OAuth sign-in starts.
async fn authenticate_header(state: &McpState, headers: &HeaderMap) -> Result<Caller, Response> {
    let challenge = |error: Option<&str>| {
        let issuer = state.app.oauth_issuer(crate::oauth::host(headers));
        let metadata = crate::oauth::resource_metadata_url(&issuer);
        match error {
            Some(error) => format!("Bearer error=\"{error}\", resource_metadata=\"{metadata}\""),
            None => format!("Bearer resource_metadata=\"{metadata}\""),
        }
    };
    let Some(token) = bearer(headers) else {
        let refusal = AppError::Unauthorized(
            "sign in with OAuth (your MCP client does it when you add this server's URL), or send a Herald API key as `Authorization: Bearer ptz_…`".into(),
        );
        return Err(with_challenge(refuse(&refusal), &challenge(None)));
    };
    let answer = if herald_core::mcp_auth::looks_like_access_token(&token) {
        state.app.authenticate_mcp_token(&token).await
    } else {
        state.app.authenticate_api_key(&token, true).await
    };
    answer.map_err(|error| {
        let response = refuse(&error);
        if response.status() == StatusCode::UNAUTHORIZED {
            with_challenge(response, &challenge(Some("invalid_token")))
        } else {
            response
        }
    })
}

fn with_challenge(mut response: Response, challenge: &str) -> Response {
    if let Ok(value) = axum::http::HeaderValue::from_str(challenge) {
        response.headers_mut().insert(header::WWW_AUTHENTICATE, value);
    }
    response
}

async fn streamable(state: McpState, path_key: Option<String>, mut request: Request) -> Response {
    if let Some(refused) = host_or_origin_refusal(request.headers(), &state.allowed_hosts) {
        return after_reading(request, refused).await;
    }
    let authenticated = match path_key {
        Some(key) => authenticate(&state.app, &key).await,
        None => authenticate_header(&state, request.headers()).await,
    };
    let caller = match authenticated {
        Ok(caller) => caller,
        Err(response) => return after_reading(request, response).await,
    };
    let session = request.headers().get(SESSION_HEADER).and_then(|v| v.to_str().ok()).map(str::to_string);
    if let Some(session) = &session {
        // Another key's session is answered like one that does not exist.
        let owned = state.owners.owner(session).is_some_and(|owner| owner.api_key_id() == caller.api_key_id());
        if !owned {
            let gone = error(StatusCode::NOT_FOUND, "NOT_FOUND", "no MCP session with this id; initialize a new one");
            return after_reading(request, gone).await;
        }
    }
    let closing = request.method() == axum::http::Method::DELETE;
    request.extensions_mut().insert(caller.clone());
    let response = state.service.handle(request).await.map(Body::new);
    match session {
        Some(session) if closing && response.status().is_success() => state.owners.remove(&session),
        Some(_) => {}
        None => {
            if let Some(opened) = response.headers().get(SESSION_HEADER).and_then(|v| v.to_str().ok()) {
                state.owners.insert(opened.to_string(), caller);
            }
        }
    }
    json_errors(response).await
}

/// A refusal sent once the request's body is read: a connection whose
/// body was left unread is closed after the answer, and a client that
/// sends its next request on it (an OAuth client going from the 401 to the
/// metadata) would see it drop.
async fn after_reading(request: Request, refusal: Response) -> Response {
    // JSON-RPC messages are small; past this, the connection may close.
    let _ = axum::body::to_bytes(request.into_body(), UNREAD_BODY_LIMIT).await;
    refusal
}

/// Every few seconds: sessions whose key was revoked or expired (or whose
/// owner was disabled) are closed, which ends their open streams.
async fn end_sessions_of_revoked_keys(state: McpState) {
    let mut shutdown = state.shutdown.clone();
    let mut tick = tokio::time::interval(RECHECK);
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            _ = shutdown.wait_for(|stop| *stop) => return,
        }
        for (session, caller) in state.owners.all() {
            let id = std::sync::Arc::from(session.as_str());
            if !state.manager.has_session(&id).await.unwrap_or(false) {
                state.owners.remove(&session);
            } else if let Err(reason) = state.app.still_authorized(&caller).await {
                if matches!(reason, AppError::Internal(_)) {
                    continue;
                }
                tracing::info!(%reason, "MCP session closed: its key no longer holds");
                let _ = state.manager.close_session(&id).await;
                state.owners.remove(&session);
            }
        }
        sse::end_revoked(&state).await;
    }
}

fn bearer(headers: &HeaderMap) -> Option<String> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    herald_core::api_key::bearer_token(value).map(str::to_string)
}
