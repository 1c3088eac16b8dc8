//! What a page answers when something goes wrong: a redirect to sign in, or
//! an error page in the layout. 5xx details go to the log, not the page.

use askama::Template;
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Redirect, Response};
use herald_app::AppError;

#[derive(Debug)]
pub enum UiError {
    /// Not signed in (or the session expired): go to `/login`, then back.
    SignIn {
        next: String,
    },
    Csrf,
    TooLarge,
    NotFound,
    Forbidden(String),
    /// A request that cannot be served as sent (a broken sign-in link).
    BadRequest(String),
    Internal,
}

impl From<AppError> for UiError {
    fn from(error: AppError) -> Self {
        match error {
            AppError::Unauthorized(_) => Self::SignIn { next: "/".into() },
            AppError::NotFound(_) => Self::NotFound,
            AppError::Forbidden { message, .. } => Self::Forbidden(message),
            other => {
                tracing::error!(error = %other, cause = ?std::error::Error::source(&other), "page failed");
                Self::Internal
            }
        }
    }
}

impl From<askama::Error> for UiError {
    fn from(error: askama::Error) -> Self {
        tracing::error!(%error, "template failed to render");
        Self::Internal
    }
}

#[derive(Template)]
#[template(path = "pages/error.html")]
struct ErrorPage {
    status: u16,
    heading: &'static str,
    message: String,
}

impl IntoResponse for UiError {
    fn into_response(self) -> Response {
        let (status, heading, message) = match self {
            Self::SignIn { next } => {
                let next = crate::pages::auth::safe_next(Some(&next));
                let target = if next == "/" {
                    "/login".to_string()
                } else {
                    format!("/login?next={}", url::form_urlencoded::byte_serialize(next.as_bytes()).collect::<String>())
                };
                return Redirect::to(&target).into_response();
            }
            Self::Csrf => (
                StatusCode::FORBIDDEN,
                "This form has expired",
                "The page was open too long or you signed in elsewhere. Go back, reload the page and send the form again."
                    .to_string(),
            ),
            Self::TooLarge => (StatusCode::PAYLOAD_TOO_LARGE, "Too large", "The form is too large to send.".into()),
            Self::NotFound => {
                (StatusCode::NOT_FOUND, "Not found", "This page does not exist, or it is not yours to see.".into())
            }
            Self::Forbidden(message) => (StatusCode::FORBIDDEN, "Not allowed", message),
            Self::BadRequest(message) => (StatusCode::BAD_REQUEST, "This link cannot be used", message),
            Self::Internal => (
                StatusCode::INTERNAL_SERVER_ERROR,
                "Something went wrong",
                "Something went wrong on our side. Try again; if it keeps happening, the server log says why.".into(),
            ),
        };
        let page = ErrorPage { status: status.as_u16(), heading, message };
        match page.render() {
            Ok(html) => (status, Html(html)).into_response(),
            Err(_) => status.into_response(),
        }
    }
}

pub type UiResult<T> = Result<T, UiError>;

/// A `{id}` path segment that must be a UUID: anything else names no page,
/// and gets the HTML "not found" page rather than the framework's text.
pub struct UiId(pub uuid::Uuid);

impl<S: Send + Sync> axum::extract::FromRequestParts<S> for UiId {
    type Rejection = UiError;

    async fn from_request_parts(parts: &mut axum::http::request::Parts, state: &S) -> Result<Self, Self::Rejection> {
        let axum::extract::Path(raw) =
            axum::extract::Path::<String>::from_request_parts(parts, state).await.map_err(|_| UiError::NotFound)?;
        uuid::Uuid::parse_str(&raw).map(Self).map_err(|_| UiError::NotFound)
    }
}
