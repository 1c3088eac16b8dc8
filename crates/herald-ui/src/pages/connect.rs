//! `/connect/{token}`: where an agency's client connects their own
//! accounts, without a Herald account. The token is the key; the page shows
//! the workspace's name, the client's own accounts, and a way to connect
//! each platform the link offers: a form built from the platform's
//! credentials schema, or a button that signs in at the platform (and, when
//! that sign-in can post as several accounts, a choice at
//! `/connect/{token}/choose/{pending}`). Plain HTML forms: no JavaScript.

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use herald_app::AppError;
use herald_app::connections::{ChooseAccountsInput, PendingAccountView};
use herald_core::platform::AuthKind;
use serde::Deserialize;

use crate::UiState;
use crate::brand;
use crate::chrome::{Chrome, FieldErrors};
use crate::csrf::CsrfToken;
use crate::error::UiResult;
use crate::pages::integrations::{ConnectForm, SentCredentials, connect_form};
use crate::pages::see_other;

pub fn routes() -> Router<UiState> {
    Router::new()
        .route("/connect/{token}", get(page))
        .route("/connect/{token}/credentials", post(credentials))
        .route("/connect/{token}/oauth/{platform}", get(oauth))
        .route("/connect/{token}/choose/{pending}", get(choose_page).post(choose))
}

/// One platform the client may connect.
pub struct Offer {
    pub platform: String,
    pub name: &'static str,
    pub mark: String,
    /// Signing in at the platform; `Some(true)` when a server is named first.
    pub oauth: Option<bool>,
    /// The credential form (credential platforms).
    pub form: Option<ConnectForm>,
}

#[derive(Template, WebTemplate)]
#[template(path = "pages/connect.html")]
struct ConnectPage {
    c: Chrome,
    token: String,
    workspace: String,
    customer: String,
    expires_at: String,
    accounts: Vec<(String, String)>,
    offers: Vec<Offer>,
    connected: bool,
    error: Option<String>,
}

#[derive(Template, WebTemplate)]
#[template(path = "pages/connect_choose.html")]
struct ChoosePage {
    c: Chrome,
    token: String,
    pending: String,
    platform_name: &'static str,
    accounts: Vec<PendingAccountView>,
    choose_one: bool,
    errors: FieldErrors,
}

#[derive(Template, WebTemplate)]
#[template(path = "pages/connect_gone.html")]
struct GonePage {
    c: Chrome,
}

#[derive(Debug, Default, Deserialize)]
struct PageQuery {
    notice: Option<String>,
    error: Option<String>,
}

fn gone(csrf: String) -> Response {
    (StatusCode::NOT_FOUND, GonePage { c: Chrome::anonymous(csrf, "Link unavailable") }).into_response()
}

/// The link's page is private to whoever holds it: never cached, never
/// sent on as a referrer.
fn private(mut response: Response) -> Response {
    response.headers_mut().insert(header::CACHE_CONTROL, header::HeaderValue::from_static("no-store"));
    response.headers_mut().insert(header::REFERRER_POLICY, header::HeaderValue::from_static("no-referrer"));
    response
}

async fn render(
    state: &UiState,
    csrf: String,
    token: &str,
    failed: Option<(SentCredentials, FieldErrors)>,
    connected: bool,
    error: Option<String>,
) -> UiResult<Result<ConnectPage, Response>> {
    let page = match state.app.connect_page(token).await {
        Ok(page) => page,
        Err(AppError::NotFound(_)) => return Ok(Err(gone(csrf))),
        Err(other) => return Err(other.into()),
    };
    let offers = page
        .platforms
        .iter()
        .map(|p| {
            let by_credentials = p.auth_kind == AuthKind::Credentials;
            Offer {
                platform: p.id.to_string(),
                name: p.name,
                mark: brand::mark(p.id),
                oauth: (!by_credentials).then_some(p.instance_required),
                form: by_credentials.then(|| connect_form(p, failed.as_ref())),
            }
        })
        .collect();
    Ok(Ok(ConnectPage {
        c: Chrome::anonymous(csrf, "Connect your accounts"),
        token: token.to_string(),
        workspace: page.workspace_name,
        customer: page.customer_name,
        expires_at: page.expires_at.format("%-d %B %Y, %H:%M UTC").to_string(),
        accounts: page.accounts,
        offers,
        connected,
        // From a URL anyone can craft: shown as text, shortened.
        error: error.map(|e| e.chars().take(300).collect()),
    }))
}

async fn page(
    State(state): State<UiState>,
    Path(token): Path<String>,
    Query(q): Query<PageQuery>,
    CsrfToken(csrf): CsrfToken,
) -> UiResult<Response> {
    let connected = q.notice.as_deref() == Some("connected");
    Ok(private(match render(&state, csrf, &token, None, connected, q.error).await? {
        Ok(page) => page.into_response(),
        Err(gone) => gone,
    }))
}

async fn credentials(
    State(state): State<UiState>,
    Path(token): Path<String>,
    CsrfToken(csrf): CsrfToken,
    Form(pairs): Form<Vec<(String, String)>>,
) -> UiResult<Response> {
    let sent = SentCredentials::read(pairs);
    match state.app.client_connect_credentials(&token, sent.input()).await {
        Ok(_) => Ok(see_other(&format!("/connect/{token}?notice=connected"))),
        Err(AppError::NotFound(_)) => Ok(gone(csrf)),
        Err(error) => {
            let errors = FieldErrors::from_app(error)?;
            // A platform the link does not offer has no form to show it beside.
            let general =
                errors.fields.iter().find(|(field, _)| field == "platform").map(|(_, message)| message.clone());
            Ok(match render(&state, csrf, &token, Some((sent, errors)), false, general).await? {
                Ok(page) => private((StatusCode::UNPROCESSABLE_ENTITY, page).into_response()),
                Err(gone) => gone,
            })
        }
    }
}

#[derive(Debug, Default, Deserialize)]
struct OAuthQuery {
    instance: Option<String>,
}

/// Off to the platform's consent page; it sends the client back through
/// Herald's callback to this link's page.
async fn oauth(
    State(state): State<UiState>,
    Path((token, platform)): Path<(String, String)>,
    Query(q): Query<OAuthQuery>,
    CsrfToken(csrf): CsrfToken,
) -> UiResult<Response> {
    let instance = q.instance.as_deref().map(str::trim).filter(|i| !i.is_empty());
    match state.app.client_begin_oauth(&token, &platform, instance).await {
        Ok(authorize) => Ok((StatusCode::FOUND, [(header::LOCATION, authorize.authorize_url)]).into_response()),
        Err(AppError::NotFound("connect link")) => Ok(gone(csrf)),
        Err(error) => {
            let query =
                url::form_urlencoded::Serializer::new(String::new()).append_pair("error", &error.to_string()).finish();
            Ok(see_other(&format!("/connect/{token}?{query}")))
        }
    }
}

async fn choose_render(
    state: &UiState,
    csrf: String,
    token: &str,
    pending: uuid::Uuid,
    errors: FieldErrors,
) -> UiResult<Response> {
    let view = match state.app.client_pending(token, pending).await {
        Ok(view) => view,
        Err(AppError::NotFound(_)) => return Ok(gone(csrf)),
        Err(other) => return Err(other.into()),
    };
    let platform_name = herald_core::platform::rules_for(&view.platform).map_or("the platform", |r| r.name);
    let status = if errors.fields.is_empty() && errors.general.is_none() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    let page = ChoosePage {
        c: Chrome::anonymous(csrf, "Choose accounts"),
        token: token.to_string(),
        pending: pending.to_string(),
        platform_name,
        accounts: view.accounts,
        choose_one: view.choose_one,
        errors,
    };
    Ok(private((status, page).into_response()))
}

async fn choose_page(
    State(state): State<UiState>,
    Path((token, pending)): Path<(String, String)>,
    CsrfToken(csrf): CsrfToken,
) -> UiResult<Response> {
    let Ok(pending) = uuid::Uuid::parse_str(&pending) else { return Ok(gone(csrf)) };
    choose_render(&state, csrf, &token, pending, FieldErrors::default()).await
}

async fn choose(
    State(state): State<UiState>,
    Path((token, pending)): Path<(String, String)>,
    CsrfToken(csrf): CsrfToken,
    Form(pairs): Form<Vec<(String, String)>>,
) -> UiResult<Response> {
    let Ok(pending) = uuid::Uuid::parse_str(&pending) else { return Ok(gone(csrf)) };
    let account_ids = pairs.into_iter().filter(|(key, _)| key == "account").map(|(_, value)| value).collect();
    match state.app.client_choose(&token, pending, ChooseAccountsInput { account_ids }).await {
        Ok(_) => Ok(see_other(&format!("/connect/{token}?notice=connected"))),
        Err(AppError::NotFound(_)) => Ok(gone(csrf)),
        Err(error) => {
            let errors = FieldErrors::from_app(error)?;
            choose_render(&state, csrf, &token, pending, errors).await
        }
    }
}
