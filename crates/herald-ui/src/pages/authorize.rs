//! `/oauth/authorize`: the consent page of Herald's OAuth server for MCP
//! apps. A signed-in person sees which app asks, where it will send them
//! back, picks the workspace and ticks the permissions (publishing is never
//! ticked for them), then allows or denies.
//!
//! The page's CSP allows its form to end at the app's redirect URI:
//! browsers check `form-action` on the redirect that follows a form post,
//! so the site-wide `form-action 'self'` would block the way back.

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Form, Router};
use herald_app::mcp_auth::{AuthorizationRefusal, AuthorizationRequest, CheckedAuthorization};
use herald_core::api_key::Scope;
use herald_core::mcp_auth::csp_source;

use crate::UiState;
use crate::chrome::{Chrome, FieldErrors};
use crate::error::{UiError, UiResult};
use crate::pages::see_other;
use crate::session::Viewer;

pub fn routes() -> Router<UiState> {
    Router::new().route("/oauth/authorize", get(page).post(decide))
}

pub struct ScopeChoice {
    pub name: &'static str,
    pub label: &'static str,
    pub checked: bool,
}

#[derive(Template, WebTemplate)]
#[template(path = "pages/authorize.html")]
struct ConsentPage {
    c: Chrome,
    client_name: String,
    client_host: Option<String>,
    redirect_host: String,
    user_name: String,
    /// (id, name, selected) of the person's workspaces.
    workspaces: Vec<(String, String, bool)>,
    scopes: Vec<ScopeChoice>,
    /// The authorization request, carried through the form.
    hidden: Vec<(&'static str, String)>,
    errors: FieldErrors,
}

fn describe(scope: Scope) -> &'static str {
    match scope {
        Scope::PostsRead => "Read your posts and calendar",
        Scope::PostsWrite => "Create and edit drafts",
        Scope::PostsPublish => "Schedule and publish posts (without this, it only prepares drafts for you)",
        Scope::AnalyticsRead => "Read analytics",
        Scope::IntegrationsRead => "See your connected social accounts",
    }
}

fn host(headers: &HeaderMap) -> Option<&str> {
    headers.get(header::HOST).and_then(|v| v.to_str().ok())
}

fn hidden_fields(request: &AuthorizationRequest) -> Vec<(&'static str, String)> {
    [
        ("response_type", &request.response_type),
        ("client_id", &request.client_id),
        ("redirect_uri", &request.redirect_uri),
        ("code_challenge", &request.code_challenge),
        ("code_challenge_method", &request.code_challenge_method),
        ("scope", &request.scope),
        ("state", &request.state),
        ("resource", &request.resource),
    ]
    .into_iter()
    .filter_map(|(name, value)| value.clone().map(|v| (name, v)))
    .collect()
}

fn host_of(uri: &str) -> Option<String> {
    let url = url::Url::parse(uri).ok()?;
    Some(match url.host_str() {
        Some(host) => match url.port() {
            Some(port) => format!("{host}:{port}"),
            None => host.to_string(),
        },
        None => format!("{}:", url.scheme()),
    })
}

/// The consent page, with the CSP that lets its form return to the app.
fn consent(
    viewer: &Viewer,
    request: &AuthorizationRequest,
    checked: &CheckedAuthorization,
    ticked: &[Scope],
    workspace: Option<uuid::Uuid>,
    errors: FieldErrors,
) -> Response {
    let selected = workspace.unwrap_or(viewer.caller.workspace_id);
    let page = ConsentPage {
        c: Chrome::anonymous(viewer.csrf.clone(), format!("Connect {}", checked.client_name)),
        client_name: checked.client_name.clone(),
        client_host: checked.client_uri.as_deref().and_then(host_of),
        redirect_host: host_of(&checked.redirect_uri).unwrap_or_default(),
        user_name: viewer.user.name.clone(),
        workspaces: viewer.workspaces.iter().map(|w| (w.id.to_string(), w.name.clone(), w.id == selected)).collect(),
        scopes: Scope::ALL
            .iter()
            .map(|s| ScopeChoice { name: s.as_str(), label: describe(*s), checked: ticked.contains(s) })
            .collect(),
        hidden: hidden_fields(request),
        errors,
    };
    let status = if page.errors.is_empty() { StatusCode::OK } else { StatusCode::BAD_REQUEST };
    let mut response = (status, page).into_response();
    let form_action = match csp_source(&checked.redirect_uri) {
        Some(source) => format!("'self' {source}"),
        None => "'self'".to_string(),
    };
    let policy = format!(
        "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; object-src 'none'; base-uri 'self'; form-action {form_action}; frame-ancestors 'none'"
    );
    if let Ok(value) = HeaderValue::from_str(&policy) {
        response.headers_mut().insert(header::CONTENT_SECURITY_POLICY, value);
    }
    response
}

fn refused(refusal: AuthorizationRefusal) -> Response {
    match (refusal.location(), refusal) {
        (Some(location), _) => see_other(&location),
        (None, AuthorizationRefusal::Page(message)) => UiError::BadRequest(message).into_response(),
        // A redirect URI that was checked but cannot be parsed again.
        (None, AuthorizationRefusal::Redirect { .. }) => UiError::Internal.into_response(),
    }
}

async fn page(
    State(state): State<UiState>,
    viewer: Viewer,
    headers: HeaderMap,
    Query(request): Query<AuthorizationRequest>,
) -> Response {
    match state.app.check_authorization(&request, host(&headers)).await {
        Ok(checked) => {
            let ticked = checked.prechecked.clone();
            consent(&viewer, &request, &checked, &ticked, None, FieldErrors::default())
        }
        Err(refusal) => refused(refusal),
    }
}

async fn decide(
    State(state): State<UiState>,
    viewer: Viewer,
    headers: HeaderMap,
    Form(pairs): Form<Vec<(String, String)>>,
) -> UiResult<Response> {
    let field = |name: &str| pairs.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone());
    let request = AuthorizationRequest {
        response_type: field("response_type"),
        client_id: field("client_id"),
        redirect_uri: field("redirect_uri"),
        code_challenge: field("code_challenge"),
        code_challenge_method: field("code_challenge_method"),
        scope: field("scope"),
        state: field("state"),
        resource: field("resource"),
    };
    let checked = match state.app.check_authorization(&request, host(&headers)).await {
        Ok(checked) => checked,
        Err(refusal) => return Ok(refused(refusal)),
    };
    if field("decision").as_deref() != Some("allow") {
        let denied = AuthorizationRefusal::Redirect {
            redirect_uri: checked.redirect_uri.clone(),
            error: "access_denied",
            description: "the person declined to connect this app".into(),
            state: checked.state.clone(),
        };
        return Ok(refused(denied));
    }
    let ticked: Vec<Scope> = pairs.iter().filter(|(k, _)| k == "scopes").filter_map(|(_, v)| Scope::parse(v)).collect();
    let workspace = field("workspace").and_then(|w| uuid::Uuid::parse_str(&w).ok());
    let Some(workspace_id) = workspace else {
        let errors = FieldErrors::general("Choose the workspace the app may act in.");
        return Ok(consent(&viewer, &request, &checked, &ticked, None, errors));
    };
    match state.app.grant_authorization(&viewer.caller, &checked, workspace_id, &ticked).await {
        Ok(code) => Ok(see_other(&checked.granted_location(&code).ok_or(UiError::Internal)?)),
        Err(error) => {
            let mut errors = FieldErrors::from_app(error)?;
            if let Some((_, message)) = errors.fields.pop() {
                errors.general = Some(format!("{}.", capitalized(&message)));
            }
            Ok(consent(&viewer, &request, &checked, &ticked, Some(workspace_id), errors))
        }
    }
}

fn capitalized(message: &str) -> String {
    let mut chars = message.chars();
    chars.next().map(|first| first.to_uppercase().chain(chars).collect()).unwrap_or_default()
}
