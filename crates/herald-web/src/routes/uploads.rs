//! `/uploads/{key}`: stored media, public (platforms fetch them by URL).
//! Files are streamed from the store, never read whole, and a single byte
//! range (`Range: bytes=a-b`, `a-`, `-n`) is answered with 206, as video
//! fetchers ask for.

use axum::Router;
use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;

use crate::error::ApiError;
use crate::state::AppState;

pub fn routes() -> Router<AppState> {
    Router::new().route("/uploads/{key}", get(upload))
}

async fn upload(State(state): State<AppState>, Path(key): Path<String>, headers: HeaderMap) -> Response {
    let not_found = || ApiError::not_found(format!("no upload `{key}`")).into_response();
    let asked = headers.get(header::RANGE).and_then(|value| value.to_str().ok());
    let range = match asked {
        None => None,
        Some(raw) => {
            let Some(size) = state.app.upload_size(&key).await else { return not_found() };
            match byte_range(raw, size) {
                Some(range) => Some(range),
                None => {
                    return (StatusCode::RANGE_NOT_SATISFIABLE, [(header::CONTENT_RANGE, format!("bytes */{size}"))])
                        .into_response();
                }
            }
        }
    };
    let Some(file) = state.app.open_upload(&key, range.clone()).await else { return not_found() };
    let cache = (header::CACHE_CONTROL, "public, max-age=31536000, immutable".to_string());
    let ranges = (header::ACCEPT_RANGES, "bytes".to_string());
    let body = Body::from_stream(file.body);
    match range {
        Some(range) => {
            let content_range = format!("bytes {}-{}/{}", range.start, range.end - 1, file.size);
            let headers = [
                (header::CONTENT_TYPE, file.mime.to_string()),
                (header::CONTENT_LENGTH, (range.end - range.start).to_string()),
                (header::CONTENT_RANGE, content_range),
                cache,
                ranges,
            ];
            (StatusCode::PARTIAL_CONTENT, headers, body).into_response()
        }
        None => {
            let headers = [
                (header::CONTENT_TYPE, file.mime.to_string()),
                (header::CONTENT_LENGTH, file.size.to_string()),
                cache,
                ranges,
            ];
            (headers, body).into_response()
        }
    }
}

/// The one range of a `Range` header within a file of `size` bytes (end
/// exclusive); `None` when it cannot be served. Several ranges are not
/// offered: the first is answered.
fn byte_range(raw: &str, size: u64) -> Option<std::ops::Range<u64>> {
    let spec = raw.trim().strip_prefix("bytes=")?.split(',').next()?.trim();
    let (first, last) = spec.split_once('-')?;
    let range = match (first.trim(), last.trim()) {
        ("", suffix) => {
            let length: u64 = suffix.parse().ok()?;
            size.saturating_sub(length)..size
        }
        (start, "") => start.parse().ok()?..size,
        (start, end) => {
            let end: u64 = end.parse().ok()?;
            start.parse().ok()?..end.saturating_add(1).min(size)
        }
    };
    (range.start < range.end && range.end <= size).then_some(range)
}

#[cfg(test)]
mod tests {
    use super::byte_range;

    #[test]
    fn ranges_are_read_as_rfc_9110_says() {
        assert_eq!(byte_range("bytes=0-99", 1000), Some(0..100));
        assert_eq!(byte_range("bytes=900-", 1000), Some(900..1000));
        assert_eq!(byte_range("bytes=-100", 1000), Some(900..1000));
        assert_eq!(byte_range("bytes=990-5000", 1000), Some(990..1000));
        assert_eq!(byte_range("bytes=0-0, 5-9", 1000), Some(0..1));
        assert_eq!(byte_range("bytes=1000-", 1000), None);
        assert_eq!(byte_range("bytes=5-2", 1000), None);
        assert_eq!(byte_range("items=0-1", 1000), None);
    }
}
