//! `GET /health`: whether the process and its database answer, for load
//! balancers and `herald doctor`.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use herald_app::system::Health;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::state::AppState;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(health))
}

/// Liveness and readiness: the database answers and how far the queue lags.
#[utoipa::path(get, path = "/health", tag = "health", security(()),
    responses(
        (status = 200, description = "Healthy", body = Health),
        (status = 503, description = "The database is unreachable", body = Health),
    ))]
async fn health(State(state): State<AppState>) -> (StatusCode, Json<Health>) {
    let health = state.app.health().await;
    let status = if health.is_ok() { StatusCode::OK } else { StatusCode::SERVICE_UNAVAILABLE };
    (status, Json(health))
}
