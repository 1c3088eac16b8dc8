//! `GET /connected-apps` and `DELETE /connected-apps/{id}`: the MCP apps a
//! person connected by OAuth (Claude, ChatGPT, Cursor …), and revoking one.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use herald_app::mcp_auth::ConnectedAppView;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::error::{ApiResult, ErrorBody};
use crate::extract::{ApiId, Auth};
use crate::state::AppState;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(list_apps)).routes(routes!(revoke_app))
}

/// The apps you connected by signing in from them, in every workspace, with
/// their permissions and last use. Session only.
#[utoipa::path(get, path = "/connected-apps", tag = "connected-apps", security(("session" = [])),
    responses((status = 200, description = "Connected apps, newest first", body = Vec<ConnectedAppView>)))]
async fn list_apps(State(state): State<AppState>, Auth(caller): Auth) -> ApiResult<Json<Vec<ConnectedAppView>>> {
    Ok(Json(state.app.connected_apps(&caller).await?))
}

/// Disconnects an app: its tokens stop working and its open MCP sessions
/// end within seconds. Session only.
#[utoipa::path(delete, path = "/connected-apps/{id}", tag = "connected-apps", security(("session" = [])),
    params(("id" = uuid::Uuid, Path, description = "Connected app id")),
    responses(
        (status = 204, description = "Disconnected"),
        (status = 404, description = "No such connected app", body = ErrorBody),
    ))]
async fn revoke_app(State(state): State<AppState>, Auth(caller): Auth, ApiId(id): ApiId) -> ApiResult<StatusCode> {
    state.app.revoke_connected_app(&caller, id).await?;
    Ok(StatusCode::NO_CONTENT)
}
