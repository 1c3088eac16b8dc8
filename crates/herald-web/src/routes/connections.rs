//! Connecting accounts by OAuth (DESIGN §5a): `GET /auth/{platform}` sends
//! the browser to the platform's consent page, `GET /auth/{platform}/callback`
//! is where it comes back, and `GET/POST /integrations/pending/{id}` is the
//! choice among several accounts. Browsers get redirects; a client that
//! asks for `application/json` gets JSON.

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use herald_app::AppError;
use herald_app::connections::{AuthorizeView, CallbackParams, ChooseAccountsInput, Finished, PendingView};
use herald_app::views::IntegrationView;
use serde::{Deserialize, Serialize};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::extract::{ApiId, ApiJson, Auth};
use crate::state::AppState;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(begin)).routes(routes!(callback)).routes(routes!(pending, choose))
}

#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(default)]
struct BeginParams {
    /// Mastodon: the instance to connect, e.g. `mastodon.social`.
    instance: Option<String>,
}

/// `GET /auth/{platform}/callback` for JSON clients.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
struct CallbackView {
    /// The connected integration, when the token posts as one account.
    #[serde(skip_serializing_if = "Option::is_none")]
    integration_id: Option<uuid::Uuid>,
    /// The choice to make, when it can post as several.
    #[serde(skip_serializing_if = "Option::is_none")]
    pending_id: Option<uuid::Uuid>,
}

fn wants_json(headers: &HeaderMap) -> bool {
    headers.get(header::ACCEPT).and_then(|v| v.to_str().ok()).is_some_and(|v| v.contains("application/json"))
}

/// A `302 Found`, as OAuth redirects are (axum's `Redirect::to` is a 303).
fn found(location: &str) -> Response {
    (StatusCode::FOUND, [(header::LOCATION, location.to_string())]).into_response()
}

/// Back to the integrations page with the reason, for browsers.
fn back_with_error(error: &AppError) -> Response {
    let message = error.to_string();
    let query = url::form_urlencoded::Serializer::new(String::new()).append_pair("error", &message).finish();
    found(&format!("/integrations?{query}"))
}

/// Starts connecting an account: 302 to the platform's consent page, or
/// `{authorizeUrl}` for `Accept: application/json`. Signed-in session only.
#[utoipa::path(get, path = "/auth/{platform}", tag = "integrations", security(("session" = [])),
    params(("platform" = String, Path, description = "OAuth platform id, e.g. `x`"), BeginParams),
    responses(
        (status = 302, description = "To the platform's consent page"),
        (status = 200, description = "For JSON clients", body = AuthorizeView),
        (status = 404, description = "Not an OAuth platform", body = ErrorBody),
        (status = 409, description = "The operator has not configured the platform's app", body = ErrorBody),
    ))]
async fn begin(
    State(state): State<AppState>,
    Auth(caller): Auth,
    Path(platform): Path<String>,
    Query(params): Query<BeginParams>,
    headers: HeaderMap,
) -> ApiResult<Response> {
    let json = wants_json(&headers);
    match state.app.begin_oauth(&caller, &platform, params.instance.as_deref()).await {
        Ok(view) if json => Ok(Json(view).into_response()),
        Ok(view) => Ok(found(&view.authorize_url)),
        Err(error) if json || !flow_outcome(&error) => Err(error.into()),
        Err(error) => Ok(back_with_error(&error)),
    }
}

/// Where the platform sends the browser back. Accepted only in the session
/// that started the connection; the state is single-use and lives 10
/// minutes. One account → 302 to `/integrations?connected={id}`; several →
/// 302 to `/integrations/choose/{pendingId}`; refused → 302 to
/// `/integrations?error=…` (400 for JSON clients). Nothing is saved on refusal.
#[utoipa::path(get, path = "/auth/{platform}/callback", tag = "integrations", security(("session" = [])),
    params(("platform" = String, Path, description = "OAuth platform id"), CallbackParams),
    responses(
        (status = 302, description = "To the integrations page or the account chooser"),
        (status = 200, description = "For JSON clients", body = CallbackView),
        (status = 400, description = "Denied, unknown, reused, expired or someone else's state", body = ErrorBody),
    ))]
async fn callback(
    State(state): State<AppState>,
    auth: Result<Auth, ApiError>,
    Path(platform): Path<String>,
    Query(params): Query<CallbackParams>,
    headers: HeaderMap,
) -> ApiResult<Response> {
    let json = wants_json(&headers);
    // A client on a connect link has no session: their state says so.
    let client_token = state.app.client_flow_token(&params).await;
    let caller = match auth {
        Ok(Auth(caller)) => Some(caller),
        Err(error) if client_token.is_none() => return Err(error),
        Err(_) => None,
    };
    let finished = state.app.finish_oauth(caller.as_ref(), &platform, params).await;
    if let Some(token) = client_token.filter(|_| !json) {
        return Ok(match finished {
            Ok(Finished::ClientConnected { token, .. }) => found(&format!("/connect/{token}?notice=connected")),
            Ok(Finished::ClientChoose { token, pending }) => found(&format!("/connect/{token}/choose/{pending}")),
            Ok(_) => found(&format!("/connect/{token}")),
            Err(error) => {
                let query = url::form_urlencoded::Serializer::new(String::new())
                    .append_pair("error", &error.to_string())
                    .finish();
                found(&format!("/connect/{token}?{query}"))
            }
        });
    }
    match finished {
        Ok(Finished::ClientConnected { integration, .. }) => {
            Ok(Json(CallbackView { integration_id: Some(integration), pending_id: None }).into_response())
        }
        Ok(Finished::ClientChoose { pending, .. }) => {
            Ok(Json(CallbackView { integration_id: None, pending_id: Some(pending) }).into_response())
        }
        Ok(Finished::Connected(id)) if json => {
            Ok(Json(CallbackView { integration_id: Some(id), pending_id: None }).into_response())
        }
        Ok(Finished::Choose(id)) if json => {
            Ok(Json(CallbackView { integration_id: None, pending_id: Some(id) }).into_response())
        }
        Ok(Finished::Connected(id)) => Ok(found(&format!("/integrations?connected={id}"))),
        Ok(Finished::Choose(id)) => Ok(found(&format!("/integrations/choose/{id}"))),
        Err(AppError::Validation { message, .. }) if json => {
            Err(ApiError::new(StatusCode::BAD_REQUEST, "OAUTH_REFUSED", message))
        }
        Err(error) if json || !flow_outcome(&error) => Err(error.into()),
        Err(error) => Ok(back_with_error(&error)),
    }
}

/// Whether an error is an outcome of the connection itself (refused,
/// not configured, platform down) that a browser is shown on the
/// integrations page; who may connect at all (401, 403) and unknown
/// platforms (404) are answered as the API answers them.
fn flow_outcome(error: &AppError) -> bool {
    !matches!(error, AppError::Unauthorized(_) | AppError::Forbidden { .. } | AppError::NotFound(_))
}

/// The accounts a new token can post as, waiting for the user's choice.
#[utoipa::path(get, path = "/integrations/pending/{id}", tag = "integrations", security(("session" = [])),
    params(("id" = uuid::Uuid, Path, description = "Pending connection id")),
    responses(
        (status = 200, description = "The accounts offered", body = PendingView),
        (status = 404, description = "No such pending connection of yours (or it expired)", body = ErrorBody),
    ))]
async fn pending(State(state): State<AppState>, Auth(caller): Auth, ApiId(id): ApiId) -> ApiResult<Json<PendingView>> {
    Ok(Json(state.app.pending_connection(&caller, id).await?))
}

/// Connects the chosen accounts (each becomes an integration; one already
/// connected gets its new tokens). The choice is used up.
#[utoipa::path(post, path = "/integrations/pending/{id}", tag = "integrations", security(("session" = [])),
    params(("id" = uuid::Uuid, Path, description = "Pending connection id")),
    request_body = ChooseAccountsInput,
    responses(
        (status = 201, description = "The connected integrations", body = Vec<IntegrationView>),
        (status = 404, description = "No such pending connection of yours (or it expired)", body = ErrorBody),
        (status = 422, description = "No account, or one that was not offered", body = ErrorBody),
    ))]
async fn choose(
    State(state): State<AppState>,
    Auth(caller): Auth,
    ApiId(id): ApiId,
    ApiJson(input): ApiJson<ChooseAccountsInput>,
) -> ApiResult<(StatusCode, Json<Vec<IntegrationView>>)> {
    Ok((StatusCode::CREATED, Json(state.app.choose_accounts(&caller, id, input).await?)))
}
