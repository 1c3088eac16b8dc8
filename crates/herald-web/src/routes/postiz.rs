//! Postiz's public API at `/public/v1`, for the official `postiz` CLI,
//! n8n, Make and scripts written for Postiz: same paths, bodies and
//! answers, with the API key in a bare `Authorization: <key>` header as
//! Postiz clients send it (a `Bearer` one works too). Each route is a thin
//! adapter over `herald_app::postiz`, itself over Herald's use cases; the
//! budgets and scopes are those of `/api`. Errors keep Herald's JSON format
//! and add Postiz's (NestJS's) top-level `statusCode` and `message`.

use axum::Json;
use axum::body::Body;
use axum::extract::multipart::MultipartRejection;
use axum::extract::{DefaultBodyLimit, Multipart, Request, State};
use axum::http::{StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use herald_app::postiz::body::PostizCreatePost;
use herald_app::postiz::postiz_media;
use herald_app::postiz::views::{
    PostizAnalyticsQuery, PostizConnected, PostizCreated, PostizDeleted, PostizIntegration, PostizMedia, PostizMetric,
    PostizMissingItem, PostizPostList, PostizPostsQuery, PostizReleaseId, PostizSlot, PostizTrigger,
    PostizUploadFromUrl,
};
use serde_json::Value;
use utoipa_axum::router::{OpenApiRouter, UtoipaMethodRouterExt};
use utoipa_axum::routes;

use crate::error::{ApiResult, ErrorBody};
use crate::extract::{ApiId, ApiJson, ApiQuery, Auth};
use crate::routes::media::{UPLOAD_LIMIT, read_upload_form};
use crate::state::AppState;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(postiz_is_connected))
        .routes(routes!(postiz_list_integrations))
        .routes(routes!(postiz_integration_settings))
        .routes(routes!(postiz_integration_trigger))
        .routes(routes!(postiz_find_slot))
        .routes(routes!(postiz_list_posts, postiz_create_post))
        .routes(routes!(postiz_delete_post))
        .routes(routes!(postiz_missing_content))
        .routes(routes!(postiz_set_release_id))
        .routes(routes!(postiz_upload).layer(DefaultBodyLimit::max(UPLOAD_LIMIT)))
        .routes(routes!(postiz_upload_from_url))
        .routes(routes!(postiz_integration_analytics))
        .routes(routes!(postiz_post_analytics))
}

/// Adds `statusCode` and `message` at the top of every error answer under
/// `/public/`, where Postiz clients (NestJS's error shape) look for them —
/// the rate limiter's and unknown paths' included, so it wraps the stack.
pub(crate) async fn postiz_error_fields(request: Request, next: Next) -> Response {
    let postiz = request.uri().path().starts_with("/public/");
    let response = next.run(request).await;
    if postiz { with_postiz_error_fields(response).await } else { response }
}

async fn with_postiz_error_fields(response: Response) -> Response {
    let status = response.status();
    let is_json = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    if !(status.is_client_error() || status.is_server_error()) || !is_json {
        return response;
    }
    let (mut parts, body) = response.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, 64 * 1024).await else {
        return (StatusCode::INTERNAL_SERVER_ERROR, "error body unreadable").into_response();
    };
    let Ok(Value::Object(mut object)) = serde_json::from_slice::<Value>(&bytes) else {
        return Response::from_parts(parts, Body::from(bytes));
    };
    let message = object.get("error").and_then(|e| e.get("message")).cloned().unwrap_or(Value::Null);
    object.insert("statusCode".into(), Value::from(status.as_u16()));
    object.insert("message".into(), message);
    let rewritten = Value::Object(object).to_string();
    parts.headers.remove(header::CONTENT_LENGTH);
    Response::from_parts(parts, Body::from(rewritten))
}

/// Whether the API key works (Postiz's `GET /is-connected`). Any scope.
#[utoipa::path(get, path = "/is-connected", tag = "postiz",
    responses((status = 200, description = "The key is valid", body = PostizConnected)))]
async fn postiz_is_connected(Auth(_caller): Auth) -> Json<PostizConnected> {
    Json(PostizConnected { connected: true })
}

/// The workspace's connected accounts, as Postiz lists them. Scope `integrations:read`.
#[utoipa::path(get, path = "/integrations", tag = "postiz",
    responses((status = 200, description = "The accounts", body = Vec<PostizIntegration>)))]
async fn postiz_list_integrations(
    State(state): State<AppState>,
    Auth(caller): Auth,
) -> ApiResult<Json<Vec<PostizIntegration>>> {
    Ok(Json(state.app.postiz_integrations(&caller).await?))
}

/// An account's limits, the JSON Schema of its post settings (Postiz's
/// names and Herald's) and its tools: `{output: {rules, maxLength,
/// settings, tools, …}}`. Scope `integrations:read`.
#[utoipa::path(get, path = "/integration-settings/{id}", tag = "postiz",
    params(("id" = uuid::Uuid, Path, description = "Integration id")),
    responses(
        (status = 200, description = "`{output: {rules, maxLength, settings, tools}}`", body = Object),
        (status = 404, description = "No such integration in your workspace", body = ErrorBody),
    ))]
async fn postiz_integration_settings(
    State(state): State<AppState>,
    Auth(caller): Auth,
    ApiId(id): ApiId,
) -> ApiResult<Json<Value>> {
    Ok(Json(state.app.postiz_integration_settings(&caller, id).await?))
}

/// Runs one of the account's tools (`methodName` from its settings'
/// `tools`), e.g. Pinterest's `getBoards`: `{output}`. Scope `integrations:read`.
#[utoipa::path(post, path = "/integration-trigger/{id}", tag = "postiz",
    params(("id" = uuid::Uuid, Path, description = "Integration id")),
    request_body = PostizTrigger,
    responses(
        (status = 200, description = "`{output}`", body = Object),
        (status = 404, description = "No such integration in your workspace", body = ErrorBody),
        (status = 422, description = "Not a tool Herald has for this account", body = ErrorBody),
    ))]
async fn postiz_integration_trigger(
    State(state): State<AppState>,
    Auth(caller): Auth,
    ApiId(id): ApiId,
    ApiJson(input): ApiJson<PostizTrigger>,
) -> ApiResult<Json<Value>> {
    Ok(Json(state.app.postiz_trigger(&caller, id, input).await?))
}

/// The account's next free posting slot. Scope `posts:read`.
#[utoipa::path(get, path = "/find-slot/{id}", tag = "postiz",
    params(("id" = uuid::Uuid, Path, description = "Integration id")),
    responses(
        (status = 200, description = "The slot", body = PostizSlot),
        (status = 404, description = "No such integration in your workspace", body = ErrorBody),
        (status = 409, description = "No free slot within a year", body = ErrorBody),
    ))]
async fn postiz_find_slot(
    State(state): State<AppState>,
    Auth(caller): Auth,
    ApiId(id): ApiId,
) -> ApiResult<Json<PostizSlot>> {
    Ok(Json(state.app.postiz_find_slot(&caller, id).await?))
}

/// Each account's post due between `startDate` and `endDate` (default:
/// 30 days back to 30 days ahead), earliest first. Scope `posts:read`.
#[utoipa::path(get, path = "/posts", tag = "postiz", params(PostizPostsQuery),
    responses(
        (status = 200, description = "The posts", body = PostizPostList),
        (status = 404, description = "No such customer", body = ErrorBody),
        (status = 422, description = "Invalid date or filter", body = ErrorBody),
    ))]
async fn postiz_list_posts(
    State(state): State<AppState>,
    Auth(caller): Auth,
    ApiQuery(query): ApiQuery<PostizPostsQuery>,
) -> ApiResult<Json<PostizPostList>> {
    Ok(Json(state.app.postiz_list_posts(&caller, query).await?))
}

/// Creates posts in Postiz's shape (`type`, `date`, `posts[].integration.id`,
/// `posts[].value[]` — the post, then its comments — and `settings`). One
/// entry per account in the answer, in request order. Scope `posts:write`;
/// scheduling and publishing also need `posts:publish`.
#[utoipa::path(post, path = "/posts", tag = "postiz", request_body = PostizCreatePost,
    responses(
        (status = 201, description = "One entry per account", body = Vec<PostizCreated>),
        (status = 422, description = "Invalid post; `details.errors` names each field as the request has it", body = ErrorBody),
    ))]
async fn postiz_create_post(
    State(state): State<AppState>,
    Auth(caller): Auth,
    ApiJson(input): ApiJson<PostizCreatePost>,
) -> ApiResult<(StatusCode, Json<Vec<PostizCreated>>)> {
    Ok((StatusCode::CREATED, Json(state.app.postiz_create_posts(&caller, input).await?)))
}

/// Deletes the post and every post made with it (Postiz's group); pending
/// deliveries are cancelled. Answers JSON, as Postiz clients parse it.
#[utoipa::path(delete, path = "/posts/{id}", tag = "postiz",
    params(("id" = uuid::Uuid, Path, description = "An account's post id (as listed) or a group id")),
    responses(
        (status = 200, description = "Deleted", body = PostizDeleted),
        (status = 404, description = "No such post in your workspace", body = ErrorBody),
        (status = 409, description = "Being published right now", body = ErrorBody),
    ))]
async fn postiz_delete_post(
    State(state): State<AppState>,
    Auth(caller): Auth,
    ApiId(id): ApiId,
) -> ApiResult<Json<PostizDeleted>> {
    Ok(Json(state.app.postiz_delete(&caller, id).await?))
}

/// Content on the platform a post without the platform's id could be.
/// Always empty: Herald keeps the id of all it publishes. Scope `posts:read`.
#[utoipa::path(get, path = "/posts/{id}/missing", tag = "postiz",
    params(("id" = uuid::Uuid, Path, description = "An account's post id")),
    responses(
        (status = 200, description = "Candidates", body = Vec<PostizMissingItem>),
        (status = 404, description = "No such post in your workspace", body = ErrorBody),
    ))]
async fn postiz_missing_content(
    State(state): State<AppState>,
    Auth(caller): Auth,
    ApiId(id): ApiId,
) -> ApiResult<Json<Vec<PostizMissingItem>>> {
    Ok(Json(state.app.postiz_missing(&caller, id).await?))
}

/// Records the platform's id of a post that went out without one, or that
/// Herald could not confirm. Scope `posts:publish`.
#[utoipa::path(put, path = "/posts/{id}/release-id", tag = "postiz",
    params(("id" = uuid::Uuid, Path, description = "An account's post id")),
    request_body = PostizReleaseId,
    responses(
        (status = 200, description = "`{success, id, releaseId}`", body = Object),
        (status = 404, description = "No such post in your workspace", body = ErrorBody),
        (status = 409, description = "The post already has the platform's id, or did not go out", body = ErrorBody),
    ))]
async fn postiz_set_release_id(
    State(state): State<AppState>,
    Auth(caller): Auth,
    ApiId(id): ApiId,
    ApiJson(input): ApiJson<PostizReleaseId>,
) -> ApiResult<Json<Value>> {
    Ok(Json(state.app.postiz_set_release_id(&caller, id, input).await?))
}

/// `multipart/form-data` body of `POST /public/v1/upload`.
#[derive(utoipa::ToSchema)]
#[allow(dead_code)] // documents the form for OpenAPI only
struct PostizUploadForm {
    /// PNG, JPEG, GIF or WebP (at most 50 MB), MP4, MOV or WebM (at most 2 GB).
    #[schema(format = Binary, value_type = String)]
    file: Vec<u8>,
}

/// Uploads a file (multipart `file`); use the answer's `path` in posts.
/// Scope `posts:write`.
#[utoipa::path(post, path = "/upload", tag = "postiz",
    request_body(content_type = "multipart/form-data", content = PostizUploadForm),
    responses(
        (status = 201, description = "Stored", body = PostizMedia),
        (status = 413, description = "An image larger than 50 MB or a video larger than 2 GB", body = ErrorBody),
        (status = 415, description = "Not a multipart form", body = ErrorBody),
        (status = 422, description = "No file, empty, or not a supported type", body = ErrorBody),
    ))]
async fn postiz_upload(
    State(state): State<AppState>,
    Auth(caller): Auth,
    form: Result<Multipart, MultipartRejection>,
) -> ApiResult<(StatusCode, Json<PostizMedia>)> {
    let hint = "send the file as multipart/form-data with a `file` field";
    let upload = read_upload_form(&state, &caller, form, hint).await?;
    // Postiz's upload takes no alt text: the file alone, as before.
    let view = state.app.record_upload(&caller, upload.stored, None).await?;
    let name = upload.file_name;
    Ok((StatusCode::CREATED, Json(postiz_media(view, name))))
}

/// Downloads a file into the media library through the SSRF guard
/// (private addresses refused at every redirect). Scope `posts:write`.
#[utoipa::path(post, path = "/upload-from-url", tag = "postiz", request_body = PostizUploadFromUrl,
    responses(
        (status = 201, description = "Stored", body = PostizMedia),
        (status = 422, description = "Not reachable, not allowed, too large or not a supported type", body = ErrorBody),
    ))]
async fn postiz_upload_from_url(
    State(state): State<AppState>,
    Auth(caller): Auth,
    ApiJson(input): ApiJson<PostizUploadFromUrl>,
) -> ApiResult<(StatusCode, Json<PostizMedia>)> {
    let view = state.app.upload_media_from_url(&caller, &input.url, None).await?;
    let name = input.url.split(['?', '#']).next().and_then(|u| u.rsplit('/').next()).map(str::to_string);
    Ok((StatusCode::CREATED, Json(postiz_media(view, name))))
}

/// An account's daily figures over `date` days (default 7): posts
/// published and the engagement the platform reports. Scope `analytics:read`.
#[utoipa::path(get, path = "/analytics/{id}", tag = "postiz",
    params(("id" = uuid::Uuid, Path, description = "Integration id"), PostizAnalyticsQuery),
    responses(
        (status = 200, description = "One series per metric", body = Vec<PostizMetric>),
        (status = 404, description = "No such integration in your workspace", body = ErrorBody),
        (status = 422, description = "Bad `date`", body = ErrorBody),
    ))]
async fn postiz_integration_analytics(
    State(state): State<AppState>,
    Auth(caller): Auth,
    ApiId(id): ApiId,
    ApiQuery(query): ApiQuery<PostizAnalyticsQuery>,
) -> ApiResult<Json<Vec<PostizMetric>>> {
    Ok(Json(state.app.postiz_integration_analytics(&caller, id, query).await?))
}

/// One account's post's engagement, or `{"missing": true}` when it went
/// out without the platform's id (see `/posts/{id}/release-id`). Scope `analytics:read`.
#[utoipa::path(get, path = "/analytics/post/{id}", tag = "postiz",
    params(("id" = uuid::Uuid, Path, description = "An account's post id"), PostizAnalyticsQuery),
    responses(
        (status = 200, description = "Metrics (as for an account), or `{missing: true}`", body = inline(Value)),
        (status = 404, description = "No such post in your workspace", body = ErrorBody),
        (status = 422, description = "Bad `date`", body = ErrorBody),
    ))]
async fn postiz_post_analytics(
    State(state): State<AppState>,
    Auth(caller): Auth,
    ApiId(id): ApiId,
    ApiQuery(query): ApiQuery<PostizAnalyticsQuery>,
) -> ApiResult<Json<Value>> {
    Ok(Json(state.app.postiz_post_analytics(&caller, id, query).await?))
}
