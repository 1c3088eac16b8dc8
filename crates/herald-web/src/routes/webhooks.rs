//! Outbound webhooks: `GET/POST /webhooks`, `PATCH/DELETE /webhooks/{id}`,
//! `GET /webhooks/{id}/deliveries` and `POST
//! /webhooks/{id}/deliveries/{deliveryId}/redeliver`. OWNER or EDITOR,
//! signed in.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use herald_app::webhooks::{CreateWebhookInput, CreatedWebhookView, DeliveryView, UpdateWebhookInput, WebhookView};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::error::{ApiResult, ErrorBody};
use crate::extract::{ApiId, ApiIds, ApiJson, Auth};
use crate::state::AppState;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_webhooks, create_webhook))
        .routes(routes!(update_webhook, delete_webhook))
        .routes(routes!(deliveries))
        .routes(routes!(redeliver))
}

/// The workspace's webhooks (never their secrets).
#[utoipa::path(get, path = "/webhooks", tag = "webhooks", security(("session" = [])),
    responses((status = 200, description = "Webhooks", body = Vec<WebhookView>)))]
async fn list_webhooks(State(state): State<AppState>, Auth(caller): Auth) -> ApiResult<Json<Vec<WebhookView>>> {
    Ok(Json(state.app.list_webhooks(&caller).await?))
}

/// Registers a URL for events (`["*"]` for all). Each delivery is POSTed
/// as `{id, type, occurredAt, data}` with `X-Herald-Event`,
/// `X-Herald-Delivery` and `X-Herald-Signature: sha256=<hex HMAC-SHA256 of
/// the body>`. The secret is shown once.
#[utoipa::path(post, path = "/webhooks", tag = "webhooks", security(("session" = [])), request_body = CreateWebhookInput,
    responses(
        (status = 201, description = "The webhook and its secret, shown once", body = CreatedWebhookView),
        (status = 422, description = "Invalid URL, events or secret", body = ErrorBody),
    ))]
async fn create_webhook(
    State(state): State<AppState>,
    Auth(caller): Auth,
    ApiJson(input): ApiJson<CreateWebhookInput>,
) -> ApiResult<(StatusCode, Json<CreatedWebhookView>)> {
    Ok((StatusCode::CREATED, Json(state.app.create_webhook(&caller, input).await?)))
}

/// Changes the URL or events, or turns a webhook off or back on (`active`).
#[utoipa::path(patch, path = "/webhooks/{id}", tag = "webhooks", security(("session" = [])),
    params(("id" = uuid::Uuid, Path, description = "Webhook id")),
    request_body = UpdateWebhookInput,
    responses(
        (status = 200, description = "The webhook", body = WebhookView),
        (status = 404, description = "No such webhook", body = ErrorBody),
    ))]
async fn update_webhook(
    State(state): State<AppState>,
    Auth(caller): Auth,
    ApiId(id): ApiId,
    ApiJson(input): ApiJson<UpdateWebhookInput>,
) -> ApiResult<Json<WebhookView>> {
    Ok(Json(state.app.update_webhook(&caller, id, input).await?))
}

/// Deletes a webhook and its delivery log.
#[utoipa::path(delete, path = "/webhooks/{id}", tag = "webhooks", security(("session" = [])),
    params(("id" = uuid::Uuid, Path, description = "Webhook id")),
    responses(
        (status = 204, description = "Deleted"),
        (status = 404, description = "No such webhook", body = ErrorBody),
    ))]
async fn delete_webhook(State(state): State<AppState>, Auth(caller): Auth, ApiId(id): ApiId) -> ApiResult<StatusCode> {
    state.app.delete_webhook(&caller, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The latest deliveries, newest first, each with every attempt's status
/// code and the start of the receiver's answer.
#[utoipa::path(get, path = "/webhooks/{id}/deliveries", tag = "webhooks", security(("session" = [])),
    params(("id" = uuid::Uuid, Path, description = "Webhook id")),
    responses(
        (status = 200, description = "Deliveries", body = Vec<DeliveryView>),
        (status = 404, description = "No such webhook", body = ErrorBody),
    ))]
async fn deliveries(
    State(state): State<AppState>,
    Auth(caller): Auth,
    ApiId(id): ApiId,
) -> ApiResult<Json<Vec<DeliveryView>>> {
    Ok(Json(state.app.webhook_deliveries(&caller, id).await?))
}

/// Sends a delivery again, now.
#[utoipa::path(post, path = "/webhooks/{id}/deliveries/{deliveryId}/redeliver", tag = "webhooks", security(("session" = [])),
    params(
        ("id" = uuid::Uuid, Path, description = "Webhook id"),
        ("deliveryId" = uuid::Uuid, Path, description = "Delivery id"),
    ),
    responses(
        (status = 200, description = "Queued again", body = DeliveryView),
        (status = 404, description = "No such webhook or delivery", body = ErrorBody),
    ))]
async fn redeliver(
    State(state): State<AppState>,
    Auth(caller): Auth,
    ApiIds(id, delivery_id): ApiIds,
) -> ApiResult<Json<DeliveryView>> {
    Ok(Json(state.app.redeliver(&caller, id, delivery_id).await?))
}
