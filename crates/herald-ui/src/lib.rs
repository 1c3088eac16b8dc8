//! The web UI of Herald (DESIGN.md §8): server-rendered pages over the same
//! use cases as the REST API (`herald-app`), with project-written CSS and
//! JavaScript embedded in the binary. Every form works without JavaScript;
//! the script only makes things faster (live counters, previews, drag and
//! drop, live status over `/api/events`).

mod assets;
mod brand;
mod chrome;
mod csrf;
mod error;
mod fmt;
mod pages;
mod session;

use std::sync::Arc;

use axum::Router;
use herald_app::App;

pub use assets::{ASSETS, Asset};
pub use csrf::CSRF_FIELD;

/// What every page handler reaches.
#[derive(Clone)]
pub struct UiState {
    pub app: App,
    pub secure_cookies: bool,
}

/// Settings of the web UI, filled by the binary.
#[derive(Debug, Clone)]
pub struct UiConfig {
    /// Public base URL; https turns on Secure cookies.
    pub main_url: String,
}

/// The web UI routes, ready to merge into the HTTP application.
pub fn router(app: App, config: &UiConfig) -> Router {
    let state = UiState { app, secure_cookies: config.main_url.starts_with("https://") };
    pages::routes()
        .merge(assets::routes())
        .layer(axum::middleware::from_fn_with_state(Arc::new(state.clone()), csrf::guard))
        .with_state(state)
}
