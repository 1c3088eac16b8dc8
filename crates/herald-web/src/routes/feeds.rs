//! RSS/Atom auto-posting: `GET/POST /feeds`, `DELETE /feeds/{id}`, `POST
//! /feeds/{id}/poll`. Keys need `posts:write` (and `posts:publish` for a
//! feed whose items are queued or published at once).

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use herald_app::feeds::{CreateFeedInput, FeedView, PollReport};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::error::{ApiResult, ErrorBody};
use crate::extract::{ApiId, ApiJson, Auth};
use crate::state::AppState;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_feeds, create_feed))
        .routes(routes!(delete_feed))
        .routes(routes!(poll_feed))
}

/// The workspace's feeds, with when each was last polled and its last error.
#[utoipa::path(get, path = "/feeds", tag = "feeds",
    responses((status = 200, description = "Feeds", body = Vec<FeedView>)))]
async fn list_feeds(State(state): State<AppState>, Auth(caller): Auth) -> ApiResult<Json<Vec<FeedView>>> {
    Ok(Json(state.app.list_feeds(&caller).await?))
}

/// Adds a feed. Its first poll (at once) only marks the items already
/// there as seen; each item that appears later becomes one post, as a
/// draft, in the accounts' queues, or published at once (`mode`).
#[utoipa::path(post, path = "/feeds", tag = "feeds", request_body = CreateFeedInput,
    responses(
        (status = 201, description = "The feed", body = FeedView),
        (status = 403, description = "QUEUE/NOW without the right to publish", body = ErrorBody),
        (status = 422, description = "Invalid URL, accounts, template, mode or interval", body = ErrorBody),
    ))]
async fn create_feed(
    State(state): State<AppState>,
    Auth(caller): Auth,
    ApiJson(input): ApiJson<CreateFeedInput>,
) -> ApiResult<(StatusCode, Json<FeedView>)> {
    Ok((StatusCode::CREATED, Json(state.app.create_feed(&caller, input).await?)))
}

/// Stops and removes a feed; the posts it made stay.
#[utoipa::path(delete, path = "/feeds/{id}", tag = "feeds",
    params(("id" = uuid::Uuid, Path, description = "Feed id")),
    responses(
        (status = 204, description = "Deleted"),
        (status = 404, description = "No such feed", body = ErrorBody),
    ))]
async fn delete_feed(State(state): State<AppState>, Auth(caller): Auth, ApiId(id): ApiId) -> ApiResult<StatusCode> {
    state.app.delete_feed(&caller, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Polls a feed now and answers with what it found: the new items and
/// the posts they became, or why the feed could not be read.
#[utoipa::path(post, path = "/feeds/{id}/poll", tag = "feeds",
    params(("id" = uuid::Uuid, Path, description = "Feed id")),
    responses(
        (status = 200, description = "What the poll found", body = PollReport),
        (status = 404, description = "No such feed", body = ErrorBody),
        (status = 409, description = "Being polled right now", body = ErrorBody),
    ))]
async fn poll_feed(State(state): State<AppState>, Auth(caller): Auth, ApiId(id): ApiId) -> ApiResult<Json<PollReport>> {
    Ok(Json(state.app.poll_feed_now(&caller, id).await?))
}
