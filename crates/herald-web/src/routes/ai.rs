//! AI writing help: `POST /ai/suggest`. Answers 404 when no model endpoint
//! is configured (`HERALD_AI_BASE_URL`).

use axum::Json;
use axum::extract::State;
use herald_app::ai::{SuggestInput, SuggestView};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::error::{ApiResult, ErrorBody};
use crate::extract::{ApiJson, Auth};
use crate::state::AppState;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(suggest))
}

/// Asks the configured model to rewrite, shorten, add hashtags to, or
/// translate a text: one suggestion per account, written for that
/// platform's limit and checked against it (`valid`, `errors`). Needs
/// `posts:write`.
#[utoipa::path(post, path = "/ai/suggest", tag = "ai", request_body = SuggestInput,
    responses(
        (status = 200, description = "One suggestion per account", body = SuggestView),
        (status = 403, description = "Lacks posts:write", body = ErrorBody),
        (status = 404, description = "AI writing help is not configured", body = ErrorBody),
        (status = 422, description = "Invalid text, accounts or language", body = ErrorBody),
        (status = 503, description = "The model endpoint failed", body = ErrorBody),
    ))]
async fn suggest(
    State(state): State<AppState>,
    Auth(caller): Auth,
    ApiJson(input): ApiJson<SuggestInput>,
) -> ApiResult<Json<SuggestView>> {
    Ok(Json(state.app.suggest(&caller, input).await?))
}
