//! The JSON error format of every API response:
//! `{"error":{"code","message","details","timestamp","requestId"}}`.
//! Server-side failures are logged with their cause chain; the client gets
//! a generic message and the request id to quote.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use herald_app::AppError;
use serde::Serialize;

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ErrorDetail {
    /// `UNAUTHORIZED`, `FORBIDDEN`, `NOT_FOUND`, `VALIDATION_FAILED`,
    /// `CONFLICT`, `RATE_LIMITED`, `BAD_REQUEST`, `PAYLOAD_TOO_LARGE`,
    /// `UNSUPPORTED_MEDIA_TYPE`, `METHOD_NOT_ALLOWED`, `INTERNAL` …
    pub code: String,
    pub message: String,
    /// For validation errors: `{"errors":[{"field","message"}]}`.
    #[schema(value_type = Option<Object>)]
    pub details: Option<serde_json::Value>,
    pub timestamp: DateTime<Utc>,
    pub request_id: String,
}

/// An error on its way to the client.
#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
    pub details: Option<serde_json::Value>,
    /// Extra headers such as `Retry-After`.
    pub headers: Vec<(header::HeaderName, HeaderValue)>,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self { status, code, message: message.into(), details: None, headers: Vec::new() }
    }

    pub fn with_details(mut self, details: serde_json::Value) -> Self {
        self.details = Some(details);
        self
    }

    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, "NOT_FOUND", message)
    }

    /// 429 with `Retry-After` in whole seconds (at least one).
    pub fn rate_limited(message: &str, wait: std::time::Duration) -> Self {
        let seconds = (wait.as_secs() + u64::from(wait.subsec_nanos() > 0)).max(1);
        let mut error =
            Self::new(StatusCode::TOO_MANY_REQUESTS, "RATE_LIMITED", format!("{message}; retry in {seconds} s"))
                .with_details(serde_json::json!({ "retryAfterSeconds": seconds }));
        if let Ok(value) = HeaderValue::from_str(&seconds.to_string()) {
            error.headers.push((header::RETRY_AFTER, value));
        }
        error
    }
}

impl From<AppError> for ApiError {
    fn from(error: AppError) -> Self {
        let code = error.code();
        let status = StatusCode::from_u16(error.http_status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        match error {
            AppError::Validation { message, errors } => {
                Self::new(status, code, message).with_details(serde_json::json!({ "errors": errors }))
            }
            AppError::Unauthorized(message) => {
                let mut error = Self::new(status, code, message);
                error.headers.push((header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer")));
                error
            }
            AppError::Forbidden { message, required_scope } => {
                let error = Self::new(status, code, message);
                match required_scope {
                    Some(scope) => error.with_details(serde_json::json!({ "requiredScope": scope })),
                    None => error,
                }
            }
            AppError::NotFound(what) => Self::new(status, code, format!("{what} not found")),
            AppError::RateLimited { message, retry_after } => Self::rate_limited(&message, retry_after),
            AppError::Conflict(message) | AppError::TooLarge(message) | AppError::PlatformUnavailable(message) => {
                Self::new(status, code, message)
            }
            AppError::Internal(source) => {
                tracing::error!(error = %source, cause = ?source, "internal error");
                Self::new(status, code, "something went wrong on our side; quote the request id if it persists")
            }
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        if self.status.is_client_error() {
            tracing::info!(status = self.status.as_u16(), code = self.code, detail = %self.message, "request refused");
        }
        let body = ErrorBody {
            error: ErrorDetail {
                code: self.code.to_string(),
                message: self.message,
                details: self.details,
                timestamp: Utc::now(),
                request_id: herald_app::request_id::current(),
            },
        };
        let mut response = (self.status, axum::Json(body)).into_response();
        for (name, value) in self.headers {
            response.headers_mut().insert(name, value);
        }
        response
    }
}

pub type ApiResult<T> = Result<T, ApiError>;

/// Code of the JSON format for a status axum itself chose.
pub fn code_for_status(status: StatusCode) -> &'static str {
    match status {
        StatusCode::BAD_REQUEST => "BAD_REQUEST",
        StatusCode::UNAUTHORIZED => "UNAUTHORIZED",
        StatusCode::FORBIDDEN => "FORBIDDEN",
        StatusCode::NOT_FOUND => "NOT_FOUND",
        StatusCode::METHOD_NOT_ALLOWED => "METHOD_NOT_ALLOWED",
        StatusCode::CONFLICT => "CONFLICT",
        StatusCode::PAYLOAD_TOO_LARGE => "PAYLOAD_TOO_LARGE",
        StatusCode::UNSUPPORTED_MEDIA_TYPE => "UNSUPPORTED_MEDIA_TYPE",
        StatusCode::UNPROCESSABLE_ENTITY => "VALIDATION_FAILED",
        StatusCode::TOO_MANY_REQUESTS => "RATE_LIMITED",
        s if s.is_server_error() => "INTERNAL",
        _ => "BAD_REQUEST",
    }
}
