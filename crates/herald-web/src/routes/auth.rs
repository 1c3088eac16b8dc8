//! Accounts and sessions: `POST /auth/register`, `/auth/login`,
//! `/auth/logout`, `/auth/logout-all`, `GET /me` and `POST /me/password`.

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum_extra::extract::CookieJar;
use axum_extra::extract::cookie::{Cookie, SameSite};
use herald_app::accounts::{LoginInput, RegisterInput, SESSION_TTL, Session};
use herald_app::views::UserView;
use serde::{Deserialize, Serialize};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::error::{ApiResult, ErrorBody};
use crate::extract::{ApiJson, Auth, SESSION_COOKIE};
use crate::state::AppState;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(register))
        .routes(routes!(login))
        .routes(routes!(logout))
        .routes(routes!(logout_all))
        .routes(routes!(me))
        .routes(routes!(change_password))
}

#[derive(Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SessionView {
    pub user: UserView,
    /// When the session cookie expires.
    pub expires_at: chrono::DateTime<chrono::Utc>,
}

fn session_cookie(state: &AppState, session: &Session) -> Cookie<'static> {
    Cookie::build((SESSION_COOKIE, session.token.clone()))
        .http_only(true)
        .same_site(SameSite::Lax)
        .secure(state.config.secure_cookies())
        .path("/")
        .max_age(time_duration(SESSION_TTL))
        .build()
}

fn time_duration(duration: chrono::Duration) -> cookie::time::Duration {
    cookie::time::Duration::seconds(duration.num_seconds())
}

/// Creates an account and signs it in. The first account is the admin.
#[utoipa::path(post, path = "/auth/register", tag = "auth", security(()), request_body = RegisterInput,
    responses(
        (status = 201, description = "Account created; the session cookie is set", body = SessionView),
        (status = 403, description = "Registration is disabled", body = ErrorBody),
        (status = 409, description = "The e-mail is taken", body = ErrorBody),
        (status = 422, description = "Invalid e-mail, password or time zone", body = ErrorBody),
    ))]
async fn register(
    State(state): State<AppState>,
    jar: CookieJar,
    ApiJson(input): ApiJson<RegisterInput>,
) -> ApiResult<(StatusCode, CookieJar, Json<SessionView>)> {
    let session = state.app.register(input).await?;
    let jar = jar.add(session_cookie(&state, &session));
    Ok((StatusCode::CREATED, jar, Json(SessionView { user: session.user, expires_at: session.expires_at })))
}

/// Signs in: sets an httpOnly session cookie valid for 7 days.
#[utoipa::path(post, path = "/auth/login", tag = "auth", security(()), request_body = LoginInput,
    responses(
        (status = 200, description = "Signed in; the session cookie is set", body = SessionView),
        (status = 401, description = "Wrong e-mail or password", body = ErrorBody),
    ))]
async fn login(
    State(state): State<AppState>,
    jar: CookieJar,
    ApiJson(input): ApiJson<LoginInput>,
) -> ApiResult<(CookieJar, Json<SessionView>)> {
    let session = state.app.login(input).await?;
    let jar = jar.add(session_cookie(&state, &session));
    Ok((jar, Json(SessionView { user: session.user, expires_at: session.expires_at })))
}

fn removal_cookie(state: &AppState) -> Cookie<'static> {
    Cookie::build((SESSION_COOKIE, ""))
        .http_only(true)
        .same_site(SameSite::Lax)
        .secure(state.config.secure_cookies())
        .path("/")
        .build()
}

/// Signs out: the session ends on the server (a copy of the cookie or
/// token stops working) and the cookie is cleared.
#[utoipa::path(post, path = "/auth/logout", tag = "auth", security(()),
    responses((status = 204, description = "Signed out")))]
async fn logout(
    State(state): State<AppState>,
    jar: CookieJar,
    headers: HeaderMap,
) -> ApiResult<(StatusCode, CookieJar)> {
    let bearer =
        headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()).and_then(herald_core::api_key::bearer_token);
    for token in [jar.get(SESSION_COOKIE).map(Cookie::value), bearer].into_iter().flatten() {
        state.app.end_session(token).await?;
    }
    Ok((StatusCode::NO_CONTENT, jar.remove(removal_cookie(&state))))
}

/// Signs out everywhere: every session of yours ends, this one too (API
/// keys are not sessions: revoke them in `/api-keys`). Session only.
#[utoipa::path(post, path = "/auth/logout-all", tag = "auth",
    responses(
        (status = 200, description = "Every session ended", body = SessionsEnded),
        (status = 403, description = "Called with an API key", body = ErrorBody),
    ))]
async fn logout_all(
    State(state): State<AppState>,
    Auth(caller): Auth,
    jar: CookieJar,
) -> ApiResult<(CookieJar, Json<SessionsEnded>)> {
    let ended = state.app.end_all_sessions(&caller).await?;
    Ok((jar.remove(removal_cookie(&state)), Json(SessionsEnded { ended })))
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct SessionsEnded {
    /// How many sessions ended.
    pub ended: u64,
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PasswordChange {
    pub current_password: String,
    /// At least 12 characters.
    pub new_password: String,
}

/// Changes your password. Every other session ends; this one stays signed
/// in. Session only.
#[utoipa::path(post, path = "/me/password", tag = "auth", request_body = PasswordChange,
    responses(
        (status = 204, description = "Password changed; other sessions ended"),
        (status = 403, description = "Called with an API key", body = ErrorBody),
        (status = 422, description = "Wrong current password, or a new one that is too short", body = ErrorBody),
    ))]
async fn change_password(
    State(state): State<AppState>,
    Auth(caller): Auth,
    ApiJson(input): ApiJson<PasswordChange>,
) -> ApiResult<StatusCode> {
    state.app.change_password(&caller, &input.current_password, &input.new_password).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The signed-in user (or the owner of the API key).
#[utoipa::path(get, path = "/me", tag = "auth",
    responses((status = 200, description = "The current user", body = UserView)))]
async fn me(State(state): State<AppState>, Auth(caller): Auth) -> ApiResult<Json<UserView>> {
    Ok(Json(state.app.me(&caller).await?))
}
