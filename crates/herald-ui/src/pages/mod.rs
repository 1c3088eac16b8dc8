//! One module per page (or group of pages); each exports its routes.

mod agency;
mod analytics;
mod approvals;
pub(crate) mod auth;
mod authorize;
mod calendar;
mod choose;
mod composer;
mod connect;
mod dashboard;
mod feeds;
pub(crate) mod integrations;
mod posts;
mod preview;
mod queue;
mod settings;
mod team;
mod transfer;
pub mod view;
mod webhooks;

use axum::Router;
use serde::Deserialize;

use crate::UiState;

pub fn routes() -> Router<UiState> {
    Router::new()
        .merge(auth::routes())
        .merge(authorize::routes())
        .merge(dashboard::routes())
        .merge(composer::routes())
        .merge(calendar::routes())
        .merge(posts::routes())
        .merge(integrations::routes())
        .merge(choose::routes())
        .merge(analytics::routes())
        .merge(settings::routes())
        .merge(approvals::routes())
        .merge(team::routes())
        .merge(webhooks::routes())
        .merge(queue::routes())
        .merge(feeds::routes())
        .merge(transfer::routes())
        .merge(preview::routes())
        .merge(connect::routes())
        .merge(agency::routes())
}

/// `?notice=` after a redirect.
#[derive(Debug, Default, Deserialize)]
pub struct Notice {
    pub notice: Option<String>,
}

/// A redirect after a successful form (303: the browser follows with GET).
pub fn see_other(to: &str) -> axum::response::Response {
    use axum::response::IntoResponse;
    axum::response::Redirect::to(to).into_response()
}
