//! Who is looking at a page: the session cookie set by `/login` (or
//! `/api/auth/login` — the same 7-day JWT) resolved into a caller.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum_extra::extract::CookieJar;
use axum_extra::extract::cookie::{Cookie, SameSite};
use chrono_tz::Tz;
use herald_app::accounts::{SESSION_TTL, Session};
use herald_app::teams::WorkspaceView;
use herald_app::views::UserView;
use herald_app::{AppError, Caller};
use herald_core::account::UserRole;

use crate::UiState;
use crate::csrf::CsrfToken;
use crate::error::UiError;

/// The cookie the REST API's login sets; the UI shares it.
pub const SESSION_COOKIE: &str = "herald_session";

/// A signed-in person, with what every page needs.
pub struct Viewer {
    pub caller: Caller,
    pub user: UserView,
    pub tz: Tz,
    pub csrf: String,
    /// The person's workspaces, for the switcher.
    pub workspaces: Vec<WorkspaceView>,
    /// Unread notifications in the current workspace, for the bell.
    pub unread: u64,
}

impl Viewer {
    pub fn is_admin(&self) -> bool {
        self.user.role == UserRole::Admin
    }

    /// The workspace this page acts in.
    pub fn workspace(&self) -> Option<&WorkspaceView> {
        self.workspaces.iter().find(|w| w.current)
    }
}

impl FromRequestParts<UiState> for Viewer {
    type Rejection = UiError;

    async fn from_request_parts(parts: &mut Parts, state: &UiState) -> Result<Self, Self::Rejection> {
        let next = parts.uri.path_and_query().map_or_else(|| "/".to_string(), |p| p.as_str().to_string());
        let sign_in = || UiError::SignIn { next: next.clone() };
        let jar = CookieJar::from_headers(&parts.headers);
        let token = jar.get(SESSION_COOKIE).map(|c| c.value().to_string()).ok_or_else(sign_in)?;
        let caller = match state.app.authenticate_session(&token, None).await {
            Ok(caller) => caller,
            Err(AppError::Unauthorized(_) | AppError::Forbidden { .. }) => return Err(sign_in()),
            Err(other) => return Err(other.into()),
        };
        let user = state.app.me(&caller).await?;
        let tz = user.timezone.parse::<Tz>().unwrap_or(Tz::UTC);
        let CsrfToken(csrf) = CsrfToken::from_request_parts(parts, state).await?;
        let workspaces = state.app.list_workspaces(&caller).await?;
        // The bell only decorates: it never makes a page fail.
        let unread = state.app.unread_notifications(&caller).await.unwrap_or(0);
        Ok(Self { caller, user, tz, csrf, workspaces, unread })
    }
}

pub fn session_cookie(session: &Session, secure: bool) -> Cookie<'static> {
    Cookie::build((SESSION_COOKIE, session.token.clone()))
        .http_only(true)
        .same_site(SameSite::Lax)
        .secure(secure)
        .path("/")
        .max_age(cookie::time::Duration::seconds(SESSION_TTL.num_seconds()))
        .build()
}

pub fn removal_cookie(secure: bool) -> Cookie<'static> {
    Cookie::build((SESSION_COOKIE, "")).http_only(true).same_site(SameSite::Lax).secure(secure).path("/").build()
}
