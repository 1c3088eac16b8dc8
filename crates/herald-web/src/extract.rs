//! Extractors that turn every kind of bad input into the JSON error
//! format: body, path, query and credentials.

use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{StatusCode, header};
use axum_extra::extract::CookieJar;
use herald_app::Caller;
use serde::de::DeserializeOwned;
use uuid::Uuid;

use crate::error::{ApiError, code_for_status};
use crate::state::AppState;

pub const SESSION_COOKIE: &str = "herald_session";

/// `axum::Json` with errors in the JSON error format.
pub struct ApiJson<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for ApiJson<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let (parts, body) = req.into_parts();
        // Read within the body limit (`DefaultBodyLimit`), as `Json` would.
        let bytes =
            axum::body::Bytes::from_request(Request::from_parts(parts.clone(), body), state).await.map_err(|e| {
                let status = e.status();
                let message = if status == StatusCode::PAYLOAD_TOO_LARGE {
                    "the request body is too large".to_string()
                } else {
                    e.body_text()
                };
                ApiError::new(status, code_for_status(status), message)
            })?;
        // Every body the API takes is an object; serde would also read a
        // struct written as an array.
        if bytes.iter().find(|b| !b.is_ascii_whitespace()).is_some_and(|first| *first == b'[') {
            return Err(ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "VALIDATION_FAILED",
                "the request body must be a JSON object",
            ));
        }
        let req = Request::from_parts(parts, axum::body::Body::from(bytes));
        match axum::Json::<T>::from_request(req, state).await {
            Ok(axum::Json(value)) => Ok(Self(value)),
            Err(rejection) => Err(json_rejection(rejection)),
        }
    }
}

fn json_rejection(rejection: JsonRejection) -> ApiError {
    let status = rejection.status();
    let message = match &rejection {
        JsonRejection::JsonDataError(e) => format!(
            "the request body does not match the expected shape: {}",
            e.body_text().trim_start_matches("Failed to deserialize the JSON body into the target type: ")
        ),
        JsonRejection::JsonSyntaxError(e) => format!(
            "the request body is not valid JSON: {}",
            e.body_text().trim_start_matches("Failed to parse the request body as JSON: ")
        ),
        JsonRejection::MissingJsonContentType(_) => {
            "send the body as JSON with `Content-Type: application/json`".to_string()
        }
        JsonRejection::BytesRejection(_) if status == StatusCode::PAYLOAD_TOO_LARGE => {
            "the request body is too large".to_string()
        }
        other => other.body_text(),
    };
    ApiError::new(status, code_for_status(status), message)
}

/// A JSON body that may be left out: an empty body is `T::default()`.
pub struct OptionalJson<T>(pub T);

impl<T: DeserializeOwned + Default, S: Send + Sync> FromRequest<S> for OptionalJson<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let (parts, body) = req.into_parts();
        let bytes = axum::body::Bytes::from_request(Request::from_parts(parts.clone(), body), state)
            .await
            .map_err(|e| ApiError::new(e.status(), code_for_status(e.status()), e.body_text()))?;
        // No body, or JSON `null`: the defaults.
        if bytes.iter().all(u8::is_ascii_whitespace) || bytes.trim_ascii() == b"null" {
            return Ok(Self(T::default()));
        }
        let req = Request::from_parts(parts, axum::body::Body::from(bytes));
        ApiJson::<T>::from_request(req, state).await.map(|ApiJson(value)| Self(value))
    }
}

/// Two `{id}` path segments that must be UUIDs (a resource and one of its parts).
pub struct ApiIds(pub Uuid, pub Uuid);

impl<S: Send + Sync> FromRequestParts<S> for ApiIds {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let axum::extract::Path((first, second)) =
            axum::extract::Path::<(String, String)>::from_request_parts(parts, state)
                .await
                .map_err(|e| ApiError::new(StatusCode::BAD_REQUEST, "BAD_REQUEST", e.body_text()))?;
        let parse = |raw: &str| {
            Uuid::parse_str(raw).map_err(|_| ApiError::not_found(format!("`{raw}` is not a valid id (ids are UUIDs)")))
        };
        Ok(Self(parse(&first)?, parse(&second)?))
    }
}

/// A `{id}` path segment that must be a UUID. Anything else cannot name a
/// resource, so it is answered like a missing one.
pub struct ApiId(pub Uuid);

impl<S: Send + Sync> FromRequestParts<S> for ApiId {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let axum::extract::Path(raw) = axum::extract::Path::<String>::from_request_parts(parts, state)
            .await
            .map_err(|e| ApiError::new(StatusCode::BAD_REQUEST, "BAD_REQUEST", e.body_text()))?;
        Uuid::parse_str(&raw)
            .map(Self)
            .map_err(|_| ApiError::not_found(format!("`{raw}` is not a valid id (ids are UUIDs)")))
    }
}

/// `axum::extract::Query` with errors in the JSON error format.
pub struct ApiQuery<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequestParts<S> for ApiQuery<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        axum::extract::Query::<T>::from_request_parts(parts, state)
            .await
            .map(|axum::extract::Query(value)| Self(value))
            .map_err(|rejection: QueryRejection| {
                ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "VALIDATION_FAILED", rejection.body_text())
            })
    }
}

/// A caller the rate limiter already verified for this request.
#[derive(Clone)]
pub struct Authenticated(pub Caller);

/// The authenticated caller: an API key (`Authorization: Bearer ptz_…` or
/// a bare `Authorization: ptz_…`), a session token as bearer, or the
/// session cookie of the web UI.
pub struct Auth(pub Caller);

impl FromRequestParts<AppState> for Auth {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        if let Some(Authenticated(caller)) = parts.extensions.get::<Authenticated>() {
            return Ok(Self(caller.clone()));
        }
        let workspace = requested_workspace(&parts.headers)?;
        if let Some(token) = bearer_token(parts)? {
            let caller = if token.starts_with(herald_core::api_key::KEY_PREFIX) {
                state.app.authenticate_api_key_in(token, false, workspace).await?
            } else {
                state.app.authenticate_session(token, workspace).await?
            };
            return Ok(Self(caller));
        }
        let jar = CookieJar::from_headers(&parts.headers);
        match jar.get(SESSION_COOKIE) {
            Some(cookie) => Ok(Self(state.app.authenticate_session(cookie.value(), workspace).await?)),
            None => Err(herald_app::AppError::Unauthorized(
                "sign in, or send an API key as `Authorization: Bearer ptz_…`".into(),
            )
            .into()),
        }
    }
}

/// The header that picks the workspace a request acts in.
pub const WORKSPACE_HEADER: &str = "x-herald-workspace";

/// The workspace `X-Herald-Workspace` asks for, if any. Not an id names no
/// workspace of the caller, so it is answered like a missing one.
pub fn requested_workspace(headers: &axum::http::HeaderMap) -> Result<Option<Uuid>, ApiError> {
    let Some(value) = headers.get(WORKSPACE_HEADER) else {
        return Ok(None);
    };
    let raw = value.to_str().unwrap_or_default().trim();
    Uuid::parse_str(raw)
        .map(Some)
        .map_err(|_| ApiError::not_found(format!("X-Herald-Workspace: `{raw}` is not a workspace id (ids are UUIDs)")))
}

/// The token of the `Authorization` header, with or without `Bearer `.
pub fn bearer_token(parts: &Parts) -> Result<Option<&str>, ApiError> {
    let Some(value) = parts.headers.get(header::AUTHORIZATION) else {
        return Ok(None);
    };
    let value = value
        .to_str()
        .map_err(|_| {
            ApiError::new(StatusCode::UNAUTHORIZED, "UNAUTHORIZED", "the Authorization header is not readable text")
        })?
        .trim();
    match herald_core::api_key::bearer_token(value) {
        Some(token) => Ok(Some(token)),
        None if value.split_once(' ').is_some_and(|(scheme, _)| !scheme.eq_ignore_ascii_case("bearer")) => {
            Err(ApiError::new(StatusCode::UNAUTHORIZED, "UNAUTHORIZED", "use `Authorization: Bearer <API key>`"))
        }
        None => Ok(None),
    }
}
