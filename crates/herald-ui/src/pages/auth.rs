//! `/login`, `/register`, `/logout`.

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use axum_extra::extract::CookieJar;
use herald_app::AppError;
use herald_app::accounts::{LoginInput, RegisterInput};
use serde::Deserialize;

use crate::UiState;
use crate::chrome::{Chrome, FieldErrors};
use crate::csrf::CsrfToken;
use crate::error::UiResult;
use crate::pages::Notice;
use crate::session::{removal_cookie, session_cookie};

pub fn routes() -> Router<UiState> {
    Router::new()
        .route("/login", get(login_page).post(login))
        .route("/register", get(register_page).post(register))
        .route("/logout", post(logout))
}

#[derive(Template, WebTemplate)]
#[template(path = "pages/login.html")]
struct LoginPage {
    c: Chrome,
    email: String,
    next: String,
    errors: FieldErrors,
}

#[derive(Template, WebTemplate)]
#[template(path = "pages/register.html")]
struct RegisterPage {
    c: Chrome,
    email: String,
    name: String,
    timezone: String,
    errors: FieldErrors,
}

#[derive(Debug, Default, Deserialize)]
struct LoginQuery {
    next: Option<String>,
    notice: Option<String>,
}

/// Only paths of this site: `?next=https://evil.example` must not redirect away.
fn safe_next(next: Option<&str>) -> String {
    match next {
        Some(path) if path.starts_with('/') && !path.starts_with("//") && !path.starts_with("/\\") => path.to_string(),
        _ => "/".to_string(),
    }
}

async fn login_page(CsrfToken(csrf): CsrfToken, Query(query): Query<LoginQuery>) -> LoginPage {
    LoginPage {
        c: Chrome::anonymous(csrf, "Sign in").with_notice(query.notice.as_deref()),
        email: String::new(),
        next: safe_next(query.next.as_deref()),
        errors: FieldErrors::default(),
    }
}

#[derive(Debug, Deserialize)]
struct LoginForm {
    #[serde(default)]
    email: String,
    #[serde(default)]
    password: String,
    next: Option<String>,
}

async fn login(
    State(state): State<UiState>,
    CsrfToken(csrf): CsrfToken,
    jar: CookieJar,
    Form(form): Form<LoginForm>,
) -> UiResult<Response> {
    let next = safe_next(form.next.as_deref());
    let input = LoginInput { email: form.email.clone(), password: form.password };
    let message = match state.app.login(input).await {
        Ok(session) => {
            let jar = jar.add(session_cookie(&session, state.secure_cookies));
            return Ok((jar, Redirect::to(&next)).into_response());
        }
        Err(AppError::Unauthorized(_)) => {
            "Wrong e-mail or password. Check both and try again (passwords are case-sensitive).".to_string()
        }
        Err(AppError::Forbidden { message, .. }) => format!("You cannot sign in: {message}."),
        Err(other) => return Err(other.into()),
    };
    let page = LoginPage {
        c: Chrome::anonymous(csrf, "Sign in"),
        email: form.email,
        next,
        errors: FieldErrors::general(message),
    };
    Ok((StatusCode::UNAUTHORIZED, page).into_response())
}

async fn register_page(CsrfToken(csrf): CsrfToken, Query(query): Query<Notice>) -> RegisterPage {
    RegisterPage {
        c: Chrome::anonymous(csrf, "Create an account").with_notice(query.notice.as_deref()),
        email: String::new(),
        name: String::new(),
        timezone: "UTC".into(),
        errors: FieldErrors::default(),
    }
}

#[derive(Debug, Deserialize)]
struct RegisterForm {
    #[serde(default)]
    email: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    timezone: String,
}

async fn register(
    State(state): State<UiState>,
    CsrfToken(csrf): CsrfToken,
    jar: CookieJar,
    Form(form): Form<RegisterForm>,
) -> UiResult<Response> {
    let timezone = if form.timezone.trim().is_empty() { "UTC".to_string() } else { form.timezone.trim().to_string() };
    let input = RegisterInput {
        email: form.email.clone(),
        password: form.password,
        name: Some(form.name.trim().to_string()).filter(|n| !n.is_empty()),
        timezone: Some(timezone.clone()),
    };
    let (status, errors) = match state.app.register(input).await {
        Ok(session) => {
            let jar = jar.add(session_cookie(&session, state.secure_cookies));
            return Ok((jar, Redirect::to("/integrations?notice=welcome")).into_response());
        }
        Err(AppError::Conflict(message)) => {
            (StatusCode::CONFLICT, FieldErrors { fields: vec![("email".into(), message)], general: None })
        }
        Err(AppError::Forbidden { message, .. }) => (StatusCode::FORBIDDEN, FieldErrors::general(message)),
        Err(error) => (StatusCode::UNPROCESSABLE_ENTITY, FieldErrors::from_app(error)?),
    };
    let page = RegisterPage {
        c: Chrome::anonymous(csrf, "Create an account"),
        email: form.email,
        name: form.name,
        timezone,
        errors,
    };
    Ok((status, page).into_response())
}

async fn logout(State(state): State<UiState>, jar: CookieJar) -> Response {
    (jar.remove(removal_cookie(state.secure_cookies)), Redirect::to("/login?notice=signed-out")).into_response()
}
