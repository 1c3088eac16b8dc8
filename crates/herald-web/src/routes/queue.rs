//! An account's queue: `GET /integrations/{id}/queue`, `POST
//! /integrations/{id}/queue` (reorder), `…/queue/shuffle`, `…/queue/compact`.

use axum::Json;
use axum::extract::State;
use herald_app::posts::{QueueView, ReorderInput};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::error::{ApiResult, ErrorBody};
use crate::extract::{ApiId, ApiJson, Auth};
use crate::state::AppState;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(queue, reorder)).routes(routes!(shuffle)).routes(routes!(compact))
}

/// The account's queued posts in order, its posting times and next free
/// slot. Scope `posts:read`.
#[utoipa::path(get, path = "/integrations/{id}/queue", tag = "posts",
    params(("id" = uuid::Uuid, Path, description = "Integration id")),
    responses(
        (status = 200, description = "The queue", body = QueueView),
        (status = 404, description = "No such integration in your workspace", body = ErrorBody),
    ))]
async fn queue(State(state): State<AppState>, Auth(caller): Auth, ApiId(id): ApiId) -> ApiResult<Json<QueueView>> {
    Ok(Json(state.app.queue(&caller, id).await?))
}

/// Reorders the queue: the same times, given to the posts in this order
/// (every queued post once). Scope `posts:publish`.
#[utoipa::path(post, path = "/integrations/{id}/queue", tag = "posts",
    params(("id" = uuid::Uuid, Path, description = "Integration id")),
    request_body = ReorderInput,
    responses(
        (status = 200, description = "The queue", body = QueueView),
        (status = 404, description = "No such integration in your workspace", body = ErrorBody),
        (status = 409, description = "A post started publishing meanwhile", body = ErrorBody),
        (status = 422, description = "Not the queue's posts", body = ErrorBody),
    ))]
async fn reorder(
    State(state): State<AppState>,
    Auth(caller): Auth,
    ApiId(id): ApiId,
    ApiJson(input): ApiJson<ReorderInput>,
) -> ApiResult<Json<QueueView>> {
    Ok(Json(state.app.reorder_queue(&caller, id, input).await?))
}

/// Shuffles the queue on the same times. Scope `posts:publish`.
#[utoipa::path(post, path = "/integrations/{id}/queue/shuffle", tag = "posts",
    params(("id" = uuid::Uuid, Path, description = "Integration id")),
    responses(
        (status = 200, description = "The queue", body = QueueView),
        (status = 404, description = "No such integration in your workspace", body = ErrorBody),
        (status = 409, description = "A post started publishing meanwhile", body = ErrorBody),
    ))]
async fn shuffle(State(state): State<AppState>, Auth(caller): Auth, ApiId(id): ApiId) -> ApiResult<Json<QueueView>> {
    Ok(Json(state.app.shuffle_queue(&caller, id).await?))
}

/// Closes the gaps: the queue, in order, on the first free slots from
/// now (removing a post leaves its slot free until this). Scope `posts:publish`.
#[utoipa::path(post, path = "/integrations/{id}/queue/compact", tag = "posts",
    params(("id" = uuid::Uuid, Path, description = "Integration id")),
    responses(
        (status = 200, description = "The queue", body = QueueView),
        (status = 404, description = "No such integration in your workspace", body = ErrorBody),
        (status = 409, description = "A post started publishing meanwhile", body = ErrorBody),
    ))]
async fn compact(State(state): State<AppState>, Auth(caller): Auth, ApiId(id): ApiId) -> ApiResult<Json<QueueView>> {
    Ok(Json(state.app.compact_queue(&caller, id).await?))
}
