//! Request budgets. The API counts against the verified credential — an
//! API key or a signed-in session — and without one against the client's
//! address: a made-up `Authorization` header buys no fresh budget. Pages
//! and static files have a budget of their own, generous enough for a
//! person clicking around; media that platforms fetch and health probes
//! have none. Failed sign-ins are throttled per address in `herald-app`,
//! whatever these budgets say.

use std::net::SocketAddr;
use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::{ConnectInfo, Request, State};
use axum::http::{HeaderMap, Method, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum_extra::extract::CookieJar;
use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use herald_app::{App, Caller};

use crate::client_ip::TrustedProxies;
use crate::error::ApiError;
use crate::extract::{Authenticated, SESSION_COOKIE};

/// Budgets per minute; 0 turns one off.
#[derive(Debug, Clone, Copy)]
pub struct Budgets {
    pub api: u32,
    pub create_post: u32,
    pub ui: u32,
}

pub struct RateLimits {
    api: Option<DefaultKeyedRateLimiter<String>>,
    create_post: Option<DefaultKeyedRateLimiter<String>>,
    ui: Option<DefaultKeyedRateLimiter<String>>,
    proxies: TrustedProxies,
    app: App,
}

impl RateLimits {
    pub fn new(budgets: Budgets, proxies: TrustedProxies, app: App) -> Self {
        let limiter = |n: u32| NonZeroU32::new(n).map(|n| RateLimiter::keyed(Quota::per_minute(n)));
        Self {
            api: limiter(budgets.api),
            create_post: limiter(budgets.create_post),
            ui: limiter(budgets.ui),
            proxies,
            app,
        }
    }

    /// Forgets clients idle long enough to have a full budget again.
    pub fn forget_idle(&self) {
        for limiter in [&self.api, &self.create_post, &self.ui].into_iter().flatten() {
            limiter.retain_recent();
            limiter.shrink_to_fit();
        }
    }

    /// Who an API request counts against: its credential once verified
    /// (the caller is kept for the handler, which need not verify it
    /// again), else the client's address.
    async fn identify(
        &self,
        presented: Presented,
        ip: &str,
        workspace: Option<uuid::Uuid>,
    ) -> (String, Option<Caller>) {
        let caller = match presented {
            Presented::ApiKey { key, mcp } => self.app.authenticate_api_key_in(&key, mcp, workspace).await.ok(),
            Presented::Session(token) => self.app.authenticate_session(&token, workspace).await.ok(),
            Presented::McpToken(token) => self.app.authenticate_mcp_token(&token).await.ok(),
            Presented::Nothing => None,
        };
        match caller {
            Some(caller) => {
                let key = match &caller.credential {
                    herald_app::Credential::ApiKey { id, .. } => format!("key:{id}"),
                    herald_app::Credential::Session { id } => format!("session:{id}"),
                };
                (key, Some(caller))
            }
            None => (format!("ip:{ip}"), None),
        }
    }
}

/// The credential a request presents, in the order the handlers read
/// them: a key in an MCP path, the `Authorization` header, the cookie.
enum Presented {
    ApiKey {
        key: String,
        mcp: bool,
    },
    Session(String),
    /// An MCP app's OAuth access token, valid at `/api/mcp` only.
    McpToken(String),
    Nothing,
}

impl Presented {
    fn of(path: &str, headers: &HeaderMap) -> Self {
        let mcp = path.starts_with("/api/mcp");
        let in_path = path
            .strip_prefix("/api/mcp/")
            .map(|rest| rest.split('/').next().unwrap_or_default())
            .filter(|segment| herald_core::api_key::looks_like_api_key(segment));
        if let Some(key) = in_path {
            return Self::ApiKey { key: key.to_string(), mcp };
        }
        if let Some(token) = bearer_of(headers) {
            return if token.starts_with(herald_core::api_key::KEY_PREFIX) {
                Self::ApiKey { key: token, mcp }
            } else if mcp && herald_core::mcp_auth::looks_like_access_token(&token) {
                Self::McpToken(token)
            } else {
                Self::Session(token)
            };
        }
        match CookieJar::from_headers(headers).get(SESSION_COOKIE) {
            Some(cookie) => Self::Session(cookie.value().to_string()),
            None => Self::Nothing,
        }
    }
}

fn bearer_of(headers: &HeaderMap) -> Option<String> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    herald_core::api_key::bearer_token(value).map(str::to_string)
}

fn check(limiter: Option<&DefaultKeyedRateLimiter<String>>, key: &String) -> Result<(), Duration> {
    match limiter.map(|l| l.check_key(key)) {
        Some(Err(not_until)) => Err(not_until.wait_time_from(DefaultClock::default().now())),
        _ => Ok(()),
    }
}

/// Paths outside every budget: platforms fetching a post's media and
/// health probes must never get 429.
fn is_unlimited(path: &str) -> bool {
    path.starts_with("/uploads/") || path == "/api/health"
}

pub async fn rate_limit(State(limits): State<Arc<RateLimits>>, mut request: Request, next: Next) -> Response {
    let path = request.uri().path().to_string();
    if is_unlimited(&path) {
        return next.run(request).await;
    }
    let peer = request.extensions().get::<ConnectInfo<SocketAddr>>().map(|c| c.0.ip());
    let ip = peer
        .map_or_else(|| "unknown".to_string(), |peer| limits.proxies.client_ip(peer, request.headers()).to_string());
    let is_api = path.starts_with("/api/") || path == "/api" || path.starts_with("/public/");
    if !is_api {
        return match check(limits.ui.as_ref(), &format!("ip:{ip}")) {
            Ok(()) => next.run(request).await,
            Err(wait) => ApiError::rate_limited("too many requests", wait).into_response(),
        };
    }
    let creates_post = request.method() == Method::POST && (path == "/api/posts" || path == "/public/v1/posts");
    if limits.api.is_none() && !(creates_post && limits.create_post.is_some()) {
        // No budget to keep: no credential to verify here either.
        return next.run(request).await;
    }
    let presented = Presented::of(&path, request.headers());
    // A malformed header is answered by the handler's own check.
    let workspace = crate::extract::requested_workspace(request.headers()).ok().flatten();
    let (key, caller) = limits.identify(presented, &ip, workspace).await;
    let verdict = check(limits.api.as_ref(), &key)
        .and_then(|()| if creates_post { check(limits.create_post.as_ref(), &key) } else { Ok(()) });
    if let Err(wait) = verdict {
        return ApiError::rate_limited("too many requests", wait).into_response();
    }
    if let Some(caller) = caller
        && !path.starts_with("/api/mcp")
    {
        request.extensions_mut().insert(Authenticated(caller));
    }
    next.run(request).await
}
