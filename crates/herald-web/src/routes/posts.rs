//! Posts: `GET/POST /posts`, `POST /posts/validate`, `GET/PUT/DELETE
//! /posts/{id}` and `POST /posts/{id}/publish`, each a thin adapter over the
//! same use case MCP and the UI call.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use herald_app::posts::{
    ApproveInput, CreatePostInput, ListPostsQuery, OccurrencesQuery, OccurrencesView, RejectInput, SubmitInput,
    UpdatePostInput, ValidationReport,
};
use herald_app::views::{PostPage, PostView};
use herald_core::post::CreatedVia;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::error::{ApiResult, ErrorBody};
use crate::extract::{ApiId, ApiJson, ApiQuery, Auth, OptionalJson};
use crate::state::AppState;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_posts, create_post))
        .routes(routes!(validate_post))
        .routes(routes!(get_post, update_post, delete_post))
        .routes(routes!(publish_post))
        .routes(routes!(submit_post))
        .routes(routes!(approve_post))
        .routes(routes!(reject_post))
        .routes(routes!(post_occurrences))
}

/// The occurrences of a recurring or evergreen post's series: the post
/// itself, the posts made so far (with their status), then the planned
/// times. Asked of an occurrence, answers for its whole series.
#[utoipa::path(get, path = "/posts/{id}/occurrences", tag = "posts",
    params(("id" = uuid::Uuid, Path, description = "Post id"), OccurrencesQuery),
    responses(
        (status = 200, description = "The series' occurrences", body = OccurrencesView),
        (status = 404, description = "No such post in your workspace", body = ErrorBody),
        (status = 422, description = "Bad limit", body = ErrorBody),
    ))]
async fn post_occurrences(
    State(state): State<AppState>,
    Auth(caller): Auth,
    ApiId(id): ApiId,
    ApiQuery(query): ApiQuery<OccurrencesQuery>,
) -> ApiResult<Json<OccurrencesView>> {
    Ok(Json(state.app.occurrences(&caller, id, query).await?))
}

/// Submits a draft for approval (`approval.state: REQUESTED`; the post
/// stays a draft). Scope `posts:write`: a draft-only key or a contributor
/// gets a post out this way.
#[utoipa::path(post, path = "/posts/{id}/submit", tag = "posts",
    params(("id" = uuid::Uuid, Path, description = "Post id")),
    request_body(content = Option<SubmitInput>, description = "Optional note for the reviewer"),
    responses(
        (status = 200, description = "The post, waiting for approval", body = PostView),
        (status = 404, description = "No such post in your workspace", body = ErrorBody),
        (status = 409, description = "Not a draft", body = ErrorBody),
    ))]
async fn submit_post(
    State(state): State<AppState>,
    Auth(caller): Auth,
    ApiId(id): ApiId,
    OptionalJson(input): OptionalJson<SubmitInput>,
) -> ApiResult<Json<PostView>> {
    Ok(Json(state.app.submit_post(&caller, id, input).await?))
}

/// Approves a post waiting for approval: scheduled for `scheduledFor`, its
/// own time if still ahead, or the next free posting slot. Scope
/// `posts:publish`, role EDITOR or OWNER.
#[utoipa::path(post, path = "/posts/{id}/approve", tag = "posts",
    params(("id" = uuid::Uuid, Path, description = "Post id")),
    request_body(content = Option<ApproveInput>, description = "Optional publish time"),
    responses(
        (status = 200, description = "The post, approved and scheduled", body = PostView),
        (status = 403, description = "Cannot publish", body = ErrorBody),
        (status = 404, description = "No such post in your workspace", body = ErrorBody),
        (status = 409, description = "Not waiting for approval", body = ErrorBody),
    ))]
async fn approve_post(
    State(state): State<AppState>,
    Auth(caller): Auth,
    ApiId(id): ApiId,
    OptionalJson(input): OptionalJson<ApproveInput>,
) -> ApiResult<Json<PostView>> {
    Ok(Json(state.app.approve_post(&caller, id, input).await?))
}

/// Sends a post waiting for approval back to its author with a note.
/// Scope `posts:publish`, role EDITOR or OWNER.
#[utoipa::path(post, path = "/posts/{id}/reject", tag = "posts",
    params(("id" = uuid::Uuid, Path, description = "Post id")),
    request_body = RejectInput,
    responses(
        (status = 200, description = "The post, rejected", body = PostView),
        (status = 403, description = "Cannot publish", body = ErrorBody),
        (status = 404, description = "No such post in your workspace", body = ErrorBody),
        (status = 409, description = "Not waiting for approval", body = ErrorBody),
        (status = 422, description = "No note", body = ErrorBody),
    ))]
async fn reject_post(
    State(state): State<AppState>,
    Auth(caller): Auth,
    ApiId(id): ApiId,
    ApiJson(input): ApiJson<RejectInput>,
) -> ApiResult<Json<PostView>> {
    Ok(Json(state.app.reject_post(&caller, id, input).await?))
}

/// Posts of the workspace, newest first, with cursor pagination. Scope `posts:read`.
#[utoipa::path(get, path = "/posts", tag = "posts", params(ListPostsQuery),
    responses(
        (status = 200, description = "A page of posts", body = PostPage),
        (status = 404, description = "No such customer", body = ErrorBody),
        (status = 422, description = "Invalid filter", body = ErrorBody),
    ))]
async fn list_posts(
    State(state): State<AppState>,
    Auth(caller): Auth,
    ApiQuery(query): ApiQuery<ListPostsQuery>,
) -> ApiResult<Json<PostPage>> {
    Ok(Json(state.app.list_posts(&caller, query).await?))
}

/// Creates a draft, a scheduled post, or one to publish now. Scope
/// `posts:write`; scheduling and publishing also need `posts:publish`.
#[utoipa::path(post, path = "/posts", tag = "posts", request_body = CreatePostInput,
    responses(
        (status = 201, description = "The post with its targets", body = PostView),
        (status = 422, description = "Invalid post; `details.errors` lists every field", body = ErrorBody),
    ))]
async fn create_post(
    State(state): State<AppState>,
    Auth(caller): Auth,
    ApiJson(input): ApiJson<CreatePostInput>,
) -> ApiResult<(StatusCode, Json<PostView>)> {
    Ok((StatusCode::CREATED, Json(state.app.create_post(&caller, input, CreatedVia::Api).await?)))
}

/// Dry run of `POST /posts`: errors, warnings and lengths per target. Changes nothing.
#[utoipa::path(post, path = "/posts/validate", tag = "posts", request_body = CreatePostInput,
    responses((status = 200, description = "The validation report", body = ValidationReport)))]
async fn validate_post(
    State(state): State<AppState>,
    Auth(caller): Auth,
    ApiJson(input): ApiJson<CreatePostInput>,
) -> ApiResult<Json<ValidationReport>> {
    Ok(Json(state.app.validate_post(&caller, input).await?))
}

/// One post with its targets. Scope `posts:read`.
#[utoipa::path(get, path = "/posts/{id}", tag = "posts",
    params(("id" = uuid::Uuid, Path, description = "Post id")),
    responses(
        (status = 200, description = "The post", body = PostView),
        (status = 404, description = "No such post in your workspace", body = ErrorBody),
    ))]
async fn get_post(State(state): State<AppState>, Auth(caller): Auth, ApiId(id): ApiId) -> ApiResult<Json<PostView>> {
    Ok(Json(state.app.get_post(&caller, id).await?))
}

/// Edits or reschedules a draft or scheduled post; given fields replace
/// stored ones. Refused (409) once publishing started.
#[utoipa::path(put, path = "/posts/{id}", tag = "posts",
    params(("id" = uuid::Uuid, Path, description = "Post id")),
    request_body = UpdatePostInput,
    responses(
        (status = 200, description = "The updated post", body = PostView),
        (status = 404, description = "No such post in your workspace", body = ErrorBody),
        (status = 409, description = "Publishing already started", body = ErrorBody),
        (status = 422, description = "Invalid post", body = ErrorBody),
    ))]
async fn update_post(
    State(state): State<AppState>,
    Auth(caller): Auth,
    ApiId(id): ApiId,
    ApiJson(input): ApiJson<UpdatePostInput>,
) -> ApiResult<Json<PostView>> {
    Ok(Json(state.app.update_post(&caller, id, input).await?))
}

/// Deletes a post; pending deliveries are cancelled in the same transaction.
#[utoipa::path(delete, path = "/posts/{id}", tag = "posts",
    params(("id" = uuid::Uuid, Path, description = "Post id")),
    responses(
        (status = 204, description = "Deleted"),
        (status = 404, description = "No such post in your workspace", body = ErrorBody),
        (status = 409, description = "Being published right now", body = ErrorBody),
    ))]
async fn delete_post(State(state): State<AppState>, Auth(caller): Auth, ApiId(id): ApiId) -> ApiResult<StatusCode> {
    state.app.delete_post(&caller, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Publishes a draft or scheduled post now. Scope `posts:publish`.
#[utoipa::path(post, path = "/posts/{id}/publish", tag = "posts",
    params(("id" = uuid::Uuid, Path, description = "Post id")),
    responses(
        (status = 202, description = "Queued for publishing now", body = PostView),
        (status = 404, description = "No such post in your workspace", body = ErrorBody),
        (status = 409, description = "Already publishing or published", body = ErrorBody),
        (status = 422, description = "The post is not publishable as it is", body = ErrorBody),
    ))]
async fn publish_post(
    State(state): State<AppState>,
    Auth(caller): Auth,
    ApiId(id): ApiId,
) -> ApiResult<(StatusCode, Json<PostView>)> {
    Ok((StatusCode::ACCEPTED, Json(state.app.publish_post_now(&caller, id).await?)))
}
