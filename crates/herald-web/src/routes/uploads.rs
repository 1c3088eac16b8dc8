//! `/uploads/{key}`: stored media, public (platforms fetch them by URL).

use axum::Router;
use axum::extract::{Path, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::routing::get;

use crate::error::ApiError;
use crate::state::AppState;

pub fn routes() -> Router<AppState> {
    Router::new().route("/uploads/{key}", get(upload))
}

async fn upload(State(state): State<AppState>, Path(key): Path<String>) -> Response {
    match state.app.read_upload(&key).await {
        Some((bytes, mime)) => {
            ([(header::CONTENT_TYPE, mime), (header::CACHE_CONTROL, "public, max-age=31536000, immutable")], bytes)
                .into_response()
        }
        None => ApiError::not_found(format!("no upload `{key}`")).into_response(),
    }
}
