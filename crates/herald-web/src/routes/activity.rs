//! `GET /audit` (who did what), `GET /notifications` and `POST
//! /notifications/read` (the bell), `GET/PUT /me/email-preferences`.

use axum::Json;
use axum::extract::State;
use herald_app::activity::{AuditPage, AuditQuery, MarkReadInput, NotificationPage, NotificationQuery};
use herald_core::notice::EmailPreferences;
use serde::Serialize;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::error::{ApiResult, ErrorBody};
use crate::extract::{ApiJson, ApiQuery, Auth, OptionalJson};
use crate::state::AppState;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(audit))
        .routes(routes!(notifications))
        .routes(routes!(mark_read))
        .routes(routes!(email_preferences, set_email_preferences))
}

/// The workspace's audit trail, newest first, with the actor of each event
/// (a user, an API key, an MCP client, or Herald). OWNER or EDITOR.
#[utoipa::path(get, path = "/audit", tag = "teams", params(AuditQuery),
    responses(
        (status = 200, description = "A page of the audit trail", body = AuditPage),
        (status = 403, description = "Role below EDITOR", body = ErrorBody),
        (status = 422, description = "Invalid filter", body = ErrorBody),
    ))]
async fn audit(
    State(state): State<AppState>,
    Auth(caller): Auth,
    ApiQuery(query): ApiQuery<AuditQuery>,
) -> ApiResult<Json<AuditPage>> {
    Ok(Json(state.app.audit_log(&caller, query).await?))
}

/// Your notifications in this workspace, newest first, with the unread count.
#[utoipa::path(get, path = "/notifications", tag = "teams", params(NotificationQuery),
    responses(
        (status = 200, description = "A page of notifications", body = NotificationPage),
        (status = 422, description = "Invalid limit or cursor", body = ErrorBody),
    ))]
async fn notifications(
    State(state): State<AppState>,
    Auth(caller): Auth,
    ApiQuery(query): ApiQuery<NotificationQuery>,
) -> ApiResult<Json<NotificationPage>> {
    Ok(Json(state.app.notifications(&caller, query).await?))
}

#[derive(Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
struct UnreadView {
    unread: u64,
}

/// Marks the given notifications read, or all of them without `ids`.
#[utoipa::path(post, path = "/notifications/read", tag = "teams",
    request_body(content = Option<MarkReadInput>, description = "The ids to mark; none: all"),
    responses((status = 200, description = "What is still unread", body = UnreadView)))]
async fn mark_read(
    State(state): State<AppState>,
    Auth(caller): Auth,
    OptionalJson(input): OptionalJson<MarkReadInput>,
) -> ApiResult<Json<UnreadView>> {
    Ok(Json(UnreadView { unread: state.app.mark_notifications_read(&caller, input).await? }))
}

/// Which e-mails you receive (all on by default). Session only.
#[utoipa::path(get, path = "/me/email-preferences", tag = "auth", security(("session" = [])),
    responses((status = 200, description = "Your choices", body = EmailPreferences)))]
async fn email_preferences(State(state): State<AppState>, Auth(caller): Auth) -> ApiResult<Json<EmailPreferences>> {
    Ok(Json(state.app.email_preferences(&caller).await?))
}

/// Turns e-mails on or off; missing fields are on. Session only.
#[utoipa::path(put, path = "/me/email-preferences", tag = "auth", security(("session" = [])),
    request_body = EmailPreferences,
    responses((status = 200, description = "Your choices", body = EmailPreferences)))]
async fn set_email_preferences(
    State(state): State<AppState>,
    Auth(caller): Auth,
    ApiJson(input): ApiJson<EmailPreferences>,
) -> ApiResult<Json<EmailPreferences>> {
    Ok(Json(state.app.set_email_preferences(&caller, input).await?))
}
