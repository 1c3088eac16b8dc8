//! `GET/POST /api-keys` and `DELETE /api-keys/{id}`: a user's API keys and
//! their scopes; a new key is shown once.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use herald_app::api_keys::CreateApiKeyInput;
use herald_app::views::{ApiKeyView, CreatedApiKeyView};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::error::{ApiResult, ErrorBody};
use crate::extract::{ApiId, ApiJson, Auth};
use crate::state::AppState;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(list_keys, create_key)).routes(routes!(revoke_key))
}

/// Your API keys (never the keys themselves). Session only.
#[utoipa::path(get, path = "/api-keys", tag = "api-keys", security(("session" = [])),
    responses((status = 200, description = "Keys, newest first", body = Vec<ApiKeyView>)))]
async fn list_keys(State(state): State<AppState>, Auth(caller): Auth) -> ApiResult<Json<Vec<ApiKeyView>>> {
    Ok(Json(state.app.list_api_keys(&caller).await?))
}

/// Creates a key. The response is the only time the key is shown. Session only.
#[utoipa::path(post, path = "/api-keys", tag = "api-keys", security(("session" = [])), request_body = CreateApiKeyInput,
    responses(
        (status = 201, description = "The new key, shown once", body = CreatedApiKeyView),
        (status = 422, description = "Invalid name, scopes or expiry", body = ErrorBody),
    ))]
async fn create_key(
    State(state): State<AppState>,
    Auth(caller): Auth,
    ApiJson(input): ApiJson<CreateApiKeyInput>,
) -> ApiResult<(StatusCode, Json<CreatedApiKeyView>)> {
    Ok((StatusCode::CREATED, Json(state.app.create_api_key(&caller, input).await?)))
}

/// Revokes a key at once. Session only.
#[utoipa::path(delete, path = "/api-keys/{id}", tag = "api-keys", security(("session" = [])),
    params(("id" = uuid::Uuid, Path, description = "API key id")),
    responses(
        (status = 204, description = "Revoked"),
        (status = 404, description = "No such key", body = ErrorBody),
    ))]
async fn revoke_key(State(state): State<AppState>, Auth(caller): Auth, ApiId(id): ApiId) -> ApiResult<StatusCode> {
    state.app.revoke_api_key(&caller, id).await?;
    Ok(StatusCode::NO_CONTENT)
}
