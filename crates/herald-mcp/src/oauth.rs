//! The OAuth side of the MCP endpoint, as MCP clients discover and use it:
//! protected resource metadata (RFC 9728), authorization server metadata
//! (RFC 8414), dynamic client registration (RFC 7591), the token endpoint
//! and revocation (RFC 7009). The consent page itself is the web UI's
//! (`/oauth/authorize`), since it needs a signed-in person.
//!
//! These endpoints take no cookie, so they allow any origin (browser-based
//! MCP clients call them with `fetch`).

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use herald_app::App;
use herald_app::mcp_auth::{AUTH_METHODS, ClientCredentials, OAuthError, TokenRequest};
use herald_core::api_key::Scope;
use herald_core::mcp_auth::{RESOURCE_PATH, resource_uri};
use serde_json::json;

/// Where clients find the protected resource's metadata, as the 401 of
/// `/api/mcp` names it.
pub(crate) fn resource_metadata_url(issuer: &str) -> String {
    format!("{issuer}/.well-known/oauth-protected-resource{RESOURCE_PATH}")
}

pub(crate) fn routes(app: App) -> Router {
    Router::new()
        .route("/.well-known/oauth-protected-resource", get(protected_resource).options(preflight))
        .route("/.well-known/oauth-protected-resource/api/mcp", get(protected_resource).options(preflight))
        .route("/.well-known/oauth-authorization-server", get(authorization_server).options(preflight))
        .route("/oauth/register", post(registration).options(preflight))
        .route("/oauth/token", post(token_endpoint).options(preflight))
        .route("/oauth/revoke", post(revocation).options(preflight))
        .with_state(app)
}

/// The request's `Host`, to tell a local install's own address.
pub(crate) fn host(headers: &HeaderMap) -> Option<&str> {
    headers.get(header::HOST).and_then(|v| v.to_str().ok())
}

fn scopes_supported() -> Vec<&'static str> {
    Scope::ALL.iter().map(|s| s.as_str()).collect()
}

async fn protected_resource(State(app): State<App>, headers: HeaderMap) -> Response {
    let issuer = app.oauth_issuer(host(&headers));
    open(json_answer(
        StatusCode::OK,
        json!({
            "resource": resource_uri(&issuer),
            "authorization_servers": [issuer],
            "scopes_supported": scopes_supported(),
            "bearer_methods_supported": ["header"],
            "resource_name": "Herald",
            "resource_documentation": format!("{issuer}/api/docs"),
        }),
    ))
}

async fn authorization_server(State(app): State<App>, headers: HeaderMap) -> Response {
    let issuer = app.oauth_issuer(host(&headers));
    open(json_answer(
        StatusCode::OK,
        json!({
            "issuer": issuer,
            "authorization_endpoint": format!("{issuer}/oauth/authorize"),
            "token_endpoint": format!("{issuer}/oauth/token"),
            "registration_endpoint": format!("{issuer}/oauth/register"),
            "revocation_endpoint": format!("{issuer}/oauth/revoke"),
            "scopes_supported": scopes_supported(),
            "response_types_supported": ["code"],
            "response_modes_supported": ["query"],
            "grant_types_supported": ["authorization_code", "refresh_token"],
            "token_endpoint_auth_methods_supported": AUTH_METHODS,
            "revocation_endpoint_auth_methods_supported": AUTH_METHODS,
            "code_challenge_methods_supported": ["S256"],
            "service_documentation": format!("{issuer}/api/docs"),
        }),
    ))
}

async fn registration(State(app): State<App>, body: Bytes) -> Response {
    match app.register_mcp_client(&body).await {
        Ok(client) => open(json_answer(StatusCode::CREATED, client)),
        Err(refused) => {
            let status = if refused.error == "server_error" {
                StatusCode::INTERNAL_SERVER_ERROR
            } else {
                StatusCode::BAD_REQUEST
            };
            open(json_answer(status, json!({"error": refused.error, "error_description": refused.description})))
        }
    }
}

/// The form of a token or revocation request, and the client's Basic
/// credentials if it sent them.
fn token_form(headers: &HeaderMap, body: &[u8]) -> Result<(TokenRequest, Option<ClientCredentials>), OAuthError> {
    let form_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
    let invalid =
        |description: &str| OAuthError { status: 400, error: "invalid_request", description: description.into() };
    if !form_type {
        return Err(invalid("send the parameters as application/x-www-form-urlencoded"));
    }
    // Repeated parameters are refused (RFC 6749 §3.2), which the parser does.
    let request: TokenRequest =
        serde_urlencoded::from_bytes(body).map_err(|_| invalid("the form is malformed or repeats a parameter"))?;
    let basic = match headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()) {
        Some(value) => Some(ClientCredentials::from_basic(value).ok_or(OAuthError {
            status: 401,
            error: "invalid_client",
            description: "the Authorization header must be Basic client credentials".into(),
        })?),
        None => None,
    };
    Ok((request, basic))
}

async fn token_endpoint(State(app): State<App>, headers: HeaderMap, body: Bytes) -> Response {
    let answer = match token_form(&headers, &body) {
        Ok((request, basic)) => app.exchange_token(&request, basic, host(&headers)).await,
        Err(error) => Err(error),
    };
    let mut response = match answer {
        Ok(tokens) => json_answer(StatusCode::OK, json!(tokens)),
        Err(error) => oauth_error(&error),
    };
    response.headers_mut().insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
    open(response)
}

async fn revocation(State(app): State<App>, headers: HeaderMap, body: Bytes) -> Response {
    let answer = match token_form(&headers, &body) {
        Ok((request, basic)) => app.revoke_token(&request, basic).await,
        Err(error) => Err(error),
    };
    open(match answer {
        Ok(()) => StatusCode::OK.into_response(),
        Err(error) => oauth_error(&error),
    })
}

fn oauth_error(error: &OAuthError) -> Response {
    let status = StatusCode::from_u16(error.status).unwrap_or(StatusCode::BAD_REQUEST);
    let mut response = json_answer(status, json!({"error": error.error, "error_description": error.description}));
    if status == StatusCode::UNAUTHORIZED {
        response.headers_mut().insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Basic realm=\"herald\""));
    }
    response
}

fn json_answer(status: StatusCode, body: serde_json::Value) -> Response {
    let mut response = (status, axum::Json(body)).into_response();
    response.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// Any origin may read these answers; no cookie is involved.
fn open(mut response: Response) -> Response {
    response.headers_mut().insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, HeaderValue::from_static("*"));
    response
}

async fn preflight() -> Response {
    let mut response = open(StatusCode::NO_CONTENT.into_response());
    let headers = response.headers_mut();
    headers.insert(header::ACCESS_CONTROL_ALLOW_METHODS, HeaderValue::from_static("GET, POST, OPTIONS"));
    headers.insert(
        header::ACCESS_CONTROL_ALLOW_HEADERS,
        HeaderValue::from_static("authorization, content-type, mcp-protocol-version"),
    );
    headers.insert(header::ACCESS_CONTROL_MAX_AGE, HeaderValue::from_static("600"));
    response
}
