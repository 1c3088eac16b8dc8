//! The media library: `GET/POST /media` (multipart upload),
//! `POST /media/from-url` (fetched through the SSRF guard) and
//! `PATCH /media/{id}` (alt text).

use axum::Json;
use axum::extract::multipart::{MultipartError, MultipartRejection};
use axum::extract::{DefaultBodyLimit, Multipart, State};
use axum::http::StatusCode;
use herald_app::media::{ListMediaQuery, MAX_MEDIA_BYTES, MediaPage, MediaView};
use serde::Deserialize;
use utoipa_axum::router::{OpenApiRouter, UtoipaMethodRouterExt};
use utoipa_axum::routes;

use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::extract::{ApiId, ApiJson, ApiQuery, Auth};
use crate::state::AppState;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(media_from_url))
        .routes(routes!(update_media))
        // Files are larger than JSON bodies: this route alone takes up to the media limit.
        .routes(routes!(upload_media).layer(DefaultBodyLimit::max(UPLOAD_LIMIT)))
        .routes(routes!(list_media))
}

/// The workspace's media library, newest first, with cursor pagination
/// (as `GET /posts`). Scope `posts:read`.
#[utoipa::path(get, path = "/media", tag = "media", params(ListMediaQuery),
    responses(
        (status = 200, description = "A page of media", body = MediaPage),
        (status = 422, description = "Invalid `limit` or `cursor`", body = ErrorBody),
    ))]
async fn list_media(
    State(state): State<AppState>,
    Auth(caller): Auth,
    ApiQuery(query): ApiQuery<ListMediaQuery>,
) -> ApiResult<Json<MediaPage>> {
    Ok(Json(state.app.list_media(&caller, query).await?))
}

/// Room for the multipart boundaries and the alt text field.
const MULTIPART_OVERHEAD: usize = 64 * 1024;
/// The body limit of `POST /media`: the largest video and its form.
pub(crate) const UPLOAD_LIMIT: usize = MAX_MEDIA_BYTES as usize + MULTIPART_OVERHEAD;

/// `multipart/form-data` body of `POST /media`.
#[derive(utoipa::ToSchema)]
#[allow(dead_code)] // documents the form for OpenAPI only
struct UploadForm {
    /// The file: PNG, JPEG, GIF or WebP (at most 50 MB), MP4, MOV or WebM (at most 2 GB).
    #[schema(format = Binary, value_type = String)]
    file: Vec<u8>,
    /// Description for people who cannot see it (≤ 1500 characters).
    alt_text: Option<String>,
}

/// Uploads a file into the media library (multipart form with `file` and
/// optionally `altText`). The type is checked from the bytes; a video is
/// streamed to the store as it arrives. Use the id in `mediaIds`.
#[utoipa::path(post, path = "/media", tag = "media",
    request_body(content_type = "multipart/form-data", content = UploadForm),
    responses(
        (status = 201, description = "Stored", body = MediaView),
        (status = 413, description = "An image larger than 50 MB or a video larger than 2 GB", body = ErrorBody),
        (status = 415, description = "Not a multipart form", body = ErrorBody),
        (status = 422, description = "No file, empty, or not a supported type", body = ErrorBody),
    ))]
async fn upload_media(
    State(state): State<AppState>,
    Auth(caller): Auth,
    form: Result<Multipart, MultipartRejection>,
) -> ApiResult<(StatusCode, Json<MediaView>)> {
    let upload = read_upload_form(
        &state,
        &caller,
        form,
        "send the file as multipart/form-data with a `file` field (and optionally `altText`)",
    )
    .await?;
    Ok((StatusCode::CREATED, Json(state.app.record_upload(&caller, upload.stored, upload.alt_text).await?)))
}

/// A file read from an upload form and stored, with what the form said of it.
pub(crate) struct ReadUpload {
    pub stored: herald_app::media::StoredUpload,
    /// The name the client gave the file.
    pub file_name: Option<String>,
    pub alt_text: Option<String>,
}

/// Reads a multipart form: its `file` is streamed to the store, `altText`
/// kept, anything else skipped unread. `hint` says how to send it right.
pub(crate) async fn read_upload_form(
    state: &AppState,
    caller: &herald_app::Caller,
    form: Result<Multipart, MultipartRejection>,
    hint: &str,
) -> ApiResult<ReadUpload> {
    let mut form = form
        .map_err(|_| ApiError::new(StatusCode::UNSUPPORTED_MEDIA_TYPE, "UNSUPPORTED_MEDIA_TYPE", hint.to_string()))?;
    let mut stored = None;
    let mut alt_text = None;
    while let Some(field) = form.next_field().await.map_err(multipart_error)? {
        match field.name() {
            Some("file") if stored.is_none() => {
                let file_name = field.file_name().map(str::to_string);
                let pieces = futures::TryStreamExt::map_err(field, interrupted_upload);
                stored = Some((state.app.store_upload(caller, pieces).await?, file_name));
            }
            Some("altText" | "alt_text" | "alt") => alt_text = Some(field.text().await.map_err(multipart_error)?),
            // Unknown fields are skipped, not buffered.
            _ => {}
        }
    }
    let Some((stored, file_name)) = stored else {
        return Err(herald_app::AppError::from(herald_core::ValidationError::new("file", "is required")).into());
    };
    Ok(ReadUpload { stored, file_name, alt_text })
}

/// The file stopped coming: over the body limit, or the client went away.
fn interrupted_upload(error: MultipartError) -> herald_app::AppError {
    if error.status() == StatusCode::PAYLOAD_TOO_LARGE {
        return herald_app::AppError::TooLarge(herald_app::media::too_large(MAX_MEDIA_BYTES));
    }
    let message = format!("the file could not be read: {}", error.body_text());
    herald_core::ValidationError::new("file", message).into()
}

fn multipart_error(error: MultipartError) -> ApiError {
    let status = error.status();
    if status == StatusCode::PAYLOAD_TOO_LARGE {
        return too_large();
    }
    let message = format!("the multipart form could not be read: {}", error.body_text());
    ApiError::new(status, crate::error::code_for_status(status), message)
}

fn too_large() -> ApiError {
    let status = StatusCode::PAYLOAD_TOO_LARGE;
    ApiError::new(status, crate::error::code_for_status(status), herald_app::media::too_large(MAX_MEDIA_BYTES))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct FromUrlInput {
    /// Public http(s) URL of a PNG, JPEG, GIF, WebP, MP4, MOV or WebM file (≤ 50 MB).
    #[schema(format = "uri")]
    url: String,
    alt_text: Option<String>,
}

/// Downloads a file into the media library; its type is checked from the
/// bytes, up to 5 redirects are followed and private addresses are refused
/// at every hop. Use the id in `mediaIds`.
#[utoipa::path(post, path = "/media/from-url", tag = "media", request_body = FromUrlInput,
    responses(
        (status = 201, description = "Stored", body = MediaView),
        (status = 422, description = "Not reachable, not allowed, too large or not a supported type", body = ErrorBody),
    ))]
async fn media_from_url(
    State(state): State<AppState>,
    Auth(caller): Auth,
    ApiJson(input): ApiJson<FromUrlInput>,
) -> ApiResult<(StatusCode, Json<MediaView>)> {
    Ok((StatusCode::CREATED, Json(state.app.upload_media_from_url(&caller, &input.url, input.alt_text).await?)))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct UpdateMediaInput {
    /// Description for people who cannot see it (≤ 1500 characters);
    /// `null` or an empty string removes it. Required: a misspelt field
    /// must not pass for "no change".
    #[serde(deserialize_with = "nullable")]
    #[schema(required = true)]
    alt_text: Option<String>,
}

/// `Option<String>` that must be present, `null` allowed (a plain `Option`
/// field would let a missing one through as `None`).
fn nullable<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<Option<String>, D::Error> {
    Option::<String>::deserialize(deserializer)
}

/// Changes the alt text of an uploaded file, e.g. after it was attached.
/// Posts that use it publish the new text from then on.
#[utoipa::path(patch, path = "/media/{id}", tag = "media", request_body = UpdateMediaInput,
    params(("id" = uuid::Uuid, Path, description = "Media id")),
    responses(
        (status = 200, description = "The media item with its new alt text", body = MediaView),
        (status = 404, description = "No such media in your workspace", body = ErrorBody),
        (status = 422, description = "Missing `altText`, or longer than 1500 characters", body = ErrorBody),
    ))]
async fn update_media(
    State(state): State<AppState>,
    Auth(caller): Auth,
    ApiId(id): ApiId,
    ApiJson(input): ApiJson<UpdateMediaInput>,
) -> ApiResult<Json<MediaView>> {
    Ok(Json(state.app.update_media_alt_text(&caller, id, input.alt_text).await?))
}
