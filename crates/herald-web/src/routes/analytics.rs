//! `GET /analytics/{id}` (a post's engagement per account) and
//! `GET /analytics/integrations/{id}` (an account's over a period).

use axum::Json;
use axum::extract::State;
use herald_app::analytics::{IntegrationAnalytics, PostAnalytics};
use serde::Deserialize;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::error::{ApiResult, ErrorBody};
use crate::extract::{ApiId, ApiQuery, Auth};
use crate::state::AppState;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(post_analytics)).routes(routes!(integration_analytics))
}

/// How a post did on each platform: delivery and engagement. Scope `analytics:read`.
#[utoipa::path(get, path = "/analytics/{id}", tag = "analytics",
    params(("id" = uuid::Uuid, Path, description = "Post id")),
    responses(
        (status = 200, description = "Per-target analytics", body = PostAnalytics),
        (status = 404, description = "No such post in your workspace", body = ErrorBody),
    ))]
async fn post_analytics(
    State(state): State<AppState>,
    Auth(caller): Auth,
    ApiId(id): ApiId,
) -> ApiResult<Json<PostAnalytics>> {
    Ok(Json(state.app.post_analytics(&caller, id).await?))
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
struct DaysQuery {
    /// Days back, 1–365 (default 30).
    #[param(minimum = 1, maximum = 365)]
    days: Option<u32>,
}

/// An integration's daily activity (published / failed). Scope `analytics:read`.
#[utoipa::path(get, path = "/analytics/integrations/{id}", tag = "analytics",
    params(("id" = uuid::Uuid, Path, description = "Integration id"), DaysQuery),
    responses(
        (status = 200, description = "Daily activity", body = IntegrationAnalytics),
        (status = 404, description = "No such integration in your workspace", body = ErrorBody),
        (status = 422, description = "Invalid `days`", body = ErrorBody),
    ))]
async fn integration_analytics(
    State(state): State<AppState>,
    Auth(caller): Auth,
    ApiId(id): ApiId,
    ApiQuery(query): ApiQuery<DaysQuery>,
) -> ApiResult<Json<IntegrationAnalytics>> {
    Ok(Json(state.app.integration_analytics(&caller, id, query.days).await?))
}
