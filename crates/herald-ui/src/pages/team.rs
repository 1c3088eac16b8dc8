//! Teams in the browser: the workspace switcher (`POST /workspace`), the
//! team page (`/settings/team`: members, roles, invites, the workspace's
//! settings), the invite page (`/invites/{token}`), notifications with
//! e-mail choices (`/notifications`) and the audit log (`/settings/audit`).

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use herald_app::activity::{AuditQuery, MarkReadInput, NotificationQuery};
use herald_app::teams::{CreateInviteInput, CreateWorkspaceInput, UpdateMemberInput, UpdateWorkspaceInput};
use herald_core::account::WorkspaceRole;
use herald_core::event::EventKind;
use herald_core::notice::EmailPreferences;
use serde::Deserialize;

use crate::UiState;
use crate::chrome::{Chrome, FieldErrors};
use crate::csrf::CsrfToken;
use crate::error::{UiError, UiId, UiResult};
use crate::fmt;
use crate::pages::{Notice, see_other};
use crate::session::Viewer;

pub fn routes() -> Router<UiState> {
    Router::new()
        .route("/workspace", post(switch))
        .route("/settings/team", get(team_page))
        .route("/settings/team/workspace", post(update_workspace))
        .route("/settings/team/new", post(create_workspace))
        .route("/settings/team/invites", post(invite))
        .route("/settings/team/invites/{id}/revoke", post(revoke_invite))
        .route("/settings/team/members/{id}", post(update_member))
        .route("/settings/team/members/{id}/remove", post(remove_member))
        .route("/invites/{token}", get(invite_page).post(accept_invite))
        .route("/notifications", get(notifications_page))
        .route("/notifications/read", post(mark_all_read))
        .route("/notifications/email", post(email_preferences))
        .route("/settings/audit", get(audit_page))
}

#[derive(Debug, Deserialize)]
struct SwitchForm {
    workspace: String,
}

async fn switch(State(state): State<UiState>, viewer: Viewer, Form(form): Form<SwitchForm>) -> UiResult<Response> {
    let id = uuid::Uuid::parse_str(form.workspace.trim()).map_err(|_| UiError::NotFound)?;
    state.app.select_workspace(&viewer.caller, id).await?;
    Ok(see_other("/?notice=switched"))
}

pub struct MemberRow {
    pub id: String,
    pub name: String,
    pub email: String,
    pub role: WorkspaceRole,
    pub joined: String,
    pub is_self: bool,
}

pub struct InviteRow {
    pub id: String,
    pub email: String,
    pub role: WorkspaceRole,
    pub expires: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "pages/team.html")]
struct TeamPage {
    c: Chrome,
    workspace_name: String,
    require_approval: bool,
    role: WorkspaceRole,
    is_owner: bool,
    me: String,
    members: Vec<MemberRow>,
    invites: Vec<InviteRow>,
    roles: &'static [WorkspaceRole],
    /// A link just created: shown once.
    new_invite: Option<(String, bool)>,
    errors: FieldErrors,
    errors_for: &'static str,
}

async fn render_team(
    state: &UiState,
    viewer: &Viewer,
    notice: Option<&str>,
    new_invite: Option<(String, bool)>,
    errors: FieldErrors,
    errors_for: &'static str,
) -> UiResult<TeamPage> {
    let workspace = viewer.workspace().ok_or(UiError::NotFound)?;
    let is_owner = workspace.role.can_manage();
    let (members, invites) = if is_owner {
        let members = state.app.list_members(&viewer.caller, workspace.id).await?;
        let invites = state.app.list_invites(&viewer.caller, workspace.id).await?;
        (members, invites)
    } else {
        (Vec::new(), Vec::new())
    };
    Ok(TeamPage {
        c: Chrome::new(viewer, "settings", "Team").with_notice(notice),
        workspace_name: workspace.name.clone(),
        require_approval: workspace.require_approval,
        role: workspace.role,
        is_owner,
        me: viewer.user.id.to_string(),
        members: members
            .into_iter()
            .map(|m| MemberRow {
                id: m.user_id.to_string(),
                is_self: m.user_id == viewer.user.id,
                name: m.name,
                email: m.email,
                role: m.role,
                joined: fmt::local(m.joined_at, viewer.tz),
            })
            .collect(),
        invites: invites
            .into_iter()
            .map(|i| InviteRow {
                id: i.id.to_string(),
                email: i.email,
                role: i.role,
                expires: fmt::local(i.expires_at, viewer.tz),
            })
            .collect(),
        roles: WorkspaceRole::ALL,
        new_invite,
        errors,
        errors_for,
    })
}

async fn team_page(State(state): State<UiState>, viewer: Viewer, Query(q): Query<Notice>) -> UiResult<TeamPage> {
    render_team(&state, &viewer, q.notice.as_deref(), None, FieldErrors::default(), "").await
}

async fn team_failed(
    state: &UiState,
    viewer: &Viewer,
    error: herald_app::AppError,
    form: &'static str,
) -> UiResult<Response> {
    let errors = FieldErrors::from_app(error)?;
    let page = render_team(state, viewer, None, None, errors, form).await?;
    Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response())
}

fn current(viewer: &Viewer) -> UiResult<uuid::Uuid> {
    viewer.workspace().map(|w| w.id).ok_or(UiError::NotFound)
}

#[derive(Debug, Deserialize)]
struct WorkspaceForm {
    name: String,
    require_approval: Option<String>,
}

async fn update_workspace(
    State(state): State<UiState>,
    viewer: Viewer,
    Form(form): Form<WorkspaceForm>,
) -> UiResult<Response> {
    let input = UpdateWorkspaceInput { name: Some(form.name), require_approval: Some(form.require_approval.is_some()) };
    match state.app.update_workspace(&viewer.caller, current(&viewer)?, input).await {
        Ok(_) => Ok(see_other("/settings/team?notice=saved")),
        Err(error) => team_failed(&state, &viewer, error, "workspace").await,
    }
}

#[derive(Debug, Deserialize)]
struct NewWorkspaceForm {
    name: String,
}

async fn create_workspace(
    State(state): State<UiState>,
    viewer: Viewer,
    Form(form): Form<NewWorkspaceForm>,
) -> UiResult<Response> {
    match state.app.create_workspace(&viewer.caller, CreateWorkspaceInput { name: form.name }).await {
        Ok(created) => {
            state.app.select_workspace(&viewer.caller, created.id).await?;
            Ok(see_other("/settings/team?notice=workspace-created"))
        }
        Err(error) => team_failed(&state, &viewer, error, "new").await,
    }
}

#[derive(Debug, Deserialize)]
struct InviteForm {
    email: String,
    role: String,
}

async fn invite(State(state): State<UiState>, viewer: Viewer, Form(form): Form<InviteForm>) -> UiResult<Response> {
    let role = WorkspaceRole::parse(&form.role);
    let input = CreateInviteInput { email: form.email, role };
    match state.app.create_invite(&viewer.caller, current(&viewer)?, input).await {
        // Rendered, not redirected: the link is shown exactly once, here.
        Ok(created) => {
            let page = render_team(
                &state,
                &viewer,
                None,
                Some((created.invite_url, created.emailed)),
                FieldErrors::default(),
                "",
            )
            .await?;
            Ok(page.into_response())
        }
        Err(error) => team_failed(&state, &viewer, error, "invite").await,
    }
}

async fn revoke_invite(State(state): State<UiState>, viewer: Viewer, UiId(id): UiId) -> UiResult<Response> {
    match state.app.revoke_invite(&viewer.caller, current(&viewer)?, id).await {
        Ok(()) => Ok(see_other("/settings/team?notice=invite-revoked")),
        Err(error) => team_failed(&state, &viewer, error, "members").await,
    }
}

#[derive(Debug, Deserialize)]
struct RoleForm {
    role: String,
}

async fn update_member(
    State(state): State<UiState>,
    viewer: Viewer,
    UiId(id): UiId,
    Form(form): Form<RoleForm>,
) -> UiResult<Response> {
    let Some(role) = WorkspaceRole::parse(&form.role) else {
        return team_failed(&state, &viewer, herald_core::ValidationError::new("role", "not a role").into(), "members")
            .await;
    };
    match state.app.update_member(&viewer.caller, current(&viewer)?, id, UpdateMemberInput { role }).await {
        Ok(_) => Ok(see_other("/settings/team?notice=role-changed")),
        Err(error) => team_failed(&state, &viewer, error, "members").await,
    }
}

async fn remove_member(State(state): State<UiState>, viewer: Viewer, UiId(id): UiId) -> UiResult<Response> {
    let leaving = id == viewer.user.id;
    match state.app.remove_member(&viewer.caller, current(&viewer)?, id).await {
        Ok(()) if leaving => Ok(see_other("/?notice=left")),
        Ok(()) => Ok(see_other("/settings/team?notice=member-removed")),
        Err(error) => team_failed(&state, &viewer, error, "members").await,
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "pages/invite.html")]
struct InvitePage {
    c: Chrome,
    token: String,
    /// What the invite offers, or why it cannot be used.
    offer: Result<herald_app::teams::InvitePreview, String>,
    signed_in_as: Option<String>,
    error: Option<String>,
}

/// The page behind an invite link: what it offers, and a button to accept
/// (or links to sign in or register first, coming back here).
async fn invite_page(
    State(state): State<UiState>,
    Path(token): Path<String>,
    viewer: Result<Viewer, UiError>,
    CsrfToken(csrf): CsrfToken,
) -> UiResult<Response> {
    let offer = match state.app.preview_invite(&token).await {
        Ok(preview) => Ok(preview),
        Err(herald_app::AppError::NotFound(_)) => Err("This invite link is not valid.".to_string()),
        Err(herald_app::AppError::Conflict(message)) => Err(message),
        Err(other) => return Err(other.into()),
    };
    let (c, signed_in_as) = match &viewer {
        Ok(viewer) => (Chrome::new(viewer, "", "Invitation"), Some(viewer.user.email.clone())),
        Err(_) => (Chrome::anonymous(csrf, "Invitation"), None),
    };
    Ok(InvitePage { c, token, offer, signed_in_as, error: None }.into_response())
}

async fn accept_invite(State(state): State<UiState>, Path(token): Path<String>, viewer: Viewer) -> UiResult<Response> {
    match state.app.accept_invite(&viewer.caller, &token).await {
        Ok(workspace) => {
            state.app.select_workspace(&viewer.caller, workspace.id).await?;
            Ok(see_other("/?notice=joined"))
        }
        Err(error @ (herald_app::AppError::Forbidden { .. } | herald_app::AppError::Conflict(_))) => {
            let offer = state.app.preview_invite(&token).await.map_err(|e| e.to_string());
            let page = InvitePage {
                c: Chrome::new(&viewer, "", "Invitation"),
                token,
                offer,
                signed_in_as: Some(viewer.user.email.clone()),
                error: Some(error.to_string()),
            };
            Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response())
        }
        Err(other) => Err(other.into()),
    }
}

pub struct NotificationRow {
    pub title: String,
    pub body: String,
    pub link: String,
    pub at: String,
    pub unread: bool,
}

#[derive(Template, WebTemplate)]
#[template(path = "pages/notifications.html")]
struct NotificationsPage {
    c: Chrome,
    items: Vec<NotificationRow>,
    next: Option<String>,
    preferences: EmailPreferences,
    email_enabled: bool,
}

#[derive(Debug, Default, Deserialize)]
struct PageQuery {
    notice: Option<String>,
    cursor: Option<String>,
}

async fn notifications_page(
    State(state): State<UiState>,
    viewer: Viewer,
    Query(q): Query<PageQuery>,
) -> UiResult<NotificationsPage> {
    let page = state.app.notifications(&viewer.caller, NotificationQuery { limit: Some(50), cursor: q.cursor }).await?;
    Ok(NotificationsPage {
        c: Chrome::new(&viewer, "notifications", "Notifications").with_notice(q.notice.as_deref()),
        items: page
            .notifications
            .into_iter()
            .map(|n| NotificationRow {
                title: n.title,
                body: n.body,
                link: n.link,
                at: fmt::local(n.created_at, viewer.tz),
                unread: !n.read,
            })
            .collect(),
        next: page.next_cursor,
        preferences: state.app.email_preferences(&viewer.caller).await?,
        email_enabled: state.app.email_enabled(),
    })
}

async fn mark_all_read(State(state): State<UiState>, viewer: Viewer) -> UiResult<Response> {
    state.app.mark_notifications_read(&viewer.caller, MarkReadInput { ids: None }).await?;
    Ok(see_other("/notifications?notice=all-read"))
}

#[derive(Debug, Deserialize)]
struct PreferencesForm {
    post_failed: Option<String>,
    integrations: Option<String>,
    approvals: Option<String>,
}

async fn email_preferences(
    State(state): State<UiState>,
    viewer: Viewer,
    Form(form): Form<PreferencesForm>,
) -> UiResult<Response> {
    let preferences = EmailPreferences {
        post_failed: form.post_failed.is_some(),
        integrations: form.integrations.is_some(),
        approvals: form.approvals.is_some(),
    };
    state.app.set_email_preferences(&viewer.caller, preferences).await?;
    Ok(see_other("/notifications?notice=saved"))
}

pub struct AuditRow {
    pub at: String,
    pub kind: String,
    pub actor: String,
    pub actor_kind: String,
    pub subject: String,
    pub detail: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "pages/audit.html")]
struct AuditPageView {
    c: Chrome,
    rows: Vec<AuditRow>,
    kinds: Vec<&'static str>,
    kind: String,
    actor: String,
    next: Option<String>,
    error: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
struct AuditForm {
    #[serde(rename = "type")]
    kind: Option<String>,
    actor: Option<String>,
    cursor: Option<String>,
}

async fn audit_page(State(state): State<UiState>, viewer: Viewer, Query(q): Query<AuditForm>) -> UiResult<Response> {
    let kind = q.kind.clone().unwrap_or_default();
    let actor = q.actor.clone().unwrap_or_default();
    let query = AuditQuery {
        kind: Some(kind.clone()).filter(|k| !k.is_empty()),
        actor: Some(actor.clone()).filter(|a| !a.is_empty()),
        cursor: q.cursor,
        limit: Some(50),
        ..Default::default()
    };
    let (rows, next, error) = match state.app.audit_log(&viewer.caller, query).await {
        Ok(page) => (page.entries, page.next_cursor, None),
        Err(herald_app::AppError::Validation { message, .. }) => (Vec::new(), None, Some(message)),
        Err(other) => return Err(other.into()),
    };
    let page = AuditPageView {
        c: Chrome::new(&viewer, "settings", "Audit log"),
        rows: rows
            .into_iter()
            .map(|e| AuditRow {
                at: fmt::local(e.occurred_at, viewer.tz),
                kind: e.kind.as_str().replace('_', " "),
                actor: e.actor.name,
                actor_kind: e.actor.kind.as_str().replace('_', " "),
                subject: e
                    .post_id
                    .map(|id| format!("post {}", &id.to_string()[..8]))
                    .or(e.integration_id.map(|id| format!("account {}", &id.to_string()[..8])))
                    .unwrap_or_default(),
                detail: summary(&e.data),
            })
            .collect(),
        kinds: EventKind::ALL.iter().map(|k| k.as_str()).collect(),
        kind,
        actor,
        next,
        error,
    };
    Ok(page.into_response())
}

/// One line of what an event's data says, for the audit table.
fn summary(data: &serde_json::Value) -> String {
    let Some(object) = data.as_object() else { return String::new() };
    object
        .iter()
        .filter(|(key, _)| !matches!(key.as_str(), "targetId" | "inviteId" | "userId" | "approval"))
        .filter_map(|(key, value)| match value {
            serde_json::Value::Null => None,
            serde_json::Value::String(s) => Some(format!("{key}: {}", s.chars().take(80).collect::<String>())),
            other => Some(format!("{key}: {other}")),
        })
        .collect::<Vec<_>>()
        .join(" · ")
}
