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
use crate::session::{SESSION_COOKIE, removal_cookie, session_cookie};

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
    /// Where to go once registered (an invite link brings people here).
    next: String,
    errors: FieldErrors,
}

#[derive(Debug, Default, Deserialize)]
struct RegisterQuery {
    notice: Option<String>,
    next: Option<String>,
    email: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
struct LoginQuery {
    next: Option<String>,
    notice: Option<String>,
}

/// Where to go after signing in: a path of this site, anything else `/`.
/// `?next=https://evil.example` must not redirect away, nor the spellings
/// browsers read as another host (`//evil`, `/\\evil`, `/\t/evil` — tabs and
/// line breaks are dropped by browsers, and would break the header).
pub(crate) fn safe_next(next: Option<&str>) -> String {
    next.and_then(same_site_path).unwrap_or_else(|| "/".to_string())
}

fn same_site_path(raw: &str) -> Option<String> {
    if !raw.starts_with('/') || raw.chars().any(|c| c.is_control() || c.is_whitespace() || c == '\\') {
        return None;
    }
    let base = url::Url::parse("http://herald.invalid/").ok()?;
    let joined = base.join(raw).ok()?;
    // Dot segments are resolved by now: `/..//evil` has become `//evil`.
    let path = &joined[url::Position::BeforePath..];
    (joined.origin() == base.origin() && !path.starts_with("//")).then(|| path.to_string())
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
        Err(AppError::RateLimited { retry_after, .. }) => {
            let page = LoginPage {
                c: Chrome::anonymous(csrf, "Sign in"),
                email: form.email,
                next,
                errors: FieldErrors::general(format!(
                    "Too many failed sign-ins for this address. Wait {} seconds, then try again.",
                    retry_after.as_secs().max(1)
                )),
            };
            return Ok((StatusCode::TOO_MANY_REQUESTS, page).into_response());
        }
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

async fn register_page(CsrfToken(csrf): CsrfToken, Query(query): Query<RegisterQuery>) -> RegisterPage {
    RegisterPage {
        c: Chrome::anonymous(csrf, "Create an account").with_notice(query.notice.as_deref()),
        email: query.email.unwrap_or_default(),
        name: String::new(),
        timezone: "UTC".into(),
        next: safe_next(query.next.as_deref()),
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
    next: Option<String>,
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
            let next = safe_next(form.next.as_deref());
            let to = if next == "/" { "/integrations?notice=welcome".to_string() } else { next };
            return Ok((jar, Redirect::to(&to)).into_response());
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
        next: safe_next(form.next.as_deref()),
        errors,
    };
    Ok((status, page).into_response())
}

async fn logout(State(state): State<UiState>, jar: CookieJar) -> UiResult<Response> {
    if let Some(cookie) = jar.get(SESSION_COOKIE) {
        state.app.end_session(cookie.value()).await?;
    }
    Ok((jar.remove(removal_cookie(state.secure_cookies)), Redirect::to("/login?notice=signed-out")).into_response())
}

#[cfg(test)]
mod tests {
    use super::safe_next;

    #[test]
    fn next_stays_on_this_site() {
        for (given, expected) in [
            ("/calendar?view=week", "/calendar?view=week"),
            ("/posts/1/edit#media", "/posts/1/edit#media"),
            ("/a/../b", "/b"),
            ("https://evil.example/", "/"),
            ("//evil.example", "/"),
            ("/\\evil.example", "/"),
            ("/\t/evil.example", "/"),
            ("/\n/evil.example", "/"),
            ("/ /evil.example", "/"),
            ("/x\r\nSet-Cookie: a=b", "/"),
            ("/..//evil.example", "/"),
            ("/%2e%2e//evil.example", "/"),
            ("javascript:alert(1)", "/"),
            ("", "/"),
        ] {
            assert_eq!(safe_next(Some(given)), expected, "{given:?}");
        }
        assert_eq!(safe_next(None), "/");
    }
}
