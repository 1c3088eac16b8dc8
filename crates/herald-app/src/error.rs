//! The one error type of every use case. The web layer maps it to HTTP and
//! the JSON error format; MCP maps it to tool errors with the same codes.

use herald_core::{ValidationError, ValidationErrors};
use herald_store::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error("{message}")]
    Validation { message: String, errors: Vec<ValidationError> },
    #[error("{0}")]
    Unauthorized(String),
    #[error("{message}")]
    Forbidden { message: String, required_scope: Option<&'static str> },
    #[error("{0} not found")]
    NotFound(&'static str),
    #[error("{0}")]
    Conflict(String),
    /// Too many attempts: try again after `retry_after`.
    #[error("{message}")]
    RateLimited { message: String, retry_after: std::time::Duration },
    /// A file larger than Herald takes.
    #[error("{0}")]
    TooLarge(String),
    /// A platform could not be reached or failed; trying later may work.
    #[error("{0}")]
    PlatformUnavailable(String),
    #[error("internal error")]
    Internal(#[source] Box<dyn std::error::Error + Send + Sync>),
}

impl AppError {
    pub fn forbidden(message: impl Into<String>) -> Self {
        Self::Forbidden { message: message.into(), required_scope: None }
    }

    pub fn internal(error: impl std::error::Error + Send + Sync + 'static) -> Self {
        Self::Internal(Box::new(error))
    }

    /// The HTTP status every surface answers with (the API, the public
    /// pages' JSON, the web UI's error pages).
    pub fn http_status(&self) -> u16 {
        match self {
            Self::Validation { .. } => 422,
            Self::Unauthorized(_) => 401,
            Self::Forbidden { .. } => 403,
            Self::NotFound(_) => 404,
            Self::Conflict(_) => 409,
            Self::RateLimited { .. } => 429,
            Self::TooLarge(_) => 413,
            Self::PlatformUnavailable(_) => 503,
            Self::Internal(_) => 500,
        }
    }

    /// The stable error code of the JSON format.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Validation { .. } => "VALIDATION_FAILED",
            Self::Unauthorized(_) => "UNAUTHORIZED",
            Self::Forbidden { .. } => "FORBIDDEN",
            Self::NotFound(_) => "NOT_FOUND",
            Self::Conflict(_) => "CONFLICT",
            Self::RateLimited { .. } => "RATE_LIMITED",
            Self::TooLarge(_) => "PAYLOAD_TOO_LARGE",
            Self::PlatformUnavailable(_) => "PLATFORM_UNAVAILABLE",
            Self::Internal(_) => "INTERNAL",
        }
    }
}

impl From<ValidationErrors> for AppError {
    fn from(errors: ValidationErrors) -> Self {
        let message = match errors.0.as_slice() {
            [only] => format!("{}: {}", only.field, only.message),
            many => format!("{} fields are invalid: {errors}", many.len()),
        };
        Self::Validation { message, errors: errors.0 }
    }
}

impl From<ValidationError> for AppError {
    fn from(error: ValidationError) -> Self {
        ValidationErrors::from(error).into()
    }
}

impl From<StoreError> for AppError {
    fn from(error: StoreError) -> Self {
        match error {
            StoreError::Conflict(detail) => Self::Conflict(detail),
            other => Self::internal(other),
        }
    }
}

pub type AppResult<T> = Result<T, AppError>;
