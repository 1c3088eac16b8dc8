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
    Asset {
        name: "preview-page.js",
        mime: "text/javascript; charset=utf-8",
        body: include_str!("../static/preview-page.js"),
    },
    Asset { name: "composer.js", mime: "text/javascript; charset=utf-8", body: include_str!("../static/composer.js") },
    Asset { name: "calendar.js", mime: "text/javascript; charset=utf-8", body: include_str!("../static/calendar.js") },
    Asset { name: "icon.svg", mime: "image/svg+xml", body: include_str!("../static/icon.svg") },
];

/// What is sent of each asset (same order as `ASSETS`): the source without
/// its whole-line comments, indentation and blank lines. The sources stay
/// commented for people; phones download only the code. Lines are kept
/// as they are otherwise, so no statement changes meaning.
static SERVED: LazyLock<Vec<String>> = LazyLock::new(|| ASSETS.iter().map(|a| compact(a.name, a.body)).collect());

fn compact(name: &str, body: &str) -> String {
    let comment = |line: &str| {
        (name.ends_with(".js") && line.starts_with("//"))
            || (name.ends_with(".css") && line.starts_with("/*") && line.ends_with("*/"))
    };
    if !(name.ends_with(".js") || name.ends_with(".css")) {
        return body.to_string();
    }
    let mut out = String::with_capacity(body.len());
    for line in body.lines().map(str::trim_start) {
        if !line.is_empty() && !comment(line) {
            out.push_str(line);
            out.push('\n');
        }
    }
    out
}

/// The body sent for an asset.
#[cfg(test)]
fn served(name: &str) -> Option<&'static str> {
    let index = ASSETS.iter().position(|a| a.name == name)?;
    SERVED.get(index).map(String::as_str)
}

static VERSION: LazyLock<String> = LazyLock::new(|| {
    let mut hash = Sha256::new();
    for body in SERVED.iter() {
        hash.update(body.as_bytes());
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
    let Some((asset, body)) = ASSETS.iter().zip(SERVED.iter()).find(|(a, _)| a.name == name) else {
        return StatusCode::NOT_FOUND.into_response();
    };
    // A URL with the current hash never changes; without it, revalidate hourly.
    let cache = if query.v.as_deref() == Some(version()) {
        "public, max-age=31536000, immutable"
    } else {
        "public, max-age=3600"
    };
    let mut response = body.as_str().into_response();
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
        let total = |ext: &str| {
            ASSETS.iter().filter(|a| a.name.ends_with(ext)).filter_map(|a| served(a.name)).map(str::len).sum::<usize>()
        };
        let (js, css) = (total(".js"), total(".css"));
        assert!(js < 40 * 1024, "JavaScript is {js} bytes");
        assert!(css < 40 * 1024, "CSS is {css} bytes");
        assert!(js > 0 && css > 0);
    }

    #[test]
    fn served_code_drops_comments_and_indentation_only() {
        let js = "'use strict';\n// why\n  if (a) {\n    b('// not a comment');\n  }\n\n";
        assert_eq!(compact("x.js", js), "'use strict';\nif (a) {\nb('// not a comment');\n}\n");
        assert_eq!(
            compact("x.css", "/* section */\na {\n  color: red; /* keep */\n}\n"),
            "a {\ncolor: red; /* keep */\n}\n"
        );
        assert_eq!(compact("icon.svg", "  <svg/>\n"), "  <svg/>\n");
    }

    #[test]
    fn no_third_party_origin_is_referenced() {
        for asset in ASSETS {
            assert!(!asset.body.contains("//cdn"), "{} loads from a CDN", asset.name);
            assert!(!asset.body.contains("@import url(http"), "{} imports remote CSS", asset.name);
        }
    }
}
