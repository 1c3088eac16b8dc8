//! The UI's own CSS and JavaScript, compiled into the binary: no CDN, no
//! build step, nothing to deploy next to the executable. URLs carry a
//! content hash (`?v=`), so browsers may keep a file for a year.

use std::sync::LazyLock;

use axum::Router;
use axum::extract::{Path, Query};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use sha2::{Digest, Sha256};

use crate::UiState;

pub struct Asset {
    pub name: &'static str,
    pub mime: &'static str,
    pub body: &'static str,
}

/// Every file under `/static/`.
pub const ASSETS: &[Asset] = &[
    Asset { name: "app.css", mime: "text/css; charset=utf-8", body: include_str!("../static/app.css") },
    Asset { name: "app.js", mime: "text/javascript; charset=utf-8", body: include_str!("../static/app.js") },
    Asset { name: "preview.js", mime: "text/javascript; charset=utf-8", body: include_str!("../static/preview.js") },
    Asset { name: "composer.js", mime: "text/javascript; charset=utf-8", body: include_str!("../static/composer.js") },
    Asset { name: "calendar.js", mime: "text/javascript; charset=utf-8", body: include_str!("../static/calendar.js") },
    Asset { name: "icon.svg", mime: "image/svg+xml", body: include_str!("../static/icon.svg") },
];

static VERSION: LazyLock<String> = LazyLock::new(|| {
    let mut hash = Sha256::new();
    for asset in ASSETS {
        hash.update(asset.body.as_bytes());
    }
    hex::encode(&hash.finalize()[..6])
});

/// A short hash of every asset, for cache-busting URLs.
pub fn version() -> &'static str {
    VERSION.as_str()
}

pub fn routes() -> Router<UiState> {
    Router::new().route("/static/{name}", axum::routing::get(serve))
}

#[derive(serde::Deserialize)]
struct Versioned {
    v: Option<String>,
}

async fn serve(Path(name): Path<String>, Query(query): Query<Versioned>) -> Response {
    let Some(asset) = ASSETS.iter().find(|a| a.name == name) else {
        return StatusCode::NOT_FOUND.into_response();
    };
    // A URL with the current hash never changes; without it, revalidate hourly.
    let cache = if query.v.as_deref() == Some(version()) {
        "public, max-age=31536000, immutable"
    } else {
        "public, max-age=3600"
    };
    let mut response = asset.body.into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(asset.mime));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The budget of the issue: the whole UI stays light on a phone.
    #[test]
    fn total_js_and_css_stay_under_40_kb_each() {
        let total = |ext: &str| ASSETS.iter().filter(|a| a.name.ends_with(ext)).map(|a| a.body.len()).sum::<usize>();
        let (js, css) = (total(".js"), total(".css"));
        assert!(js < 40 * 1024, "JavaScript is {js} bytes");
        assert!(css < 40 * 1024, "CSS is {css} bytes");
        assert!(js > 0 && css > 0);
    }

    #[test]
    fn no_third_party_origin_is_referenced() {
        for asset in ASSETS {
            assert!(!asset.body.contains("//cdn"), "{} loads from a CDN", asset.name);
            assert!(!asset.body.contains("@import url(http"), "{} imports remote CSS", asset.name);
        }
    }
}
