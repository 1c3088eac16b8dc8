//! CSRF protection for every state-changing request of the UI.
//!
//! A random secret lives in its own httpOnly cookie; the token a form
//! carries is HMAC(secret, session cookie). A forged cross-site form cannot
//! know the token (it reads neither cookie), and a token stops working when
//! the session changes (sign in, sign out), so it is bound to the session.
//! Forms send it as the `_csrf` field; scripts as the `X-CSRF-Token` header;
//! multipart uploads as the `_csrf` query parameter.

use std::sync::Arc;

use axum::body::{Body, to_bytes};
use axum::extract::{FromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderValue, Method, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum_extra::extract::CookieJar;
use axum_extra::extract::cookie::{Cookie, SameSite};
use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

use crate::UiState;
use crate::error::UiError;
use crate::session::SESSION_COOKIE;

pub const CSRF_COOKIE: &str = "herald_csrf";
/// Name of the hidden form field carrying the token.
pub const CSRF_FIELD: &str = "_csrf";
const CSRF_HEADER: &str = "x-csrf-token";
/// Forms of the UI are small; uploads go through multipart with the token in the query.
const FORM_LIMIT: usize = 2 * 1024 * 1024;

/// The token for the forms of the page being rendered.
#[derive(Debug, Clone)]
pub struct CsrfToken(pub String);

impl<S: Send + Sync> FromRequestParts<S> for CsrfToken {
    type Rejection = UiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        parts.extensions.get::<CsrfToken>().cloned().ok_or(UiError::Csrf)
    }
}

pub fn token(secret: &str, session: &str) -> String {
    let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(secret.as_bytes()).expect("HMAC takes keys of any length");
    mac.update(session.as_bytes());
    hex::encode(mac.finalize().into_bytes())
}

/// Constant-time comparison: the time taken must not tell how much matched.
fn same(a: &str, b: &str) -> bool {
    herald_core::secret::constant_time_eq(a.as_bytes(), b.as_bytes())
}

fn new_secret() -> String {
    let bytes: [u8; 32] = rand::random();
    hex::encode(bytes)
}

pub async fn guard(State(state): State<Arc<UiState>>, request: Request, next: Next) -> Response {
    let jar = CookieJar::from_headers(request.headers());
    let existing = jar.get(CSRF_COOKIE).map(|c| c.value().to_string()).filter(|v| v.len() == 64);
    let fresh = existing.is_none();
    let secret = existing.unwrap_or_else(new_secret);
    let session = jar.get(SESSION_COOKIE).map(|c| c.value().to_string()).unwrap_or_default();
    let expected = token(&secret, &session);

    let mut request = request;
    if !matches!(*request.method(), Method::GET | Method::HEAD | Method::OPTIONS) && !is_public_json(&request) {
        let (given, rebuilt) = submitted_token(request).await;
        request = match rebuilt {
            Some(request) => request,
            None => return UiError::TooLarge.into_response(),
        };
        // A request without any secret cookie cannot carry a valid token.
        if fresh || !given.is_some_and(|given| same(&given, &expected)) {
            return UiError::Csrf.into_response();
        }
    }
    request.extensions_mut().insert(CsrfToken(expected));
    let mut response = next.run(request).await;
    if fresh {
        let cookie = Cookie::build((CSRF_COOKIE, secret))
            .http_only(true)
            .same_site(SameSite::Strict)
            .secure(state.secure_cookies)
            .path("/")
            .build();
        if let Ok(value) = HeaderValue::from_str(&cookie.to_string()) {
            response.headers_mut().append(header::SET_COOKIE, value);
        }
    }
    response
}

/// JSON posted to a public preview page: the link's token in the path is
/// its only credential (no cookie carries authority there), and a
/// cross-site page cannot send JSON without the browser asking first.
fn is_public_json(request: &Request) -> bool {
    request.uri().path().starts_with("/p/")
        && request
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("application/json"))
}

/// The token a request carries, and the request rebuilt (its form body was
/// read to find the field). `None` when the body is too large to read.
async fn submitted_token(request: Request) -> (Option<String>, Option<Request>) {
    if let Some(value) = request.headers().get(CSRF_HEADER).and_then(|v| v.to_str().ok()) {
        return (Some(value.to_string()), Some(request));
    }
    let from_query = request
        .uri()
        .query()
        .and_then(|q| url::form_urlencoded::parse(q.as_bytes()).find(|(k, _)| k == CSRF_FIELD).map(|(_, v)| v.into()));
    let is_form = request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
    if !is_form {
        return (from_query, Some(request));
    }
    let (parts, body) = request.into_parts();
    let Ok(bytes) = to_bytes(body, FORM_LIMIT).await else {
        return (None, None);
    };
    let given = url::form_urlencoded::parse(&bytes).find(|(k, _)| k == CSRF_FIELD).map(|(_, v)| v.into_owned());
    (given.or(from_query), Some(Request::from_parts(parts, Body::from(bytes))))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_depend_on_secret_and_session() {
        let a = token("s1", "session-a");
        assert_eq!(a, token("s1", "session-a"));
        assert_ne!(a, token("s1", "session-b"));
        assert_ne!(a, token("s2", "session-a"));
        assert!(same(&a, &a.clone()));
        assert!(!same(&a, &a[1..]));
    }
}
