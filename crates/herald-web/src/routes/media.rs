use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use herald_app::media::MediaView;
use serde::Deserialize;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::error::{ApiResult, ErrorBody};
use crate::extract::{ApiJson, Auth};
use crate::state::AppState;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(media_from_url))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct FromUrlInput {
    /// Public http(s) URL of a PNG, JPEG, GIF, WebP, MP4, MOV or WebM file (≤ 50 MB).
    url: String,
    alt_text: Option<String>,
}

/// Downloads a file into the media library; its type is checked from the
/// bytes and private addresses are refused. Use the id in `mediaIds`.
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
