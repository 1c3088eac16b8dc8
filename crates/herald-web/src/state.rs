//! What every handler can reach.

use std::sync::Arc;

use herald_app::App;

/// Web-layer settings, filled by the binary from the config.
#[derive(Debug, Clone)]
pub struct WebConfig {
    /// Public base URL (`MAIN_URL`); https turns on Secure cookies and HSTS.
    pub main_url: String,
    /// Requests per minute per client on the API; 0 turns it off.
    pub rate_limit: u32,
    /// Requests per minute per client on `POST /posts`; 0 turns it off.
    pub rate_limit_posts: u32,
    /// Requests per minute per client address on pages and static files; 0 turns it off.
    pub rate_limit_ui: u32,
    /// Proxies whose `X-Forwarded-For` names the client (`HERALD_TRUSTED_PROXIES`).
    pub trusted_proxies: crate::client_ip::TrustedProxies,
    /// Origins allowed to call the API from a browser (CORS).
    pub cors_origins: Vec<String>,
    /// Largest accepted request body, in bytes.
    pub body_limit: usize,
    /// Serve the API (roles `web`, `api` or `mcp`); otherwise only health.
    pub serve_api: bool,
    /// `HERALD_METRICS_TOKEN`: when set, `/metrics` needs it as a bearer token.
    pub metrics_token: Option<String>,
    /// Bound to a loopback address: `/metrics` may then answer without a token.
    pub listens_on_loopback: bool,
}

impl WebConfig {
    pub fn secure_cookies(&self) -> bool {
        self.main_url.starts_with("https://")
    }
}

#[derive(Clone)]
pub struct AppState {
    pub app: App,
    pub config: Arc<WebConfig>,
    /// Turns true when the server shuts down: long-lived streams end.
    pub shutdown: tokio::sync::watch::Receiver<bool>,
}
