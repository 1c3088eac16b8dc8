//! Cross-site request forgery on the API. A browser sends the session
//! cookie with requests other sites' pages make; `SameSite=Lax` stops
//! cross-site form posts from carrying it, but not every forgery (a sibling
//! subdomain, an old browser). So a state-changing API request that is
//! authenticated by the cookie must come from Herald's own pages: its
//! `Origin` must be Herald's (the `Host` it was sent to, `MAIN_URL`, or a
//! `HERALD_CORS_ORIGINS` entry), or — without `Origin` — the browser must
//! not call it cross-site (`Sec-Fetch-Site`). API keys and bearer tokens
//! are never sent by a browser on its own, so they are not affected.

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::{HeaderMap, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum_extra::extract::CookieJar;

use crate::error::ApiError;
use crate::extract::SESSION_COOKIE;

/// Origins besides the request's own host that may send cookie requests.
pub struct TrustedOrigins(Vec<String>);

impl TrustedOrigins {
    pub fn new<'a>(origins: impl IntoIterator<Item = &'a str>) -> Self {
        Self(origins.into_iter().filter_map(normalize).collect())
    }
}

/// `scheme://host[:port]`, lower-case, default ports dropped.
fn normalize(raw: &str) -> Option<String> {
    let url = url::Url::parse(raw.trim()).ok()?;
    url.has_host().then(|| url.origin().ascii_serialization().to_ascii_lowercase())
}

const REFUSED: &str = "a page of another site sent this request with your session; it was refused";

fn refusal(headers: &HeaderMap, trusted: &TrustedOrigins) -> Option<&'static str> {
    if let Some(origin) = headers.get(header::ORIGIN) {
        // `Origin: null` (sandboxed frames, some redirects) names no site: refused.
        let Some(origin) = origin.to_str().ok().and_then(normalize) else { return Some(REFUSED) };
        let host = headers.get(header::HOST).and_then(|v| v.to_str().ok()).unwrap_or_default().to_ascii_lowercase();
        let same_host = origin.split_once("://").is_some_and(|(_, authority)| authority == host);
        return (!same_host && !trusted.0.contains(&origin)).then_some(REFUSED);
    }
    match headers.get("sec-fetch-site").and_then(|v| v.to_str().ok()) {
        Some("cross-site" | "same-site") => Some(REFUSED),
        _ => None,
    }
}

fn uses_session_cookie(headers: &HeaderMap) -> bool {
    headers.get(header::AUTHORIZATION).is_none() && CookieJar::from_headers(headers).get(SESSION_COOKIE).is_some()
}

pub async fn refuse_cross_site(State(trusted): State<Arc<TrustedOrigins>>, request: Request, next: Next) -> Response {
    let safe = matches!(*request.method(), Method::GET | Method::HEAD | Method::OPTIONS);
    let api = request.uri().path().starts_with("/api/") || request.uri().path().starts_with("/public/");
    if !safe
        && api
        && uses_session_cookie(request.headers())
        && let Some(reason) = refusal(request.headers(), &trusted)
    {
        tracing::warn!("cross-site request with a session cookie refused");
        return ApiError::new(StatusCode::FORBIDDEN, "FORBIDDEN", reason).into_response();
    }
    next.run(request).await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.insert(*name, value.parse().unwrap());
        }
        map
    }

    #[test]
    fn only_herald_s_own_pages_may_send_the_cookie() {
        let trusted = TrustedOrigins::new(["https://herald.example.com", "https://app.example.com:8443"]);
        let refused = |pairs: &[(&'static str, &str)]| refusal(&headers(pairs), &trusted).is_some();
        assert!(!refused(&[("host", "localhost:5000"), ("origin", "http://localhost:5000")]));
        assert!(!refused(&[("host", "herald.internal"), ("origin", "https://herald.example.com")]));
        assert!(!refused(&[("host", "x"), ("origin", "https://APP.example.com:8443")]));
        assert!(refused(&[("host", "localhost:5000"), ("origin", "https://evil.example")]));
        assert!(refused(&[("host", "localhost:5000"), ("origin", "http://localhost:5001")]));
        assert!(refused(&[("host", "localhost:5000"), ("origin", "null")]));
        assert!(refused(&[("host", "localhost:5000"), ("sec-fetch-site", "cross-site")]));
        assert!(refused(&[("host", "localhost:5000"), ("sec-fetch-site", "same-site")]));
        assert!(!refused(&[("host", "localhost:5000"), ("sec-fetch-site", "same-origin")]));
        assert!(!refused(&[("host", "localhost:5000")]), "curl and other clients send neither");
    }
}
