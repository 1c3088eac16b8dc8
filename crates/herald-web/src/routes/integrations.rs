//! Connected accounts: `GET/POST /integrations`, `GET/PATCH/DELETE
//! /integrations/{id}` and `GET /integrations/{id}/next-slot`.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use herald_app::integrations::{ConnectIntegrationInput, NextSlotView, UpdateIntegrationInput};
use herald_app::views::IntegrationView;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::error::{ApiResult, ErrorBody};
use crate::extract::{ApiId, ApiJson, ApiQuery, Auth};
use crate::state::AppState;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_integrations, connect_integration))
        .routes(routes!(get_integration, update_integration, delete_integration))
        .routes(routes!(next_slot))
}

#[derive(Debug, Default, serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(default, deny_unknown_fields)]
struct IntegrationFilter {
    /// Only the accounts of this customer.
    #[param(value_type = Option<uuid::Uuid>)]
    customer: Option<String>,
}

/// Connected accounts of the workspace, or of one customer. Scope
/// `integrations:read`.
#[utoipa::path(get, path = "/integrations", tag = "integrations", params(IntegrationFilter),
    responses(
        (status = 200, description = "Integrations, oldest first", body = Vec<IntegrationView>),
        (status = 404, description = "No such customer", body = ErrorBody),
        (status = 422, description = "`customer` is not an id", body = ErrorBody),
    ))]
async fn list_integrations(
    State(state): State<AppState>,
    Auth(caller): Auth,
    ApiQuery(filter): ApiQuery<IntegrationFilter>,
) -> ApiResult<Json<Vec<IntegrationView>>> {
    let customer = match filter.customer.as_deref() {
        None => None,
        Some(raw) => Some(uuid::Uuid::parse_str(raw).map_err(|_| {
            herald_app::AppError::from(herald_core::ValidationError::new(
                "customer",
                format!("`{raw}` is not a customer id (UUID)"),
            ))
        })?),
    };
    Ok(Json(state.app.list_integrations_of(&caller, customer).await?))
}

/// Connects an account with credentials, verified with the platform before
/// anything is stored; secrets are stored encrypted and never returned.
/// Connecting an account again updates it (reconnect). Session only.
#[utoipa::path(post, path = "/integrations", tag = "integrations", security(("session" = [])),
    request_body = ConnectIntegrationInput,
    responses(
        (status = 201, description = "Connected", body = IntegrationView),
        (status = 200, description = "Reconnected (it was already connected)", body = IntegrationView),
        (status = 422, description = "Unknown platform, or the platform refused the credentials", body = ErrorBody),
        (status = 503, description = "The platform could not be reached", body = ErrorBody),
    ))]
async fn connect_integration(
    State(state): State<AppState>,
    Auth(caller): Auth,
    ApiJson(input): ApiJson<ConnectIntegrationInput>,
) -> ApiResult<(StatusCode, Json<IntegrationView>)> {
    let connected = state.app.connect_integration(&caller, input).await?;
    let status = if connected.created { StatusCode::CREATED } else { StatusCode::OK };
    Ok((status, Json(connected.integration)))
}

/// One integration. Scope `integrations:read`.
#[utoipa::path(get, path = "/integrations/{id}", tag = "integrations",
    params(("id" = uuid::Uuid, Path, description = "Integration id")),
    responses(
        (status = 200, description = "The integration", body = IntegrationView),
        (status = 404, description = "No such integration in your workspace", body = ErrorBody),
    ))]
async fn get_integration(
    State(state): State<AppState>,
    Auth(caller): Auth,
    ApiId(id): ApiId,
) -> ApiResult<Json<IntegrationView>> {
    Ok(Json(state.app.get_integration(&caller, id).await?))
}

/// Rename, set posting times and time zone, enable or disable. Session only.
#[utoipa::path(patch, path = "/integrations/{id}", tag = "integrations", security(("session" = [])),
    params(("id" = uuid::Uuid, Path, description = "Integration id")),
    request_body = UpdateIntegrationInput,
    responses(
        (status = 200, description = "The updated integration", body = IntegrationView),
        (status = 404, description = "No such integration in your workspace", body = ErrorBody),
        (status = 409, description = "Needs reconnecting instead", body = ErrorBody),
        (status = 422, description = "Invalid field", body = ErrorBody),
    ))]
async fn update_integration(
    State(state): State<AppState>,
    Auth(caller): Auth,
    ApiId(id): ApiId,
    ApiJson(input): ApiJson<UpdateIntegrationInput>,
) -> ApiResult<Json<IntegrationView>> {
    Ok(Json(state.app.update_integration(&caller, id, input).await?))
}

/// Disconnects the account; its pending deliveries are dropped. Session only.
#[utoipa::path(delete, path = "/integrations/{id}", tag = "integrations", security(("session" = [])),
    params(("id" = uuid::Uuid, Path, description = "Integration id")),
    responses(
        (status = 204, description = "Deleted"),
        (status = 404, description = "No such integration in your workspace", body = ErrorBody),
        (status = 409, description = "A post is being published to it right now", body = ErrorBody),
    ))]
async fn delete_integration(
    State(state): State<AppState>,
    Auth(caller): Auth,
    ApiId(id): ApiId,
) -> ApiResult<StatusCode> {
    state.app.delete_integration(&caller, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The next posting slot of the integration that no queued post occupies.
#[utoipa::path(get, path = "/integrations/{id}/next-slot", tag = "integrations",
    params(("id" = uuid::Uuid, Path, description = "Integration id")),
    responses(
        (status = 200, description = "The next free slot", body = NextSlotView),
        (status = 404, description = "No such integration in your workspace", body = ErrorBody),
    ))]
async fn next_slot(
    State(state): State<AppState>,
    Auth(caller): Auth,
    ApiId(id): ApiId,
) -> ApiResult<Json<NextSlotView>> {
    Ok(Json(state.app.next_slot(&caller, id).await?))
}
