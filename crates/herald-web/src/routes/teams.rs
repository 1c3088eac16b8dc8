//! Teams: `GET/POST /workspaces`, `PATCH /workspaces/{id}`, members and
//! invites of a workspace, and `GET /invites/{token}` + `POST
//! /invites/{token}/accept` for the person invited. The workspace a request
//! acts in is picked with `X-Herald-Workspace: {id}`.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use herald_app::teams::{
    CreateInviteInput, CreateWorkspaceInput, CreatedInviteView, InvitePreview, InviteView, MemberView,
    UpdateMemberInput, UpdateWorkspaceInput, WorkspaceView,
};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::error::{ApiResult, ErrorBody};
use crate::extract::{ApiId, ApiIds, ApiJson, Auth};
use crate::state::AppState;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_workspaces, create_workspace))
        .routes(routes!(get_workspace, update_workspace))
        .routes(routes!(select_workspace))
        .routes(routes!(list_members))
        .routes(routes!(update_member, remove_member))
        .routes(routes!(list_invites, create_invite))
        .routes(routes!(revoke_invite))
        .routes(routes!(preview_invite))
        .routes(routes!(accept_invite))
}

/// Your workspaces and your role in each; `current` marks the one this
/// request acts in. An API key sees only its own workspace.
#[utoipa::path(get, path = "/workspaces", tag = "teams",
    responses((status = 200, description = "Workspaces", body = Vec<WorkspaceView>)))]
async fn list_workspaces(State(state): State<AppState>, Auth(caller): Auth) -> ApiResult<Json<Vec<WorkspaceView>>> {
    Ok(Json(state.app.list_workspaces(&caller).await?))
}

/// Creates a workspace you own. Session only.
#[utoipa::path(post, path = "/workspaces", tag = "teams", security(("session" = [])), request_body = CreateWorkspaceInput,
    responses(
        (status = 201, description = "The new workspace", body = WorkspaceView),
        (status = 422, description = "Invalid name", body = ErrorBody),
    ))]
async fn create_workspace(
    State(state): State<AppState>,
    Auth(caller): Auth,
    ApiJson(input): ApiJson<CreateWorkspaceInput>,
) -> ApiResult<(StatusCode, Json<WorkspaceView>)> {
    Ok((StatusCode::CREATED, Json(state.app.create_workspace(&caller, input).await?)))
}

/// One of your workspaces, with your role in it.
#[utoipa::path(get, path = "/workspaces/{id}", tag = "teams",
    params(("id" = uuid::Uuid, Path, description = "Workspace id")),
    responses(
        (status = 200, description = "The workspace", body = WorkspaceView),
        (status = 404, description = "Not one of your workspaces", body = ErrorBody),
    ))]
async fn get_workspace(
    State(state): State<AppState>,
    Auth(caller): Auth,
    ApiId(id): ApiId,
) -> ApiResult<Json<WorkspaceView>> {
    Ok(Json(state.app.get_workspace(&caller, id).await?))
}

/// Renames a workspace or sets `requireApproval`. OWNER, session only.
#[utoipa::path(patch, path = "/workspaces/{id}", tag = "teams", security(("session" = [])),
    params(("id" = uuid::Uuid, Path, description = "Workspace id")),
    request_body = UpdateWorkspaceInput,
    responses(
        (status = 200, description = "The workspace", body = WorkspaceView),
        (status = 403, description = "Not an owner", body = ErrorBody),
        (status = 404, description = "Not one of your workspaces", body = ErrorBody),
    ))]
async fn update_workspace(
    State(state): State<AppState>,
    Auth(caller): Auth,
    ApiId(id): ApiId,
    ApiJson(input): ApiJson<UpdateWorkspaceInput>,
) -> ApiResult<Json<WorkspaceView>> {
    Ok(Json(state.app.update_workspace(&caller, id, input).await?))
}

/// Makes your session act in this workspace (what the UI switcher does).
/// Session only; scripts send `X-Herald-Workspace` instead.
#[utoipa::path(post, path = "/workspaces/{id}/select", tag = "teams", security(("session" = [])),
    params(("id" = uuid::Uuid, Path, description = "Workspace id")),
    responses(
        (status = 200, description = "The workspace now current", body = WorkspaceView),
        (status = 404, description = "Not one of your workspaces", body = ErrorBody),
    ))]
async fn select_workspace(
    State(state): State<AppState>,
    Auth(caller): Auth,
    ApiId(id): ApiId,
) -> ApiResult<Json<WorkspaceView>> {
    Ok(Json(state.app.select_workspace(&caller, id).await?))
}

/// Members and their roles. OWNER, session only.
#[utoipa::path(get, path = "/workspaces/{id}/members", tag = "teams", security(("session" = [])),
    params(("id" = uuid::Uuid, Path, description = "Workspace id")),
    responses(
        (status = 200, description = "Members, oldest first", body = Vec<MemberView>),
        (status = 403, description = "Not an owner", body = ErrorBody),
        (status = 404, description = "Not one of your workspaces", body = ErrorBody),
    ))]
async fn list_members(
    State(state): State<AppState>,
    Auth(caller): Auth,
    ApiId(id): ApiId,
) -> ApiResult<Json<Vec<MemberView>>> {
    Ok(Json(state.app.list_members(&caller, id).await?))
}

/// Changes a member's role. OWNER; the last owner cannot be demoted (409).
#[utoipa::path(patch, path = "/workspaces/{id}/members/{userId}", tag = "teams", security(("session" = [])),
    params(
        ("id" = uuid::Uuid, Path, description = "Workspace id"),
        ("userId" = uuid::Uuid, Path, description = "Member's user id"),
    ),
    request_body = UpdateMemberInput,
    responses(
        (status = 200, description = "The member", body = MemberView),
        (status = 403, description = "Not an owner", body = ErrorBody),
        (status = 404, description = "No such member", body = ErrorBody),
        (status = 409, description = "The last owner", body = ErrorBody),
    ))]
async fn update_member(
    State(state): State<AppState>,
    Auth(caller): Auth,
    ApiIds(id, user_id): ApiIds,
    ApiJson(input): ApiJson<UpdateMemberInput>,
) -> ApiResult<Json<MemberView>> {
    Ok(Json(state.app.update_member(&caller, id, user_id, input).await?))
}

/// Removes a member (OWNER) or, with your own id, leaves. Their sessions in
/// the workspace end and their API keys there are deactivated. The last
/// owner cannot go (409).
#[utoipa::path(delete, path = "/workspaces/{id}/members/{userId}", tag = "teams", security(("session" = [])),
    params(
        ("id" = uuid::Uuid, Path, description = "Workspace id"),
        ("userId" = uuid::Uuid, Path, description = "Member's user id"),
    ),
    responses(
        (status = 204, description = "Removed"),
        (status = 403, description = "Not an owner", body = ErrorBody),
        (status = 404, description = "No such member", body = ErrorBody),
        (status = 409, description = "The last owner", body = ErrorBody),
    ))]
async fn remove_member(
    State(state): State<AppState>,
    Auth(caller): Auth,
    ApiIds(id, user_id): ApiIds,
) -> ApiResult<StatusCode> {
    state.app.remove_member(&caller, id, user_id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Invites not yet accepted, revoked or expired. OWNER.
#[utoipa::path(get, path = "/workspaces/{id}/invites", tag = "teams", security(("session" = [])),
    params(("id" = uuid::Uuid, Path, description = "Workspace id")),
    responses(
        (status = 200, description = "Open invites", body = Vec<InviteView>),
        (status = 403, description = "Not an owner", body = ErrorBody),
        (status = 404, description = "Not one of your workspaces", body = ErrorBody),
    ))]
async fn list_invites(
    State(state): State<AppState>,
    Auth(caller): Auth,
    ApiId(id): ApiId,
) -> ApiResult<Json<Vec<InviteView>>> {
    Ok(Json(state.app.list_invites(&caller, id).await?))
}

/// Invites someone by e-mail address with a role (default CONTRIBUTOR).
/// The link works once, for 7 days; it is e-mailed when SMTP is set. OWNER.
#[utoipa::path(post, path = "/workspaces/{id}/invites", tag = "teams", security(("session" = [])),
    params(("id" = uuid::Uuid, Path, description = "Workspace id")),
    request_body = CreateInviteInput,
    responses(
        (status = 201, description = "The invite and its link, shown once", body = CreatedInviteView),
        (status = 403, description = "Not an owner", body = ErrorBody),
        (status = 404, description = "Not one of your workspaces", body = ErrorBody),
        (status = 409, description = "Already a member", body = ErrorBody),
        (status = 422, description = "Invalid e-mail or role", body = ErrorBody),
    ))]
async fn create_invite(
    State(state): State<AppState>,
    Auth(caller): Auth,
    ApiId(id): ApiId,
    ApiJson(input): ApiJson<CreateInviteInput>,
) -> ApiResult<(StatusCode, Json<CreatedInviteView>)> {
    Ok((StatusCode::CREATED, Json(state.app.create_invite(&caller, id, input).await?)))
}

/// Revokes an invite that was not used yet. OWNER.
#[utoipa::path(delete, path = "/workspaces/{id}/invites/{inviteId}", tag = "teams", security(("session" = [])),
    params(
        ("id" = uuid::Uuid, Path, description = "Workspace id"),
        ("inviteId" = uuid::Uuid, Path, description = "Invite id"),
    ),
    responses(
        (status = 204, description = "Revoked"),
        (status = 404, description = "No such open invite", body = ErrorBody),
    ))]
async fn revoke_invite(
    State(state): State<AppState>,
    Auth(caller): Auth,
    ApiIds(id, invite_id): ApiIds,
) -> ApiResult<StatusCode> {
    state.app.revoke_invite(&caller, id, invite_id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// What an invite offers (workspace, role, who invited). No sign-in needed.
#[utoipa::path(get, path = "/invites/{token}", tag = "teams", security(()),
    params(("token" = String, Path, description = "The last path segment of the invite URL")),
    responses(
        (status = 200, description = "The invite", body = InvitePreview),
        (status = 404, description = "No such invite", body = ErrorBody),
        (status = 409, description = "Used, revoked or expired", body = ErrorBody),
    ))]
async fn preview_invite(State(state): State<AppState>, Path(token): Path<String>) -> ApiResult<Json<InvitePreview>> {
    Ok(Json(state.app.preview_invite(&token).await?))
}

/// Joins the workspace with the invite's role. Signed in as the person
/// invited (same e-mail address); works once.
#[utoipa::path(post, path = "/invites/{token}/accept", tag = "teams", security(("session" = [])),
    params(("token" = String, Path, description = "The last path segment of the invite URL")),
    responses(
        (status = 200, description = "The workspace joined", body = WorkspaceView),
        (status = 403, description = "The invite is for another e-mail address", body = ErrorBody),
        (status = 404, description = "No such invite", body = ErrorBody),
        (status = 409, description = "Used, revoked, expired, or already a member", body = ErrorBody),
    ))]
async fn accept_invite(
    State(state): State<AppState>,
    Auth(caller): Auth,
    Path(token): Path<String>,
) -> ApiResult<Json<WorkspaceView>> {
    Ok(Json(state.app.accept_invite(&caller, &token).await?))
}
