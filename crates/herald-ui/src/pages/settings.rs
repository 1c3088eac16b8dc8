//! `/settings`: profile and time zone, password, API keys (shown once),
//! the MCP apps connected by OAuth, and for administrators the users of
//! the instance.

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use axum_extra::extract::CookieJar;
use herald_app::accounts::NewAccount;
use herald_app::api_keys::CreateApiKeyInput;
use herald_core::account::UserRole;
use herald_core::api_key::Scopes;
use serde::Deserialize;

use crate::UiState;
use crate::chrome::{Chrome, FieldErrors};
use crate::error::{UiId, UiResult};
use crate::fmt;
use crate::pages::see_other;
use crate::session::{Viewer, removal_cookie};

pub fn routes() -> Router<UiState> {
    Router::new()
        .route("/settings", get(page))
        .route("/settings/profile", post(profile))
        .route("/settings/password", post(password))
        .route("/settings/sessions/end-all", post(end_all_sessions))
        .route("/settings/api-keys", post(create_key))
        .route("/settings/api-keys/{id}/revoke", post(revoke_key))
        .route("/settings/connected-apps/{id}/revoke", post(disconnect_app))
        .route("/settings/users", post(create_user))
        .route("/settings/users/{id}", post(update_user))
}

pub struct KeyRow {
    pub id: String,
    pub name: String,
    pub prefix: String,
    pub scopes: String,
    pub last_used: String,
    pub expires: String,
    pub active: bool,
}

pub struct AppRow {
    pub id: String,
    pub name: String,
    pub workspace: String,
    pub scopes: String,
    pub connected: String,
    pub last_used: String,
}

pub struct UserRow {
    pub id: String,
    pub name: String,
    pub email: String,
    pub role: UserRole,
    pub disabled: bool,
    pub is_self: bool,
}

#[derive(Template, WebTemplate)]
#[template(path = "pages/settings.html")]
struct SettingsPage {
    c: Chrome,
    name: String,
    email: String,
    timezone: String,
    keys: Vec<KeyRow>,
    apps: Vec<AppRow>,
    scopes: Vec<&'static str>,
    new_key: Option<String>,
    users: Option<Vec<UserRow>>,
    errors: FieldErrors,
    /// Which form the errors belong to.
    errors_for: &'static str,
}

async fn render(
    state: &UiState,
    viewer: &Viewer,
    notice: Option<&str>,
    new_key: Option<String>,
    errors: FieldErrors,
    errors_for: &'static str,
) -> UiResult<SettingsPage> {
    let keys = state.app.list_api_keys(&viewer.caller).await?;
    let apps = state.app.connected_apps(&viewer.caller).await?;
    let users = if viewer.is_admin() {
        Some(
            state
                .app
                .admin_list_users(&viewer.caller)
                .await?
                .into_iter()
                .map(|(u, disabled)| UserRow {
                    id: u.id.to_string(),
                    is_self: u.id == viewer.user.id,
                    name: u.name,
                    email: u.email,
                    role: u.role,
                    disabled,
                })
                .collect(),
        )
    } else {
        None
    };
    Ok(SettingsPage {
        c: Chrome::new(viewer, "settings", "Settings").with_notice(notice),
        name: viewer.user.name.clone(),
        email: viewer.user.email.clone(),
        timezone: viewer.user.timezone.clone(),
        keys: keys
            .iter()
            .map(|k| KeyRow {
                id: k.id.to_string(),
                name: k.name.clone(),
                prefix: k.prefix.clone(),
                scopes: k.scopes.join(", "),
                last_used: k.last_used_at.map_or_else(|| "never".into(), |at| fmt::local(at, viewer.tz)),
                expires: k.expires_at.map_or_else(|| "never".into(), |at| fmt::local(at, viewer.tz)),
                active: k.is_active,
            })
            .collect(),
        apps: apps
            .into_iter()
            .map(|a| AppRow {
                id: a.id.to_string(),
                name: a.name,
                workspace: a.workspace_name,
                scopes: a.scopes.join(", "),
                connected: fmt::local(a.created_at, viewer.tz),
                last_used: a.last_used_at.map_or_else(|| "never".into(), |at| fmt::local(at, viewer.tz)),
            })
            .collect(),
        scopes: Scopes::all().as_strings().iter().map(|s| scope_static(s)).collect(),
        new_key,
        users,
        errors,
        errors_for,
    })
}

/// The scope names as static strings for the template.
fn scope_static(scope: &str) -> &'static str {
    ["posts:read", "posts:write", "posts:publish", "analytics:read", "integrations:read"]
        .into_iter()
        .find(|s| *s == scope)
        .unwrap_or("unknown")
}

#[derive(Debug, Default, Deserialize)]
struct PageQuery {
    notice: Option<String>,
}

async fn page(State(state): State<UiState>, viewer: Viewer, Query(q): Query<PageQuery>) -> UiResult<SettingsPage> {
    render(&state, &viewer, q.notice.as_deref(), None, FieldErrors::default(), "").await
}

async fn failed(
    state: &UiState,
    viewer: &Viewer,
    error: herald_app::AppError,
    form: &'static str,
) -> UiResult<Response> {
    let errors = FieldErrors::from_app(error)?;
    let page = render(state, viewer, None, None, errors, form).await?;
    Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response())
}

#[derive(Debug, Deserialize)]
struct ProfileForm {
    name: String,
    timezone: String,
}

async fn profile(State(state): State<UiState>, viewer: Viewer, Form(form): Form<ProfileForm>) -> UiResult<Response> {
    match state.app.update_profile(&viewer.caller, &form.name, &form.timezone).await {
        Ok(_) => Ok(see_other("/settings?notice=saved")),
        Err(error) => failed(&state, &viewer, error, "profile").await,
    }
}

#[derive(Debug, Deserialize)]
struct PasswordForm {
    current_password: String,
    new_password: String,
}

async fn password(State(state): State<UiState>, viewer: Viewer, Form(form): Form<PasswordForm>) -> UiResult<Response> {
    match state.app.change_password(&viewer.caller, &form.current_password, &form.new_password).await {
        Ok(()) => Ok(see_other("/settings?notice=password")),
        Err(error) => failed(&state, &viewer, error, "password").await,
    }
}

async fn end_all_sessions(State(state): State<UiState>, viewer: Viewer, jar: CookieJar) -> UiResult<Response> {
    state.app.end_all_sessions(&viewer.caller).await?;
    let jar = jar.remove(removal_cookie(state.secure_cookies));
    Ok((jar, see_other("/login?notice=signed-out-everywhere")).into_response())
}

async fn create_key(
    State(state): State<UiState>,
    viewer: Viewer,
    Form(pairs): Form<Vec<(String, String)>>,
) -> UiResult<Response> {
    let name = pairs.iter().find(|(k, _)| k == "name").map(|(_, v)| v.clone()).unwrap_or_default();
    let scopes: Vec<String> = pairs.iter().filter(|(k, _)| k == "scopes").map(|(_, v)| v.clone()).collect();
    let days = pairs.iter().find(|(k, _)| k == "expires_in_days").and_then(|(_, v)| v.trim().parse::<i64>().ok());
    let input = CreateApiKeyInput { name, scopes: Some(scopes), expires_at: None, expires_in_days: days };
    match state.app.create_api_key(&viewer.caller, input).await {
        // Rendered, not redirected: the key is shown exactly once, here.
        Ok(created) => {
            Ok(render(&state, &viewer, None, Some(created.key), FieldErrors::default(), "").await?.into_response())
        }
        Err(error) => failed(&state, &viewer, error, "key").await,
    }
}

async fn revoke_key(State(state): State<UiState>, viewer: Viewer, UiId(id): UiId) -> UiResult<Response> {
    state.app.revoke_api_key(&viewer.caller, id).await?;
    Ok(see_other("/settings?notice=revoked"))
}

async fn disconnect_app(State(state): State<UiState>, viewer: Viewer, UiId(id): UiId) -> UiResult<Response> {
    state.app.revoke_connected_app(&viewer.caller, id).await?;
    Ok(see_other("/settings?notice=app-disconnected#connected-apps"))
}

#[derive(Debug, Deserialize)]
struct NewUserForm {
    email: String,
    name: String,
    password: String,
    role: Option<String>,
}

async fn create_user(
    State(state): State<UiState>,
    viewer: Viewer,
    Form(form): Form<NewUserForm>,
) -> UiResult<Response> {
    let account = NewAccount {
        email: form.email,
        password: form.password,
        name: Some(form.name.trim().to_string()).filter(|n| !n.is_empty()),
        timezone: None,
        admin: form.role.as_deref().and_then(UserRole::parse) == Some(UserRole::Admin),
    };
    match state.app.admin_create_user(&viewer.caller, account).await {
        Ok(_) => Ok(see_other("/settings?notice=user-created#users")),
        Err(error) => failed(&state, &viewer, error, "user").await,
    }
}

#[derive(Debug, Deserialize)]
struct UpdateUserForm {
    disabled: Option<String>,
    role: Option<String>,
}

async fn update_user(
    State(state): State<UiState>,
    viewer: Viewer,
    UiId(id): UiId,
    Form(form): Form<UpdateUserForm>,
) -> UiResult<Response> {
    let disabled = form.disabled.as_deref().map(|d| d == "true");
    match state.app.admin_update_user(&viewer.caller, id, disabled, form.role.as_deref()).await {
        Ok(_) => Ok(see_other("/settings?notice=saved#users")),
        Err(error) => failed(&state, &viewer, error, "users").await,
    }
}
