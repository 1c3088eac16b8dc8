//! `GET /platforms`: the platform catalog.

use axum::Json;
use axum::extract::State;
use herald_app::platforms::PlatformView;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::state::AppState;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(platforms))
}

/// Every platform: how it is connected, whether this instance can connect
/// it, its limits (length as the platform counts it, media, threads) and
/// the JSON schemas of its credentials and per-post settings. Public.
#[utoipa::path(get, path = "/platforms", tag = "platforms", security(()),
    responses((status = 200, description = "The catalog", body = [PlatformView])))]
async fn platforms(State(state): State<AppState>) -> Json<Vec<PlatformView>> {
    Json(state.app.platforms())
}
