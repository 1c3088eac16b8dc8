//! `/api/openapi.json` and the browsable `/api/docs`, whose page and assets
//! are project-written and embedded, so it works without internet access.

use std::sync::Arc;

use axum::Router;
use axum::extract::Path;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;

use crate::error::ApiError;

const INDEX: &str = include_str!("../../assets/docs/index.html");
const SCRIPT: &str = include_str!("../../assets/docs/docs.js");
const STYLE: &str = include_str!("../../assets/docs/docs.css");

pub fn routes<S: Clone + Send + Sync + 'static>(spec_json: Arc<String>) -> Router<S> {
    Router::new()
        .route(
            "/openapi.json",
            get(move || {
                let spec = spec_json.clone();
                async move { ([(header::CONTENT_TYPE, "application/json")], spec.as_str().to_owned()) }
            }),
        )
        .route("/docs", get(|| async { ([(header::CONTENT_TYPE, "text/html; charset=utf-8")], INDEX) }))
        .route("/docs/assets/{file}", get(asset))
}

async fn asset(Path(file): Path<String>) -> Response {
    let (body, mime) = match file.as_str() {
        "docs.js" => (SCRIPT, "text/javascript; charset=utf-8"),
        "docs.css" => (STYLE, "text/css; charset=utf-8"),
        _ => {
            return ApiError::not_found(format!("no documentation asset `{file}`")).into_response();
        }
    };
    (StatusCode::OK, [(header::CONTENT_TYPE, mime), (header::CACHE_CONTROL, "public, max-age=3600")], body)
        .into_response()
}
